"""On PostgreSQL the hot list queries are answered from indexes: no sequential scan of studies.

The store holds the real registry records, classified, and copies of them under new ids (as
the scale benchmark makes its inputs), so the planner chooses as it would for a large store."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, text

from curemap.enrich.pipeline import classify_store
from curemap.profile import load_profile
from curemap.store import Store, schema
from curemap.web.query import ChangeFilters, StudyFilters, newest_changes, study_page
from tests.test_store import csv_rows, records_from_rows

COPIES = 12

HOT = [
    {},
    {"ms": True},
    {"curative": True},
    {"strategy": "ahsct"},
    {"group": "immune_reset"},
    {"status": "RECRUITING"},
    {"phase": "phase3"},
    {"q": "ocrelizumab"},
    {"q": "ocrelizumab", "phase": "phase3", "ms": True},
    {"q": "sclerosis", "group": "disease_control", "role": "tested"},
    {"strategy": "remyelination", "phase": "phase2", "status": "COMPLETED"},
    {"ms": True, "curative": True, "status": "RECRUITING"},
]


def copy_rows(conn, table, key: str) -> None:
    """Copies of every row under ids with a suffix (``key`` is the column holding the id)."""
    names = [column.name for column in table.columns if column.name not in ("id",) or key == "id"]
    chosen = ", ".join(f"{name} || '-' || n" if name == key else name for name in names)
    conn.execute(text(
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {chosen} FROM {table.name}, generate_series(1, {COPIES - 1}) AS n"
    ))


@pytest.fixture(scope="module")
def large_store(postgres_server):
    store = Store(postgres_server())
    store.import_records(records_from_rows(csv_rows()))
    classify_store(store, load_profile())
    with store.engine.begin() as conn:
        copy_rows(conn, schema.studies, "id")
        for table in (schema.classifications, schema.record_strategies):
            copy_rows(conn, table, "record_id")
        conn.execute(text(
            f"INSERT INTO search_documents (record_id, kind, title, body, facets) SELECT record_id || '-' || n, kind, title, body, facets"
            f" FROM search_documents, generate_series(1, {COPIES - 1}) AS n"
        ))
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        assert conn.execute(text("SELECT count(*) FROM studies")).scalar_one() == len(csv_rows()) * COPIES
    yield store
    store.close()


def statements_of(store: Store, run) -> list[tuple[str, object]]:
    """Every statement on studies that ``run`` makes, with its parameters."""
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "FROM studies" in statement:
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        run()
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    return statements


def plans_of(store: Store, run) -> list[tuple[str, dict]]:
    """The plan of every statement on studies that ``run`` makes, as PostgreSQL would run it."""
    statements = statements_of(store, run)
    with store.engine.connect() as conn:
        return [
            (statement, conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar_one()[0]["Plan"])
            for statement, parameters in statements
        ]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


@pytest.mark.parametrize("filters", HOT, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "all")
def test_a_filtered_list_and_its_next_page_never_scan_studies_whole(large_store, filters):
    profile = load_profile()
    chosen = StudyFilters(**filters)
    first = study_page(large_store, profile, chosen, per_page=20)
    assert first.items and first.next_cursor
    planned = plans_of(large_store, lambda: (
        study_page(large_store, profile, chosen, per_page=20),
        study_page(large_store, profile, chosen, per_page=20, cursor=first.next_cursor),
    ))
    kept = not filters or (len(filters) == 1 and set(filters) <= {"ms", "status", "phase", "strategy", "group"})  # a summary row
    assert len(planned) >= (2 if kept else 3)  # the count (unless kept), the page, the next one
    for statement, plan in planned:
        scans = [node for node in nodes(plan) if node["Node Type"] == "Seq Scan"]
        assert not [node for node in scans if node.get("Relation Name") == "studies"], (statement, json.dumps(plan, indent=1))


def without_rows_by_id(statements: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """The statements that find a list's count and pages, leaving out the reads of a page's
    rows by their ids once found."""
    return [(statement, parameters) for statement, parameters in statements if "WHERE studies.id IN (?" not in statement]


def test_sqlite_reads_a_group_list_from_the_listing_index(built_store):
    """A list narrowed to a group's studies reads its page from the ids' index entries, not
    their rows (at a million studies, gigabytes from disk), and its total from the kept counts;
    the rows read are the page's alone. The same list narrowed by MS as well is counted there too;
    a full-text list narrowed by phase and MS is counted in the full-text index (through its
    matches' rows it took 10 s at a million studies, cold) and its page found there too."""
    profile = load_profile()
    for chosen, counted in ((StudyFilters(group="immune_reset"), False), (StudyFilters(group="immune_reset", ms=True), True)):
        first = study_page(built_store, profile, chosen, per_page=2)
        assert first.total > 2 and first.next_cursor
        statements = statements_of(built_store, lambda: (
            study_page(built_store, profile, chosen, per_page=2),
            study_page(built_store, profile, chosen, per_page=2, cursor=first.next_cursor),
        ))
        found = without_rows_by_id(statements)
        assert len(found) == (4 if counted else 2) and len(statements) == len(found) + 2  # (the count per page, then) the page
        with built_store.engine.connect() as conn:
            for statement, parameters in found:
                plan = [row.detail for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
                read = [step for step in plan if step.startswith(("SCAN studies", "SEARCH studies"))]
                assert read and all("USING COVERING INDEX ix_studies_listing (id=?" in step for step in read), (statement, plan)
    texts = StudyFilters(q="ocrelizumab", phase="phase3", ms=True)
    first = study_page(built_store, profile, texts, per_page=2)
    assert first.total > 2 and first.next_cursor
    for cursor in (None, first.next_cursor):  # counted in the full-text index, its page found from its keys: no studies read but the page's
        statements = statements_of(built_store, lambda: study_page(built_store, profile, texts, per_page=2, cursor=cursor))
        assert len(statements) == 1 and not without_rows_by_id(statements), statements


def test_sqlite_reads_a_list_by_status_and_phase_from_their_joint_index(built_store):
    """Without planner statistics SQLite would read every study of the status through the
    status index to test its phase (55,000 rows for COMPLETED at 100,000 studies); the count
    and both pages read the entries of that status and phase alone, in the list's order."""
    profile = load_profile()
    chosen = StudyFilters(strategy="remyelination", phase="phase2", status="COMPLETED")
    first = study_page(built_store, profile, chosen, per_page=1)
    assert first.total > 1 and first.next_cursor
    statements = statements_of(built_store, lambda: (
        study_page(built_store, profile, chosen, per_page=1),
        study_page(built_store, profile, chosen, per_page=1, cursor=first.next_cursor),
    ))
    assert len(statements) >= 3  # the count, the page, the next one
    with built_store.engine.connect() as conn:
        for statement, parameters in without_rows_by_id(statements):
            plan = [row.detail for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            read = [step for step in plan if step.startswith(("SCAN studies", "SEARCH studies"))]
            assert read and all("ix_studies_status_phase_last_update (status=? AND phase=?" in step for step in read), (statement, plan)


def test_sqlite_reads_the_overviews_newest_studies_and_open_curative_trials_from_their_indexes(built_store):
    """The overview's newest studies added are read back from the study entries of the change
    log alone (at a million records, not through every paper added since), and its curative MS
    trials open now, counted and listed, from the entries of curative, recruiting studies alone."""
    profile = load_profile()
    log = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        log.append((statement, parameters))

    event.listen(built_store.engine, "before_cursor_execute", seen)
    try:
        added = newest_changes(built_store, ChangeFilters(kind="added", record="study", ms=True), 5)
        open_now = study_page(built_store, profile, StudyFilters(status="RECRUITING", ms=True, curative=True), per_page=10)
    finally:
        event.remove(built_store.engine, "before_cursor_execute", seen)
    assert len(added) == 5 and all(not change["record_id"].startswith("PMID") for change in added)
    assert open_now.total == len(open_now.items) or len(open_now.items) == 10
    assert all(item["status"] == "RECRUITING" and item["curative_intent"] for item in open_now.items)
    with built_store.engine.connect() as conn:
        plans = [
            [row.detail for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            for statement, parameters in log if "FROM changes" in statement or "FROM studies" in statement and "count" in statement.lower()
        ]
    assert any(any("ix_changes_kind_record (kind=? AND record=?)" in step for step in plan) for plan in plans), plans
    counted = [plan for plan in plans if any("studies" in step for step in plan) and not any("changes" in step for step in plan)]
    assert counted and all(any("ix_studies_open_curative" in step for step in plan) for plan in counted), counted


def test_a_common_word_is_counted_and_ranked_through_the_search_index(large_store):
    """A search's statements on the search table read its matches through the index's bitmap,
    never the table whole: for a word every study holds (``sclerosis``) the planner chose the
    table, testing every row's words (at 100,000 studies, twice the time). Each statement is
    planned as the search ran it, after the settings it made before it."""
    profile = load_profile()
    made = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "search_documents" in statement or statement.startswith("SET LOCAL"):
            made.append((statement, parameters))

    event.listen(large_store.engine, "before_cursor_execute", seen)
    try:
        for sort in ("-last_update", "relevance"):
            assert study_page(large_store, profile, StudyFilters(q="sclerosis"), sort=sort, per_page=20).total == len(csv_rows()) * COPIES
    finally:
        event.remove(large_store.engine, "before_cursor_execute", seen)
    searched = [statement for statement, _ in made if statement.startswith("SELECT") and "FROM search_documents" in statement]
    assert len(searched) >= 3  # the count, the ranked search's count and its page
    with large_store.engine.begin() as conn:
        for statement, parameters in made:
            if statement.startswith("SET LOCAL"):
                conn.exec_driver_sql(statement, parameters)
            elif statement in searched:
                plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar_one()[0]["Plan"]
                whole = [node for node in nodes(plan) if node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "search_documents"]
                assert not whole, (statement, json.dumps(plan, indent=1))
