"""Judging a person against trials: every criterion ``met``, ``not_met`` or ``unknown``, with why.

``met`` means the criterion is in the person's favour: an inclusion criterion they meet, or an
exclusion criterion that does not apply to them. A trial is judged when at least one criterion
could be decided; it is ``eligible`` only then, and only when no criterion is ``not_met``. A trial
with nothing decided (no eligibility text in the store, no age, sex or population to go on) is
not judged: ``eligible`` is ``None`` and it is listed apart, after every judged trial, because
"nothing rules you out" would mislead. A trial judged only on its registry fields (age, sex,
who it admits) is partly judged: eligible, but only a conversation with the study team settles
it. A trial that fails any criterion is never eligible; it is still listed, marked
``"eligible": false`` with the criteria that rule the person out, because a person (or their
neurologist) may know better than the registry text. A criterion Curemap cannot read is
``unknown`` and shows its own words; so is one the person's profile says nothing about.

Nothing about the person is stored or logged: matching only reads the store.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from curemap.jsontext import parse_json
from curemap.match.criteria import (
    EXCLUSION,
    INCLUSION,
    POPULATION,
    TEXT,
    Check,
    Criterion,
    EligibilityReader,
)
from curemap.match.person import Person, Treatment, When
from curemap.model import Location, PartialDate, Study
from curemap.profile import Profile
from curemap.store import Store, schema

MET, NOT_MET, UNKNOWN = "met", "not_met", "unknown"
OPEN_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING")
"""The trial statuses a person can still join."""
OPEN_SITE_STATUSES = (None, "RECRUITING", "NOT_YET_RECRUITING")
NEAREST_SITES = 3
EARTH_RADIUS_KM = 6371.0
DAYS_PER_MONTH = 30.44

VERDICTS = ("may_be_eligible", "ask_the_study_team", "ruled_out", "not_checked")
"""What a trial is for the person, in the order they are listed: nothing read from its
eligibility text rules them out; only its registry fields (age, sex, who it admits) were judged
and none rules them out; a criterion rules them out; nothing could be judged."""
JUDGED_ON = {"text": "judged on its eligibility text", "registry": "judged on age and who it admits only"}

NO_TEXT_NOTE = (
    "The store holds no eligibility text for this trial (the bundled offline snapshot leaves it out); "
    "`curemap update --source ctgov` fetches it from ClinicalTrials.gov."
)


@dataclass
class Judged:
    """A criterion with its status and reason, and its judged parts."""

    criterion: Criterion
    status: str
    reason: str
    parts: list[Judged] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "text": self.criterion.text,
            "status": self.status,
            "reason": self.reason,
            "kind": self.criterion.kind,
            "section": self.criterion.section,
            "line": self.criterion.line,
            "source": self.criterion.source,
        }
        if self.parts:
            data["mode"] = self.criterion.mode
            data["parts"] = [part.to_dict() for part in self.parts]
        return data

    def flat(self) -> list[Judged]:
        return [self] + [item for part in self.parts for item in part.flat()]


@dataclass
class TrialMatch:
    study: Study
    criteria: list[Judged]
    strategies: list[str]
    curative_intent: bool
    sites: list[dict[str, Any]]
    has_text: bool
    site_count: int = 0
    in_country: bool | None = None  # None: the person gave no country

    @property
    def judged_on(self) -> str | None:
        """``text`` when a line of the eligibility text was decided, ``registry`` when only its
        age, sex or population criteria were, None when nothing was."""
        decided = {item.criterion.source for item in self.criteria if item.status != UNKNOWN}
        if TEXT in decided:
            return "text"
        return "registry" if decided else None

    @property
    def judged(self) -> bool:
        return self.judged_on is not None

    @property
    def eligible(self) -> bool | None:
        if not self.judged:
            return None
        return all(item.status != NOT_MET for item in self.criteria)

    @property
    def verdict(self) -> str:
        if not self.judged:
            return "not_checked"
        if not self.eligible:
            return "ruled_out"
        return "may_be_eligible" if self.judged_on == "text" else "ask_the_study_team"

    @property
    def score(self) -> float:
        """The share of criteria met, 0 when any is not met or nothing was judged: how sure a match is."""
        if not self.eligible:
            return 0.0
        return round(sum(item.status == MET for item in self.criteria) / len(self.criteria), 3)

    @property
    def nearest_km(self) -> float:
        distances = [site["distance_km"] for site in self.sites if site.get("distance_km") is not None]
        return min(distances) if distances else math.inf

    @property
    def only_first_site(self) -> bool:
        """Whether the record lists fewer sites than the trial has (the flattened ClinicalTrials.gov
        export keeps only the first)."""
        return (self.study.total_locations or 0) > len(self.study.locations)

    @property
    def country_rank(self) -> int:
        """0 with a site in the person's country (or no country given), 1 when the record lists
        only its first site and the others may be there, 2 otherwise."""
        return 0 if self.in_country is not False else 1 if self.only_first_site else 2

    def to_dict(self) -> dict[str, Any]:
        counts = {status: sum(item.status == status for item in self.criteria) for status in (MET, NOT_MET, UNKNOWN)}
        data: dict[str, Any] = {
            "id": self.study.id,
            "score": self.score,
            "eligible": self.eligible,
            "judged": self.judged,
            "verdict": self.verdict,
            "judged_on": JUDGED_ON.get(self.judged_on),
            "title": self.study.brief_title,
            "status": self.study.status,
            "phase": self.study.phase,
            "start_date": self.study.start_date.value if self.study.start_date else None,
            "first_posted": self.study.first_posted.value if self.study.first_posted else None,
            "strategies": self.strategies,
            "curative_intent": self.curative_intent,
            "counts": {"read": len(self.criteria), **counts},
            "not_met": [item.criterion.text for item in self.criteria if item.status == NOT_MET],
            "criteria": [item.to_dict() for item in self.criteria],
            "sites": self.sites,
            "site_count": self.site_count,
            "total_locations": self.study.total_locations,
            "in_your_country": self.in_country,
        }
        notes = []
        if not self.has_text:
            notes.append(NO_TEXT_NOTE if self.study.source == "ctgov" else "The registry record in the store has no eligibility text.")
        if self.only_first_site:
            notes.append(f"The record in the store lists only its first site; the trial has {self.study.total_locations} in all.")
        if notes:
            data["note"] = " ".join(notes)
        return data


@functools.lru_cache(maxsize=4)
def reader_for(profile: Profile) -> EligibilityReader:
    """One reader per profile, kept: its term matchers take a moment to build."""
    return EligibilityReader(profile)


class Matcher:
    """Judges criteria for one person, with one profile's words, as of one day."""

    def __init__(self, profile: Profile, person: Person, as_of: dt.date | None = None, reader: EligibilityReader | None = None):
        self.profile = profile
        self.reader = reader or reader_for(profile)
        self.words = self.reader.words
        self.person = person
        self.as_of = as_of or dt.date.today()
        self._groups = {s.id: s.group for s in profile.strategies}

    # -- criteria -------------------------------------------------------------------------

    def judge(self, criterion: Criterion) -> Judged:
        parts = [self.judge(part) for part in criterion.parts]
        checks = criterion.checks
        if criterion.applies_to:  # "For adolescents under 18 years of age, …": a rule for that group only
            within, _ = self._bounds(Check("age", criterion.applies_to), self.person.age, "age")
            if within is False:
                return Judged(criterion, MET, f"does not apply: it is for people aged {_bounds_text(criterion.applies_to, '')}", parts)
        if criterion.section == EXCLUSION and any(check.kind == "sex" for check in checks):
            # "Males who have taken DHEA…": an exclusion naming a sex says whom it is for
            sex = next(check.values["sex"] for check in checks if check.kind == "sex")
            if self.person.sex is not None and self.person.sex != sex:
                return Judged(criterion, MET, f"does not apply: it is for {sex} participants and you are {self.person.sex}", parts)
            checks = [check for check in checks if check.kind != "sex"]
        results = [self._check(check, criterion.section) for check in checks if not check.values.get("any_of") and not check.values.get("jointly")]
        together = [self._check(check, criterion.section) for check in checks if check.values.get("jointly")]
        if together:  # "over 10 years in patients with an EDSS of 2 or less": ruled out only when every condition holds
            facts = "; ".join(re.sub(r"^(?:does not apply|rules you out): ", "", reason) for _, reason in together)
            if any(check.values.get("with_unread") for check in checks):  # the other condition is not read
                together.append((UNKNOWN, ""))
                facts += "; and a condition Curemap cannot read"
            results.append((_any([status for status, _ in together]), f"rules you out only when all of these hold: {facts}"))
        alternatives = [self._check(check, criterion.section) for check in checks if check.values.get("any_of")]
        if alternatives:  # "1 relapse in the last year or 2 in the last 2 years": one is enough (to rule out, in an exclusion)
            combine = _any if criterion.section == INCLUSION else _all
            results.append((combine([status for status, _ in alternatives]), " or ".join(reason for _, reason in alternatives)))
        statuses = [status for status, _ in results]
        reasons = [reason for _, reason in results]
        if parts:
            # An exclusion lead "either of the following" rules out when any part applies: it is
            # passed only when every part is.
            mode = criterion.mode
            if mode == "unless":  # "… will not be considered of childbearing potential if one of the following": a way out of the rule
                statuses = [_any([_all(statuses), _any([p.status for p in parts])])]
                reasons.append(f"or exempt by one of the parts below: {_summary([p.status for p in parts])}")
            else:
                if criterion.section == EXCLUSION:
                    mode = "all" if mode == "any" else "any"
                statuses.append(_any([p.status for p in parts]) if mode == "any" else _all([p.status for p in parts]))
                wording = "at least one of the parts below" if mode == "any" else "every part below"
                reasons.append(f"{wording}: {_summary([p.status for p in parts])}")
        if not statuses:
            return Judged(criterion, UNKNOWN, "Curemap cannot read this criterion; the study team will check it with you")
        if criterion.source == POPULATION:
            reasons.append(f"this trial is for {criterion.text[:1].lower()}{criterion.text[1:]}")
        status = _all(statuses)
        if status == MET and criterion.unread:
            status = UNKNOWN
            reasons.append("the criterion also names other conditions, which the study team will check with you")
        return Judged(criterion, status, "; ".join(reasons), parts)

    def _check(self, check: Check, section: str) -> tuple[str, str]:
        holds, fact = getattr(self, f"_{check.kind}")(check)
        if holds is None:
            return UNKNOWN, fact
        wanted = (section == INCLUSION) != check.negated
        passed = holds == wanted
        if section == EXCLUSION and not check.negated:
            fact = f"{'does not apply' if passed else 'rules you out'}: {fact}"
        return (MET if passed else NOT_MET), fact

    # -- one judge per kind of check (each says whether the stated condition holds) ---------

    def _bounds(self, check: Check, value: float | None, what: str, unit: str = "") -> tuple[bool | None, str]:
        asked = _bounds_text(check.values, unit)
        if value is None:
            return None, f"your profile does not give your {what} (the trial asks {asked})"
        low, high = check.values.get("min"), check.values.get("max")
        holds = True
        if low is not None:
            holds &= value > low if check.values.get("min_strict") else value >= low
        if high is not None:
            holds &= value < high if check.values.get("max_strict") else value <= high
        return holds, f"your {what} is {value:g}{unit}; the trial asks {asked}"

    def _age(self, check: Check) -> tuple[bool | None, str]:
        holds, _ = self._bounds(check, self.person.age, "age")
        asked = f"this trial is for people aged {_bounds_text(check.values, '')}"
        if holds is None:
            return None, f"{asked}; your profile does not give your age"
        return holds, f"{asked}; you are {self.person.age:g}"

    def _edss(self, check: Check) -> tuple[bool | None, str]:
        holds, fact = self._bounds(check, self.person.edss, "EDSS")
        unsure = check.values.get("unsure_from")
        if holds is False and unsure is not None and self.person.edss >= unsure:  # a walking impairment at EDSS 3 may be there
            return None, f"{fact}; the criterion's words imply it, so at {self.person.edss:g} the study team judges"
        return holds, fact

    def _disease_duration(self, check: Check) -> tuple[bool | None, str]:
        return self._bounds(check, self.person.years_since_onset, "years since onset", " years")

    def _lab(self, check: Check) -> tuple[bool | None, str]:
        if "lab" not in check.values:
            return None, f"the trial sets a limit on a test result ({check.values['test']}) your profile does not hold"
        lab = next(item for item in self.words.labs if item.id == check.values["lab"])
        if not check.values.get("unit_matches", True):
            return None, f"the trial gives its {lab.name} limit in another unit than {lab.unit}"
        if "qualifier" in check.values:
            return None, f"the trial asks about your {lab.name} ({check.values['qualifier']}) without a limit; the study team judges it"
        return self._bounds(check, self.person.labs.get(lab.id), lab.name, f" {lab.unit}")

    def _sex(self, check: Check) -> tuple[bool | None, str]:
        wanted = check.values["sex"]
        if self.person.sex is None:
            return None, f"your profile does not give your sex (the trial is for {wanted} participants)"
        if check.values.get("organ") and self.person.sex == wanted:  # "prostate cancer": whether he has it is not in the profile
            return None, f"the criterion is about a condition of {wanted} participants; whether it is yours is for the study team"
        return self.person.sex == wanted, f"you are {self.person.sex}; the trial is for {wanted} participants"

    def _phenotype(self, check: Check) -> tuple[bool | None, str]:
        named = set(check.values["phenotypes"])
        allowed = named | {n for p in self.profile.phenotypes if p.id in named for n in p.narrower}
        names = ", ".join(sorted(allowed))
        course = self.person.phenotype
        if course is None:
            return None, f"your profile does not give your disease course (the criterion names {names})"
        if course in allowed and not (check.values.get("relapsing") and course in self.words.relapsing_with_activity):
            return True, f"your course ({course}) is among those named ({names})"
        if check.values.get("relapsing") and course in self.words.relapsing_with_activity:
            months = self.words.relapsing_activity_months
            active = self._activity_holds("any", months, 1)
            if active is None:
                return None, f"{course} counts as relapsing MS with a relapse or MRI activity in the last {months} months, which your profile does not say"
            state = "with" if active else "without"
            return active, f"{course} {state} a relapse or MRI activity in the last {months} months {'counts' if active else 'does not count'} as relapsing MS"
        return False, f"your course ({course}) is not among those named ({names})"

    def _diagnosis(self, check: Check) -> tuple[bool | None, str]:
        course = self.person.phenotype
        if course is None:
            return None, "your profile does not give your disease course"
        criteria = " (McDonald criteria; the study team confirms them)" if check.values.get("mcdonald") else ""
        if course in self.words.diagnosed:
            return True, f"your course ({course}) is a diagnosis of {self.profile.condition.name}{criteria}"
        return False, f"{course} is not yet a diagnosis of {self.profile.condition.name}{criteria}"

    def _named_conditions(self, check: Check, matcher, key: str, names: dict[str, str]) -> tuple[bool | None, str]:
        wanted = check.values[key]
        listed = {m.key for text in self.person.conditions for m in matcher.find(text)}
        label = " or ".join(names.get(item, item) for item in wanted)
        if listed & set(wanted):
            return True, f"you listed {label}"
        return None, f"the trial asks about {label}, which your profile does not list"

    def _condition(self, check: Check) -> tuple[bool | None, str]:
        names = {nc.id: nc.name for nc in self.profile.condition.not_conditions}
        return self._named_conditions(check, self.reader.conditions, "conditions", names)

    def _infection(self, check: Check) -> tuple[bool | None, str]:
        names = {item.id: item.name for item in self.words.infections}
        return self._named_conditions(check, self.reader.infections, "infections", names)

    def _activity_dates(self, event: str) -> tuple[When, ...] | None:
        relapses, mri = self.person.relapses, self.person.mri_activity
        if event == "relapse":
            return relapses
        if event == "mri":
            return mri
        if relapses is None and mri is None:
            return None
        return (relapses or ()) + (mri or ())

    def _activity_holds(self, event: str, months: float, count: int, from_months: float = 0) -> bool | None:
        """Whether the person had ``count`` events in the window (from ``months`` ago to
        ``from_months`` ago); with only one of relapses and MRI activity known, too few of that
        kind leaves "relapse or MRI activity" unknown."""
        holds = self._events_within(self._activity_dates(event), months, count, from_months)
        if holds is False and event == "any" and None in (self.person.relapses, self.person.mri_activity):
            return None
        return holds

    def _events_within(self, dates: tuple[When, ...] | None, months: float, count: int, from_months: float = 0) -> bool | None:
        if dates is None:
            return None
        since = self.as_of - dt.timedelta(days=months * DAYS_PER_MONTH)
        until = self.as_of - dt.timedelta(days=from_months * DAYS_PER_MONTH)
        inside = sum(since <= d.first and d.last <= until for d in dates)
        maybe = sum(d.last >= since and d.first <= until and not (since <= d.first and d.last <= until) for d in dates)
        if inside >= count:
            return True
        return False if inside + maybe < count else None

    def _activity(self, check: Check) -> tuple[bool | None, str]:
        event, months, count = check.values["event"], check.values["window_months"], check.values["min_count"]
        what = {"relapse": "relapse", "mri": "MRI activity (new or enhancing lesions)", "any": "relapse or MRI activity"}[event]
        since = check.values.get("from_months", 0)
        window = f"{_months_text(since)} to {_months_text(months)} before" if since else f"the last {_months_text(months)}"
        dates = self._activity_dates(event)
        holds = self._activity_holds(event, months, count, since)
        asked = f"{'at least ' + str(count) + ' ' if count > 1 else ''}{what} in {window}"
        if holds is None:
            if dates is None or event == "any" and None in (self.person.relapses, self.person.mri_activity):
                return None, f"your profile does not give dates of {what} (the criterion is about {asked})"
            return None, f"a date in your profile is too vague to tell whether it falls in {window}"
        listed = sorted(d.text for d in dates) if dates else []
        fact = f"you had {what} on {', '.join(listed)}" if listed else f"your profile lists no {what}"
        return holds, f"{fact}; the criterion is about {asked}"

    def _treatment(self, check: Check) -> tuple[bool | None, str]:
        relation, months = check.values["relation"], check.values.get("window_months")
        mentions = [tuple(item) for item in check.values["treatments"]]
        named = ", ".join(self._mention_name(m) for m in mentions[:4]) + (" …" if len(mentions) > 4 else "")
        if relation == "planned":
            return None, f"the trial asks about planned treatment with {named}, which is for you and the study team to decide"
        if self.person.treatments is None:
            return None, f"your profile does not list your treatments (the criterion is about {named})"
        found: list[tuple[bool | None, str]] = []
        for treatment in self.person.treatments:
            same = max((self._same(treatment, m) for m in mentions), key=lambda s: {True: 2, None: 1, False: 0}[s])
            if same is False:
                continue
            timing, when_text = self._timing(treatment, relation, months)
            if timing is False:
                continue
            certain = same is True and timing is True
            found.append((True if certain else None, f"{treatment.name}{when_text}"))
        window = f" in the last {_months_text(months)}" if months else ""
        asked = {"prior": "taken", "current": "taking now", "started": "started"}[relation]
        outcome = check.values.get("outcome")
        if outcome and found:
            went = "you declined it" if outcome == "declined" else "it failed or was not tolerated"
            return None, f"you list {', '.join(text for _, text in found)}; whether {went} is for you and the study team"
        if outcome == "declined":
            return None, f"the criterion is about {named} declined; your profile does not say what you were offered"
        if any(holds for holds, _ in found):
            return True, f"you list {', '.join(text for holds, text in found if holds)}; the criterion is about {named} {asked}{window}"
        unrecorded = [self._mention_name(m) for m in mentions if m[0] == "class" and not self._class(m[1]).recorded]
        if unrecorded:
            return None, f"the criterion is about {', '.join(unrecorded)}, which your profile's treatment list does not record"
        if found:
            return None, f"you list {', '.join(text for _, text in found)}; whether it counts as {named} {asked}{window} needs checking"
        return False, f"your profile lists no {named} {asked}{window}"

    def _mention_name(self, mention: tuple) -> str:
        if mention[0] == "strategy":
            return f"another drug like it ({next(s.name for s in self.profile.strategies if s.id == mention[1])})"
        return self._class(mention[1]).name if mention[0] == "class" else mention[3]

    def _class(self, class_id: str):
        return next(c for c in self.words.treatment_classes if c.id == class_id)

    def _same(self, treatment: Treatment, mention: tuple) -> bool | None:
        """Whether a treatment the person lists is the one a criterion names: True, False, or
        None when it may be (a brand of the same strategy, a drug the profile does not know)."""
        keys = {match.key for match in self.reader.treatments.find(treatment.name)}
        drugs = [k for k in keys if k[0] == "drug"]
        if mention[0] == "strategy":  # a drug acting like the one an exclusion names
            return True if any(k[1] == mention[1] for k in drugs) else None if not keys else False
        if mention[0] == "class":
            item = self._class(mention[1])
            if ("class", item.id) in keys or any(m.key == item.id for m in self.reader.class_drugs.find(treatment.name)):
                return True
            if any(k[1] in item.strategies or self._groups.get(k[1]) in item.groups for k in drugs):
                return True
            return None if not keys and (item.strategies or item.groups) else False
        _, strategy, kind, words = mention
        if any(k[3] == words for k in drugs):
            return True
        if strategy is None:  # a drug the profile does not know: only its own name tells
            return True if words in treatment.name.lower() else False if drugs else None
        if not keys:
            return words in treatment.name.lower()
        same_strategy = [k for k in drugs if k[1] == strategy]
        if same_strategy and strategy in self.words.single_treatment_strategies:
            return True
        if kind == "brand" and any(k[2] == "brand" for k in same_strategy):
            return False  # another brand is another product
        if any("alias" not in (k[2], kind) for k in same_strategy):
            return None  # a brand or code of a drug of the same strategy may be this very drug
        return False

    def _timing(self, treatment: Treatment, relation: str, months: float | None) -> tuple[bool | None, str]:
        since = self.as_of - dt.timedelta(days=months * DAYS_PER_MONTH) if months else None
        stop, start = treatment.stop, treatment.start
        span = f" (from {start.text if start else '?'} to {stop.text if stop else 'now'})"
        if relation == "current":
            return (stop is None or stop.last >= self.as_of), span
        if relation == "started":
            if since is None:
                return None, span
            if start is None:
                return None, f"{span}, start date not given"
            return (True if start.first >= since else False if start.last < since else None), span
        if since is None or stop is None:
            return True, span
        return (True if stop.first >= since else False if stop.last < since else None), span

    def _pregnancy(self, check: Check) -> tuple[bool | None, str]:
        person = self.person
        if person.sex == "male":
            return False, "you are male"
        if person.pregnant or person.breastfeeding:
            return True, "you are " + " and ".join(w for w, v in (("pregnant", person.pregnant), ("breastfeeding", person.breastfeeding)) if v)
        if person.pregnant is False and person.breastfeeding is False:
            return False, "you are not pregnant or breastfeeding"
        return None, "your profile does not say whether you are pregnant or breastfeeding"

    def _contraception(self, check: Check) -> tuple[bool | None, str]:
        if check.values.get("women_only") and self.person.sex == "male":
            return True, "you are male; the criterion asks women who could become pregnant to use contraception"
        if check.values.get("men_only") and self.person.sex == "female":
            return True, "you are female; the criterion asks men to use contraception"
        if self.person.contraception is None:
            return None, "the trial asks participants who could conceive a child to use contraception; your profile does not say"
        return self.person.contraception, f"you {'do' if self.person.contraception else 'do not'} agree to use contraception"

    def _vaccination(self, check: Check) -> tuple[bool | None, str]:
        kind = "live vaccines" if check.values.get("live") else "vaccinations"
        return None, f"the trial asks about {kind}; your profile does not record them"

    def _health(self, check: Check) -> tuple[bool | None, str]:
        return None, "the trial is for healthy volunteers; whether your health counts is for the study team"

    def _healthy_volunteer(self, check: Check) -> tuple[bool | None, str]:
        """A trial only of healthy volunteers (its title says so), unlike a line naming healthy
        controls beside patients: anyone with a disease course is not one."""
        if self.person.phenotype is None:
            return None, "your profile does not give your disease course"
        return False, f"you have {self.person.phenotype}, so you are not a healthy volunteer"

    def _consent(self, check: Check) -> tuple[bool | None, str]:
        return None, "about consent, language or willingness: for you and the study team"

    def _trial_participation(self, check: Check) -> tuple[bool | None, str]:
        if self.person.in_other_trial is None:
            return None, "your profile does not say whether you take part in another trial"
        return self.person.in_other_trial, f"you {'are' if self.person.in_other_trial else 'are not'} in another trial"

    def _residence(self, check: Check) -> tuple[bool | None, str]:
        country = check.values["country"]
        if self.person.country is None:
            return None, f"your profile does not give your country (the trial asks for residents of {country})"
        return self.person.country.lower() == country.lower(), f"you live in {self.person.country}; the trial asks for residents of {country}"

    # -- trials ---------------------------------------------------------------------------

    def match_study(self, study: Study, classification: dict[str, Any]) -> TrialMatch:
        """A trial judged on its registry fields and text, and on the populations its
        classification says it admits."""
        criteria = self.reader.read(study.eligibility) + self.reader.population_criteria(study, classification)
        has_text = bool(study.eligibility and study.eligibility.criteria)
        sites = open_sites(study.locations, self.person)
        home = (self.person.country or "").lower()
        return TrialMatch(
            study,
            [self.judge(criterion) for criterion in criteria],
            classification.get("strategies", []),
            bool(classification.get("curative_intent")),
            sites[:NEAREST_SITES],
            has_text,
            len(sites),
            any((site["country"] or "").lower() == home for site in sites) if home else None,
        )


