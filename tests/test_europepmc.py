"""The Europe PMC harvest against a fake Europe PMC on 127.0.0.1 serving the real PubMed records as core results."""

from __future__ import annotations

import copy
from datetime import date

import httpx
import pytest

from curemap.errors import InputError, ResponseError
from curemap.model import AbstractSection
from curemap.sources import europepmc
from curemap.sources.europepmc import EUROPEPMC, cursor_key, harvest, iter_records, paper_from_result
from curemap.sources.http import HttpClient
from curemap.sources.pubmed_xml import paper_from_citation
from tests.fake_literature import FakeLiterature, PaperStore, europepmc_result, recorded_articles
from tests.fake_registry import Fault
from tests.test_ctgov_harvest import Killed

QUERY = '"multiple sclerosis"'
ARTICLES = recorded_articles()
ALL_IDS = sorted(f"PMID:{a.pmid}" for a in ARTICLES)
BROKEN = "26255087"


@pytest.fixture(autouse=True)
def no_contact(monkeypatch):
    monkeypatch.delenv("CUREMAP_CONTACT_EMAIL", raising=False)


@pytest.fixture
def connect(open_client):
    """An HttpClient to the fake, through ``$CUREMAP_EUROPEPMC_URL``."""
    return lambda fake: open_client("CUREMAP_EUROPEPMC_URL", fake.europepmc_url, europepmc.policy)


def test_policy_base_url_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("CUREMAP_EUROPEPMC_URL", raising=False)
    assert europepmc.policy() == EUROPEPMC and EUROPEPMC.requests_per_second == 10
    monkeypatch.setenv("CUREMAP_EUROPEPMC_URL", "http://127.0.0.1:9/rest")
    assert europepmc.policy().base_url == "http://127.0.0.1:9/rest"


def test_a_core_result_gives_the_paper_pubmed_gives():
    for article in ARTICLES:
        from_pubmed = paper_from_citation(article.element.find("MedlineCitation"), article.element.find("PubmedData"))
        paper = paper_from_result(europepmc_result(article))
        assert paper.source == "europepmc"
        for name in ("id", "pmid", "doi", "pmcid", "title", "abstract", "journal", "citation", "published"):
            assert getattr(paper, name) == getattr(from_pubmed, name), (article.pmid, name)
        for name in ("language", "authors", "publication_types", "mesh", "keywords"):
            assert getattr(paper, name) == getattr(from_pubmed, name), (article.pmid, name)
        assert [(s.label, s.text) for s in paper.abstract_sections] == [
            (s.label, s.text) for s in from_pubmed.abstract_sections
        ]
        assert [(g.grant_id, g.agency) for g in paper.grants] == [(g.grant_id, g.agency) for g in from_pubmed.grants]
        assert paper.trial_ids == []  # core results do not list accession numbers


def test_abstract_markup_becomes_labelled_plain_sections():
    result = copy.deepcopy(europepmc_result(ARTICLES[0]))
    result["abstractText"] = (
        "Lead text.<h4>Background</h4>A <i>tiny</i> question with p<0.05 &amp; CD4<sup>+</sup> cells."
        "<h4>Results</h4>  An\n answer.  "
    )
    paper = paper_from_result(result)
    assert paper.abstract_sections == [
        AbstractSection("Lead text."),
        AbstractSection("A tiny question with p<0.05 & CD4+ cells.", "Background"),
        AbstractSection("An answer.", "Results"),
    ]
    assert paper.abstract == (
        "Lead text.\n\nBackground: A tiny question with p<0.05 & CD4+ cells.\n\nResults: An answer."
    )


def test_a_result_without_pmid_or_doi_and_a_result_with_a_bad_date_are_error_records():
    preprint = {"id": "PPR1", "source": "PPR", "title": "A preprint"}
    broken = europepmc_result(ARTICLES[0]) | {"journalInfo": {"dateOfPublication": "Spring"}}
    body = {"resultList": {"result": [preprint, broken, europepmc_result(ARTICLES[1])]}}
    found = list(iter_records(body, "search"))
    assert [(r.source_id, r.error) for r in found[:2]] == [
        ("PPR:PPR1", "PPR:PPR1: no PMID or DOI identifies the result"),
        (f"MED:{ARTICLES[0].pmid}", f"MED:{ARTICLES[0].pmid}: dateOfPublication 'Spring' does not start with a year"),
    ]
    assert found[2].source_id == f"PMID:{ARTICLES[1].pmid}" and found[2].covers == europepmc.COVERS
    assert "trial_ids" not in europepmc.COVERS


def test_a_body_that_is_not_a_search_answer_is_a_response_error():
    with pytest.raises(ResponseError, match="resultList"):
        list(iter_records({"errCode": 500}, "search"))


