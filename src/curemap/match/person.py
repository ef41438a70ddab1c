"""The person the trial finder matches: read from a TOML or JSON file, or a JSON object.

Everything is optional: what the person does not say leaves the criteria that need it
``unknown``. A value that cannot be used is an :class:`~curemap.errors.InputError` naming
the file and the field. Dates may be as precise as the person knows them (``2024``,
``2024-05``, ``2024-05-03``); a date known only to the month or year is a range, and a time
window it straddles is judged ``unknown``. A date after the day the person is judged on
(today, or ``--as-of``) is refused: a relapse in 2099 is a typing error, not a history.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curemap.enrich.terms import TermMatcher
from curemap.errors import InputError, about
from curemap.match.criteria import country_name
from curemap.normalise import parse_partial_date
from curemap.profile import Profile

SEXES = ("female", "male")


@dataclass(frozen=True)
class When:
    """A date as precise as given: the first and last day it may be."""

    first: dt.date
    last: dt.date
    text: str


@dataclass(frozen=True)
class Treatment:
    name: str
    start: When | None = None
    stop: When | None = None  # None: still taking it

    @property
    def current(self) -> bool:
        return self.stop is None


@dataclass(frozen=True)
class Person:
    age: float | None = None
    sex: str | None = None
    phenotype: str | None = None
    edss: float | None = None
    years_since_onset: float | None = None
    relapses: tuple[When, ...] | None = None  # None: not said; () : none
    mri_activity: tuple[When, ...] | None = None
    treatments: tuple[Treatment, ...] | None = None  # None: not said; (): none
    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    max_distance_km: float | None = None
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    contraception: bool | None = None
    in_other_trial: bool | None = None
    conditions: tuple[str, ...] = ()
    labs: dict[str, float] = field(default_factory=dict)


FIELDS = (
    "age", "sex", "phenotype", "edss", "years_since_onset", "relapses", "mri_activity", "treatments",
    "country", "location", "max_distance_km", "pregnant", "breastfeeding", "contraception",
    "in_other_trial", "conditions", "labs",
)


def load_person(path: Path, profile: Profile, as_of: dt.date | None = None) -> Person:
    """A person from a ``.toml`` or ``.json`` file (UTF-8, with or without the byte-order mark
    Windows editors write)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with about(str(path)):
        text = path.read_text(encoding="utf-8-sig")
    if "\x00" in text:
        raise InputError(f"{path}: binary data, not text; give the person as a TOML or JSON file")
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise InputError(f"{path}: not valid {kind}: {exc}") from None
    return person_from_dict(data, profile, str(path), as_of)


