"""Country counts and site coverage, read for the wanted studies only (the database reading each
record's site total), equal a recount from every row of the tables, on the built store and on
both backends after an import changes sites. The overview's and the landscape's figures the
store keeps equal the same figures worked out from every MS trial, on the built store and on
both backends after imports, classification, changed records and relinked trials."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace

from sqlalchemy import select

from curemap.analysis import trends
from curemap.analysis.landscape import LISTS, RECRUITING_STATUSES, TESTED_LIST, StrategyLandscape, strategy_landscape, strategy_list, strategy_studies
from curemap.enrich.pipeline import classify_store
from curemap.enrich.registrations import link_registrations
from curemap.normalise import PHASE_RANK
from curemap.profile import load_profile
from curemap.sources.files import iter_file_records
from curemap.store import Store, schema
from tests.conftest import SHARED_DATA
from tests.test_store import csv_rows, records_from_rows


def _recounted(store: Store, wanted: set[str]) -> tuple[list[tuple[str, int]], trends.SiteCoverage]:
    """Both figures from scratch: every location row and every study's whole record."""
    st, loc = schema.studies, schema.study_locations
    seen: dict[str, set[str]] = defaultdict(set)
    sites: dict[str, int] = defaultdict(int)
    coverage = trends.SiteCoverage()
    with store.connect() as conn:
        for row in conn.execute(select(loc.c.study_id, loc.c.country)):
            sites[row.study_id] += 1
            if row.study_id in wanted and row.country and row.country.strip():
                seen[row.country.strip()].add(row.study_id)
        for row in conn.execute(select(st.c.id, st.c.source, st.c.data)):
            if row.id not in wanted:
                continue
            total = json.loads(row.data).get("total_locations")
            n = sites.get(row.id, 0)
            kind = "no_site" if not n else "first_site_only" if total and total > n else "all_sites"
            coverage.studies += 1
            setattr(coverage, kind, getattr(coverage, kind) + 1)
            coverage.by_source.setdefault(row.source, {"all_sites": 0, "first_site_only": 0, "no_site": 0})[kind] += 1
    countries = sorted(((c, len(ids)) for c, ids in seen.items()), key=lambda item: (-item[1], item[0]))
    return countries, coverage


def _same(store: Store, wanted: set[str]) -> trends.SiteCoverage:
    countries, coverage = _recounted(store, wanted)
    assert trends.country_counts(store, study_ids=wanted) == countries
    assert trends.site_coverage(store, wanted) == coverage
    return coverage


def test_the_built_stores_figures_equal_a_recount(built_store):
    ms_ids = {study.id for study in trends.ms_studies(built_store, load_profile())}
    coverage = _same(built_store, ms_ids)
    assert coverage.first_site_only and coverage.all_sites and len(coverage.by_source) > 1  # every kind is exercised
    assert trends.country_counts(built_store) == _recounted(built_store, trends._ms_ids(built_store))[0]


def test_figures_follow_an_import_that_changes_sites_on_both_backends(store_url):
    store = Store(store_url)
    rows = csv_rows()[:600]
    store.import_records(records_from_rows(rows))
    wanted = {row["NCTId"] for row in rows[::2]}
    before = _same(store, wanted)
    assert before.first_site_only and before.studies == len(wanted)
    # a record now listing every site it counts, and one moving to another country
    multi = next(row for row in rows[::2] if row["TotalLocations"] not in ("", "0", "1") and row["LocationCountry"])
    moved = next(row for row in rows[::2] if row["LocationCountry"] and row is not multi)
    changed = [dict(multi, TotalLocations="1", LocationCountry=multi["LocationCountry"].split("|")[0]),
               dict(moved, LocationCountry="Iceland", LocationCity="", LocationState="")]
    store.import_records(records_from_rows(changed))
    after = _same(store, wanted)
    assert after.first_site_only == before.first_site_only - 1 and after.all_sites == before.all_sites + 1
    assert ("Iceland", 1) in trends.country_counts(store, study_ids=wanted)
    store.close()


def paged_sponsor_trials(store: Store, organisation: str, per_page: int = 7) -> tuple[str, int, list[str]]:
    """An organisation's name, count and every trial id, following the cursor page by page."""
    ids, cursor = [], None
    while True:
        page = trends.sponsor_trials(store, organisation, per_page=per_page, cursor=cursor)
        assert page is not None and len(page.items) <= per_page
        ids += page.items
        if page.next_cursor is None:
            return page.organisation, page.total, ids
        assert page.next_cursor == page.items[-1]
        cursor = page.next_cursor


