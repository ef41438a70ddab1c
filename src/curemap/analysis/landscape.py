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

from sqlalchemy import and_, func, or_, select

from curemap.enrich.classify import ABOUT, COMPARATOR, TESTED
from curemap.normalise import PHASE_RANK
from curemap.profile import Profile
from curemap.store import Store, schema, summary

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def figures(self) -> dict[str, Any]:
        """The entry without its lists of studies: what stays the same size however many
        trials the store holds (the lists are on the strategy's own endpoint)."""
        return {name: value for name, value in self.to_dict().items() if name not in LISTS}


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


def strategy_landscape(store: Store, profile: Profile, listed: Collection[str] | None = None) -> list[StrategyLandscape]:
    """One entry per profile strategy, in profile order; a strategy with no MS study stays listed.
    Reads what the store keeps (:mod:`curemap.store.summary`): the trials testing each strategy
    counted by status, phase, design and results, and the rows its lists name, so the cost
    follows the lists shown, not the store. Only the strategies in ``listed`` (default: every
    one) get their lists of studies; the others' entries carry their figures alone."""
    kept = schema.strategy_trials
    wanted = [s.id for s in profile.strategies] if listed is None else sorted(listed)
    others: list[Any] = []
    recruiting: list[Any] = []
    setting: list[Any] = []
    trials: dict[str, list[tuple[_Trial, int]]] = defaultdict(list)
    with store.connect() as conn:
        for key, (n, _) in summary.read(conn, summary.STRATEGY_TRIALS).items():
            strategy, status, phase, study_type, has_results = summary.split(key, 5)
            trials[strategy].append((_Trial(status, phase, study_type, has_results == "1"), n))
        registrations = {key: n for key, (n, _) in summary.read(conn, summary.STRATEGY_REGISTRATIONS).items()}
        stages = {strategy: _stage(rows) for strategy, rows in trials.items()}
        columns = (kept.c.strategy, kept.c.study_id, kept.c.status, kept.c.phase, kept.c.study_type)
        if wanted:
            chosen = kept.c.strategy.in_(wanted)
            others = conn.execute(select(kept.c.standing, *columns).where(chosen, kept.c.standing.in_((ABOUT, COMPARATOR)))).all()
            tested = kept.c.standing == TESTED
            recruiting = conn.execute(select(*columns).where(chosen, tested, kept.c.status.in_(sorted(RECRUITING_STATUSES)))).all()
        staged = [and_(kept.c.strategy == s, kept.c.phase == stages[s]) for s in wanted if stages.get(s)]
        if staged:
            setting = conn.execute(select(*columns).where(or_(*staged), tested, kept.c.study_type == "INTERVENTIONAL")).all()
    listed: dict[str, dict[str, list[str]]] = {name: defaultdict(list) for name in (ABOUT, COMPARATOR, RECRUITING, STAGE)}
    for row in others:
        listed[row.standing][row.strategy].append(row.study_id)
    for row in recruiting:
        listed[RECRUITING][row.strategy].append(row.study_id)
    for row in setting:
        if _sets_stage(row.status, row.study_type):
            listed[STAGE][row.strategy].append(row.study_id)
    landscape = []
    for strategy in profile.strategies:
        rows = trials.get(strategy.id, [])
        stage = stages.get(strategy.id)
        by_status: Counter[str] = Counter()
        by_phase: Counter[str] = Counter()
        for trial, n in rows:
            by_status[trial.status or "UNKNOWN"] += n
            by_phase[trial.phase or "not_given"] += n
        landscape.append(
            StrategyLandscape(
                id=strategy.id,
                name=strategy.name,
                group=strategy.group,
                curative_intent=strategy.curative_intent,
                studies=sum(n for _, n in rows),
                interventional=sum(n for trial, n in rows if trial.study_type == "INTERVENTIONAL"),
                recruiting=sum(n for trial, n in rows if trial.status in RECRUITING_STATUSES),
                recruiting_studies=sorted(listed[RECRUITING].get(strategy.id, [])),
                with_results=sum(n for trial, n in rows if trial.has_results),
                by_status=_most_first(by_status),
                by_phase=_most_first(by_phase),
                registrations=registrations.get(strategy.id, 0),
                about_studies=sorted(listed[ABOUT].get(strategy.id, [])),
                comparator_studies=sorted(listed[COMPARATOR].get(strategy.id, [])),
                stage=stage,
                stage_trials=sum(n for trial, n in rows if stage and trial.phase == stage and _sets_stage(trial.status, trial.study_type)),
                stage_studies=sorted(listed[STAGE].get(strategy.id, [])),
            )
        )
    return landscape


RECRUITING, STAGE = "recruiting", "stage"
"""The landscape's lists of trials testing a strategy, beside those about it and comparing it."""
LISTS = ("stage_studies", "recruiting_studies", "about_studies", "comparator_studies")
"""The fields of an entry that name studies; they grow with the store."""


def _sets_stage(status: str | None, study_type: str | None) -> bool:
    """Whether a trial of this status and design can set its strategy's stage."""
    return study_type == "INTERVENTIONAL" and status != "WITHDRAWN"


def _stage(rows: list[tuple[_Trial, int]]) -> str | None:
    """The highest phase among the interventional trials not withdrawn."""
    phases = [trial.phase for trial, _ in rows if _sets_stage(trial.status, trial.study_type) and trial.phase in PHASE_RANK]
    return max(phases, key=PHASE_RANK.__getitem__) if phases else None


def _most_first(counts: Counter[str]) -> dict[str, int]:
    """Counts, most first and equal counts by name."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
