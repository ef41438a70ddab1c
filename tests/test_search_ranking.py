"""Full-text search at scale: the index counts a search and answers its phase and status (facets)
with its words, lists walk the date index for common words, and a search can be ranked by
relevance (the search page's order) within a bounded window of numbered pages."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from curemap.errors import InputError
from curemap.profile import load_profile
from curemap.store import Store, schema, search
from curemap.store.kinds import STUDY
from curemap.web import create_app, query
from curemap.web.query import StudyFilters, study_page
from tests.test_store import csv_rows, records_from_rows


def _through_rows(store: Store, filters: StudyFilters, *, limit: int | None = None) -> tuple[int, list[str]]:
    """The list's total, and its newest ``limit`` ids, found the way they were before the index
    answered its filters: the words' matches joined to the studies, the filters tested on them."""
    profile = load_profile()
    dialect = store.engine.dialect.name
    st = schema.studies
    where = query.study_conditions(profile, dataclasses.replace(filters, q=None), dialect)
    where.append(st.c.id.in_(search.matching_ids("study", filters.q, dialect)))
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(st).where(*where)).scalar_one()
        newest = select(st.c.id).where(*where).order_by(st.c.last_update_posted.desc().nulls_last(), st.c.id.desc())
        return total, list(conn.execute(newest.limit(limit or 1)).scalars())


def _counted_through_rows(store: Store, filters: StudyFilters) -> int:
    return _through_rows(store, filters)[0]


def test_the_index_counts_a_search_with_its_phase_and_status_as_the_studies_do(store_url):
    store = Store(store_url)
    rows = csv_rows()[:400]
    store.import_records(records_from_rows(rows))
    profile = load_profile()
    searches = [
        StudyFilters(q="multiple sclerosis"),
        StudyFilters(q="multiple sclerosis", phase="phase2"),
        StudyFilters(q="sclerosis", status="COMPLETED"),
        StudyFilters(q="sclerosis", status="RECRUITING", phase="phase3"),
        StudyFilters(q="ocrelizumab", phase="phase3"),
    ]
    for filters in searches:
        with store.engine.connect() as conn:
            indexed = search.count_matches(conn, "study", filters.q, query.text_facets(profile, filters))
        assert indexed == _counted_through_rows(store, filters) == study_page(store, profile, filters).total, filters
    assert _counted_through_rows(store, searches[1]) > 0 and _counted_through_rows(store, searches[2]) > 0

    # a study's new status moves it between the index's facets with its next version
    target = next(r for r in rows if r["OverallStatus"] == "COMPLETED" and "sclerosis" in (r["BriefTitle"] + r["Conditions"]).lower())
    before = study_page(store, profile, StudyFilters(q="sclerosis", status="COMPLETED")).total
    store.import_records(records_from_rows([dict(target, OverallStatus="TERMINATED", LastUpdatePostDate="2030-01-01")]))
    assert study_page(store, profile, StudyFilters(q="sclerosis", status="COMPLETED")).total == before - 1
    terminated = study_page(store, profile, StudyFilters(q="sclerosis", status="TERMINATED"), per_page=200)
    assert target["NCTId"] in {item["id"] for item in terminated.items}
    store.close()


def test_the_index_counts_and_ranks_a_search_narrowed_by_any_filter_as_the_studies_do(store_url):
    """Every filter of the study list is among a study's facets (a sponsor's class and type,
    phenotypes, populations, countries too): a search narrowed by any of them, or several, is
    counted, listed newest first and ranked in the index, and equals the words' matches joined
    to the studies with the filters tested on their rows, on both stores. A study's next version
    moves it between its countries' searches."""
    from curemap.enrich.pipeline import classify_store

    store = Store(store_url)
    rows = csv_rows()[:400]
    store.import_records(records_from_rows(rows))
    profile = load_profile()
    classify_store(store, profile)
    with store.engine.connect() as conn:
        def common(statement: str) -> str:
            return conn.exec_driver_sql(statement + " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").scalar_one()

        country = common("SELECT country FROM study_locations WHERE country IS NOT NULL")
        sponsor_class = common("SELECT lead_sponsor_class FROM studies WHERE lead_sponsor_class IS NOT NULL")
        sponsor_type = common("SELECT sponsor_type FROM classifications WHERE sponsor_type IS NOT NULL")
        phenotype = common("SELECT phenotype FROM record_phenotypes")
        population = common("SELECT population FROM record_populations")
    searches = [
        StudyFilters(q="sclerosis", country=country),
        StudyFilters(q="sclerosis", country=country.upper()),  # a registry's words compared whole, case and all: none
        StudyFilters(q="sclerosis", sponsor_class=sponsor_class),
        StudyFilters(q="sclerosis", sponsor_type=sponsor_type),
        StudyFilters(q="sclerosis", phenotype=phenotype),
        StudyFilters(q="multiple sclerosis", population=population),
        StudyFilters(q="sclerosis", country=country, sponsor_class=sponsor_class, phase="phase2"),
        StudyFilters(q="sclerosis", group="disease_control", country=country, ms=True),
    ]
    for filters in searches:
        total, newest = _through_rows(store, filters, limit=30)
        page = study_page(store, profile, filters, per_page=30)
        assert page.total == total and [item["id"] for item in page.items] == newest, filters
        with store.engine.connect() as conn:
            assert search.count_matches(conn, "study", filters.q, query.text_facets(profile, filters)) == total
        ranked = study_page(store, profile, filters, sort="relevance", per_page=100)
        ids = [item["id"] for n in range(1, ranked.pages + 1) for item in study_page(store, profile, filters, sort="relevance", per_page=100, page=n).items]
        scores = _scores(store, "study", filters.q)
        assert ranked.total == total and sorted(ids) == sorted(_through_rows(store, filters, limit=total)[1]), filters
        assert [scores[i] for i in ids] == sorted((scores[i] for i in ids), reverse=True)
    assert all(_counted_through_rows(store, filters) > 0 for filters in searches[:1] + searches[2:7])
    assert _counted_through_rows(store, searches[1]) == 0

    # a study's next version with its sites in another country moves it between the countries' searches
    target = study_page(store, profile, searches[0], per_page=1).items[0]["id"]
    row = next(r for r in rows if r["NCTId"] == target)
    before = study_page(store, profile, searches[0]).total
    store.import_records(records_from_rows([dict(row, LocationCountry="Atlantis", LastUpdatePostDate="2030-01-01")]))
    assert study_page(store, profile, searches[0]).total == before - 1
    assert [item["id"] for item in study_page(store, profile, StudyFilters(q="sclerosis", country="Atlantis")).items] == [target]
    store.close()


