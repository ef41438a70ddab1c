"""The fast JSON paths give the standard library's values and text, byte for byte.

JSON import reads records with orjson (:func:`parse_json`), turns studies into dicts by
copying flat parts (:meth:`Study.to_dict`) and writes the stored text with orjson
(:func:`canonical_json`). Stored hashes are taken of that text, so each must equal what
``json.loads``, ``dataclasses.asdict`` and ``json.dumps`` give: on any value (property
tests) and on the real API v2 records, through every path a store is written by.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import gc
import gzip
import hashlib
import json
import re
import sqlite3
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curemap.sources.ctgov_json import study_from_api
from curemap.errors import InputError
from curemap.sources import files
from curemap.jsontext import parse_json
from curemap.sources.files import iter_file_records
from curemap.sources.validation import MAX_DEPTH
from curemap.store.store import canonical_json
from tests.conftest import RAW_V2, SHARED_DATA

RAW_FILES = sorted(RAW_V2.glob("*.json"))


def stdlib_canonical(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def real_studies() -> list[dict]:
    studies = []
    for path in RAW_FILES:
        document = json.loads(path.read_text(encoding="utf-8"))
        studies.extend(document.get("studies", [document]))
    return studies


ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)  # lone surrogates and controls too
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([1e-5, 1e-6, 1e-7, 1e-10, 1e16, 1e-4, 0.0001234])
INTEGERS = st.integers() | st.integers(min_value=2**62, max_value=2**66).flatmap(lambda n: st.sampled_from([n, -n]))
SCALARS = st.none() | st.booleans() | INTEGERS | FLOATS | ANY_TEXT
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(ANY_TEXT, inner, max_size=5)
    | st.dictionaries(st.integers(), inner, max_size=3)
    | st.tuples(inner, inner),
    max_leaves=30,
)


@settings(max_examples=2000, deadline=None)
@given(VALUES)
def test_canonical_json_is_the_standard_librarys_text(value):
    try:
        expected = stdlib_canonical(value)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


def parsed_or_error(parse, text: str) -> str:
    """The parsed value's repr (it tells 1, 1.0 and True apart), or the error raised."""
    try:
        return repr(parse(text))
    except (ValueError, RecursionError) as exc:
        return f"{type(exc).__name__}: {exc}"


JSON_TEXTS = st.one_of(
    VALUES.map(lambda value: json.dumps(value)),
    VALUES.map(lambda value: json.dumps(value, ensure_ascii=False, indent=1)),
    st.text(alphabet='{}[]":,. 0123456789eE+-truefalsnNaIiy\\u\n\t\ud800', max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda number: format(number, "f")),
    st.from_regex(r"\A-?[0-9]{1,25}(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?\Z"),
)


@settings(max_examples=3000, deadline=None)
@given(JSON_TEXTS)
def test_parse_json_reads_what_json_loads_reads(text):
    assert parsed_or_error(parse_json, text) == parsed_or_error(json.loads, text)


def test_parse_json_reads_the_real_records_as_json_loads_does():
    for study in real_studies():
        for text in (json.dumps(study), json.dumps(study, ensure_ascii=False)):
            assert repr(parse_json(text)) == repr(json.loads(text))


def test_a_jsonl_record_nested_to_the_limit_imports_and_one_level_deeper_is_rejected(tmp_path):
    """orjson reads 1,024 levels; the depth check still draws the line at the same level."""
    study = real_studies()[0]
    lines = []
    for depth in (MAX_DEPTH, MAX_DEPTH + 1):
        study["extra"] = json.loads("[" * depth + "]" * depth)
        lines.append(json.dumps(study))
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join(lines) + "\n")
    errors = [record.error for record in iter_file_records(path)]
    assert errors == [None, f"nested deeper than {MAX_DEPTH} levels, more than any study"]


def test_study_and_paper_dicts_are_what_asdict_gives():
    for study in real_studies():
        parsed = study_from_api(study)
        assert parsed.to_dict() == dataclasses.asdict(parsed)
        assert stdlib_canonical(parsed.to_dict()) == stdlib_canonical(dataclasses.asdict(parsed))
    papers = [r.paper for r in iter_file_records(SHARED_DATA / "pubmed" / "pubmed-29768149.xml") if r.paper]
    assert papers
    for paper in papers:
        assert paper.to_dict() == dataclasses.asdict(paper)


@pytest.mark.parametrize("layout", ["documents", "json lines"])
def test_stored_studies_are_the_standard_librarys_text_of_the_real_records(store, home, tmp_path, layout):
    """Each stored study's data and hash, imported from the real API v2 records, equal the
    standard library's canonical text of ``asdict`` of the record read by ``json.loads``."""
    studies = real_studies()
    if layout == "json lines":
        path = tmp_path / "real.jsonl"
        path.write_text("".join(json.dumps(study, ensure_ascii=False) + "\n" for study in studies), encoding="utf-8")
        files = [path]
    else:
        files = RAW_FILES
    for path in files:
        counts = store.import_records(iter_file_records(path))
        assert not counts.rejected
    expected = {}
    for study in studies:
        parsed = study_from_api(json.loads(json.dumps(study)))
        expected[parsed.id] = stdlib_canonical(dataclasses.asdict(parsed))
    with sqlite3.connect(next(home.rglob("*.db"))) as db:
        stored = {row[0]: (row[1], row[2]) for row in db.execute("SELECT id, data, content_hash FROM studies")}
    assert set(stored) == set(expected)
    for study_id, (data, content_hash) in stored.items():
        assert data == expected[study_id], study_id
        assert content_hash == hashlib.sha256(data.encode("utf-8")).hexdigest()