def find_trials(
    store: Store,
    profile: Profile,
    person: Person,
    *,
    curative_first: bool = False,
    curative_only: bool = False,
    country_only: bool = False,
    as_of: dt.date | None = None,
    reader: EligibilityReader | None = None,
) -> list[TrialMatch]:
    """Recruiting and not-yet-recruiting trials about the condition, best first: those nothing
    rules the person out of (judged on their eligibility text, then those judged only on age and
    who they admit), then those a criterion rules them out of, then those nothing could be
    judged on. Within each, curative-intent trials first when asked, then trials with a site in
    the person's country (then those whose record lists only its first site), then by score and
    nearest site. ``curative_only`` and
    ``country_only`` keep only those trials. A person who gave a maximum distance sees only
    trials with a site within it (or a site in their country whose position is not known)."""
    matcher = Matcher(profile, person, as_of, reader)
    matches = []
    for study, classification in open_trials(store):
        found = matcher.match_study(study, classification)
        if person.max_distance_km is not None and not _within_reach(found.sites, person):
            continue
        if (curative_only and not found.curative_intent) or (country_only and not found.in_country):
            continue
        matches.append(found)
    matches.sort(
        key=lambda m: (
            VERDICTS.index(m.verdict), curative_first and not m.curative_intent, m.country_rank, -m.score,
            m.nearest_km, m.study.id,
        )
    )
    return matches


