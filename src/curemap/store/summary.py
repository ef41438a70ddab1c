"""Counts every page shows, kept as rows and moved by each write in its own transaction.

Recounting a million studies per request costs seconds; these rows cost one indexed read.
A write collects what it changes in a :class:`Tally` and applies it once, just before its
transaction commits (rows in one fixed order, so concurrent writers on PostgreSQL queue on
them instead of deadlocking). :func:`recount` computes the same rows from the tables: the
migration fills the summary with it, and tests compare the two.

The overview's and the landscape's figures count trials, not registrations (a trial counts
once, by its newest registration), with the strategy groups it tests: a write that may move
them goes through a :class:`TrialsChanging`, which takes the figures of the trials it
touches away before and adds them back after, and keeps the rows their lists are read from.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any, NamedTuple

from sqlalchemy import Connection, ColumnElement, Integer, case, cast, delete, func, select, update
from sqlalchemy.dialects.postgresql import JSONB

from curemap.enrich.classify import ABOUT, COMPARATOR, TESTED
from curemap.profile import load_profile
from curemap.store import schema
from curemap.store.bulk import among, bulk_insert
from curemap.store.schema import upsert

STUDIES, PAPERS, MS, RAW = "studies", "papers", "ms", "raw_records"
"""Counters: all studies, papers held (not withdrawn), records classified as MS per kind,
distinct raw records per source (with the newest fetch)."""

LABELLED = "studies_by_strategies"
"""Studies by the strategies they are labelled with (ids, space-separated; studies with none are
not counted): a list filtered by a strategy or a group alone sums the keys that name it, with
the groups of the profile read then (a profile may move a strategy to another group)."""

STUDY_COLUMNS = ("source", "status", "phase", "lead_sponsor_class")
"""Studies are also counted per value of these columns (the overview's registry counts)."""

COUNTED = {"study": STUDY_COLUMNS, "paper": ("deleted",)}
"""Per kind of record, the columns its counts depend on (a write reads their old values)."""

NO_VALUE = ""
"""The key of a column's NULL (no study column holds an empty string)."""


def by(column: str) -> str:
    return f"studies_by_{column}"


def _key(value: Any) -> str:
    return NO_VALUE if value is None else str(value)


class Tally:
    """The summary changes one transaction makes, applied together by :meth:`apply`, with
    whether it changed what readers see: then :meth:`apply` moves the store's write counter
    (``schema.store_writes``), last, so that writers on PostgreSQL take its row after the
    summary's and never wait for each other in a circle."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.fetched_at: dict[tuple[str, str], str] = {}
        self.wrote = False

    def write(self) -> None:
        """The transaction changed what readers see even where no count moved (labels that
        swap, figures, links, a new snapshot)."""
        self.wrote = True

    def add(self, name: str, key: str = NO_VALUE, n: int = 1, fetched_at: str | None = None) -> None:
        self.counts[(name, key)] += n
        if fetched_at is not None and fetched_at > self.fetched_at.get((name, key), ""):
            self.fetched_at[(name, key)] = fetched_at

    def apply(self, conn: Connection) -> None:
        """Add the tally to the summary rows, in key order, and move the write counter if
        anything changed, in the caller's transaction."""
        if self.apply_counts(conn) or self.wrote:
            writes = schema.store_writes
            conn.execute(update(writes).values(writes=writes.c.writes + 1))
        self.wrote = False

    def apply_counts(self, conn: Connection) -> bool:
        """Add the tally to the summary rows only (the migrations that fill them, which run
        before the write counter exists); return whether any moved."""
        keys = sorted(key for key in set(self.counts) | set(self.fetched_at) if self.counts[key] or key in self.fetched_at)
        if not keys:
            return False
        table = schema.summary_counts
        rows = [{"name": n, "key": k, "n": self.counts[(n, k)], "fetched_at": self.fetched_at.get((n, k))} for n, k in keys]
        statement = upsert(conn, table)
        newer = statement.excluded.fetched_at
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.name, table.c.key],
                set_={
                    "n": table.c.n + statement.excluded.n,
                    "fetched_at": case(
                        (newer.is_(None), table.c.fetched_at),
                        (table.c.fetched_at.is_(None), newer),
                        (newer > table.c.fetched_at, newer),
                        else_=table.c.fetched_at,
                    ),
                },
            ),
            rows,
        )
        # a key whose count came back to nothing is no key: the same figures give the same rows
        # however many transactions moved them
        conn.execute(delete(table).where(table.c.name.in_({n for n, _ in keys}), table.c.n == 0, table.c.fetched_at.is_(None)))
        self.counts.clear()
        self.fetched_at.clear()
        return True


