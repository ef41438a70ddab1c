"""EU Clinical Trials Information System (CTIS) public search export, one trial per CSV row.

The export joins list fields with ``", "`` although the items themselves
contain commas (``Croatia:Authorised, recruiting``, ``Glatiramyl 40 mg/ml,
oplossing voor injectie``), so each list column is split by its own rule.
``N/A`` means empty in every column. Rows stream one at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from curemap.model import (
    Eligibility,
    Intervention,
    Location,
    ParsedRecord,
    PlannedOutcome,
    Sponsor,
    Study,
)
from curemap.normalise import (
    normalise_phase,
    normalise_status,
    parse_partial_date,
)
from curemap.sources.csv_rows import iter_csv_records
from curemap.sources.validation import CTIS_ROW, PLACEHOLDERS, check, shown

SOURCE = "ctis"

REQUIRED_COLUMNS = frozenset(
    {"Trial number", "Title of the trial", "Overall trial status", "Trial phase", "Location(s) and recruitment status"}
)
"""The header columns that identify this format."""

COVERS = frozenset(
    {
        "brief_title",
        "official_title",
        "secondary_ids",
        "status",
        "start_date",
        "completion_date",
        "first_posted",
        "last_update_posted",
        "study_type",
        "phase",
        "phase_raw",
        "enrollment",
        "lead_sponsor",
        "collaborators",
        "conditions",
        "locations",
        "total_locations",
        "eligibility",
        "interventions",
        "outcomes",
        "has_results",
    }
)

_EU_CT_NUMBER = re.compile(r"^\d{4}-\d{6}-\d{2}-\d{2}$")

_STD_AGES = {"0-17 years": "CHILD", "18-64 years": "ADULT", "65+ years": "OLDER_ADULT"}
"""CTIS age groups in ClinicalTrials.gov's ``stdAges`` vocabulary, so both registries filter alike."""

_SEX = {frozenset({"female", "male"}): "ALL", frozenset({"female"}): "FEMALE", frozenset({"male"}): "MALE"}

_COUNTRY_START = re.compile(r",\s*(?=[^,:]+:)")
"""A ``, `` that begins the next ``Country:status`` pair (statuses contain commas, country names do not)."""

def _text(value: str | None) -> str | None:
    """The cell as one line of text, or ``None`` for an empty or placeholder cell."""
    text = " ".join((value or "").split())
    return None if text.lower() in PLACEHOLDERS else text


def _unique(items: Iterable[str]) -> list[str]:
    """Items in order, each once regardless of case (the export repeats products per arm)."""
    seen: set[str] = set()
    kept = []
    for item in items:
        if item.casefold() not in seen:
            seen.add(item.casefold())
            kept.append(item)
    return kept


