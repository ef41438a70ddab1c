"""PostgreSQL as a first-class store, and readers never seeing a half-applied update on either backend."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from curemap.store import Store, schema
from curemap.store.store import driver_url
from tests.test_store import csv_rows, records_from_rows


@pytest.mark.parametrize(
    ("url", "opened"),
    [
        ("postgresql://curemap@db.example/curemap", "postgresql+psycopg://curemap@db.example/curemap"),
        ("postgres://u:p@db.example:5433/map", "postgresql+psycopg://u:p@db.example:5433/map"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///map/curemap.db", "sqlite:///map/curemap.db"),
    ],
)
def test_a_plain_postgresql_url_speaks_psycopg_3(url, opened):
    assert driver_url(url) == opened


def test_the_cli_builds_and_reports_a_postgresql_store(cli, postgres_server):
    url = postgres_server()
    result = cli("--db", url, "import", csv_path(), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["imported"] == 3616
    status = cli("--db", url, "status", "--json").json()
    assert status["studies"] == 3616 and status["sources"]["ctgov"]["records"] == 3616
    assert cli("--db", url, "show", "NCT04061681", "--json").json()["id"] == "NCT04061681"


def csv_path():
    from tests.conftest import CTGOV_CSV

    return CTGOV_CSV


def test_an_unreachable_postgresql_server_is_a_clear_error(cli):
    result = cli("--db", "postgresql://curemap@127.0.0.1:9/none", "status", "--json")
    assert result.exit_code == 1
    assert "cannot open the store at postgresql://curemap@127.0.0.1:9/none" in result.stderr


def test_text_postgresql_cannot_hold_is_stored_and_the_record_comes_back_exactly(postgres_server):
    store = Store(postgres_server())
    row = dict(csv_rows()[0], OverallStatus="RECRUITING", Phases="PHASE2", BriefTitle="A\x00B " + "x" * 500)
    counts = store.import_records(records_from_rows([row]))
    assert counts.imported == 1
    study = store.get_study(row["NCTId"])
    assert study.brief_title.startswith("A\x00B ")
    with store.engine.connect() as conn:
        column = conn.execute(select(schema.studies.c.brief_title)).scalar_one()
    assert column.startswith("A\ufffdB ")
    store.close()


def test_a_harvest_cursor_is_upserted_on_conflict(store_url):
    store = Store(store_url)
    records = records_from_rows(csv_rows()[:3])
    store.save_page(records[:1], cursor_key="ctgov:x", cursor={"page": 1})
    store.save_page(records[1:2], cursor_key="ctgov:x", cursor={"page": 2})
    assert store.get_cursor("ctgov:x") == {"page": 2}
    store.save_page(records[2:], cursor_key="ctgov:x", cursor=None)
    assert store.get_cursor("ctgov:x") is None
    assert store.count_studies() == 3
    store.close()


def test_an_update_running_while_the_web_server_answers_never_shows_a_half_applied_state(store_url):
    """A file imports in one transaction while readers ask the API and the tables: every answer is
    the whole store before the file or the whole store after it, never part of it."""
    from curemap.web import create_app

    rows = csv_rows()
    store = Store(store_url)
    store.import_records(records_from_rows(rows[:100]))
    before = table_counts(store)
    writing, seen, problems = threading.Event(), [], []

    def slow_file():
        writing.set()
        for start in range(100, 1100, 100):
            yield from records_from_rows(rows[start : start + 100])
            time.sleep(0.05)  # a long import: readers get many chances to look inside it
        # and an edit to records stored before, in the same file
        yield from records_from_rows([dict(r, OverallStatus="WITHDRAWN") for r in rows[:100]])

    writer = threading.Thread(target=lambda: store.import_records(slow_file()))
    client = TestClient(create_app(store))
    writer.start()
    writing.wait()
    while writer.is_alive():
        studies = client.get("/api/status").json()["studies"]
        counts = table_counts(store)
        seen.append((studies, counts))
        if studies not in (100, 1100) or counts["studies"] not in (100, 1100):
            problems.append((studies, counts))
    writer.join()
    after = table_counts(store)
    assert after["studies"] == 1100
    assert after["withdrawn"] == 100 + sum(r["OverallStatus"] == "WITHDRAWN" for r in rows[100:1100])
    assert len(seen) >= 5, "the readers never looked while the file was importing"
    assert problems == []
    assert all(counts in (before, after) for _, counts in seen)
    store.close()


def test_reads_inside_one_reading_block_see_one_state_of_the_store(store_url):
    """What a web page reads in several statements: an import another process commits between
    them stays invisible until the block ends, so no page mixes before and after."""
    rows = csv_rows()
    reader, writer = Store(store_url), Store(store_url)
    writer.import_records(records_from_rows(rows[:50]))
    with reader.reading():
        before = table_counts(reader)
        assert reader.count_studies() == 50
        writer.import_records(records_from_rows(rows[50:120]))
        writer.import_records(records_from_rows([dict(r, OverallStatus="WITHDRAWN") for r in rows[:50]]))
        assert reader.count_studies() == 50
        assert table_counts(reader) == before
        assert reader.get_study(rows[0]["NCTId"]).status == rows[0]["OverallStatus"]
    assert reader.count_studies() == 120
    assert reader.get_study(rows[0]["NCTId"]).status == "WITHDRAWN"
    assert table_counts(reader)["withdrawn"] == 50 + sum(r["OverallStatus"] == "WITHDRAWN" for r in rows[50:120])
    reader.close()
    writer.close()


def table_counts(store: Store) -> dict[str, int]:
    """The studies, their child rows, their raw versions and their change log, read in one statement."""
    counts = {
        "studies": select(func.count()).select_from(schema.studies),
        "conditions": select(func.count()).select_from(schema.study_conditions),
        "locations": select(func.count()).select_from(schema.study_locations),
        "raw": select(func.count()).select_from(schema.raw_records),
        "changes": select(func.count()).select_from(schema.changes),
        "withdrawn": select(func.count()).select_from(schema.studies).where(schema.studies.c.status == "WITHDRAWN"),
    }
    with store.connect() as conn:
        row = conn.execute(select(*(query.scalar_subquery().label(name) for name, query in counts.items()))).one()
    return dict(row._mapping)


def test_full_text_search_finds_the_same_studies_on_both_backends(store_url):
    """FTS5 on SQLite, tsvector on PostgreSQL: stemmed words, every word required, updates re-indexed."""
    from curemap.store.search import matching_ids

    store = Store(store_url)
    rows = csv_rows()[:400]
    store.import_records(records_from_rows(rows))

    def found(query: str) -> set[str]:
        with store.engine.connect() as conn:
            return {row.record_id for row in conn.execute(matching_ids("study", query, store.engine.dialect.name))}

    ocrelizumab = {r["NCTId"] for r in rows if "ocrelizumab" in (r["BriefTitle"] + r["InterventionNames"]).lower()}
    assert ocrelizumab and ocrelizumab <= found("ocrelizumab")
    assert found("ocrelizumab zzzunknownword") == set()
    target = rows[0]
    store.import_records(records_from_rows([dict(target, BriefTitle="Hyperbaric xylophones for walking")]))
    assert found("xylophone") == {target["NCTId"]}
    store.close()
