"""PubMed/MEDLINE XML against the three real NLM files in shared/data/pubmed."""

from __future__ import annotations

import functools
import gzip
import io
import threading
import time
from dataclasses import fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lxml import etree

from curemap.errors import InputError
from curemap.model import Author, MeshHeading, Paper, PartialDate
from curemap.sources import pubmed_xml
from curemap.sources.pubmed_xml import COVERS, iter_records, looks_like, parse_pubmed_date, records_from_text
from tests.conftest import SHARED_DATA

PUBMED = SHARED_DATA / "pubmed"
EFETCH_FILE = PUBMED / "pubmed-29768149.xml"
CURRENT_FILE = PUBMED / "test_current_medline.xml.gz"
BASELINE_FILE = PUBMED / "medline16n0902.xml.gz"


@functools.cache
def records(path) -> tuple:
    return tuple(iter_records(path, path.name))


def papers(path) -> dict[str, Paper]:
    return {r.paper.pmid: r.paper for r in records(path) if r.paper is not None}


def article_xml(pmid: str) -> str:
    """One real MedlineCitation of the baseline file, serialised."""
    return next(r.raw for r in records(BASELINE_FILE) if r.paper is not None and r.paper.pmid == pmid)


def test_each_file_gives_every_article_and_no_error():
    counts = {}
    for path in (EFETCH_FILE, CURRENT_FILE, BASELINE_FILE):
        found = records(path)
        assert [r.error for r in found if r.error] == []
        counts[path.name] = sum(r.paper is not None for r in found)
    assert counts == {EFETCH_FILE.name: 1, CURRENT_FILE.name: 4, BASELINE_FILE.name: 604}


def test_an_efetch_article_is_read_whole():
    [record] = records(EFETCH_FILE)
    paper = record.paper
    assert (record.source, record.source_id, record.origin) == ("pubmed", "PMID:29768149", EFETCH_FILE.name)
    assert record.covers == COVERS == frozenset(f.name for f in fields(Paper)) - {"id", "source"}
    assert (paper.id, paper.pmid, paper.pmcid) == ("PMID:29768149", "29768149", None)
    assert paper.doi == "10.1056/NEJMoa1715274"
    assert paper.title == "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma."
    assert paper.journal == "The New England journal of medicine"
    assert paper.citation == "N Engl J Med. 2018 May 17;378(20):1865-1876. doi: 10.1056/NEJMoa1715274."
    assert paper.published == PartialDate("2018-05-17", "day")
    assert paper.language == "eng"
    assert paper.trial_ids == ["NCT02149199"]
    assert [a.last_name for a in paper.authors[:3]] == ["O'Byrne", "FitzGerald", "Bateman"]
    assert paper.authors[0].fore_name == "Paul M" and paper.authors[0].initials == "PM"
    assert paper.authors[0].affiliations[0].startswith("From the Firestone Institute for Respiratory Health")
    assert len(paper.authors) == 10
    assert paper.publication_types[0] == "Clinical Trial, Phase III" and len(paper.publication_types) == 6
    mesh = {m.descriptor: m for m in paper.mesh}
    assert mesh["Asthma"] == MeshHeading("Asthma", True, ["drug therapy"])  # major through its qualifier
    assert mesh["Adolescent"] == MeshHeading("Adolescent", False, [])
    assert mesh["Bronchodilator Agents"].qualifiers == ["administration & dosage", "adverse effects"]
    assert record.raw.startswith("<PubmedArticle>") and record.raw.endswith("</PubmedArticle>")
    assert etree.fromstring(record.raw).findtext("MedlineCitation/PMID") == "29768149"


