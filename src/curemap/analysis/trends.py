"""Landscape trends over the MS studies of the store: the pipeline by strategy group and phase,
studies started per year, countries, sponsors, funders, design and size over time, and
completed trials still without posted results.

Every count is of distinct MS studies (or MS papers for grants) and each function can name
the records behind its figures, so a reader can trace a count to its studies.
"""

from __future__ import annotations

import functools
import heapq
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ClassVar

from sqlalchemy import Connection, func, select, union_all

from curemap.analysis.landscape import StrategyStudies, counted_registrations, strategy_studies
from curemap.enrich.sponsors import organisation_key
from curemap.profile import Profile
from curemap.store import Store, schema, summary
from curemap.store.summary import IN_CHUNK

NO_PHASE = "not_given"
"""The phase key for studies whose registry gives no phase."""


@dataclass(frozen=True)
class MsStudy:
    """The columns trends count on, for one study classified as about MS."""

    id: str
    status: str | None
    phase: str | None
    study_type: str | None
    enrollment: int | None
    lead_sponsor: str | None  # as the registry writes it
    sponsor_type: str | None  # the lead sponsor's type in the profile's vocabulary
    organisation: str | None  # the lead sponsor with its name variants merged
    start_date: str | None
    completion_date: str | None
    has_results: bool
    groups: frozenset[str] = field(default_factory=frozenset)
    trials: ClassVar[int] = 1  # one trial, as a TrialGroup counts many

    @property
    def start_year(self) -> int | None:
        return summary.start_year(self.start_date)


@dataclass(frozen=True)
class TrialGroup:
    """The MS trials that share every fact the overview counts by: a row the store keeps
    (:data:`curemap.store.summary.TRIALS`), so the overview counts rows, not trials."""

    groups: frozenset[str]
    status: str | None
    phase: str | None
    start_year: int | None
    has_results: bool
    sponsor_type: str | None
    trials: int


def kept_trials(store: Store) -> list[TrialGroup]:
    """Every MS trial, as the groups of them the store keeps counted."""
    with store.connect() as conn:
        counted = summary.read(conn, summary.TRIALS)
    return [TrialGroup(*_trial_facts(key), n) for key, (n, _) in sorted(counted.items())]


@functools.lru_cache(maxsize=2**16)
def _trial_facts(key: str) -> tuple[frozenset[str], str | None, str | None, int | None, bool, str | None]:
    """The facts a key of :data:`curemap.store.summary.TRIALS` joins: the same keys come back
    request after request, so each is read once."""
    groups, status, phase, year, has_results, sponsor_type = summary.split(key, 6)
    return frozenset((groups or "").split()), status, phase, int(year) if year else None, has_results == "1", sponsor_type


def ms_studies(
    store: Store, profile: Profile, counted: dict[str, str] | None = None, behind: StrategyStudies | None = None
) -> list[MsStudy]:
    """Every MS trial (its counted registration: see :func:`counted_registrations`) with the
    strategy groups it tests as a treatment, in id order. ``counted`` and ``behind``
    (:func:`strategy_studies` over them) when the caller has them already."""
    st, cl = schema.studies, schema.classifications
    group_of = {s.id: s.group for s in profile.strategies}
    counted = counted_registrations(store) if counted is None else counted
    behind = strategy_studies(store, profile, counted) if behind is None else behind
    groups: dict[str, set[str]] = defaultdict(set)
    for strategy, ids in behind.tested.items():
        for study_id in ids:
            groups[counted.get(study_id, study_id)].add(group_of[strategy])
    with store.connect() as conn:
        rows = conn.execute(
            select(
                st.c.id, st.c.status, st.c.phase, st.c.study_type, st.c.enrollment, st.c.lead_sponsor,
                cl.c.sponsor_type, cl.c.organisation, st.c.start_date, st.c.completion_date, st.c.has_results,
            )
            .join(cl, cl.c.record_id == st.c.id)
            .where(cl.c.is_ms)
            .order_by(st.c.id)
        ).all()
    tested = {study_id: frozenset(names) for study_id, names in groups.items()}
    none: frozenset[str] = frozenset()
    return [  # by position: the columns above are MsStudy's fields in order
        MsStudy(*row[:-1], bool(row.has_results), tested.get(row.id, none))
        for row in rows
        if counted.get(row.id, row.id) == row.id
    ]


