"""Batch engines: the Dask engine (a LocalCluster of 2 worker processes, Parquet partitions)
builds exactly the store the in-process engine builds, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from curemap.engine import input_files, open_engine
from curemap.engine.dask import DaskEngine
from curemap.errors import CuremapError
from curemap.pipeline import build
from curemap.store import Store, schema
from tests.conftest import CTGOV_CSV, SHARED_DATA

MOMENTS = {"fetched_at", "first_seen_at", "updated_at", "detected_at", "classified_at", "extracted_at", "applied_at", "created_at", "writes"}
"""Columns that say when a row was written, and how many transactions wrote the store: the only
ones two builds of the same input may differ in."""


def rows_of(store: Store) -> dict[str, list[tuple]]:
    """Every table's rows, less the moments they were written, in a backend-independent order."""
    tables = {}
    with store.engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            if not store.engine.dialect.has_table(conn, table.name):
                continue
            columns = [c for c in table.columns if c.name not in MOMENTS]
            tables[table.name] = sorted(
                (tuple(row) for row in conn.execute(select(*columns))), key=lambda row: tuple(map(repr, row))
            )
    return tables


@pytest.fixture(scope="module")
def dask_built(tmp_path_factory):
    """The bundled snapshot built by the Dask engine on a LocalCluster of 2 worker processes."""
    home = tmp_path_factory.mktemp("dask-built")
    store = Store.open(home)
    engine = DaskEngine(workers=2)
    counts = build(store, engine)
    yield store, engine, counts
    store.close()


def test_the_dask_engine_builds_the_same_store_as_the_local_engine_row_for_row(dask_built, built_store):
    store, _, counts = dask_built
    assert counts == {"studies": 3720, "ms_studies": 3513, "papers": 813, "snapshot": counts["snapshot"]}
    assert counts["snapshot"] == build_snapshot(built_store)
    local, distributed = rows_of(built_store), rows_of(store)
    assert local.keys() == distributed.keys()
    for name in local:
        assert distributed[name] == local[name], name
    assert len(local["classifications"]) == 3720 + 813 and local["outcome_figures"] and local["links"]


def build_snapshot(store: Store) -> str:
    with store.engine.connect() as conn:
        return conn.execute(select(schema.snapshots.c.id)).scalar_one()


def test_each_input_file_is_a_parquet_partition_classified_and_extracted_on_the_workers(dask_built):
    _, engine, _ = dask_built
    assert [r.path.rsplit("/", 1)[1] for r in engine.results] == [
        "ctgov_ms_20250925.csv.gz",
        "ctis_ms_20250924.csv.gz",
        "ms_articles_2021_2022.csv.gz",
    ]
    assert [r.records for r in engine.results] == [3616, 104, 834]
    assert all(r.seconds["parse"] > 0 and r.seconds["classify"] > 0 for r in engine.results)
    assert engine.load_seconds > 0


def test_a_partition_holds_each_record_with_its_enrichment(tmp_path):
    from curemap.engine.partitions import process_file

    result = process_file(str(SHARED_DATA / "pubmed" / "pubmed-29768149.xml"), str(tmp_path), 7)
    assert result.parquet.endswith("part-000007.parquet") and result.records == 1
    (row,) = pq.read_table(result.parquet).to_pylist()
    assert (row["kind"], row["record_id"], row["source"]) == ("paper", "PMID:29768149", "pubmed")
    assert '"strategies"' in row["classification"]
    assert set(json.loads(row["figures"])) == {"figures", "comparisons"}


def test_a_loaded_partition_leaves_no_enrichment_for_the_store_to_redo(tmp_path, store):
    """The workers classify and extract exactly as the store's own enrichment would, with the
    same keys, so the loading process does not extract every record a second time."""
    from curemap.engine.partitions import load_partition, process_file
    from curemap.enrich.pipeline import classify_store, extract_store
    from curemap.profile import load_profile

    for index, path in enumerate([SHARED_DATA / "ctis" / "ctis_ms_20250924.csv", SHARED_DATA / "pubmed" / "pubmed-29768149.xml"]):
        load_partition(store, process_file(str(path), str(tmp_path), index))
    assert store.count_studies() == 104 and store.count_papers() == 1
    profile = load_profile()
    assert (classify_store(store, profile), extract_store(store, profile)) == (0, 0)


def test_the_local_engine_on_postgresql_builds_the_same_rows_as_on_sqlite(postgres_server, built_store):
    store = Store(postgres_server())
    counts = build(store, open_engine("local"))
    assert counts["snapshot"] == build_snapshot(built_store)
    assert rows_of(store) == rows_of(built_store)
    store.close()


def test_a_directory_input_takes_every_recognised_file_and_names_the_rest(capsys):
    files = input_files([SHARED_DATA / "pubmed"])
    assert [f.name for f in files] == ["medline16n0902.xml.gz", "pubmed-29768149.xml", "test_current_medline.xml.gz"]
    assert "MANIFEST.csv: not a recognised format" in capsys.readouterr().err


