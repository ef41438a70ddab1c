"""The flow from files and sources into the store, shared by ``build``, ``import`` and ``update``."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from curemap.console import meter, stderr
from curemap.enrich.pipeline import classify_store
from curemap.profile import load_profile
from curemap.snapshot import snapshot_files
from curemap.sources.files import iter_file_records
from curemap.store import ImportCounts, Store


def import_paths(store: Store, paths: Iterable[Path]) -> ImportCounts:
    """Import each file in its own transaction: a file either lands whole or not at all."""
    total = ImportCounts()
    for path in paths:
        started = time.monotonic()
        with meter(f"importing {path.name}", total=path.stat().st_size) as bar:
            records = iter_file_records(path, on_read=bar.advance)
            counts = store.import_records(_counted(records, bar))
        seconds = time.monotonic() - started
        seen = counts.imported + counts.changed + counts.unchanged + len(counts.rejected)
        stderr.print(
            f"{path.name}: {seen:,} records in {seconds:.1f} s ({seen / max(seconds, 1e-9):,.0f}/s): "
            f"{counts.imported:,} new, {counts.changed:,} changed, {counts.unchanged:,} unchanged, "
            f"{len(counts.rejected):,} rejected",
            highlight=False,
        )
        for problem in counts.rejected[:20]:
            stderr.print(f"  rejected {problem['record']}: {problem['error']}", highlight=False, markup=False)
        total.add(counts)
    return total


def _counted(records, bar):
    for record in records:
        bar.count()
        yield record


def update_ctgov(store: Store, condition: str, since: str | None) -> dict[str, Any]:
    """Harvest ClinicalTrials.gov for ``condition``; resumes an interrupted harvest first."""
    from curemap.sources.ctgov_api import harvest, policy
    from curemap.sources.http import HttpClient

    since = since or store.newest_last_update("ctgov")
    started = time.monotonic()
    with meter("harvesting ClinicalTrials.gov", total=None, unit="studies") as bar, HttpClient(policy()) as client:
        done = 0

        def progress(received: int, total: int | None) -> None:
            nonlocal done
            bar.set_total(total)
            bar.advance(received - done)
            bar.count(received - done)
            done = received

        result = harvest(store, client, condition=condition, since=since, progress=progress)
    seconds = time.monotonic() - started
    stderr.print(
        f"ClinicalTrials.gov: {result.received:,} studies in {result.pages} pages, {seconds:.0f} s"
        f"{' (resumed)' if result.resumed else ''}: {result.imported:,} new, {result.changed:,} changed, "
        f"{result.unchanged:,} unchanged, {len(result.rejected):,} rejected",
        highlight=False,
    )
    for warning in result.warnings:
        stderr.print(f"warning: {warning}", highlight=False, markup=False)
    return {
        "imported": result.imported,
        "unchanged": result.unchanged,
        "changed": result.changed,
        "rejected": result.rejected,
        "pages": result.pages,
        "total_count": result.total_count,
        "since": since,
        "warnings": result.warnings,
    }


def enrich(store: Store) -> None:
    """Bring every derived fact up to date with the records and the profile."""
    classify_store(store, load_profile())


def build(store: Store) -> dict[str, Any]:
    """Import the bundled offline snapshot, enrich, and record a snapshot of the store."""
    with snapshot_files() as paths:
        import_paths(store, paths)
    enrich(store)
    counts = {"studies": store.count_studies(), "ms_studies": store.count_ms_studies(), "papers": 0}
    counts["snapshot"] = store.record_snapshot(counts)
    return counts
