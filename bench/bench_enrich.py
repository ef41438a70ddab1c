"""The link passes after an update: paper–trial links and trial registrations, over a large store.

On a copy of a store (say the one ``bench_scale.py --work DIR`` leaves, ``DIR/curemap.db``),
times each pass four ways: over every record (as on a store's first pass), with nothing changed
since, after an update that changed ``--changed`` studies and as many papers (their titles
edited, imported again as a harvest would), and after one that changed only the status of as
many studies (which no link reads). Prints wall and CPU seconds of each.

Usage: python bench/bench_enrich.py --db DIR/curemap.db [--changed 1000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import delete


def timed(label: str, run) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    result = run()
    print(f"  {label:60s} {time.perf_counter() - started:8.1f} s wall {time.process_time() - cpu:8.1f} s CPU  ({result:,})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="an SQLite store to copy")
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--work", type=Path, help="where the copy goes (default: a temporary directory)")
    args = parser.parse_args()

    from curemap.enrich.links import LINKS_PASS, link_store
    from curemap.enrich.registrations import REGISTRATIONS_PASS, link_registrations
    from curemap.store import Store, schema
    from curemap.store.kinds import PAPER, STUDY
    from curemap.model import ParsedRecord

    work = Path(tempfile.mkdtemp(prefix="curemap-bench-enrich-", dir=args.work))
    try:
        copy = work / "curemap.db"
        print(f"copying {args.db} ({args.db.stat().st_size / 2**30:.1f} GB) and opening it (migrating it if need be)", flush=True)
        shutil.copy(args.db, copy)
        started = time.perf_counter()
        store = Store(f"sqlite:///{copy}")
        print(f"  opened in {time.perf_counter() - started:.1f} s: {store.count_studies():,} studies, {store.count_papers():,} papers")
        with store.engine.begin() as conn:
            conn.execute(delete(schema.enrichment_marks))
        print("\nevery record (a store's first pass):")
        timed("links", lambda: link_store(store))
        timed("registrations", lambda: link_registrations(store))
        print("\nnothing changed since:")
        timed("links", lambda: link_store(store))
        timed("registrations", lambda: link_registrations(store))
        def update(kind, edit) -> None:
            records = []
            for item in store.iter_records(kind, batch_size=args.changed):
                edited = edit(item)
                raw = json.dumps(edited.to_dict())
                records.append(ParsedRecord(edited.source, edited.id, raw, "bench", frozenset(kind.fields), **{kind.name: edited}))
                if len(records) == args.changed:
                    break
            timed(f"importing the {kind.name} changes", lambda: store.import_records(records).changed)

        print(f"\nafter an update that changed the titles of {args.changed:,} studies and {args.changed:,} papers:")
        update(STUDY, lambda study: replace(study, brief_title=(study.brief_title or "") + " (updated)"))
        update(PAPER, lambda paper: replace(paper, title=(paper.title or "") + " (updated)"))
        timed("links", lambda: link_store(store))
        timed("registrations", lambda: link_registrations(store))
        print(f"\nafter an update that changed the status of {args.changed:,} studies (nothing linking reads):")
        update(STUDY, lambda study: replace(study, status="TERMINATED" if study.status != "TERMINATED" else "COMPLETED"))
        timed("links", lambda: link_store(store))
        timed("registrations", lambda: link_registrations(store))
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
