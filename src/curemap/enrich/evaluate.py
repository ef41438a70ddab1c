"""Measuring the strategy classifier against hand-labelled studies.

The gold file is ``shared/data/labels/ctgov-strategies-dev.csv``: one row per study with
``;``-separated strategies and phenotypes, ``curative_intent`` and a note that starts with
``NOT_MS:`` for studies that are not about MS. The labels are for measuring only; nothing
here feeds them back into the classifier.

Figures: micro-F1 over all (study, strategy) pairs; macro-F1 over the strategies with at
least ``min_support`` gold studies; per-strategy precision, recall and F1; curative-intent
and not-MS accuracy; phenotype micro-F1; the same headline figures on two fixed halves of
the labels (split by a hash of the id), so a rule that only suits some studies shows up as
a gap between them; and every study where the classifier and the gold disagree, with the
classifier's evidence.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from curemap.enrich.classify import Classification, Classifier, Evidence
from curemap.model import Study
from curemap.profile import DEFAULT_PROFILE, load_profile
from curemap.sources.files import iter_file_records

NOT_MS_PREFIX = "NOT_MS:"


@dataclass(frozen=True)
class GoldLabel:
    id: str
    strategies: frozenset[str]
    phenotypes: frozenset[str]
    curative_intent: bool
    is_ms: bool
    note: str


@dataclass
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass
class Disagreement:
    id: str
    aspects: list[str]  # which of strategies, phenotypes, is_ms, curative_intent differ
    gold_strategies: list[str]
    predicted_strategies: list[str]
    gold_phenotypes: list[str]
    predicted_phenotypes: list[str]
    note: str
    method: str
    evidence: list[Evidence]


@dataclass
class SetScores:
    """Micro-averaged scores of predicted label sets against gold label sets."""

    precision: float
    recall: float
    f1: float


@dataclass
class EvalReport:
    studies: int
    missing: list[str]
    strategies: SetScores
    macro_f1: float
    min_support: int
    macro_classes: list[str]
    per_class: list[ClassScore]
    curative_accuracy: float
    not_ms_accuracy: float
    phenotypes: SetScores
    halves: dict[str, dict[str, float]] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def micro_f1(self) -> float:
        return self.strategies.f1

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["micro_f1"] = self.micro_f1
        return data

    def render_text(self) -> str:
        lines = [
            f"Strategy classification against {self.studies} labelled studies"
            + (f" ({len(self.missing)} labelled ids not found: {', '.join(self.missing)})" if self.missing else ""),
            "",
            f"  micro-F1 (strategies)      {self.strategies.f1:.3f}"
            f"   precision {self.strategies.precision:.3f}  recall {self.strategies.recall:.3f}",
            f"  macro-F1 (support >= {self.min_support})    {self.macro_f1:.3f}   over {len(self.macro_classes)} strategies",
            f"  curative-intent accuracy   {self.curative_accuracy:.3f}",
            f"  not-MS accuracy            {self.not_ms_accuracy:.3f}",
            f"  phenotype micro-F1         {self.phenotypes.f1:.3f}",
            "",
            "  half     studies  micro-F1  macro-F1  curative  not-MS",
        ]
        for name, half in self.halves.items():
            lines.append(
                f"  {name:<8} {int(half['studies']):>7}  {half['micro_f1']:>8.3f}  {half['macro_f1']:>8.3f}"
                f"  {half['curative_accuracy']:>8.3f}  {half['not_ms_accuracy']:>6.3f}"
            )
        lines += ["", f"  {'strategy':<24} {'prec':>6} {'recall':>6} {'F1':>6} {'gold':>5} {'pred':>5}"]
        for score in self.per_class:
            lines.append(
                f"  {score.label:<24} {score.precision:>6.3f} {score.recall:>6.3f} {score.f1:>6.3f}"
                f" {score.support:>5} {score.predicted:>5}"
            )
        lines += ["", f"Disagreements ({len(self.disagreements)})"]
        for item in self.disagreements:
            lines.append(f"  {item.id} [{', '.join(item.aspects)}] via {item.method}   note: {item.note}")
            lines.append(
                f"      strategies  gold {_joined(item.gold_strategies)}  predicted {_joined(item.predicted_strategies)}"
            )
            if "phenotypes" in item.aspects:
                lines.append(
                    f"      phenotypes  gold {_joined(item.gold_phenotypes)}  predicted {_joined(item.predicted_phenotypes)}"
                )
            for evidence in item.evidence:
                if evidence.kind == "strategy":
                    lines.append(
                        f"      - {evidence.label}: {evidence.text!r} in {evidence.field} (term {evidence.term!r})"
                    )
        return "\n".join(lines)


def _joined(labels: list[str]) -> str:
    return ";".join(labels)


def read_labels(path: Path) -> list[GoldLabel]:
    """The gold rows of a labels CSV."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        return [
            GoldLabel(
                id=row["nct_id"].strip(),
                strategies=_label_set(row["strategies"]),
                phenotypes=_label_set(row["phenotypes"]),
                curative_intent=row["curative_intent"].strip().lower() == "true",
                is_ms=not row["note"].strip().startswith(NOT_MS_PREFIX),
                note=row["note"].strip(),
            )
            for row in csv.DictReader(handle)
        ]


def _label_set(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(";") if part.strip())


