"""Importing files: the format is detected from the content, never from the name.

Recognised: the flattened ClinicalTrials.gov CSV, the EU CTIS CSV, raw
ClinicalTrials.gov API v2 JSON (one study, a ``studies`` page, a list of
studies, or JSON Lines with one study per line, each document minified or
pretty-printed), PubMed/MEDLINE XML, and the literature CSV. Gzip-compressed
files are read transparently. Every format streams record by record, so memory
stays bounded by the largest record, not the file; a file that cannot be read
to its end (cut off, corrupt, not UTF-8) raises :class:`InputError` naming it,
so that nothing from it is stored.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import ijson
import orjson

from curemap.errors import FormatNotRecognised, InputError
from curemap.jsontext import may_hold_long_integer, parse_json
from curemap.model import ParsedRecord
from curemap.sources import ctgov_csv, ctgov_json, ctis_csv, literature_csv, pubmed_xml
from curemap.sources.csv_rows import csv_rows
from curemap.sources.validation import MAX_DEPTH, nesting_depth_exceeds

CSV_FORMATS = (ctgov_csv, ctis_csv, literature_csv)

MAX_RECORD_BYTES = 16 * 1024 * 1024
"""The most JSON one study may take (the largest real records, with posted results, take a
few hundred KB); a longer one is refused rather than read into memory whole."""

_FIRST_LINE_PEEK = 1024 * 1024
"""How much of the first line is read to tell JSON Lines from one document."""

_UTF8_BOM = b"\xef\xbb\xbf"

class _MeteredFile(io.FileIO):
    """A file that reports how many bytes of it were read, so progress can show time left."""

    def __init__(self, path: Path, on_read: Callable[[int], None] | None):
        super().__init__(path, "rb")
        self.on_read = on_read

    def readinto(self, buffer) -> int | None:
        count = super().readinto(buffer)
        if count and self.on_read:
            self.on_read(count)
        return count


class _Decompressed(io.RawIOBase):
    """A gzip stream whose breaks (cut off, or not gzip at all) name the file instead of ending in a traceback."""

    def __init__(self, compressed: IO[bytes], name: str):
        self._compressed = compressed
        self._gzip = gzip.GzipFile(fileobj=compressed, mode="rb")
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            return self._gzip.readinto(buffer)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(
                f"{self._name}: the gzip data is cut off or corrupt ({exc}); nothing was imported from it. "
                "Download or compress the file again."
            ) from exc

    def close(self) -> None:
        if not self.closed:
            self._gzip.close()
            self._compressed.close()
        super().close()


def _open_binary(path: Path, on_read: Callable[[int], None] | None = None) -> io.BufferedReader:
    with path.open("rb") as probe:
        magic = probe.read(2)
    binary = io.BufferedReader(_MeteredFile(path, on_read))
    if magic == b"\x1f\x8b":
        return io.BufferedReader(_Decompressed(binary, path.name))
    return binary


def _open_text(path: Path, on_read: Callable[[int], None] | None = None) -> IO[str]:
    return io.TextIOWrapper(_open_binary(path, on_read), encoding="utf-8-sig", newline="")


def _first_char(handle: IO[str]) -> str:
    while True:
        char = handle.read(1)
        if not char or not char.isspace():
            return char


def detect_format(path: Path) -> str:
    """Name the importer for ``path``: a module of :mod:`curemap.sources` by its short name."""
    with _open_binary(path) as binary:
        head = binary.read(2048)
    if pubmed_xml.looks_like(head):
        return "pubmed_xml"
    with _open_text(path) as handle, _utf8(path.name, FormatNotRecognised):
        first = _first_char(handle)
        if first in ("{", "["):
            return "ctgov_json"
        if first == "<":
            raise FormatNotRecognised(f"{path}: XML, but not a PubMed or MEDLINE citation set")
    with _open_text(path) as handle, _utf8(path.name, FormatNotRecognised):
        header = next(csv_rows(csv.reader(handle), path.name), [])
    for module in CSV_FORMATS:
        if module.looks_like(header):
            return module.__name__.rsplit(".", 1)[-1]
    raise FormatNotRecognised(
        f"{path}: not a recognised format (header starts {header[:4]!r}); expected the "
        "ClinicalTrials.gov flattened CSV, the EU CTIS CSV, the literature CSV, "
        "ClinicalTrials.gov API v2 JSON or PubMed XML"
    )


@contextmanager
def _utf8(origin: str, error: type[InputError] = InputError) -> Iterator[None]:
    """Text that is not UTF-8 (Latin-1, a binary file) as an error naming the file."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise error(
            f"{origin}: not UTF-8 text ({exc.reason}); save it as UTF-8 and import it again; "
            "nothing was imported from it"
        ) from None


