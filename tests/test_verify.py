"""Verifying a review written elsewhere: references found, checked against the store, and
looked up at their sources through a fake transport serving the real sample files."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import RAW_V2, SHARED_DATA

PUBMED_SAMPLE = SHARED_DATA / "pubmed" / "pubmed-29768149.xml"
EMPTY_EFETCH = '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet>\n<PubmedArticleSet></PubmedArticleSet>\n'


def fake_sources(request: httpx.Request) -> httpx.Response:
    """ClinicalTrials.gov and PubMed as they answer: a study's JSON or 404, an efetch set."""
    path = request.url.path
    if "/studies/" in path:
        sample = RAW_V2 / f"{path.rsplit('/', 1)[1]}.json"
        if sample.is_file():
            return httpx.Response(200, text=sample.read_text(encoding="utf-8"))
        return httpx.Response(404, json={"message": "not found"})
    if path.endswith("/efetch.fcgi"):
        if request.url.params.get("id") == "29768149":
            return httpx.Response(200, text=PUBMED_SAMPLE.read_text(encoding="utf-8"))
        return httpx.Response(200, text=EMPTY_EFETCH)
    return httpx.Response(404)


@pytest.fixture(scope="module")
def profile():
    from curemap.profile import load_profile

    return load_profile()


@pytest.fixture(scope="module")
def trials(built_store):
    """Four completed phase 2 MS trials of the store with a sponsor and an enrollment."""
    from curemap.store import schema

    st, cl = schema.studies, schema.classifications
    with built_store.engine.connect() as conn:
        ids = conn.execute(
            select(st.c.id)
            .join(cl, cl.c.record_id == st.c.id)
            .where(cl.c.is_ms, st.c.phase == "phase2", st.c.status == "COMPLETED", st.c.enrollment > 20,
                   st.c.lead_sponsor.is_not(None), st.c.source == "ctgov")
            .order_by(st.c.id)
            .limit(4)
        ).scalars().all()
    return [built_store.get_study(i) for i in ids]


def review_text(trials) -> str:
    good, wrong_phase, wrong_sponsor, wrong_size = trials
    return f"""# What cures MS? A review

The {good.phase.replace('phase', 'phase ')} trial {good.id}, sponsored by {good.lead_sponsor.name}, enrolled {good.enrollment} patients and is completed.

Another trial (<https://clinicaltrials.gov/study/{wrong_phase.id}>) was a phase III study.

The study {wrong_sponsor.id} was sponsored by Acme Regenerative Biologics.

In {wrong_size.id}, 9,999 participants took part.

A fabricated trial, NCT09999999, reported remission in everyone.

An id with too few digits, NCT123456, cannot be a trial.

Asthma, for contrast: PMID: 29768149. And a phase 2 study in atopic dermatitis, NCT02210780, with 194 participants.
"""


def test_verify_reports_exactly_the_misstatements(built_store, profile, trials):
    from curemap.verify import Verifier
    from curemap.verify.online import OnlineLookup

    good, wrong_phase, wrong_sponsor, wrong_size = trials
    lookup = OnlineLookup(httpx.MockTransport(fake_sources), sleep=lambda _: None)
    try:
        result = Verifier(built_store, profile, lookup).verify_text(review_text(trials))
    finally:
        lookup.close()
    by_ref = {c["ref"]: c for c in result["citations"]}
    messages = {ref: [p["message"] for p in c["problems"]] for ref, c in by_ref.items()}
    assert set(by_ref) == {
        good.id, wrong_phase.id, wrong_sponsor.id, wrong_size.id, "NCT09999999", "NCT123456", "PMID:29768149", "NCT02210780"
    }
    assert by_ref[good.id]["status"] == "ok" and by_ref[good.id]["problems"] == []
    assert by_ref[wrong_phase.id]["status"] == "mismatch"
    assert messages[wrong_phase.id] == ["phase: the text says 'phase III'; the record says phase 2"]
    (phase_problem,) = by_ref[wrong_phase.id]["problems"]
    assert phase_problem["field"] == "phase" and phase_problem["quote"] == "phase III" and phase_problem["line"] == 5
    assert by_ref[wrong_sponsor.id]["status"] == "mismatch"
    (sponsor_problem,) = messages[wrong_sponsor.id]
    assert sponsor_problem.startswith(
        f"sponsor: the text says 'Acme Regenerative Biologics'; the record's lead sponsor is '{wrong_sponsor.lead_sponsor.name}'"
    )
    assert messages[wrong_size.id] == [
        f"enrollment: the text says '9,999 participants'; the record says {wrong_size.enrollment:,}"
        + (f" ({wrong_size.enrollment_type.lower()})" if wrong_size.enrollment_type else "")
    ]
    assert by_ref["NCT09999999"]["status"] == "not_found"
    assert "no such record at its source" in messages["NCT09999999"][0]
    assert by_ref["NCT123456"]["status"] == "malformed"
    assert messages["NCT123456"] == ["id: 'NCT123456' is malformed: NCT ids have 8 digits; 'NCT123456' has 6"]
    # looked up online: found, and the claims beside the trial match the registry's record
    assert by_ref["PMID:29768149"]["status"] == "ok" and by_ref["PMID:29768149"]["record"] is None
    assert by_ref["NCT02210780"]["status"] == "ok" and by_ref["NCT02210780"]["note"] == "found at ClinicalTrials.gov"
    assert result["summary"] == {
        "references": 8, "mentions": 8, "ok": 3, "not_found": 1, "mismatch": 3, "unverifiable": 0, "malformed": 1,
        "matched_by_name": 0, "problems": 5,
    }