def _pages(store: Store, filters: StudyFilters, per_page: int, n: int) -> tuple[list[list[str]], list[list[str]]]:
    """The first ``n`` pages of a list, numbered and followed by cursor."""
    profile = load_profile()
    numbered = [[i["id"] for i in study_page(store, profile, filters, per_page=per_page, page=k).items] for k in range(1, n + 1)]
    followed, cursor = [], None
    for _ in range(n):
        page = study_page(store, profile, filters, per_page=per_page, cursor=cursor)
        followed.append([i["id"] for i in page.items])
        cursor = page.next_cursor
    return numbered, followed


def test_a_search_s_newest_matches_are_read_from_the_index_keys_in_the_lists_order(built_store):
    """The SQLite index's keys follow each study's last update, so a search's newest page is read
    from its first keys; numbered and cursor pages equal the matches sorted through the studies
    (ties on a day ordered by id, undated studies last)."""
    for filters in (StudyFilters(q="multiple sclerosis"), StudyFilters(q="relapsing"), StudyFilters(q="ocrelizumab"),
                    StudyFilters(q="sclerosis", status="COMPLETED", ms=True)):
        total, newest = _through_rows(built_store, filters, limit=75)
        numbered, followed = _pages(built_store, filters, 25, 3)
        assert total > 25 and numbered == followed == [newest[:25], newest[25:50], newest[50:75]], filters
    with built_store.engine.connect() as conn:  # every study's key is in its day's range
        keys = conn.exec_driver_sql(
            "SELECT search_keys.id, studies.last_update_posted FROM search_keys JOIN studies ON studies.id = search_keys.record_id"
        ).all()
    assert len(keys) == built_store.count_studies() and all(key >> search.DAY_SHIFT == search.day_number(day) for key, day in keys)


@settings(max_examples=60, deadline=None)
@given(
    words=st.sampled_from(["sclerosis", "multiple sclerosis", "relapsing", "ocrelizumab", "patients", "stem cell"]),
    kind=st.sampled_from(["study", "paper"]),
    limit=st.integers(min_value=1, max_value=5000),
    cut=st.floats(min_value=0, max_value=1),
)
def test_the_newest_keys_are_read_forwards_as_every_match_sorted(built_store, words, kind, limit, cut):
    """A search's newest keys (newest pages, the ranking window) are found by counting ranges and
    read forwards (SQLite 3.40's FTS5 read long lists backwards wrongly): for any limit and any
    upper bound, they are the highest of every match read forwards and sorted."""
    low, high = search._kind_keys(kind)
    match = search._sqlite_match(search.query_words(words), None)
    with built_store.engine.connect() as conn:
        every = [key for (key,) in conn.exec_driver_sql(
            "SELECT rowid FROM search_documents WHERE search_documents MATCH ? AND rowid >= ? AND rowid < ? ORDER BY rowid", (match, low, high)
        )]
        if every and cut < 1:  # an upper bound among the matches, as a cursor's day gives
            high = every[int(cut * (len(every) - 1))]
        expected = sorted((key for key in every if key < high), reverse=True)[:limit]
        assert search._newest_keys(conn, match, low, high, limit=limit) == expected


