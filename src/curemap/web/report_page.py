"""The living review in the dashboard: the same self-contained HTML `curemap report` writes,
rendered from the store (computed once per store version) and served under a policy that
allows no script at all."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from curemap.web import aggregates
from curemap.web.context import WebContext, web_context

router = APIRouter()

REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The report page's Content-Security-Policy: inline styles and SVG only, no script."""


@router.get("/report", response_class=HTMLResponse)
def report_page(ctx: Annotated[WebContext, Depends(web_context)]) -> HTMLResponse:
    """The review as of the newest recorded snapshot (the server only reads the store)."""
    return HTMLResponse(aggregates.report_html(ctx), headers={"Content-Security-Policy": REPORT_POLICY})
