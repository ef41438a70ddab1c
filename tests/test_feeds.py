"""Atom feeds: valid Atom, entries from the change log, per strategy too."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from curemap.store import Store
from curemap.web import create_app
from tests.conftest import RAW_V2

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def client(built_store):
    return TestClient(create_app(built_store))


def entries(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed" and root.find(f"{ATOM}updated") is not None
    return root.findall(f"{ATOM}entry")


def test_new_studies_feed_lists_ms_studies_added(client):
    found = entries(client, "/feeds/studies.atom")
    assert len(found) == 50
    first = found[0]
    link = first.find(f"{ATOM}link").get("href")
    study_id = link.rsplit("/", 1)[1]
    assert client.get(f"/api/studies/{study_id}").json()["is_ms"] is True
    assert first.find(f"{ATOM}title").text.startswith(study_id)


def test_per_strategy_feeds_hold_only_that_strategy(client):
    for entry in entries(client, "/feeds/studies.atom?strategy=car_t"):
        study_id = entry.find(f"{ATOM}link").get("href").rsplit("/", 1)[1]
        assert "car_t" in client.get(f"/api/studies/{study_id}").json()["strategies"]
    papers = entries(client, "/feeds/papers.atom?strategy=anti_cd20")
    assert papers and all("/papers/" in e.find(f"{ATOM}link").get("href") for e in papers)


def test_status_and_results_feeds_follow_the_change_log(client, built, cli, tmp_path):
    # The offline build records no status change; a newer version of a record that moves its
    # status and posts results puts one entry in each feed.
    assert entries(client, "/feeds/status.atom") == []
    record = json.loads((RAW_V2 / "NCT00763412.json").read_text(encoding="utf-8"))
    record["protocolSection"]["conditionsModule"]["conditions"] = ["Multiple Sclerosis"]
    before = json.loads(json.dumps(record))
    before["protocolSection"]["statusModule"]["overallStatus"] = "RECRUITING"
    before["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2016-01-01"
    before["hasResults"] = False
    del before["resultsSection"]
    for name, version in (("before", before), ("after", record)):
        (tmp_path / f"{name}.json").write_text(json.dumps(version), encoding="utf-8")
        assert cli("import", tmp_path / f"{name}.json").exit_code == 0
    store = Store.open(built)
    try:
        changed = TestClient(create_app(store))
        status = entries(changed, "/feeds/status.atom")
        assert [e.find(f"{ATOM}summary").text for e in status] == ["NCT00763412: status recruiting → completed."]
        results = entries(changed, "/feeds/results.atom")
        assert [e.find(f"{ATOM}link").get("href").rsplit("/", 1)[1] for e in results] == ["NCT00763412"]
    finally:
        store.close()
    assert client.get("/feeds/nothing.atom").status_code == 404
    assert client.get("/feeds/studies.atom", params={"strategy": "nope"}).status_code == 400
