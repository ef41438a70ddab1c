"""Auditing what the map says each study tests, against hand labels read from the records.

The labels (``tests/data/strategy-audit/``) say, per study, which curative-intent strategies
it tests, which are only active comparators, and whether it tests them as a treatment or is
only about them. Three figures: the share of the store's "tests a curative strategy" labels
that are right (precision), the share of labelled ones the store has (recall), and the share
of the studies that stage and "open now" statements cite that are right (a cited study must
test the strategy as a treatment). Labels outside the audited studies are counted as unaudited.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from curemap.analysis.landscape import strategy_landscape
from curemap.enrich.classify import TESTED, TREATMENT
from curemap.errors import InputError
from curemap.profile import Profile
from curemap.store import Store, schema


@dataclass(frozen=True)
class AuditLabel:
    id: str
    is_ms: bool
    tested: frozenset[str]
    comparator: frozenset[str]
    purpose: str
    reason: str


@dataclass
class Miss:
    id: str
    strategy: str
    what: str  # "wrong label", "missed", "wrong citation"
    reason: str  # the label's reason


@dataclass
class AuditReport:
    audited_studies: int
    claims: int
    audited_claims: int
    right_claims: int
    precision: float
    gold: int
    found: int
    recall: float
    cited: int
    right_cited: int
    cited_precision: float
    unaudited: list[str] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render_text(self) -> str:
        lines = [
            f"audited studies: {self.audited_studies}",
            f"curative 'tests' labels right: {self.right_claims} of {self.audited_claims} audited "
            f"({self.precision:.3f}); {len(self.unaudited)} labelled studies outside the audit",
            f"labelled curative strategies found: {self.found} of {self.gold} ({self.recall:.3f})",
            f"studies cited by stage and open-now figures right: {self.right_cited} of {self.cited} ({self.cited_precision:.3f})",
        ]
        lines += [f"  {m.what}: {m.id} {m.strategy} — {m.reason}" for m in self.misses]
        return "\n".join(lines)


def read_audit_labels(paths: list[Path]) -> dict[str, AuditLabel]:
    labels: dict[str, AuditLabel] = {}
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                labels[item["id"]] = AuditLabel(
                    item["id"],
                    bool(item["is_ms"]),
                    frozenset(item["tested"]),
                    frozenset(item["comparator"]),
                    item["purpose"],
                    item.get("reason", ""),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"{path}, line {number}: not an audit label ({exc})") from exc
    return labels


def audit_store(store: Store, profile: Profile, labels: dict[str, AuditLabel]) -> AuditReport:
    """Score the store's curative-intent labels and cited studies against ``labels``."""
    curative = {strategy.id for strategy in profile.strategies if strategy.curative_intent}
    rs, cl = schema.record_strategies, schema.classifications
    with store.connect() as conn:
        claims = {
            (row.record_id, row.strategy)
            for row in conn.execute(
                select(rs.c.record_id, rs.c.strategy)
                .join(cl, cl.c.record_id == rs.c.record_id)
                .where(cl.c.is_ms, cl.c.kind == "study", rs.c.role == TESTED)
            )
            if row.strategy in curative
        }
    misses: list[Miss] = []
    audited = sorted(claim for claim in claims if claim[0] in labels)
    right = 0
    for study, strategy in audited:
        label = labels[study]
        if label.is_ms and strategy in label.tested:
            right += 1
        else:
            misses.append(Miss(study, strategy, "wrong label", label.reason))
    gold = sorted((i, s) for i, label in labels.items() if label.is_ms for s in label.tested)
    found = 0
    for claim in gold:
        if claim in claims:
            found += 1
        else:
            misses.append(Miss(*claim, "missed", labels[claim[0]].reason))
    cited = sorted(
        {
            (study, entry.id)
            for entry in strategy_landscape(store, profile)
            if entry.id in curative
            for study in entry.stage_studies + entry.recruiting_studies
            if study in labels
        }
    )
    right_cited = 0
    for study, strategy in cited:
        label = labels[study]
        if label.is_ms and strategy in label.tested and label.purpose == TREATMENT:
            right_cited += 1
        else:
            misses.append(Miss(study, strategy, "wrong citation", label.reason))
    return AuditReport(
        audited_studies=len(labels),
        claims=len(claims),
        audited_claims=len(audited),
        right_claims=right,
        precision=right / len(audited) if audited else 0.0,
        gold=len(gold),
        found=found,
        recall=found / len(gold) if gold else 0.0,
        cited=len(cited),
        right_cited=right_cited,
        cited_precision=right_cited / len(cited) if cited else 0.0,
        unaudited=sorted({study for study, _ in claims if study not in labels}),
        misses=misses,
    )
