"""The web face of the store: pages, the JSON API and Atom feeds. It only reads the store
(the one writing endpoint needs a token) and never calls the outside world."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from curemap import __version__
from curemap.errors import InputError
from curemap.profile import Profile, load_profile
from curemap.service import digests as digest_service
from curemap.store import Store
from curemap.web import api, feeds, finder, pages, report_page, status
from curemap.web.context import WebContext
from curemap.web.gate import Gate, HeadAsGet
from curemap.web.rendering import TEMPLATES, error_response
from curemap.web.subscriptions import router as subscription_router
from curemap.web.warming import Warmer

STATIC = Path(__file__).parent / "static"
PLOTLY_JS = Path(__file__).parent / "vendor" / "plotly-basic.min.js"
"""plotly.js 4.1.1's basic bundle (bar, pie and scatter traces: every chart the pages draw),
vendored from npm's ``plotly.js-basic-dist-min`` with its licence beside it, so nothing loads
from elsewhere. The Python ``plotly`` package ships only the full bundle: 1.47 MB gzipped
against this one's 0.39 MB, too heavy for a page on a phone."""

__all__ = ["TEMPLATES", "create_app"]


@asynccontextmanager
async def _long_lived(app: FastAPI) -> AsyncIterator[None]:
    """Once the server has started, what it has loaded (modules, the profile, the app) lives as
    long as the process: frozen, it is left out of every later full garbage collection, which
    then walks only what requests made. Walking it (about 150,000 objects) took 80 ms of CPU
    on a 2-core machine, and about one uncached `/api/stats` in twenty met such a collection:
    the slowest requests of every route were those that did. The app's warmer, if it has one,
    runs as long as the server."""
    gc.collect()
    gc.freeze()
    warmer: Warmer | None = app.state.warmer
    if warmer is not None:
        warmer.start()
    try:
        yield
    finally:
        if warmer is not None:
            warmer.stop()


def create_app(
    store: Store, *, token: str | None = None, profile: Profile | None = None, digests: digest_service.DigestSettings | None = None,
    warm: bool = False,
) -> FastAPI:
    """The app over ``store``; ``token`` enables the writing endpoints for callers who send it;
    ``digests`` (default: from the environment) mails subscription confirmations; ``warm``
    works out the pages' whole-store figures for each new version of the store while it
    serves (:mod:`curemap.web.warming`), as `curemap serve` does."""
    app = FastAPI(
        title="Curemap",
        version=__version__,
        description="A living, cited map of MS cure research. Read-only JSON API over the store.",
        docs_url=None,
        redoc_url=None,
        lifespan=_long_lived,
    )
    app.state.curemap = WebContext(store, profile or load_profile(), token=token)
    app.state.warmer = app.state.curemap.warmer = Warmer(app.state.curemap) if warm else None
    app.state.digests = digests or digest_service.DigestSettings.from_env()

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> Response:
        return error_response(request.url.path, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'] if part not in ('query', 'path', 'header'))}: {error['msg']}"
            for error in exc.errors()
        )
        return error_response(request.url.path, 400, f"bad request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = error_response(request.url.path, exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/static-vendor/plotly-basic.min.js", include_in_schema=False)
    def chart_library() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:  # asked for by browsers on pages that link none, like the report
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})

    routers = [module.router for module in (api, feeds, pages, finder, report_page, status)]
    for router in routers:
        app.include_router(router)
    routes = [route for route in (*app.routes, *(r for router in routers for r in router.routes)) if isinstance(route, APIRoute)]
    app.include_router(subscription_router)  # after the routes the gate may cache: these write and set cookies
    app.add_middleware(Gate, ctx=app.state.curemap, routes=routes)
    # Outside the gate, so its cache keeps bodies as the routes made them, whatever a client accepts.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    app.add_middleware(HeadAsGet)
    return app
