"""The live ClinicalTrials.gov API v2 harvest: every study for a condition, page by page.

Each page is stored together with the cursor that leads to the next one, in one
store transaction, so a harvest killed at any moment resumes from the last page
it stored, without gaps or duplicates.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from curemap.errors import HTTPStatusError, InputError, ResponseError
from curemap.model import ParsedRecord
from curemap.sources.ctgov_json import record_from_api
from curemap.sources.http import HttpClient, SourcePolicy

logger = logging.getLogger(__name__)

CTGOV = SourcePolicy(name="ctgov", base_url="https://clinicaltrials.gov/api/v2", requests_per_second=1.0)
"""ClinicalTrials.gov publishes no rate limit; its robots.txt asks for one request a second."""

BASE_URL_ENV = "CUREMAP_CTGOV_URL"

STUDIES_PATH = "/studies"

MAX_PAGE_SIZE = 1000


def policy() -> SourcePolicy:
    """:data:`CTGOV`, pointed at ``$CUREMAP_CTGOV_URL`` when set (a mirror, or a test's fake registry)."""
    base_url = os.environ.get(BASE_URL_ENV, "").strip()
    return dataclasses.replace(CTGOV, base_url=base_url) if base_url else CTGOV


class ImportCounts(Protocol):
    imported: int
    unchanged: int
    changed: int
    rejected: list[dict[str, str]]


class HarvestStore(Protocol):
    """The part of the store a harvest writes to."""

    def get_cursor(self, key: str) -> dict[str, Any] | None: ...

    def save_page(
        self, records: list[ParsedRecord], *, cursor_key: str, cursor: dict[str, Any] | None
    ) -> ImportCounts: ...


@dataclass
class Page:
    """One ``/studies`` response; ``studies`` are the raw study objects, untouched."""

    studies: list[dict[str, Any]]
    next_page_token: str | None
    total_count: int | None
    page_token: str | None
    url: str

    @property
    def is_last(self) -> bool:
        return not self.studies or not self.next_page_token


@dataclass
class HarvestResult:
    """What a harvest did.

    ``pages``, ``received`` and ``total_count`` cover the whole harvest, including
    pages stored before an interruption; the store counts cover this run only.
    """

    imported: int = 0
    unchanged: int = 0
    changed: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    pages: int = 0
    received: int = 0
    total_count: int | None = None
    resumed: bool = False
    warnings: list[str] = field(default_factory=list)

    def add(self, counts: ImportCounts) -> None:
        self.imported += counts.imported
        self.unchanged += counts.unchanged
        self.changed += counts.changed
        self.rejected.extend(counts.rejected)

    def store_page(
        self,
        store: HarvestStore,
        records: list,
        key: str,
        cursor: dict[str, Any] | None,
        source: str,
        progress: Callable[[int, int | None], None] | None,
    ) -> None:
        """Store one harvested page (already counted in ``pages`` and ``received``) together
        with the cursor that resumes after it (None when it was the last), and report how far
        the harvest has come."""
        self.add(store.save_page(records, cursor_key=key, cursor=cursor))
        logger.info("%s: page %d stored, %d of %s", source, self.pages, self.received, self.total_count)
        if progress is not None:
            progress(self.received, self.total_count)

    def check_total(self, source: str, what: str, query: str, why: str) -> None:
        """Warn when a source sent another number of records than it counted for the query."""
        if self.total_count is not None and self.received != self.total_count:
            self.warnings.append(
                f"{source} counted {self.total_count} {what} for {query!r} but sent {self.received}; "
                f"{why}, run the update again"
            )


def cursor_key(condition: str) -> str:
    return f"ctgov:cond={condition}"


def last_update_filter(since: str) -> str:
    """The Essie expression for studies updated on or after ``since`` (YYYY-MM-DD)."""
    try:
        date.fromisoformat(since)
    except ValueError:
        raise InputError(f"since {since!r} is not a date; give it as YYYY-MM-DD") from None
    return f"AREA[LastUpdatePostDate]RANGE[{since},MAX]"


def _page(body: Any, page_token: str | None, url: str) -> Page:
    if not isinstance(body, dict) or not isinstance(body.get("studies"), list):
        raise ResponseError(f"{url}: expected a studies page (an object with a 'studies' list)", url=url)
    next_page_token = body.get("nextPageToken")
    total_count = body.get("totalCount")
    if not isinstance(next_page_token, str | None) or not isinstance(total_count, int | None):
        raise ResponseError(f"{url}: nextPageToken or totalCount is not what API v2 documents", url=url)
    return Page(body["studies"], next_page_token, total_count, page_token, url)


def iter_pages(
    client: HttpClient,
    *,
    condition: str,
    since: str | None = None,
    page_token: str | None = None,
    page_size: int = MAX_PAGE_SIZE,
) -> Iterator[Page]:
    """Yield the pages of ``query.cond=condition``, from ``page_token`` when resuming.

    ``totalCount`` is asked for on the first page only: counting costs the
    service a full query and does not change between pages.
    """
    params: dict[str, Any] = {"format": "json", "pageSize": page_size}
    if condition:  # no condition: every study in the registry
        params["query.cond"] = condition
    if since is not None:
        params["filter.advanced"] = last_update_filter(since)
    if page_token is None:
        params["countTotal"] = "true"
    while True:
        page_params = params if page_token is None else {**params, "pageToken": page_token}
        body = client.get_json(STUDIES_PATH, page_params)
        page = _page(body, page_token, client.url_for(STUDIES_PATH, page_params))
        yield page
        if page.is_last:
            return
        page_token = page.next_page_token
        params.pop("countTotal", None)


def harvest(
    store: HarvestStore,
    client: HttpClient,
    *,
    condition: str,
    since: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> HarvestResult:
    """Fetch every study for ``condition`` (updated on or after ``since``) into ``store``.

    An unfinished harvest of the same condition resumes from its saved cursor,
    with the ``since`` it started with. If the service refuses the saved page
    token (tokens may expire), the harvest starts again from the first page:
    the store's upserts make re-reading pages harmless.
    """
    key = cursor_key(condition)
    cursor = store.get_cursor(key)
    if cursor is None:
        return _harvest_from(store, client, key, condition, since, None, HarvestResult(), progress)
    logger.info("ctgov: resuming %r after page %d (since=%s)", condition, cursor["pages"], cursor["since"])
    resumed = HarvestResult(
        pages=cursor["pages"], received=cursor["records"], total_count=cursor["total_count"], resumed=True
    )
    since = cursor["since"]
    try:
        return _harvest_from(store, client, key, condition, since, cursor["page_token"], resumed, progress)
    except HTTPStatusError as exc:
        if exc.status != 400 or resumed.pages != cursor["pages"]:
            raise
    warning = (
        f"ClinicalTrials.gov refused the saved resume point after page {cursor['pages']} "
        "(the page token has probably expired); the harvest started again from the first page"
    )
    logger.warning("ctgov: %s", warning)
    restarted = HarvestResult(warnings=[warning])
    return _harvest_from(store, client, key, condition, since, None, restarted, progress)


def _harvest_from(
    store: HarvestStore,
    client: HttpClient,
    key: str,
    condition: str,
    since: str | None,
    page_token: str | None,
    result: HarvestResult,
    progress: Callable[[int, int | None], None] | None,
) -> HarvestResult:
    for page in iter_pages(client, condition=condition, since=since, page_token=page_token):
        result.pages += 1
        result.received += len(page.studies)
        if page.total_count is not None:
            result.total_count = page.total_count
        records = [
            record_from_api(study, origin=page.url, position=f"page {result.pages} studies[{index}]")
            for index, study in enumerate(page.studies)
        ]
        cursor = None
        if not page.is_last:
            cursor = {
                "page_token": page.next_page_token,
                "since": since,
                "pages": result.pages,
                "records": result.received,
                "total_count": result.total_count,
            }
        result.store_page(store, records, key, cursor, "ctgov", progress)
    result.check_total(
        "ClinicalTrials.gov", "studies", condition, "the registry probably changed during the harvest"
    )
    return result
