"""How far each strategy has come: the MS trials that test it, their statuses and its stage.

A strategy's figures rest on the MS studies that *test* it as a treatment: labels whose role
is ``tested`` in studies whose purpose is ``treatment``. Studies only about it (observational
cohorts, registries, pregnancy and adherence studies) and studies where it is an active
comparator are listed apart and never set its stage. Counts count trials, not registrations:
registrations of one trial in several registries are counted once, by the newest of them
(the one whose registry record was updated last).

The development stage of a strategy is the highest phase among the interventional trials
that test it and were not withdrawn (``shared/domain/ms-strategies.md``); ``stage_studies``
names the trials that set it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, func, or_, select

from curemap.enrich.classify import ABOUT, COMPARATOR, TESTED
from curemap.normalise import PHASE_RANK
from curemap.profile import Profile
from curemap.store import Store, schema, summary
from curemap.store.store import in_id_order

RECRUITING_STATUSES = frozenset({"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION"})
"""Statuses under which a person could still join a study."""


@dataclass
class StrategyLandscape:
    id: str
    name: str
    group: str
    curative_intent: bool
    studies: int = 0  # trials testing it as a treatment
    interventional: int = 0
    recruiting: int = 0
    with_results: int = 0
    stage: str | None = None
    stage_trials: int = 0  # trials that set the stage (counted, so known without the list)
    stage_studies: list[str] = field(default_factory=list)
    recruiting_studies: list[str] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)
    by_phase: dict[str, int] = field(default_factory=dict)
    registrations: int = 0  # registrations behind those trials
    about_studies: list[str] = field(default_factory=list)  # studies only about it
    comparator_studies: list[str] = field(default_factory=list)  # studies where it is a comparator
    list_totals: dict[str, int] = field(default_factory=dict)  # each list's length, when its ids are cut short

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def figures(self) -> dict[str, Any]:
        """The entry without its lists of studies: what stays the same size however many
        trials the store holds (the lists are on the strategy's own endpoint)."""
        return {name: value for name, value in self.to_dict().items() if name not in (*LISTS, "list_totals")}


@dataclass(frozen=True)
class _Trial:
    """The facts a strategy's trials are counted by (those of the registration each is cited by)."""

    status: str | None
    phase: str | None
    study_type: str | None
    has_results: bool


@dataclass
class StrategyStudies:
    """Which MS studies each strategy's figures rest on, one registration per trial."""

    tested: dict[str, list[str]]  # strategy -> trials testing it as a treatment (counted registration ids)
    about: dict[str, list[str]]  # strategy -> studies only about it
    comparator: dict[str, list[str]]  # strategy -> studies where it is an active comparator
    registrations: dict[str, int]  # strategy -> registrations behind its tested trials


def counted_registrations(store: Store) -> dict[str, str]:
    """Study id -> the registration its trial is counted by: the newest of the trial's
    registrations (by last registry update, then id), so a trial registered twice counts once."""
    st, tr = schema.studies, schema.trial_registrations
    newest: dict[str, tuple[str, str]] = {}
    trial_of: dict[str, str] = {}
    with store.connect() as conn:
        for row in conn.execute(
            select(st.c.id, func.coalesce(tr.c.trial_id, st.c.id).label("trial"), st.c.last_update_posted).outerjoin(
                tr, tr.c.study_id == st.c.id
            )
        ):
            trial_of[row.id] = row.trial
            candidate = (row.last_update_posted or "", row.id)
            if row.trial not in newest or candidate > newest[row.trial]:
                newest[row.trial] = candidate
    return {study: newest[trial][1] for study, trial in trial_of.items()}


def strategy_studies(store: Store, profile: Profile, counted: dict[str, str] | None = None) -> StrategyStudies:
    """The MS studies behind each strategy's figures, by role and purpose, counted per trial:
    a trial is cited by the newest of its registrations that carries the label. Purpose sets
    therapies apart only: a design or focus strategy (a registry, imaging) is what its studies
    are about. ``counted`` is :func:`counted_registrations`, when the caller has it already."""
    therapies = {strategy.id for strategy in profile.strategies if strategy.role == "therapy"}
    trial_of = counted_registrations(store) if counted is None else counted
    st, cl, rs = schema.studies, schema.classifications, schema.record_strategies
    tested: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)  # strategy -> trial -> (updated, id)
    registrations: Counter[str] = Counter()
    about: dict[str, list[str]] = defaultdict(list)
    comparator: dict[str, list[str]] = defaultdict(list)
    with store.connect() as conn:
        for row in conn.execute(
            select(rs.c.strategy, rs.c.role, rs.c.record_id, cl.c.purpose, st.c.last_update_posted)
            .join(cl, cl.c.record_id == rs.c.record_id)
            .join(st, st.c.id == rs.c.record_id)
            .where(cl.c.is_ms, cl.c.kind == "study")
            .order_by(rs.c.record_id)
        ):
            if row.role == COMPARATOR:
                comparator[row.strategy].append(row.record_id)
            elif row.purpose == ABOUT and row.strategy in therapies:
                about[row.strategy].append(row.record_id)
            else:
                registrations[row.strategy] += 1
                trial = trial_of.get(row.record_id, row.record_id)
                candidate = (row.last_update_posted or "", row.record_id)
                if candidate > tested[row.strategy].get(trial, ("", "")):
                    tested[row.strategy][trial] = candidate
    return StrategyStudies(
        tested={s: sorted(i for _, i in trials.values()) for s, trials in tested.items()},
        about=dict(about),
        comparator=dict(comparator),
        registrations=dict(registrations),
    )


