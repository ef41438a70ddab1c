"""The HTML pager past the numbered pages' reach: "next" follows the cursor, never a page
number the list would refuse, and the pages it leads through hold the whole list once."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from curemap.web import create_app, query

STUDY_LINK = re.compile(r'<td><a href="/studies/([^"]+)">')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


@pytest.fixture
def reach(built_store, monkeypatch):
    """A client whose numbered pages end after two default pages, so the real store's lists
    run past them."""
    monkeypatch.setattr(query, "MAX_OFFSET", 2 * query.DEFAULT_PER_PAGE)
    return TestClient(create_app(built_store))


def _walk(client: TestClient, url: str) -> tuple[list[str], list[str]]:
    """Every study id the pages show from ``url`` on by their "next" links, and the links."""
    ids, links = [], [url]
    while True:
        answer = client.get(links[-1])
        assert answer.status_code == 200, (links[-1], answer.text[:200])
        ids += STUDY_LINK.findall(answer.text)
        found = NEXT.search(answer.text)
        if found is None:
            return ids, links
        links.append(html.unescape(found.group(1)))


@pytest.mark.parametrize(
    ("path", "same_list"),
    [
        ("/studies?status=RECRUITING", {"status": "RECRUITING"}),
        ("/strategies/anti_cd20?sort=start_date", {"strategy": "anti_cd20", "ms": "true", "role": "tested", "sort": "start_date"}),
    ],
)
def test_next_follows_the_cursor_past_the_numbered_pages(reach, path, same_list):
    ids, links = _walk(reach, path)
    expected = [row["id"] for row in reach.get("/api/studies", params={**same_list, "format": "json"}).json()]
    assert len(expected) > 3 * query.DEFAULT_PER_PAGE  # the list runs past the numbered pages
    assert ids == expected  # the whole list, in order, each study once
    assert "page=2" in links[1] and "cursor=" not in links[1]
    assert all("cursor=" in link and "page=" not in link for link in links[2:])
    third = reach.get(links[0] + "&page=3")  # the numbered page past the reach is refused, not offered
    assert third.status_code == 400 and "next_cursor" in third.text
    by_cursor = reach.get(links[2]).text
    assert "← first page" in by_cursor and 'rel="prev"' not in by_cursor


def test_search_stops_offering_pages_past_the_reach(reach):
    first = reach.get("/search?q=multiple")
    second = reach.get(html.unescape(NEXT.search(first.text).group(1)))
    assert second.status_code == 200 and "page 2 of" in second.text
    assert NEXT.search(second.text) is None
