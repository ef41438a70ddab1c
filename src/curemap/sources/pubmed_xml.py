"""PubMed/MEDLINE XML (efetch answers and baseline/update files) normalised to :class:`Paper`.

Both shapes NLM publishes are read: ``PubmedArticleSet`` (what efetch returns
and the current baseline files hold) and the older ``MedlineCitationSet``
(``MedlineCitation`` at top level). Files are streamed with ``iterparse`` and
each article is cleared once read, so memory stays flat on a 30,000-article
baseline file. The parser is hardened: no DTD is loaded, no entity is
expanded (no billion laughs, no external entity reaching the file system or the
network), and libxml2's size limits stay on.

``Paper.abstract`` is built from the ``AbstractText`` sections in document
order: each section's text (inline markup flattened, whitespace runs collapsed
to one space) is prefixed ``"<Label>: "`` when the section has a ``Label``
attribute, and the sections are joined by a blank line (``"\\n\\n"``). Outcome
spans index into exactly this text.
"""

from __future__ import annotations

import calendar
import gzip
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import fields
from typing import IO

from lxml import etree

from curemap.errors import InputError
from curemap.model import AbstractSection, Author, Grant, MeshHeading, Paper, ParsedRecord, PartialDate
from curemap.normalise import parse_partial_date

SOURCE = "pubmed"

COVERS = frozenset(f.name for f in fields(Paper)) - {"id", "source"}
"""Every Paper field but the identity: the PubMed record is the complete form of an article."""

TRIAL_REGISTRIES = frozenset(
    {
        "ANZCTR",
        "ChiCTR",
        "ClinicalTrials.gov",
        "CRiS",
        "CTRI",
        "DRKS",
        "EudraCT",
        "IRCT",
        "ISRCTN",
        "JapicCTI",
        "JMACCT",
        "JPRN",
        "jRCT",
        "NTR",
        "PACTR",
        "ReBec",
        "REPEC",
        "RPCEC",
        "SLCTR",
        "TCTR",
        "UMIN CTR",
    }
)
"""``DataBankName`` values that are trial registries; other data banks (GenBank, PDB…) are not trials."""

_ARTICLE_TAGS = ("PubmedArticle", "MedlineCitation", "DeleteCitation", "PubmedBookArticle")

_ARTICLE_FAULTS = (ValueError, LookupError, TypeError, AttributeError)
"""What an article of unexpected shape raises while read; it becomes that article's error record."""

_XML_BREAKS = (etree.XMLSyntaxError, EOFError, gzip.BadGzipFile, zlib.error)
"""What a truncated or corrupt file raises part-way through: malformed XML or a cut-off gzip stream."""

_ROOT = re.compile(rb"<(?:!DOCTYPE\s+)?(?:PubmedArticleSet|MedlineCitationSet)\b")

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}

_SEASONS = frozenset({"spring", "summer", "autumn", "fall", "winter"})

_PMC_OTHER_ID = re.compile(r"^(PMC\d+)\b")


def looks_like(first_bytes: bytes) -> bool:
    """Whether a file's first bytes (decompressed; 1 KiB is plenty) open a PubMed or MEDLINE XML set."""
    return _ROOT.search(first_bytes.lstrip(b"\xef\xbb\xbf \t\r\n")) is not None


def paper_id(pmid: str | None, doi: str | None, url: str | None = None) -> str | None:
    """``PMID:<n>``, else ``DOI:<doi>`` (lower-cased: DOIs are case-insensitive), else
    ``URL:<url>`` for a page that has neither, else ``None``."""
    if pmid:
        return f"PMID:{pmid}"
    if doi:
        return f"DOI:{doi.lower()}"
    if url:
        return f"URL:{url}"
    return None


def joined_abstract(sections: list[AbstractSection]) -> str | None:
    """The one abstract text of the module docstring's rule: ``"LABEL: text"`` sections joined by a blank line."""
    parts = [f"{s.label}: {s.text}" if s.label else s.text for s in sections]
    return "\n\n".join(parts) or None


def _month_number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _MONTHS.get(word[:3].lower()) if word.isalpha() else None


