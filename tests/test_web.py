"""The dashboard pages on the built offline store: every page renders what the store holds,
filters narrow lists, and registry text is escaped everywhere it is shown."""

from __future__ import annotations

import gc
import html
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

from curemap.analysis import trends
from curemap.profile import load_profile
from curemap.store import Store, schema
from curemap.views import store_status
from curemap.web import create_app
from curemap.web.rendering import render_markdown, safe_url
from curemap.wording import phase_words
from tests.conftest import RAW_V2

HOSTILE_ID = "NCT00763412"
SCRIPT = '<script>alert("x")</script>'
JS_LINK = "javascript:alert(document.cookie)"
TITLE = f"{SCRIPT} {JS_LINK} hostile title"
SUMMARY = f"{SCRIPT} A study in multiple sclerosis. {JS_LINK}"
SPONSOR = f'{SCRIPT}<a href="{JS_LINK}">sponsor</a>'
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


def write_hostile_record(folder: Path) -> Path:
    record = json.loads((RAW_V2 / f"{HOSTILE_ID}.json").read_text(encoding="utf-8"))
    protocol = record["protocolSection"]
    protocol["identificationModule"]["briefTitle"] = TITLE
    protocol["identificationModule"]["officialTitle"] = TITLE
    protocol["descriptionModule"]["briefSummary"] = SUMMARY
    protocol["sponsorCollaboratorsModule"]["leadSponsor"]["name"] = SPONSOR
    protocol["conditionsModule"]["conditions"] = ["Multiple Sclerosis"]
    protocol["statusModule"]["overallStatus"] = "RECRUITING"
    protocol["statusModule"]["lastUpdatePostDateStruct"] = {"date": "2030-01-01", "type": "ACTUAL"}
    path = folder / f"{HOSTILE_ID}-hostile.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_overview_shows_the_stores_numbers_and_charts(client, built_store):
    page = client.get("/")
    assert page.status_code == 200
    status = store_status(built_store)
    assert f"<strong>{status['studies']:,}</strong> registered studies" in page.text
    trials = len(trends.ms_studies(built_store, load_profile()))
    assert trials < status["ms_studies"]  # some trials are registered in two registries: counted once
    assert client.get("/api/stats").json()["ms_trials"] == trials
    assert f"<strong>{trials:,}</strong> MS trials and studies ({status['ms_studies']:,} registrations" in page.text
    assert 'id="pipeline"' in page.text and 'id="countries"' in page.text
    assert page.text.count('data-chart="') == 3
    assert '<script src="/static-vendor/plotly-basic.min.js"' in page.text
    assert re.search(r"<script>(?!</script>)", page.text) is None  # no inline script
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"].split("script-src")[1].split(";")[0]


def test_overview_leads_with_the_curative_groups_as_of_the_datas_date(client, built_store, landscape):
    page = client.get("/")
    text = page.text
    assert text.index('id="curative"') < text.index('id="headline"') < text.index('id="pipeline"')
    profile = load_profile()
    studies = trends.ms_studies(built_store, profile)
    for group in (g for g in profile.groups if g.curative_intent):
        testing = sum(group.id in study.groups for study in studies)
        assert f'<article class="group" id="group-{group.id}">' in text
        assert f"<strong>{testing:,}</strong> trials test these treatments" in text
    car_t = landscape["car_t"]
    assert f"<strong>{car_t.studies:,}</strong> trials test it as a treatment · <strong>{car_t.recruiting:,}</strong> open now" in text
    assert f"furthest stage {phase_words(car_t.stage)}, reached by {len(car_t.stage_studies)} trial" in text
    as_of = trends.data_date(built_store)
    assert f'Registry data as of <time datetime="{as_of.isoformat()}">' in text
    assert f"{as_of.year}, shaded, is incomplete" in text
    years_chart = json.loads(html.unescape(re.findall(r'data-chart="([^"]*)"', text)[1]))
    assert years_chart["layout"]["shapes"][0]["x0"] == as_of.year - 0.5  # the data's own year, shaded
    assert {line["name"] for line in years_chart["data"] if line["visible"] is True} == {
        g.name for g in profile.groups if g.curative_intent
    }


