"""ClinicalTrials.gov API v2 JSON on the real raw records: every part of a study, posted results
as rows, and bad records reported by name instead of stopping an import."""

from __future__ import annotations

import json

import pytest

from curemap.model import STUDY_FIELDS, PartialDate
from curemap.sources import ctgov_json
from curemap.sources.files import iter_file_records
from tests.conftest import RAW_V2

STUDY_FILES = sorted(RAW_V2.glob("NCT*.json"))
PAGE_FILES = sorted(RAW_V2.glob("page_*.json"))
PORTLAND_PAGE = RAW_V2 / "page_search_ms_recruiting_portland.json"


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def study(name: str):
    [record] = ctgov_json.iter_records(load(RAW_V2 / f"{name}.json"), name)
    assert record.error is None
    return record.study


def test_real_fixture_set_is_complete():
    assert len(STUDY_FILES) == 13
    assert len(PAGE_FILES) == 4


@pytest.mark.parametrize("path", STUDY_FILES, ids=lambda p: p.stem)
def test_every_raw_study_parses(path):
    obj = load(path)
    assert ctgov_json.looks_like(obj)
    [record] = ctgov_json.iter_records(obj, str(path))
    assert record.error is None
    assert record.source == "ctgov"
    assert record.source_id == record.study.id == path.stem
    assert json.loads(record.raw) == obj
    assert record.study.has_results == obj["hasResults"]
    assert record.study.total_locations == len(obj["protocolSection"]["contactsLocationsModule"].get("locations", []))


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.stem)
def test_every_page_parses_one_record_per_study(path):
    page = load(path)
    records = list(ctgov_json.iter_records(page, str(path)))
    assert [r.error for r in records] == [None] * len(page["studies"])
    assert [r.source_id for r in records] == [
        s["protocolSection"]["identificationModule"]["nctId"] for s in page["studies"]
    ]


def test_filtered_search_page_parses_and_leaves_unrequested_parts_uncovered():
    page = load(PORTLAND_PAGE)
    records = list(ctgov_json.iter_records(page, "portland"))
    assert len(records) == len(page["studies"]) == 5
    assert sum(any("multiple sclerosis" in c.lower() for c in r.study.conditions) for r in records) == 4
    for record in records:
        assert record.study.arms == [] and record.study.outcomes == []
        assert record.study.eligibility.criteria.strip()
        # The page was requested with fields=: arms, outcomes and results are unknown, not empty.
        assert {"arms", "outcomes", "summary", "has_results", "result_values"}.isdisjoint(record.covers)
        assert {"eligibility", "locations", "conditions", "status", "phase"} <= record.covers


def test_complete_record_covers_every_field():
    assert ctgov_json.COVERS == frozenset(STUDY_FIELDS) - {"id", "source"}
    [record] = ctgov_json.iter_records(load(RAW_V2 / "NCT02210780.json"), "x")
    assert record.covers == ctgov_json.COVERS  # no referencesModule, yet references are known: none


def test_protocol_section_of_dupilumab_study():
    s = study("NCT02210780")
    assert s.secondary_ids == ["R668-AD-1314"]
    assert s.brief_title == "Study of Dupilumab and Immune Responses in Adults With Atopic Dermatitis (AD)"
    assert s.official_title.startswith("A Randomized, Double-Blind, Placebo-Controlled, Study Investigating")
    assert s.summary.startswith("This was a 32-week, randomized, double-blind")
    assert s.status == "COMPLETED"
    assert s.start_date == PartialDate("2014-08-05", "day", "ACTUAL")
    assert s.first_posted == PartialDate("2014-08-07", "day", "ESTIMATED")
    assert s.results_first_posted == PartialDate("2020-05-07", "day", "ACTUAL")
    assert (s.phase, s.phase_raw, s.study_type) == ("phase2", "PHASE2", "INTERVENTIONAL")
    assert s.design["allocation"] == "RANDOMIZED"
    assert s.design["masking"] == "TRIPLE"
    assert s.design["who_masked"] == ["PARTICIPANT", "INVESTIGATOR", "OUTCOMES_ASSESSOR"]
    assert (s.enrollment, s.enrollment_type) == (194, "ACTUAL")
    assert (s.lead_sponsor.name, s.lead_sponsor.sponsor_class) == ("Regeneron Pharmaceuticals", "INDUSTRY")
    assert [(c.name, c.sponsor_class) for c in s.collaborators] == [("Sanofi", "INDUSTRY")]
    assert s.conditions == ["Atopic Dermatitis"]
    dupilumab = next(i for i in s.interventions if i.name == "Dupilumab")
    assert dupilumab.other_names == ["REGN668", "SAR231893", "Dupixent"]
    assert dupilumab.arm_labels == ["Dupilumab 300 mg qw"]
    assert [a.label for a in s.arms] == ["Placebo qw", "Dupilumab 300 mg qw"]
    assert s.arms[1].interventions == ["Drug: Dupilumab"]
    assert [o.kind for o in s.outcomes] == ["primary"] + ["secondary"] * 10
    assert s.outcomes[0].time_frame == "Week 16"
    assert s.eligibility.sex == "ALL" and s.eligibility.criteria.startswith("Key Inclusion Criteria")
    assert s.total_locations == 42
    assert (s.locations[0].city, s.locations[0].state, s.locations[0].lat) == ("Birmingham", "Alabama", 33.52066)


