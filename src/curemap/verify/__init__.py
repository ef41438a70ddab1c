"""Verifying a review written elsewhere: every reference found, checked for form and
existence (the store first; the sources online when a lookup is given, else
``unverifiable``), and the claims beside it checked against the record.

One citation per reference per block it stands in (a list item, table row, heading or
paragraph; a heading citing a reference and the paragraph right under it citing none are one
block; an id written twice in one block counts once), with the line of its first mention.
Status: ``ok`` (exists, no claim contradicts it), ``malformed`` (not shaped as such an id
is), ``not_found`` (the source says there is no such record), ``mismatch`` (exists, and a
claim beside it contradicts it), ``unverifiable`` (not in the store and no source could be
asked), ``matched_by_name`` (no id: claims about a product or code, next to a news or company
link, checked against the store's trials of it, listed as ``candidates``; the profile's
``verifier.products`` gives the names one product goes by). Each problem names
its field, what the text says, what the record says, its line and the quoted words.

A claim belongs to one reference: in a segment naming several, to the nearest one on its side
of a break ("; ", ", and ", ", while "), to every one when they are named together before it
("A and B were phase 3 trials") or it says "both", and by position for "respectively".
"""

from __future__ import annotations

import gc
import json
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from curemap.errors import InputError
from curemap.profile import Profile
from curemap.store import Store, schema
from curemap.verify.check import (
    _SHARED,
    PRODUCT,
    Claim,
    ClaimReader,
    SponsorMatcher,
    figure_problems,
    mask_quotes,
    study_problems,
)
from curemap.verify.documents import read_binary_review
from curemap.verify.refs import (
    ID_ENDS_LINE,
    NOTE_USE,
    SUPERSCRIPT_USE,
    URL,
    Block,
    Document,
    Reference,
    detect_format,
    find_references,
    note_references,
    parse_document,
    refs_in_url,
    sentences,
)
from curemap.wording import REGISTRY_URLS, RETRACTION_TYPES

if TYPE_CHECKING:  # the sources' readers load only when a lookup is made: most runs are offline
    from curemap.verify.online import OnlineLookup

STATUSES = ("ok", "not_found", "mismatch", "unverifiable", "malformed", "matched_by_name")
BREAK = re.compile(r";|,\s+(?:and|while|whereas|but|with\s+the)\b|\s+and\s+the\b|\s+—\s+|\.\s")
PRODUCT_TYPES = ("DRUG", "BIOLOGICAL", "GENETIC", "COMBINATION_PRODUCT")
"""Registry intervention types that name a product (not a behaviour, device or procedure)."""
ONE_NAME = re.compile(r"[A-Za-z][A-Za-z-]{4,}")
ONE_WORD = re.compile(r"(?<![.!?:]\s)(?<!\n)\b[A-Z][a-z][A-Za-z-]{3,}\b")
"""Such a name in a review: capitalised, as brands are, and not first in a sentence, where any
word is ("Saline", "Platform")."""
"""An intervention named in one word of five letters or more ("Tovaxin", "Ibudilast")."""
BRAND = re.compile(r"\b[A-Z][a-z]+[A-Z][A-Za-z]*\b")
"""A brand name with a capital inside it (NurOwn, CellCept)."""
CLAIM_FIELDS = ("phase", "status", "sponsor", "enrollment")
NOTE_FIELDS = (*CLAIM_FIELDS, "figure", "condition")
"""What a note's own words are read for ("[2] … In this cohort 80% of the 43 women recovered")."""
_LINK_URLS = {"nct": "https://clinicaltrials.gov/study/{id}", "euct": REGISTRY_URLS["euct"],
              "pmid": REGISTRY_URLS["pmid"], "doi": REGISTRY_URLS["doi"], "pmcid": "https://pmc.ncbi.nlm.nih.gov/articles/{id}/"}


@dataclass
class CitationResult:
    ref: str
    kind: str
    line: int
    status: str = "ok"
    record: str | None = None  # the store record it resolved to
    mentions: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    candidates: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)  # every claim read for it (ok or not)
    spans: list[tuple[int, int]] = field(default_factory=list)  # where it is mentioned
    place: str | None = None  # in an Office file: its sheet and row, or its slide

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref, "kind": self.kind, "status": self.status, "line": self.line,
            "problems": [{k: v for k, v in p.items() if k not in ("start", "end")} for p in self.problems],
            "record": self.record, "mentions": self.mentions, "link": self.link,
            **({"place": self.place} if self.place else {}),
            **({"candidates": self.candidates} if self.candidates else {}),
            **({"note": self.note} if self.note else {}),
        }

    @property
    def link(self) -> str | None:
        record = self.record or (self.candidates[0] if self.candidates else None)
        if record:
            kind = "pmid" if record.startswith("PMID:") else "doi" if record.startswith("DOI:") else "nct" if record.startswith("NCT") else "euct"
            return _LINK_URLS[kind].format(id=record.split(":", 1)[-1])
        value = self.ref.split(":", 1)[-1]
        return _LINK_URLS[self.kind].format(id=value) if self.kind in _LINK_URLS and self.status != "malformed" else None


@dataclass
class _Existence:
    status: str
    record: str | None = None
    note: str = ""
    problems: list[dict[str, Any]] = field(default_factory=list)
    study: Any = None  # a study read at its source




def _links_without_ids(doc: Document, block) -> bool:
    """Whether a block links a page that names no trial or paper (a news or company page): only
    then may its claims be tied to a product's name."""
    addresses = [url.group() for url in URL.finditer(doc.text, block.start, block.end)]
    first = bisect_left(doc.links, (block.start,))
    for a, _, words in doc.links[first:bisect_left(doc.links, (block.end,))]:
        addresses += [url.group() for url in URL.finditer(words)]
    return any(not refs_in_url(address) for address in addresses)


_CLAUSE_BREAK = re.compile(r",\s+(?:and|while|but|whereas)\s+|;\s+")
_ANOTHER = re.compile(
    r"\b(?:running|runs|ran|launched|launching|started|starting|began|begun|planning|plans|testing|tests|opened|opening|has|have|had)"
    r"\s+(?:a|an|another)\s+(?:[\w-]+\s+){0,2}\Z",
    re.IGNORECASE,
)
_TRIAL_NOUN = re.compile(r"\s*(?:[\w-]+\s+){0,2}(?:trial|study)\b", re.IGNORECASE)


def _another_trial(masked: str, cited_end: int, claim: Claim) -> bool:
    """Whether a claim after a segment's one reference is said of another trial, brought in by an
    indefinite article in a clause of its own ("… (NCT…) treats 12 patients with KYV-101, and
    Kyverna itself is running a bigger phase 2 trial of the same product")."""
    return (
        claim.field in ("phase", "status", "enrollment") and claim.start > cited_end
        and _CLAUSE_BREAK.search(masked, cited_end, claim.start) is not None
        and _ANOTHER.search(masked, max(cited_end, claim.start - 40), claim.start) is not None
        and _TRIAL_NOUN.match(masked, claim.end) is not None
    )


def _product_news(masked: str, a: int, b: int, inside: list[Reference]) -> list[tuple[int, int]]:
    """The spans of a segment citing references that speak of something else by a news or
    company page of its own: a sentence citing none that links such a page ("Contineum's press
    release (https://…) says the PIPE-307 phase 2 … has about 168 people"), or a clause after the
    last reference that does ("…, and Abata Therapeutics has announced that its ABA-101 is in a
    phase 1 … ([news](https://…))"). Their claims are matched by the product they name."""
    def links_news(x: int, y: int) -> bool:
        return any(not refs_in_url(url.group()) for url in URL.finditer(masked, x, y))

    if "/" not in masked[inside[-1].end:b] and "/" not in masked[a:inside[0].start]:
        return []  # no address outside the references: most segments
    spans = []
    for x, y in sentences(masked, a, b):
        cited = [r for r in inside if x <= r.start < y]
        if not cited:
            if links_news(x, y):
                spans.append((x, y))
        elif (cut := _CLAUSE_BREAK.search(masked, cited[-1].end, y)) and links_news(cut.end(), y):
            spans.append((cut.end(), y))
    return spans


