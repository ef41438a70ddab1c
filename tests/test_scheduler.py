"""Scheduled updates (issue 18): the scheduler against the fake registry, twice with a change
between; a second scheduler on the same store waiting; a failed run retried with backoff and
leaving the map intact; the update lock on SQLite and PostgreSQL. Clocks and sleeps are
injected: nothing here waits on a real clock."""

from __future__ import annotations

import copy
import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from curemap.errors import InputError, UpdateLockLost
from curemap.service.lock import UpdateLock
from curemap.service.runs import REPORT, finish_step, start_step, update_status
from curemap.service.scheduler import Plan, Scheduler, parse_every
from curemap.sources import ctgov_api
from curemap.store import Store
from curemap.web import create_app
from tests.fake_registry import Fault, FakeRegistry, last_update, nct_id, recorded_studies

BEAT_MS = "NCT04047628"
"""Best Available Therapy versus autologous haematopoietic stem cell transplant for MS: a trial
aimed at a cure, so the review's "what changed" lists its changes."""


class FakeClock:
    """A clock that moves only when the scheduler sleeps."""

    def __init__(self) -> None:
        self.now = datetime(2025, 11, 1, 6, 0, tzinfo=UTC)
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def fast_registry_policy(fast_policies):
    fast_policies(ctgov_api, "CTGOV")


@pytest.fixture
def registry(monkeypatch, fast_registry_policy):
    with FakeRegistry(page_size=50) as fake:
        monkeypatch.setenv("CUREMAP_CTGOV_URL", fake.base_url)
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def scheduler_for(store, home, clock, **plan) -> Scheduler:
    said: list[str] = []
    plan = Plan(report_dir=home / "report", sources=("ctgov",), formats=("md",), **plan)
    scheduler = Scheduler(store, plan, clock=clock, sleep=clock.sleep, say=said.append)
    scheduler.said = said  # type: ignore[attr-defined]
    return scheduler


def changed_beat_ms(registry: FakeRegistry) -> None:
    """The registry's next version of BEAT-MS: no longer recruiting, updated after everything stored."""
    index = next(i for i, study in enumerate(registry.studies) if nct_id(study) == BEAT_MS)
    study = copy.deepcopy(registry.studies[index])
    status = study["protocolSection"]["statusModule"]
    assert status["overallStatus"] == "RECRUITING"
    status["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    newest = max(last_update(s) for s in registry.studies)
    status["lastUpdatePostDateStruct"]["date"] = (date.fromisoformat(newest) + timedelta(days=1)).isoformat()
    registry.studies[index] = study


def test_two_scheduled_runs_with_a_change_between_write_an_edition_that_says_what_changed(home, registry, clock):
    store = Store.open(home)
    scheduler = scheduler_for(store, home, clock, every=timedelta(hours=12))
    twelve_hours = 12 * 3600

    first_run_requests = []

    def sleep(seconds: float) -> None:
        first_run_requests.append(len(registry.requests))
        changed_beat_ms(registry)  # between the runs the registry updates a record
        clock.sleep(seconds)

    scheduler.sleep = sleep
    scheduler.run_forever(runs=2)

    assert clock.sleeps == [twelve_hours]  # the first run at once, the second an interval later
    report = home / "report"
    manifest = json.loads((report / "report.json").read_text())
    first = store_snapshots(store)[0]
    assert manifest["since"] == first and manifest["snapshot"] != first
    md = (report / "report.md").read_text()
    changes = md.split("What changed since the previous edition", 1)[1].split("\n## ", 1)[0]
    assert "This is the first edition" not in md
    assert "status was recruiting, now active, not recruiting" in changes
    assert not list(report.glob(".edition-*"))  # the staging folder is gone
    # the second run asked only for records updated since the newest one stored
    second_run = registry.requests[first_run_requests[0]:]
    assert second_run and all("RANGE[" in r.params["filter.advanced"] for r in second_run)

    status = TestClient(create_app(store)).get("/api/status")
    assert status.status_code == 200 and status.headers["cache-control"] == "no-store"
    updates = status.json()["updates"]
    assert updates["last_success"] == "2025-11-01T18:00:00+00:00" and updates["last_failure"] is None
    assert updates["next_run_at"] == "2025-11-01T18:00:00+00:00"  # written before the second run began
    assert updates["every_seconds"] == twelve_hours and updates["running"] is False
    ctgov = updates["steps"]["ctgov"]["last_success"]
    assert ctgov["details"]["changed"] == 1 and ctgov["details"]["imported"] == 0
    assert updates["steps"][REPORT]["last_success"]["details"]["snapshot"] == manifest["snapshot"]
    page = TestClient(create_app(store)).get("/status")
    assert page.status_code == 200 and "ClinicalTrials.gov" in page.text and "2025-11-01T18:00:00+00:00" in page.text
    store.close()


def store_snapshots(store) -> list[str]:
    with store.engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql("SELECT id FROM snapshots ORDER BY created_at, rowid")]


