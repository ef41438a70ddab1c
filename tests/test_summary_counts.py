"""The counts pages show are kept as summary rows by every write, and always equal a recount;
so do the rows the landscape's lists read and the flag on each MS trial's counted registration."""

from __future__ import annotations

import gzip

from sqlalchemy import select

from curemap.enrich.pipeline import classify_store
from curemap.enrich.registrations import REGISTRATIONS_PASS, link_registrations, link_studies
from curemap.profile import load_profile
from curemap.sources.files import iter_file_records
from curemap.store import Store, schema, summary
from curemap.views import store_counts, store_status
from tests.conftest import SHARED_DATA
from tests.test_literature_store import LITERATURE_CSV
from tests.test_store import csv_rows, records_from_rows


def kept(store: Store) -> dict:
    table = schema.summary_counts
    with store.connect() as conn:
        return {(row.name, row.key): (row.n, row.fetched_at) for row in conn.execute(select(table)) if row.n}


def recounted(store: Store) -> dict:
    with store.connect() as conn:
        tally = summary.recount(conn)
    return {key: (n, tally.fetched_at.get(key)) for key, n in tally.counts.items() if n}


def kept_rows(store: Store) -> tuple[set[tuple], set[tuple]]:
    """The kept rows lists of trials read: each MS trial's counted registration naming a lead
    sponsor, with its organisation; the studies behind each strategy."""
    with store.connect() as conn:
        return tuple({tuple(row) for row in conn.execute(select(*table.c))} for table in (schema.sponsor_trials, schema.strategy_trials))


def recounted_rows(store: Store) -> tuple[set[tuple], set[tuple]]:
    with store.connect() as conn:
        fresh = summary.trial_figures(conn, None)
    return tuple(
        {tuple(row[c] for c in table.c.keys()) for row in rows}
        for table, rows in ((schema.sponsor_trials, fresh.sponsored), (schema.strategy_trials, fresh.listed))
    )


def same_as_recount(store: Store) -> None:
    assert kept(store) == recounted(store)
    assert kept_rows(store) == recounted_rows(store)


def test_imports_enrichment_and_withdrawals_keep_the_summary_equal_to_a_recount(store_url, tmp_path):
    store = Store(store_url)
    profile = load_profile()
    rows = csv_rows()[:300]
    store.import_records(records_from_rows(rows))
    store.import_records(iter_file_records(SHARED_DATA / "ctis" / "ctis_ms_20250924.csv"))
    store.import_records(iter_file_records(SHARED_DATA / "pubmed" / "pubmed-29768149.xml"))
    assert classify_store(store, profile) > 0
    same_as_recount(store)
    assert link_registrations(store) > 0  # some trials are registered in both registries
    same_as_recount(store)
    assert store_status(store)["ms_studies"] > 0
    sponsored, listed = kept_rows(store)
    flagged = {row[0] for row in sponsored}
    assert 0 < len(flagged) < store_status(store)["ms_studies"] and {row[2] for row in listed} == {"tested", "about", "comparator"}

    # Changed versions (status, phase, sponsor class moved; registrations of linked trials
    # updated before and after their other registry's; a record twice in one file), more
    # studies, a re-classification of what changed, a trial unlinked and linked again, and a
    # paper its source withdraws.
    trials = store.trial_ids()
    shared = {trial for study, trial in trials.items() if study != trial}
    linked = sorted(row["NCTId"] for row in rows if trials[row["NCTId"]] in shared)
    dated = {study: date for study, date in zip(linked[:4], ("2000-01-01", "2031-01-01", "2000-01-01", "2031-01-01"))}
    assert len(dated) == 4
    moved = [dict(row, OverallStatus="WITHDRAWN", Phases="PHASE3", LeadSponsorClass="OTHER") for row in rows[:40]]
    moved += [dict(row, LastUpdatePostDate=dated[row["NCTId"]]) for row in rows if row["NCTId"] in dated]
    store.import_records(records_from_rows(moved + [dict(rows[0], BriefTitle="Hyperbaric walking")] + csv_rows()[300:360]))
    same_as_recount(store)  # the old labels still hold for the changed records
    classify_store(store, profile)
    same_as_recount(store)
    moved_trials = {trials[study] for study in dated}
    now_flagged = {row[0] for row in kept_rows(store)[0]}
    assert {s for s in now_flagged ^ flagged if trials.get(s) in moved_trials}  # a counted registration changed
    trials = store.trial_ids()
    apart = next(trial for study, trial in trials.items() if study != trial)
    store.replace_registrations(
        [{"study_id": study, "trial_id": study if trial == apart else trial, "via": "self", "score": None, "evidence": None}
         for study, trial in trials.items()],
        mark=(REGISTRATIONS_PASS, 0),  # as though no change had been seen: the next pass links them again
    )
    same_as_recount(store)
    link_registrations(store)
    assert store.trial_ids() == {row["study_id"]: row["trial_id"] for row in link_studies(store.iter_studies(), store.get_study)}
    same_as_recount(store)
    withdrawal = tmp_path / "withdrawal.xml.gz"
    with gzip.open(withdrawal, "wt", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0"?>\n<MedlineCitationSet><DeleteCitation><PMID Version="1">29768149</PMID>'
                     "</DeleteCitation></MedlineCitationSet>\n")
    assert store.import_records(iter_file_records(withdrawal)).changed == 1
    assert store.import_records(records_from_rows(moved[10:20])).unchanged == 10
    same_as_recount(store)

    status, counts = store_status(store), dict(store_counts(store)["status"])
    assert status["studies"] == 360 + recounted(store)[(summary.by("source"), "ctis")][0]
    assert status["papers"] == 0
    assert counts["WITHDRAWN"] == recounted(store)[(summary.by("status"), "WITHDRAWN")][0] >= 39
    assert status["sources"]["ctgov"]["records"] == 360
    store.close()


