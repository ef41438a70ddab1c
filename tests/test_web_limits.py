"""Bounds on what a reader can make the server hold or answer: request bodies over a limit are
refused (the live server's tests show it reads no further), JSON bodies have a depth limit and no integer too long to convert, the response
cache is bounded in bytes and keyed on known parameters only, HEAD answers like GET, and
``serve`` listens only on a port that exists."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from curemap.web import create_app
from curemap.web.context import AggregateCache
from curemap.web.gate import MAX_BODY

STUDY = "NCT04047628"


@pytest.fixture
def fresh(built_store):
    """A new app over the shared built store, so its response cache starts empty."""
    return TestClient(create_app(built_store), raise_server_exceptions=False)


@pytest.mark.parametrize("path", ["/api/match", "/finder", "/api/snapshots"])
def test_any_body_declared_over_the_limit_is_413(fresh, path):
    response = fresh.post(path, content=b"{}" + b" " * MAX_BODY)
    assert response.status_code == 413
    assert f"larger than {MAX_BODY:,} bytes" in response.text


def test_match_body_nested_5000_deep_is_400_not_500(fresh):
    response = fresh.post("/api/match", content=b"[" * 5000 + b"]" * 5000)
    assert response.status_code == 400
    assert response.json()["error"].startswith("the request body nests deeper than 20 levels")


def test_match_body_with_a_4300_digit_integer_is_400_not_500(fresh):
    response = fresh.post("/api/match", content=b'{"age": ' + b"7" * 4301 + b"}")
    assert response.status_code == 400
    assert response.json()["error"] == "the request body holds an integer of over 4,300 digits"


def test_junk_query_parameters_do_not_create_cache_entries(fresh):
    pages = [fresh.get(f"/studies/{STUDY}", params={"junk": n, "utm_source": "x" * n}) for n in range(50)]
    assert {page.status_code for page in pages} == {200}
    assert {page.text for page in pages} == {fresh.get(f"/studies/{STUDY}").text}
    assert list(fresh.app.state.curemap.cache._responses) == [f"http://testserver/studies/{STUDY}"]


def test_known_parameters_key_the_cache_in_any_order(fresh):
    first = fresh.get("/api/studies?status=RECRUITING&strategy=ahsct&per_page=5&junk=1")
    second = fresh.get("/api/studies?per_page=5&strategy=ahsct&status=RECRUITING")
    assert first.json() == second.json() and first.json()["total"] > 0
    assert list(fresh.app.state.curemap.cache._responses) == [
        "http://testserver/api/studies?per_page=5&status=RECRUITING&strategy=ahsct"
    ]


def test_the_response_cache_is_bounded_by_bytes(fresh, monkeypatch):
    monkeypatch.setattr(AggregateCache, "MAX_RESPONSE_BYTES", 400_000)
    for per_page in range(1, 60):
        assert fresh.get("/api/studies", params={"per_page": per_page}).status_code == 200
    cache = fresh.app.state.curemap.cache
    assert 0 < cache._response_bytes <= 400_000
    assert cache._response_bytes == sum(kept.size for kept in cache._responses.values())
    assert "http://testserver/api/studies?per_page=59" in cache._responses  # the newest stay
    assert "http://testserver/api/studies?per_page=1" not in cache._responses


@pytest.mark.parametrize(
    "path",
    ["/", f"/studies/{STUDY}", "/strategies/ahsct", "/api/studies?per_page=3", "/api/strategies", "/feeds/studies.atom",
     "/finder", "/report", "/openapi.json", "/static-vendor/plotly-basic.min.js", "/api/studies?format=csv"],
)
def test_head_answers_every_get_route_without_a_body(fresh, path):
    got = fresh.get(path)
    head = fresh.head(path)
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-security-policy"] == got.headers["content-security-policy"]
    if "content-length" in got.headers:
        assert head.headers["content-length"] == got.headers["content-length"]


def test_head_on_a_post_only_route_is_405(fresh):
    assert fresh.head("/api/match").status_code == 405


@pytest.mark.parametrize("port", ["99999", "65536", "0", "-1"])
def test_serve_refuses_a_port_outside_1_to_65535_instead_of_listening_elsewhere(cli, monkeypatch, port):
    import uvicorn

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options))
    result = cli("serve", "--port", port)
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.stderr
    assert served == []
    assert cli("serve", "--port", "65535").exit_code == 0 and served[0]["port"] == 65535
