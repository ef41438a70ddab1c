"""Who a study admits, where the record says so: children only, adults only, pregnant women…

A person using the trial finder, or a filter on the map, needs to know when a trial admits only
children, only pregnant or breastfeeding women or only healthy volunteers, and when it is limited
to relapsing or to progressive MS. The profile's ``populations`` section says what in a record
gives each population: the registry's age bounds and healthy-volunteer flag, or words in titles
and conditions. Each tag carries the field and the words or value that gave it, as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from curemap.enrich.classify import READERS
from curemap.enrich.terms import TermMatch, TermMatcher
from curemap.match.criteria import registry_age
from curemap.model import Study
from curemap.profile import Population, Profile, Term


@dataclass(frozen=True)
class PopulationTag:
    """A population a study admits, and the evidence: ``text == field_text(study, field)[start:end]``;
    ``start`` and ``end`` are None for a value that is not text (the healthy-volunteer flag)."""

    population: str
    field: str  # a record field path, e.g. "brief_title", "conditions[1]", "eligibility.std_ages[0]"
    text: str
    start: int | None
    end: int | None


@dataclass(frozen=True)
class _Bound:
    """One end of the ages a record admits, in years (None: no limit), and the field that says so."""

    years: float | None
    field: str
    text: str


_RULES = {
    "youngest_below": ("youngest", lambda years, limit: years < limit),
    "youngest_from": ("youngest", lambda years, limit: years >= limit),
    "oldest_below": ("oldest", lambda years, limit: years is not None and years < limit),
    "oldest_from": ("oldest", lambda years, limit: years is None or years >= limit),
}
"""Each age rule of the profile: the bound it reads and its test (an oldest age of None is no limit)."""


class PopulationReader:
    """Tags studies with the profile's populations."""

    def __init__(self, profile: Profile):
        words = profile.populations
        if words is None:
            raise ValueError(f"profile {profile.id!r} has no populations section")
        phenotype_terms = {phenotype.id: phenotype.terms for phenotype in profile.phenotypes}
        self._words = words
        self._by_id = {population.id: population for population in words.populations}
        # one matcher for every term, each keyed by (its list, the term): a text is read once
        listed = [(_IGNORE, term) for term in (*words.ignore, *profile.ignore.phenotypes)]
        for population in words.populations:
            listed += [((population.id, _TERMS), term) for term in _terms(population.terms, population.phenotypes, phenotype_terms)]
            listed += [
                ((population.id, _UNLESS), term)
                for term in _terms(population.unless, population.unless_phenotypes, phenotype_terms)
            ]
        self._matcher = TermMatcher(((group, term), term) for group, term in listed)

    def read(self, study: Study) -> list[PopulationTag]:
        """One tag per population the record gives, in profile order, with its evidence."""
        bounds = self._bounds(study)
        found: dict[str, PopulationTag] = {}
        read: dict[str, list[TermMatch]] = {}  # path -> the matches in its text
        for population in self._words.populations:
            for tag in self._tags(population, study, bounds, read):
                found.setdefault(tag.population, tag)
        return [found[p.id] for p in self._words.populations if p.id in found]

    def _tags(
        self, population: Population, study: Study, bounds: dict[str, _Bound | None], read: dict[str, list[TermMatch]]
    ) -> list[PopulationTag]:
        """This population's tags (itself or its `otherwise`, and what it implies)."""
        given = population.id
        if population.ages is not None and bounds[_RULES[population.ages[0]][0]] is not None:
            rule, limit = population.ages
            bound = bounds[_RULES[rule][0]]
            if not _RULES[rule][1](bound.years, limit):
                return []
            evidence = (bound.field, bound.text, 0, len(bound.text))
        elif population.healthy_volunteers and study.eligibility and study.eligibility.healthy_volunteers:
            evidence = ("eligibility.healthy_volunteers", str(True), None, None)
        else:
            fields = population.fields or self._words.fields
            terms = (population.id, _TERMS)
            match = self._first(terms, study, fields, read)
            if match is None:
                return []
            evidence = match
            if self._first((population.id, _UNLESS), study, fields, read, besides=terms) is not None:
                if population.otherwise is None:
                    return []
                given = population.otherwise
        implied = self._by_id[given].implies if given != population.id else population.implies
        return [PopulationTag(name, *evidence) for name in (given, *implied)]

    def _first(
        self,
        group: tuple[str, str],
        study: Study,
        fields: tuple[str, ...],
        read: dict[str, list[TermMatch]],
        besides: tuple[str, str] | None = None,
    ) -> tuple[str, str, int, int] | None:
        """The first match of a list's terms in these fields, in field order, outside ignored
        phrases and outside the matches of the list ``besides`` (an unless word inside the very
        term it would contradict, "participants" in "healthy participants", says nothing)."""
        for field in fields:
            for path, text in READERS[field](study):
                if path not in read:
                    read[path] = self._matcher.find(text)
                found = read[path]
                matches = [m for m in found if m.key[0] == group]
                if not matches:
                    continue
                ignored = [(m.start, m.end) for m in found if m.key[0] in (_IGNORE, besides)]
                for match in matches:
                    if _allowed(match, field) and not any(s <= match.start and match.end <= e for s, e in ignored):
                        return path, text[match.start : match.end], match.start, match.end
        return None

    def _bounds(self, study: Study) -> dict[str, _Bound | None]:
        """The youngest and oldest ages the record admits: its minimum and maximum ages, or else its
        standard age groups; None where the record says nothing."""
        eligibility = study.eligibility
        if eligibility is None:
            return {"youngest": None, "oldest": None}
        groups = [
            (index, code, self._words.age_groups[code])
            for index, code in enumerate(eligibility.std_ages)
            if code in self._words.age_groups
        ]
        youngest = oldest = None
        minimum, maximum = registry_age(eligibility.minimum_age), registry_age(eligibility.maximum_age)
        if minimum is not None:
            youngest = _Bound(minimum, "eligibility.minimum_age", eligibility.minimum_age)
        elif groups:
            index, code, (low, _) = min(groups, key=lambda group: group[2][0])
            youngest = _Bound(low, f"eligibility.std_ages[{index}]", code)
        if maximum is not None:
            oldest = _Bound(maximum, "eligibility.maximum_age", eligibility.maximum_age)
        elif groups:
            index, code, (_, high) = max(groups, key=lambda group: float("inf") if group[2][1] is None else group[2][1])
            oldest = _Bound(high, f"eligibility.std_ages[{index}]", code)
        return {"youngest": youngest, "oldest": oldest}


_IGNORE, _TERMS, _UNLESS = ("", "ignore"), "terms", "unless"
"""The lists a term of the one matcher belongs to: ignored phrases, a population's terms, its unless words."""


def _terms(terms: tuple[Term, ...], phenotypes: tuple[str, ...], phenotype_terms: dict) -> list[Term]:
    return [*terms, *(term for phenotype in phenotypes for term in phenotype_terms[phenotype])]


def _allowed(match: TermMatch, field: str) -> bool:
    """A term that names its own fields counts only there."""
    term: Term = match.key[1]
    return not term.fields or field in term.fields
