"""Scheduled updates: every interval, the live harvests (the code ``curemap update`` runs),
enrichment, a snapshot and the report edition, under the store's update lock.

A run is tried again with backoff when a step fails, until its retries are spent; the
store keeps what each committed page brought, and the report edition is written only by a
run whose every harvest succeeded, so a failure never replaces the previous edition. A
scheduler that finds another holding the lock waits for it, and skips its own run if the
other finished an update while it waited. Clocks and sleeps are injected, so tests never wait.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from curemap.console import stderr
from curemap.errors import InputError, UpdateLockLost, handled
from curemap.pipeline import LIVE_SOURCES, enrich, snapshot, update_source
from curemap.profile import Profile, load_profile
from curemap.report import FORMATS, MANIFEST, previous_snapshot, write_report
from curemap.service.lock import Clock, UpdateLock, iso, utc_now
from curemap.service.runs import MAP, REPORT, finish_step, last_success, start_step
from curemap.store import Store

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_EVERY = timedelta(minutes=1)


def parse_every(text: str) -> timedelta:
    """``12h``, ``30m``, ``1d``, ``1h30m``: an interval as people write it."""
    compact = re.sub(r"\s", "", text.lower())
    if not re.fullmatch(r"(\d+(\.\d+)?[smhd])+", compact):
        raise InputError(f"{text!r} is not an interval; write it like 12h, 30m, 1d or 1h30m")
    every = timedelta(seconds=sum(float(n) * UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smhd])", compact)))
    if every < MIN_EVERY:
        raise InputError(f"{text!r} is shorter than {MIN_EVERY.seconds // 60} minute; the registries ask not to be polled that often")
    return every


def words(delta: timedelta) -> str:
    """An interval as people read it: ``12h``, ``5m``, ``1h30m``."""
    seconds, out = int(delta.total_seconds()), ""
    for unit in "dhm":
        count, seconds = divmod(seconds, UNITS[unit])
        out += f"{count}{unit}" if count else ""
    return out + (f"{seconds}s" if seconds or not out else "")


@dataclass(frozen=True)
class Plan:
    """What a scheduler runs and how often; ``report_dir`` is where editions follow each other."""

    report_dir: Path
    every: timedelta = timedelta(hours=12)
    sources: tuple[str, ...] = tuple(LIVE_SOURCES)
    formats: tuple[str, ...] = FORMATS
    timeout: float | None = None
    retries: int = 4
    backoff: timedelta = timedelta(minutes=5)
    """The first retry's wait; each later one waits twice as long, never longer than ``every``."""
    poll: timedelta = timedelta(seconds=30)
    """How often a scheduler waiting for another's update looks at the lock again."""

    def retry_wait(self, failures: int) -> timedelta:
        return min(self.backoff * 2 ** (failures - 1), self.every)


