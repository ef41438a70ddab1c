"""Reviews shared as Office files or PDFs, read as the HTML the verifier reads.

A Word file (.docx) becomes HTML: one element per line for each paragraph, heading, list item
and table row, links with their addresses, footnotes as paragraphs the text links to; so the
lines the verifier reports count the document's paragraphs and rows. An Excel workbook (.xlsx)
becomes a table per sheet, a line naming the sheet then a line per row, its first row the column
names (so "Phase", "Status", "Sponsor" and "n" columns are read as such), each cell's link kept.
A PowerPoint deck (.pptx) becomes, slide after slide, its title as a heading, each paragraph of
its text boxes as a list item (a title that cites a trial is read with the bullets under it),
its tables, and its speaker notes as paragraphs. Each sheet and slide is a ``<section
data-place>``, so what the verifier reports there says where: a sheet's row, a slide's number
(:class:`curemap.verify.refs.Place`). A PDF is laid out again from its words
(:mod:`curemap.verify.pdf`), each problem placed by page and line.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from html import escape
from io import BytesIO
from pathlib import Path

from lxml import etree

from curemap.errors import InputError
from curemap.verify.pdf import pdf_as_html

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL = "http://schemas.openxmlformats.org/package/2006/relationships"
X = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _relations(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships by id: (target, mode), a target inside the package resolved to its
    path there ("xl/worksheets/sheet1.xml"), an outside one (a hyperlink's address) as it is."""
    folder, _, name = part.rpartition("/")
    try:
        rels = etree.fromstring(archive.read(f"{folder}/_rels/{name}.rels"))
    except KeyError:
        return {}
    found = {}
    for rel in rels.iter(f"{{{REL}}}Relationship"):
        target, mode = rel.get("Target") or "", rel.get("TargetMode") or ""
        if mode != "External":
            target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"{folder}/{target}")
        found[rel.get("Id")] = (target, mode)
    return found


def _links(archive: zipfile.ZipFile, part: str = "word/document.xml") -> dict[str, str]:
    """The addresses a part's hyperlinks point to, by relationship id."""
    return {rid: target for rid, (target, mode) in _relations(archive, part).items() if mode == "External"}


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
    with _open_package(data, name, "Word document", "word/document.xml") as archive:
        document = _xml(archive, "word/document.xml", name)
        links = _links(archive)
        notes = _xml(archive, "word/footnotes.xml", name) if "word/footnotes.xml" in archive.namelist() else None
    body = document.find(_w("body"))
    lines = _body(body if body is not None else document, links)
    for note in notes.iter(_w("footnote")) if notes is not None else ():
        number = note.get(_w("id"))
        if number and int(number) > 0:  # 0 and -1 are the separators Word keeps there
            lines.append(f'<p id="note{escape(number)}">{" ".join(_runs(p, links) for p in note.iter(_w("p")))}</p>')
    return "<html><body>\n" + "\n".join(lines) + "\n</body></html>\n"


def _open_package(data: bytes, name: str, kind: str, main: str) -> zipfile.ZipFile:
    """An Office file's package, refused with what to do when it is not one (or lacks its main part)."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        archive.getinfo(main)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"{name}: not a readable {kind} ({exc}); save it again, or export it as HTML, CSV or text") from exc
    return archive


def _xml(archive: zipfile.ZipFile, part: str, name: str):
    try:
        return etree.fromstring(archive.read(part))
    except (KeyError, etree.XMLSyntaxError) as exc:
        raise InputError(f"{name}: its part {part} cannot be read ({exc}); save the file again") from exc


def _cell_text(cell, shared: list[str]) -> str:
    kind, value = cell.get("t"), cell.find(f"{{{X}}}v")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{{{X}}}t"))
    if value is None or value.text is None:
        return ""
    if kind == "s":
        index = int(value.text)
        return shared[index] if 0 <= index < len(shared) else ""
    if kind == "b":
        return "TRUE" if value.text == "1" else "FALSE"
    text = value.text
    return text[:-2] if kind in (None, "n") and text.endswith(".0") else text  # 120.0 as people write it


def _column(reference: str) -> int:
    """A cell reference's column, from 0 ("C7": 2)."""
    number = 0
    for letter in re.match(r"[A-Z]*", reference).group():
        number = number * 26 + ord(letter) - 64
    return number - 1