def _kept_figures_are_a_recount(store: Store) -> list[trends.MsStudy]:
    """Every figure the overview and landscape read from kept rows, against the same figure
    from every MS trial (read one by one) and every strategy label."""
    profile = load_profile()
    studies = trends.ms_studies(store, profile)
    groups = trends.kept_trials(store)
    assert sum(group.trials for group in groups) == len(studies)
    for figure in (trends.pipeline_by_group_phase, trends.started_per_year, trends.sponsor_types):
        assert figure(store, profile, studies=groups) == figure(store, profile, studies=studies)
    ids = {study.id for study in studies}
    assert trends.kept_countries(store) == trends.country_counts(store, study_ids=ids)
    assert trends.kept_site_coverage(store) == trends.site_coverage(store, ids)
    leading = trends.leading_sponsors(store, profile, studies=studies, limit=10)
    assert trends.kept_leading_sponsors(store, 10) == [replace(o, ids=o.ids[: trends.FIRST_IDS]) for o in leading]
    for organisation in leading:
        assert paged_sponsor_trials(store, organisation.name) == (organisation.name, organisation.count, organisation.ids)

    behind = strategy_studies(store, profile)
    st = schema.studies
    with store.connect() as conn:
        facts = {row.id: row for row in conn.execute(select(st.c.id, st.c.status, st.c.phase, st.c.study_type, st.c.has_results))}
    for entry in strategy_landscape(store, profile):
        tested = [facts[i] for i in behind.tested.get(entry.id, [])]
        staged = [t for t in tested if t.study_type == "INTERVENTIONAL" and t.status != "WITHDRAWN" and t.phase in PHASE_RANK]
        stage = max((t.phase for t in staged), key=PHASE_RANK.__getitem__, default=None)
        assert (entry.studies, entry.interventional, entry.with_results) == (
            len(tested), sum(t.study_type == "INTERVENTIONAL" for t in tested), sum(bool(t.has_results) for t in tested)
        ), entry.id
        assert entry.recruiting_studies == [t.id for t in tested if t.status in RECRUITING_STATUSES]
        assert entry.recruiting == len(entry.recruiting_studies)
        assert entry.by_status == Counter(t.status or "UNKNOWN" for t in tested)
        assert entry.by_phase == Counter(t.phase or "not_given" for t in tested)
        assert (entry.stage, entry.stage_studies) == (stage, [t.id for t in staged if t.phase == stage])
        assert entry.stage_trials == len(entry.stage_studies)
        assert entry.registrations == behind.registrations.get(entry.id, 0)
        assert entry.about_studies == behind.about.get(entry.id, [])
        assert entry.comparator_studies == behind.comparator.get(entry.id, [])
    _lists_are_cut_and_paged_whole(store, strategy_landscape(store, profile), behind.tested)
    return studies


def _lists_are_cut_and_paged_whole(store: Store, whole: list[StrategyLandscape], tested: dict[str, list[str]]) -> None:
    """A landscape cut at a few ids names the first of each whole list and its length, and
    each list read page by page by cursor is the whole list (ids in code-point order on both
    backends); so are the trials testing each strategy, by cursor and by numbered pages."""
    cut = {entry.id: entry for entry in strategy_landscape(store, load_profile(), shown=3)}
    for entry in whole:
        ids = tested.get(entry.id, [])
        numbered = [strategy_list(store, entry.id, TESTED_LIST, per_page=5, page=n) for n in range(1, len(ids) // 5 + 2)]
        assert [i for page in numbered for i in page.items] == ids and {page.total for page in numbered} == {len(ids)}
        assert _paged(store, entry.id, TESTED_LIST) == ids
        for name in LISTS:
            ids = getattr(entry, name)
            assert ids == sorted(ids)
            assert (getattr(cut[entry.id], name), cut[entry.id].list_totals[name]) == (ids[:3], len(ids)), (entry.id, name)
            assert _paged(store, entry.id, name) == ids, (entry.id, name)


def _paged(store: Store, strategy: str, name: str) -> list[str]:
    """Every id of one of a strategy's lists, following the cursor page by page."""
    paged, cursor = [], None
    while True:
        page = strategy_list(store, strategy, name, per_page=4, cursor=cursor)
        assert page.total >= len(paged) + len(page.items) and len(page.items) <= 4
        paged += page.items
        if page.next_cursor is None:
            assert page.total == len(paged)
            return paged
        assert page.next_cursor == page.items[-1]
        cursor = page.next_cursor


def test_the_built_stores_kept_figures_equal_a_recount(built_store):
    studies = _kept_figures_are_a_recount(built_store)
    landscape = strategy_landscape(built_store, load_profile())
    assert len(studies) > 3000 and sum(entry.studies for entry in landscape) > 3000
    for listed in ("recruiting_studies", "about_studies", "comparator_studies", "stage_studies"):
        assert any(getattr(entry, listed) for entry in landscape), listed  # every list is exercised
    leading = trends.leading_sponsors(built_store, load_profile(), studies=studies, limit=10)
    assert leading[0].count > trends.FIRST_IDS  # the overview's ids are the first of many
    merck = next(o for o in leading if o.name == "Merck KGaA")
    assert len(merck.spellings) > 1  # its count merges several registry spellings
    assert paged_sponsor_trials(built_store, merck.name.upper(), per_page=1000) == (merck.name, merck.count, merck.ids)
    assert trends.sponsor_trials(built_store, "No Such Sponsor") is None


def test_kept_figures_follow_imports_classification_and_trials_on_both_backends(store_url):
    store = Store(store_url)
    profile = load_profile()
    rows = csv_rows()[:400]
    store.import_records(records_from_rows(rows))
    store.import_records(iter_file_records(SHARED_DATA / "ctis" / "ctis_ms_20250924.csv"))
    classify_store(store, profile)
    link_registrations(store)
    before = _kept_figures_are_a_recount(store)
    # statuses, phases, start dates, sites and sponsors move; linked registrations change date
    trials = store.trial_ids()
    linked = {study for study, trial in trials.items() if study != trial} | {t for s, t in trials.items() if s != t}
    changed = [
        dict(row, OverallStatus="RECRUITING", Phases="PHASE4", StartDate="2024-03", LocationCountry="Iceland",
             LeadSponsorName="Biogen", LastUpdatePostDate="2031-01-01" if row["NCTId"] in linked else row["LastUpdatePostDate"])
        for row in rows[::7]
    ]
    store.import_records(records_from_rows(changed))
    _kept_figures_are_a_recount(store)  # the earlier labels still count for the changed records
    classify_store(store, profile)
    link_registrations(store)
    after = _kept_figures_are_a_recount(store)
    assert ("Iceland", len([s for s in after if s.id in {row["NCTId"] for row in changed}])) in trends.kept_countries(store)
    assert {s.id for s in before} != {s.id for s in after}  # some trials are now counted by another registration
    store.close()