_NAMES_ONLY = re.compile(r"[ \t]*[•▪●■◦](?!.*\bphase\b)(?:[^\d\n]|(?<=[A-Za-z-])\d|(?<=\d)\d){0,80}", re.IGNORECASE)
"""A printed bullet of words and a reference alone ("• ABA-101 (NCT…)", "• BrainStorm Cell Therapeutics – NCT…"):
a slide's first point, naming the trial its next points describe."""
_SENT_AT = re.compile(r"^\s*[\[(]?(?:\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4},?\s+)?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?[\])]?\s*(?:-\s*)?")
"""A chat message's time, before its sender's name."""
_ADDRESS = re.compile(r"://|\bwww\.")
"""An address in a message: a source of its own, not an answer to the message before."""
_BULLET = re.compile(r"[ \t]+[-*+•◦▪‣–]\s")
"""An indented bullet: a sub-item's mark."""
_PRINTED_BULLET = re.compile(r"[ \t]*[•▪●■◦]")
"""A bullet printed as a character, as a slide or handout sets its points (not Markdown's "-")."""


def _headed(text: str, blocks: list[Block], starts: list[int], blanked: str | None = None, messages: dict[int, str] | None = None) -> list[Block]:
    """The blocks with each heading that cites a reference joined to the paragraph right under
    it when that paragraph cites none: the title names the trial, the paragraph makes the
    claims, and the two are read whole, as a list item is. A title line that cites ("**A
    cohort, 2021** (PMID …)", no full stop) is joined so to the list items under it that cite none;
    a sub-item citing none to the sub-item before it that cites, under an item citing none
    ("- ATA188", "  - EMBOLD: phase 1/2, NCT…", "  - 134 enrolled"); a chat's message citing none
    to the message before it asking about what it cites ("… right? NCT…", "yes phase 1, 24 ppl"), or
    ending on it, by the same sender ("Mexico paper https://…/PMC7937693/", then "92% response rate …")."""
    messages = messages or {}
    def cites(block: Block) -> bool:
        return bisect_left(starts, block.start) < bisect_left(starts, block.end)

    def titles(block: Block) -> bool:
        return block.kind == "heading" or (block.kind == "para" and _TITLE_LINE.fullmatch(text, block.start, block.end) is not None)

    def indent(block: Block) -> int:
        start = text.rfind("\n", 0, block.start) + 1
        line = text[start:block.end].partition("\n")[0]
        return len(line) - len(line.lstrip(" \t"))

    ends = {block.end for block in blocks if block.start in messages}  # a message not yet joined to its answer
    joined: list[Block] = []
    listed = False  # whether the last joined block is a title with the items under it
    nested: int | None = None  # the indent of a list item that cites, joined to the items nested under it
    slide: int | None = None  # where a printed bullet naming a trial and nothing more starts, joined to the bullets after it
    for block in blocks:
        if slide is not None and not (joined and joined[-1].start == slide):
            slide = None
        title = joined[-1] if joined else None
        if title and block.kind == "item" and not cites(block) and (listed or titles(title) and cites(title)):
            joined[-1], listed = Block(title.start, block.end, "item"), True
        elif title and block.kind == "item" and title.kind == "item" and not cites(block) and cites(title) and _PRINTED_BULLET.match(text, title.start) and _PRINTED_BULLET.match(text, block.start) and (
            slide is not None or _NAMES_ONLY.fullmatch(blanked or text, title.start, title.end)
        ):
            joined[-1] = Block(title.start, block.end, "item")  # a slide's bullets: "• BrainStorm – NCT…", "• Phase 2", "• n = 32"
            slide = title.start
            continue
        elif title and block.kind == "item" and not cites(block) and title.kind == "item" and (
            nested is not None or cites(title)
        ) and indent(block) > (nested if nested is not None else indent(title)):
            nested = indent(title) if nested is None else nested  # "- **ReCOVER** (NCT…)" and "    - Phase 2, UCSF" under it
            joined[-1] = Block(title.start, block.end, "item")
            continue
        elif title and block.kind == "item" and title.kind == "item" and not cites(block) and cites(title) and 0 < indent(title) == indent(block) and not listed and (
            text.count("\n", title.end, block.start) <= 1 and _BULLET.match(text, block.start) and _BULLET.match(text, text.rfind("\n", 0, title.end) + 1)
        ):
            joined[-1] = Block(title.start, block.end, "item")  # "  - EMBOLD: phase 1/2, NCT…" then "  - 134 enrolled; trial completed"
        elif title and title.start in messages and block.start in messages and title.end in ends and cites(title) and not cites(block) and not _ADDRESS.search(text, block.start, block.end) and (
            "?" in text[title.start:title.end] or messages[title.start] == messages[block.start] and not text[starts[bisect_left(starts, title.end) - 1]:title.end].split(maxsplit=1)[1:]
        ):
            joined[-1] = Block(title.start, block.end, "item")  # "Dev: cleveland clinic did one years ago right? NCT…", then the answer
        elif block.kind == "para" and title and title.kind == "para" and not cites(title) and cites(block) and blanked is not None and (
            _lists_sources(blanked, block.start, block.end)
        ):
            joined[-1] = Block(title.start, block.end, "para")  # a paragraph, then its line of sources after a blank line
            listed = False
        elif block.kind in ("para", "row") and title and title.kind == "heading" and cites(title) and not cites(block):
            if block.kind == "row":  # a card: a heading, then its facts as a labelled list; the heading's words are read too
                joined[-1] = Block(title.start, block.end, "row", [(title.start, title.end, ""), *block.cells])
            else:
                joined[-1] = Block(title.start, block.end, "item")
            listed = False
        elif title and _labelled(text, block) and _labelled(text, title) and not (cites(title) and cites(block)) and not text[title.end:block.start].strip(" \t\n|-:"):
            joined[-1] = Block(title.start, block.end, "row", [*title.cells, *block.cells])  # one study's facts, a row each
        else:
            joined.append(block)
            listed = False
        nested = None
    return joined


def _labelled(text: str, block: Block) -> bool:
    """Rows of a table of labelled facts ("| **Participants** | 42 adults … |"), as a systematic
    review lays out each included study: a short label, then what it says."""
    if block.kind != "row" or not block.cells or len(block.cells) % 2:
        return False
    labels = [text[a:b].strip(" *_") for a, b, _ in block.cells[::2]]
    return all(0 < len(label.split()) <= 3 and not any(c.isdigit() for c in label) and label[:1].isupper() for label in labels)


_TITLE_LINE = re.compile(r"[ \t]*[^\n]*[^.!?\n\s][ \t]*")
"""A paragraph of one line ending in no full stop: a title, when it cites and list items follow."""


LINE_MARKS = re.compile(r"(?m)^[ \t]{0,3}(?:>[ \t>]*|:{1,8}(?=\S))")
"""What opens a quoted or answering line ("> " of an e-mail's quote, ":" of a wiki talk page's
reply): no words of the claim a sentence wrapped over it ("active but no\n:longer recruiting")."""


def _without_line_marks(text: str) -> str:
    return LINE_MARKS.sub(lambda m: " " * len(m.group()), text) if ">" in text or "\n:" in text else text


def _without_senders(text: str, senders: list[tuple[int, int]]) -> str:
    """The text with each chat message's time and sender blanked: "[12/10/2025, 19:14] Sophie (MS
    nurse):" holds no fraction and no condition."""
    parts, position = [], 0
    for start, end in senders:
        parts += [text[position:start], " " * (end - start)]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _without_references(masked: str, refs: list[Reference]) -> str:
    """The text with every reference and link blanked out, once for the whole document, so a
    claim is never read from an id or an address (blanking per sentence copied the text each time)."""
    parts, position = [], 0
    for start, end in sorted([(ref.start, ref.end) for ref in refs] + [url.span() for url in URL.finditer(masked)]):
        if end > position:
            start = max(start, position)
            parts += [masked[position:start], " " * (end - start)]
            position = end
    parts.append(masked[position:])
    return "".join(parts)