def test_pages_are_compressed_for_clients_that_accept_it(client):
    assert client.get("/", headers={"Accept-Encoding": "gzip"}).headers["content-encoding"] == "gzip"
    assert "content-encoding" not in client.get("/", headers={"Accept-Encoding": "identity"}).headers
    assert client.get("/favicon.ico").headers["content-type"] == "image/x-icon"


def test_chart_library_is_served_from_the_package(client):
    script = client.get("/static-vendor/plotly-basic.min.js")
    assert script.status_code == 200
    assert "plotly.js (basic - minified)" in script.text[:2000]
    assert script.headers["content-encoding"] == "gzip"
    assert client.get("/static/curemap.js").status_code == 200


def test_strategy_list_and_page_show_stage_trials_evidence_and_timeline(client, landscape):
    listing = client.get("/strategies")
    for entry in landscape.values():
        assert f'href="/strategies/{entry.id}"' in listing.text
    ahsct = landscape["ahsct"]
    page = client.get("/strategies/ahsct")
    assert page.status_code == 200
    assert f'<strong id="stage">{phase_words(ahsct.stage)}</strong>, reached by' in page.text
    assert f"{ahsct.registrations + len(ahsct.about_studies):,} studies" in page.text  # the list of studies testing it
    assert "Timeline" in page.text and "Pooled evidence" in page.text


def test_strategy_page_marks_the_studies_that_test_no_treatment(client, landscape):
    """The list beside a strategy's trials holds registries and cohorts about it too: each says so."""
    alemtuzumab = landscape["alemtuzumab"]
    page = client.get("/strategies/alemtuzumab", params={"per_page": 100})
    rows = dict(re.findall(r'<tr>\s*<td><a href="/studies/([^"]+)">(.*?)</tr>', page.text, re.S))
    marked = {i for i, row in rows.items() if "not a treatment test" in row}
    assert alemtuzumab.about_studies and marked == set(alemtuzumab.about_studies) & set(rows)
    assert set(alemtuzumab.about_studies) & set(rows) and set(rows) - marked  # both kinds are listed


def test_strategy_page_filters_trials_to_recruiting(client, landscape, built_store):
    page = client.get("/strategies/ahsct", params={"status": "RECRUITING"})
    statuses = re.findall(r'<span class="status status-([a-z_]+)">', page.text)
    assert statuses and set(statuses) == {"recruiting"}
    recruiting = re.findall(r'href="/studies/([^"]+)"', page.text.split("<h2>Trials</h2>")[1].split("</section>")[0])
    open_now = {i for i in landscape["ahsct"].recruiting_studies if built_store.get_study(i).status == "RECRUITING"}
    assert open_now and open_now <= set(recruiting)


def test_pooled_evidence_has_a_forest_plot(client):
    page = client.get("/strategies/alemtuzumab")
    assert 'src="/strategies/alemtuzumab/forest/0.svg"' in page.text
    svg = client.get("/strategies/alemtuzumab/forest/0.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg") or svg.text.startswith("<?xml")
    assert client.get("/strategies/alemtuzumab/forest/99.svg").status_code == 404


def test_study_page_shows_facts_classification_papers_and_history(client, built_store):
    links, studies = schema.links, schema.studies
    with built_store.engine.connect() as conn:
        study_id = conn.execute(select(links.c.study_id).join(studies, studies.c.id == links.c.study_id).limit(1)).scalar_one()
    linked = built_store.links_of(study_id)
    page = client.get(f"/studies/{study_id}")
    assert page.status_code == 200
    assert f'id="registry-link" href="https://clinicaltrials.gov/study/{study_id}"' in page.text
    assert "Registry facts" in page.text and "Classification" in page.text and "Change history" in page.text
    assert f'href="/papers/{linked[0]["paper_id"]}"' in page.text
    assert "added" in page.text  # the change log's first entry


def test_paper_page_highlights_outcome_spans(client, built_store):
    fig = schema.outcome_figures
    with built_store.engine.connect() as conn:
        row = conn.execute(select(fig).where(fig.c.source_field == "abstract").limit(1)).first()
    page = client.get(f"/papers/{row.record_id}")
    assert page.status_code == 200
    assert f"<mark>{escape(row.text)}</mark>" in page.text