def test_a_paper_search_s_newest_matches_are_read_from_the_index_keys_in_the_lists_order(built_store):
    """Papers are keyed by their publication day: a search's newest pages, numbered and by
    cursor, equal its matches sorted through the papers (ties on a day by id, undated last)."""
    profile = load_profile()
    pp = schema.papers
    for words in ("multiple sclerosis", "patients", "disease"):
        with built_store.engine.connect() as conn:
            matched = pp.c.id.in_(search.matching_ids("paper", words, "sqlite"))
            order = (pp.c.published.desc().nulls_last(), pp.c.id.desc())
            newest = list(conn.execute(select(pp.c.id).where(pp.c.deleted.is_(False), matched).order_by(*order).limit(75)).scalars())
        filters = query.PaperFilters(q=words)
        numbered = [[i["id"] for i in query.paper_page(built_store, profile, filters, per_page=25, page=k).items] for k in (1, 2, 3)]
        followed, cursor = [], None
        for _ in range(3):
            page = query.paper_page(built_store, profile, filters, per_page=25, cursor=cursor)
            followed.append([i["id"] for i in page.items])
            cursor = page.next_cursor
        assert len(newest) == 75 and numbered == followed == [newest[:25], newest[25:50], newest[50:]], words


def test_a_new_last_update_moves_a_study_to_the_front_of_its_searches(store_url):
    store = Store(store_url)
    rows = csv_rows()[:300]
    store.import_records(records_from_rows(rows))
    filters = StudyFilters(q="sclerosis")
    oldest = _through_rows(store, filters, limit=10_000)[1][-1]
    target = next(r for r in rows if r["NCTId"] == oldest)
    store.import_records(records_from_rows([dict(target, LastUpdatePostDate="2031-03-04")]))
    store.import_records(records_from_rows([dict(rows[0], LastUpdatePostDate="2031-03-04")]))  # the same day: ordered by id
    numbered, followed = _pages(store, filters, 10, 2)
    newest = _through_rows(store, filters, limit=20)[1]
    assert numbered == followed == [newest[:10], newest[10:]]
    assert newest[:2] == sorted([oldest, rows[0]["NCTId"]], reverse=True)
    store.close()


def test_relevance_puts_the_words_in_titles_first_and_pages_by_number(built_store):
    profile = load_profile()
    for words in ("alemtuzumab", "stem cell transplantation", "remyelination"):
        ranked = study_page(built_store, profile, StudyFilters(q=words), sort="relevance", per_page=10)
        newest = study_page(built_store, profile, StudyFilters(q=words), per_page=200)
        assert ranked.total == newest.total > 10
        in_title = [i["id"] for i in ranked.items if words.split()[0][:7] in i["brief_title"].lower()]
        assert len(in_title) >= 8, (words, [i["brief_title"] for i in ranked.items])
        share = sum(words.split()[0][:7] in i["brief_title"].lower() for i in newest.items) / len(newest.items)
        assert len(in_title) / len(ranked.items) > share  # ranking brings them forward
        second = study_page(built_store, profile, StudyFilters(q=words), sort="relevance", per_page=10, page=2)
        assert second.next_cursor is None and not {i["id"] for i in second.items} & {i["id"] for i in ranked.items}
    papers = query.paper_page(built_store, profile, query.PaperFilters(q="remyelination"), sort="relevance", per_page=5)
    assert papers.total > 5 and all("remyelinat" in p["title"].lower() for p in papers.items[:3])


def test_relevance_needs_words_and_numbered_pages(built_store):
    profile = load_profile()
    with pytest.raises(InputError, match="give q"):
        study_page(built_store, profile, StudyFilters(ms=True), sort="relevance")
    with pytest.raises(InputError, match="paged by number"):
        first = study_page(built_store, profile, StudyFilters(q="sclerosis"), per_page=5)
        study_page(built_store, profile, StudyFilters(q="sclerosis"), sort="relevance", cursor=first.next_cursor)
    client = TestClient(create_app(built_store))
    for url in ("/api/studies?q=sclerosis&sort=relevance&format=csv", "/api/papers?q=sclerosis&sort=relevance&format=csv"):
        response = client.get(url)
        assert response.status_code == 400 and "export by date" in response.json()["error"], url
    response = client.get("/api/papers?sort=relevance")
    assert response.status_code == 400 and "give q" in response.json()["error"]


def test_the_search_page_ranks_and_escapes(built_store):
    client = TestClient(create_app(built_store))
    page = client.get("/search", params={"q": "remyelination"})
    assert page.status_code == 200 and "Most relevant first" in page.text
    first = page.text.index("<h2>Studies</h2>")
    assert "Remyelinat" in page.text[first : first + 3000]
    hostile = client.get("/search", params={"q": '<script>alert("x")</script> sclerosis'})
    assert hostile.status_code == 200 and "<script>alert" not in hostile.text and "&lt;script&gt;" in hostile.text


