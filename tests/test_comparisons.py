"""Results of comparisons: posted registry analyses and sentences of results, read for direction."""

from __future__ import annotations

import json

import pytest

from curemap.enrich.comparison_eval import evaluate_registry, part_of
from curemap.enrich.comparisons import ComparisonReader, p_significant
from curemap.profile import load_profile
from curemap.sources.ctgov_json import study_from_api
from tests.conftest import RAW_V2


@pytest.fixture(scope="module")
def reader():
    return ComparisonReader(load_profile())


def test_posted_analyses_are_read_with_their_groups_the_right_way_round(reader):
    study = study_from_api(json.loads((RAW_V2 / "NCT02210780.json").read_text()))
    assert len(study.result_analyses) == 7
    first = reader.registry_comparisons(study)[0]
    # the placebo arm is typed EXPERIMENTAL and listed first: the words, not the order, make it the comparator
    assert (first.intervention, first.comparator) == ("Dupilumab 300 mg qw", "Placebo qw")
    assert first.direction == "increased" and first.p_value == "<0.0001"
    assert (first.ci_low, first.ci_high, first.ci_level) == (24.29, 43.75, 90.0)
    assert first.text == first.text[first.start : first.end] and "Dupilumab 300 mg qw vs. Placebo qw" not in first.effect


def test_an_estimate_posted_the_other_way_round_is_turned(reader):
    study = study_from_api(json.loads((RAW_V2 / "NCT02552212.json").read_text()))
    found = reader.registry_comparisons(study)
    assert found[0].primary and found[0].effect == "Odds Ratio (OR) 15.231"
    assert found[11].direction == "no_difference" and found[11].verdict == "no difference"
    assert found[3].direction == "decreased" and found[3].n


def test_every_labelled_registry_analysis(reader):
    report = evaluate_registry(reader)
    assert len(report.items) == 41 and report.accuracy == 1.0


@pytest.mark.parametrize(
    ("written", "significant"),
    [("<0.0001", True), ("=0.247", False), ("0·06", False), ("<0.05", True), ("0.05", False), (">0.05", False), ("n/a", None)],
)
def test_p_values_as_written(written, significant):
    assert p_significant(written) is significant


def test_a_sentence_says_which_way_and_whether_it_is_significant(reader):
    text = "After 11 years, risk of CDMS remained lower in the early-treatment arm compared with the delayed-treatment arm (p = 0.0012), with longer time to first relapse (p = 0.0005)."
    assert reader.read(text, 0, len(text), "early treatment", "delayed treatment", "time to first relapse").direction == "increased"
    assert reader.read(text, 0, len(text), "early treatment", "delayed treatment", "risk of CDMS").direction == "decreased"
    same = "MRI metrics did not differ between groups."
    assert reader.read(same, 0, len(same), "early", "late", "MRI metrics").direction == "no_difference"
    hazard = "Risk of relapse was lower with the drug (HR 0.66; 95% CI 0.52-0.83)."
    found = reader.read(hazard, 0, len(hazard), "drug", "placebo", "risk of relapse")
    assert (found.direction, found.verdict, found.effect, found.ci_low) == ("decreased", "better", "HR 0.66", 0.52)


def test_results_sentences_of_a_paper_become_comparisons_with_the_comparator_second(reader):
    text = "The ARR at 2 years was 0.38 in the placebo group and 0.17 in the delayed-release DMF BID group (p < 0.0001 vs. placebo)."
    (found,) = reader.text_comparisons(text)
    assert (found.intervention, found.comparator) == ("delayed-release DMF BID", "placebo")
    assert found.text == text[found.start : found.end]
    assert reader.text_comparisons(text, kind="discussion") == []


def test_the_split_is_by_the_pmcid():
    assert {part_of("PMC4745915"), part_of("4745915")} == {1}


# -- the reader unprompted, on real abstracts of the literature snapshot ---------------------


def _abstract(pmid: str) -> str:
    from tests.conftest import SHARED_DATA

    from curemap.sources.files import iter_file_records

    literature = SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"
    return next(r.paper.abstract for r in iter_file_records(literature) if r.paper and r.paper.pmid == pmid)


def test_an_abstracts_comparison_reads_as_x_vs_y_on_z(reader):
    (found,) = reader.text_comparisons(_abstract("33724637"))
    # "HR DBP+OLE [95%CI]: 0.66": the ratio's value, not the interval's level
    assert found.summary() == (
        "ocrelizumab earlier vs delayed treatment on risk of requiring a walking aid confirmed for ≥24 weeks: "
        "better (HR 0.66, p =0.024)"
    )
    (found,) = reader.text_comparisons(_abstract("33603936"))
    assert found.summary() == "intervention vs control on improvement of urinary tract symptoms: better (p ≤0.001)"


def test_associations_and_people_sorted_by_outcome_are_not_comparisons_of_arms(reader):
    # "benefit … for those who required a wheelchair vs. those who ambulated": an association
    assert reader.text_comparisons(_abstract("33636612")) == []
    # "participants who collided vs. did not collide"
    assert reader.text_comparisons(_abstract("33688770")) == []


def test_relapse_rates_and_the_word_or_are_not_ratios(reader):
    text = (
        "RESULTS: The overall ARR over the 11-year study period was lower in the early-treatment group than in "
        "the delayed-treatment group, resulting in a 19.1% reduction in risk of relapses (risk ratio [RR] 0.8094 "
        "[95% CI 0.7090-0.9242]; p = 0.0018)."
    )
    (found,) = reader.text_comparisons(text)
    assert (found.effect, found.direction, found.verdict) == ("risk ratio 0.8094", "decreased", "better")
    assert found.outcome == "overall ARR over the 11-year study period"


def test_a_sentence_on_the_primary_endpoint_is_marked_primary(reader):
    text = (
        "Primary endpoint: the hazard ratio for EDSS deterioration in the CPM group in comparison with the MP "
        "group was 0.61 [95% CI: 0·31–1·22](p = 0·16)."
    )
    (found,) = reader.text_comparisons(text)
    assert found.primary and found.direction == "no_difference" and found.effect == "hazard ratio 0.61"


def test_unprompted_reading_of_the_development_articles():
    """First run of the unprompted reader on the labelled development prompts: 1 of 12 right."""
    from curemap.enrich.comparison_eval import evaluate_text

    report = evaluate_text(ComparisonReader(load_profile()), 0)
    assert len(report.items) == 12
    assert report.accuracy >= 5 / 12
