"""A fake ClinicalTrials.gov API v2 on 127.0.0.1 that serves real recorded studies.

It pages the recorded studies with its own opaque ``nextPageToken`` values,
reports ``totalCount`` when asked, applies ``filter.advanced`` date ranges on
``LastUpdatePostDate``, and can be scripted to misbehave on chosen requests
the way real networks and servers do::

    with FakeRegistry(page_size=5, faults={1: Fault.RATE_LIMITED, 3: Fault.DROP}) as registry:
        os.environ["CUREMAP_CTGOV_URL"] = registry.base_url
        ...

Requests are numbered from 1 in arrival order, faulty ones included;
``registry.requests`` records the query parameters of each.
"""

from __future__ import annotations

import enum
import json
import re
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import RAW_V2

STUDIES_PATH = "/api/v2/studies"

LAST_UPDATE_RANGE = re.compile(
    r"AREA\[LastUpdatePostDate\]RANGE\[(?P<low>\d{4}-\d{2}-\d{2}|MIN),(?P<high>\d{4}-\d{2}-\d{2}|MAX)\]"
)


def recorded_studies() -> list[dict[str, Any]]:
    """Every real study in the recordings: the 13 single records, then the studies of the pages."""
    studies = [json.loads(path.read_text()) for path in sorted(RAW_V2.glob("NCT*.json"))]
    for path in sorted(RAW_V2.glob("page_*.json")):
        studies.extend(json.loads(path.read_text())["studies"])
    return studies


def nct_id(study: dict[str, Any]) -> str:
    return study["protocolSection"]["identificationModule"]["nctId"]


def broken_study() -> dict[str, Any]:
    """A real record with its identificationModule removed: no NCT id, no titles."""
    study = json.loads((RAW_V2 / "NCT03418623.json").read_text())
    del study["protocolSection"]["identificationModule"]
    return study


def last_update(study: dict[str, Any]) -> str:
    return study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]


class Fault(enum.Enum):
    RATE_LIMITED_RETRY_AFTER = "429 with Retry-After"
    RATE_LIMITED = "429 without Retry-After"
    UNAVAILABLE = "503"
    DROP = "connection closed without a response"
    TRUNCATED = "half the body, then close (Content-Length says the whole)"
    TRUNCATED_UNDECLARED = "half the body, then close (no Content-Length)"


@dataclass
class Request:
    number: int
    path: str
    params: dict[str, str]
    fault: Fault | None


class FakeRegistry:
    """Serve ``studies`` (default: every recorded study) in pages of at most ``page_size``.

    ``include_broken`` inserts :func:`broken_study` as the fourth study.
    ``reported_total`` replaces the true ``totalCount`` (to test the cross-check).
    ``retry_after`` is the header value sent with ``RATE_LIMITED_RETRY_AFTER``.
    """

    def __init__(
        self,
        studies: list[dict[str, Any]] | None = None,
        *,
        page_size: int = 1000,
        faults: dict[int, Fault] | None = None,
        include_broken: bool = False,
        reported_total: int | None = None,
        retry_after: str = "1",
    ):
        self.studies = recorded_studies() if studies is None else list(studies)
        if include_broken:
            self.studies.insert(3, broken_study())
        self.page_size = page_size
        self.faults = dict(faults or {})
        self.reported_total = reported_total
        self.retry_after = retry_after
        self.requests: list[Request] = []
        self._tokens: dict[str, tuple[tuple[str, str], int]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/v2"

    def start(self) -> "FakeRegistry":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeRegistry":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _next_request(self, path: str, params: dict[str, str]) -> Request:
        with self._lock:
            number = len(self.requests) + 1
            request = Request(number, path, params, self.faults.get(number))
            self.requests.append(request)
            return request

    def studies_page(self, params: dict[str, str]) -> tuple[int, dict[str, Any] | str]:
        """The status and body the real API would send for these query parameters."""
        query = (params.get("query.cond", ""), params.get("filter.advanced", ""))
        matching = self.studies
        if query[1]:
            bounds = LAST_UPDATE_RANGE.fullmatch(query[1])
            if bounds is None:
                return 400, f"unsupported filter.advanced {query[1]!r}"
            low, high = bounds["low"].replace("MIN", ""), bounds["high"].replace("MAX", "9999")
            matching = [s for s in matching if low <= last_update(s) <= high]
        try:
            size = int(params.get("pageSize", "10"))
        except ValueError:
            return 400, "pageSize must be an integer"
        if not 0 < size <= 1000:
            return 400, "pageSize must be between 1 and 1000"
        offset = 0
        if "pageToken" in params:
            with self._lock:
                token_query, offset = self._tokens.get(params["pageToken"], (None, 0))
            if token_query != query:
                return 400, "invalid pageToken for this query"
        end = offset + min(size, self.page_size)
        body: dict[str, Any] = {"studies": matching[offset:end]}
        if end < len(matching):
            token = secrets.token_urlsafe(24)
            with self._lock:
                self._tokens[token] = (query, end)
            body["nextPageToken"] = token
        if params.get("countTotal") == "true":
            body["totalCount"] = len(matching) if self.reported_total is None else self.reported_total
        return 200, body


def _handler_for(registry: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            request = registry._next_request(parts.path, params)
            if request.fault is Fault.DROP:
                self.close_connection = True
                return
            if request.fault in (Fault.RATE_LIMITED, Fault.UNAVAILABLE):
                self._send(429 if request.fault is Fault.RATE_LIMITED else 503, b"slow down\n", "text/plain")
                return
            if request.fault is Fault.RATE_LIMITED_RETRY_AFTER:
                self._send(429, b"slow down\n", "text/plain", {"Retry-After": registry.retry_after})
                return
            if parts.path.rstrip("/") != STUDIES_PATH:
                self._send(404, b"not found\n", "text/plain")
                return
            status, body = registry.studies_page(params)
            if status != 200:
                self._send(status, f"{body}\n".encode(), "text/plain")
                return
            payload = json.dumps(body).encode()
            if request.fault is Fault.TRUNCATED:
                self._send_cut(payload, declare_length=True)
            elif request.fault is Fault.TRUNCATED_UNDECLARED:
                self._send_cut(payload, declare_length=False)
            else:
                self._send(200, payload, "application/json")

        def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _send_cut(self, payload: bytes, *, declare_length: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if declare_length:
                self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True

    return Handler
