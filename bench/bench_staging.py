"""Staged loads over a run's kept partitions and inputs (``bench_scale.py --work DIR``).

Two measurements ``bench_scale.py --loads-only`` does not make:

- **The writer as the store grows**: each partition of one kind staged (as a Dask worker
  stages it) then moved in by the writer, one after another into one fresh store, on SQLite and
  on a PostgreSQL server started for it and doing nothing else; the writer's seconds for each.
- **A Dask build end to end** (2 workers) of the first ``--build-files`` study and abstract
  input files, into fresh SQLite and PostgreSQL stores, with this code and, given
  ``--before-src``, an earlier version's, alternating, ``--rounds`` times.

Usage: python bench/bench_staging.py --work DIR [--partitions 10] [--build-files 2]
       [--rounds 2] [--before-src DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench_scale import ROOT, Postgres, kept_partitions, say

SERIES = """
import json, sys, time
from curemap.engine.partitions import _entries, load_partition
from curemap.store import Store, staging
from bench_scale import kept_partitions
from pathlib import Path
url, kind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store, seconds = Store(url), []
for result in kept_partitions(Path(sys.argv[4]), kind)[:count]:
    if store.engine.dialect.name == "postgresql":
        result.staged = staging.stage_in_store(store.engine, _entries(result.parquet), result.keys)
    else:
        result.staged = staging.stage_in_file(result.parquet, _entries(result.parquet), result.keys)
    started = time.perf_counter()
    load_partition(store, result)
    seconds.append(round(time.perf_counter() - started, 2))
print(json.dumps({"seconds": seconds, "records": store.count_studies() + store.count_papers()}))
"""

BUILD = """
import json, sys, time
from pathlib import Path
from curemap.engine.dask import DaskEngine
from curemap.pipeline import build
from curemap.store import Store

if __name__ == "__main__":
    store, engine = Store(sys.argv[1]), DaskEngine(workers=2)
    started = time.perf_counter()
    build(store, engine, [Path(p) for p in sys.argv[2:]])
    print(json.dumps({"seconds": round(time.perf_counter() - started, 1), "load": round(engine.load_seconds, 1)}))
"""


def child(code: str, args: list[str], src: Path | None = None) -> dict:
    """Run ``code`` in a fresh interpreter with the ``src`` given (default: this checkout's)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src or ROOT / "src"), str(ROOT / "bench")])}
    script = Path(os.environ.get("TMPDIR", "/tmp")) / f"curemap-bench-{os.getpid()}.py"
    script.write_text(code)
    try:
        out = subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True, check=True).stdout
    finally:
        script.unlink(missing_ok=True)
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="the --work directory of a bench_scale.py run")
    parser.add_argument("--partitions", type=int, default=10, help="partitions of each kind in the series")
    parser.add_argument("--build-files", type=int, default=2, help="input files of each kind in the Dask build")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before-src", type=Path)
    args = parser.parse_args()
    say(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    postgres = Postgres()
    try:
        for kind, prefix in (("studies", "studies"), ("papers", "abstracts")):
            count = min(args.partitions, len(kept_partitions(args.work, prefix)))
            for backend in ("sqlite", "postgresql"):
                if backend == "sqlite":
                    path = args.work / f"series_{kind}.db"
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{path}{suffix}").unlink(missing_ok=True)
                    url = f"sqlite:///{path}"
                else:
                    url = postgres.database(f"series_{kind}")
                run = child(SERIES, [url, prefix, str(count), str(args.work)])
                say(f"writer, staged, {count} {kind} partitions one after another into {backend} "
                    f"(to {run['records']:,} records): {' '.join(f'{s:.2f}' for s in run['seconds'])} s a partition")
        inputs = sorted((args.work / "inputs").glob("*.csv"))
        files = [str(p) for prefix in ("studies-", "abstracts-") for p in [i for i in inputs if i.name.startswith(prefix)][: args.build_files]]
        versions = [("now", None)] + ([("before", args.before_src)] if args.before_src else [])
        for round_ in range(args.rounds):
            for label, src in versions:
                for backend in ("sqlite", "postgresql"):
                    name = f"build_{label}_{round_}"
                    if backend == "sqlite":
                        for suffix in ("", "-wal", "-shm"):
                            Path(f"{args.work / name}.db{suffix}").unlink(missing_ok=True)
                        url = f"sqlite:///{args.work / name}.db"
                    else:
                        url = postgres.database(name)
                    run = child(BUILD, [url, *files], src)
                    say(f"Dask build, 2 workers, {len(files)} files, {label:6s} into {backend:10s}: {run['seconds']:.1f} s "
                        f"(the loading process {run['load']:.1f} s of it)")
    finally:
        postgres.stop()


if __name__ == "__main__":
    main()
