"""Shared test fixtures: the real data beside the checkout, a fresh store, and the CLI in-process."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("CUREMAP_SHARED") or Path(__file__).resolve().parents[2] / "shared") / "data"
"""The real data beside the checkout (``../shared``), or where ``CUREMAP_SHARED`` points."""
CTGOV_CSV = SHARED_DATA / "ctgov" / "ctgov_ms_20250925.csv"
CTIS_CSV = SHARED_DATA / "ctis" / "ctis_ms_20250924.csv"
RAW_V2 = SHARED_DATA / "ctgov" / "raw-v2"


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)

    def json_lines(self):
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(home, capsys):
    """Run ``curemap --home HOME ARGS…`` in-process and return its exit code and output."""
    from curemap.cli import run

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        try:
            run(["--home", str(home), *map(str, args)])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return invoke


@pytest.fixture
def sleeps() -> list[float]:
    """The waits an HttpClient asked for, recorded instead of slept."""
    return []


@pytest.fixture
def open_client(monkeypatch, sleeps):
    """Open an HttpClient to a fake server the way the CLI does (through the source's URL
    variable), with the real retry logic but millisecond backoff and recorded sleeps."""
    from curemap.sources.http import HttpClient

    clients = []

    def open_(url_variable: str, base_url: str, policy) -> HttpClient:
        monkeypatch.setenv(url_variable, base_url)
        client = HttpClient(dataclasses.replace(policy(), backoff_base=0.001, timeout=5.0), sleep=sleeps.append)
        clients.append(client)
        return client

    yield open_
    for client in clients:
        client.close()


@pytest.fixture
def fast_policies(monkeypatch):
    """Shrink the waits of a connector's module-level policy for in-process CLI runs."""

    def shrink(module, name: str) -> None:
        fast = dataclasses.replace(getattr(module, name), requests_per_second=500.0, backoff_base=0.01, backoff_cap=0.05)
        monkeypatch.setattr(module, name, fast)

    return shrink


@pytest.fixture
def store(home):
    from curemap.store import Store

    opened = Store.open(home)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def built_home(tmp_path_factory) -> Path:
    """One home built from the offline snapshot for the whole run; tests that only read share it."""
    from curemap.cli import run

    built = tmp_path_factory.mktemp("built")
    with pytest.raises(SystemExit) as done:
        run(["--home", str(built), "build", "--offline", "--json"])
    assert done.value.code == 0
    return built


@pytest.fixture
def built(built_home, home) -> Path:
    """A private copy of the built home, for tests that write to it."""
    shutil.copytree(built_home, home)
    return home


@pytest.fixture(scope="session")
def built_store(built_home):
    """The shared built store, opened for reading; tests must not write to it."""
    from curemap.store import Store

    opened = Store.open(built_home)
    yield opened
    opened.close()


# -- PostgreSQL ------------------------------------------------------------------------

POSTGRES_BIN = Path(os.environ.get("CUREMAP_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
"""PostgreSQL 15 server binaries (Debian package ``postgresql``; ``make system-deps`` installs it)."""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL 15 server on 127.0.0.1 for the whole run, in a temporary directory.

    Yields a function giving a fresh, migrated database's URL (created from a template, so it
    is fast); ``postgres_server(migrated=False)`` gives an empty one."""
    import itertools
    import pwd
    import subprocess
    import tempfile

    from sqlalchemy import create_engine, text

    missing = [name for name in ("initdb", "pg_ctl") if not (POSTGRES_BIN / name).is_file()]
    if missing:
        pytest.fail(
            f"PostgreSQL server binaries missing in {POSTGRES_BIN} ({', '.join(missing)}): "
            "run `make system-deps` (Debian package postgresql) or set CUREMAP_POSTGRES_BIN"
        )
    # Not under pytest's own temporary directory: the server's user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="curemap-postgres-"))
    data, sockets, port = root / "data", root / "sockets", _free_port()
    sockets.mkdir()
    as_user: list[str] = []
    if os.getuid() == 0:  # initdb refuses to run as root
        user = pwd.getpwnam("postgres")
        for path in (root, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]

    def run_pg(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, check=False)
        if done.returncode:
            pytest.fail(f"{args[0]} failed ({done.returncode}): {done.stderr or done.stdout}")

    run_pg(str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U", "curemap", "-A", "trust", "-E", "UTF8",
           "--locale=C", "--no-sync")
    options = (f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    run_pg(str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-o", options, "-w", "start")
    base = f"postgresql://curemap@127.0.0.1:{port}"
    admin = create_engine(f"{base}/postgres".replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    names = itertools.count()

    def create(template: str = "template0") -> str:
        name = f"curemap_{next(names)}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE {name} TEMPLATE {template}'))
        return f"{base}/{name}"

    from curemap.store import Store

    template_url = create()
    Store(template_url).close()
    template = template_url.rsplit("/", 1)[1]

    def fresh_database(migrated: bool = True) -> str:
        return create(template if migrated else "template0")

    try:
        yield fresh_database
    finally:
        admin.dispose()
        run_pg(str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, home) -> str:
    """A fresh, empty store's URL on each backend: the home's SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{home / 'curemap.db'}"
    return request.getfixturevalue("postgres_server")()


@pytest.fixture(scope="module")
def client(built_store):
    """The dashboard and API over the shared built store, in process."""
    from fastapi.testclient import TestClient

    from curemap.web import create_app

    return TestClient(create_app(built_store))


@pytest.fixture(scope="module")
def landscape(built_store):
    """Each strategy's landscape entry on the shared built store, by id."""
    from curemap.analysis.landscape import strategy_landscape
    from curemap.profile import load_profile

    return {entry.id: entry for entry in strategy_landscape(built_store, load_profile())}


class SilentServer:
    """A server on 127.0.0.1 that accepts connections and never answers: what a client sees
    on a network that drops packets silently once connected."""

    def __init__(self) -> None:
        import socket
        import threading

        self._socket = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.base_url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.connections: list = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:  # closed
                return
            self.connections.append(connection)

    def close(self) -> None:
        self._socket.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def profile():
    """The MS profile, loaded once; test modules that need another scope define their own."""
    from curemap.profile import load_profile

    return load_profile()


@pytest.fixture(scope="session")
def reader(profile):
    """The eligibility-criteria reader over the MS profile."""
    from curemap.match.criteria import EligibilityReader

    return EligibilityReader(profile)
