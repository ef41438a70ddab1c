"""``curemap doctor``: a deployment's configuration checked the way the living service will
use it, each problem with what to fix. It reads and never changes the store (no migration)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from curemap.errors import CuremapError
from curemap.service.lock import Clock, iso, utc_now
from curemap.service.runs import update_status
from curemap.service.scheduler import parse_every, words
from curemap.store import Store, schema, staging
from curemap.store.migrations import MIGRATIONS, applied
from curemap.store.store import DB_FILENAME, default_url, driver_url

START_WATCH = "start `curemap watch --every 12h` beside the server (deploy/curemap-watch.service), or serve with --update-every 12h"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_deployment(home: Path, db: str | None, *, env: Mapping[str, str] = os.environ, clock: Clock = utc_now) -> list[Check]:
    """Every check, in the order a deployment needs them; later store checks need the earlier."""
    checks = _store_checks(home, db, env, clock)
    checks.append(_report_folder(home / "report"))
    return checks + _mail(home, env)


def _store_checks(home: Path, db: str | None, env: Mapping[str, str], clock: Clock) -> list[Check]:
    url = db or default_url(home)
    shown = make_url(driver_url(url)).render_as_string(hide_password=True)
    if db is None and not (home / DB_FILENAME).is_file():
        return [Check("store", False, f"no store in {home}", f"build one: curemap --home {home} build --offline (or point --db / CUREMAP_DB at the deployment's database)")]
    try:
        engine = create_engine(driver_url(url))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        done = applied(engine)
    except Exception as exc:  # any driver failure: say which, without the password
        problem = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [Check("store", False, f"cannot reach the store at {shown} ({problem})",
                      "check the URL (--db or CUREMAP_DB), that the database server runs and that it accepts this user")]
    engine.dispose()
    checks = [Check("store", True, f"reachable at {shown}")]
    known = [name for name, _ in MIGRATIONS]
    pending, unknown = [n for n in known if n not in done], [n for n in done if n not in known]
    if unknown:
        checks.append(Check("migrations", False, f"migrated by a newer curemap ({', '.join(unknown)})", "upgrade curemap on this machine"))
        return checks
    if pending:
        checks.append(Check("migrations", False, f"{len(pending)} migrations not applied ({', '.join(pending)})",
                            f"open the store once with this version, as a user allowed to create tables: curemap --db {shown} status"))
        return checks
    checks.append(Check("migrations", True, f"at {known[-1]}"))
    store = Store(url)
    try:
        status = update_status(store, clock)
        checks += [_map(store), _schedule(status, env, clock), _last_update(status), *_staging(store)]
    finally:
        store.close()
    return checks


def _map(store: Store) -> Check:
    with store.connect() as conn:
        snapshots = conn.execute(select(func.count()).select_from(schema.snapshots)).scalar_one()
    if not snapshots:
        return Check("map", False, "the store holds no snapshot: nothing to serve yet", "build it: curemap build --offline, then let curemap watch update it")
    return Check("map", True, f"{store.count_studies():,} studies, {snapshots:,} snapshots")


def _staging(store: Store) -> list[Check]:
    """A PostgreSQL store: partitions staged by builds that stopped before loading them."""
    if store.engine.dialect.name != "postgresql":
        return []
    with store.connect() as conn:
        left = staging.left_behind(conn)
    if not left:
        return [Check("staging", True, "no partition left staged")]
    return [Check("staging", False, f"{len(left)} partitions staged by builds that stopped before loading them, the oldest on {iso(left[0][1])}",
                  "the next `curemap build --engine dask` drops them")]


def _schedule(status: dict[str, Any], env: Mapping[str, str], clock: Clock) -> Check:
    configured = env.get("CUREMAP_UPDATE_EVERY")
    if configured:
        try:
            parse_every(configured)
        except CuremapError as exc:
            return Check("schedule", False, f"CUREMAP_UPDATE_EVERY: {exc}", "set it like CUREMAP_UPDATE_EVERY=12h")
    if status["next_run_at"] is None:
        return Check("schedule", False, "no scheduler has run against this store", START_WATCH)
    every = timedelta(seconds=status["every_seconds"] or 0)
    overdue = datetime.fromisoformat(status["next_run_at"]) + max(every, timedelta(hours=1))
    if not status["running"] and iso(overdue) < iso(clock()):
        return Check("schedule", False, f"the update due at {status['next_run_at']} never started: no scheduler is running", START_WATCH)
    return Check("schedule", True, f"every {words(every)}; " + ("an update is running now" if status["running"] else f"next at {status['next_run_at']}"))


def _last_update(status: dict[str, Any]) -> Check:
    failure, success = status["last_failure"], status["last_success"]
    if failure and (success is None or failure["at"] > success):
        return Check("updates", False, f"the last update failed at {failure['at']} ({failure['step']}: {failure['error']})",
                     "see /status; check that this machine reaches the sources (a proxy needs HTTPS_PROXY), then run curemap watch --once")
    return Check("updates", True, f"last complete update {success}" if success else "no update has run yet")


def _report_folder(folder: Path) -> Check:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("report", False, f"cannot write report editions into {folder} ({(exc.strerror or str(exc)).lower()})",
                     "make it writable by the user running curemap watch, or choose another --home")
    return Check("report", True, f"{folder} is writable")


def _mail(home: Path, env: Mapping[str, str]) -> list[Check]:
    """The digests' SMTP server answers and accepts the login, when digests are configured
    (their settings are :class:`curemap.service.digests.DigestSettings`; none without digests)."""
    try:
        from curemap.service import digests
    except ImportError:
        return []
    try:
        settings = digests.DigestSettings.from_env(home, env)
    except CuremapError as exc:
        return [Check("digests", False, str(exc), "correct that setting")]
    names = [variable for name, variable in digests.SETTINGS.items() if name in digests.REQUIRED]
    if not any(getattr(settings, name) for name in digests.REQUIRED):
        return [Check("digests", True, f"not configured ({', '.join(names)} unset): no digests are mailed")]
    if settings.missing():
        return [Check("digests", False, f"half configured: {', '.join(settings.missing())} unset",
                      f"set them in the environment or {home / digests.CONFIG_FILE}, or unset the others to turn digests off")]
    try:
        digests._connect(settings).quit()
    except CuremapError as exc:
        return [Check("smtp", False, str(exc), "check that this machine reaches the mail server and the login is right")]
    return [Check("smtp", True, f"{settings.smtp_host}:{settings.smtp_port} answers and accepts the login")]