def record(tally: Tally, kind: str, columns: dict[str, Any], sign: int) -> None:
    """A study or paper row with these column values came (+1) or went (-1)."""
    if kind == "study":
        tally.add(STUDIES, n=sign)
        for column in STUDY_COLUMNS:
            tally.add(by(column), _key(columns[column]), sign)
    elif not columns["deleted"]:
        tally.add(PAPERS, n=sign)


def labelled(tally: Tally, labels: Iterable[list[str]], sign: int) -> None:
    """Studies with these strategies (a list per study) were labelled (+1) or lost the labels (-1)."""
    for strategies in labels:
        tally.add(LABELLED, " ".join(sorted(set(strategies))), sign)


def strategies_of_studies(conn: Connection, ids: list[str] | None) -> Iterator[list[str]]:
    """The strategies of each of these stored studies that has any (every one when None), read
    in order of id so that a whole store streams through."""
    st, rs = schema.studies, schema.record_strategies
    for chunk in _chunks(ids):
        where = () if chunk is None else (among(conn, rs.c.record_id, chunk),)
        query = select(rs.c.record_id, rs.c.strategy).join(st, st.c.id == rs.c.record_id).where(*where).order_by(rs.c.record_id)
        rows = conn.execute(query, execution_options={"yield_per": ID_CHUNK})
        for _, labels in groupby(rows, key=lambda row: row.record_id):
            yield [row.strategy for row in labels]


def labelled_total(conn: Connection, strategies: Iterable[str]) -> int:
    """The studies labelled with any of these strategies, from the kept counter."""
    wanted = set(strategies)
    return sum(n for key, (n, _) in read(conn, LABELLED).items() if wanted & set(key.split()))


def read(conn: Connection, name: str) -> dict[str, tuple[int, str | None]]:
    """One counter's rows: key → (count, newest), leaving out keys counted down to zero."""
    table = schema.summary_counts
    rows = conn.execute(select(table.c.key, table.c.n, table.c.fetched_at).where(table.c.name == name, table.c.n != 0)).all()
    return {key: (n, fetched_at) for key, n, fetched_at in rows}  # fetched at once, unpacked: a read per page


def total(conn: Connection, name: str, key: str = NO_VALUE) -> int:
    return read(conn, name).get(key, (0, None))[0]


def recount(conn: Connection) -> Tally:
    """The summary as the tables say it now, counted from scratch."""
    st, pp, cl, raw = schema.studies, schema.papers, schema.classifications, schema.raw_records
    tally = Tally()
    tally.add(STUDIES, n=conn.execute(select(func.count()).select_from(st)).scalar_one())
    for column in STUDY_COLUMNS:
        for value, n in conn.execute(select(st.c[column], func.count()).group_by(st.c[column])):
            tally.add(by(column), _key(value), n)
    tally.add(PAPERS, n=conn.execute(select(func.count()).select_from(pp).where(pp.c.deleted.is_(False))).scalar_one())
    for kind, n in conn.execute(select(cl.c.kind, func.count()).where(cl.c.is_ms).group_by(cl.c.kind)):
        tally.add(MS, kind, n)
    labelled(tally, strategies_of_studies(conn, None), +1)
    for source, n, newest in conn.execute(
        select(raw.c.source, func.count(raw.c.source_id.distinct()), func.max(raw.c.fetched_at)).group_by(raw.c.source)
    ):
        tally.add(RAW, source, n, newest)
    for key, n in trial_figures(conn, None).tally.counts.items():
        tally.add(*key, n=n)
    return tally


def rebuild(conn: Connection) -> None:
    """Replace the summary with a fresh :func:`recount` (the migration that adds it)."""
    conn.execute(delete(schema.summary_counts))
    recount(conn).apply_counts(conn)


def rebuild_labelled(conn: Connection) -> None:
    """Fill the counter of labelled studies from the labels the store holds (the migration
    that adds it)."""
    table = schema.summary_counts
    conn.execute(delete(table).where(table.c.name == LABELLED))
    tally = Tally()
    labelled(tally, strategies_of_studies(conn, None), +1)
    tally.apply_counts(conn)


# -- trials: the overview's and the landscape's figures -------------------------------------

