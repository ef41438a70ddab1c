"""`curemap import` on the files of issue 13: real API pages saved as they come, records of the
wrong type, and compressed, cut-off, oversized or deeply nested files. Each test is named after
the reproduction it replays; a bad record is rejected by name and the rest of its file imports,
a file that cannot be read whole stores nothing, and nothing ends in a traceback."""

from __future__ import annotations

import copy
import csv
import gzip
import io
import json
import subprocess
import sys
import tracemalloc

import pytest

from curemap.sources.files import iter_file_records
from curemap.store import Store
from tests.conftest import CTGOV_CSV, CTIS_CSV, RAW_V2, SHARED_DATA

PAGES = sorted(RAW_V2.glob("page_*.json"))
STUDY_FILES = sorted(RAW_V2.glob("NCT*.json"))
BASELINE = SHARED_DATA / "pubmed" / "medline16n0902.xml.gz"
LITERATURE_CSV = SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"


def real_study(nct_id: str = "NCT02210780") -> dict:
    return json.loads((RAW_V2 / f"{nct_id}.json").read_text())


GOOD = "NCT03064438"
"""The untouched study every file of bad records also carries, which must import."""


def stored_ids(home, table: str = "studies") -> set[str]:
    store = Store.open(home)
    try:
        with store.engine.connect() as conn:
            return {row[0] for row in conn.exec_driver_sql(f"SELECT id FROM {table}")}
    finally:
        store.close()


def import_json(cli, path):
    result = cli("import", path, "--json")
    assert "Traceback" not in result.stderr and "Aborted!" not in result.stderr
    assert "unexpected" not in result.stderr
    return result


def json_lines(tmp_path, *studies) -> object:
    path = tmp_path / "studies.jsonl"
    path.write_text("".join(json.dumps(study) + "\n" for study in studies))
    return path


def rejected_one(cli, home, tmp_path, bad: dict) -> dict:
    """Import the bad study beside a good one; the bad one is rejected by name, the good one lands."""
    result = import_json(cli, json_lines(tmp_path, bad, real_study(GOOD)))
    assert result.exit_code == 0, result.stderr
    payload = result.json()
    assert payload["imported"] == 1
    [problem] = payload["rejected"]
    assert problem["record"] == "NCT02210780"
    assert len(problem["error"]) < 200  # the value is cut short, the record never echoed
    assert stored_ids(home) == {GOOD}
    return problem


def with_change(change) -> dict:
    study = real_study()
    change(study["protocolSection"])
    return study


def enrollment(value):
    return with_change(lambda p: p["designModule"]["enrollmentInfo"].__setitem__("count", value))


# -- item 2: a real API page saved as it comes ------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_one_line_studies_page_imports(cli, home, tmp_path, page):
    document = json.loads(page.read_text())
    minified = tmp_path / page.name
    minified.write_text(json.dumps(document))
    result = import_json(cli, minified)
    assert result.exit_code == 0, result.stderr
    assert result.json()["rejected"] == []
    assert stored_ids(home) == {s["protocolSection"]["identificationModule"]["nctId"] for s in document["studies"]}


def test_a_one_line_list_of_studies_imports(cli, home, tmp_path):
    studies = [json.loads(path.read_text()) for path in STUDY_FILES]
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(studies))
    result = import_json(cli, listed)
    assert result.exit_code == 0, result.stderr
    assert result.json()["rejected"] == []
    assert stored_ids(home) == {path.stem for path in STUDY_FILES}


def test_a_one_line_page_gzipped_imports(cli, home, tmp_path):
    document = json.loads(PAGES[0].read_text())
    packed = tmp_path / "page.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(document).encode()))
    result = import_json(cli, packed)
    assert result.exit_code == 0, result.stderr
    assert len(stored_ids(home)) == len(document["studies"])


def test_json_lines_of_single_studies_still_import(cli, home, tmp_path):
    result = import_json(cli, json_lines(tmp_path, *(json.loads(p.read_text()) for p in STUDY_FILES)))
    assert result.exit_code == 0, result.stderr
    assert stored_ids(home) == {path.stem for path in STUDY_FILES}


# -- item 3: one bad record sank its file with a traceback --------------------------------------


