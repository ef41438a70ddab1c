"""Property test: real records of every importable format, mutated at random, fed to `curemap import`.

Whatever a record holds, the import ends with exit 0 (a record-level fault never sinks its file),
never a traceback; the untouched record beside the mutated one lands; the store passes SQLite's
integrity check and holds no value of the wrong type.
"""

from __future__ import annotations

import copy
import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from curemap.store import Store
from tests.conftest import CTGOV_CSV, CTIS_CSV, RAW_V2, SHARED_DATA

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

LITERATURE_CSV = SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"
BASELINE = SHARED_DATA / "pubmed" / "medline16n0902.xml.gz"

GOOD_STUDY = "NCT03064438"

TRICKY_TEXT = [
    "",
    " ",
    "N/A",
    "lots",
    "-5",
    "1e308",
    "inf",
    "nan",
    str(10**30),
    "40.0",
    "2024-13-45",
    "2024-02-30",
    "31/02/2024",
    "0000",
    "True",
    "Multiple Sclerosis",
    "a|b|c",
    "NCT0",
    "2021 Feb 30",
    "=HYPERLINK(\"http://x\")",
]
"""Values registries never send but a saved or hand-edited file may hold."""

texts = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn"), blacklist_characters="\x00") | st.sampled_from("\t\n\r"),
    max_size=60,
)
cell_values = st.sampled_from(TRICKY_TEXT) | texts | st.integers().map(str) | st.floats().map(str)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(TRICKY_TEXT)
    | texts
)
HOSTILE_JSON = [10**30, -5, 1e308, 2**63, "lots", "north", "Multiple Sclerosis", {"name": "MS"}, [{"a": 1}], [], {}]
"""Wrong-typed values that issue 13 found sinking files or stored as they came."""

json_values = st.sampled_from(HOSTILE_JSON) | st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=8,
)


def store_checks(home: Path) -> set[str]:
    """The store is sound and its typed columns hold their types; returns the stored record ids."""
    store = Store.open(home)
    try:
        with store.engine.connect() as conn:
            sql = conn.exec_driver_sql
            assert sql("PRAGMA integrity_check").scalar() == "ok"
            assert sql("SELECT count(*) FROM studies WHERE typeof(enrollment) NOT IN ('integer', 'null')").scalar() == 0
            assert sql("SELECT count(*) FROM studies WHERE enrollment < 0").scalar() == 0
            assert sql(
                "SELECT count(*) FROM study_locations WHERE NOT (lat IS NULL OR (typeof(lat) IN ('real', 'integer') "
                "AND lat BETWEEN -90 AND 90)) OR NOT (lon IS NULL OR (typeof(lon) IN ('real', 'integer') "
                "AND lon BETWEEN -180 AND 180))"
            ).scalar() == 0
            assert sql("SELECT count(*) FROM study_conditions WHERE typeof(condition) != 'text'").scalar() == 0
            for column in ("start_date", "completion_date", "last_update_posted"):
                dates = [row[0] for row in sql(f"SELECT {column} FROM studies WHERE {column} IS NOT NULL")]
                assert all(len(d) in (4, 7, 10) and d[:4].isdigit() for d in dates), column
            return {row[0] for row in sql("SELECT id FROM studies UNION SELECT id FROM papers")}
    finally:
        store.close()


def imports_cleanly(cli, home: Path, path: Path, good: str) -> None:
    result = cli("import", path, "--json")
    assert result.exit_code in (0, 1)
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr, result.stderr
    assert result.exit_code == 0, result.stderr  # a record-level fault rejects the record, never the file
    assert good not in {problem["record"] for problem in result.json()["rejected"]}
    assert good in store_checks(home)


# -- raw API v2 JSON -------------------------------------------------------------------------


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON value, as the keys and indexes leading to it."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


RAW_STUDIES = {p.stem: json.loads(p.read_text()) for p in sorted(RAW_V2.glob("NCT*.json")) if p.stem != GOOD_STUDY}
RAW_PATHS = {nct_id: [p for p in _paths(study) if p] for nct_id, study in RAW_STUDIES.items()}
READ_PATHS = {
    nct_id: [p for p in paths if p[0] == "protocolSection" and len(p) <= 6] for nct_id, paths in RAW_PATHS.items()
}
"""The places the connector reads most (results tables aside), mutated more often than the rest."""


def _parent(value: Any, path: tuple) -> Any:
    """The container holding the place ``path`` names, or ``None`` once an earlier mutation moved it."""
    for key in path[:-1]:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value if isinstance(value, dict | list) else None


