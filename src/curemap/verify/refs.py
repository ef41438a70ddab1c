"""Finding the references in a review (Markdown, HTML or text) and the clause each stands in.

A reference is a ClinicalTrials.gov, PubMed, PMC or DOI link, or a bare NCT id, EU CT
number, PMID, PMCID or DOI. Claims are read from the reference's clause: the sentence or
line it stands in. A clause citing more than one record makes no claim about any one of them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from html.parser import HTMLParser

URL = re.compile(r"https?://[^\s<>\"')\]]+")
URL_KINDS = (
    ("pmid", re.compile(r"(?:pubmed\.ncbi\.nlm\.nih\.gov|ncbi\.nlm\.nih\.gov/pubmed)/(\d+)", re.IGNORECASE)),
    ("pmcid", re.compile(r"(?:ncbi\.nlm\.nih\.gov/pmc/articles|pmc\.ncbi\.nlm\.nih\.gov/articles|europepmc\.org/article/PMC)/(PMC\d+)", re.IGNORECASE)),
    ("doi", re.compile(r"doi\.org/(10\.\d{4,9}/\S+)", re.IGNORECASE)),
    ("nct", re.compile(r"clinicaltrials\.gov/(?:study|ct2/show(?:/record)?)/(NCT\w+)", re.IGNORECASE)),
    ("euct", re.compile(r"euclinicaltrials\.eu/\S*?EUCT=(\d{4}-\d{6}-\d{2}-\d{2})", re.IGNORECASE)),
)
# Patterns that open with a literal (the word boundary checked just after it) let the regex
# engine jump between occurrences instead of trying every position of a long text.
BARE_KINDS = (
    ("nct", re.compile(r"NCT(?<=\bNCT)\d+\b")),
    ("euct", re.compile(r"(?<![\d-])\d{4}-\d{6}-\d{2}-\d{2}(?![\d-])")),
    ("pmid", re.compile(r"\bPMID\s*:?\s*(\d+)\b", re.IGNORECASE)),
    ("pmcid", re.compile(r"PMC(?<=\bPMC)\d+\b")),
    ("doi", re.compile(r"\b(?:doi:\s*)?(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)),
)
TRAILING = ".,;:)]}>'\"”"
CLAUSE_END = re.compile(r"\n|(?<=[.!?])\s+(?=[A-Z0-9“\"(])")


@dataclass(frozen=True)
class Reference:
    kind: str  # nct | euct | pmid | pmcid | doi
    value: str  # as normalised: NCT id upper case, DOI lower case, PMID digits
    text: str  # as written
    start: int
    end: int

    @property
    def ref(self) -> str:
        return {"pmid": f"PMID:{self.value}", "doi": f"doi:{self.value}"}.get(self.kind, self.value)


def _normalise(kind: str, value: str) -> str:
    value = value.rstrip(TRAILING)
    if kind == "doi":
        return value.lower()
    return value.upper()


class _TextOf(HTMLParser):
    """The text of an HTML page (script and style left out), each external link's address
    placed beside its text so a reference given only as a link is found where it stands."""

    BLOCKS = frozenset({"p", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "div", "section", "br", "figcaption", "table", "ul", "ol"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "svg"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith(("http://", "https://")):
                self.parts.append(f" {href} ")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "svg"):
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def plain_text(content: str, fmt: str) -> str:
    """The readable text of a review: HTML reduced to its text, Markdown with its escapes undone."""
    if fmt == "html":
        parser = _TextOf()
        parser.feed(content)
        parser.close()
        return "".join(parser.parts)
    if fmt == "md":
        return re.sub(r"\\([\\`*_\[\]<>|#{}()+\-.!])", r"\1", content)
    return content


def detect_format(name: str, content: str) -> str:
    lowered = name.lower()
    if lowered.endswith((".html", ".htm")):
        return "html"
    if lowered.endswith((".md", ".markdown")):
        return "md"
    head = content.lstrip()[:500].lower()
    return "html" if head.startswith(("<!doctype html", "<html")) or "<body" in head else "text"


def find_references(text: str) -> list[Reference]:
    """Every reference in the text, in order; a bare id inside a link counts once, as the link.

    Characters already claimed by a link or an earlier reference are marked in a byte mask,
    so each check costs one look-up however many references the text holds (linear time)."""
    found: list[Reference] = []
    taken = bytearray(len(text) + 1)

    def take(start: int, end: int) -> None:
        taken[start:end] = b"\x01" * (end - start)

    for url in URL.finditer(text):
        for kind, pattern in URL_KINDS:
            match = pattern.search(url.group())
            if match:
                start, end = url.start(), url.start() + len(url.group().rstrip(TRAILING))
                found.append(Reference(kind, _normalise(kind, match.group(1)), text[start:end], start, end))
                break
        take(*url.span())
    for kind, pattern in BARE_KINDS:
        for match in pattern.finditer(text):
            if taken[match.start()]:
                continue
            value = match.group(1) if pattern.groups else match.group()
            end = match.end() - (len(match.group()) - len(match.group().rstrip(TRAILING)))
            found.append(Reference(kind, _normalise(kind, value), text[match.start():end], match.start(), end))
            take(match.start(), end)
    return sorted(found, key=lambda r: r.start)


def clauses(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or line."""
    bounds, start = [], 0
    for match in CLAUSE_END.finditer(text):
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(text)))
    return [(a, b) for a, b in bounds if b > a]


def clause_of(spans: list[tuple[int, int]], starts: list[int], position: int) -> int:
    """The index of the clause holding ``position`` (``starts`` are the clauses' starts), or -1
    for a position between clauses: a binary search, not a scan of every clause."""
    index = bisect_right(starts, position) - 1
    return index if index >= 0 and position < spans[index][1] else -1
