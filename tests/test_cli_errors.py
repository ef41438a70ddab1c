"""One error path for the command line (issue 13): every failure a short message on stderr that
names the file or the command and says what to do, exit status 1, no traceback (unless
--debug), no record contents or SQL; a multi-file import goes on past a bad file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import CTGOV_CSV, RAW_V2

STUDY = RAW_V2 / "NCT02210780.json"


def first_rows(tmp_path, rows: int = 3):
    """The real flattened CSV's header and first rows, as a small file of its own."""
    with CTGOV_CSV.open(encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(rows + 1)]
    path = tmp_path / "first.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def assert_handled(result, *names: str) -> None:
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    for name in names:
        assert name in result.stderr


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invalid-utf8.csv", b"NCTId,BriefTitle\nNCT0\xff\xfe1,x\n"),
        ("latin1.csv", CTGOV_CSV.read_bytes()[:4000].decode("utf-8", "replace").replace("a", "\u00e9").encode("latin-1", "replace")),
        ("binary.bin", bytes(range(256)) * 16),
        ("fake.json.gz", b"\x1f\x8b\x08\x00not gzip at all"),
    ],
)
def test_invalid_utf8_latin1_binary_and_fake_gzip_files_are_named_not_tracebacks(cli, tmp_path, name, content):
    bad = tmp_path / name
    bad.write_bytes(content)
    result = cli("import", bad, "--json")
    assert_handled(result, name)
    assert "Aborted" not in result.stderr
    assert result.json()["failed"][0]["file"] == str(bad)


def test_classify_and_extract_name_a_file_that_is_not_utf8(cli, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Relapse-free at 2 years: 80 % (caf\u00e9)".encode("latin-1"))
    assert_handled(cli("extract", bad), "latin1.txt", "UTF-8")
    assert_handled(cli("classify", bad), "latin1.txt")


@pytest.mark.parametrize("home", ["/proc/curemap-home", "/proc"])
def test_a_home_under_proc_is_named_with_what_to_do(capsys, home):
    from curemap.cli import run

    with pytest.raises(SystemExit) as done:
        run(["--home", home, "status"])
    err = capsys.readouterr().err
    assert done.value.code == 1
    assert "Traceback" not in err and home in err and "--home" in err


def test_a_second_writer_waiting_on_a_locked_store_gets_one_line_without_sql_or_record(cli, home, monkeypatch):
    from curemap.store import store as store_module

    assert cli("import", first_rows(home.parent)).exit_code == 0
    pragmas = store_module._sqlite_pragmas

    def impatient(dbapi_conn, record) -> None:  # the real 30 s wait, shortened for the test
        pragmas(dbapi_conn, record)
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    monkeypatch.setattr(store_module, "_sqlite_pragmas", impatient)
    other = sqlite3.connect(home / "curemap.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the first writer, mid-import
    try:
        result = cli("import", STUDY, CTGOV_CSV, "--json")
    finally:
        other.rollback()
        other.close()
    assert_handled(result, "NCT02210780.json", "busy", "run the command again")
    assert len(result.stderr) < 600
    for leak in ("INSERT", "[SQL", "parameters", "protocolSection", "atopic"):
        assert leak not in result.stderr
    payload = result.json()  # the summary is still printed
    assert [f["file"] for f in payload["failed"]] == [str(STUDY), str(CTGOV_CSV)]


def test_a_crash_on_a_later_file_leaves_earlier_ones_imported_enriched_and_summarised(cli, home, monkeypatch):
    from curemap.sources import files

    good = first_rows(home.parent)
    real = files.iter_file_records

    def crash_on_the_second(path, on_read=None):
        if path.name == "second.json":
            raise ValueError("could not convert 'SECRET RECORD TEXT' to float")
        return real(path, on_read)

    second = home.parent / "second.json"
    second.write_text(STUDY.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr("curemap.pipeline.iter_file_records", crash_on_the_second)
    result = cli("import", good, second, STUDY, "--json")
    assert_handled(result, "second.json", "--debug")
    assert "SECRET" not in result.stderr
    payload = result.json()
    assert payload["imported"] == 4 and [f["file"] for f in payload["failed"]] == [str(second)]
    assert "first.csv" in result.stderr and "NCT02210780.json" in result.stderr  # a line per file
    status = cli("status", "--json").json()
    assert status["studies"] == 4
    shown = cli("show", "NCT02210780", "--json").json()
    assert shown["is_ms"] is False  # enriched: classified, though a file before it failed


def test_debug_prints_the_traceback_behind_the_message(cli, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("inside")

    monkeypatch.setattr("curemap.views.store_status", broken)
    plain = cli("status")
    assert_handled(plain, "curemap status", "ZeroDivisionError", "--debug")
    assert "inside" not in plain.stderr
    debug = cli("--debug", "status")
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr and "ZeroDivisionError: inside" in debug.stderr


def test_four_processes_opening_a_new_home_at_once_all_succeed(tmp_path):
    """Concurrent first opens raced to create the tables: one won, the others failed a
    migration ("table … already exists", or a UNIQUE constraint on its name)."""
    for attempt in range(3):
        home = tmp_path / f"home{attempt}"
        command = [sys.executable, "-m", "curemap.cli", "--home", str(home), "status", "--json"]
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        for process in processes:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            assert '"studies": 0' in out
