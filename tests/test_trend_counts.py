"""Country counts and site coverage, read for the wanted studies only (the database reading each
record's site total), equal a recount from every row of the tables, on the built store and on
both backends after an import changes sites."""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import select

from curemap.analysis import trends
from curemap.profile import load_profile
from curemap.store import Store, schema
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