class Verifier:
    def __init__(self, store: Store, profile: Profile, lookup: OnlineLookup | None = None):
        self.store, self.profile, self.lookup = store, profile, lookup
        self.reader = ClaimReader(profile)
        self.sponsors = SponsorMatcher(profile)
        self._pmcids: dict[str, str] | None = None
        self._eudract: dict[str, str] | None = None
        self._products: dict[str, set[str]] | None = None
        self._existence: dict[str, _Existence] = {}
        self._records: dict[str, tuple[Any, bool | None, list[dict[str, Any]], Any]] = {}
        self._read: dict[str, Any] = {}  # studies and papers by id, None for ids the store lacks
        self._notes_read: dict[str, list[Claim]] = {}  # the claims of a note's words, by its words

    # -- existence ---------------------------------------------------------------------------

    def _pmcid_index(self) -> dict[str, str]:
        if self._pmcids is None:
            pp = schema.papers
            with self.store.connect() as conn:
                self._pmcids = {
                    pmcid.upper(): row.id
                    for row in conn.execute(select(pp.c.id, pp.c.data))
                    if (pmcid := json.loads(row.data).get("pmcid"))
                }
        return self._pmcids

    def _eudract_index(self) -> dict[str, str]:
        """EudraCT numbers the store's studies list among their secondary ids."""
        if self._eudract is None:
            st = schema.studies
            with self.store.connect() as conn:
                self._eudract = {
                    number: row.id
                    for row in conn.execute(select(st.c.id, st.c.data).where(st.c.data.like("%secondary_ids%")))
                    for number in re.findall(r"\b\d{4}-\d{6}-\d{2}\b", " ".join(json.loads(row.data).get("secondary_ids") or []))
                }
        return self._eudract

    def resolve(self, ref: Reference) -> str | None:
        """The store record a reference names, if the store holds it."""
        if ref.kind in ("nct", "euct"):
            return ref.value if self._study(ref.value) else None
        if ref.kind == "eudract":
            return self._eudract_index().get(ref.value)
        if ref.kind == "pmcid":
            return self._pmcid_index().get(ref.value)
        if ref.kind == "doi":
            pp = schema.papers
            with self.store.connect() as conn:
                found = conn.execute(select(pp.c.id).where(func.lower(pp.c.doi) == ref.value).limit(1)).scalar_one_or_none()
            if found:
                return found
            candidate = f"DOI:{ref.value}"
        else:
            candidate = f"PMID:{ref.value}"
        return candidate if self._paper(candidate) else None

    def _exists(self, ref: Reference) -> _Existence:
        key = f"{ref.kind}:{ref.ref}"
        if key not in self._existence:
            self._existence[key] = self._look(ref)
        return self._existence[key]

    def _look(self, ref: Reference) -> _Existence:
        if ref.malformed:
            return _Existence("malformed", problems=[{
                "field": "id", "says": ref.text, "record": ref.malformed, "message": f"id: {ref.text!r} is malformed: {ref.malformed}",
                "start": ref.start, "end": ref.end,
            }])
        record = self.resolve(ref)
        if record is not None:
            return _Existence("ok", record, problems=self._paper_notices(record, ref))
        if self.lookup is None:
            return _Existence("unverifiable", note="not in the store, and not looked up (--offline)")
        found = self.lookup.find(ref.kind, ref.value)
        if found.exists is None:
            return _Existence("unverifiable", note=found.note)
        if not found.exists:
            return _Existence("not_found", problems=[{
                "field": "id", "says": ref.text, "record": found.note, "message": f"id: {ref.text!r}: no such record at its source ({found.note})",
                "start": ref.start, "end": ref.end,
            }])
        problems = [{"field": "retraction", "says": ref.text, "record": notice, "message": f"retraction: {ref.text!r} {notice}",
                     "start": ref.start, "end": ref.end} for notice in found.notices]
        return _Existence("ok", note=found.note, problems=problems, study=found.study)

    def _paper_notices(self, record: str, ref: Reference) -> list[dict[str, Any]]:
        """A stored paper's retraction or correction, as PubMed's publication types say."""
        if not record.startswith(("PMID:", "DOI:")):
            return []
        paper = self._paper(record)
        notices = [RETRACTION_TYPES[t] for t in (paper.publication_types if paper else []) if t in RETRACTION_TYPES]
        return [{"field": "retraction", "says": ref.text, "record": n, "message": f"retraction: {ref.text!r} {n} (PubMed)",
                 "start": ref.start, "end": ref.end} for n in notices]

    def _study(self, record: str) -> Any:
        return self._once(self.store.get_study, record)

    def _paper(self, record: str) -> Any:
        return self._once(self.store.get_paper, record)

    def _once(self, read, record: str) -> Any:
        """A stored study or paper (``read`` gets it), read once: a review cites a record many times."""
        key = f"{read.__name__}:{record}"
        if key not in self._read:
            self._read[key] = read(record)
        return self._read[key]

    def _stored(self, record: str) -> tuple[Any, bool | None, list[dict[str, Any]], Any]:
        """A stored record's study (None for a paper), MS verdict, outcome figures and paper, read once."""
        if record not in self._records:
            study = self._study(record)
            classification = self.store.get_classification(record) if study else None
            is_ms = classification.get("is_ms") if classification else None
            paper = None if study else self._paper(record)
            self._records[record] = (study, is_ms, self.store.figures_of(record), paper)
        return self._records[record]

    # -- products ----------------------------------------------------------------------------

    def _product_index(self) -> dict[str, set[str]]:
        """Product names and codes (KYV-101, obe-cel) the store's trials test, folded, to their trials."""
        if self._products is None:
            si, st = schema.study_interventions, schema.studies
            with self.store.connect() as conn:
                rows = conn.execute(select(si.c.study_id, si.c.name, si.c.type)).all()
                rows += [(study_id, title, None) for study_id, title in conn.execute(select(st.c.id, st.c.brief_title))]
            index: dict[str, set[str]] = {}  # codes
            drugs: dict[str, set[str]] = {}  # names
            for study_id, name, kind in rows:
                name = name or ""
                for token in PRODUCT.findall(name):
                    if re.search(r"[A-Za-z]", token):
                        index.setdefault(_fold(token), set()).add(study_id)
                words = [*BRAND.findall(name), *self.reader.drug_name.findall(name)]
                if kind in PRODUCT_TYPES and ONE_NAME.fullmatch(name.strip()):  # a product the registry names in one word: "Tovaxin"
                    words.append(name)
                for word in words:
                    drugs.setdefault(_fold(word), set()).add(study_id)
            products = {k: v for k, v in index.items() if re.search(r"[a-z]", k) and (re.search(r"\d", k) or k.endswith("cel"))}
            targets = {_fold(target) for target in self.profile.verifier.targets}
            products = {k: v for k, v in (drugs | products).items() if len(v) <= 30 and k not in targets}  # a drug in many trials names none
            for names in self.profile.verifier.products:  # a product's other names find the trials of any of them
                trials = set().union(*(products.get(_fold(name), ()) for name in names))
                for name in names if trials else ():
                    products[_fold(name)] = trials
            self._products = products
        return self._products

    # -- reading -----------------------------------------------------------------------------

    def verify_text(self, content: str, fmt: str = "text", name: str = "the review") -> dict[str, Any]:
        """The contract's result for a review's content (Markdown, HTML or text)."""
        result = self.verify_document(parse_document(content, fmt, name))
        del result["_results"]
        return result

    def verify_document(self, doc: Document) -> dict[str, Any]:
        with _without_cycle_collection():
            return self._verify_document(doc)

    def _verify_document(self, doc: Document) -> dict[str, Any]:
        refs = find_references(doc.text, doc.links)
        masked = _without_line_marks(mask_quotes(doc.text))
        blanked = _without_senders(_without_references(masked, refs), doc.senders)
        starts = [r.start for r in refs]
        blocks = _headed(masked, doc.blocks, starts, blanked, {x: _SENT_AT.sub("", doc.text[x:y]).strip(" :") for x, y in doc.senders})
        results: list[CitationResult] = []
        lent = _legend_items(masked, blocks, refs, starts, lambda block: not self._claims(blanked, block, block.start, block.end))
        for block in blocks:
            members = refs[bisect_left(starts, block.start):bisect_left(starts, block.end)]
            results += self._block(doc, masked, blanked, block, members, lent)
        covered = {id(r) for block in blocks for r in refs[bisect_left(starts, block.start):bisect_left(starts, block.end)]}
        for ref in refs:  # a reference outside every block (never, for the formats read) still counts
            if id(ref) not in covered:
                results += self._block(doc, masked, blanked, Block(ref.start, ref.end, "para"), [ref])
        results.sort(key=lambda r: (r.line, r.ref))
        counts = Counter(r.status for r in results)
        summary = {
            "references": len(results),
            "mentions": sum(r.mentions for r in results),
            **{status: counts.get(status, 0) for status in STATUSES},
            "problems": sum(len(r.problems) for r in results),
        }
        if self.lookup is not None and self.lookup.unreachable:
            summary["network"] = self.lookup.unreachable
        return {"citations": [r.to_dict() for r in results], "summary": summary, "_results": results}

    def _block(self, doc: Document, masked: str, blanked: str, block, members: list[Reference],
               lent: dict[int, Block] | None = None) -> list[CitationResult]:
        written, members = members, self._one_per_record(members)
        citations: dict[str, CitationResult] = {}
        for ref in members:
            key = f"{ref.kind}:{ref.ref}"
            if key not in citations:
                citations[key] = CitationResult(ref.ref, ref.kind, doc.line_at(ref.start), place=doc.place_at(ref.start))
            citations[key].mentions += 1
            citations[key].spans.append((ref.start, ref.end))
        segments = sentences(masked, block.start, block.end) if block.kind == "para" else [(block.start, block.end)]
        claims_of: dict[str, list[Claim]] = {key: [] for key in citations}
        named: list[CitationResult] = []
        links_elsewhere: bool | None = None  # whether the block links a page with no id (read once)
        previous: int | None = None  # where the sentence before starts, when no claims went with the product it may name
        spoken_of: str | None = None  # the one reference the sentence before cites, which "It …" goes on about
        cited_together: list[Reference] | None = None  # the references of a sentence before citing several, which "The first …" goes on about
        unclaimed: int | None = None  # where the sentences citing nothing, since the last that cited, start
        def link_alone(a: int, b: int) -> bool:
            return _lists_sources(blanked, a, b) and any(a <= r.start < b for r in members)

        for index, (a, b) in enumerate(segments):
            inside = [r for r in members if a <= r.start < b]
            if inside and unclaimed is not None and link_alone(a, b) and not (index + 1 < len(segments) and link_alone(*segments[index + 1])):
                if len({f"{r.kind}:{r.ref}" for r in inside}) == 1:
                    a = unclaimed  # a link set on its own after the text it vouches for: "… has completed.\nSource: https://…"
                else:  # "Sources: [GEMINI 1](…) · [HERCULES](…)": each claim to the trial its sentence last names
                    names = _source_names(blanked, a, b, inside)
                    for claim in self._claims(blanked, block, unclaimed, a):
                        if key := _last_named(masked, unclaimed, claim.start, names):
                            claims_of[key].append(claim)
            unclaimed = None if inside else (a if unclaimed is None else unclaimed)
            if not inside and spoken_of and (pronoun := _GOES_ON.match(masked, a, b) or _ITS_NOUN.match(masked, a, b)):  # "… trial at UKE Hamburg [2]. It was a phase 2 …"
                claims = self._claims(blanked, block, a, b)
                if claims and claims[0].start - pronoun.end() <= 20:  # the trial is its subject: "It's a phase 4 study", not "It is tested in 16 trials"
                    claims_of[spoken_of] += claims
                    continue
            if not inside and cited_together and (key := _subject_among(masked, a, b, cited_together)):
                claims_of[key] += self._claims(blanked, block, a, b)  # "… (NCT1) and … (NCT2) were phase 3. The first enrolled about 1,500."
                continue
            keys = {f"{r.kind}:{r.ref}" for r in inside}
            spoken_of = keys.pop() if len(keys) == 1 and block.kind == "para" else None
            cited_together = inside if len(keys) > 1 and block.kind == "para" else None
            if not inside:
                if block.kind == "para" or not members:
                    if links_elsewhere is None:
                        links_elsewhere = _links_without_ids(doc, block)
                    if links_elsewhere:
                        claims = self._claims(blanked, block, a, b)
                        result = self._by_name(doc, masked, blanked, a, b, claims)
                        opens_with_claim = bool(claims) and not masked[a:min(c.start for c in claims)].strip()
                        if result is None and previous is not None and opens_with_claim:  # "… a CAR-T too, azer-cel. Phase 1 and recruiting."
                            result = self._by_name(doc, masked, blanked, previous, b, claims)
                        if result:
                            named.append(result)
                        previous = None if result else a
                    continue
                inside = members  # a list item's or row's sentences share its references
            claims = self._claims(blanked, block, a, b)
            for x, y in _product_news(masked, a, b, inside):
                told = [claim for claim in claims if x <= claim.start < y]
                if told and (result := self._by_name(doc, masked, blanked, x, y, told)):
                    named.append(result)
                    claims = [claim for claim in claims if not x <= claim.start < y]
            if len(about := {f"{r.kind}:{r.ref}" for r in inside}) == 1:  # every claim is about the one reference
                pairs = [(claim, list(about)) for claim in claims if not _another_trial(masked, inside[-1].end, claim)]
            else:
                pairs = _attribute(masked, claims, inside)
            for claim, keys in _own_first(masked, block, pairs, inside) if block.kind == "item" else pairs:
                for key in keys:
                    claims_of[key].append(claim)
        for original, ref in zip(written, members):
            if item := (lent or {}).get(id(original)):
                claims_of[f"{ref.kind}:{ref.ref}"] += self._claims(blanked, item, item.start, item.end)
            if (noted := self._note_claims(doc, original)) and (key := f"{ref.kind}:{ref.ref}") in claims_of:
                said = {claim.field for claim in noted} - {"figure", "condition"}  # the note's words are the writer's about it: the citing sentence adds what they leave unsaid (and its own figures and conditions: a note's may be a title's)
                claims_of[key] = noted + [claim for claim in claims_of[key] if claim.field not in said]
        for key, result in citations.items():
            ref = next(r for r in members if f"{r.kind}:{r.ref}" == key)
            self._check(result, ref, claims_of[key], doc)
        return list(citations.values()) + named

    def _note_claims(self, doc: Document, ref: Reference) -> list[Claim]:
        """The claims of the note a reference was cited by ("…[^1]" and "[^1]: The earlier phase 1
        study (NCT…) treated 20 patients"), placed where it is cited; none for a reference written
        where it stands or a note that is an address alone."""
        if doc.text[ref.start:ref.end] == ref.text or not re.search(r"[A-Za-z]{3,}\s+\S", ref.text):
            return []
        if (noted := self._notes_read.get(ref.text)) is None:  # a note is cited again and again: read once
            words = mask_quotes(ref.text)
            words = _without_references(words, list(note_references(ref.text)))  # the note's references, read once when it was linked
            noted = [claim for claim in self.reader.read(words, 0, len(words)) if claim.field in NOTE_FIELDS]  # a condition there is mostly a cited title's
            self._notes_read[ref.text] = noted
        return [claim._replace(start=ref.start, end=ref.end) for claim in noted]

    def _one_per_record(self, members: list[Reference]) -> list[Reference]:
        """A block's references with those naming one record as one ("doi:… PMID: …" after a
        source, a trial's NCT id and its address), each where it was written: the claims are
        checked once, under the record's own id when the writer gave it."""
        if len(members) < 2:
            return members
        records = [self._exists(ref).record for ref in members]
        chosen: dict[str, Reference] = {}
        for ref, record in zip(members, records):
            if record and (record not in chosen or ref.ref == record):
                chosen[record] = ref
        if len(chosen) == len({f"{r.kind}:{r.ref}" for r, record in zip(members, records) if record}):
            return members  # no record named twice
        return [
            ref if not record or chosen[record] is ref
            else Reference(chosen[record].kind, chosen[record].value, ref.text, ref.start, ref.end, chosen[record].malformed)
            for ref, record in zip(members, records)
        ]

    def _claims(self, text: str, block, a: int, b: int) -> list[Claim]:
        """The claims of a segment (``text`` has its references and links blanked out:
        :func:`_without_references`); a row's cells by column."""
        claims: list[Claim] = []
        if block.kind in ("row", "column") and block.cells:
            for start, end, header in block.cells:
                if block.kind == "row" and (end <= a or start >= b):  # a column's cells lie below its span
                    continue
                cell = self.reader.read_cell(text, start, end, header)
                claims += cell if cell is not None else self.reader.read(text, start, end)
            return claims
        return self.reader.read(text, a, b)

    def _check(self, result: CitationResult, ref: Reference, claims: list[Claim], doc: Document) -> None:
        existence = self._exists(ref)
        result.status, result.record, result.note = existence.status, existence.record, existence.note
        result.problems = _located([dict(p, start=ref.start, end=ref.end) for p in existence.problems], doc)
        if existence.status in ("malformed", "not_found", "unverifiable"):
            return
        claims = list(dict.fromkeys(claims))
        result.claims = claims
        if result.record:
            study, is_ms, figures, paper = self._stored(result.record)
        else:
            study, is_ms, figures, paper = existence.study, None, [], None
        if study is not None:
            result.problems += study_problems(claims, study, is_ms, self.sponsors, self.reader)
            result.problems += figure_problems(claims, figures, None) if figures else []
        elif ref.kind in ("pmid", "doi", "pmcid"):
            result.problems += figure_problems(claims, figures, paper.abstract if paper else None)
        result.problems = _located(result.problems, doc)
        if result.problems:
            result.status = "mismatch"

    def _by_name(self, doc: Document, masked: str, blanked: str, a: int, b: int, claims: list[Claim]) -> CitationResult | None:
        """Claims with no id beside a news or company link (:func:`_links_without_ids`), naming a
        product the store's trials test: a name in the writer's words before one in a link's
        address, and of several named, the one whose trials fit the claims best."""
        checked = [c for c in claims if c.field in CLAIM_FIELDS or c.field == "condition"]
        if not any(c.field in CLAIM_FIELDS for c in checked):
            return None
        index = self._product_index()
        best: tuple[list[dict[str, Any]], re.Match, str, list[str]] | None = None
        for text in (blanked, masked):
            names = [*PRODUCT.finditer(text, a, b), *BRAND.finditer(text, a, b), *ONE_WORD.finditer(text, a, b),
                     *self.reader.drug_name.finditer(text, a, b), *(_address_words(text, a, b) if text is masked else ())]
            for match in sorted(names, key=lambda m: m.start()):
                if trials := index.get(_fold(match.group())):
                    problems, record = self._nearest_trial(checked, sorted(trials))
                    if best is None or (len(problems), len(trials)) < (len(best[0]), len(best[3])):  # the fitting, then the most particular
                        best = (problems, match, record, sorted(trials))
            if best:
                break
        if best is None:
            return None
        problems, match, record, candidates = best
        name = match.group()
        result = CitationResult(f"name:{name}", "name", doc.line_at(match.start()), "matched_by_name", mentions=1, place=doc.place_at(match.start()))
        result.spans.append(match.span())
        result.candidates, result.claims, result.record = candidates, checked, record
        if problems:
            result.note = f"no trial of {name} in the store fits every claim; the nearest is {record}"
            result.problems = _located([
                dict(p, message=f"{p['message']} ({record}, the nearest of the store's {name} trials: {', '.join(candidates)})")
                for p in problems
            ], doc)
        else:
            result.note = f"claims fit {record}, one of the store's trials of {name}"
        return result

    def _nearest_trial(self, claims: list[Claim], trials: list[str]) -> tuple[list[dict[str, Any]], str]:
        """The problems of the claims against the trial they fit best, and that trial."""
        best: tuple[list[dict[str, Any]], str] | None = None
        for trial in trials:
            study, is_ms, _, _ = self._stored(trial)
            found = study_problems(claims, study, is_ms, self.sponsors, self.reader) if study else []
            if best is None or len(found) < len(best[0]):
                best = (found, trial)
        return best


