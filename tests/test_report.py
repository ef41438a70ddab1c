"""The living review and the trends it rests on, over the store built from the offline snapshot."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import CTGOV_CSV


@pytest.fixture(scope="module")
def profile():
    from curemap.profile import load_profile

    return load_profile()


@pytest.fixture(scope="module")
def written(built_home, tmp_path_factory, profile):
    """A private copy of the built home with the report written once as Markdown and HTML."""
    from curemap.report import build_report, write_report
    from curemap.store import Store

    home = tmp_path_factory.mktemp("report-home")
    shutil.copytree(built_home, home, dirs_exist_ok=True)
    store = Store.open(home)
    out = home / "report"
    result = write_report(store, profile, out, ("md", "html"))
    report = build_report(store, profile)
    yield {"home": home, "out": out, "store": store, "result": result, "report": report,
           "md": (out / "report.md").read_text(encoding="utf-8"), "html": (out / "report.html").read_text(encoding="utf-8")}
    store.close()


def test_trends_count_ms_studies_per_group_and_phase(built_store, profile):
    from curemap.analysis import trends
    from curemap.analysis.landscape import counted_registrations, strategy_studies
    from curemap.store import schema

    pipeline = trends.pipeline_by_group_phase(built_store, profile)
    assert list(pipeline) == [g.id for g in profile.groups]
    group_of = {s.id: s.group for s in profile.strategies}
    st, cl, rs = schema.studies, schema.classifications, schema.record_strategies
    counted = counted_registrations(built_store)
    with built_store.engine.connect() as conn:
        phase_of = dict(conn.execute(select(st.c.id, st.c.phase)).all())
        comparators = conn.execute(
            select(rs.c.record_id, rs.c.strategy).join(cl, cl.c.record_id == rs.c.record_id).where(cl.c.is_ms, rs.c.role == "comparator")
        ).all()
    tested = strategy_studies(built_store, profile).tested
    expected = {
        (group_of[strategy], counted[i], phase_of[counted[i]] or "not_given") for strategy, ids in tested.items() for i in ids
    }
    for group in pipeline:
        for phase, n in pipeline[group].items():
            assert n == sum(1 for g, _, p in expected if g == group and p == phase)
    # a trial counts for a group only through what it tests: NET-MS compares aHSCT with
    # disease-control drugs and tests none of them
    assert ("2024-515470-26-00", "anti_cd20") in {(r.record_id, r.strategy) for r in comparators}
    assert not any(g == "disease_control" and i == counted["2024-515470-26-00"] for g, i, _ in expected)
    assert pipeline["immune_reset"]["phase3"] > 0
    per_year = trends.started_per_year(built_store, profile)
    assert sum(per_year["immune_reset"].values()) <= sum(pipeline["immune_reset"].values())
    assert all(isinstance(y, int) for y in per_year["repair_regeneration"])


def test_trends_countries_sponsors_and_overdue_results(built_store, profile):
    from curemap.analysis import trends
    from curemap.store.kinds import STUDY

    countries = trends.country_counts(built_store)
    assert countries[0][0] == "United States" and countries[0][1] > countries[1][1]
    types = trends.sponsor_types(built_store, profile)
    assert [row[0] for row in types.rows] == [t.id for t in profile.sponsors.types]
    assert types.with_lead + types.without_lead == len(trends.ms_studies(built_store, profile)) < built_store.count_ms(STUDY)
    assert dict((row[0], row[2]) for row in types.rows)["industry"] == types.industry_trials > 500
    overdue = trends.completed_without_results(built_store, profile)
    assert set(overdue[24]) <= set(overdue[12]) and overdue[24]
    as_of = trends.data_date(built_store)
    assert as_of == date(2025, 9, 25)
    for study_id in overdue[24][:20]:
        study = built_store.get_study(study_id)
        assert study.status == "COMPLETED" and not study.has_results
        assert study.completion_date.value[:4] <= "2023"
    leaders = trends.leading_sponsors(built_store, profile, groups={"immune_reset"}, limit=3)
    assert all(lead.count == len(lead.ids) for lead in leaders) and leaders[0].count >= leaders[-1].count


def test_report_has_every_section_and_every_curative_strategy(written, profile):
    md = written["md"]
    for title in (
        "Summary for people with MS", "What changed since the previous edition", "The landscape at a glance",
        "Immune reset", "Tolerance and cause-directed", "Repair and regeneration", "Emerging directions",
        "Methods, funding and leadership", "Strengths and limitations", "About this edition", "References",
    ):
        assert re.search(rf"^#+ {re.escape(title)}$", md, re.MULTILINE), title
    for strategy in profile.strategies:
        heading = re.search(rf"^### {re.escape(strategy.name)}$", md, re.MULTILINE)
        assert bool(heading) == (strategy.group in ("immune_reset", "tolerance_cause", "repair_regeneration")), strategy.id
    assert md.count("In short: ") == md.count("Key trials of ") == 12  # the two strategies without a trial say so once
    # approved drugs are labelled so, with the profile's source
    for drug, source in (("Alemtuzumab", "Lemtrada"), ("Cladribine", "Mavenclad")):
        assert f"{drug} is an approved disease-modifying drug" in md and f"assessment report for {source}" in md
    assert "This is the first edition" in md
    assert "snapshot `" in md and "Report content hash" in md


def _section(md: str, title: str, level: str = "##") -> str:
    return md.split(f"\n{level} {title}\n", 1)[1].split(f"\n{level} ", 1)[0]


MARKER = re.compile(r"\\\[(?:\d[\d,– ]*|Table A?\d+|data)\\\]")
RECORD_ID = re.compile(r"NCT\d{8}|\d{4}-\d{6}-\d{2}-\d{2}|PMID:\d+|doi:10\.")


def test_summary_is_short_plain_and_free_of_ids(written):
    import textstat

    summary = _section(written["md"], "Summary for people with MS")
    text = MARKER.sub("", summary).replace("\\", "")
    assert len(text.split()) < 450
    assert textstat.flesch_reading_ease(text) >= 50, textstat.flesch_reading_ease(text)
    assert not RECORD_ID.search(summary)
    assert "CAR-T" in text and "trial finder" in text and "risk" in text


def test_body_sentences_cite_at_most_three_records(written, profile):
    md = written["md"]
    body = md.split("\n## Appendix", 1)[0]
    for line in body.splitlines():
        assert len(RECORD_ID.findall(line)) <= 8, line
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            numbers = [m for m in MARKER.findall(sentence) if re.search(r"\d", m) and "Table" not in m]
            cited = sum(len(range(int(a), int(b) + 1)) if b else 1
                        for a, b in re.findall(r"(\d+)(?:–(\d+))?", " ".join(numbers)))
            assert cited <= 3, sentence
    for statement in written["report"].statements():
        assert len(statement.cites) <= 3 or statement.see, statement
    for strategy in profile.strategies:
        if strategy.group in ("immune_reset", "tolerance_cause", "repair_regeneration"):
            part = _section(md, strategy.name, "###")
            assert len(re.findall(r"Not yet in the records here\b", part)) <= 1, strategy.id


def test_every_citation_resolves_to_a_store_record(written):
    from curemap.verify.refs import find_references, parse_document

    store, report = written["store"], written["report"]
    cited = report.cited()
    assert written["result"]["citations"] == len(cited) > 250  # trials that test a strategy, papers and figures
    assert [r["number"] for r in report.references] == list(range(1, len(cited) + 1))
    assert [r["id"] for r in report.references] == cited
    for record_id in cited:
        found = store.get_paper(record_id) if record_id.startswith(("PMID:", "DOI:")) else store.get_study(record_id)
        assert found is not None, record_id
    # every marker in the text resolves to a References entry or a table
    md = written["md"]
    numbers = {int(n) for m in MARKER.findall(md) for n in re.findall(r"\d+", m) if "Table" not in m}
    assert numbers <= set(range(1, len(cited) + 1))
    for label in {m for m in re.findall(r"Table A?\d+", md)}:
        assert f"*{label}: " in md, label
    # every reference a reader can find in the Markdown is a cited record (a paper also by its DOI)
    document = parse_document(md, "md")
    found = {r.ref for r in find_references(document.text, document.links)}
    expected = {c if not c.startswith("DOI:") else "doi:" + c[4:] for c in cited}
    assert expected <= found
    dois = {f"doi:{store.get_paper(c).doi}".lower() for c in cited if c.startswith("PMID:") and store.get_paper(c).doi}
    assert found - expected <= dois


def test_counts_in_sentences_equal_the_records_they_cite(written, profile):
    """The "in short" line of a strategy counts the trials its table lists."""
    from curemap.analysis.landscape import strategy_landscape

    landscape = {e.id: e for e in strategy_landscape(written["store"], profile)}
    md = written["md"]
    assert f"It is tested in {landscape['ahsct'].studies} trials" in md
    car_t = _section(md, "CAR-T cell therapy", "###")
    assert f"{landscape['car_t'].recruiting} open now" in car_t
    for statement in written["report"].statements():
        if statement.text.startswith(("It is tested in", "In short: it is tested in")):
            n = re.search(r"tested in (\w+) trial", statement.text).group(1)
            assert n in (str(len(statement.cites)), "one", "two", "three", "four", "five", "six", "seven", "eight",
                         "nine", "ten", "eleven", "twelve"), statement


def test_report_json_records_snapshot_and_hash(written, cli):
    import json

    manifest = json.loads((written["out"] / "report.json").read_text())
    assert manifest["snapshot"] == written["result"]["snapshot"]
    assert len(manifest["content_hash"]) == 64 and manifest["content_hash"] in written["md"]
    assert manifest["content_hash"] in written["html"]
    assert set(written["result"]["seconds"]) == {"build", "md", "html", "total"}


def test_verify_finds_no_problem_in_the_report_it_wrote(written, cli):
    for name in ("report.md", "report.html"):
        result = cli("--home", written["home"], "verify", written["out"] / name, "--offline", "--json")
        assert result.exit_code == 0, result.stderr
        summary = result.json()["summary"]
        assert summary["ok"] == summary["references"] >= written["result"]["citations"], summary
        assert summary["problems"] == 0


def _row(nct_id: str) -> dict[str, str]:
    with CTGOV_CSV.open(newline="", encoding="utf-8") as handle:
        return next(row for row in csv.DictReader(handle) if row["NCTId"] == nct_id)


def _write_rows(path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)> "


def test_changes_since_snapshot_and_hostile_registry_text(built, cli, tmp_path):
    """A later registry version of an aHSCT trial (status back to recruiting, markup in its
    title): the next report lists the change since the previous report's snapshot, and shows
    the markup as text in HTML and PDF."""
    from pypdf import PdfReader

    first = cli("report", "--format", "md", "--json")
    assert first.exit_code == 0, first.stderr
    snapshot = first.json()["snapshot"]
    first_md = (built / "report" / "report.md").read_text()
    assert "This is the first edition" in first_md

    row = _row("NCT00040482")
    changed = {**row, "OverallStatus": "RECRUITING", "LastUpdatePostDate": "2025-10-01",
               "BriefTitle": HOSTILE + row["BriefTitle"]}
    _write_rows(tmp_path / "later.csv", [changed])
    assert cli("import", tmp_path / "later.csv", "--json").json()["changed"] == 1

    again = cli("report", "--json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["snapshot"] != snapshot
    out = built / "report"
    md = (out / "report.md").read_text()
    assert re.search(r"\| status was completed, now recruiting \| \\\[\d+\\\] \|", md)
    assert "This is the first edition" not in md
    html = (out / "report.html").read_text()
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert r"\<script\>alert('x')\</script\>\<img src=x onerror=alert(1)\>" in md
    pdf_text = "".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages).replace("\x00", "")
    assert "<script>alert('x')</script><img src=x onerror=alert(1)>" in "".join(pdf_text.split("\n"))
    # an explicit --since to the same snapshot the previous report named gives the same answer
    explicit = cli("report", "--format", "md", "--out", tmp_path / "explicit", "--since", snapshot, "--json")
    assert "status was completed, now recruiting" in (tmp_path / "explicit" / "report.md").read_text()
    assert explicit.exit_code == 0
    verified = cli("verify", out / "report.html", "--offline", "--json").json()["summary"]
    assert verified["problems"] == 0 and verified["ok"] == verified["references"]


def test_report_rejects_unknown_snapshot_and_format(built_home, cli, tmp_path):
    result = cli("--home", built_home, "report", "--since", "000000000000", "--out", tmp_path, "--json")
    assert result.exit_code == 1 and "000000000000: no such snapshot" in result.stderr
    result = cli("--home", built_home, "report", "--format", "docx", "--out", tmp_path, "--json")
    assert result.exit_code == 1 and "docx" in result.stderr


def test_report_page_is_the_report_without_script(written, profile):
    from fastapi.testclient import TestClient

    from curemap.web import create_app

    client = TestClient(create_app(written["store"], profile=profile))
    response = client.get("/report")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'none'" in policy and "default-src 'none'" in policy
    assert "<script" not in response.text.lower()
    assert response.text.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 4
    assert "Strengths and limitations" in response.text
    # served, trials and strategies link to their dashboard pages
    assert 'href="/strategies/car_t"' in response.text and 'href="/studies/NCT' in response.text


def test_profile_report_section_names_known_ids():
    from importlib import resources

    from curemap.errors import ProfileError
    from curemap.profile import parse_profile

    text = resources.files("curemap.profile").joinpath("multiple_sclerosis.yaml").read_text(encoding="utf-8")
    assert parse_profile(text).report.preclinical_designs == ("preclinical",)
    with pytest.raises(ProfileError, match=r"report.preclinical_designs: unknown design 'animal'"):
        parse_profile(text.replace("preclinical_designs: [preclinical]", "preclinical_designs: [animal]"))