@dataclass
class Scheduler:
    store: Store
    plan: Plan
    lock: UpdateLock = None  # type: ignore[assignment]
    clock: Clock = utc_now
    sleep: Callable[[float], None] = time.sleep
    say: Callable[[str], None] = field(default=lambda message: stderr.print(message, highlight=False, markup=False))
    profile: Profile | None = None

    def __post_init__(self) -> None:
        self.lock = self.lock or UpdateLock(self.store, clock=self.clock)
        self.profile = self.profile or load_profile()

    def run_forever(self, runs: int | None = None) -> None:
        """Run an update whenever one is due, ``runs`` times (default: until stopped). The
        first is due one interval after the last complete update, or now."""
        done = last_success(self.store)
        due = max(datetime.fromisoformat(done) + self.plan.every, self.clock()) if done else self.clock()
        count = 0
        while runs is None or count < runs:
            self.lock.plan(due, self.plan.every)
            wait = (due - self.clock()).total_seconds()
            if wait > 0:
                self.say(f"next update at {iso(due)} (every {words(self.plan.every)})")
                self.sleep(wait)
            started = self.clock()
            self.run_once()
            count += 1
            due = max(started + self.plan.every, self.clock())

    def run_once(self) -> dict[str, Any]:
        """One scheduled update, tried again with backoff until it succeeds or its retries are spent."""
        failures = 0
        while True:
            outcome = self._turn(failures + 1)
            if outcome["outcome"] != "failed":
                return outcome
            failures += 1
            if failures > self.plan.retries:
                self.say(f"update failed {failures} times ({outcome['error']}); trying again at the next scheduled run")
                return outcome
            wait = self.plan.retry_wait(failures)
            self.lock.plan(self.clock() + wait, self.plan.every)
            self.say(f"update failed ({outcome['error']}); retry {failures} of {self.plan.retries} in {words(wait)}")
            self.sleep(wait.total_seconds())

    def _turn(self, attempt: int) -> dict[str, Any]:
        """Take the lock (waiting for another scheduler's update to end), run an attempt, release."""
        began, waited, announced = self.clock(), False, None
        while (holder := self.lock.try_take()) is not None:
            if holder.owner != announced:
                self.say(f"another update is running ({holder.owner}, its lock expires {holder.expires_at}); waiting for it")
                announced = holder.owner
            waited = True
            self.sleep(self.plan.poll.total_seconds())
        with self.lock.held() as check:
            done = last_success(self.store) if waited else None
            if done and done >= iso(began):
                message = f"another scheduler finished an update at {done} while this one waited; skipping this run"
                self.say(message)
                return {"outcome": "skipped", "reason": message}
            return self._attempt(attempt, check)

    def _attempt(self, attempt: int, check: Callable[[], None]) -> dict[str, Any]:
        run = secrets.token_hex(6)
        self.say(f"update {run} (attempt {attempt}): {', '.join(self.plan.sources)}")
        failed: dict[str, str] = {}
        results: dict[str, Any] = {}
        for name in self.plan.sources:
            check()
            result, error = self._step(run, attempt, name, lambda name=name: _harvest_summary(
                update_source(self.store, name, self.profile, None, timeout=self.plan.timeout)))
            results[name] = result
            if error:
                failed[name] = error
        check()
        mapped, error = self._step(run, attempt, MAP, lambda: (enrich(self.store), snapshot(self.store))[1])
        if error:
            failed[MAP] = error
        if failed:
            return {"outcome": "failed", "run": run, "error": "; ".join(f"{step}: {e}" for step, e in failed.items()), "sources": results}
        check()
        edition, error = self._step(run, attempt, REPORT, lambda: write_edition(self.store, self.profile, self.plan.report_dir, self.plan.formats))
        if error:
            return {"outcome": "failed", "run": run, "error": f"{REPORT}: {error}", "sources": results}
        self.say(f"update {run} done: snapshot {mapped['snapshot']}, report in {self.plan.report_dir}")
        return {"outcome": "ok", "run": run, "sources": results, "snapshot": mapped["snapshot"], "report": edition}

    def _step(self, run: str, attempt: int, step: str, work: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any] | None, str | None]:
        """Run one step, recording how it ended; returns its details, or the error it failed with."""
        step_id = start_step(self.store, run=run, attempt=attempt, step=step, owner=self.lock.owner, clock=self.clock)
        try:
            details = work()
        except UpdateLockLost as exc:
            finish_step(self.store, step_id, error=str(exc), outcome="interrupted", clock=self.clock)
            raise
        except Exception as exc:
            error = str(handled(exc, step))
            finish_step(self.store, step_id, error=error, clock=self.clock)
            self.say(f"error: {step}: {error}")
            return None, error
        except BaseException:  # stopped (Ctrl-C, SIGTERM): say so rather than leave it running
            finish_step(self.store, step_id, error="interrupted: the scheduler was stopped", outcome="interrupted", clock=self.clock)
            raise
        finish_step(self.store, step_id, details=details, clock=self.clock)
        return details, None


def _harvest_summary(result: dict[str, Any]) -> dict[str, Any]:
    """What the status page shows of a harvest: counts, not the rejected records themselves."""
    return {**{key: result[key] for key in ("imported", "changed", "unchanged", "pages", "since")}, "rejected": len(result["rejected"])}


def write_edition(store: Store, profile: Profile, out: Path, formats: tuple[str, ...]) -> dict[str, Any]:
    """The report edition, compared with the one in ``out`` and put in its place file by file
    (each replaced whole, ``report.json`` last), so a reader never finds half an edition's file."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".edition-", dir=out))
    try:
        result = write_report(store, profile, staging, formats, since=previous_snapshot(out))
        for path in sorted(staging.iterdir(), key=lambda p: p.name == MANIFEST):
            os.replace(path, out / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"snapshot": result["snapshot"], "files": [str(out / Path(f).name) for f in result["files"]], "citations": result["citations"]}
