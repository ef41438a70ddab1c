"""Checking a review's claims against the records its references name.

From the clause a reference stands in (quotations left out: a quoted title is the record's
own words, not a claim) the checker reads a trial phase, a registry status, a sponsor
("sponsored by …", "sponsor: …"), an enrollment ("120 participants", "n = 120",
"enrolled 120"), a condition (MS, or a condition the profile names as not MS) and shares
("38%", confidence limits left out), and compares each with the record: phase, status,
sponsor, enrollment and conditions with the registry record, shares with the outcome
figures extracted from it. Each problem names what the text says and what the record says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from curemap.enrich.terms import TermMatcher
from curemap.model import Study
from curemap.profile import Profile
from curemap.wording import STATUS_WORDS, phase_words, status_words

OPENING_QUOTE = re.compile(r"[“\"]")
STRAIGHT_QUOTED = re.compile(r"\"[^\"\n]*\"")
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}
PHASE = re.compile(r"\b(early\s+)?phase\s*(iv|iii|ii|i|[1-4])(?:\s*(?:/|-|–|and|or)\s*(iii|ii|i|[1-4]))?\b", re.IGNORECASE)
ENROLLMENT = re.compile(
    r"\b(?:n\s*=\s*(\d[\d,]*)|enrol(?:l?ed|ling|ment of)\s+(\d[\d,]*)|(\d[\d,]*)\s+(?:participants|patients|subjects|people|persons|volunteers))\b",
    re.IGNORECASE,
)
SPONSOR = re.compile(r"\b(?:sponsored\s+by|sponsor\s*:|sponsor\s+is)\s+([^;\n()]+)", re.IGNORECASE)
PERCENT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*%")
CONFIDENCE = re.compile(r"\b\d+\s*%\s*(?:CI|confidence interval)[^)\n;]*", re.IGNORECASE)
STATUS = re.compile(
    # The lookahead of the letters a status can start with lets the engine skip other positions fast.
    f"(?=[{''.join(sorted({w[0] for w in STATUS_WORDS.values()}))}])(?:"
    + "|".join(re.escape(w) for w in sorted(set(STATUS_WORDS.values()), key=len, reverse=True)).replace(r"\ ", r"\s+")
    + ")",
    re.IGNORECASE,
)
PAST = re.compile(r"\b(?:was|from|previously|formerly)$", re.IGNORECASE)
"""Words before a status (and the spaces after them) that make it a former state, not a claim
about the record now."""
_PAST_LONGEST = len("previously")
STATUS_KEYS = {words: key for key, words in STATUS_WORDS.items()}
_CORPORATE = {"inc", "ltd", "llc", "gmbh", "ag", "sa", "plc", "co", "corp", "corporation", "company", "the", "a", "an", "of"}


@dataclass
class Claims:
    phase: list[tuple[str, str]] = field(default_factory=list)  # (as written, phase key)
    status: list[tuple[str, str]] = field(default_factory=list)
    sponsor: list[str] = field(default_factory=list)
    enrollment: list[tuple[str, int]] = field(default_factory=list)
    percents: list[tuple[str, float, int]] = field(default_factory=list)  # (as written, value, decimals)
    ms: list[str] = field(default_factory=list)  # words naming the condition
    not_ms: list[tuple[str, str]] = field(default_factory=list)  # (words, condition name)


def mask_quotes(text: str) -> str:
    """The text with every quotation blanked out (same length, so positions hold).

    Read as the pattern ``“[^”]*”|"[^"\n]*"`` would be, but an opening curly mark after the
    last closing one is not tried: the regex would scan to the end of the text from each of
    them (quadratic time)."""
    last_close = text.rfind("”")
    parts, position = [], 0
    for opening in OPENING_QUOTE.finditer(text):
        start = opening.start()
        if start < position:
            continue
        if opening.group() == "“":
            if start > last_close:
                continue
            end = text.index("”", start + 1) + 1
        elif quoted := STRAIGHT_QUOTED.match(text, start):
            end = quoted.end()
        else:
            continue
        parts += [text[position:start], " " * (end - start)]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _former(clause: str, start: int) -> bool:
    """Whether a past-tense word and spaces stand right before ``start``: looks back over those
    few characters only, so a long clause is not rescanned for every status in it."""
    end = start
    while end > 0 and clause[end - 1].isspace():
        end -= 1
    return end < start and PAST.search(clause, max(0, end - _PAST_LONGEST), end) is not None


def _phase_key(match: re.Match) -> str | None:
    first = _ROMAN.get(match.group(2).lower(), match.group(2))
    second = match.group(3) and _ROMAN.get(match.group(3).lower(), match.group(3))
    if match.group(1):
        return "early_phase1" if first == "1" and not second else None
    return f"phase{first}_{second}" if second else f"phase{first}"


class ClaimReader:
    def __init__(self, profile: Profile):
        self.condition = TermMatcher(
            [(("ms", profile.condition.name), t) for t in profile.condition.terms]
            + [(("not_ms", nc.name), t) for nc in profile.condition.not_conditions for t in nc.terms]
        )

    def read(self, clause: str) -> Claims:
        claims = Claims()
        for match in PHASE.finditer(clause):
            key = _phase_key(match)
            if key:
                claims.phase.append((match.group().strip(), key))
        for match in STATUS.finditer(clause):
            if _former(clause, match.start()):
                continue
            words = " ".join(match.group().lower().split())
            claims.status.append((match.group(), STATUS_KEYS[words]))
        for match in SPONSOR.finditer(clause):
            claims.sponsor.append(match.group(1).strip().rstrip(".,"))
        for match in ENROLLMENT.finditer(clause):
            number = next(g for g in match.groups() if g)
            claims.enrollment.append((match.group(), int(number.replace(",", ""))))
        for match in PERCENT.finditer(CONFIDENCE.sub(lambda m: " " * len(m.group()), clause)):
            digits = match.group(1)
            claims.percents.append((match.group(), float(digits), len(digits.partition(".")[2])))
        for hit in self.condition.find(clause):
            kind, name = hit.key
            words = clause[hit.start:hit.end]
            if kind == "ms":
                claims.ms.append(words)
            else:
                claims.not_ms.append((words, name))
        return claims


def _tokens(name: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", name.lower()) if w not in _CORPORATE}


def sponsor_matches(claimed: str, study: Study) -> bool:
    """The claimed name is the lead sponsor's or a collaborator's, up to case, punctuation and
    corporate suffixes, or one name's words contain the other's."""
    said = _tokens(claimed)
    if not said:
        return True
    for sponsor in [study.lead_sponsor, *study.collaborators]:
        if sponsor is None:
            continue
        have = _tokens(sponsor.name)
        if have and (said <= have or have <= said):
            return True
    return False


def study_problems(claims: Claims, study: Study, is_ms: bool | None) -> list[str]:
    problems = []
    for written, key in claims.phase:
        if key != study.phase:
            problems.append(f"phase: the text says {written!r}; the record says {phase_words(study.phase)}")
    for written, key in claims.status:
        if key != (study.status or "UNKNOWN"):
            problems.append(f"status: the text says {written!r}; the record says {status_words(study.status)}")
    for written in claims.sponsor:
        if not sponsor_matches(written, study):
            names = [s.name for s in [study.lead_sponsor, *study.collaborators] if s]
            problems.append(
                f"sponsor: the text says {written!r}; the record's lead sponsor is "
                f"{study.lead_sponsor.name if study.lead_sponsor else 'not given'!r}"
                + (f" (collaborators: {', '.join(names[1:])})" if len(names) > 1 else "")
            )
    for written, number in claims.enrollment:
        if study.enrollment is not None and number != study.enrollment:
            problems.append(
                f"enrollment: the text says {written!r}; the record says {study.enrollment:,}"
                + (f" ({study.enrollment_type.lower()})" if study.enrollment_type else "")
            )
    conditions = "; ".join(study.conditions) or "none given"
    for words, name in claims.not_ms:
        if is_ms:
            problems.append(f"condition: the text says {words!r} ({name}); the record is about MS (conditions: {conditions})")
    if claims.ms and is_ms is False and not claims.not_ms:
        problems.append(f"condition: the text says {claims.ms[0]!r}; the record is not about MS (conditions: {conditions})")
    return problems


def figure_problems(claims: Claims, figures: list[dict[str, Any]]) -> list[str]:
    """A share in the text must be one of the record's extracted figures (a percentage, or a
    count over its denominator) at the text's precision; records without figures are not judged."""
    shares = [f["value"] for f in figures if f["unit"] == "percent"]
    shares += [100 * f["value"] / f["n"] for f in figures if f["unit"] == "count" and f.get("n")]
    if not shares:
        return []
    problems = []
    for written, value, decimals in claims.percents:
        if not any(round(share, decimals) == value for share in shares):
            listed = ", ".join(f"{s:.{max(decimals, 1)}f}%" for s in sorted(set(shares))[:8])
            problems.append(f"figure: the text says {written!r}; the record's extracted shares are {listed}")
    return problems