@st.composite
def mutated_studies(draw) -> dict:
    """A real study with one to three places replaced by any JSON value or deleted."""
    nct_id = draw(st.sampled_from(sorted(RAW_STUDIES)))
    study = copy.deepcopy(RAW_STUDIES[nct_id])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(READ_PATHS[nct_id]) | st.sampled_from(RAW_PATHS[nct_id]))
        parent, last = _parent(study, path), path[-1]
        if isinstance(parent, dict) and last in parent and draw(st.booleans()):
            del parent[last]
        elif (isinstance(parent, dict) and isinstance(last, str)) or (
            isinstance(parent, list) and isinstance(last, int) and last < len(parent)
        ):  # an earlier change may have put a list where the path expects an object, or the reverse
            parent[last] = draw(json_values)
    return study


@FUZZ
@given(study=mutated_studies(), layout=st.sampled_from(["lines", "page", "pretty", "list", "gzip"]))
def test_mutated_raw_api_studies(cli, home, tmp_path, study, layout):
    good = json.loads((RAW_V2 / f"{GOOD_STUDY}.json").read_text())
    path = tmp_path / "studies.json"
    if layout == "lines":
        path.write_text(json.dumps(good) + "\n" + json.dumps(study) + "\n")
    elif layout == "list":
        path.write_text(json.dumps([study, good]))
    else:
        text = json.dumps({"studies": [study, good]}, indent=2 if layout == "pretty" else None)
        if layout == "gzip":
            path = tmp_path / "studies.json.gz"
            path.write_bytes(gzip.compress(text.encode()))
        else:
            path.write_text(text)
    imports_cleanly(cli, home, path, GOOD_STUDY)


# -- the three CSV formats --------------------------------------------------------------------


def _csv(source: Path, rows: int) -> tuple[list[str], list[dict[str, str]]]:
    with source.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames), [row for _, row in zip(range(rows), reader)]


CSV_SOURCES = {
    "ctgov": (CTGOV_CSV, "NCTId", lambda row: row["NCTId"]),
    "ctis": (CTIS_CSV, "Trial number", lambda row: row["Trial number"]),
    "literature": (LITERATURE_CSV, "pmid", lambda row: f"PMID:{row['pmid']}"),
}
TYPED_COLUMNS = {
    "ctgov": ["EnrollmentCount", "TotalLocations", "StartDate", "CompletionDate", "HasResults", "Conditions"],
    "ctis": ["Number of participants enrolled", "Start date", "Decision date", "Age group", "Gender"],
    "literature": ["pmid", "link", "citation", "abstract"],
}
"""The cells with a type or a structure, mutated more often than free text."""
CSV_ROWS = {name: _csv(source, 30) for name, (source, _, _) in CSV_SOURCES.items()}


@FUZZ
@pytest.mark.parametrize("name", sorted(CSV_SOURCES))
@given(data=st.data())
def test_mutated_csv_rows(cli, home, tmp_path, name, data):
    header, rows = CSV_ROWS[name]
    _, id_column, record_id = CSV_SOURCES[name]
    good = rows[0]
    row = dict(data.draw(st.sampled_from(rows[1:])))
    columns = st.sampled_from(TYPED_COLUMNS[name]) | st.sampled_from(header)
    for column in data.draw(st.lists(columns, min_size=1, max_size=4)):
        if column != id_column or data.draw(st.booleans()):
            row[column] = data.draw(cell_values)
    path = tmp_path / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows([row, good])
    imports_cleanly(cli, home, path, record_id(good))


# -- PubMed XML --------------------------------------------------------------------------------


def _citations(count: int) -> list[bytes]:
    with gzip.open(BASELINE) as handle:
        found = []
        for _, element in etree.iterparse(handle, tag="MedlineCitation"):
            found.append(etree.tostring(element))
            if len(found) == count:
                return found
    return found


CITATIONS = _citations(20)
GOOD_PMID = "PMID:" + etree.fromstring(CITATIONS[0]).findtext("PMID")


@st.composite
def mutated_citations(draw) -> bytes:
    citation = etree.fromstring(draw(st.sampled_from(CITATIONS[1:])))
    for _ in range(draw(st.integers(1, 3))):
        elements = list(citation.iter())
        element = draw(st.sampled_from(elements))
        action = draw(st.sampled_from(["text", "delete", "attribute", "duplicate"]))
        if action == "delete" and element is not citation:
            element.getparent().remove(element)
        elif action == "attribute":
            element.set(draw(st.sampled_from(["MajorTopicYN", "ValidYN", "Label", "IdType", "EIdType"])), draw(texts))
        elif action == "duplicate" and element is not citation:
            element.addnext(copy.deepcopy(element))
        else:
            element.text = draw(st.sampled_from(TRICKY_TEXT) | texts)
    return etree.tostring(citation)


@FUZZ
@given(citation=mutated_citations())
def test_mutated_pubmed_citations(cli, home, tmp_path, citation):
    path = tmp_path / "citations.xml"
    path.write_bytes(b"<MedlineCitationSet>" + citation + CITATIONS[0] + b"</MedlineCitationSet>")
    imports_cleanly(cli, home, path, GOOD_PMID)
