"""The command line, run in-process, asserting on what it printed and on the rows it wrote."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from curemap.store import Store
from tests.conftest import CTGOV_CSV, RAW_V2, SHARED_DATA

LABELS = SHARED_DATA / "labels" / "ctgov-strategies-dev.csv"

RAW_FILES = sorted(RAW_V2.glob("*.json"))


def test_build_offline_imports_the_whole_snapshot(cli, built_home, home):
    shutil.copytree(built_home, home)
    result = cli("build", "--offline", "--json")
    assert result.exit_code == 0, result.stderr
    payload = result.json()
    with CTGOV_CSV.open(newline="") as handle:
        csv_ids = {row["NCTId"] for row in csv.DictReader(handle)}
    assert payload["studies"] == len(csv_ids) + 104 == 3720
    store = Store.open(home)
    with store.engine.connect() as conn:
        classified = dict(conn.exec_driver_sql("SELECT record_id, is_ms FROM classifications WHERE kind = 'study'").all())
    assert len(classified) == 3720
    assert payload["ms_studies"] == sum(classified.values())
    # About 7% of a registry search for "multiple sclerosis" is about other scleroses.
    assert 0.85 * 3720 < payload["ms_studies"] < 0.97 * 3720
    assert payload["papers"] == 813  # the literature snapshot, less 21 rows nothing identifies
    # Rebuilding unchanged data names the same content-derived snapshot.
    again = cli("build", "--offline", "--json").json()
    assert again["snapshot"] == payload["snapshot"]


def test_status_reports_each_source(cli, built):
    result = cli("status", "--json")
    assert result.exit_code == 0
    payload = result.json()
    assert payload["studies"] == 3720
    assert payload["sources"]["ctgov"]["records"] == 3616
    assert payload["sources"]["ctis"]["records"] == 104
    assert payload["sources"]["ctgov"]["last_update"].startswith("20")


def test_show_a_snapshot_study(cli, built):
    with CTGOV_CSV.open(newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["NCTId"] == "NCT01743651")
    result = cli("show", "nct01743651", "--json")
    assert result.exit_code == 0, result.stderr
    record = result.json()
    assert record["id"] == "NCT01743651"
    assert record["brief_title"] == row["BriefTitle"]
    assert record["phase"] == "phase3"
    assert record["enrollment"] == 353
    assert record["provenance"]["origin"] == "ctgov_ms_20250925.csv.gz"
    assert [c["kind"] for c in record["changes"]] == ["added"]


def test_show_gives_every_label_with_its_evidence(cli, built):
    with LABELS.open(newline="") as handle:
        labels = list(csv.DictReader(handle))
    for row in labels:
        record = cli("show", row["nct_id"], "--json").json()
        assert record["is_ms"] is not row["note"].startswith("NOT_MS:")
        if not record["is_ms"]:  # its labels are the not-MS defaults; the evidence says why
            assert any(e["label"] == "not_ms" for e in record["evidence"])
            continue
        for label in record["strategies"] + record["phenotypes"]:
            evidence = [e for e in record["evidence"] if e["label"] == label]
            assert evidence, (row["nct_id"], label)
            assert all(e["text"] and e["field"] for e in evidence)
    car_t = [r["nct_id"] for r in labels if "car_t" in r["strategies"].split(";")]
    assert car_t
    for nct_id in car_t:
        assert "car_t" in cli("show", nct_id, "--json").json()["strategies"]


def test_strategies_give_stage_and_counts(cli, built):
    payload = cli("strategies", "--json").json()["strategies"]
    by_id = {s["id"]: s for s in payload}
    assert {"ahsct", "car_t", "msc", "gene_therapy", "anti_cd20"} <= set(by_id)
    assert by_id["ahsct"]["curative_intent"] and not by_id["anti_cd20"]["curative_intent"]
    assert by_id["anti_cd20"]["stage"] in ("phase3", "phase4")
    for entry in payload:
        assert entry["studies"] == sum(entry["by_status"].values())
        if entry["stage"] is not None:
            stage_study = cli("show", entry["stage_studies"][0], "--json").json()
            assert stage_study["phase"] == entry["stage"]
            assert entry["id"] in stage_study["strategies"] and stage_study["is_ms"]
            assert stage_study["status"] != "WITHDRAWN" and stage_study["study_type"] == "INTERVENTIONAL"


def test_classify_prints_one_line_per_row(cli, tmp_path):
    with CTGOV_CSV.open(newline="") as handle:
        head = [next(handle) for _ in range(1)]
        reader = csv.DictReader(handle, fieldnames=next(csv.reader(head)))
        rows = [next(reader) for _ in range(25)]
    sample = tmp_path / "sample.csv"
    with sample.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = cli("classify", sample, "--json")
    assert result.exit_code == 0, result.stderr
    lines = result.json_lines()
    assert [line["id"] for line in lines] == [r["NCTId"] for r in rows]
    assert all(set(line) == {"id", "is_ms", "strategies", "phenotypes", "curative_intent"} for line in lines)
    assert cli("status", "--json").json()["studies"] == 0  # nothing stored


def test_eval_reaches_the_acceptance_floor(cli):
    result = cli("eval", "--labels", LABELS, "--studies", CTGOV_CSV, "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["micro_f1"] >= 0.90 and report["macro_f1"] >= 0.88
    assert report["curative_accuracy"] >= 0.96 and report["not_ms_accuracy"] >= 0.98


def test_show_an_unknown_id_is_a_handled_error(cli, built):
    result = cli("show", "NCT99999999", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "NCT99999999" in result.stderr and "no such study" in result.stderr


def test_all_raw_v2_records_and_pages_import(cli):
    result = cli("import", *RAW_FILES, "--json")
    assert result.exit_code == 0, result.stderr
    payload = result.json()
    assert payload["rejected"] == []
    assert payload["imported"] == 31  # 13 single records + 18 studies on the 4 pages

    record = cli("show", "NCT02210780", "--json").json()
    source = json.loads((RAW_V2 / "NCT02210780.json").read_text())
    posted = source["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"]
    assert {v["outcome_title"] for v in record["result_values"]} == {m["title"] for m in posted}
    serious = source["resultsSection"]["adverseEventsModule"]["seriousEvents"]
    assert {a["term"] for a in record["adverse_events"] if a["seriousness"] == "serious"} == {
        e["term"] for e in serious
    }
    assert record["eligibility"]["criteria"].startswith("Key Inclusion Criteria")


def test_a_newer_api_record_updates_the_snapshot_and_logs_what_changed(cli, built):
    page = RAW_V2 / "page_search_ms_recruiting_portland.json"
    payload = cli("import", page, "--json").json()
    assert payload["changed"] == 5 and payload["imported"] == 0
    record = cli("show", "NCT06441617", "--json").json()
    api = json.loads(page.read_text())["studies"]
    api_status = next(
        s["protocolSection"]["statusModule"]["overallStatus"]
        for s in api
        if s["protocolSection"]["identificationModule"]["nctId"] == "NCT06441617"
    )
    assert record["status"] == api_status
    kinds = {c["kind"] for c in record["changes"]}
    assert "added" in kinds and len(kinds) > 1
    assert record["eligibility"]["criteria"]
    # Re-importing the older snapshot neither rolls the study back nor loses the eligibility text.
    cli("build", "--offline", "--json")
    again = cli("show", "NCT06441617", "--json").json()
    assert again["status"] == api_status
    assert again["eligibility"]["criteria"] == record["eligibility"]["criteria"]


def test_import_rejects_an_unrecognised_file_with_a_clear_error(cli, tmp_path):
    bogus = tmp_path / "notes.csv"
    bogus.write_text("a,b,c\n1,2,3\n")
    result = cli("import", bogus, "--json")
    assert result.exit_code == 1
    assert "notes.csv" in result.stderr and "not a recognised format" in result.stderr
    missing = cli("import", tmp_path / "nope.json")
    assert missing.exit_code == 1 and "no such file" in missing.stderr


def test_a_truncated_json_file_imports_nothing_and_says_so(cli, tmp_path):
    text = (RAW_V2 / "NCT02210780.json").read_text()
    broken = tmp_path / "broken.json"
    broken.write_text(text[: len(text) // 2])
    result = cli("import", broken, "--json")
    assert result.exit_code == 1
    assert "broken.json" in result.stderr and "not valid JSON" in result.stderr
    assert cli("status", "--json").json()["studies"] == 0


def test_usage_errors_exit_with_status_2(cli):
    assert cli("export", "--format").exit_code == 2
    assert cli("no-such-command").exit_code == 2


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_writes_every_table(cli, built, tmp_path, fmt):
    out = tmp_path / "out"
    result = cli("export", "--format", fmt, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    files = result.json()["files"]
    names = sorted(p.rsplit("/", 1)[-1] for p in files)
    assert names == sorted(
        f"{t}.{fmt}" for t in ("studies", "interventions", "locations", "result_values", "adverse_events", "changes")
    )
    studies_file = out / f"studies.{fmt}"
    if fmt == "csv":
        with studies_file.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    elif fmt == "json":
        rows = json.loads(studies_file.read_text())
    else:
        import pyarrow.parquet as pq

        rows = pq.read_table(studies_file).to_pylist()
    assert len(rows) == 3720
    by_id = {r["id"]: r for r in rows}
    assert by_id["NCT01743651"]["brief_title"].startswith("Efficacy Study of Arbaclofen")
    net_ms = by_id["2024-515470-26-00"]  # aHSCT tested, alemtuzumab its comparator; one trial
    roles = net_ms["roles"] if fmt == "json" else dict(pair.split("=") for pair in net_ms["roles"].split("|"))
    tested = net_ms["tested_strategies"] if fmt == "json" else net_ms["tested_strategies"].split("|")
    assert roles["ahsct"] == "tested" and roles["alemtuzumab"] == "comparator" and tested == ["ahsct"]
    assert net_ms["is_ms"] in (True, "true", "True") and net_ms["trial_id"] and net_ms["purpose"] == "treatment"
    restore = {by_id["NCT05338450"]["trial_id"], by_id["2024-513099-17-00"]["trial_id"]}
    assert restore == {"NCT05338450"}
    paediatric = [r for r in rows if "paediatric_only" in (r["populations"] if fmt == "json" else r["populations"].split("|"))]
    assert paediatric and all(r["is_ms"] in (True, "true", "True") for r in paediatric)


def test_every_command_help_ends_with_an_example(cli):
    from curemap.cli import app

    import typer.main

    group = typer.main.get_command(app)
    for name in group.commands:
        result = cli(name, "--help")
        assert result.exit_code == 0
        assert "Example: curemap" in result.stdout, name


def test_export_csv_escapes_a_hyperlink_formula_as_the_web_download_does(cli, tmp_path):
    """Reproduces issue 13: `export --format csv` wrote `=HYPERLINK(…)` cells unescaped."""
    from curemap.web.downloads import csv_cell

    study = json.loads((RAW_V2 / "NCT02210780.json").read_text(encoding="utf-8"))
    formula = '=HYPERLINK("http://attacker.invalid","click")'
    study["protocolSection"]["identificationModule"]["briefTitle"] = formula
    path = tmp_path / "formula.json"
    path.write_text(json.dumps(study), encoding="utf-8")
    assert cli("import", path).exit_code == 0
    assert cli("export", "--format", "csv", "--out", tmp_path / "out").exit_code == 0
    with (tmp_path / "out" / "studies.csv").open(newline="", encoding="utf-8") as handle:
        (row,) = csv.DictReader(handle)
    assert row["brief_title"] == csv_cell(formula) == "'" + formula
    assert row["enrollment"] == str(study["protocolSection"]["designModule"]["enrollmentInfo"]["count"])
