"""The live Europe PMC harvest (REST ``/search``, ``resultType=core``) normalised to :class:`Paper`.

Europe PMC indexes PubMed and more (PubMed Central, preprints…), and its core
results carry the abstract, authors with affiliations, MeSH headings, keywords
and grants in one JSON answer. Pages are walked with ``cursorMark``; each page
is stored with the mark of the next one in one store transaction, so a killed
harvest resumes where it stopped (a mark encodes a position in the sorted
results, it does not expire). ``since`` keeps to records Europe PMC created or
revised on or after that day (``UPDATE_DATE``), as ClinicalTrials.gov's
last-update filter does for studies.

The abstract follows :mod:`curemap.sources.pubmed_xml`'s rule: Europe PMC marks
a structured abstract's labels with ``<h4>`` headings, which become the
sections' labels.
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from curemap.errors import HTTPStatusError, ResponseError
from curemap.model import AbstractSection, Author, Grant, MeshHeading, Paper, ParsedRecord, PartialDate
from curemap.normalise import parse_partial_date
from curemap.sources.ctgov_api import HarvestResult, HarvestStore
from curemap.sources.eutils import contact_email, since_date
from curemap.sources.http import HttpClient, SourcePolicy
from curemap.sources.jats import parse_jats
from curemap.sources.pubmed_xml import COVERS as PUBMED_COVERS
from curemap.sources.pubmed_xml import citation_line, joined_abstract, paper_id, parse_pubmed_date

logger = logging.getLogger(__name__)

EUROPEPMC = SourcePolicy(
    "europepmc", "https://www.ebi.ac.uk/europepmc/webservices/rest", requests_per_second=10
)
"""Europe PMC publishes no per-client limit; ten a second keeps well within its fair use."""

BASE_URL_ENV = "CUREMAP_EUROPEPMC_URL"

SEARCH_PATH = "/search"

PAGE_SIZE = 1000
"""The largest page Europe PMC serves."""

SOURCE = "europepmc"

COVERS = PUBMED_COVERS - {"trial_ids"}
"""Core results name linked data banks but not their accession numbers, so they cannot say which trials."""

_HEADING = re.compile(r"<h4>(.*?)</h4>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
"""An HTML tag; a bare ``<`` as in ``p<0.05`` is text, not a tag."""


FULL_TEXT_PATH = "/{pmcid}/fullTextXML"
"""Europe PMC's full text of an open-access article, in JATS XML."""

FULL_TEXT_COVERS = frozenset({"full_text", "full_text_url"})
"""A full-text record says nothing about the rest of the paper, so it blanks nothing."""


def policy() -> SourcePolicy:
    """:data:`EUROPEPMC`, pointed at ``$CUREMAP_EUROPEPMC_URL`` when set (a mirror, or a test's fake)."""
    base_url = os.environ.get(BASE_URL_ENV, "").strip()
    return dataclasses.replace(EUROPEPMC, base_url=base_url) if base_url else EUROPEPMC


def cursor_key(query: str) -> str:
    return f"europepmc:query={query}"


def search_query(query: str, since: str | None) -> str:
    """``query``, limited to records created or revised on or after ``since`` (YYYY-MM-DD) when given."""
    if since is None:
        return query
    return f"({query}) AND UPDATE_DATE:[{since_date(since).isoformat()} TO 3000-01-01]"


def _plain(markup: str | None) -> str | None:
    """Europe PMC's (HTML) text with tags dropped, entities decoded and whitespace collapsed, as PubMed's is."""
    if not markup:
        return None
    return " ".join(html.unescape(_TAG.sub("", markup)).split()) or None


def _sections(markup: str | None) -> list[AbstractSection]:
    """The abstract's sections: text before the first ``<h4>`` is unlabelled, each heading labels what follows."""
    parts = _HEADING.split(markup or "")
    pairs = [(None, parts[0])] + list(zip(parts[1::2], parts[2::2], strict=True))
    return [AbstractSection(text, _plain(label)) for label, body in pairs if (text := _plain(body))]


def _items(obj: dict[str, Any], list_name: str, item_name: str) -> list[Any]:
    """``obj[list_name][item_name]`` as a list: Europe PMC wraps every list in an object."""
    items = (obj.get(list_name) or {}).get(item_name) or []
    return items if isinstance(items, list) else [items]