@contextmanager
def _without_cycle_collection():
    """The cycle collector paused: a large review makes hundreds of thousands of claims,
    problems and matches that live to the end and form no cycles, and the collector's full
    passes over them (and over the store's objects) took a sixth of the run. Whoever found it
    running starts it again, so concurrent verifications leave it running."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


_LEGEND_GAP = re.compile(r"^(?:\s|<[^>]*>|[·•|,;/:()\[\]–-])*(?P<label>(?:[\w.&+-]+[ \t]*){0,3}?)(?:\s|[:=(])*$")
"""What may stand before a reference in a legend: tags, separators and a label of up to three
words ("HERCULES NCT… · PERSEUS NCT…", "Ph2: NCT…")."""


def _own_first(masked: str, block: Block, pairs: list[tuple[Claim, list[str]]], refs: list[Reference]) -> list[tuple[Claim, list[str]]]:
    """An item's claims with the references they go to, those of its sentences citing nothing
    kept only for what the references' own sentences leave unsaid ("… MS-STAT2, 964 people. And
    masitinib, NCT01433497, about 650 patients": the 650 is masitinib's, the 964 another trial's)."""
    parts = sentences(masked, block.start, block.end)
    if len(parts) < 2:
        return pairs
    starts = [a for a, _ in parts]

    def part(position: int) -> int:
        return bisect_left(starts, position + 1) - 1

    cited = {part(r.start) for r in refs}
    said = {(key, claim.field) for claim, keys in pairs if part(claim.start) in cited for key in keys}
    out = []
    for claim, keys in pairs:
        if part(claim.start) not in cited:
            keys = [key for key in keys if (key, claim.field) not in said]
        if keys:
            out.append((claim, keys))
    return out