def test_a_second_scheduler_waits_for_the_running_update_and_skips_a_run_that_one_just_did(home, registry, clock):
    """Two schedulers on one store: while the first holds the lock the second harvests nothing
    and waits; when the first finishes an update meanwhile, the second skips its run and says so."""
    first = scheduler_for(Store.open(home), home, clock)
    second = scheduler_for(Store.open(home), home, clock)
    assert first.lock.try_take() is None  # the first scheduler's update is under way
    waits = []

    def second_sleeps(seconds: float) -> None:
        waits.append((seconds, len(registry.requests)))
        first.lock.release()
        assert first.run_once()["outcome"] == "ok"  # the first one's update ends while the second waits
        clock.sleep(seconds)

    second.sleep = second_sleeps
    outcome = second.run_once()
    requests_by_first = len(registry.requests)
    assert waits == [(30.0, 0)]  # it polled the lock once, having asked the registry nothing
    assert outcome["outcome"] == "skipped"
    assert len(registry.requests) == requests_by_first
    assert any("another update is running" in line for line in second.said)
    assert any("skipping this run" in line for line in second.said)
    assert update_status(second.store, clock)["holder"] is None  # released


def test_a_waiting_scheduler_takes_over_from_one_that_died_and_marks_its_run_interrupted(home, registry, clock):
    store = Store.open(home)
    dead = UpdateLock(store, "dead-host:1:abc", ttl=timedelta(minutes=10), clock=clock)
    assert dead.try_take() is None
    step = start_step(store, run="r1", attempt=1, step="ctgov", owner=dead.owner, clock=clock)
    assert step
    scheduler = scheduler_for(store, home, clock)
    outcome = scheduler.run_once()
    assert outcome["outcome"] == "ok"
    assert set(clock.sleeps) == {30.0} and sum(clock.sleeps) > 600  # polled until the dead holder's lock expired
    ctgov = update_status(store, clock)["steps"]["ctgov"]
    assert ctgov["last_failure"]["outcome"] == "interrupted" and "stopped before it finished" in ctgov["last_failure"]["error"]
    assert ctgov["last_success"]["at"] >= ctgov["last_failure"]["at"]


def test_a_failed_run_is_retried_with_backoff_and_leaves_the_map_and_edition_intact(home, registry, clock):
    store = Store.open(home)
    scheduler = scheduler_for(store, home, clock, retries=3, backoff=timedelta(minutes=5))
    assert scheduler.run_once()["outcome"] == "ok"
    report = home / "report"
    edition = {path.name: path.read_bytes() for path in report.iterdir()}
    snapshots = store_snapshots(store)
    with store.engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT id, content_hash FROM studies ORDER BY id").all()

    changed_beat_ms(registry)
    registry.faults = {n: Fault.UNAVAILABLE for n in range(len(registry.requests) + 1, len(registry.requests) + 1000)}
    backoffs = []

    def sleep(seconds: float) -> None:
        backoffs.append(seconds)
        with store.engine.connect() as conn:  # between tries the map is as it was
            assert conn.exec_driver_sql("SELECT id, content_hash FROM studies ORDER BY id").all() == before
        assert {path.name: path.read_bytes() for path in report.iterdir()} == edition
        status = TestClient(create_app(store)).get("/api/status").json()["updates"]
        assert "ctgov" in status["last_failure"]["error"] and "503" in status["last_failure"]["error"]
        assert status["next_run_at"] == (clock.now + timedelta(seconds=seconds)).isoformat()
        if len(backoffs) == 2:
            registry.faults = {}  # the registry recovers before the third try
        clock.sleep(seconds)

    scheduler.sleep = sleep
    outcome = scheduler.run_once()
    assert backoffs == [300.0, 600.0]  # five minutes, then twice that
    assert outcome["outcome"] == "ok"
    assert store_snapshots(store)[:len(snapshots)] == snapshots
    assert "status was recruiting, now active, not recruiting" in (report / "report.md").read_text()
    status = update_status(store, clock)
    assert status["last_success"] > status["last_failure"]["at"]


