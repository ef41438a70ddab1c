"""Evidence synthesis: per strategy and outcome measure, the pooled share of patients, from
the outcome figures extracted from papers and posted registry results.

Rules (each one keeps a pooled figure honest):

- Only records classified as about MS, and among papers only primary human evidence
  (``rct``, ``cohort``, ``case_series``): reviews would count their studies twice and
  preclinical work is not about patients.
- A figure is attributed to a strategy only when its record pursues exactly one
  therapy strategy (the profile's ``role: therapy``); a comparison of two therapies
  cannot say which arm a figure belongs to.
- Only complete shares pool: a ``percent`` figure with ``n`` (events = the count its words state,
  else round(value × n / 100); a stated count that is not that share of ``n`` does not pool)
  or a ``count`` figure with ``n`` ≥ the count, of an arm that is not the comparator (a group
  the profile's control words name: placebo, usual care…).
- One figure per record, measure and event: the one with the largest ``n`` (the first
  such in the text on a tie), so one cohort never weighs twice.
- Pooling is random effects on the logit scale with REML (see :mod:`curemap.analysis.meta`).

Every share of a strategy's MS records that does not pool is kept with the reason
(:func:`synthesise`), so a pooled figure says what it leaves out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select

from curemap.analysis.meta import PooledEstimate, StudyProportion, pool_proportions
from curemap.enrich.comparisons import ComparisonReader
from curemap.enrich.outcomes import share_fits, stated_count
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
class LeftOutFigure:
    """A share of a strategy's MS record that did not enter its pool, and why."""

    strategy: str
    record_id: str
    measure: str
    event: str | None
    value: float
    unit: str
    n: int | None
    group: str | None
    text: str
    reason: str


NOT_PRIMARY = "not primary evidence on patients (a review or preclinical work)"
SEVERAL_THERAPIES = "its record tests more than one therapy, so the arm is not known"
NO_DENOMINATOR = "no denominator stated"
NOT_A_SHARE = "not a share of its stated denominator"
COMPARATOR = "the comparator arm's figure"
SMALLER = "the same record gives a larger denominator for it"


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
    """The people a share counts: the count its words state, else the share of ``n``; none when
    a stated count is not that share of ``n`` (``n`` is then not its denominator)."""
    if row.n is None or row.n <= 0:
        return None
    if row.unit == "percent" and 0 <= row.value <= 100:
        if not share_fits(row.text, row.value, row.unit, row.n):
            return None
        return stated_count(row.text, row.n) or round(row.value * row.n / 100)
    if row.unit == "count" and 0 <= row.value <= row.n and float(row.value).is_integer():
        return int(row.value)
    return None


@dataclass
class Synthesis:
    """Every (strategy, measure, event) with at least one poolable figure, pooled, and every
    share of a strategy's MS records that no pool uses, with the reason: one pass over the
    stored figures gives both."""

    evidence: list[StrategyEvidence]
    left_out: list[LeftOutFigure]


def synthesise(store: Store, profile: Profile, only: str | None = None) -> Synthesis:
    """Pool every strategy's figures and keep what the pools leave out (:class:`Synthesis`);
    with ``only`` (a strategy id), that strategy's alone, read from its own records' figures."""
    best, left = _sorted_figures(store, profile, only)
    grouped: dict[tuple[str, str, str | None], list[PooledFigure]] = defaultdict(list)
    for (strategy, measure, event, _), figure in sorted(best.items()):
        grouped[(strategy, measure, event)].append(figure)
    evidence = [
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
    return Synthesis(evidence, left)


def _sorted_figures(
    store: Store, profile: Profile, only: str | None = None
) -> tuple[dict[tuple, PooledFigure], list[LeftOutFigure]]:
    """One pass over the stored shares: the figure each (strategy, measure, event, record) pools,
    and every other share of a strategy's MS record with the reason it does not (of the strategy
    ``only``, when given: what the whole pass gives it, from its own records' shares)."""
    therapies = {s.id for s in profile.strategies if s.role == "therapy"}
    control = ComparisonReader(profile).is_control
    cl, rs, fig = schema.classifications, schema.record_strategies, schema.outcome_figures
    shares = fig.c.unit.in_(("percent", "count"))
    if only is not None:
        shares = and_(shares, fig.c.record_id.in_(select(rs.c.record_id).where(rs.c.strategy == only)))
    with store.connect() as conn:
        # read from the shares (a store's figures are few beside its records), not from every record
        strategies_of: dict[str, set[str]] = defaultdict(set)
        labelled = select(rs.c.record_id, rs.c.strategy).where(rs.c.strategy.in_(sorted(therapies)), rs.c.record_id.in_(select(fig.c.record_id).where(shares)))
        for row in conn.execute(labelled):
            strategies_of[row.record_id].add(row.strategy)
        best: dict[tuple[str, str, str | None, str], PooledFigure] = {}
        left: list[LeftOutFigure] = []
        of_ms = select(fig, cl.c.kind, cl.c.design).join(cl, cl.c.record_id == fig.c.record_id).where(cl.c.is_ms, shares)
        for row in conn.execute(of_ms.order_by(fig.c.record_id, fig.c.position)):
            strategies = strategies_of.get(row.record_id, set())
            if not strategies:
                continue
            event = row.event.lower() if row.measure == "adverse_event" and row.event else None
            events = _events(row)
            reason = (
                NOT_PRIMARY if row.kind != "study" and row.design not in PRIMARY_DESIGNS
                else SEVERAL_THERAPIES if len(strategies) != 1
                else NO_DENOMINATOR if row.n is None or row.n <= 0
                else NOT_A_SHARE if events is None
                else COMPARATOR if control(row.group_label)
                else None
            )  # fmt: skip
            if reason is None:
                (strategy,) = strategies
                key = (strategy, row.measure, event, row.record_id)
                figure = PooledFigure(
                    row.record_id, row.measure, event, events, row.n, row.value, row.unit,
                    row.text, row.source_field, row.start, row.end,
                )
                if key in best and row.n <= best[key].total:
                    left.append(_left(strategy, figure, row.group_label, SMALLER))
                    continue
                if key in best:
                    left.append(_left(strategy, best[key], None, SMALLER))
                best[key] = figure
                continue
            left += [
                LeftOutFigure(strategy, row.record_id, row.measure, event, row.value, row.unit, row.n,
                              row.group_label, row.text, reason)
                for strategy in sorted(strategies)
            ]
    if only is not None:
        return {key: figure for key, figure in best.items() if key[0] == only}, [f for f in left if f.strategy == only]
    return best, left


def _left(strategy: str, figure: PooledFigure, group: str | None, reason: str) -> LeftOutFigure:
    return LeftOutFigure(strategy, figure.record_id, figure.measure, figure.event, figure.value, figure.unit,
                         figure.total, group, figure.text, reason)