def _legend_items(masked: str, blocks: list[Block], refs: list[Reference], starts: list[int], bare) -> dict[int, Block]:
    """References given in a legend under the items they are about (a slide's small print, a
    "Sources:" line, a "Find out more" button under a paragraph): a block of references and labels
    alone, after items that cite nothing in the same section. A labelled reference lends the claims
    of the item that starts with (or names) its label; the others those of the remaining items in
    order, when their numbers agree; a lone reference with no claims of its own (``bare``), those of
    the item right above it."""
    lent: dict[int, Block] = {}
    for index, block in enumerate(blocks):
        members = refs[bisect_left(starts, block.start):bisect_left(starts, block.end)]
        if not members or block.kind != "para" or (labels := _legend_labels(masked, block, members, bare)) is None:
            continue
        items = []
        for earlier in reversed(blocks[max(0, index - 12):index]):
            if earlier.kind == "heading":
                break
            if bisect_left(starts, earlier.start) == bisect_left(starts, earlier.end):  # cites nothing
                items.insert(0, earlier)
        if not items:
            continue
        first: dict[str, int] = {}  # a reference given twice (a button's attribute and address) is one
        for position, ref in enumerate(members):
            first.setdefault(ref.ref, position)
        distinct = [members[i] for i in first.values()]
        paired = _paired(masked, distinct, [labels[i] for i in first.values()], items)
        if len(distinct) == 1 and not paired and items[-1] is blocks[index - 1] and bare(block):
            paired = {id(distinct[0]): items[-1]}
        by_ref = {ref.ref: paired[id(ref)] for ref in distinct if id(ref) in paired}
        lent.update({id(ref): by_ref[ref.ref] for ref in members if ref.ref in by_ref})
    return lent


_LEGEND_TAIL = re.compile(r"^(?:\s|<[^>]*>|[·•|,;/:()\[\]–.!-])*(?:[\w'’]+[ \t]*){0,3}[.!:]?\s*$")
"""What may follow the last reference of a legend: a link's few words ("Find out more")."""


def _legend_labels(masked: str, block: Block, members: list[Reference], bare) -> list[str] | None:
    """The label before each reference of a block that is a legend, folded ("" for none); None
    when the block is prose. Words after the last reference are allowed when they claim nothing."""
    labels, position = [], block.start
    for ref in members:
        gap = _LEGEND_GAP.match(masked[position:ref.start])
        if gap is None:
            return None
        labels.append(_fold(gap.group("label")))
        position = ref.end
    tail = re.sub(r"<[^>]*>", " ", masked[position:block.end])
    if re.search(r"\w", tail) and not (_LEGEND_TAIL.match(tail) and bare(block)):
        return None
    return labels


def _paired(masked: str, members: list[Reference], labels: list[str], items: list[Block]) -> dict[int, Block]:
    """A legend's references with the items they are about: by label, then the rest in order."""
    heads = [_fold(masked[item.start:item.start + 60]).lstrip("0123456789") for item in items]
    lent, unlabelled = {}, []
    for ref, label in zip(members, labels):
        found = next((i for i, head in enumerate(heads) if label and head.startswith(label)), None) if label else None
        if found is None and label:
            found = next((i for i, item in enumerate(items)
                          if re.search(rf"\b{re.escape(label)}\b", _fold_spaced(masked[item.start:item.end]))), None)
        if found is None:
            unlabelled.append(ref)
            continue
        lent[id(ref)] = items[found]
        heads[found] = "\0"  # lent once
    rest = [item for item, head in zip(items, heads) if head != "\0"]
    if unlabelled and len(unlabelled) == len(rest):
        lent.update({id(ref): item for ref, item in zip(unlabelled, rest)})
    return lent


def _fold_spaced(text: str) -> str:
    """Text as :func:`_fold` compares a word, word by word."""
    return " ".join(_fold(word) for word in text.split())


def where(item: dict[str, Any]) -> str:
    """Where a citation or a problem stands, as a reader looks for it: an Office file's sheet and
    row or slide, else the line."""
    return item.get("place") or f"line {item['line']}"