def test_a_store_made_before_the_facets_is_indexed_again_on_opening(built, capsys):
    url = f"sqlite:///{built / 'curemap.db'}"
    store = Store(url)
    profile = load_profile()
    expected = study_page(store, profile, StudyFilters(q="sclerosis", status="RECRUITING")).total
    with store.engine.begin() as conn:  # the index as migration 0005 made it before 0018
        conn.exec_driver_sql("DROP TABLE search_documents")
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE search_documents USING fts5(title, body, tokenize='porter unicode61 remove_diacritics 2')"
        )
        conn.exec_driver_sql("DELETE FROM search_keys")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE name = '0018_search_facets'")
        assert not search.has_facets(conn)
    store.close()
    capsys.readouterr()
    reopened = Store(url)  # opening the store runs migration 0018 again, saying so
    said = capsys.readouterr().err
    assert "migrating the store: 0018_search_facets …" in said and "0018_search_facets done in" in said
    with reopened.engine.connect() as conn:
        assert search.has_facets(conn)
    assert study_page(reopened, profile, StudyFilters(q="sclerosis", status="RECRUITING")).total == expected > 0


def test_a_withdrawn_paper_leaves_the_index_and_searches_count_the_rest(store_url, tmp_path):
    import gzip

    from curemap.sources.files import iter_file_records
    from tests.conftest import SHARED_DATA

    store = Store(store_url)
    store.import_records(iter_file_records(SHARED_DATA / "pubmed" / "pubmed-29768149.xml"))
    store.import_records(iter_file_records(SHARED_DATA / "pubmed" / "medline16n0902.xml.gz"))
    profile = load_profile()
    words = search.query_words(store.get_paper("PMID:29768149").title)[:3]
    search_for = " ".join(words)

    def through_rows() -> int:
        pp = schema.papers
        with store.engine.connect() as conn:
            matched = pp.c.id.in_(search.matching_ids("paper", search_for, store.engine.dialect.name))
            return conn.execute(select(func.count()).select_from(pp).where(pp.c.deleted.is_(False), matched)).scalar_one()

    for order in ("relevance", "-published"):
        found = query.paper_page(store, profile, query.PaperFilters(q=search_for), sort=order, per_page=200)
        assert "PMID:29768149" in {p["id"] for p in found.items} and found.total == through_rows() == len(found.items)
    withdrawal = tmp_path / "withdrawal.xml.gz"  # in the shape MEDLINE files carry it
    with gzip.open(withdrawal, "wt", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0"?>\n<MedlineCitationSet><DeleteCitation><PMID Version="1">29768149</PMID>'
                     "</DeleteCitation></MedlineCitationSet>\n")
    assert store.import_records(iter_file_records(withdrawal)).changed == 1
    for order in ("relevance", "-published"):
        found = query.paper_page(store, profile, query.PaperFilters(q=search_for), sort=order, per_page=200)
        assert "PMID:29768149" not in {p["id"] for p in found.items} and found.total == through_rows() == len(found.items)
    store.close()


LABELLED_SEARCHES = [
    StudyFilters(q="sclerosis", ms=True),
    StudyFilters(q="sclerosis", ms=False),
    StudyFilters(q="sclerosis", curative=True),
    StudyFilters(q="transplantation", strategy="ahsct"),
    StudyFilters(q="transplantation", group="immune_reset"),
    StudyFilters(q="ocrelizumab", strategy="anti_cd20", role="tested"),
    StudyFilters(q="ocrelizumab", strategy="anti_cd20", role="comparator"),
    StudyFilters(q="stem cell", group="repair_regeneration", phase="phase2"),
    StudyFilters(q="sclerosis", ms=True, curative=True, status="COMPLETED"),
    StudyFilters(q="relapsing", phase="phase3", ms=True),
]
"""Searches narrowed by the labels enrichment gives (MS, curative, strategy, group, role), with
and without phase and status: every one the index answers by itself on SQLite."""


def _index_answers_as_the_rows(store: Store, searches: list[StudyFilters]) -> list[int]:
    """Each search's count in the index alone (SQLite) and its first page equal the matches
    joined to the studies and tested there; returns the totals."""
    profile = load_profile()
    dialect = store.engine.dialect.name
    totals = []
    for filters in searches:
        total, newest = _through_rows(store, filters, limit=20)
        page = study_page(store, profile, filters, per_page=20)
        assert page.total == total and [item["id"] for item in page.items] == newest, filters
        with store.engine.connect() as conn:
            assert search.count_matches(conn, "study", filters.q, query.text_facets(profile, filters)) == total, filters
        totals.append(total)
    return totals


def test_the_index_answers_a_search_narrowed_by_labels_and_strategies(built_store):
    totals = _index_answers_as_the_rows(built_store, LABELLED_SEARCHES)
    assert sum(n > 0 for n in totals) >= 8, totals
    assert totals[0] + totals[1] <= _counted_through_rows(built_store, StudyFilters(q="sclerosis"))
    profile = load_profile()
    for filters in LABELLED_SEARCHES[:5]:  # numbered and cursor pages in the lists' order
        numbered, followed = _pages(built_store, filters, 10, 2)
        assert numbered == followed == [_through_rows(built_store, filters, limit=20)[1][k : k + 10] for k in (0, 10)]
    ranked = study_page(built_store, profile, LABELLED_SEARCHES[3], sort="relevance", per_page=200)
    assert ranked.total == totals[3] and {i["id"] for i in ranked.items} == set(_through_rows(built_store, LABELLED_SEARCHES[3], limit=200)[1])


