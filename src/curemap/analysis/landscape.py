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
from typing import Any

from sqlalchemy import func, select

from curemap.enrich.classify import ABOUT, COMPARATOR
from curemap.normalise import PHASE_RANK
from curemap.profile import Profile
from curemap.store import Store, schema

RECRUITING_STATUSES = frozenset({"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION"})
"""Statuses under which a person could still join a study."""

IN_CHUNK = 900
"""Ids per ``IN (…)`` list: under SQLite's limit of bound parameters."""


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
    stage_studies: list[str] = field(default_factory=list)
    recruiting_studies: list[str] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)
    by_phase: dict[str, int] = field(default_factory=dict)
    registrations: int = 0  # registrations behind those trials
    about_studies: list[str] = field(default_factory=list)  # studies only about it
    comparator_studies: list[str] = field(default_factory=list)  # studies where it is a comparator

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Trial:
    """One trial as counted: its newest registration's facts."""

    id: str  # the registration counted
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


def strategy_landscape(store: Store, profile: Profile, behind: StrategyStudies | None = None) -> list[StrategyLandscape]:
    """One entry per profile strategy, in profile order; a strategy with no MS study stays listed.
    ``behind`` is :func:`strategy_studies`, when the caller has it already."""
    behind = strategy_studies(store, profile) if behind is None else behind
    st = schema.studies
    wanted = sorted({i for ids in behind.tested.values() for i in ids})
    trials: dict[str, _Trial] = {}
    with store.connect() as conn:
        for start in range(0, len(wanted), IN_CHUNK):
            for row in conn.execute(
                select(st.c.id, st.c.status, st.c.phase, st.c.study_type, st.c.has_results).where(
                    st.c.id.in_(wanted[start : start + IN_CHUNK])
                )
            ):
                trials[row.id] = _Trial(row.id, row.status, row.phase, row.study_type, bool(row.has_results))
    landscape = []
    for strategy in profile.strategies:
        rows = [trials[i] for i in behind.tested.get(strategy.id, [])]
        recruiting = [r.id for r in rows if r.status in RECRUITING_STATUSES]
        entry = StrategyLandscape(
            id=strategy.id,
            name=strategy.name,
            group=strategy.group,
            curative_intent=strategy.curative_intent,
            studies=len(rows),
            interventional=sum(r.study_type == "INTERVENTIONAL" for r in rows),
            recruiting=len(recruiting),
            recruiting_studies=recruiting,
            with_results=sum(r.has_results for r in rows),
            by_status=dict(Counter(r.status or "UNKNOWN" for r in rows).most_common()),
            by_phase=dict(Counter(r.phase or "not_given" for r in rows).most_common()),
            registrations=behind.registrations.get(strategy.id, 0),
            about_studies=behind.about.get(strategy.id, []),
            comparator_studies=behind.comparator.get(strategy.id, []),
        )
        staged = [
            r
            for r in rows
            if r.study_type == "INTERVENTIONAL" and r.status != "WITHDRAWN" and r.phase in PHASE_RANK
        ]
        if staged:
            entry.stage = max((r.phase for r in staged), key=PHASE_RANK.__getitem__)
            entry.stage_studies = [r.id for r in staged if r.phase == entry.stage]
        landscape.append(entry)
    return landscape