def new_fitting_trials(matches: list[TrialMatch], since: dt.date) -> list[TrialMatch]:
    """The trials nothing rules the person out of that opened (started) or were first posted on
    or after ``since``; a date known only to the month or year counts when it may be."""
    def since_then(date: PartialDate | None) -> bool:
        return date is not None and date.value >= since.isoformat()[: len(date.value)]

    return [m for m in matches if m.eligible and (since_then(m.study.start_date) or since_then(m.study.first_posted))]


UNREAD_LISTS = ("collaborators", "interventions", "arms", "outcomes", "references", "result_values", "adverse_events", "result_analyses")
"""A study's lists the finder neither judges a person by nor shows: left empty when it decodes
the open trials (rebuilding their planned outcomes alone was about half of a request's time)."""


def open_trials(store: Store) -> Iterator[tuple[Study, dict[str, Any]]]:
    """Studies about the condition that are recruiting or not yet recruiting, with their
    classification; the lists of :data:`UNREAD_LISTS` are left empty."""
    st, cl = schema.studies, schema.classifications
    query = (
        select(st.c.data, cl.c.data.label("classification"))
        .join(cl, cl.c.record_id == st.c.id)
        .where(st.c.status.in_(OPEN_STATUSES), cl.c.is_ms)
        .order_by(st.c.id)
    )
    with store.connect() as conn:
        rows = conn.execute(query).all()
    for row in rows:
        data = parse_json(row.data)
        for name in UNREAD_LISTS:
            data.pop(name, None)
        yield Study.from_dict(data), parse_json(row.classification)