def test_the_migration_fills_the_trial_figures_of_a_store_that_predates_them(store_url):
    store = Store(store_url)
    store.import_records(records_from_rows(csv_rows()[:300]))
    store.import_records(iter_file_records(SHARED_DATA / "ctis" / "ctis_ms_20250924.csv"))
    classify_store(store, load_profile())
    link_registrations(store)
    before = kept(store), kept_rows(store)
    with store.engine.begin() as conn:
        conn.execute(schema.summary_counts.delete().where(schema.summary_counts.c.name.in_(summary.TRIAL_COUNTERS)))
        conn.execute(schema.strategy_trials.delete())
        conn.execute(schema.sponsor_trials.delete())
        conn.execute(schema.schema_migrations.delete().where(schema.schema_migrations.c.name == "0013_kept_trials"))
    store.close()
    store = Store(store_url)  # opening applies 0013_kept_trials again
    assert (kept(store), kept_rows(store)) == before
    same_as_recount(store)
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


def test_every_change_names_its_kind_of_record_and_the_migration_fills_older_entries(store_url):
    """The overview reads the newest studies added from the change log by kind of record; the
    entries a store logged before the column existed are filled from the tables that hold them."""
    store = Store(store_url)
    store.import_records(records_from_rows(csv_rows()[:50]))
    store.import_records(iter_file_records(LITERATURE_CSV))
    ch = schema.changes

    def kinds() -> set[tuple[str, str | None]]:
        with store.connect() as conn:
            return set(conn.execute(select(ch.c.record_id, ch.c.record)).all())

    logged = kinds()
    with store.connect() as conn:
        studies = set(conn.execute(select(schema.studies.c.id)).scalars())
        papers = set(conn.execute(select(schema.papers.c.id)).scalars())
    assert logged == {(i, "study") for i in studies} | {(i, "paper") for i in papers}
    with store.engine.begin() as conn:
        conn.execute(ch.update().values(record=None))
        conn.execute(schema.schema_migrations.delete().where(schema.schema_migrations.c.name == "0016_change_record_kinds"))
    store.close()
    store = Store(store_url)  # opening applies 0016_change_record_kinds again
    assert kinds() == logged
    store.close()
