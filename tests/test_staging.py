"""New records through staging tables on PostgreSQL: the rows workers stage and the writer moves
in set-based are, row for row and word for word, the rows an import of the same files writes;
a partition that is not all new, or whose load fails, is imported record by record or not at
all, and leaves no staging table behind."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from curemap.engine import input_files
from curemap.engine.dask import DaskEngine
from curemap.engine.partitions import load_partition, process_file
from curemap.pipeline import build
from curemap.sources.files import iter_file_records
from curemap.store import Store, staging, summary
from tests.conftest import SHARED_DATA
from tests.test_engine import build_snapshot, rows_of

PAPER_FILES = [*input_files([SHARED_DATA / "pubmed"]), SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"]
"""Real PubMed XML (one file withdraws a citation) and a literature export with unreadable rows."""

STUDY_FILES = [SHARED_DATA / "ctgov" / "ctgov_ms_20250925.csv", *input_files([SHARED_DATA / "ctis"])]
"""Real registry exports: ClinicalTrials.gov's flattened CSV and EU CTIS's."""


def _documents(store: Store) -> list[tuple]:
    """The search index's rows: on PostgreSQL with their words as it holds them, on SQLite with
    their keys (a study's day and place in it)."""
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            held = "SELECT k.record_id, k.kind, k.id, d.title, d.body, d.facets FROM search_keys AS k JOIN search_documents AS d ON d.rowid = k.id"
        else:
            held = "SELECT record_id, kind, title, body, facets, document::text FROM search_documents"
        return sorted(tuple(row) for row in conn.exec_driver_sql(held))


def _staged_left(store: Store, tmp_path) -> list[str]:
    """Staging tables left in a PostgreSQL store, staging files left beside the partitions."""
    if store.engine.dialect.name == "sqlite":
        return sorted(path.name for path in tmp_path.rglob(f"*{staging.FILE_SUFFIX}"))
    with store.engine.connect() as conn:
        return list(conn.execute(text("SELECT tablename FROM pg_tables WHERE starts_with(tablename, 'staged_')")).scalars())


@pytest.fixture(params=["sqlite", "postgresql"])
def two_stores(request, tmp_path):
    """Two fresh, empty stores on one backend."""
    if request.param == "sqlite":
        stores = [Store(f"sqlite:///{tmp_path / name}.db") for name in ("staged", "imported")]
    else:
        server = request.getfixturevalue("postgres_server")
        stores = [Store(server()), Store(server())]
    yield stores
    for store in stores:
        store.close()


def _summary(store: Store) -> dict:
    with store.engine.connect() as conn:
        return {(row.name, row.key): (row.n, row.fetched_at is not None) for row in conn.execute(text("SELECT * FROM summary_counts"))}


def test_staged_records_are_the_rows_an_import_writes(two_stores, tmp_path):
    """Studies (their sites, labels, facets and trial figures) and papers (their figures and
    words), with the summary counts they move."""
    staged, imported = two_stores
    tokens = []
    for index, path in enumerate(STUDY_FILES + PAPER_FILES):
        result = process_file(str(path), str(tmp_path), index, staged.url)
        tokens.append(result.staged)
        assert load_partition(staged, result) == load_partition(imported, process_file(str(path), str(tmp_path), 100 + index))
    # the file withdrawing a citation is imported record by record; the rest were staged
    assert [token is None for token in tokens] == [path.name == "medline16n0902.xml.gz" for path in STUDY_FILES + PAPER_FILES]
    assert (staged.count_studies(), staged.count_papers()) == (imported.count_studies(), imported.count_papers()) == (3720, 1422)
    assert rows_of(staged) == rows_of(imported)
    documents = _documents(staged)
    assert documents == _documents(imported) and len(documents) == 3720 + 1422
    facets = [row[4] if staged.engine.dialect.name == "postgresql" else row[5] for row in documents]
    assert sum("facetstrategyahsct" in held for held in facets) > 10
    if staged.engine.dialect.name == "postgresql":
        assert all(row[5] for row in documents)  # every document's words, stemmed on the worker's connection
    assert _summary(staged) == _summary(imported)
    with staged.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM strategy_trials")).scalar() > 100
    assert _staged_left(staged, tmp_path) == []


def test_a_paper_stored_after_its_partition_was_staged_sends_the_partition_record_by_record(two_stores, tmp_path):
    """Another writer stores one of the partition's papers between the staging and the merge:
    the merge sees it and imports the partition as an import would."""
    path = SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"
    first = next(record for record in iter_file_records(path) if not record.error)
    result = process_file(str(path), str(tmp_path), 0, two_stores[0].url)
    assert result.staged is not None
    for store in two_stores:
        store.import_records([first])
    counts = load_partition(two_stores[0], result)
    assert counts == load_partition(two_stores[1], process_file(str(path), str(tmp_path), 1))
    assert (counts.imported, counts.unchanged, len(counts.rejected)) == (812, 1, 21)
    assert rows_of(two_stores[0]) == rows_of(two_stores[1]) and _documents(two_stores[0]) == _documents(two_stores[1])
    assert _staged_left(two_stores[0], tmp_path) == []


def test_a_partition_with_a_record_stored_already_is_not_staged(two_stores, tmp_path):
    """The worker sees the store holds one of the partition's records (an update, a rebuild),
    and stages nothing the writer would drop unread."""
    path = STUDY_FILES[1]
    first = next(iter_file_records(path))
    two_stores[0].import_records([first])
    result = process_file(str(path), str(tmp_path), 0, two_stores[0].url)
    assert result.staged is None and "stage" not in result.seconds and _staged_left(two_stores[0], tmp_path) == []
    assert load_partition(two_stores[0], result).imported == 103


def test_new_studies_a_registration_links_to_a_stored_trial_move_its_figures_as_an_import_does(two_stores, tmp_path):
    """A new study whose trial a stored study belongs to: the figures the worker made of it
    alone do not stand; its trial's are worked out in the store, as an import works them out."""
    ctgov, ctis = STUDY_FILES
    for store in two_stores:
        load_partition(store, process_file(str(ctgov), str(tmp_path), 0))
    result = process_file(str(ctis), str(tmp_path), 1, two_stores[0].url)
    new = next(iter_file_records(ctis)).source_id
    with two_stores[0].engine.connect() as conn:
        held = conn.execute(text("SELECT record_id FROM classifications WHERE is_ms ORDER BY record_id LIMIT 1")).scalar()
    for store in two_stores:
        with store.engine.begin() as conn:
            for study in (held, new):
                conn.execute(text("INSERT INTO trial_registrations (study_id, trial_id, via) VALUES (:study, :trial, 'identifier')"), {"study": study, "trial": new})
    before = _summary(two_stores[0])
    assert result.staged is not None
    assert load_partition(two_stores[0], result) == load_partition(two_stores[1], process_file(str(ctis), str(tmp_path), 2))
    assert rows_of(two_stores[0]) == rows_of(two_stores[1]) and _summary(two_stores[0]) == _summary(two_stores[1]) != before
    with two_stores[0].engine.connect() as conn:
        ms = conn.execute(text("SELECT count(*) FROM classifications WHERE kind = 'study' AND is_ms")).scalar()
        assert conn.execute(text("SELECT is_ms FROM classifications WHERE record_id = :new"), {"new": new}).scalar()
        trials = conn.execute(text("SELECT sum(n) FROM summary_counts WHERE name = :name"), {"name": summary.TRIALS}).scalar()
    assert trials == ms - 1  # the two registrations count as one trial


def test_a_partition_whose_staging_is_gone_is_imported_record_by_record(two_stores, tmp_path):
    result = process_file(str(STUDY_FILES[1]), str(tmp_path), 0, two_stores[0].url)
    assert result.staged is not None
    two_stores[0].drop_staged(result.staged)
    assert load_partition(two_stores[0], result) == load_partition(two_stores[1], process_file(str(STUDY_FILES[1]), str(tmp_path), 1))
    assert rows_of(two_stores[0]) == rows_of(two_stores[1]) and _staged_left(two_stores[0], tmp_path) == []


def test_a_failed_merge_writes_nothing_and_leaves_nothing_staged(two_stores, tmp_path, monkeypatch):
    store = two_stores[0]
    result = process_file(str(SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"), str(tmp_path), 0, store.url)
    assert result.staged is not None and _staged_left(store, tmp_path)

    def fail(self, conn):
        raise RuntimeError("the server went away")

    monkeypatch.setattr(summary.Tally, "apply", fail)
    with pytest.raises(RuntimeError, match="went away"):
        load_partition(store, result)
    assert store.count_papers() == 0 and _documents(store) == [] and _staged_left(store, tmp_path) == []


def test_a_store_whose_words_were_generated_keeps_them_and_writes_them_on_every_change(postgres_server, tmp_path):
    """Migration 0023: the generated column made a plain one, its words kept; a trigger writes
    them for every insert that brings none and for every update (the facets refreshed)."""
    url = postgres_server()
    store = Store(url)
    load_partition(store, process_file(str(PAPER_FILES[1]), str(tmp_path), 0))
    before = _documents(store)
    with store.engine.begin() as conn:  # the column as migrations 0005 to 0022 left it
        conn.exec_driver_sql("DROP TRIGGER search_document_words ON search_documents")
        conn.exec_driver_sql("ALTER TABLE search_documents DROP COLUMN document")
        conn.exec_driver_sql(
            "ALTER TABLE search_documents ADD COLUMN document tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(title, '')"
            " || ' ' || coalesce(body, '')) || to_tsvector('simple', coalesce(facets, ''))) STORED"
        )
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE name = '0023_written_search_words'")
    store.close()
    store = Store(url)
    with store.engine.begin() as conn:
        generated = conn.exec_driver_sql(
            "SELECT is_generated FROM information_schema.columns WHERE table_name = 'search_documents' AND column_name = 'document'"
        ).scalar()
        assert generated == "NEVER"
        assert _documents(store) == before
        conn.exec_driver_sql("UPDATE search_documents SET facets = 'facetstrategyahsct'")
        conn.exec_driver_sql("INSERT INTO search_documents (record_id, kind, title) VALUES ('x', 'paper', 'Remyelination')")
        words = dict(conn.exec_driver_sql("SELECT record_id, document::text FROM search_documents").all())
    assert all("'facetstrategyahsct'" in held for record_id, held in words.items() if record_id != "x")
    assert words["x"] == "'remyelin':1"
    store.close()


def test_the_dask_engine_on_postgresql_stages_new_papers_and_builds_the_rows_sqlite_holds(postgres_server, built_store, tmp_path, monkeypatch):
    store = Store(postgres_server())
    started = time.time()
    monkeypatch.setattr(staging.time, "time", lambda: started - 2 * 86400)
    assert process_file(str(PAPER_FILES[1]), str(tmp_path), 0, store.url).staged  # left by a build that stopped
    monkeypatch.undo()
    engine = DaskEngine(workers=2)
    counts = build(store, engine)
    assert counts["snapshot"] == build_snapshot(built_store)
    assert any(result.staged for result in engine.results) and _staged_left(store, None) == []
    assert rows_of(store) == rows_of(built_store)
    store.close()


def test_a_dask_build_whose_load_fails_leaves_no_partition_staged(tmp_path, monkeypatch):
    """The partitions the failure leaves unloaded had been staged by the workers: their staging
    goes too, and the store keeps what it held."""
    import curemap.engine.dask as dask_engine

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    kept = tmp_path / "partitions"

    def load_then_fail(store, result):
        if result.path.endswith("ms_articles_2021_2022.csv"):
            raise RuntimeError("the disk is full")
        return load_partition(store, result)

    monkeypatch.setattr(dask_engine, "load_partition", load_then_fail)
    engine = DaskEngine(workers=2, work_dir=kept)
    with pytest.raises(RuntimeError, match="disk is full"):
        engine.run(store, [STUDY_FILES[1], PAPER_FILES[1], PAPER_FILES[3], PAPER_FILES[2]])
    assert sorted(kept.glob("*.parquet")) and _staged_left(store, kept) == []
    assert (store.count_studies(), store.count_papers()) == (104, 1)
    store.close()


def test_partitions_a_stopped_build_left_staged_are_reported_then_dropped(postgres_server, tmp_path, monkeypatch):
    """A build killed before loading what its workers staged leaves unlogged tables behind:
    ``curemap doctor`` names them, and the next Dask build drops them (not a partition staged
    now, which a running build may be about to load)."""
    from curemap.service.doctor import check_deployment

    store = Store(postgres_server())
    started = time.time()
    monkeypatch.setattr(staging.time, "time", lambda: started - 2 * 86400)
    left = process_file(str(PAPER_FILES[1]), str(tmp_path), 0, store.url)
    monkeypatch.undo()
    staged_now = process_file(str(PAPER_FILES[2]), str(tmp_path), 1, store.url)
    with store.engine.connect() as conn:
        assert [token for token, _ in staging.left_behind(conn)] == [left.staged]
    [check] = [c for c in check_deployment(tmp_path, store.url) if c.name == "staging"]
    assert not check.ok and check.message.startswith("1 partitions staged by builds that stopped") and "curemap build --engine dask" in check.fix
    assert store.drop_left_staging() == 1
    assert _staged_left(store, tmp_path) and all(staged_now.staged in name for name in _staged_left(store, tmp_path))
    [check] = [c for c in check_deployment(tmp_path, store.url) if c.name == "staging"]
    assert check.ok
    store.close()
