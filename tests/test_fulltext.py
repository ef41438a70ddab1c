"""Open-access full text: a JATS article in Europe PMC's shape read into its parts, figures
taken from its own results only, and the harvest storing it with provenance, searchable."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from curemap.enrich.outcomes import OutcomeExtractor
from curemap.enrich.pipeline import paper_figures
from curemap.model import Paper
from curemap.profile import load_profile
from curemap.sources import europepmc
from curemap.sources.jats import parse_evidence_inference, parse_jats, section_kind
from curemap.store import Store, schema
from curemap.store.search import matching_ids
from tests.conftest import SHARED_DATA
from tests.fake_literature import FakeLiterature, recorded_articles

FIXTURE = Path(__file__).parent / "data" / "fulltext" / "PMC4361464.xml"
"""Excerpts of a real open-access article (the evidence-inference MS set's PMC4361464), in the
JATS Europe PMC serves: structured abstract, introduction, methods, results with a table, and a
discussion quoting the overall population's figures from another paper (reference 12)."""


@pytest.fixture(scope="module")
def extractor():
    return OutcomeExtractor(load_profile())


def test_the_fixture_parses_into_parts_with_the_results_first():
    parts = parse_jats(FIXTURE.read_text(encoding="utf-8"))
    kinds = [part.kind for part in parts]
    assert kinds == ["abstract", "abstract", "abstract", "abstract_results", "results", "results", "table",
                     "discussion", "methods", "introduction"]
    assert parts[4].title == "Results / Clinical efficacy"
    assert "Any adverse event | 205 (92) | 214 (97) | 221 (95)" in parts[6].text
    assert "overall safety population.12" in parts[7].text  # the citation stays with its sentence


def test_results_figures_come_with_spans_and_the_discussions_quotes_do_not(extractor):
    parts = parse_jats(FIXTURE.read_text(encoding="utf-8"))
    paper = Paper(id="PMCID:PMC4361464", source="europepmc", title="delayed-release dimethyl fumarate in relapsing–remitting multiple sclerosis", full_text=parts)
    rows = paper_figures(extractor, paper)
    found = {(row["measure"], row["value"]) for row in rows}
    assert {("arr", 0.38), ("arr_reduction", 56.0), ("adverse_event", 92.0), ("adverse_event", 5.0)} <= found
    for row in rows:
        index = int(row["source_field"].removeprefix("full_text[").removesuffix("]"))
        assert parts[index].kind in ("abstract_results", "results", "table")
        assert parts[index].text[row["start"] : row["end"]] == row["text"]
    # read on its own the discussion gives figures; none of the paper's come from it, nor from reference 12
    discussion = next(part for part in parts if part.kind == "discussion")
    assert extractor.extract(discussion.text, about_condition=True)
    assert not {("adverse_event", 93.0), ("adverse_event", 94.0), ("adverse_event", 14.0)} & found


def test_section_kinds_from_titles_and_types():
    assert section_kind("Patients and methods") == "methods"
    assert section_kind("2. Results") == "results"
    assert section_kind("Safety") is None
    assert section_kind(None, "discussion") == "discussion"
    text = (SHARED_DATA / "literature" / "evidence-inference-ms" / "txt_files" / "PMC5027814.txt").read_text()
    kinds = {(p.title, p.kind) for p in parse_evidence_inference(text)}
    assert ("RESULTS", "abstract_results") in kinds and ("CLINICAL OUTCOMES", "results") in kinds
    assert ("DISCUSSION", "discussion") in kinds


def test_not_jats_is_an_error():
    with pytest.raises(ValueError, match="no <article>"):
        parse_jats("<PubmedArticleSet/>")


def test_the_harvest_stores_open_full_text_with_provenance_and_it_is_searched(tmp_path, open_client, monkeypatch):
    monkeypatch.delenv("CUREMAP_CONTACT_EMAIL", raising=False)
    pmid = recorded_articles()[0].pmid
    jats = FIXTURE.read_text(encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    with FakeLiterature(open_access={pmid: ("PMC4361464", jats)}) as fake:
        client = open_client("CUREMAP_EUROPEPMC_URL", fake.europepmc_url, europepmc.policy)
        europepmc.harvest(store, client, query='"multiple sclerosis"', full_text=lambda result, paper: result.get("isOpenAccess") == "Y")
        fetched = fake.requests_to("/fullTextXML")
    assert [r.path for r in fetched] == [f"{fake.europepmc_url.removeprefix(fake.base)}/PMC4361464/fullTextXML"]
    paper = store.get_paper(f"PMID:{pmid}")
    assert paper.title and paper.abstract is not None  # the search record's fields are kept
    assert [p.kind for p in paper.full_text][3:5] == ["abstract_results", "results"]
    assert paper.full_text_url.endswith("/PMC4361464/fullTextXML")
    with store.connect() as conn:
        raw = conn.execute(select(schema.raw_records).where(schema.raw_records.c.source_id == f"PMID:{pmid}",
                                                            schema.raw_records.c.content == jats)).one()
        assert raw.origin.endswith("/PMC4361464/fullTextXML") and raw.source == "europepmc"
        assert f"PMID:{pmid}" in {row.record_id for row in conn.execute(matching_ids("paper", "nasopharyngitis flushing", "sqlite"))} or \
            f"PMID:{pmid}" in {row.record_id for row in conn.execute(matching_ids("paper", "Flushing", "sqlite"))}