def workbook_as_html(data: bytes, name: str) -> str:
    """An Excel workbook (.xlsx) as HTML the verifier reads: a heading and a table per sheet."""
    with _open_package(data, name, "Excel workbook", "xl/workbook.xml") as archive:
        shared = []
        if "xl/sharedStrings.xml" in archive.namelist():
            strings = _xml(archive, "xl/sharedStrings.xml", name)
            shared = ["".join(t.text or "" for t in item.iter(f"{{{X}}}t")) for item in strings.iter(f"{{{X}}}si")]
        parts = _relations(archive, "xl/workbook.xml")
        lines = []
        for sheet in _xml(archive, "xl/workbook.xml", name).iter(f"{{{X}}}sheet"):
            part = parts.get(sheet.get(f"{{{R}}}id") or "", ("", ""))[0]
            if part not in archive.namelist():
                continue
            root, links = _xml(archive, part, name), _links(archive, part)
            addresses = {link.get("ref"): links.get(link.get(f"{{{R}}}id") or "") for link in root.iter(f"{{{X}}}hyperlink")}
            title = escape(sheet.get("name") or "")
            lines.append(f'<section data-place="sheet {title}" data-line-offset="{len(lines) + 3}"><h2>{title}</h2>')
            lines.append("<table>")  # row n of the sheet on the n-th line after this one
            header = True
            for number, row in enumerate(root.iter(f"{{{X}}}row"), 1):
                lines += ["<tr></tr>"] * max(0, int(row.get("r") or number) - number)  # rows the sheet leaves out
                cells: dict[int, str] = {}
                for cell in row.iter(f"{{{X}}}c"):
                    reference = cell.get("r") or ""
                    text = escape(_cell_text(cell, shared))
                    if address := addresses.get(reference):
                        text = f'<a href="{escape(address)}">{text}</a>'
                    cells[_column(reference) if reference else len(cells)] = text
                if not any(cells.values()):
                    lines.append("<tr></tr>")
                    continue
                tag = "th" if header else "td"
                lines.append("<tr>" + "".join(f"<{tag}>{cells.get(i, '')}</{tag}>" for i in range(max(cells) + 1)) + "</tr>")
                header = False
            lines.append("</table></section>")
    return "<html><body>\n" + "\n".join(lines) + "\n</body></html>\n"


def _drawn_text(paragraph, links: dict[str, str]) -> str:
    """A slide paragraph's text as HTML, its hyperlinks with their addresses."""
    parts = []
    for node in paragraph.iter(f"{{{A}}}r", f"{{{A}}}br", f"{{{A}}}fld"):
        if node.tag == f"{{{A}}}br":
            parts.append(" ")
            continue
        text = escape("".join(t.text or "" for t in node.iter(f"{{{A}}}t")))
        click = node.find(f"{{{A}}}rPr/{{{A}}}hlinkClick")
        address = links.get(click.get(f"{{{R}}}id") or "") if click is not None else None
        parts.append(f'<a href="{escape(address)}">{text}</a>' if address else text)
    return "".join(parts).strip()


def _shapes(tree, links: dict[str, str], notes: bool = False) -> list[str]:
    """The lines of HTML for a slide's (or its notes') shapes: titles, paragraphs, tables."""
    lines = []
    for shape in tree.iter(f"{{{P}}}sp", f"{{{P}}}graphicFrame"):
        placeholder = shape.find(f"{{{P}}}nvSpPr/{{{P}}}nvPr/{{{P}}}ph")
        kind = placeholder.get("type") if placeholder is not None else None
        if kind in ("sldNum", "sldImg", "dt", "ftr", "hdr"):
            continue
        if shape.tag == f"{{{P}}}graphicFrame":
            rows = shape.iter(f"{{{A}}}tr")
            lines.append("<table>")
            for number, row in enumerate(rows):
                tag = "th" if number == 0 else "td"
                cells = [" ".join(_drawn_text(p, links) for p in cell.iter(f"{{{A}}}p")) for cell in row.iter(f"{{{A}}}tc")]
                lines.append("<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>")
            lines.append("</table>")
            continue
        paragraphs = [text for p in shape.iter(f"{{{A}}}p") if (text := _drawn_text(p, links))]
        if kind in ("title", "ctrTitle"):
            lines += [f"<h2>{' '.join(paragraphs)}</h2>"] if paragraphs else []
        elif notes:
            lines += [f"<p>{text}</p>" for text in paragraphs]
        else:
            lines += [f"<ul><li>{text}</li></ul>" for text in paragraphs]
    return lines


def deck_as_html(data: bytes, name: str) -> str:
    """A PowerPoint deck (.pptx) as HTML the verifier reads: slide after slide, then its notes."""
    with _open_package(data, name, "PowerPoint deck", "ppt/presentation.xml") as archive:
        slides = _relations(archive, "ppt/presentation.xml")
        lines = []
        for number, slide_id in enumerate(_xml(archive, "ppt/presentation.xml", name).iter(f"{{{P}}}sldId"), 1):
            part = slides.get(slide_id.get(f"{{{R}}}id") or "", ("", ""))[0]
            if part not in archive.namelist():
                continue
            lines.append(f'<section data-place="slide {number}" data-line="{number}">')
            lines += _shapes(_xml(archive, part, name), _links(archive, part))
            for target, mode in _relations(archive, part).values():
                if mode != "External" and "/notesSlides/" in f"/{target}" and target in archive.namelist():
                    lines += _shapes(_xml(archive, target, name), _links(archive, target), notes=True)
            lines.append("</section>")
    return "<html><body>\n" + "\n".join(lines) + "\n</body></html>\n"


BINARY_READERS = {".docx": word_as_html, ".xlsx": workbook_as_html, ".pptx": deck_as_html, ".pdf": pdf_as_html}
"""The binary files a review may come in, each read as HTML."""


def read_binary_review(path: Path) -> tuple[str, str] | None:
    """An Office file's or a PDF's readable content and format, or None for files read as text."""
    suffix = path.suffix.lower()
    if suffix in BINARY_READERS:
        return BINARY_READERS[suffix](path.read_bytes(), path.name), "html"
    return None
