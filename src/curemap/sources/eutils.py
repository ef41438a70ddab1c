"""The live PubMed harvest through NCBI E-utilities: every article for a query, batch by batch.

ESearch (``usehistory=y``, ``retmax=0``) leaves the result set on NCBI's
history server and answers its Count, WebEnv and query_key; EFetch then reads
the set in batches by ``retstart``, by POST as NCBI advises, and each batch is
parsed by :mod:`curemap.sources.pubmed_xml`.

PubMed lets one search be read only up to its 10,000th record, so a larger
result is cut into Entrez-date slices, halving the date range until each slice
fits, and read slice after slice in date order. Each batch is stored together
with the cursor that leads to the next (the slice's dates and the offset in
it) in one store transaction.

A WebEnv lives only some hours on NCBI's side, so the cursor does not keep it:
a resumed harvest searches its slice again and goes on from the saved offset,
and a WebEnv that expires mid-harvest is renewed the same way. The harvest's
last date is fixed when it starts, so the repeated search covers the same
dates; articles PubMed adds to them meanwhile push others down the list, which
are then read twice (harmless: the store upserts).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from curemap.errors import InputError, ResponseError, SourceError
from curemap.model import ParsedRecord
from curemap.sources.ctgov_api import HarvestResult, HarvestStore
from curemap.sources.http import HttpClient, SourcePolicy
from curemap.sources.pubmed_xml import records_from_text

logger = logging.getLogger(__name__)

EUTILS = SourcePolicy("pubmed", "https://eutils.ncbi.nlm.nih.gov/entrez/eutils", requests_per_second=3)
"""NCBI allows 3 requests a second without an API key."""

KEYED_REQUESTS_PER_SECOND = 10
"""NCBI's limit for requests that carry an API key."""

BASE_URL_ENV = "CUREMAP_EUTILS_URL"
API_KEY_ENV = "NCBI_API_KEY"
EMAIL_ENV = "CUREMAP_CONTACT_EMAIL"
TOOL = "curemap"

ESEARCH_PATH = "/esearch.fcgi"
EFETCH_PATH = "/efetch.fcgi"

SEARCH_LIMIT = 10_000
"""PubMed serves at most this many records of one search."""

EFETCH_BATCH = 200

EARLIEST = date(1700, 1, 1)
"""Before any Entrez date: the start of an unbounded harvest."""

DATE_TYPE = "edat"
"""Slices and ``since`` use the Entrez date, when PubMed added the article: it
only grows at today's end, so past slices keep their size, and ``since`` finds
every article added since the last run, however old its publication date."""

_EFETCH_ERROR = re.compile(r"<ERROR>(.*?)</ERROR>", re.DOTALL)


class HistoryLost(SourceError):
    """EFetch answered an error instead of articles: NCBI no longer holds the search's WebEnv."""


def api_key() -> str | None:
    return os.environ.get(API_KEY_ENV, "").strip() or None


def contact_email() -> str | None:
    return os.environ.get(EMAIL_ENV, "").strip() or None


def policy() -> SourcePolicy:
    """:data:`EUTILS`, at 10 requests a second with ``$NCBI_API_KEY``, at ``$CUREMAP_EUTILS_URL`` when set."""
    changes: dict[str, Any] = {}
    if base_url := os.environ.get(BASE_URL_ENV, "").strip():
        changes["base_url"] = base_url
    if api_key():
        changes["requests_per_second"] = KEYED_REQUESTS_PER_SECOND
    return dataclasses.replace(EUTILS, **changes)


def identity() -> dict[str, str]:
    """The ``tool``, ``email`` and ``api_key`` NCBI asks every request to carry (email and key when set)."""
    params = {"tool": TOOL}
    if email := contact_email():
        params["email"] = email
    if key := api_key():
        params["api_key"] = key
    return params


def cursor_key(query: str) -> str:
    return f"pubmed:query={query}"


def since_date(since: str) -> date:
    """``since`` (YYYY-MM-DD) as a date; :class:`InputError` before any request when it is not one."""
    try:
        return date.fromisoformat(since)
    except ValueError:
        raise InputError(f"since {since!r} is not a date; give it as YYYY-MM-DD") from None


def _entrez_day(day: date) -> str:
    return day.strftime("%Y/%m/%d")


@dataclass(frozen=True)
class Search:
    """One ESearch answer for the Entrez dates ``low``…``high``; its records wait on the history server."""

    low: date
    high: date
    count: int
    webenv: str
    query_key: str


