"""The trial finder on a store holding the real ClinicalTrials.gov records with eligibility
text: hand-written people, each criterion's status and reason, ranking, sites and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from curemap.errors import InputError
from curemap.match.matcher import MET, NOT_MET, UNKNOWN, VERDICTS, find_trials, haversine_km
from curemap.match.person import load_person, person_from_dict
from curemap.profile import load_profile
from curemap.store import Store
from tests.conftest import RAW_V2

PROFILES = Path(__file__).parent / "data" / "eligibility" / "profiles"
AS_OF = dt.date(2025, 6, 1)
MS_OPEN = {"NCT04047628", "NCT06408259", "NCT06433752", "NCT06441617"}


@pytest.fixture(scope="module")
def raw_home(tmp_path_factory) -> Path:
    """A store built by importing every raw API v2 record (the MS search page among them)."""
    from curemap.cli import run

    home = tmp_path_factory.mktemp("raw")
    with pytest.raises(SystemExit) as done:
        run(["--home", str(home), "import", *map(str, sorted(RAW_V2.glob("*.json"))), "--json"])
    assert done.value.code == 0
    return home


@pytest.fixture(scope="module")
def store(raw_home):
    opened = Store.open(raw_home)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def person(name: str):
    return load_person(PROFILES / f"{name}.toml", load_profile())


def matches_for(store, profile, who, **options):
    return {m.study.id: m for m in find_trials(store, profile, who, as_of=AS_OF, **options)}


def criterion(match, line: int):
    return next(j for top in match.criteria for j in top.flat() if j.criterion.line == line and j.criterion.source == "text")


def test_only_open_ms_trials_are_listed(store, profile):
    found = matches_for(store, profile, person("rrms_active"))
    # NCT06655896 (systemic sclerosis) is recruiting but not about MS; completed studies are not open
    assert set(found) == MS_OPEN


def test_active_rrms_person_in_beat_ms(store, profile):
    beat = matches_for(store, profile, person("rrms_active"))["NCT04047628"]
    assert beat.eligible and beat.curative_intent and beat.strategies == ["ahsct"]
    expected = {
        3: (MET, "this trial is for people aged 18 to 55; you are 34"),
        5: (MET, "your EDSS is 3; the trial asks at most 6"),
        9: (MET, "you list fingolimod (from 2019-01 to 2021-12), ocrelizumab (from 2022-01 to now)"),
        10: (MET, "you had relapse or MRI activity on 2024-09-15, 2025-02-01, 2025-03-10"),
        37: (MET, "does not apply: your course (rrms) is not among those named (ppms)"),
        42: (MET, "does not apply: you had relapse on 2024-09-15, 2025-03-10; the criterion is about relapse in the last month"),
        73: (MET, "does not apply: your profile lists no ahsct taken"),
        75: (MET, "does not apply: you are not pregnant or breastfeeding"),
        31: (MET, "you do agree to use contraception"),
        65: (UNKNOWN, "your profile does not give your left ventricular ejection fraction (the trial asks under 50 %)"),
        56: (UNKNOWN, "the trial asks about HIV infection, which your profile does not list"),
    }
    for line, (status, reason) in expected.items():
        judged = criterion(beat, line)
        assert judged.status == status, (line, judged.reason)
        assert judged.reason.startswith(reason), (line, judged.reason)
    unread = criterion(beat, 6)
    assert unread.status == UNKNOWN and unread.criterion.text.startswith("T2 abnormalities on brain MRI")
    assert "cannot read" in unread.reason


def test_hard_criteria_failures_are_never_eligible(store, profile):
    older = matches_for(store, profile, person("spms_older"))
    beat = older["NCT04047628"]
    assert not beat.eligible and beat.score == 0.0
    not_met = {j.criterion.line: j.reason for j in beat.criteria if j.status == NOT_MET}
    assert not_met[3] == "this trial is for people aged 18 to 55; you are 58"
    assert not_met[5] == "your EDSS is 6.5; the trial asks at most 6"
    assert "spms without a relapse or MRI activity in the last 24 months does not count as relapsing MS" in not_met[7]
    paediatric = older["NCT06408259"]
    assert not paediatric.eligible
    assert criterion(paediatric, 16).reason == "rules you out: your course (spms) is among those named (ppms, progressive, spms)"
    teen = matches_for(store, profile, person("teen_rrms"))
    assert teen["NCT06408259"].eligible and not teen["NCT04047628"].eligible
    assert teen["NCT06441617"].criteria[0].status == NOT_MET  # registry minimum age 22


def test_treatment_inside_its_washout_rules_out(store, profile):
    started = person_from_dict(
        {"age": 40, "phenotype": "rrms", "relapses": [], "treatments": [{"name": "Ocrevus", "start": "2025-05-20"}]}, profile
    )
    fatigue = matches_for(store, profile, started)["NCT06441617"]
    judged = criterion(fatigue, 12)
    assert judged.status == NOT_MET and judged.reason.startswith("you list Ocrevus (from 2025-05-20 to now)")
    assert not fatigue.eligible
    transplanted = person_from_dict({"age": 40, "phenotype": "rrms", "treatments": [{"name": "autologous HSCT", "stop": "2015"}]}, profile)
    beat = matches_for(store, profile, transplanted)["NCT04047628"]
    assert criterion(beat, 73).status == NOT_MET and not beat.eligible
    # the brand of another drug of the same strategy may be the same drug: unknown, not excluded
    briumvi = person_from_dict({"age": 40, "phenotype": "rrms", "treatments": ["Briumvi"]}, profile)
    assert criterion(matches_for(store, profile, briumvi)["NCT06433752"], 4).status == NOT_MET
    rituximab = person_from_dict({"age": 40, "phenotype": "rrms", "treatments": ["rituximab"]}, profile)
    assert criterion(matches_for(store, profile, rituximab)["NCT06433752"], 4).status == MET


def test_unsaid_fields_leave_criteria_unknown_with_their_text(store, profile):
    blank = person_from_dict({}, profile)
    for match in find_trials(store, profile, blank, as_of=AS_OF):
        assert match.eligible is None and not match.judged and match.verdict == "not_checked"
        for judged in (j for top in match.criteria for j in top.flat()):
            assert judged.status == UNKNOWN and judged.criterion.text
            assert judged.reason


def test_ranking_eligible_first_and_curative_first(store, profile):
    who = person("rrms_active")
    order = [m.study.id for m in find_trials(store, profile, who, as_of=AS_OF)]
    verdicts = [VERDICTS.index(m.verdict) for m in find_trials(store, profile, who, as_of=AS_OF)]
    assert verdicts == sorted(verdicts) and order[-1] == "NCT06408259"
    curative = find_trials(store, profile, who, as_of=AS_OF, curative_first=True)
    assert curative[0].study.id == "NCT04047628"


def test_nearest_sites_and_distance_limit(store, profile):
    who = person("rrms_active")
    beat = matches_for(store, profile, who)["NCT04047628"]
    nearest = beat.sites[0]
    assert nearest["city"] == "Portland" and nearest["distance_km"] < 10
    assert [s["distance_km"] for s in beat.sites] == sorted(s["distance_km"] for s in beat.sites)
    assert haversine_km(45.52, -122.68, 37.44188, -122.14302) == pytest.approx(899, abs=5)
    far = person_from_dict({"location": {"lat": 48.86, "lon": 2.35}, "max_distance_km": 300}, profile)
    assert find_trials(store, profile, far, as_of=AS_OF) == []


def test_person_errors_name_the_field(tmp_path, profile):
    cases = [
        ({"edss": 11}, "edss: 11 is outside 0 to 10"),
        ({"edss": 3.3}, "edss: 3.3 is not an EDSS score"),
        ({"phenotype": "lupus"}, "phenotype: 'lupus' is not a disease course"),
        ({"treatments": [{"name": "x", "stop": "last year"}]}, "treatments[0].stop: 'last year' is not a date"),
        ({"max_distance_km": 100}, "max_distance_km: needs a location"),
        ({"weight": 70}, "weight: unknown field"),
        ({"labs": {"ldl": 3}}, "labs.ldl: unknown test"),
    ]
    for data, message in cases:
        with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.").replace("[", r"\[")):
            person_from_dict(data, profile, "me.json")
    broken = tmp_path / "me.toml"
    broken.write_text("age = \n", encoding="utf-8")
    with pytest.raises(InputError, match="me.toml: not valid TOML"):
        load_person(broken, profile)


def test_match_command_json_lines(cli, raw_home, tmp_path):
    me = tmp_path / "me.json"
    me.write_text(json.dumps({"age": 34, "sex": "female", "phenotype": "rrms", "edss": 3, "treatments": ["ocrelizumab"]}), encoding="utf-8")
    result = cli("--home", raw_home, "match", me, "--as-of", "2025-06-01", "--curative-first", "--json")
    assert result.exit_code == 0, result.stderr
    lines = result.json_lines()
    assert lines[0]["id"] == "NCT04047628" and {line["id"] for line in lines} == MS_OPEN
    first = lines[0]
    assert {"id", "score", "criteria", "eligible", "title", "status", "phase", "strategies", "curative_intent", "sites"} <= set(first)
    assert all(c["status"] in (MET, NOT_MET, UNKNOWN) and c["text"] and c["reason"] for c in first["criteria"])
    bad = tmp_path / "bad.toml"
    bad.write_text('sex = "robot"\n', encoding="utf-8")
    failed = cli("--home", raw_home, "match", bad)
    assert failed.exit_code == 1 and "bad.toml: sex: 'robot' is not one of female, male" in failed.stderr
    assert cli("--home", raw_home, "match", me, "--as-of", "June").exit_code == 1
    assert "Example: curemap match" in cli("match", "--help").stdout


def test_offline_store_says_the_eligibility_text_is_missing(built_store, profile):
    found = find_trials(built_store, profile, person("rrms_active"), as_of=AS_OF)
    ctgov = [m for m in found if m.study.source == "ctgov"]
    assert len(ctgov) > 50
    assert all("`curemap update --source ctgov` fetches it from ClinicalTrials.gov." in m.to_dict()["note"] for m in ctgov)
    # the flattened CSV has neither eligibility text nor age and sex fields: only the populations
    # read from titles and conditions are judged (tests/test_finder_populations.py), nothing invented
    assert all(item.criterion.source == "population" for m in ctgov for item in m.criteria)
    assert sum(not m.criteria and m.eligible is None and m.verdict == "not_checked" for m in ctgov) > 50


def _real_criterion(study_id: str, line: int):
    from curemap.match.criteria import EligibilityReader
    from curemap.sources.ctgov_json import iter_records

    for path in sorted(RAW_V2.glob("*.json")):
        for record in iter_records(json.loads(path.read_text(encoding="utf-8")), path.name):
            if record.study.id == study_id:
                criteria = EligibilityReader(load_profile()).read(record.study.eligibility)
                return next(c for top in criteria for c in top.flat() if c.line == line)
    raise AssertionError(study_id)


def _judge(criterion, who):
    from curemap.match.matcher import Matcher

    return Matcher(load_profile(), who, AS_OF).judge(criterion)


def test_a_drug_the_profile_does_not_know_is_never_guessed():
    dupilumab = _real_criterion("NCT02210780", 11)  # exclusion: "Prior treatment with dupilumab (REGN668/ SAR231893)"
    profile = load_profile()
    on_ocrelizumab = _judge(dupilumab, person("ppms_ocrelizumab"))
    assert on_ocrelizumab.status == MET and "no dupilumab taken" in on_ocrelizumab.reason
    took_it = _judge(dupilumab, person_from_dict({"treatments": [{"name": "dupilumab", "stop": "2023"}]}, profile))
    assert took_it.status == NOT_MET
    # a brand the profile does not know may be this very drug: unknown, not met
    brand = _judge(dupilumab, person_from_dict({"treatments": [{"name": "Dupixent", "stop": "2023"}]}, profile))
    assert brand.status == UNKNOWN and "needs checking" in brand.reason
    # a treatment needed during the study is for the study team, whatever the person took before
    needing = _judge(_real_criterion("NCT02210780", 12), person("spms_after_ahsct"))
    assert needing.status == UNKNOWN and "planned" in needing.reason


def test_population_words_and_women_only_contraception_judged():
    healthy_children = _real_criterion("NCT00973089", 3)
    assert _judge(healthy_children, person("spms_after_ahsct")).status == NOT_MET
    child = _judge(healthy_children, person("teen_rrms"))
    assert child.status == UNKNOWN and "healthy volunteers" in child.reason
    cohorts = _real_criterion("NCT04431453", 3)  # under 18, in one of eight cohorts, each with a weight the profile lacks
    assert _judge(cohorts, person("teen_rrms")).status == UNKNOWN and _judge(cohorts, person("ppms_ocrelizumab")).status == NOT_MET
    women_only = _real_criterion("NCT03064438", 8)  # "If the participant is a woman of childbearing potential, … birth control"
    man = _judge(women_only, person("spms_after_ahsct"))
    assert man.status == MET and "you are male" in man.reason
    assert _judge(women_only, person("ppms_ocrelizumab")).status == UNKNOWN


def test_match_reads_a_toml_file_with_a_utf8_byte_order_mark(profile, tmp_path):
    """Reproduces issue 13: a BOM-prefixed TOML file (as Windows editors save it) failed with
    "Invalid statement"."""
    me = tmp_path / "bom.toml"
    me.write_bytes(b"\xef\xbb\xbf" + 'age = 41\nsex = "female"\nphenotype = "rrms"\n'.encode("utf-8"))
    assert load_person(me, profile) == person_from_dict({"age": 41, "sex": "female", "phenotype": "rrms"}, profile)


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"age = 41\n\x00\x00\x00"])
def test_match_on_a_binary_file_says_so_without_a_traceback(cli, raw_home, tmp_path, content):
    """Reproduces issue 13: `match` on a binary file gave a traceback or "Invalid statement"."""
    me = tmp_path / "binary.toml"
    me.write_bytes(content)
    result = cli("--home", raw_home, "match", me)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "binary.toml: binary data, not text" in result.stderr


def test_a_relapse_dated_in_the_future_is_refused_naming_the_field(cli, raw_home, profile, tmp_path):
    """Reproduces issue 13: a relapse dated 2099 was accepted."""
    with pytest.raises(InputError, match=r"person: relapses\[1\]: 2099-03-01 is after"):
        person_from_dict({"relapses": ["2024-05", "2099-03-01"]}, profile)
    with pytest.raises(InputError, match=r"treatments\[0\]\.start: 2025-07 is after 2025-06-01"):
        person_from_dict({"treatments": [{"name": "ocrelizumab", "start": "2025-07"}]}, profile, as_of=AS_OF)
    assert person_from_dict({"relapses": ["2025-06"]}, profile, as_of=AS_OF).relapses  # June may have begun
    me = tmp_path / "future.toml"
    me.write_text('phenotype = "rrms"\nmri_activity = [2026-01-10]\n', encoding="utf-8")
    result = cli("--home", raw_home, "match", me, "--as-of", "2025-06-01")
    assert result.exit_code == 1
    assert "future.toml: mri_activity[0]: 2026-01-10 is after 2025-06-01; give a date that has passed" in result.stderr


def test_the_trials_found_are_the_same_when_the_lists_the_finder_never_reads_are_not_decoded(built_store, profile, monkeypatch):
    """Open trials are decoded without their outcomes, arms, results and other lists the
    finder neither judges by nor shows: every person's matches, as the API gives them, are
    those of the whole records, on the offline build's open MS trials."""
    import curemap.match.matcher as matcher

    people = [person(path.stem) for path in sorted(PROFILES.glob("*.toml"))]
    assert len(people) >= 3
    lean = [[m.to_dict() for m in find_trials(built_store, profile, who, as_of=AS_OF)] for who in people]
    monkeypatch.setattr(matcher, "UNREAD_LISTS", ())
    whole = [[m.to_dict() for m in find_trials(built_store, profile, who, as_of=AS_OF)] for who in people]
    assert lean == whole and sum(map(len, whole)) > 100
