"""A serving app works out its pages' whole-store figures for each new version of the store
before anyone asks: once warmed, the overview, the strategies, a strategy's page and entry and
the review are answered without working out any of them, with the new version's figures."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi.testclient import TestClient

from sqlalchemy import select

from curemap.enrich.pipeline import CLASSIFYING_CODE, classify_store, enrichment_key
from curemap.profile import load_profile
from curemap.report.facts import current_snapshot
from curemap.store import schema
from curemap.store.kinds import STUDY
from curemap.web import aggregates, create_app
from tests.test_store import csv_rows, records_from_rows

PAGES = ["/", "/strategies", "/strategies/ahsct", "/strategies/anti_cd20", "/api/strategies/ahsct", "/api/stats", "/report"]
WORKED_OUT = ["_overview", "strategy_landscape", "start_years", "paper_page", "synthesise", "build_report"]
"""What the aggregates are worked out with: a page that needs one that is not ready calls it."""


def _refuse(monkeypatch, names=WORKED_OUT) -> None:
    def refused(*args, **kwargs):
        raise AssertionError("an aggregate was worked out for a reader")

    for name in names:
        monkeypatch.setattr(aggregates, name, refused)


def _warmed(app) -> None:
    """Wait until the app's warmer has worked out the store's current version."""
    warmer, cache = app.state.warmer, app.state.curemap.cache
    cache.RECHECK_SECONDS = 0  # read the version from the store each time, not as of a second ago
    deadline = time.monotonic() + 120
    while warmer.warmed is None or warmer.warmed != cache.version():
        assert time.monotonic() < deadline, "the warmer never worked out the current version"
        time.sleep(0.05)


def _import(store, rows) -> None:
    """Import and classify the rows and record a snapshot, as a build does (the review needs one)."""
    store.import_records(records_from_rows(rows))
    classify_store(store, load_profile())
    current_snapshot(store, record=True)


def test_each_new_version_is_worked_out_before_a_reader_asks(store, monkeypatch):
    rows = csv_rows()[:400]
    _import(store, rows[:250])
    assert "pages" not in TestClient(create_app(store)).get("/api/status").json()  # only a serving process warms (curemap serve)
    app = create_app(store, warm=True)
    app.state.warmer.every = 0.05
    with TestClient(app) as client:
        _warmed(app)
        pages = client.get("/api/status").json()["pages"]
        assert pages["ready"] and pages["worked_out_in_s"] >= 0
        with monkeypatch.context() as refusing:
            _refuse(refusing)
            for path in PAGES:
                assert client.get(path).status_code == 200, path
        before = client.get("/api/strategies/anti_cd20").json()

        _import(store, rows[250:])  # a new version: every figure is worked out again
        assert not client.get("/api/status").json()["pages"]["ready"]
        _warmed(app)
        with monkeypatch.context() as refusing:
            _refuse(refusing)
            warmed = {path: client.get(path) for path in ("/api/strategies/anti_cd20", "/api/stats")}
        fresh = TestClient(create_app(store))  # works every figure out on request
        for path, response in warmed.items():
            assert response.json() == fresh.get(path).json(), path
        assert warmed["/api/strategies/anti_cd20"].json()["registrations"] > before["registrations"]
    assert not app.state.warmer._thread.is_alive()  # stopped with the server


def test_an_aggregate_that_fails_is_logged_and_the_others_are_still_worked_out(store, monkeypatch, caplog):
    _import(store, csv_rows()[:150])
    app = create_app(store, warm=True)
    app.state.warmer.every = 0.05

    def broken(*args, **kwargs):
        raise RuntimeError("the evidence could not be pooled")

    monkeypatch.setattr(aggregates, "synthesise", broken)
    with caplog.at_level(logging.ERROR, logger="curemap.web"), TestClient(app) as client:
        _warmed(app)
        assert "ahsct's evidence ahead of readers failed" in caplog.text
        monkeypatch.undo()
        with monkeypatch.context() as refusing:
            _refuse(refusing, [name for name in WORKED_OUT if name != "synthesise"])
            page = client.get("/strategies/ahsct")  # its evidence worked out now, the rest ready
    assert page.status_code == 200


@pytest.mark.parametrize("path", ["/strategies/ahsct", "/api/strategies/ahsct"])
def test_a_page_needing_an_aggregate_the_warmer_has_not_reached_works_it_out(store, path):
    _import(store, csv_rows()[:100])
    with TestClient(create_app(store, warm=True)) as client:  # asked at once, before any warming
        assert client.get(path).status_code == 200


def test_every_write_readers_see_moves_the_version_and_a_write_that_changes_nothing_does_not(store):
    """Labels, figures and new snapshots move the version the pages are kept by, as imports do:
    a relabelled study shows on the next request, and so does labelling it back."""
    rows = csv_rows()[:120]
    _import(store, rows)
    app = create_app(store)
    cache = app.state.curemap.cache
    cache.RECHECK_SECONDS = 0
    client, path = TestClient(app), "/api/strategies/ahsct"

    def tested() -> int:
        shown = client.get(path).json()
        assert shown == TestClient(create_app(store)).get(path).json()  # what a server that kept nothing shows
        return shown["lists"]["tested_studies"]["total"]

    before, version = tested(), cache.version()
    store.import_records(records_from_rows(rows))  # the same records again, nothing left to classify
    classify_store(store, load_profile())
    assert cache.version() == version

    key = enrichment_key(load_profile(), *CLASSIFYING_CODE)
    st, cl = schema.studies, schema.classifications
    with store.connect() as conn:
        study, content_hash = conn.execute(
            select(st.c.id, st.c.content_hash).join(cl, cl.c.record_id == st.c.id).where(st.c.is_ms, st.c.study_type == "INTERVENTIONAL", st.c.status == "RECRUITING", ~cl.c.data.contains('"ahsct"')).order_by(st.c.id).limit(1)
        ).one()
    labels = store.get_classification(study)
    store.save_classifications(STUDY, [(study, content_hash, labels | {"strategies": sorted({*labels["strategies"], "ahsct"})})], key)
    assert cache.version() != version and tested() == before + 1
    version = cache.version()
    store.save_classifications(STUDY, [(study, content_hash, labels)], key)  # back as the store was
    assert cache.version() != version and tested() == before

    version = cache.version()
    store.save_figures([(study, content_hash, [])], "figures")
    assert cache.version() != version
    version = cache.version()
    current_snapshot(store, record=True)  # the content the last snapshot names: no page is worked out again
    assert cache.version() == version

    store.import_records(records_from_rows(csv_rows()[120:130]))
    version = cache.version()
    current_snapshot(store, record=True)  # a new snapshot, which the review names
    assert cache.version() != version
