"""What scheduled updates did: each step of each attempt as a row (a source's harvest, the
map's enrichment and snapshot, the report edition) with how it ended, and the status built
from them for ``/status``, ``/api/status`` and ``curemap doctor``."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, insert, select, update

from curemap.service.lock import Clock, iso, lock_row, utc_now
from curemap.store import Store, schema
from curemap.store.store import canonical_json

MAP, REPORT = "map", "report"
"""The steps after the harvests: enrich and record a snapshot; write the report edition."""

FAILED = ("failed", "interrupted")


def start_step(store: Store, *, run: str, attempt: int, step: str, owner: str, clock: Clock = utc_now) -> int:
    runs = schema.update_runs
    with store.engine.begin() as conn:
        return conn.execute(
            insert(runs).values(run=run, attempt=attempt, step=step, owner=owner, started_at=iso(clock()), outcome="running")
        ).inserted_primary_key[0]


def finish_step(
    store: Store,
    step_id: int,
    *,
    error: str | None = None,
    details: dict[str, Any] | None = None,
    outcome: str | None = None,
    clock: Clock = utc_now,
) -> None:
    """End a step: ``ok``, or ``failed`` (or ``outcome``) with the error people read on the status page."""
    runs = schema.update_runs
    with store.engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == step_id)
            .values(
                finished_at=iso(clock()),
                outcome=outcome or ("failed" if error else "ok"),
                error=error,
                details=canonical_json(details) if details is not None else None,
            )
        )


def last_success(store: Store) -> str | None:
    """When the last complete update (its report edition written) finished."""
    runs = schema.update_runs
    with store.connect() as conn:
        return conn.execute(
            select(func.max(runs.c.finished_at)).where(runs.c.step == REPORT, runs.c.outcome == "ok")
        ).scalar_one_or_none()


def update_status(store: Store, clock: Clock = utc_now) -> dict[str, Any]:
    """The scheduler's state: who runs an update now, when the next one is due, and per step
    its last success and last failure (with the error)."""
    runs = schema.update_runs
    newest = (
        select(func.max(runs.c.id))
        .where(runs.c.outcome.in_(("ok", "running", *FAILED)))
        .group_by(runs.c.step, runs.c.outcome)
    )
    with store.connect() as conn:
        rows = conn.execute(select(runs).where(runs.c.id.in_(newest)).order_by(runs.c.id)).all()
    steps: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = steps.setdefault(row.step, {"last_success": None, "last_failure": None, "running_since": None})
        if row.outcome == "ok":
            entry["last_success"] = {"at": row.finished_at, "details": json.loads(row.details) if row.details else None}
        elif row.outcome == "running":
            entry["running_since"] = row.started_at
        else:  # rows come oldest first, so an interruption after a failure wins
            entry["last_failure"] = {"at": row.finished_at, "error": row.error, "outcome": row.outcome}
    lock = lock_row(store) or {}
    running = lock.get("owner") is not None and (lock.get("expires_at") or "") >= iso(clock())
    failures = [(entry["last_failure"]["at"], step, entry["last_failure"]["error"]) for step, entry in steps.items() if entry["last_failure"]]
    last_failure = max(failures, default=None)
    return {
        "running": running,
        "holder": {key: lock[key] for key in ("owner", "taken_at", "heartbeat_at", "expires_at")} if running else None,
        "next_run_at": lock.get("next_run_at"),
        "every_seconds": lock.get("every_seconds"),
        "last_success": last_success(store),
        "last_failure": {"at": last_failure[0], "step": last_failure[1], "error": last_failure[2]} if last_failure else None,
        "steps": steps,
    }
