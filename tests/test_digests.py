"""Digests against a real SMTP server on 127.0.0.1 (aiosmtpd) and a copy of the built store,
changed by importing real ClinicalTrials.gov API records: double opt-in, exactly the new items,
once, through reruns and crashes, only MS, a one-click unsubscribe, no address in any log."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select

from curemap.errors import MailError
from curemap.profile import load_profile
from curemap.service import digests
from curemap.store import Store, schema
from curemap.store.store import default_url
from curemap.web import create_app
from curemap.web.query import StudyFilters
from tests.conftest import RAW_V2, _free_port

READER = "reader.digest@example.org"
OTHER = "other.reader@example.net"
MS_STUDY = "NCT00763412"  # a cystic fibrosis trial in the registry, made an MS one here
NOT_MS = "NCT02210780"  # atopic dermatitis, imported as it is
EARLY = "NCT04431453"  # a COVID-19 trial made an MS one, imported before the subscriber confirms


class Mailbox:
    """What the SMTP server accepted. ``hold`` (a count) makes it stall on that message, never
    answering it, as a server does while a client dies; ``defer`` answers it 421 instead."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.arrived = 0
        self.hold: int | None = None
        self.defer: int | None = None
        self.holding = threading.Event()
        self.released = False

    async def handle_DATA(self, server, session, envelope):
        self.arrived += 1
        if self.arrived == self.hold:
            self.holding.set()
            while not self.released:
                await asyncio.sleep(0.05)
            return "421 closing"
        if self.arrived == self.defer:
            return "421 try again later"
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.messages if address in rcpt]


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    box.port = controller.port
    yield box
    box.released = True
    controller.stop()


@pytest.fixture
def settings(mailbox) -> digests.DigestSettings:
    return digests.DigestSettings(
        smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_from="map@curemap.test", smtp_security="none",
        public_url="http://curemap.test", items_per_section=5,
    )


@pytest.fixture
def map_store(built):
    opened = Store.open(built)
    yield opened
    opened.close()


def record(study_id: str, *, ms: bool = True, status: str | None = None, enrollment: int | None = None, updated: str | None = None) -> dict:
    """A real registry record from ../shared, as MS (its conditions replaced) or as it is."""
    data = json.loads((RAW_V2 / f"{study_id}.json").read_text(encoding="utf-8"))
    protocol = data["protocolSection"]
    if ms:
        protocol["conditionsModule"]["conditions"] = ["Multiple Sclerosis"]
    if status:
        protocol["statusModule"]["overallStatus"] = status
        data["hasResults"] = False
        data.pop("resultsSection", None)
    if enrollment is not None:
        protocol["designModule"]["enrollmentInfo"]["count"] = enrollment
    if updated:
        protocol["statusModule"]["lastUpdatePostDateStruct"]["date"] = updated
    return data


def import_records(cli, tmp_path: Path, *records: dict) -> None:
    for number, data in enumerate(records):
        path = tmp_path / f"import-{time.monotonic_ns()}-{number}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        assert cli("import", path).exit_code == 0


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link(message: EmailMessage, path: str) -> str:
    """The path and query of the first link to ``path`` in a mail's text."""
    url = next(word for word in text_of(message).split() if urlsplit(word).path == path)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def digest_ids(message: EmailMessage) -> list[str]:
    """The registry ids a digest lists, in order."""
    return [line[2:].split(":")[0] for line in text_of(message).splitlines() if line.startswith("* ")]


def subscribed(store: Store, profile, *addresses: str) -> list[digests.Subscription]:
    """Confirmed subscribers to every MS study, their confirmation mails cancelled unsent."""
    subs = [digests.confirm(store, digests.subscribe(store, profile, StudyFilters(), a).confirm_token) for a in addresses]
    return subs


