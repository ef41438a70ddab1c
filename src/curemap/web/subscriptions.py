"""Subscribing to digests (``curemap.service.digests``): the form and its JSON twin, the
confirmation and unsubscribe links, a subscriber's Atom feed and the whole of one digest.

These routes write the store and set a cookie, so the app registers them outside the response
cache. A form post must carry the token its page set in a SameSite cookie (a page elsewhere can
neither read nor send it); a JSON post needs ``Content-Type: application/json``, which no page
elsewhere can send here without a CORS preflight this server never grants. The only GETs that
change anything are the mailed confirmation and unsubscribe links, and both are idempotent;
``POST /unsubscribe`` is the one-click unsubscribe of RFC 8058. No address is ever logged or
shown back."""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import fields
from typing import Annotated, Any
from urllib.parse import parse_qs
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from curemap.errors import InputError, MailError
from curemap.service import digests
from curemap.web.context import WebContext, web_context
from curemap.web.feeds import ATOM, _sub
from curemap.web.finder import json_body, request_body
from curemap.web.query import StudyFilters
from curemap.web.rendering import render_page

router = APIRouter()
logger = logging.getLogger("curemap.digests")

Context = Annotated[WebContext, Depends(web_context)]
Body = Annotated[bytes, Depends(request_body)]
Token = Annotated[str, Query(max_length=100, description="the secret token from the link")]

CSRF_COOKIE = "curemap_csrf"
FILTER_NAMES = tuple(f.name for f in fields(StudyFilters))
NOT_FOUND = "no such subscription: the link is wrong, was never confirmed within a week, or the subscription ended"


def _settings(request: Request) -> digests.DigestSettings:
    return request.app.state.digests


def _base(request: Request) -> str:
    """Where links point: the configured public address, else the address this request came to."""
    return _settings(request).public_url or str(request.base_url).rstrip("/")


def _filters(data: dict[str, Any]) -> StudyFilters:
    """The saved search in a form or JSON body: the parameters of ``/api/studies``."""
    unknown = sorted(set(data) - set(FILTER_NAMES))
    if unknown:
        raise InputError(f"{', '.join(unknown)}: not a filter; filters are {', '.join(FILTER_NAMES)}")
    values: dict[str, Any] = {}
    for name, value in data.items():
        if value in (None, ""):
            continue
        if name in ("curative", "ms"):
            if str(value).lower() not in ("true", "false"):
                raise InputError(f"{name}: true or false")
            values[name] = str(value).lower() == "true"
        elif isinstance(value, str):
            values[name] = value.strip()
        else:
            raise InputError(f"{name}: give text")
    return StudyFilters(**values)


@router.get("/subscribe", include_in_schema=False)
def subscribe_page(request: Request, ctx: Context) -> Response:
    """The form, filled in from the query string (a list's "subscribe to this search" link)."""
    form = {name: value for name, value in request.query_params.items() if name in FILTER_NAMES}
    return _form(request, ctx, form)


def _form(request: Request, ctx: Context, form: dict[str, str], error: str | None = None, status_code: int = 200) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render_page(
        "subscribe.html", status_code=status_code, form=form, error=error, csrf=token,
        strategies=ctx.profile.strategies, groups=ctx.profile.groups,
        hidden={k: v for k, v in form.items() if k not in ("email", "strategy", "group", "country", "q", "csrf")},
    )
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/subscribe", secure=request.url.scheme == "https")
    return response


