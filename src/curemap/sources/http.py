"""The one HTTP client every remote source goes through.

Registries are public services run on public money, so Curemap is a polite
guest: it says who it is, keeps to each source's request rate, and backs off
when the service is busy. Networks fail part-way, so every request is retried
on faults that a second try can cure (busy or failing servers, dropped
connections, bodies cut off mid-transfer) and fails with a
:class:`~curemap.errors.SourceError` that says what to do once retries run out.

Waiting is bounded: each try by the policy's timeouts, each request with all its retries by
its retry budget (``--timeout`` shortens both). A source that has never answered and does
not answer twice in a row (or once, when the budget leaves no time for a second try) is
deemed unreachable (no network, or packets dropped silently):
the client raises :class:`~curemap.errors.NetworkUnreachable` and stops asking it at once,
instead of retrying every later request for minutes. `update` and `verify` share this path.
"""

from __future__ import annotations

import dataclasses
import email.utils
import errno
import hashlib
import json
import logging
import math
import os
import random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from curemap import __version__
from curemap.errors import HTTPStatusError, NetworkUnreachable, ResponseError, SourceError, TransportError

logger = logging.getLogger("curemap.http")

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

RETRY_AFTER_STATUSES = frozenset({429, 503})

MAX_RETRY_AFTER = 120.0
"""Seconds: the longest a ``Retry-After`` header may make us wait before the next try."""

RETRY_TRANSPORT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
"""Faults of the connection itself; other transport errors (a bad scheme, a proxy refusal) are final."""

NO_ROUTE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN})
"""Connection failures that mean no packet got through, unlike a refused connection."""

UNREACHABLE_AFTER = 2
"""Tries in a row without any answer, before the source ever answered, that make it unreachable."""

DEFAULT_CONTACT = "https://pypi.org/project/curemap/"


@dataclass(frozen=True)
class SourcePolicy:
    """How politely and how persistently to talk to one remote source."""

    name: str
    base_url: str
    requests_per_second: float
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    timeout: float = 60.0
    """Seconds one try may wait for the answer (reading, writing)."""
    connect_timeout: float = 10.0
    """Seconds one try may wait for a connection: a working network connects in far less."""
    retry_budget: float = 300.0
    """Seconds one request may take in all, its retries and the waits between them included."""

    def within(self, seconds: float) -> "SourcePolicy":
        """This policy with no request, retries included, taking longer than ``seconds``."""
        return dataclasses.replace(
            self,
            timeout=min(self.timeout, seconds),
            connect_timeout=min(self.connect_timeout, seconds),
            retry_budget=min(self.retry_budget, seconds),
        )


def default_user_agent() -> str:
    """``curemap/<version> (+<contact>)``; set ``CUREMAP_CONTACT`` so operators can reach you."""
    contact = os.environ.get("CUREMAP_CONTACT", "").strip() or DEFAULT_CONTACT
    return f"curemap/{__version__} (+{contact})"


class _Retryable(Exception):
    """One attempt failed in a way another attempt may cure; ``error`` is raised once none are left."""

    def __init__(
        self, reason: str, error: SourceError, retry_after: float | None = None, unanswered: str | None = None
    ):
        super().__init__(reason)
        self.error = error
        self.retry_after = retry_after
        self.unanswered = unanswered  # why the source gave no answer at all, if it gave none


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for (delta-seconds or an HTTP-date), capped."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _no_answer(exc: httpx.TransportError) -> str | None:
    """Why a try got no answer at all (a timeout, no route, no name resolution), or None for a
    fault that shows the host is there (a refused or reset connection)."""
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return f"its name cannot be resolved ({cause})"
        if isinstance(cause, OSError) and cause.errno in NO_ROUTE_ERRNOS:
            return f"no route to it ({cause.strerror})"
        cause = cause.__cause__ or cause.__context__
    return None


def _tried(count: int) -> str:
    return f"tried {count} time{'s' if count > 1 else ''}"


def _body_excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text[:200] + ("…" if len(text) > 200 else "")