def _located(problems: list[dict[str, Any]], doc: Document) -> list[dict[str, Any]]:
    """Problems with the line and the quoted words of the text they are about."""
    for problem in problems:
        problem.setdefault("line", doc.line_at(problem["start"]))
        if place := doc.place_at(problem["start"]):
            problem.setdefault("place", place)
        problem.setdefault("quote", " ".join(doc.text[problem["start"]:problem["end"]].split()))
    return problems


_ADDRESS_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]")
_PAIRED_WORD = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?")
_LONE_WORD = re.compile(r"[A-Za-z0-9]+")


def _address_words(masked: str, a: int, b: int) -> list[re.Match]:
    """The words of the addresses in ``masked[a:b]``, alone and with the next after a hyphen
    ("orca-q" in …/stanford-trial-of-orca-q-in-progressive-ms): a product a news page names only
    in its address."""
    found = []
    for address in URL.finditer(masked, a, b):
        path_start = masked.find("/", masked.find("//", address.start()) + 2, address.end())
        for word in _ADDRESS_WORD.finditer(masked, path_start if path_start >= 0 else address.end(), address.end()):
            paired = _PAIRED_WORD.match(masked, word.start(), address.end())
            found.append(paired)
            if "-" in paired.group():
                found.append(_LONE_WORD.match(masked, word.start()))
    return found


def _fold(token: str) -> str:
    return re.sub(r"[^a-z0-9]", "", token.lower())


_SOURCE_LABEL = re.compile(r"[\s.,;:()\[\]<>|*_·•–—-]*(?:(?:[A-Z][a-z]+|see|via)(?:[ \t]+[a-z]+){0,2}[ \t]*[:=]?[\s.,;:()\[\]<>|*_·•–—-]*)?")
"""What a line holding only a link may say besides it ("Source: …", "Registry record: …", "See …"):
set on its own after the text it vouches for."""
_HEARSAY = r"(?:from\s+what\s+I\s+(?:read|understand|can\s+tell|hear|gather)|as\s+far\s+as\s+I\s+(?:know|can\s+tell)|I\s+(?:think|believe|read|hear)|apparently|reportedly|if\s+I\s+remember\s+(?:right|rightly|correctly)|last\s+I\s+(?:checked|heard)|as\s+I\s+understand\s+it)"
_LINK_WORDS = re.compile(r"\[[^\[\]\n]{0,80}\]\([ \t]*\)")
"""A Markdown link's words with its address blanked ("[GEMINI 1 –   ](   )"): on a line of sources, the source's name."""
def _lists_sources(blanked: str, a: int, b: int) -> bool:
    """Whether a span holds links alone, with at most a label and their words ("Source: …",
    "Sources: [GEMINI 1](…) · [HERCULES](…)"), its references blanked."""
    return _SOURCE_LABEL.fullmatch(_LINK_WORDS.sub(" ", blanked[a:b])) is not None


_SOURCE_SEPARATOR = re.compile(r"[·•|;,]|\s[–—-]\s(?=\[)")


def _source_names(blanked: str, a: int, b: int, refs: list[Reference]) -> dict[str, str]:
    """The names a line of sources gives its references by their links' words ("Sources: [GEMINI 1
    – NCT…](…) · [FENhance 1](…)"): each the words of a piece of the line citing one reference."""
    names: dict[str, str] = {}
    cuts = list(_SOURCE_SEPARATOR.finditer(blanked, a, b))
    for start, end in zip([a] + [m.end() for m in cuts], [m.start() for m in cuts] + [b]):
        keys = {f"{r.kind}:{r.ref}" for r in refs if start <= r.start < end}
        words = re.sub(r"^\s*[A-Z][a-z]+(?:\s+[a-z]+){0,2}\s*:", " ", blanked[start:end]) if start == a else blanked[start:end]
        name = " ".join(re.sub(r"[\[\]()*_]|\s[–—-](?=\s|$)", " ", words).split()).strip(" –—-:")
        if len(keys) == 1 and len(name) >= 3 and re.search(r"[A-Za-z]", name):
            names[name.lower()] = keys.pop()
    return names


def _last_named(masked: str, start: int, position: int, names: dict[str, str]) -> str | None:
    """The reference whose name the text names last before a position, in the same sentence."""
    opening = max((m.end() for m in _SENTENCE_END.finditer(masked, start, position)), default=start)
    lowered = masked[opening:position].lower()
    found = [(match.start(), key) for name, key in names.items() for match in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lowered)]
    return max(found)[1] if found else None


_GOES_ON = re.compile(rf"\s*[\"'“‘(]?(?:{_HEARSAY},?\s+)?(?:It|It['’]s|Its|This\s+(?:trial|study|one)|The\s+(?:trial|study)|That\s+(?:trial|study))\b", re.IGNORECASE)
"""A sentence that goes on about the trial the sentence before cited, by a pronoun."""
_ITS_NOUN = re.compile(r"\s*(?:(?:Its|The|Planned|Target|Estimated)\s+)?(?:planned\s+|target\s+|estimated\s+)?(?:enrol(?:l?ment|led)|recruitment|sponsor)\b", re.IGNORECASE)
"""A sentence that goes on about the trial the sentence before cited by naming what it is said of
("… is recruiting (NCT1). Enrolment is planned at around sixty participants.")."""
_CLOSED_AND = re.compile(r"\)\s*,?\s*(?:and|while|whereas|but|then)\b")
_NEW_TRIAL = re.compile(r"(?<![\w'])(?:a|an|another)\s+$", re.IGNORECASE)
_JOINED = re.compile(r"\b(?:with|and|while|whereas|plus|alongside|besides|beside|than|but|or|versus|vs|into|to|then|before|by)\b", re.IGNORECASE)
"""A word joining another trial on ("… (NCT1) with a phase 2 …"); a verb there says the claim of the
trial before ("… (NCT1) completed a phase II/III trial …")."""
_VERB = r"(?:is|was|are|were|has|had|have)"
"""The verbs that say something of a clause's subject (its predicate follows)."""
_ITS_PREDICATE = re.compile(rf"\)?\s*{_VERB}\b[^,;:()\n.]{{0,60}}$")
"""A verb right after a reference and its claim with no break between ("UCSF (NCT1) is run by
Stanford University.[2]"): said of that reference, whatever note closes the sentence."""
_NEW_SUBJECT = re.compile(
    r"\)?\s*[,;]\s+(?:and\s+|while\s+|whereas\s+)?[A-Z][^()\n,]*?\b(?:is|are|was|were|has|have|launched|started|began|opened|initiated|announced|registered)\s+(?:\w+\s+)?$"
)
"""A new clause's subject and verb after a reference's parentheses ("(NCT1), Bristol Myers Squibb is
enrolling around 120 …", "(NCT1), Sanofi launched a phase 3 …"): its claims are the next reference's."""
_NEXT_ONE = re.compile(r"[)\]]\s*[,;]\s+(?:and\s+)?(?:then\s+)?(?:its|their)\s+[^()\n.;]{0,40}$", re.IGNORECASE)
"""A clause after a reference's parentheses bringing in another trial by "its" ("(…, NCT1), its
randomised phase 2 with n = 80 … (…, NCT2)"), where the writer puts references after their claims."""
_SAID_OF_IT = re.compile(rf"\b(?:{_VERB}|remains)\b", re.IGNORECASE)
"""A verb between a reference's parentheses and the joining word: the clause goes on about that
trial ("(NCT1) is a phase 3 study …, recruiting with a target of 800")."""
_PREDICATE = re.compile(r"\b(?:is|was|are|were|be|been|remains|became|becomes|has|had|have|holds|shows)\s+(?:a|an)\s+$", re.IGNORECASE)
"""A claim brought in by an indefinite article after a reference's parentheses have closed and a
word ("… (NCT1, completed) with a phase 2 of 54 people (NCT2)") introduces the next trial, unless it
is said of the subject ("NCT1 (UCSF) is a phase 2 …") or stands in apposition ("(NCT1), a phase 3 …")."""
_SENTENCE_END = re.compile(r"[.!?](?:[)\]\"”'*_⁰¹²³⁴⁵⁶⁷⁸⁹˒⁻]|\[\^?\w{1,4}\])*\s")


