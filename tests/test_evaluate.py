"""Classifier accuracy against the development labels (the floor that guards it), and the metric arithmetic."""

from __future__ import annotations

import json

import pytest

from curemap.enrich.classify import Classification, Evidence
from curemap.enrich.evaluate import (
    class_scores,
    evaluate,
    evaluate_files,
    half_of,
    macro_f1,
    read_labels,
    set_scores,
)
from curemap.model import Study
from curemap.profile import load_profile

from .conftest import CTGOV_CSV, SHARED_DATA

DEV_LABELS = SHARED_DATA / "labels" / "ctgov-strategies-dev.csv"


@pytest.fixture(scope="module")
def dev_report():
    return evaluate_files(DEV_LABELS, CTGOV_CSV)


def test_dev_labels_reach_the_acceptance_floor(dev_report):
    assert dev_report.studies == 204 and not dev_report.missing
    assert dev_report.micro_f1 >= 0.90
    assert dev_report.macro_f1 >= 0.88
    assert dev_report.curative_accuracy >= 0.96
    assert dev_report.not_ms_accuracy >= 0.98


def test_both_halves_of_the_labels_score_alike(dev_report):
    """A rule that suits only some studies would show as a gap between two fixed halves."""
    halves = dev_report.halves
    assert set(halves) == {"half_a", "half_b"}
    assert sum(int(half["studies"]) for half in halves.values()) == 204
    for half in halves.values():
        assert half["micro_f1"] >= 0.88 and half["macro_f1"] >= 0.85
    assert abs(halves["half_a"]["micro_f1"] - halves["half_b"]["micro_f1"]) < 0.05


def test_report_renders_and_serialises(dev_report):
    text = dev_report.render_text()
    assert "micro-F1" in text and "half_a" in text and "Disagreements" in text
    data = json.loads(json.dumps(dev_report.to_dict()))
    assert data["micro_f1"] == dev_report.micro_f1
    assert len(data["disagreements"]) == len(dev_report.disagreements)
    for item in dev_report.disagreements:
        assert item.aspects and item.evidence


def test_set_scores_on_a_hand_computed_example():
    # study 1: gold {a, b}, predicted {a}     -> tp 1, fn 1
    # study 2: gold {c},    predicted {c, d}  -> tp 1, fp 1
    pairs = [({"a", "b"}, {"a"}), ({"c"}, {"c", "d"})]
    scores = set_scores(pairs)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.f1 == pytest.approx(2 / 3)

    per_class = {score.label: score for score in class_scores(pairs, ["a", "b", "c", "d"])}
    assert (per_class["a"].f1, per_class["a"].support, per_class["a"].predicted) == (1.0, 1, 1)
    assert (per_class["b"].recall, per_class["b"].f1, per_class["b"].support) == (0.0, 0.0, 1)
    assert (per_class["d"].precision, per_class["d"].support, per_class["d"].predicted) == (0.0, 0, 1)
    # macro over classes with at least one gold example: (1 + 0 + 1) / 3
    assert macro_f1(list(per_class.values()), min_support=1) == (pytest.approx(2 / 3), ["a", "b", "c"])
    assert macro_f1(list(per_class.values()), min_support=3) == (0.0, [])


class FixedClassifier:
    """Returns a fixed classification per study id: the arithmetic is then known exactly."""

    def __init__(self, results: dict[str, Classification]):
        self.profile = load_profile()
        self.results = results

    def classify(self, study: Study) -> Classification:
        return self.results[study.id]


def predicted(strategies, phenotypes=("unspecified",), is_ms=True, curative=False) -> Classification:
    evidence = [Evidence(strategies[0], "strategy", "brief_title", "t", "t", 0, 1, 1.0)]
    return Classification(is_ms, list(strategies), list(phenotypes), curative, evidence)


def test_evaluate_on_a_tiny_hand_computed_label_file(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "nct_id,sample,strategies,phenotypes,curative_intent,confidence,note\n"
        "NCT00000001,random,alemtuzumab;dmt_other,rrms,true,high,\n"
        "NCT00000002,random,rehabilitation,unspecified,false,high,\n"
        "NCT00000003,random,other,unspecified,false,high,NOT_MS: ALS\n"
        "NCT00000004,random,msc,spms,true,high,not in the study file\n",
        encoding="utf-8",
    )
    results = {
        "NCT00000001": predicted(["alemtuzumab"], ["rrms"], curative=True),  # misses dmt_other
        "NCT00000002": predicted(["rehabilitation", "observational"]),  # one extra label
        "NCT00000003": predicted(["other"], is_ms=True),  # fails to see it is not MS
    }
    studies = {study_id: Study(id=study_id, source="test") for study_id in results}
    report = evaluate(labels, studies, FixedClassifier(results), min_support=1)

    assert report.studies == 3 and report.missing == ["NCT00000004"]
    # tp 3 (alemtuzumab, rehabilitation, other), fp 1 (observational), fn 1 (dmt_other)
    assert report.strategies.precision == pytest.approx(3 / 4)
    assert report.strategies.recall == pytest.approx(3 / 4)
    assert report.micro_f1 == pytest.approx(3 / 4)
    # F1 of the classes with gold support: alemtuzumab 1, dmt_other 0, rehabilitation 1, other 1
    assert report.macro_f1 == pytest.approx(3 / 4)
    assert report.curative_accuracy == 1.0
    assert report.not_ms_accuracy == pytest.approx(2 / 3)
    assert report.phenotypes.f1 == 1.0
    assert [(d.id, d.aspects) for d in report.disagreements] == [
        ("NCT00000001", ["strategies"]),
        ("NCT00000002", ["strategies"]),
        ("NCT00000003", ["is_ms"]),
    ]


def test_label_file_reading_and_halves():
    labels = read_labels(DEV_LABELS)
    assert len(labels) == 204
    assert sum(not label.is_ms for label in labels) == 16
    assert sum(label.curative_intent for label in labels) == 76
    assert {half_of(label.id) for label in labels} == {"half_a", "half_b"}
