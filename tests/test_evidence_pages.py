"""Results of comparisons and outcome figures where people look: study and paper pages show each
comparison as "X vs Y on Z: verdict (effect, CI; n)" with the words behind it, primary outcomes
first, and each figure as a sentence with the clause that states it; untrusted words escaped."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

from curemap.enrich.comparisons import Comparison
from curemap.store import Store, schema
from curemap.web import create_app
from tests.conftest import RAW_V2

WITH_ANALYSES = "NCT02552212"  # a real record with posted outcome measures and their analyses
SCRIPT = '<script>alert("x")</script>'


def _imported(built: Path, cli, tmp_path: Path, change=None) -> Store:
    record = json.loads((RAW_V2 / f"{WITH_ANALYSES}.json").read_text(encoding="utf-8"))
    if change:
        change(record)
    path = tmp_path / f"{WITH_ANALYSES}.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    assert cli("import", path).exit_code == 0
    return Store.open(built)


def test_study_page_shows_posted_comparisons_primary_first_with_their_words(built, cli, tmp_path):
    store = _imported(built, cli, tmp_path)
    try:
        stored = store.comparisons_of(WITH_ANALYSES)
        assert len(stored) > 10 and any(c["is_primary"] for c in stored)
        page = TestClient(create_app(store)).get(f"/studies/{WITH_ANALYSES}").text
        section = page[page.index("<h2>Results of comparisons</h2>") : page.index("<h2>Outcome figures</h2>")]
        for row in stored:
            summary = Comparison.from_row(row).summary()
            assert str(escape(summary)) in section
            assert f'<q class="source-text">{escape(row["text"])}</q>' in section
        primary = [Comparison.from_row(r).summary() for r in stored if r["is_primary"]]
        assert section.count("<strong>Primary outcome:</strong>") == len(primary)
        last_primary = max(section.index(str(escape(s))) for s in primary)
        others = [Comparison.from_row(r).summary() for r in stored if not r["is_primary"]]
        assert all(section.index(str(escape(s))) > last_primary for s in others)
        # the reading a person follows: who against whom, on what, which way, with the effect and n
        assert (
            "CZP 200 mg Q2W (FAS) vs Placebo (FAS) on Percentage of Subjects With Ankylosing Spondylitis Disease "
            "Activity Score Major Improvement (ASDAS-MI) Response Criteria Response at Week 52: better "
            "(Odds Ratio (OR) 15.231, 95% CI 7.336 to 31.623, p &lt;0.001; n 317)"
        ) in section
    finally:
        store.close()


def test_study_page_shows_posted_figures_as_sentences(built, cli, tmp_path):
    store = _imported(built, cli, tmp_path)
    try:
        page = TestClient(create_app(store)).get(f"/studies/{WITH_ANALYSES}").text
        figures = page[page.index("<h2>Outcome figures</h2>") :]
        assert (
            "63.9% of 158 had adverse Events (Placebo (SS)), from Baseline up to the End of Safety Follow-up "
            "Extension Period (up to Week 156)."
        ) in figures
        assert "<mark>Percentage of Subjects With Treatment-Emergent Adverse Events (TEAEs) During the Study " in figures
        assert "from the words" not in page and "time point:" not in page
    finally:
        store.close()


def test_untrusted_words_of_a_comparison_are_escaped(built, cli, tmp_path):
    def hostile(record):
        for measure in record["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"]:
            if measure.get("analyses"):
                measure["title"] = f"{SCRIPT} {measure['title']}"
                for group in measure["groups"]:
                    group["title"] = f"{group['title']} {SCRIPT}"

    store = _imported(built, cli, tmp_path, hostile)
    try:
        page = TestClient(create_app(store)).get(f"/studies/{WITH_ANALYSES}").text
        assert SCRIPT not in page
        section = page[page.index("<h2>Results of comparisons</h2>") : page.index("<h2>Outcome figures</h2>")]
        assert section.count("&lt;script&gt;") >= 2 * len(store.comparisons_of(WITH_ANALYSES))
    finally:
        store.close()


def test_paper_page_shows_an_abstracts_comparison_and_figures_with_their_clause(client, built_store):
    paper = "PMID:33724637"
    (row,) = built_store.comparisons_of(paper)
    page = client.get(f"/papers/{paper}").text
    assert (
        "ocrelizumab earlier vs delayed treatment on risk of requiring a walking aid confirmed for ≥24 weeks: "
        "better (HR 0.66, p =0.024)"
    ) in page
    assert f'<q class="source-text">{escape(row["text"])}</q>' in page
    fig = schema.outcome_figures
    with built_store.engine.connect() as conn:
        listed = conn.execute(select(fig).where(fig.c.record_id == "PMID:33709887", fig.c.text == "rubefaction (16)")).first()
    assert listed is not None and listed.n == 55
    page = client.get("/papers/PMID:33709887").text
    assert (
        "16 of 55 had rubefaction. <span class=\"meta\">(abstract)</span><br><q class=\"source-text\">The most common "
        "adverse events were lymphopenia (27), <mark>rubefaction (16)</mark>, digestive symptoms (11)"
    ) in page
