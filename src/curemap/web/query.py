"""The study, paper and change lists the pages, the API, the feeds and exports share:
validated filters, one SQL query per page of results, and a count done in SQL.

Every filter is a subquery on an indexed column (strategy, phenotype, country, sponsor type,
full-text match) or an indexed column of ``studies`` (status, phase, and the MS and curative
labels copied there from each study's classification), so a filtered page of a store of a
million studies costs one indexed count and one indexed page, never a pass in Python over the
table; deep pages follow a keyset cursor instead of an offset.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any, Literal

from sqlalchemy import Connection, Select, exists, func, select, tuple_

from curemap.enrich.classify import COMPARATOR, TESTED
from curemap.errors import InputError
from curemap.normalise import PHASES
from curemap.profile import Profile
from curemap.store import Store, schema
from curemap.store.kinds import STUDY
from curemap.store import search
from curemap.store.migrations import LISTING_INDEX
from curemap.store.search import RankWindow, count_matches, day_text, matching_ids, newest_matches, ranked_matches
from curemap.wording import citation_url

ROLES = (TESTED, COMPARATOR)

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50
MAX_OFFSET = 10_000
"""Study and paper lists serve numbered pages only this far in; beyond, a list is followed by
its cursor (``next_cursor``), which reads the next page from an index however deep it is."""
EXPORT_BATCH = 1000

STATUSES = (
    "RECRUITING",
    "NOT_YET_RECRUITING",
    "ENROLLING_BY_INVITATION",
    "ACTIVE_NOT_RECRUITING",
    "SUSPENDED",
    "COMPLETED",
    "TERMINATED",
    "WITHDRAWN",
    "UNKNOWN",
    "AVAILABLE",
    "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE",
    "APPROVED_FOR_MARKETING",
    "WITHHELD",
)
"""Study statuses in the registries' shared (ClinicalTrials.gov) vocabulary."""

StudySort = Literal[
    "relevance", "-last_update", "last_update", "-start_date", "start_date", "-enrollment", "enrollment", "id", "-id", "title"
]
PaperSort = Literal["relevance", "-published", "published", "id", "title"]
RELEVANCE = "relevance"
"""The order of a full-text search, most relevant first (the search page's): its pages are
numbered and reach its best :data:`MAX_OFFSET` matches (the bounded window of a ranked list; a
date order's cursor reads on past it). A search matching more than :data:`search.RANK_WINDOW`
is ranked among its newest matches (:func:`search.ranked_matches`; a page says so, ``ranked``).
Not the lists' default: ranking reads each ranked match's statistics (26,547 matches in a
million studies: about 110 ms at the median on SQLite), where the newest are read from the
first keys of the index (:func:`search.newest_matches`)."""

_ST = schema.studies
_STUDY_ORDER = {
    "last_update": _ST.c.last_update_posted,
    "start_date": _ST.c.start_date,
    "enrollment": _ST.c.enrollment,
    "id": _ST.c.id,
    "title": _ST.c.brief_title,
}
_PAPER_ORDER = {"published": schema.papers.c.published, "id": schema.papers.c.id, "title": schema.papers.c.title}

STUDY_COLUMNS = (
    "id", "source", "brief_title", "status", "phase", "study_type", "enrollment", "lead_sponsor",
    "lead_sponsor_class", "start_date", "completion_date", "last_update_posted", "has_results",
)
PAPER_COLUMNS = ("id", "source", "pmid", "doi", "title", "journal", "published")


