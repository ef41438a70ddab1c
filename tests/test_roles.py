"""Strategy roles and study purpose: what a study tests, what it only compares with or is
about, and the figures that rest on them (rule 10 of curemap.enrich.classify)."""

from __future__ import annotations

import copy
import json

import pytest

from curemap.analysis.landscape import strategy_landscape
from curemap.enrich.audit import audit_store, read_audit_labels
from curemap.enrich.classify import ABOUT, COMPARATOR, TESTED, TREATMENT, Classifier, field_text
from curemap.profile import load_profile
from curemap.sources.ctgov_json import study_from_api
from curemap.views import record

from .conftest import RAW_V2

AUDIT = __import__("pathlib").Path(__file__).parent / "data" / "strategy-audit"


@pytest.fixture(scope="module")
def profile():
    return load_profile()


@pytest.fixture(scope="module")
def shown(built_store):
    return lambda study_id: record(built_store, study_id)


def test_alemtuzumab_in_a_pregnancy_registry_of_diroximel_fumarate_is_a_comparator(shown):
    study = shown("NCT05688436")
    assert study["roles"]["alemtuzumab"] == COMPARATOR
    assert study["roles"]["dmt_other"] == TESTED  # the title's diroximel fumarate
    assert study["purpose"] == ABOUT
    assert "alemtuzumab" not in study["tested_strategies"]
    why = [e for e in study["evidence"] if e["kind"] == "role" and e["label"] == "alemtuzumab"]
    assert why and why[0]["field"] == "brief_title"


def test_net_ms_tests_the_transplant_and_compares_it_with_alemtuzumab(shown):
    study = shown("2024-515470-26-00")
    assert study["roles"]["ahsct"] == TESTED
    assert study["roles"]["alemtuzumab"] == COMPARATOR
    assert study["purpose"] == TREATMENT
    # cyclophosphamide, ATG, filgrastim and the BEAM drugs are the transplant, not disease control of their own
    regimen = [e for e in study["evidence"] if e["label"] == "ahsct" and e["field"].startswith("interventions")]
    assert regimen and {e["text"].upper() for e in regimen} <= {
        "FILGRASTIM", "RABBIT ANTI-HUMAN THYMOCYTE IMMUNOGLOBULIN", "CYTARABINE", "MELPHALAN", "ETOPOSIDE", "CARMUSTINE",
        "ANTI-HUMAN T-LYMPHOCYTE IMMUNOGLOBULIN", "CYCLOPHOSPHAMIDE", "ANTI-HUMAN THYMOCYTE IMMUNOGLOBULIN",
    }
    assert not [e for e in study["evidence"] if e["label"] == "dmt_other" and e["text"].upper() == "CYCLOPHOSPHAMIDE"]


def test_ram_ms_versus_alemtuzumab_cladribine_or_ocrelizumab(shown):
    study = shown("2024-510630-40-00")
    assert study["tested_strategies"] == ["ahsct"]
    assert {s for s, role in study["roles"].items() if role == COMPARATOR} == {"alemtuzumab", "cladribine", "anti_cd20"}
    cue = next(e for e in study["evidence"] if e["kind"] == "role" and e["label"] == "cladribine")
    assert cue["text"] == "versus" and field_text_of(study, cue) == cue["text"]


def field_text_of(study: dict, evidence: dict) -> str:
    return study[evidence["field"]][evidence["start"] : evidence["end"]]


@pytest.mark.parametrize(
    "study_id, not_claimed",
    [
        ("NCT04601233", "neuroprotection"),  # testosterone for erectile dysfunction
        ("NCT01838174", "neuroprotection"),  # ACTH for an attack of optic neuritis
        ("NCT06865274", "gene_therapy"),  # FCGR3A gene variants
        ("NCT06453694", "neural_cells"),  # efgartigimod for optic neuritis
    ],
)
def test_words_that_only_sound_like_a_cure_strategy_give_no_curative_label(shown, study_id, not_claimed):
    study = shown(study_id)
    assert not_claimed not in study["strategies"]
    assert study["curative_intent"] is False


def test_testosterone_for_erectile_dysfunction_is_symptom_treatment(shown):
    assert shown("NCT04601233")["tested_strategies"] == ["symptomatic"]


def test_stage_and_open_now_cite_only_trials_that_test_the_strategy(built_store, profile):
    landscape = {entry.id: entry for entry in strategy_landscape(built_store, profile)}
    alemtuzumab = landscape["alemtuzumab"]
    assert "NCT05688436" not in alemtuzumab.recruiting_studies + alemtuzumab.stage_studies
    assert "2024-515470-26-00" in alemtuzumab.comparator_studies
    assert "NCT05688436" in alemtuzumab.comparator_studies
    trial_of = built_store.trial_ids()
    ahsct_trials = {trial_of.get(i, i) for i in landscape["ahsct"].stage_studies + landscape["ahsct"].recruiting_studies}
    assert {trial_of["2024-515470-26-00"], trial_of["2024-510630-40-00"]} <= ahsct_trials
    neuroprotection = landscape["neuroprotection"]
    assert not {"NCT01838174", "NCT04601233"} & set(neuroprotection.stage_studies + neuroprotection.recruiting_studies)
    assert landscape["gene_therapy"].studies == 0
    assert "NCT06453694" not in landscape["neural_cells"].recruiting_studies
    for entry in landscape.values():
        assert set(entry.stage_studies) <= set(entry.recruiting_studies) | set(_tested(built_store, entry.id))


def _tested(store, strategy: str) -> list[str]:
    from curemap.analysis.landscape import strategy_studies

    return strategy_studies(store, load_profile()).tested.get(strategy, [])