_DESIGNATED = re.compile(rf"\bthe\s+(?P<ordinal>first|former|second|latter|third)\b|(?P<shared>{_SHARED.pattern})", re.IGNORECASE)
"""Words after the references that say which a claim is about: "the first was a phase 2, the
second a phase 3" by position, "both have completed" all of them; the last before a claim holds."""
_ORDINALS = {"first": 0, "former": 0, "second": 1, "third": 2, "latter": -1}
_RESPECTIVE = re.compile(r"[\s,]{0,3}respectively\b", re.IGNORECASE)
_LIST_CLOSES = re.compile(r"[\s)\]]*(?:[.;]|$)")
"""A list of references closing its sentence ("… (21 patients) and … (31 patients) have both
completed (NCT1, NCT2)."): the claims before it, as many of a field as it holds, go in turn."""


def _in_turn(masked: str, claims: list[Claim], mentions: list[Reference], distinct: list[str]) -> dict[int, str]:
    """Claims before references listed "respectively" ("a phase I in 76 … and then a phase IIa in
    32 … (A and B, respectively)"): the k-th claim of a field is about the k-th reference of the
    list, when the field has one claim per reference between the list and the reference before it."""
    end = next((i for i, m in enumerate(mentions) if _RESPECTIVE.match(masked, m.end)), None)
    if end is None and len(mentions) >= 2 and _LIST_CLOSES.match(masked, mentions[-1].end) and mentions[-1].start - mentions[-2].end <= 12:
        end = len(mentions) - 1
    if end is None:
        return {}
    start = end
    while start > 0 and mentions[start].start - mentions[start - 1].end <= 12:  # "A and B", "A, B and C"
        start -= 1
    listed = list(dict.fromkeys(f"{m.kind}:{m.ref}" for m in mentions[start:end + 1]))
    if len(listed) < 2:
        return {}
    after = mentions[start - 1].end if start else -1
    if start and masked.rfind("(", 0, after) > masked.rfind(")", 0, after):  # "(NCT1; 129 participants, …) with …": its aside is its own
        closed = masked.find(")", after, mentions[start].start)
        after = closed if closed >= 0 else after
    by_field: dict[str, list[int]] = {}
    for index, claim in enumerate(claims):
        if after <= claim.start and claim.end <= mentions[start].start and (claim.order is None or claim.listed):
            by_field.setdefault(claim.field, []).append(index)
    return {i: listed[k] for group in by_field.values() if len(group) == len(listed) for k, i in enumerate(group)}


def _sentence_keys(masked: str, claim: Claim, mentions: list[Reference]) -> list[str]:
    """The references of the sentence a claim is in: "both phase 3" after "FENtrepid (NCT1) is …
    recruiting. FENhance 1 and 2 (NCT2 and NCT3) are …" is said of NCT2 and NCT3."""
    opening = max((m.end() for m in _SENTENCE_END.finditer(masked, mentions[0].start, claim.start)), default=mentions[0].start)
    return list(dict.fromkeys(f"{r.kind}:{r.ref}" for r in mentions if opening <= r.start < claim.start))


def _listed_before(claim: Claim, claims: list[Claim], distinct: list[str], named_at: dict[str, int], marked: bool) -> list[str]:
    """The references a list of counts goes to in turn: those named before it (the last as many
    as it holds: "GEMINI 1 and 2 (NCT1 and NCT2; …, 974 and ~900 participants, respectively) and
    HERCULES (NCT3 …)"), or, when source marks follow it or none comes before it, all of them;
    none when they do not number as its counts do."""
    named = distinct if marked else [key for key in distinct if named_at[key] <= claim.start]
    size = claim.listed or 1 + max(c.order for c in claims if c.order is not None and c.field == claim.field)
    if not named and len(distinct) == size:  # "two phase 2 trials, 123 and 208 pts respectively:" then the two ids
        return distinct
    if len(named) < max(size, 2) or claim.order >= size or (claim.listed and marked and len(named) != size):
        return []
    return named[-size:] if not marked else named[:size]


_MARKED_SUBJECT = re.compile(
    r"[\s,]*(?:is|are|was|were|has|have|had|will|remains|enrol\w*|recruit\w*|tested|tests|compared|showed|found|reported|randomi[sz]ed)\b",
    re.IGNORECASE,
)
"""A verb right after a source's mark: the mark stands after its sentence's subject, and the claims
after it are its own."""


_CHIP_AFTER = re.compile(r"[ \t]*\[\d{1,3}\](?![\[(])")


def _is_mark(masked: str, mention: Reference) -> bool:
    """Whether a reference stands where a numbered source or footnote is cited ("[4]", "[^2]", a
    page's superscript "4" linking its note)."""
    return (
        NOTE_USE.fullmatch(masked, mention.start, mention.end) is not None
        or re.fullmatch(r"\s*\d{1,3}\s*", masked[mention.start:mention.end]) is not None
        or SUPERSCRIPT_USE.fullmatch(masked, mention.start, mention.end) is not None  # "… recruiting ~30)¹⁴"
        or _CHIP_AFTER.match(masked, mention.end) is not None  # a citation chip's address, read just before its "[5]"
    )


_TRIAL_NAME = r"[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*(?:[ -](?:[0-9]{1,2}|[IV]{1,3}|[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)){0,2}"
_NAME_BEFORE_REFERENCE = re.compile(rf"(?P<name>{_TRIAL_NAME})[ \t]*[(\[][ \t]*\Z")
_CLAUSE_START = re.compile(r"(?:[;,.:]|\b(?:and|but|while|whereas)\b)[ \t]*", re.IGNORECASE)
_SUBJECT = re.compile(rf"[ \t]*(?:the[ \t]+)?(?P<name>{_TRIAL_NAME})\b")


def _introduced(masked: str, mentions: list[Reference], keys: list[str]) -> dict[str, str]:
    """The names trials are introduced by just before their references ("FENhance 1 (NCT…)"), each
    naming one trial."""
    found: dict[str, set[str]] = defaultdict(set)
    for ref, key in zip(mentions, keys):
        if named := _NAME_BEFORE_REFERENCE.search(masked, max(0, ref.start - 40), ref.start):
            found[named.group("name").lower()].add(key)
    return {name: next(iter(keys_)) for name, keys_ in found.items() if len(keys_) == 1 and len(name) > 2}


def _named_subject(masked: str, claim: Claim, mentions: list[Reference], names: dict[str, str]) -> str | None:
    """The trial the claim's clause, or the nearest clause before it, names as its subject by a
    name it was introduced with, after every reference before the claim ("…; FENhance 1 is still
    recruiting, FENhance 2 has about 750")."""
    floor = max((r.end for r in mentions if r.end <= claim.start), default=0)
    window = masked[max(floor, claim.start - 80):claim.start]
    for start in reversed([0] + [m.end() for m in _CLAUSE_START.finditer(window)]):  # the nearest clause naming one ("…, FENhance 2 has about 750 and is …")
        if (subject := _SUBJECT.match(window, start)) and (key := names.get(subject.group("name").lower())):
            return key
    return None


_FOLLOWING_ORDINAL = re.compile(
    r"\s*[\"'“‘(]?the\s+(?P<ordinal>first|former|second|latter|third)(?:\s+(?:trial|study|one))?"
    r"(?=\s*(?:,|\(|\w+ed\b|is\b|was\b|are\b|were\b|has\b|had\b|have\b|plans\b|aims\b|enrol|recruit|remains\b|tests\b|will\b|still\b|also\b|only\b|now\b))",
    re.IGNORECASE,
)
_OPENING = re.compile(r"\s*[\"'“‘(]?")


def _subject_among(masked: str, a: int, b: int, cited: list[Reference]) -> str | None:
    """The reference, among the several the sentence before cited, that a sentence opening with
    an ordinal ("The second had 1,166") or a name they were introduced by ("FENhance 2 has about
    750") goes on about."""
    keys = [f"{r.kind}:{r.ref}" for r in cited]
    distinct = list(dict.fromkeys(keys))
    if ordinal := _FOLLOWING_ORDINAL.match(masked, a, b):
        if any(later.start - earlier.end > 40 for earlier, later in zip(cited, cited[1:])):
            return None  # counted in a list ("A (NCT1) and B (NCT2)"), not over a paragraph's trials
        index = _ORDINALS[ordinal["ordinal"].lower()]
        return distinct[index] if -len(distinct) <= index < len(distinct) else None
    subject = _SUBJECT.match(masked, _OPENING.match(masked, a, b).end(), b)
    return _introduced(masked, cited, keys).get(subject["name"].lower()) if subject else None


_ITS_CLAUSE = re.compile(
    r"[ \t]*[)\]]*[ \t]*,[ \t]*(?:which|who)\s+(?!(?:the|a|an|its|their|this|that|these|those|we|they|it|he|she|you|i|another|other|one)\b)[^,;()\[\]]*\Z",
    re.IGNORECASE,
)
"""A relative clause opened after a reference, its subject, not yet closed by a comma: its claims
are that reference's ("(NCT…), which enrolled 270 patients and was completed"; not "(NCT…),
which the EU register lists as completed (EU CT …)")."""