def half_of(study_id: str) -> str:
    """Which fixed half of the labels a study falls in ("half_a" or "half_b")."""
    return "half_a" if int(hashlib.sha256(study_id.encode()).hexdigest(), 16) % 2 == 0 else "half_b"


def set_scores(pairs: Iterable[tuple[Collection[str], Collection[str]]]) -> SetScores:
    """Micro precision, recall and F1 of (gold, predicted) label sets."""
    tp = fp = fn = 0
    for gold, predicted in pairs:
        gold, predicted = set(gold), set(predicted)
        tp += len(gold & predicted)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return SetScores(precision, recall, _f1(precision, recall))


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def class_scores(pairs: list[tuple[Collection[str], Collection[str]]], labels: Iterable[str]) -> list[ClassScore]:
    """Precision, recall, F1 and support of each label, one-vs-rest over the studies."""
    scores = []
    for label in labels:
        scored = set_scores(({label} & set(gold), {label} & set(predicted)) for gold, predicted in pairs)
        support = sum(label in gold for gold, _ in pairs)
        predicted = sum(label in predicted for _, predicted in pairs)
        scores.append(ClassScore(label, scored.precision, scored.recall, scored.f1, support, predicted))
    return scores


def macro_f1(scores: list[ClassScore], min_support: int) -> tuple[float, list[str]]:
    """Mean F1 over the classes with at least ``min_support`` gold examples."""
    counted = [score for score in scores if score.support >= min_support]
    if not counted:
        return 0.0, []
    return sum(score.f1 for score in counted) / len(counted), [score.label for score in counted]


def _headline(rows: list[tuple[GoldLabel, Classification]], order: list[str], min_support: int) -> dict[str, float]:
    pairs = [(gold.strategies, predicted.strategies) for gold, predicted in rows]
    macro, _ = macro_f1(class_scores(pairs, order), min_support)
    return {
        "studies": float(len(rows)),
        "micro_f1": set_scores(pairs).f1,
        "macro_f1": macro,
        "curative_accuracy": _accuracy(gold.curative_intent == predicted.curative_intent for gold, predicted in rows),
        "not_ms_accuracy": _accuracy(gold.is_ms == predicted.is_ms for gold, predicted in rows),
    }


def _accuracy(hits: Iterable[bool]) -> float:
    hits = list(hits)
    return sum(hits) / len(hits) if hits else 0.0


def evaluate(labels_csv: Path, studies: dict[str, Study], classifier: Classifier, min_support: int = 3) -> EvalReport:
    """Classify every labelled study found in ``studies`` and compare with the gold labels."""
    labels = read_labels(labels_csv)
    missing = [gold.id for gold in labels if gold.id not in studies]
    rows = [(gold, classifier.classify(studies[gold.id])) for gold in labels if gold.id in studies]
    order = [strategy.id for strategy in classifier.profile.strategies]
    pairs = [(gold.strategies, predicted.strategies) for gold, predicted in rows]
    per_class = [score for score in class_scores(pairs, order) if score.support or score.predicted]
    macro, macro_classes = macro_f1(per_class, min_support)
    halves = {
        name: _headline([row for row in rows if half_of(row[0].id) == name], order, min_support)
        for name in ("half_a", "half_b")
    }
    return EvalReport(
        studies=len(rows),
        missing=missing,
        strategies=set_scores(pairs),
        macro_f1=macro,
        min_support=min_support,
        macro_classes=macro_classes,
        per_class=per_class,
        curative_accuracy=_accuracy(gold.curative_intent == predicted.curative_intent for gold, predicted in rows),
        not_ms_accuracy=_accuracy(gold.is_ms == predicted.is_ms for gold, predicted in rows),
        phenotypes=set_scores((gold.phenotypes, predicted.phenotypes) for gold, predicted in rows),
        halves=halves,
        disagreements=[d for gold, predicted in rows if (d := _disagreement(gold, predicted)) is not None],
    )


def _disagreement(gold: GoldLabel, predicted: Classification) -> Disagreement | None:
    aspects = [
        name
        for name, same in (
            ("strategies", gold.strategies == set(predicted.strategies)),
            ("phenotypes", gold.phenotypes == set(predicted.phenotypes)),
            ("is_ms", gold.is_ms == predicted.is_ms),
            ("curative_intent", gold.curative_intent == predicted.curative_intent),
        )
        if not same
    ]
    if not aspects:
        return None
    return Disagreement(
        id=gold.id,
        aspects=aspects,
        gold_strategies=sorted(gold.strategies),
        predicted_strategies=list(predicted.strategies),
        gold_phenotypes=sorted(gold.phenotypes),
        predicted_phenotypes=list(predicted.phenotypes),
        note=gold.note,
        method=predicted.method,
        evidence=predicted.evidence,
    )


def evaluate_files(labels_csv: Path, studies_csv: Path, profile: str | Path = DEFAULT_PROFILE) -> EvalReport:
    """The report for a labels CSV and the registry file its studies come from (any importable format)."""
    wanted = {gold.id for gold in read_labels(labels_csv)}
    studies = {
        record.study.id: record.study
        for record in iter_file_records(Path(studies_csv))
        if record.study is not None and record.study.id in wanted
    }
    return evaluate(labels_csv, studies, Classifier(load_profile(profile)))
