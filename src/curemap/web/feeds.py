"""Atom feeds of what changed: new MS studies, status changes, results posted and new papers,
each for the whole map or one strategy (``?strategy=ID``). Built with ElementTree, so every
piece of registry text is escaped as XML; characters XML cannot carry are dropped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response

from curemap.web.context import WebContext, web_context
from curemap.web.query import ChangeFilters, change_page, validate_change_filters
from curemap.web.rendering import humanise, render_page

router = APIRouter(prefix="/feeds", tags=["feeds"])

ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 50
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Feed:
    name: str
    title: str
    filters: ChangeFilters
    field: str | None = None  # only change rows of this field (one entry per event)


FEEDS = {
    feed.name: feed
    for feed in (
        Feed("studies", "New MS studies", ChangeFilters(kind="added", record="study", ms=True)),
        Feed("status", "Study status changes", ChangeFilters(kind="status_changed", record="study", ms=True), field="status"),
        Feed("results", "Results posted", ChangeFilters(kind="results_posted", record="study", ms=True), field="has_results"),
        Feed("papers", "New papers", ChangeFilters(kind="added", record="paper")),
    )
}


def _clean(value: Any) -> str:
    return _NOT_XML.sub("", "" if value is None else str(value))


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def _summary(item: dict[str, Any]) -> str:
    if item["kind"] == "added":
        return f"{item['record_id']} was added to the map."
    if item["field"] == "status":
        return f"{item['record_id']}: status {humanise(item['old'])} → {humanise(item['new'])}."
    if item["field"] == "has_results":
        return f"{item['record_id']}: results posted on the registry."
    return f"{item['record_id']}: {item['field']} changed."


def _record_path(record_id: str) -> str:
    if record_id.startswith(("PMID:", "DOI:", "URL:")):
        return f"/papers/{quote(record_id, safe=':/')}"
    return f"/studies/{quote(record_id)}"


def atom(feed: Feed, items: list[dict[str, Any]], base: str, self_path: str, subtitle: str) -> bytes:
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _sub(root, "title", f"Curemap: {feed.title}{subtitle}")
    _sub(root, "id", f"{base}{self_path}")
    _sub(root, "link", rel="self", href=f"{base}{self_path}")
    _sub(root, "link", rel="alternate", href=f"{base}/")
    _sub(root, "updated", items[0]["detected_at"] if items else "1970-01-01T00:00:00+00:00")
    author = _sub(root, "author")
    _sub(author, "name", "Curemap")
    for item in items:
        entry = _sub(root, "entry")
        _sub(entry, "title", f"{item['record_id']}: {item['title'] or 'untitled'}")
        _sub(entry, "id", f"{base}/changes/{item['id']}")
        _sub(entry, "link", rel="alternate", href=f"{base}{_record_path(item['record_id'])}")
        _sub(entry, "updated", item["detected_at"])
        _sub(entry, "summary", _summary(item), type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@router.get("", include_in_schema=False)
def feed_index(request: Request):
    ctx: WebContext = request.app.state.curemap
    return render_page("feeds.html", feeds=list(FEEDS.values()), strategies=ctx.profile.strategies)


@router.get("/{name}.atom", response_class=Response, responses={200: {"content": {"application/atom+xml": {}}}})
def feed(
    request: Request,
    ctx: Annotated[WebContext, Depends(web_context)],
    name: Annotated[str, Path(description="studies, status, results or papers")],
    strategy: Annotated[str | None, Query(description="only records of this strategy", max_length=60)] = None,
) -> Response:
    """An Atom feed of the newest changes of one kind, for the whole map or one strategy."""
    chosen = FEEDS.get(name)
    if chosen is None:
        raise HTTPException(404, f"{name}: no such feed; feeds are {', '.join(FEEDS)}")
    filters = validate_change_filters(ctx.profile, ChangeFilters(**{**vars(chosen.filters), "strategy": strategy}))
    rows = change_page(ctx.store, filters, per_page=200).items
    items = [row for row in rows if chosen.field is None or row["field"] == chosen.field][:ENTRIES]
    base = str(request.base_url).rstrip("/")
    self_path = f"/feeds/{name}.atom" + (f"?strategy={quote(strategy)}" if strategy else "")
    subtitle = f" ({ctx.profile.strategy(strategy).name})" if strategy else ""
    return Response(atom(chosen, items, base, self_path, subtitle), media_type="application/atom+xml")