TRIALS = "ms_trials"
"""MS trials, keyed by :func:`join` of: the groups they test (ids, space-separated), status,
phase, start year, whether results are posted ("1"/"0"), the lead sponsor's type."""
COUNTRIES = "ms_trial_countries"  # MS trials with a site in the country (the key)
SITES = "ms_trial_sites"  # MS trials by source and how complete their site list is
SPONSORS = "ms_trial_sponsors"  # MS trials by the registry's spelling of the lead sponsor, then its organisation
STRATEGY_TRIALS = "strategy_trials"  # trials testing a strategy, by strategy, status, phase, study type, results
STRATEGY_REGISTRATIONS = "strategy_registrations"  # registrations behind those trials, by strategy
TRIAL_COUNTERS = (TRIALS, COUNTRIES, SITES, SPONSORS, STRATEGY_TRIALS, STRATEGY_REGISTRATIONS)

SEPARATOR = "\t"
IN_CHUNK = 900
"""Ids per ``IN (…)`` list: under SQLite's limit of bound parameters."""
ID_CHUNK = 20000
"""Ids per batch the figures are worked out over, each batch one parameter (:func:`among`)."""


def join(*values: Any) -> str:
    """A key of several values (None as the empty string; no value holds a tab but the last)."""
    return SEPARATOR.join(_key(value) for value in values)


def split(key: str, parts: int) -> list[str | None]:
    """The values :func:`join` made the key of (the empty string back as None)."""
    return [value or None for value in key.split(SEPARATOR, parts - 1)]


def start_year(start_date: str | None) -> int | None:
    return int(start_date[:4]) if start_date and start_date[:4].isdigit() else None


def site_kind(sites: int, total: int | None) -> str:
    """How complete a study's site list is: it lists none, only its first of several (the
    flattened export keeps one), or all of them."""
    return "no_site" if not sites else "first_site_only" if total and total > sites else "all_sites"


def json_integer(conn: Connection, document: ColumnElement, key: str) -> ColumnElement:
    """A whole number from a JSON text column, read by the database (no row parsed here)."""
    if conn.dialect.name == "postgresql":
        return cast(cast(document, JSONB)[key].astext, Integer)
    return func.json_extract(document, f"$.{key}")


@dataclass
class TrialFigures:
    """What a set of trials adds to the summary, and the kept rows their lists read."""

    tally: Tally
    listed: list[dict[str, Any]]  # rows of schema.strategy_trials
    sponsored: list[dict[str, Any]]  # rows of schema.sponsor_trials


def _chunks(ids: list[str] | None) -> Iterator[list[str] | None]:
    if ids is None:
        yield None
        return
    for start in range(0, len(ids), ID_CHUNK):
        yield ids[start : start + ID_CHUNK]


class Label(NamedTuple):
    """A study's strategy label, as the trial figures read it."""

    strategy: str
    role: str


class Registration(NamedTuple):
    """What the trial figures read of one study: its row, its trial, its classification."""

    id: str
    source: str
    status: str | None
    phase: str | None
    study_type: str | None
    has_results: bool
    start_date: str | None
    lead_sponsor: str | None
    last_update_posted: str | None
    trial: str
    is_ms: bool | None
    purpose: str | None
    sponsor_type: str | None
    organisation: str | None


def trial_figures(conn: Connection, ids: list[str] | None) -> TrialFigures:
    """The figures of the trials of these studies (every study when None); ``ids`` must hold
    every registration of each of their trials."""
    st, tr, cl, rs, loc = schema.studies, schema.trial_registrations, schema.classifications, schema.record_strategies, schema.study_locations
    query = select(
        st.c.id, st.c.source, st.c.status, st.c.phase, st.c.study_type, st.c.has_results, st.c.start_date,
        st.c.lead_sponsor, st.c.last_update_posted, func.coalesce(tr.c.trial_id, st.c.id).label("trial"), cl.c.is_ms, cl.c.purpose, cl.c.sponsor_type, cl.c.organisation,
    ).outerjoin(tr, tr.c.study_id == st.c.id).outerjoin(cl, cl.c.record_id == st.c.id)
    rows, labels = {}, defaultdict(list)
    for chunk in _chunks(ids):
        where = () if chunk is None else (among(conn, st.c.id, chunk),)
        rows.update((row.id, row) for row in conn.execute(query.where(*where)))
        where = (among(conn, rs.c.record_id, chunk),) if chunk is not None else ()
        for row in conn.execute(select(rs.c.record_id, rs.c.strategy, rs.c.role).where(*where)):
            labels[row.record_id].append(row)
    found, counted = _trials(rows.values(), labels)
    sites: Counter[str] = Counter()
    countries: dict[str, set[str]] = defaultdict(set)
    totals: dict[str, int | None] = {}  # the site total each record states (only the counted trials' are read)
    for chunk in _chunks(None if ids is None else sorted(trial.id for trial in counted)):
        where = (among(conn, loc.c.study_id, chunk),) if chunk is not None else ()
        _count_sites(sites, countries, conn.execute(select(loc.c.study_id, loc.c.country).where(*where)))
        where = (among(conn, st.c.id, chunk),) if chunk is not None else ()
        totals.update(conn.execute(select(st.c.id, json_integer(conn, st.c.data, "total_locations")).where(*where)).all())
    _sited(found, counted, sites, countries, totals)
    return found