@router.post("/subscribe", include_in_schema=False)  # it writes: not for API fuzzers over a shared store
def subscribe(
    request: Request, ctx: Context, body: Body, content_type: Annotated[str | None, Header()] = None
) -> Response:
    """Subscribe to a digest of the MS studies a saved search matches: a JSON object with
    `email` and any filters of `/api/studies` (`strategy`, `group`, `country`, `q`…). With an
    address the answer is 202: a confirmation mail is sent and nothing else until its link is
    followed. Without one it is 201 with the subscription's Atom feed. The page's form posts here too."""
    as_json = (content_type or "").split(";")[0].strip().lower() == "application/json"
    if as_json:
        data = json_body(body)
        if not isinstance(data, dict):
            return _json_error("the body must be a JSON object: {\"email\": …, \"strategy\": …}")
    else:
        data = {key: values[-1] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        given = data.pop("csrf", "")
        expected = request.cookies.get(CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return _form(request, ctx, data, "This form has expired: send it again.", 403)
    email = data.pop("email", None)
    try:
        if email is not None and not isinstance(email, str):
            raise InputError("email: give text")
        sub = digests.subscribe(ctx.store, ctx.profile, _filters(data), email)
    except InputError as exc:
        return _json_error(str(exc)) if as_json else _form(request, ctx, data, str(exc), 400)
    settings = _settings(request)
    if sub.mailed and not settings.missing():
        try:
            digests.send_outbox(ctx.store, ctx.profile, settings, subscription=sub.id)
        except MailError as exc:  # the confirmation waits in the outbox for the next digest run
            logger.warning("subscription %s: confirmation not sent yet: %s", sub.id, exc)
    about = digests.describe(ctx.profile, sub.filters)
    feed = digests.links(_base(request), sub)["feed"] if sub.state == "active" else None
    if as_json:
        return JSONResponse({"state": sub.state, "about": about, **({"feed": feed} if feed else {})}, status_code=201 if feed else 202)
    return render_page("subscription.html", status_code=201 if feed else 202, state=sub.state, about=about, feed=feed)


def _json_error(message: str) -> Response:
    return JSONResponse({"error": message, "status": 400}, status_code=400)


@router.get("/subscribe/confirm", include_in_schema=False)
def confirm(request: Request, ctx: Context, token: Token) -> Response:
    """The confirmation link: the subscription starts (again and again: idempotent)."""
    sub = digests.confirm(ctx.store, token)
    if sub is None:
        raise HTTPException(404, NOT_FOUND)
    urls = digests.links(_base(request), sub)
    return render_page(
        "subscription.html", state=sub.state, about=digests.describe(ctx.profile, sub.filters), feed=urls["feed"],
        unsubscribe=urls["unsubscribe"],
    )


@router.api_route("/unsubscribe", methods=["GET", "POST"], include_in_schema=False)
def unsubscribe(ctx: Context, token: Token) -> Response:
    """The unsubscribe link (GET) and one-click unsubscribe (POST, RFC 8058): the subscription
    ends, its address is erased, nothing more is sent. Idempotent."""
    sub = digests.unsubscribe(ctx.store, token)
    if sub is None:
        raise HTTPException(404, NOT_FOUND)
    return render_page("subscription.html", state=sub.state, about=digests.describe(ctx.profile, sub.filters), feed=None)


@router.get("/digests/feed.atom", response_class=Response, include_in_schema=False)
def feed(request: Request, ctx: Context, token: Token) -> Response:
    """A subscriber's Atom feed: the newest changes to the studies their search matches, one
    entry per change (a reader shows each once), in the digest's words."""
    sub = digests.active_subscription(ctx.store, token)
    if sub is None:
        raise HTTPException(404, NOT_FOUND)
    items = digests.digest_items(digests.matching_changes(ctx.store, ctx.profile, sub.filters, 0, newest=digests.FEED_ENTRIES), grouped=False)
    base = _base(request)
    self_url = digests.links(base, sub)["feed"]
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _sub(root, "title", f"Curemap digest: {digests.describe(ctx.profile, sub.filters)}")
    _sub(root, "id", f"{base}/digests/{sub.id}")
    _sub(root, "link", rel="self", href=self_url)
    _sub(root, "updated", items[-1]["detected_at"] if items else "1970-01-01T00:00:00+00:00")
    _sub(_sub(root, "author"), "name", "Curemap")
    for item in reversed(items):
        entry = _sub(root, "entry")
        _sub(entry, "title", f"{item['label']}: {item['title']}")
        _sub(entry, "id", f"{base}/changes/{item['change']}")
        _sub(entry, "link", rel="alternate", href=item["url"] or f"{base}/studies/{item['record_id']}")
        _sub(entry, "updated", item["detected_at"])
        _sub(entry, "summary", item["text"], type="text")
    return Response(ET.tostring(root, encoding="utf-8", xml_declaration=True), media_type="application/atom+xml")


@router.get("/digests/{delivery_id}", include_in_schema=False)
def digest(ctx: Context, delivery_id: Annotated[str, Path(max_length=32)], token: Token) -> Response:
    """The whole of one digest, every item of every section: where a mail's "… and N more" leads."""
    items = digests.delivered_digest(ctx.store, token, delivery_id)
    if items is None:
        raise HTTPException(404, NOT_FOUND)
    return render_page("digest.html", sections=digests.digest_view(items, None))
