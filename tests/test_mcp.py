"""`curemap mcp` driven by the MCP SDK's own client, as an assistant drives it: the command
started over stdio against a copy of the offline build, every tool called, every cited record
looked up in the store, the resources read, and bad arguments answered with a message."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from curemap.analysis.landscape import strategy_landscape, strategy_studies
from curemap.profile import load_profile
from curemap.wording import citation_url

TOOLS = {"search", "show_record", "strategy_trials", "find_trials", "verify_text"}
MARKER = "qz17 marker condition"
"""A word of the person's profile that must end up in no file and no log."""
PERSON = {"age": 34, "sex": "female", "phenotype": "rrms", "edss": 2.5, "country": "France", "conditions": [MARKER]}

BAD_CALLS = {
    "unknown strategy": ("strategy_trials", {"strategy_id": "astrology"}, "is not a strategy; one of: ahsct"),
    "no words": ("search", {"query": "!!!"}, "give at least one word"),
    "bad page size": ("search", {"query": "ocrelizumab", "per_page": 0}, "per_page=0: must be between 1 and 200"),
    "unknown record": ("show_record", {"record_id": "NCT00000000"}, "NCT00000000: no such study"),
    "bad person field": ("find_trials", {"person": {"age": "old", "conditions": [MARKER]}}, "person: age: expected a number"),
    "unknown person field": ("find_trials", {"person": {"height": 180}}, "person: height: unknown field"),
    "country_only without a country": ("find_trials", {"person": {"age": 40}, "country_only": True}, "the person gives no country"),
    "bad date": ("find_trials", {"person": {"age": 40}, "as_of": "yesterday"}, "as_of"),
    "wrong type": ("search", {"query": ["ocrelizumab"]}, "query"),
}


def _server(home: Path) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "curemap.cli", "--home", str(home), "mcp"])


def _answer(result) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content


@pytest.fixture(scope="module")
def session(built_home, tmp_path_factory) -> dict[str, Any]:
    """One server process for the module: everything an assistant asks of it, and its answers."""
    home = tmp_path_factory.mktemp("mcp") / "home"
    shutil.copytree(built_home, home)
    log = home.parent / "server.log"

    async def converse() -> dict[str, Any]:
        out: dict[str, Any] = {"home": home}
        with log.open("w") as errlog:
            async with Client(stdio_client(_server(home), errlog=errlog)) as client:
                out["tools"] = {tool.name: tool for tool in (await client.list_tools()).tools}
                out["resources"] = [str(r.uri) for r in (await client.list_resources()).resources]
                out["templates"] = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
                calls = {
                    "search": ("search", {"query": "stem cell transplantation", "per_page": 5}),
                    "strategy": ("strategy_trials", {"strategy_id": "ahsct", "per_page": 200}),
                    "finder": ("find_trials", {"person": PERSON, "limit": 10}),
                }
                for key, (name, arguments) in calls.items():
                    out[key] = _answer(await client.call_tool(name, arguments))
                study = out["strategy"]["stage_studies"][0]
                paper = out["search"]["papers"]["items"][0]["id"]
                out["study"] = _answer(await client.call_tool("show_record", {"record_id": study}))
                out["paper"] = _answer(await client.call_tool("show_record", {"record_id": paper}))
                out["passage"] = (
                    f"{study} was a phase 1 trial of stem cell transplantation in MS. "
                    f"See also NCT09999999 and {paper}."
                )
                out["verify"] = _answer(await client.call_tool("verify_text", {"text": out["passage"]}))
                out["bad"] = {key: await client.call_tool(name, args) for key, (name, args, _) in BAD_CALLS.items()}
                out["after_errors"] = _answer(await client.call_tool("search", {"query": "natalizumab", "per_page": 1}))
                out["strategies"] = json.loads((await client.read_resource("curemap://strategies")).contents[0].text)
                out["strategy_page"] = json.loads((await client.read_resource("curemap://strategies/car_t")).contents[0].text)
                for uri in ("curemap://report", "curemap://strategies/astrology"):
                    with pytest.raises(MCPError) as failed:
                        await client.read_resource(uri)
                    out[uri] = failed.value
                subprocess.run(
                    [sys.executable, "-m", "curemap.cli", "--home", str(home), "report", "--format", "md"],
                    check=True, capture_output=True,
                )
                out["report"] = (await client.read_resource("curemap://report")).contents[0]
        out["log"] = log.read_text(encoding="utf-8")
        return out

    return anyio.run(converse)


ANSWERS = ("search", "strategy", "finder", "study", "paper", "verify", "after_errors", "strategies", "strategy_page")


def test_lists_the_five_tools_read_only(session):
    assert set(session["tools"]) == TOOLS
    for tool in session["tools"].values():
        assert tool.description and tool.annotations.read_only_hint and not tool.annotations.open_world_hint
    assert session["tools"]["find_trials"].input_schema["required"] == ["person"]
    assert session["tools"]["find_trials"].input_schema["properties"]["person"]["type"] == "object"


