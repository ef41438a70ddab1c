"""Looking up, at their sources, references the store does not hold: ClinicalTrials.gov for
NCT ids (the record is read, so its claims can be checked too), PubMed for PMIDs, Europe PMC
for DOIs and PMCIDs. All through :class:`~curemap.sources.http.HttpClient`, whose
``transport`` tests replace; no answer from a source means ``unverifiable``, not ``not_found``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from curemap.errors import HTTPStatusError, SourceError
from curemap.model import Study
from curemap.sources import ctgov_api, europepmc, eutils
from curemap.sources.ctgov_json import study_from_api
from curemap.sources.http import HttpClient
from curemap.sources.pubmed_xml import records_from_text


@dataclass
class Found:
    exists: bool | None  # None: the source could not be asked
    study: Study | None = None
    note: str = ""


class OnlineLookup:
    """One client per source, so a source found unreachable answers every later lookup at once
    (``unverifiable``); ``timeout`` bounds each request, retries included."""

    def __init__(self, transport: httpx.BaseTransport | None = None, *, sleep=None, timeout: float | None = None):
        extra: dict[str, Any] = {"transport": transport}
        if sleep is not None:
            extra["sleep"] = sleep
        policies = {"ctgov": ctgov_api.policy(), "pubmed": eutils.policy(), "europepmc": europepmc.policy()}
        self._clients = {
            name: HttpClient(policy if timeout is None else policy.within(timeout), **extra)
            for name, policy in policies.items()
        }

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def find(self, kind: str, value: str) -> Found:
        try:
            if kind == "nct":
                body = self._clients["ctgov"].get_json(f"{ctgov_api.STUDIES_PATH}/{value}")
                return Found(True, study_from_api(body), "found at ClinicalTrials.gov")
            if kind == "pmid":
                text = self._clients["pubmed"].get_text(
                    eutils.EFETCH_PATH, {"db": "pubmed", "id": value, "retmode": "xml", **eutils.identity()}
                )
                found = any(r.paper is not None for r in records_from_text(text, f"efetch {value}"))
                return Found(found, note="found in PubMed" if found else "PubMed returned no article")
            if kind in ("doi", "pmcid"):
                field_name = "DOI" if kind == "doi" else "PMCID"
                body = self._clients["europepmc"].get_json(
                    europepmc.SEARCH_PATH, {"query": f'{field_name}:"{value}"', "format": "json", "pageSize": 1}
                )
                found = int(body.get("hitCount", 0)) > 0
                return Found(found, note="found in Europe PMC" if found else "Europe PMC has no such article")
        except HTTPStatusError as exc:
            if exc.status in (400, 404):
                return Found(False, note=f"the source answered {exc.status}")
            return Found(None, note=str(exc))
        except (SourceError, ValueError) as exc:
            return Found(None, note=str(exc))
        return Found(None, note=f"no online source for {kind} references")