def streamed(path, monkeypatch) -> list:
    """The records of a file as the import gives them with every JSON document streamed."""
    with monkeypatch.context() as patched:
        patched.setattr(files, "_read_at_once", lambda path, origin: None)
        return list(iter_file_records(path))


def crafted_documents() -> dict[str, bytes]:
    first, second = real_studies()[:2]
    wrong = json.loads(json.dumps(second))
    wrong["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = "lots"
    deep = json.loads(json.dumps(second))
    deep["extra"] = json.loads("[" * 70 + "]" * 70)
    huge = json.loads(json.dumps(second))
    huge["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = 10**25
    # Pretty-printed, as a one-line document would be read as JSON Lines.
    return {
        "page": json.dumps({"studies": [first, wrong, 7], "nextPageToken": "x"}, indent=1).encode(),
        "page after a study's own part": json.dumps({"protocolSection": first["protocolSection"], "studies": [second]}, indent=1).encode(),
        "page before a study's own part": json.dumps({"studies": [second], "protocolSection": first["protocolSection"]}, indent=1).encode(),
        "studies not a list": json.dumps({"studies": {"a": 1}}, indent=1).encode(),
        "list": json.dumps([first, None, second], indent=2).encode(),
        "one study, with a BOM": b"\xef\xbb\xbf" + json.dumps(first, ensure_ascii=False, indent=1).encode(),
        "a scalar": b"12",
        "a deep study": json.dumps({"studies": [deep, first]}, indent=1).encode(),
        "a count past 64 bits": json.dumps({"studies": [huge, first]}, indent=1).encode(),
        "a repeated studies key": b'{\n"studies": [' + json.dumps(first).encode() + b'], "studies": []}',
        "two documents": json.dumps(first, indent=1).encode() + b"\n" + json.dumps([second]).encode(),
        "cut off": json.dumps({"studies": [first]}, indent=1).encode()[:-10],
        "NaN": json.dumps({"studies": [first, float("nan")]}, indent=1).encode(),
    }


@pytest.mark.parametrize("name", list(crafted_documents()))
def test_a_document_read_at_once_gives_the_streamed_records(tmp_path, monkeypatch, name):
    path = tmp_path / "document.json"
    path.write_bytes(crafted_documents()[name])
    try:
        expected = streamed(path, monkeypatch)
    except InputError as exc:
        with pytest.raises(InputError, match=re.escape(str(exc))):
            list(iter_file_records(path))
        return
    assert list(iter_file_records(path)) == expected


def test_the_real_files_read_at_once_give_the_streamed_records(tmp_path, monkeypatch):
    for path in RAW_FILES:
        assert list(iter_file_records(path)) == streamed(path, monkeypatch), path.name
    page = tmp_path / "page.json.gz"
    with gzip.open(page, "wt", encoding="utf-8") as handle:
        json.dump({"studies": real_studies(), "nextPageToken": "next"}, handle, ensure_ascii=False)
    records = list(iter_file_records(page))
    assert len(records) == len(real_studies()) and not any(record.error for record in records)
    assert records == streamed(page, monkeypatch)


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Label(str):
    pass


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [Point(1), [uuid.UUID(int=7)], {"colour": Colour.RED}, datetime.date(2024, 1, 2), {1, 2}, b"bytes", complex(1, 2)],
    ids=["dataclass", "uuid", "enum", "date", "set", "bytes", "complex"],
)
def test_canonical_json_refuses_what_the_standard_library_refuses(value):
    """orjson writes dataclasses, UUIDs, enums and dates; the stored text must not hold what
    ``json.dumps`` would refuse."""
    with pytest.raises(TypeError):
        stdlib_canonical(value)
    with pytest.raises(TypeError):
        canonical_json(value)


def test_canonical_json_writes_subclasses_as_the_standard_library_does():
    value = {Label("key"): [Level.HIGH, Label("text"), 1e-7, (1, "type-2 1e-5")], "n": float("inf")}
    assert canonical_json(value) == stdlib_canonical(value)


def test_an_import_leaves_the_collectors_thresholds_as_it_found_them(store, tmp_path):
    before = gc.get_threshold()
    path = tmp_path / "real.jsonl"
    path.write_text("".join(json.dumps(study) + "\n" for study in real_studies()), encoding="utf-8")
    store.import_records(iter_file_records(path))
    assert gc.get_threshold() == before

    def failing():
        yield from iter_file_records(path)
        raise InputError("cut off")

    with pytest.raises(InputError):
        store.import_records(failing())
    assert gc.get_threshold() == before


def test_reimporting_the_real_records_stores_the_same_text_and_logs_nothing(store, home, tmp_path):
    """A record that expresses every field is stored as it came; imported again it is unchanged."""
    path = tmp_path / "real.jsonl"
    path.write_text("".join(json.dumps(study) + "\n" for study in real_studies()), encoding="utf-8")
    first = store.import_records(iter_file_records(path))
    assert first.imported == len(real_studies()) and not first.rejected

    def stored() -> tuple[dict, int, int]:
        with sqlite3.connect(next(home.rglob("*.db"))) as db:
            rows = {row[0]: row[1:] for row in db.execute("SELECT id, data, content_hash, raw_id FROM studies")}
            return rows, db.execute("SELECT count(*) FROM changes").fetchone()[0], db.execute("SELECT count(*) FROM raw_records").fetchone()[0]

    before = stored()
    again = store.import_records(iter_file_records(path))
    assert (again.imported, again.changed, again.unchanged) == (0, 0, first.imported)
    assert stored() == before