def test_studies_page_search_and_missing_records(client):
    page = client.get("/studies", params={"status": "RECRUITING", "ms": "true"})
    assert set(re.findall(r'<span class="status status-([a-z_]+)">', page.text)) == {"recruiting"}
    found = client.get("/search", params={"q": "ocrelizumab"})
    assert found.status_code == 200 and "ocrelizumab" in found.text.lower()
    assert client.get("/papers").status_code == 200
    assert client.get("/docs/api").status_code == 200 and "/api/studies" in client.get("/docs/api").text
    missing = client.get("/studies/NCT99999999")
    assert missing.status_code == 404 and "no such study" in missing.text
    bad = client.get("/studies", params={"phase": "phase9"})
    assert bad.status_code == 400 and "phase=" in bad.text


def test_links_and_markdown_are_neutralised():
    assert safe_url(JS_LINK) is None
    assert safe_url(" JavaScript:alert(1)") is None
    assert safe_url("data:text/html,x") is None
    assert safe_url("https://clinicaltrials.gov/study/NCT1") == "https://clinicaltrials.gov/study/NCT1"
    html = str(render_markdown(f"[click]({JS_LINK}) {SCRIPT} [ok](https://example.org)"))
    assert "href=\"javascript" not in html and SCRIPT not in html
    assert '<a href="https://example.org">ok</a>' in html


def test_hostile_record_is_escaped_on_every_page_api_and_feed(built, cli, tmp_path):
    assert cli("import", write_hostile_record(tmp_path)).exit_code == 0
    store = Store.open(built)
    try:
        client = TestClient(create_app(store))
        strategy = client.get(f"/api/studies/{HOSTILE_ID}").json()["strategies"][0]
        urls = [
            "/", "/studies", f"/studies/{HOSTILE_ID}", f"/strategies/{strategy}", "/search?q=hostile",
            "/api/studies", f"/api/studies/{HOSTILE_ID}", "/api/studies?q=hostile&format=csv",
            "/api/studies?q=hostile&format=json", "/api/search?q=hostile", "/api/changes",
            "/feeds/studies.atom", f"/feeds/studies.atom?strategy={strategy}",
        ]
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert HOSTILE_ID in response.text, url
            assert SCRIPT not in response.text or response.headers["content-type"].startswith(("application/json", "text/csv")), url
            assert not re.search(r"""href=["']?\s*javascript:""", response.text, re.IGNORECASE), url
        for url in ("/", "/studies", f"/studies/{HOSTILE_ID}", f"/strategies/{strategy}"):
            assert ESCAPED_SCRIPT in client.get(url).text, url
        feed = client.get("/feeds/studies.atom").text
        assert "&lt;script&gt;" in feed and "<script>" not in feed
        api = client.get(f"/api/studies/{HOSTILE_ID}")
        assert api.headers["content-type"] == "application/json"
        assert api.json()["brief_title"].startswith(SCRIPT)  # data stays data; JSON is not HTML
        assert api.headers["x-content-type-options"] == "nosniff"
    finally:
        store.close()


def test_approved_drugs_say_so_with_their_source(client):
    page = client.get("/strategies/alemtuzumab").text
    assert 'id="approved">Already an approved MS drug: approved for relapsing MS' in page
    assert 'href="https://www.ema.europa.eu/en/medicines/human/EPAR/lemtrada"' in page
    overview = client.get("/").text
    assert overview.count("already an approved MS drug") == 2  # alemtuzumab and cladribine
    assert 'id="approved"' not in client.get("/strategies/car_t").text


def test_a_started_server_leaves_what_it_loaded_out_of_full_collections(built_store):
    """What the server loads before its first request lives as long as the process: once it
    has started it is frozen, so a full garbage collection walks only what requests made."""
    gc.unfreeze()
    try:
        with TestClient(create_app(built_store)) as started:
            assert gc.get_freeze_count() > 10_000
            assert started.get("/api/stats").status_code == 200
    finally:
        gc.unfreeze()
