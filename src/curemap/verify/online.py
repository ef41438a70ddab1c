"""Looking up, at their sources, references the store does not hold: ClinicalTrials.gov for
NCT ids (the record is read, so its claims can be checked too), PubMed for PMIDs, Crossref for
DOIs, Europe PMC for PMCIDs. All through :class:`~curemap.sources.http.HttpClient`, whose
``transport`` tests replace; no answer from a source means ``unverifiable``, not ``not_found``.

A paper found online is also checked for a retraction or correction: PubMed's publication
types ("Retracted Publication", "Published Erratum"…) and Crossref's ``update-to`` (the DOI is
itself a retraction or correction notice) and ``updated-by`` (the DOI was retracted or
corrected).

The first lookup that finds the network unreachable (no route, no name resolution, no
answer) ends online lookups for the run: every later one is ``unverifiable`` at once, and
``unreachable`` says why, so the verifier says it once.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import httpx

from curemap.errors import HTTPStatusError, NetworkUnreachable, SourceError
from curemap.model import Study
from curemap.sources import ctgov_api, europepmc, eutils
from curemap.sources.ctgov_json import study_from_api
from curemap.sources.http import HttpClient, SourcePolicy
from curemap.sources.pubmed_xml import records_from_text
from curemap.wording import RETRACTION_TYPES

CROSSREF = SourcePolicy(name="crossref", base_url="https://api.crossref.org", requests_per_second=5.0)
CROSSREF_URL_ENV = "CUREMAP_CROSSREF_URL"

CONNECT_SECONDS = 3.0
"""How long verify waits for a connection: a working network connects in far less, and a
machine without one should hear so within seconds."""
ANSWER_SECONDS = 15.0
"""How long one lookup (retries included) may take unless ``--timeout`` says otherwise."""


@dataclass
class Found:
    exists: bool | None  # None: the source could not be asked
    study: Study | None = None
    note: str = ""
    notices: list[str] = field(default_factory=list)  # retraction or correction, as the source says


def _crossref_policy() -> SourcePolicy:
    base_url = os.environ.get(CROSSREF_URL_ENV, "").strip()
    return dataclasses.replace(CROSSREF, base_url=base_url) if base_url else CROSSREF


def crossref_notices(message: dict[str, Any]) -> list[str]:
    """What Crossref's ``update-to`` and ``updated-by`` say of a work."""
    notices = [
        f"is a {u.get('type', 'update')} notice for doi:{u.get('DOI', '?')}" for u in message.get("update-to") or []
    ]
    notices += [
        f"has a {u.get('type', 'update')} (doi:{u.get('DOI', '?')})" for u in message.get("updated-by") or []
    ]
    return notices


class OnlineLookup:
    """One client per source; ``timeout`` bounds each request, retries included."""

    def __init__(self, transport: httpx.BaseTransport | None = None, *, sleep=None, timeout: float | None = None):
        extra: dict[str, Any] = {"transport": transport}
        if sleep is not None:
            extra["sleep"] = sleep
        policies = {
            "ctgov": ctgov_api.policy(), "pubmed": eutils.policy(), "europepmc": europepmc.policy(), "crossref": _crossref_policy(),
        }
        self._clients = {
            name: HttpClient(
                dataclasses.replace(policy.within(timeout or ANSWER_SECONDS), connect_timeout=min(policy.connect_timeout, timeout or CONNECT_SECONDS)),
                **extra,
            )
            for name, policy in policies.items()
        }
        self.unreachable: str | None = None

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def find(self, kind: str, value: str) -> Found:
        if self.unreachable:
            return Found(None, note=f"not looked up: {self.unreachable}")
        try:
            return self._find(kind, value)
        except NetworkUnreachable as exc:
            self.unreachable = str(exc)
            return Found(None, note=str(exc))
        except HTTPStatusError as exc:
            if exc.status in (400, 404):
                return Found(False, note=f"the source answered {exc.status}")
            return Found(None, note=str(exc))
        except (SourceError, ValueError) as exc:
            return Found(None, note=str(exc))

    def _find(self, kind: str, value: str) -> Found:
        if kind == "nct":
            body = self._clients["ctgov"].get_json(f"{ctgov_api.STUDIES_PATH}/{value}")
            return Found(True, study_from_api(body), "found at ClinicalTrials.gov")
        if kind == "pmid":
            text = self._clients["pubmed"].get_text(
                eutils.EFETCH_PATH, {"db": "pubmed", "id": value, "retmode": "xml", **eutils.identity()}
            )
            papers = [r.paper for r in records_from_text(text, f"efetch {value}") if r.paper is not None]
            if not papers:
                return Found(False, note="PubMed returned no article")
            notices = [RETRACTION_TYPES[t] + " (PubMed)" for t in papers[0].publication_types if t in RETRACTION_TYPES]
            return Found(True, note="found in PubMed", notices=notices)
        if kind == "doi":
            body = self._clients["crossref"].get_json(f"/works/{value}")
            return Found(True, note="found at Crossref", notices=[n + " (Crossref)" for n in crossref_notices(body.get("message") or {})])
        if kind == "pmcid":
            body = self._clients["europepmc"].get_json(
                europepmc.SEARCH_PATH, {"query": f'PMCID:"{value}"', "format": "json", "pageSize": 1}
            )
            found = int(body.get("hitCount", 0)) > 0
            return Found(found, note="found in Europe PMC" if found else "Europe PMC has no such article")
        return Found(None, note=f"no online source for {kind} references")
