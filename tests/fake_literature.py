"""A fake NCBI E-utilities and Europe PMC on 127.0.0.1 that serve the real PubMed records in shared/data.

Every query finds the same corpus: the 609 real articles of ``shared/data/pubmed``
(the efetch-shaped files' ``PubmedArticle``s as they are, the 2016 MEDLINE
file's ``MedlineCitation``s wrapped as ``PubmedArticle``s).

E-utilities, at ``literature.eutils_url``: ``esearch.fcgi`` answers the
documented JSON (``esearchresult`` with count, webenv, querykey), keeps only
articles whose Entrez date lies in ``mindate``…``maxdate`` (``datetype=edat``)
and leaves the set on a fake history server, most recent first; ``efetch.fcgi``
(GET or POST) answers a ``PubmedArticleSet`` of that set from ``retstart``, or
``<eFetchResult><ERROR>`` for a WebEnv it does not hold. With
``wide_range_days``, a search over more days than that reports
``inflated_count`` articles, as a large PubMed query would.

Europe PMC, at ``literature.europepmc_url``: ``/search`` answers core JSON
results built from the same articles, in the documented shape, paged by
``cursorMark``, and applies ``UPDATE_DATE:[low TO high]`` to each record's
revision date.

``open_access`` maps PMIDs to (PMCID, JATS text): their results say ``isOpenAccess`` and
``inEPMC`` "Y" with that PMCID, and ``/{PMCID}/fullTextXML`` serves the JATS (any other PMCID
is a 404, as Europe PMC answers for an article without open full text).

``broken_date`` names a PMID whose publication year is made unreadable in
both APIs. Requests are numbered from 1 in arrival order, faulty ones
included; ``faults`` scripts misbehaviour by request number as
:class:`tests.fake_registry.Fault` describes, and ``expire_history`` lists
efetch request numbers answered as if the WebEnv had expired.
"""

from __future__ import annotations

import calendar
import gzip
import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from curemap.model import ParsedRecord
from tests.conftest import SHARED_DATA
from tests.fake_registry import Fault
from tests.test_ctgov_harvest import Counts, Killed, MemoryStore

PUBMED_DIR = SHARED_DATA / "pubmed"
PUBMED_FILES = ("pubmed-29768149.xml", "test_current_medline.xml.gz", "medline16n0902.xml.gz")

EUTILS_PATH = "/entrez/eutils"
EUROPEPMC_PATH = "/europepmc/webservices/rest"

EFETCH_DOCTYPE = (
    '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">\n'
)

UPDATE_DATE = re.compile(r"^\((?P<query>.*)\) AND UPDATE_DATE:\[(?P<low>[\d-]+) TO (?P<high>[\d-]+)\]$")

_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass
class Article:
    """One real PubMed article and the dates the fake APIs filter on."""

    pmid: str
    element: etree._Element  # a PubmedArticle
    entrez: date
    revised: date

    def xml(self) -> str:
        return etree.tostring(self.element, encoding="unicode")


def _ymd(node: etree._Element | None) -> date | None:
    if node is None:
        return None
    return date(int(node.findtext("Year")), int(node.findtext("Month")), int(node.findtext("Day")))