def _date_from_parts(year: str, month: str | None, day: str | None) -> PartialDate | None:
    """A date from PubMed's Year/Month/Day parts (month as ``05`` or ``May``); ``None`` unless it is a real one."""
    if not re.fullmatch(r"\d{4}", year):
        return None
    if month is None:
        return parse_partial_date(year)
    number = _month_number(month)
    if number is None:
        return None
    if day is None:
        return parse_partial_date(f"{year}-{number:02d}")
    if not day.isdigit():
        return None
    return parse_partial_date(f"{year}-{number:02d}-{int(day):02d}")


def parse_pubmed_date(text: str | None) -> PartialDate | None:
    """PubMed's written dates: ``2021 Feb 12``, ``2020 Fall``, ``2016 Jan-Feb``, ``1998 Dec-1999 Jan``.

    A range gives its first date and a season its year, at the precision
    written. Free text after a valid year (MedlineDate is free text) still gives
    the year; ``None`` when the text does not start with a year.
    """
    if not text:
        return None
    first = text.split("-", 1)[0].split()
    if not first:
        return None
    year, rest = first[0], [word.rstrip(".,") for word in first[1:3]]
    if rest and rest[0].lower() in _SEASONS:
        rest = []
    month, day = (rest + [None, None])[:2]
    return _date_from_parts(year, month, day) or _date_from_parts(year, None, None)


def citation_line(
    journal: str | None,
    date_text: str | None,
    volume: str | None,
    issue: str | None,
    pages: str | None,
    doi: str | None,
) -> str | None:
    """PubMed's citation form: ``N Engl J Med. 2018 May 17;378(20):1865-1876. doi: 10.1056/NEJMoa1715274.``"""
    if not journal:
        return None
    line = f"{journal.rstrip('.')}."
    if date_text:
        line += f" {date_text}"
    if volume:
        line += f";{volume}"
    if issue:
        line += f"({issue})"
    if pages:
        line += f":{pages}"
    line += "."
    if doi:
        line += f" doi: {doi}."
    return line


# -- one article ---------------------------------------------------------------


def _text(element: etree._Element | None) -> str | None:
    """The element's text with inline markup (``<i>``, ``<sup>``…) flattened and whitespace collapsed."""
    if element is None:
        return None
    return " ".join("".join(element.itertext()).split()) or None


def _texts(parent: etree._Element | None, path: str) -> list[str]:
    if parent is None:
        return []
    return [text for node in parent.findall(path) if (text := _text(node))]


def _pub_date(issue: etree._Element | None) -> tuple[PartialDate | None, str | None]:
    """The journal issue's date and its written form; ``ValueError`` when it is not a date."""
    node = issue.find("PubDate") if issue is not None else None
    if node is None:
        return None, None
    medline = _text(node.find("MedlineDate"))
    if medline is not None:
        date = parse_pubmed_date(medline)
        if date is None:
            raise ValueError(f"PubDate MedlineDate {medline!r} does not start with a year")
        return date, medline
    year, month, day, season = (_text(node.find(tag)) for tag in ("Year", "Month", "Day", "Season"))
    if year is None:
        return None, None
    if season is not None and month is None:
        written = f"{year} {season}"
        date = parse_pubmed_date(written)
    else:
        date = _date_from_parts(year, month, day)
        number = _month_number(month) if month else None
        month_name = calendar.month_abbr[number] if number in range(1, 13) else month
        written = " ".join(p for p in (year, month_name, str(int(day)) if day and day.isdigit() else day) if p)
    if date is None:
        raise ValueError(f"PubDate {written!r} is not a date")
    return date, written


def _article_date(article: etree._Element) -> PartialDate | None:
    node = article.find("ArticleDate")
    if node is None:
        return None
    parts = [_text(node.find(tag)) for tag in ("Year", "Month", "Day")]
    date = _date_from_parts(parts[0] or "", parts[1], parts[2])
    if date is None:
        raise ValueError(f"ArticleDate {'/'.join(p or '' for p in parts)!r} is not a date")
    return date


def _sections(article: etree._Element) -> list[AbstractSection]:
    return [
        AbstractSection(text, node.get("Label") or None, node.get("NlmCategory") or None)
        for node in article.findall("Abstract/AbstractText")
        if (text := _text(node))
    ]


