"""The trial finder page and POST /api/match: the same answers as the command line, input
checked with a 400 and a message, registry text escaped, nothing about the person kept."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from curemap.match.matcher import find_trials
from curemap.match.person import person_from_dict
from curemap.profile import load_profile
from curemap.store import Store, schema
from tests.conftest import RAW_V2

PERSON = {"age": 34, "sex": "female", "phenotype": "rrms", "edss": 3.0, "relapses": ["2025-03-10"], "treatments": ["ocrelizumab"],
          "country": "United States", "location": {"lat": 45.52, "lon": -122.68}}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from curemap.cli import run

    home = tmp_path_factory.mktemp("finder")
    with pytest.raises(SystemExit):
        run(["--home", str(home), "import", str(RAW_V2 / "page_search_ms_recruiting_portland.json")])
    opened = Store.open(home)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def client(store):
    from curemap.web import create_app

    return TestClient(create_app(store))


def _rows(store) -> tuple[int, ...]:
    with store.engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (schema.raw_records, schema.changes, schema.studies))


def test_api_match_returns_the_cli_objects(client, store):
    response = client.post("/api/match?as_of=2025-06-01", json=PERSON)
    assert response.status_code == 200
    trials = response.json()["trials"]
    profile = load_profile()
    expected = find_trials(store, profile, person_from_dict(PERSON, profile), as_of=dt.date(2025, 6, 1))
    assert trials == [json.loads(json.dumps(m.to_dict())) for m in expected]
    assert trials[0]["sites"][0]["city"] == "Portland"
    curative = client.post("/api/match?as_of=2025-06-01&curative_first=true", json=PERSON).json()["trials"]
    assert curative[0]["id"] == "NCT04047628" and curative[0]["curative_intent"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "the request body is not JSON"),
        (json.dumps({"edss": 12}).encode(), "person: edss: 12 is outside 0 to 10"),
        (json.dumps([1, 2]).encode(), "person: expected an object of fields"),
        (json.dumps({"relapses": ["soon"]}).encode(), "person: relapses[0]: 'soon' is not a date"),
    ],
)
def test_api_match_rejects_bad_input_with_400(client, body, message):
    response = client.post("/api/match", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert client.post("/api/match?as_of=June", json={}).status_code == 400


def test_finder_page_form_and_results_escape_registry_text(client):
    page = client.get("/finder")
    assert page.status_code == 200 and '<form class="finder-form" method="post" action="/finder" novalidate>' in page.text
    assert "Relapsing-remitting MS" in page.text
    today = dt.date.today()
    recent = ", ".join((today - dt.timedelta(days=days)).isoformat() for days in (90, 300))  # the page judges as of today
    form = {"age": "34", "sex": "female", "phenotype": "rrms", "edss": "3", "relapses": recent, "mri_activity": "none",
            "treatments": "ocrelizumab, 2022-01\nfingolimod, 2019, 2021-12", "lat": "45.52", "lon": "-122.68", "pregnant": "no",
            "curative": "first"}
    results = client.post("/finder", data=form)
    assert results.status_code == 200
    text = results.text
    assert text.count('<article class="match') == 4
    assert text.index("NCT04047628") < text.index("NCT06433752")  # curative intent first
    # registry text is escaped: "LVEF) < 50%" arrives as &lt;
    assert "(LVEF) &lt; 50%." in text and "(LVEF) < 50%" not in text
    assert 'value="34"' in text  # the form keeps what was entered, in the page only


def test_finder_form_errors_are_shown_with_400(client):
    response = client.post("/finder", data={"edss": "4.25"})
    assert response.status_code == 400
    assert "form: edss: 4.25 is not an EDSS score" in response.text
    assert client.post("/finder", data={"age": "old"}).status_code == 400
    assert "form: pregnant: answer yes, no or leave it blank" in client.post("/finder", data={"pregnant": "maybe"}).text


def test_nothing_about_the_person_is_stored_or_logged(client, store, caplog):
    before = _rows(store)
    with caplog.at_level("DEBUG"):
        client.post("/api/match", json={**PERSON, "conditions": ["a condition named Zanzibarite"]})
        client.post("/finder", data={"age": "47", "country": "Zanzibarland"})
    assert _rows(store) == before
    assert "Zanzibar" not in caplog.text