def own_trial_figures(
    registrations: Iterable[Registration], labels: dict[str, list[Any]], locations: Iterable[dict[str, Any]], totals: dict[str, int | None]
) -> TrialFigures:
    """:func:`trial_figures` of new studies, each a trial of its own (no registration links it
    to another), from the rows they are about to be written in: their labels (rows with
    ``strategy`` and ``role``, by study), their sites (rows with ``study_id`` and ``country``)
    and the site total each states."""
    found, counted = _trials(registrations, labels)
    sites: Counter[str] = Counter()
    countries: dict[str, set[str]] = defaultdict(set)
    _count_sites(sites, countries, ((row["study_id"], row["country"]) for row in locations))
    _sited(found, counted, sites, countries, totals)
    return found


def _count_sites(sites: Counter[str], countries: dict[str, set[str]], locations: Iterable[tuple[str, str | None]]) -> None:
    """Count each study's sites and the countries they name, from (study id, country) pairs."""
    for study_id, country in locations:
        sites[study_id] += 1
        if country and country.strip():
            countries[study_id].add(country.strip())


def _trials(registrations: Iterable[Any], labels: dict[str, list[Any]]) -> tuple[TrialFigures, list[Any]]:
    """The figures of the trials these registrations make up, but for their sites, and the
    trials counted (each by its newest registration)."""
    profile = load_profile()
    group_of = {s.id: s.group for s in profile.strategies}
    therapies = {s.id for s in profile.strategies if s.role == "therapy"}
    members: dict[str, list[Any]] = defaultdict(list)
    for row in registrations:
        members[row.trial].append(row)

    def newest(candidates: Iterable[Any]) -> Any:
        return max(candidates, key=lambda row: (row.last_update_posted or "", row.id))

    found = TrialFigures(Tally(), [], [])
    counted = []
    for registrations in members.values():
        cited: dict[str, list[Any]] = defaultdict(list)  # strategy -> MS registrations testing it
        for row in registrations:
            if not row.is_ms:
                continue
            for label in labels.get(row.id, ()):
                standing = COMPARATOR if label.role == COMPARATOR else ABOUT if row.purpose == ABOUT and label.strategy in therapies else TESTED
                if standing == TESTED:
                    cited[label.strategy].append(row)
                    found.tally.add(STRATEGY_REGISTRATIONS, label.strategy)
                else:
                    found.listed.append(_listed(label.strategy, row, standing))
        for strategy, testing in cited.items():
            row = newest(testing)
            found.listed.append(_listed(strategy, row, TESTED))
            found.tally.add(STRATEGY_TRIALS, join(strategy, row.status, row.phase, row.study_type, int(bool(row.has_results))))
        trial = newest(registrations)
        if trial.is_ms:
            groups = " ".join(sorted({group_of[strategy] for strategy in cited}))
            found.tally.add(TRIALS, join(groups, trial.status, trial.phase, start_year(trial.start_date), int(bool(trial.has_results)), trial.sponsor_type))
            if trial.organisation and trial.lead_sponsor:
                found.tally.add(SPONSORS, join(" ".join(trial.lead_sponsor.split()), trial.organisation))
                found.sponsored.append({"study_id": trial.id, "organisation": trial.organisation})
            counted.append(trial)
    return found, counted


def _sited(
    found: TrialFigures, counted: list[Any], sites: Counter[str], countries: dict[str, set[str]], totals: dict[str, int | None]
) -> None:
    """Add the counted trials' sites to their figures: how complete each one's list is, and each
    country it lists."""
    for trial in counted:
        found.tally.add(SITES, join(trial.source, site_kind(sites[trial.id], totals.get(trial.id))))
        for country in countries[trial.id]:
            found.tally.add(COUNTRIES, country)


def _listed(strategy: str, row: Any, standing: str) -> dict[str, Any]:
    return {"strategy": strategy, "study_id": row.id, "standing": standing, "status": row.status, "phase": row.phase, "study_type": row.study_type}