def _authors(article: etree._Element) -> list[Author]:
    authors = []
    for node in article.findall("AuthorList/Author"):
        if node.get("ValidYN") == "N":  # a misspelt name NLM keeps beside its correction
            continue
        authors.append(
            Author(
                last_name=_text(node.find("LastName")),
                fore_name=_text(node.find("ForeName")),
                initials=_text(node.find("Initials")),
                collective=_text(node.find("CollectiveName")),
                affiliations=_texts(node, "AffiliationInfo/Affiliation") + _texts(node, "Affiliation"),
            )
        )
    return authors


def _mesh(citation: etree._Element) -> list[MeshHeading]:
    """MeSH headings; a heading is major when its descriptor or any of its qualifiers is starred."""
    headings = []
    for node in citation.findall("MeshHeadingList/MeshHeading"):
        descriptor = node.find("DescriptorName")
        name = _text(descriptor)
        if name is None:
            continue
        qualifiers = node.findall("QualifierName")
        major = any(q.get("MajorTopicYN") == "Y" for q in [descriptor, *qualifiers])
        headings.append(MeshHeading(name, major, [q for q in map(_text, qualifiers) if q]))
    return headings


def _grants(article: etree._Element) -> list[Grant]:
    return [
        Grant(_text(node.find("GrantID")), _text(node.find("Agency")), _text(node.find("Country")))
        for node in article.findall("GrantList/Grant")
    ]


def _trial_ids(article: etree._Element) -> list[str]:
    ids: list[str] = []
    for bank in article.findall("DataBankList/DataBank"):
        if _text(bank.find("DataBankName")) in TRIAL_REGISTRIES:
            ids.extend(i for i in _texts(bank, "AccessionNumberList/AccessionNumber") if i not in ids)
    return ids


def _article_id(pubmed_data: etree._Element | None, id_type: str) -> str | None:
    if pubmed_data is None:
        return None
    for node in pubmed_data.findall("ArticleIdList/ArticleId"):
        if node.get("IdType") == id_type and (value := _text(node)):
            return value
    return None


def _doi(article: etree._Element, pubmed_data: etree._Element | None) -> str | None:
    doi = _article_id(pubmed_data, "doi")
    if doi:
        return doi
    for node in article.findall("ELocationID"):
        if node.get("EIdType") == "doi" and node.get("ValidYN") != "N" and (value := _text(node)):
            return value
    return None


def _pmcid(citation: etree._Element, pubmed_data: etree._Element | None) -> str | None:
    """From PubmedData, or in baseline files without it from the NLM ``OtherID`` (``PMC4688250 [Available on…]``)."""
    pmcid = _article_id(pubmed_data, "pmc")
    if pmcid:
        return pmcid
    for node in citation.findall("OtherID"):
        if node.get("Source") == "NLM" and (match := _PMC_OTHER_ID.match(_text(node) or "")):
            return match.group(1)
    return None


def paper_from_citation(citation: etree._Element, pubmed_data: etree._Element | None = None) -> Paper:
    """Normalise one ``MedlineCitation`` (with its ``PubmedData`` when the set has it).

    Raises ``ValueError`` naming the problem: no PMID, or a date that is not one.
    """
    pmid = _text(citation.find("PMID"))
    if pmid is None or not pmid.isdigit():
        raise ValueError(f"PMID {pmid!r} is not a PubMed id" if pmid else "the citation has no PMID")
    article = citation.find("Article")
    if article is None:
        raise ValueError("the citation has no Article element")
    journal = article.find("Journal")
    issue = journal.find("JournalIssue") if journal is not None else None
    published, written_date = _pub_date(issue)
    if published is None:
        published = _article_date(article)
    sections = _sections(article)
    doi = _doi(article, pubmed_data)
    abbreviation = _text(citation.find("MedlineJournalInfo/MedlineTA")) or _text(
        journal.find("ISOAbbreviation") if journal is not None else None
    )
    return Paper(
        id=f"PMID:{pmid}",
        source=SOURCE,
        pmid=pmid,
        doi=doi,
        pmcid=_pmcid(citation, pubmed_data),
        title=_text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle")),
        abstract=joined_abstract(sections),
        abstract_sections=sections,
        journal=_text(journal.find("Title")) if journal is not None else None,
        citation=citation_line(
            abbreviation,
            written_date,
            _text(issue.find("Volume")) if issue is not None else None,
            _text(issue.find("Issue")) if issue is not None else None,
            _text(article.find("Pagination/MedlinePgn")),
            doi,
        ),
        published=published,
        language=_text(article.find("Language")),
        authors=_authors(article),
        publication_types=_texts(article, "PublicationTypeList/PublicationType"),
        mesh=_mesh(citation),
        keywords=_texts(citation, "KeywordList/Keyword"),
        grants=_grants(article),
        trial_ids=_trial_ids(article),
    )