# -- JSON ------------------------------------------------------------------------------------


def _is_json_lines(path: Path) -> bool:
    """Whether the file holds one study per line: its first line is a complete study on its own.

    A pretty-printed document's first line is never complete, and a page or a list of
    studies on one line is one document, not a line of JSON Lines.
    """
    with _open_text(path) as handle:
        first_line = handle.readline(_FIRST_LINE_PEEK)
    if len(first_line) == _FIRST_LINE_PEEK and not first_line.endswith(("\n", "\r")):
        return False  # a longer line: a page of studies on one line, not worth reading as JSON
    try:
        first = parse_json(first_line)
    except (ValueError, RecursionError):
        return False
    return isinstance(first, dict) and ("studies" not in first or "protocolSection" in first)


_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels, more than any study"
_LONG_NUMBER = "a number too long to read"
_LONG_DIGITS = re.compile(rb"(?<!\d)\d{4000}")
"""A run of digits near Python's 4,300-digit limit on reading an integer (each run tried once)."""




def _bad_line(number: int, origin: str, problem: str) -> ParsedRecord:
    return ParsedRecord("ctgov", f"line {number}", "", origin, ctgov_json.COVERS, error=problem)


def _json_lines(handle: IO[str], origin: str) -> Iterator[ParsedRecord]:
    """JSON Lines streamed line by line; a line that is not a study is rejected by its number."""
    number = 0
    while line := handle.readline(MAX_RECORD_BYTES):
        number += 1
        if not line.endswith(("\n", "\r")) and len(line) == MAX_RECORD_BYTES:
            while (rest := handle.readline(MAX_RECORD_BYTES)) and not rest.endswith(("\n", "\r")):
                pass
            yield _bad_line(number, origin, f"longer than {MAX_RECORD_BYTES // 2**20} MiB, more than any study")
        elif line.strip():
            yield _json_line(line, number, origin)


def _json_line(line: str, number: int, origin: str) -> ParsedRecord:
    """One JSON Lines study, keeping the line itself as the verbatim record."""
    try:
        obj = parse_json(line)
    except json.JSONDecodeError as exc:
        return _bad_line(number, origin, f"not valid JSON: {exc}")
    except ValueError:  # an integer past Python's 4,300-digit limit
        return _bad_line(number, origin, f"not valid JSON: {_LONG_NUMBER}")
    except RecursionError:
        return _bad_line(number, origin, _TOO_DEEP)
    if nesting_depth_exceeds(obj):
        return _bad_line(number, origin, _TOO_DEEP)
    return ctgov_json.record_from_api(obj, f"{origin}:{number}", f"line {number}", raw=line.rstrip("\r\n"))


class _TooDeep(Exception):
    """A JSON value nested deeper than :data:`MAX_DEPTH`; its events were consumed."""


