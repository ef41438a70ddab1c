"""The JSON API on the built offline store: filters, sorting, pagination, downloads, records,
strategies, stats, changes, validation (400, never 500) and the token on writes."""

from __future__ import annotations

import csv
import json
import io
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from curemap.analysis import trends
from curemap.analysis.landscape import LISTS, PAGED_LISTS, TESTED_LIST, strategy_studies
from curemap.profile import load_profile
from curemap.views import store_status
from curemap.web import aggregates, create_app


def test_studies_list_pages_through_the_store(client, built_store):
    first = client.get("/api/studies", params={"per_page": 20}).json()
    assert first["total"] == store_status(built_store)["studies"]
    assert (first["page"], first["per_page"], len(first["items"])) == (1, 20, 20)
    second = client.get("/api/studies", params={"per_page": 20, "page": 2}).json()
    assert not {s["id"] for s in first["items"]} & {s["id"] for s in second["items"]}
    dates = [s["last_update_posted"] for s in first["items"] + second["items"]]
    assert dates == sorted(dates, reverse=True)


def test_strategy_and_status_filters_match_the_landscape(client, landscape):
    for strategy in ("ahsct", "anti_cd20", "car_t"):
        entry = landscape[strategy]
        tested = client.get("/api/studies", params={"strategy": strategy, "ms": "true", "role": "tested", "per_page": 200}).json()
        assert tested["total"] == entry.registrations + len(entry.about_studies)
        assert all(strategy in s["tested_strategies"] and s["roles"][strategy] == "tested" and s["is_ms"] for s in tested["items"])
        listed = client.get("/api/studies", params={"strategy": strategy, "ms": "true", "role": "tested", "format": "json"}).json()
        assert set(entry.stage_studies) <= {s["id"] for s in listed}
        compared = client.get("/api/studies", params={"strategy": strategy, "ms": "true", "role": "comparator", "per_page": 200}).json()
        assert compared["total"] == len(entry.comparator_studies)
        everything = client.get("/api/studies", params={"strategy": strategy, "ms": "true"}).json()
        assert everything["total"] == tested["total"] + compared["total"]
    recruiting = client.get(
        "/api/studies", params={"strategy": "anti_cd20", "ms": "true", "role": "tested", "status": "recruiting", "per_page": 200}
    ).json()
    assert {s["id"] for s in recruiting["items"]} >= {
        i for i in landscape["anti_cd20"].recruiting_studies if client.get(f"/api/studies/{i}").json()["status"] == "RECRUITING"
    }
    assert all(s["status"] == "RECRUITING" for s in recruiting["items"])


def test_every_filter_narrows_to_matching_studies(client, built_store):
    group = client.get("/api/studies", params={"group": "immune_reset", "per_page": 200}).json()
    reset = {s.id for s in load_profile().strategies if s.group == "immune_reset"}
    assert group["total"] > 0 and all(set(s["strategies"]) & reset for s in group["items"])
    phase = client.get("/api/studies", params={"phase": "phase3", "per_page": 200}).json()
    assert phase["total"] == dict(built_store.count_by("phase"))["phase3"]
    industry = client.get("/api/studies", params={"sponsor_class": "INDUSTRY", "per_page": 5}).json()
    assert industry["total"] == dict(built_store.count_by("lead_sponsor_class"))["INDUSTRY"]
    curative = client.get("/api/studies", params={"curative": "true", "per_page": 200}).json()
    assert curative["total"] > 0 and all(s["curative_intent"] for s in curative["items"])
    germany = client.get("/api/studies", params={"country": "Germany", "per_page": 3}).json()
    study = client.get(f"/api/studies/{germany['items'][0]['id']}").json()
    assert "Germany" in {loc["country"] for loc in study["locations"]}
    ppms = client.get("/api/studies", params={"phenotype": "ppms", "per_page": 3}).json()
    assert ppms["total"] > 0
    assert "ppms" in client.get(f"/api/studies/{ppms['items'][0]['id']}").json()["phenotypes"]
    words = client.get("/api/studies", params={"q": "ocrelizumab", "per_page": 200}).json()
    assert words["total"] > 0
    combined = client.get("/api/studies", params={"q": "ocrelizumab", "phase": "phase3", "per_page": 200}).json()
    assert 0 < combined["total"] < words["total"]


