"""Evidence synthesis: per strategy and outcome measure, the pooled share of patients, from
the outcome figures extracted from papers and posted registry results.

Rules (each one keeps a pooled figure honest):

- Only records classified as about MS, and among papers only primary human evidence
  (``rct``, ``cohort``, ``case_series``): reviews would count their studies twice and
  preclinical work is not about patients.
- A figure is attributed to a strategy only when its record pursues exactly one
  therapy strategy (the profile's ``role: therapy``); a comparison of two therapies
  cannot say which arm a figure belongs to.
- Only shares with a stated denominator pool: a ``percent`` figure with ``n`` (events =
  round(value × n / 100)) or a ``count`` figure with ``n`` ≥ the count.
- One figure per record, measure and event: the one with the largest ``n`` (the first
  such in the text on a tie), so one cohort never weighs twice.
- Pooling is random effects on the logit scale with REML (see :mod:`curemap.analysis.meta`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from curemap.analysis.meta import PooledEstimate, StudyProportion, pool_proportions
from curemap.profile import Profile
from curemap.store import Store, schema

PRIMARY_DESIGNS = frozenset({"rct", "cohort", "case_series"})


@dataclass
class PooledFigure:
    """A figure that entered a pool, with the words it came from."""

    record_id: str
    measure: str
    event: str | None
    events: int
    total: int
    value: float
    unit: str
    text: str
    source_field: str
    start: int
    end: int


@dataclass
class StrategyEvidence:
    strategy: str
    measure: str
    event: str | None
    estimate: PooledEstimate
    figures: list[PooledFigure]

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "measure": self.measure,
            "event": self.event,
            "estimate": self.estimate.to_dict(),
            "figures": [vars(f) for f in self.figures],
        }


def _events(row) -> int | None:
    if row.n is None or row.n <= 0:
        return None
    if row.unit == "percent" and 0 <= row.value <= 100:
        return round(row.value * row.n / 100)
    if row.unit == "count" and 0 <= row.value <= row.n and float(row.value).is_integer():
        return int(row.value)
    return None


def strategy_evidence(store: Store, profile: Profile) -> list[StrategyEvidence]:
    """Every (strategy, measure, event) with at least one poolable figure, pooled."""
    therapies = {s.id for s in profile.strategies if s.role == "therapy"}
    cl, rs, fig = schema.classifications, schema.record_strategies, schema.outcome_figures
    with store.connect() as conn:
        eligible = {
            row.record_id
            for row in conn.execute(select(cl.c.record_id, cl.c.kind, cl.c.design).where(cl.c.is_ms))
            if row.kind == "study" or row.design in PRIMARY_DESIGNS
        }
        strategies_of: dict[str, set[str]] = defaultdict(set)
        for row in conn.execute(select(rs.c.record_id, rs.c.strategy)):
            if row.strategy in therapies:
                strategies_of[row.record_id].add(row.strategy)
        best: dict[tuple[str, str, str | None, str], PooledFigure] = {}
        for row in conn.execute(select(fig).order_by(fig.c.record_id, fig.c.position)):
            strategies = strategies_of.get(row.record_id, set())
            events = _events(row)
            if row.record_id not in eligible or len(strategies) != 1 or events is None:
                continue
            (strategy,) = strategies
            event = row.event.lower() if row.measure == "adverse_event" and row.event else None
            key = (strategy, row.measure, event, row.record_id)
            if key not in best or row.n > best[key].total:
                best[key] = PooledFigure(
                    row.record_id, row.measure, event, events, row.n, row.value, row.unit,
                    row.text, row.source_field, row.start, row.end,
                )
    grouped: dict[tuple[str, str, str | None], list[PooledFigure]] = defaultdict(list)
    for (strategy, measure, event, _), figure in sorted(best.items()):
        grouped[(strategy, measure, event)].append(figure)
    return [
        StrategyEvidence(
            strategy,
            measure,
            event,
            pool_proportions(
                [StudyProportion(f.record_id, f.events, f.total, label=f.record_id, citation=f.text) for f in figures]
            ),
            figures,
        )
        for (strategy, measure, event), figures in grouped.items()
    ]
