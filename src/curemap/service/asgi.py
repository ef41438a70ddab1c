"""The web app as a factory for several worker processes (``curemap serve --workers N`` or
``uvicorn --factory curemap.service.asgi:app``): each worker opens its own connections to the
store that ``CUREMAP_HOME`` or ``CUREMAP_DB`` names, with ``CUREMAP_TOKEN`` for the writing
endpoints."""

from __future__ import annotations

import os

from fastapi import FastAPI

from curemap.store import Store
from curemap.web import create_app


def app() -> FastAPI:
    from curemap.cli import default_home

    return create_app(Store.open(default_home(), os.environ.get("CUREMAP_DB")), token=os.environ.get("CUREMAP_TOKEN"), warm=True)