def test_a_structured_abstract_keeps_its_labels_and_joins_by_the_documented_rule():
    paper = papers(EFETCH_FILE)["29768149"]
    assert [s.label for s in paper.abstract_sections] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    first = paper.abstract_sections[0].text
    assert first.startswith("In patients with mild asthma, as-needed use of an inhaled glucocorticoid")
    assert "a fast-acting β 2-agonist may be" in first  # β<sub>2</sub> across a pretty-printed line break
    assert paper.abstract == "\n\n".join(f"{s.label}: {s.text}" for s in paper.abstract_sections)
    assert paper.abstract.startswith("BACKGROUND: In patients with mild asthma")
    assert "(Funded by AstraZeneca; SYGMA 1 ClinicalTrials.gov number, NCT02149199 .)." in paper.abstract

    baseline = papers(BASELINE_FILE)
    lancet = baseline["25998582"]
    assert [(s.label, s.category) for s in lancet.abstract_sections] == [
        ("BACKGROUND", "BACKGROUND"),
        ("METHODS", "METHODS"),
        ("FINDINGS", "RESULTS"),
        ("INTERPRETATION", "CONCLUSIONS"),
        ("FUNDING", "BACKGROUND"),
    ]
    unstructured = baseline["26702334"]
    assert [(s.label, s.category) for s in unstructured.abstract_sections] == [(None, None)]
    assert unstructured.abstract == unstructured.abstract_sections[0].text


def test_current_efetch_articles_match_the_file():
    found = papers(CURRENT_FILE)
    assert {pmid: (p.doi, p.pmcid, p.published, p.journal) for pmid, p in found.items()} == {
        "36400559": ("10.1016/j.ncl.2022.07.002", None, PartialDate("2023-02", "month"), "Neurologic clinics"),
        "2930949": (None, "PMC1306303", PartialDate("1985-08", "month"), "The Western journal of medicine"),
        "11446611": (
            "10.7861/clinmedicine.1-3-188",
            "PMC4951901",
            PartialDate("2001-05", "month"),  # <Season>May-Jun</Season>: the first month
            "Clinical medicine (London, England)",
        ),
        "28786991": ("10.1371/journal.pone.0180707", "PMC5546677", PartialDate("2017", "year"), "PloS one"),
    }
    assert found["2930949"].title == "Low back pain."
    assert found["11446611"].abstract is None and found["11446611"].abstract_sections == []
    assert found["11446611"].citation == "Clin Med (Lond). 2001 May-Jun;1(3):188-9. doi: 10.7861/clinmedicine.1-3-188."
    assert found["36400559"].keywords == ["Back pain", "Diagnosis", "Management", "Outpatient"]
    assert found["36400559"].citation == "Neurol Clin. 2023 Feb;41(1):61-76. doi: 10.1016/j.ncl.2022.07.002."
    assert found["28786991"].publication_types == ["Journal Article", "Meta-Analysis", "Review", "Systematic Review"]


def test_baseline_citations_match_the_file():
    found = papers(BASELINE_FILE)
    first = found["17942999"]
    assert first.title.startswith("Neuroplasticity in the processing of pitch dimensions")
    assert first.published == PartialDate("2007", "year")
    assert first.pmcid == "PMC4380289"  # from <OtherID Source="NLM">, the baseline file has no PubmedData
    assert first.grants[0].grant_id == "R01 DC008549" and first.grants[0].country == "United States"
    assert first.citation == "Restor Neurol Neurosci. 2007;25(3-4):195-210."
    assert found["25998582"].doi == "10.1016/S0140-6736(15)60933-3"
    assert found["25998582"].published == PartialDate("2015-07-25", "day")
    ms = [found["26702334"], found["26702336"]]  # the manifest's MS-mentioning PMIDs
    assert [p.title for p in ms] == [
        "Reviewing the Unmet Needs of Patients with Multiple Sclerosis.",
        "The Latest Innovations in the Drug Pipeline for Multiple Sclerosis.",
    ]
    assert sum(p.abstract is not None for p in found.values()) == 526  # as MANIFEST.csv counts
    assert sum(bool(p.mesh) for p in found.values()) == 94
    assert sum(p.language == "ita" for p in found.values()) == 18


