"""Digests: subscriptions to a slice of the map (a strategy, a group, a country or any saved
search of ``/api/studies``), mailed through an SMTP server after double opt-in, and as a
per-subscription Atom feed behind a secret token. Only MS studies, in plain words, each with
its registry link; an address is kept only to send to, never logged, and erased on
unsubscribing (or when a subscription is left unconfirmed for :data:`CONFIRM_DAYS`).

**Exactly once.** A digest covers the change-log rows after its subscription's
``after_change`` up to a horizon read when the run starts. One transaction moves
``after_change`` to the horizon (compare-and-set on its old value) and writes the digest into
the outbox (``deliveries``, unique per subscription and window), so a rerun, or a second run
at the same moment, finds nothing new to queue. Sending is apart: a run claims a delivery
(compare-and-set ``pending`` → ``sending``, committed), mails it with the delivery's id as
its Message-ID, and marks it ``sent``. A crash between two sends leaves the next delivery
pending for the next run: nothing lost, nothing sent twice. The one gap no SMTP client can
close is "the server accepted the mail, the process died before marking it sent": a later run
takes the lapsed claim over (after :data:`SEND_LEASE`) and sends the same message again, same
Message-ID and content, which mail systems recognise as one message. We chose that over
dropping it: a lost digest cannot be recovered, a repeated Message-ID is collapsed.

The change log's ids follow commit order: SQLite has one writer, and on PostgreSQL the horizon
is read under a SHARE lock on ``changes``, which waits for every transaction still writing to
it, so no row below the horizon can commit later.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import smtplib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, text, update

from curemap.errors import InputError, MailError, about
from curemap.profile import Profile
from curemap.store import Store, schema
from curemap.web.query import StudyFilters, study_conditions, validate_study_filters
from curemap.web.rendering import TEMPLATES
from curemap.wording import REGISTRY_NAMES, citation_kind, citation_label, citation_url, phase_words, status_words

logger = logging.getLogger("curemap.digests")

SETTINGS = {
    "smtp_host": "CUREMAP_SMTP_HOST",
    "smtp_port": "CUREMAP_SMTP_PORT",
    "smtp_user": "CUREMAP_SMTP_USER",
    "smtp_password": "CUREMAP_SMTP_PASSWORD",
    "smtp_from": "CUREMAP_SMTP_FROM",
    "smtp_security": "CUREMAP_SMTP_SECURITY",
    "public_url": "CUREMAP_PUBLIC_URL",
    "items_per_section": "CUREMAP_DIGEST_ITEMS",
}
"""Each digest setting and the environment variable that sets it; ``HOME/digests.toml`` may
set the same ones by their short names (``smtp_host = "smtp.example.org"``)."""
REQUIRED = ("smtp_host", "smtp_from", "public_url")
CONFIG_FILE = "digests.toml"
SECURITIES = ("starttls", "ssl", "none")

SEND_LEASE = timedelta(minutes=10)
"""How long a claimed delivery is left to the run that claimed it (far beyond one SMTP
exchange with :data:`SMTP_TIMEOUT`) before another run takes it over."""
SMTP_TIMEOUT = 60
CONFIRM_DAYS = 7
"""A subscription left unconfirmed this long is deleted, address and all."""
FEED_ENTRIES = 50

SECTIONS = (
    ("added", "New on the map"),
    ("status_changed", "Status changes"),
    ("results_posted", "Results posted"),
    ("other", "Other updates"),
)
"""A digest's sections in order, each keyed by the change-log kind it gathers (``other``: the rest)."""

_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+\.[^@\s<>()\[\],;:\"\\.]+")


