"""The eligibility reader on the way the 2021 registry texts (HINT and LCT) write criteria."""

from __future__ import annotations

import datetime as dt

from curemap.match.criteria import EXCLUSION, INCLUSION
from curemap.match.matcher import Matcher
from curemap.match.person import person_from_dict

AS_OF = dt.date(2025, 6, 1)
WOMAN = {"age": 34, "sex": "female", "phenotype": "RRMS", "edss": 3.0, "relapses": ["2025-03-10", "2024-09-15"],
         "mri_activity": ["2025-02-01"], "contraception": True, "pregnant": False, "breastfeeding": False, "in_other_trial": False,
         "treatments": [{"name": "fingolimod", "start": "2019-01", "stop": "2021-12"}, {"name": "ocrelizumab", "start": "2022-01"}]}
MAN = {"age": 58, "sex": "male", "phenotype": "SPMS", "edss": 6.5, "relapses": [], "mri_activity": [], "in_other_trial": False,
       "treatments": [{"name": "Mayzent (siponimod)", "start": "2020-06"}]}


def kinds(reader, text, section=INCLUSION):
    return [check.to_dict() for check in reader.checks(text, section)]


def status(profile, reader, person, text, section=INCLUSION):
    criterion = reader.read_text(f"{'Exclusion' if section == EXCLUSION else 'Inclusion'} Criteria:\n{text}")[0]
    return Matcher(profile, person_from_dict(person, profile), AS_OF, reader).judge(criterion).status


def test_headings_with_a_remark_and_lists_flattened_to_their_leads_level(reader):
    text = (
        "        Exclusion Criteria (if ANY apply):\n\n"
        "          -  Prior treatment with any of the following:\n\n"
        "          -  cladribine\n\n"
        "          -  total lymphoid irradiation\n\n"
        "          -  Drug or alcohol abuse within 1 year prior to Screening.\n"
    )
    lead, other = reader.read_text(text)
    assert lead.section == other.section == EXCLUSION
    assert [part.text for part in lead.parts] == ["cladribine", "total lymphoid irradiation"]
    assert other.text.startswith("Drug or alcohol")


def test_unmarked_items_hard_wrapped_in_lower_case_are_joined(reader):
    text = "Inclusion Criteria:\n\n        Aged 18 to 55 years with MS\n        with relapsing course from onset.\n\n        EDSS up to 5.5\n"
    first, second = reader.read_text(text)
    assert first.text.endswith("relapsing course from onset.") and second.line == 6


def test_treatment_classes_by_what_they_do(profile, reader):
    line = "Subjects who received any immunosuppressives within 6 months prior to screening"
    assert status(profile, reader, WOMAN, line, EXCLUSION) == "not_met"  # ocrelizumab is one (ATC L04)
    assert status(profile, reader, MAN, line, EXCLUSION) == "not_met"  # and siponimod
    assert status(profile, reader, MAN, "Use of NSAIDs 5 or more days a week.", EXCLUSION) == "unknown"  # not recorded
    assert status(profile, reader, MAN, "Previous use of Copaxone.", EXCLUSION) == "met"  # another brand, another drug
    excepted = kinds(reader, "any therapeutic monoclonal antibody, with the exception of natalizumab or daclizumab", EXCLUSION)
    assert excepted[0]["treatments"] == [["class", "biologics"]]


def test_stable_dose_and_intended_treatment(profile, reader):
    stable = kinds(reader, "If the patient is taking disease modifying medication this must be at a stable dose for three months prior to the visit.")
    assert stable[0]["relation"] == "started" and stable[0]["negated"] and stable[0]["window_months"] == 3
    assert kinds(reader, "treatment with Gilenya intended")[0]["relation"] == "planned"


def test_relapse_counts_over_several_windows_are_alternatives(profile, reader):
    line = "At least 1 relapse during the previous 1 year or 2 relapses during the previous 2 years or a positive gadolinium-enhancing MRI scan in previous year"
    checks = kinds(reader, line)
    assert [(c["event"], c["min_count"], c["window_months"]) for c in checks] == [("relapse", 1, 12), ("relapse", 2, 24), ("mri", 1, 12)]
    assert status(profile, reader, WOMAN, line) == "met" and status(profile, reader, MAN, line) == "not_met"
    both = "Two documented relapses in the previous 3 years, and one clinical relapse during the preceding year;"
    assert [c["min_count"] for c in kinds(reader, both)] == [2, 1] and not any("any_of" in c for c in kinds(reader, both))
    assert status(profile, reader, WOMAN, "Not in an intercurrent relapse.") == "met"


def test_sex_in_exclusions_says_whom_they_are_for(profile, reader):
    assert status(profile, reader, WOMAN, "Males who have taken DHEA during the 3 months prior to study.", EXCLUSION) == "met"
    assert status(profile, reader, MAN, "Males who have taken DHEA during the 3 months prior to study.", EXCLUSION) == "unknown"
    assert kinds(reader, "Patients with testicular mass on exam.", EXCLUSION) == [{"kind": "sex", "sex": "male"}]
    assert kinds(reader, "Women of child-bearing potential must practice a reliable method of birth control.") == [
        {"kind": "contraception", "women_only": True}
    ]


def test_contraception_in_an_exclusion_is_not_using_it(profile, reader):
    line = "Sexually active women unwilling to use reliable contraception (oral contraceptives, condom, IUD)."
    assert status(profile, reader, WOMAN, line, EXCLUSION) == "met" and status(profile, reader, MAN, line, EXCLUSION) == "met"


def test_courses_diagnosis_and_participation(reader):
    assert kinds(reader, "Has a confirmed diagnosis of RRMS") == [{"kind": "phenotype", "phenotypes": ["rrms"]}]
    assert kinds(reader, "Diagnosis of primary progressive, secondary progressive, or progressive relapsing MS", EXCLUSION)[0]["phenotypes"] == [
        "ppms", "progressive", "spms"
    ]
    assert kinds(reader, "Diagnosed with symptomatic spasticity due to multiple sclerosis.") == []
    assert kinds(reader, "Previously randomised to this study.", EXCLUSION) == [{"kind": "trial_participation"}]
    assert kinds(reader, "Other major disease that would preclude participation in a clinical trial", EXCLUSION) == []


def test_labs_each_with_its_own_bound(reader):
    checks = kinds(reader, "Baseline serum creatinine must be <1.5 mg/dL, left ventricular ejection fraction >55%, and AST and ALT not > 2x upper limits of normal")
    bounds = {c["lab"]: (c.get("min"), c.get("max")) for c in checks}
    assert bounds == {"creatinine": (None, 1.5), "lvef": (55, None), "ast": (None, 2), "alt": (None, 2)}