def search(client: HttpClient, query: str, low: date, high: date) -> Search:
    params = {
        "db": "pubmed",
        "term": query,
        "usehistory": "y",
        "retmax": 0,
        "retmode": "json",
        "datetype": DATE_TYPE,
        "mindate": _entrez_day(low),
        "maxdate": _entrez_day(high),
    }
    body = client.get_json(ESEARCH_PATH, {**params, **identity()})
    url = client.url_for(ESEARCH_PATH, params)
    result = body.get("esearchresult") if isinstance(body, dict) else None
    if not isinstance(result, dict):
        raise ResponseError(f"{url}: expected an ESearch answer (an object with 'esearchresult')", url=url)
    if "ERROR" in result:
        raise ResponseError(f"PubMed refused the search {query!r}: {result['ERROR']}", url=url)
    try:
        return Search(low, high, int(result["count"]), str(result["webenv"]), str(result["querykey"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ResponseError(f"{url}: the ESearch answer lacks {exc} (count, webenv, querykey)", url=url) from None


def iter_slices(client: HttpClient, query: str, found: Search) -> Iterator[Search]:
    """``found`` itself when PubMed serves it whole, else searches of its halves, in date order.

    A single day is not split further, even above the limit.
    """
    if found.count <= SEARCH_LIMIT or found.low == found.high:
        yield found
        return
    middle = found.low + (found.high - found.low) // 2
    for low, high in ((found.low, middle), (middle + timedelta(days=1), found.high)):
        yield from iter_slices(client, query, search(client, query, low, high))


def _efetch_parser(origin: str) -> Callable[[str], list[ParsedRecord]]:
    def parse(text: str) -> list[ParsedRecord]:
        records = records_from_text(text, origin)
        if not records and (error := _EFETCH_ERROR.search(text)):
            raise HistoryLost(f"PubMed answered {error.group(1).strip()!r} instead of articles")
        return records

    return parse


def efetch(client: HttpClient, query: str, found: Search, retstart: int) -> list[ParsedRecord]:
    """The records of one batch of ``found``; a body cut off mid-transfer is fetched again by the client."""
    origin = (
        f"PubMed search {query!r}, Entrez dates {found.low}..{found.high}, "
        f"records {retstart + 1}-{retstart + EFETCH_BATCH}"
    )
    data = {
        "db": "pubmed",
        "WebEnv": found.webenv,
        "query_key": found.query_key,
        "retstart": retstart,
        "retmax": EFETCH_BATCH,
        "retmode": "xml",
        **identity(),
    }
    return client.post_form(EFETCH_PATH, data, parse=_efetch_parser(origin))


@dataclass
class _Harvest:
    """One run of :func:`harvest`: where it writes, what it reads, and how far it has come."""

    store: HarvestStore
    client: HttpClient
    query: str
    since: str | None
    until: date
    result: HarvestResult
    progress: Callable[[int, int | None], None] | None
    cursor_left: bool = False

    def read(self, low: date, high: date, offset: int) -> None:
        """Read the Entrez dates ``low``…``high``, from ``offset`` when they make one slice."""
        top = search(self.client, self.query, low, high)
        if self.result.total_count is None:
            self.result.total_count = top.count
        for found in iter_slices(self.client, self.query, top):
            self.read_slice(found, offset if (found.low, found.high) == (low, high) else 0)

    def read_slice(self, found: Search, retstart: int) -> None:
        end = min(found.count, SEARCH_LIMIT)
        if found.count > SEARCH_LIMIT:
            self.result.warnings.append(
                f"PubMed found {found.count} articles added on {found.low} for {self.query!r} and serves "
                f"only the first {SEARCH_LIMIT} of one search; narrow the query to get the rest"
            )
        while retstart < end:
            try:
                records = efetch(self.client, self.query, found, retstart)
            except HistoryLost as exc:
                logger.warning("pubmed: %s; searching %s..%s again", exc, found.low, found.high)
                found = search(self.client, self.query, found.low, found.high)
                records = efetch(self.client, self.query, found, retstart)
            retstart += EFETCH_BATCH
            self.result.pages += 1
            self.result.received += len(records)
            cursor = self.cursor_after(found, retstart, end)
            self.result.store_page(self.store, records, cursor_key(self.query), cursor, "pubmed", self.progress)
            self.cursor_left = cursor is not None

    def cursor_after(self, found: Search, retstart: int, end: int) -> dict[str, Any] | None:
        """Where to go on after this batch: the rest of the slice, else the dates after it, else nowhere."""
        if retstart < end:
            low, high, offset = found.low, found.high, retstart
        elif found.high < self.until:
            low, high, offset = found.high + timedelta(days=1), self.until, 0
        else:
            return None
        return {
            "since": self.since,
            "until": self.until.isoformat(),
            "slice": [low.isoformat(), high.isoformat()],
            "retstart": offset,
            "batches": self.result.pages,
            "records": self.result.received,
            "total_count": self.result.total_count,
        }


def harvest(
    store: HarvestStore,
    client: HttpClient,
    *,
    query: str,
    since: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> HarvestResult:
    """Fetch every PubMed article for ``query`` (added on or after ``since``, YYYY-MM-DD) into ``store``.

    An unfinished harvest of the same query resumes from its saved cursor, with
    the ``since`` and last date it started with.
    """
    cursor = store.get_cursor(cursor_key(query))
    if cursor is None:
        low = since_date(since) if since is not None else EARLIEST
        run = _Harvest(store, client, query, since, date.today(), HarvestResult(), progress)
        ranges = [(low, run.until, 0)]
    else:
        resumed = HarvestResult(
            pages=cursor["batches"], received=cursor["records"], total_count=cursor["total_count"], resumed=True
        )
        until = date.fromisoformat(cursor["until"])
        run = _Harvest(store, client, query, cursor["since"], until, resumed, progress, cursor_left=True)
        low, high = (date.fromisoformat(day) for day in cursor["slice"])
        logger.info("pubmed: resuming %r at %s..%s record %d", query, low, high, cursor["retstart"])
        ranges = [(low, high, cursor["retstart"])]
        if high < run.until:
            ranges.append((high + timedelta(days=1), run.until, 0))
    for low, high, offset in ranges:
        run.read(low, high, offset)
    if run.cursor_left:  # the last slices were empty, so no batch was stored with the final (empty) cursor
        run.result.add(store.save_page([], cursor_key=cursor_key(query), cursor=None))
    result = run.result
    result.check_total("PubMed", "articles", query, "PubMed probably changed during the harvest")
    return result
