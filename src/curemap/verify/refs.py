"""Finding the references in a review (Markdown, HTML, text, LaTeX or a CSV / TSV table), the blocks they stand in and
the line each came from.

A reference is an NCT id, EU CT number, EudraCT number, PMID, PMCID or DOI: bare, in any URL
(registry mirrors, third-party trial pages, publisher addresses carrying a DOI, query
strings), in link text, in an HTML attribute or behind a Markdown reference-style link (found
where the label is used, since that is where the claim is); a link's title (Markdown
``[text](url "title")``, HTML ``title=``) is read as the writer's words. An id shaped wrongly (an NCT id
without 8 digits, an EU CT number whose blocks have the wrong lengths) is a reference too,
with what is wrong with it.

A review is cut into blocks: a list item (with its continuation lines), a table row (with its
column headers), a heading, or a paragraph. Claims are read from a block's segments: a
paragraph's sentences (a sentence may run over hard-wrapped lines), or the whole of any other
block.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from html import escape
from html.parser import HTMLParser
from urllib.parse import parse_qsl, unquote, urlsplit

from lxml import etree

from curemap.verify.gates import Gated, folded
from curemap.verify.structured import json_as_text

class _Addresses:
    """The addresses in a text, with their scheme or without ("clinicaltrials.gov/study/NCT…", as
    posts paste them). An address without a scheme is found from its ".org/"-like end, which the
    regex engine skips to, then read whole from its host's start: a pattern that could start at
    any word made a 4 MB review a third slower."""

    SCHEMED = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
    BARE = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,6}/[^\s<>\"')\]]+", re.IGNORECASE)
    DOMAIN_END = re.compile(r"\.[a-zA-Z]{2,6}/")

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> list[re.Match]:
        end = len(text) if endpos is None else min(endpos, len(text))
        found = list(self.SCHEMED.finditer(text, pos, end))
        spans = [m.span() for m in found]
        bare_end = pos
        for hit in self.DOMAIN_END.finditer(text, pos, end):
            index = bisect_right(spans, (hit.start(), end)) - 1
            if hit.start() < bare_end or index >= 0 and spans[index][0] <= hit.start() < spans[index][1]:
                continue  # inside an address already found
            start = hit.start()
            while start > pos and (text[start - 1].isalnum() or text[start - 1] in ".-"):
                start -= 1
            if start > pos and text[start - 1] in "@/":
                continue  # an e-mail address or a path's piece, not a host
            if match := self.BARE.match(text, start, end):
                found.append(match)
                bare_end = match.end()
        return sorted(found, key=lambda m: m.start())


URL = _Addresses()
TRAILING = ".,;:)]}>'\"”`"
# NCT_ANY, EU_NUMBER and DOI_ANY start on a character (a class, not a case-insensitive letter or
# an assertion), so the regex engine skips ahead to where they can start; the look-behind after
# it is the edge that would otherwise come first. A 4 MB review is scanned several times faster.
NCT_ANY = re.compile(r"[Nn](?<![A-Za-z0-9][Nn])[Cc][Tt][ -]?(\d[0-9A-Za-z]{3,11}|[Oo](?=[0-9Oo]{7})[0-9A-Za-z]{3,11})(?![0-9A-Za-z])")  # "NCTO5156281": a letter O for the 0
SPACED_NCT = re.compile(r"[Nn](?<![A-Za-z0-9][Nn])[Cc][Tt][ -]?(\d{2,6}) (\d{2,6})(?![0-9A-Za-z])")
SPOKEN_DIGITS = {w: str(n) for n, w in enumerate("zero one two three four five six seven eight nine".split())} | {"oh": "0"}
SPOKEN_NCT = re.compile(
    r"\b[Nn][.-]?[ ]?[Cc][.-]?[ ]?[Tt]\b\.?(?P<digits>(?:[ ,-]+(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d)\b){7,9})", re.IGNORECASE
)
"""An NCT id said aloud and written down ("NCT zero zero five three zero three four eight", "n c t
0 3 3 5 5 3 6 5"): a transcript's, a dictated note's."""
EU_NUMBER = re.compile(r"(\d(?<![\d-]\d)\d{3})-(\d{4,9})-(\d{1,4})(?:-(\d{1,3}))?(?![\d-])")
EU_LETTERED = re.compile(r"\d(?<![\w-]\d)\d{3}-(?=[\dA-Za-z]{6}-)(?=[\d]*[A-Za-z])(?:[A-Za-z]?\d){4,}[\dA-Za-z]*-\d{2}-\d{2}(?![\w-])")
"""An EU CT number with a letter in place of a digit in its middle block ("2024-5I4287-84-00",
"2022-5006X1-12-00")."""
PMID_BARE = re.compile(r"\bPMID[\"']?\s*[:=]?\s*[\"']?(\d+)\b|\bPubMed(?:\s+ID)?\s*[:#]?\s*(\d{7,8})\b", re.IGNORECASE)
"""A PMID after its name: "PMID 33691260", "PMID: …", a citation template's "|pmid=…", a
data file's quoted field ('PMID: "33675156"', '"pmid": "33675156"'), and "pubmed 33692748" as
people write it in a post."""
PMCID_ANY = re.compile(r"(?<![A-Za-z0-9])PMC(\d{4,9})\b", re.IGNORECASE)
# a DOI ends where a Markdown link's text meets its label or address ("[doi:10.1/x][p3]")
DOI_ANY = re.compile(r"1(?<!\w1)0\.\d{4,9}/(?:[^\s\"<>\]{}|,]|\](?![\[(]))+")
DOI_PREFIXED = re.compile(r"\bdoi:\s*(?:https?://(?:dx\.)?doi\.org/)?(?!\[)((?:[^\s\]]|\](?![\[(]))+)", re.IGNORECASE)
"""A DOI after "doi:", its resolver's address left out when given ("doi: https://doi.org/10.…");
not a Markdown link's text ("doi:[10.…](https://doi.org/10.…)": the DOI inside is read as it is)."""
PUBMED_URL = re.compile(r"(?:pubmed\.ncbi\.nlm\.nih\.gov|ncbi\.nlm\.nih\.gov/pubmed|europepmc\.org/(?:article|abstract)/MED)/(\d+)", re.IGNORECASE)
DOI_URL_TAIL = re.compile(r"(?:/(?:full|abstract|pdf|epdf|fulltext|meta|references|figures|html|suppl)(?:/.*)?|\.pdf|[?#].*)$", re.IGNORECASE)
EU_CONTEXT = re.compile(r"(?:\bEU\b|CTIS|euclinicaltrials|EUCT=?)[^\n]{0,30}$", re.IGNORECASE)
_EU_SHAPED = re.compile(r"20[0-4]\d-(?:\d{5,7}-\d\d-\d\d|\d{6}-\d\d-\d{1,3}|\d{6}-\d{1,3}-\d\d)")
"""Four blocks, a year of the EU registers first, one block a digit or so off (the middle's
six, or one of the last two two-digit blocks): an EU CT number written wrong, even where no
words say so; not a date or a phone number."""
_EUDRACT_SHAPED = re.compile(r"(?:199[5-9]|20[0-2]\d)-(?:\d{5}|\d{7})-\d\d")
"""Three blocks, a year of the EudraCT register first, the middle a digit short or long: a
EudraCT number written wrong, even where no words say so (a record's "registry" field after it)."""
EUDRACT_CONTEXT = re.compile(r"(?:eudract|clinicaltrialsregister\.eu)[^\n]{0,60}$", re.IGNORECASE)


@dataclass(frozen=True)
class Reference:
    kind: str  # nct | euct | eudract | pmid | pmcid | doi
    value: str  # normalised: NCT id upper case, DOI lower case, PMID digits; as written when malformed
    text: str  # as written
    start: int
    end: int
    malformed: str | None = None  # what is wrong with its shape

    @cached_property
    def ref(self) -> str:
        if self.malformed and self.kind != "eudract":  # a EudraCT number keeps its prefix: a bare one reads as an EU CT number
            return self.value
        return {"pmid": f"PMID:{self.value}", "doi": f"doi:{self.value}", "eudract": f"EudraCT:{self.value}"}.get(
            self.kind, self.value
        )


def _nct(digits: str) -> tuple[str, str | None]:
    """The normalised NCT id and, when it is not 8 digits, what is wrong with it."""
    value = "NCT" + digits.upper()
    if not digits.isdigit():
        return value, f"NCT ids are NCT and 8 digits; {value!r} has a letter in place of a digit"
    if len(digits) != 8:
        return value, f"NCT ids have 8 digits; {value!r} has {len(digits)}"
    return value, None


def _eu_number(match: re.Match, before: str) -> tuple[str, str | None, str] | None:
    """(kind, problem, value) of a YYYY-N…-N…(-N…) number, or None when it is not one (a date,
    a phone number): an EU CT number has four blocks, a EudraCT number three."""
    year, middle, third, fourth = match.groups()
    value = match.group()
    if fourth is not None:
        if (len(middle), len(third), len(fourth)) == (6, 2, 2):
            return "euct", None, value
        if EUDRACT_CONTEXT.search(before) and not EU_CONTEXT.search(before):  # "EudraCT 2019-0045-12-33": a EudraCT number misread
            return "eudract", f"EudraCT numbers are YYYY-NNNNNN-NN; {value!r} is not", value
        if not EU_CONTEXT.search(before) and not _EU_SHAPED.fullmatch(value):
            return None
        wrong = [f"the {name} block has {len(block)} digits" for name, block, size in
                 (("middle", middle, 6), ("third", third, 2), ("last", fourth, 2)) if len(block) != size]
        return "euct", f"EU CT numbers are YYYY-NNNNNN-NN-NN; {'; '.join(wrong)}", value
    if (len(middle), len(third)) == (6, 2):
        return "eudract", None, value
    if EUDRACT_CONTEXT.search(before):
        return "eudract", f"EudraCT numbers are YYYY-NNNNNN-NN; {value!r} is not", value
    if EU_CONTEXT.search(before) or (len(middle), len(third)) in ((6, 4), (8, 2)):  # "EU 2023-51022863-00", "2022-502619-1300": blocks run together
        return "euct", f"EU CT numbers are YYYY-NNNNNN-NN-NN; {value!r} has three blocks", value
    if _EUDRACT_SHAPED.fullmatch(value):
        return "eudract", f"EudraCT numbers are YYYY-NNNNNN-NN; the middle block of {value!r} has {len(middle)} digits", value
    return None


def _doi(raw: str) -> str:
    return DOI_URL_TAIL.sub("", raw.rstrip(TRAILING)).rstrip(TRAILING).lower()


def refs_in_url(url: str) -> list[tuple[str, str, str | None]]:
    """(kind, value, problem) of the reference an address carries: the first id it holds, in
    the order registry ids, EudraCT, PubMed, PMC, DOI. A redirect or tracking link (Google Docs'
    "google.com/url?q=…", an e-mail tool's "…/track/click?…&url=https%3A%2F%2F…") carries the
    reference of the address it leads to; a percent-encoded address is read decoded."""
    if "?" in url:
        for _, value in parse_qsl(urlsplit(url).query):
            if value.lower().startswith(("http://", "https://")) and (led_to := refs_in_url(value)):
                return led_to
    return _refs_in_address(unquote(url) if "%" in url else url)


def _refs_in_address(url: str) -> list[tuple[str, str, str | None]]:
    for match in NCT_ANY.finditer(url):
        value, problem = _nct(match.group(1))
        return [("nct", value, problem)]
    for match in EU_NUMBER.finditer(url):
        found = _eu_number(match, url[: match.start()])
        if found:
            kind, problem, value = found
            return [(kind, value, problem)]
    if match := PUBMED_URL.search(url):
        return [("pmid", match.group(1), None)]
    if match := PMCID_ANY.search(url):
        return [("pmcid", "PMC" + match.group(1), None)]
    if match := DOI_ANY.search(url):
        return [("doi", _doi(match.group()), None)]
    return []


@cache
def _gate(pattern: re.Pattern) -> Gated:
    """A pattern's gate, read from it once (a review's notes are each read for references)."""
    return Gated(pattern)


@lru_cache(maxsize=4096)
def note_references(address: str) -> tuple[Reference, ...]:
    """The references a link's address or a note's words hold, read once however often cited."""
    return tuple(find_references(address))


def find_references(text: str, links: list[tuple[int, int, str]] = ()) -> list[Reference]:
    """Every reference in the text, in order. ``links`` are (start, end, address) of links whose
    address is not in the text (Markdown reference-style uses): their reference stands there.

    Characters already claimed by a URL or an earlier reference are marked in a byte mask, so
    each check costs one look-up however many references the text holds (linear time)."""
    found: list[Reference] = []
    taken = bytearray(len(text) + 1)

    def take(start: int, end: int) -> None:
        taken[start:end] = b"\x01" * (end - start)

    def add(kind: str, value: str, problem: str | None, written: str, start: int, end: int) -> None:
        found.append(Reference(kind, value, written, start, end, problem))

    for start, end, address in links:
        for ref in note_references(address):
            add(ref.kind, ref.value, ref.malformed, address, start, end)
    for url in URL.finditer(text):
        end = url.start() + len(url.group().rstrip(TRAILING))
        for kind, value, problem in refs_in_url(url.group()):
            add(kind, value, problem, text[url.start():end], url.start(), end)
        take(*url.span())

    lowered = folded(text)

    def bare(pattern: re.Pattern, read) -> None:
        if not _gate(pattern).may_match(text, lowered):  # a kind of id the text never names is not scanned for
            return
        for match in pattern.finditer(text):
            if taken[match.start()]:
                continue
            read(match)

    def nct(match: re.Match) -> None:
        value, problem = _nct(match.group(1))
        add("nct", value, problem, match.group(), *match.span())
        take(*match.span())

    def spoken_nct(match: re.Match) -> None:
        digits = "".join(SPOKEN_DIGITS.get(word.lower(), word) for word in re.findall(r"[A-Za-z]+|\d", match.group("digits")))
        value, problem = _nct(digits)
        add("nct", value, problem, match.group(), *match.span())
        take(*match.span())

    def eu(match: re.Match) -> None:
        found_eu = _eu_number(match, text[max(0, match.start() - 80): match.start()])
        if found_eu:
            kind, problem, value = found_eu
            add(kind, value, problem, match.group(), *match.span())
            take(*match.span())

    def eu_lettered(match: re.Match) -> None:
        value = match.group()
        add("euct", value, f"EU CT numbers are digits only; {value!r} has a letter in place of a digit", value, *match.span())
        take(*match.span())

    def doi_prefixed(match: re.Match) -> None:
        raw = match.group(1).rstrip(TRAILING)
        end = match.start(1) + len(raw)
        if DOI_ANY.fullmatch(raw):
            add("doi", _doi(raw), None, text[match.start():end], match.start(), end)
        else:
            add("doi", raw, f"DOIs start with 10., a 4- to 9-digit registrant, then /; {raw!r} does not", text[match.start():end], match.start(), end)
        take(match.start(), end)

    def doi(match: re.Match) -> None:
        raw = match.group().rstrip(TRAILING)
        add("doi", _doi(raw), None, raw, match.start(), match.start() + len(raw))
        take(match.start(), match.start() + len(raw))

    def pmid(match: re.Match) -> None:
        digits = match.group(1) or match.group(2)
        problem = None if len(digits) <= 8 else f"PMIDs have 1 to 8 digits; {digits!r} has {len(digits)}"
        add("pmid", digits, problem, match.group(), *match.span())
        take(*match.span())

    def pmcid(match: re.Match) -> None:
        add("pmcid", "PMC" + match.group(1), None, match.group(), *match.span())
        take(*match.span())

    def spaced_nct(match: re.Match) -> None:
        if len(match.group(1) + match.group(2)) == 8:  # "NCT0238 4976": eight digits with a space among them
            add("nct", match.group(), f"NCT ids are NCT and 8 digits with no space; {match.group()!r} has a space", match.group(), *match.span())
            take(*match.span())

    bare(SPACED_NCT, spaced_nct)
    bare(NCT_ANY, nct)
    bare(SPOKEN_NCT, spoken_nct)
    bare(EU_NUMBER, eu)
    bare(EU_LETTERED, eu_lettered)
    bare(DOI_PREFIXED, doi_prefixed)
    bare(DOI_ANY, doi)
    bare(PMID_BARE, pmid)
    bare(PMCID_ANY, pmcid)
    return sorted(found, key=lambda r: r.start)


# -- the document: its text, lines and blocks ---------------------------------------------


@dataclass
class Block:
    start: int
    end: int
    kind: str  # item | row | heading | para | column (a table's column: its span its header cell, its cells below)
    cells: list[tuple[int, int, str]] = field(default_factory=list)  # a row's (start, end, header); a column's (start, end, row label)


@dataclass
class Document:
    """The readable text of a review, where each offset came from (its source line) and its blocks."""

    text: str
    anchors: list[tuple[int, int]]  # (offset, source line) where a run of text starts
    blocks: list[Block]
    links: list[tuple[int, int, str]] = field(default_factory=list)  # reference-style uses
    places: list[Place] = field(default_factory=list)  # an Office file's sheets or slides, in order
    senders: list[tuple[int, int]] = field(default_factory=list)  # a chat message's time and sender ("[12/10/2025, 19:14] Sophie (MS nurse):"): no claims
    _starts: list[int] = field(default_factory=list, repr=False)
    _newlines: list[int] = field(default_factory=list, repr=False)

    def line_at(self, offset: int) -> int:
        """The source line of an offset: its anchor's line plus the line breaks since the
        anchor, counted by bisection over the text's breaks (found once), not by rescanning; in
        a workbook the row of its sheet, in a deck the slide's number."""
        if not self._starts:
            self._starts = [a for a, _ in self.anchors]
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        index = bisect_right(self._starts, offset) - 1
        if index < 0:
            return 1
        start, line = self.anchors[index]
        line += bisect_left(self._newlines, offset) - bisect_left(self._newlines, start)
        place = self._place(offset)
        return line if place is None else place.number if place.number is not None else line - place.line_offset

    def place_at(self, offset: int) -> str | None:
        """Where an offset is in an Office file, as its reader finds it ("sheet Trials, row 4",
        "slide 3"); None in a file of lines."""
        place = self._place(offset)
        if place is None:
            return None
        return place.name if place.number is not None else f"{place.name}, {place.unit} {self.line_at(offset)}"

    def _place(self, offset: int) -> Place | None:
        if not self.places:  # a file of lines, as most reviews are
            return None
        index = bisect_right(self.places, offset, key=lambda place: place.start) - 1
        return self.places[index] if index >= 0 else None


@dataclass
class Place:
    """A part of an Office file, marked in the HTML it is read as (``<section data-place="sheet
    Trials" data-line-offset="3">``): a sheet, whose lines are its rows, or a slide (``data-line``)."""

    start: int
    name: str
    line_offset: int = 0
    number: int | None = None
    unit: str = "row"  # what its lines are called: a sheet's rows, a PDF page's lines


_ID_ENDS_LINE = r"(?:(?:(?<=\d{8})|(?<=\d-\d\d))[ \t]*\n|(?:(?<=\d{8}\))|(?<=\d{8}\)\))|(?<=\d{8}/\)\)))[ \t]*\n[ \t]*)(?=[A-Z])"
ID_ENDS_LINE = re.compile(_ID_ENDS_LINE)
"""An id ending its line (an NCT id's eight digits, an EU number's last block, or a link to it
closing there: "…([ClinicalTrials.gov](…/NCT00530348))") and a new sentence opening the next: a
post's next point, about another trial."""
SENTENCE_END = re.compile(  # one look back first, so most positions fail at once
    r"(?<=[.!?\d])(?:(?<=[.!?])(?P<close>(?:[\"”')\]*_⁰¹²³⁴⁵⁶⁷⁸⁹˒⁻]|\[\^?\w{1,4}\]|[ \t]+(?=\[\d{1,3}\]))*)(?:\s+(?=[A-Z0-9\"“(\[*_])|[ \t]*\n\s*(?=[a-z]))"
    rf"|{_ID_ENDS_LINE})"
)
"""Where a sentence ends: its closing marks and any footnote markers ("… terminated.[^5] A PET …",
"… no longer recruiting. [2]") stay with it; at a line's end it ends even where the next begins in lower case, as posts are
written, and after an id that ends a line when the next begins a new sentence ("… recruiting:
2024-515563-55-00" then "MGH's tenofovir study …")."""
ABBREVIATIONS = frozenset(
    "e.g i.e vs cf al dr prof st inc ltd co corp no fig approx ca mr mrs ms jr sr univ dept etc ph".split()
)


def sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text[start:end]``; a full stop after an abbreviation
    or an initial ends none."""
    bounds, begin = [], start
    for match in SENTENCE_END.finditer(text, start, end):
        word = re.search(r"([A-Za-z.]+)\.?[\"”')\]*_]*$", text[max(begin, match.start() - 12): match.start()])
        if word and (word.group(1).rstrip(".").lower() in ABBREVIATIONS or len(word.group(1).rstrip(".")) == 1):
            continue
        bounds.append((begin, match.end("close") if match.group("close") is not None else match.start()))
        begin = match.end()
    bounds.append((begin, end))
    return [(a, b) for a, b in bounds if b > a]


MD_DEFINITION = re.compile(r"^ {0,3}\[([^\]\n]+)\]:[ \t]*<?(\S+?)>?(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*$", re.MULTILINE)
MD_USE = re.compile(r"\[((?:[^\[\]\n]|\[[^\[\]\n]*\])+)\]\[([^\]\n]*)\]")
_WRAPPED = r"(?:\n[ \t]+(?![ \t]*(?:\[\^?\w{1,4}\]|\d{1,3}[.)][ \t]))\S[^\n]*)*"
"""An entry's indented lines after its first, as a hard-wrapped list (a PDF's) goes on."""
NOTE_DEFINITION = re.compile(rf"^ {{0,3}}[\[【](\^[^\]\n]+|\d{{1,3}})[\]】](?::[ \t]*|[ \t]+)(\S[^\n]*{_WRAPPED})$", re.MULTILINE)
"""A footnote's or a numbered source's entry, with any words beside its address ("[^1]: Smith
2021, doi:…", "[2] https://…"), as AI answers list their sources at the end."""
NOTE_BELOW = re.compile(r"^ {0,3}\[(\d{1,3})\][ \t]*\n((?:(?![ \t]*\[\d{1,3}\])[ \t]*\S[^\n]*(?:\n|\Z))+)", re.MULTILINE)
"""A numbered source whose mark stands alone on its line, its words on the lines below to a blank
line or the next mark (a LaTeX bibliography's ``\\bibitem{key}`` above its entry)."""
NOTE_USE = re.compile(
    r"(?<!\])[\[【](?P<marks>\^[^\]\s]+|\d{1,3}(?:\s*[,–-]\s*\d{1,3})*)(?:†[^\]】\n]{0,30})?[\]】](?![:(\[])|\((?P<numbers>\d{1,3}(?:\s*[,–-]\s*\d{1,3})*)\)"
)
"""Where footnotes or numbered sources are cited ("… of 964 people.[^1]", "… a phase 3 study [2]",
"[1, 3]", "(2)", a chat tool's "【3†source】")."""
SUPERSCRIPT_USE = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]{1,3}(?:[,˒⁻–-][⁰¹²³⁴⁵⁶⁷⁸⁹]{1,3})*")
"""Numbered sources cited by superscript numbers, as answers pasted from a chat tool carry them
("… no longer recruiting.¹", "…³˒⁴")."""
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹˒⁻", "0123456789,-")
ADJACENT_MARKS = re.compile(r"(?:\[\d{1,3}\]){2,}(?![:(])")
"""Source marks run together ("… trials [2][3] enrolled …"), each a citation (not a reference-style link)."""
_MARK = re.compile(r"\[(\d{1,3})\]")
SOURCES_HEADING = re.compile(
    r"^[ \t]{0,3}(?:#{1,6}[ \t]*)?[*_]{0,2}(?:\d{1,2}(?:\.\d{1,2})*\.?[ \t]+)?(?:references|sources|citations|bibliography|notes|footnotes|works cited)[*_]{0,2}[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
LISTED_SOURCE = re.compile(rf"^ {{0,3}}(\d{{1,3}})[.)][ \t]+(\S[^\n]*{_WRAPPED})$", re.MULTILINE)
"""A numbered source under a "References" or "Sources" heading ("1. Chataway J, et al. …")."""


FRONT_MATTER = re.compile(r"---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|$)", re.DOTALL)
PANDOC_REFERENCE = re.compile(r"^[ \t]*- id:[ \t]*['\"]?([^\s'\"]+)['\"]?[ \t]*\n((?:[ \t]+(?!- )\S[^\n]*\n)*)", re.MULTILINE)
"""An entry of the ``references:`` list in a Quarto or R Markdown report's front matter: its id,
then its fields (``URL:``, ``DOI:``, ``PMID:``)."""
PANDOC_USE = re.compile(r"(?<![\w@])@([A-Za-z0-9_](?:[\w:.#$%&+?<>~/-]*\w)?)")
"""A citation of such an entry: "[@rebuild]", "[@egcg; @nac]", "@rebuild showed"."""


def _labels(use: re.Match) -> list[str]:
    """The labels one citation names: "^1", "2", or each of "1, 3" and "2–4"."""
    if use["marks"] and use["marks"].startswith("^"):
        return [use["marks"].lower()]
    labels: list[str] = []
    for part in re.split(r"\s*,\s*", use["marks"] or use["numbers"]):
        low, _, high = part.replace("–", "-").partition("-")
        first, last = int(low), int(high.strip() or low)
        labels += [str(n) for n in range(first, min(last, first + 20) + 1)]
    return labels


def _number_labels(words: str) -> list[str]:
    """The source numbers words written apart from brackets cite ("1", "1,3", "2–4" in a superscript),
    or none."""
    mark = NOTE_USE.fullmatch(f"[{words.strip()}]")
    return _labels(mark) if mark and mark["marks"] and not mark["marks"].startswith("^") else []


MD_LINK_TITLE = re.compile(r"\]\([^\s()]+[ \t]+\"[^\"\n]*\"[ \t]*\)")
"""An inline link with a title (``[text](address "title")``): the title is the writer's words
about the link, not a quotation, so its quotation marks are taken away."""
MD_ESCAPE = re.compile(r"\\([\\`*_\[\]<>|#{}()+\-.!])")
LIST_ITEM = re.compile(r"^\s*(?:[-*+•▪‣►➤→✓✔▸▹▶▷◦◆◇■□●○◉⁃∙·–]|(?:[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]\uFE0F?\u200D?)+|\d{1,3}[.)]|\d{1,3}/(?:\d{1,3}\b)?)\s+")
"""A list item's mark: a bullet, an emoji or a flag as social posts set them, "3." or "3)", or a
thread's post number ("9/", "9/14")."""
CHAT_LINE = re.compile(r"^\s*\[?(?:\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4},?\s+)?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?\]?\s*(?:-\s*)?[^\s:][^:\n]{0,40}:")
"""A message of a chat exported as text ("14/09/2025, 19:12 - Priya: …", "[10:42] Sam: …"): each
one a block of its own, as a list item is."""
CODED_HEADER = re.compile(r"[ \t]*(?:\w+[ \t]*(?:<-|=)[ \t]*)?(?:tibble::)?(?:tribble\([ \t]*)?~\w+(?:[ \t]*,[ \t]*~\w+)+[ \t]*,?[ \t]*")
_VALUE = r"[ \t]*(?:\"([^\"\n]*)\"|'([^'\n]*)'|(-?[\d.]+|NA|TRUE|FALSE))[ \t]*"
CODED_ROW = re.compile(rf"{_VALUE}(?:,{_VALUE})+,?[ \t]*\)?[ \t]*")
CODED_VALUE = re.compile(_VALUE)
"""A table written in R code: ``tribble(~trial, ~n, "NCT…", 35, …)``, its columns' names after "~",
then a row of quoted texts and numbers per line."""
SPEAKER_LINE = re.compile(
    r"^[ \t]*(?!(?:VO|V\.O\.|Narrator|NARRATOR|Voice-?over|VOICE-?OVER)[ \t]*:)([A-Z][A-Za-z.'’-]{0,20}(?: [A-Z][A-Za-z.'’-]{0,20})?|[Mm]e)[ \t]*:[ \t]+(?=\S)",
    re.MULTILINE,
)
"""A line of a conversation copied without times ("Jen: what abt that burt guy", "Me: …", a
script's "HOST A: …"; not a voice-over's, which goes on from the screen line above it): in a text
of several such lines by two people or more, each a block of its own, as a chat's messages are."""
PMID_COLUMN = re.compile(r"[ \t]*(?:pmid|pubmed(?:[ _]?id)?|pubmed[ _]number)[ \t]*", re.IGNORECASE)
PMID_CELL = re.compile(r"[ \t]*\d{5,9}[ \t]*")


def _pmid_cells(text: str, cells: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The bare numbers under a table's PubMed column ("PMID", "PubMed ID"), as a reference manager
    exports them: each a paper's PMID, where it stands (a link to pass to :func:`find_references`)."""
    return [(a, b, f"PMID {text[a:b].strip()}") for a, b, name in cells if PMID_COLUMN.fullmatch(name) and PMID_CELL.fullmatch(text, a, b)]
TIMED_LINE = re.compile(r"[ \t]*[\[(]?\d{1,2}:\d{2}(?::\d{2})?[\])]?[ \t]+(?:[-–—|][ \t]+)?(?=\S)")
"""A line opened by a time, as show notes and minutes list what came when ("11:02  Stanford's CD19
CAR-T trial …"): a block of its own, the time no claim."""


def _outdented(text: str, start: int, line: str) -> bool:
    """Whether a line sits left of a nested item's mark (a sub-bullet at two spaces, then a line at
    none): it starts something new, not the item's wrapped text."""
    mark = len(text[start:start + 40]) - len(text[start:start + 40].lstrip(" \t"))
    return mark > 0 and len(line) - len(line.lstrip(" \t")) < mark


SCRIPT_LINE = re.compile(r"^\s*\[(?:on[ -]?screen|text|caption|super|graphic|title card|lower third)\b[^\]\n]*\]", re.IGNORECASE)
"""A video script's line of what the screen shows ("[ON SCREEN: NCT… • phase 2b • 130 people]"): a
block of its own, with the voice's lines after it ("VO: … with 130 people is done")."""
HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
TABLE_BORDER = re.compile(r"^[ \t]*[+|][-=]{2,}(?:[+|][-=]{2,})*[+|][ \t]*$")
"""A drawn table's border or header rule ("+----+----+", "+====+", Org's "|----+----|"), as
database clients, reStructuredText grid tables and Org-mode draw them: its rows are pipe rows."""


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


QUOTE_MARK = re.compile(r"[ \t]{0,3}>(?:[ \t]?>)*[ \t]?")
HTML_TABLE_LINE = re.compile(r"^\s*</?(?:table|thead|tbody|tfoot|tr|th|td)\b", re.IGNORECASE)
_HTML_CELL = re.compile(r"<(t[hd])\b[^>]*>(.*?)</t[hd]\s*>", re.IGNORECASE | re.DOTALL)


def _html_table_line(text: str, a: int, b: int, header: list[str] | None) -> tuple[list[str] | None, Block | None]:
    """A line of an HTML table written into Markdown (a notebook's data frame): header cells
    gathered while the head lasts, then a row per ``<tr>`` line with its cells under them."""
    line = text[a:b]
    lowered = line.lower()
    if "<thead" in lowered or (header is None and "<table" in lowered):
        header = []
    cells = list(_HTML_CELL.finditer(line))
    if "<td" not in lowered:
        if header is not None and cells:
            header = header + [re.sub(r"<[^>]+>", " ", c.group(2)).strip() for c in cells]
        return (None if "</table" in lowered else header), None
    names = header or []
    row = Block(a, b, "row", [(a + c.start(2), a + c.end(2), names[i] if i < len(names) else "") for i, c in enumerate(cells)])
    return header, row


def _cells(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The cells of a pipe-table row, outer pipes left out."""
    bounds = [start - 1] + [m.start() for m in re.finditer(r"(?<!\\)\|", text[start:end])]
    bounds = [b if i == 0 else start + b for i, b in enumerate(bounds)] + [end]
    cells = [(a + 1, b) for a, b in zip(bounds, bounds[1:])]
    return [(a, b) for a, b in cells if text[a:b].strip() or (a, b) not in (cells[0], cells[-1])]


def _notes(text: str, markdown: bool) -> tuple[str, list[tuple[int, int, str]]]:
    """Reference-style links, footnotes and numbered sources: each use with its entry's address
    or words (the references there stand where it is used, as the claim is there), and the text
    with every entry that is used blanked out (an entry never cited stays where it is)."""
    entries: dict[str, tuple[int, int, str]] = {}
    if markdown:
        entries = {m.group(1).strip().lower(): (m.start(), m.end(), m.group(2)) for m in MD_DEFINITION.finditer(text)}
    if markdown and (front := FRONT_MATTER.match(text)):  # a Quarto or R Markdown report's reference list
        for m in PANDOC_REFERENCE.finditer(text, 0, front.end()):
            if note_references(m.group(2)):
                entries[f"@{m.group(1).lower()}"] = (m.start(), m.end(), m.group(2))
    headings = list(SOURCES_HEADING.finditer(text))
    listed = LISTED_SOURCE.finditer(text, headings[-1].end()) if headings else ()
    for m in [*NOTE_DEFINITION.finditer(text), *NOTE_BELOW.finditer(text), *listed]:
        label = m.group(1).lower()
        if label not in entries and (note_references(m.group(2)) or URL.finditer(m.group(2))):  # a note citing a news page names no id: its claims may name a product
            entries[label] = (m.start(), m.end(), m.group(2))
    if not entries:
        return text, []
    inside = sorted((a, b) for a, b, _ in entries.values())

    def in_entry(position: int) -> bool:
        index = bisect_right(inside, (position, len(text))) - 1
        return index >= 0 and inside[index][0] <= position < inside[index][1]

    # a reference-style link's reference stands at its label, its words are the writer's ("[Sanofi phase 2 study][6]")
    uses = [(u.start(2) - 1, u.end(), (u.group(2) or u.group(1)).strip().lower()) for u in MD_USE.finditer(text)] if markdown else []
    notes = list(NOTE_USE.finditer(text))
    if any(u["marks"] for u in notes):  # a text citing "[2]" counts things in parentheses: "Biogen (7)"
        notes = [u for u in notes if u["marks"]]
    uses += [(u.start(), u.end(), label) for u in notes for label in _labels(u)]
    uses += [(m.start(), m.end(), m.group(1)) for run in ADJACENT_MARKS.finditer(text) for m in _MARK.finditer(text, run.start(), run.end())]
    uses += [(u.start(), u.end(), label) for u in SUPERSCRIPT_USE.finditer(text) for label in _number_labels(u.group().translate(_SUPERSCRIPTS))]
    if any(label.startswith("@") for label in entries):
        uses += [(u.start(), u.end(), f"@{u.group(1).lower()}") for u in PANDOC_USE.finditer(text)]
    cited = [(a, b, label) for a, b, label in uses if label in entries and not in_entry(a)]
    return _blanked(text, [entries[label][:2] for label in {label for _, _, label in cited}]), sorted(
        (a, b, entries[label][2]) for a, b, label in cited
    )


def _blanked(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with each span's characters but its line breaks made spaces, in one pass."""
    parts, position = [], 0
    for a, b in sorted(spans):
        if a >= position:
            parts += [text[position:a], re.sub(r"[^\n]", " ", text[a:b])]
            position = b
    return "".join(parts + [text[position:]])


ID_LIKE = re.compile(r"NCT\s?\d|\d{4}-\d{4,7}-\d|PMC\d|10\.\d{4}/|PMID", re.IGNORECASE)
"""What an id looks like, to tell a table's header row (which names none) from its rows."""


LONG_RULE = re.compile(r"^[ \t]*(?:-{10,}|={10,}|─{10,})[ \t]*$")
"""One rule of dashes under a whole header, as a report sets a table in plain text."""
ALIGNED_RULE = re.compile(r"^[ \t]*(?:-{2,}(?:[ \t]+-{2,})+|={2,}(?:[ \t]+={2,})+)[ \t]*$")
"""The rule of dashes under a space-aligned table's header, one run per column (as emails and
terminals print tables; reStructuredText's simple tables draw it with "=")."""


def _aligned_cells(text: str, start: int, end: int, columns: list[int]) -> list[tuple[int, int]]:
    """The cells of a space-aligned line, cut where the columns start, as offsets in the text; a
    cut that falls inside a word moves to the word's end (a value longer than its column pushes
    the next one along: "CABA-201 (rese-cel) Cabaletta Bio")."""
    bounds = [start]
    for column in columns[1:]:
        cut = max(min(start + column, end), bounds[-1])
        while start < cut < end and not text[cut - 1].isspace() and not text[cut].isspace():
            cut += 1
        bounds.append(cut)
    bounds.append(end)
    return [(x, y) for x, y in zip(bounds, bounds[1:])]


def _printed_columns(line: str, following: str) -> list[int] | None:
    """Where the columns of a table a program printed start (a data frame: a header of names set
    apart by two spaces or more over rows of records, right- or left-aligned), when ``line`` is
    such a header; None otherwise."""
    if "  " not in line or "  " not in line.strip() or ID_LIKE.search(line) or not ID_LIKE.search(following):
        return None
    names = list(re.finditer(r"\S+(?: \S+)*", line))
    if len(names) < 4:
        return None
    row = following.ljust(len(line) + 2)

    def edge(inside: int, outside: int) -> bool:
        return outside < 0 or (not row[inside].isspace() and row[outside].isspace())

    if all(edge(n.end() - 1, n.end()) or edge(n.end(), n.end() + 1) for n in names[1:]):  # right-aligned, as data frames print (or a value a space late, by hand)
        return [0] + [n.end() for n in names[:-1]]
    cuts = [0]
    for before, name in zip(names, names[1:]):  # else each column left-aligned (text) or right-aligned (numbers)
        if edge(name.start(), name.start() - 1):
            cuts.append(name.start())
        elif edge(name.end() - 1, name.end()):
            cuts.append(before.end())
        elif edge(name.start() + 1, name.start()):  # aligned by hand, a value a space late
            cuts.append(name.start())
        else:
            return None
    return cuts


def _tab_cells(start: int, line: str) -> list[tuple[int, int]]:
    """The cells of a tab-separated line, as offsets in the text."""
    cells, position = [], start
    for cell in line.split("\t"):
        cells.append((position, position + len(cell)))
        position += len(cell) + 1
    return cells


WIKILINK = re.compile(r"\[\[(?:[^\]|\n]*\|)?(?P<shown>[^\]|\n]+)\]\]")
"""A note-taking app's link to another note ("[[Dana-Farber]]", "[[Note|shown words]]"): its words
are the writer's, its brackets and target syntax."""
BIBLIOGRAPHY_ENTRY = re.compile(r"^(?:@[A-Za-z]+[ \t]*[{(]|TY  - )", re.MULTILINE)
"""Where a bibliography's entry starts (BibTeX's "@article{", an RIS record's "TY  - "): its fields
are all about one work, so the entry is read whole, as a list item is."""
RIS_TAG = re.compile(r"^[A-Z][A-Z0-9]  - ?", re.MULTILINE)


def _text_document(content: str, markdown: bool) -> Document:
    """Markdown or plain text: escapes undone, reference-style links, footnotes and numbered
    sources read where they are cited (:func:`_notes`), blocks from the lines' shapes."""
    text = MD_ESCAPE.sub(r"\1", content) if markdown else content
    text, links = _notes(text, markdown)
    if markdown:
        text = MD_LINK_TITLE.sub(lambda m: m.group().replace('"', " "), text)
        text = WIKILINK.sub(lambda m: " " * (m.start("shown") - m.start()) + m["shown"] + " " * (m.end() - m.end("shown")), text)
    entries = {m.start() for m in BIBLIOGRAPHY_ENTRY.finditer(text)}
    if entries and "\\" in text:  # BibTeX's fields are TeX: "64\%" is 64%
        text = re.sub(r"\\([%&_#$])", r"\1 ", text)
    if not markdown and RIS_TAG.search(text) and "ER  -" in text:  # a reference manager's RIS export: its tags are syntax
        text = RIS_TAG.sub(lambda m: " " * len(m.group()), text)
    blocks: list[Block] = []
    current: Block | None = None
    header: list[str] | None = None
    columns: list[int] | None = None  # where a space-aligned table's columns start in its lines
    coded = False  # in a table written in code, after its header
    speakers = [m.group(1) for m in SPEAKER_LINE.finditer(text)]
    talk = len(speakers) >= 4 and len(set(speakers)) >= 2  # a conversation, its lines "Jen: …", "Me: …"
    senders: list[tuple[int, int]] = []  # each message's time and sender
    said: re.Match | None = None
    spans = _line_spans(text)
    if re.search(r"(?m)^[ \t]{0,3}>[ \t>]", text):  # a quoted reply's lines (Markdown's, an e-mail's) read as the lines it quotes: "> - a list item"
        spans = [((quote.end() if (quote := QUOTE_MARK.match(text, a, b)) else a), b) for a, b in spans]
    html_header: list[str] | None = None  # the column names of an HTML table written into Markdown
    for index, (a, b) in enumerate(spans):
        line = text[a:b]
        if markdown and "<" in line and HTML_TABLE_LINE.match(line):
            html_header, row = _html_table_line(text, a, b, html_header)
            if row is not None:
                blocks.append(row)
            current = None
            continue
        is_rule = (markdown and TABLE_RULE.match(line) and "-" in line) or TABLE_BORDER.match(line)
        if not line.strip() or is_rule:
            current = None
            if not line.strip():
                header, columns, coded = None, None, False
            continue
        following = text[spans[index + 1][0]:spans[index + 1][1]] if index + 1 < len(spans) else ""
        cells: list[tuple[int, int]] | None = None  # a table line's cells, and whether it is the header
        is_header = False
        if CODED_HEADER.fullmatch(line):  # a table written in code (R's tribble): "~trial, ~n," then a row of values per line
            cells, is_header, coded = [(a + m.start(1), a + m.end(1)) for m in re.finditer(r"~(\w+)", line)], True, True
        elif coded and CODED_ROW.fullmatch(line):
            cells = [(a + m.start(m.lastindex), a + m.end(m.lastindex)) for m in CODED_VALUE.finditer(line)]
        elif ALIGNED_RULE.match(following) and not ALIGNED_RULE.match(line):  # a header over a rule of dashes
            columns = [m.start() for m in re.finditer(r"-+", following)]
            cells, is_header = _aligned_cells(text, a, b, columns), True
        elif LONG_RULE.match(following) and len(names := list(re.finditer(r"\S+(?: \S+)*", line))) >= 3 and "  " in line.strip():
            columns = [0] + [m.start() for m in names[1:]]  # a header over one long rule: its names, two spaces apart, start the columns
            cells, is_header = _aligned_cells(text, a, b, columns), True
        elif columns is not None:
            if ALIGNED_RULE.match(line):
                continue
            cells, is_header = _aligned_cells(text, a, b, columns), False
        elif not line.lstrip().startswith("|") and (printed := _printed_columns(line, following)) is not None:  # a table printed by a program (not drawn with pipes), no rule under its header
            columns = printed
            cells, is_header = _aligned_cells(text, a, b, columns), True
        elif line.count("\t") >= 2:  # a spreadsheet pasted as text: a header row, then a row per record
            previous = text[spans[index - 1][0]:spans[index - 1][1]] if index else ""
            cells, is_header = _tab_cells(a, line), previous.count("\t") < 2 and not ID_LIKE.search(line)
        elif line.lstrip().startswith("|") and (markdown or line.count("|") >= 3):  # a Markdown, Org or drawn table's row
            cells = _cells(text, a, b)
            is_header = bool(TABLE_RULE.match(following) and "-" in following or TABLE_BORDER.match(following) and header is None)
        if cells is not None:
            if is_header:
                header = [text[x:y].strip() for x, y in cells]
                blocks.append(Block(a, b, "heading"))
            else:
                names = header or []
                named = [(x, y, names[i] if i < len(names) else "") for i, (x, y) in enumerate(cells)]
                blocks.append(Block(a, b, "row", named))
                links += _pmid_cells(text, named)
            current = None
            continue
        if HEADING.match(line):
            blocks.append(Block(a, b, "heading"))
            current = None
        elif LIST_ITEM.match(line) or (":" in line and (said := CHAT_LINE.match(line) or talk and SPEAKER_LINE.match(line) or TIMED_LINE.match(line))) or SCRIPT_LINE.match(line):
            current = Block(a, b, "item")
            blocks.append(current)
            if said and not ID_LIKE.search(said.group()):
                senders.append((a, a + said.end()))
        elif current is not None and not (current.kind == "item" and _outdented(text, current.start, line)):
            current.end = b
        else:
            current = Block(a, b, "item" if a in entries else "para")
            blocks.append(current)
    chars = list(text)
    blocks = [_as_card(text, block, chars) for block in blocks]
    return Document("".join(chars), [(0, 1)], blocks, sorted(links), senders=senders)


_LABELLED = re.compile(r"[ \t]*(?:-[ \t]+)?([A-Za-z_][\w ()/.-]{0,30}?)[ \t]*:[ \t]+(?P<quote>[\"']?)(\S[^\n]*?)(?P=quote)[ \t]*$")


def _as_card(text: str, block: Block, chars: list[str]) -> Block:
    """A list item or paragraph made of labelled lines ("phase: 1/2", "n: 62", as a tracker's
    YAML export or a form's text has them) as a row whose cells are the values under their labels;
    the quotes around a value are the file's syntax (blanked in ``chars``), not a quotation."""
    if block.kind not in ("item", "para") or text.count(":", block.start, block.end) < 3:
        return block
    spans = [(block.start + a, block.start + b) for a, b in _line_spans(text[block.start:block.end])]
    labelled = [m for a, b in spans if (m := _LABELLED.fullmatch(text, a, b))]
    if len(labelled) < 3 or len(labelled) * 5 < len(spans) * 3:
        return block
    for m in labelled:
        if m.group("quote"):
            chars[m.start("quote")] = chars[m.end(3)] = " "
    return Block(block.start, block.end, "row", [(m.start(3), m.end(3), m.group(1)) for m in labelled])


@dataclass
class _DefinitionList:
    """A ``<dl>`` being read: its terms (start, end, words, whether one cites a reference) and
    descriptions (start, end, the index of their term)."""

    start: int
    terms: list[tuple[int, int, str, bool]] = field(default_factory=list)
    descriptions: list[tuple[int, int, int]] = field(default_factory=list)
    open: tuple[str, int] | None = None  # the dt or dd being read, and where it starts
    words: list[str] = field(default_factory=list)
    cites: bool = False

    def blocks(self, end: int) -> list[Block]:
        """Terms that cite references ("<dt><a href=…NCT…>title</a></dt><dd>A phase 2 …</dd>")
        make one block each with their descriptions, as list items do; terms that are labels
        ("<dt>Participants</dt><dd>46</dd>") make the list one row, each description a cell
        under its label."""
        if any(cites for *_, cites in self.terms):
            starts = [a for a, *_ in self.terms] + [end]
            return [Block(a, b, "item") for a, b in zip(starts, starts[1:])]
        cells = [(a, b, self.terms[term][2] if term >= 0 else "") for a, b, term in self.descriptions]
        return [Block(self.start, end, "row", cells)] if cells else []


class _HtmlText(HTMLParser):
    """The text of an HTML page (script, style and head left out), one line per block element,
    table rows as cells joined by `` | `` with their column headers, definition lists as rows
    or items (:class:`_DefinitionList`); each link's address (and any attribute holding an id)
    placed before its text, so a reference given only as a link is found where it stands."""

    BLOCKS = frozenset(
        "p li tr h1 h2 h3 h4 h5 h6 div section article header footer br figcaption table ul ol "
        "blockquote dd dt pre caption thead tbody".split()
    )
    SKIP = frozenset({"script", "style", "svg", "head", "template"})
    ID_HINT = re.compile(r"NCT|\d{4}-\d{4,7}-\d|PMC\d|10\.\d{4}/|PMID", re.IGNORECASE)
    RECORD_ID = re.compile(r"NCT\d{8}|\b\d{4}-\d{6}-\d{2}-\d{2}\b", re.IGNORECASE)
    BOXES = frozenset({"div", "article", "section"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.anchors: list[tuple[int, int]] = []
        self.blocks: list[Block] = []
        self._skip = 0
        self._open: list[tuple[str, int]] = []  # block elements open: (tag, text offset)
        self._header: list[str] = []
        self._row: list[tuple[int, int, str]] | None = None
        self._row_is_header = True
        self._row_plain = False  # a cell of the row holds text that is not bold
        self._rows = 0  # rows of the table read so far
        self._tables: list[tuple | None] = []  # per table open, the row it sits in (a page laid out in a table), if any
        self._bold = 0
        self._cell: int | None = None
        self._list: _DefinitionList | None = None
        self._named: list[tuple[str, str, int]] = []  # elements open with an id: (tag, id, text offset)
        self.targets: dict[str, tuple[int, int]] = {}  # an element's id -> its text span
        self._pointing: tuple[str, int] | None = None  # a link to an element of the page, being read
        self.pointers: list[tuple[int, int, str]] = []  # (start, end, id) of links to elements of the page
        self._card: int | None = None  # where an outside link opened: one holding blocks is a card, read whole
        self.places: list[Place] = []
        self._sup: int | None = None  # where a superscript opened
        self.superscripts: list[tuple[int, int]] = []  # the text spans of superscripts ("…responders at 12 months<sup>1</sup>")
        self._lists: list[list[tuple[int, int]]] = []  # per ordered list open, its items' spans
        self._boxes: list[tuple[str, int]] = []  # divs, articles and sections open: (tag, text offset)
        self.ordered: list[list[tuple[int, int]]] = []  # every ordered list's items, as numbered

    def _emit(self, text: str, line: int | None = None) -> None:
        if not text:
            return
        self.anchors.append((self.length, line if line is not None else self.getpos()[0]))
        self.parts.append(text)
        self.length += len(text)

    def _since(self, offset: int) -> str:
        """The text emitted after an offset (read back from the end: it is short where asked)."""
        parts, length = [], self.length
        for part in reversed(self.parts):
            if length <= offset:
                break
            parts.append(part)
            length -= len(part)
        return "".join(reversed(parts))[offset - length:]

    def _newline(self) -> None:
        if self.parts and not self.parts[-1].endswith("\n"):
            self._emit("\n")

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
            return
        if self._skip:
            return
        named = dict(attrs)
        if tag == "section" and named.get("data-place"):
            line, number = named.get("data-line-offset"), named.get("data-line")
            self.places.append(Place(self.length, named["data-place"], int(line or 0), int(number) if number else None, named.get("data-unit") or "row"))
        if named.get("id"):
            self._named.append((tag, named["id"], self.length))
        elif tag == "a" and named.get("name") and self._open and not self._since(self._open[-1][1]).strip():
            # an old-style anchor opening its paragraph (a word processor's footnote): the paragraph is the target
            self._named.append((self._open[-1][0], named["name"], self._open[-1][1]))
        if tag == "a" and (named.get("href") or "").startswith("#") and len(named["href"]) > 1:
            self._pointing = (named["href"][1:], self.length)
        elif tag == "a" and named.get("href") and self._card is None:
            self._card = self.length
        if tag in self.BLOCKS:
            self._newline()
            if tag in ("li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "p"):
                self._open.append((tag, self.length))
            elif tag in self.BOXES:
                self._boxes.append((tag, self.length))
            if tag == "tr":
                self._row, self._row_is_header, self._row_plain = [], True, False
            elif tag == "table" and self._row is not None:  # a table inside a cell: its rows are its own, the outer row waits
                self._tables.append((self._header, self._row, self._row_is_header, self._row_plain, self._rows, self._cell))
                self._row, self._cell, self._rows = None, None, 0
            elif tag == "table":  # a table after another keeps its column names (a table drawn a row at a time)
                self._tables.append(None)
                self._rows = 0
        if tag == "sup" and self.parts and self.parts[-1][-1:].isalnum():  # "NCT04047628<sup>3</sup>" is no 9-digit id
            self._emit(" ")
        if tag == "sup":
            self._sup = self.length
        elif tag == "ol":
            first = named.get("start") or "1"
            self._lists.append([(-1, -1)] * (int(first) - 1 if first.isdigit() and int(first) < 1000 else 0))
        if tag in ("b", "strong"):
            self._bold += 1
        if tag in ("td", "th") and self._row is not None:
            self._close_cell()
            if self._row:
                self._emit(" | ")
            self._cell = self.length
            self._row_is_header &= tag == "th"
        if tag == "dl":
            self._list = _DefinitionList(self.length)
        elif tag in ("dt", "dd") and self._list is not None:
            self._list.open, self._list.words, self._list.cites = (tag, self.length), [], False
        for name, value in attrs:
            if value and (name in ("href", "xlink:href") and value.startswith(("http://", "https://", "www.")) or self.ID_HINT.search(value) and name != "title"):
                self._emit(f" {value} ")
                if self._list is not None and self.ID_HINT.search(value):
                    self._list.cites = True
        title = dict(attrs).get("title") if tag == "a" else None
        if title and title.strip():  # a link's title is the writer's words about it: its claims count
            self._emit(" " + " ".join(title.split()) + "; ")

    def _close_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            self._row.append((self._cell, self.length, ""))
        self._cell = None

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if self._skip:
            return
        if tag == "a" and self._pointing:
            self.pointers.append((self._pointing[1], self.length, self._pointing[0]))
            self._pointing = None
        elif tag == "a" and self._card is not None:
            if "\n" in self._since(self._card).strip():  # a link card: the title and words of the page it links
                self.blocks.append(Block(self._card, self.length, "item"))
            self._card = None
        for index in range(len(self._named) - 1, -1, -1):
            if self._named[index][0] == tag:
                _, name, start = self._named.pop(index)
                self.targets.setdefault(name, (start, self.length))
                break
        if tag in ("td", "th"):
            self._close_cell()
        if tag == "sup" and self._sup is not None:
            self.superscripts.append((self._sup, self.length))
            self._sup = None
        elif tag == "ol" and self._lists:
            self.ordered.append(self._lists.pop())
        if tag == "table" and self._tables and (outer := self._tables.pop()) is not None:
            self._header, self._row, self._row_is_header, self._row_plain, self._rows, self._cell = outer
        if tag in ("b", "strong"):
            self._bold = max(0, self._bold - 1)
        if tag in ("dt", "dd") and self._list is not None and self._list.open and self._list.open[0] == tag:
            dl, start = self._list, self._list.open[1]
            if tag == "dt":
                dl.terms.append((start, self.length, " ".join(dl.words).strip(), dl.cites))
            else:
                dl.descriptions.append((start, self.length, len(dl.terms) - 1))
            dl.open = None
        if tag == "dl" and self._list is not None:
            self.blocks += self._list.blocks(self.length)
            self._list = None
        if tag in self.BLOCKS:
            for index in range(len(self._open) - 1, -1, -1):
                if self._open[index][0] == tag:
                    start = self._open.pop(index)[1]
                    self._block(tag, start)
                    break
            if tag in self.BOXES and self._boxes and self._boxes[-1][0] == tag:
                self._box(self._boxes.pop()[1])
            self._newline()

    def _block(self, tag: str, start: int) -> None:
        end = self.length
        if tag == "tr":
            self._close_cell()
            cells = self._row or []
            self._rows += 1
            if self._lays_out(start, cells):
                self._row = None
                return
            first_names = self._rows == 1 and (not self._row_plain or not self.ID_HINT.search(self._since(start)))
            if cells and (self._row_is_header or first_names):  # <th> cells, or a first row all in bold or citing nothing (a styled header)
                if len(cells) > 1 or not self._header:  # one cell across the table labels a section; the columns stay named
                    self._header = [self._slice(a, b).strip() for a, b, _ in cells]
                self.blocks.append(Block(start, end, "heading", [(a, b, "") for a, b, _ in cells]))
            else:
                names = self._header
                self.blocks.append(Block(start, end, "row", [(a, b, names[i] if i < len(names) else "") for i, (a, b, _) in enumerate(cells)]))
            self._row = None
        elif tag == "li":
            inside = list(itertools.takewhile(lambda b: b.start >= start, reversed(self.blocks)))
            if tables := [b for b in inside if b.kind in ("row", "heading")]:  # a toggle holding a table (a Notion export): its rows stand, its title alone is the item
                end = min(b.start for b in tables)
            if self._since(start)[: end - start].strip():
                self.blocks.append(Block(start, end, "item"))
            if self._lists:
                self._lists[-1].append((start, end))
        elif tag == "p":
            self.blocks.append(Block(start, end, "para"))
        else:
            self.blocks.append(Block(start, end, "heading"))

    def _box(self, start: int) -> None:
        """A card: a box (a search result's ``<div class="card">``) of a few blocks under a heading
        that cites a record, every reference in it that record's (its "Learn more" link too); read
        whole, as a list item is, so its badges and labelled lines are claims about that record."""
        inside = list(itertools.islice(itertools.takewhile(lambda b: b.start >= start, reversed(self.blocks)), 9))  # a wrapper's hundreds are not walked
        if not 2 <= len(inside) <= 8 or self.length - start > 1500 or any(b.kind == "row" for b in inside):
            return
        words = self._since(start)
        headed = any(b.kind == "heading" and self.RECORD_ID.search(words, b.start - start, b.end - start) for b in inside)
        if headed and len({m.group().upper() for m in self.RECORD_ID.finditer(words)}) == 1:
            self.blocks.append(Block(start, self.length, "item"))

    def _lays_out(self, start: int, cells: list) -> bool:
        """Whether a table row only lays a page out (an e-mail's body in a cell): it holds another
        table's rows or a heading, or is one cell of several paragraphs; its blocks are read as
        they stand, not as one row of cells."""
        inside = list(itertools.takewhile(lambda b: b.start >= start, reversed(self.blocks)))
        return any(b.kind in ("row", "heading") for b in inside) or (len(cells) <= 1 and len(inside) >= 2)

    def _slice(self, a: int, b: int) -> str:
        return "".join(self.parts)[a:b]

    def handle_data(self, data):
        if self._skip or not data.strip():
            if data.strip() == "" and data and self.parts and not self.parts[-1].endswith((" ", "\n")):
                self._emit(" ")
            return
        if self._cell is not None and not self._bold:
            self._row_plain = True
        if self._list is not None and self._list.open:
            self._list.words.append(data.strip())
            self._list.cites |= bool(self.ID_HINT.search(data))
        line, _ = self.getpos()
        leading = len(data) - len(data.lstrip())
        line += data[:leading].count("\n")
        if leading and self.parts and not self.parts[-1].endswith((" ", "\n")):  # "<a>KYV-101</a> is": the space stays
            self._emit(" ", line)
        pieces = [" ".join(piece.split()) for piece in data.strip().split("\n")]
        last = len(pieces) - 1
        for number, piece in enumerate(pieces):  # each printed line at its own line, so a problem says where it is
            if piece:
                self._emit(piece + (" " if number < last or data[-1].isspace() else ""), line + number)


FOOTNOTE_MARK = re.compile(r"[\[(]?\^?(?:\d{1,3}|[a-z]|[*†‡§¶])[\])]?")
"""The text of a link to a footnote ("2", "[2]", "*"), not to a section of the page."""


def _pointed(text: str, parser: _HtmlText) -> tuple[str, list[tuple[int, int, str]]]:
    """Footnote links within the page ("<sup><a href="#ref2">2</a></sup>" to "<li id="ref2">…NCT…</li>"):
    each with the words of the element it points to, whose references stand where it is cited
    (as :func:`_notes` does for Markdown); an element cited so is blanked out."""
    links, cited = [], set()
    for start, end, name in parser.pointers:
        if name in parser.targets and FOOTNOTE_MARK.fullmatch(text[start:end].strip()):
            a, b = parser.targets[name]
            if not a <= start < b and (note_references(text[a:b]) or URL.finditer(text, a, b)):  # a note citing a news page names no id: its claims may name a product
                links.append((start, end, text[a:b]))
                cited.add((a, b))
    sources = max(parser.ordered, key=lambda items: sum(bool(note_references(text[a:b])) for a, b in items if a >= 0), default=[])
    if sum(bool(note_references(text[a:b])) for a, b in sources if a >= 0) * 2 < len(sources):
        sources = []  # a list of steps or findings, not of sources
    linked = {start for start, _, _ in links}
    for start, end in parser.superscripts:  # "…at 12 months<sup>1</sup>" and the page's numbered list of sources
        labels = _number_labels(text[start:end])
        if not labels or any(start <= s < end for s in linked):
            continue
        before = text[max(0, start - 80):start]
        if before.rstrip()[-1:].isdigit() or "http" in before.rpartition(". ")[2]:
            continue  # a power ("2 × 10<sup>6</sup> cells/kg"); a source the sentence links already ("(<a href=…>Front Neurol 2021</a>)<sup>1</sup>")
        for label in labels:
            a, b = sources[int(label) - 1] if 0 < int(label) <= len(sources) else (-1, -1)
            if a >= 0 and not a <= start < b and note_references(text[a:b]):
                links.append((start, end, text[a:b]))
                cited.add((a, b))
    return _blanked(text, list(cited)), sorted(links)


CITATION_CHIP = re.compile(r"(<a\b[^>]*\bhref\s*=\s*[\"'](?!#)[^\"']+[\"'][^>]*>)\s*(\d{1,3})\s*(</a>)", re.IGNORECASE)
"""A link whose only words are a number (an AI tool's citation chip, "…recruiting <a href=…>2</a>"):
read as the mark it is ("[2]"), never as a count of the claim before it."""


def _html_document(content: str) -> Document:
    content = CITATION_CHIP.sub(r"\1[\2]\3", content)
    parser = _HtmlText()
    parser.feed(content)
    parser.close()
    text, links = _pointed("".join(parser.parts), parser)
    if not links:  # a page whose sources are numbered in its words ("… [3]" and "[3] https://…"), as a pasted answer's are
        text, links = _notes(text, False)
    blocks = transposed(text, sorted(parser.blocks, key=lambda b: (b.start, -b.end)))
    # Text outside any list item, row, heading or paragraph (a div's, a table cell's) makes paragraphs of its own.
    inner: list[Block] = []
    covered = 0
    for block in blocks:
        if block.start < covered:
            continue  # a paragraph inside a list item belongs to the item
        inner.append(block)
        covered = block.end
    spans: list[Block] = []
    position = 0
    for block in inner + [Block(len(text), len(text), "para")]:
        for a, b in _line_spans(text[position:block.start]):
            if text[position + a:position + b].strip():
                spans.append(Block(position + a, position + b, "para"))
        if block.end > block.start:
            spans.append(block)
        position = max(position, block.end)
    return Document(text, parser.anchors or [(0, 1)], spans, links, parser.places)


def _csv_delimiter(content: str) -> str:
    """A CSV file's separator: ";" where its first line holds more of them than commas (as Excel
    saves CSV where the comma is the decimal mark), else ","."""
    first = content.partition("\n")[0]
    return ";" if first.count(";") > first.count(",") else ","


def _delimited_document(content: str, delimiter: str) -> Document:
    """A spreadsheet saved as CSV or TSV (a tracker a patient group keeps): its first record the
    header (or, above the first row naming a record, the fullest of the rows before it: a shared
    sheet's title and column groups come first), then a row per record, with quoted fields that
    hold delimiters and line breaks."""
    field_pattern = re.compile(rf'"((?:[^"]|"")*)"[^{delimiter}\n]*|([^{delimiter}\n]*)')
    blocks: list[Block] = []
    links: list[tuple[int, int, str]] = []  # the PMIDs of a PubMed column
    text = list(content)  # the quotes around fields are the file's syntax, not the writer's quotation marks
    header: list[str] | None = None
    listing = False  # a row naming a record has been read: the header is settled
    position, length = 0, len(content)
    while position < length:
        start, cells = position, []
        while True:
            match = field_pattern.match(content, position)
            group = 1 if match.group(1) is not None else 2
            a, b = match.span(group)
            if group == 1:
                text[a - 1] = text[b] = " "
            cells.append((a, b - 1 if group == 2 and content[a:b].endswith("\r") else b))
            position = match.end()
            if position < length and content[position] == delimiter:
                position += 1
                continue
            position += 1  # the line break ending the record
            break
        if not any(content[a:b].strip() for a, b in cells):
            continue
        names = [content[a:b].strip() for a, b in cells]
        filled = sum(bool(name) for name in names)
        if header is None or (not listing and filled > sum(bool(name) for name in header) and not ID_LIKE.search(content, start, position)):
            header = names  # a title row and a row of column groups above the column names, as a shared sheet has them
            blocks.append(Block(start, position - 1, "heading", [(a, b, "") for a, b in cells]))
        else:
            named = [(a, b, header[i] if i < len(header) else "") for i, (a, b) in enumerate(cells)]
            pmids = _pmid_cells(content, named)
            listing = listing or bool(ID_LIKE.search(content, start, position)) or bool(pmids)
            blocks.append(Block(start, min(position - 1, length), "row", named))
            links += pmids
    return Document("".join(text), [(0, 1)], transposed("".join(text), blocks), links)


def _says_more(cell: str) -> bool:
    """Whether a cell holds words beside its ids and addresses (claims about its record)."""
    return len(re.findall(r"[A-Za-z]{2,}", _blanked(cell, [address.span() for address in URL.finditer(cell)]))) >= 4


def _cells_apart(text: str, block: Block) -> list[Block]:
    """A row whose cells each name their own record ("NCT1: phase 3, 974 people" | "NCT2: phase
    III, 985 enrolled"), as a comparison with a column per treatment has them, read a cell at a
    time; any other block as it is."""
    if block.kind != "row":
        return [block]
    citing = [cell for cell in block.cells if ID_LIKE.search(text, cell[0], cell[1])]
    if len(citing) < 2 or not all(_says_more(text[a:b]) for a, b, _ in citing):
        return [block]  # a tracker's id columns (an NCT id beside its EU number, a PMID beside its DOI) are one record's
    return [Block(a, b, "row", [(a, b, header)]) for a, b, header in citing]


def transposed(text: str, blocks: list[Block]) -> list[Block]:
    """The blocks with each table that has a column per trial and a row per field (a header row
    naming a record in each cell but the first, rows labelled by their first cell naming none) read
    as columns: a block per trial, its header cell and the cells below it, each under its row's
    label; and each row whose cells name a record each read a cell at a time (:func:`_cells_apart`)."""
    out: list[Block] = []
    index = 0
    while index < len(blocks):
        head = blocks[index]
        cells = head.cells
        names = len(cells) >= 3 and head.kind == "heading" and not ID_LIKE.search(text, cells[0][0], cells[0][1]) and all(
            ID_LIKE.search(text, a, b) for a, b, _ in cells[1:] if text[a:b].strip()
        ) and sum(bool(text[a:b].strip()) for a, b, _ in cells[1:]) >= 2
        rows = []
        for block in blocks[index + 1:] if names else ():
            if block.kind != "row" or ID_LIKE.search(text, block.start, block.end) or len(block.cells) < 2:
                break
            rows.append(block)
        if not rows:
            out += _cells_apart(text, head)
            index += 1
            continue
        for column, (a, b, _) in enumerate(cells[1:], 1):
            below = [(row.cells[column][0], row.cells[column][1], text[row.cells[0][0]:row.cells[0][1]].strip()) for row in rows if column < len(row.cells)]
            out.append(Block(a, b, "column", [(a, b, ""), *below]))
        index += 1 + len(rows)
    return out


_LATEX_ITEM = re.compile(r"^[ \t]*\\bibitem(?:\[[^\]\n]*\])?\{([^}\n]+)\}", re.MULTILINE)
_LATEX_CITE = re.compile(r"\\cite[tp]?\*?(?:\[[^\]\n]*\])*\{([^}\n]+)\}")
_LATEX_SECTION = re.compile(r"^\\(?:sub){0,2}section\*?\{(?=[^\n]*\}\s*$)", re.MULTILINE)


def _latex_as_text(content: str) -> str:
    """A LaTeX manuscript as plain text of the same length, line for line, so lines and offsets
    stay the source's: ties and escapes made spaces ("phase~II", "83\\%"), sections headings,
    ``\\item`` list items, table cells split by tabs, each ``\\bibitem{key}`` a numbered source "[n]" and each
    ``\\cite{key}`` its use "[n]", as numbered sources are read (:func:`_notes`)."""
    numbers = {key.strip(): str(index) for index, key in enumerate((m.group(1) for m in _LATEX_ITEM.finditer(content)), 1)}

    def padded(words: str, match: re.Match) -> str:
        return words.ljust(len(match.group())) if len(words) <= len(match.group()) else match.group()

    text = re.sub(r"(?m)(?<!\\)%.*$", lambda m: " " * len(m.group()), content)  # comments
    # a footnote after a full stop belongs to the sentence before it: the stop goes after the note
    text = re.sub(r"([.!?])(\\footnote\{(?:[^{}]|\{[^{}]*\})*)\}", lambda m: " " + m.group(2) + m.group(1), text)
    text = re.sub(r"\\([%&_#$])", r" \1", text)
    text = re.sub(r"(?<!\\)~", " ", text)
    text = _LATEX_ITEM.sub(lambda m: padded(f"[{numbers.get(m.group(1).strip(), '?')}]", m), text)
    text = _LATEX_CITE.sub(lambda m: padded("[" + ", ".join(numbers.get(k.strip(), "?") for k in m.group(1).split(",")) + "]", m), text)
    text = _LATEX_SECTION.sub(lambda m: "#" + " " * (len(m.group()) - 1), text)
    text = re.sub(r"(?m)^([ \t]*)\\item\b(?:\[[^\]\n]*\])?", lambda m: m.group(1) + "-" + " " * (len(m.group()) - len(m.group(1)) - 1), text)
    text = re.sub(r"\\(?:href|url|emph|textit|textbf|textsc|texttt|footnote|ref)\b|(?<!\\)[{}]", lambda m: " " * len(m.group()), text)
    lines = []
    for line in text.split("\n"):
        if line.rstrip().endswith("\\\\") and "&" in line:  # a table row: "a & b & c \\"
            line = line.replace("&", "\t")
        lines.append(line)
    return "\n".join(lines)


_RTF_SKIPPED = re.compile(r"\{\\(?:\*|fonttbl|colortbl|stylesheet|info|listtable|listoverridetable|generator|pict|themedata)")
_RTF_CONTROL = re.compile(r"\\'([0-9a-fA-F]{2})|\\u(-?\d+)\??|\\([\\{}])|\\(par|line)\b(?!\n) ?|\\[a-zA-Z]+-?\d* ?|\\[^a-zA-Z\n]|[{}]")


def _rtf_as_text(content: str) -> str:
    """An RTF document (a word processor's draft) as plain text of the same length, line for line:
    its font, colour and style tables and other hidden groups blanked, control words made spaces,
    escaped characters written out, a paragraph mark with no line break after it a line break."""
    chars = list(content)
    for group in _RTF_SKIPPED.finditer(content):  # a hidden group, to its closing brace
        depth, position = 0, group.start()
        while position < len(content):
            depth += {"{": 1, "}": -1}.get(content[position], 0) if content[position - 1:position] != "\\" else 0
            if content[position] != "\n":
                chars[position] = " "
            position += 1
            if depth == 0:
                break
    text = "".join(chars)

    def plain(match: re.Match) -> str:
        hexed, code, escaped, paragraph = match.groups()
        written = (bytes.fromhex(hexed).decode("cp1252", "replace") if hexed else chr(int(code) % 65536) if code
                   else escaped if escaped else "\n" if paragraph else " ")
        return written.ljust(len(match.group()))

    return _RTF_CONTROL.sub(plain, text)


_WIKI_REFS = re.compile(r"([.!?])((?:<ref\b[^>]*/>|<ref\b[^>]*>.*?</ref\s*>)+)", re.IGNORECASE | re.DOTALL)
_WIKI_LINK = re.compile(r"\[\[(?:[^|\]\n]*\|)?|\]\]")
_WIKI_HEADING = re.compile(r"^(=+)([^=\n].*?)(=+)[ \t]*$", re.MULTILINE)


_WIKI_NOTE = re.compile(r"<ref\b([^>]*?)(?:/>|>(.*?)</ref\s*>)", re.IGNORECASE | re.DOTALL)
_WIKI_NAME = re.compile(r"""\bname\s*=\s*["']?([^"'/>]+?)["']?\s*(?:/|$)""", re.IGNORECASE)


def _wiki_as_text(content: str) -> tuple[str, list[tuple[int, int, str]]]:
    """A MediaWiki article's source as text of the same length, line for line, and its notes: each
    ``<ref>`` read as a numbered note's mark "[n]" whose words are the ref's (a named ref used again,
    ``<ref name="x" />``, has the words it was given), after the sentence it closes (a full stop
    before it goes after it, as for footnotes); links read as their words ("[[Merck Group|Merck
    KGaA]]" as "Merck KGaA"), bold and italic quotes and headings' equals signs made spaces or
    Markdown's heading mark."""
    text = _WIKI_REFS.sub(lambda m: m.group(2) + m.group(1), content)
    given = {}
    for ref in _WIKI_NOTE.finditer(text):
        if ref.group(2) is not None and (name := _WIKI_NAME.search(ref.group(1))):
            given.setdefault(name.group(1).strip().lower(), ref.group(2))
    notes, parts, position = [], [], 0
    for number, ref in enumerate(_WIKI_NOTE.finditer(text), 1):
        name = _WIKI_NAME.search(ref.group(1))
        words = ref.group(2) if ref.group(2) is not None else given.get(name.group(1).strip().lower(), "") if name else ""
        mark = f"[{number}]"
        if len(mark) > len(ref.group()):
            continue
        parts += [text[position:ref.start()], mark, re.sub(r"[^\n]", " ", ref.group()[len(mark):])]
        notes.append((ref.start(), ref.start() + len(mark), words))
        position = ref.end()
    text = "".join(parts + [text[position:]])
    text = _WIKI_LINK.sub(lambda m: " " * len(m.group()), text)
    text = re.sub(r"'{2,}", lambda m: " " * len(m.group()), text)
    text = _WIKI_HEADING.sub(lambda m: "#" + " " * (len(m.group(1)) - 1) + m.group(2) + " " * (len(m.group()) - len(m.group(1)) - len(m.group(2))), text)
    return text, [note for note in notes if note_references(note[2])]


def _opml_as_html(content: str) -> str:
    """An outline (OPML: each node's words in its ``text`` attribute, a note in ``_note``) as HTML
    with a list item per node on the node's own line, so lines stay the source's."""
    lines = [""] * (content.count("\n") + 1)
    try:
        root = etree.fromstring(content.encode("utf-8"), etree.XMLParser(recover=True, resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        root = None
    for node in root.iter("outline") if root is not None else ():
        words = " — ".join(escape(node.get(name) or "") for name in ("text", "_note") if node.get(name))
        links = "".join(f' <a href="{escape(node.get(name))}"></a>' for name in ("url", "htmlUrl", "xmlUrl") if node.get(name))
        lines[(node.sourceline or 1) - 1] += f"<li>{words}{links}</li>"
    return "<html><body><ul>" + "\n".join(lines) + "</ul></body></html>"


_CUE_TIME = re.compile(r"[ \t]*(?:\d{1,2}:)?\d{1,2}:\d\d[.,]\d{3}[ \t]*-->[^\n]*")
_CUE_TAG = re.compile(r"</?(?:i|b|u|c|v|font|span|lang|ruby|rt)\b[^>]*>|\{\\[^}]*\}", re.IGNORECASE)


def _subtitles_as_text(content: str) -> str:
    """Subtitles (SubRip .srt, WebVTT .vtt) as text of the same length, line for line: cue numbers,
    timings, the WebVTT header and formatting tags made spaces, so a sentence runs on over the
    cues it is split across."""
    lines = content.split("\n")
    out = []
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        numbered = re.fullmatch(r"[ \t]*\d{1,6}[ \t\r]*", line) and _CUE_TIME.match(following)
        header = index == 0 and line.lstrip("\ufeff").startswith("WEBVTT")
        out.append(" " * len(line) if numbered or header or _CUE_TIME.fullmatch(line.rstrip("\r")) else _CUE_TAG.sub(lambda m: " " * len(m.group()), line))
    return "\n".join(out)


def _sentence_runs(text: str, cues: list[Block]) -> list[Block]:
    """Subtitles' cues as the runs of speech that hold claims together: in punctuated subtitles a
    cue that ends mid-sentence runs on into the next ("…the Burt trial from Northwestern," then
    "with about 160 patients."); captions written without stops (speech recognition's) keep their
    cues, the only bounds they have."""
    stops = len(re.findall(r"[.!?](?:\s|$)", text))
    if not cues or stops * 3 < len(cues):
        return cues
    runs = [cues[0]]
    for cue in cues[1:]:
        if re.search(r"[.!?…][\"”')\]]*\s*$", text[runs[-1].start:runs[-1].end]):
            runs.append(cue)
        else:
            runs[-1] = Block(runs[-1].start, cue.end, "para")
    return runs


def parse_document(content: str, fmt: str, name: str = "the review") -> Document:
    """A review's readable text and blocks; ``name`` (its file's) names it in an error."""
    if fmt == "json":  # a notebook, a chat export, an app's records: lines kept from the file
        text, anchors, markdown = json_as_text(content, name)
        document = _text_document(text, markdown)
        document.anchors = anchors
        return document
    if fmt == "html":
        return _html_document(content)
    if fmt == "opml":
        return _html_document(_opml_as_html(content))
    if fmt in ("csv", "tsv"):
        return _delimited_document(content, "\t" if fmt == "tsv" else _csv_delimiter(content))
    if fmt == "tex":
        return _text_document(_latex_as_text(content), False)
    if fmt == "rtf":
        return _text_document(_rtf_as_text(content), False)
    if fmt == "subtitles":
        document = _text_document(_subtitles_as_text(content), False)
        document.blocks = _sentence_runs(document.text, document.blocks)
        return document
    if fmt == "wiki":
        text, notes = _wiki_as_text(content)
        document = _text_document(text, True)
        document.links = sorted(document.links + notes)
        return document
    return _text_document(content, fmt == "md")


def detect_format(name: str, content: str) -> str:
    lowered = name.lower()
    if lowered.endswith((".html", ".htm", ".xhtml", ".xml")):  # XML articles (JATS) read by their elements as HTML is
        return "html"
    if lowered.endswith(".opml"):
        return "opml"
    if lowered.endswith((".md", ".markdown", ".qmd", ".rmd")):  # Quarto and R Markdown are Markdown with code chunks
        return "md"
    if lowered.endswith((".json", ".jsonl", ".ndjson", ".ipynb")):
        return "json"
    if lowered.endswith((".wiki", ".mediawiki", ".wikitext")):
        return "wiki"
    if lowered.endswith((".srt", ".vtt")) or SUBTITLES.match(content):
        return "subtitles"
    if content.startswith("{\\rtf"):
        return "rtf"
    if lowered.endswith((".csv", ".tsv", ".tex", ".rtf")):
        return lowered[-3:]
    head = content.lstrip()[:500].lower()
    if head.startswith(("<!doctype html", "<html")) or "<body" in head:
        return "html"
    return "wiki" if WIKI_SOURCE.search(content) and WIKI_MARKUP.search(content) else "text"


SUBTITLES = re.compile(r"\ufeff?(?:WEBVTT\b|\s*\d{1,6}[ \t]*\r?\n(?:\d{1,2}:)?\d{1,2}:\d\d[.,]\d{3}[ \t]*-->)")
"""Subtitles saved under another name: WebVTT's header, or SubRip's first cue number and timing."""
WIKI_SOURCE = re.compile(r"<ref\b[^>]*>", re.IGNORECASE)
WIKI_MARKUP = re.compile(r"\{\{\s*cite\b|^=+[^=\n]+=+[ \t]*$|\[\[[^\]\n]+\]\]", re.IGNORECASE | re.MULTILINE)
"""A wiki article's source saved as text: notes in ``<ref>`` tags, with cite templates, headings
between equals signs or links in double brackets."""