def strategy_landscape(
    store: Store, profile: Profile, listed: Collection[str] | None = None, shown: int | None = None
) -> list[StrategyLandscape]:
    """One entry per profile strategy, in profile order; a strategy with no MS study stays listed.
    Reads what the store keeps (:mod:`curemap.store.summary`): the trials testing each strategy
    counted by status, phase, design and results, and the rows its lists name, so the cost
    follows the lists shown, not the store. Only the strategies in ``listed`` (default: every
    one) get their lists of studies, each the first ``shown`` ids by id (default: all of them)
    with its whole length in ``list_totals``; the others' entries carry their figures alone."""
    wanted = [s.id for s in profile.strategies] if listed is None else sorted(listed)
    lists: dict[str, dict[str, tuple[list[str], int]]] = defaultdict(dict)
    with store.connect() as conn:
        trials, registrations = _kept_counts(conn)
        stages = {strategy: _stage(rows) for strategy, rows in trials.items()}
        for strategy in wanted:
            for name in LISTS:
                lists[strategy][name] = _listed(conn, strategy, name, stages.get(strategy), shown)
    landscape = []
    for strategy in profile.strategies:
        rows = trials.get(strategy.id, [])
        stage = stages.get(strategy.id)
        by_status: Counter[str] = Counter()
        by_phase: Counter[str] = Counter()
        for trial, n in rows:
            by_status[trial.status or "UNKNOWN"] += n
            by_phase[trial.phase or "not_given"] += n
        ids = {name: found[0] for name, found in lists.get(strategy.id, {}).items()}
        landscape.append(
            StrategyLandscape(
                id=strategy.id,
                name=strategy.name,
                group=strategy.group,
                curative_intent=strategy.curative_intent,
                studies=sum(n for _, n in rows),
                interventional=sum(n for trial, n in rows if trial.study_type == "INTERVENTIONAL"),
                recruiting=sum(n for trial, n in rows if trial.status in RECRUITING_STATUSES),
                with_results=sum(n for trial, n in rows if trial.has_results),
                by_status=_most_first(by_status),
                by_phase=_most_first(by_phase),
                registrations=registrations.get(strategy.id, 0),
                stage=stage,
                stage_trials=sum(n for trial, n in rows if stage and trial.phase == stage and _sets_stage(trial.status, trial.study_type)),
                list_totals={name: found[1] for name, found in lists.get(strategy.id, {}).items()},
                **ids,
            )
        )
    return landscape


@dataclass
class StrategyList:
    """A page of one of a strategy's lists of studies (:data:`LISTS`), by id."""

    strategy: str
    list: str
    total: int
    per_page: int
    items: list[str]
    next_cursor: str | None  # the last id of this page, when more follow


def strategy_list(
    store: Store, strategy: str, name: str, *, per_page: int = 100, cursor: str | None = None, page: int = 1
) -> StrategyList:
    """The ids of one of ``strategy``'s :data:`PAGED_LISTS`, ``per_page`` at a time after the id
    ``cursor`` (else the ``page``-th page), in the order :func:`strategy_landscape` lists them."""
    with store.connect() as conn:
        trials, _ = _kept_counts(conn, strategy)
        where = _list_conditions(conn, strategy, name, _stage(trials.get(strategy, [])))
        if where is None:
            return StrategyList(strategy, name, 0, per_page, [], None)
        found = _ids(conn, where, limit=per_page + 1, offset=0 if cursor else (page - 1) * per_page, after=cursor)
        total = _total(conn, where)
    return StrategyList(strategy, name, total, per_page, found[:per_page], found[per_page - 1] if len(found) > per_page else None)