def test_conditions_given_as_objects_reject_only_that_record(cli, home, tmp_path):
    bad = with_change(lambda p: p["conditionsModule"].__setitem__("conditions", [{"name": "MS"}]))
    problem = rejected_one(cli, home, tmp_path, bad)
    assert problem["error"] == "protocolSection.conditionsModule.conditions[0] {'name': 'MS'}: Input should be a valid string"


def test_an_enrollment_of_ten_to_the_thirty_rejects_only_that_record(cli, home, tmp_path):
    problem = rejected_one(cli, home, tmp_path, enrollment(10**30))
    assert problem["error"].startswith("protocolSection.designModule.enrollmentInfo.count 1000000000000")
    assert problem["error"].endswith("Input should be less than or equal to 1000000000")


def test_a_latitude_of_north_rejects_only_that_record(cli, home, tmp_path):
    bad = with_change(
        lambda p: p["contactsLocationsModule"]["locations"][0].__setitem__("geoPoint", {"lat": "north", "lon": 2.0})
    )
    problem = rejected_one(cli, home, tmp_path, bad)
    assert problem["error"] == (
        "protocolSection.contactsLocationsModule.locations[0].geoPoint.lat 'north': Input should be a valid number"
    )


# -- item 4: wrong types were stored ------------------------------------------------------------


def test_an_enrollment_of_lots_is_rejected_not_stored_as_text(cli, home, tmp_path):
    problem = rejected_one(cli, home, tmp_path, enrollment("lots"))
    assert problem["error"] == "protocolSection.designModule.enrollmentInfo.count 'lots': Input should be a valid integer"


def test_conditions_given_as_one_string_are_rejected_not_split_into_letters(cli, home, tmp_path):
    bad = with_change(lambda p: p["conditionsModule"].__setitem__("conditions", "Multiple Sclerosis"))
    problem = rejected_one(cli, home, tmp_path, bad)
    assert problem["error"] == "protocolSection.conditionsModule.conditions 'Multiple Sclerosis': Input should be a valid list"


@pytest.mark.parametrize("count", [-5, 1e308], ids=["minus_five", "1e308"])
def test_a_negative_or_huge_enrollment_is_rejected_not_shown(cli, home, tmp_path, count):
    problem = rejected_one(cli, home, tmp_path, enrollment(count))
    assert problem["error"].startswith("protocolSection.designModule.enrollmentInfo.count")


def test_an_impossible_date_is_rejected_not_silently_dropped(cli, home, tmp_path):
    bad = with_change(lambda p: p["statusModule"]["startDateStruct"].__setitem__("date", "2024-13-45"))
    problem = rejected_one(cli, home, tmp_path, bad)
    assert problem["error"].startswith("protocolSection.statusModule.startDateStruct.date '2024-13-45': not a calendar date")


def csv_with_bad_row(tmp_path, source, name: str, column: str, value: str, rows: int = 3):
    """The first ``rows`` real rows of ``source``; the first of them has ``column`` set to ``value``."""
    with source.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        kept = [row for _, row in zip(range(rows), reader)]
        header = reader.fieldnames
    kept[0][column] = value
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(kept)
    return path, kept


CSV_CASES = [
    (CTGOV_CSV, "EnrollmentCount", "lots", "NCTId", "valid integer"),
    (CTGOV_CSV, "EnrollmentCount", "-5", "NCTId", "greater than or equal to 0"),
    (CTGOV_CSV, "EnrollmentCount", "1e308", "NCTId", "valid integer"),
    (CTGOV_CSV, "EnrollmentCount", str(10**30), "NCTId", "less than or equal to 1000000000"),
    (CTGOV_CSV, "StartDate", "2024-13-45", "NCTId", "not a calendar date"),
    (CTGOV_CSV, "HasResults", "perhaps", "NCTId", "valid boolean"),
    (CTIS_CSV, "Number of participants enrolled", "lots", "Trial number", "valid integer"),
    (CTIS_CSV, "Start date", "45/13/2024", "Trial number", "not a calendar date"),
    (LITERATURE_CSV, "pmid", "lots", None, "not a PubMed id"),
]


