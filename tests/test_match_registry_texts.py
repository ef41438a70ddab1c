"""The eligibility reader on lines of real registry texts that once misled it: organs of one sex,
substances measured rather than taken, rules for men only, treatments declined or failed,
conditions that hold together, exemptions and unnamed conditions; then the kinds of criteria
grammar the held-out texts showed once they became development data (negation and modality,
attacks and windows, treatment lists, trial participation, phenotype lines, numbers, whom a rule
is for, conditions not read, labs, infections and consent). Each line is read from the
stored API v2 records, the 2021 HINT texts or the LCT texts, never retyped."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest

from curemap.match.evaluate import evaluate_eligibility
from curemap.match.matcher import Matcher
from curemap.match.person import person_from_dict
from curemap.profile import load_profile
from curemap.sources.ctgov_json import iter_records
from tests.conftest import RAW_V2, SHARED_DATA

AS_OF = dt.date(2025, 6, 1)
WOMAN = {"age": 34, "sex": "female", "phenotype": "RRMS", "edss": 3.0, "years_since_onset": 5, "relapses": ["2025-03-10"],
         "mri_activity": ["2025-02-01"], "contraception": True, "pregnant": False, "breastfeeding": False, "in_other_trial": False,
         "treatments": [{"name": "fingolimod", "start": "2019-01", "stop": "2021-12"}, {"name": "ocrelizumab", "start": "2022-01"}]}
MAN = {"age": 58, "sex": "male", "phenotype": "SPMS", "edss": 6.5, "years_since_onset": 20, "relapses": [], "mri_activity": [],
       "in_other_trial": False, "treatments": [{"name": "Mayzent (siponimod)", "start": "2020-06"}]}


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    """Eligibility texts by NCT id: the stored API v2 records, the HINT CSV and the LCT texts."""
    found = {}
    for path in sorted(RAW_V2.glob("*.json")):
        for record in iter_records(json.loads(path.read_text(encoding="utf-8")), path.name):
            if record.study.eligibility and record.study.eligibility.criteria:
                found[record.study.id] = record.study.eligibility.criteria
    with open(SHARED_DATA / "eligibility" / "hint_ms_trials_criteria.csv", encoding="utf-8", newline="") as handle:
        found.update({row["nctid"]: row["criteria"] for row in csv.DictReader(handle)})
    found.update({path.stem: path.read_text(encoding="utf-8") for path in sorted((SHARED_DATA / "eligibility" / "lct").glob("NCT*.txt"))})
    return found


def criterion(reader, texts, study, line):
    """The criterion the reader made of one line of a real text."""
    return next(item for top in reader.read_text(texts[study]) for item in top.flat() if item.line == line)


def checks(reader, texts, study, line):
    return [check.to_dict() for check in criterion(reader, texts, study, line).checks]


def status(profile, reader, texts, study, line, person):
    return Matcher(profile, person_from_dict(person, profile), AS_OF, reader).judge(criterion(reader, texts, study, line)).status


def test_an_organ_of_one_sex_rules_out_the_other_and_vouches_for_no_one(profile, reader, texts):
    # "History of primary treatment for prostate cancer (either surgery or radiation)."
    assert checks(reader, texts, "NCT06096870", 3) == [{"kind": "sex", "sex": "male", "organ": True}]
    assert status(profile, reader, texts, "NCT06096870", 3, WOMAN) == "not_met"
    assert status(profile, reader, texts, "NCT06096870", 3, MAN) == "unknown"  # not "met": whether he has it is not known
    # "… histologic or cytological confirmation of prostate cancer": an "or" between adjectives
    assert status(profile, reader, texts, "NCT06096870", 2, WOMAN) == "not_met"
    # "Patients must have histologically confirmed stage I to III endometrial carcinoma …"
    assert status(profile, reader, texts, "NCT06388018", 4, MAN) == "not_met"
    assert status(profile, reader, texts, "NCT06388018", 4, WOMAN) == "unknown"
    # an exclusion: "SUB-STUDY B: p53wt/NSMP endometrial carcinoma with a MELF … pattern" does not apply to a man
    assert status(profile, reader, texts, "NCT06388018", 53, MAN) == "met"
    # "Healthy or with a clear diagnosis of endometriosis …": the organ is one alternative
    assert checks(reader, texts, "NCT07000786", 5) == [{"kind": "health"}]


def test_both_sexes_named_in_the_plural_is_no_sex(profile, reader, texts):
    # "1. Males unable to fulfill the above criteria and all female patients." (an exclusion)
    assert checks(reader, texts, "NCT00405353", 29) == []
    assert status(profile, reader, texts, "NCT00405353", 29, WOMAN) == "unknown"


def test_a_substance_measured_or_acted_on_is_not_a_treatment_taken(profile, reader, texts):
    assert checks(reader, texts, "NCT06096870", 5) == [{"kind": "lab", "test": "Testosterone"}]  # "Testosterone \>100 ng/dL."
    # "… generalized skin disease that may effect absorption of testosterone (e.g. psoriasis) …"
    assert checks(reader, texts, "NCT00405353", 59) == []
    assert status(profile, reader, texts, "NCT00405353", 59, MAN) == "unknown"


def test_contraception_asked_of_men_only_is_met_by_a_woman(profile, reader, texts):
    # "Men must agree to use an effective method of contraception (barrier or surgical sterilization) …"
    assert checks(reader, texts, "NCT06096870", 9) == [{"kind": "contraception", "men_only": True}]
    assert status(profile, reader, texts, "NCT06096870", 9, {**WOMAN, "contraception": None}) == "met"
    assert status(profile, reader, texts, "NCT06096870", 9, MAN) == "unknown"


def test_good_health_and_complying_including_abstaining(reader, texts):
    assert checks(reader, texts, "NCT04207047", 4) == [{"kind": "health"}]  # "2. Subject in good health."
    # "6. Willingness and ability to comply with protocol requirements, including … abstaining from exclusionary procedures …"
    assert checks(reader, texts, "NCT04207047", 8) == [{"kind": "consent"}]
    # "Inability to abstain from tobacco or marijuana smoking …" stays substance use
    assert [c["kind"] for c in checks(reader, texts, "NCT00682929", 20)] != ["consent"]


def test_a_treatment_declined_or_failed_is_never_met_for_having_taken_or_not_taken_it(profile, reader, texts):
    # "2. Relapsing remitting patients who have declined or not tolerated treatment with beta interferon … or glatiramer acetate"
    treatment = next(c for c in checks(reader, texts, "NCT00405353", 7) if c["kind"] == "treatment")
    assert treatment["outcome"] == "declined" and "negated" not in treatment
    assert status(profile, reader, texts, "NCT00405353", 7, WOMAN) == "unknown"
    on_interferon = {**WOMAN, "treatments": [{"name": "interferon beta-1a", "start": "2020-01"}]}
    assert status(profile, reader, texts, "NCT00405353", 7, on_interferon) == "unknown"
    # "Previously tried and failed anti-spasticity therapy.": never taken, so it cannot have failed
    assert status(profile, reader, texts, "NCT01964547", 18, WOMAN) == "not_met"


def test_an_exclusions_conditions_in_patients_with_another_hold_together(profile, reader, texts):
    # "Disease duration of more than 10 years in patients with an EDSS score of 2 or less"
    assert status(profile, reader, texts, "NCT02792218", 19, MAN) == "met"  # 20 years, but EDSS 6.5
    assert status(profile, reader, texts, "NCT02792218", 19, {**MAN, "edss": 1.5}) == "not_met"
    assert status(profile, reader, texts, "NCT02792218", 19, {**WOMAN, "edss": 1.5}) == "met"  # EDSS 1.5, but 5 years


def test_a_rule_with_its_exemptions_is_met_when_the_rule_is(profile, reader, texts):
    # "7. Subjects of childbearing potential must have a negative urine pregnancy test … and be willing … to use an
    # acceptable method of birth control … Women will not be considered of childbearing potential if one of the
    # following conditions is documented …:" then postmenopausal, without a uterus, tubal ligation
    rule = criterion(reader, texts, "NCT04207047", 9)
    assert rule.mode == "unless" and len(rule.parts) == 3
    assert status(profile, reader, texts, "NCT04207047", 9, WOMAN) == "met"
    assert status(profile, reader, texts, "NCT04207047", 9, MAN) == "met"
    assert status(profile, reader, texts, "NCT04207047", 9, {**WOMAN, "contraception": False}) != "met"


def test_an_exclusion_naming_unspecified_conditions_is_not_passed_on_its_other_checks(profile, reader, texts):
    # "Subjects with significant medical conditions or therapies for such conditions (e.g., …) or lactating
    # or pregnant women are not eligible to enter the study."
    assert status(profile, reader, texts, "NCT02425644", 17, WOMAN) == "unknown"
    assert status(profile, reader, texts, "NCT02425644", 17, {**WOMAN, "pregnant": True}) == "not_met"
    # "* Any medical condition that requires chronic systemic steroid therapy, or any other form of
    # immunosuppressive medication …": the condition is the treatment's, which is read
    untreated = {**WOMAN, "treatments": []}
    assert status(profile, reader, texts, "NCT06096870", 33, untreated) == "met"
    assert status(profile, reader, texts, "NCT06096870", 33, WOMAN) == "not_met"


def test_an_indication_for_a_treatment_is_planned_and_other_words_of_the_texts(reader, texts):
    # "-  indication for treatment with Gilenya according label"
    assert [c.get("relation") for c in checks(reader, texts, "NCT02048072", 4)] == ["planned"]
    # "… patients who are already participating in any other research involving smoking cessation …"
    assert "trial_participation" in [c["kind"] for c in checks(reader, texts, "NCT02138032", 8)]
    # "* In spontaneous menstrual cycle (no hormonal treatments for the last 3 months)"
    found = checks(reader, texts, "NCT07000786", 4)
    assert [c["kind"] for c in found] == ["sex", "treatment"] and found[1]["treatments"] == [["class", "other_medicines"]]


def test_a_test_the_profile_does_not_name_is_read_by_its_bound_and_unit(profile, reader, texts):
    # "  * Serum albumin \>= 2.8 g/dL" and "  * Absolute neutrophil count (ANC) \>=1,500/microliter, without …"
    assert checks(reader, texts, "NCT06096870", 17) == [{"kind": "lab", "test": "Serum albumin"}]
    # (the profile names the neutrophil count since the HINT held-out texts asked for it too)
    assert checks(reader, texts, "NCT06096870", 12) == [{"kind": "lab", "lab": "neutrophils", "min": 1500.0, "unit_matches": True}]
    judged = Matcher(profile, person_from_dict(WOMAN, profile), AS_OF, reader).judge(criterion(reader, texts, "NCT06096870", 17))
    assert judged.status == "unknown" and "Serum albumin" in judged.reason
    # "19. Patients who have positive titers to HIV1,2; HTLV1; or VDRL."
    assert checks(reader, texts, "NCT00405353", 80)[0]["infections"] == ["hiv", "htlv", "syphilis"]


LABELS = Path(__file__).parent / "data" / "eligibility"


@pytest.mark.parametrize("name", ["labels-registry-dev.jsonl", "labels-registry-heldout.jsonl"])
def test_registry_labels_carry_the_stored_records_verbatim(name):
    records = {}
    for path in sorted(RAW_V2.glob("*.json")):
        for record in iter_records(json.loads(path.read_text(encoding="utf-8")), path.name):
            records[record.study.id] = record.study.eligibility
    spec = importlib.util.spec_from_file_location("check_label_lines", LABELS / "check_label_lines.py")
    lines = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lines)
    assert lines.main([str(LABELS / name)]) == 0  # every row's line and first words are its text's
    studies = [json.loads(row) for row in (LABELS / name).read_text(encoding="utf-8").splitlines() if '"eligibility"' in row]
    assert len(studies) >= 8
    for row in studies:
        real = records[row["study"]]
        given = row["eligibility"]
        assert (given["criteria"], given["minimum_age"], given["maximum_age"]) == (real.criteria, real.minimum_age, real.maximum_age)
        assert given["sex"] == real.sex


@pytest.mark.parametrize(
    ("name", "floor", "most_wrongly_met"),
    # the two held-out files became development data once their held-out runs were recorded
    [("labels-registry-dev.jsonl", 0.97, 2), ("labels-hint-dev.jsonl", 0.95, 2), ("labels-registry-heldout.jsonl", 0.95, 0), ("labels-hint-heldout.jsonl", 0.95, 0)],
)
def test_development_labels_are_read_well_and_never_wrongly_met(name, floor, most_wrongly_met):
    report = evaluate_eligibility(LABELS / name, load_profile()).to_dict()
    assert report["accuracy"] >= floor, report["misses"]
    wrongly_met = [m for m in report["misses"] if m["what"] != "reading" and m["got"].startswith("met")]
    assert report["wrongly_met"] == len(wrongly_met) <= most_wrongly_met, wrongly_met


# -- lines of the HINT held-out texts, read once they became development data -------------------


def test_with_or_without_names_both_and_a_relapsing_clinical_course_is_relapsing(profile, reader, texts):
    # "Exhibiting a relapsing clinical course, with or without progression (relapsing remitting, secondary
    # progressive or progressive relapsing);": "without" is no negation, and SPMS counts only with activity
    assert "negated" not in checks(reader, texts, "NCT00134563", 6)[0]
    assert status(profile, reader, texts, "NCT00134563", 6, WOMAN) == "met"
    assert status(profile, reader, texts, "NCT00134563", 6, MAN) == "not_met"


def test_an_attack_named_by_its_syndrome_is_an_event_not_a_course(profile, reader, texts):
    # "Optic neuritis earlier in the same eye" (an exclusion): not a clinically isolated syndrome the person lacks
    assert checks(reader, texts, "NCT00261326", 19) == []
    assert status(profile, reader, texts, "NCT00261326", 19, WOMAN) == "unknown"
    # "Acute Optic Neuritis": an attack going on now
    assert checks(reader, texts, "NCT00261326", 4) == [{"kind": "activity", "event": "relapse", "min_count": 1, "window_months": 1.0}]
    assert status(profile, reader, texts, "NCT00261326", 4, WOMAN) == "not_met"
    assert status(profile, reader, texts, "NCT00261326", 4, {**WOMAN, "relapses": ["2025-05-20"]}) == "met"


def test_a_window_between_two_times_before_leaves_out_the_recent_months(profile, reader, texts):
    # "One documented relapse between 12 and 24 months prior to screening with at least one documented
    # T1-Gd enhancing lesion in an MRI performed within 12 months prior to screening."
    relapse = next(c for c in checks(reader, texts, "NCT00509145", 20) if c["event"] == "relapse")
    assert (relapse["window_months"], relapse["from_months"]) == (24.0, 12.0)
    assert status(profile, reader, texts, "NCT00509145", 20, WOMAN) == "not_met"  # her relapse was 3 months ago
    assert status(profile, reader, texts, "NCT00509145", 20, {**WOMAN, "relapses": ["2024-02-10"]}) == "met"


def test_taking_part_in_studies_of_a_kind_of_treatment_is_trial_participation(profile, reader, texts):
    # "Participation within 6 months prior to study enrollment in any other drug, biologic, or device study."
    assert checks(reader, texts, "NCT01156311", 26) == [{"kind": "trial_participation"}]
    assert status(profile, reader, texts, "NCT01156311", 26, WOMAN) == "met"  # ocrelizumab is a biologic, not a study
    # "Participants may not participate in any other clinical trial involving investigational agents during the
    # study, or within six months prior …": "may not" restates the exclusion
    assert checks(reader, texts, "NCT00836719", 54) == [{"kind": "trial_participation"}]
    assert status(profile, reader, texts, "NCT00836719", 54, WOMAN) == "met"
    assert status(profile, reader, texts, "NCT00836719", 54, {**WOMAN, "in_other_trial": True}) == "not_met"


def test_activity_while_on_a_treatment_asks_for_that_treatment_now(profile, reader, texts):
    # "Subjects must have at least one MS relapse within last year and/or at least one new T2 or
    # Gadolinium-enhanced lesion on MRI while on stable interferon therapy."
    treatment = next(c for c in checks(reader, texts, "NCT01049451", 17) if c["kind"] == "treatment")
    assert treatment["relation"] == "current" and treatment["treatments"] == [["class", "interferons"]]
    assert status(profile, reader, texts, "NCT01049451", 17, WOMAN) == "not_met"
    on_interferon = {**WOMAN, "treatments": [{"name": "Rebif", "start": "2021-01"}]}
    assert status(profile, reader, texts, "NCT01049451", 17, on_interferon) == "met"


def test_a_treatment_now_or_within_a_window_is_one_taken_in_the_window(profile, reader, texts):
    # "Subject is on Tysabri treatment presently or within 6 months of screening."
    treatment = checks(reader, texts, "NCT01049451", 44)[0]
    assert (treatment["relation"], treatment["window_months"]) == ("prior", 6.0)
    stopped = {**WOMAN, "treatments": [{"name": "Tysabri (natalizumab)", "start": "2020-01", "stop": "2025-03"}]}
    assert status(profile, reader, texts, "NCT01049451", 44, stopped) == "not_met"
    assert status(profile, reader, texts, "NCT01049451", 44, WOMAN) == "met"


def test_the_last_event_or_dose_at_least_some_time_before_is_none_since(profile, reader, texts):
    # "Last relapse of the patient should be at least 2 months before study entry."
    assert checks(reader, texts, "NCT02373098", 8) == [
        {"kind": "activity", "event": "relapse", "min_count": 1, "window_months": 2.0, "negated": True}
    ]
    assert status(profile, reader, texts, "NCT02373098", 8, WOMAN) == "met"  # 10 March, nearly 3 months before
    assert status(profile, reader, texts, "NCT02373098", 8, {**WOMAN, "relapses": ["2025-05-05"]}) == "not_met"
    # "Last interferon or glatiramer acetate dose of the patient should be at least 1 month before study entry."
    assert status(profile, reader, texts, "NCT02373098", 10, WOMAN) == "met"
    on_glatiramer = {**WOMAN, "treatments": [{"name": "glatiramer acetate", "start": "2020-01"}]}
    assert status(profile, reader, texts, "NCT02373098", 10, on_glatiramer) == "not_met"


def test_one_treatment_and_another_asks_for_both_and_a_time_is_no_count(profile, reader, texts):
    # "Inflammatory disease despite primary disease modifying therapy with at least 6 months of interferon and
    # another disease modifying therapy, including fingolimod, … Failure is defined as two or more clinical relapses …"
    found = checks(reader, texts, "NCT01679041", 19)
    assert next(c for c in found if c["kind"] == "activity")["min_count"] == 2  # not the "6" of "at least 6 months"
    assert [c["treatments"] for c in found if c["kind"] == "treatment"][0] == [["class", "interferons"]]
    assert status(profile, reader, texts, "NCT01679041", 19, WOMAN) == "not_met"  # two relapses, but never interferon


def test_numbers_as_registries_write_them(profile, reader, texts):
    # "Ages 18−60." with a minus sign
    assert checks(reader, texts, "NCT00836719", 13) == [{"kind": "age", "min": 18.0, "max": 60.0}]
    assert status(profile, reader, texts, "NCT00836719", 13, WOMAN) == "met"
    # "Platelets ≥100,000/µL": a thousands separator
    assert checks(reader, texts, "NCT00836719", 19)[0]["min"] == 100000.0
    # "EDSS (Expanded Disability Status Scale) score of 3.0 - 6.5": the bound after the spelt-out name
    assert checks(reader, texts, "NCT01049451", 20) == [{"kind": "edss", "min": 3.0, "max": 6.5}]
    assert status(profile, reader, texts, "NCT01049451", 20, MAN) == "met"
    # "Expanded Disability Status Scale score 0-5,5" and "… score more then 5,5": a decimal comma, a slip of "than"
    assert checks(reader, texts, "NCT02727907", 10) == [{"kind": "edss", "min": 0.0, "max": 5.5}]
    assert checks(reader, texts, "NCT02727907", 16) == [{"kind": "edss", "min": 5.5, "min_strict": True}]
    assert status(profile, reader, texts, "NCT02727907", 16, MAN) == "not_met"  # EDSS 6.5, an exclusion


def test_a_rule_for_an_age_group_binds_that_group_only(profile, reader, texts):
    # "For adolescents under 18 years of age, able to provide informed assent … supported by parental consent"
    assert status(profile, reader, texts, "NCT03630471", 9, WOMAN) == "met"
    assert status(profile, reader, texts, "NCT03630471", 9, {**WOMAN, "age": 14}) == "unknown"
    # "For adolescents over 18 years of age, able to provide informed consent to participate"
    assert status(profile, reader, texts, "NCT03630471", 10, {**WOMAN, "age": 14}) == "met"
    # "Able to provide informed consent …, and if adolescent age 18+ years, parental involvement …": no age limit
    assert checks(reader, texts, "NCT03630471", 15) == [{"kind": "consent"}]


def test_an_exclusion_of_an_age_group_unless_exempted(profile, reader, texts):
    # "Participants younger than 18 years of age, unless their parent or legal guardian provides the required
    # signed and dated informed consent … and the participant provides assent …" (an exclusion)
    assert [c["kind"] for c in checks(reader, texts, "NCT03926637", 8)] == ["age", "consent"]
    assert status(profile, reader, texts, "NCT03926637", 8, WOMAN) == "met"
    assert status(profile, reader, texts, "NCT03926637", 8, {**WOMAN, "age": 14}) == "unknown"


def test_where_a_fact_is_taken_from_is_not_the_fact(profile, reader, texts):
    # "As per medical record, early stage prostate cancer (Pathologic Stage 1/2 …)"
    assert checks(reader, texts, "NCT02706561", 3) == [{"kind": "sex", "sex": "male", "organ": True}]
    assert status(profile, reader, texts, "NCT02706561", 3, WOMAN) == "not_met"


def test_infants_are_under_a_year_and_gestational_age_is_no_age(profile, reader, texts):
    # "infant born less than 32 weeks gestation"
    assert checks(reader, texts, "NCT02210026", 3) == [{"kind": "age", "max": 1.0, "max_strict": True}]
    assert status(profile, reader, texts, "NCT02210026", 3, {**WOMAN, "age": 14}) == "not_met"
    # "Infants between 27 and 32 weeks gestational age hospitalized in the neonatal intensive …"
    assert checks(reader, texts, "NCT01066728", 3) == [{"kind": "age", "max": 1.0, "max_strict": True}]


def test_treatments_named_by_misspelling_procedure_or_what_they_act_on(profile, reader, texts):
    # "Immune-supressor treatment the last 6 months before the inclusion": on ocrelizumab, an immunosuppressant
    assert status(profile, reader, texts, "NCT00261326", 31, WOMAN) == "not_met"
    assert status(profile, reader, texts, "NCT00261326", 31, {**WOMAN, "treatments": []}) == "met"
    # "Previous stem cell treatment, autologous bone marrow transplantation or allogenic bone marrow transplantation."
    assert status(profile, reader, texts, "NCT00509145", 66, WOMAN) == "met"
    had_ahsct = {**WOMAN, "treatments": [{"name": "autologous haematopoietic stem cell transplantation", "start": "2019-02"}]}
    assert status(profile, reader, texts, "NCT00509145", 66, had_ahsct) == "not_met"
    # "… for which the subject has been receiving a regimen of IGIV infusions every 21 to 28 days …" (an inclusion)
    assert status(profile, reader, texts, "NCT00157079", 4, WOMAN) == "not_met"
    # "Introduction of a treatment acting on spasticity or fatigue within 30 day before enrollment"
    assert checks(reader, texts, "NCT03928990", 10)[0]["relation"] == "started"
    assert status(profile, reader, texts, "NCT03928990", 10, WOMAN) == "met"
    on_baclofen = {**WOMAN, "treatments": [{"name": "baclofen", "start": "2025-05-20"}]}
    assert status(profile, reader, texts, "NCT03928990", 10, on_baclofen) == "not_met"
    # "Changes brought to the multiple sclerosis treatment within 6 months before enrollment": the person's own
    assert status(profile, reader, texts, "NCT03928990", 8, WOMAN) == "met"
    assert status(profile, reader, texts, "NCT03928990", 8, {**WOMAN, "treatments": [{"name": "ocrelizumab", "start": "2025-02"}]}) == "not_met"


def test_neurological_deterioration_is_an_attack_and_symptom_duration_a_duration(profile, reader, texts):
    # "Deterioration of neurological symptomatology within 60 day before enrollment ;" (an exclusion)
    assert status(profile, reader, texts, "NCT03928990", 7, WOMAN) == "met"  # her relapse was in March
    assert status(profile, reader, texts, "NCT03928990", 7, {**WOMAN, "relapses": ["2025-05-10"]}) == "not_met"
    # "Symptom duration maximum 4 weeks" (an inclusion): five years of MS is longer
    assert status(profile, reader, texts, "NCT00261326", 8, WOMAN) == "not_met"


def test_an_exclusion_joined_to_a_condition_not_read_is_never_passed_on_the_other(profile, reader, texts):
    # "Subjects with moderate levels of anti-IgA antibodies (>150), or subjects with lower anti-IgA antibodies who
    # are naive to IGIV treatment. …": naive to IGIV, but the antibody levels are not in the profile
    assert checks(reader, texts, "NCT00157079", 18)[0]["negated"] is True
    assert status(profile, reader, texts, "NCT00157079", 18, WOMAN) == "unknown"


def test_a_partner_named_as_a_method_does_not_bind_men(profile, reader, texts):
    # "Women of child-bearing potential must practice an acceptable method of birth control [… partner's vasectomy …"
    assert checks(reader, texts, "NCT00509145", 29) == [{"kind": "contraception", "women_only": True}]
    assert status(profile, reader, texts, "NCT00509145", 29, MAN) == "met"


def test_a_course_after_including_widens_the_diagnosis(profile, reader, texts):
    # "Diagnosis of MS, including Clinically Isolated Syndrome"
    assert checks(reader, texts, "NCT03926637", 3) == [{"kind": "diagnosis"}]
    assert status(profile, reader, texts, "NCT03926637", 3, WOMAN) == "met"
    assert status(profile, reader, texts, "NCT03926637", 3, MAN) == "met"


def test_courses_sharing_a_word_said_once(profile, reader, texts):
    # "Primary or secondary progression of Multiple Sclerosis" (an exclusion)
    assert checks(reader, texts, "NCT02727907", 14)[0]["phenotypes"] == ["ppms", "spms"]
    assert status(profile, reader, texts, "NCT02727907", 14, WOMAN) == "met"
    assert status(profile, reader, texts, "NCT02727907", 14, MAN) == "not_met"


def test_walking_words_imply_an_edss_bound(profile, reader, texts):
    # "Have a walking impairment as determined by the Investigator.": 4 or more, unsure from 2.5
    assert status(profile, reader, texts, "NCT01480076", 13, MAN) == "met"  # EDSS 6.5
    assert status(profile, reader, texts, "NCT01480076", 13, WOMAN) == "unknown"  # EDSS 3
    assert status(profile, reader, texts, "NCT01480076", 13, {**WOMAN, "edss": 1.5}) == "not_met"
    # "Able to perform the Timed 25-foot Walk Test with or without a walking aid." and
    # "Patient able to move with or without mechanical assistance.": 6.5 or less
    assert checks(reader, texts, "NCT01480076", 15)[0]["max"] == 6.5
    assert status(profile, reader, texts, "NCT03928990", 5, MAN) == "met"
    assert status(profile, reader, texts, "NCT03928990", 5, {**MAN, "edss": 8.0}) == "not_met"


def test_an_exclusion_naming_a_drug_excludes_drugs_that_act_alike(profile, reader, texts):
    # "Subject is on Novantrone, Cellcept, Rituxan or other chemotherapeutic treatment presently or within 6 months
    # of screening.": ocrelizumab depletes B cells as rituximab does
    assert status(profile, reader, texts, "NCT01049451", 46, WOMAN) == "not_met"
    assert status(profile, reader, texts, "NCT01049451", 46, MAN) == "met"


def test_a_non_responder_was_treated_and_how_it_went_is_not_in_the_profile(profile, reader, texts):
    # "Nonresponder RRMS patients": never treated is no non-responder; treated may be one
    assert status(profile, reader, texts, "NCT02373098", 6, {**WOMAN, "treatments": []}) == "not_met"
    assert status(profile, reader, texts, "NCT02373098", 6, WOMAN) == "unknown"


def test_a_relapse_a_treatment_is_for_is_no_event_asked_about(profile, reader, texts):
    # "… or other immunomodulatory or immunosuppressant therapies except for Copaxone or methylprednisone for
    # relapses within prior nine months."
    assert "activity" not in [c["kind"] for c in checks(reader, texts, "NCT00836719", 43)]
    assert status(profile, reader, texts, "NCT00836719", 43, {**WOMAN, "age": 14, "treatments": []}) == "met"


def test_tests_by_their_words_units_and_remarks(profile, reader, texts):
    # "Leukocytes ≥3,000/µL", "Absolute neutrophil count ≥1,500/µL"
    assert checks(reader, texts, "NCT00836719", 15) == [{"kind": "lab", "lab": "leukocytes", "min": 3000.0, "unit_matches": True}]
    assert checks(reader, texts, "NCT00836719", 17)[0]["lab"] == "neutrophils"
    # "Total bilirubin ≤local upper limit of normal": 1 ULN
    assert checks(reader, texts, "NCT00836719", 21) == [{"kind": "lab", "lab": "bilirubin", "max": 1.0, "unit_matches": True}]
    # "normal AST (SGOT) ALT (SGPT)": asked for in words, never passed for lack of a limit
    assert [c["lab"] for c in checks(reader, texts, "NCT00836719", 23)] == ["ast", "alt"]
    person = {**WOMAN, "labs": {"ast": 1.0, "alt": 1.0}}
    assert status(profile, reader, texts, "NCT00836719", 23, person) == "unknown"
    # "A QTC interval (obtained from either 2 ECG recordings … at baseline visit) which is >450msec.": past the remark
    assert checks(reader, texts, "NCT00509145", 108) == [{"kind": "lab", "lab": "qtc", "min": 450.0, "min_strict": True, "unit_matches": True}]


def test_an_infection_a_treatment_prevents_and_consent_as_a_time(profile, reader, texts):
    # "Already received or likely to receive prior to first infusion of Study Drug:" then
    # "* IGIV or *immune globulin for prevention of Hepatitis B": a treatment, maybe to come; no infection
    assert [c["kind"] for c in checks(reader, texts, "NCT00113191", 12)] == ["treatment"]
    assert status(profile, reader, texts, "NCT00113191", 12, WOMAN) == "unknown"
    # "Had major congenital anomalies, sepsis, or other known causes of apnea"
    assert checks(reader, texts, "NCT01066728", 10)[0]["infections"] == ["active_infection"]
    # "Intoxicated at the point of consent or assessment": a time, not a consent rule
    assert checks(reader, texts, "NCT03630471", 32) == []
    # "Can read and write", "Must speak English": what consent needs
    assert checks(reader, texts, "NCT03927092", 5) == [{"kind": "consent"}]
    assert checks(reader, texts, "NCT03935529", 3) == [{"kind": "consent"}]


def test_an_inclusion_that_also_asks_what_no_check_reads_is_never_met_on_the_rest(profile, reader, texts):
    # "Male or female adults ages 18 to 64 years with Chronic AD (according to … Consensus Criteria …)"
    assert checks(reader, texts, "NCT02210780", 3) == [{"kind": "age", "min": 18.0, "max": 64.0}]
    assert status(profile, reader, texts, "NCT02210780", 3, WOMAN) == "unknown"
    assert status(profile, reader, texts, "NCT02210780", 3, {**WOMAN, "age": 14}) == "not_met"
    # "a) Cohort 1: ≥ 12 years to < 18 years of age and weight at screening ≥ 40 kg"
    assert status(profile, reader, texts, "NCT04431453", 5, {**WOMAN, "age": 14}) == "unknown"
    # "Male and female subjects aged 18 to 55 years with established diagnosis of MS McDonald 2010" stays met:
    # what it asks for is read
    assert status(profile, reader, texts, "NCT02425644", 4, WOMAN) == "met"