def test_medline_dates_give_the_first_date_at_its_precision():
    found = papers(BASELINE_FILE)
    assert found["18621939"].published == PartialDate("2008-07", "month")  # 2008 Jul-Aug
    assert found["26702167"].published == PartialDate("2015-10", "month")  # 2015 Oct-Dec
    assert found["26702503"].published == PartialDate("2016-01", "month")  # 2016 Jan-Feb
    assert found["26702503"].citation.split(";")[0].endswith(". 2016 Jan-Feb")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1998 Dec-1999 Jan", PartialDate("1998-12", "month")),
        ("2000 Spring", PartialDate("2000", "year")),
        ("2020 Fall", PartialDate("2020", "year")),
        ("2016 Jan-Feb", PartialDate("2016-01", "month")),
        ("2015 Nov 30-Dec 6", PartialDate("2015-11-30", "day")),
        ("2021 Feb 12", PartialDate("2021-02-12", "day")),
        ("1999-2000", PartialDate("1999", "year")),
        ("2007 Something else", PartialDate("2007", "year")),
        ("Spring 2000", None),
        ("", None),
    ],
)
def test_written_pubmed_dates(text, expected):
    assert parse_pubmed_date(text) == expected


def test_data_bank_accession_numbers_of_trial_registries_become_trial_ids():
    found = papers(BASELINE_FILE)
    assert found["25998582"].trial_ids == ["2010-019469-26", "ISRCTN69423238"]  # EudraCT and ISRCTN
    assert found["21933749"].trial_ids == ["NCT00585195"]
    assert found["25371206"].trial_ids == []  # a PDB accession is not a trial
    assert sum(bool(p.trial_ids) for p in found.values()) == 6


def test_collective_authors_are_kept():
    found = papers(BASELINE_FILE)
    authors = found["25345997"].authors
    assert Author(collective="Movement Disorder Group") in authors
    assert sum(any(a.collective for a in p.authors) for p in found.values()) == 8


def test_a_delete_citation_withdraws_its_pmid():
    [deletion] = [r for r in records(BASELINE_FILE) if r.deleted]
    assert (deletion.source, deletion.source_id) == ("pubmed", "PMID:26432306")
    assert deletion.paper is None and deletion.error is None
    assert deletion.raw == '<PMID Version="1">26432306</PMID>'


def test_a_bad_article_is_an_error_record_and_the_others_still_come():
    good = article_xml("17942999")
    bad_date = article_xml("26255087").replace("<Month>Oct</Month>", "<Month>13</Month>")
    no_pmid = article_xml("18621939").replace('<PMID Version="1">18621939</PMID>', "")
    document = f"<MedlineCitationSet>{bad_date}{no_pmid}{good}</MedlineCitationSet>".encode()
    found = list(iter_records(io.BytesIO(document), "bad.xml"))
    assert [(r.source_id, r.error is None) for r in found] == [
        ("PMID:26255087", False),
        ("article 2", False),
        ("PMID:17942999", True),
    ]
    assert found[0].error == "PMID:26255087: PubDate '2015 13' is not a date"
    assert found[1].error == "article 2: the citation has no PMID"
    assert "<Month>13</Month>" in found[0].raw  # the verbatim article, for the rejection report


def test_a_book_chapter_is_reported_not_imported():
    document = b"""<PubmedArticleSet><PubmedBookArticle><BookDocument><PMID Version="1">20301295</PMID>
<ArticleTitle>A chapter</ArticleTitle></BookDocument></PubmedBookArticle></PubmedArticleSet>"""
    [record] = list(iter_records(io.BytesIO(document), "books.xml"))
    assert (record.source_id, record.error) == ("PMID:20301295", "PMID:20301295: a book chapter, not an article")


