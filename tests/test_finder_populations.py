"""The trial finder judges a person on the populations a trial admits, read from the stored
classification, so the finder and the map agree: on the offline build, which holds no
eligibility text, a 34-year-old woman with RRMS is never shown a trial for children, for
pregnant or breastfeeding women or for healthy volunteers as one she could join. The study
lists filter on the same populations."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from curemap.enrich.populations import PopulationReader
from curemap.match.criteria import POPULATION
from curemap.match.matcher import MET, NOT_MET, UNKNOWN, Matcher, find_trials
from curemap.match.person import person_from_dict
from curemap.model import Eligibility, Study
from curemap.profile import load_profile
from curemap.store import schema

AS_OF = dt.date(2025, 6, 1)
WOMAN = {"age": 34, "sex": "female", "phenotype": "rrms", "country": "United States", "pregnant": False, "breastfeeding": False}
BARRING = ("paediatric_only", "pregnant_or_lactating_only", "healthy_volunteers_only")
SOURCES = ("ClinicalTrials.gov ", "EU CTIS ")


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def _open_tagged(store, population: str) -> dict[str, dict]:
    """Open MS trials the store tags with a population, with their classification's evidence for it."""
    st, cl, rp = schema.studies, schema.classifications, schema.record_populations
    query = (
        select(st.c.id, cl.c.data)
        .join(cl, cl.c.record_id == st.c.id)
        .join(rp, rp.c.record_id == st.c.id)
        .where(rp.c.population == population, cl.c.is_ms, st.c.status.in_(("RECRUITING", "NOT_YET_RECRUITING")))
    )
    with store.connect() as conn:
        rows = conn.execute(query).all()
    return {
        row.id: next(e for e in json.loads(row.data)["evidence"] if e["kind"] == POPULATION and e["label"] == population)
        for row in rows
    }


def _population_criterion(found: dict, name: str) -> dict:
    [criterion] = [c for c in found["criteria"] if c["source"] == POPULATION and c["text"].startswith(name + " (")]
    return criterion


def _assert_ruled_out(trials: list[dict], store, profile) -> None:
    """Every open trial tagged with a barring population is not eligible, by a not_met criterion
    that names the registry, the field and the stored evidence's words."""
    by_id = {t["id"]: t for t in trials}
    for population in BARRING:
        tagged = _open_tagged(store, population)
        assert tagged, population  # the offline build has open trials of each
        name = next(p.name for p in profile.populations.populations if p.id == population)
        for study_id, evidence in tagged.items():
            trial = by_id[study_id]
            assert trial["eligible"] is False, study_id
            criterion = _population_criterion(trial, name)
            assert criterion["status"] == NOT_MET and criterion["text"] in trial["not_met"]
            assert criterion["text"].startswith(f"{name} (") and f": '{evidence['text']}')" in criterion["text"]
            assert any(source in criterion["text"] for source in SOURCES)
            assert f"this trial is for {name[0].lower()}{name[1:]}" in criterion["reason"]


def test_a_34_year_old_woman_with_rrms_is_never_eligible_for_barring_populations(built_store, profile):
    matches = find_trials(built_store, profile, person_from_dict(WOMAN, profile), as_of=AS_OF)
    _assert_ruled_out([m.to_dict() for m in matches], built_store, profile)
    children = {m.study.id: m.to_dict() for m in matches}["NCT03979391"]
    criterion = _population_criterion(children, "Children and adolescents only")
    assert criterion["text"] == "Children and adolescents only (ClinicalTrials.gov title: 'Children')"
    assert criterion["reason"] == (
        "this trial is for people aged under 18; you are 34; "
        "this trial is for children and adolescents only (ClinicalTrials.gov title: 'Children')"
    )
    ctis = _population_criterion({m.study.id: m.to_dict() for m in matches}["2022-501332-42-00"], "Children and adolescents only")
    assert ctis["text"] == "Children and adolescents only (EU CTIS age groups: 'CHILD')" and ctis["status"] == NOT_MET


