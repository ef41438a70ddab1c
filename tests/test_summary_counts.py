"""The counts pages show are kept as summary rows by every write, and always equal a recount."""

from __future__ import annotations

import gzip

from sqlalchemy import select

from curemap.enrich.pipeline import classify_store
from curemap.profile import load_profile
from curemap.sources.files import iter_file_records
from curemap.store import Store, schema, summary
from curemap.views import store_counts, store_status
from tests.conftest import SHARED_DATA
from tests.test_store import csv_rows, records_from_rows


def kept(store: Store) -> dict:
    table = schema.summary_counts
    with store.connect() as conn:
        return {(row.name, row.key): (row.n, row.fetched_at) for row in conn.execute(select(table)) if row.n}


def recounted(store: Store) -> dict:
    with store.connect() as conn:
        tally = summary.recount(conn)
    return {key: (n, tally.fetched_at.get(key)) for key, n in tally.counts.items() if n}


def test_imports_enrichment_and_withdrawals_keep_the_summary_equal_to_a_recount(store_url, tmp_path):
    store = Store(store_url)
    profile = load_profile()
    rows = csv_rows()[:300]
    store.import_records(records_from_rows(rows))
    store.import_records(iter_file_records(SHARED_DATA / "ctis" / "ctis_ms_20250924.csv"))
    store.import_records(iter_file_records(SHARED_DATA / "pubmed" / "pubmed-29768149.xml"))
    assert classify_store(store, profile) > 0
    assert kept(store) == recounted(store)
    assert store_status(store)["ms_studies"] > 0

    # Changed versions (status, phase, sponsor class moved; a record twice in one file), more
    # studies, a re-classification of what changed, and a paper its source withdraws.
    moved = [dict(row, OverallStatus="WITHDRAWN", Phases="PHASE3", LeadSponsorClass="OTHER") for row in rows[:40]]
    store.import_records(records_from_rows(moved + [dict(rows[0], BriefTitle="Hyperbaric walking")] + csv_rows()[300:360]))
    classify_store(store, profile)
    withdrawal = tmp_path / "withdrawal.xml.gz"
    with gzip.open(withdrawal, "wt", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0"?>\n<MedlineCitationSet><DeleteCitation><PMID Version="1">29768149</PMID>'
                     "</DeleteCitation></MedlineCitationSet>\n")
    assert store.import_records(iter_file_records(withdrawal)).changed == 1
    assert store.import_records(records_from_rows(moved[10:20])).unchanged == 10
    assert kept(store) == recounted(store)

    status, counts = store_status(store), dict(store_counts(store)["status"])
    assert status["studies"] == 360 + recounted(store)[(summary.by("source"), "ctis")][0]
    assert status["papers"] == 0
    assert counts["WITHDRAWN"] == recounted(store)[(summary.by("status"), "WITHDRAWN")][0] >= 39
    assert status["sources"]["ctgov"]["records"] == 360
    store.close()


def test_the_migration_fills_the_summary_and_the_labels_of_a_store_that_predates_them(store_url):
    store = Store(store_url)
    store.import_records(records_from_rows(csv_rows()[:200]))
    classify_store(store, load_profile())
    with store.engine.begin() as conn:
        conn.execute(schema.summary_counts.delete())
        conn.execute(schema.studies.update().values(is_ms=None, curative_intent=None))
        conn.execute(schema.schema_migrations.delete().where(schema.schema_migrations.c.name == "0011_scale"))
    store.close()
    store = Store(store_url)  # opening applies 0011_scale again
    assert kept(store) == recounted(store) and store.count_studies() == 200
    st, cl = schema.studies, schema.classifications
    with store.connect() as conn:
        copied = conn.execute(select(st.c.id, st.c.is_ms, st.c.curative_intent).order_by(st.c.id)).all()
        labels = conn.execute(select(cl.c.record_id, cl.c.is_ms, cl.c.curative_intent).where(cl.c.kind == "study").order_by(cl.c.record_id)).all()
    assert [tuple(row) for row in copied] == [tuple(row) for row in labels]
    store.close()


def test_a_list_filtered_on_a_kept_count_gives_the_counted_total(built_store):
    """All studies, the MS ones, one status or one phase alone: the list's total is the kept row,
    and it is the number of studies the filter matches."""
    from sqlalchemy import func

    from curemap.web.query import StudyFilters, study_conditions, study_page

    profile = load_profile()
    for filters in ({}, {"ms": True}, {"status": "RECRUITING"}, {"phase": "phase3"}, {"phase": "no_such_phase"}):
        chosen = StudyFilters(**filters)
        where = study_conditions(profile, chosen, built_store.engine.dialect.name)
        with built_store.connect() as conn:
            counted = conn.execute(select(func.count()).select_from(schema.studies).where(*where)).scalar_one()
        assert study_page(built_store, profile, chosen, per_page=1).total == counted, filters
