"""Verifying a review written elsewhere: every reference found, checked for form and
existence (the store first; the sources online when a lookup is given, else
``unverifiable``), and the claims beside it checked against the record.

Status per reference: ``ok`` (exists, no claim contradicts it), ``not_found`` (malformed, or
the source says there is no such record), ``mismatch`` (exists, and a claim beside it
contradicts it), ``unverifiable`` (not in the store and no source could be asked).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from curemap.errors import InputError
from curemap.profile import Profile
from curemap.store import Store, schema
from curemap.verify.check import (
    ClaimReader,
    figure_problems,
    mask_quotes,
    study_problems,
)
from curemap.verify.online import OnlineLookup
from curemap.verify.refs import (
    Reference,
    clause_of,
    clauses,
    detect_format,
    find_references,
    plain_text,
)

STATUSES = ("ok", "not_found", "mismatch", "unverifiable")


@dataclass
class CitationResult:
    ref: str
    kind: str
    status: str = "ok"
    record: str | None = None  # the store record it resolved to
    mentions: int = 0
    problems: list[str] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref, "kind": self.kind, "status": self.status, "problems": self.problems,
            "record": self.record, "mentions": self.mentions, **({"note": self.note} if self.note else {}),
        }


def _malformed(ref: Reference) -> str | None:
    if ref.kind == "nct" and len(ref.value) != 11:
        return f"{ref.text!r} is not a well-formed NCT id (NCT followed by 8 digits)"
    if ref.kind == "pmid" and not (1 <= len(ref.value) <= 9):
        return f"{ref.text!r} is not a well-formed PMID (1 to 9 digits)"
    return None


class Verifier:
    def __init__(self, store: Store, profile: Profile, lookup: OnlineLookup | None = None):
        self.store, self.profile, self.lookup = store, profile, lookup
        self.reader = ClaimReader(profile)
        self._pmcids: dict[str, str] | None = None
        self._online_studies: dict[str, Any] = {}  # ref -> Study read at its source
        self._records: dict[str, tuple[Any, bool | None, list[dict[str, Any]]]] = {}

    def _pmcid_index(self) -> dict[str, str]:
        if self._pmcids is None:
            pp = schema.papers
            with self.store.connect() as conn:
                self._pmcids = {
                    pmcid.upper(): row.id
                    for row in conn.execute(select(pp.c.id, pp.c.data))
                    if (pmcid := json.loads(row.data).get("pmcid"))
                }
        return self._pmcids

    def resolve(self, ref: Reference) -> str | None:
        """The store record a reference names, if the store holds it."""
        if ref.kind in ("nct", "euct"):
            return ref.value if self.store.get_study(ref.value) else None
        if ref.kind == "pmid":
            candidate = f"PMID:{ref.value}"
        elif ref.kind == "doi":
            candidate = f"DOI:{ref.value}"
            pp = schema.papers
            with self.store.connect() as conn:
                by_doi = conn.execute(select(pp.c.id).where(pp.c.doi == ref.value).limit(1)).scalar_one_or_none()
            if by_doi:
                return by_doi
        else:
            return self._pmcid_index().get(ref.value)
        return candidate if self.store.get_paper(candidate) else None

    def verify_text(self, text: str) -> dict[str, Any]:
        refs = find_references(text)
        masked = mask_quotes(text)
        spans = clauses(masked)
        starts = [a for a, _ in spans]
        results: dict[str, CitationResult] = {}
        clause_refs: dict[int, list[Reference]] = {}
        for ref in refs:
            clause_refs.setdefault(clause_of(spans, starts, ref.start), []).append(ref)
        for ref in refs:
            result = results.get(ref.ref)
            if result is None:
                result = results[ref.ref] = self._existence(ref)
            result.mentions += 1
        for index, members in clause_refs.items():
            distinct = {r.ref for r in members}
            if index < 0 or len(distinct) != 1:
                continue
            result = results[members[0].ref]
            if result.status in ("not_found", "unverifiable"):
                continue
            a, b = spans[index]
            claims = self.reader.read(masked[a:b])
            result.problems += self._claim_problems(members[0], result, claims)
        for result in results.values():
            result.problems = list(dict.fromkeys(result.problems))  # each problem once, in order
            if result.status == "ok" and result.problems:
                result.status = "mismatch"
        citations = [r.to_dict() for r in results.values()]
        counts = Counter(r.status for r in results.values())
        return {
            "citations": citations,
            "summary": {
                "references": len(citations),
                "mentions": sum(r.mentions for r in results.values()),
                **{status: counts.get(status, 0) for status in STATUSES},
                "problems": sum(len(r.problems) for r in results.values()),
            },
        }

    def _existence(self, ref: Reference) -> CitationResult:
        result = CitationResult(ref.ref, ref.kind)
        if problem := _malformed(ref):
            result.status, result.problems = "not_found", [problem]
            return result
        record = self.resolve(ref)
        if record is not None:
            result.record = record
            return result
        if self.lookup is None:
            result.status, result.note = "unverifiable", "not in the store, and no online lookup was made (offline)"
            return result
        found = self.lookup.find(ref.kind, ref.value)
        if found.exists is None:
            result.status, result.note = "unverifiable", found.note
        elif not found.exists:
            result.status = "not_found"
            result.problems = [f"{ref.text!r}: no such record at its source ({found.note})"]
        else:
            result.note = found.note
            if found.study is not None:
                self._online_studies[ref.ref] = found.study
        return result

    def _stored(self, record: str) -> tuple[Any, bool | None, list[dict[str, Any]]]:
        """A stored record's study (None for a paper), MS verdict and outcome figures, read once
        however many clauses cite it."""
        if record not in self._records:
            study = self.store.get_study(record)
            classification = self.store.get_classification(record) if study else None
            is_ms = classification.get("is_ms") if classification else None
            self._records[record] = (study, is_ms, self.store.figures_of(record))
        return self._records[record]

    def _claim_problems(self, ref: Reference, result: CitationResult, claims) -> list[str]:
        study, is_ms, figures = self._stored(result.record) if result.record else (None, None, [])
        problems = []
        if ref.kind in ("nct", "euct"):
            study = study if result.record else self._online_studies.get(ref.ref)
            if study is None:
                return []
            problems = study_problems(claims, study, is_ms)
        return problems + figure_problems(claims, figures)


def verify_path(store: Store, profile: Profile, path: Path, lookup: OnlineLookup | None = None) -> dict[str, Any]:
    """Verify the review in a file (Markdown, HTML or text, told by its name or content)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc}); give a Markdown, HTML or text file") from exc
    text = plain_text(content, detect_format(path.name, content))
    return Verifier(store, profile, lookup).verify_text(text)
