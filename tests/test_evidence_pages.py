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


def _as_ms_transplant_trial(record):
    """The real record's results, registered as an MS trial of a curative strategy, so the review's
    part on that strategy has posted comparisons to show."""
    protocol = record["protocolSection"]
    protocol["identificationModule"]["briefTitle"] = "Autologous haematopoietic stem cell transplantation in multiple sclerosis"
    protocol["identificationModule"]["officialTitle"] = protocol["identificationModule"]["briefTitle"]
    protocol["conditionsModule"]["conditions"] = ["Multiple Sclerosis"]
    protocol["conditionsModule"]["keywords"] = ["multiple sclerosis"]
    protocol["armsInterventionsModule"]["interventions"][0]["name"] = "Autologous hematopoietic stem cell transplantation"
    protocol["armsInterventionsModule"]["interventions"][0]["otherNames"] = ["aHSCT"]


def test_the_review_shows_a_strategys_comparisons_and_what_its_pools_leave_out(built, cli, tmp_path):
    from curemap.analysis.evidence import synthesise
    from curemap.profile import load_profile
    from curemap.report import build_report

    store = _imported(built, cli, tmp_path, _as_ms_transplant_trial)
    try:
        profile = load_profile()
        assert "ahsct" in store.get_classification(WITH_ANALYSES)["strategies"]
        statements = [s.text for s in build_report(store, profile).statements()]
        primary = [Comparison.from_row(r) for r in store.comparisons_of(WITH_ANALYSES) if r["is_primary"]]
        said = [t for t in statements if t.startswith("One trial's posted results compare on its primary outcome ")]
        assert said and all(any(c.summary() in t and "in its words “" in t for c in primary) for t in said)
        # every pool's part says what it left out, with the reasons the evidence gives
        synthesis = synthesise(store, profile)
        left, pooled = synthesis.left_out, {e.strategy for e in synthesis.evidence}
        for strategy in pooled & {f.strategy for f in left} & {s.id for s in profile.strategies if s.group in {g.id for g in profile.groups if g.curative_intent}}:
            reasons = {f.reason for f in left if f.strategy == strategy}
            assert any(t.startswith("Left out of these pools: ") and any(r in t for r in reasons) for t in statements)
        # a single figure reads as a sentence with its clause, not "measure: value (unit)"
        singles = [t for t in statements if t.startswith(("One paper reports: ", "One trial's posted results reports: "))]
        assert all(", in its words “" in t for t in singles)
        # a ratio alone is no evidence for the treatment: the transplant paper's odds ratio (of age,
        # for menstrual recovery) is stored but only comparisons state ratios
        ratios = [f for f in store.figures_of("PMID:33709839") if f["unit"] == "ratio"]
        assert ratios and not [t for t in singles if "ratio" in t]
    finally:
        store.close()


def test_pools_take_only_complete_figures_and_keep_the_rest_with_a_reason(built_store):
    from curemap.analysis.evidence import NO_DENOMINATOR, SMALLER, synthesise
    from curemap.profile import load_profile

    profile = load_profile()
    synthesis = synthesise(built_store, profile)
    pooled, left = [f for e in synthesis.evidence for f in e.figures], synthesis.left_out
    assert pooled and left
    assert all(f.total and 0 <= f.events <= f.total for f in pooled)
    assert {f.reason for f in left} >= {NO_DENOMINATOR, SMALLER}
    assert all(f.n is None for f in left if f.reason == NO_DENOMINATOR)
    pooled_keys = {(f.record_id, f.text) for f in pooled}
    assert not pooled_keys & {(f.record_id, f.text) for f in left}


def test_strategy_page_shows_its_comparisons_and_what_its_pools_leave_out(built, cli, tmp_path):
    from curemap.analysis.evidence import synthesise
    from curemap.profile import load_profile

    store = _imported(built, cli, tmp_path, _as_ms_transplant_trial)
    try:
        client = TestClient(create_app(store))
        page = client.get("/strategies/ahsct").text
        section = page[page.index("<h2>Results of comparisons</h2>") :]
        rows = store.comparisons_of(WITH_ANALYSES)
        first = sorted(rows, key=lambda r: not r["is_primary"])[0]
        assert section.index("<strong>Primary outcome:</strong> " + str(escape(Comparison.from_row(first).summary()))) >= 0
        assert f'<a href="/studies/{WITH_ANALYSES}">{WITH_ANALYSES}</a>, posted results)' in section
        left = synthesise(store, load_profile()).left_out
        strategy = next(f.strategy for f in left)
        page = client.get(f"/strategies/{strategy}").text
        pools = page[page.index("<h2>Pooled evidence</h2>") : page.index("<h2>Results of comparisons</h2>")]
        assert "<h3>Left out of the pools</h3>" in pools
        for reason in {f.reason for f in left if f.strategy == strategy}:
            n = sum(f.reason == reason for f in left if f.strategy == strategy)
            assert f"{n} figure{'s' if n != 1 else ''}: {escape(reason)} — " in pools
    finally:
        store.close()


def test_the_api_gives_a_strategys_left_out_shares_with_their_reasons(client, built_store):
    from curemap.analysis.evidence import synthesise
    from curemap.profile import load_profile

    left = synthesise(built_store, load_profile()).left_out
    strategy = left[0].strategy
    given = client.get(f"/api/strategies/{strategy}").json()["left_out"]
    assert given == [vars(f) for f in left if f.strategy == strategy]
    assert all(item["reason"] and item["text"] for item in given)


def test_a_share_with_its_own_count_never_takes_a_denominator_it_does_not_fit(built_store):
    """The Slovenian-Croatian alemtuzumab cohort (71 patients): "available for 48 patients, of which
    14 (29.2%) achieved NEDA" is not 29.2% of 71, so it takes no n (it was pooled as "21 of 71", a
    count no sentence states); the clinical NEDA pools as the text says it, 38 of 63."""
    from curemap.analysis.evidence import synthesise
    from curemap.profile import load_profile

    figures = {f["text"]: f for f in built_store.figures_of("PMID:33660157")}
    assert figures["14 (29.2%) achieved NEDA"]["n"] is None
    (neda,) = [e for e in synthesise(built_store, load_profile()).evidence if (e.strategy, e.measure) == ("alemtuzumab", "neda")]
    assert [(f.events, f.total) for f in neda.figures] == [(38, 63)]


def test_one_strategy_synthesised_alone_is_what_the_whole_synthesis_gives_it(built_store):
    """A strategy page synthesises its strategy from its own records' shares: for every strategy
    of the offline build, the pools and left-out shares are the whole synthesis's, in order."""
    from curemap.analysis.evidence import synthesise
    from curemap.profile import load_profile

    profile = load_profile()
    whole = synthesise(built_store, profile)
    assert whole.evidence and whole.left_out
    for strategy in sorted(profile.strategy_ids):
        alone = synthesise(built_store, profile, strategy)
        assert repr(alone.evidence) == repr([e for e in whole.evidence if e.strategy == strategy]), strategy
        assert alone.left_out == [f for f in whole.left_out if f.strategy == strategy], strategy
