"""`curemap update --source ctgov` end to end, against a fake registry on 127.0.0.1
serving the real recorded API pages, with faults injected and a real kill mid-harvest."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from curemap.sources import ctgov_api
from curemap.store import Store
from tests.conftest import CTGOV_CSV
from tests.fake_registry import Fault, FakeRegistry, nct_id, recorded_studies

ALL_FAULTS = {
    1: Fault.RATE_LIMITED_RETRY_AFTER,
    3: Fault.RATE_LIMITED,
    5: Fault.UNAVAILABLE,
    7: Fault.DROP,
    9: Fault.TRUNCATED,
    11: Fault.TRUNCATED_UNDECLARED,
}


@pytest.fixture
def fast_registry_policy(fast_policies):
    """Keep the real retry logic but shrink its waits, so the faults cost milliseconds."""
    fast_policies(ctgov_api, "CTGOV")


def stored(home) -> dict[str, str]:
    store = Store.open(home)
    try:
        with store.engine.connect() as conn:
            return dict(conn.exec_driver_sql("SELECT id, content_hash FROM studies").all())
    finally:
        store.close()


def test_update_survives_every_fault_reports_the_bad_record_and_keeps_what_was_stored(
    cli, home, monkeypatch, fast_registry_policy
):
    assert cli("import", CTGOV_CSV, "--json").exit_code == 0
    before = stored(home)
    with FakeRegistry(page_size=5, faults=ALL_FAULTS, include_broken=True, retry_after="0") as registry:
        monkeypatch.setenv("CUREMAP_CTGOV_URL", registry.base_url)
        result = cli("update", "--source", "ctgov", "--since", "2000-01-01", "--json")
    assert result.exit_code == 0, result.stderr
    payload = result.json()
    real = recorded_studies()
    snapshot_overlap = {nct_id(s) for s in real} & set(before)
    assert payload["imported"] == len(real) - len(snapshot_overlap)
    assert payload["changed"] + payload["unchanged"] == len(snapshot_overlap)
    assert len(payload["rejected"]) == 1
    rejected = payload["rejected"][0]
    assert "studies[3]" in rejected["record"] and "nctId" in rejected["error"]
    after = stored(home)
    assert set(before) <= set(after)
    assert set(after) == set(before) | {nct_id(s) for s in real}
    # Every fault was met and survived.
    assert {r.fault for r in registry.requests if r.fault} == set(ALL_FAULTS.values())
    # The cursor is gone once the harvest finished.
    assert Store.open(home).get_cursor(ctgov_api.cursor_key("multiple sclerosis")) is None


def test_update_is_incremental_from_the_newest_stored_update(cli, home, monkeypatch, fast_registry_policy):
    assert cli("import", CTGOV_CSV, "--json").exit_code == 0
    newest = max(stored_last_updates(home))
    with FakeRegistry(page_size=50) as registry:
        monkeypatch.setenv("CUREMAP_CTGOV_URL", registry.base_url)
        result = cli("update", "--source", "ctgov", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["since"] == newest
    assert registry.requests[0].params["filter.advanced"] == f"AREA[LastUpdatePostDate]RANGE[{newest},MAX]"


def stored_last_updates(home) -> list[str]:
    with sqlite3.connect(home / "curemap.db") as conn:
        return [row[0] for row in conn.execute("SELECT last_update_posted FROM studies") if row[0]]


def test_update_refuses_a_bad_since_and_an_unknown_source(cli):
    bad_date = cli("update", "--source", "ctgov", "--since", "last week")
    assert bad_date.exit_code == 1 and "YYYY-MM-DD" in bad_date.stderr
    unknown = cli("update", "--source", "medrxiv")
    assert unknown.exit_code == 1 and "medrxiv" in unknown.stderr


def _cursor_pages(db) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            row = conn.execute("SELECT data FROM harvest_cursors").fetchone()
    except sqlite3.Error:
        return 0
    return json.loads(row[0])["pages"] if row else 0


def test_killing_a_harvest_and_running_it_again_ends_as_an_uninterrupted_run(
    cli, tmp_path, monkeypatch, fast_registry_policy
):
    with FakeRegistry(page_size=4, include_broken=True) as registry:
        monkeypatch.setenv("CUREMAP_CTGOV_URL", registry.base_url)
        # The reference: one uninterrupted run, in-process.
        assert cli("update", "--source", "ctgov", "--since", "2000-01-01").exit_code == 0
        reference = stored(tmp_path / "home")

        # The real thing: a separate process at the real one-request-a-second pace, killed
        # with SIGKILL once it has committed two pages, then run again to the end.
        killed_home = tmp_path / "killed"
        command = [sys.executable, "-m", "curemap.cli", "--home", str(killed_home), "update", "--source", "ctgov", "--since", "2000-01-01", "--json"]
        env = {**os.environ, "CUREMAP_CTGOV_URL": registry.base_url}
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while _cursor_pages(killed_home / "curemap.db") < 2:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the harvest never committed two pages"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        partial = stored(killed_home)
        assert 0 < len(partial) < len(reference)

        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert finished.returncode == 0, finished.stderr
        assert json.loads(finished.stdout)["pages"] == -(-len(recorded_studies() + [None]) // 4)
    assert stored(killed_home) == reference


def test_update_on_a_network_that_never_answers_gives_up_within_its_timeout(cli, monkeypatch, silent_server):
    """Reproduces issue 13: on a network that drops packets silently, `update` took about
    6.5 minutes a source (six tries of 60 s) with no way to shorten it. With --timeout each
    source is found unreachable on its first unanswered try, and the command says so."""
    for variable in ("CUREMAP_CTGOV_URL", "CUREMAP_EUTILS_URL", "CUREMAP_EUROPEPMC_URL"):
        monkeypatch.setenv(variable, silent_server.base_url)
    result = cli("update", "--source", "all", "--timeout", "0.5", "--json")
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    for name in ("ctgov", "pubmed", "europepmc"):
        assert f"{name} (127.0.0.1) cannot be reached: no answer in time (tried 1 time" in result.stderr
    assert set(result.json()["failed"]) == {"ctgov", "pubmed", "europepmc"}
    assert len(silent_server.connections) == 3  # one try per source