def test_posted_outcome_measures_become_rows():
    rows = study("NCT02210780").result_values
    tetanus = [r for r in rows if r.outcome_title.startswith("Percentage of Participants With a Positive Response (≥4")]
    assert [(r.group_id, r.group_title, r.value, r.denominator) for r in tetanus] == [
        ("OG000", "Placebo qw", "83.7", 92),
        ("OG001", "Dupilumab 300 mg qw", "83.3", 90),
    ]
    assert tetanus[0].outcome_type == "PRIMARY"
    assert tetanus[0].unit == "Percentage of participants"
    assert tetanus[0].param_type == "NUMBER"
    pruritus = [r for r in rows if r.outcome_title.startswith("Change From Baseline in Peak Weekly Averaged Pruritis")]
    assert [(r.value, r.spread, r.dispersion_type) for r in pruritus] == [
        ("-2.11", "0.259", "Standard Error"),
        ("-4.24", "0.250", "Standard Error"),
    ]
    assert len(rows) == 28  # 10 single-class measures × 2 groups + 4 GISS components × 2 groups


def test_class_denominator_overrides_the_measures():
    rows = study("NCT02210780").result_values
    erythema = [r for r in rows if r.klass == "Erythema"]
    assert [(r.group_title, r.value, r.denominator) for r in erythema] == [
        ("Placebo qw", "-0.4", 79),
        ("Dupilumab 300 mg qw", "-0.9", 87),
    ]


def test_adverse_events_and_deaths_become_rows():
    events = study("NCT02210780").adverse_events
    serum_sickness = [e for e in events if e.term == "Serum sickness-like reaction"]
    assert [(e.seriousness, e.group_title, e.num_affected, e.num_at_risk) for e in serum_sickness] == [
        ("serious", "Placebo qw", 0, 97),
        ("serious", "Dupilumab 300 mg qw", 1, 97),
    ]
    assert serum_sickness[0].organ_system == "Immune system disorders"
    injection_site = next(e for e in events if e.term == "Injection site reaction" and e.group_id == "EG001")
    assert (injection_site.seriousness, injection_site.num_affected) == ("other", 5)
    deaths = [e for e in events if e.seriousness == "death"]
    assert [(e.term, e.group_id, e.num_affected, e.num_at_risk) for e in deaths] == [
        ("Deaths (all causes)", "EG000", 0, 97),
        ("Deaths (all causes)", "EG001", 0, 97),
    ]
    assert len(events) == 3 * 2 + 6 * 2 + 2


def test_every_posted_figure_and_event_becomes_a_row():
    """Across all seven results records, nothing posted is dropped."""
    for path in STUDY_FILES:
        obj = load(path)
        results = obj.get("resultsSection", {})
        measures = results.get("outcomeMeasuresModule", {}).get("outcomeMeasures", [])
        posted_figures = sum(
            len(category["measurements"])
            for measure in measures
            for klass in measure.get("classes", [])
            for category in klass.get("categories", [])
        )
        module = results.get("adverseEventsModule", {})
        posted_events = sum(len(e["stats"]) for key in ("seriousEvents", "otherEvents") for e in module.get(key, []))
        s = study(path.stem)
        assert len(s.result_values) == posted_figures
        assert len([e for e in s.adverse_events if e.seriousness != "death"]) == posted_events
        assert all(r.group_title for r in s.result_values)
        assert all(e.group_title for e in s.adverse_events)


