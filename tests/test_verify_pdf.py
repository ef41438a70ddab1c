"""Reviews shared as PDF files: laid out by a real typesetter (WeasyPrint, which the report
already uses), read back by the verifier page by page, each problem placed by page and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from curemap.errors import InputError
from curemap.verify import verify_path

STYLE = """<style>
@page { size: A4; margin: 20mm 16mm; @top-center { content: "Neurology Reviews 2025; 12: 101-104"; font-size: 8pt }
        @bottom-center { content: counter(page); font-size: 8pt } }
body { font: 10pt/1.35 serif } h1 { font-size: 18pt } h2 { font-size: 13pt }
.columns { columns: 2; column-gap: 8mm } table { border-collapse: collapse } td, th { border: 0.6pt solid black; padding: 2pt }
</style>"""


def _pdf(tmp_path: Path, name: str, body: str, style: str = STYLE) -> Path:
    from weasyprint import HTML

    path = tmp_path / name
    HTML(string=f"<html><head><meta charset='utf-8'>{style}</head><body>{body}</body></html>").write_pdf(path)
    return path


def _cited(result: dict) -> dict[str, dict]:
    return {c["ref"]: c for c in result["citations"]}


def test_a_two_column_article_is_read_column_by_column_with_its_table_notes_and_links(built_store, profile, tmp_path):
    """A journal article as it is printed: two columns under a full-width title, a running head
    and page numbers, superscript citations of a numbered reference list (one DOI broken at the
    line's end), a ruled table whose header names its columns, and a link whose id is only in its
    address. The claims are read where they stand and each problem says its page and line."""
    padding = "<p>" + "Lasting remission is the aim of every strategy reviewed here. " * 6 + "</p>"
    review = _pdf(tmp_path, "immune-reset-review.pdf", f"""
<h1>Immune reset for multiple sclerosis: where the trials stand</h1>
<div class="columns">
<h2>Transplantation</h2>
<p>BEAT-MS, a phase 3 trial sponsored by NIAID, is still recruiting 156 people (NCT04047628).
HALT-MS (NCT00288626) enrolled 35 participants and has finished.</p>
{padding}
<p>The 1,000th transplant of one programme was reported in 2021; the response rate at 12 months
was 88% in relapsing-remitting disease<sup>1</sup>.</p>
<p>The <a href="https://clinicaltrials.gov/study/NCT06451159">KYV-101 study</a> is a
phase I/II trial led by Bruce Cree at UCSF.</p>
{padding}
<table><tr><th>Trial</th><th>Registration</th><th>Phase</th><th>Status</th><th>n</th></tr>
<tr><td>MOST</td><td>NCT03342638</td><td>3</td><td>Recruiting</td><td>66</td></tr></table>
<h2>References</h2>
<ol><li>Ruiz-Argüelles GJ et al. The 1,000th transplant for multiple sclerosis. Front Neurol 2021.
doi:10.3389/fneur.2021.647425</li></ol>
</div>""")
    result = verify_path(built_store, profile, review)
    cited = _cited(result)
    fields = {ref: sorted(p["field"] for p in c["problems"]) for ref, c in cited.items()}
    assert fields["NCT04047628"] == []  # phase 3, NIAID, recruiting, 156
    assert fields["NCT00288626"] == ["enrollment"]  # 25 enrolled
    assert fields["NCT06451159"] == ["phase"]  # the registry says phase 1
    assert fields["NCT03342638"] == ["status"]  # terminated, read under the table's "Status" column
    (paper,) = [c for ref, c in cited.items() if "647425" in ref or ref == "PMID:33692748"]
    assert [p["field"] for p in paper["problems"]] == ["figure"]  # 93%, reached through the superscript 1
    hall = cited["NCT00288626"]["problems"][0]
    assert hall["place"].startswith("page 1, line ") and hall["quote"] == "enrolled 35"
    assert "Neurology Reviews" not in " ".join(p["quote"] for c in cited.values() for p in c["problems"])


def test_a_thesis_pages_footnotes_and_a_table_beside_its_names_are_read_as_printed(built_store, profile, tmp_path):
    """Footnotes in small print at a page's foot ("5 NCT01973491; completed in 2016.") are the
    entries the body's superscripts cite, each read on its own (a DOI at a note's end is not run
    into the next note's number); a table of short names and wide cells is one table, not a
    column of names beside it."""
    notes = "font-size: 7.5pt"
    rows = "".join(
        f"<tr><td>{name}</td><td>{sponsor}</td><td>{trial}</td><td>{phase}</td><td>{status}</td><td>{n}</td></tr>"
        for name, sponsor, trial, phase, status, n in (
            ("CC-97540 (NEX-T)", "BMS (Juno)", "NCT06220201", "Phase 1", "Recruiting", "120"),
            ("YTB323, second study", "Kite / Gilead", "NCT06675864", "Phase I/II", "Recruiting", "28"),
            ("CABA-201 (RESET-MS)", "Cabaletta Bio", "NCT07006805", "Phase 1/2", "Recruiting", "12"),
            ("Obe-cel", "Autolus", "NCT07139743", "Phase 1", "Recruiting", "18"),
            ("MB-CART2019.1", "Miltenyi", "NCT07178431", "Phase 1/2", "Not yet open", "46"),
            ("IDP-023 g-NK", "Indapta", "NCT06677710", "Phase 1", "Suspended", "34"),
        ) * 2
    )
    thesis = _pdf(tmp_path, "thesis-chapter.pdf", f"""
<h2>3.2 Peptide tolerance</h2>
<p>ATX-MS-1467 was first tested in a phase I study of 43 patients<sup>1</sup> and then in a phase II
study of 37 patients sponsored by Apitope.<sup>2</sup> A pilot trial of N-acetyl cysteine for fatigue
randomised 15 patients: adverse events occurred in 40% on NAC against 80% on placebo.<sup>3</sup></p>
{"<p>" + "Tolerance asks the immune system to accept myelin again rather than to forget everything. " * 12 + "</p>"}
<p style="margin-top: 20mm; {notes}">1 NCT01097668, Apitope Technology (Bristol) Ltd; completed.<br>
2 NCT01973491; completed in 2016.<br>3 Ann Clin Transl Neurol 2021, doi:10.1002/acn3.51325.<br>
4 NCT05122559, phase 2.</p>
<h2>Competitive landscape</h2>
<table style="border: none"><tr><td>Programme</td><td>Sponsor</td><td>Registry ID</td><td>Phase</td><td>Status</td><td>N</td></tr>{rows}</table>
""", STYLE.replace("td, th { border: 0.6pt solid black; padding: 2pt }", "td { padding: 1pt 6pt }"))
    fields = {ref: sorted(p["field"] for p in c["problems"]) for ref, c in _cited(verify_path(built_store, profile, thesis)).items()}
    assert fields["NCT01973491"] == ["sponsor"]  # the MerckKGaA-run phase 2, cited by note 2
    assert fields["doi:10.1002/acn3.51325"] == ["figure"]  # 60% on NAC, says the abstract; the DOI ends where note 4 begins
    assert fields["NCT05122559"] == []
    assert fields["NCT06675864"] == ["sponsor"] and fields["NCT07178431"] == ["enrollment"]  # Novartis's; 25
    assert fields["NCT06220201"] == [] and fields["NCT06677710"] == []


def test_slides_bullets_printed_as_characters_each_open_an_item(built_store, profile, tmp_path):
    """A slide's bullets typed as "•" and running the slide's full width: the next "•" opens its
    own item, so one trial's count is not read with the trial before it."""
    slide = _pdf(tmp_path, "slides.pdf", """<h1>CAR-T: who is doing what</h1><p style="font-size: 16pt">
• LCAR-AIO, Wuhan Union Hospital with Legend (NCT06869278): phase 1, recruiting, 37 patients in MS and NMOSD<br>
• Kyverna EU arm (2024-511168-10-00): phase 2, about 90 patients, not yet recruiting, across Europe<br>
• CARE-MS II (NCT00548405): phase III, Genzyme with Bayer, 820 enrolled, relapsing MS</p>""",
        STYLE.replace("size: A4;", "size: A4 landscape;"))
    fields = {ref: sorted(p["field"] for p in c["problems"]) for ref, c in _cited(verify_path(built_store, profile, slide)).items()}
    assert fields == {"NCT06869278": [], "2024-511168-10-00": [], "NCT00548405": ["enrollment"]}  # 840 enrolled


def test_pdf_lines_keep_ids_whole_and_drop_only_what_repeats(tmp_path):
    """An id broken at a hyphen or an address broken at the line's end is made whole; a word
    broken at its own hyphen keeps it; a superscript never runs into the id before it; the
    running head and page numbers are left out, the lines counted."""
    from curemap.verify.pdf import pdf_as_html

    narrow = "<div style='width: 62mm'>"
    review = _pdf(tmp_path, "notes.pdf", f"""{narrow}
<p>Its European record is EU CT 2024-515470-26-00 and it is recruiting, a three-patient study.</p>
<p>See https://doi.org/10.3389/fneur.2021.647425 for the cohort and NCT04047628<sup>3</sup> for BEAT-MS.</p>
<p style="font-size: 8pt">1. Goodman AD, et al. Neurofilament light chain in a phase 2 clinical trial of ibudilast in
progressive multiple sclerosis. <a href="https://doi.org/10.1177/1352458520986956">doi:10.1177/1352458520986956</a>. PMID: 33635141.</p>
<p style="page-break-before: always">A second page, which is recruiting.</p></div>""")
    html = pdf_as_html(review.read_bytes(), review.name)
    text = " ".join(html.split())
    assert "2024-515470-26-00" in text and "10.3389/fneur.2021.647425" in text
    assert "NCT04047628[3]" in text and "three-patient" in text
    assert "PMID: 33635141." in text and "Neurofilament light chain in a phase 2" in text  # small print's lines kept apart
    assert "Neurology Reviews" not in html
    assert html.count('data-unit="line"') == 2 and 'data-place="page 2"' in html


def test_a_pdf_that_cannot_be_read_is_refused_with_what_to_do(built_store, profile, tmp_path):
    (tmp_path / "review.pdf").write_bytes(b"%PDF-1.7\n")
    with pytest.raises(InputError, match="review.pdf: not a readable PDF .* export the review as HTML"):
        verify_path(built_store, profile, tmp_path / "review.pdf")
    scanned = _pdf(tmp_path, "scanned.pdf", "<div style='width: 40mm; height: 30mm; background: black'></div>", style="")  # a page that is only an image
    with pytest.raises(InputError, match="scanned.pdf: the PDF holds no text .* text recognition"):
        verify_path(built_store, profile, scanned)


def test_a_pdfs_text_comes_back_escaped_in_the_annotated_copy(tmp_path, built_home, cli):
    review = _pdf(tmp_path, "hostile.pdf", "<p>&lt;script&gt;alert(1)&lt;/script&gt; HALT-MS (NCT00288626) enrolled 35 people.</p>")
    out = tmp_path / "annotated.html"
    result = cli("--home", built_home, "verify", review, "--offline", "--format", "html", "--out", out)
    assert result.exit_code == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<mark class="problem"' in page and "the record says 25" in page
