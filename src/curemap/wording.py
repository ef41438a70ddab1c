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

RETRACTION_TYPES = {
    "Retracted Publication": "has been retracted",
    "Retraction of Publication": "is a retraction notice, not a finding",
    "Published Erratum": "is an erratum (a correction notice)",
    "Expression of Concern": "carries an expression of concern",
}
"""PubMed publication types that say a paper should not be cited as it stands."""

_OPEN = ("RECRUITING", "ENROLLING_BY_INVITATION")
_CLOSED = r"(?:closed|complete|completed|ended|over|finished)"
_ENROLMENT = r"(?:enrol(?:l)?ment|recruitment)"
STATUS_PHRASES = (
    (r"\bnot\s+yet\s+(?:recruiting|open(?:\s+for\s+recruitment)?|enrolling)\b|\b(?:has\s+not|hasn['’]t|had\s+not|hadn['’]t|did\s+not|didn['’]t|have\s+not|haven['’]t)\s+(?:yet\s+)?(?:started|begun|start|begin)\s+(?:recruiting|enrolling|recruitment|enrol(?:l)?ment)(?:\s+yet)?\b"
     r"|\b(?:not|neither|nor|none|(?:is|are|was|were|has|have|does|do)n['’]t)\s+(?:recruiting|enrolling|open)\s+yet\b"
     r"|\byet\s+to\s+(?:start|begin|open)\s+(?:recruiting|recruitment|enrol(?:l)?ment)\b", ("NOT_YET_RECRUITING",)),
    (rf"\bactive,?\s+(?:but\s+|and\s+)?(?:no\s+longer|not)\s+recruiting\b|\b(?:no\s+longer|not\s+currently)\s+(?:recruiting|enrolling)\b"
     r"|\bnot\s+(?:recruiting|enrolling)\s+(?:any\s?more|any\s+longer)\b|\b(?:done|finished)\s+(?:recruiting|enrolling)\b"
     rf"|\b{_ENROLMENT}(?:['’]s)?\s+(?:of\s+(?:(?:about|around|roughly|approximately|nearly|some|over|~)\s*)?[\d,]+\s+[a-z]+\s+)?(?:is\s+|has\s+|now\s+|been\s+|already\s+)*{_CLOSED}\b|\bclosed\s+to\s+(?:{_ENROLMENT}|(?:new\s+)?(?:people|patients|participants|volunteers))\b", ("ACTIVE_NOT_RECRUITING",)),
    (r"\b(?:stopped|stopping|ceased|paused)\s+(?:recruiting|enrolling|recruitment|enrol(?:l)?ment)\b", ("ACTIVE_NOT_RECRUITING", "COMPLETED", "TERMINATED", "SUSPENDED")),
    (r"\b(?:completed|finished|closed)\s+(?:its\s+|their\s+)?(?:recruitment|enrol(?:l)?ment)\b", ("ACTIVE_NOT_RECRUITING", "COMPLETED")),
    (r"\b(?:not|isn['’]t|hasn['’]t|has\s+not|is\s+not|not\s+yet)\s+(?:been\s+|yet\s+)?(?:finished|completed|complete|over)\b",
     ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "ACTIVE_NOT_RECRUITING", "SUSPENDED")),
    (r"\b(?:not|(?:is|are|was|were)n['’]t)\s+recruiting\b", ("ACTIVE_NOT_RECRUITING", "COMPLETED", "TERMINATED", "SUSPENDED", "WITHDRAWN", "UNKNOWN")),
    (r"\benrolling\s+by\s+invitation\b|\bby\s+invitation\b", ("ENROLLING_BY_INVITATION",)),
    (r"\bstill\s+(?:running|ongoing|underway|under\s+way|going\s+on)\b(?!\s+(?:a|an|the|it|its|their|this)\b)",
     ("RECRUITING", "ENROLLING_BY_INVITATION", "ACTIVE_NOT_RECRUITING")),
    (r"\bsigning\s+(?:up\s+)?(?:people|patients|participants|volunteers)(?:\s+up)?\b|\b(?:still|now|currently|already|actively)\s+recruiting\b|\bopen\s+(?:for|to)\s+(?:recruitment|enrol(?:l)?ment)\b|\brecruiting\b", ("RECRUITING",)),
    (r"\bstill\s+open\b(?![-\w])|\b(?:still|now|currently|actively)\s+enrolling\b|\benrolling\b(?!\s+(?:only\s+|about\s+|around\s+|approximately\s+|some\s+|up\s+to\s+|~\s*)?\d)", _OPEN),
    (r"\b(?:completed|finished)(?!\s+(?:the|its|their|a|an|enrol\w*|recruit\w*|treatment|follow|dosing|his|her)\b)(?:\s+in\s+(?:19|20)\d\d)?"
     r"|\b(?:(?:has|have|had)\s+)?(?:completed|finished)(?=\s+(?:its|their)\s+(?:[\w,/-]+\s+){0,3}?(?:study|trial|programme|program)\b)"
     r"|\b(?:is|are|was|were|now|also)\s+complete\b|\b(?:ran|run|went|gone)\s+to\s+completion\b|\b(?:has|have|had|was|were)\s+(?:now\s+)?(?:wrapped\s+up|concluded)\b(?!\s+(?:enrol|recruit))",
     ("COMPLETED",)),
    (r"\btemporarily\s+(?:halted|stopped|paused|closed|suspended)\b", ("SUSPENDED",)),
    (r"\bterminated\b|\bstopped\s+early\b|\b(?:was|were|been)\s+stopped\b|\bhalted\b|\bended\s+early\b", ("TERMINATED",)),
    (r"\bwithdrawn\b", ("WITHDRAWN",)),
    (r"\bsuspended\b|\bon\s+hold\b|\bpaused\b", ("SUSPENDED",)),
    (r"\bstatus\s+(?:is\s+|remains\s+)?unknown\b|\bunknown\s+status\b", ("UNKNOWN",)),
)
"""How reviews state a registry status, in the registry's words and everyday ones ("still
enrolling", "stopped early", "has finished", "has wrapped up", "is still running"), each with the statuses it fits."""