@dataclass(frozen=True)
class StudyFilters:
    """What a study list is narrowed to; every field optional, all given ones must hold."""

    strategy: str | None = None
    group: str | None = None
    phase: str | None = None
    status: str | None = None
    phenotype: str | None = None
    country: str | None = None
    sponsor_class: str | None = None  # the lead sponsor's class in the registry's own words
    sponsor_type: str | None = None  # the lead sponsor's type in the profile's one vocabulary
    curative: bool | None = None
    q: str | None = None
    ms: bool | None = None
    role: str | None = None  # with strategy or group: only studies where it is "tested" or a "comparator"
    population: str | None = None  # a population of the profile the study admits (children only…)

    def params(self) -> dict[str, str]:
        """The filters as query-string parameters (for links to the next page, feeds, exports)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value != "":
                out[f.name] = str(value).lower() if isinstance(value, bool) else value
        return out


def _choose(name: str, value: str | None, allowed: list[str] | tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        raise InputError(f"{name}={value!r} is not one of: {', '.join(allowed)}")
    return value


def validate_study_filters(profile: Profile, filters: StudyFilters) -> StudyFilters:
    """The filters, checked against the profile and the registry vocabularies; a value that
    cannot match anything is an :class:`InputError` naming the parameter and what it accepts."""
    _choose("strategy", filters.strategy, [s.id for s in profile.strategies])
    _choose("group", filters.group, [g.id for g in profile.groups])
    _choose("role", filters.role, ROLES)
    _choose("phase", filters.phase, PHASES)
    _choose("status", filters.status, STATUSES)
    _choose("phenotype", filters.phenotype, [p.id for p in profile.phenotypes])
    _choose("population", filters.population, [p.id for p in profile.populations.populations] if profile.populations else [])
    _choose("sponsor_type", filters.sponsor_type, [t.id for t in profile.sponsors.types] if profile.sponsors else [])
    for name in ("country", "sponsor_class", "q"):
        value = getattr(filters, name)
        if value is not None and len(value) > 200:
            raise InputError(f"{name} is longer than 200 characters")
    return filters


def validate_page(page: int, per_page: int) -> tuple[int, int]:
    if page < 1:
        raise InputError(f"page={page}: pages count from 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InputError(f"per_page={per_page}: must be between 1 and {MAX_PER_PAGE}")
    return page, per_page


def validate_list_page(page: int, per_page: int, cursor: str | None) -> None:
    """A numbered page within :data:`MAX_OFFSET`, or the first page after a cursor."""
    validate_page(page, per_page)
    if cursor is not None and page != 1:
        raise InputError(f"page={page} with cursor: give one or the other (a cursor names where its page starts)")
    if (page - 1) * per_page >= MAX_OFFSET:
        raise InputError(
            f"page={page}: numbered pages end at item {MAX_OFFSET:,}; to read further, follow next_cursor "
            "from the previous page (cursor=…)"
        )


def encode_cursor(sort: str, value: Any, last_id: str) -> str:
    """Where the next page of a list in ``sort`` order starts: after (``value``, ``last_id``)."""
    return base64.urlsafe_b64encode(json.dumps([sort, value, last_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    """The (sort value, id) a cursor starts after; an :class:`InputError` when it is not one of
    ours or was made for another order."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        made_for, value, last_id = decoded
    except (ValueError, TypeError, binascii.Error):
        raise InputError("cursor: not a cursor this list gave (use next_cursor from a page as it is)") from None
    if made_for != sort or not isinstance(last_id, str) or not isinstance(value, (str, int, type(None))):
        raise InputError(f"cursor: made for sort={made_for!r}, not sort={sort!r}; start again without a cursor")
    return value, last_id


def _strategy_ids(profile: Profile, filters: StudyFilters) -> list[str] | None:
    if filters.strategy:
        return [filters.strategy]
    if filters.group:
        return [s.id for s in profile.strategies if s.group == filters.group]
    return None