def _ms_ids(store: Store) -> set[str]:
    cl = schema.classifications
    with store.connect() as conn:
        return set(conn.execute(select(cl.c.record_id).where(cl.c.is_ms, cl.c.kind == "study")).scalars())


Trials = Sequence[MsStudy] | Sequence[TrialGroup]
"""MS trials one by one, or as the groups of them the store keeps (each counts ``trials``)."""


def pipeline_by_group_phase(store: Store, profile: Profile, *, studies: Trials | None = None) -> dict[str, dict[str, int]]:
    """Group id -> phase -> MS studies, for every profile group (in profile order, empty ones
    included; phases most first, equal counts by name). A study pursuing two strategies of one
    group counts once for that group."""
    studies = ms_studies(store, profile) if studies is None else studies
    table: dict[str, Counter] = {g.id: Counter() for g in profile.groups}
    for study in studies:
        for group in study.groups:
            table[group][study.phase or NO_PHASE] += study.trials
    return {group: dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))) for group, counts in table.items()}


def started_per_year(store: Store, profile: Profile, *, studies: Trials | None = None) -> dict[str, dict[int, int]]:
    """Group id -> start year -> MS studies started that year (years in order; studies without a
    start date left out)."""
    studies = ms_studies(store, profile) if studies is None else studies
    table: dict[str, Counter] = {g.id: Counter() for g in profile.groups}
    for study in studies:
        if study.start_year is None:
            continue
        for group in study.groups:
            table[group][study.start_year] += study.trials
    return {group: dict(sorted(counts.items())) for group, counts in table.items()}


def country_counts(store: Store, *, study_ids: set[str] | None = None) -> list[tuple[str, int]]:
    """MS studies with at least one site in each country, most first (ties by name); only the
    given studies when ``study_ids`` is set. Reads the sites of the wanted studies only."""
    loc = schema.study_locations
    wanted = sorted(_ms_ids(store) if study_ids is None else study_ids)
    seen: dict[str, set[str]] = defaultdict(set)
    with store.connect() as conn:
        for start in range(0, len(wanted), IN_CHUNK):
            for row in conn.execute(
                select(loc.c.study_id, loc.c.country)
                .where(loc.c.study_id.in_(wanted[start : start + IN_CHUNK]), loc.c.country.is_not(None))
                .distinct()
            ):
                if row.country.strip():
                    seen[row.country.strip()].add(row.study_id)
    return sorted(((country, len(ids)) for country, ids in seen.items()), key=lambda item: (-item[1], item[0]))


def kept_countries(store: Store) -> list[tuple[str, int]]:
    """MS trials with at least one site in each country, most first (ties by name), as the
    store keeps them counted."""
    with store.connect() as conn:
        counted = summary.read(conn, summary.COUNTRIES)
    return sorted(((country, n) for country, (n, _) in counted.items()), key=lambda item: (-item[1], item[0]))


@dataclass
class SiteCoverage:
    """What country counts rest on: how many studies list every site (an API record, a CTIS
    trial's countries) and how many only their first site's country (ClinicalTrials.gov's
    flattened export keeps one site of many), by registry."""

    studies: int = 0
    all_sites: int = 0
    first_site_only: int = 0
    no_site: int = 0
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)

    def describe(self) -> str:
        """The basis in words, for a caption under a country count."""
        if not self.first_site_only:
            return "Every study counted lists all its sites."
        return (
            f"{self.first_site_only:,} of these {self.studies:,} studies list only their first site's country "
            "(the registry's flattened export keeps one site of many), so countries of multi-country "
            f"trials are undercounted; {self.all_sites:,} list all their sites"
            + (f" and {self.no_site:,} none" if self.no_site else "")
            + ". A record fetched with `curemap update` brings its full site list."
        )

    def add(self, source: str, kind: str, n: int = 1) -> None:
        """Count ``n`` studies of ``source`` whose site list is of this kind."""
        self.studies += n
        setattr(self, kind, getattr(self, kind) + n)
        self.by_source.setdefault(source, {"all_sites": 0, "first_site_only": 0, "no_site": 0})[kind] += n