@dataclass(frozen=True)
class DigestSettings:
    """Where digests are mailed from and through, and the address their links point at."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_security: str = "starttls"  # starttls, ssl (implicit TLS, port 465) or none
    public_url: str | None = None  # the site's address as subscribers reach it, for links
    items_per_section: int = 10

    @classmethod
    def from_env(cls, home: Path | None = None, environ: Mapping[str, str] = os.environ) -> DigestSettings:
        """Each setting from its variable in :data:`SETTINGS`, else from ``HOME/digests.toml``
        (``home``, by default the one ``CUREMAP_HOME`` names, if any), else its default."""
        values: dict[str, Any] = {}
        home = home or (Path(environ["CUREMAP_HOME"]) if environ.get("CUREMAP_HOME") else None)
        path = home / CONFIG_FILE if home is not None else None
        if path is not None and path.is_file():
            with about(str(path)):
                values.update(tomllib.loads(path.read_text(encoding="utf-8")))
            unknown = sorted(set(values) - set(SETTINGS))
            if unknown:
                raise InputError(f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(SETTINGS)}")
        values.update({name: environ[variable] for name, variable in SETTINGS.items() if environ.get(variable)})
        return cls(**{f.name: _setting(f.name, values[f.name]) for f in fields(cls) if f.name in values})

    def missing(self) -> list[str]:
        """The variables of required settings left unset: digests cannot be mailed without them."""
        return [SETTINGS[name] for name in REQUIRED if not getattr(self, name)]


def _setting(name: str, value: Any) -> Any:
    """A setting's value checked and typed; a bad one names its variable."""
    if name in ("smtp_port", "items_per_section"):
        if not str(value).isdigit() or int(value) < 1:
            raise InputError(f"{SETTINGS[name]}: {value!r} is not a positive whole number")
        return int(value)
    value = str(value).strip()
    if name == "smtp_security" and value not in SECURITIES:
        raise InputError(f"{SETTINGS[name]}: {value!r} is not one of {', '.join(SECURITIES)}")
    if name == "public_url":
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"{SETTINGS[name]}: {value!r} is not an http(s) address such as https://map.example.org")
        return value.rstrip("/")
    return value


@dataclass(frozen=True)
class Subscription:
    """A subscription as the pages and mails use it; the address never leaves the store in it."""

    id: str
    state: str
    filters: StudyFilters
    mailed: bool  # has an address (a feed-only subscription has none)
    confirm_token: str
    unsubscribe_token: str
    feed_token: str
    after_change: int

    @classmethod
    def of(cls, row: Any) -> Subscription:
        return cls(
            row.id, row.state, stored_filters(row.filters), row.email is not None, row.confirm_token,
            row.unsubscribe_token, row.feed_token, row.after_change,
        )


def stored_filters(text_: str) -> StudyFilters:
    """A subscription's saved search back from its JSON (the parameters of ``/api/studies``)."""
    params = json.loads(text_)
    return StudyFilters(**{name: params[name] == "true" if name in ("curative", "ms") else params[name] for name in params})


def subscription_filters(profile: Profile, filters: StudyFilters) -> StudyFilters:
    """The filters checked as ``/api/studies`` checks them, narrowed to MS studies: a digest
    never carries another disease's record."""
    if filters.ms is False:
        raise InputError("ms: digests carry only studies about MS; leave ms out")
    return validate_study_filters(profile, replace(filters, ms=True))


def checked_address(email: str) -> str:
    """The address if it looks deliverable; the error never repeats it."""
    address = email.strip()
    if len(address) > 254 or not _ADDRESS.fullmatch(address):
        raise InputError("email: not an e-mail address (name@example.org)")
    return address


def _new_id() -> str:
    return secrets.token_hex(16)


