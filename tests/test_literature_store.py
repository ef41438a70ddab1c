"""Papers in the store: import, idempotency, withdrawals, and links to trials shown both ways."""

from __future__ import annotations

import csv
import gzip
import re

import pytest

from curemap.store import Store
from tests.conftest import CTGOV_CSV, SHARED_DATA

LITERATURE_CSV = SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"
PUBMED = SHARED_DATA / "pubmed"


@pytest.fixture
def cli(store_url, cli):
    """The CLI on a fresh store: the home's SQLite file, or a new PostgreSQL database."""
    return lambda *args: cli("--db", store_url, *args)


@pytest.fixture
def with_literature(cli):
    assert cli("import", CTGOV_CSV, LITERATURE_CSV, "--json").exit_code == 0
    return cli


def test_the_literature_csv_imports_and_reimports_unchanged(cli):
    first = cli("import", LITERATURE_CSV, "--json")
    assert first.exit_code == 0, first.stderr
    payload = first.json()
    assert (payload["imported"], payload["changed"], payload["unchanged"]) == (813, 0, 0)
    assert len(payload["rejected"]) == 21 and "row 267" in {r["record"] for r in payload["rejected"]}
    again = cli("import", LITERATURE_CSV, "--json").json()
    assert (again["imported"], again["changed"], again["unchanged"]) == (0, 0, 813)
    assert cli("status", "--json").json()["papers"] == 813


def test_a_paper_is_shown_with_its_classification_and_design(with_literature):
    record = with_literature("show", "PMID:33607505", "--json").json()
    assert record["title"] == "COVID-19, HHV6 and MOG antibody: A perfect storm"
    assert record["doi"] == "10.1016/j.jneuroim.2021.577521"
    assert isinstance(record["is_ms"], bool)
    assert record["design"]
    assert record["provenance"]["origin"] == LITERATURE_CSV.name
    assert with_literature("show", "pmid:33607505", "--json").json()["id"] == "PMID:33607505"
    missing = with_literature("show", "PMID:1", "--json")
    assert missing.exit_code == 1 and "PMID:1" in missing.stderr


def test_registry_numbers_in_abstracts_link_papers_and_trials_both_ways(with_literature):
    with LITERATURE_CSV.open(newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["pmid"] == "33618120")
    assert "NCT04061681" in row["abstract"]
    paper = with_literature("show", "PMID:33618120", "--json").json()
    assert {"paper_id": "PMID:33618120", "study_id": "NCT04061681", "via": "text"} in [
        {k: link[k] for k in ("paper_id", "study_id", "via")} for link in paper["links"]
    ]
    evidence = next(link["evidence"] for link in paper["links"] if link["study_id"] == "NCT04061681")
    field, start, end = re.fullmatch(r"(\w+)\[(\d+):(\d+)\]", evidence).groups()
    assert paper[field][int(start) : int(end)] == "NCT04061681"
    study = with_literature("show", "NCT04061681", "--json").json()
    assert "PMID:33618120" in {link["paper_id"] for link in study["links"]}


def test_pubmed_xml_imports_and_a_delete_citation_withdraws_a_paper(cli, tmp_path):
    result = cli("import", PUBMED / "medline16n0902.xml.gz", PUBMED / "pubmed-29768149.xml", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["imported"] == 605
    record = cli("show", "PMID:29768149", "--json").json()
    assert record["mesh"] and record["authors"]

    # A withdrawal in the shape MEDLINE files carry it (see the end of medline16n0902.xml.gz).
    withdrawal = tmp_path / "withdrawal.xml.gz"
    with gzip.open(withdrawal, "wt", encoding="utf-8") as handle:
        handle.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<MedlineCitationSet>\n<DeleteCitation>\n'
            '<PMID Version="1">29768149</PMID>\n</DeleteCitation>\n</MedlineCitationSet>\n'
        )
    payload = cli("import", withdrawal, "--json").json()
    assert payload["changed"] == 1
    assert cli("status", "--json").json()["papers"] == 604
    kept = cli("show", "PMID:29768149", "--json").json()
    assert kept["title"] == record["title"]
    assert kept["changes"][-1]["kind"] == "deleted"


def test_a_thinner_paper_record_keeps_what_pubmed_gave(cli, tmp_path):
    assert cli("import", PUBMED / "pubmed-29768149.xml").exit_code == 0
    before = cli("show", "PMID:29768149", "--json").json()
    thin = tmp_path / "thin.csv"
    with thin.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["pmid", "title", "citation", "abstract", "abstract_truncated", "source", "discovered", "link"])
        writer.writerow(["29768149", before["title"], "", "", "False", "pubmed", "2021-01-01T00:00:00", ""])
    assert cli("import", thin, "--json").json()["unchanged"] == 1
    after = cli("show", "PMID:29768149", "--json").json()
    assert after["mesh"] == before["mesh"] and after["abstract"] == before["abstract"]


def test_papers_are_part_of_the_snapshot_identity(cli, store_url):
    cli("import", LITERATURE_CSV)
    store = Store(store_url)
    first = store.record_snapshot({})
    assert store.record_snapshot({}) == first
    cli("import", PUBMED / "pubmed-29768149.xml")
    assert store.record_snapshot({}) != first
    store.close()