def _split_outside_brackets(text: str) -> list[str]:
    """Split on ``", "`` except inside (…) or […], where commas belong to the item."""
    pieces, depth, start = [], 0, 0
    for match in re.finditer(r"[()[\]]|,\s+", text):
        token = match.group()
        if token in "([":
            depth += 1
        elif token in ")]":
            depth = max(depth - 1, 0)
        elif depth == 0:
            pieces.append(text[start : match.start()])
            start = match.end()
    pieces.append(text[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


def _trial_number(value: str | None) -> str:
    number = (value or "").strip()
    if not _EU_CT_NUMBER.match(number):
        raise ValueError(f"Trial number {shown(number)} is not an EU CT number (YYYY-NNNNNN-NN-NN)")
    return number


def _locations(value: str | None) -> list[Location]:
    """``Croatia:Authorised, recruiting, Bulgaria:Ended`` → one location per member state."""
    text = _text(value)
    if text is None:
        return []
    locations = []
    for pair in _COUNTRY_START.split(text):
        country, _, status = pair.partition(":")
        if country.strip():
            locations.append(Location(country=country.strip(), status=normalise_status(status)))
    return locations


def _conditions(value: str | None) -> list[str]:
    """A list of condition names is split; a sentence that merely contains commas is kept whole."""
    text = _text(value)
    if text is None:
        return []
    pieces = _split_outside_brackets(text)
    if all(piece[0].isupper() for piece in pieces):
        return _unique(pieces)
    return [text]


_FORM_WORDS = frozenset({"hard", "soft", "tablets", "tabletten", "capsules", "solution", "suspension", "oppløsning"})
"""Pharmaceutical forms that trail a product name after a comma (``14 mg capsule, hard``)."""


def _products(value: str | None) -> list[str]:
    """Product names, once each.

    A piece that opens with ``(``, a lowercase phrase (``oplossing voor injectie``,
    ``powder and solvent for solution``) or a form word continues the product
    before it; any other lone lowercase word is a product of its own (``ublituximab``).
    """
    text = _text(value)
    if text is None:
        return []
    products: list[str] = []
    for piece in _split_outside_brackets(text):
        continues = piece[0] == "(" or (piece[0].islower() and (" " in piece or piece in _FORM_WORDS))
        if continues and products:
            products[-1] = f"{products[-1]}, {piece}"
        elif any(char.isalnum() for char in piece):
            products.append(piece)
    return _unique(products)


def _endpoints(value: str | None) -> list[str]:
    """A numbered list (``1. …, 2. …``) becomes one endpoint per item; other text stays whole."""
    text = _text(value)
    if text is None:
        return []
    if not re.match(r"1[.)]\s*\S", text):
        return [text]
    items, number, start = [], 2, 0
    for match in re.finditer(r",\s+(\d+)[.)]\s*", text):
        if int(match.group(1)) == number:
            items.append(text[start : match.start()])
            start, number = match.start() + 1, number + 1
    items.append(text[start:])
    return [re.sub(r"^\s*\d+[.)]\s*", "", item).strip() for item in items]


def _list(value: str | None) -> list[str]:
    """A cell holding a plain ``", "``-joined list whose items never contain commas."""
    text = _text(value)
    return text.split(", ") if text else []


def _eligibility(row: dict[str, str]) -> Eligibility | None:
    groups = [group.lower() for group in _list(row.get("Age group"))]
    genders = frozenset(gender.lower() for gender in _list(row.get("Gender")))
    unknown = [g for g in groups if g not in _STD_AGES]
    if unknown:
        raise ValueError(f"Age group {shown(unknown[0])} is not a CTIS age group ({', '.join(_STD_AGES)})")
    if genders and genders not in _SEX:
        raise ValueError(f"Gender {shown(row.get('Gender'))} is not Female and/or Male")
    if not groups and not genders:
        return None
    return Eligibility(
        sex=_SEX.get(genders),
        std_ages=[code for group, code in _STD_AGES.items() if group in groups],
    )


def _sponsors(row: dict[str, str]) -> list[Sponsor]:
    """Sponsor and co-sponsors, each once, paired with their types; a name holding a comma stays whole."""
    names_text = _text(row.get("Sponsor/Co-Sponsors"))
    if names_text is None:
        return []
    names, types = names_text.split(", "), _list(row.get("Sponsor type"))
    if len(names) != len(types):
        names, types = [names_text], types[:1]
    sponsor_type = dict(zip(names, types))
    return [Sponsor(name, sponsor_type.get(name)) for name in _unique(names)]


def row_to_study(row: dict[str, str]) -> Study:
    """Normalise one CTIS row; raises ``ValueError`` naming the bad field."""
    trial_number = _trial_number(row.get("Trial number"))
    cells = check(CTIS_ROW, row, strict=False)
    title = _text(row.get("Title of the trial"))
    protocol_code = _text(row.get("Protocol code"))
    phase = _text(row.get("Trial phase"))
    locations = _locations(row.get("Location(s) and recruitment status"))
    sponsors = _sponsors(row)
    return Study(
        id=trial_number,
        source=SOURCE,
        brief_title=title,
        official_title=title,
        secondary_ids=[protocol_code] if protocol_code else [],
        status=normalise_status(_text(row.get("Overall trial status"))),
        start_date=parse_partial_date(_text(row.get("Start date"))),
        # The global end covers every country; the end date alone may be one country's.
        completion_date=parse_partial_date(_text(row.get("Global end of the trial")) or _text(row.get("End date"))),
        first_posted=parse_partial_date(_text(row.get("Decision date"))),
        last_update_posted=parse_partial_date(_text(row.get("Last updated"))),
        study_type="INTERVENTIONAL",  # CTIS registers clinical trials of medicines only
        phase=normalise_phase(phase),
        phase_raw=row["Trial phase"].strip() if phase else None,
        enrollment=cells.get("Number of participants enrolled"),
        lead_sponsor=sponsors[0] if sponsors else None,
        collaborators=sponsors[1:],
        conditions=_conditions(row.get("Medical conditions")),
        locations=locations,
        total_locations=len(locations),
        eligibility=_eligibility(row),
        interventions=[Intervention(name=name, type="DRUG") for name in _products(row.get("Product"))],
        outcomes=[PlannedOutcome(m, "primary") for m in _endpoints(row.get("Primary endpoint"))]
        + [PlannedOutcome(m, "secondary") for m in _endpoints(row.get("Secondary endpoints"))],
        has_results=(_text(row.get("Trial results")) or "").lower() == "yes",
    )


def looks_like(header: list[str]) -> bool:
    return REQUIRED_COLUMNS <= {column.lstrip("\ufeff") for column in header}


def iter_records(lines: Iterable[str], origin: str) -> Iterator[ParsedRecord]:
    """Yield one :class:`ParsedRecord` per row; a bad row carries its error, never raises."""
    return iter_csv_records(
        lines, origin, source=SOURCE, parse=row_to_study, covers=lambda _: COVERS, id_column="Trial number"
    )