_WITH_IT = re.compile(r"[ \t]*[)\]]*[ \t]*,?[ \t]*(?:with|having)[ \t]+(?:(?:about|around|roughly|approximately|nearly|almost|over|some|just\s+over|just\s+under|~|≈)[ \t]*)?\Z", re.IGNORECASE)
"""A count said with the reference just before it ("[NCT1](…) with 974 participants and [NCT2](…) with about 900")."""


def _in_link_words(masked: str, claim: Claim, after: int, reference: int) -> bool:
    """Whether a claim stands in the words of a Markdown link whose address holds the reference
    that follows it."""
    close = masked.find("](", claim.end, reference)
    return (
        close >= 0 and not re.search(r"[\[\]\n]", masked[claim.end:close])
        and masked.rfind("[", after, claim.start) > masked.rfind("]", after, claim.start)
        and masked.find(")", close) > reference
    )


def _attribute(masked: str, claims: list[Claim], mentions: list[Reference]) -> list[tuple[Claim, list[str]]]:
    """Each claim with the references (keys) it is about, among several."""
    keys = [f"{r.kind}:{r.ref}" for r in mentions]
    distinct = list(dict.fromkeys(keys))
    first, last = mentions[0], mentions[-1]
    in_turn = _in_turn(masked, claims, mentions, distinct)
    between = masked[first.end:last.start]
    together = not any(first.end <= c.start and c.end <= last.start for c in claims) and all(
        b.start - a.end <= 40 for a, b in zip(mentions, mentions[1:])
    ) and between.count("(") <= between.count(")") and not re.search(r"\)\s*;", between)  # "NCT1 (EU CT X: phase 1/2, …)": the aside's claims are X's; "(X); the US registration (NCT1) lists …" goes on to another
    # a writer who puts a claim before the first reference ("a phase 1 in 20 people (NCT…)") puts
    # references after their claims: a claim after "…) and" then leads to the next reference
    trailing = any(c.end <= first.start for c in claims)
    out = []
    named_at = {key: min(r.end for r, k in zip(mentions, keys) if k == key) for key in distinct}
    marked = all(_is_mark(masked, r) for r in mentions)  # "(about 970 and 900 participants, respectively) [10][11]"
    names = _introduced(masked, mentions, keys)
    for index, claim in enumerate(claims):
        if index in in_turn:
            out.append((claim, [in_turn[index]]))
            continue
        if names and (named := _named_subject(masked, claim, mentions, names)):
            out.append((claim, [named]))  # "FENhance 1 (NCT1) and FENhance 2 (NCT2) …; FENhance 1 is still recruiting"
            continue
        if claim.order is not None and (listed := _listed_before(claim, claims, distinct, named_at, marked and claim.end <= first.start)):
            out.append((claim, [listed[claim.order]]))
            continue
        before = [(r, k) for r, k in zip(mentions, keys) if r.end <= claim.start]
        after = [(r, k) for r, k in zip(mentions, keys) if r.start >= claim.end]
        designated = None if after else next(reversed(list(_DESIGNATED.finditer(masked, last.end, claim.start))), None)
        if designated and not masked[last.end:designated.start()].strip():
            out.append((claim, [keys[-1]]))  # "<a href=…NCT2>the second</a>, which is still recruiting": a link's words name its own trial
        elif designated and designated["ordinal"] and -len(distinct) <= _ORDINALS[designated["ordinal"].lower()] < len(distinct):
            out.append((claim, [distinct[_ORDINALS[designated["ordinal"].lower()]]]))
        elif not after and together:
            out.append((claim, distinct))
        elif not after and designated and designated["shared"]:
            out.append((claim, _sentence_keys(masked, claim, mentions) or distinct))
        elif not before:
            out.append((claim, [after[0][1]]))
        elif not after:
            out.append((claim, [before[-1][1]]))
        else:
            (prev, prev_key), (nxt, next_key) = before[-1], after[0]
            if _in_link_words(masked, claim, prev.end, nxt.start):  # "[Phase 3 PPMS](…/NCT…)": a link's words are its address's
                out.append((claim, [next_key]))
                continue
            if ID_ENDS_LINE.search(masked, prev.start, claim.start + 1) and "\n" not in masked[claim.end:nxt.start]:
                out.append((claim, [next_key]))  # "… recruiting: 2024-515563-55-00" / "MGH's tenofovir study got withdrawn: NCT…"
                continue
            if _is_mark(masked, prev) and _is_mark(masked, nxt):  # "… (phase 3, 581 patients) [4] and CARE-MS II (…, 840 patients) [5]"
                # "the first [7] is recruiting about 800, and …": a mark before a verb names its subject, whose
                # clause runs to the next break; else a mark closes the claims it vouches for
                clause_end = next(BREAK.finditer(masked, prev.end, nxt.start), None)
                own = _MARKED_SUBJECT.match(masked, prev.end) and (clause_end is None or claim.start < clause_end.end())
                out.append((claim, [prev_key if own else next_key]))
                continue
            gap = masked[prev.end:claim.start]
            opened = gap.rfind("(")
            if gap.count("(") > gap.count(")") and len(gap[:opened].split()) <= 2:  # inside the parentheses after a reference: "A (phase 3, 444 participants)"
                out.append((claim, [prev_key]))
                continue
            closes = masked.find(")", claim.end, nxt.start)
            if opened > gap.rfind(")") and closes >= 0 and "(" not in masked[claim.end:closes] and not re.search(r"[.;:]\s|\b(?:and|while|whereas|but)\b", gap[:opened]):
                out.append((claim, [prev_key]))  # an aside closed before the next reference: "(NCT1) followed about 1,300 people (phase 3, completed) and TOPAZ (NCT2)"
                continue
            if ")" not in gap and masked.rfind("(", 0, prev.start) > masked.rfind(")", 0, prev.start):
                out.append((claim, [prev_key]))  # in the parentheses that hold the reference: "lithium (NCT…, phase I/II, 23 participants)"
                continue
            if _ITS_CLAUSE.match(gap) or _WITH_IT.match(gap):
                out.append((claim, [prev_key]))  # "… (NCT1), which enrolled 270 and was completed, in its extension (NCT2) …"
                continue
            lead = max(prev.end, claim.start - 24)
            article = _NEW_TRIAL.search(masked, lead, claim.start)
            closed = masked.rfind(")", prev.end, claim.start)
            joined = _JOINED.search(masked, closed, article.start()) if article and closed >= 0 else None
            if joined and not _PREDICATE.search(masked, lead, claim.start) and not _SAID_OF_IT.search(masked, closed, joined.start()):
                out.append((claim, [next_key]))
                continue
            if trailing and (_CLOSED_AND.search(gap) or _SENTENCE_END.search(gap) or _NEW_SUBJECT.match(gap) or _NEXT_ONE.match(gap)):
                out.append((claim, [next_key]))  # "… (NCT1, completed) and a phase 3 … (NCT2)"; "… (NCT1). It has a phase 2 … (NCT2)"
                continue
            if _is_mark(masked, nxt) and not _is_mark(masked, prev) and _ITS_PREDICATE.match(masked[prev.end:claim.start]):
                out.append((claim, [prev_key]))  # "UCSF (NCT1) is run by Stanford University.[2]": the note vouches, the id is the subject
                continue
            breaks = [m.end() for m in BREAK.finditer(masked, prev.end, nxt.start)]
            if breaks:
                out.append((claim, [prev_key if claim.start < breaks[-1] else next_key]))
            else:
                out.append((claim, [prev_key if claim.start - prev.end <= nxt.start - claim.end else next_key]))
    return out


def read_review(path: Path) -> tuple[str, str]:
    """A review's content and its format (Markdown, HTML, text, LaTeX or a CSV / TSV table, told by
    its name or content; a Word file read as HTML)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if (binary := read_binary_review(path)) is not None:
        return binary
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc}); give a Markdown, HTML, text, CSV or Word (.docx) file") from exc
    return content, detect_format(path.name, content)


def verify_path(store: Store, profile: Profile, path: Path, lookup: OnlineLookup | None = None) -> dict[str, Any]:
    """Verify the review in a file."""
    content, fmt = read_review(path)
    return Verifier(store, profile, lookup).verify_text(content, fmt, path.name)
