"""What every route reads: the store, the profile, a cache of whole-store aggregates and
whole responses, and the token that guards the few endpoints that write."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy import select

from curemap.profile import Profile
from curemap.store import Store, schema


@dataclass(frozen=True)
class KeptResponse:
    """A whole response as the routes sent it, to send again."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(name) + len(value) for name, value in self.headers)


class AggregateCache:
    """Whole-store aggregates (landscape, trends, pooled evidence) and whole responses, kept per
    version of the store: its write counter, which every transaction that changes what readers
    see moves (records, labels, figures, links, trials, new snapshots; ``summary.Tally``)."""

    RECHECK_SECONDS = 1.0
    """How long a read version is trusted before the store is asked again."""
    MAX_RESPONSE_BYTES = 64 * 2**20
    """Responses are kept up to this many bytes in all, the least recently used going first;
    one larger than an eighth of it is not kept, so no single page empties the cache."""

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._version: tuple[Any, ...] | None = None
        self._checked = -math.inf
        self._values: dict[str, Any] = {}
        self._computing: dict[str, threading.Lock] = {}
        self._responses: OrderedDict[str, KeptResponse] = OrderedDict()
        self._response_bytes = 0

    def version(self) -> tuple[Any, ...]:
        """The store's current version, read at most once per :attr:`RECHECK_SECONDS` (one
        row). It may read the store: call it from a worker thread."""
        now = time.monotonic()
        if self._version is not None and now - self._checked < self.RECHECK_SECONDS:
            return self._version
        with self.store.connect() as conn:
            version = tuple(conn.execute(select(schema.store_writes.c.writes)).one())
        with self._lock:
            if version != self._version:
                self._values, self._version = {}, version
                self._responses, self._response_bytes = OrderedDict(), 0
            self._checked = now
        return version

    def get(self, name: str, compute: Callable[[], Any]) -> Any:
        """The value of ``name`` for the current version, computed once however many requests
        ask for it at the same time (the rest wait for that one instead of each computing it)."""
        version = self.version()
        with self._lock:
            computing = self._computing.setdefault(name, threading.Lock())
        with computing:
            with self._lock:
                if name in self._values:
                    return self._values[name]
            value = compute()
            with self._lock:
                if version == self._version:
                    self._values[name] = value
        return value

    def fresh_version(self) -> tuple[Any, ...] | None:
        """The version if it was read within :attr:`RECHECK_SECONDS`, else None (due for a
        recheck). Never reads the store, so an event loop may call it."""
        with self._lock:
            return self._version if time.monotonic() - self._checked < self.RECHECK_SECONDS else None

    def response(self, key: str) -> KeptResponse | None:
        """The response kept for ``key``, if the version is fresh (else None). Never reads
        the store, so an event loop may call it."""
        if self.fresh_version() is None:
            return None
        with self._lock:
            kept = self._responses.get(key)
            if kept is not None:
                self._responses.move_to_end(key)
            return kept

    def keep_response(self, key: str, response: KeptResponse, version: tuple[Any, ...]) -> None:
        """Keep ``response``, made from the store at ``version``, within the byte budget."""
        if response.size > self.MAX_RESPONSE_BYTES // 8:
            return
        with self._lock:
            if version != self._version:
                return
            replaced = self._responses.pop(key, None)
            self._response_bytes += response.size - (replaced.size if replaced else 0)
            self._responses[key] = response
            while self._response_bytes > self.MAX_RESPONSE_BYTES:
                self._response_bytes -= self._responses.popitem(last=False)[1].size


@dataclass
class WebContext:
    store: Store
    profile: Profile
    token: str | None = None
    cache: AggregateCache = field(init=False)
    warmer: Any = None  # the app's curemap.web.warming.Warmer, when it has one

    def __post_init__(self) -> None:
        self.cache = AggregateCache(self.store)


async def web_context(request: Request) -> WebContext:
    """FastAPI dependency: the app's context (async: no worker thread just to fetch it)."""
    return request.app.state.curemap
