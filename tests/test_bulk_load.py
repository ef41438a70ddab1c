"""The bulk load path: a partition's trial figures moved once for its whole transaction equal a
recount, however its batches split the trials it touches; the writes migration 0015 lightens
(prefix indexes gone, lz4 for large text on PostgreSQL) keep every record exactly."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import inspect, text

from curemap.engine.partitions import load_partition, process_file
from curemap.enrich.pipeline import classify_store
from curemap.enrich.registrations import link_registrations
from curemap.profile import load_profile
from curemap.sources.files import iter_file_records
import curemap.store.store as store_module
from curemap.store import Store, summary
from curemap.store.store import Entry
from curemap.store.migrations import LARGE_TEXT, PREFIX_INDEXES
from tests.conftest import SHARED_DATA
from tests.test_store import csv_rows, records_from_rows
from tests.test_search_ranking import _index_answers_as_the_rows
from tests.test_trend_counts import _kept_figures_are_a_recount
from curemap.web.query import StudyFilters


def _summary_rows(store: Store) -> dict[tuple[str, str], int]:
    with store.connect() as conn:
        return {(row.name, row.key): row.n for row in conn.execute(text("SELECT name, key, n FROM summary_counts WHERE n != 0"))}


def _recount_rows(store: Store) -> dict[tuple[str, str], int]:
    with store.connect() as conn:
        return {key: n for key, n in summary.recount(conn).counts.items() if n}


def test_a_partition_in_many_batches_moves_the_trial_figures_of_what_it_touches_once(store_url, tmp_path, monkeypatch):
    """Linked registrations, changed and new studies fall into different batches of one
    transaction (batches of 7): the figures it leaves equal a recount, and equal those an
    in-process import of the same file leaves on a store built the same way."""
    profile = load_profile()
    rows = csv_rows()[:400]

    def prepared(url: str) -> Store:
        store = Store(url)
        store.import_records(records_from_rows(rows))
        store.import_records(iter_file_records(SHARED_DATA / "ctis" / "ctis_ms_20250924.csv"))
        classify_store(store, profile)
        link_registrations(store)
        return store

    bulk = prepared(store_url)
    trials = bulk.trial_ids()
    linked = sorted({study for study, trial in trials.items() if study != trial} | {t for s, t in trials.items() if s != t})
    assert len([study for study in linked if study.startswith("NCT")]) >= 2
    changed = [
        dict(row, OverallStatus="COMPLETED", Phase="PHASE3", LocationCountry="Iceland", LastUpdatePostDate="2031-02-01")
        for row in rows
        if row["NCTId"] in linked or row in rows[::11]
    ]
    path = tmp_path / "changed.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(changed + csv_rows()[400:460])
    monkeypatch.setattr(store_module, "BATCH_SIZE", 7)
    loaded = load_partition(bulk, process_file(str(path), str(tmp_path), 0))
    assert (loaded.imported, loaded.changed) == (60, len(changed))
    assert _summary_rows(bulk) == _recount_rows(bulk)
    _kept_figures_are_a_recount(bulk)
    # the index's facets are the labels the partition carried, as the studies' rows hold them
    searches = [StudyFilters(q="sclerosis", ms=True), StudyFilters(q="sclerosis", group="disease_control", phase="phase3"),
                StudyFilters(q="sclerosis", curative=False, status="COMPLETED"), StudyFilters(q="sclerosis", ms=False)]
    assert all(_index_answers_as_the_rows(bulk, searches))

    row_by_row = prepared(f"sqlite:///{tmp_path / 'rows.db'}")
    row_by_row.import_records(iter_file_records(path))
    classify_store(row_by_row, profile)
    assert _summary_rows(bulk) == _summary_rows(row_by_row)
    bulk.close()
    row_by_row.close()


def test_the_prefix_indexes_are_gone_and_postgresql_compresses_large_text_with_lz4(store_url):
    store = Store(store_url)
    inspector = inspect(store.engine)
    held = {index["name"] for table in ("studies", "papers") for index in inspector.get_indexes(table)}
    assert not held & set(PREFIX_INDEXES)
    assert {"ix_studies_status_last_update", "ix_studies_phase_last_update", "ix_studies_last_update_id", "ix_papers_published_id"} <= held
    if store.engine.dialect.name == "postgresql":
        with store.connect() as conn:
            methods = {
                (table, column): conn.execute(
                    text("SELECT attcompression FROM pg_attribute WHERE attrelid = CAST(:table AS regclass) AND attname = :column"),
                    {"table": table, "column": column},
                ).scalar_one()
                for table, columns in LARGE_TEXT.items()
                for column in columns
            }
        assert set(methods.values()) == {"l"}, methods
    records = list(records_from_rows(csv_rows()[:50]))
    store.import_records(records)
    assert [store.get_study(record.study.id).to_dict() for record in records] == [Entry.of(record).data for record in records]
    store.close()