@pytest.mark.parametrize(
    "source,column,value,id_column,rule", CSV_CASES, ids=[f"{c[0].stem}-{c[1]}-{c[2][:8]}" for c in CSV_CASES]
)
def test_a_csv_cell_of_the_wrong_type_rejects_only_its_row(cli, home, tmp_path, source, column, value, id_column, rule):
    path, rows = csv_with_bad_row(tmp_path, source, f"bad-{source.name}", column, value)
    result = import_json(cli, path)
    assert result.exit_code == 0, result.stderr
    payload = result.json()
    [problem] = payload["rejected"]
    assert problem["record"] == (rows[0][id_column] if id_column else "row 2")
    assert problem["error"].startswith(f"{column} ") and rule in problem["error"]
    assert payload["imported"] == 2


# -- compressed, cut-off, oversized and nested files -------------------------------------------


@pytest.mark.parametrize("compressed", [True, False], ids=["xml.gz", "xml"])
def test_a_truncated_pubmed_xml_gz_imports_nothing(cli, home, tmp_path, compressed):
    data = BASELINE.read_bytes()
    cut = tmp_path / ("medline-cut.xml.gz" if compressed else "medline-cut.xml")
    cut.write_bytes(data[:200_000] if compressed else gzip.decompress(data)[:2_000_000])
    result = import_json(cli, cut)
    assert result.exit_code == 1
    broken = "the gzip data is cut off or corrupt" if compressed else "the XML is cut off or malformed"
    assert f"{cut.name}: {broken}" in result.stderr
    assert "nothing was imported" in result.stderr
    assert stored_ids(home, "papers") == set()


def test_a_fake_gzip_names_the_file(cli, home, tmp_path):
    fake = tmp_path / "fake.csv.gz"
    fake.write_bytes(b"\x1f\x8b" + b"this is not gzip data at all" * 10)
    result = import_json(cli, fake)
    assert result.exit_code == 1
    assert "fake.csv.gz: the gzip data is cut off or corrupt" in result.stderr


@pytest.mark.parametrize("source", [CTGOV_CSV, RAW_V2 / "page_NCT03281889.json"], ids=lambda p: p.suffix)
def test_a_truncated_gzip_names_the_file_and_stores_nothing(cli, home, tmp_path, source):
    packed = gzip.compress(source.read_bytes())
    cut = tmp_path / f"cut{source.suffix}.gz"
    cut.write_bytes(packed[: len(packed) * 2 // 3])
    result = import_json(cli, cut)
    assert result.exit_code == 1
    assert f"{cut.name}: the gzip data is cut off or corrupt" in result.stderr
    assert stored_ids(home) == set()


def test_a_300_kb_json_gz_is_read_in_bounded_memory(tmp_path):
    page = {"studies": [real_study("NCT03475563")] * 4000, "totalCount": 4000}
    packed = tmp_path / "page.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(page, indent=1).encode(), compresslevel=9))
    assert 200_000 < packed.stat().st_size < 400_000
    reading = subprocess.run([sys.executable, "-c", READ_ALL, str(packed)], capture_output=True, text=True, check=True)
    records, errors, peak_kib = map(int, reading.stdout.split())
    assert (records, errors) == (4000, 0)
    assert peak_kib < 100 * 1024  # one study at a time, not the 47 MB document (690 MB before)


READ_ALL = """
import sys
from pathlib import Path
from curemap.sources.files import iter_file_records
records = list(r.error for r in iter_file_records(Path(sys.argv[1])))
# The process's own high-water mark: ru_maxrss would count the forking test process too.
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(len(records), sum(1 for e in records if e), peak)
"""


def test_a_json_gz_bomb_is_refused_in_bounded_memory(cli, home, tmp_path):
    study = real_study(GOOD)
    study["protocolSection"]["descriptionModule"]["briefSummary"] = "a" * 100_000_000
    bomb = tmp_path / "bomb.json.gz"
    with gzip.open(bomb, "wt", compresslevel=9) as handle:
        handle.write(json.dumps({"studies": [study]}))
    assert bomb.stat().st_size < 200_000
    tracemalloc.start()
    try:
        result = import_json(cli, bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1
    assert "bomb.json.gz: one study is longer than 16 MiB of JSON" in result.stderr
    assert peak < 100 * 2**20


def test_deeply_nested_json_rejects_that_record(cli, home, tmp_path):
    deep = real_study()
    deep["extra"] = json.loads("[" * 900 + "]" * 900)
    deeper = '{"protocolSection": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = tmp_path / "deep.jsonl"
    lines.write_text(json.dumps(deep) + "\n" + deeper + "\n" + json.dumps(real_study(GOOD)) + "\n")
    result = import_json(cli, lines)
    assert result.exit_code == 0, result.stderr
    problems = {p["record"]: p["error"] for p in result.json()["rejected"]}
    assert problems == {
        "line 1": "nested deeper than 64 levels, more than any study",
        "line 2": "nested deeper than 64 levels, more than any study",
    }
    assert stored_ids(home) == {GOOD}


def test_deeply_nested_json_in_a_page_rejects_that_study(cli, home, tmp_path):
    deep = real_study()
    deep["protocolSection"]["designModule"]["designInfo"] = json.loads("[" * 900 + "]" * 900)
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"studies": [deep, real_study(GOOD)]}, indent=1))
    result = import_json(cli, page)
    assert result.exit_code == 0, result.stderr
    [problem] = result.json()["rejected"]
    assert problem == {"source": "ctgov", "record": "studies[0]", "error": "nested deeper than 64 levels, more than any study"}
    assert stored_ids(home) == {GOOD}


