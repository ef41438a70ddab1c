"""One trial, several registrations: linking on the real offline build, measured against the
hand-labelled dev pairs, exact identifiers on a real raw record, and what show and the page say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from curemap.enrich.registrations import LINKING_FIELDS, Features, Link, cited_numbers, disagreements, group, link_studies
from curemap.model import Study
from curemap.store import Store
from curemap.store.kinds import STUDY
from curemap.web import create_app
from tests.conftest import CTIS_CSV, RAW_V2

LABELS = Path(__file__).parent / "data" / "registrations"
RESTORE_CTIS, RESTORE_NCT = "2024-513099-17-00", "NCT05338450"
SCRIPT = '<script>alert("x")</script>'
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
SISTERS = [
    RESTORE_CTIS, RESTORE_NCT,
    "2022-502609-14-00", "NCT04586010", "NCT04586023", "2022-502611-10-00", "NCT04544449",
    "2023-506467-34-00", "NCT04544436", "2023-506515-18-00", "NCT04548999",
    "2023-509345-12-00", "2023-509372-41-00", "NCT05147220", "NCT05156281",
]
"""RESTORE and sister trials whose titles are near copies (fenebrutinib, ocrelizumab higher dose, remibrutinib)."""


def raw_record(folder: Path, secondary_id: str, title: str | None = None) -> Path:
    """A real raw API v2 record (a UCB study unrelated to any CTIS trial) with its secondary id replaced."""
    record = json.loads((RAW_V2 / "NCT02552212.json").read_text(encoding="utf-8"))
    identification = record["protocolSection"]["identificationModule"]
    identification["secondaryIdInfos"] = [{"id": secondary_id, "type": "OTHER"}]
    if title:
        identification["briefTitle"] = title
    path = folder / "NCT02552212-edited.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_restore_registrations_name_each_other(cli, built):
    for record_id, other in ((RESTORE_NCT, RESTORE_CTIS), (RESTORE_CTIS, RESTORE_NCT)):
        shown = cli("show", record_id, "--json")
        assert shown.exit_code == 0, shown.stderr
        trial = shown.json()["trial"]
        assert trial["id"] == RESTORE_NCT
        assert [r["id"] for r in trial["registrations"]] == [RESTORE_CTIS, RESTORE_NCT]
        assert {r["via"] for r in trial["registrations"]} == {"title"}
        status = next(d for d in trial["disagreements"] if d["field"] == "status")
        # the CTIS record was updated last (2025-01-30), so its "ended" wins over "recruiting"
        assert (status["value"], status["from"]) == ("COMPLETED", RESTORE_CTIS)
        assert {v["value"] for v in status["values"]} == {"COMPLETED", "RECRUITING"}
        assert other in cli("show", record_id).stdout


def labelled_pairs(name: str) -> list[dict]:
    return [json.loads(line) for line in (LABELS / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def precision_recall(store: Store, pairs: list[dict]) -> tuple[float, float]:
    trials = store.trial_ids()
    linked = [trials[p["ctis"]] == trials[p["nct"]] for p in pairs]
    true_links = sum(1 for p, same in zip(pairs, linked) if same and p["same_trial"])
    return true_links / sum(linked), true_links / sum(p["same_trial"] for p in pairs)


def test_precision_and_recall_on_the_dev_labels(built_store):
    precision, recall = precision_recall(built_store, labelled_pairs("pairs-dev.jsonl"))
    assert precision >= 0.95
    assert recall >= 0.90  # 0.92 when the threshold was set


def test_every_study_has_a_trial(built_store):
    trials = built_store.trial_ids()
    assert len(trials) == built_store.count_studies()
    assert trials[RESTORE_CTIS] == trials[RESTORE_NCT] == RESTORE_NCT
    # a trial is named by one of its own registrations
    assert set(trials.values()) <= set(trials)


def test_a_pass_reads_every_field_linking_reads(built_store):
    """A pass rebuilds only the LINKING_FIELDS of each study: every study of the offline build
    (ClinicalTrials.gov, CTIS, raw API records) has the same features read that way as whole,
    and the trials stored are those linking whole studies gives."""
    whole = list(built_store.iter_studies())
    kept = list(built_store.iter_records(STUDY, fields=LINKING_FIELDS))
    assert [study.id for study in kept] == [study.id for study in whole] and {study.source for study in whole} >= {"ctgov", "ctis"}
    assert [Features.of(study) for study in kept] == [Features.of(study) for study in whole]
    assert kept[0] != whole[0]  # the rest is left out
    trials = {row["study_id"]: row["trial_id"] for row in link_studies(whole, built_store.get_study)}
    assert built_store.trial_ids() == trials


@pytest.mark.parametrize(
    ("secondary_id", "ctis_id"),
    [("CLOU064C12301", "2023-509345-12-00"), ("2024-513099-17-00", RESTORE_CTIS)],
    ids=["CTIS protocol code", "EU CT number"],
)
def test_an_identifier_links_a_raw_record_to_its_ctis_registration(cli, home, tmp_path, secondary_id, ctis_id):
    assert cli("import", CTIS_CSV, raw_record(tmp_path, secondary_id)).exit_code == 0
    store = Store.open(home)
    try:
        trials = store.trial_ids()
        assert trials[ctis_id] == trials["NCT02552212"] == "NCT02552212"
        registration = next(r for r in store.registrations_of(ctis_id) if r["id"] == ctis_id)
        assert registration["via"] == "identifier" and "NCT02552212" in registration["evidence"]
        assert sum(1 for trial_id in trials.values() if trial_id == "NCT02552212") == 2
    finally:
        store.close()


def test_a_ctis_record_naming_an_nct_number_cites_it_but_ctgov_text_does_not():
    ctis = Study(id=RESTORE_CTIS, source="ctis", brief_title="RESTORE (NCT05338450)", secondary_ids=["RESTORE-01"])
    ctgov = Study(id="NCT01234567", source="ctgov", summary="An extension of NCT05338450.", secondary_ids=["2024-513099-17"])
    assert cited_numbers(ctis) == {RESTORE_NCT}
    assert cited_numbers(ctgov) == {"2024-513099-17"}


def test_the_study_page_shows_every_registration_escaped(built, cli, tmp_path):
    hostile = f"{SCRIPT} hostile registration"
    assert cli("import", raw_record(tmp_path, RESTORE_CTIS, title=hostile)).exit_code == 0
    store = Store.open(built)
    try:
        client = TestClient(create_app(store))
        page = client.get(f"/studies/{RESTORE_NCT}").text
        section = page[page.index('id="registrations"') : page.index("</section>", page.index('id="registrations"'))]
        for study_id in ("NCT02552212", RESTORE_CTIS, RESTORE_NCT):
            assert f'href="/studies/{study_id}"' in section
        assert ESCAPED_SCRIPT in section and SCRIPT not in page
        assert "Where the registrations disagree" in section and "COMPLETED" in section and "RECRUITING" in section
        api = client.get(f"/api/studies/{RESTORE_CTIS}").json()
        assert api["trial"]["id"] == "NCT02552212"  # first posted in 2015, before NCT05338450
        assert {r["id"] for r in api["trial"]["registrations"]} == {"NCT02552212", RESTORE_CTIS, RESTORE_NCT}
    finally:
        store.close()


def test_dates_disagree_only_beyond_the_coarser_precision():
    base = {"source": "x", "status": None, "phase": None, "enrollment": None, "completion_date": None}
    registrations = [
        {**base, "id": "A", "last_update_posted": "2024-01-01", "start_date": "2023-04"},
        {**base, "id": "B", "last_update_posted": "2025-01-01", "start_date": "2023-04-12"},
    ]
    assert disagreements(registrations) == []
    registrations[0]["start_date"] = "2023-05"
    assert disagreements(registrations)[0] | {"values": None} == {"field": "start_date", "value": "2023-04-12", "from": "B", "values": None}


@pytest.fixture(scope="module")
def sisters(built_store) -> list[Study]:
    return [built_store.get_study(study_id) for study_id in SISTERS]


@settings(max_examples=20, deadline=None)
@given(order=st.permutations(range(len(SISTERS))))
def test_linking_does_not_depend_on_the_order_of_the_studies(sisters, order):
    by_id = {study.id: study for study in sisters}
    expected = link_studies(sisters, by_id.get)
    assert link_studies([sisters[i] for i in order], by_id.get) == expected
    assert {row["trial_id"] for row in expected if row["study_id"] == RESTORE_CTIS} == {RESTORE_NCT}


@given(
    edges=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=15),
    seed=st.randoms(use_true_random=False),
)
def test_grouping_is_the_same_whatever_the_order_of_ids_and_links(edges, seed):
    ids = [f"S{n}" for n in range(10)]
    links = [Link(f"S{a}", f"S{b}", "identifier", None, "") for a, b in edges]
    expected = group(ids, links)
    seed.shuffle(ids)
    seed.shuffle(links)
    assert group(ids, links) == expected
    for a, b in edges:
        assert expected[f"S{a}"] == expected[f"S{b}"]