def kept_site_coverage(store: Store) -> SiteCoverage:
    """:class:`SiteCoverage` of every MS trial, as the store keeps it counted."""
    coverage = SiteCoverage()
    with store.connect() as conn:
        counted = summary.read(conn, summary.SITES)
    for key, (n, _) in sorted(counted.items()):
        source, kind = summary.split(key, 2)
        coverage.add(source or "", kind or "", n)
    return coverage


def site_coverage(store: Store, study_ids: set[str]) -> SiteCoverage:
    """How complete the site lists behind a country count are (see :class:`SiteCoverage`).
    Reads only the given studies, each's site total taken from its record by the database."""
    st, loc = schema.studies, schema.study_locations
    coverage = SiteCoverage()
    wanted = sorted(study_ids)
    with store.connect() as conn:
        total = summary.json_integer(conn, st.c.data, "total_locations")
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            listed = dict(
                conn.execute(  # type: ignore[arg-type]
                    select(loc.c.study_id, func.count()).where(loc.c.study_id.in_(chunk)).group_by(loc.c.study_id)
                ).all()
            )
            for row in conn.execute(select(st.c.id, st.c.source, total.label("total")).where(st.c.id.in_(chunk))):
                coverage.add(row.source, summary.site_kind(listed.get(row.id, 0), row.total))
    return coverage


def countries_of(store: Store, study_ids: list[str]) -> dict[str, list[str]]:
    """Study id -> the distinct countries of its sites, in the order the registry lists them."""
    loc = schema.study_locations
    result: dict[str, list[str]] = {i: [] for i in study_ids}
    if not study_ids:
        return result
    with store.connect() as conn:
        for row in conn.execute(
            select(loc.c.study_id, loc.c.country)
            .where(loc.c.study_id.in_(study_ids), loc.c.country.is_not(None))
            .order_by(loc.c.study_id, loc.c.position)
        ):
            if row.country not in result[row.study_id]:
                result[row.study_id].append(row.country)
    return result


@dataclass(frozen=True)
class SponsorTypes:
    """MS trials by their lead sponsor's type in the profile's one vocabulary, so that
    ClinicalTrials.gov's INDUSTRY and CTIS's "Pharmaceutical company" count as one, and the
    share of those trials the profile's industry type leads."""

    rows: list[tuple[str, str, int, float | None]]  # (type id, type name, trials, share) for every type, in profile order
    with_lead: int  # trials whose registration names a lead sponsor
    without_lead: int
    industry_type: str
    industry_name: str
    industry_trials: int
    industry_share: float | None  # industry_trials / with_lead

    def describe(self) -> str:
        """The industry share in words, as the report and the overview state it."""
        if not self.with_lead:
            return "No MS trial in the store names a lead sponsor."
        missing = f" Trials that name no lead sponsor ({self.without_lead:,}) are left out." if self.without_lead else ""
        return (
            f"{self.industry_name} leads {self.industry_trials:,} of the {self.with_lead:,} MS trials that name a lead "
            f"sponsor ({self.industry_share:.1%}), counting every registry's sponsor classes as one set of types.{missing}"
        )


def sponsor_types(store: Store, profile: Profile, *, studies: Trials | None = None) -> SponsorTypes:
    """The MS trials (or the given ones) per lead-sponsor type, the industry share among those
    naming a lead sponsor."""
    studies = ms_studies(store, profile) if studies is None else studies
    words = profile.sponsors
    if words is None:
        raise ValueError(f"profile {profile.id!r} has no sponsors section")
    counts: Counter[str] = Counter()
    for study in studies:
        if study.sponsor_type:
            counts[study.sponsor_type] += study.trials
    with_lead = sum(counts.values())
    industry = next(t for t in words.types if t.id == words.industry_type)
    return SponsorTypes(
        rows=[(t.id, t.name, counts[t.id], counts[t.id] / with_lead if with_lead else None) for t in words.types],
        with_lead=with_lead,
        without_lead=sum(study.trials for study in studies) - with_lead,
        industry_type=industry.id,
        industry_name=industry.name,
        industry_trials=counts[industry.id],
        industry_share=counts[industry.id] / with_lead if with_lead else None,
    )