def test_a_deeply_nested_json_document_names_the_file(cli, home, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"protocolSection": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}")
    result = import_json(cli, deep)
    assert result.exit_code == 1
    assert "deep.json: nested deeper than 64 levels" in result.stderr


def test_a_csv_field_over_128_kb_names_the_file_and_line(cli, home, tmp_path):
    path, _ = csv_with_bad_row(tmp_path, CTGOV_CSV, "huge.csv", "BriefTitle", "x" * 200_000)
    result = import_json(cli, path)
    assert result.exit_code == 1
    assert "huge.csv, line 2: not readable as CSV (field larger than field limit" in result.stderr
    assert "x" * 100 not in result.stderr
    assert stored_ids(home) == set()


def test_a_latin1_csv_names_the_file(cli, home, tmp_path):
    path, _ = csv_with_bad_row(tmp_path, CTIS_CSV, "latin1.csv", "Title of the trial", "Sclérose en plaques")
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1", errors="replace"))
    result = import_json(cli, path)
    assert result.exit_code == 1
    assert "latin1.csv: not UTF-8 text" in result.stderr
    assert stored_ids(home) == set()


def test_a_4300_digit_integer_rejects_that_line_or_names_the_file(cli, home, tmp_path):
    huge = json.dumps(real_study()).replace('"count": 194', '"count": ' + "9" * 5000, 1)
    lines = tmp_path / "digits.jsonl"
    lines.write_text(json.dumps(real_study(GOOD)) + "\n" + huge + "\n")
    result = import_json(cli, lines)
    assert result.exit_code == 0, result.stderr
    assert result.json()["rejected"] == [
        {"source": "ctgov", "record": "line 2", "error": "not valid JSON: a number too long to read"}
    ]
    for document in ('{"studies": [' + huge + "]}", "[" + "9" * 5000 + "]"):
        page = tmp_path / "digits.json"
        page.write_text(document)
        result = import_json(cli, page)
        assert result.exit_code == 1
        assert "digits.json: not valid JSON (" in result.stderr and "nothing was imported" in result.stderr


def test_an_enrollment_of_ten_to_the_thirty_in_a_one_line_page_rejects_only_that_study(cli, home, tmp_path):
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"studies": [enrollment(10**30), real_study(GOOD)]}))
    result = import_json(cli, page)
    assert result.exit_code == 0, result.stderr
    [problem] = result.json()["rejected"]
    assert problem["record"] == "NCT02210780" and problem["error"].endswith("less than or equal to 1000000000")
    assert stored_ids(home) == {GOOD}


def test_a_rejected_record_is_never_named_by_a_huge_id(cli, home, tmp_path):
    bad = with_change(lambda p: p["identificationModule"].__setitem__("nctId", "NCT" + "1" * 100_000))
    result = import_json(cli, json_lines(tmp_path, real_study(GOOD), bad))
    assert result.exit_code == 0, result.stderr
    [problem] = result.json()["rejected"]
    assert problem["record"] == "line 2" and "1" * 100 not in problem["error"]
