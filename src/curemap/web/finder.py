"""The trial finder page and its API endpoint, over the same code as ``curemap match``.

The person travels only in the request body (a form post or JSON), never in the address, and
nothing about them is stored or logged: the answer is computed from the store and returned.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from curemap.errors import InputError
from curemap.match.matcher import VERDICTS, TrialMatch, find_trials
from curemap.match.person import as_of_day, person_from_dict
from curemap.web.context import WebContext, web_context
from curemap.web.rendering import render_page

router = APIRouter()


async def request_body(request: Request) -> bytes:
    """FastAPI dependency: the request body (read whole, within the server's limit, before
    the route runs), so the routes themselves are plain functions run in the threadpool."""
    return await request.body()


Context = Annotated[WebContext, Depends(web_context)]
Body = Annotated[bytes, Depends(request_body)]

MAX_JSON_DEPTH = 20
"""A person's profile nests three levels deep; a body nesting deeper is refused."""

YES_NO = {"yes": True, "no": False, "": None}


PER_PAGE = 50
"""Trials shown on one page of the finder; the summary counts them all."""
CURATIVE_CHOICES = ("", "first", "only")
_FIELD_ERROR = re.compile(r"^form: (\w+)(?:\[\d+\])?: ")


@router.get("/finder", include_in_schema=False)
def finder_page(ctx: Context) -> Response:
    return _render(ctx, {})