def test_harvest_survives_every_fault_and_stores_each_good_record_once(connect, sleeps):
    faults = {
        1: Fault.RATE_LIMITED_RETRY_AFTER,
        2: Fault.RATE_LIMITED,
        3: Fault.RATE_LIMITED,
        4: Fault.UNAVAILABLE,
        6: Fault.DROP,
        8: Fault.TRUNCATED_UNDECLARED,
        10: Fault.TRUNCATED,
        11: Fault.RATE_LIMITED,
    }
    store = PaperStore()
    progress: list[tuple[int, int | None]] = []
    with FakeLiterature(faults=faults, broken_date=BROKEN, page_size=100, retry_after="2") as fake:
        result = harvest(store, connect(fake), query=QUERY, progress=lambda *p: progress.append(p))

    assert [r.fault for r in fake.requests if r.fault] == list(faults.values())
    assert 2.0 in sleeps
    assert sorted(store.written_ids()) == [i for i in ALL_IDS if i != f"PMID:{BROKEN}"]
    [rejected] = result.rejected
    assert rejected == {
        "source": "europepmc",
        "record": f"MED:{BROKEN}",
        "error": f"MED:{BROKEN}: dateOfPublication '20x6' does not start with a year",
    }
    assert (result.imported, result.changed, result.unchanged) == (608, 0, 0)
    assert (result.pages, result.received, result.total_count) == (8, 609, 609)  # 7 full pages, then an empty one
    assert result.warnings == [] and not result.resumed
    assert store.cursors == {}
    assert [done for done, _ in progress] == [100, 200, 300, 400, 500, 600, 609, 609]
    answered = [r.params for r in fake.requests if r.fault is None]
    assert {(p["query"], p["resultType"], p["format"], p["pageSize"]) for p in answered} == {
        (QUERY, "core", "json", "1000")
    }
    assert answered[0]["cursorMark"] == "*" and len({p["cursorMark"] for p in answered}) == 8


def test_an_interrupted_harvest_resumes_where_it_stopped(connect):
    with FakeLiterature(page_size=100) as fake:
        uninterrupted = PaperStore()
        harvest(uninterrupted, connect(fake), query=QUERY)

        store = PaperStore(kill_on_save=3)
        with pytest.raises(Killed):
            harvest(store, connect(fake), query=QUERY)
        saved = store.get_cursor(cursor_key(QUERY))
        assert {k: saved[k] for k in ("since", "pages", "records", "total_count")} == {
            "since": None,
            "pages": 2,
            "records": 200,
            "total_count": 609,
        }
        before = len(fake.requests)
        result = harvest(store, connect(fake), query=QUERY)

    assert fake.requests[before].params["cursorMark"] == saved["cursor_mark"]
    assert result.resumed and (result.pages, result.received, result.total_count) == (8, 609, 609)
    assert sorted(store.written_ids()) == sorted(uninterrupted.written_ids()) == ALL_IDS
    assert {k: r.raw for k, r in store.papers.items()} == {k: r.raw for k, r in uninterrupted.papers.items()}
    assert store.cursors == {}


def test_since_keeps_to_records_revised_since(connect):
    expected = sorted(f"PMID:{a.pmid}" for a in ARTICLES if a.revised >= date(2015, 9, 1))
    store = PaperStore()
    with FakeLiterature() as fake:
        result = harvest(store, connect(fake), query=QUERY, since="2015-09-01")
    assert {r.params["query"] for r in fake.requests} == {f"({QUERY}) AND UPDATE_DATE:[2015-09-01 TO 3000-01-01]"}
    assert sorted(store.papers) == expected and 0 < len(expected) < len(ARTICLES)
    assert result.total_count == result.received == len(expected)


def test_a_resumed_harvest_keeps_the_since_it_started_with(connect):
    store = PaperStore(kill_on_save=2)
    with FakeLiterature(page_size=100) as fake:
        with pytest.raises(Killed):
            harvest(store, connect(fake), query=QUERY, since="2015-09-01")
        harvest(store, connect(fake), query=QUERY)
    assert {r.params["query"] for r in fake.requests} == {f"({QUERY}) AND UPDATE_DATE:[2015-09-01 TO 3000-01-01]"}
    assert len(store.papers) == sum(a.revised >= date(2015, 9, 1) for a in ARTICLES)


def test_a_since_that_is_not_a_date_is_refused_before_any_request(connect):
    with FakeLiterature() as fake:
        with pytest.raises(InputError, match="YYYY-MM-DD"):
            harvest(PaperStore(), connect(fake), query=QUERY, since="yesterday")
    assert fake.requests == []


def test_the_contact_email_is_sent_when_set(connect, monkeypatch):
    monkeypatch.setenv("CUREMAP_CONTACT_EMAIL", "maps@example.org")
    with FakeLiterature() as fake:
        harvest(PaperStore(), connect(fake), query=QUERY)
    assert {r.params["email"] for r in fake.requests} == {"maps@example.org"}


def test_a_cursor_mark_that_does_not_move_ends_the_harvest():
    page = {"hitCount": 1, "nextCursorMark": "*", "resultList": {"result": [europepmc_result(ARTICLES[0])]}}
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=page)

    store = PaperStore()
    with HttpClient(EUROPEPMC, transport=httpx.MockTransport(answer)) as client:
        result = harvest(store, client, query=QUERY)
    assert len(requests) == 1 and result.pages == 1 and list(store.papers) == [f"PMID:{ARTICLES[0].pmid}"]
    assert store.cursors == {}
