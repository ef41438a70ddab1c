"""The literature CSV against the real file in shared/data/literature and the outcome annotations on it."""

from __future__ import annotations

import csv
import json
from dataclasses import fields

import pytest

from curemap.model import Paper, PartialDate
from curemap.sources import literature_csv
from curemap.sources.literature_csv import COVERS, REQUIRED_COLUMNS, iter_records, looks_like
from tests.conftest import CTGOV_CSV, SHARED_DATA

LITERATURE_CSV = SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"
OUTCOMES = SHARED_DATA / "labels" / "outcomes-dev.jsonl"


@pytest.fixture(scope="module")
def records():
    with LITERATURE_CSV.open(newline="", encoding="utf-8") as handle:
        return list(iter_records(handle, LITERATURE_CSV.name))


@pytest.fixture(scope="module")
def by_id(records) -> dict[str, Paper]:
    return {r.paper.id: r.paper for r in records if r.paper is not None}


def test_every_row_gives_a_record(records):
    assert len(records) == 834
    kinds = [r.source_id.split(":")[0] if r.paper else "error" for r in records]
    assert (kinds.count("PMID"), kinds.count("DOI"), kinds.count("URL"), kinds.count("error")) == (574, 128, 111, 21)
    papers = [r.paper.id for r in records if r.paper]
    assert len(set(papers)) == len(papers)  # every identity names one article
    assert {r.source for r in records} == {"literature_csv"}
    assert all(r.source_id == r.paper.id for r in records if r.paper)


def test_a_page_with_no_pmid_or_doi_is_known_by_its_address(by_id):
    paper = next(p for p in by_id.values() if p.id.startswith("URL:https://www.apta.org/"))
    assert paper.url == paper.id.removeprefix("URL:")
    assert paper.pmid is None and paper.doi is None


def test_a_row_with_no_id_but_a_broken_or_shared_link_is_an_error_naming_it(records):
    errors = {r.source_id: r.error for r in records if r.error}
    assert errors["row 267"] == "link 'https:': not a web address (http:// or https://)"
    shared = [e for e in errors.values() if "scielo.php' is a site's script without its query" in e]
    assert len(shared) == 20 == len(errors) - 1


def test_the_first_row_is_read_whole(by_id):
    paper = by_id["PMID:33607505"]
    assert (paper.pmid, paper.doi, paper.pmcid) == ("33607505", "10.1016/j.jneuroim.2021.577521", None)
    assert paper.title == "COVID-19, HHV6 and MOG antibody: A perfect storm"
    assert paper.citation == (
        "J Neuroimmunol. 2021 Feb 12;353:577521. doi: 10.1016/j.jneuroim.2021.577521. Online ahead of print."
    )
    assert paper.journal == "J Neuroimmunol"
    assert paper.published == PartialDate("2021-02-12", "day")
    assert paper.abstract.startswith("BACKGROUND: Serious neurological complications of SARS-CoV-2")
    assert paper.abstract.endswith("in patients with SARS-CoV-2 associated demyelination.")


def test_the_identifier_line_is_cut_off_and_read(records, by_id):
    for record in records:
        row = json.loads(record.raw)
        if record.paper is None or "PMID:" not in row["abstract"]:
            continue
        assert "PMID:" not in record.paper.abstract
        assert row["abstract"].startswith(record.paper.abstract)
        tail = row["abstract"][len(record.paper.abstract) :]
        if "DOI:" in tail:
            assert tail.endswith(f"DOI: {record.paper.doi}")
    assert by_id["PMID:33604089"].pmcid == "PMC7869444"  # "PMID: … | PMC: PMC7869444 | DOI: …"
    assert by_id["PMID:33628383"].doi == "10.1155/2021/8253742"  # a row whose pmid column is empty


def test_every_annotated_outcome_span_is_still_in_the_abstract(by_id):
    spans = 0
    for line in OUTCOMES.read_text().splitlines():
        article = json.loads(line)
        abstract = by_id[f"PMID:{article['pmid']}"].abstract
        for figure in article["figures"]:
            assert figure["text"] in abstract
            spans += 1
    assert spans == 81


def test_dois_come_from_the_link_when_nothing_else_names_one(by_id):
    paper = by_id["DOI:10.1186/s12882-021-02278-1"]
    assert paper.pmid is None and paper.doi == "10.1186/s12882-021-02278-1"
    assert paper.abstract.endswith("co...")  # a truncated abstract is kept as it is


def test_written_dates_keep_their_precision(by_id):
    assert by_id["PMID:33614166"].published == PartialDate("2021", "year")
    seasons = [p for p in by_id.values() if p.citation and " 2020 Fall;" in p.citation]
    assert [p.published for p in seasons] == [PartialDate("2020", "year")]


def test_each_record_covers_only_what_its_row_gives(records):
    assert COVERS < frozenset(f.name for f in fields(Paper))
    covers = {r.source_id: r.covers for r in records if r.paper}
    assert covers["PMID:33607505"] == {"pmid", "doi", "title", "abstract", "journal", "citation", "url", "published"}
    assert covers["PMID:33604089"] >= {"pmcid"}
    assert covers["DOI:10.1186/s12882-021-02278-1"] == {"doi", "title", "abstract", "url"}


def test_looks_like_knows_the_header():
    with LITERATURE_CSV.open(newline="", encoding="utf-8") as handle:
        assert looks_like(next(csv.reader(handle)))
    with CTGOV_CSV.open(newline="", encoding="utf-8") as handle:
        assert not looks_like(next(csv.reader(handle)))
    assert REQUIRED_COLUMNS == {"pmid", "title", "citation", "abstract", "abstract_truncated"}


def test_a_malformed_pmid_is_an_error():
    row = {"pmid": "33607505x", "title": "t", "citation": "", "abstract": "", "abstract_truncated": "False"}
    with pytest.raises(ValueError, match="not a PubMed id"):
        literature_csv.row_to_paper(row)


def test_a_title_saved_from_the_pubmed_page_loses_the_page_suffix(records):
    """Row 17 of the file was saved from the PubMed web page: its title ends " - PubMed"."""
    titles = [r.paper.title for r in records if r.paper and r.paper.title]
    act = [t for t in titles if t.startswith("ACT-1004-1239")]
    assert act == ["ACT-1004-1239, a first-in-class CXCR7 antagonist with both immunomodulatory and promyelinating effects for the treatment of inflammatory demyelinating diseases"]
    assert not [t for t in titles if t.endswith("PubMed")]
