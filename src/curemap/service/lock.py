"""The update lock: one row in the store, so only one scheduled update runs at a time across
every process and machine that shares the store (SQLite or PostgreSQL alike).

The row names its owner, when it last beat and when it expires. Taking it is one conditional
UPDATE in a transaction (free, expired or already ours), which both backends apply atomically:
SQLite serialises writers, PostgreSQL re-checks the condition on a row another transaction just
changed. A holder that dies stops beating and loses the lock at its expiry; whoever takes it
next marks the dead holder's unfinished steps interrupted. Times are UTC ISO strings, which
sort as they compare.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select, update

from curemap.errors import UpdateLockLost
from curemap.store import Store, schema
from curemap.store.store import upsert

NAME = "update"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A moment as the store keeps it: UTC, to the second, so strings sort as times do."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def process_name() -> str:
    """This process as a lock owner: its host and pid (to find it) and a nonce (pids repeat)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Holder:
    owner: str
    heartbeat_at: str
    expires_at: str


class UpdateLock:
    """The store's update lock as seen by ``owner``. ``ttl`` is how long the lock outlives the
    holder's last heartbeat; the holder beats every third of it (:meth:`held`)."""

    def __init__(self, store: Store, owner: str | None = None, *, ttl: timedelta = timedelta(minutes=10), clock: Clock = utc_now):
        self.store = store
        self.owner = owner or process_name()
        self.ttl = ttl
        self.clock = clock

    def try_take(self) -> Holder | None:
        """Take the lock if it is free, expired or ours; returns None when taken, else who holds it."""
        table = schema.update_lock
        now = self.clock()
        with self.store.engine.begin() as conn:
            conn.execute(upsert(conn, table).values(name=NAME).on_conflict_do_nothing(index_elements=[table.c.name]))
            taken = conn.execute(
                update(table)
                .where(table.c.name == NAME, or_(table.c.owner.is_(None), table.c.expires_at < iso(now), table.c.owner == self.owner))
                .values(owner=self.owner, taken_at=iso(now), heartbeat_at=iso(now), expires_at=iso(now + self.ttl))
            ).rowcount
            if not taken:
                return _holder(conn)
            self._interrupt_others(conn, now)
        return None

    def _interrupt_others(self, conn: Connection, now: datetime) -> None:
        """Steps a previous holder left running are over: it stopped beating, so it has stopped."""
        runs = schema.update_runs
        conn.execute(
            update(runs)
            .where(runs.c.outcome == "running", runs.c.owner != self.owner)
            .values(outcome="interrupted", finished_at=iso(now), error="interrupted: the process running it stopped before it finished")
        )

    def beat(self) -> None:
        """Extend the lock; raises :class:`UpdateLockLost` when another process holds it now."""
        table = schema.update_lock
        now = self.clock()
        with self.store.engine.begin() as conn:
            kept = conn.execute(
                update(table)
                .where(table.c.name == NAME, table.c.owner == self.owner)
                .values(heartbeat_at=iso(now), expires_at=iso(now + self.ttl))
            ).rowcount
        if not kept:
            holder = self.holder()
            raise UpdateLockLost(
                f"the update lock expired and {holder.owner if holder else 'another process'} took it; this update "
                "stopped (this process was paused, or the store answered its heartbeats too slowly)"
            )

    def release(self) -> None:
        table = schema.update_lock
        with self.store.engine.begin() as conn:
            conn.execute(
                update(table).where(table.c.name == NAME, table.c.owner == self.owner).values(owner=None, expires_at=None)
            )

    def holder(self) -> Holder | None:
        """Who holds the lock now (an expired holder holds nothing)."""
        with self.store.connect() as conn:
            found = _holder(conn)
        return found if found and found.expires_at >= iso(self.clock()) else None

    def plan(self, next_run_at: datetime, every: timedelta) -> None:
        """Record when the scheduler runs next, for /status and `curemap doctor`."""
        table = schema.update_lock
        with self.store.engine.begin() as conn:
            conn.execute(upsert(conn, table).values(name=NAME).on_conflict_do_nothing(index_elements=[table.c.name]))
            conn.execute(
                update(table)
                .where(table.c.name == NAME)
                .values(next_run_at=iso(next_run_at), every_seconds=int(every.total_seconds()))
            )

    @contextmanager
    def held(self) -> Iterator[Callable[[], None]]:
        """Hold the (already taken) lock for the block, beating in a thread every third of the
        ttl, and release it after; yields a check that raises :class:`UpdateLockLost` once a
        beat found the lock lost."""
        stop = threading.Event()
        lost: list[UpdateLockLost] = []

        def beating() -> None:
            while not stop.wait(self.ttl.total_seconds() / 3):
                try:
                    self.beat()
                except UpdateLockLost as exc:
                    lost.append(exc)
                    return
                except Exception:  # the store did not answer this time; the next beat tries again
                    continue

        def check() -> None:
            if lost:
                raise lost[0]

        beater = threading.Thread(target=beating, name="curemap-update-lock", daemon=True)
        beater.start()
        try:
            yield check
        finally:
            stop.set()
            beater.join()
            if not lost:
                self.release()


def _holder(conn: Connection) -> Holder | None:
    table = schema.update_lock
    row = conn.execute(select(table).where(table.c.name == NAME)).first()
    return Holder(row.owner, row.heartbeat_at, row.expires_at) if row and row.owner else None


def lock_row(store: Store) -> dict[str, Any] | None:
    """The lock's row as it is, for the status page."""
    table = schema.update_lock
    with store.connect() as conn:
        row = conn.execute(select(table).where(table.c.name == NAME)).first()
    return dict(row._mapping) if row else None
