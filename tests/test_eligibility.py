"""The eligibility reader on the real ClinicalTrials.gov texts, the profile's eligibility words,
and the criterion-level accuracy against the hand-labelled set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curemap.errors import ProfileError
from curemap.match.criteria import EXCLUSION, INCLUSION, EligibilityReader, registry_age
from curemap.match.evaluate import evaluate_eligibility
from curemap.profile import load_profile, parse_profile
from curemap.sources.ctgov_json import iter_records
from tests.conftest import RAW_V2

LABELS = Path(__file__).parent / "data" / "eligibility"
PROFILE_YAML = Path(__file__).parents[1] / "src" / "curemap" / "profile" / "multiple_sclerosis.yaml"


@pytest.fixture(scope="module")
def reader() -> EligibilityReader:
    return EligibilityReader(load_profile())


@pytest.fixture(scope="module")
def studies() -> dict:
    found = {}
    for path in sorted(RAW_V2.glob("*.json")):
        for record in iter_records(json.loads(path.read_text(encoding="utf-8")), path.name):
            found[record.study.id] = record.study
    return found


def flat(criteria):
    return [item for top in criteria for item in top.flat()]


def by_line(criteria, number):
    return next(c for c in flat(criteria) if c.line == number)


def test_every_line_of_every_real_text_is_kept_with_its_words(reader, studies):
    assert len(studies) >= 30
    for study in studies.values():
        text = study.eligibility.criteria or ""
        criteria = flat(reader.read_text(text))
        lines = text.splitlines()
        for criterion in criteria:
            # each criterion is its source line, less the list marker and markdown escapes
            source = lines[criterion.line - 1].replace("\\", "")
            assert criterion.text in source, (study.id, criterion.line)
        read = [criterion.line for criterion in criteria]
        assert len(read) == len(set(read)), study.id
        for number, line in enumerate(lines, start=1):
            if any(ch.isalnum() for ch in line) and number not in read:
                # only a section heading is not a criterion
                assert "criteria" in line.lower() and line.strip().endswith(":") and len(line) < 40, (study.id, line)


def test_beat_ms_criteria_read_with_bounds_windows_and_sections(reader, studies):
    criteria = reader.read(studies["NCT04047628"].eligibility)
    registry_age_check = criteria[0]
    assert registry_age_check.source == "registry" and registry_age_check.checks[0].values == {"min": 18.0, "max": 55.0}
    edss = by_line(criteria, 5)
    assert edss.text == "EDSS ≤ 6.0 at the time of randomization (Day 0)." and edss.checks[0].to_dict() == {"kind": "edss", "max": 6.0}
    highly_active = by_line(criteria, 7)
    assert [c.kind for c in highly_active.checks] == ["phenotype", "activity"]
    assert highly_active.checks[1].values == {"event": "any", "min_count": 2, "window_months": 36.0}
    assert highly_active.mode == "all" and [p.line for p in highly_active.parts] == [9, 10, 11]
    ppms = by_line(criteria, 37)
    assert ppms.section == EXCLUSION and ppms.checks[0].values["phenotypes"] == ["ppms"]
    either = by_line(criteria, 40)
    assert either.mode == "any" and [p.line for p in either.parts] == [42, 43]
    # a part of a lead that states nothing takes the lead's window: "within one month prior"
    assert by_line(criteria, 42).checks[0].values == {"event": "relapse", "min_count": 1, "window_months": 1.0}
    assert by_line(criteria, 43).checks[0].values["window_months"] == 1.0
    investigational = by_line(criteria, 39).checks[0].values
    assert investigational["treatments"] == [["class", "investigational"]] and investigational["window_months"] == 3.0
    assert by_line(criteria, 66).checks[0].values == {"lab": "egfr", "max": 60.0, "max_strict": True, "unit_matches": True}
    # "the candidate BAT DMT" is a drug the study chooses, not one the person took: left unread
    assert by_line(criteria, 21).checks == []


def test_relapse_window_and_negation_in_the_fatigue_trial(reader, studies):
    criteria = reader.read(studies["NCT06441617"].eligibility)
    no_relapse = by_line(criteria, 11)
    assert no_relapse.section == INCLUSION
    assert [(c.kind, c.negated) for c in no_relapse.checks] == [("activity", True), ("treatment", True)]
    assert no_relapse.checks[1].values["treatments"] == [["class", "steroids"]]
    assert by_line(criteria, 12).checks[0].values["relation"] == "started"
    assert by_line(criteria, 4).checks[0].values == {"country": "United States"}
    assert by_line(criteria, 7).checks == [] and by_line(criteria, 7).kind == "unknown"


def test_paediatric_trial_group_of_activity_alternatives(reader, studies):
    criteria = reader.read(studies["NCT06408259"].eligibility)
    lead = by_line(criteria, 4)
    assert lead.mode == "any" and [p.checks[0].values["event"] for p in lead.parts] == ["relapse", "relapse", "mri"]
    first = by_line(criteria, 3)
    assert {c.kind for c in first.checks} == {"phenotype", "diagnosis"}
    assert next(c for c in first.checks if c.kind == "diagnosis").values == {"mcdonald": True}
    assert by_line(criteria, 16).checks[0].values == {"phenotypes": ["progressive"]}


def test_list_of_cohorts_is_a_group_of_alternatives(reader, studies):
    # "Aged < 18 years … who meet one of the following weight criteria (…)." has no colon but
    # the cohorts indented below it are its alternatives, not criteria of their own
    criteria = reader.read(studies["NCT04431453"].eligibility)
    lead = by_line(criteria, 3)
    assert lead.mode == "any" and [p.line for p in lead.parts] == [5, 6, 7, 8, 9, 10]
    ages = [part.checks[0].values for part in lead.parts]
    assert ages[1]["max"] == 18.0 and ages[1]["min"] == pytest.approx(28 / 365.25, abs=1e-3)  # "Cohorts 2-4:" is not an age
    assert ages[3] == {"max": pytest.approx(14 / 365.25, abs=1e-3), "max_strict": True}  # not the gestational age after the comma
    assert ages[5] == {"max": 12.0, "max_strict": True}  # "weight ≥ 40 kg" is not an age bound
    # a colon-less line listing alternatives inline is no lead: BEAT-MS's heart criteria stay apart
    beat = reader.read(studies["NCT04047628"].eligibility)
    assert by_line(beat, 64).parts == [] and by_line(beat, 65).checks[0].values["lab"] == "lvef"


def test_ages_implied_by_adults_children_and_healthy_volunteers(reader, studies):
    healthy_adults = by_line(reader.read(studies["NCT05594173"].eligibility), 3)
    assert [c.to_dict() for c in healthy_adults.checks] == [{"kind": "age", "max": 60.0, "max_strict": True, "min": 18.0}, {"kind": "health"}]
    healthy_children = by_line(reader.read(studies["NCT00973089"].eligibility), 3)
    assert [c.to_dict() for c in healthy_children.checks] == [{"kind": "age", "max": 18.0, "max_strict": True}, {"kind": "health"}]
    # explicit bounds win, and "adult-onset" names a disease, not the person's age
    assert by_line(reader.read(studies["NCT02210780"].eligibility), 3).checks[0].values == {"min": 18.0, "max": 64.0}
    assert by_line(reader.read(studies["NCT02552212"].eligibility), 4).checks == []


def test_drug_the_profile_does_not_know_and_treatment_needed_later(reader, studies):
    criteria = reader.read(studies["NCT02210780"].eligibility)
    dupilumab = by_line(criteria, 11).checks
    assert [c.to_dict() for c in dupilumab] == [{"kind": "treatment", "treatments": [["drug", None, "name", "dupilumab"]], "relation": "prior"}]
    # "needing prednisone … during the 16 week treatment period": a future need, not a past treatment
    assert by_line(criteria, 12).checks[0].values["relation"] == "planned"
    assert by_line(criteria, 16).checks[0].values == {"treatments": [["class", "biologics"]], "relation": "prior", "window_months": 4.0}


def test_registry_ages_in_every_unit_the_api_uses(studies):
    shapes = {s.id: s.eligibility for s in studies.values()}
    assert registry_age(shapes["NCT01066728"].minimum_age) == pytest.approx(27 * 7 / 30.44 / 12, abs=1e-3)
    assert registry_age(shapes["NCT02210026"].maximum_age) == pytest.approx(72 / 730 / 12, abs=1e-4)
    assert registry_age(shapes["NCT06096870"].maximum_age) == 120.0
    assert registry_age(None) is None and registry_age("N/A") is None


def test_profile_eligibility_words_are_validated():
    profile = load_profile()
    words = profile.eligibility
    assert "rrms" in words.courses and "dmt" in {c.id for c in words.treatment_classes}
    text = PROFILE_YAML.read_text(encoding="utf-8")
    with pytest.raises(ProfileError, match=r"eligibility\.courses.*unknown phenotype 'nosuch'"):
        parse_profile(text.replace("  courses: [ris,", "  courses: [nosuch, ris,", 1))
    with pytest.raises(ProfileError, match=r"eligibility\.treatment_classes\.dmt\.groups.*unknown group"):
        parse_profile(text.replace("      groups: [immune_reset, tolerance_cause, disease_control]", "      groups: [no_group]", 1))


def test_labels_carry_the_real_texts_verbatim(studies):
    for name in ("labels-dev.jsonl", "labels-heldout.jsonl", "labels-fresh.jsonl"):
        for line in (LABELS / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if "eligibility" in row:
                real = studies[row["study"]].eligibility
                assert row["eligibility"]["criteria"] == real.criteria
                assert (row["eligibility"]["minimum_age"], row["eligibility"]["maximum_age"]) == (real.minimum_age, real.maximum_age)


@pytest.mark.parametrize(("name", "floor"), [("labels-dev.jsonl", 0.95), ("labels-heldout.jsonl", 0.93), ("labels-fresh.jsonl", 0.95)])
def test_criterion_level_accuracy_against_the_labels(name, floor):
    report = evaluate_eligibility(LABELS / name, load_profile()).to_dict()
    assert report["criteria"] >= 70 and report["judging"]["total"] >= 200
    assert report["accuracy"] >= floor, report["misses"]


def test_eval_command_prints_eligibility_accuracy(cli):
    result = cli("eval", "--eligibility", LABELS / "labels-dev.jsonl", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["studies"] == 8 and data["accuracy"] >= 0.95
    text = cli("eval", "--eligibility", LABELS / "labels-dev.jsonl")
    assert "criterion-level accuracy" in text.stdout
