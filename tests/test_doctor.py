"""`curemap doctor`: each deployment problem found, named, with what to fix, and exit 1."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from curemap.pipeline import snapshot
from curemap.service.lock import UpdateLock
from curemap.service.runs import finish_step, start_step
from curemap.store import Store

DIGEST_VARIABLES = ("CUREMAP_SMTP_HOST", "CUREMAP_SMTP_PORT", "CUREMAP_SMTP_USER", "CUREMAP_SMTP_PASSWORD",
                    "CUREMAP_SMTP_FROM", "CUREMAP_SMTP_SECURITY", "CUREMAP_PUBLIC_URL", "CUREMAP_DIGEST_ITEMS")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for variable in (*DIGEST_VARIABLES, "CUREMAP_UPDATE_EVERY", "CUREMAP_DB"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def deployed(home):
    """A store with a map in it and a scheduler that planned its next run."""
    store = Store.open(home)
    snapshot(store)
    UpdateLock(store).plan(datetime.now(UTC) + timedelta(hours=12), timedelta(hours=12))
    yield store
    store.close()


def free_port() -> int:
    """A port nothing listens on (until something is started on it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def checks(result) -> dict[str, dict]:
    return {check["name"]: check for check in result.json()["checks"]}


def test_a_healthy_deployment_passes(cli, deployed):
    result = cli("doctor", "--json")
    assert result.exit_code == 0, result.stdout
    found = checks(result)
    assert all(check["ok"] for check in found.values())
    assert {"store", "migrations", "map", "schedule", "updates", "report"} <= set(found)
    assert found["schedule"]["message"].startswith("every 12h; next at")
    human = cli("doctor")
    assert human.exit_code == 0 and "PROBLEM" not in human.stdout


def test_no_store_says_how_to_build_one(cli, home):
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    store = checks(result)["store"]
    assert not store["ok"] and "no store" in store["message"] and "build --offline" in store["fix"]


def test_an_unreachable_database_is_named_without_its_password(cli):
    result = cli("--db", f"postgresql://curemap:secret@127.0.0.1:{free_port()}/curemap", "doctor", "--json")
    assert result.exit_code == 1
    store = checks(result)["store"]
    assert "cannot reach the store" in store["message"] and "CUREMAP_DB" in store["fix"]
    assert "secret" not in result.stdout


def test_missing_migrations_are_listed(cli, deployed):
    with deployed.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE name = '0008_update_runs'")
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    migrations = checks(result)["migrations"]
    assert "0008_update_runs" in migrations["message"] and "status" in migrations["fix"]


def test_no_scheduler_and_an_overdue_one_are_problems(cli, home):
    store = Store.open(home)
    snapshot(store)
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    schedule = checks(result)["schedule"]
    assert "no scheduler" in schedule["message"] and "curemap watch" in schedule["fix"]

    UpdateLock(store).plan(datetime.now(UTC) - timedelta(days=2), timedelta(hours=12))
    overdue = checks(cli("doctor", "--json"))["schedule"]
    assert not overdue["ok"] and "never started" in overdue["message"]
    store.close()


def test_a_bad_interval_in_the_environment_is_a_problem(cli, deployed, monkeypatch):
    monkeypatch.setenv("CUREMAP_UPDATE_EVERY", "twice a day")
    schedule = checks(cli("doctor", "--json"))["schedule"]
    assert not schedule["ok"] and "CUREMAP_UPDATE_EVERY" in schedule["message"]


def test_a_last_update_that_failed_is_reported_with_its_error(cli, deployed):
    step = start_step(deployed, run="r", attempt=1, step="ctgov", owner="o")
    finish_step(deployed, step, error="ctgov (127.0.0.1) answered 503 Service Unavailable")
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    updates = checks(result)["updates"]
    assert "503" in updates["message"] and "/status" in updates["fix"]


def test_a_report_folder_that_cannot_be_written_is_a_problem(cli, deployed, home):
    (home / "report").write_text("a file where the folder should be")
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    assert "cannot write report editions" in checks(result)["report"]["message"]


def test_digests_half_configured_or_their_mail_server_unreachable_are_problems(cli, deployed, monkeypatch):
    pytest.importorskip("curemap.service.digests", reason="the mail checks read the digests' settings")
    monkeypatch.setenv("CUREMAP_SMTP_HOST", "127.0.0.1")
    half = checks(cli("doctor", "--json"))["digests"]
    assert not half["ok"] and "CUREMAP_SMTP_FROM" in half["message"]

    closed = free_port()
    monkeypatch.setenv("CUREMAP_SMTP_FROM", "map@example.org")
    monkeypatch.setenv("CUREMAP_PUBLIC_URL", "https://map.example.org")
    monkeypatch.setenv("CUREMAP_SMTP_PORT", str(closed))
    monkeypatch.setenv("CUREMAP_SMTP_SECURITY", "none")
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    assert "cannot reach the SMTP server" in checks(result)["smtp"]["message"]


def test_a_reachable_mail_server_passes(cli, deployed, monkeypatch):
    pytest.importorskip("curemap.service.digests", reason="the mail checks read the digests' settings")
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for variable, value in {"CUREMAP_SMTP_HOST": "127.0.0.1", "CUREMAP_SMTP_PORT": str(port),
                                "CUREMAP_SMTP_SECURITY": "none", "CUREMAP_SMTP_FROM": "map@example.org",
                                "CUREMAP_PUBLIC_URL": "https://map.example.org"}.items():
            monkeypatch.setenv(variable, value)
        result = cli("doctor", "--json")
    finally:
        controller.stop()
    assert result.exit_code == 0, result.stdout
    assert checks(result)["smtp"]["ok"]
