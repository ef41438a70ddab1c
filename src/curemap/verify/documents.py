"""Reviews shared as Word files, read as the HTML the verifier reads.

A Word file (.docx) becomes HTML: one element per line for each paragraph, heading, list item
and table row, links with their addresses, footnotes as paragraphs the text links to; so the
lines the verifier reports count the document's paragraphs and rows. A PDF is refused with what
to do instead: its text comes out as lines without paragraphs, lists or tables (a reference
list's numbers even land apart from their entries), and claims read from it were laid on the
wrong references.
"""

from __future__ import annotations

import zipfile
from html import escape
from io import BytesIO
from pathlib import Path

from lxml import etree

from curemap.errors import InputError

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _links(archive: zipfile.ZipFile) -> dict[str, str]:
    """The addresses a document's hyperlinks point to, by relationship id."""
    try:
        rels = etree.fromstring(archive.read("word/_rels/document.xml.rels"))
    except KeyError:
        return {}
    return {rel.get("Id"): rel.get("Target") for rel in rels.iter(f"{{{REL}}}Relationship") if rel.get("TargetMode") == "External"}


def _runs(element, links: dict[str, str]) -> str:
    """A paragraph's text as HTML: its runs, tabs and breaks, hyperlinks with their addresses and
    footnote references as links to the notes."""
    parts: list[str] = []
    for node in element.iter(_w("t"), _w("tab"), _w("br"), _w("hyperlink"), _w("footnoteReference")):
        if node.tag == _w("t"):
            parts.append(escape(node.text or ""))
        elif node.tag in (_w("tab"), _w("br")):
            parts.append(" ")
        elif node.tag == _w("hyperlink"):
            address = links.get(node.get(f"{{{R}}}id") or "")
            if address:
                parts.append(f' <a href="{escape(address)}"></a> ')
        else:
            number = node.get(_w("id"))
            parts.append(f'<sup><a href="#note{escape(number or "")}">{escape(number or "")}</a></sup>')
    return "".join(parts)


def _paragraph(p, links: dict[str, str]) -> str:
    style = p.find(f"{_w('pPr')}/{_w('pStyle')}")
    name = (style.get(_w("val")) if style is not None else "") or ""
    text = _runs(p, links)
    if name.lower().startswith("heading") and name[-1:].isdigit():
        return f"<h{name[-1]}>{text}</h{name[-1]}>"
    if name.lower().startswith("title"):
        return f"<h1>{text}</h1>"
    if p.find(f"{_w('pPr')}/{_w('numPr')}") is not None or "list" in name.lower():
        return f"<ul><li>{text}</li></ul>"
    return f"<p>{text}</p>"


def _body(element, links: dict[str, str]) -> list[str]:
    """The lines of HTML for a body's paragraphs and tables, in order."""
    lines: list[str] = []
    for child in element:
        if child.tag == _w("p"):
            lines.append(_paragraph(child, links))
        elif child.tag == _w("tbl"):
            lines.append("<table>")
            for row in child.iter(_w("tr")):
                cells = ["<td>" + " ".join(_runs(p, links) for p in cell.iter(_w("p"))) + "</td>" for cell in row.iter(_w("tc"))]
                lines.append("<tr>" + "".join(cells) + "</tr>")
            lines.append("</table>")
        elif child.tag == _w("sdt"):  # a content control (a table of contents, a cover page) holds body elements
            content = child.find(_w("sdtContent"))
            if content is not None:
                lines += _body(content, links)
    return lines


def word_as_html(data: bytes, name: str) -> str:
    """A Word document (.docx) as HTML the verifier reads."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            document = etree.fromstring(archive.read("word/document.xml"))
            links = _links(archive)
            notes = etree.fromstring(archive.read("word/footnotes.xml")) if "word/footnotes.xml" in archive.namelist() else None
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as exc:
        raise InputError(f"{name}: not a readable Word document ({exc}); save it again as .docx, or as HTML or text") from exc
    body = document.find(_w("body"))
    lines = _body(body if body is not None else document, links)
    for note in notes.iter(_w("footnote")) if notes is not None else ():
        number = note.get(_w("id"))
        if number and int(number) > 0:  # 0 and -1 are the separators Word keeps there
            lines.append(f'<p id="note{escape(number)}">{" ".join(_runs(p, links) for p in note.iter(_w("p")))}</p>')
    return "<html><body>\n" + "\n".join(lines) + "\n</body></html>\n"


def read_binary_review(path: Path) -> tuple[str, str] | None:
    """A Word review's readable content and format, or None for files read as text."""
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return word_as_html(path.read_bytes(), path.name), "html"
    if suffix == ".pdf":
        raise InputError(
            f"{path.name}: a PDF keeps its lines but not its paragraphs, lists or tables, so claims could not be"
            " placed beside their references; export the review as HTML, Word (.docx), Markdown or text"
        )
    return None
