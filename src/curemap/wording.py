"""How registry fields and citations read: the words and links shared by the report, the verifier
and the dashboard."""

from __future__ import annotations

import re

STATUS_WORDS = {
    "RECRUITING": "recruiting",
    "NOT_YET_RECRUITING": "not yet recruiting",
    "ENROLLING_BY_INVITATION": "enrolling by invitation",
    "ACTIVE_NOT_RECRUITING": "active, not recruiting",
    "COMPLETED": "completed",
    "TERMINATED": "terminated",
    "WITHDRAWN": "withdrawn",
    "SUSPENDED": "suspended",
    "UNKNOWN": "status unknown",
    "AVAILABLE": "available for expanded access",
    "NO_LONGER_AVAILABLE": "no longer available",
}
"""Registry status codes as the report writes them (and the verifier reads them)."""

PHASE_WORDS = {
    "early_phase1": "early phase 1",
    "phase1": "phase 1",
    "phase1_2": "phase 1/2",
    "phase2": "phase 2",
    "phase2_3": "phase 2/3",
    "phase3": "phase 3",
    "phase4": "phase 4",
    "not_applicable": "no phase (not applicable)",
    "preclinical": "preclinical",
}

REGISTRY_URLS = {
    "nct": "https://clinicaltrials.gov/study/{id}",
    "euct": "https://euclinicaltrials.eu/search-for-clinical-trials/?lang=en&EUCT={id}",
    "pmid": "https://pubmed.ncbi.nlm.nih.gov/{id}/",
    "doi": "https://doi.org/{id}",
}

NCT_ID = re.compile(r"^NCT\d{8}$")
EUCT_ID = re.compile(r"^\d{4}-\d{6}-\d{2}-\d{2}$")


def status_words(status: str | None) -> str:
    return STATUS_WORDS.get(status or "UNKNOWN", (status or "unknown").lower().replace("_", " "))


def phase_words(phase: str | None) -> str:
    return PHASE_WORDS.get(phase or "", "no phase given")


def citation_kind(record_id: str) -> str:
    """``nct``, ``euct``, ``pmid`` or ``doi`` for an id as the store keeps it."""
    if record_id.startswith("PMID:"):
        return "pmid"
    if record_id.startswith("DOI:"):
        return "doi"
    if NCT_ID.match(record_id):
        return "nct"
    if EUCT_ID.match(record_id):
        return "euct"
    return "other"


def citation_label(record_id: str) -> str:
    """How a citation reads in the text: ``NCT…``, the EU CT number, ``PMID:n``, ``doi:…``."""
    return "doi:" + record_id[4:] if record_id.startswith("DOI:") else record_id


def citation_url(record_id: str) -> str | None:
    kind = citation_kind(record_id)
    if kind not in REGISTRY_URLS:
        return None
    bare = record_id.split(":", 1)[1] if kind in ("pmid", "doi") else record_id
    return REGISTRY_URLS[kind].format(id=bare)
