"""The web face of the store: pages and the JSON API. It only reads the store."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

from curemap import __version__
from curemap.store import Store
from curemap.views import store_counts, store_status

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(store: Store) -> FastAPI:
    app = FastAPI(title="Curemap", version=__version__, description="A living, cited map of MS cure research.")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/", response_class=HTMLResponse)
    def overview() -> str:
        return TEMPLATES.get_template("overview.html").render(
            status=store_status(store), counts=store_counts(store), version=__version__
        )

    @app.get("/api/status")
    def api_status() -> dict:
        """What the store holds: the same object as `curemap status --json`."""
        return store_status(store)

    return app
