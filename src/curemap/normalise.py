"""Normalisers for the registry values every connector meets: dates, phases, statuses.

They are total: any input string gives a normalised value or ``None``, never an
exception, so one odd record cannot stop an import.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

from curemap.model import PartialDate

PHASES = (
    "early_phase1",
    "phase1",
    "phase1_2",
    "phase2",
    "phase2_3",
    "phase3",
    "phase4",
    "not_applicable",
)
"""Registry phases in the order of development (``preclinical`` is literature only)."""

PHASE_RANK = {name: rank for rank, name in enumerate(("preclinical",) + PHASES[:-1])}
"""Rank for "how far has it come"; ``not_applicable`` has no rank."""

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_DMY = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
_MONTH_YEAR = re.compile(r"^([A-Za-z]+)\.?\s+(?:(\d{1,2}),?\s+)?(\d{4})$")


def _valid(year: int, month: int | None, day: int | None) -> bool:
    if not 1000 <= year <= 9999:
        return False
    if month is None:
        return day is None
    if not 1 <= month <= 12:
        return False
    if day is None:
        return True
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _make(year: int, month: int | None, day: int | None, kind: str | None) -> PartialDate | None:
    if not _valid(year, month, day):
        return None
    if month is None:
        return PartialDate(f"{year:04d}", "year", kind)
    if day is None:
        return PartialDate(f"{year:04d}-{month:02d}", "month", kind)
    return PartialDate(f"{year:04d}-{month:02d}-{day:02d}", "day", kind)


@lru_cache(maxsize=1 << 14)
def parse_partial_date(text: str | None, kind: str | None = None) -> PartialDate | None:
    """Parse ``2020``, ``2020-05``, ``2020-05-03``, ``17/09/2024`` (EU day first),
    ``May 2020`` or ``May 3, 2020`` keeping the precision given; ``None`` otherwise.

    ``kind`` (``ACTUAL``/``ESTIMATED``, any case) is carried through upper-cased. Answers are
    remembered (a :class:`PartialDate` is immutable): an import reads the same dates again
    and again, a dozen times a study.
    """
    if text is None:
        return None
    text = text.strip()
    kind = kind.strip().upper() or None if kind else None
    if not text:
        return None
    if m := _ISO.match(text):
        year, month, day = m.groups()
        return _make(int(year), int(month) if month else None, int(day) if day else None, kind)
    if m := _DMY.match(text):
        day, month, year = m.groups()
        return _make(int(year), int(month), int(day), kind)
    if m := _MONTH_YEAR.match(text):
        month_name, day, year = m.groups()
        month = _MONTHS.get(month_name.lower())
        if month is None:
            return None
        return _make(int(year), month, int(day) if day else None, kind)
    return None


_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}
_PHASE_NUMERAL = r"(iv|iii|ii|i|[1-4])[ab]?"
_PHASE_NUMBER = re.compile(rf"phase[\s_-]*{_PHASE_NUMERAL}(?:(?:\s*/\s*|-){_PHASE_NUMERAL})?\b")
"""``Phase II``, ``PHASE2``, ``Phase IIb`` (sub-phase letters keep the phase) and ``Phase I/II``."""


def normalise_phase(text: str | None) -> str | None:
    """Map a registry phase string to the vocabulary of :data:`PHASES`.

    Handles ClinicalTrials.gov (``PHASE1|PHASE2``, ``PHASE2, PHASE3``,
    ``EARLY_PHASE1``, ``NA``), EU CTIS wording (``Therapeutic exploratory
    (Phase II)``, ``Phase I and Phase II (Integrated)``) and the common
    ``Phase I/II``, ``Phase 2-3`` and ``Phase IIb`` forms. A combined phase
    3/4 (CTIS only) maps to ``phase3``: the vocabulary has no such step and
    the confirmatory part is what the development stage is about.
    Empty or unrecognised input gives ``None``.
    """
    if text is None:
        return None
    lowered = text.strip().lower()
    if not lowered:
        return None
    if lowered in {"na", "n/a", "not applicable", "not_applicable"}:
        return "not_applicable"
    if ("early" in lowered and re.search(r"phase[\s_-]*(1|i)\b", lowered)) or re.search(
        r"phase[\s_-]*0\b", lowered
    ):
        # ClinicalTrials.gov lists its former "Phase 0" as Early Phase 1.
        return "early_phase1"
    numerals = [n for pair in _PHASE_NUMBER.findall(lowered) for n in pair if n]
    numbers = sorted({int(_ROMAN.get(n, n)) for n in numerals})
    if not numbers:
        return None
    if len(numbers) == 1:
        return f"phase{numbers[0]}"
    low, high = numbers[0], numbers[-1]
    if (low, high) == (1, 2):
        return "phase1_2"
    if (low, high) == (2, 3):
        return "phase2_3"
    if low == 3:
        return "phase3"
    return f"phase{high}"


_CTIS_STATUS = {
    "authorised, recruitment pending": "NOT_YET_RECRUITING",
    "authorised, recruiting": "RECRUITING",
    "ongoing, recruiting": "RECRUITING",
    "ongoing, recruitment ended": "ACTIVE_NOT_RECRUITING",
    "ongoing, recruitment pending": "NOT_YET_RECRUITING",
    "temporarily halted": "SUSPENDED",
    "ended": "COMPLETED",
    "halted": "SUSPENDED",
    "withdrawn": "WITHDRAWN",
    "revoked": "WITHDRAWN",
    "not authorised": "WITHDRAWN",
    "expired": "UNKNOWN",
}


@lru_cache(maxsize=1024)
def normalise_status(text: str | None) -> str | None:
    """Map a registry status to ClinicalTrials.gov's upper-case vocabulary
    (``RECRUITING``, ``COMPLETED``…), translating EU CTIS wording. Answers are remembered: a
    study's every site states one of a few statuses."""
    if text is None or not text.strip():
        return None
    lowered = " ".join(text.strip().lower().split())
    if lowered in _CTIS_STATUS:
        return _CTIS_STATUS[lowered]
    return re.sub(r"[\s,-]+", "_", text.strip()).upper()


def drop_accents(text: str) -> str:
    """The text with accents dropped ("Hôpitaux" → "Hopitaux"): registries spell one name both
    ways. ASCII text, most of it, is returned as it is (decomposing it would change nothing)."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalise_nct_id(value: str | None) -> str:
    """An NCT number, upper-cased; ``ValueError`` naming the value if it is not one."""
    value = (value or "").strip().upper()
    if not (value.startswith("NCT") and value[3:].isdigit() and len(value) == 11):
        raise ValueError(f"NCTId {value!r} is not an NCT number (NCT followed by 8 digits)")
    return value
