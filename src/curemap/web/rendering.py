"""The one Jinja2 environment every page renders through: autoescape on, safe links and
markdown only through filters that neutralise what source text could smuggle in."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from curemap import __version__
from curemap.wording import phase_words, status_words

SAFE_SCHEMES = frozenset({"http", "https"})

_MARKDOWN = MarkdownIt("js-default")
"""CommonMark with raw HTML off; its link validator refuses javascript:, vbscript: and data: links."""


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) address, else None: a registry or paper record
    could carry ``javascript:`` or any other scheme, and a page must never link it."""
    if not url:
        return None
    cleaned = url.strip()
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.netloc:
        return None
    return cleaned


def render_markdown(text: str | None) -> Markup:
    """Markdown as HTML with raw HTML escaped and unsafe link schemes dropped."""
    return Markup(_MARKDOWN.render(text or ""))


def thousands(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def long_date(day: date | str) -> str:
    """``2025-09-25`` → ``25 September 2025``: a date as a person writes it; of a stored date
    that may name a month or a year only (``2025-09``, ``2025``), as much as it names."""
    if isinstance(day, date):
        return f"{day.day} {day:%B %Y}"
    year, month, rest = (day.split("-") + ["", ""])[:3]
    named = date(int(year), int(month or 1), int(rest or 1))
    return f"{named.day} {named:%B %Y}" if rest else f"{named:%B %Y}" if month else year


def humanise(value: str | None) -> str:
    """``NOT_YET_RECRUITING`` → ``not yet recruiting`` (registry enumerations, for reading)."""
    return (value or "not given").replace("_", " ").lower()


TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters.update(
    safe_url=safe_url, markdown=render_markdown, thousands=thousands, humanise=humanise, long_date=long_date,
    phase=phase_words, status=status_words,
)
TEMPLATES.globals.update(version=__version__)


def render_page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template from ``web/templates`` as an HTML response."""
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status_code)


def error_response(path: str, status: int, message: str) -> Response:
    """An error as the asker reads it: an HTML page, or JSON under ``/api/``, ``/feeds/`` and
    the OpenAPI document."""
    if path.startswith(("/api/", "/feeds/")) or path == "/openapi.json":
        return JSONResponse({"error": message, "status": status}, status_code=status)
    return render_page("error.html", status_code=status, status=status, message=message)
