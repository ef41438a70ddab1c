"""The report's and the overview's sponsor figures, in the profile's one sponsor vocabulary,
on the store built from the offline snapshot."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from curemap.enrich.sponsors import organisation_key
from curemap.profile import load_profile
from curemap.report import build_report
from curemap.report.render import render_markdown
from curemap.store import Store, schema
from curemap.web import create_app
from tests.conftest import RAW_V2
from tests.test_web import ESCAPED_SCRIPT, HOSTILE_ID, SCRIPT

SHARE = re.compile(r"(\w[\w ]*) leads ([\d,]+) of the ([\d,]+) MS trials that name a lead sponsor \(([\d.]+)%\)")
"""The industry-share sentence, as the report and the overview print it."""


@pytest.fixture(scope="module")
def profile():
    return load_profile()


@pytest.fixture(scope="module")
def report(built_store, profile):
    """The review of the built store, its Markdown, and its sponsor section."""
    built = build_report(built_store, profile, record_snapshot=False)
    section = next(s for s in built.sections if s.anchor == "trends")
    return {"md": render_markdown(built), "section": section, "basis": f"snapshot {built.snapshot}"}


@pytest.fixture(scope="module")
def overview(client):
    return client.get("/").text


def _trial_sponsors(store: Store) -> dict[str, tuple[str | None, str | None, str | None]]:
    """Trial -> its counted registration's lead sponsor (type, organisation, registry name),
    read straight from the tables: the newest registration of each MS trial."""
    cl, st, tr = schema.classifications, schema.studies, schema.trial_registrations
    trial = func.coalesce(tr.c.trial_id, st.c.id)
    newest: dict[str, tuple] = {}
    with store.connect() as conn:
        rows = conn.execute(
            select(trial.label("trial"), st.c.id, st.c.last_update_posted, st.c.lead_sponsor, cl.c.sponsor_type, cl.c.organisation)
            .join(cl, cl.c.record_id == st.c.id)
            .outerjoin(tr, tr.c.study_id == st.c.id)
            .where(cl.c.is_ms)
        )
        for row in rows:
            key = (row.last_update_posted or "", row.id)
            if row.trial not in newest or key > newest[row.trial][0]:
                newest[row.trial] = (key, (row.sponsor_type, row.organisation, row.lead_sponsor))
    return {trial: value for trial, (_, value) in newest.items()}


def _table(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _registry_words(profile) -> set[str]:
    return {item.words for classes in profile.sponsors.registries.values() for item in classes}


def test_both_tables_use_only_the_profiles_type_names(report, overview, profile):
    names = [t.name for t in profile.sponsors.types]
    table = next(b for b in report["section"].blocks if b.header and b.header[0] == "lead sponsor type")
    assert [row[0] for row in table.rows] == names
    assert [row[0] for row in _table(overview, "sponsor-types")] == names
    assert {"INDUSTRY", "OTHER", "Pharmaceutical company"} <= _registry_words(profile)
    shown = re.search(r'<table[^>]*id="sponsor-types".*?</table>', overview, re.S).group(0)
    markdown = report["md"].split("| lead sponsor type |")[1].split("\n\n")[0]
    for words in _registry_words(profile):
        assert not re.search(rf"(?<![\w/]){re.escape(words)}(?![\w/])", shown), words
        assert not re.search(rf"(?<![\w/]){re.escape(words)}(?![\w/])", markdown), words


def test_industry_share_is_counted_from_the_trials_classifications(report, overview, client, built_store, profile):
    types = [sponsor_type for sponsor_type, _, _ in _trial_sponsors(built_store).values()]
    industry = types.count(profile.sponsors.industry_type)
    total = sum(t is not None for t in types)
    expected = ("Industry", f"{industry:,}", f"{total:,}", f"{100 * industry / total:.1f}")
    stated = next(s for b in report["section"].blocks for s in b.statements if SHARE.search(s.text))
    assert SHARE.search(stated.text).groups() == expected
    assert stated.basis == report["basis"]  # a whole-store count names its snapshot
    assert SHARE.search(report["md"]).groups() == expected
    assert SHARE.search(overview).groups() == expected
    stats = client.get("/api/stats").json()["sponsor_types"]
    assert (stats["industry_trials"], stats["with_lead"]) == (industry, total)
    assert 0.2 < stats["industry_share"] < 0.4
    shares = {row[0]: row[2] for row in _table(overview, "sponsor-types")}
    assert shares["Industry"] == f"{100 * industry / total:.1f}%"


def test_merck_kgaa_is_one_organisation_with_its_registry_spellings(report, overview, built_store):
    merck = sorted(
        {name for _, organisation, name in _trial_sponsors(built_store).values()
         if organisation and organisation_key(organisation) == organisation_key("Merck KGaA")}
    )
    assert "EMD Serono" in merck and any("Darmstadt" in name for name in merck)
    rows = _table(overview, "leading-sponsors")
    assert len({organisation_key(name) for name, _, _ in rows}) == len(rows)
    [(_, spellings, _)] = [row for row in rows if row[0] == "Merck KGaA"]
    assert sorted(spellings.replace("&amp;", "&").split("; ")) == merck
    # the review's "who leads each strategy" table names the merged organisation, never a variant
    leaders = report["md"].split("Who leads each strategy")[1].split("\n\n", 2)[1]
    assert re.search(r"\| Cladribine immune reconstitution \| Merck KGaA \(\d+\)", leaders)
    assert not re.search(r"(EMD Serono|Merck Healthcare KGaA|Merck KGaA, Darmstadt)[^|]*\(\d+\)", leaders)


def test_sponsor_type_filter_and_study_items(client, built_store, profile):
    industry = client.get("/api/studies", params={"sponsor_type": "industry", "per_page": 200}).json()
    cl = schema.classifications
    with built_store.connect() as conn:
        expected = conn.execute(select(func.count()).where(cl.c.kind == "study", cl.c.sponsor_type == "industry")).scalar_one()
    assert industry["total"] == expected > 0
    assert all(item["sponsor_type"] == "industry" and item["organisation"] for item in industry["items"])
    registry_class = client.get("/api/studies", params={"sponsor_class": "INDUSTRY", "per_page": 1}).json()
    assert registry_class["total"] > 0  # the registry's own words stay a filter of their own
    bad = client.get("/api/studies", params={"sponsor_type": "INDUSTRY"})
    assert bad.status_code == 400 and "sponsor_type=" in bad.json()["error"]
    exported = client.get("/api/studies", params={"sponsor_type": "government", "q": "multiple sclerosis", "format": "csv"})
    header = exported.text.splitlines()[0].split(",")
    assert {"sponsor_type", "organisation", "lead_sponsor_class"} <= set(header)
    assert client.get("/studies", params={"sponsor_type": "patient_organisation", "ms": "true"}).status_code == 200


def write_sponsor_record(folder: Path) -> Path:
    """A real raw v2 record made about MS, its lead sponsor a hostile name of an affiliate of
    Merck KGaA, so the name is listed among the overview's spellings."""
    record = json.loads((RAW_V2 / f"{HOSTILE_ID}.json").read_text(encoding="utf-8"))
    protocol = record["protocolSection"]
    protocol["sponsorCollaboratorsModule"]["leadSponsor"] = {"name": f"{SCRIPT} Serono, an affiliate of Merck KGaA", "class": "INDUSTRY"}
    protocol["conditionsModule"]["conditions"] = ["Multiple Sclerosis"]
    path = folder / f"{HOSTILE_ID}-sponsor.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_a_hostile_sponsor_name_is_escaped_in_the_overview(built, cli, tmp_path):
    assert cli("import", write_sponsor_record(tmp_path)).exit_code == 0
    store = Store.open(built)
    try:
        client = TestClient(create_app(store))
        assert client.get(f"/api/studies/{HOSTILE_ID}").json()["lead_sponsor"]["name"].startswith(SCRIPT)
        page = client.get("/").text
        [merck] = [row for row in _table(page, "leading-sponsors") if row[0] == "Merck KGaA"]
        assert f"{ESCAPED_SCRIPT} Serono, an affiliate of Merck KGaA" in merck[1]
        assert SCRIPT not in page
        spellings = next(o for o in client.get("/api/stats").json()["leading_sponsors"] if o["name"] == "Merck KGaA")["spellings"]
        assert f"{SCRIPT} Serono, an affiliate of Merck KGaA" in spellings  # JSON keeps the data as it is
    finally:
        store.close()