def test_online_claims_are_checked_against_the_fetched_record(built_store, profile):
    from curemap.verify import Verifier
    from curemap.verify.online import OnlineLookup

    lookup = OnlineLookup(httpx.MockTransport(fake_sources), sleep=lambda _: None)
    try:
        result = Verifier(built_store, profile, lookup).verify_text("NCT02210780 is a recruiting phase 3 trial.")
    finally:
        lookup.close()
    (citation,) = result["citations"]
    assert citation["status"] == "mismatch"
    assert [p["message"] for p in citation["problems"]] == [  # in the order the text says them
        "status: the text says 'recruiting'; the record says completed",
        "phase: the text says 'phase 3'; the record says phase 2",
    ]


def test_verify_offline_cli_marks_unknown_references_unverifiable(built_home, cli, tmp_path, trials):
    review = tmp_path / "review.md"
    review.write_text(review_text(trials), encoding="utf-8")
    result = cli("--home", built_home, "verify", review, "--offline", "--json")
    assert result.exit_code == 0, result.stderr
    by_ref = {c["ref"]: c for c in result.json()["citations"]}
    for ref in ("NCT09999999", "PMID:29768149", "NCT02210780"):
        assert by_ref[ref]["status"] == "unverifiable" and by_ref[ref]["problems"] == []
    assert by_ref["NCT123456"]["status"] == "malformed"
    assert {c["status"] for c in by_ref.values() if c["ref"] in {t.id for t in trials}} == {"ok", "mismatch"}
    human = cli("--home", built_home, "verify", review, "--offline")
    assert "line 5: " in human.stdout and "phase: the text says 'phase III'; the record says phase 2" in human.stdout
    assert human.stdout.index("phase III") < human.stdout.index("unverifiable")  # problems first


def test_references_in_html_links_and_condition_claims(built_store, profile, trials):
    from curemap.verify import Verifier

    good = trials[0]
    html = (
        f'<html><body><p>A trial in systemic sclerosis <a href="https://clinicaltrials.gov/ct2/show/{good.id}">here</a>.</p>'
        '<script>document.write("NCT00000001")</script>'
        '<p>Outcomes in <a href="https://doi.org/10.9999/NOT-IN-STORE">this paper</a>.</p></body></html>'
    )
    result = Verifier(built_store, profile).verify_text(html, "html")
    by_ref = {c["ref"]: c for c in result["citations"]}
    assert set(by_ref) == {good.id, "doi:10.9999/not-in-store"}  # nothing read from the script
    assert by_ref[good.id]["status"] == "mismatch"
    assert by_ref[good.id]["problems"][0]["message"].startswith("condition: the text says 'systemic sclerosis'")
    assert by_ref["doi:10.9999/not-in-store"]["status"] == "unverifiable"


def test_verify_rejects_a_missing_file(built_home, cli, tmp_path):
    result = cli("--home", built_home, "verify", tmp_path / "absent.md", "--offline", "--json")
    assert result.exit_code == 1 and "absent.md: no such file" in result.stderr


def test_verify_of_a_large_review_finds_every_mention_in_linear_time(built_store, profile, trials):
    """Reproduces issue 13: verify was quadratic in its input (4 MB took 53 s). A 2 MB review
    of the same paragraphs over and over finds every mention and the same problems, once each;
    bench/bench_verify.py times it."""
    from curemap.verify import Verifier

    text = review_text(trials)
    copies = 2_000_000 // len(text) + 1
    single = Verifier(built_store, profile).verify_text(text)
    large = Verifier(built_store, profile).verify_text(text * copies)

    def verdicts(result):
        return {(c["ref"], c["status"], tuple(p["message"] for p in c["problems"])) for c in result["citations"]}

    assert verdicts(large) == verdicts(single)
    assert large["summary"]["references"] == single["summary"]["references"] * copies
    assert large["summary"]["mentions"] == single["summary"]["mentions"] * copies


def test_verify_reads_claims_in_one_huge_clause_with_unclosed_quotes(built_store, profile, trials):
    """One 2 MB clause without a break, citing one trial, full of opening quotation marks that
    never close: the input that made quotation masking and the former-status check quadratic."""
    from curemap.verify import Verifier

    good = trials[0]
    text = f"{good.id} “not yet recruiting” " + f"{good.id} “ was recruiting, now completed, " * 50_000 + "is recruiting."
    result = Verifier(built_store, profile).verify_text(text)
    (citation,) = result["citations"]
    assert citation["mentions"] == 50_001
    assert [p["message"] for p in citation["problems"]] == ["status: the text says 'recruiting'; the record says completed"]


def test_verify_online_with_sources_that_never_answer_waits_once_per_source(built_home, cli, tmp_path, monkeypatch, silent_server):
    """Reproduces issue 13: a network that drops packets silently made every online lookup
    wait out its own retries. With --timeout, the first unanswered lookup makes the network
    unreachable and every later reference is unverifiable at once (issue 16: said once)."""
    for variable in ("CUREMAP_CTGOV_URL", "CUREMAP_EUTILS_URL", "CUREMAP_EUROPEPMC_URL"):
        monkeypatch.setenv(variable, silent_server.base_url)
    unknown = [f"NCT0999999{n}" for n in range(5)] + ["PMID: 99999991", "PMID: 99999992"]
    review = tmp_path / "review.md"
    review.write_text("".join(f"The trial {ref} is completed.\n" for ref in unknown), encoding="utf-8")
    result = cli("--home", built_home, "verify", review, "--timeout", "0.3", "--json")
    assert result.exit_code == 0, result.stderr
    citations = result.json()["citations"]
    assert len(citations) == 7 and {c["status"] for c in citations} == {"unverifiable"}
    assert "cannot be reached" in citations[-1]["note"]
    assert len(silent_server.connections) == 1  # the first source unanswered ends every lookup
    assert result.stderr.count("cannot be reached") == 1  # said once
