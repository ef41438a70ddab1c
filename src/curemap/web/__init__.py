"""The web face of the store: pages, the JSON API and Atom feeds. It only reads the store
(the one writing endpoint needs a token) and never calls the outside world."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from curemap import __version__
from curemap.errors import InputError
from curemap.profile import Profile, load_profile
from curemap.store import Store
from curemap.web import api, feeds, finder, pages, report_page
from curemap.web.context import WebContext
from curemap.web.rendering import TEMPLATES, render_page

SECURITY_HEADERS = {
    # Scripts only from this server (no inline script, no eval); inline style attributes are
    # allowed because the bundled chart library positions its elements with them.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

STATIC = Path(__file__).parent / "static"

__all__ = ["TEMPLATES", "create_app"]


def plotly_js() -> Path:
    """The chart library's script as the installed plotly package bundles it."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith(("/api/", "/feeds/")) or path == "/openapi.json")


def _error(request: Request, status: int, message: str) -> Response:
    if _wants_html(request):
        return render_page("error.html", status_code=status, status=status, message=message)
    return JSONResponse({"error": message, "status": status}, status_code=status)


def create_app(store: Store, *, token: str | None = None, profile: Profile | None = None) -> FastAPI:
    """The app over ``store``; ``token`` enables the writing endpoints for callers who send it."""
    app = FastAPI(
        title="Curemap",
        version=__version__,
        description="A living, cited map of MS cure research. Read-only JSON API over the store.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.curemap = WebContext(store, profile or load_profile(), token=token)

    cache = app.state.curemap.cache

    @app.middleware("http")
    async def security_headers_and_cache(request: Request, call_next):
        """Every response gets the security headers; successful reads of pages, API pages and
        feeds are kept per URL until the store changes (downloads stream and are not kept)."""
        cacheable = request.method == "GET" and not request.url.path.startswith("/static") and "format" not in request.query_params
        key = f"response {request.url}"
        kept = cache.peek(key) if cacheable else None
        if kept is None:
            with store.reading():  # one state of the store for the whole page, even mid-update
                response = await call_next(request)
                if cacheable and response.status_code == 200:
                    body = b"".join([chunk async for chunk in response.body_iterator])
                    kept = (body, response.status_code, dict(response.headers), response.media_type)
                    cache.put(key, kept)
                    response = Response(body, status_code=kept[1], headers=kept[2], media_type=kept[3])
        else:
            response = Response(kept[0], status_code=kept[1], headers=kept[2], media_type=kept[3])
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)  # a page may set a stricter policy of its own
        return response

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'] if part not in ('query', 'path', 'header'))}: {error['msg']}"
            for error in exc.errors()
        )
        return _error(request, 400, f"bad request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = _error(request, exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/static-vendor/plotly.min.js", include_in_schema=False)
    def chart_library() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    for module in (api, feeds, pages, finder, report_page):
        app.include_router(module.router)
    return app