def person_from_dict(data: Any, profile: Profile, source: str = "person", as_of: dt.date | None = None) -> Person:
    """A person from plain data (a parsed file or an API request body), with no date after
    ``as_of`` (default today)."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected an object of fields ({', '.join(FIELDS)})")
    reader = _Fields(data, source, as_of or dt.date.today())
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        reader.fail(unknown[0], f"unknown field (known: {', '.join(FIELDS)})")
    location = data.get("location")
    lat = lon = None
    if location is not None:
        if not isinstance(location, dict) or set(location) - {"lat", "lon"} or len(location) != 2:
            reader.fail("location", "expected {lat, lon}")
        lat = _Fields(location, f"{source}: location").number("lat", -90, 90)
        lon = _Fields(location, f"{source}: location").number("lon", -180, 180)
    person = Person(
        age=reader.number("age", 0, 120),
        sex=reader.choice("sex", SEXES),
        phenotype=_phenotype(reader, profile),
        edss=reader.edss(),
        years_since_onset=reader.number("years_since_onset", 0, 100),
        relapses=reader.dates("relapses"),
        mri_activity=reader.dates("mri_activity"),
        treatments=reader.treatments(),
        country=country_name(reader.text("country")) if data.get("country") is not None else None,
        lat=lat,
        lon=lon,
        max_distance_km=reader.number("max_distance_km", 0, 40_000),
        pregnant=reader.flag("pregnant"),
        breastfeeding=reader.flag("breastfeeding"),
        contraception=reader.flag("contraception"),
        in_other_trial=reader.flag("in_other_trial"),
        conditions=reader.texts("conditions"),
        labs=reader.labs({lab.id for lab in profile.eligibility.labs} if profile.eligibility else set()),
    )
    if person.max_distance_km is not None and person.lat is None:
        reader.fail("max_distance_km", "needs a location {lat, lon} to measure from")
    return person


def _phenotype(reader: _Fields, profile: Profile) -> str | None:
    """A course by its id (``rrms``) or by the words the profile knows it by (``RRMS``,
    ``relapsing remitting``)."""
    text = reader.text("phenotype")
    if text is None:
        return None
    courses = profile.eligibility.courses if profile.eligibility else tuple(p.id for p in profile.phenotypes)
    if text.lower() in courses:
        return text.lower()
    matcher = TermMatcher((p.id, term) for p in profile.phenotypes if p.id in courses for term in p.terms)
    found = {match.key for match in matcher.find(text)}
    if len(found) == 1:
        return found.pop()
    reader.fail("phenotype", f"{text!r} is not a disease course; give one of {', '.join(courses)}")


def as_of_day(text: str | None, where: str) -> dt.date | None:
    """The day time windows are judged on (``--as-of`` / ``as_of``); None means today."""
    if text is None:
        return None
    parsed = parse_partial_date(text)
    if parsed is None or parsed.precision != "day":
        raise InputError(f"{where} {text!r} is not a date; give it as YYYY-MM-DD")
    return dt.date.fromisoformat(parsed.value)


def when(text: Any, where: str) -> When:
    """A partial date as the days it may be."""
    if isinstance(text, dt.datetime):
        text = text.date()
    if isinstance(text, dt.date):
        return When(text, text, text.isoformat())
    parsed = parse_partial_date(text) if isinstance(text, str) else None
    if parsed is None:
        raise InputError(f"{where}: {text!r} is not a date; give YYYY, YYYY-MM or YYYY-MM-DD")
    parts = [int(p) for p in parsed.value.split("-")]
    year, month, day = parts + [None] * (3 - len(parts))
    first = dt.date(year, month or 1, day or 1)
    last_month = month or 12
    last = dt.date(year, last_month, day or calendar.monthrange(year, last_month)[1])
    return When(first, last, parsed.value)


class _Fields:
    """Reads the fields of one object, failing with the source and the field's name."""

    def __init__(self, data: dict[str, Any], source: str, latest: dt.date | None = None):
        self.data = data
        self.source = source
        self.latest = latest  # no date may begin after it

    def day(self, value: Any, where: str) -> When:
        """A date of the person's history: it cannot have begun after the day judged on."""
        date = when(value, where)
        if self.latest is not None and date.first > self.latest:
            raise InputError(f"{where}: {date.text} is after {self.latest.isoformat()}; give a date that has passed")
        return date

    def fail(self, name: str, problem: str):
        raise InputError(f"{self.source}: {name}: {problem}")

    def number(self, name: str, low: float, high: float) -> float | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(name, f"expected a number, got {value!r}")
        if not low <= value <= high:
            self.fail(name, f"{value} is outside {low:g} to {high:g}")
        return float(value)

    def edss(self) -> float | None:
        value = self.number("edss", 0, 10)
        if value is not None and (value * 2) != int(value * 2):
            self.fail("edss", f"{value} is not an EDSS score; they go from 0 to 10 in steps of 0.5")
        return value

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(name, f"expected text, got {value!r}")
        return value.strip()

    def choice(self, name: str, allowed: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is not None and value.lower() not in allowed:
            self.fail(name, f"{value!r} is not one of {', '.join(allowed)}")
        return value.lower() if value else None

    def flag(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, bool):
            self.fail(name, f"expected true or false, got {value!r}")
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(name, "expected a list of names")
        return tuple(v.strip() for v in value)

    def dates(self, name: str) -> tuple[When, ...] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(name, "expected a list of dates (an empty list: none)")
        return tuple(self.day(item, f"{self.source}: {name}[{index}]") for index, item in enumerate(value))

    def treatments(self) -> tuple[Treatment, ...] | None:
        value = self.data.get("treatments")
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail("treatments", "expected a list of {name, start, stop}")
        result = []
        for index, item in enumerate(value):
            where = f"{self.source}: treatments[{index}]"
            if isinstance(item, str):
                item = {"name": item}
            if not isinstance(item, dict) or set(item) - {"name", "start", "stop"}:
                raise InputError(f"{where}: expected {{name, start, stop}}")
            name = item.get("name")
            if not isinstance(name, str) or not name.strip():
                raise InputError(f"{where}: name: expected the treatment's name")
            start = self.day(item["start"], f"{where}.start") if item.get("start") is not None else None
            stop = self.day(item["stop"], f"{where}.stop") if item.get("stop") is not None else None
            if start and stop and stop.last < start.first:
                raise InputError(f"{where}: stop {stop.text} is before start {start.text}")
            result.append(Treatment(name.strip(), start, stop))
        return tuple(result)

    def labs(self, known: set[str]) -> dict[str, float]:
        value = self.data.get("labs", {})
        if not isinstance(value, dict):
            self.fail("labs", "expected a mapping of test to value")
        labs = {}
        for name, number in value.items():
            if name not in known:
                self.fail(f"labs.{name}", f"unknown test (known: {', '.join(sorted(known))})")
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                self.fail(f"labs.{name}", f"expected a number, got {number!r}")
            labs[name] = float(number)
        return labs