def _kept_counts(conn: Connection, strategy: str | None = None) -> tuple[dict[str, list[tuple[_Trial, int]]], dict[str, int]]:
    """The trials testing each strategy (or ``strategy`` alone) as the store keeps them counted,
    by the facts they are counted by, and the registrations behind them."""
    trials: dict[str, list[tuple[_Trial, int]]] = defaultdict(list)
    for key, (n, _) in summary.read(conn, summary.STRATEGY_TRIALS).items():
        counted, status, phase, study_type, has_results = summary.split(key, 5)
        if strategy in (None, counted):
            trials[counted].append((_Trial(status, phase, study_type, has_results == "1"), n))
    registrations = {key: n for key, (n, _) in summary.read(conn, summary.STRATEGY_REGISTRATIONS).items()}
    return trials, registrations


def _listed(conn: Connection, strategy: str, name: str, stage: str | None, shown: int | None) -> tuple[list[str], int]:
    """The first ``shown`` ids (all, when None) of one of a strategy's lists, by id, and its length."""
    where = _list_conditions(conn, strategy, name, stage)
    if where is None:
        return [], 0
    ids = _ids(conn, where, limit=shown)
    return ids, len(ids) if shown is None else _total(conn, where)


def _ids(conn: Connection, where: list[Any], *, limit: int | None = None, offset: int = 0, after: str | None = None) -> list[str]:
    """The kept studies meeting ``where``, in code-point order of id (after the id ``after``),
    ``limit`` of them from ``offset`` (all, when None)."""
    kept_id = in_id_order(conn, schema.strategy_trials.c.study_id)
    query = select(schema.strategy_trials.c.study_id).where(*where, *([kept_id > after] if after else [])).order_by(kept_id)
    return list(conn.execute(query if limit is None else query.limit(limit).offset(offset)).scalars())


def _total(conn: Connection, where: list[Any]) -> int:
    return conn.execute(select(func.count()).where(*where)).scalar_one()


def _list_conditions(conn: Connection, strategy: str, name: str, stage: str | None) -> list[Any] | None:
    """What puts a kept trial in one of a strategy's lists; None for the trials that set its stage
    when it has none."""
    kept = schema.strategy_trials
    where = [kept.c.strategy == strategy]
    if name == "about_studies":
        return [*where, kept.c.standing == ABOUT]
    if name == "comparator_studies":
        return [*where, kept.c.standing == COMPARATOR]
    where.append(kept.c.standing == TESTED)
    if name == TESTED_LIST:
        return where
    if name == "recruiting_studies":
        return [*where, kept.c.status.in_(sorted(RECRUITING_STATUSES))]
    if name != "stage_studies":
        raise ValueError(f"{name}: not a list of a strategy's studies ({', '.join(PAGED_LISTS)})")
    if stage is None:
        return None
    return [*where, kept.c.phase == stage, kept.c.study_type == "INTERVENTIONAL", or_(kept.c.status.is_(None), kept.c.status != "WITHDRAWN")]


LISTS = ("stage_studies", "recruiting_studies", "about_studies", "comparator_studies")
"""The fields of an entry that name studies; they grow with the store: the trials testing it
that set its stage and those open now, the studies only about it and those comparing it."""
TESTED_LIST = "tested_studies"
PAGED_LISTS = (TESTED_LIST, *LISTS)
"""The lists of a strategy's studies read a page at a time (:func:`strategy_list`): every trial
testing it as a treatment (one registration per trial, the one its counts cite), and :data:`LISTS`."""


def _sets_stage(status: str | None, study_type: str | None) -> bool:
    """Whether a trial of this status and design can set its strategy's stage (in SQL:
    :func:`_list_conditions`)."""
    return study_type == "INTERVENTIONAL" and status != "WITHDRAWN"


def _stage(rows: list[tuple[_Trial, int]]) -> str | None:
    """The highest phase among the interventional trials not withdrawn."""
    phases = [trial.phase for trial, _ in rows if _sets_stage(trial.status, trial.study_type) and trial.phase in PHASE_RANK]
    return max(phases, key=PHASE_RANK.__getitem__) if phases else None


def _most_first(counts: Counter[str]) -> dict[str, int]:
    """Counts, most first and equal counts by name."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