class HttpClient:
    """Rate-limited, retrying, identifying access to one source.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests);
    ``sleep`` and ``clock`` replace real time so tests need not wait.
    With ``cache_dir``, successful GET bodies are kept on disk and served from
    there on the next identical request.
    """

    def __init__(
        self,
        policy: SourcePolicy,
        *,
        transport: httpx.BaseTransport | None = None,
        user_agent: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        cache_dir: Path | None = None,
    ):
        self.policy = policy
        self._sleep = sleep
        self._clock = clock
        self._cache_dir = cache_dir
        self._next_slot: float | None = None
        self._answered = False  # whether the source ever answered, with any status
        self._unanswered = 0  # tries in a row without an answer, before the first answer
        self._unreachable: NetworkUnreachable | None = None
        self._client = httpx.Client(
            base_url=policy.base_url,
            transport=transport,
            timeout=httpx.Timeout(policy.timeout, connect=policy.connect_timeout),
            headers={"User-Agent": user_agent or default_user_agent()},
            follow_redirects=True,
        )

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def url_for(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> str:
        """The full URL a GET of ``path_or_url`` with ``params`` requests (for provenance)."""
        return str(self._client.build_request("GET", path_or_url, params=params).url)

    def get_json(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._fetch(self._client.build_request("GET", path_or_url, params=params), json.loads)

    def get_text(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> str:
        return self._fetch(self._client.build_request("GET", path_or_url, params=params), str)

    def post_form(self, path_or_url: str, data: Mapping[str, Any], *, parse: Callable[[str], Any] = str) -> Any:
        """POST form fields: for requests too long for a URL (E-utilities efetch with many ids).

        ``parse`` turns the body into the value returned; a ``ValueError`` from it
        (an XML body cut off mid-transfer) is retried like any unreadable body.
        """
        return self._fetch(self._client.build_request("POST", path_or_url, data=data), parse)

    # -- one request, retried ----------------------------------------------------

    def _fetch(self, request: httpx.Request, parse: Callable[[str], T]) -> T:
        cache_path = self._cache_path(request)
        if cache_path is not None and cache_path.exists():
            logger.debug("%s: %s from cache", self.policy.name, request.url)
            return parse(cache_path.read_text(encoding="utf-8"))
        if self._unreachable is not None:
            raise NetworkUnreachable(str(self._unreachable), url=str(request.url))
        deadline = self._clock() + self.policy.retry_budget
        tries = 0
        while True:
            self._wait_for_turn()
            tries += 1
            self._limit_timeouts(request, deadline)
            try:
                text, value = self._attempt(request, parse, tries)
            except _Retryable as retry:
                delay = retry.retry_after if retry.retry_after is not None else self._backoff(tries)
                last_try = tries > self.policy.max_retries or self._clock() + delay >= deadline
                if retry.unanswered and not self._answered:
                    self._unanswered += 1
                    if last_try or self._unanswered >= UNREACHABLE_AFTER:
                        raise self._give_up(retry.unanswered, str(request.url), tries) from retry.__cause__
                if last_try:
                    raise retry.error from retry.__cause__
                logger.warning(
                    "%s: %s; retry %d of %d in %.1f s",
                    *(self.policy.name, retry, tries, self.policy.max_retries, delay),
                )
                self._sleep(delay)
            else:
                if cache_path is not None:
                    self._write_cache(cache_path, text)
                return value

    def _limit_timeouts(self, request: httpx.Request, deadline: float) -> None:
        """This try's timeouts: the policy's, cut to what is left of the request's retry budget."""
        left = max(deadline - self._clock(), 0.001)
        timeout = httpx.Timeout(min(self.policy.timeout, left), connect=min(self.policy.connect_timeout, left))
        request.extensions["timeout"] = timeout.as_dict()

    def _attempt(self, request: httpx.Request, parse: Callable[[str], T], attempt: int) -> tuple[str, T]:
        url = str(request.url)
        name = self.policy.name
        tries = _tried(attempt)
        logger.debug("%s: %s %s", name, request.method, url)
        try:
            response = self._client.send(request)
        except RETRY_TRANSPORT_ERRORS as exc:
            error = TransportError(
                f"could not get {url} from {name}: {type(exc).__name__}: {exc} ({tries}); "
                "check the network connection, then run the command again",
                url=url,
            )
            raise _Retryable(f"{type(exc).__name__}: {exc}", error, unanswered=_no_answer(exc)) from exc
        except httpx.DecodingError as exc:
            error = ResponseError(f"{name} sent an undecodable body for {url}: {exc} ({tries})", url=url)
            raise _Retryable(f"undecodable body: {exc}", error) from exc
        except httpx.RequestError as exc:
            raise TransportError(f"could not request {url} from {name}: {exc}", url=url) from exc

        self._answered = True
        status = response.status_code
        if status in RETRY_STATUSES:
            error = HTTPStatusError(
                f"{name} answered {status} {response.reason_phrase} for {url} ({tries}); "
                "the service is busy or failing, try again later",
                url=url,
                status=status,
            )
            retry_after = _retry_after_seconds(response) if status in RETRY_AFTER_STATUSES else None
            raise _Retryable(f"{status} {response.reason_phrase}", error, retry_after)
        if not response.is_success:
            hint = (
                "check the source's base URL and the path"
                if status == 404
                else "the request was refused; check the query parameters"
            )
            raise HTTPStatusError(
                f"{name} answered {status} {response.reason_phrase} for {url} ({_body_excerpt(response)!r}); {hint}",
                url=url,
                status=status,
            )
        try:
            text = response.text
            return text, parse(text)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            error = ResponseError(
                f"{name} sent an unreadable body for {url}: {exc} ({tries}); "
                "the transfer was cut off or the service is failing, try again later",
                url=url,
            )
            raise _Retryable(f"unreadable body: {exc}", error) from exc

    def _give_up(self, reason: str, url: str, tries: int) -> NetworkUnreachable:
        """The source never answered: unreachable for this client from now on, so every later
        request fails at once instead of waiting out its own tries."""
        host = httpx.URL(self.policy.base_url).host
        self._unreachable = NetworkUnreachable(
            f"{self.policy.name} ({host}) cannot be reached: {reason} ({_tried(tries)}, "
            f"waiting up to {self.policy.connect_timeout:g} s to connect and {self.policy.timeout:g} s for an answer); "
            "check the network connection and run the command again",
            url=url,
        )
        return self._unreachable

    # -- politeness ---------------------------------------------------------------

    def _wait_for_turn(self) -> None:
        """Space requests at least ``1 / requests_per_second`` apart."""
        now = self._clock()
        if self._next_slot is not None and self._next_slot > now:
            self._sleep(self._next_slot - now)
            now = self._next_slot
        self._next_slot = now + 1.0 / self.policy.requests_per_second

    def _backoff(self, retry: int) -> float:
        """Exponential backoff with jitter, so many clients do not retry in step."""
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * 2 ** (retry - 1))
        return ceiling * random.uniform(0.5, 1.0)

    # -- cache --------------------------------------------------------------------

    def _cache_path(self, request: httpx.Request) -> Path | None:
        if self._cache_dir is None or request.method != "GET":
            return None
        key = hashlib.sha256(str(request.url).encode("utf-8")).hexdigest()
        return self._cache_dir / self.policy.name / key

    @staticmethod
    def _write_cache(path: Path, text: str) -> None:
        """Write beside, then rename: a crash never leaves a half-written entry to be served."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
