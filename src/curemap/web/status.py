"""The living service's state for people and for health checks: ``/status`` (the page),
``/healthz`` (the store answers). Both, like ``/api/status``, are answered fresh every time
(``Cache-Control: no-store``): an update's failure changes no store version the cache keys on."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text

from curemap.pipeline import LIVE_SOURCES
from curemap.service.runs import MAP, REPORT, update_status
from curemap.service.scheduler import words
from curemap.views import store_status
from curemap.web.context import WebContext, web_context
from curemap.web.rendering import render_page

router = APIRouter(include_in_schema=False)

Context = Annotated[WebContext, Depends(web_context)]

NO_STORE = {"Cache-Control": "no-store"}

STEP_LABELS = {**{name: source.label for name, source in LIVE_SOURCES.items()}, MAP: "enrich and snapshot", REPORT: "report edition"}


@router.get("/status", response_class=HTMLResponse)
def status_page(ctx: Context) -> HTMLResponse:
    """Each step's last success and failure, the running update, the next run."""
    updates = update_status(ctx.store)
    every = words(timedelta(seconds=updates["every_seconds"])) if updates["every_seconds"] else None
    response = render_page("status.html", updates=updates, every=every, store=store_status(ctx.store), labels=STEP_LABELS)
    response.headers.update(NO_STORE)
    return response


@router.get("/healthz")
def healthz(ctx: Context) -> JSONResponse:
    """200 when the store answers, 503 when it does not: for load balancers and service managers."""
    try:
        with ctx.store.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver failure means unhealthy; its text may hold the URL
        return JSONResponse({"ok": False, "error": type(exc).__name__}, status_code=503, headers=NO_STORE)
    return JSONResponse({"ok": True}, headers=NO_STORE)
