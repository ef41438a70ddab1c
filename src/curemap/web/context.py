"""What every route reads: the store, the profile, a cache of whole-store aggregates, and
the token that guards the few endpoints that write."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy import func, select

from curemap.profile import Profile
from curemap.store import Store, schema


class AggregateCache:
    """Whole-store aggregates (landscape, trends, pooled evidence) computed once per version
    of the store. The version is the newest snapshot and the newest change-log row: an import
    writes a change row, a build records a snapshot, so either invalidates every entry."""

    RECHECK_SECONDS = 1.0
    """How long a read version is trusted before the store is asked again."""
    MAX_ENTRIES = 512

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._version: tuple[Any, ...] | None = None
        self._checked = 0.0
        self._values: OrderedDict[str, Any] = OrderedDict()

    def version(self) -> tuple[Any, ...]:
        """The store's current version, read at most once per :attr:`RECHECK_SECONDS`."""
        now = time.monotonic()
        if self._version is not None and now - self._checked < self.RECHECK_SECONDS:
            return self._version
        snaps, changes = schema.snapshots, schema.changes
        with self.store.connect() as conn:
            newest_snapshot = conn.execute(
                select(snaps.c.id).order_by(snaps.c.created_at.desc(), snaps.c.id).limit(1)
            ).scalar_one_or_none()
            newest_change = conn.execute(select(func.max(changes.c.id))).scalar_one_or_none()
        version = (newest_snapshot, newest_change)
        with self._lock:
            if version != self._version:
                self._values, self._version = OrderedDict(), version
            self._checked = now
        return version

    def get(self, name: str, compute: Callable[[], Any]) -> Any:
        """The cached value of ``name`` for the current version, computing it if missing.
        The least recently used entries go beyond :attr:`MAX_ENTRIES`."""
        version = self.version()
        with self._lock:
            if name in self._values:
                self._values.move_to_end(name)
                return self._values[name]
        value = compute()
        with self._lock:
            if version == self._version:
                self._values[name] = value
                while len(self._values) > self.MAX_ENTRIES:
                    self._values.popitem(last=False)
        return value

    def peek(self, name: str) -> Any:
        """The cached value of ``name`` for the current version, or None."""
        self.version()
        with self._lock:
            return self._values.get(name)

    def put(self, name: str, value: Any) -> None:
        self.get(name, lambda: value)


@dataclass
class WebContext:
    store: Store
    profile: Profile
    token: str | None = None
    cache: AggregateCache = field(init=False)

    def __post_init__(self) -> None:
        self.cache = AggregateCache(self.store)


def web_context(request: Request) -> WebContext:
    """FastAPI dependency: the app's context."""
    return request.app.state.curemap