@router.post("/finder", include_in_schema=False)
def finder_results(ctx: Context, body: Body) -> Response:
    """The form's answer: the four counts over every trial, then one page of trials, grouped by
    verdict. The next and previous pages post the same form again, so the person never travels
    in an address."""
    form = {key: values[-1].strip() for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    try:
        person = person_from_dict(person_from_form(form), ctx.profile, "form")
        curative, page = _choice(form, "curative", CURATIVE_CHOICES), _page(form)
        if form.get("country_only") == "on" and person.country is None:
            raise InputError("form: country: give your country to see only trials with a site there")
    except InputError as exc:
        return _render(ctx, form, error=str(exc), status_code=400)
    matches = find_trials(
        ctx.store, ctx.profile, person, curative_first=curative == "first", curative_only=curative == "only",
        country_only=form.get("country_only") == "on",
    )
    pages = max(1, math.ceil(len(matches) / PER_PAGE))
    page = min(page, pages)
    summary = {verdict: sum(m.verdict == verdict for m in matches) for verdict in VERDICTS}
    return _render(
        ctx, form, groups=_groups(matches, page), summary=summary, total=len(matches), page=page, pages=pages,
        first=(page - 1) * PER_PAGE + 1, last=min(page * PER_PAGE, len(matches)), person=person,
    )


def _groups(matches: list[TrialMatch], page: int) -> list[dict[str, Any]]:
    """One page's trials as runs of one verdict, each under its heading; a run the previous page
    began is marked as continued."""
    start = (page - 1) * PER_PAGE
    groups: list[dict[str, Any]] = []
    for index in range(start, min(start + PER_PAGE, len(matches))):
        found = matches[index]
        if not groups or groups[-1]["verdict"] != found.verdict:
            continued = index == start and index > 0 and matches[index - 1].verdict == found.verdict
            groups.append({"verdict": found.verdict, "continued": continued, "trials": []})
        groups[-1]["trials"].append(found.to_dict())
    return groups


def _render(ctx: WebContext, form: dict[str, str], *, error: str | None = None, status_code: int = 200, **results: Any) -> Response:
    """The page, with an error shown both at the top and beside the field it names."""
    found = _FIELD_ERROR.match(error or "")
    return render_page(
        "finder.html", status_code=status_code, form=form, courses=_courses(ctx), error=error,
        error_field=found.group(1) if found else None, **{"summary": None, **results},
    )


def _choice(form: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = form.get(name, "")
    if value not in choices:
        raise InputError(f"form: {name}: choose one of {', '.join(c or 'all' for c in choices)}")
    return value


def _page(form: dict[str, str]) -> int:
    text = form.get("page") or "1"
    if not text.isdigit() or int(text) < 1:
        raise InputError(f"form: page: {text!r} is not a page number")
    return int(text)


@router.post("/api/match")
def api_match(
    ctx: Context,
    body: Body,
    curative_first: Annotated[bool, Query(description="List curative-intent trials first.")] = False,
    curative_only: Annotated[bool, Query(description="Only curative-intent trials.")] = False,
    country_only: Annotated[bool, Query(description="Only trials with a site in the person's country.")] = False,
    as_of: Annotated[str | None, Query(max_length=10, description="Judge time windows as of this day (YYYY-MM-DD).")] = None,
) -> dict[str, Any]:
    """Trials a person could join. The body is the person as JSON, the fields of a
    `curemap match` profile; the answer holds the same trial objects as `curemap match --json`."""
    data = json_body(body)
    day = as_of_day(as_of, "as_of")
    person = person_from_dict(data, ctx.profile, "person")
    if country_only and person.country is None:
        raise InputError("country_only: the person gives no country")
    matches = find_trials(
        ctx.store, ctx.profile, person, curative_first=curative_first, curative_only=curative_only,
        country_only=country_only, as_of=day,
    )
    return {"trials": [m.to_dict() for m in matches]}


def json_body(body: bytes) -> Any:
    """The body as JSON, or an :class:`InputError` saying why not: nested deeper than
    :data:`MAX_JSON_DEPTH` (checked before parsing), not JSON, or holding an integer longer
    than Python converts."""
    if _depth(body) > MAX_JSON_DEPTH:
        raise InputError(f"the request body nests deeper than {MAX_JSON_DEPTH} levels; a person's profile needs three")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"the request body is not JSON: {exc}") from None
    except ValueError:  # Python's limit on the digits of an integer it converts
        raise InputError(f"the request body holds an integer of over {sys.get_int_max_str_digits():,} digits") from None


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def _depth(body: bytes) -> int:
    """How deep a JSON text nests its arrays and objects, outside its strings."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def person_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The finder form's fields as a profile: numbers as numbers, dates split at commas, one
    treatment a line ("name, start, stop"), yes/no answers as true/false; blanks left out."""
    data: dict[str, Any] = {}
    for name in ("age", "edss", "years_since_onset", "max_distance_km"):
        if form.get(name):
            data[name] = _number(form[name], name)
    for name in ("sex", "phenotype", "country"):
        if form.get(name):
            data[name] = form[name]
    for name in ("relapses", "mri_activity"):
        text = form.get(name, "")
        if text.lower() == "none":
            data[name] = []
        elif text:
            data[name] = [part.strip() for part in text.split(",") if part.strip()]
    treatments = []
    for line in form.get("treatments", "").splitlines():
        parts = [part.strip() for part in line.split(",")]
        if parts and parts[0]:
            treatments.append({"name": parts[0], **{k: v for k, v in zip(("start", "stop"), parts[1:3]) if v}})
    if treatments:
        data["treatments"] = treatments
    if form.get("lat") or form.get("lon"):
        data["location"] = {"lat": _number(form.get("lat", ""), "lat"), "lon": _number(form.get("lon", ""), "lon")}
    for name in ("pregnant", "breastfeeding", "contraception", "in_other_trial"):
        answer = form.get(name, "")
        if answer not in YES_NO:
            raise InputError(f"form: {name}: answer yes, no or leave it blank")
        if YES_NO[answer] is not None:
            data[name] = YES_NO[answer]
    return data


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"form: {name}: {text!r} is not a number") from None


def _courses(ctx: WebContext) -> list[tuple[str, str]]:
    words = ctx.profile.eligibility
    names = {p.id: p.name for p in ctx.profile.phenotypes}
    return [(course, names.get(course, course)) for course in (words.courses if words else ())]
