"""Shared test fixtures: the real data beside the checkout, a fresh store, and the CLI in-process."""

from __future__ import annotations

import json
import os
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
def store(home):
    from curemap.store import Store

    opened = Store.open(home)
    yield opened
    opened.close()
