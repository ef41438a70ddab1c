"""The EU CTIS export on the real file: every row parses, comma-joined lists split where the
items are distinct, and a bad row is reported by name instead of stopping an import."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from curemap.model import PartialDate
from curemap.sources import ctgov_csv, ctis_csv
from curemap.sources.files import detect_format, iter_file_records
from tests.conftest import CTGOV_CSV, CTIS_CSV


def rows() -> list[dict[str, str]]:
    with CTIS_CSV.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def studies():
    with CTIS_CSV.open(encoding="utf-8-sig", newline="") as handle:
        records = list(ctis_csv.iter_records(handle, str(CTIS_CSV)))
    assert [r.error for r in records if r.error] == []
    return {r.study.id: r.study for r in records}


def test_every_row_parses(studies):
    assert len(studies) == len(rows()) == 104
    assert all(re.fullmatch(r"\d{4}-\d{6}-\d{2}-\d{2}", trial_id) for trial_id in studies)
    assert all(s.source == "ctis" and s.study_type == "INTERVENTIONAL" for s in studies.values())
    assert all(s.phase is not None and s.status is not None for s in studies.values())


def test_file_with_bom_is_detected_and_imported():
    assert CTIS_CSV.read_bytes().startswith(b"\xef\xbb\xbf")
    assert detect_format(CTIS_CSV) == "ctis_csv"
    assert sum(r.error is None for r in iter_file_records(CTIS_CSV)) == 104


def test_bom_left_on_the_header_still_parses():
    text = CTIS_CSV.read_text(encoding="utf-8")  # not utf-8-sig: the BOM stays on "Trial number"
    assert text.startswith("\ufeff")
    records = list(ctis_csv.iter_records(io.StringIO(text, newline=""), "x"))
    assert sum(r.error is None for r in records) == 104


def test_single_country_trial(studies):
    s = studies["2024-513193-22-00"]
    assert s.brief_title == s.official_title
    # The title's embedded line break is folded into one line.
    assert s.brief_title.endswith("relapsing remitting multiple sclerosis (BLOOMS): a randomized controlled trial")
    assert s.secondary_ids == []  # Protocol code is N/A
    assert s.status == "RECRUITING"
    assert [(loc.country, loc.status) for loc in s.locations] == [("Netherlands", "RECRUITING")]
    assert s.total_locations == 1
    assert (s.phase, s.phase_raw) == ("phase3", "Phase III and phase IV (Integrated)")
    assert s.enrollment == 296 and s.enrollment_type is None
    assert (s.eligibility.sex, s.eligibility.std_ages) == ("ALL", ["ADULT", "OLDER_ADULT"])
    assert s.conditions == ["Multiple Sclerosis"]
    assert [(i.name, i.type) for i in s.interventions] == [
        ("Ocrevus 300 mg concentrate for solution for infusion", "DRUG")
    ]
    assert [o.kind for o in s.outcomes] == ["primary"]  # secondary endpoints are N/A
    assert s.outcomes[0].measure.startswith("The two co-primary end points are the difference of percentage")
    assert s.start_date == PartialDate("2022-03-16", "day")
    assert s.first_posted == PartialDate("2024-09-17", "day")
    assert s.last_update_posted == PartialDate("2024-09-17", "day")
    assert s.completion_date is None
    assert (s.lead_sponsor.name, s.lead_sponsor.sponsor_class) == (
        "Amsterdam UMC Stichting",
        "Hospital/Clinic/Other health care facility",
    )
    assert s.collaborators == [] and not s.has_results


def test_country_statuses_split_on_country_boundaries(studies):
    s = studies["2025-521127-73-00"]
    assert [(loc.country, loc.status) for loc in s.locations] == [
        ("Croatia", "RECRUITING"),
        ("Bulgaria", "NOT_YET_RECRUITING"),
        ("Czechia", "NOT_YET_RECRUITING"),
        ("Hungary", "RECRUITING"),
    ]
    not_authorised = studies["2023-505283-11-00"]
    assert ("France", "WITHDRAWN") in [(loc.country, loc.status) for loc in not_authorised.locations]


def test_every_country_is_a_location(studies):
    for row in rows():
        listed = row["Location(s) and recruitment status"].count(":")
        assert len(studies[row["Trial number"]].locations) == listed


def test_products_are_split_deduplicated_and_keep_their_own_commas(studies):
    assert [i.name for i in studies["2025-521127-73-00"].interventions] == ["Ublituximab"]
    assert [i.name for i in studies["2024-519800-28-00"].interventions] == ["Fenebrutinib"]
    names = [i.name for i in studies["2023-503190-38-00"].interventions]
    assert "Glatiramyl 40 mg/ml, oplossing voor injectie in een voorgevulde spuit" in names
    assert "Tecfidera 240 mg gastro-resistant hard capsules" in names
    assert len(names) == len({n.casefold() for n in names})
    assert studies["2023-508656-19-00"].interventions == []  # Product is N/A


def test_conditions_split_only_when_they_are_a_list(studies):
    assert studies["2024-513099-17-00"].conditions == ["Internuclear ophthalmoparesis", "Multiple sclerosis"]
    [sentence] = studies["2024-519235-42-00"].conditions
    assert sentence.startswith("Patients with confirmed multiple sclerosis (MS), with worse prognosis")


def test_numbered_endpoints_become_one_outcome_each(studies):
    s = studies["2022-502609-14-00"]
    secondary = [o.measure for o in s.outcomes if o.kind == "secondary"]
    assert secondary[:4] == [
        "Time to onset of cCDP12",
        "Time to onset of CDP12",
        "Time to onset of cCDP24",
        "Time to onset of CDP24",
    ]
    assert [o.measure for o in s.outcomes if o.kind == "primary"] == ["Annualized relapse rate"]


def test_confidential_endpoints_are_skipped(studies):
    [row] = [r for r in rows() if r["Primary endpoint"] == "Commercially confidential information"]
    assert [o for o in studies[row["Trial number"]].outcomes if o.kind == "primary"] == []


def test_completion_prefers_the_global_end(studies):
    ended = studies["2023-509078-45-00"]  # End date 11/10/2024, Global end 21/11/2024
    assert ended.completion_date == PartialDate("2024-11-21", "day")
    assert ended.has_results  # Trial results: Yes
    assert studies["2024-513099-17-00"].completion_date == PartialDate("2025-08-15", "day")  # no global end


def test_sponsor_and_co_sponsors(studies):
    duplicate = studies["2022-502664-21-00"]  # "Amsterdam UMC, Amsterdam UMC"
    assert duplicate.lead_sponsor.name == "Amsterdam UMC" and duplicate.collaborators == []
    pair = studies["2023-508656-19-00"]
    assert pair.lead_sponsor.name == "CCDRD Cooperative Clinical Drug Research and Development AG"
    assert [(c.name, c.sponsor_class) for c in pair.collaborators] == [
        ("Pharos Pharmaceutical Oriented Services Ltd.", "Pharmaceutical company")
    ]


def test_sex_and_paediatric_age_groups(studies):
    assert studies["2024-517845-14-00"].eligibility.sex == "MALE"
    assert studies["2023-505283-11-00"].eligibility.sex == "FEMALE"
    assert studies["2023-505624-56-00"].eligibility.std_ages == ["CHILD"]


def _csv_text(changed_rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(changed_rows[0]))
    writer.writeheader()
    writer.writerows(changed_rows)
    return out.getvalue()


def test_bad_trial_number_is_an_error_record_naming_it():
    good, bad, unnamed = rows()[:3]
    bad["Trial number"] = "2025-52112773-00"
    unnamed["Trial number"] = ""
    records = list(ctis_csv.iter_records(io.StringIO(_csv_text([good, bad, unnamed])), "edited.csv"))
    assert records[0].error is None
    assert records[1].source_id == "2025-52112773-00"
    assert records[1].error == "Trial number '2025-52112773-00' is not an EU CT number (YYYY-NNNNNN-NN-NN)"
    assert records[1].study is None and json.loads(records[1].raw)["Trial number"] == "2025-52112773-00"
    assert records[2].source_id == "row 4" and "is not an EU CT number" in records[2].error


def test_unknown_age_group_is_an_error_record():
    row = rows()[0]
    row["Age group"] = "In utero"
    [record] = ctis_csv.iter_records(io.StringIO(_csv_text([row])), "x")
    assert record.source_id == row["Trial number"]
    assert "'in utero' is not a CTIS age group" in record.error


def test_looks_like_tells_the_two_csv_formats_apart():
    ctis_header = next(csv.reader(CTIS_CSV.open(encoding="utf-8-sig", newline="")))
    ctgov_header = next(csv.reader(CTGOV_CSV.open(encoding="utf-8-sig", newline="")))
    assert ctis_csv.looks_like(ctis_header) and not ctgov_csv.looks_like(ctis_header)
    assert ctgov_csv.looks_like(ctgov_header) and not ctis_csv.looks_like(ctgov_header)
    assert ctis_csv.looks_like(["\ufeff" + ctis_header[0], *ctis_header[1:]])
