"""Full-text search at scale: the index counts a search and answers its phase and status (facets)
with its words, lists walk the date index for common words, and a search can be ranked by
relevance (the search page's order) within a bounded window of numbered pages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from curemap.errors import InputError
from curemap.profile import load_profile
from curemap.store import Store, schema, search
from curemap.web import create_app, query
from curemap.web.query import StudyFilters, study_page
from tests.test_store import csv_rows, records_from_rows


def _counted_through_rows(store: Store, filters: StudyFilters) -> int:
    """The list's total the way it was counted before the index answered it: through the studies."""
    profile = load_profile()
    dialect = store.engine.dialect.name
    where = query.study_conditions(profile, StudyFilters(**{**filters.__dict__, "phase": None, "status": None}), dialect)
    st = schema.studies
    where += [st.c.phase == filters.phase] if filters.phase else []
    where += [st.c.status == filters.status] if filters.status else []
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(st).where(*where)).scalar_one()


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
        if store.engine.dialect.name == "postgresql" and (filters.phase or filters.status):
            continue  # PostgreSQL's search table holds no facets: its lists join the studies
        with store.engine.connect() as conn:
            indexed = search.count_matches(conn, "study", filters.q, {"phase": filters.phase, "status": filters.status})
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


def test_common_words_walk_the_date_index_and_find_the_same_pages(built_store, monkeypatch):
    profile = load_profile()
    searches = [StudyFilters(q="multiple sclerosis"), StudyFilters(q="relapsing"), StudyFilters(q="ocrelizumab")]
    for filters in searches:
        monkeypatch.setattr(query, "COMMON_MATCHES", 10**9)  # every search is common: walked
        walked = [study_page(built_store, profile, filters, per_page=25, page=n) for n in (1, 2)]
        monkeypatch.setattr(query, "COMMON_MATCHES", 0)  # none is: read through the matches' entries
        entries = [study_page(built_store, profile, filters, per_page=25, page=n) for n in (1, 2)]
        assert walked[0].total > 25
        assert [[i["id"] for i in page.items] for page in walked] == [[i["id"] for i in page.items] for page in entries]
        dates = [i["last_update_posted"] or "" for page in walked for i in page.items]
        assert dates == sorted(dates, reverse=True)


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
