"""Readers at once: no request touches the database on the event loop (where a wait for a pooled
connection stalled every request), and against a real ``curemap serve`` (uvicorn on 127.0.0.1)
many readers of pages the cache has not seen, before and right after an import invalidates it,
are all answered, none with an error; a request body over the limit is refused before the rest
of it is read."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from curemap.web import create_app
from curemap.web.context import AggregateCache
from curemap.web.gate import MAX_BODY
from tests.conftest import RAW_V2

CLIENTS = 50


def test_no_request_touches_the_database_on_the_event_loop(built_store, monkeypatch):
    monkeypatch.setattr(AggregateCache, "RECHECK_SECONDS", 0.0)  # every request checks the store's version
    on_loop = []

    def recorder(name: str):
        def record(*_args) -> None:
            try:
                asyncio.get_running_loop()  # only the event loop's thread has one
            except RuntimeError:
                return
            on_loop.append(name)

        return record

    hooks = [(built_store.engine.pool, name, recorder(name)) for name in ("checkout", "checkin")]
    hooks.append((built_store.engine, "before_cursor_execute", recorder("execute")))
    for target, name, record in hooks:
        event.listen(target, name, record)
    try:
        client = TestClient(create_app(built_store))
        for path in ("/", "/strategies/ahsct", "/studies/NCT04047628", "/api/studies?strategy=ahsct", "/api/stats",
                     "/feeds/studies.atom", "/api/studies?format=csv&status=RECRUITING", "/finder", "/", "/studies/NCT04047628"):
            assert client.get(path).status_code == 200
        assert client.post("/api/match", json={"age": 40, "phenotype": "rrms"}).status_code == 200
        assert client.post("/finder", data={"age": "40"}).status_code == 200
    finally:
        for target, name, record in hooks:
            event.remove(target, name, record)
    assert on_loop == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(built):
    """``curemap serve`` over a private copy of the built store, on a free port; its address."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "curemap.cli", "--home", str(built), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while process.poll() is None:
            try:
                httpx.get(f"{base}/api/status", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert process.poll() is None, "the server did not start"
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _uncached_urls(base: str, size: int) -> list[str]:
    """Strategy pages, study pages and filtered API lists; ``size`` (the page size) makes them
    new to the cache."""
    strategies = [s["id"] for s in httpx.get(f"{base}/api/strategies", timeout=60).json()["items"]]
    listed = httpx.get(f"{base}/api/studies", params={"ms": "true", "per_page": 100, "page": size}, timeout=60).json()
    urls = [f"/strategies/{s}?per_page={size}" for s in strategies]
    urls += [f"/studies/{item['id']}" for item in listed["items"]]
    urls += [f"/api/studies?strategy={s}&status={status}&per_page={size}" for s in strategies for status in ("RECRUITING", "COMPLETED")]
    return urls


async def _fetch_all(base: str, urls: list[str]) -> dict[str, int | str]:
    """Each URL once, :data:`CLIENTS` at a time: its status, or the error that kept it from one."""
    answers: dict[str, int | str] = {}
    queue = list(urls)
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300) as client:  # a guard against hanging, not a measure

        async def reader() -> None:
            while queue:
                url = queue.pop()
                try:
                    answers[url] = (await client.get(url)).status_code
                except httpx.HTTPError as exc:
                    answers[url] = repr(exc)

        await asyncio.gather(*(reader() for _ in range(CLIENTS)))
    return answers


def _changed_record(folder, enrollment: int) -> str:
    """A real API v2 record, newer than the stored one and with another enrollment."""
    record = json.loads((RAW_V2 / "NCT03064438.json").read_text(encoding="utf-8"))
    record["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {"date": f"2030-01-{enrollment:02d}", "type": "ACTUAL"}
    record["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = enrollment
    path = folder / f"NCT03064438-{enrollment}.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return str(path)


def test_concurrent_readers_of_uncached_pages_are_all_answered_even_after_an_import(server, cli, tmp_path):
    urls = _uncached_urls(server, 1)
    assert asyncio.run(_fetch_all(server, urls)) == dict.fromkeys(urls, 200)
    for round_ in (2, 3):  # each import writes change rows: a new store version, every entry invalidated
        imported = cli("import", _changed_record(tmp_path, round_), "--json")
        assert imported.exit_code == 0 and imported.json()["imported"] + imported.json()["changed"] == 1
        urls = _uncached_urls(server, round_) + urls
        assert asyncio.run(_fetch_all(server, urls)) == dict.fromkeys(urls, 200)


def _answer(base: str, request: bytes) -> tuple[int, bytes]:
    """Send ``request`` (a body cut short of what it declares) and read the answer."""
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:  # a guard against hanging
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


def test_match_body_over_limit_is_413_without_reading_it(server):
    head = b"POST /api/match HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    status, body = _answer(server, head + b"Content-Length: 300000000\r\n\r\n{")  # 300 MB declared, 1 byte sent
    assert status == 413
    assert json.loads(body)["error"] == f"the request body is larger than {MAX_BODY:,} bytes, the most this server reads"


def test_a_chunked_body_is_refused_once_past_the_limit_without_reading_the_rest(server):
    chunk = b"4000\r\n" + b" " * 0x4000 + b"\r\n"
    head = b"POST /api/match HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    status, body = _answer(server, head + chunk * 5)  # 80 KB sent, the body never ends
    assert status == 413
    assert b"the most this server reads" in body