class _RecordBudget(io.RawIOBase):
    """The byte stream the JSON parser reads, refusing what would make it fail badly: more than
    :data:`MAX_RECORD_BYTES` between two records, or a run of digits longer than Python reads
    as one integer (the C parser would then be left in a broken state)."""

    def __init__(self, binary: io.BufferedReader, origin: str):
        self._binary = binary
        self._origin = origin
        self._digits = b""
        self.since_record = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._binary.readinto(buffer) or 0
        self.since_record += count
        if self.since_record > MAX_RECORD_BYTES:
            raise InputError(
                f"{self._origin}: one study is longer than {MAX_RECORD_BYTES // 2**20} MiB of JSON, more than any "
                "study; nothing was imported from it"
            )
        chunk = self._digits + bytes(memoryview(buffer)[:count])
        if _LONG_DIGITS.search(chunk):
            raise InputError(f"{self._origin}: not valid JSON ({_LONG_NUMBER}); nothing was imported from it")
        self._digits = chunk[len(chunk.rstrip(b"0123456789")) :]
        return count


_OPENERS = {"start_map": dict, "start_array": list}
_CLOSERS = frozenset({"end_map", "end_array"})


def _scalar(value: Any) -> Any:
    """A parsed scalar as :func:`json.loads` gives it: a fraction as a float (``inf`` past its range).

    The parser is not asked for floats itself, since it then refuses integers past 64 bits
    as malformed JSON, which would sink a file for one bad count."""
    return float(value) if isinstance(value, Decimal) else value


def _value(event: str, value: Any, events: Iterator[tuple[str, Any]]) -> Any:
    """The JSON value that opens with ``(event, value)``, built from the parser's events.

    Built without recursion; past :data:`MAX_DEPTH` the rest of the value is skipped and
    :class:`_TooDeep` raised, so the next value can still be read.
    """
    if event not in _OPENERS:
        return _scalar(value)
    root = _OPENERS[event]()
    stack: list[Any] = [root]
    key = None
    for event, value in events:
        if event == "map_key":
            key = value
            continue
        if event in _CLOSERS:
            stack.pop()
            if not stack:
                return root
            continue
        item = _OPENERS[event]() if event in _OPENERS else _scalar(value)
        parent = stack[-1]
        if isinstance(parent, dict):
            parent[key] = item
        else:
            parent.append(item)
        if event in _OPENERS:
            stack.append(item)
            if len(stack) > MAX_DEPTH:
                _skip(events, len(stack))
                raise _TooDeep
    raise ijson.IncompleteJSONError("the document ends inside a value")


def _skip(events: Iterator[tuple[str, Any]], depth: int) -> None:
    for event, _ in events:
        if event in _OPENERS:
            depth += 1
        elif event in _CLOSERS:
            depth -= 1
            if not depth:
                return


def _element(events, event: str, value: Any, budget: _RecordBudget, origin: str, position: str) -> ParsedRecord:
    """One study of a page or list, or the error record naming its position."""
    try:
        obj = _value(event, value, events)
    except _TooDeep:
        return ParsedRecord("ctgov", position, "", origin, ctgov_json.COVERS, error=_TOO_DEEP)
    finally:
        budget.since_record = 0
    return ctgov_json.record_from_api(obj, origin, position)


def _elements(events, budget: _RecordBudget, origin: str, prefix: str) -> Iterator[ParsedRecord]:
    """The records of an array whose ``start_array`` was just read, one element at a time."""
    for index, (event, value) in enumerate(events):
        if event == "end_array":
            return
        yield _element(events, event, value, budget, origin, f"{prefix}[{index}]")


def _json_documents(binary: io.BufferedReader, origin: str) -> Iterator[ParsedRecord]:
    """JSON documents (a study, a ``studies`` page or a list of studies, one after another),
    streamed study by study whatever their layout."""
    if binary.peek(3).startswith(_UTF8_BOM):
        binary.read(3)
    budget = _RecordBudget(binary, origin)
    events = ijson.basic_parse(io.BufferedReader(budget), multiple_values=True)
    try:
        for number, (event, value) in enumerate(events, start=1):
            named = "" if number == 1 else f"document {number} "
            if event == "start_array":
                yield from _elements(events, budget, origin, named)
            elif event == "start_map":
                yield from _document(events, budget, origin, named)
            else:
                yield from ctgov_json.iter_records(_scalar(value), origin)
    except _TooDeep:
        raise InputError(f"{origin}: {_TOO_DEEP}; nothing was imported from it") from None
    except ijson.JSONError as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{origin}: not valid JSON ({problem}); nothing was imported from it") from None


