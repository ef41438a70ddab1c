"""The literature CSV (articles a public MS research monitor discovered) normalised to :class:`Paper`.

Columns: ``pmid, title, citation, abstract, abstract_truncated, source,
discovered, link``. The ``abstract`` column ends with PubMed's identifier line
(``PMID: … | PMC: … | DOI: …``): it is cut off the abstract and read for the
DOI and PMC id; the rest of the text is kept verbatim, so outcome spans
annotated on the column still point into ``Paper.abstract``. A truncated
abstract (``abstract_truncated``) is kept as it is. The ``citation`` column is
kept whole and gives, where it has PubMed's form (``J Neuroimmunol. 2021 Feb
12;353:577521. doi: …``), the journal abbreviation, the date and a DOI.

The file is a derived, dated snapshot: a value missing from a row was not
captured, which says nothing about the article. So each record covers only the
fields its row fills, and importing the CSV never blanks what a richer source
stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from curemap.model import Paper, ParsedRecord
from curemap.sources.csv_rows import iter_csv_records
from curemap.sources.pubmed_xml import paper_id, parse_pubmed_date
from curemap.sources.validation import LITERATURE_ROW, check, shown

SOURCE = "literature_csv"

_SCRIPT_WITHOUT_QUERY = re.compile(r"^https?://[^?#]+\.(?:php|aspx?|cgi|jsp)$", re.IGNORECASE)

REQUIRED_COLUMNS = frozenset({"pmid", "title", "citation", "abstract", "abstract_truncated"})
"""The header columns that identify this format."""

COVERS = frozenset({"pmid", "doi", "pmcid", "title", "abstract", "journal", "citation", "url", "published"})
"""The Paper fields the CSV can give; each record covers those its row fills."""

_ID_LINE = re.compile(
    r"\s*PMID:\s*(?P<pmid>\d+)(?:\s*\|\s*PMC:\s*(?P<pmcid>PMC\d+))?(?:\s*\|\s*DOI:\s*(?P<doi>\S+))?\s*$"
)
_CITATION = re.compile(r"^(?P<journal>.+?)\. (?P<date>\d{4}\b[^;:.]*)")
_CITATION_DOI = re.compile(r"\bdoi:\s*(10\.\S+?)\.?(?:\s|$)")
_LINK_DOI = re.compile(r"/(10\.\d{4,9}/[^\s?#]+)")


def _clean(value: str | None) -> str | None:
    return (value or "").strip() or None


def _title(value: str | None) -> str | None:
    """A title as the article gives it: a row saved from the PubMed web page carries the page's
    " - PubMed" suffix, which is not part of it."""
    return _clean(re.sub(r"\s+-\s+PubMed\s*$", "", value or ""))


def row_to_paper(row: dict[str, str]) -> Paper:
    """Normalise one row; raises ``ValueError`` when a cell breaks its rule or nothing identifies the article."""
    cells = check(LITERATURE_ROW, row, strict=False)
    abstract = row.get("abstract") or ""
    id_line = _ID_LINE.search(abstract)
    if id_line:
        abstract = abstract[: id_line.start()]
    citation = _clean(row.get("citation"))
    parts = _CITATION.match(citation or "")
    citation_doi = _CITATION_DOI.search(citation or "")
    link_doi = _LINK_DOI.search(row.get("link") or "")
    pmid = cells.get("pmid") or (id_line and id_line["pmid"])
    doi = (
        (id_line and id_line["doi"])
        or (citation_doi and citation_doi.group(1))
        or (link_doi and link_doi.group(1))
        or None
    )
    link = cells.get("link")
    if link and not pmid and not doi and _SCRIPT_WITHOUT_QUERY.search(link):
        # e.g. "http://www.scielo.br/scielo.php": shared by many articles, it resolves to none.
        raise ValueError(f"link {shown(link)} is a site's script without its query, not an article's address")
    identity = paper_id(pmid, doi, link)
    if identity is None:
        raise ValueError("no PMID, DOI or link identifies the article")
    return Paper(
        id=identity,
        source=SOURCE,
        pmid=pmid or None,
        doi=doi,
        pmcid=(id_line and id_line["pmcid"]) or None,
        title=_title(row.get("title")),
        abstract=_clean(abstract),
        journal=parts["journal"] if parts else None,
        citation=citation,
        url=link,
        published=parse_pubmed_date(parts["date"]) if parts else None,
    )


def looks_like(header: list[str]) -> bool:
    return REQUIRED_COLUMNS <= set(header)


def _filled(paper: Paper | None) -> frozenset[str]:
    """The fields a row fills, so a thin row never blanks what a richer record stored."""
    return COVERS if paper is None else frozenset(name for name in COVERS if getattr(paper, name))


def iter_records(lines: Iterable[str], origin: str) -> Iterator[ParsedRecord]:
    """Yield one :class:`ParsedRecord` per row; a bad row carries its error, never raises."""
    return iter_csv_records(
        lines,
        origin,
        source=SOURCE,
        parse=row_to_paper,
        covers=_filled,
        kind="paper",
    )
