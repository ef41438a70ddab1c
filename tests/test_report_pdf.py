"""The PDF review read back: its body (before the appendix and references) within 30 pages,
no table row split across pages, and no character drawn as a box."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="module")
def pdf(built_home, tmp_path_factory):
    from curemap.profile import load_profile
    from curemap.report import build_report, render_html
    from curemap.report.render import printable, render_pdf
    from curemap.store import Store

    home = tmp_path_factory.mktemp("pdf-home")
    shutil.copytree(built_home, home, dirs_exist_ok=True)
    store = Store.open(home)
    try:
        html = render_html(build_report(store, load_profile()))
    finally:
        store.close()
    path = home / "report.pdf"
    render_pdf(html, path)
    return {"path": path, "html": printable(html)}


def _outline(reader):
    def walk(items):
        for item in items:
            if isinstance(item, list):
                yield from walk(item)
            else:
                yield item.title, reader.get_destination_page_number(item) + 1

    return dict(walk(reader.outline))


def test_pdf_body_fits_30_pages_with_a_paged_contents(pdf):
    from pypdf import PdfReader

    reader = PdfReader(pdf["path"])
    headings = _outline(reader)
    body_pages = headings["Appendix: every trial, paper and overdue result"] - 1
    assert body_pages <= 30, body_pages
    assert headings["References"] > body_pages
    # the contents carry page numbers
    first = reader.pages[0].extract_text()
    assert "Summary for people with MS" in first and str(headings["Emerging directions"]) in first


def test_pdf_draws_no_replacement_boxes(pdf):
    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    from curemap.report.render import PDF_FONT

    covered = set(TTFont(PDF_FONT).getBestCmap())
    text = "".join(page.extract_text() for page in PdfReader(pdf["path"]).pages)
    assert "\ufffd" not in text
    missing = {c for c in text if not c.isspace() and ord(c) not in covered}
    assert not missing, sorted(missing)[:20]


def test_pdf_keeps_every_table_row_on_one_page(pdf):
    """Each row's boxes lie on one page: read from the laid-out document that wrote the PDF."""
    from weasyprint import HTML

    document = HTML(string=pdf["html"]).render()
    pages_of: dict[int, set[int]] = {}

    def walk(box, page):
        if getattr(box, "is_header", False):  # a header row is repeated on each page by design
            return
        if type(box).__name__ == "TableRowBox" and box.element is not None:
            pages_of.setdefault(id(box.element), set()).add(page)
        for child in getattr(box, "children", []) or []:
            walk(child, page)

    for number, page in enumerate(document.pages):
        walk(page._page_box, number)
    assert len(pages_of) > 300
    assert all(len(pages) == 1 for pages in pages_of.values())
