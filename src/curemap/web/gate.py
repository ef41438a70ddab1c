"""What every request passes through before the routes: its body read up to a limit, the
security headers, the response cache and a turn at the store; and, outside everything else
(compression included, so a HEAD's headers are a GET's), HEAD answered as GET without the body.

Routes read the store only in worker threads (they are plain functions, which FastAPI runs in
its threadpool), never on the event loop. A request reads one state of the store through one
pooled connection (:meth:`Store.reading`), so at most as many requests read at once as the
pool has connections: the others wait here for their turn, holding neither a thread nor a
connection, instead of timing out in the pool."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import anyio
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from curemap.web.context import KeptResponse, WebContext
from curemap.web.rendering import error_response

MAX_BODY = 64_000
"""The most of a request body the server reads; a person's profile for the finder is a few KB."""

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
_SECURITY_HEADERS = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]


class Gate:
    """The ASGI middleware in front of the routes; ``routes`` are the app's GET routes, whose
    declared query parameters are the only ones a request passes on and is cached by."""

    def __init__(self, app: ASGIApp, ctx: WebContext, routes: list[APIRoute]):
        self.app = app
        self.store = ctx.store
        self.cache = ctx.cache
        self.turns = anyio.Semaphore(ctx.store.connections)
        self.routes = [(route, _query_names(route.dependant)) for route in routes if "GET" in route.methods]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _secured(send)
        try:
            body = await _read_body(scope, receive)
        except ClientDisconnect:
            return
        if body is None:
            message = f"the request body is larger than {MAX_BODY:,} bytes, the most this server reads"
            await error_response(scope["path"], 413, message)(scope, receive, send)
            return
        receive = _replay(body, receive)
        if scope["path"].startswith("/static"):  # files from the package, not the store
            await self.app(scope, receive, send)
            return
        scope, route, key = self._route(scope)
        kept = self.cache.response(key) if key else None
        if kept is None:
            kept = await self._with_store(scope, receive, send, route, key)
        if kept is not None:
            await send({"type": "http.response.start", "status": kept.status, "headers": kept.headers})
            await send({"type": "http.response.body", "body": kept.body})

    def _route(self, scope: Scope) -> tuple[Scope, APIRoute | None, str | None]:
        """The scope with only the query parameters its GET route declares, the route, and the
        key its response is kept under (None: not kept, like downloads with ``format``)."""
        if scope["method"] != "GET":
            return scope, None, None
        route, names = next(((r, n) for r, n in self.routes if r.matches(scope)[0] is Match.FULL), (None, None))
        if route is None:
            return scope, None, None
        pairs = [(name, value) for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True) if name in names]
        query = urlencode(sorted(pairs, key=lambda pair: pair[0]))  # a stable sort keeps repeated names in order
        scope = {**scope, "query_string": query.encode("ascii")}
        if any(name == "format" for name, _ in pairs):
            return scope, route, None
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")  # feeds link to the host asked
        return scope, route, f"{scope['scheme']}://{host}{scope['path']}" + (f"?{query}" if query else "")

    async def _with_store(self, scope: Scope, receive: Receive, send: Send, route: APIRoute | None, key: str | None) -> KeptResponse | None:
        """Run the routes in one reading of the store, once a turn is free. A response to be
        kept under ``key`` is returned instead of sent (a kept one, if another request has just
        made it); any other is sent as it comes."""
        async with self.turns:
            with self.store.reading():
                try:
                    if key is None:
                        await self.app(scope, receive, send)
                        return None
                    version = self.cache.fresh_version()
                    if version is None:  # due for a recheck: read through this request's connection
                        version = await anyio.to_thread.run_sync(self.cache.version)
                    kept = self.cache.response(key)  # made while this request waited its turn?
                    if kept is None:
                        kept = await _capture(self.app, scope, receive)
                        if kept.status == 200 and scope.get("route") is route and not _no_store(kept):
                            self.cache.keep_response(key, kept, version)
                    return kept
                finally:
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(self.store.end_reading)


def _no_store(response: KeptResponse) -> bool:
    """A response its route marked ``Cache-Control: no-store`` (the updates' status, which changes
    with no new store version) is never kept."""
    return any(name.lower() == b"cache-control" and b"no-store" in value for name, value in response.headers)


def _query_names(dependant: Any) -> frozenset[str]:
    """The query parameters a route reads, through all its dependencies."""
    return frozenset(field.alias for field in dependant.query_params).union(*map(_query_names, dependant.dependencies))


async def _read_body(scope: Scope, receive: Receive) -> bytes | None:
    """The whole request body, or None as soon as it passes :data:`MAX_BODY` (the rest is
    never read; a larger declared length is refused before reading any)."""
    declared = dict(scope["headers"]).get(b"content-length", b"")
    if declared.isdigit() and (len(declared) > len(str(MAX_BODY)) or int(declared) > MAX_BODY):
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` as the routes expect it, the body already read given back first."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


class HeadAsGet:
    """The ASGI middleware in front of all others: a HEAD request is answered as the GET would
    be, headers and all, with no body."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def bodiless(message: Message) -> None:
            await send({**message, "body": b""} if message["type"] == "http.response.body" else message)

        await self.app({**scope, "method": "GET"}, receive, bodiless)


def _secured(send: Send) -> Send:
    """``send`` adding the security headers a response does not set itself (a page may set a
    stricter policy of its own)."""

    async def secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            headers += [(name, value) for name, value in _SECURITY_HEADERS if name not in present]
            message = {**message, "headers": headers}
        await send(message)

    return secured


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> KeptResponse:
    """The whole response ``app`` sends."""
    start: Message = {}
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return KeptResponse(start["status"], list(start.get("headers", [])), b"".join(chunks))
