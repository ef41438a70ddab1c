"""Populations on real records: CTIS age groups, ClinicalTrials.gov titles and conditions, and the
API v2 age bounds and healthy-volunteer flag, each tag with evidence that points into the record."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from curemap.enrich.classify import field_text
from curemap.enrich.populations import PopulationReader, PopulationTag
from curemap.model import Eligibility, Study
from curemap.profile import load_profile
from curemap.sources.files import iter_file_records
from tests.conftest import CTGOV_CSV, CTIS_CSV, RAW_V2


@pytest.fixture(scope="module")
def reader() -> PopulationReader:
    return PopulationReader(load_profile())


@pytest.fixture(scope="module")
def studies() -> dict[str, Study]:
    paths = [CTGOV_CSV, CTIS_CSV, *sorted(RAW_V2.glob("*.json"))]
    return {r.study.id: r.study for path in paths for r in iter_file_records(path) if r.study}


@pytest.fixture(scope="module")
def tags(reader, studies) -> dict[str, list[PopulationTag]]:
    return {study_id: reader.read(study) for study_id, study in studies.items()}


def populations(tags, study_id: str) -> set[str]:
    return {tag.population for tag in tags[study_id]}


def evidence(tags, study_id: str, population: str) -> tuple[str, str]:
    tag = next(tag for tag in tags[study_id] if tag.population == population)
    return tag.field, tag.text


def test_every_tag_points_at_its_words_or_value(tags, studies):
    known = {p.id for p in load_profile().populations.populations}
    for study_id, found in tags.items():
        assert len({t.population for t in found}) == len(found), study_id  # one tag per population
        for tag in found:
            assert tag.population in known
            value = field_text(studies[study_id], tag.field)
            if tag.start is None:
                assert str(value) == tag.text, (study_id, tag)
            else:
                assert value[tag.start : tag.end] == tag.text, (study_id, tag)


def test_paediatric_ctis_trials_from_their_age_group(tags, studies):
    with CTIS_CSV.open(encoding="utf-8-sig", newline="") as handle:
        children = {row["Trial number"] for row in csv.DictReader(handle) if row["Age group"] == "0-17 years"}
    assert len(children) == 8
    for trial in children:
        assert {"paediatric_only", "includes_paediatric"} <= populations(tags, trial)
        assert "adults_only" not in populations(tags, trial)
        field, text = evidence(tags, trial, "paediatric_only")
        assert (field, text) == ("eligibility.std_ages[0]", "CHILD")
    # adults of every age: adults only, older adults admitted, no children
    assert populations(tags, "2024-513099-17-00") >= {"adults_only", "older_adults"}
    assert not populations(tags, "2024-513099-17-00") & {"paediatric_only", "includes_paediatric"}


def test_a_ctgov_title_naming_children_and_adolescents(tags):
    assert populations(tags, "NCT04075266") >= {"paediatric_only", "includes_paediatric", "relapsing_only"}
    assert evidence(tags, "NCT04075266", "paediatric_only") == ("brief_title", "Children")
    # children beside young adults: admits children, not only them
    assert "includes_paediatric" in populations(tags, "NCT04121468")
    assert "paediatric_only" not in populations(tags, "NCT04121468")
    # paediatric-onset MS may be studied in adults: the words alone say nothing about age
    assert not populations(tags, "NCT06648499") & {"paediatric_only", "includes_paediatric"}


def test_api_v2_ages_and_healthy_volunteers(tags):
    # 10 to 17 years: children only, from the maximum age
    assert evidence(tags, "NCT06408259", "paediatric_only") == ("eligibility.maximum_age", "17 Years")
    assert "relapsing_only" in populations(tags, "NCT06408259")
    # 22 years and over, no upper limit: adults only, older adults admitted
    assert evidence(tags, "NCT06441617", "adults_only") == ("eligibility.minimum_age", "22 Years")
    assert evidence(tags, "NCT06441617", "older_adults") == ("eligibility.std_ages[1]", "OLDER_ADULT")
    # 18 to 55: adults only, no older adults; relapsing and secondary progressive: neither "only"
    assert populations(tags, "NCT04047628") == {"adults_only"}
    # children of 5 to 8 who may be healthy volunteers
    assert populations(tags, "NCT00973089") == {"paediatric_only", "includes_paediatric", "includes_healthy_volunteers"}
    assert evidence(tags, "NCT00973089", "includes_healthy_volunteers") == ("eligibility.healthy_volunteers", "True")
    # 12 to 24 years: admits children and adults
    assert populations(tags, "NCT00763412") == {"includes_paediatric"}
    # no minimum age, at most 18 years: the standard groups say children
    assert evidence(tags, "NCT04431453", "includes_paediatric") == ("eligibility.std_ages[0]", "CHILD")


def test_healthy_volunteers_only_or_beside_patients(tags):
    assert populations(tags, "NCT00913250") >= {"healthy_volunteers_only", "includes_healthy_volunteers"}
    assert evidence(tags, "NCT00913250", "healthy_volunteers_only") == ("brief_title", "Healthy Volunteers")
    # healthy subjects and MS patients
    assert "includes_healthy_volunteers" in populations(tags, "NCT02048358")
    assert "healthy_volunteers_only" not in populations(tags, "NCT02048358")


def test_pregnancy_and_lactation_studies(tags):
    assert evidence(tags, "NCT06143514", "pregnant_or_lactating_only") == ("brief_title", "Breast Milk")
    assert evidence(tags, "NCT04387110", "pregnant_or_lactating_only") == ("brief_title", "Breastmilk")
    assert evidence(tags, "NCT05688436", "pregnant_or_lactating_only") == ("brief_title", "Pregnancy")
    # serum lactate is not lactation
    assert "pregnant_or_lactating_only" not in populations(tags, "NCT04210960")


def test_relapsing_and_progressive_only(tags):
    assert evidence(tags, "NCT04410978", "relapsing_only") == ("brief_title", "Relapsing Forms")
    assert evidence(tags, "NCT04895202", "progressive_only") == ("brief_title", "SPMS")
    for both in ("NCT03593590", "NCT06220201"):  # relapsing or primary progressive; relapsing and progressive forms
        assert not populations(tags, both) & {"relapsing_only", "progressive_only"}, both
    # "non-relapsing and progressive forms" is progressive only
    assert "progressive_only" in populations(tags, "NCT06138132")
    assert "relapsing_only" not in populations(tags, "NCT06138132")


def test_counts_on_the_real_files(tags):
    counts = Counter(tag.population for found in tags.values() for tag in found)
    assert counts["relapsing_only"] > 500 and counts["progressive_only"] > 150
    assert 30 <= counts["pregnant_or_lactating_only"] <= 60
    assert counts["paediatric_only"] <= counts["includes_paediatric"]
    assert counts["healthy_volunteers_only"] <= counts["includes_healthy_volunteers"]


def test_a_record_saying_nothing_gets_nothing(reader):
    assert reader.read(Study(id="NCT00000001", source="ctgov", brief_title="Walking in MS")) == []
    ages_only = Study(id="NCT00000002", source="ctgov", eligibility=Eligibility(minimum_age="18 Years"))
    assert [t.population for t in reader.read(ages_only)] == ["adults_only"]
