"""How far each strategy has come: its MS studies, their statuses and its development stage.

The development stage of a strategy is the highest phase among its interventional
MS studies that were not withdrawn (``shared/domain/ms-strategies.md``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from curemap.normalise import PHASE_RANK
from curemap.profile import Profile
from curemap.store import Store, schema

RECRUITING_STATUSES = frozenset({"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION"})
"""Statuses under which a person could still join a study."""


@dataclass
class StrategyLandscape:
    id: str
    name: str
    group: str
    curative_intent: bool
    studies: int = 0
    interventional: int = 0
    recruiting: int = 0
    with_results: int = 0
    stage: str | None = None
    stage_studies: list[str] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)
    by_phase: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def strategy_landscape(store: Store, profile: Profile) -> list[StrategyLandscape]:
    """One entry per profile strategy, in profile order; a strategy with no MS study stays listed."""
    st, cl, ss = schema.studies, schema.classifications, schema.record_strategies
    query = (
        select(ss.c.strategy, st.c.id, st.c.status, st.c.phase, st.c.study_type, st.c.has_results)
        .join(st, st.c.id == ss.c.record_id)
        .join(cl, cl.c.record_id == st.c.id)
        .where(cl.c.is_ms)
        .order_by(st.c.id)
    )
    rows_by_strategy: dict[str, list] = defaultdict(list)
    with store.connect() as conn:
        for row in conn.execute(query):
            rows_by_strategy[row.strategy].append(row)
    landscape = []
    for strategy in profile.strategies:
        rows = rows_by_strategy.get(strategy.id, [])
        entry = StrategyLandscape(
            id=strategy.id,
            name=strategy.name,
            group=strategy.group,
            curative_intent=strategy.curative_intent,
            studies=len(rows),
            interventional=sum(r.study_type == "INTERVENTIONAL" for r in rows),
            recruiting=sum(r.status in RECRUITING_STATUSES for r in rows),
            with_results=sum(bool(r.has_results) for r in rows),
            by_status=dict(Counter(r.status or "UNKNOWN" for r in rows).most_common()),
            by_phase=dict(Counter(r.phase or "not_given" for r in rows).most_common()),
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