STATUS_CELLS = {
    "unknown": ("UNKNOWN",), "not known": ("UNKNOWN",),
    "open": _OPEN, "open to recruitment": _OPEN,
    "in set-up": ("NOT_YET_RECRUITING",), "in setup": ("NOT_YET_RECRUITING",), "set-up": ("NOT_YET_RECRUITING",), "in set up": ("NOT_YET_RECRUITING",),
    "closed": ("ACTIVE_NOT_RECRUITING", "COMPLETED", "TERMINATED", "SUSPENDED", "WITHDRAWN"),
    "compl.": ("COMPLETED",), "compl": ("COMPLETED",), "cmpl.": ("COMPLETED",),
    "term.": ("TERMINATED",), "term": ("TERMINATED",), "termin.": ("TERMINATED",),
    "recr.": ("RECRUITING",), "recr": ("RECRUITING",), "rec.": ("RECRUITING",),
    "susp.": ("SUSPENDED",), "withdr.": ("WITHDRAWN",),
    "anr": ("ACTIVE_NOT_RECRUITING",), "a, nr": ("ACTIVE_NOT_RECRUITING",), "act., not recr.": ("ACTIVE_NOT_RECRUITING",), "active, nr": ("ACTIVE_NOT_RECRUITING",),
    "nyr": ("NOT_YET_RECRUITING",), "not yet recr.": ("NOT_YET_RECRUITING",),
}
"""A status column's one-word cells, as a site's research office writes them ("Open", "In set-up"),
and as a table short of room cuts them ("Compl.", "Term.", "Recr.", "ANR")."""

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


REGISTRY_NAMES = {"nct": "ClinicalTrials.gov", "euct": "EU Clinical Trials Information System"}

PHASE_PLAIN = {
    "early_phase1": "the first tests in a few people",
    "phase1": "the first tests of safety in a few people",
    "phase1_2": "early tests of safety and effect",
    "phase2": "tests of effect in a few dozen to a few hundred people",
    "phase2_3": "larger tests that compare treatments",
    "phase3": "large trials that compare treatments",
    "phase4": "studies after a treatment is approved",
}
"""What a phase means, in the words of the summary for people with MS."""

_NUMBER_WORDS = "no one two three four five six seven eight nine ten eleven twelve".split()


def number_words(n: int) -> str:
    """A count as a person writes it: words up to twelve ("no" for zero), digits above."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else f"{n:,}"


def markers(numbers: list[int]) -> str:
    """Numbered citation markers with runs joined: [3], [4–6], [1, 3, 7]."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return "[" + ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs) + "]"