def _horizon(conn: Connection) -> int:
    """The newest change-log row, read so that none below it can still commit (see above)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE changes IN SHARE MODE"))
    return conn.execute(select(func.coalesce(func.max(schema.changes.c.id), 0))).scalar_one()


# -- subscribing -------------------------------------------------------------------


def subscribe(store: Store, profile: Profile, filters: StudyFilters, email: str | None) -> Subscription:
    """A new subscription: with an address, pending until its confirmation mail (queued in
    the same transaction) is answered; without one, a feed at once."""
    filters = subscription_filters(profile, filters)
    address = checked_address(email) if email and email.strip() else None
    now = store.clock()
    subs = schema.subscriptions
    row = {
        "id": _new_id(),
        "email": address,
        "filters": json.dumps(filters.params(), sort_keys=True),
        "state": "pending" if address else "active",
        "confirm_token": secrets.token_urlsafe(24),
        "unsubscribe_token": secrets.token_urlsafe(24),
        "feed_token": secrets.token_urlsafe(24),
        "after_change": 0,
        "created_at": now,
        "confirmed_at": None if address else now,
    }
    with store.engine.begin() as conn:
        conn.execute(insert(subs).values(**row))
        if address:
            _queue(conn, row["id"], "confirmation", 0, 0, [], now)
        created = conn.execute(select(subs).where(subs.c.id == row["id"])).one()
    return Subscription.of(created)


def _queue(conn: Connection, subscription_id: str, kind: str, after: int, through: int, items: list[dict], now: str) -> str:
    delivery_id = _new_id()
    conn.execute(
        insert(schema.deliveries).values(
            id=delivery_id, subscription_id=subscription_id, kind=kind, after_change=after, through_change=through,
            entries=json.dumps(items), state="pending", attempts=0, created_at=now,
        )
    )
    return delivery_id


def confirm(store: Store, token: str) -> Subscription | None:
    """Confirm the subscription whose confirmation link this is: its digests start with what
    changes from now on. Idempotent; an unsubscribed subscription stays so. None: no such link."""
    subs = schema.subscriptions
    with store.engine.begin() as conn:
        row = conn.execute(select(subs).where(subs.c.confirm_token == token)).first()
        if row is None:
            return None
        if row.state == "pending":
            conn.execute(
                update(subs)
                .where(subs.c.id == row.id, subs.c.state == "pending")
                .values(state="active", confirmed_at=store.clock(), after_change=_horizon(conn))
            )
            row = conn.execute(select(subs).where(subs.c.id == row.id)).one()
    return Subscription.of(row)


def unsubscribe(store: Store, token: str) -> Subscription | None:
    """End the subscription whose unsubscribe link this is: its address is erased and mails
    not yet sent are cancelled. Idempotent. None: no such link."""
    subs, dl = schema.subscriptions, schema.deliveries
    with store.engine.begin() as conn:
        row = conn.execute(select(subs).where(subs.c.unsubscribe_token == token)).first()
        if row is None:
            return None
        if row.state != "unsubscribed":
            conn.execute(update(subs).where(subs.c.id == row.id).values(state="unsubscribed", email=None, unsubscribed_at=store.clock()))
            conn.execute(update(dl).where(dl.c.subscription_id == row.id, dl.c.state.in_(("pending", "sending"))).values(state="cancelled"))
            row = conn.execute(select(subs).where(subs.c.id == row.id)).one()
    return Subscription.of(row)


def active_subscription(store: Store, feed_token: str) -> Subscription | None:
    """The active subscription a feed token belongs to."""
    subs = schema.subscriptions
    with store.engine.connect() as conn:
        row = conn.execute(select(subs).where(subs.c.feed_token == feed_token, subs.c.state == "active")).first()
    return Subscription.of(row) if row else None


def delivered_digest(store: Store, feed_token: str, delivery_id: str) -> list[dict[str, Any]] | None:
    """Every item of one digest, for the page its mail links to ("and 12 more")."""
    subs, dl = schema.subscriptions, schema.deliveries
    with store.engine.connect() as conn:
        items = conn.execute(
            select(dl.c.entries)
            .join(subs, subs.c.id == dl.c.subscription_id)
            .where(dl.c.id == delivery_id, dl.c.kind == "digest", subs.c.feed_token == feed_token, subs.c.state == "active")
        ).scalar()
    return None if items is None else json.loads(items)


def forget_unconfirmed(store: Store) -> int:
    """Delete subscriptions left unconfirmed for :data:`CONFIRM_DAYS`, their addresses with them."""
    subs, dl = schema.subscriptions, schema.deliveries
    before = (datetime.fromisoformat(store.clock()) - timedelta(days=CONFIRM_DAYS)).isoformat(timespec="seconds")
    stale = select(subs.c.id).where(subs.c.state == "pending", subs.c.created_at < before)
    with store.engine.begin() as conn:
        conn.execute(delete(dl).where(dl.c.subscription_id.in_(stale)))
        return conn.execute(delete(subs).where(subs.c.state == "pending", subs.c.created_at < before)).rowcount


# -- what a digest says --------------------------------------------------------------


def matching_changes(
    store: Store, profile: Profile, filters: StudyFilters, after: int, through: int | None = None, newest: int | None = None
) -> list[Any]:
    """Change-log rows after ``after`` (up to ``through``) of the MS studies the filters
    match, oldest first; or, with ``newest``, that many of the newest."""
    ch, st = schema.changes, schema.studies
    where = [ch.c.id > after, *study_conditions(profile, filters, store.engine.dialect.name)]
    if through is not None:
        where.append(ch.c.id <= through)
    query = select(
        ch.c.id, ch.c.record_id, ch.c.kind, ch.c.field, ch.c.old_value, ch.c.new_value, ch.c.detected_at,
        st.c.brief_title, st.c.phase, st.c.status, st.c.start_date,
    ).join(st, st.c.id == ch.c.record_id).where(*where)
    with store.connect() as conn:
        if newest is None:
            return conn.execute(query.order_by(ch.c.id)).all()
        return list(reversed(conn.execute(query.order_by(ch.c.id.desc()).limit(newest)).all()))


def _section(kind: str) -> str:
    return kind if kind in ("added", "status_changed", "results_posted") else "other"


def digest_items(rows: list[Any], *, grouped: bool = True) -> list[dict[str, Any]]:
    """The items change rows make, in plain words: one per study and section, or with
    ``grouped`` false one per change (a feed's entries). Grouped, a study new to the map is
    only that, and results first posted are not also "updated"."""
    added = {row.record_id for row in rows if row.kind == "added"} if grouped else set()
    posted = {row.record_id for row in rows if row.kind == "results_posted"} if grouped else set()
    groups: dict[Any, list[Any]] = {}
    for row in rows:
        section = _section(row.kind)
        if (row.record_id in added and section != "added") or (row.record_id in posted and row.kind == "results_updated"):
            continue
        groups.setdefault((section, row.record_id) if grouped else row.id, []).append(row)
    items = []
    for changes in groups.values():
        first, last = changes[0], changes[-1]
        items.append(
            {
                "section": _section(first.kind),
                "record_id": first.record_id,
                "label": citation_label(first.record_id),
                "title": first.brief_title or "Untitled study",
                "text": _sentence(_section(first.kind), changes),
                "url": citation_url(first.record_id),
                "change": last.id,
                "detected_at": last.detected_at,
            }
        )
    return items


def _value(stored: str | None) -> Any:
    return json.loads(stored) if stored else None


def _when(value: Any) -> str:
    """A registry date as a person writes it: ``2024-03`` → ``March 2024``."""
    text_ = str(value or "")
    for form, shown in (("%Y-%m-%d", "{d.day} {d:%B %Y}"), ("%Y-%m", "{d:%B %Y}"), ("%Y", "{d:%Y}")):
        try:
            return shown.format(d=datetime.strptime(text_, form))
        except ValueError:
            continue
    return text_ or "no date"


_DATE_FIELDS = {
    "start_date": "Start date",
    "primary_completion_date": "Expected end of the main measurements",
    "completion_date": "Expected end of the study",
}


def _sentence(section: str, changes: list[Any]) -> str:
    """What happened to one study, in plain words."""
    first, last = changes[0], changes[-1]
    if section == "added":
        phase = phase_words(first.phase) if first.phase and first.phase != "not_applicable" else None
        start = f"; start date {_when(first.start_date)}" if first.start_date else ""
        return f"Newly on the map: a {phase + ' ' if phase else ''}study, {status_words(first.status)}{start}."
    if section == "results_posted":
        return f"Results were posted on {REGISTRY_NAMES.get(citation_kind(first.record_id), 'the registry')}."
    said: list[str] = []
    by_field: dict[str, list[Any]] = {}
    for change in changes:
        by_field.setdefault(change.field or "", []).append(change)
    for name, runs in by_field.items():
        old, new = _value(runs[0].old_value), _value(runs[-1].new_value)
        if name == "status":
            said.append(f"Now {status_words(new)} (was {status_words(old)}).")
        elif name == "why_stopped":
            said.append(f"Reason given for stopping: {new}." if new else "The reason given for stopping was removed.")
        elif name == "enrollment":
            said.append(f"Planned number of participants changed from {old or 'none given'} to {new or 'none given'}.")
        elif name in _DATE_FIELDS:
            said.append(f"{_DATE_FIELDS[name]} moved from {_when(old)} to {_when(new)}.")
        elif last.kind == "results_updated":
            said.append("Its posted results were updated.")
        else:
            said.append(f"Its registry entry changed ({name.replace('_', ' ') or 'details'}).")
    return " ".join(dict.fromkeys(said))


def describe(profile: Profile, filters: StudyFilters) -> str:
    """What a subscription follows, in words: "MS studies of the strategy X in France"."""
    parts = []
    if filters.strategy:
        parts.append(f"the strategy {profile.strategy(filters.strategy).name}")
    if filters.group:
        parts.append(f"the group {profile.group(filters.group).name}")
    if filters.country:
        parts.append(f"with a site in {filters.country}")
    if filters.q:
        parts.append(f"containing “{filters.q}”")
    rest = {k: v for k, v in filters.params().items() if k not in ("strategy", "group", "country", "q", "ms")}
    if rest:
        parts.append("where " + ", ".join(f"{k} is {v}" for k, v in rest.items()))
    return "MS studies" + (": " + "; ".join(parts) if parts else ", all of them")


# -- queueing and sending ------------------------------------------------------------


def _due(store: Store, profile: Profile) -> tuple[int, list[tuple[Any, list[dict[str, Any]]]]]:
    """The horizon, and each confirmed subscriber with changes before it with their digest's items."""
    subs = schema.subscriptions
    with store.engine.begin() as conn:
        horizon = _horizon(conn)
        due = conn.execute(
            select(subs.c.id, subs.c.filters, subs.c.after_change)
            .where(subs.c.state == "active", subs.c.email.is_not(None), subs.c.after_change < horizon)
            .order_by(subs.c.created_at, subs.c.id)
        ).all()
    return horizon, [
        (sub, digest_items(matching_changes(store, profile, stored_filters(sub.filters), sub.after_change, horizon))) for sub in due
    ]


def queue_digests(store: Store, profile: Profile) -> int:
    """Write each confirmed subscriber's digest of the changes since their last one into the
    outbox, moving their window in the same transaction; returns how many were queued."""
    subs = schema.subscriptions
    horizon, due = _due(store, profile)
    queued = 0
    for sub, items in due:
        with store.engine.begin() as conn:
            moved = conn.execute(
                update(subs)
                .where(subs.c.id == sub.id, subs.c.state == "active", subs.c.after_change == sub.after_change)
                .values(after_change=horizon)
            ).rowcount
            if moved and items:
                _queue(conn, sub.id, "digest", sub.after_change, horizon, items, store.clock())
                queued += 1
    return queued


def send_outbox(store: Store, profile: Profile, settings: DigestSettings, *, subscription: str | None = None) -> dict[str, int]:
    """Mail what the outbox holds (or holds for one ``subscription``), each claimed before it is sent
    and marked sent after; a delivery whose subscriber has left is cancelled instead."""
    dl = schema.deliveries
    now = store.clock()
    lapsed = (datetime.fromisoformat(now) - SEND_LEASE).isoformat(timespec="seconds")
    waiting = or_(dl.c.state == "pending", and_(dl.c.state == "sending", dl.c.claimed_at < lapsed))
    with store.engine.connect() as conn:
        due = conn.execute(
            select(dl.c.id, dl.c.state, dl.c.claimed_at)
            .where(waiting, *([dl.c.subscription_id == subscription] if subscription else []))
            .order_by(dl.c.created_at, dl.c.id)
        ).all()
    counts = {"sent": 0, "failed": 0, "cancelled": 0}
    mailer = _Mailer(settings)
    try:
        for claim in due:
            found = _claim(store, claim, now)
            if found is None:
                continue  # another run took it
            delivery, sub = found
            wanted = "pending" if delivery.kind == "confirmation" else "active"
            if sub.state != wanted or sub.email is None:
                _finish(store, delivery.id, "cancelled")
                counts["cancelled"] += 1
                continue
            message = _message(profile, settings, delivery, sub)
            try:
                mailer.send(message)
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code < 500 or isinstance(exc, smtplib.SMTPSenderRefused):  # every mail would meet it
                    _finish(store, delivery.id, "pending")
                    raise MailError(
                        f"the SMTP server did not take delivery {delivery.id} ({exc.smtp_code}); "
                        "check CUREMAP_SMTP_FROM, or run again later"
                    ) from None
                _finish(store, delivery.id, "failed")
                logger.warning("delivery %s refused by the SMTP server (%s)", delivery.id, exc.smtp_code)
                counts["failed"] += 1
                continue
            except smtplib.SMTPRecipientsRefused:
                _finish(store, delivery.id, "failed")
                logger.warning("delivery %s: the SMTP server refused its recipient", delivery.id)
                counts["failed"] += 1
                continue
            except (smtplib.SMTPException, OSError) as exc:
                _finish(store, delivery.id, "pending")
                raise MailError(f"lost the SMTP server while sending delivery {delivery.id} ({type(exc).__name__}); run again") from None
            _finish(store, delivery.id, "sent")
            logger.info("delivery %s sent (%s)", delivery.id, delivery.kind)
            counts["sent"] += 1
    finally:
        mailer.close()
    return counts


def _claim(store: Store, claim: Any, now: str) -> tuple[Any, Any] | None:
    """Take a delivery for this run (compare-and-set on the state it was read in), with its
    subscription as it is now; None when another run took it first."""
    dl, subs = schema.deliveries, schema.subscriptions
    with store.engine.begin() as conn:
        taken = conn.execute(
            update(dl)
            .where(dl.c.id == claim.id, dl.c.state == claim.state, dl.c.claimed_at == claim.claimed_at)
            .values(state="sending", claimed_at=now, attempts=dl.c.attempts + 1)
        ).rowcount
        if not taken:
            return None
        delivery = conn.execute(select(dl).where(dl.c.id == claim.id)).one()
        return delivery, conn.execute(select(subs).where(subs.c.id == delivery.subscription_id)).one()


def _finish(store: Store, delivery_id: str, state: str) -> None:
    dl = schema.deliveries
    values = {"state": state, "sent_at": store.clock()} if state == "sent" else {"state": state}
    with store.engine.begin() as conn:
        conn.execute(update(dl).where(dl.c.id == delivery_id, dl.c.state == "sending").values(**values))


class _Mailer:
    """One SMTP connection for a run, opened at its first mail."""

    def __init__(self, settings: DigestSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = _connect(self.settings)
        self.smtp.send_message(message)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()


def _connect(settings: DigestSettings) -> smtplib.SMTP:
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        if settings.smtp_security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT)
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT)
            if settings.smtp_security == "starttls":
                smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
    except smtplib.SMTPAuthenticationError:
        raise MailError(f"the SMTP server {where} refused the login; check CUREMAP_SMTP_USER and CUREMAP_SMTP_PASSWORD") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(
            f"cannot reach the SMTP server {where} ({type(exc).__name__}); check CUREMAP_SMTP_HOST, "
            "CUREMAP_SMTP_PORT and CUREMAP_SMTP_SECURITY"
        ) from None
    return smtp


