"""The ClinicalTrials.gov harvest against a fake registry on 127.0.0.1 serving real recorded studies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx
import pytest

from curemap.errors import InputError, ResponseError
from curemap.model import ParsedRecord
from curemap.sources import ctgov_api
from curemap.sources.ctgov_api import CTGOV, cursor_key, harvest, iter_pages
from curemap.sources.http import HttpClient
from tests.fake_registry import Fault, FakeRegistry, last_update, nct_id, recorded_studies

CONDITION = "multiple sclerosis"

ALL_IDS = {nct_id(study) for study in recorded_studies()}

SINCE_2024 = "AREA[LastUpdatePostDate]RANGE[2024-01-01,MAX]"


@dataclass
class Counts:
    imported: int = 0
    unchanged: int = 0
    changed: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)


class Killed(Exception):
    """Stands in for the process being killed in the middle of a harvest."""


class MemoryStore:
    """The two store methods a harvest uses, over dicts; each save_page is one transaction."""

    def __init__(self, *, kill_on_save: int | None = None):
        self.kill_on_save = kill_on_save
        self.saves = 0
        self.studies: dict[str, ParsedRecord] = {}
        self.cursors: dict[str, str] = {}
        self.transactions: list[tuple[list[str], dict | None]] = []

    def get_cursor(self, key: str) -> dict | None:
        saved = self.cursors.get(key)
        return None if saved is None else json.loads(saved)

    def save_page(self, records: list[ParsedRecord], *, cursor_key: str, cursor: dict | None) -> Counts:
        self.saves += 1
        if self.saves == self.kill_on_save:
            raise Killed  # before anything is written, as a rolled-back transaction leaves it
        counts = Counts()
        for record in records:
            if record.study is None:
                counts.rejected.append({"source": record.source, "record": record.source_id, "error": record.error})
            elif record.study.id not in self.studies:
                counts.imported += 1
            elif self.studies[record.study.id].raw == record.raw:
                counts.unchanged += 1
            else:
                counts.changed += 1
            if record.study is not None:
                self.studies[record.study.id] = record
        if cursor is None:
            self.cursors.pop(cursor_key, None)
        else:
            self.cursors[cursor_key] = json.dumps(cursor)  # the real store keeps it as JSON too
        self.transactions.append(([r.study.id for r in records if r.study is not None], cursor))
        return counts

    def written_ids(self) -> list[str]:
        return [study_id for ids, _ in self.transactions for study_id in ids]


@pytest.fixture
def connect(open_client):
    """An HttpClient to a fake registry, through ``$CUREMAP_CTGOV_URL``."""
    return lambda registry: open_client("CUREMAP_CTGOV_URL", registry.base_url, ctgov_api.policy)


def test_policy_base_url_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("CUREMAP_CTGOV_URL", raising=False)
    assert ctgov_api.policy() == CTGOV
    monkeypatch.setenv("CUREMAP_CTGOV_URL", "http://127.0.0.1:9/api/v2")
    assert ctgov_api.policy().base_url == "http://127.0.0.1:9/api/v2"
    assert ctgov_api.policy().requests_per_second == CTGOV.requests_per_second


def test_harvest_survives_every_fault_and_stores_each_good_record_once(connect, sleeps):
    faults = {
        1: Fault.RATE_LIMITED_RETRY_AFTER,
        3: Fault.RATE_LIMITED,
        4: Fault.UNAVAILABLE,
        6: Fault.DROP,
        8: Fault.TRUNCATED,
        9: Fault.TRUNCATED_UNDECLARED,
        10: Fault.TRUNCATED,
    }
    store = MemoryStore()
    progress: list[tuple[int, int | None]] = []
    with FakeRegistry(page_size=5, faults=faults, include_broken=True, retry_after="2") as registry:
        result = harvest(store, connect(registry), condition=CONDITION, progress=lambda *p: progress.append(p))

    assert [r.fault for r in registry.requests if r.fault] == list(faults.values())
    assert 2.0 in sleeps  # the Retry-After of the first request
    assert sorted(store.written_ids()) == sorted(ALL_IDS)  # each good record exactly once
    [rejected] = result.rejected
    assert rejected["source"] == "ctgov" and rejected["record"] == "page 1 studies[3]"
    assert "identificationModule" in rejected["error"]
    assert (result.imported, result.changed, result.unchanged) == (len(ALL_IDS), 0, 0)
    assert (result.pages, result.received, result.total_count) == (7, 32, 32)
    assert result.warnings == [] and not result.resumed
    assert store.cursors == {}
    assert progress[-1] == (32, 32)
    assert [done for done, _ in progress] == [5, 10, 15, 20, 25, 30, 32]


def test_pages_are_requested_as_api_v2_documents(connect):
    with FakeRegistry(page_size=10) as registry:
        pages = list(iter_pages(connect(registry), condition=CONDITION))
    first, *later = [request.params for request in registry.requests]
    assert first == {"format": "json", "query.cond": CONDITION, "pageSize": "1000", "countTotal": "true"}
    assert [page.page_token for page in pages[1:]] == [params["pageToken"] for params in later]
    assert all("countTotal" not in params for params in later)
    assert pages[0].page_token is None and pages[0].total_count == 31
    assert [len(page.studies) for page in pages] == [10, 10, 10, 1]
    assert pages[-1].next_page_token is None
    assert pages[0].studies == recorded_studies()[:10]  # raw and untouched
    assert pages[1].url == f"{registry.base_url}/studies?{httpx.QueryParams(later[0])}"


def test_an_interrupted_harvest_resumes_where_it_stopped(connect):
    with FakeRegistry(page_size=5, include_broken=True) as registry:
        uninterrupted = MemoryStore()
        harvest(uninterrupted, connect(registry), condition=CONDITION)

        store = MemoryStore(kill_on_save=2)
        with pytest.raises(Killed):
            harvest(store, connect(registry), condition=CONDITION)
        saved = store.get_cursor(cursor_key(CONDITION))
        assert saved["pages"] == 1 and saved["records"] == 5 and saved["total_count"] == 32
        before = len(registry.requests)

        result = harvest(store, connect(registry), condition=CONDITION)

    resumed_requests = [request.params for request in registry.requests[before:]]
    assert resumed_requests[0]["pageToken"] == saved["page_token"]
    assert all("countTotal" not in params for params in resumed_requests)
    assert result.resumed
    assert (result.pages, result.received, result.total_count) == (7, 32, 32)
    assert result.warnings == []
    assert sorted(store.written_ids()) == sorted(uninterrupted.written_ids()) == sorted(ALL_IDS)
    assert {k: r.raw for k, r in store.studies.items()} == {k: r.raw for k, r in uninterrupted.studies.items()}
    assert store.cursors == {}


def test_since_puts_a_last_update_filter_into_every_request(connect):
    since = "2024-01-01"
    expected = {nct_id(s) for s in recorded_studies() if last_update(s) >= since}
    store = MemoryStore()
    with FakeRegistry(page_size=3) as registry:
        result = harvest(store, connect(registry), condition=CONDITION, since=since)
    assert {r.params["filter.advanced"] for r in registry.requests} == {SINCE_2024}
    assert set(store.studies) == expected and len(expected) == 10
    assert result.total_count == result.received == 10


def test_a_resumed_harvest_keeps_the_since_it_started_with(connect):
    store = MemoryStore(kill_on_save=2)
    with FakeRegistry(page_size=3) as registry:
        with pytest.raises(Killed):
            harvest(store, connect(registry), condition=CONDITION, since="2024-01-01")
        harvest(store, connect(registry), condition=CONDITION)
    assert {r.params["filter.advanced"] for r in registry.requests} == {SINCE_2024}
    assert len(store.studies) == 10


def test_a_total_count_mismatch_is_a_warning(connect):
    store = MemoryStore()
    with FakeRegistry(page_size=10, reported_total=40) as registry:
        result = harvest(store, connect(registry), condition=CONDITION)
    assert set(store.studies) == ALL_IDS
    assert len(result.warnings) == 1
    assert "40" in result.warnings[0] and "31" in result.warnings[0]


def test_a_refused_resume_point_restarts_from_the_first_page(connect):
    store = MemoryStore()
    stale = {"page_token": "expired-token", "since": None, "pages": 3, "records": 15, "total_count": 31}
    store.cursors[cursor_key(CONDITION)] = json.dumps(stale)
    with FakeRegistry(page_size=10) as registry:
        result = harvest(store, connect(registry), condition=CONDITION)
    assert registry.requests[0].params["pageToken"] == "expired-token"
    assert "pageToken" not in registry.requests[1].params
    assert set(store.studies) == ALL_IDS
    assert (result.pages, result.received, result.total_count) == (4, 31, 31)
    assert len(result.warnings) == 1 and "first page" in result.warnings[0]
    assert store.cursors == {}


def test_a_since_that_is_not_a_date_is_refused_before_any_request(connect):
    with FakeRegistry() as registry:
        with pytest.raises(InputError, match="YYYY-MM-DD"):
            harvest(MemoryStore(), connect(registry), condition=CONDITION, since="last week")
    assert registry.requests == []


def test_a_body_that_is_not_a_studies_page_is_a_response_error():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"error": "maintenance"}))
    with HttpClient(CTGOV, transport=transport) as client:
        with pytest.raises(ResponseError, match="studies page"):
            next(iter_pages(client, condition=CONDITION))