def test_a_study_s_new_labels_move_it_between_the_index_s_facets(built):
    store = Store.open(built)
    profile = load_profile()
    searches = [StudyFilters(q="ocrelizumab", ms=True), StudyFilters(q="ocrelizumab", strategy="anti_cd20"),
                StudyFilters(q="ocrelizumab", strategy="ahsct"), StudyFilters(q="ocrelizumab", curative=True)]
    before = _index_answers_as_the_rows(store, searches)
    moved = study_page(store, profile, searches[1], per_page=1).items[0]["id"]
    cl, st = schema.classifications, schema.studies
    with store.engine.connect() as conn:
        row = conn.execute(select(cl.c.data, cl.c.profile_hash, st.c.content_hash).join(st, st.c.id == cl.c.record_id).where(cl.c.record_id == moved)).one()
    import json

    labels = json.loads(row.data)
    assert labels["is_ms"] and "anti_cd20" in labels["strategies"]
    relabelled = labels | {"is_ms": False, "curative_intent": True, "strategies": ["ahsct"], "roles": {"ahsct": "tested"}, "tested_strategies": ["ahsct"]}
    store.save_classifications(STUDY, [(moved, row.content_hash, relabelled)], row.profile_hash)
    after = _index_answers_as_the_rows(store, searches)
    assert after == [before[0] - 1, before[1] - 1, before[2] + 1, before[3] + 1]
    assert moved in {i["id"] for i in study_page(store, profile, searches[2], per_page=200).items}
    store.close()


def test_a_store_indexed_before_the_label_facets_is_indexed_again_on_opening(built, capsys):
    url = f"sqlite:///{built / 'curemap.db'}"
    store = Store(url)
    expected = _index_answers_as_the_rows(store, LABELLED_SEARCHES[:4])
    with store.engine.begin() as conn:  # the facets as migration 0018 wrote them: kind, phase, status
        conn.exec_driver_sql("UPDATE search_documents SET facets = 'facetkindstudy' WHERE rowid IN (SELECT id FROM search_keys WHERE kind = 'study')")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE name = '0020_label_facets'")
    store.close()
    capsys.readouterr()
    reopened = Store(url)
    said = capsys.readouterr().err
    assert "migrating the store: 0020_label_facets …" in said and "0020_label_facets done in" in said
    assert _index_answers_as_the_rows(reopened, LABELLED_SEARCHES[:4]) == expected
    reopened.close()


def test_a_postgresql_search_table_without_facets_is_made_again_on_opening(postgres_server, capsys):
    from curemap.enrich.pipeline import classify_store
    from curemap.store.migrations import lz4_available

    store_url = postgres_server()
    store = Store(store_url)
    store.import_records(records_from_rows(csv_rows()[:300]))
    classify_store(store, load_profile())
    searches = [StudyFilters(q="sclerosis", ms=True, phase="phase3"), StudyFilters(q="sclerosis", group="disease_control")]
    expected = _index_answers_as_the_rows(store, searches)
    with store.engine.begin() as conn:  # the table as migration 0005 made it: kind a column, no facets
        conn.exec_driver_sql("CREATE TABLE held AS SELECT record_id, kind, title, body FROM search_documents")
        conn.exec_driver_sql("DROP TABLE search_documents")
        conn.exec_driver_sql(
            "CREATE TABLE search_documents (record_id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT, body TEXT,"
            " document tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(title, '') || ' ' || coalesce(body, ''))) STORED)"
        )
        conn.exec_driver_sql("INSERT INTO search_documents (record_id, kind, title, body) SELECT * FROM held")
    reopened = _migrated_on_opening(store, store_url, "0020_label_facets", capsys)
    assert _index_answers_as_the_rows(reopened, searches) == expected and all(expected)
    with reopened.engine.connect() as conn:
        compression = conn.exec_driver_sql(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = 'search_documents'::regclass AND attname = 'body'"
        ).scalar()
        assert compression == ("l" if lz4_available(conn) else "")  # migration 0015's choice kept
    reopened.close()


@given(st.dates(min_value=date(1900, 1, 1)), st.sampled_from([10, 7, 4]), st.dates(min_value=date(1900, 1, 1)), st.sampled_from([10, 7, 4]))
def test_a_day_number_names_one_date_in_the_dates_order(first, first_length, second, second_length):
    """The index's keys order days as the lists order dates (ISO, as long as their precision)."""
    a, b = first.isoformat()[:first_length], second.isoformat()[:second_length]
    assert search.day_text(search.day_number(a)) == a and search.day_text(search.day_number(None)) is None
    assert (a < b) == (search.day_number(a) < search.day_number(b)) and search.day_number(None) < search.day_number(a)


