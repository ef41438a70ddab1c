"""The PubMed harvest through E-utilities against a fake NCBI on 127.0.0.1 serving the real PubMed records."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from curemap.errors import InputError, ResponseError
from curemap.sources import eutils
from curemap.sources.eutils import EARLIEST, EUTILS, SEARCH_LIMIT, cursor_key, harvest, iter_slices, search
from curemap.sources.http import HttpClient
from tests.fake_literature import FakeLiterature, PaperStore, recorded_articles
from tests.fake_registry import Fault
from tests.test_ctgov_harvest import Killed

QUERY = "multiple sclerosis"
ARTICLES = recorded_articles()
ALL_IDS = sorted(f"PMID:{a.pmid}" for a in ARTICLES)
BROKEN = "26255087"


@pytest.fixture(autouse=True)
def no_identity(monkeypatch):
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    monkeypatch.delenv("CUREMAP_CONTACT_EMAIL", raising=False)


@pytest.fixture
def connect(open_client):
    """An HttpClient to the fake, through ``$CUREMAP_EUTILS_URL``."""
    return lambda fake: open_client("CUREMAP_EUTILS_URL", fake.eutils_url, eutils.policy)


def day(entrez: str) -> date:
    return date(*map(int, entrez.split("/")))


def entrez_range(request) -> tuple[date, date]:
    return day(request.params["mindate"]), day(request.params["maxdate"])


def test_the_rate_follows_the_api_key_and_the_base_url_the_environment(monkeypatch):
    assert eutils.policy() == EUTILS and EUTILS.requests_per_second == 3 and EUTILS.name == "pubmed"
    monkeypatch.setenv("NCBI_API_KEY", "k3y")
    monkeypatch.setenv("CUREMAP_EUTILS_URL", "http://127.0.0.1:9/entrez/eutils")
    assert eutils.policy().requests_per_second == 10
    assert eutils.policy().base_url == "http://127.0.0.1:9/entrez/eutils"


def test_every_request_names_the_tool_its_contact_and_key(connect, monkeypatch):
    monkeypatch.setenv("CUREMAP_CONTACT_EMAIL", "maps@example.org")
    monkeypatch.setenv("NCBI_API_KEY", "k3y")
    with FakeLiterature() as fake:
        harvest(PaperStore(), connect(fake), query=QUERY)
    assert len(fake.requests) == 5
    for request in fake.requests:
        assert (request.params["tool"], request.params["email"], request.params["api_key"]) == (
            "curemap",
            "maps@example.org",
            "k3y",
        )
    searched, *fetched = fake.requests
    assert searched.method == "GET" and searched.path.endswith("/esearch.fcgi")
    assert {k: searched.params[k] for k in ("db", "term", "usehistory", "retmax", "datetype")} == {
        "db": "pubmed",
        "term": QUERY,
        "usehistory": "y",
        "retmax": "0",
        "datetype": "edat",
    }
    assert entrez_range(searched) == (EARLIEST, date.today())
    assert {r.method for r in fetched} == {"POST"} and {r.path.rsplit("/", 1)[1] for r in fetched} == {"efetch.fcgi"}
    assert [r.params["retstart"] for r in fetched] == ["0", "200", "400", "600"]
    assert {(r.params["retmode"], r.params["retmax"], r.params["query_key"]) for r in fetched} == {("xml", "200", "1")}
    assert {r.params["WebEnv"] for r in fetched} == {next(iter(fake.histories))}


def test_without_a_key_or_contact_only_the_tool_is_named(connect):
    with FakeLiterature() as fake:
        harvest(PaperStore(), connect(fake), query=QUERY)
    assert all(r.params["tool"] == "curemap" and not {"email", "api_key"} & set(r.params) for r in fake.requests)


def test_harvest_survives_every_fault_and_stores_each_good_record_once(connect, sleeps):
    faults = {
        1: Fault.RATE_LIMITED_RETRY_AFTER,
        2: Fault.RATE_LIMITED,
        3: Fault.RATE_LIMITED,
        4: Fault.UNAVAILABLE,
        6: Fault.DROP,
        8: Fault.TRUNCATED_UNDECLARED,  # a 200 with half an XML body: only parsing it shows the fault
        10: Fault.TRUNCATED,
        12: Fault.RATE_LIMITED_RETRY_AFTER,
    }
    store = PaperStore()
    progress: list[tuple[int, int | None]] = []
    with FakeLiterature(faults=faults, broken_date=BROKEN, retry_after="2") as fake:
        result = harvest(store, connect(fake), query=QUERY, progress=lambda *p: progress.append(p))

    assert [r.fault for r in fake.requests if r.fault] == list(faults.values())
    assert sleeps.count(2.0) == 2  # each Retry-After was honoured
    assert sorted(store.written_ids()) == [i for i in ALL_IDS if i != f"PMID:{BROKEN}"]
    [rejected] = result.rejected
    assert rejected == {
        "source": "pubmed",
        "record": f"PMID:{BROKEN}",
        "error": f"PMID:{BROKEN}: PubDate '20x6' is not a date",
    }
    assert (result.imported, result.changed, result.unchanged) == (608, 0, 0)
    assert (result.pages, result.received, result.total_count) == (4, 609, 609)
    assert result.warnings == [] and not result.resumed
    assert store.cursors == {}
    assert progress == [(200, 609), (400, 609), (600, 609), (609, 609)]


def test_an_expired_history_is_searched_again_and_the_harvest_goes_on(connect):
    store = PaperStore()
    with FakeLiterature(expire_history={3}) as fake:
        result = harvest(store, connect(fake), query=QUERY)
    kinds = [(r.path.rsplit("/", 1)[1], r.params.get("retstart")) for r in fake.requests]
    assert kinds == [
        ("esearch.fcgi", None),
        ("efetch.fcgi", "0"),
        ("efetch.fcgi", "200"),  # answered "Unable to obtain query #1"
        ("esearch.fcgi", None),
        ("efetch.fcgi", "200"),
        ("efetch.fcgi", "400"),
        ("efetch.fcgi", "600"),
    ]
    assert fake.requests[2].params["WebEnv"] != fake.requests[4].params["WebEnv"]
    assert sorted(store.written_ids()) == ALL_IDS
    assert (result.pages, result.received, result.warnings) == (4, 609, [])


def test_an_interrupted_harvest_resumes_where_it_stopped(connect):
    with FakeLiterature() as fake:
        uninterrupted = PaperStore()
        harvest(uninterrupted, connect(fake), query=QUERY)

        store = PaperStore(kill_on_save=2)
        with pytest.raises(Killed):
            harvest(store, connect(fake), query=QUERY)
        saved = store.get_cursor(cursor_key(QUERY))
        today = date.today().isoformat()
        assert saved == {
            "since": None,
            "until": today,
            "slice": [EARLIEST.isoformat(), today],
            "retstart": 200,
            "batches": 1,
            "records": 200,
            "total_count": 609,
        }
        before = len(fake.requests)
        result = harvest(store, connect(fake), query=QUERY)

    resumed = fake.requests[before:]
    assert resumed[0].path.endswith("/esearch.fcgi")  # a fresh WebEnv: saved ones may have expired
    assert [r.params["retstart"] for r in resumed[1:]] == ["200", "400", "600"]
    assert result.resumed and (result.pages, result.received, result.total_count) == (4, 609, 609)
    assert sorted(store.written_ids()) == sorted(uninterrupted.written_ids()) == ALL_IDS
    assert {k: r.raw for k, r in store.papers.items()} == {k: r.raw for k, r in uninterrupted.papers.items()}
    assert store.cursors == {}


def test_a_count_past_the_search_limit_is_cut_into_date_slices_that_fit(connect):
    store = PaperStore()
    with FakeLiterature(wide_range_days=3650) as fake:
        result = harvest(store, connect(fake), query=QUERY)
    searched = [fake.histories[r.params["WebEnv"]] for r in fake.requests_to("efetch.fcgi")]
    fetched = sorted({(day(h.mindate), day(h.maxdate)) for h in searched})
    assert fetched and all((high - low).days < 3650 for low, high in fetched)
    assert all(before[1] < after[0] for before, after in zip(fetched, fetched[1:]))  # disjoint, in date order
    assert sorted(store.written_ids()) == ALL_IDS  # each article exactly once
    assert result.total_count == 25_000 and result.received == 609
    assert result.warnings == [
        f"PubMed counted 25000 articles for {QUERY!r} but sent 609; "
        "PubMed probably changed during the harvest, run the update again"
    ]
    assert store.cursors == {}


def test_a_harvest_killed_between_slices_resumes_in_its_slice(connect):
    with FakeLiterature(wide_range_days=3650) as fake:
        store = PaperStore(kill_on_save=3)
        with pytest.raises(Killed):
            harvest(store, connect(fake), query=QUERY)
        saved = store.get_cursor(cursor_key(QUERY))
        assert saved["slice"] != [EARLIEST.isoformat(), saved["until"]]
        before = len(fake.requests)
        harvest(store, connect(fake), query=QUERY)
    first = fake.requests[before]
    assert entrez_range(first) == tuple(date.fromisoformat(day) for day in saved["slice"])
    assert sorted(store.written_ids()) == ALL_IDS
    assert store.cursors == {}


def test_since_limits_every_search_to_articles_added_since(connect):
    since = "2015-06-01"
    expected = sorted(f"PMID:{a.pmid}" for a in ARTICLES if a.entrez >= date(2015, 6, 1))
    store = PaperStore()
    with FakeLiterature() as fake:
        result = harvest(store, connect(fake), query=QUERY, since=since)
    assert {entrez_range(r)[0] for r in fake.requests_to("esearch.fcgi")} == {date(2015, 6, 1)}
    assert sorted(store.papers) == expected and 0 < len(expected) < len(ARTICLES)
    assert result.total_count == result.received == len(expected)


def test_a_resumed_harvest_keeps_the_since_it_started_with(connect):
    store = PaperStore(kill_on_save=2)
    with FakeLiterature() as fake:
        with pytest.raises(Killed):
            harvest(store, connect(fake), query=QUERY, since="2015-01-01")
        harvest(store, connect(fake), query=QUERY)
    assert {entrez_range(r)[0] for r in fake.requests_to("esearch.fcgi")} == {date(2015, 1, 1)}
    assert len(store.papers) == sum(a.entrez >= date(2015, 1, 1) for a in ARTICLES)


def test_a_since_that_is_not_a_date_is_refused_before_any_request(connect):
    with FakeLiterature() as fake:
        with pytest.raises(InputError, match="YYYY-MM-DD"):
            harvest(PaperStore(), connect(fake), query=QUERY, since="last week")
    assert fake.requests == []


def _counting_transport(count_for) -> httpx.MockTransport:
    """An ESearch that answers ``count_for(low, high)`` for the requested Entrez dates."""

    def answer(request: httpx.Request) -> httpx.Response:
        low, high = day(request.url.params["mindate"]), day(request.url.params["maxdate"])
        result = {"count": str(count_for(low, high)), "webenv": f"W{low}{high}", "querykey": "1", "idlist": []}
        return httpx.Response(200, json={"esearchresult": result})

    return httpx.MockTransport(answer)


def test_slices_halve_the_dates_until_each_fits_and_cover_them_once():
    four_a_day = _counting_transport(lambda low, high: 4 * ((high - low).days + 1))
    with HttpClient(EUTILS, transport=four_a_day, sleep=lambda _: None) as client:
        top = search(client, QUERY, date(2000, 1, 1), date(2024, 12, 31))
        slices = list(iter_slices(client, QUERY, top))
    assert top.count > SEARCH_LIMIT and len(slices) > 1
    assert all(s.count <= SEARCH_LIMIT for s in slices)
    assert slices[0].low == top.low and slices[-1].high == top.high
    assert all(a.high + timedelta(days=1) == b.low for a, b in zip(slices, slices[1:]))
    assert sum(s.count for s in slices) == top.count


def test_a_single_day_past_the_limit_is_not_split_further():
    busy = date(2020, 5, 5)
    transport = _counting_transport(lambda low, high: 20_000 if low <= busy <= high else 1)
    with HttpClient(EUTILS, transport=transport, sleep=lambda _: None) as client:
        slices = list(iter_slices(client, QUERY, search(client, QUERY, date(2020, 1, 1), date(2020, 12, 31))))
    assert [(s.low, s.high, s.count) for s in slices if s.count > 1] == [(busy, busy, 20_000)]


def test_a_refused_search_is_a_response_error():
    refused = httpx.MockTransport(lambda request: httpx.Response(200, json={"esearchresult": {"ERROR": "Invalid db"}}))
    with HttpClient(EUTILS, transport=refused) as client:
        with pytest.raises(ResponseError, match="Invalid db"):
            search(client, QUERY, date(2020, 1, 1), date(2020, 1, 2))

