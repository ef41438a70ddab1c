"""The strategy classifier on real registry records, its evidence, and its behaviour on arbitrary text."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curemap.enrich.classify import Classification, Classifier, field_text
from curemap.model import Arm, Intervention, PlannedOutcome, Study
from curemap.profile import load_profile
from curemap.sources.ctgov_csv import iter_records

from .conftest import CTGOV_CSV


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_profile())


@pytest.fixture(scope="module")
def studies() -> dict[str, Study]:
    with CTGOV_CSV.open(newline="", encoding="utf-8") as handle:
        return {record.study.id: record.study for record in iter_records(handle, "test") if record.study}


@pytest.fixture(scope="module")
def classified(classifier, studies) -> dict[str, Classification]:
    return {study_id: classifier.classify(study) for study_id, study in studies.items()}


def strategies_of(classified, study_id: str) -> list[str]:
    return classified[study_id].strategies


def assert_evidence_is_exact(study: Study, result: Classification) -> None:
    """Every assignment carries evidence, and each evidence's text is the field text at [start:end].

    A study that is not about MS gets fixed labels; its not-MS evidence is what explains them.
    """
    for evidence in result.evidence:
        assert field_text(study, evidence.field)[evidence.start : evidence.end] == evidence.text, evidence
    labels_with_evidence = {(e.kind, e.label) for e in result.evidence}
    if not result.is_ms:
        assert ("not_ms", "not_ms") in labels_with_evidence
        return
    assert ("ms", "is_ms") in labels_with_evidence
    for strategy in result.strategies:
        assert ("strategy", strategy) in labels_with_evidence, (study.id, strategy)
    for phenotype in result.phenotypes:
        assert ("phenotype", phenotype) in labels_with_evidence, (study.id, phenotype)


# -- specific real records --------------------------------------------------------------


def test_car_t_trial_lands_under_car_t_with_its_product_code(classified):
    result = classified["NCT06138132"]  # KYV-101 anti-CD19 CAR-T in progressive MS
    assert result.strategies == ["car_t"]  # "anti-CD19" names the CAR's target, not an antibody drug
    assert result.curative_intent
    assert {"ppms", "spms"} == set(result.phenotypes)
    assert any(e.field == "interventions[0].name" and e.text == "KYV-101" for e in result.evidence)


def test_autologous_and_allogeneic_transplants(classified):
    assert strategies_of(classified, "NCT00288626") == ["ahsct"]  # HALT-MS
    assert strategies_of(classified, "NCT06228781") == ["ahsct"]  # "haemopoietic" spelling
    assert strategies_of(classified, "NCT06900192") == ["immune_reset_other"]  # allogeneic HCT, Orca-Q
    assert strategies_of(classified, "NCT02084121") == ["immune_reset_other"]  # "allogeneic" only in the title


def test_systemic_sclerosis_stem_cell_transplant_is_not_ms(classified):
    result = classified["NCT01413100"]
    assert not result.is_ms
    assert result.strategies == ["other"] and result.phenotypes == ["unspecified"]
    assert not result.curative_intent
    assert {e.text for e in result.evidence if e.kind == "not_ms"} & {
        "Systemic Scleroderma",
        "Scleroderma",
        "Systemic Sclerosis",
    }


def test_other_sclerosis_conditions_are_not_ms(classified):
    for study_id in ("NCT00069186", "NCT00411619", "NCT06607900"):  # ALS, tuberous sclerosis, MSA basket
        assert not classified[study_id].is_ms, study_id


def test_care_is_never_car_t(classified):
    for study_id in ("NCT05660187", "NCT06634758", "NCT04006613", "NCT00530348"):  # care, caring, usual care, CARE-MS
        assert "car_t" not in strategies_of(classified, study_id), study_id
    assert strategies_of(classified, "NCT05660187") != ["car_t"]


def test_listed_active_comparators_get_their_own_strategy_and_placebo_none(classified):
    assert strategies_of(classified, "NCT00530348") == ["alemtuzumab", "dmt_other"]  # vs interferon beta-1a
    assert strategies_of(classified, "NCT04544449") == ["anti_cd20", "btk_inhibitor"]  # fenebrutinib vs ocrelizumab
    assert strategies_of(classified, "NCT04971005") == ["ahsct", "alemtuzumab", "anti_cd20"]  # COAST
    assert strategies_of(classified, "NCT01099930") == ["ahsct", "dmt_other"]  # aHSCT vs "Standard Therapy"
    assert strategies_of(classified, "NCT00213135") == ["cladribine"]  # CLARITY, placebo-controlled


def test_background_therapy_named_only_in_the_title_does_not_count(classified):
    assert strategies_of(classified, "NCT00917839") == ["neuroprotection"]  # lamotrigine plus background IFN


def test_observational_study_of_a_therapy_gets_both(classified):
    result = classified["NCT05566756"]  # ofatumumab, "A Non-interventional Study"
    assert result.strategies == ["anti_cd20", "observational"]
    assert any(e.label == "observational" and e.text == "Non-interventional" for e in result.evidence)
    result = classified["NCT04902690"]  # ocrelizumab; only the study type says observational
    assert result.strategies == ["anti_cd20", "observational"]
    assert any(e.label == "observational" and e.field == "study_type" for e in result.evidence)


def test_repurposed_drug_is_labelled_by_its_stated_aim(classified):
    assert strategies_of(classified, "NCT00647348") == ["neuroprotection"]  # simvastatin in SPMS
    assert strategies_of(classified, "NCT00429442") == ["dmt_other"]  # simvastatin add-on in RRMS
    assert strategies_of(classified, "NCT05283551") == ["ebv_targeted"]  # famciclovir aimed at EBV
    assert "ebv_targeted" not in strategies_of(classified, "NCT02583594")  # acyclovir prophylaxis with alemtuzumab


def test_care_studies_are_not_cure_research(classified):
    for study_id, strategy in (
        ("NCT04276324", "rehabilitation"),
        ("NCT01968902", "symptomatic"),
        ("NCT00321568", "diagnostic_monitoring"),
    ):
        result = classified[study_id]
        assert result.strategies == [strategy], study_id
        assert not result.curative_intent


# -- invariants over every real record --------------------------------------------------


def test_every_assignment_on_every_real_record_carries_exact_evidence(studies, classified):
    profile = load_profile()
    order = [s.id for s in profile.strategies]
    for study_id, result in classified.items():
        assert_evidence_is_exact(studies[study_id], result)
        assert result.strategies == sorted(result.strategies, key=order.index)
        # curative intent is what a study tests: a curative comparator does not make it curative research
        assert result.curative_intent == any(profile.strategy(s).curative_intent for s in result.tested_strategies)
        if result.is_ms:  # a record about another disease gets no roles: nothing of it is counted
            assert set(result.roles) == set(result.strategies) and set(result.roles.values()) <= {"tested", "comparator"}
        assert result.method in ("dictionary", "fallback")


def test_about_seven_percent_of_the_registry_search_is_not_ms(classified):
    share = sum(not result.is_ms for result in classified.values()) / len(classified)
    assert 0.05 < share < 0.08


def test_classification_round_trips_through_json(classified):
    for result in list(classified.values())[:200]:
        assert Classification.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_a_classification_as_a_dict_is_what_asdict_gives_in_the_same_order(classified):
    for result in classified.values():
        written = result.to_dict()
        assert json.dumps(written) == json.dumps(dataclasses.asdict(result))
        written["strategies"].append("changed")
        for sponsor in written["sponsors"]:
            sponsor["name"] = "changed"
        assert "changed" not in json.dumps(result.to_dict())  # nothing shared with the classification


# -- arbitrary text ---------------------------------------------------------------------

PROFILE_WORDS = sorted(
    {term.text.replace("*", "") for s in load_profile().strategies for term in s.terms if not term.regex}
)
TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(st.sampled_from(PROFILE_WORDS), st.text(max_size=8)), max_size=8).map(" ".join),
)
STUDIES = st.builds(
    Study,
    id=st.just("NCT00000000"),
    source=st.just("test"),
    brief_title=st.none() | TEXT,
    official_title=st.none() | TEXT,
    acronym=st.none() | TEXT,
    summary=st.none() | TEXT,
    description=st.none() | TEXT,
    study_type=st.sampled_from([None, "INTERVENTIONAL", "OBSERVATIONAL", "EXPANDED_ACCESS"]) | TEXT,
    conditions=st.lists(TEXT, max_size=3),
    keywords=st.lists(TEXT, max_size=3),
    interventions=st.lists(
        st.builds(
            Intervention,
            name=TEXT,
            type=st.none() | TEXT,
            description=st.none() | TEXT,
            other_names=st.lists(TEXT, max_size=2),
        ),
        max_size=3,
    ),
    arms=st.lists(st.builds(Arm, label=TEXT, description=st.none() | TEXT), max_size=2),
    outcomes=st.lists(st.builds(PlannedOutcome, measure=TEXT), max_size=3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(study=STUDIES)
def test_arbitrary_text_in_any_field_never_raises_and_is_deterministic(classifier, study):
    first = classifier.classify(study)
    assert classifier.classify(study) == first
    assert Classifier(load_profile()).classify(study) == first
    assert_evidence_is_exact(study, first)
