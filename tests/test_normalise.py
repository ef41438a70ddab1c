"""The normalisers are total and agree across notations: dates keep their precision, phases
written in roman or arabic numerals, by either registry, land on the same step."""

from __future__ import annotations

import calendar
import csv
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curemap.normalise import PHASES, drop_accents, normalise_phase, normalise_status, parse_partial_date
from tests.conftest import CTGOV_CSV, CTIS_CSV

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


@st.composite
def partial_dates(draw) -> tuple[int, int | None, int | None]:
    """A real calendar date, as precise as a registry might give it."""
    year = draw(st.integers(1000, 9999))
    month = draw(st.none() | st.integers(1, 12))
    if month is None:
        return year, None, None
    day = draw(st.none() | st.integers(1, calendar.monthrange(year, month)[1]))
    return year, month, day


def _iso(year: int, month: int | None, day: int | None) -> str:
    return "-".join(f"{part:0{width}d}" for part, width in ((year, 4), (month, 2), (day, 2)) if part is not None)


@given(partial_dates(), st.sampled_from([None, "ACTUAL", "estimated", " Actual "]))
def test_iso_date_round_trips_with_its_precision(parts, kind):
    year, month, day = parts
    parsed = parse_partial_date(_iso(*parts), kind)
    assert parsed is not None
    assert parsed.value == _iso(*parts)
    assert parsed.precision == ("year" if month is None else "month" if day is None else "day")
    assert parsed.kind == (kind.strip().upper() if kind else None)


@given(partial_dates().filter(lambda parts: parts[2] is not None))
def test_day_first_form_equals_iso(parts):
    year, month, day = parts
    assert parse_partial_date(f"{day:02d}/{month:02d}/{year}") == parse_partial_date(_iso(year, month, day))
    assert parse_partial_date(f"{day}/{month}/{year}") == parse_partial_date(_iso(year, month, day))


@given(partial_dates().filter(lambda parts: parts[1] is not None))
def test_month_name_form_equals_iso(parts):
    year, month, day = parts
    name = calendar.month_name[month]
    text = f"{name} {year}" if day is None else f"{name} {day}, {year}"
    assert parse_partial_date(text) == parse_partial_date(_iso(year, month, day))


@given(st.text(), st.one_of(st.none(), st.text()))
def test_parse_partial_date_never_raises(text, kind):
    parsed = parse_partial_date(text, kind)
    assert parsed is None or parsed.precision in {"year", "month", "day"}


def test_impossible_dates_are_rejected_not_guessed():
    assert parse_partial_date("2021-02-29") is None
    assert parse_partial_date("31/04/2024") is None
    assert parse_partial_date("2024-13") is None
    assert parse_partial_date("N/A") is None


@given(st.text())
def test_normalise_phase_never_raises_and_stays_in_vocabulary(text):
    assert normalise_phase(text) in (*PHASES, None)


@given(st.text())
def test_normalise_status_never_raises(text):
    status = normalise_status(text)
    assert status is None or status == status.upper()


def _column(path, name: str) -> set[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row[name] for row in csv.DictReader(handle)}


@pytest.mark.parametrize(("path", "column"), [(CTGOV_CSV, "Phase"), (CTIS_CSV, "Trial phase")])
def test_every_real_phase_string_is_understood(path, column):
    values = _column(path, column) - {""}
    assert len(values) >= 8  # both registries use many wordings
    not_understood = sorted(v for v in values if normalise_phase(v) is None)
    assert not_understood == []


def test_real_ctis_phase_wordings_map_to_the_right_step():
    assert normalise_phase("Therapeutic confirmatory  (Phase III)") == "phase3"
    assert normalise_phase("Human Pharmacology (Phase I)- First administration to humans") == "phase1"
    assert normalise_phase("Phase I and Phase II (Integrated)- Other") == "phase1_2"
    assert normalise_phase("Phase II and Phase III (Integrated)") == "phase2_3"
    assert normalise_phase("Phase III and phase IV (Integrated)") == "phase3"


PHASE_SPELLINGS = [
    lambda n: f"Phase {ROMAN[n]}",
    lambda n: f"phase {ROMAN[n].lower()}",
    lambda n: f"Phase {n}",
    lambda n: f"PHASE{n}",
    lambda n: f"phase_{n}",
    lambda n: f"Phase-{ROMAN[n]}",
]


@given(st.integers(1, 4), st.sampled_from(PHASE_SPELLINGS))
def test_roman_and_arabic_numerals_agree(number, spell):
    assert normalise_phase(spell(number)) == f"phase{number}"


@given(st.sampled_from([(1, 2), (2, 3)]), st.sampled_from(["Phase {a}/{b}", "Phase {a}/Phase {b}", "Phase {a}-{b}"]))
def test_combined_phases_agree_whatever_the_notation(pair, pattern):
    low, high = pair
    expected = normalise_phase(f"PHASE{low}|PHASE{high}")
    assert expected == f"phase{low}_{high}"
    assert normalise_phase(pattern.format(a=ROMAN[low], b=ROMAN[high])) == expected
    assert normalise_phase(pattern.format(a=low, b=high)) == expected


@given(st.integers(1, 4), st.sampled_from("abAB"), st.booleans())
def test_sub_phase_letter_keeps_the_phase(number, letter, roman):
    numeral = ROMAN[number] if roman else str(number)
    assert normalise_phase(f"Phase {numeral}{letter}") == f"phase{number}"


def test_not_applicable_and_early_phase():
    assert normalise_phase("NA") == "not_applicable"
    assert normalise_phase("EARLY_PHASE1") == "early_phase1"
    assert normalise_phase("Early Phase I") == "early_phase1"
    assert normalise_phase("") is None
    assert normalise_phase("Observational") is None


def test_ctis_statuses_translate_to_ctgov_vocabulary():
    assert normalise_status("Ongoing, recruitment ended") == "ACTIVE_NOT_RECRUITING"
    assert normalise_status("Authorised, recruitment pending") == "NOT_YET_RECRUITING"
    assert normalise_status("Temporarily halted") == "SUSPENDED"
    assert normalise_status("ACTIVE_NOT_RECRUITING") == "ACTIVE_NOT_RECRUITING"


@given(st.text())
def test_dropping_accents_is_decomposing_and_leaving_out_the_marks_for_any_text(text):
    """ASCII text is returned as it is: the shortcut gives what the decomposition gives."""
    assert drop_accents(text) == "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def test_dropping_accents_keeps_the_letters():
    assert drop_accents("Hôpitaux Universitaires de Genève") == "Hopitaux Universitaires de Geneve"
    assert drop_accents("Charité – Universitätsmedizin") == "Charite – Universitatsmedizin"