@dataclass(frozen=True)
class OrganisationCount:
    """An organisation, its name variants merged, with the records that name it and the
    registry's own spellings of it (most frequent first), so a reader can check the merge."""

    name: str
    count: int
    ids: list[str]
    spellings: list[str]

    def label(self) -> str:
        """"Merck KGaA — as EMD Serono; Merck KGaA, Darmstadt, Germany"; the bare name when the
        registries spell it so and no other way."""
        if self.spellings == [self.name]:
            return self.name
        return f"{self.name} — as {'; '.join(self.spellings)}"


_organisation_key = functools.lru_cache(maxsize=2**16)(organisation_key)
"""An organisation's key, worked out once per name (the kept counts name the same ones at every read)."""


class _Organisations:
    """Records counted per organisation, name variants merged: merged names that differ only in
    case, accents or punctuation are one."""

    def __init__(self) -> None:
        self.names: dict[str, dict[str, int]] = defaultdict(dict)
        self.spellings: dict[str, dict[str, int]] = defaultdict(dict)
        self.records: Counter[str] = Counter()

    def add(self, organisation: str, spelling: str, n: int = 1) -> str:
        """``n`` records naming the organisation so (the registry's spelling); returns its key."""
        key = _organisation_key(organisation)
        names, spellings, spelling = self.names[key], self.spellings[key], " ".join(spelling.split())
        names[organisation] = names.get(organisation, 0) + n
        spellings[spelling] = spellings.get(spelling, 0) + n
        return key

    def top(self, limit: int) -> list[str]:
        """The keys of the organisations named by the most records (equal counts by name); only
        those with as many records as the ``limit``-th are ranked by name."""
        leading = heapq.nlargest(limit, (self.records[key] for key in self.names))
        contenders = [key for key in self.names if leading and self.records[key] >= leading[-1]]
        return sorted(contenders, key=lambda key: (-self.records[key], _by_frequency(self.names[key])[0]))[:limit]

    def ranked(self, keys: list[str], ids: dict[str, list[str]]) -> list[OrganisationCount]:
        """These organisations (by key) with the ids behind each."""
        return [
            OrganisationCount(_by_frequency(self.names[key])[0], self.records[key], ids.get(key, []), _by_frequency(self.spellings[key]))
            for key in keys
        ]


def _ranked_organisations(named: list[tuple[str, str, str]], limit: int) -> list[OrganisationCount]:
    """(record id, merged organisation, registry spelling) triples as the organisations named
    by the most records."""
    counted = _Organisations()
    ids: dict[str, dict[str, None]] = defaultdict(dict)
    for record_id, organisation, spelling in named:
        ids[counted.add(organisation, spelling)][record_id] = None
    counted.records.update({key: len(records) for key, records in ids.items()})
    return counted.ranked(counted.top(limit), {key: list(records) for key, records in ids.items()})


FIRST_IDS = 10
"""Trial ids an organisation of the overview's leading sponsors carries: the first of them by
id. Every one of them, page by page, is :func:`sponsor_trials`'s."""


def _kept_organisations(conn: Connection) -> tuple[_Organisations, dict[str, list[str]]]:
    """The lead-sponsor organisations the store keeps counted, name variants merged, and each's
    variants as :data:`curemap.store.schema.sponsor_trials` names them (by merged key)."""
    counted = _Organisations()
    variants: dict[str, dict[str, None]] = defaultdict(dict)
    for key, (n, _) in summary.read(conn, summary.SPONSORS).items():
        spelling, organisation = summary.split(key, 2)
        merged = counted.add(organisation or "", spelling or "", n)
        counted.records[merged] += n
        variants[merged][organisation or ""] = None
    return counted, {key: list(names) for key, names in variants.items()}


