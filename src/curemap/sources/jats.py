"""Open-access full text in JATS (the XML Europe PMC serves at ``/{PMCID}/fullTextXML``), read
into the parts of an article that say different things.

A figure or a comparison counts only where the paper reports its own results: the abstract's
results, the results sections and the tables. Introductions and discussions quote other
papers' results, and methods give planned numbers, so each part keeps its ``kind``
(:class:`~curemap.model.FullTextSection`). A section's kind comes from its ``sec-type``
or title (``Results``, ``Patients and methods``…); a subsection whose title names no part
("Clinical outcomes", "Safety") belongs to its parent's. Parts come in reading order for a
results reader: abstract, results, tables, then the rest.
"""

from __future__ import annotations

import re

from lxml import etree

from curemap.model import FullTextSection

_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=False, huge_tree=False)

_KINDS = (
    ("introduction", re.compile(r"^(?:\d[\d.]*\s*)?(?:intro\w*|background|rationale)\b", re.IGNORECASE)),
    ("methods", re.compile(r"^(?:\d[\d.]*\s*)?(?:(?:materials?|patients|subjects|participants)\s+and\s+)?method\w*\b"
                           r"|^(?:\d[\d.]*\s*)?(?:study design|experimental|design)\b", re.IGNORECASE)),
    ("results", re.compile(r"^(?:\d[\d.]*\s*)?(?:results?|findings)\b", re.IGNORECASE)),
    ("discussion", re.compile(r"^(?:\d[\d.]*\s*)?discussion\b", re.IGNORECASE)),
    ("conclusions", re.compile(r"^(?:\d[\d.]*\s*)?(?:conclusions?|summary|interpretation)\b", re.IGNORECASE)),
)
_SEC_TYPES = {"intro": "introduction", "methods": "methods", "materials|methods": "methods", "results": "results",
              "discussion": "discussion", "conclusions": "conclusions", "results|discussion": "results"}

ORDER = ("abstract", "abstract_results", "results", "table", "conclusions", "discussion", "methods", "introduction", "other")
"""The order parts are kept in: the paper's own results first."""


def section_kind(title: str | None, sec_type: str | None = None) -> str | None:
    """The part of an article a heading names, or None when it names none (a subsection's own topic)."""
    if sec_type and sec_type.lower() in _SEC_TYPES:
        return _SEC_TYPES[sec_type.lower()]
    for kind, pattern in _KINDS:
        if title and pattern.search(title.strip()):
            return kind
    return None


def _text(node: etree._Element) -> str:
    return " ".join("".join(node.itertext()).split())


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in node if _local(child) == name]


def _title(sec: etree._Element) -> str | None:
    titles = _children(sec, "title")
    return _text(titles[0]) or None if titles else None


def _table(wrap: etree._Element) -> str:
    """A table as lines: its label and caption, then each row's cells joined by " | "."""
    head = " ".join(filter(None, (_text(n) for n in _children(wrap, "label") + _children(wrap, "caption"))))
    rows = [" | ".join(_text(cell) for cell in row if _local(cell) in ("td", "th")) for row in wrap.iter("{*}tr", "tr")]
    foot = [_text(n) for n in _children(wrap, "table-wrap-foot")]
    return "\n".join(line for line in [head, *rows, *foot] if line.strip())


def _sections(sec: etree._Element, inherited: str, path: str | None) -> list[FullTextSection]:
    """A section's paragraphs as one part, its tables as parts of kind ``table``, its subsections after."""
    title = _title(sec)
    kind = section_kind(title, sec.get("sec-type")) or inherited
    heading = " / ".join(filter(None, (path, title))) or None
    paragraphs = [_text(p) for p in sec if _local(p) in ("p", "list", "disp-quote")]
    found = [FullTextSection(kind, heading, "\n\n".join(p for p in paragraphs if p))] if any(paragraphs) else []
    for child in sec:
        if _local(child) == "table-wrap":
            found.append(FullTextSection("table", heading, _table(child)))
        elif _local(child) == "sec":
            found += _sections(child, kind, heading)
    return found


def _abstract(abstract: etree._Element) -> list[FullTextSection]:
    secs = _children(abstract, "sec")
    if not secs:
        text = "\n\n".join(_text(p) for p in abstract.iter("{*}p", "p"))
        return [FullTextSection("abstract", None, text)] if text else []
    found = []
    for sec in secs:
        title = _title(sec)
        kind = "abstract_results" if section_kind(title, sec.get("sec-type")) == "results" else "abstract"
        text = "\n\n".join(_text(p) for p in _children(sec, "p"))
        if text:
            found.append(FullTextSection(kind, title, text))
    return found


def parse_jats(xml: str | bytes) -> list[FullTextSection]:
    """The parts of a JATS article, in :data:`ORDER`; ``ValueError`` when it is not a JATS article."""
    try:
        root = etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml, _SAFE)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from exc
    article = root if _local(root) == "article" else next(root.iter("{*}article", "article"), None)
    if article is None:
        raise ValueError(f"no <article> element (root is <{_local(root)}>)")
    found: list[FullTextSection] = []
    for abstract in article.iter("{*}abstract", "abstract"):
        if abstract.get("abstract-type") in (None, "structured"):
            found += _abstract(abstract)
            break
    for body in _children(article, "body"):
        for child in body:
            if _local(child) == "sec":
                found += _sections(child, "other", None)
            elif _local(child) == "table-wrap":
                found.append(FullTextSection("table", None, _table(child)))
            elif _local(child) == "p" and (text := _text(child)):
                found.append(FullTextSection("other", None, text))
    return sorted(found, key=lambda part: ORDER.index(part.kind))


def parse_evidence_inference(text: str) -> list[FullTextSection]:
    """The parts of an evidence-inference article text (``ABSTRACT.RESULTS::``, ``BODY.SAFETY.:``
    headings), with the kinds :func:`parse_jats` gives, in the file's order."""
    found: list[FullTextSection] = []
    parts = re.split(r"^(ABSTRACT|BODY)\.(.+?):+\s*$", text, flags=re.MULTILINE)
    kind = "other"
    for where, title, body in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        title = title.strip().rstrip(".")
        own = section_kind(title)
        if where == "ABSTRACT":
            part = "abstract_results" if own == "results" else "abstract"
        else:
            kind = own or kind
            part = kind
        if body.strip():
            found.append(FullTextSection(part, title, body.strip()))
    return found