def open_sites(locations: list[Location], person: Person) -> list[dict[str, Any]]:
    """The open sites, nearest the person first: by distance when both positions are known,
    then those in the person's country, then the rest. Each names its place as city, state and
    country, as far as the record gives them."""
    sites = []
    for site in locations:
        if site.status not in OPEN_SITE_STATUSES:
            continue
        distance = None
        if person.lat is not None and site.lat is not None and site.lon is not None:
            distance = round(haversine_km(person.lat, person.lon, site.lat, site.lon), 1)
        sites.append(
            {"facility": site.facility, "city": site.city, "state": site.state, "country": site.country,
             "place": ", ".join(part for part in (site.city, site.state, site.country) if part) or None,
             "status": site.status, "distance_km": distance}
        )
    home = (person.country or "").lower()
    sites.sort(key=lambda s: (s["distance_km"] is None, s["distance_km"] or 0, (s["country"] or "").lower() != home))
    return sites


def _within_reach(sites: list[dict[str, Any]], person: Person) -> bool:
    for site in sites:
        if site["distance_km"] is not None and site["distance_km"] <= person.max_distance_km:
            return True
        if site["distance_km"] is None and person.country and (site["country"] or "").lower() == person.country.lower():
            return True
    return False


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points on Earth, in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _all(statuses: list[str]) -> str:
    if NOT_MET in statuses:
        return NOT_MET
    return MET if statuses and all(s == MET for s in statuses) else UNKNOWN


def _any(statuses: list[str]) -> str:
    if MET in statuses:
        return MET
    return NOT_MET if statuses and all(s == NOT_MET for s in statuses) else UNKNOWN


def _summary(statuses: list[str]) -> str:
    return ", ".join(f"{statuses.count(s)} {s.replace('_', ' ')}" for s in (MET, NOT_MET, UNKNOWN) if statuses.count(s))


def _months_text(months: float) -> str:
    if months >= 12 and months % 12 == 0:
        years = int(months // 12)
        return "year" if years == 1 else f"{years} years"
    if months >= 1 and float(months).is_integer():
        return "month" if months == 1 else f"{int(months)} months"
    return f"{round(months * DAYS_PER_MONTH)} days"


def _bounds_text(values: dict[str, Any], unit: str) -> str:
    low, high = values.get("min"), values.get("max")
    if low is not None and high is not None:
        return f"{low:g} to {'under ' if values.get('max_strict') else ''}{high:g}{unit}"
    if low is not None:
        return f"{'over' if values.get('min_strict') else 'at least'} {low:g}{unit}"
    return f"{'under' if values.get('max_strict') else 'at most'} {high:g}{unit}"