# -- a whole document ----------------------------------------------------------


def _record(element: etree._Element, position: int, origin: str) -> Iterator[ParsedRecord]:
    """The record(s) of one top-level element: an article, or the PMIDs a ``DeleteCitation`` withdraws."""
    if element.tag == "DeleteCitation":
        for node in element.findall("PMID"):
            if pmid := _text(node):
                raw = etree.tostring(node, encoding="unicode", with_tail=False)
                yield ParsedRecord(SOURCE, f"PMID:{pmid}", raw, origin, COVERS, deleted=True)
        return
    raw = etree.tostring(element, encoding="unicode", with_tail=False)
    if element.tag == "PubmedBookArticle":
        pmid = _text(element.find("BookDocument/PMID"))
        source_id = f"PMID:{pmid}" if pmid else f"article {position}"
        yield ParsedRecord(SOURCE, source_id, raw, origin, COVERS, error=f"{source_id}: a book chapter, not an article")
        return
    citation = element.find("MedlineCitation") if element.tag == "PubmedArticle" else element
    pmid = _text(citation.find("PMID")) if citation is not None else None
    source_id = f"PMID:{pmid}" if pmid else f"article {position}"
    try:
        if citation is None:
            raise ValueError("the article has no MedlineCitation")
        paper = paper_from_citation(citation, element.find("PubmedData"))
    except _ARTICLE_FAULTS as exc:
        yield ParsedRecord(SOURCE, source_id, raw, origin, COVERS, error=f"{source_id}: {exc}")
    else:
        yield ParsedRecord(SOURCE, paper.id, raw, origin, COVERS, paper=paper)


def _records(source: str | IO[bytes], origin: str) -> Iterator[ParsedRecord]:
    """Every record in document order; raises what :data:`_XML_BREAKS` lists where the document breaks."""
    events = etree.iterparse(
        source,
        events=("end",),
        tag=_ARTICLE_TAGS,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )
    position = 0
    for _, element in events:
        parent = element.getparent()
        if element.tag == "MedlineCitation" and parent is not None and parent.tag == "PubmedArticle":
            continue  # read with its PubmedArticle
        if element.tag != "DeleteCitation":
            position += 1
        yield from _record(element, position, origin)
        element.clear(keep_tail=False)
        while parent is not None and element.getprevious() is not None:
            del parent[0]


def _open(path: str | os.PathLike[str]) -> IO[bytes]:
    handle: IO[bytes] = open(path, "rb")
    if handle.read(2) == b"\x1f\x8b":
        handle.seek(0)
        return gzip.GzipFile(fileobj=handle, mode="rb")
    handle.seek(0)
    return handle


def iter_records(source: str | os.PathLike[str] | IO[bytes], origin: str) -> Iterator[ParsedRecord]:
    """Yield one :class:`ParsedRecord` per article (and per withdrawn PMID).

    ``source`` is a path (gzip read transparently) or a binary stream of
    uncompressed XML. A bad article becomes an error record naming it by PMID or
    position. A file that breaks off (truncated, corrupt) raises
    :class:`InputError` naming the file and the fault once the records before the
    break were yielded, so that the import storing them rolls back: a file lands
    whole or not at all.
    """
    handle = _open(source) if isinstance(source, str | os.PathLike) else source
    read = 0
    try:
        for record in _records(handle, origin):
            read += 1
            yield record
    except _XML_BREAKS as exc:
        raise InputError(
            f"{origin}: the XML is cut off or malformed after {read} records ({type(exc).__name__}: {exc}); "
            "nothing was imported from it. Download the file again."
        ) from None
    finally:
        if handle is not source:
            handle.close()


def records_from_text(text: str, origin: str) -> list[ParsedRecord]:
    """All records of one complete document, such as an efetch answer.

    Raises ``ValueError`` when the document breaks off, so that the HTTP client
    treats a body cut off mid-transfer as unreadable and fetches it again.
    """
    try:
        return list(_records(io.BytesIO(text.encode("utf-8")), origin))
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"the PubMed XML is cut off or malformed: {exc}") from exc