def _migrated_on_opening(store: Store, url: str, migration: str, capsys) -> Store:
    """The store closed, its ``migration`` taken out of the applied ones, and opened again: the
    migration runs (and says so) as it would on a store made before it."""
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM schema_migrations WHERE name = '{migration}'")
    store.close()
    capsys.readouterr()
    reopened = Store(url)
    assert f"{migration} done in" in capsys.readouterr().err
    return reopened


def _dated_matches(store: Store, kind: str, words: str) -> dict[str, int]:
    """Each match's day (a study's last update, a paper's publication), read through the records' rows."""
    table = schema.studies if kind == "study" else schema.papers
    dated = table.c[search.DATED_BY[kind]]
    with store.engine.connect() as conn:
        matched = table.c.id.in_(search.matching_ids(kind, words, store.engine.dialect.name))
        return {row.id: search.day_number(row[1]) for row in conn.execute(select(table.c.id, dated).where(matched))}


def _scores(store: Store, kind: str, words: str) -> dict[str, float]:
    """Each match's relevance as the index scores it, higher first (FTS5's BM25, PostgreSQL's
    ``ts_rank``), read by a statement of the test's own."""
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            statement = text(
                "SELECT k.record_id, -search_documents.rank FROM search_documents JOIN search_keys AS k ON k.id = search_documents.rowid"
                f" WHERE search_documents MATCH :match AND {search._of_kind(kind)}"
            )
            return dict(conn.execute(statement, {"match": search._sqlite_match(search.query_words(words), None)}).all())
        statement = text(
            "SELECT record_id, ts_rank(document, plainto_tsquery('english', :match)) FROM search_documents"
            " WHERE kind = :kind AND document @@ plainto_tsquery('english', :match)"
        )
        return dict(conn.execute(statement, {"match": " ".join(search.query_words(words)), "kind": kind}).all())


