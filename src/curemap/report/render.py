"""The review as Markdown, as one self-contained HTML file (styles and SVG charts inline, no
script, nothing fetched), and as PDF through WeasyPrint. Source text is escaped by each:
Markdown-escaped in Markdown, HTML-escaped by Jinja's autoescape in HTML and so in PDF."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from curemap.report.facts import Block, Report, Section, Statement
from curemap.wording import citation_label

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md_escape(text: str) -> str:
    """Backslash-escape the characters Markdown (and the HTML inside it) would act on."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _end(statement: Statement) -> str:
    return "" if statement.text.endswith((":", ".")) and not statement.cites else "."


def _md_statement(statement: Statement) -> str:
    text = md_escape(statement.text)
    if statement.cites:
        text += " (" + ", ".join(md_escape(citation_label(c)) for c in statement.cites) + ")"
    if statement.basis:
        text += f" \\[{statement.basis}\\]"
    return text


def _md_block(block: Block) -> list[str]:
    if block.kind == "paragraph":
        return [" ".join(_md_statement(s) + _end(s) for s in block.statements), ""]
    if block.kind == "list":
        return [f"- {_md_statement(s)}" for s in block.statements] + [""]
    lines = [f"*{' '.join(_md_statement(s) + _end(s) for s in block.statements)}*", ""]
    lines.append("| " + " | ".join(md_escape(h) for h in block.header) + " |")
    lines.append("|" + "---|" * len(block.header))
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in block.rows]
    return lines + [""]


def _md_section(section: Section, level: int) -> list[str]:
    lines = [f"{'#' * level} {md_escape(section.title)}", ""]
    for block in section.blocks:
        lines += _md_block(block)
    for sub in section.subsections:
        lines += _md_section(sub, level + 1)
    return lines


def content_hash(report: Report) -> str:
    """sha256 of the review's statements and citations: equal for equal content."""
    digest = hashlib.sha256()
    for statement in report.statements():
        digest.update(f"{statement.text}\x1f{','.join(statement.cites)}\x1f{statement.basis}\n".encode())
    return digest.hexdigest()


def render_markdown(report: Report) -> str:
    lines = [
        f"# {md_escape(report.title)}",
        "",
        f"Built from snapshot `{report.snapshot}` (content hash `{report.snapshot_hash}`)"
        + (f"; registry data as of {report.data_date}" if report.data_date else "")
        + (f"; changes since snapshot `{report.since}`" if report.since else "")
        + f". Report content hash `{content_hash(report)}`.",
        "",
    ]
    for section in report.sections:
        lines += _md_section(section, 2)
    lines += ["## References", ""]
    lines += [
        f"{n}. {md_escape(ref['label'])}: {md_escape(ref['title'])}" + (f" <{ref['url']}>" if ref["url"] else "")
        for n, ref in enumerate(report.references, start=1)
    ]
    return "\n".join(lines) + "\n"


def _anchor(record_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", record_id)


def render_html(report: Report) -> str:
    return TEMPLATES.get_template("report.html").render(
        report=report, content_hash=content_hash(report), anchor=_anchor, label=citation_label, end=_end
    )


def render_pdf(html: str, path: Path) -> None:
    from weasyprint import HTML

    HTML(string=html).write_pdf(path)