def test_combined_phase_and_secondary_ids():
    s = study("NCT04431453")
    assert (s.phase, s.phase_raw) == ("phase2_3", "PHASE2|PHASE3")
    obj = load(RAW_V2 / "NCT04431453.json")["protocolSection"]["identificationModule"]
    assert s.secondary_ids[0] == obj["orgStudyIdInfo"]["id"]
    assert set(s.secondary_ids) == {obj["orgStudyIdInfo"]["id"]} | {i["id"] for i in obj["secondaryIdInfos"]}
    assert s.acronym == obj["acronym"]


def test_observational_design_and_references():
    s = study("NCT03475563")
    assert (s.phase, s.phase_raw, s.study_type) == (None, None, "OBSERVATIONAL")
    assert {"observational_model", "time_perspective"} <= s.design.keys()
    refs = load(RAW_V2 / "NCT03475563.json")["protocolSection"]["referencesModule"]["references"]
    assert [(r.pmid, r.citation) for r in s.references] == [(r.get("pmid"), r["citation"]) for r in refs]


def test_withdrawn_study_without_results():
    s = study("NCT00973089")
    assert s.status == "WITHDRAWN"
    assert not s.has_results and s.result_values == [] and s.adverse_events == []


def test_record_without_nct_id_is_an_error_naming_what_is_missing():
    obj = load(RAW_V2 / "NCT02210780.json")
    del obj["protocolSection"]["identificationModule"]["nctId"]
    record = ctgov_json.record_from_api(obj, "test", "studies[2]")
    assert record.study is None
    assert record.source_id == "studies[2]"
    assert "identificationModule.nctId is missing" in record.error
    with pytest.raises(ValueError, match="nctId"):
        ctgov_json.study_from_api(obj)


def test_malformed_nct_id_is_an_error():
    obj = load(RAW_V2 / "NCT02210780.json")
    obj["protocolSection"]["identificationModule"]["nctId"] = "NCT0221"
    record = ctgov_json.record_from_api(obj, "test")
    assert record.source_id == "NCT0221"
    assert "not an NCT number" in record.error


def test_bad_page_elements_become_error_records_by_position():
    page = load(PORTLAND_PAGE)
    wrong_type = load(RAW_V2 / "NCT02210780.json")
    wrong_type["protocolSection"]["conditionsModule"] = "Atopic Dermatitis"
    page["studies"][1:1] = ["NCT01234567", 42, {"hasResults": False}, wrong_type]
    records = list(ctgov_json.iter_records(page, "page.json"))
    assert len(records) == 5 + 4
    assert records[0].error is None and records[5].error is None
    assert (records[1].source_id, records[1].error) == ("studies[1]", "a JSON str, not a study object")
    assert (records[2].source_id, records[2].error) == ("studies[2]", "a JSON int, not a study object")
    assert (records[3].source_id, records[3].error) == ("studies[3]", "protocolSection is missing")
    assert records[4].source_id == "NCT02210780" and records[4].error
    assert all(r.origin == "page.json" for r in records)


def test_a_page_whose_studies_is_not_a_list_is_one_error_record():
    [record] = ctgov_json.iter_records({"studies": "none", "totalCount": 0}, "x")
    assert record.source_id == "page" and "not a list" in record.error


def test_a_list_of_studies_is_accepted():
    studies = load(PORTLAND_PAGE)["studies"]
    assert ctgov_json.looks_like(studies)
    assert [r.error for r in ctgov_json.iter_records(studies, "x")] == [None] * len(studies)


def test_looks_like_rejects_other_json():
    assert not ctgov_json.looks_like({"PubmedArticleSet": []})
    assert not ctgov_json.looks_like([1, 2])
    assert not ctgov_json.looks_like("NCT02210780")


def test_file_import_reads_a_raw_page(tmp_path):
    records = list(iter_file_records(PORTLAND_PAGE))
    assert [r.error for r in records] == [None] * 5
