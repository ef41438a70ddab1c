"""The review as Markdown, as one self-contained HTML file (styles and SVG charts inline, no
script, nothing fetched), and as PDF through WeasyPrint. Source text is escaped by each:
Markdown-escaped in Markdown, HTML-escaped by Jinja's autoescape in HTML and so in PDF."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from curemap.report.facts import Block, Report, Section, Statement
from curemap.wording import markers

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)
PDF_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
"""The font the PDF is set in (Debian's fonts-dejavu-core); characters it lacks are replaced visibly."""
MISSING_GLYPH = "[?]"

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md_escape(text: str) -> str:
    """Backslash-escape the characters Markdown (and the HTML inside it) would act on."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def marker(statement: Statement, report: Report) -> list[tuple[str, str]]:
    """A statement's citation marker as (text, link target) parts: "[3]", "[4–6]", "[Table A2]",
    or "[data]" for a count over the whole store (the edition's data, named under About)."""
    if statement.see:
        return [("[", ""), (report.labels[statement.see], f"#{statement.see}"), ("]", "")]
    if statement.cites:
        numbers = sorted(report.numbers[c] for c in statement.cites)
        parts: list[tuple[str, str]] = []
        for piece in re.split(r"(\d+)", markers(numbers)):
            parts.append((piece, f"#ref-{piece}" if piece.isdigit() else ""))
        return [p for p in parts if p[0]]
    if statement.basis:
        return [("[", ""), ("data", "#about"), ("]", "")]
    return []


def _end(statement: Statement) -> str:
    return "" if statement.text.endswith((":", ".", "?")) else "."


def _md_statement(statement: Statement, report: Report) -> str:
    text = md_escape(statement.text)
    mark = "".join(t for t, _ in marker(statement, report))
    return text + (" " + md_escape(mark) if mark else "") + _end(statement)


def _md_table(block: Block, report: Report) -> list[str]:
    cites = block.row_cites or [None] * len(block.rows)
    header = block.header + (["ref"] if any(cites) else [])
    lines = []
    if block.label:
        lines.append(f'<a id="{block.anchor}"></a>')
    caption = " ".join(_md_statement(s, report) for s in block.statements)
    lines += [f"*{md_escape(block.label) + ': ' if block.label else ''}{caption}*", ""]
    lines.append("| " + " | ".join(md_escape(h) for h in header) + " |")
    lines.append("|" + "---|" * len(header))
    for row, cite in zip(block.rows, cites):
        cells = [md_escape(c) for c in row] + ([md_escape(f"[{report.numbers[cite]}]") if cite else ""] if any(cites) else [])
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _md_block(block: Block, report: Report) -> list[str]:
    if block.kind == "paragraph":
        return [" ".join(_md_statement(s, report) for s in block.statements), ""]
    if block.kind == "list":
        return [f"- {_md_statement(s, report)}" for s in block.statements] + [""]
    return _md_table(block, report)


def _md_section(section: Section, level: int, report: Report) -> list[str]:
    lines = [f"{'#' * level} {md_escape(section.title)}", ""]
    if section.anchor == "about":
        lines += [_about_md(report), ""]
    for block in section.blocks:
        lines += _md_block(block, report)
    for sub in section.subsections:
        lines += _md_section(sub, level + 1, report)
    return lines


def _about_md(report: Report) -> str:
    return (
        f"Built from snapshot `{report.snapshot}` (content hash `{report.snapshot_hash}`)"
        + (f"; registry data as of {report.data_date}" if report.data_date else "")
        + (f"; changes since snapshot `{report.since}`" if report.since else "")
        + f". Report content hash `{content_hash(report)}`. Every statement is assembled from the records in the "
        "store and cites them by number; a statement resting on more than three records cites the table that lists "
        "them, and [data] marks a count over all the records of this snapshot."
    )


def content_hash(report: Report) -> str:
    """sha256 of the review's statements and citations: equal for equal content."""
    digest = hashlib.sha256()
    for statement in report.statements():
        digest.update(f"{statement.text}\x1f{','.join(statement.cites)}\x1f{statement.basis}\n".encode())
    return digest.hexdigest()


def render_markdown(report: Report) -> str:
    lines = [f"# {md_escape(report.title)}", ""]
    for section in [*report.sections, *report.appendix]:
        lines += _md_section(section, 2, report)
    lines += ["## References", ""]
    lines += [
        f"{ref['number']}. {md_escape(ref['text'])}" + (f" <{ref['url']}>" if ref["url"] else "")
        for ref in report.references
    ]
    return "\n".join(lines) + "\n"


def render_html(report: Report, *, dashboard: bool = False) -> str:
    """The review as one HTML page; ``dashboard`` links trials and strategies to their pages
    (for the served copy, where those pages exist)."""
    return TEMPLATES.get_template("report.html").render(
        report=report, content_hash=content_hash(report), marker=lambda s: marker(s, report), end=_end,
        dashboard=dashboard,
    )


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(PDF_FONT, lazy=True).getBestCmap()) if PDF_FONT.is_file() else frozenset()


def printable(text: str) -> str:
    """The text with every character the PDF font lacks replaced: by its compatibility form
    (full-width brackets become ASCII ones) where the font has that, else visibly by "[?]",
    never by an empty box."""
    covered = _covered()
    if not covered:
        return text

    def replace(match: re.Match) -> str:
        char = match.group()
        if ord(char) in covered:
            return char
        folded = unicodedata.normalize("NFKC", char)
        return folded if all(ord(c) in covered for c in folded) else MISSING_GLYPH

    return re.sub(r"[^\x00-\x7e]", replace, text)


def render_pdf(html: str, path: Path) -> None:
    from weasyprint import HTML

    HTML(string=printable(html)).write_pdf(path)