def _published(result: dict[str, Any], journal_info: dict[str, Any]) -> PartialDate | None:
    """The issue date as written (``2021 Feb 12``), else the first publication date; ``ValueError`` if not a date."""
    written = journal_info.get("dateOfPublication")
    if written:
        date = parse_pubmed_date(written)
        if date is None:
            raise ValueError(f"dateOfPublication {written!r} does not start with a year")
        return date
    first = result.get("firstPublicationDate")
    if first:
        date = parse_partial_date(first)
        if date is None:
            raise ValueError(f"firstPublicationDate {first!r} is not a date")
        return date
    return None


def _authors(result: dict[str, Any]) -> list[Author]:
    authors = []
    for item in _items(result, "authorList", "author"):
        details = _items(item, "authorAffiliationDetailsList", "authorAffiliation")
        affiliations = [text for d in details if (text := _plain(d.get("affiliation")))]
        if not affiliations and (single := _plain(item.get("affiliation"))):
            affiliations = [single]
        authors.append(
            Author(
                last_name=_plain(item.get("lastName")),
                fore_name=_plain(item.get("firstName")),
                initials=_plain(item.get("initials")),
                collective=_plain(item.get("collectiveName")),
                affiliations=affiliations,
            )
        )
    return authors


def _mesh(result: dict[str, Any]) -> list[MeshHeading]:
    """As for PubMed: a heading is major when its descriptor or any of its qualifiers is."""
    headings = []
    for item in _items(result, "meshHeadingList", "meshHeading"):
        descriptor = _plain(item.get("descriptorName"))
        if descriptor is None:
            continue
        qualifiers = _items(item, "meshQualifierList", "meshQualifier")
        major = any(q.get("majorTopic_YN") == "Y" for q in [item, *qualifiers])
        names = [name for q in qualifiers if (name := _plain(q.get("qualifierName")))]
        headings.append(MeshHeading(descriptor, major, names))
    return headings


def paper_from_result(result: dict[str, Any]) -> Paper:
    """Normalise one core search result; ``ValueError`` when nothing identifies it or a date is not one."""
    pmid, doi = result.get("pmid") or None, result.get("doi") or None
    identity = paper_id(pmid, doi)
    if identity is None:
        raise ValueError("no PMID or DOI identifies the result")
    journal_info = result.get("journalInfo") or {}
    journal = journal_info.get("journal") or {}
    sections = _sections(result.get("abstractText"))
    return Paper(
        id=identity,
        source=SOURCE,
        pmid=pmid,
        doi=doi,
        pmcid=result.get("pmcid") or None,
        title=_plain(result.get("title")),
        abstract=joined_abstract(sections),
        abstract_sections=sections,
        journal=_plain(journal.get("title")),
        citation=citation_line(
            journal.get("medlineAbbreviation") or journal.get("isoabbreviation"),
            journal_info.get("dateOfPublication"),
            journal_info.get("volume"),
            journal_info.get("issue"),
            result.get("pageInfo"),
            doi,
        ),
        published=_published(result, journal_info),
        language=result.get("language"),
        authors=_authors(result),
        publication_types=[t for t in map(_plain, _items(result, "pubTypeList", "pubType")) if t],
        mesh=_mesh(result),
        keywords=[k for k in map(_plain, _items(result, "keywordList", "keyword")) if k],
        grants=[
            Grant(_plain(grant.get("grantId")), _plain(grant.get("agency")))
            for grant in _items(result, "grantsList", "grant")
        ],
    )


def _results(body: Any, origin: str) -> list[Any]:
    results = (body.get("resultList") or {}).get("result") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise ResponseError(f"{origin}: expected a search answer (an object with 'resultList.result')", url=origin)
    return results


def iter_records(body: Any, origin: str) -> Iterator[ParsedRecord]:
    """One :class:`ParsedRecord` per result of a search answer; a bad result carries its error."""
    for index, result in enumerate(_results(body, origin)):
        raw = json.dumps(result, ensure_ascii=False)
        named = isinstance(result, dict) and result.get("id")
        source_id = f"{result.get('source')}:{result['id']}" if named else f"resultList.result[{index}]"
        try:
            if not isinstance(result, dict):
                raise ValueError("the result is not an object")
            paper = paper_from_result(result)
        except (ValueError, TypeError, AttributeError) as exc:
            yield ParsedRecord(SOURCE, source_id, raw, origin, COVERS, error=f"{source_id}: {exc}")
        else:
            yield ParsedRecord(SOURCE, paper.id, raw, origin, COVERS, paper=paper)