def test_the_same_through_match_json_and_the_api(built_home, built_store, profile, cli, client, tmp_path):
    me = tmp_path / "woman.json"
    me.write_text(json.dumps(WOMAN), encoding="utf-8")
    result = cli("--home", built_home, "match", me, "--json", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0
    _assert_ruled_out(result.json_lines(), built_store, profile)
    response = client.post(f"/api/match?as_of={AS_OF.isoformat()}", json=WOMAN)
    assert response.status_code == 200
    assert response.json()["trials"] == result.json_lines()


def test_without_an_age_age_populations_are_unknown(built_store, profile):
    who = person_from_dict({"sex": "female", "phenotype": "rrms"}, profile)
    statuses = {
        (item.criterion.text.split(" (")[0], item.status)
        for m in find_trials(built_store, profile, who, as_of=AS_OF)
        for item in m.criteria
        if item.criterion.source == POPULATION and item.criterion.kind == "age"
    }
    assert statuses == {("Children and adolescents only", UNKNOWN), ("Adults only", UNKNOWN)}


# -- one trial at a time, tagged by the population reader as the classifier tags it ------------


def _judge(profile, study: Study, person: dict) -> list[tuple[str, str, str]]:
    tags = PopulationReader(profile).read(study)
    classification = {
        "populations": [t.population for t in tags],
        "evidence": [{"kind": POPULATION, "label": t.population, "field": t.field, "text": t.text} for t in tags],
    }
    matcher = Matcher(profile, person_from_dict(person, profile), AS_OF)
    found = matcher.match_study(study, classification)
    return [(item.criterion.source, item.status, item.reason) for item in found.criteria]


def _course(profile, title: str, person: dict) -> str:
    [(source, status, _)] = _judge(profile, Study(id="NCT00000001", source="ctgov", brief_title=title), person)
    assert source == POPULATION
    return status


ACTIVE_SPMS = {"phenotype": "spms", "relapses": ["2025-01"], "mri_activity": []}
STABLE_SPMS = {"phenotype": "spms", "relapses": [], "mri_activity": []}


def test_relapsing_forms_admit_active_secondary_progressive_ms_as_the_eligibility_rules_say(profile):
    forms = "Ocrelizumab in Relapsing Forms of Multiple Sclerosis"
    assert _course(profile, forms, ACTIVE_SPMS) == MET
    assert _course(profile, forms, STABLE_SPMS) == NOT_MET
    assert _course(profile, forms, {"phenotype": "spms"}) == UNKNOWN  # no dates of relapses or MRI activity
    assert _course(profile, forms, {"phenotype": "ppms"}) == NOT_MET
    remitting = "Ocrelizumab in Relapsing-Remitting Multiple Sclerosis"
    assert _course(profile, remitting, ACTIVE_SPMS) == NOT_MET
    assert _course(profile, remitting, {"phenotype": "rrms"}) == MET
    # a trial of treating a relapse admits whoever has one
    assert _course(profile, "Plasma Exchange for Multiple Sclerosis Relapse", ACTIVE_SPMS) == MET


def test_progressive_only_rules_out_relapsing_remitting_ms(profile):
    assert _course(profile, "Simvastatin in Secondary Progressive Multiple Sclerosis", {"phenotype": "rrms"}) == NOT_MET
    assert _course(profile, "Simvastatin in Secondary Progressive Multiple Sclerosis", {"phenotype": "ppms"}) == MET


def test_the_registry_age_criterion_is_neither_duplicated_nor_contradicted(profile):
    adults = Study(id="NCT00000002", source="ctgov", brief_title="Exercise in Adults With MS",
                   eligibility=Eligibility(minimum_age="18 Years", maximum_age="55 Years"))
    assert [source for source, _, _ in _judge(profile, adults, {"age": 34})] == ["registry"]
    children = Study(id="NCT00000003", source="ctgov", brief_title="Walking in Children With MS",
                     eligibility=Eligibility(minimum_age="18 Years"))
    assert [source for source, _, _ in _judge(profile, children, {"age": 34})] == ["registry"]
    teenagers = Study(id="NCT00000004", source="ctgov", brief_title="Walking in Children With MS",
                      eligibility=Eligibility(minimum_age="12 Years"))
    judged = _judge(profile, teenagers, {"age": 34})
    assert [(source, status) for source, status, _ in judged] == [("registry", MET), (POPULATION, NOT_MET)]


def test_an_older_adult_is_held_to_adults_only_by_the_records_own_ages(profile):
    def ctis(*groups: str) -> Study:
        return Study(id="2024-500000-00-00", source="ctis", brief_title="A trial in MS", eligibility=Eligibility(std_ages=list(groups)))

    [(_, status, reason)] = _judge(profile, ctis("ADULT"), {"age": 70})
    assert status == NOT_MET and reason.startswith("this trial is for people aged 18 to under 65; you are 70")
    assert "(EU CTIS age groups: 'ADULT')" in reason
    assert [status for _, status, _ in _judge(profile, ctis("ADULT", "OLDER_ADULT"), {"age": 70})] == [MET]
    titled = Study(id="NCT00000005", source="ctgov", brief_title="Exercise in Adults With MS")
    assert [status for _, status, _ in _judge(profile, titled, {"age": 70})] == [MET]  # "adults" says nothing of 65


def test_healthy_volunteer_and_pregnancy_populations(profile):
    healthy = Study(id="NCT00000006", source="ctgov", brief_title="Bioequivalence of Two Fumarates in Healthy Volunteers")
    [(_, status, reason)] = _judge(profile, healthy, {"phenotype": "cis"})
    assert status == NOT_MET and "you are not a healthy volunteer" in reason
    assert [status for _, status, _ in _judge(profile, healthy, {})] == [UNKNOWN]
    pregnancy = Study(id="NCT00000007", source="ctgov", brief_title="Ofatumumab Pregnancy Registry")
    assert [status for _, status, _ in _judge(profile, pregnancy, {"sex": "female", "pregnant": True})] == [MET]
    assert [status for _, status, _ in _judge(profile, pregnancy, {"sex": "male"})] == [NOT_MET]


# -- the study lists ------------------------------------------------------------------------------


def test_studies_filter_on_a_population_exactly_as_tagged(client, built_store):
    rp, cl = schema.record_populations, schema.classifications
    with built_store.connect() as conn:
        tagged = set(
            conn.execute(
                select(rp.c.record_id).join(cl, cl.c.record_id == rp.c.record_id).where(rp.c.population == "paediatric_only", cl.c.is_ms)
            ).scalars()
        )
    assert tagged
    listed = client.get("/api/studies", params={"population": "paediatric_only", "ms": "true", "per_page": 200}).json()
    assert listed["total"] == len(tagged) <= 200
    assert {item["id"] for item in listed["items"]} == tagged
    assert all("paediatric_only" in item["populations"] for item in listed["items"])
    page = client.get("/studies", params={"population": "paediatric_only"})
    assert page.status_code == 200 and '<option value="paediatric_only" selected>Children and adolescents only</option>' in page.text


def test_an_unknown_population_is_a_400_naming_the_parameter_and_the_choices(client):
    response = client.get("/api/studies", params={"population": "giants_only"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "population='giants_only'" in error and "paediatric_only" in error and "progressive_only" in error
    assert client.get("/studies", params={"population": "giants_only"}).status_code == 400