def test_a_subscriber_gets_exactly_the_new_items_once_and_nothing_after_unsubscribing(
    map_store, settings, mailbox, cli, tmp_path, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    profile = load_profile()
    client = TestClient(create_app(map_store, digests=settings))

    # Double opt-in: the form sends the confirmation at once, and nothing else goes out before it is followed.
    page = client.get("/subscribe?strategy=ahsct")
    assert page.status_code == 200 and 'value="ahsct" selected' in page.text
    csrf = page.cookies["curemap_csrf"]
    answer = client.post("/subscribe", data={"csrf": csrf, "email": READER, "strategy": "", "group": "", "country": "", "q": ""})
    assert answer.status_code == 202 and "Check your mail" in answer.text and READER not in answer.text
    other = client.post("/subscribe", json={"email": OTHER, "country": "France"})
    assert other.status_code == 202 and other.json()["state"] == "pending" and "feed" not in other.json()
    assert [rcpt for rcpt, _ in mailbox.messages] == [[READER], [OTHER]]
    confirmation = mailbox.to(READER)[0]
    assert confirmation["Subject"] == "Curemap: confirm your digest subscription"
    import_records(cli, tmp_path, record(EARLY))
    assert digests.send_digests(map_store, profile, settings)["sent"] == 0
    assert len(mailbox.messages) == 2

    for address in (READER, OTHER):
        confirmed = client.get(link(mailbox.to(address)[0], "/subscribe/confirm"))
        assert confirmed.status_code == 200 and "You are subscribed" in confirmed.text
    assert client.get(link(confirmation, "/subscribe/confirm")).status_code == 200  # idempotent

    # After confirming: a new MS study and a new study of another disease.
    import_records(cli, tmp_path, record(MS_STUDY, status="RECRUITING", updated="2016-01-01"), record(NOT_MS, ms=False))
    assert digests.send_digests(map_store, profile, settings, dry_run=True)["digests"][0]["items"] == 1
    assert len(mailbox.messages) == 2  # a dry run sends nothing
    result = digests.send_digests(map_store, profile, settings)
    assert result["queued"] == 1 and result["sent"] == 1  # the French subscriber's search matched nothing
    first = mailbox.to(READER)[1]
    assert digest_ids(first) == [MS_STUDY]  # not the study from before confirming, nor the other disease's
    assert "Newly on the map: a study, recruiting" in text_of(first)
    assert "https://clinicaltrials.gov/study/NCT00763412" in text_of(first)
    assert NOT_MS not in first.as_string()
    assert len(mailbox.to(OTHER)) == 1

    # The job again: nothing new, nothing sent.
    assert digests.send_digests(map_store, profile, settings) == {"queued": 0, "sent": 0, "failed": 0, "cancelled": 0, "forgotten": 0}
    assert len(mailbox.messages) == 3

    # The registry's next version: completed, with results. The digest says so, and only so.
    import_records(cli, tmp_path, record(MS_STUDY))
    digests.send_digests(map_store, profile, settings)
    second = mailbox.to(READER)[2]
    assert digest_ids(second) == [MS_STUDY, MS_STUDY]
    assert "Now completed (was recruiting)." in text_of(second)
    assert "Results were posted on ClinicalTrials.gov." in text_of(second)
    assert "Newly on the map" not in text_of(second)

    # The subscriber's feed says the same, one entry per change, in the digest's words.
    feed_link = link(second, "/digests/feed.atom")
    atom = client.get(feed_link)
    assert atom.status_code == 200 and "Now completed (was recruiting)." in atom.text and NOT_MS not in atom.text

    # One-click unsubscribe, as a mail client does it (RFC 8058), stops the next digest and the feed.
    assert second["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = urlsplit(second["List-Unsubscribe"].strip().strip("<>"))
    gone = client.post(f"{unsubscribe.path}?{unsubscribe.query}", data={"List-Unsubscribe": "One-Click"})
    assert gone.status_code == 200 and "You are unsubscribed" in gone.text
    assert client.get(link(second, "/unsubscribe")).status_code == 200  # the link in the text: idempotent
    assert client.get(link(confirmation, "/subscribe/confirm")).text.count("You are unsubscribed") == 1
    import_records(cli, tmp_path, record(MS_STUDY, enrollment=150, updated="2030-01-01"))
    assert digests.send_digests(map_store, profile, settings)["sent"] == 0
    assert len(mailbox.to(READER)) == 3
    assert client.get(feed_link).status_code == 404

    # The address was kept only for sending, and no log, output or page ever showed it.
    with map_store.engine.connect() as conn:
        kept = conn.execute(select(schema.subscriptions.c.email)).scalars().all()
    assert READER not in kept and OTHER in kept
    logged = [r for r in caplog.records if not r.name.startswith("mail.log")]  # aiosmtpd's: the receiving server's own
    assert any(r.name == "curemap.digests" for r in logged)
    for address in (READER, OTHER):
        assert not any(address in r.getMessage() for r in logged)
        out = capsys.readouterr()
        assert address not in out.out + out.err


def test_a_crash_between_two_sends_loses_and_duplicates_nothing(map_store, settings, mailbox, built, cli, tmp_path):
    profile = load_profile()
    subscribed(map_store, profile, READER, OTHER)
    import_records(cli, tmp_path, record(MS_STUDY))
    # The job, as the scheduler runs it, killed while its second mail is on the wire.
    mailbox.hold = 2
    env = {
        **os.environ, "CUREMAP_SMTP_HOST": "127.0.0.1", "CUREMAP_SMTP_PORT": str(mailbox.port), "CUREMAP_SMTP_FROM": "map@curemap.test",
        "CUREMAP_SMTP_SECURITY": "none", "CUREMAP_PUBLIC_URL": "http://curemap.test",
    }
    job = subprocess.Popen([sys.executable, "-m", "curemap.cli", "--home", str(built), "digest", "send"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert mailbox.holding.wait(60), job.communicate(timeout=5)
    finally:
        job.send_signal(signal.SIGKILL)
        job.wait()
    assert len(mailbox.messages) == 1
    with map_store.engine.connect() as conn:
        states = dict(conn.execute(select(schema.deliveries.c.state, schema.deliveries.c.id).where(schema.deliveries.c.kind == "digest")).all())
    assert set(states) == {"sent", "sending"}

    # A rerun at once leaves the dead run's claim alone; once its lease has lapsed, it sends that mail.
    assert digests.send_digests(map_store, profile, settings)["sent"] == 0
    later = (datetime.now(UTC) + digests.SEND_LEASE + timedelta(minutes=1)).isoformat(timespec="seconds")
    after_lease = Store(default_url(built), clock=lambda: later)
    try:
        assert digests.send_digests(after_lease, profile, settings)["sent"] == 1
        assert digests.send_digests(after_lease, profile, settings)["sent"] == 0
    finally:
        after_lease.close()
    assert sorted(rcpt[0] for rcpt, _ in mailbox.messages) == sorted([READER, OTHER])
    assert {message["Message-ID"] for _, message in mailbox.messages} == {f"<{i}@curemap.test>" for i in states.values()}
    assert all(digest_ids(message) == [MS_STUDY] for _, message in mailbox.messages)


def test_a_server_failing_midway_leaves_the_rest_for_the_next_run(map_store, settings, mailbox, cli, tmp_path):
    profile = load_profile()
    subscribed(map_store, profile, READER, OTHER)
    import_records(cli, tmp_path, record(MS_STUDY))
    mailbox.defer = 2
    with pytest.raises(MailError, match="did not take delivery"):
        digests.send_digests(map_store, profile, settings)
    assert len(mailbox.messages) == 1
    assert digests.send_digests(map_store, profile, settings)["sent"] == 1
    assert digests.send_digests(map_store, profile, settings)["sent"] == 0
    assert sorted(rcpt[0] for rcpt, _ in mailbox.messages) == sorted([READER, OTHER])


def test_sections_hold_a_set_number_of_items_and_link_to_the_rest(map_store, settings, mailbox, cli, tmp_path):
    profile = load_profile()
    subscribed(map_store, profile, READER)
    with map_store.engine.begin() as conn:  # every MS study's first import since the window before them
        conn.execute(schema.subscriptions.update().values(after_change=0))
    digests.send_digests(map_store, profile, settings)
    (message,) = mailbox.to(READER)
    text = text_of(message)
    assert len(digest_ids(message)) == settings.items_per_section
    rest = next(line for line in text.splitlines() if line.startswith("… and "))
    client = TestClient(create_app(map_store, digests=settings))
    page = client.get(link(message, urlsplit(rest.split()[-1]).path))
    with map_store.engine.connect() as conn:
        items = json.loads(conn.execute(select(schema.deliveries.c.entries).where(schema.deliveries.c.kind == "digest")).scalar_one())
    assert page.status_code == 200 and page.text.count("<li>") == len(items) > settings.items_per_section
    assert int(rest.split()[2]) == len(items) - settings.items_per_section
    assert client.get(urlsplit(rest.split()[-1]).path + "?token=wrong").status_code == 404


def test_subscribing_checks_the_form_token_the_address_and_the_filters(map_store, settings, mailbox):
    client = TestClient(create_app(map_store, digests=settings))
    forged = client.post("/subscribe", data={"email": READER})  # a page elsewhere has no cookie, no token
    assert forged.status_code == 403
    client.get("/subscribe")
    assert client.post("/subscribe", data={"csrf": "guessed", "email": READER}).status_code == 403
    bad = client.post("/subscribe", json={"email": "not an address <x@y>"})
    assert bad.status_code == 400 and "not an e-mail address" in bad.json()["error"] and "x@y" not in bad.text
    assert client.post("/subscribe", json={"email": READER, "ms": "false"}).status_code == 400
    assert client.post("/subscribe", json={"email": READER, "strategy": "nope"}).status_code == 400
    assert client.post("/subscribe", json={"email": READER, "colour": "blue"}).status_code == 400
    assert mailbox.messages == []
    with map_store.engine.connect() as conn:
        assert conn.execute(select(schema.subscriptions)).all() == []
    feed_only = client.post("/subscribe", json={"strategy": "ahsct"})
    assert feed_only.status_code == 201 and feed_only.json()["state"] == "active"
    atom = client.get(urlsplit(feed_only.json()["feed"]).path + "?" + urlsplit(feed_only.json()["feed"]).query)
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
    assert client.get("/unsubscribe?token=nope").status_code == 404
    assert client.get("/subscribe/confirm?token=nope").status_code == 404


def test_settings_come_from_the_environment_or_the_home(tmp_path):
    (tmp_path / "digests.toml").write_text('smtp_host = "smtp.example.org"\nsmtp_port = 465\nsmtp_security = "ssl"\n', encoding="utf-8")
    settings = digests.DigestSettings.from_env(tmp_path, {"CUREMAP_SMTP_PORT": "2525", "CUREMAP_PUBLIC_URL": "https://map.example.org/"})
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security, settings.public_url) == (
        "smtp.example.org", 2525, "ssl", "https://map.example.org",
    )
    assert settings.missing() == ["CUREMAP_SMTP_FROM"]
    with pytest.raises(Exception, match="CUREMAP_SMTP_SECURITY"):
        digests.DigestSettings.from_env(None, {"CUREMAP_SMTP_SECURITY": "tls"})


def test_the_window_and_the_outbox_hold_on_both_stores(store_url, settings, mailbox, cli, tmp_path):
    # On PostgreSQL the horizon is read under a lock on the change log; both stores give one digest, once.
    profile = load_profile()
    store = Store(store_url)
    try:
        subscribed(store, profile, READER)
        path = tmp_path / "ms.json"
        path.write_text(json.dumps(record(MS_STUDY)), encoding="utf-8")
        assert cli("--db", store_url, "import", path).exit_code == 0
        assert digests.send_digests(store, profile, settings)["sent"] == 1
        assert digests.send_digests(store, profile, settings)["sent"] == 0
        assert [digest_ids(message) for message in mailbox.to(READER)] == [[MS_STUDY]]
    finally:
        store.close()
