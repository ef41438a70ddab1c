"""Whole-store figures worked out as soon as the store changes, before anyone asks for them.

The server keeps its aggregates (the overview, each strategy's lists and pooled evidence, the
review) per store version (:class:`curemap.web.context.AggregateCache`), so every update throws
them away, and the first reader of each page after it waited while it was worked out again:
seconds for a large strategy's page at a million records, a minute for the review. A
:class:`Warmer` beside a serving process notices a new version within
:data:`CHECK_SECONDS` and works out every aggregate for it, one after another, through the
same cache the routes read: a reader who comes before one is ready waits for that computation
instead of starting another, and nobody else pays for it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from curemap.errors import InputError
from curemap.web import aggregates
from curemap.web.context import WebContext

logger = logging.getLogger("curemap.web")

CHECK_SECONDS = 5.0
"""How often the store's version is read (its write counter) to find out it changed."""
STOP_SECONDS = 5.0
"""How long a stopping server waits for the aggregate being worked out."""


class Warmer:
    """Works out every aggregate of :func:`curemap.web.aggregates.warm_steps` for each new
    version of the store, on a thread of its own, until :meth:`stop`."""

    def __init__(self, ctx: WebContext, every: float = CHECK_SECONDS):
        self.ctx = ctx
        self.every = every
        self.warmed: tuple[Any, ...] | None = None  # the version whose aggregates are all worked out
        self.seconds: float | None = None  # how long that took
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="curemap-warmer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the aggregate being worked out (waiting a few seconds at most: the thread
        is a daemon, so a long one, like the review at scale, ends with the process)."""
        self._stop.set()
        self._thread.join(timeout=STOP_SECONDS)

    def warm(self) -> bool:
        """Work out the current version's aggregates unless they are; False when the version
        moved on (or the warmer was stopped) before they were all ready. A step that fails is
        logged and left to the page that needs it, which reports the error itself."""
        version = self.ctx.cache.version()
        if version == self.warmed:
            return True
        started = time.perf_counter()
        for name, step in aggregates.warm_steps(self.ctx):
            if self._stop.is_set() or self.ctx.cache.version() != version:
                return False
            try:
                with self.ctx.store.reading():  # one state of the store, as a page reads it
                    step()
            except InputError as exc:  # the store cannot give it yet (a review needs a snapshot)
                logger.warning("%s is not worked out ahead of readers: %s", name, exc)
            except Exception:  # one failing aggregate must not leave the others unworked
                logger.exception("working out %s ahead of readers failed; it is worked out when a page asks for it", name)
        self.warmed, self.seconds = version, round(time.perf_counter() - started, 1)
        logger.info("aggregates of store version %s worked out in %.1f s", version, self.seconds)
        return True

    def state(self) -> dict[str, Any]:
        """Whether the pages' figures are ready for the store as it is now, and how long the
        last warm-up took (`/api/status` shows it under ``pages``)."""
        return {"ready": self.warmed is not None and self.warmed == self.ctx.cache.version(), "worked_out_in_s": self.seconds}

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.warm()
            except Exception:  # the store unreachable for a moment: try again at the next check
                logger.exception("could not read the store's version; trying again in %.0f s", self.every)
            self._stop.wait(self.every)