@pytest.mark.parametrize("key", ANSWERS)
def test_every_cited_record_resolves_with_its_link(session, built_store, key):
    citations = session[key]["citations"]
    assert citations, f"{key} cites nothing"
    for cited in citations:
        found = built_store.get_study(cited["id"]) if cited["kind"] == "study" else built_store.get_paper(cited["id"])
        assert found is not None, cited
        assert cited["url"] == citation_url(cited["id"]) and cited["url"].startswith("https://")
        assert cited["title"] == (found.brief_title if cited["kind"] == "study" else found.title)
    assert len({c["id"] for c in citations}) == len(citations)


def _cited(answer) -> set[str]:
    return {c["id"] for c in answer["citations"]}


def test_search_finds_studies_and_papers_and_cites_each(session):
    answer = session["search"]
    assert answer["studies"]["total"] > 0 and answer["papers"]["total"] > 0
    items = answer["studies"]["items"] + answer["papers"]["items"]
    assert len(answer["studies"]["items"]) == 5
    assert {item["id"] for item in items} <= _cited(answer)
    assert all(item.get("registry_url") or item.get("url") for item in items)


def test_show_record_gives_the_evidence_and_the_trial(session, built_store):
    study = session["study"]
    for field in ("roles", "purpose", "populations", "evidence", "trial", "strategies"):
        assert field in study
    assert study["roles"]["ahsct"] == "tested"
    assert study["evidence"], "a classified study shows the words its labels rest on"
    assert {r["id"] for r in study["trial"]["registrations"]} <= _cited(study)
    assert study["id"] in _cited(study) and study["url"] == citation_url(study["id"])
    paper = session["paper"]
    assert paper["id"].startswith(("PMID:", "DOI:")) and paper["id"] in _cited(paper)
    assert "design" in paper


def test_strategy_trials_are_the_ones_its_stage_and_counts_rest_on(session, built_store):
    profile = load_profile()
    entry = next(e for e in strategy_landscape(built_store, profile) if e.id == "ahsct")
    answer = session["strategy"]
    assert answer["stage"] == entry.stage and answer["studies"] == entry.studies
    assert answer["trials"]["total"] == entry.studies
    assert answer["trials"]["items"] == strategy_studies(built_store, profile).tested["ahsct"]
    assert set(answer["stage_studies"]) <= set(answer["trials"]["items"])
    assert set(answer["recruiting_studies"]) <= set(answer["trials"]["items"])
    named = answer["stage_studies"] + answer["recruiting_studies"] + answer["trials"]["items"]
    assert set(named) <= _cited(answer)
    assert answer["description"] and answer["group_name"]


def test_the_finder_answers_and_keeps_nothing_of_the_person(session):
    answer = session["finder"]
    assert answer["total"] > 0 and sum(answer["verdicts"].values()) == answer["total"]
    assert 0 < len(answer["trials"]) <= 10
    assert all(t["criteria"] and t["verdict"] in answer["verdicts"] for t in answer["trials"])
    assert {t["id"] for t in answer["trials"]} <= _cited(answer)
    assert "qz17" not in session["log"]
    for path in session["home"].rglob("*"):
        if path.is_file():
            assert b"qz17" not in path.read_bytes(), path


def test_verify_text_checks_the_passage_and_cites_what_resolved(session):
    answer = session["verify"]
    by_ref = {c["ref"]: c for c in answer["references"]}
    study = session["strategy"]["stage_studies"][0]
    assert by_ref[study]["status"] == "mismatch"
    assert any(p["field"] == "phase" for p in by_ref[study]["problems"])
    assert by_ref["NCT09999999"]["status"] == "unverifiable"
    assert "NCT09999999" not in _cited(answer)
    assert study in _cited(answer)


@pytest.mark.parametrize("key", BAD_CALLS)
def test_a_bad_argument_is_an_error_with_a_clear_message(session, key):
    result = session["bad"][key]
    assert result.is_error
    assert BAD_CALLS[key][2] in result.content[0].text


def test_the_server_still_answers_after_bad_arguments(session):
    assert session["after_errors"]["studies"]["total"] > 0


def test_resources_the_review_and_the_strategy_pages(session):
    assert session["resources"] == ["curemap://report", "curemap://strategies"]
    assert session["templates"] == ["curemap://strategies/{strategy_id}"]
    missing = session["curemap://report"]
    assert "run `curemap --home" in str(missing) and "report` first" in str(missing)
    report = session["report"]
    assert report.mime_type == "text/markdown"
    assert report.text == (session["home"] / "report" / "report.md").read_text(encoding="utf-8")
    listed = {row["id"]: row for row in session["strategies"]["strategies"]}
    assert "car_t" in listed and listed["car_t"]["stage"] == session["strategy_page"]["stage"]
    assert session["strategy_page"]["id"] == "car_t" and session["strategy_page"]["trials"]["items"]
    assert "is not a strategy" in str(session["curemap://strategies/astrology"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_streamable_http_on_localhost(built_home):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "curemap.cli", "--home", str(built_home), "mcp", "--http", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )

    async def ask() -> Any:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            return tools, _answer(await client.call_tool("strategy_trials", {"strategy_id": "car_t", "per_page": 5}))

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "the server did not listen within 60 s"
                time.sleep(0.2)
        tools, answer = anyio.run(ask)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert tools == TOOLS
    assert answer["id"] == "car_t" and set(answer["trials"]["items"]) <= {c["id"] for c in answer["citations"]}
