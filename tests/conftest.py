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