def links(base: str, sub: Any) -> dict[str, str]:
    """The addresses a subscriber's mails and pages link to, under the site's ``base``."""
    return {
        "confirm": f"{base}/subscribe/confirm?token={quote(sub.confirm_token)}",
        "unsubscribe": f"{base}/unsubscribe?token={quote(sub.unsubscribe_token)}",
        "feed": f"{base}/digests/feed.atom?token={quote(sub.feed_token)}",
    }


def digest_view(items: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The digest's sections, each with at most ``limit`` items and how many more it holds."""
    sections = []
    for key, heading in SECTIONS:
        chosen = [item for item in items if item["section"] == key]
        if chosen:
            shown = chosen if limit is None else chosen[:limit]
            sections.append({"heading": heading, "items": shown, "more": len(chosen) - len(shown)})
    return sections


def _message(profile: Profile, settings: DigestSettings, delivery: Any, sub: Any) -> EmailMessage:
    """The mail for a delivery: plain text and HTML, with the delivery's id as its Message-ID
    (a resend is the same message) and, on digests, a one-click List-Unsubscribe."""
    urls = links(settings.public_url or "", sub)
    about_ = describe(profile, stored_filters(sub.filters))
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = sub.email
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{delivery.id}@{urlsplit(settings.public_url).hostname}>"
    message["Auto-Submitted"] = "auto-generated"
    if delivery.kind == "confirmation":
        message["Subject"] = "Curemap: confirm your digest subscription"
        context: dict[str, Any] = {"kind": "confirmation", "about": about_, "urls": urls, "days": CONFIRM_DAYS}
    else:
        items = json.loads(delivery.entries)
        urls["rest"] = f"{settings.public_url}/digests/{delivery.id}?token={quote(sub.feed_token)}"
        message["Subject"] = f"Curemap digest: {len(items)} new or changed MS {'study' if len(items) == 1 else 'studies'}"
        message["List-Unsubscribe"] = f"<{urls['unsubscribe']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        context = {"kind": "digest", "about": about_, "urls": urls, "sections": digest_view(items, settings.items_per_section)}
    message.set_content(_plain(context))
    message.add_alternative(TEMPLATES.get_template("digest_mail.html").render(**context), subtype="html")
    return message


def _plain(context: dict[str, Any]) -> str:
    """The mail's plain-text part: the same content as its HTML part."""
    urls = context["urls"]
    if context["kind"] == "confirmation":
        return (
            f"Someone, hopefully you, asked Curemap to mail this address a digest of {context['about']}.\n\n"
            f"Confirm it here (nothing will be sent until you do):\n{urls['confirm']}\n\n"
            f"If it was not you, ignore this mail: the request and this address are deleted after {context['days']} days.\n"
        )
    lines = [f"What is new or changed since your last digest ({context['about']}).", ""]
    for section in context["sections"]:
        lines += [section["heading"], "-" * len(section["heading"])]
        for item in section["items"]:
            lines += [f"* {item['label']}: {item['title']}", f"  {item['text']}", f"  {item['url'] or ''}".rstrip()]
        if section["more"]:
            lines.append(f"… and {section['more']} more: {urls['rest']}")
        lines.append("")
    lines += [f"The same as a feed: {urls['feed']}", f"Unsubscribe (one click): {urls['unsubscribe']}", ""]
    return "\n".join(lines)


def send_digests(store: Store, profile: Profile, settings: DigestSettings, *, dry_run: bool = False) -> dict[str, Any]:
    """The digest job (``curemap digest send`` and the scheduler): forget unconfirmed
    subscriptions past their time, queue each subscriber's digest, mail the outbox. With
    ``dry_run``, only count what would be queued and sent."""
    if dry_run:
        return preview(store, profile)
    missing = settings.missing()
    if missing:
        raise MailError(f"digests are not configured: set {', '.join(missing)} (or {CONFIG_FILE} in the home)")
    forgotten = forget_unconfirmed(store)
    queued = queue_digests(store, profile)
    counts = send_outbox(store, profile, settings)
    logger.info("digest run: %d queued, %d sent, %d failed, %d cancelled", queued, counts["sent"], counts["failed"], counts["cancelled"])
    return {"queued": queued, **counts, "forgotten": forgotten}


def preview(store: Store, profile: Profile) -> dict[str, Any]:
    """What a digest run would queue now (per subscription id, never an address) and the mails
    already waiting in the outbox; writes and sends nothing."""
    dl = schema.deliveries
    _, due = _due(store, profile)
    with store.engine.connect() as conn:
        waiting = conn.execute(select(func.count()).select_from(dl).where(dl.c.state.in_(("pending", "sending")))).scalar_one()
    return {"dry_run": True, "digests": [{"subscription": sub.id, "items": len(items)} for sub, items in due if items], "waiting": waiting}
