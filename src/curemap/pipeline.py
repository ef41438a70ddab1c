"""The flow from files and sources into the store, shared by ``build``, ``import`` and ``update``."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curemap.console import meter, report_import, stderr
from curemap.engine import BatchEngine
from curemap.enrich.links import link_store
from curemap.enrich.pipeline import classify_store, extract_store
from curemap.enrich.registrations import link_registrations
from curemap.errors import InputError, about
from curemap.profile import Profile, load_profile
from curemap.snapshot import snapshot_files
from curemap.sources.files import iter_file_records
from curemap.sources.http import HttpClient
from curemap.store import ImportCounts, Store
from curemap.store.kinds import STUDY


def import_paths(store: Store, paths: Iterable[Path]) -> ImportCounts:
    """Import each file in its own transaction: a file either lands whole or not at all, and
    a failure names it (:func:`~curemap.errors.about`)."""
    total = ImportCounts()
    for path in paths:
        started = time.monotonic()
        with about(str(path)), meter(f"importing {path.name}", total=path.stat().st_size) as bar:
            records = iter_file_records(path, on_read=bar.advance)
            counts = store.import_records(_counted(records, bar))
        report_import(path.name, counts, time.monotonic() - started)
        total.add(counts)
    return total


def _counted(records, bar):
    for record in records:
        bar.count()
        yield record


@dataclass(frozen=True)
class LiveSource:
    """A source ``curemap update`` harvests: its connector, its name for people, and its query."""

    label: str
    module: str
    query: Callable[[Profile], dict[str, str]]
    default_since: Callable[[Store], str | None]
    everything: dict[str, str] | None = None
    """The harvest's arguments for every record the source holds, where it can send them all."""


LIVE_SOURCES = {
    "ctgov": LiveSource(
        "ClinicalTrials.gov",
        "curemap.sources.ctgov_api",
        lambda profile: {"condition": profile.queries.registry["condition"]},
        # Records updated on or after the newest update already stored.
        lambda store: store.newest_last_update("ctgov"),
        everything={"condition": ""},
    ),
    "pubmed": LiveSource(
        "PubMed",
        "curemap.sources.eutils",
        lambda profile: {"query": profile.queries.pubmed},
        # Records entered on or after the day of the last harvest.
        lambda store: _last_fetched_day(store, "pubmed"),
    ),
    "europepmc": LiveSource(
        "Europe PMC",
        "curemap.sources.europepmc",
        lambda profile: {"query": profile.queries.europepmc},
        lambda store: _last_fetched_day(store, "europepmc"),
    ),
}


def _last_fetched_day(store: Store, source: str) -> str | None:
    last = store.source_summary().get(source, {}).get("last_update")
    return last[:10] if last else None


def update_source(
    store: Store,
    name: str,
    profile: Profile,
    since: str | None,
    profile_query: bool = True,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Harvest one live source for the profile's query (or, without it, every record the source
    holds); an interrupted harvest resumes first. ``timeout`` bounds each request, retries
    included (:meth:`~curemap.sources.http.SourcePolicy.within`)."""
    source = LIVE_SOURCES[name]
    if not profile_query and source.everything is None:
        raise InputError(
            f"{source.label} cannot be harvested whole through its live interface; "
            "import its bulk files instead: curemap build --engine dask --input DIR"
        )
    query = source.query(profile) if profile_query else source.everything
    connector = importlib.import_module(source.module)
    since = since or source.default_since(store)
    started = time.monotonic()
    policy = connector.policy() if timeout is None else connector.policy().within(timeout)
    with meter(f"harvesting {source.label}", total=None) as bar, HttpClient(policy) as client:
        done = 0

        def progress(received: int, total: int | None) -> None:
            nonlocal done
            bar.set_total(total)
            bar.advance(received - done)
            bar.count(received - done)
            done = received

        result = connector.harvest(store, client, **query, since=since, progress=progress)
    seconds = time.monotonic() - started
    stderr.print(
        f"{source.label}: {result.received:,} records in {result.pages} pages, {seconds:.0f} s"
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
    profile = load_profile()
    classify_store(store, profile)
    extract_store(store, profile)
    link_store(store)
    link_registrations(store)


def build(store: Store, engine: BatchEngine | None = None, inputs: list[Path] | None = None) -> dict[str, Any]:
    """Import the bundled offline snapshot (or the files and directories in ``inputs``) through the
    batch engine (in-process by default), enrich, and record a snapshot of the store."""
    from curemap.engine import input_files
    from curemap.engine.local import LocalEngine

    engine = engine or LocalEngine()
    if inputs:
        engine.run(store, input_files(inputs))
    else:
        with snapshot_files() as paths:
            engine.run(store, paths)
    return snapshot(store)


def snapshot(store: Store) -> dict[str, Any]:
    """Count what the store holds and record its content as a snapshot, whose id is ``snapshot``."""
    counts = {"studies": store.count_studies(), "ms_studies": store.count_ms(STUDY), "papers": store.count_papers()}
    counts["snapshot"] = store.record_snapshot(counts)
    return counts