def _registered(conn: Connection, ids: Iterable[str], stored: Iterable[str] | None = None) -> list[str]:
    """The stored studies among ``ids`` (``stored``, when the caller has read them) with every
    other registration of their trials."""
    st, tr = schema.studies, schema.trial_registrations
    wanted = sorted(set(ids))
    found: set[str] = set() if stored is None else set(stored)
    for chunk in _chunks(wanted):
        if stored is None:
            found.update(conn.execute(select(st.c.id).where(among(conn, st.c.id, chunk))).scalars())
        trials = select(tr.c.trial_id).where(among(conn, tr.c.study_id, chunk))
        found.update(conn.execute(select(tr.c.study_id).where(tr.c.trial_id.in_(trials))).scalars())
    return sorted(found)


def _any_ms(conn: Connection, ids: list[str]) -> bool:
    """Whether any of these studies is classified as about MS (if none is, their trials add
    nothing: a first classification has nothing to take away)."""
    cl = schema.classifications
    return any(conn.execute(select(cl.c.record_id).where(among(conn, cl.c.record_id, chunk), cl.c.is_ms).limit(1)).first() for chunk in _chunks(ids))


class TrialsChanging:
    """Writes to studies (or their classifications, or their trials) in one transaction: each
    write first names the studies it is about to touch (:meth:`touch`), and once all are made
    the figures of every trial they belong to move by the difference (:meth:`done`), which also
    keeps the rows of their registrations that lists of trials read. A whole partition's
    batches so move the figures once, not once per batch. A write that changes which trial a
    study belongs to passes every study of the trials it leaves and joins (:func:`moved_trials`)."""

    def __init__(self, conn: Connection, ids: Iterable[str] = ()):
        self.conn = conn
        self.touched: set[str] = set()
        self.covered: set[str] = set()  # studies stored before their first touch, with their trials
        self.before = Tally()  # the covered trials' figures before the transaction wrote to them
        self.any_ms = False  # whether any covered study was about MS before
        self.touch(ids)

    def touch(self, ids: Iterable[str], stored: Iterable[str] | None = None) -> None:
        """These studies are about to be written: take the figures of their trials, unless an
        earlier touch took them (a study first touched before it was stored had none).
        ``stored``: those of them the store holds, when the caller has read them already."""
        earlier = self.touched
        fresh = set(ids) - earlier
        if not fresh:
            return
        self.touched = earlier | fresh
        # a study touched earlier in the transaction is covered already, or was not stored then
        held = None if stored is None else set(stored) & fresh
        taken = [study for study in _registered(self.conn, fresh, held) if study not in self.covered and study not in earlier]
        self.covered.update(taken)
        if taken and _any_ms(self.conn, taken):
            self.any_ms = True
            for key, n in trial_figures(self.conn, taken).tally.counts.items():
                self.before.add(*key, n=n)

    def done(self, tally: Tally) -> None:
        """The writes are made: add the difference to ``tally``, write the kept rows."""
        if not self.touched:
            return
        ids = _registered(self.conn, self.touched | self.covered)
        if not self.any_ms and not _any_ms(self.conn, ids):
            return  # no MS trial before or after: no figures and no kept rows to move
        after = trial_figures(self.conn, ids)
        for key, n in self.before.counts.items():
            tally.add(*key, n=-n)
        for key, n in after.tally.counts.items():
            tally.add(*key, n=n)
        _keep(self.conn, ids, after)


def _keep(conn: Connection, ids: list[str] | None, now: TrialFigures) -> None:
    """Replace the kept rows of these studies (of every study when None)."""
    for table, rows in ((schema.strategy_trials, now.listed), (schema.sponsor_trials, now.sponsored)):
        for chunk in _chunks(ids):
            conn.execute(delete(table).where(*(() if chunk is None else (among(conn, table.c.study_id, chunk),))))
        bulk_insert(conn, table, rows)


def moved_trials(old: dict[str, str], rows: list[dict[str, Any]]) -> set[str]:
    """The studies whose trial figures a new set of trial registrations (``rows``) can move:
    every registration of each trial a study leaves or joins, under the old links (study id →
    trial id, as stored) and the new."""
    new = {row["study_id"]: row["trial_id"] for row in rows}
    moved = {study for study in old.keys() | new.keys() if old.get(study, study) != new.get(study, study)}
    wanted: set[str] = set()
    for links in (old, new):
        trials = {links.get(study, study) for study in moved}
        wanted |= {study for study, trial in links.items() if trial in trials}
        wanted |= {trial for trial in trials if trial not in links}  # a study unlinked is its own trial
    return wanted


def rebuild_trials(conn: Connection) -> None:
    """Fill the trial figures and the rows lists of trials read from the tables (the migration
    that adds them)."""
    conn.execute(delete(schema.summary_counts).where(schema.summary_counts.c.name.in_(TRIAL_COUNTERS)))
    found = trial_figures(conn, None)
    found.tally.apply_counts(conn)
    _keep(conn, None, found)