def kept_leading_sponsors(store: Store, limit: int = 10, first: int = FIRST_IDS) -> list[OrganisationCount]:
    """:func:`leading_sponsors` of every MS trial from the counts the store keeps, each with
    only its ``first`` trial ids by id (its count is of all of them): one short indexed read per
    name variant of the organisations shown (in one statement), so the cost does not follow
    the store's size."""
    kept = schema.sponsor_trials
    with store.connect() as conn:
        counted, variants = _kept_organisations(conn)
        leading = counted.top(limit)
        firsts = [
            select(kept.c.organisation, kept.c.study_id).where(kept.c.organisation == variant).order_by(kept.c.study_id).limit(first).subquery()
            for key in leading
            for variant in variants[key]
        ]
        found: dict[str, list[str]] = defaultdict(list)
        if firsts:
            for row in conn.execute(union_all(*(select(part.c.organisation, part.c.study_id) for part in firsts))):
                found[_organisation_key(row.organisation)].append(row.study_id)
    return counted.ranked(leading, {key: sorted(ids)[:first] for key, ids in found.items()})


@dataclass(frozen=True)
class SponsorTrials:
    """A page of the MS trials an organisation leads (every name variant of it), by id."""

    organisation: str
    total: int
    per_page: int
    items: list[str]
    next_cursor: str | None  # the last id of this page, when more follow


def sponsor_trials(store: Store, organisation: str, *, per_page: int = 100, cursor: str | None = None) -> SponsorTrials | None:
    """The trial ids behind a leading sponsor's count, ``per_page`` at a time after the id
    ``cursor``: the trials of every kept organisation merged with ``organisation`` as the
    overview merges them. None when the store counts no trial it leads."""
    kept = schema.sponsor_trials
    key = organisation_key(organisation)
    with store.connect() as conn:
        counted, variants = _kept_organisations(conn)
        if key not in variants:
            return None
        query = select(kept.c.study_id).where(kept.c.organisation.in_(variants[key]))
        if cursor:
            query = query.where(kept.c.study_id > cursor)
        found = list(conn.execute(query.order_by(kept.c.study_id).limit(per_page + 1)).scalars())
    return SponsorTrials(
        organisation=_by_frequency(counted.names[key])[0],
        total=counted.records[key],
        per_page=per_page,
        items=found[:per_page],
        next_cursor=found[per_page - 1] if len(found) > per_page else None,
    )


def _by_frequency(counts: dict[str, int]) -> list[str]:
    return sorted(counts, key=lambda name: (-counts[name], name))


def leading_sponsors(
    store: Store, profile: Profile, *, groups: set[str] | None = None, limit: int = 10,
    studies: list[MsStudy] | None = None,
) -> list[OrganisationCount]:
    """The lead-sponsor organisations with the most MS trials (of the given groups, when set),
    affiliates and spellings merged, with the trial ids behind each count."""
    studies = ms_studies(store, profile) if studies is None else studies
    return _ranked_organisations(
        [
            (study.id, study.organisation, study.lead_sponsor)
            for study in studies
            if study.organisation and study.lead_sponsor and (groups is None or study.groups & groups)
        ],
        limit,
    )


def funders(
    store: Store, profile: Profile, *, groups: set[str] | None = None, limit: int = 10,
    studies: list[MsStudy] | None = None,
) -> dict[str, list]:
    """Who pays, as the records say: collaborator organisations named on MS trials (of the
    given groups, when set; merged as lead sponsors are) and grant agencies named on MS papers,
    each with its count and record ids."""
    studies = ms_studies(store, profile) if studies is None else studies
    wanted = {s.id for s in studies if groups is None or s.groups & groups}
    pp, cl = schema.papers, schema.classifications
    collaborators: list[tuple[str, str, str]] = []
    agencies: dict[str, list[str]] = defaultdict(list)
    with store.connect() as conn:
        for row in conn.execute(
            select(cl.c.record_id, cl.c.data).where(cl.c.is_ms, cl.c.kind == "study").order_by(cl.c.record_id)
        ):
            if row.record_id in wanted:
                collaborators += [
                    (row.record_id, s["organisation"], s["name"])
                    for s in json.loads(row.data).get("sponsors") or []
                    if s["role"] == "collaborator"
                ]
        ms_papers = select(cl.c.record_id).where(cl.c.is_ms, cl.c.kind == "paper")
        for row in conn.execute(
            select(pp.c.id, pp.c.data).where(pp.c.id.in_(ms_papers), pp.c.deleted.is_(False)).order_by(pp.c.id)
        ):
            for agency in dict.fromkeys(g.get("agency") for g in json.loads(row.data).get("grants") or []):
                if agency:
                    agencies[agency].append(row.id)
    grants = sorted(agencies.items(), key=lambda item: (-len(item[1]), item[0]))
    return {
        "collaborators": _ranked_organisations(collaborators, limit),
        "grants": [(name, len(ids), ids) for name, ids in grants[:limit]],
    }