def full_text_record(client: HttpClient, paper: Paper) -> ParsedRecord | None:
    """The open-access full text of a paper with a PMCID, as a record that adds only ``full_text``
    to the stored paper (the JATS kept verbatim, its URL as origin); None when Europe PMC has none."""
    path = FULL_TEXT_PATH.format(pmcid=paper.pmcid)
    url = client.url_for(path)
    try:
        xml = client.get_text(path)
    except HTTPStatusError as exc:
        if exc.status == 404:
            return None
        raise
    source_id = f"{paper.pmcid}/fullTextXML"
    try:
        sections = parse_jats(xml)
    except ValueError as exc:
        return ParsedRecord(SOURCE, source_id, xml, url, FULL_TEXT_COVERS, error=f"{source_id}: {exc}")
    full = Paper(id=paper.id, source=SOURCE, full_text=sections, full_text_url=url)
    return ParsedRecord(SOURCE, paper.id, xml, url, FULL_TEXT_COVERS, paper=full)


def wants_full_text(classifier: Any) -> Callable[[dict[str, Any], Paper], bool]:
    """The harvest's rule for fetching full text: an open-access article in Europe PMC, about the
    condition and on a curative strategy by the classifier's reading of it."""

    def wanted(result: dict[str, Any], paper: Paper) -> bool:
        if not paper.pmcid or result.get("isOpenAccess") != "Y" or result.get("inEPMC") != "Y":
            return False
        labels = classifier.classify_paper(paper)
        return bool(labels.is_ms and labels.curative_intent)

    return wanted


def _full_texts(
    client: HttpClient, body: Any, records: list[ParsedRecord], wanted: Callable[[dict[str, Any], Paper], bool]
) -> list[ParsedRecord]:
    results = {r.get("pmid") or r.get("doi"): r for r in body.get("resultList", {}).get("result", []) if isinstance(r, dict)}
    found = []
    for record in records:
        paper = record.paper
        if paper is not None and wanted(results.get(paper.pmid or paper.doi, {}), paper):
            full = full_text_record(client, paper)
            if full is not None:
                found.append(full)
    return found


def harvest(
    store: HarvestStore,
    client: HttpClient,
    *,
    query: str,
    since: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    full_text: Callable[[dict[str, Any], Paper], bool] | None = None,
) -> HarvestResult:
    """Fetch every Europe PMC record for ``query`` (created or revised on or after ``since``) into ``store``,
    with the open-access full text of those ``full_text`` wants (default :func:`wants_full_text`),
    stored in the same transaction as their page.

    An unfinished harvest of the same query resumes from its saved cursor mark,
    with the ``since`` it started with.
    """
    if full_text is None:
        from curemap.enrich.classify import Classifier
        from curemap.profile import load_profile

        full_text = wants_full_text(Classifier(load_profile()))
    key = cursor_key(query)
    cursor = store.get_cursor(key)
    if cursor is None:
        mark, result = "*", HarvestResult()
    else:
        since, mark = cursor["since"], cursor["cursor_mark"]
        result = HarvestResult(
            pages=cursor["pages"], received=cursor["records"], total_count=cursor["total_count"], resumed=True
        )
        logger.info("europepmc: resuming %r after page %d", query, result.pages)
    params: dict[str, Any] = {
        "query": search_query(query, since),
        "resultType": "core",
        "format": "json",
        "pageSize": PAGE_SIZE,
    }
    if email := contact_email():
        params["email"] = email
    while True:
        page_params = {**params, "cursorMark": mark}
        body = client.get_json(SEARCH_PATH, page_params)
        url = client.url_for(SEARCH_PATH, page_params)
        records = list(iter_records(body, url))
        next_mark = body.get("nextCursorMark")
        if isinstance(body.get("hitCount"), int):
            result.total_count = body["hitCount"]
        result.pages += 1
        result.received += len(records)
        last = not records or not isinstance(next_mark, str) or next_mark == mark
        next_cursor = None
        if not last:
            next_cursor = {
                "cursor_mark": next_mark,
                "since": since,
                "pages": result.pages,
                "records": result.received,
                "total_count": result.total_count,
            }
        records += _full_texts(client, body, records, full_text)
        result.store_page(store, records, key, next_cursor, "europepmc", progress)
        if last:
            break
        mark = next_mark
    result.check_total("Europe PMC", "records", query, "Europe PMC probably changed during the harvest")
    return result