def text_facets(profile: Profile, filters: StudyFilters) -> search.Facets:
    """The filters as facet groups the full-text index answers with a search's words (a group's
    strategies are alternatives): every filter is among a study's facets
    (:func:`search.facet_tokens`; a paper's, its strategies), so a search, however narrowed, is
    counted, paged and ranked there."""
    named = {"phase": "phase", "status": "status", "sponsor_type": "sponsortype", "phenotype": "phenotype", "population": "population"}
    wanted = [[search.facet(token, getattr(filters, name))] for name, token in named.items() if getattr(filters, name)]
    wanted += [[search.registry_facet(token, getattr(filters, name))] for name, token in (("sponsor_class", "sponsorclass"), ("country", "country")) if getattr(filters, name)]
    wanted += [[search.facet(name, value)] for name, value in (("ms", filters.ms), ("curative", filters.curative)) if value is not None]
    strategies = _strategy_ids(profile, filters)
    if strategies is not None:
        wanted.append([search.facet(filters.role or "strategy", strategy) for strategy in strategies])
    return wanted


def study_conditions(profile: Profile, filters: StudyFilters, dialect: str) -> list[Any]:
    """SQL conditions on ``studies`` for the filters."""
    rs, rp, loc, cl = schema.record_strategies, schema.record_phenotypes, schema.study_locations, schema.classifications
    where: list[Any] = []
    strategies = _strategy_ids(profile, filters)
    if strategies is not None:
        labelled = [rs.c.strategy.in_(strategies)] + ([rs.c.role == filters.role] if filters.role else [])
        where.append(_ST.c.id.in_(select(rs.c.record_id).where(*labelled)))
    if filters.phase:
        where.append(_ST.c.phase == filters.phase)
    if filters.status:
        where.append(_ST.c.status == filters.status)
    if filters.sponsor_class:
        where.append(_ST.c.lead_sponsor_class == filters.sponsor_class)
    if filters.sponsor_type:
        where.append(_ST.c.id.in_(select(cl.c.record_id).where(cl.c.sponsor_type == filters.sponsor_type)))
    if filters.phenotype:
        where.append(_ST.c.id.in_(select(rp.c.record_id).where(rp.c.phenotype == filters.phenotype)))
    if filters.population:
        rpop = schema.record_populations
        where.append(_ST.c.id.in_(select(rpop.c.record_id).where(rpop.c.population == filters.population)))
    if filters.country:
        where.append(_ST.c.id.in_(select(loc.c.study_id).where(loc.c.country == filters.country)))
    if filters.curative is not None:
        where.append(_ST.c.curative_intent == filters.curative)  # unclassified studies (NULL) match neither
    if filters.ms is not None:
        where.append(_ST.c.is_ms == filters.ms)
    if filters.q:
        where.append(_ST.c.id.in_(matching_ids("study", filters.q, dialect, text_facets(profile, filters))))
    return where


def _check_sort(sort: str, q: str | None, cursor: str | None) -> None:
    """Relevance orders a full-text search's matches, by numbered pages: without ``q``, or with a
    cursor, it is an :class:`InputError`."""
    if sort == RELEVANCE and not q:
        raise InputError("sort=relevance orders the matches of a full-text search: give q, or another sort")
    if sort == RELEVANCE and cursor is not None:
        raise InputError("cursor: a list in order of relevance is paged by number (page=…); sort by date to follow a cursor")


def _ordered(query: Select, order: dict[str, Any], sort: str) -> Select:
    """In ``sort`` order, records without the value last either way (the same on both backends)."""
    column = order[sort.lstrip("-")]
    key = column.desc() if sort.startswith("-") else column.asc()
    tiebreak = order["id"]
    return query.order_by(key.nulls_last(), tiebreak.desc() if sort.startswith("-") else tiebreak.asc())