@dataclass
class DesignPeriod:
    """Trial design and size among the MS studies that started in one period."""

    period: str
    studies: int
    interventional: int
    randomised_phase: int  # interventional studies of phase 2/3, 3 or 4: the late, usually randomised ones
    median_enrollment: float | None


def design_over_time(
    store: Store, profile: Profile, *, span: int = 5, groups: set[str] | None = None,
    studies: list[MsStudy] | None = None,
) -> list[DesignPeriod]:
    """Per period of ``span`` start years: MS studies, interventional ones, late-phase ones and
    the median enrollment (of studies stating one)."""
    studies = ms_studies(store, profile) if studies is None else studies
    buckets: dict[int, list[MsStudy]] = defaultdict(list)
    for study in studies:
        if study.start_year is not None and (groups is None or study.groups & groups):
            buckets[study.start_year - study.start_year % span].append(study)
    periods = []
    for first in sorted(buckets):
        members = buckets[first]
        sizes = [s.enrollment for s in members if s.enrollment is not None]
        periods.append(
            DesignPeriod(
                period=f"{first}–{first + span - 1}",
                studies=len(members),
                interventional=sum(s.study_type == "INTERVENTIONAL" for s in members),
                randomised_phase=sum(
                    s.study_type == "INTERVENTIONAL" and s.phase in ("phase2_3", "phase3", "phase4") for s in members
                ),
                median_enrollment=statistics.median(sizes) if sizes else None,
            )
        )
    return periods


def data_date(store: Store) -> date | None:
    """The newest "last update posted" among the stored studies: the date the data speaks for,
    used instead of today's date so a report rebuilt from the same store says the same."""
    st = schema.studies
    with store.connect() as conn:
        newest = conn.execute(select(func.max(st.c.last_update_posted))).scalar_one_or_none()
    return date.fromisoformat(newest) if newest and len(newest) == 10 else None


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, 28))


def completed_without_results(
    store: Store, profile: Profile, *, months: tuple[int, ...] = (12, 24), as_of: date | None = None,
    groups: set[str] | None = None, studies: list[MsStudy] | None = None,
) -> dict[int, list[str]]:
    """Months -> completed interventional MS studies (of the given groups, when set) whose
    completion date lies at least that many months before ``as_of`` (default: :func:`data_date`)
    and that have no posted results. Studies with a month- or year-only date count from the
    end of that month or year."""
    studies = ms_studies(store, profile) if studies is None else studies
    as_of = as_of or data_date(store)
    result: dict[int, list[str]] = {m: [] for m in months}
    if as_of is None:
        return result
    for study in studies:
        if (
            study.status != "COMPLETED"
            or study.study_type != "INTERVENTIONAL"
            or study.has_results
            or not study.completion_date
            or (groups is not None and not study.groups & groups)
        ):
            continue
        completed = _period_end(study.completion_date)
        for m in months:
            if completed is not None and completed <= _months_before(as_of, m):
                result[m].append(study.id)
    return result


def _period_end(value: str) -> date | None:
    parts = value.split("-")
    try:
        if len(parts) == 3:
            return date.fromisoformat(value)
        if len(parts) == 2:
            year, month = int(parts[0]), int(parts[1])
            return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        return date(int(parts[0]), 12, 31)
    except ValueError:
        return None


def to_dict(value: Any) -> Any:
    """Trend results as JSON-ready data (dataclasses to dicts, tuples to lists)."""
    if isinstance(value, list):
        return [to_dict(v) for v in value]
    if isinstance(value, tuple):
        return [to_dict(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_dict(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_dict(v) for k, v in vars(value).items()}
    return value