def test_build_from_input_maps_every_record_not_only_ms(cli):
    result = cli("build", "--input", CTGOV_CSV, "--input", SHARED_DATA / "pubmed", "--json")
    assert result.exit_code == 0, result.stderr
    payload = result.json()
    assert (payload["studies"], payload["papers"]) == (3616, 609)
    assert payload["ms_studies"] < payload["studies"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "spark"], "--engine 'spark' is not one of local, dask"),
        (["--workers", "2"], "--workers and --scheduler apply to --engine dask only"),
        (["--engine", "dask", "--workers", "0"], "--workers 0: give at least 1"),
        (["--input", "no/such/dir"], "no/such/dir: no such file or directory"),
    ],
)
def test_bad_engine_options_are_named(cli, args, message):
    result = cli("build", *args, "--json")
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_an_unreachable_scheduler_is_a_clear_error(store):
    engine = DaskEngine(scheduler="tcp://127.0.0.1:9", connect_timeout=1)
    with pytest.raises(CuremapError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        engine.run(store, [CTGOV_CSV])
    assert store.count_studies() == 0


def test_update_without_the_profile_query_harvests_and_maps_the_whole_registry(cli, monkeypatch, fast_policies):
    from curemap.sources import ctgov_api
    from tests.fake_registry import FakeRegistry, recorded_studies

    fast_policies(ctgov_api, "CTGOV")
    with FakeRegistry(page_size=20) as registry:
        monkeypatch.setenv("CUREMAP_CTGOV_URL", registry.base_url)
        whole = cli("update", "--source", "ctgov", "--no-profile-query", "--json")
        assert whole.exit_code == 0, whole.stderr
        assert "query.cond" not in registry.requests[0].params
        mapped = cli("update", "--source", "ctgov", "--profile-query", "--since", "2000-01-01", "--json")
    assert registry.requests[-1].params["query.cond"] == "multiple sclerosis"
    assert whole.json()["imported"] == len(recorded_studies())
    assert mapped.json()["imported"] == 0
    status = cli("status", "--json").json()
    assert status["studies"] == len(recorded_studies()) and status["ms_studies"] <= status["studies"]


def test_pubmed_as_a_whole_is_built_from_its_baseline_files_not_harvested(cli):
    result = cli("update", "--source", "pubmed", "--no-profile-query", "--json")
    assert result.exit_code == 1
    assert "PubMed cannot be harvested whole" in result.stderr and "--input DIR" in result.stderr


def test_a_partition_of_changed_records_leaves_the_rows_and_change_log_an_import_leaves(store_url, tmp_path):
    """The loader's bulk path over records the store already holds: changed fields (one study
    changed twice in the file), unchanged ones and new ones give, row for row and change by
    change, the store an in-process import of the same files gives once both are enriched."""
    import csv

    from curemap.engine.partitions import load_partition, process_file
    from curemap.pipeline import enrich, import_paths
    from tests.test_store import csv_rows

    rows = csv_rows()
    moved = [dict(row, OverallStatus="WITHDRAWN", Phase="PHASE3", EnrollmentCount="7") for row in rows[:40]]
    files = []
    for name, part in (("first", rows[:150]), ("changed", moved + rows[40:60] + [dict(rows[0], BriefTitle="Walking")] + rows[150:180])):
        files.append(tmp_path / f"{name}.csv")
        with files[-1].open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
    bulk, row_by_row = Store(store_url), Store(f"sqlite:///{tmp_path / 'rows.db'}")
    loaded = [load_partition(bulk, process_file(str(path), str(tmp_path), index)) for index, path in enumerate(files)]
    imported = [import_paths(row_by_row, [path]) for path in files]
    assert [c.to_dict() for c in loaded] == [c.to_dict() for c in imported]
    assert (loaded[1].imported, loaded[1].changed, loaded[1].unchanged) == (30, 41, 20)
    for store in (bulk, row_by_row):
        enrich(store)
    assert rows_of(bulk) == rows_of(row_by_row)
    st = schema.studies
    with bulk.engine.connect() as conn:
        held = {row.id: row for row in conn.execute(select(st.c.id, st.c.status, st.c.phase, st.c.enrollment, st.c.brief_title))}
    assert all((held[row["NCTId"]].status, held[row["NCTId"]].phase, held[row["NCTId"]].enrollment) == ("WITHDRAWN", "phase3", 7) for row in moved[1:])
    assert held[rows[0]["NCTId"]].brief_title == bulk.get_study(rows[0]["NCTId"]).brief_title == "Walking"
    logged = {(c["record_id"], c["field"]) for c in bulk.record_changes() if c["kind"] != "added"}
    assert {(rows[0]["NCTId"], "brief_title"), (rows[5]["NCTId"], "status"), (rows[5]["NCTId"], "enrollment")} <= logged
    bulk.close()
    row_by_row.close()


def test_a_partition_that_cannot_be_read_leaves_the_store_as_it_was_and_no_reader_behind(tmp_path, store):
    """The partition is read on a thread of its own: its error reaches the loader, the import's
    transaction rolls back, and the reading thread ends."""
    import threading

    import pyarrow

    from curemap.engine.partitions import PartitionResult, load_partition, process_file

    load_partition(store, process_file(str(SHARED_DATA / "ctis" / "ctis_ms_20250924.csv"), str(tmp_path), 0))
    broken = tmp_path / "part-000001.parquet"
    broken.write_bytes(b"PAR1 not a partition PAR1")
    with pytest.raises(pyarrow.ArrowInvalid):
        load_partition(store, PartitionResult(path=str(broken), parquet=str(broken)))
    assert store.count_studies() == 104
    assert not [thread for thread in threading.enumerate() if thread.name == "partition-reader"]