def _read(name: str) -> etree._Element:
    data = (PUBMED_DIR / name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return etree.fromstring(data, _SAFE)


def recorded_articles() -> list[Article]:
    """The 609 real articles, in file order."""
    articles = []
    for name in PUBMED_FILES:
        root = _read(name)
        for citation in root.iter("MedlineCitation"):
            element = citation.getparent()
            if element.tag != "PubmedArticle":  # a 2016 baseline citation: wrap it as efetch would
                element = etree.Element("PubmedArticle")
                element.append(citation)
            history = element.find("PubmedData/History")
            entrez = _ymd(history.find("PubMedPubDate[@PubStatus='entrez']")) if history is not None else None
            created = _ymd(citation.find("DateCreated"))
            revised = _ymd(citation.find("DateRevised")) or created or entrez
            articles.append(Article(citation.findtext("PMID"), element, entrez or created, revised))
    return articles


def break_date(article: Article) -> None:
    """Make the article's publication year unreadable (``20x6``), as a corrupt record would have it."""
    pub_date = article.element.find("MedlineCitation/Article/Journal/JournalIssue/PubDate")
    for child in list(pub_date):
        pub_date.remove(child)
    etree.SubElement(pub_date, "Year").text = "20x6"


# -- Europe PMC's view of an article -------------------------------------------------


def _markup(node: etree._Element | None) -> str | None:
    """The element's content with its inline markup, as Europe PMC serves titles and abstracts."""
    if node is None:
        return None
    inner = (node.text or "") + "".join(etree.tostring(child, encoding="unicode") for child in node)
    return inner.strip() or None


def _written_date(pub_date: etree._Element) -> str:
    if (medline := pub_date.findtext("MedlineDate")) is not None:
        return medline
    month = pub_date.findtext("Month")
    if month and month.isdigit():
        month = calendar.month_abbr[int(month)]
    parts = (pub_date.findtext("Year"), month or pub_date.findtext("Season"), pub_date.findtext("Day"))
    return " ".join(p for p in parts if p)


def europepmc_result(article: Article) -> dict[str, Any]:
    """The article as a Europe PMC ``resultType=core`` result (the documented field names and nesting)."""
    citation = article.element.find("MedlineCitation")
    body = citation.find("Article")
    journal = body.find("Journal")
    issue = journal.find("JournalIssue")
    ids = {node.get("IdType"): node.text for node in article.element.findall("PubmedData/ArticleIdList/ArticleId")}
    doi = ids.get("doi") or next(
        (node.text for node in body.findall("ELocationID") if node.get("EIdType") == "doi"), None
    )
    other_ids = citation.findall("OtherID")  # baseline files name the PMC id here
    authors = []
    for node in body.findall("AuthorList/Author"):
        affiliations = [a.text for a in node.findall("AffiliationInfo/Affiliation")]
        if node.find("CollectiveName") is not None:
            author = {"collectiveName": node.findtext("CollectiveName")}
        else:
            author = {
                "fullName": f"{node.findtext('LastName')} {node.findtext('Initials') or ''}".strip(),
                "firstName": node.findtext("ForeName"),
                "lastName": node.findtext("LastName"),
                "initials": node.findtext("Initials"),
            }
        if affiliations:
            author["authorAffiliationDetailsList"] = {"authorAffiliation": [{"affiliation": a} for a in affiliations]}
        authors.append({k: v for k, v in author.items() if v is not None})
    abstract = "".join(
        (f"<h4>{node.get('Label')}</h4>" if node.get("Label") else "") + (_markup(node) or "")
        for node in body.findall("Abstract/AbstractText")
    )
    keywords = [k.text for k in citation.findall("KeywordList/Keyword")]
    grants = [
        {"grantId": g.findtext("GrantID"), "agency": g.findtext("Agency"), "orderIn": 0}
        for g in body.findall("GrantList/Grant")
    ]
    mesh = []
    for heading in citation.findall("MeshHeadingList/MeshHeading"):
        descriptor = heading.find("DescriptorName")
        item: dict[str, Any] = {"majorTopic_YN": descriptor.get("MajorTopicYN"), "descriptorName": descriptor.text}
        qualifiers = [
            {"qualifierName": q.text, "majorTopic_YN": q.get("MajorTopicYN")} for q in heading.findall("QualifierName")
        ]
        if qualifiers:
            item["meshQualifierList"] = {"meshQualifier": qualifiers}
        mesh.append(item)
    result: dict[str, Any] = {
        "id": article.pmid,
        "source": "MED",
        "pmid": article.pmid,
        "pmcid": ids.get("pmc") or next((o.text.split()[0] for o in other_ids if o.text.startswith("PMC")), None),
        "doi": doi,
        "title": _markup(body.find("ArticleTitle")),
        "authorString": ", ".join(a.get("fullName") or a.get("collectiveName") for a in authors) or None,
        "authorList": {"author": authors} if authors else None,
        "journalInfo": {
            "issue": issue.findtext("Issue"),
            "volume": issue.findtext("Volume"),
            "dateOfPublication": _written_date(issue.find("PubDate")),
            "journal": {
                "title": journal.findtext("Title"),
                "medlineAbbreviation": citation.findtext("MedlineJournalInfo/MedlineTA"),
                "isoabbreviation": journal.findtext("ISOAbbreviation"),
                "nlmid": citation.findtext("MedlineJournalInfo/NlmUniqueID"),
            },
        },
        "pageInfo": body.findtext("Pagination/MedlinePgn"),
        "abstractText": abstract or None,
        "language": body.findtext("Language"),
        "pubModel": body.get("PubModel"),
        "pubTypeList": {"pubType": [t.text for t in body.findall("PublicationTypeList/PublicationType")]},
        "meshHeadingList": {"meshHeading": mesh} if mesh else None,
        "keywordList": {"keyword": keywords} if keywords else None,
        "grantsList": {"grant": grants} if grants else None,
        "isOpenAccess": "N",
        "inEPMC": "N",
        "inPMC": "N",
        "hasPDF": "N",
        "citedByCount": 0,
        "firstIndexDate": article.entrez.isoformat(),
        "dateOfRevision": article.revised.isoformat(),
    }
    return {key: value for key, value in result.items() if value is not None}


# -- the server -----------------------------------------------------------------------


@dataclass
class Request:
    number: int
    method: str
    path: str
    params: dict[str, str]
    fault: Fault | None


@dataclass
class _History:
    articles: list[Article]
    mindate: str | None
    maxdate: str | None


class FakeLiterature:
    """Serve the recorded articles through a fake E-utilities and a fake Europe PMC."""

    def __init__(
        self,
        *,
        faults: dict[int, Fault] | None = None,
        expire_history: set[int] | frozenset[int] = frozenset(),
        broken_date: str | None = None,
        wide_range_days: int | None = None,
        inflated_count: int = 25_000,
        page_size: int = 1000,
        retry_after: str = "1",
        open_access: dict[str, tuple[str, str]] | None = None,
    ):
        self.articles = recorded_articles()
        self.open_access = dict(open_access or {})
        if broken_date is not None:
            break_date(next(a for a in self.articles if a.pmid == broken_date))
        self.faults = dict(faults or {})
        self.expire_history = frozenset(expire_history)
        self.wide_range_days = wide_range_days
        self.inflated_count = inflated_count
        self.page_size = page_size
        self.retry_after = retry_after
        self.requests: list[Request] = []
        self.histories: dict[str, _History] = {}
        self._marks: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def eutils_url(self) -> str:
        return self.base + EUTILS_PATH

    @property
    def europepmc_url(self) -> str:
        return self.base + EUROPEPMC_PATH

    def __enter__(self) -> "FakeLiterature":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requests_to(self, name: str) -> list[Request]:
        return [r for r in self.requests if r.path.endswith(name)]

    def _next_request(self, method: str, path: str, params: dict[str, str]) -> Request:
        with self._lock:
            request = Request(len(self.requests) + 1, method, path, params, self.faults.get(len(self.requests) + 1))
            self.requests.append(request)
            return request

    # -- E-utilities --------------------------------------------------------------

    def esearch(self, params: dict[str, str]) -> dict[str, Any]:
        low, high = params.get("mindate"), params.get("maxdate")
        matching = self.articles
        if low or high:
            first, last = _entrez_day(low or "1000/01/01"), _entrez_day(high or "3000/12/31")
            matching = [a for a in matching if first <= a.entrez <= last]
        matching = sorted(matching, key=lambda a: (a.entrez, int(a.pmid)), reverse=True)  # most recent first
        count = len(matching)
        if self.wide_range_days is not None and low and high:
            if (_entrez_day(high) - _entrez_day(low)).days + 1 > self.wide_range_days:
                count = max(count, self.inflated_count)
        webenv = "MCID_" + secrets.token_hex(12)
        with self._lock:
            self.histories[webenv] = _History(matching, low, high)
        return {
            "header": {"type": "esearch", "version": "0.3"},
            "esearchresult": {
                "count": str(count),
                "retmax": "0",
                "retstart": "0",
                "querykey": "1",
                "webenv": webenv,
                "idlist": [],
                "translationset": [],
                "querytranslation": params.get("term", ""),
            },
        }

    def efetch(self, params: dict[str, str], request: Request) -> str:
        history = self.histories.get(params.get("WebEnv", ""))
        if history is None or params.get("query_key") != "1" or request.number in self.expire_history:
            return (
                '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eFetchResult PUBLIC "-//NLM//DTD efetch '
                '20131226//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20131226/efetch.dtd">\n'
                "<eFetchResult>\n\t<ERROR>Unable to obtain query #1</ERROR>\n</eFetchResult>\n"
            )
        start, size = int(params.get("retstart", "0")), int(params.get("retmax", "20"))
        batch = history.articles[start : start + size]
        return EFETCH_DOCTYPE + "<PubmedArticleSet>\n" + "\n".join(a.xml() for a in batch) + "\n</PubmedArticleSet>\n"

    # -- Europe PMC ---------------------------------------------------------------

    def europepmc_search(self, params: dict[str, str]) -> tuple[int, dict[str, Any] | str]:
        query = params.get("query", "")
        matching = self.articles
        if bounds := UPDATE_DATE.match(query):
            low, high = date.fromisoformat(bounds["low"]), date.fromisoformat(bounds["high"])
            matching = [a for a in matching if low <= a.revised <= high]
        elif "UPDATE_DATE" in query:
            return 400, f"unsupported query {query!r}"
        if params.get("resultType") != "core" or params.get("format") != "json":
            return 400, "this fake serves resultType=core&format=json only"
        mark = params.get("cursorMark", "*")
        offset = 0
        if mark != "*":
            with self._lock:
                mark_query, offset = self._marks.get(mark, (None, 0))
            if mark_query != query:
                return 400, "invalid cursorMark for this query"
        size = min(int(params.get("pageSize", "25")), self.page_size)
        page = matching[offset : offset + size]
        next_mark = mark
        if page:
            next_mark = "AoI" + secrets.token_urlsafe(16)
            with self._lock:
                self._marks[next_mark] = (query, offset + len(page))
        return 200, {
            "version": "6.9",
            "hitCount": len(matching),
            "nextCursorMark": next_mark,
            "request": {"queryString": query, "resultType": "core", "cursorMark": mark, "pageSize": size},
            "resultList": {"result": [self._open(europepmc_result(a)) for a in page]},
        }

    def _open(self, result: dict[str, Any]) -> dict[str, Any]:
        if result["pmid"] in self.open_access:
            result |= {"pmcid": self.open_access[result["pmid"]][0], "isOpenAccess": "Y", "inEPMC": "Y", "inPMC": "Y"}
        return result

    def full_text(self, path: str) -> str | None:
        pmcid = path.removeprefix(f"{EUROPEPMC_PATH}/").removesuffix("/fullTextXML")
        return next((jats for known, jats in self.open_access.values() if known == pmcid), None)


def _entrez_day(text: str) -> date:
    return date(*map(int, text.split("/")))


def _handler_for(fake: FakeLiterature) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._answer("GET", b"")

        def do_POST(self) -> None:
            self._answer("POST", self.rfile.read(int(self.headers.get("Content-Length", "0"))))

        def _answer(self, method: str, body: bytes) -> None:
            parts = urlsplit(self.path)
            fields = parse_qs(parts.query) | parse_qs(body.decode())
            params = {key: values[-1] for key, values in fields.items()}
            request = fake._next_request(method, parts.path, params)
            if request.fault is Fault.DROP:
                self.close_connection = True
                return
            if request.fault in (Fault.RATE_LIMITED, Fault.UNAVAILABLE):
                self._send(429 if request.fault is Fault.RATE_LIMITED else 503, b"slow down\n", "text/plain")
                return
            if request.fault is Fault.RATE_LIMITED_RETRY_AFTER:
                self._send(429, b'{"error":"API rate limit exceeded"}', "application/json", fake.retry_after)
                return
            path = parts.path
            if path == f"{EUTILS_PATH}/esearch.fcgi":
                status, payload, kind = 200, json.dumps(fake.esearch(params)).encode(), "application/json"
            elif path == f"{EUTILS_PATH}/efetch.fcgi":
                status, payload, kind = 200, fake.efetch(params, request).encode(), "text/xml; charset=UTF-8"
            elif path == f"{EUROPEPMC_PATH}/search":
                status, answer = fake.europepmc_search(params)
                payload = json.dumps(answer).encode() if status == 200 else f"{answer}\n".encode()
                kind = "application/json" if status == 200 else "text/plain"
            elif path.startswith(f"{EUROPEPMC_PATH}/") and path.endswith("/fullTextXML"):
                jats = fake.full_text(path)
                status, payload, kind = (
                    (200, jats.encode(), "application/xml;charset=UTF-8") if jats else (404, b"", "text/plain")
                )
            else:
                status, payload, kind = 404, b"not found\n", "text/plain"
            if request.fault in (Fault.TRUNCATED, Fault.TRUNCATED_UNDECLARED) and status == 200:
                self._send_cut(payload, kind, declare_length=request.fault is Fault.TRUNCATED)
            else:
                self._send(status, payload, kind)

        def _send(self, status: int, payload: bytes, kind: str, retry_after: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.end_headers()
            self.wfile.write(payload)

        def _send_cut(self, payload: bytes, kind: str, *, declare_length: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            if declare_length:
                self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True

    return Handler


# -- a store for papers -----------------------------------------------------------------


class PaperStore(MemoryStore):
    """:class:`tests.test_ctgov_harvest.MemoryStore` keeping papers: each save_page is one transaction."""

    def __init__(self, *, kill_on_save: int | None = None):
        super().__init__(kill_on_save=kill_on_save)
        self.papers: dict[str, ParsedRecord] = {}

    def save_page(self, records: list[ParsedRecord], *, cursor_key: str, cursor: dict | None) -> Counts:
        self.saves += 1
        if self.saves == self.kill_on_save:
            raise Killed  # before anything is written, as a rolled-back transaction leaves it
        counts = Counts()
        for record in records:
            if record.paper is None:
                counts.rejected.append({"source": record.source, "record": record.source_id, "error": record.error})
                continue
            previous = self.papers.get(record.paper.id)
            if previous is None:
                counts.imported += 1
            elif previous.raw == record.raw:
                counts.unchanged += 1
            else:
                counts.changed += 1
            self.papers[record.paper.id] = record
        if cursor is None:
            self.cursors.pop(cursor_key, None)
        else:
            self.cursors[cursor_key] = json.dumps(cursor)
        self.transactions.append(([r.paper.id for r in records if r.paper is not None], cursor))
        return counts