def test_a_truncated_file_yields_the_articles_before_the_break_then_refuses_the_file(tmp_path):
    data = gzip.decompress(BASELINE_FILE.read_bytes())
    cut = data[: len(data) // 2]
    found = []
    complete = cut.count(b"</MedlineCitation>")
    with pytest.raises(InputError, match=f"^half.xml: the XML is cut off or malformed after {complete} records \\(XMLSyntaxError"):
        found.extend(iter_records(io.BytesIO(cut), "half.xml"))
    # What came before the break was read, for the import to roll back: the file lands whole or not at all.
    assert [r.paper.pmid for r in found] == [p.pmid for p in list(papers(BASELINE_FILE).values())[:complete]]

    cut_gzip = tmp_path / "cut.xml.gz"
    cut_gzip.write_bytes(BASELINE_FILE.read_bytes()[:200_000])
    found = []
    with pytest.raises(InputError, match="^cut.xml.gz: the XML is cut off or malformed after [0-9]+ records"):
        found.extend(iter_records(cut_gzip, "cut.xml.gz"))
    assert len(found) > 50 and all(r.paper is not None for r in found)


def test_records_from_text_refuses_a_document_cut_off_mid_transfer():
    text = EFETCH_FILE.read_text()
    assert [r.source_id for r in records_from_text(text, "efetch")] == ["PMID:29768149"]
    with pytest.raises(ValueError, match="cut off or malformed"):
        records_from_text(text[: len(text) // 2], "efetch")


@pytest.fixture
def network_canary():
    """A server on 127.0.0.1 that counts every request made to it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<!ENTITY leaked 'LEAKED'>")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def hostile(declarations: str, title: str) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [
{declarations}
]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>
<ArticleTitle>{title}</ArticleTitle></Article></MedlineCitation></PubmedArticle>
</PubmedArticleSet>""".encode()


LAUGHS = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))


def test_a_billion_laughs_is_refused_quickly_and_never_expanded():
    started = time.monotonic()
    with pytest.raises(InputError, match="^laughs.xml: the XML is cut off or malformed after 0 records"):
        list(iter_records(io.BytesIO(hostile(LAUGHS, "A &lol9; B")), "laughs.xml"))
    assert time.monotonic() - started < 1
    [small] = list(iter_records(io.BytesIO(hostile(LAUGHS, "A &lol3; B")), "laughs.xml"))
    assert small.paper.title == "A &lol3; B"  # the reference is left as written


def test_external_entities_and_dtds_are_never_read(network_canary):
    url, hits = network_canary
    declarations = f"""<!ENTITY passwd SYSTEM "file:///etc/passwd">
<!ENTITY remote SYSTEM "{url}/remote">
<!ENTITY % param SYSTEM "{url}/param">
%param;"""
    document = hostile(declarations, "A &passwd; B &remote; C").replace(
        b"<!DOCTYPE PubmedArticleSet [", f'<!DOCTYPE PubmedArticleSet SYSTEM "{url}/pubmed.dtd" ['.encode()
    )
    [record] = list(iter_records(io.BytesIO(document), "hostile.xml"))
    assert record.paper.title == "A &passwd; B &remote; C"
    assert "root:" not in record.raw and "LEAKED" not in record.raw
    assert hits == []


def test_looks_like_knows_both_roots_and_nothing_else():
    assert looks_like(EFETCH_FILE.read_bytes()[:1024])
    assert looks_like(gzip.decompress(CURRENT_FILE.read_bytes())[:1024])
    assert looks_like(gzip.decompress(BASELINE_FILE.read_bytes())[:1024])
    assert looks_like(b"\xef\xbb\xbf\n<PubmedArticleSet><PubmedArticle>")
    assert not looks_like(b"pmid,title,citation,abstract\n")
    assert not looks_like(b'{"studies": []}')
    assert not looks_like(b'<?xml version="1.0"?><eFetchResult><ERROR>x</ERROR></eFetchResult>')


def test_a_path_and_a_stream_give_the_same_records():
    from_path = records(BASELINE_FILE)
    from_stream = list(iter_records(io.BytesIO(gzip.decompress(BASELINE_FILE.read_bytes())), BASELINE_FILE.name))
    assert [r.raw for r in from_stream] == [r.raw for r in from_path]


def test_paper_ids_prefer_the_pmid_and_fold_doi_case():
    assert pubmed_xml.paper_id("123", "10.1/X") == "PMID:123"
    assert pubmed_xml.paper_id(None, "10.1056/NEJMoa1715274") == "DOI:10.1056/nejmoa1715274"
    assert pubmed_xml.paper_id(None, None) is None