def _page_rows(
    conn: Connection, query: Select, order: dict[str, Any], sort: str, page: int, per_page: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """One page of ``query`` in ``sort`` order, numbered or after a cursor, and the cursor of the
    page after it. After a cursor the page is read by an index range on (sort value, id): rows
    past the cursor's pair, then, once those run out, the rows with no value (listed last)."""
    column, tiebreak = order[sort.lstrip("-")], order["id"]
    descending = sort.startswith("-")
    ordered = _ordered(query, order, sort)
    if cursor is None:
        rows = conn.execute(ordered.limit(per_page).offset((page - 1) * per_page)).all()
    else:
        value, last_id = decode_cursor(cursor, sort)
        past_id = tiebreak < last_id if descending else tiebreak > last_id
        if value is None:
            rows = conn.execute(ordered.where(column.is_(None), past_id).limit(per_page)).all()
        else:
            pair, after = tuple_(column, tiebreak), tuple_(value, last_id)
            rows = conn.execute(ordered.where(pair < after if descending else pair > after).limit(per_page)).all()
            if len(rows) < per_page:
                rows += conn.execute(ordered.where(column.is_(None)).limit(per_page - len(rows))).all()
    last = rows[-1] if len(rows) == per_page else None
    return rows, encode_cursor(sort, getattr(last, column.name), last.id) if last is not None else None


def _decorate_studies(store: Store, rows: list[Any]) -> list[dict[str, Any]]:
    """Page rows as dicts, each with what enrichment says of it (:meth:`Store.labels_of`)."""
    labels = store.labels_of([row.id for row in rows])
    items = []
    for row in rows:
        label = labels.get(row.id, {})
        items.append(
            {
                **{name: getattr(row, name) for name in STUDY_COLUMNS},
                "has_results": bool(row.has_results),
                "strategies": label.get("strategies", []),
                "roles": label.get("roles", {}),
                "tested_strategies": label.get("tested_strategies", []),
                "purpose": label.get("purpose"),
                "populations": label.get("populations", []),
                "sponsor_type": label.get("sponsor_type"),
                "organisation": label.get("organisation"),
                "trial_id": label.get("trial_id", row.id),
                "is_ms": label.get("is_ms"),
                "curative_intent": label.get("curative_intent"),
                "registry_url": citation_url(row.id),
            }
        )
    return items


@dataclass
class Page:
    total: int
    page: int
    per_page: int
    items: list[dict[str, Any]]
    next_cursor: str | None = None  # study and paper lists: where the next page starts
    window: RankWindow | None = None  # a search ranked among its newest matches only (search.RANK_WINDOW)

    @property
    def pages(self) -> int:
        return max(1, -(-(self.window.size if self.window else self.total) // self.per_page))

    @property
    def ranked_since(self) -> str | None:
        """The first date of the matches ranked, when a search was ranked among its newest only."""
        return day_text(self.window.since) if self.window else None

    def to_dict(self) -> dict[str, Any]:
        page: dict[str, Any] = {"total": self.total, "page": self.page, "per_page": self.per_page, "items": self.items}
        if self.window:
            page["ranked"] = {"matches": self.window.size, "since": self.ranked_since}
        return page if self.next_cursor is None else {**page, "next_cursor": self.next_cursor}


def study_page(
    store: Store, profile: Profile, filters: StudyFilters, *, sort: str = "-last_update", page: int = 1,
    per_page: int = DEFAULT_PER_PAGE, cursor: str | None = None,
) -> Page:
    """One page of the studies matching the filters (numbered, or after ``cursor``), with the
    total (of an unfiltered list, the store's kept count). The page's ids are found first, by
    the list's order alone, then their rows read: a list narrowed to a set of ids reads the
    entries of :data:`LISTING_INDEX` for the ids, not the rows. A full-text search, however
    narrowed (the index holds every filter, :func:`text_facets`), is counted and ranked there,
    and on SQLite its newest matches are read from the index's keys, which follow the studies'
    last updates (:func:`newest_matches`)."""
    validate_list_page(page, per_page, cursor)
    _check_sort(sort, filters.q, cursor)
    dialect = store.engine.dialect.name
    facets = text_facets(profile, filters)
    where = study_conditions(profile, filters, dialect)
    kept = _kept_total(store, profile, filters)
    with store.connect() as conn:
        given, hint = set(filters.params()), f"INDEXED BY {LISTING_INDEX}"
        narrowed = bool(given & set(ID_FILTERS)) and "sponsor_class" not in given
        by_text = bool(filters.q)
        ranked = ranked_matches(conn, "study", filters.q, facets, per_page, (page - 1) * per_page) if by_text and sort == RELEVANCE else None
        if by_text:
            kept = ranked.total if ranked else count_matches(conn, "study", filters.q, facets)
            where = [_ST.c.id.in_(matching_ids("study", filters.q, dialect, facets))]  # the index holds every filter
        through_entries = by_text or (narrowed and not {"status", "phase"} & given)
        counted = select(func.count()).select_from(_ST)
        if through_entries:
            counted = counted.with_hint(_ST, hint, "sqlite")
        total = kept if kept is not None else conn.execute(counted.where(*where)).scalar_one()
        if ranked:
            ids, next_cursor = ranked.ids, None
        elif by_text and dialect == "sqlite" and sort == "-last_update":
            after = decode_cursor(cursor, sort) if cursor is not None else None
            newest = newest_matches(conn, "study", filters.q, facets, per_page, offset=(page - 1) * per_page, after=after)
            ids = [record_id for record_id, _ in newest]
            next_cursor = encode_cursor(sort, newest[-1][1], newest[-1][0]) if len(newest) == per_page else None
        else:
            order = _STUDY_ORDER[sort.lstrip("-")]
            found = select(*{c.name: c for c in (_ST.c.id, order)}.values())
            if through_entries and order is _ST.c.last_update_posted:
                found = found.with_hint(_ST, hint, "sqlite")
            chosen, next_cursor = _page_rows(conn, found.where(*where), _STUDY_ORDER, sort, page, per_page, cursor)
            ids = [row.id for row in chosen]
        by_id = {row.id: row for row in conn.execute(select(*(_ST.c[name] for name in STUDY_COLUMNS)).where(_ST.c.id.in_(ids)))}
    return Page(total, page, per_page, _decorate_studies(store, [by_id[i] for i in ids]), next_cursor, ranked.window if ranked else None)


def refuse_ranked_export(sort: str) -> None:
    """An export lists every match, past the window a relevance order reaches: an :class:`InputError`."""
    if sort == RELEVANCE:
        raise InputError("sort=relevance orders the pages of a search, not an export of every match: export by date (the default) or id")


ID_FILTERS = ("strategy", "group", "sponsor_type", "phenotype", "population", "country", "q")
"""Filters that narrow a study list to a set of ids (read from other tables). On SQLite such a
list's newest-first page is read from :data:`LISTING_INDEX` unless it is narrowed by status or
phase too (the indexes on those with the list's order then find the page sooner), and so is its
count (at a million studies, cold, a strategy's in one status and phase came sooner through the
index on those), and a full-text list's page whatever else narrows it (the search index holds
every filter; the entries hold the order). PostgreSQL's planner, with its statistics, chooses by
itself."""


def _kept_total(store: Store, profile: Profile, filters: StudyFilters) -> int | None:
    """The total of a list the store keeps as a summary row (all studies, the MS ones, one status,
    one phase, one strategy or one group alone), else None: counting the MS studies of a million
    reads nearly every row whatever the index, while the kept count is one row."""
    given = filters.params()
    if not given:
        return store.count_studies()
    if given == {"ms": "true"}:
        return store.count_ms(STUDY)
    if len(given) == 1 and set(given) <= {"status", "phase"}:
        ((column, value),) = given.items()
        return dict(store.count_by(column)).get(value, 0)
    if len(given) == 1 and set(given) <= {"strategy", "group"}:
        return store.count_labelled(_strategy_ids(profile, filters) or [])
    return None


def iter_studies(store: Store, profile: Profile, filters: StudyFilters, *, sort: str = "-last_update") -> Iterator[dict[str, Any]]:
    """Every study matching the filters, streamed in batches (for exports)."""
    where = study_conditions(profile, filters, store.engine.dialect.name)
    query = _ordered(select(*(_ST.c[name] for name in STUDY_COLUMNS)).where(*where), _STUDY_ORDER, sort)
    with store.connect() as conn:
        result = conn.execution_options(yield_per=EXPORT_BATCH).execute(query)
        for rows in result.partitions():
            yield from _decorate_studies(store, rows)


def start_years(store: Store, profile: Profile, filters: StudyFilters) -> list[tuple[str, int]]:
    """Matching studies per start year, oldest first (studies with no start date left out)."""
    year = func.substr(_ST.c.start_date, 1, 4).label("year")
    where = study_conditions(profile, filters, store.engine.dialect.name)
    with store.connect() as conn:
        rows = conn.execute(
            select(year, func.count().label("n")).where(*where, _ST.c.start_date.is_not(None)).group_by(year).order_by(year)
        )
        return [(row.year, row.n) for row in rows]


@dataclass(frozen=True)
class PaperFilters:
    strategy: str | None = None
    group: str | None = None
    q: str | None = None

    def params(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def validate_paper_filters(profile: Profile, filters: PaperFilters) -> PaperFilters:
    _choose("strategy", filters.strategy, [s.id for s in profile.strategies])
    _choose("group", filters.group, [g.id for g in profile.groups])
    if filters.q is not None and len(filters.q) > 200:
        raise InputError("q is longer than 200 characters")
    return filters


def paper_page(
    store: Store, profile: Profile, filters: PaperFilters, *, sort: str = "-published", page: int = 1,
    per_page: int = DEFAULT_PER_PAGE, cursor: str | None = None,
) -> Page:
    """One page of the (not withdrawn) papers matching the filters (numbered, or after
    ``cursor``), with the total. A full-text search's newest matches are read, on SQLite, from
    the index's keys, which follow the papers' publication (:func:`newest_matches`)."""
    validate_list_page(page, per_page, cursor)
    _check_sort(sort, filters.q, cursor)
    pp, rs = schema.papers, schema.record_strategies
    where: list[Any] = [pp.c.deleted.is_(False)]
    strategies = _strategy_ids(profile, StudyFilters(strategy=filters.strategy, group=filters.group))
    facets = None if strategies is None else [[search.facet("strategy", strategy) for strategy in strategies]]
    by_text = bool(filters.q)  # the index holds the papers not withdrawn and their strategies: it answers alone
    if by_text:
        where = [pp.c.id.in_(matching_ids("paper", filters.q, store.engine.dialect.name, facets))]
    elif strategies is not None:
        where.append(pp.c.id.in_(select(rs.c.record_id).where(rs.c.strategy.in_(strategies))))
    columns = [pp.c[name] for name in PAPER_COLUMNS]
    with store.connect() as conn:
        ranked = ranked_matches(conn, "paper", filters.q, facets, per_page, (page - 1) * per_page) if by_text and sort == RELEVANCE else None
        if ranked:
            total = ranked.total
        elif by_text:
            total = count_matches(conn, "paper", filters.q, facets)
        else:
            total = conn.execute(select(func.count()).select_from(pp).where(*where)).scalar_one() if len(where) > 1 else store.count_papers()
        if ranked:
            by_id = {row.id: row for row in conn.execute(select(*columns).where(pp.c.id.in_(ranked.ids)))}
            rows, next_cursor = [by_id[i] for i in ranked.ids if i in by_id], None
        elif by_text and store.engine.dialect.name == "sqlite" and sort == "-published":
            after = decode_cursor(cursor, sort) if cursor is not None else None
            newest = newest_matches(conn, "paper", filters.q, facets, per_page, offset=(page - 1) * per_page, after=after)
            by_id = {row.id: row for row in conn.execute(select(*columns).where(pp.c.id.in_([i for i, _ in newest])))}
            rows = [by_id[i] for i, _ in newest]
            next_cursor = encode_cursor(sort, newest[-1][1], newest[-1][0]) if len(newest) == per_page else None
        else:
            rows, next_cursor = _page_rows(conn, select(*columns).where(*where), _PAPER_ORDER, sort, page, per_page, cursor)
        ids = [row.id for row in rows]
        strategies_of: dict[str, list[str]] = defaultdict(list)
        for row in conn.execute(select(rs.c.record_id, rs.c.strategy).where(rs.c.record_id.in_(ids))):
            strategies_of[row.record_id].append(row.strategy)
    items = [
        {**row._mapping, "strategies": sorted(strategies_of.get(row.id, [])), "url": citation_url(row.id)} for row in rows
    ]
    return Page(total, page, per_page, items, next_cursor, ranked.window if ranked else None)


CHANGE_KINDS = ("added", "status_changed", "results_posted", "results_updated", "enrollment_changed", "dates_moved", "updated", "deleted")


@dataclass(frozen=True)
class ChangeFilters:
    since: str | None = None
    kind: str | None = None
    strategy: str | None = None
    record: Literal["study", "paper"] | None = None
    ms: bool | None = None


def validate_change_filters(profile: Profile, filters: ChangeFilters) -> ChangeFilters:
    _choose("kind", filters.kind, CHANGE_KINDS)
    _choose("strategy", filters.strategy, [s.id for s in profile.strategies])
    _choose("record", filters.record, ("study", "paper"))
    return filters


def change_page(store: Store, filters: ChangeFilters, *, page: int = 1, per_page: int = DEFAULT_PER_PAGE) -> Page:
    """Change-log entries matching the filters, newest first, each with its record's title."""
    validate_page(page, per_page)
    where, query = _changes(filters)
    with store.connect() as conn:
        total = conn.execute(select(func.count()).select_from(schema.changes).where(*where)).scalar_one()
        rows = conn.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(total, page, per_page, [_change_item(row) for row in rows])


def newest_changes(store: Store, filters: ChangeFilters, limit: int) -> list[dict[str, Any]]:
    """The newest change-log entries matching the filters, without counting them all: read back
    from the newest until ``limit`` match, so the cost follows ``limit``, not the log."""
    _, query = _changes(filters)
    with store.connect() as conn:
        return [_change_item(row) for row in conn.execute(query.limit(limit))]


def _changes(filters: ChangeFilters) -> tuple[list[Any], Any]:
    """The conditions the filters set on the change log, and the entries' query, newest first.
    The kind of record is the entry's own, indexed with its kind of change (the newest studies
    added are read without passing the papers added since); the MS filter is checked entry by
    entry (``EXISTS``), so reading the newest few does not first gather every matching record."""
    ch, rs, cl, pp = schema.changes, schema.record_strategies, schema.classifications, schema.papers
    where: list[Any] = []
    if filters.since:
        where.append(ch.c.detected_at >= filters.since)
    if filters.kind:
        where.append(ch.c.kind == filters.kind)
    if filters.strategy:
        where.append(ch.c.record_id.in_(select(rs.c.record_id).where(rs.c.strategy == filters.strategy)))
    if filters.record:
        where.append(ch.c.record == filters.record)
    if filters.ms is not None:
        where.append(exists().where(cl.c.record_id == ch.c.record_id, cl.c.is_ms.is_(filters.ms)))
    title = func.coalesce(_ST.c.brief_title, pp.c.title).label("title")
    query = (
        select(ch, title)
        .outerjoin(_ST, _ST.c.id == ch.c.record_id)
        .outerjoin(pp, pp.c.id == ch.c.record_id)
        .where(*where)
        .order_by(ch.c.id.desc())
    )
    return where, query


def _change_item(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "record_id": row.record_id,
        "title": row.title,
        "kind": row.kind,
        "field": row.field,
        "old": json.loads(row.old_value) if row.old_value else None,
        "new": json.loads(row.new_value) if row.new_value else None,
        "detected_at": row.detected_at,
    }