def test_sorting(client):
    items = client.get("/api/studies", params={"sort": "start_date", "per_page": 50, "page": 20}).json()["items"]
    starts = [s["start_date"] for s in items if s["start_date"]]
    assert starts == sorted(starts)
    largest = client.get("/api/studies", params={"sort": "-enrollment", "per_page": 5}).json()["items"]
    sizes = [s["enrollment"] for s in largest]
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize(
    "params, words",
    [
        ({"strategy": "no_such"}, "strategy="),
        ({"status": "DANCING"}, "status="),
        ({"phase": "phase9"}, "phase="),
        ({"per_page": 500}, "per_page"),
        ({"page": 0}, "page"),
        ({"curative": "perhaps"}, "curative"),
        ({"sort": "sideways"}, "sort"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_parameters_are_400_with_a_message(client, params, words):
    response = client.get("/api/studies", params=params)
    assert response.status_code == 400
    assert words in response.json()["error"]


def test_csv_and_json_downloads_hold_the_whole_filtered_list(client, landscape):
    params = {"strategy": "anti_cd20", "ms": "true", "role": "tested"}
    rows = list(csv.DictReader(io.StringIO(client.get("/api/studies", params={**params, "format": "csv"}).text)))
    entry = landscape["anti_cd20"]
    assert len(rows) == entry.registrations + len(entry.about_studies)
    assert all("anti_cd20" in row["tested_strategies"].split("|") for row in rows)
    assert all(json.loads(row["roles"])["anti_cd20"] == "tested" and row["trial_id"] for row in rows)
    as_json = client.get("/api/studies", params={**params, "format": "json"})
    assert as_json.headers["content-disposition"] == 'attachment; filename="studies.json"'
    assert [s["id"] for s in as_json.json()] == [row["id"] for row in rows]
    strategies = list(csv.DictReader(io.StringIO(client.get("/api/strategies", params={"format": "csv"}).text)))
    assert {row["id"] for row in strategies} == set(landscape)
    papers = client.get("/api/papers", params={"format": "csv"}).text.splitlines()
    assert len(list(csv.reader(papers))) - 1 == client.get("/api/papers").json()["total"]


def test_one_study_and_one_paper(client):
    study = client.get("/api/studies/NCT04047628").json()
    assert study["id"] == "NCT04047628" and "ahsct" in study["strategies"]
    assert study["registry_url"] == "https://clinicaltrials.gov/study/NCT04047628"
    assert study["evidence"] and study["provenance"]["source"] == "ctgov"
    assert client.get("/api/studies/NCT00000000").status_code == 404
    paper_id = client.get("/api/papers", params={"per_page": 1}).json()["items"][0]["id"]
    paper = client.get(f"/api/papers/{paper_id}").json()
    assert paper["id"] == paper_id and "abstract" in paper


def test_strategies_stats_and_changes(client, landscape, built_store):
    strategies = client.get("/api/strategies").json()
    by_id = {s["id"]: s for s in strategies["items"]}
    assert by_id["ahsct"]["stage"] == landscape["ahsct"].stage
    assert by_id["ahsct"]["studies"] == landscape["ahsct"].studies
    assert all(not set(LISTS) & set(item) and item["lists"] == f"/api/strategies/{item['id']}" for item in strategies["items"])
    one = client.get("/api/strategies/alemtuzumab").json()
    assert one["evidence"] and one["evidence"][0]["estimate"]["k"] >= 1
    stats = client.get("/api/stats").json()
    assert stats["ms_studies"] == store_status(built_store)["ms_studies"]
    assert set(stats["pipeline"]) == {g.id for g in load_profile().groups}
    changes = client.get("/api/changes", params={"since": "2000-01-01", "kind": "added", "per_page": 5}).json()
    assert changes["total"] == store_status(built_store)["studies"] + store_status(built_store)["papers"]
    assert client.get("/api/changes", params={"since": "2999-01-01"}).json()["total"] == 0
    assert client.get("/api/changes", params={"since": "not-a-date"}).status_code == 400


def test_stats_carry_counts_and_where_the_trials_behind_them_are_listed(client, built_store):
    """/api/stats names no list of trials that grows with the store: a curative strategy's
    lists are at its own endpoint, a leading sponsor's trials page by page at its link."""
    stats = client.get("/api/stats").json()
    strategies = [entry for group in stats["curative"] for entry in group["strategies"]]
    assert strategies and any(entry["stage_trials"] for entry in strategies)
    for entry in strategies:
        assert not {"stage_studies", "recruiting_studies", "about_studies", "comparator_studies"} & set(entry)
        listed = client.get(entry["lists"]).json()
        assert listed["id"] == entry["id"]
        lists = listed["lists"]
        assert (lists["stage_studies"]["total"], lists["recruiting_studies"]["total"]) == (entry["stage_trials"], entry["recruiting"])
    studies = trends.ms_studies(built_store, load_profile())
    leading = trends.leading_sponsors(built_store, load_profile(), studies=studies, limit=len(stats["leading_sponsors"]))
    assert [(o["name"], o["count"]) for o in stats["leading_sponsors"]] == [(o.name, o.count) for o in leading]
    for shown, full in zip(stats["leading_sponsors"], leading):
        assert shown["first_ids"] == full.ids[: trends.FIRST_IDS]
        ids, more = [], {"per_page": 50}
        while more:
            page = client.get(f"{shown['trials']}&{urlencode(more)}").json()
            assert (page["organisation"], page["total"]) == (full.name, full.count)
            ids += page["items"]
            more = {"per_page": 50, "cursor": page["next_cursor"]} if page["next_cursor"] else None
        assert ids == full.ids
    missing = client.get("/api/sponsors/trials", params={"organisation": "No Such Sponsor"})
    assert missing.status_code == 404 and "No Such Sponsor" in missing.text


def test_a_strategys_entry_names_the_first_of_each_list_and_pages_every_id(client, landscape, built_store):
    """A strategy's entry stays the same size however many studies its lists hold: each list
    brings its total and first ids, and its link pages through every id of it."""
    cut = 0
    tested = strategy_studies(built_store, load_profile()).tested
    for strategy in ("anti_cd20", "ahsct", "dmt_other"):
        lists = client.get(f"/api/strategies/{strategy}").json()["lists"]
        assert set(lists) == set(PAGED_LISTS)
        assert lists[TESTED_LIST]["total"] == landscape[strategy].studies
        for name, listed in lists.items():
            whole = tested[strategy] if name == TESTED_LIST else getattr(landscape[strategy], name)
            assert (listed["total"], listed["first_ids"]) == (len(whole), whole[: aggregates.IDS_SHOWN]), (strategy, name)
            cut += len(whole) > aggregates.IDS_SHOWN
            ids, more = [], {"per_page": 40}
            while more:
                page = client.get(listed["studies"], params=more).json()
                assert (page["strategy"], page["list"], page["total"]) == (strategy, name, len(whole))
                ids += page["items"]
                more = {"per_page": 40, "cursor": page["next_cursor"]} if page["next_cursor"] else None
            assert ids == whole, (strategy, name)
    assert cut  # some list is longer than an entry names
    assert client.get("/api/strategies/ahsct/lists/every_study").status_code == 400
    assert client.get("/api/strategies/no_such/lists/about_studies").status_code == 404


def test_writes_need_the_configured_token(built_store):
    assert TestClient(create_app(built_store)).post("/api/snapshots").status_code == 403
    guarded = TestClient(create_app(built_store, token="s3cret"))
    assert guarded.post("/api/snapshots").status_code == 401
    assert guarded.post("/api/snapshots", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/api/snapshots").status_code == 405  # reads cannot reach it


def test_openapi_describes_the_list_parameters(client):
    spec = client.get("/openapi.json").json()
    names = {p["name"] for p in spec["paths"]["/api/studies"]["get"]["parameters"]}
    assert {"strategy", "group", "phase", "status", "phenotype", "country", "sponsor_class", "curative", "q", "sort", "page", "per_page"} <= names


def walk(client, path: str, params: dict) -> list[dict]:
    """Every item of a list, following next_cursor from the first page."""
    items, cursor = [], None
    while True:
        page = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if cursor is None:
            return items


@pytest.mark.parametrize("sort", ["-last_update", "start_date", "-enrollment", "title"])
def test_following_the_cursor_lists_every_study_once_in_order(client, built_store, sort):
    walked = walk(client, "/api/studies", {"sort": sort, "per_page": 200})
    assert len(walked) == len({item["id"] for item in walked}) == built_store.count_studies()
    numbered = [item["id"] for n in (1, 2, 3) for item in client.get("/api/studies", params={"sort": sort, "per_page": 200, "page": n}).json()["items"]]
    assert [item["id"] for item in walked[:600]] == numbered
    key = {"-last_update": "last_update_posted", "start_date": "start_date", "-enrollment": "enrollment", "title": "brief_title"}[sort]
    valued = [item[key] for item in walked if item[key] is not None]
    assert valued == sorted(valued, reverse=sort.startswith("-"))
    assert all(item[key] is None for item in walked[len(valued):])  # records without the value come last


def test_a_filtered_list_and_papers_by_cursor_hold_what_numbered_pages_hold(client):
    params = {"strategy": "anti_cd20", "ms": "true", "per_page": 7}
    walked = [item["id"] for item in walk(client, "/api/studies", params)]
    first = client.get("/api/studies", params={**params, "per_page": 200}).json()
    numbered = [item["id"] for n in range(1, -(-first["total"] // 200) + 1)
                for item in client.get("/api/studies", params={**params, "per_page": 200, "page": n}).json()["items"]]
    assert walked == numbered and len(walked) == first["total"] > 7
    papers = walk(client, "/api/papers", {"per_page": 50})
    assert len({item["id"] for item in papers}) == len(papers) == client.get("/api/papers").json()["total"] > 50


@pytest.mark.parametrize(
    "params, words",
    [
        ({"page": 201, "per_page": 50}, "next_cursor"),
        ({"page": 2, "cursor": "WyItbGFzdF91cGRhdGUiLCBudWxsLCAiTkNUMDAwMDAwMDEiXQ"}, "one or the other"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"sort": "id", "cursor": "WyItbGFzdF91cGRhdGUiLCBudWxsLCAiTkNUMDAwMDAwMDEiXQ"}, "sort"),
    ],
)
def test_deep_numbered_pages_and_bad_cursors_are_400_saying_what_to_do(client, params, words):
    for path in ("/api/studies", "/api/papers"):
        response = client.get(path, params=params)
        assert response.status_code == 400
        assert words in response.json()["error"]
