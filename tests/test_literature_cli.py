"""The literature end to end through the command line: live harvests against fake E-utilities and
Europe PMC servers on 127.0.0.1, outcome extraction with exact spans, and pooled evidence that
traces back to the words of its sources."""

from __future__ import annotations

import json

import pytest

from curemap.sources import europepmc, eutils
from tests.conftest import CTGOV_CSV, SHARED_DATA
from tests.fake_literature import FakeLiterature
from tests.fake_registry import Fault

LITERATURE_CSV = SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"
OUTCOME_LABELS = SHARED_DATA / "labels" / "outcomes-dev.jsonl"
BROKEN = "26255087"


@pytest.fixture
def fast_literature_policies(fast_policies):
    """Keep the real retry logic but shrink its waits, so the faults cost milliseconds."""
    fast_policies(eutils, "EUTILS")
    fast_policies(europepmc, "EUROPEPMC")


def test_update_pubmed_survives_faults_reports_the_bad_record_and_enriches(
    cli, monkeypatch, fast_literature_policies
):
    assert cli("import", CTGOV_CSV, "--json").exit_code == 0
    faults = {1: Fault.RATE_LIMITED, 2: Fault.RATE_LIMITED_RETRY_AFTER, 4: Fault.UNAVAILABLE, 5: Fault.TRUNCATED_UNDECLARED}
    with FakeLiterature(faults=faults, broken_date=BROKEN, retry_after="0") as fake:
        monkeypatch.setenv("CUREMAP_EUTILS_URL", fake.eutils_url)
        result = cli("update", "--source", "pubmed", "--json")
    assert result.exit_code == 0, result.stderr
    payload = result.json()
    assert payload["imported"] == 608
    assert payload["rejected"] == [
        {"source": "pubmed", "record": f"PMID:{BROKEN}", "error": f"PMID:{BROKEN}: PubDate '20x6' is not a date"}
    ]
    status = cli("status", "--json").json()
    assert status["papers"] == 608 and status["studies"] == 3616
    paper = cli("show", "PMID:29768149", "--json").json()
    assert paper["design"] and paper["is_ms"] is False
    assert paper["provenance"]["source"] == "pubmed"


def test_update_europepmc_stores_the_same_articles(cli, monkeypatch, fast_literature_policies):
    with FakeLiterature() as fake:
        monkeypatch.setenv("CUREMAP_EUROPEPMC_URL", fake.europepmc_url)
        result = cli("update", "--source", "europepmc", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["imported"] == 609
    assert cli("show", "PMID:29768149", "--json").json()["provenance"]["source"] == "europepmc"


def test_update_all_goes_on_when_one_source_fails(cli, monkeypatch, fast_literature_policies):
    with FakeLiterature() as fake:
        monkeypatch.setenv("CUREMAP_EUTILS_URL", fake.eutils_url)
        monkeypatch.setenv("CUREMAP_EUROPEPMC_URL", fake.europepmc_url)
        monkeypatch.setenv("CUREMAP_CTGOV_URL", fake.eutils_url + "/no-registry-here")
        result = cli("update", "--source", "all", "--json")
    assert result.exit_code == 0, result.stderr
    payload = result.json()
    assert set(payload["failed"]) == {"ctgov"}
    assert set(payload["sources"]) == {"pubmed", "europepmc"}
    assert payload["imported"] == 609  # the same articles from both sources


def _gold_abstracts(count: int) -> list[dict]:
    with OUTCOME_LABELS.open() as handle:
        gold = [json.loads(line) for line in handle]
    wanted = [g for g in gold if g["figures"]][:count]
    from curemap.sources.files import iter_file_records

    abstracts = {
        r.paper.pmid: r.paper.abstract for r in iter_file_records(LITERATURE_CSV) if r.paper and r.paper.pmid
    }
    return [{"id": g["pmid"], "text": abstracts[g["pmid"]], "gold": g["figures"]} for g in wanted]


def test_extract_prints_figures_whose_text_is_the_input_span(cli, tmp_path):
    items = _gold_abstracts(8)
    jsonl = tmp_path / "abstracts.jsonl"
    jsonl.write_text("".join(json.dumps({"id": i["id"], "text": i["text"]}) + "\n" for i in items))
    result = cli("extract", jsonl, "--json")
    assert result.exit_code == 0, result.stderr
    figures = result.json_lines()
    texts = {i["id"]: i["text"] for i in items}
    assert figures
    for figure in figures:
        assert set(figure) == {
            "id", "measure", "value", "unit", "n", "timepoint", "group", "event", "text", "start", "end",
            "clause", "clause_start", "clause_end", "statement",
        }  # fmt: skip
        assert figure["text"] == texts[figure["id"]][figure["start"] : figure["end"]]
        assert figure["clause"] == texts[figure["id"]][figure["clause_start"] : figure["clause_end"]]
        assert figure["clause_start"] <= figure["start"] and figure["end"] <= figure["clause_end"]
        assert figure["statement"].endswith(".") and f"{figure['value']:g}" in figure["statement"]
    for item in items:
        found = {(f["measure"], f["value"]) for f in figures if f["id"] == item["id"]}
        assert {(g["measure"], g["value"]) for g in item["gold"]} <= found

    plain = tmp_path / "abstract.txt"
    plain.write_text(items[0]["text"])
    from_file = cli("extract", plain, "--json").json_lines()
    assert {(f["measure"], f["value"]) for f in from_file} == {
        (f["measure"], f["value"]) for f in figures if f["id"] == items[0]["id"]
    }
    assert {f["id"] for f in from_file} == {"abstract.txt"}


def test_eval_reports_both_classifier_and_extractor(cli):
    result = cli("eval", "--labels", SHARED_DATA / "labels" / "ctgov-strategies-dev.csv", "--outcomes", OUTCOME_LABELS, "--json")
    assert result.exit_code == 0, result.stderr
    payload = result.json()
    assert payload["strategies"]["micro_f1"] >= 0.90
    outcomes = payload["outcomes"]
    assert outcomes["overall"]["precision"] >= 0.90 and outcomes["overall"]["recall"] >= 0.80
    assert outcomes["spans_exact"] and outcomes["bad_spans"] == []


def test_pooled_evidence_traces_to_the_words_of_each_source(cli, tmp_path):
    assert cli("build", "--offline").exit_code == 0
    result = cli("evidence", "--figures", tmp_path / "forest", "--json")
    assert result.exit_code == 0, result.stderr
    estimates = result.json()["estimates"]
    assert estimates
    for entry in estimates:
        estimate = entry["estimate"]
        assert estimate["k"] == len(entry["figures"]) >= 1
        assert estimate["total_patients"] == sum(f["total"] for f in entry["figures"])
        for figure in entry["figures"]:
            record = cli("show", figure["record_id"], "--json").json()
            assert record["is_ms"] and entry["strategy"] in record["strategies"]
            assert any(
                (o["text"], o["start"], o["end"]) == (figure["text"], figure["start"], figure["end"])
                for o in record["outcomes"]
            )
            if figure["source_field"] == "abstract":
                assert record["abstract"][figure["start"] : figure["end"]] == figure["text"]
    svgs = sorted((tmp_path / "forest").glob("*.svg"))
    assert len(svgs) == len(estimates)
    bad = cli("evidence", "--strategy", "not_a_strategy")
    assert bad.exit_code == 1 and "not_a_strategy" in bad.stderr