def test_the_audit_of_curative_labels_on_development_records(built_store, profile):
    """Every 'tests a curative strategy' label the offline build gives is checked against labels
    read from the records; the studies stages and open-now figures cite must all be right."""
    labels = read_audit_labels(sorted(AUDIT.glob("audit-dev-*.jsonl")))
    report = audit_store(built_store, profile, labels)
    assert report.audited_claims >= 200
    assert report.precision >= 0.97, [m for m in report.misses if m.what == "wrong label"]
    assert report.recall >= 0.95, [m for m in report.misses if m.what == "missed"]
    assert report.cited >= 50
    assert report.cited_precision == 1.0, [m for m in report.misses if m.what == "wrong citation"]


def _raw(name: str) -> dict:
    return json.loads((RAW_V2 / name).read_text(encoding="utf-8"))


def _ms_trial(arms: list[tuple[str, str, list[str]]], title: str) -> dict:
    """A real API v2 record (NCT02552212) with its arms, interventions and conditions replaced
    by an MS trial's, in the same shape."""
    obj = copy.deepcopy(_raw("NCT02552212.json"))
    protocol = obj["protocolSection"]
    protocol["identificationModule"]["briefTitle"] = title
    protocol["identificationModule"]["officialTitle"] = title
    protocol["conditionsModule"] = {"conditions": ["Relapsing Multiple Sclerosis"]}
    names = sorted({name for _, _, given in arms for name in given})
    protocol["armsInterventionsModule"] = {
        "armGroups": [
            {"label": label, "type": kind, "interventionNames": [f"Drug: {n}" for n in given]}
            for label, kind, given in arms
        ],
        "interventions": [
            {"type": "DRUG", "name": n, "armGroupLabels": [label for label, _, given in arms if n in given]}
            for n in names
        ],
    }
    return obj


def test_arm_types_decide_roles_where_the_registry_has_them(profile):
    obj = _ms_trial(
        [
            ("Alemtuzumab", "EXPERIMENTAL", ["Alemtuzumab", "Ocrelizumab"]),
            ("Interferon", "ACTIVE_COMPARATOR", ["Interferon beta-1a", "Ocrelizumab"]),
            ("Placebo", "PLACEBO_COMPARATOR", ["Clemastine placebo", "Ocrelizumab"]),
        ],
        "A Study of Two Treatments in Relapsing MS",
    )
    result = Classifier(profile).classify(study_from_api(obj))
    assert result.roles == {"alemtuzumab": TESTED, "dmt_other": COMPARATOR}  # ocrelizumab in every arm: background
    study = study_from_api(obj)
    arm_evidence = [e for e in result.evidence if e.kind == "role"]
    assert arm_evidence and all(field_text(study, e.field)[e.start : e.end] == e.text for e in arm_evidence)


def test_titles_decide_roles_without_arms(profile):
    study = study_from_api(
        _ms_trial([("All", "OTHER", ["Ocrelizumab"])], "Ocrelizumab in Patients Switching From Natalizumab")
    )
    study.arms, study.interventions[0].arm_labels = [], []
    study.interventions.append(copy.deepcopy(study.interventions[0]))
    study.interventions[1].name = "Natalizumab"
    result = Classifier(profile).classify(study)
    assert result.tested_strategies == ["anti_cd20"]
    assert "dmt_other" not in result.strategies  # natalizumab was given before the study


def test_a_therapy_named_only_after_versus_with_nothing_before_it_is_tested(profile):
    study = study_from_api(_ms_trial([], "Best Available Therapy Versus Autologous Hematopoietic Stem Cell Transplant"))
    study.interventions = []
    assert Classifier(profile).classify(study).roles == {"ahsct": TESTED}


def test_strategies_counts_a_trial_registered_twice_once(cli, built):
    result = cli("strategies", "--json")
    assert result.exit_code == 0, result.stderr
    remyelination = next(s for s in result.json()["strategies"] if s["id"] == "remyelination")
    listed = remyelination["recruiting_studies"] + remyelination["stage_studies"]
    everything = {*listed, *remyelination["about_studies"], *remyelination["comparator_studies"]}
    shown = cli("show", "NCT05338450", "--json").json()
    assert {"NCT05338450", "2024-513099-17-00"} <= {r["id"] for r in shown["trial"]["registrations"]}
    assert len({"NCT05338450", "2024-513099-17-00"} & everything) <= 1
    assert remyelination["registrations"] > remyelination["studies"]  # RESTORE's two registrations, one trial


def test_study_page_shows_each_strategy_with_its_role_and_the_study_purpose(client):
    page = client.get("/studies/2024-515470-26-00").text
    assert 'Alemtuzumab immune reconstitution</a> <span class="role role-comparator">comparator</span>' in page
    assert 'Autologous haematopoietic stem cell transplantation</a> <span class="role role-tested">tested</span>' in page
    registry = client.get("/studies/NCT05688436").text
    assert "does not count toward their stage" in registry
    assert 'id="populations">Who it admits: Pregnant or breastfeeding women only.' in registry


def test_classification_and_its_evidence_do_not_depend_on_the_process(built_home):
    """Two processes with different string hashing give the same classification, evidence
    included (a snapshot's content hash rests on it: the Dask engine classifies in workers)."""
    import subprocess
    import sys

    script = (
        "import hashlib, json, sys; from pathlib import Path; from curemap.store import Store; "
        "from curemap.profile import load_profile; from curemap.enrich.classify import Classifier; "
        "c = Classifier(load_profile()); h = hashlib.sha256(); "
        "[h.update(json.dumps(c.classify(s).to_dict(), sort_keys=True).encode()) for s in Store.open(Path(sys.argv[1])).iter_studies()]; "
        "print(h.hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script, str(built_home)], env={**__import__("os").environ, "PYTHONHASHSEED": seed},
            capture_output=True, text=True, check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1
