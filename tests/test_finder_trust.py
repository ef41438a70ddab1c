"""The trial finder never misleads (issue 15): a trial nothing could be judged on is never
eligible, children's trials never fit an adult, the person's country ranks, the page counts
and pages its answer, and new trials that fit are listed and written as an Atom feed."""

from __future__ import annotations

import datetime as dt
import json
import re
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from curemap.match.matcher import VERDICTS, find_trials
from curemap.match.person import person_from_dict
from curemap.profile import load_profile
from tests.conftest import RAW_V2

AS_OF = dt.date(2025, 10, 1)
WOMAN = {"age": 34, "sex": "female", "phenotype": "rrms", "edss": 3.0, "country": "United States"}
CHILDREN = re.compile(r"\b(?:child(?:ren)?|paediatric|pediatric|adolescents?)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def profile():
    return load_profile()


@pytest.fixture(scope="module")
def woman(built_store, profile):
    return find_trials(built_store, profile, person_from_dict(WOMAN, profile), as_of=AS_OF)


def test_nothing_judged_is_never_eligible_and_comes_last(woman):
    lines = [m.to_dict() for m in woman]
    for line in lines:
        decided = [c for c in line["criteria"] if c["status"] != "unknown"]
        assert line["judged"] == bool(decided)
        if not decided:
            assert line["eligible"] is None and line["verdict"] == "not_checked" and line["score"] == 0.0
        assert line["counts"]["read"] == len(line["criteria"])
    verdicts = [VERDICTS.index(line["verdict"]) for line in lines]
    assert verdicts == sorted(verdicts)
    # the offline snapshot has no eligibility text: nothing is judged on it, so nothing is
    # "may be eligible"; what fits was judged on age and who the trial admits only
    counts = {verdict: verdicts.count(VERDICTS.index(verdict)) for verdict in VERDICTS}
    assert counts["may_be_eligible"] == 0
    assert counts["ask_the_study_team"] > 100 and counts["not_checked"] > 300 and counts["ruled_out"] > 40
    assert all(line["judged_on"] == "judged on age and who it admits only" for line in lines if line["verdict"] == "ask_the_study_team")


def test_no_childrens_trial_fits_a_34_year_old(woman):
    named = 0
    for m in woman:
        ages = m.study.eligibility.std_ages if m.study.eligibility else []
        titles = f"{m.study.brief_title or ''} {m.study.official_title or ''}"
        if CHILDREN.search(titles) or (ages and not {"ADULT", "OLDER_ADULT"} & set(ages)):
            named += 1
            assert m.eligible is not True, (m.study.id, m.study.brief_title)
    assert named >= 10


def test_country_ranks_within_each_verdict_and_can_filter(woman, built_store, profile):
    for verdict in VERDICTS:
        group = [m for m in woman if m.verdict == verdict]
        ranks = [m.country_rank for m in group]
        assert ranks == sorted(ranks), verdict
    first_elsewhere = next(i for i, m in enumerate(woman) if not m.in_country)
    assert first_elsewhere > 0 and all(m.in_country for m in woman[:first_elsewhere])
    only = find_trials(built_store, profile, person_from_dict(WOMAN, profile), as_of=AS_OF, country_only=True)
    assert only and all(m.in_country for m in only)
    assert len(only) == sum(bool(m.in_country) for m in woman)


def test_sites_name_their_country_and_say_when_only_the_first_is_listed(woman):
    lines = [m.to_dict() for m in woman]
    places = [site["place"] for line in lines for site in line["sites"]]
    assert places and not any(place.startswith(",") for place in places if place)
    assert all(line["site_count"] >= len(line["sites"]) for line in lines)
    partial = [m for m in woman if (m.study.total_locations or 0) > len(m.study.locations)]
    assert len(partial) > 100 and all("lists only its first site" in m.to_dict()["note"] for m in partial)
    assert not any("lists only its first site" in line.get("note", "") for line in lines if (line["total_locations"] or 0) <= 1)


def test_curative_only(built_store, profile):
    curative = find_trials(built_store, profile, person_from_dict(WOMAN, profile), as_of=AS_OF, curative_only=True)
    assert curative and all(m.curative_intent for m in curative)


# -- the page ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(built_store):
    from curemap.web import create_app

    return TestClient(create_app(built_store))


FORM = {"age": "34", "sex": "female", "phenotype": "rrms", "edss": "3", "country": "United States"}


def _counts(text: str) -> dict[str, int]:
    return {name: int(value) for name, value in re.findall(r'data-count="(\w+)">(\d+)<', text)}


def test_page_shows_four_counts_and_fifty_trials_a_page(client, woman):
    page = client.post("/finder", data=FORM)
    assert page.status_code == 200
    counts = _counts(page.text)
    assert set(counts) == set(VERDICTS) and sum(counts.values()) == len(woman)
    assert page.text.count('<article class="match') == 50
    assert "Not yet checked: the registry text is not in this copy of the map" not in page.text  # judged trials fill page 1
    last = client.post("/finder", data={**FORM, "page": "13"})
    assert last.text.count('<article class="match') == len(woman) - 12 * 50
    assert "Not yet checked: the registry text is not in this copy of the map (continued)" in last.text
    assert 'class="ok"' not in last.text  # never in green
    assert '<input type="hidden" name="age" value="34">' in last.text  # the next page posts the form again


def test_page_filters_and_errors_next_to_the_field(client):
    only = client.post("/finder", data={**FORM, "country_only": "on", "curative": "only"})
    assert only.status_code == 200 and "with a site in United States with curative intent" in only.text
    bad = client.post("/finder", data={**FORM, "edss": "4.25"})
    assert bad.status_code == 400
    assert 'aria-invalid="true" aria-describedby="f-edss-hint f-edss-error"' not in bad.text
    assert 'aria-describedby="f-edss-hint f-edss-error" aria-invalid="true"' in bad.text
    assert '<span class="field-error" id="f-edss-error">form: edss: 4.25 is not an EDSS score' in bad.text
    assert client.post("/finder", data={"country_only": "on"}).status_code == 400


# -- new trials that fit, and their feed ----------------------------------------------------

PORTLAND = json.loads((RAW_V2 / "page_search_ms_recruiting_portland.json").read_text())["studies"]
PERSON = {"age": 34, "sex": "female", "phenotype": "rrms", "edss": 3.0, "relapses": ["2025-03-10"], "mri_activity": [],
          "treatments": [{"name": "ocrelizumab", "start": "2022-01"}], "country": "United States",
          "location": {"lat": 45.52, "lon": -122.68}, "pregnant": False, "breastfeeding": False, "contraception": True}


def _ids(study_list) -> set[str]:
    return {s["protocolSection"]["identificationModule"]["nctId"] for s in study_list}


def test_since_and_feed_follow_a_store_updated_between_two_registry_pages(cli, monkeypatch, fast_policies, tmp_path):
    from curemap.sources import ctgov_api
    from tests.fake_registry import FakeRegistry

    fast_policies(ctgov_api, "CTGOV")
    me = tmp_path / "me.json"
    me.write_text(json.dumps(PERSON), encoding="utf-8")
    feed = tmp_path / "trials.atom"
    first, second = PORTLAND[3:], PORTLAND[:3]  # BEAT-MS (2019) and a scleroderma trial; then three MS trials of 2024
    found = []
    with FakeRegistry(first, page_size=2) as registry:
        monkeypatch.setenv("CUREMAP_CTGOV_URL", registry.base_url)
        for page in (first, second):
            registry.studies = registry.studies if page is first else first + second
            assert cli("update", "--source", "ctgov", "--since", "2000-01-01", "--json").exit_code == 0
            result = cli("match", me, "--since", "2024-01-01", "--feed", feed, "--as-of", "2025-06-01", "--json")
            assert result.exit_code == 0, result.stderr
            found.append(result.json_lines())
    before, after = found
    assert before == []  # BEAT-MS opened in 2019; nothing new fits yet
    assert after and {line["id"] for line in after} <= _ids(second)
    assert all(line["eligible"] is True and max(line["start_date"], line["first_posted"]) >= "2024-01-01" for line in after)
    everything = cli("match", me, "--as-of", "2025-06-01", "--json").json_lines()
    fitting_new = [line["id"] for line in everything if line["eligible"] and line["id"] in _ids(second)]
    assert sorted(line["id"] for line in after) == sorted(fitting_new)
    root = ET.fromstring(feed.read_bytes())
    atom = "{http://www.w3.org/2005/Atom}"
    entries = root.findall(f"{atom}entry")
    assert sorted(e.find(f"{atom}id").text.rsplit(":", 1)[1] for e in entries) == sorted(fitting_new)
    assert all(e.find(f"{atom}link").get("href").startswith("https://clinicaltrials.gov/") for e in entries)
    text = feed.read_text(encoding="utf-8")
    assert "2025-03-10" not in text and "ocrelizumab, 2022" not in text and "me.json" not in text  # nothing about the person