def test_a_run_that_keeps_failing_stops_after_its_retries_and_writes_no_edition(home, registry, clock):
    store = Store.open(home)
    registry.faults = {n: Fault.UNAVAILABLE for n in range(1, 1000)}
    scheduler = scheduler_for(store, home, clock, retries=2, backoff=timedelta(hours=8), every=timedelta(hours=12))
    outcome = scheduler.run_once()
    assert outcome["outcome"] == "failed" and "ctgov" in outcome["error"]
    assert clock.sleeps == [8 * 3600, 12 * 3600]  # doubled, but never longer than the interval
    assert not (home / "report" / "report.json").exists()
    assert update_status(store, clock)["last_success"] is None


def test_parse_every():
    assert parse_every("12h") == timedelta(hours=12)
    assert parse_every("1h30m") == timedelta(minutes=90)
    assert parse_every("1d") == timedelta(days=1)
    for bad in ("12", "soon", "10s", "h"):
        with pytest.raises(InputError):
            parse_every(bad)


def test_the_update_lock_is_one_holder_at_a_time_on_each_backend(store_url, clock):
    """Two processes' locks on one store (each its own engine); and many taking at once."""
    stores = [Store(store_url) for _ in range(2)]
    first, second = (UpdateLock(s, f"host:{n}:x", ttl=timedelta(minutes=10), clock=clock) for n, s in enumerate(stores))
    assert first.try_take() is None
    held = second.try_take()
    assert held is not None and held.owner == first.owner
    first.beat()
    clock.sleep(9 * 60)
    assert second.try_take() is not None  # beaten a minute ago: still held
    clock.sleep(2 * 60)
    assert second.try_take() is None  # eleven minutes without a beat: expired, taken over
    with pytest.raises(UpdateLockLost, match="host:1:x"):
        first.beat()
    first.release()  # releasing a lock it no longer holds changes nothing
    assert second.holder().owner == second.owner
    second.release()
    assert second.holder() is None

    contenders = [UpdateLock(Store(store_url), f"racer:{n}", clock=clock) for n in range(6)]
    barrier, won = threading.Barrier(len(contenders)), []

    def race(lock: UpdateLock) -> None:
        barrier.wait()
        if lock.try_take() is None:
            won.append(lock.owner)

    threads = [threading.Thread(target=race, args=(lock,)) for lock in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    for lock in contenders:
        lock.store.close()
    for store in stores:
        store.close()


def test_the_status_of_a_step_is_its_latest_success_and_failure(home, clock):
    store = Store.open(home)
    failed = start_step(store, run="a", attempt=1, step="pubmed", owner="o", clock=clock)
    finish_step(store, failed, error="pubmed (127.0.0.1) answered 503", clock=clock)
    clock.sleep(60)
    ok = start_step(store, run="b", attempt=2, step="pubmed", owner="o", clock=clock)
    finish_step(store, ok, details={"imported": 3}, clock=clock)
    steps = update_status(store, clock)["steps"]
    assert steps["pubmed"]["last_failure"] == {"at": "2025-11-01T06:00:00+00:00", "error": "pubmed (127.0.0.1) answered 503", "outcome": "failed"}
    assert steps["pubmed"]["last_success"] == {"at": "2025-11-01T06:01:00+00:00", "details": {"imported": 3}}


def test_recorded_studies_hold_beat_ms_recruiting():
    """The acceptance test's change rests on this recording."""
    assert any(nct_id(s) == BEAT_MS for s in recorded_studies())


def test_watch_once_runs_one_update_and_refuses_a_bad_interval(cli, home, registry):
    result = cli("watch", "--once", "--source", "ctgov", "--format", "md", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["outcome"] == "ok"
    assert (home / "report" / "report.md").is_file()
    bad = cli("watch", "--every", "soon")
    assert bad.exit_code == 1 and "12h" in bad.stderr
    assert "Example: curemap" in cli("watch", "--help").stdout and "Example: curemap" in cli("doctor", "--help").stdout