@pytest.mark.parametrize("window", [40, 10_000])
def test_a_common_word_is_ranked_among_its_newest_matches(store_url, monkeypatch, window):
    """A search matching more than the window is ranked among its matches dated on or after the
    day of its window-th newest (studies by last update, papers by publication), whole days, on
    both stores; its pages reach those only and say so. A rarer search ranks every match."""
    from curemap.sources.files import iter_file_records
    from tests.conftest import SHARED_DATA

    monkeypatch.setattr(search, "RANK_WINDOW", window)
    store = Store(store_url)
    store.import_records(records_from_rows(csv_rows()[:400]))
    store.import_records(iter_file_records(SHARED_DATA / "pubmed" / "medline16n0902.xml.gz"))
    profile = load_profile()
    for kind, words in (("study", "sclerosis"), ("paper", "patients")):
        days = _dated_matches(store, kind, words)
        assert len(days) > 100
        since = sorted(days.values(), reverse=True)[window - 1] if len(days) > window else None
        expected = {record_id for record_id, day in days.items() if since is None or day >= since}
        found = query.study_page if kind == "study" else query.paper_page
        filters = StudyFilters(q=words) if kind == "study" else query.PaperFilters(q=words)
        ranked = found(store, profile, filters, sort="relevance", per_page=200)
        ids = [item["id"] for n in range(1, ranked.pages + 1) for item in found(store, profile, filters, sort="relevance", per_page=200, page=n).items]
        assert ranked.total == len(days) and set(ids) == expected and len(ids) == len(expected), kind
        scores = _scores(store, kind, words)
        assert [scores[i] for i in ids] == sorted((scores[i] for i in ids), reverse=True), kind
        paged = found(store, profile, filters, sort="relevance", per_page=10)
        if since is None:
            assert ranked.window is None and "ranked" not in ranked.to_dict() and paged.pages == -(-len(days) // 10)
            continue
        assert len(expected) >= window and ranked.window == search.RankWindow(since, len(expected)), kind
        assert ranked.to_dict()["ranked"] == {"matches": len(expected), "since": search.day_text(since)}
        assert paged.pages == -(-len(expected) // 10) < -(-len(days) // 10)
        assert found(store, profile, filters, sort="relevance", per_page=10, page=paged.pages + 1).items == []
    client = TestClient(create_app(store))
    page = client.get("/search", params={"q": "sclerosis"})
    assert page.status_code == 200
    said = "only the" in page.text and 'href="/studies?q=sclerosis"' in page.text and 'href="/papers?q=patients"' not in page.text
    assert said == (window == 40)
    hostile = client.get("/search", params={"q": 'sclerosis"><'})  # its one word matches: the note links to it, escaped
    assert hostile.status_code == 200 and 'sclerosis"><' not in hostile.text
    assert ('href="/studies?q=sclerosis%22%3E%3C"' in hostile.text) == (window == 40)
    completed = StudyFilters(q="sclerosis", status="COMPLETED")  # a list narrowed in the index: its own window
    assert study_page(store, profile, completed).total > 40
    listed = client.get("/studies", params={"q": "sclerosis", "status": "COMPLETED", "sort": "relevance"})
    assert listed.status_code == 200 and ("only the" in listed.text) == (window == 40)
    assert ('href="/studies?status=COMPLETED&amp;q=sclerosis"' in listed.text) == (window == 40)
    store.close()


def test_papers_are_keyed_by_their_day_and_a_store_keyed_before_is_indexed_again(built, capsys):
    """SQLite: a paper's key is its publication day's, as a study's is its last update's; a store
    whose papers were keyed in the order they came is indexed again when opened (migration 0025)."""
    url = f"sqlite:///{built / 'curemap.db'}"
    store = Store(url)
    searches = ["multiple sclerosis", "remyelination"]
    expected = [_scores(store, "paper", words) for words in searches]
    with store.engine.begin() as conn:
        keys = conn.exec_driver_sql(
            "SELECT search_keys.id, papers.published FROM search_keys JOIN papers ON papers.id = search_keys.record_id"
        ).all()
        assert len(keys) == store.count_papers() > 100
        assert all(key >= search.PAPER_KEYS and search.key_day(key) == search.day_number(day) for key, day in keys)
        # the papers as keyed before: one after another from PAPER_KEYS
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE held AS SELECT k.record_id, d.title, d.body, d.facets FROM search_keys AS k"
            f" JOIN search_documents AS d ON d.rowid = k.id WHERE k.id >= {search.PAPER_KEYS}"
        )
        conn.exec_driver_sql(f"DELETE FROM search_documents WHERE rowid >= {search.PAPER_KEYS}")
        conn.exec_driver_sql(f"DELETE FROM search_keys WHERE id >= {search.PAPER_KEYS}")
        conn.exec_driver_sql(f"INSERT INTO search_keys (id, record_id, kind) SELECT {search.PAPER_KEYS} + rowid, record_id, 'paper' FROM held")
        conn.exec_driver_sql(
            "INSERT INTO search_documents (rowid, title, body, facets) SELECT k.id, held.title, held.body, held.facets"
            " FROM held JOIN search_keys AS k ON k.record_id = held.record_id"
        )
        assert not search.index_current(conn)
    reopened = _migrated_on_opening(store, url, "0025_dated_labelled_papers", capsys)
    with reopened.engine.connect() as conn:
        assert search.index_current(conn)
    assert [_scores(reopened, "paper", words) for words in searches] == expected and all(expected)  # each paper's words as they were
    reopened.close()


def test_a_postgresql_index_without_days_or_papers_labels_is_made_current_on_opening(postgres_server, capsys):
    """PostgreSQL: migration 0025 adds each document's day from its record and each labelled
    paper's strategies to its facets, its words then as an index made anew holds them."""
    from curemap.sources.files import iter_file_records
    from tests.conftest import SHARED_DATA

    from curemap.enrich.pipeline import classify_store

    store_url = postgres_server()
    store = Store(store_url)
    store.import_records(records_from_rows(csv_rows()[:300]))
    store.import_records(iter_file_records(SHARED_DATA / "pubmed" / "medline16n0902.xml.gz"))
    classify_store(store, load_profile())
    held = "SELECT record_id, kind, day, facets, document::text FROM search_documents ORDER BY record_id"
    indexed = store.count_studies() + store.count_papers()
    with store.engine.begin() as conn:
        before = conn.exec_driver_sql(held).all()
        assert sum(row.kind == "paper" and "facetstrategy" in row.facets for row in before) > 50
        conn.exec_driver_sql("ALTER TABLE search_documents DROP COLUMN day")
        conn.exec_driver_sql("UPDATE search_documents SET facets = '' WHERE kind = 'paper'")  # the words stemmed again without them
    reopened = _migrated_on_opening(store, store_url, "0025_dated_labelled_papers", capsys)
    with reopened.engine.connect() as conn:
        assert conn.exec_driver_sql(held).all() == before
        assert conn.exec_driver_sql("SELECT 1 FROM pg_indexes WHERE indexname = 'ix_search_documents_day'").first() is not None
    assert len(before) == indexed > 800 and sum(row.day > 0 for row in before) > 800
    days = {**_dated_matches(reopened, "study", "sclerosis"), **_dated_matches(reopened, "paper", "patients")}
    assert days and all(day == {row.record_id: row.day for row in before}[record_id] for record_id, day in days.items())
    reopened.close()


def test_an_index_without_the_studies_filter_facets_is_made_current_on_opening(store_url, capsys):
    """Migration 0026 adds a study's sponsor, phenotypes, populations and countries to its facets:
    SQLite by indexing again, PostgreSQL by adding their words to each document as the trigger
    would; either way the index then holds what one made anew holds, and answers a search by
    country."""
    from curemap.enrich.pipeline import classify_store

    store = Store(store_url)
    store.import_records(records_from_rows(csv_rows()[:300]))
    classify_store(store, load_profile())
    sqlite = store.engine.dialect.name == "sqlite"
    if sqlite:
        held = "SELECT k.record_id, d.facets FROM search_keys AS k JOIN search_documents AS d ON d.rowid = k.id ORDER BY k.record_id"
        written = "UPDATE search_documents SET facets = ? WHERE rowid = (SELECT id FROM search_keys WHERE record_id = ?)"
    else:
        held = "SELECT record_id, facets, document::text FROM search_documents ORDER BY record_id"
        written = "UPDATE search_documents SET facets = %s WHERE record_id = %s"  # the trigger stems its words again
    added = ("facetsponsorclass", "facetsponsortype", "facetphenotype", "facetpopulation", "facetcountry")
    with store.engine.begin() as conn:
        before = conn.exec_driver_sql(held).all()
        assert sum("facetcountry" in row.facets for row in before) > 250 and sum("facetphenotype" in row.facets for row in before) > 100
        old = [(" ".join(t for t in row.facets.split() if not t.startswith(added)), row.record_id) for row in before]
        conn.exec_driver_sql(written, old)
        assert not any(token.startswith(added) for (facets,) in conn.exec_driver_sql("SELECT facets FROM search_documents") for token in facets.split())
    reopened = _migrated_on_opening(store, store_url, "0026_study_filter_facets", capsys)
    with reopened.engine.connect() as conn:
        assert conn.exec_driver_sql(held).all() == before
        country = conn.exec_driver_sql("SELECT country FROM study_locations GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").scalar_one()
    filters = StudyFilters(q="sclerosis", country=country)
    assert study_page(reopened, load_profile(), filters).total == _counted_through_rows(reopened, filters) > 10
    reopened.close()


def _papers_through_rows(store: Store, words: str, strategies: list[str]) -> list[str]:
    """A paper search narrowed by strategies the way it was before the index held them: the
    words' matches joined to the papers' labels, newest first."""
    pp, rs = schema.papers, schema.record_strategies
    with store.engine.connect() as conn:
        matched = pp.c.id.in_(search.matching_ids("paper", words, store.engine.dialect.name))
        labelled = pp.c.id.in_(select(rs.c.record_id).where(rs.c.strategy.in_(strategies)))
        ordered = select(pp.c.id).where(pp.c.deleted.is_(False), matched, labelled).order_by(pp.c.published.desc().nulls_last(), pp.c.id.desc())
        return list(conn.execute(ordered).scalars())


PAPER_SEARCHES = [("multiple sclerosis", "ahsct", None), ("sclerosis", None, "immune_reset"), ("patients", "anti_cd20", None),
                  ("remyelination", None, "remyelination"), ("sclerosis", "dmt_other", None)]


def _paper_searches_answered_by_the_index(store: Store) -> list[int]:
    profile = load_profile()
    totals = []
    for words, strategy, group in PAPER_SEARCHES:
        filters = query.PaperFilters(q=words, strategy=strategy, group=group)
        strategies = [strategy] if strategy else [s.id for s in profile.strategies if s.group == group]
        expected = _papers_through_rows(store, words, strategies)
        newest = query.paper_page(store, profile, filters, per_page=200)
        ranked = query.paper_page(store, profile, filters, sort="relevance", per_page=200)
        assert newest.total == ranked.total == len(expected), filters
        assert [p["id"] for p in newest.items] == expected[:200] and {p["id"] for p in ranked.items} == set(expected[:200]), filters
        totals.append(len(expected))
    return totals


def test_the_index_answers_a_paper_search_by_strategy_and_a_paper_s_new_labels_move_it(store_url):
    """Papers' strategies are facets of the index, as studies' are: a paper search narrowed by a
    strategy or a group is counted, listed and ranked there, equal to the words' matches joined
    to the papers' labels, and a paper relabelled moves between them."""
    import json

    from curemap.enrich.pipeline import classify_store
    from curemap.sources.files import iter_file_records
    from curemap.store.kinds import PAPER
    from tests.conftest import SHARED_DATA

    store = Store(store_url)
    store.import_records(iter_file_records(SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"))
    classify_store(store, load_profile())
    before = _paper_searches_answered_by_the_index(store)
    assert sum(n > 0 for n in before) >= 3, before
    profile = load_profile()
    moved = query.paper_page(store, profile, query.PaperFilters(q="sclerosis", strategy="dmt_other"), per_page=1).items[0]["id"]
    cl, pp = schema.classifications, schema.papers
    with store.engine.connect() as conn:
        row = conn.execute(select(cl.c.data, cl.c.profile_hash, pp.c.content_hash).join(pp, pp.c.id == cl.c.record_id).where(cl.c.record_id == moved)).one()
    labels = json.loads(row.data)
    relabelled = labels | {"strategies": ["ahsct"], "roles": {"ahsct": "tested"}, "tested_strategies": ["ahsct"]}
    store.save_classifications(PAPER, [(moved, row.content_hash, relabelled)], row.profile_hash)
    after = _paper_searches_answered_by_the_index(store)
    assert moved in {p["id"] for p in query.paper_page(store, profile, query.PaperFilters(q="sclerosis", group="immune_reset"), per_page=200).items}
    assert after[4] == before[4] - 1 and after[1] == before[1] + ("ahsct" not in labels["strategies"])
    store.close()