def _document(events, budget: _RecordBudget, origin: str, named: str) -> Iterator[ParsedRecord]:
    """The records of an object whose ``start_map`` was just read: its ``studies`` one by one when
    it is a page, else the object itself as one study."""
    obj: dict[str, Any] = {}
    paged = False
    for event, key in events:
        if event == "end_map":
            break
        event, value = next(events)
        if key == "studies" and event == "start_array" and "protocolSection" not in obj:
            paged = True
            yield from _elements(events, budget, origin, f"{named}studies")
        else:
            obj[key] = _value(event, value, events)
    if not paged:
        yield from ctgov_json.iter_records(obj, origin)
    budget.since_record = 0


_SHALLOW = 32
"""A document nested no deeper than this (an API v2 page nests about a dozen levels) is read at
once; a deeper one streams, where the depth limit and its messages live."""


def _read_at_once(path: Path, origin: str) -> Iterator[ParsedRecord] | None:
    """The records :func:`_json_documents` streams from one JSON document of at most
    :data:`MAX_RECORD_BYTES`, read by orjson at once; ``None`` when the file is larger or holds
    anything the streaming reader answers for itself (invalid or several documents, deep
    nesting, integers near or past 64 bits, a repeated ``studies`` key), which then streams."""
    try:
        with _open_binary(path) as binary:
            data = binary.read(MAX_RECORD_BYTES + 1)
    except InputError:
        return None
    data = data.removeprefix(_UTF8_BOM)
    if len(data) > MAX_RECORD_BYTES or may_hold_long_integer(data) or data.count(b'"studies"') > 1:
        return None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if nesting_depth_exceeds(document, _SHALLOW):
        return None
    return _document_records(document, origin)


def _document_records(document: Any, origin: str) -> Iterator[ParsedRecord]:
    """A parsed document's records as :func:`_json_documents` names them: a page's studies (a
    ``studies`` list read before any ``protocolSection``) one by one, a list's elements, else
    the document as one record. Each study is let go once yielded."""
    if isinstance(document, dict) and isinstance(document.get("studies"), list):
        keys = list(document)
        if "protocolSection" not in keys[: keys.index("studies")]:
            document, prefix = document["studies"], "studies"
        else:
            yield from ctgov_json.iter_records(document, origin)
            return
    elif isinstance(document, list):
        prefix = ""
    else:
        yield from ctgov_json.iter_records(document, origin)
        return
    for index in range(len(document)):
        study, document[index] = document[index], None
        yield ctgov_json.record_from_api(study, origin, f"{prefix}[{index}]")


def iter_file_records(path: Path, on_read: Callable[[int], None] | None = None) -> Iterator[ParsedRecord]:
    """Stream the records of one file, whatever its recognised format.

    ``on_read`` is told the number of bytes of the file read so far, chunk by chunk.
    Raises :class:`InputError` naming the file when it cannot be read to its end.
    """
    fmt = detect_format(path)
    origin = path.name
    with _utf8(origin):
        if fmt == "pubmed_xml":
            with _open_binary(path, on_read) as binary:
                yield from pubmed_xml.iter_records(binary, origin)
        elif fmt == "ctgov_json" and not _is_json_lines(path):
            records = _read_at_once(path, origin)
            if records is None:
                with _open_binary(path, on_read) as binary:
                    yield from _json_documents(binary, origin)
            else:
                if on_read:
                    on_read(path.stat().st_size)
                yield from records
        else:
            with _open_text(path, on_read) as handle:
                if fmt == "ctgov_json":
                    yield from _json_lines(handle, origin)
                else:
                    module = next(m for m in CSV_FORMATS if m.__name__.endswith(fmt))
                    yield from module.iter_records(handle, origin)
