"""The store: idempotent upserts, field-level change log, provenance, atomic imports."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from curemap.model import (
    AdverseEvent,
    Intervention,
    Location,
    ParsedRecord,
    PartialDate,
    PlannedOutcome,
    Sponsor,
    Study,
)
from curemap.sources import ctgov_csv
from curemap.store import Store, schema
from curemap.store.migrations import MIGRATIONS, applied
from tests.conftest import CTGOV_CSV


def csv_rows() -> list[dict[str, str]]:
    with CTGOV_CSV.open(newline="") as handle:
        return list(csv.DictReader(handle))


def records_from_rows(rows: list[dict[str, str]], origin: str = "test.csv") -> list[ParsedRecord]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    buffer.seek(0)
    return list(ctgov_csv.iter_records(buffer, origin))


def count(store: Store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def store(store_url):
    """Every storage test runs on SQLite and on a real PostgreSQL server."""
    opened = Store(store_url)
    yield opened
    opened.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, home):
    """An empty store, never migrated, on each backend."""
    if request.param == "sqlite":
        home.mkdir(parents=True)
        return f"sqlite:///{home / 'curemap.db'}"
    return request.getfixturevalue("postgres_server")(migrated=False)


def test_migrations_are_named_and_applied_once(empty_url):
    first = Store(empty_url)
    assert applied(first.engine) == [name for name, _ in MIGRATIONS]
    first.close()
    again = Store(empty_url)
    assert applied(again.engine) == [name for name, _ in MIGRATIONS]
    if again.engine.dialect.name == "sqlite":
        with again.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    again.close()


def test_importing_the_same_data_twice_changes_nothing(store):
    rows = csv_rows()[:400]
    first = store.import_records(records_from_rows(rows))
    assert (first.imported, first.changed, first.unchanged, first.rejected) == (400, 0, 0, [])
    changes_before = count(store, schema.changes)
    raw_before = count(store, schema.raw_records)

    second = store.import_records(records_from_rows(rows))
    assert (second.imported, second.changed, second.unchanged) == (0, 0, 400)
    assert count(store, schema.changes) == changes_before
    assert count(store, schema.raw_records) == raw_before
    assert count(store, schema.studies) == 400


def test_a_changed_record_updates_the_study_and_logs_each_field(store):
    rows = csv_rows()[:50]
    store.import_records(records_from_rows(rows))
    target = next(r for r in rows if r["OverallStatus"] == "RECRUITING" and r["HasResults"] == "False")
    edited = dict(target)
    edited.update(
        OverallStatus="COMPLETED",
        HasResults="True",
        ResultsFirstPostDate="2025-09-01",
        EnrollmentCount="999.0",
        StartDate="2031-01",
        LastUpdatePostDate="2025-09-24",
    )
    counts = store.import_records(records_from_rows([edited]))
    assert (counts.imported, counts.changed, counts.unchanged) == (0, 1, 0)

    study = store.get_study(target["NCTId"])
    assert study.status == "COMPLETED"
    assert study.enrollment == 999
    assert study.start_date == PartialDate("2031-01", "month")

    logged = {(c["kind"], c["field"]): c for c in store.record_changes(target["NCTId"])}
    assert logged[("status_changed", "status")]["old"] == "RECRUITING"
    assert logged[("status_changed", "status")]["new"] == "COMPLETED"
    assert logged[("results_posted", "has_results")]["new"] is True
    assert logged[("enrollment_changed", "enrollment")]["new"] == 999
    assert logged[("dates_moved", "start_date")]["new"]["value"] == "2031-01"
    assert ("updated", "last_update_posted") not in logged
    # Both versions of the raw record are kept, and the study points at the newer one.
    with store.engine.connect() as conn:
        versions = conn.execute(
            select(func.count()).where(schema.raw_records.c.source_id == target["NCTId"])
        ).scalar_one()
    assert versions == 2
    assert json.loads(_raw_content(store, target["NCTId"]))["OverallStatus"] == "COMPLETED"


def _raw_content(store: Store, study_id: str) -> str:
    with store.engine.connect() as conn:
        return conn.execute(
            select(schema.raw_records.c.content)
            .join(schema.studies, schema.studies.c.raw_id == schema.raw_records.c.id)
            .where(schema.studies.c.id == study_id)
        ).scalar_one()


def test_an_older_record_never_rolls_back_a_newer_one(store):
    row = csv_rows()[0]
    newer = dict(row, OverallStatus="TERMINATED", LastUpdatePostDate="2026-01-01")
    store.import_records(records_from_rows([newer]))
    counts = store.import_records(records_from_rows([row]))
    assert counts.unchanged == 1
    assert store.get_study(row["NCTId"]).status == "TERMINATED"


def test_a_bad_record_is_rejected_by_name_and_the_rest_land(store):
    rows = csv_rows()[:5]
    rows[2] = dict(rows[2], NCTId="NCT12")
    rows[3] = dict(rows[3], EnrollmentCount="twelve")
    counts = store.import_records(records_from_rows(rows))
    assert counts.imported == 3
    assert [r["record"] for r in counts.rejected] == ["NCT12", rows[3]["NCTId"]]
    assert "NCT number" in counts.rejected[0]["error"]
    assert "twelve" in counts.rejected[1]["error"]


def test_a_failed_import_leaves_the_previous_store_intact(store):
    rows = csv_rows()
    store.import_records(records_from_rows(rows[:100]))
    before = {s.id: s for s in store.iter_studies()}

    def exploding():
        yield from records_from_rows([dict(r, OverallStatus="WITHDRAWN") for r in rows[:100]])
        yield from records_from_rows(rows[100:1200])
        raise OSError("disk went away")

    with pytest.raises(OSError):
        store.import_records(exploding())
    assert {s.id: s for s in store.iter_studies()} == before
    assert count(store, schema.studies) == 100


def test_provenance_names_source_origin_time_and_hash(store):
    rows = csv_rows()[:1]
    store.import_records(records_from_rows(rows, origin="ctgov_ms_20250925.csv"))
    prov = store.provenance(rows[0]["NCTId"])
    assert prov["source"] == "ctgov"
    assert prov["origin"] == "ctgov_ms_20250925.csv"
    assert len(prov["sha256"]) == 64
    assert prov["fetched_at"].startswith("20")


# -- property: what goes in comes back ------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
maybe_text = st.none() | text
dates = st.builds(
    lambda y, m, d, kind: PartialDate(
        f"{y:04d}" + (f"-{m:02d}" if m else "") + (f"-{d:02d}" if m and d else ""),
        "day" if m and d else "month" if m else "year",
        kind,
    ),
    st.integers(1990, 2040),
    st.none() | st.integers(1, 12),
    st.none() | st.integers(1, 28),
    st.sampled_from([None, "ACTUAL", "ESTIMATED"]),
)
studies = st.builds(
    Study,
    id=st.integers(0, 99_999_999).map(lambda n: f"NCT{n:08d}"),
    source=st.just("ctgov"),
    brief_title=maybe_text,
    summary=maybe_text,
    status=st.sampled_from(["RECRUITING", "COMPLETED", None]),
    start_date=st.none() | dates,
    completion_date=st.none() | dates,
    phase=st.sampled_from(["phase1", "phase2", "not_applicable", None]),
    enrollment=st.none() | st.integers(0, 10**6),
    lead_sponsor=st.none() | st.builds(Sponsor, text, maybe_text),
    conditions=st.lists(text, max_size=3),
    interventions=st.lists(st.builds(Intervention, text, maybe_text), max_size=3),
    outcomes=st.lists(st.builds(PlannedOutcome, text), max_size=3),
    locations=st.lists(
        st.builds(Location, maybe_text, maybe_text, lat=st.none() | st.floats(-90, 90), lon=st.none() | st.floats(-180, 180)),
        max_size=3,
    ),
    adverse_events=st.lists(
        st.builds(AdverseEvent, text, st.sampled_from(["serious", "other"]), text, maybe_text), max_size=3
    ),
    has_results=st.booleans(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(study=studies)
def test_upsert_round_trip(store, study):
    record = ParsedRecord("ctgov", study.id, json.dumps(study.to_dict()), "property", frozenset(study.to_dict()), study=study)
    store.import_records([record])
    assert store.get_study(study.id) == study
    again = store.import_records([record])
    assert (again.imported, again.changed, again.unchanged) == (0, 0, 1)


OPEN_AT = """
import sys, time
from curemap.store import Store
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
Store("sqlite:///" + sys.argv[1]).close()
"""


def test_processes_opening_a_new_store_at_the_same_moment_all_succeed(tmp_path):
    """Openers of a new file race to turn it to write-ahead logging, and SQLite refused the
    losers at once ("database is locked", about one opener in thirty) rather than wait."""
    import subprocess
    import sys
    import time

    for attempt in range(10):
        at = time.time() + 1.0  # every process imported and waiting, then all open at once
        command = [sys.executable, "-c", OPEN_AT, str(tmp_path / f"store{attempt}.db"), str(at)]
        processes = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(6)]
        for process in processes:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
