"""Importing files: the format is detected from the content, never from the name.

Recognised: the flattened ClinicalTrials.gov CSV, the EU CTIS CSV, raw
ClinicalTrials.gov API v2 JSON (one study, a ``studies`` page, a list of
studies, or JSON Lines with one study per line), PubMed/MEDLINE XML, and the
literature CSV. Gzip-compressed files are read transparently. CSV, JSON Lines
and XML stream record by record.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from curemap.errors import FormatNotRecognised, InputError
from curemap.model import ParsedRecord
from curemap.sources import ctgov_csv, ctgov_json, ctis_csv, literature_csv, pubmed_xml

CSV_FORMATS = (ctgov_csv, ctis_csv, literature_csv)


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


def _open_binary(path: Path, on_read: Callable[[int], None] | None = None) -> IO[bytes]:
    with path.open("rb") as probe:
        magic = probe.read(2)
    binary: IO[bytes] = io.BufferedReader(_MeteredFile(path, on_read))
    if magic == b"\x1f\x8b":
        binary = gzip.GzipFile(fileobj=binary, mode="rb")
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
    with _open_text(path) as handle:
        first = _first_char(handle)
        if first in ("{", "["):
            return "ctgov_json"
        if first == "<":
            raise FormatNotRecognised(f"{path}: XML, but not a PubMed or MEDLINE citation set")
        handle.seek(0)
        header = next(csv.reader(handle), [])
    for module in CSV_FORMATS:
        if module.looks_like(header):
            return module.__name__.rsplit(".", 1)[-1]
    raise FormatNotRecognised(
        f"{path}: not a recognised format (header starts {header[:4]!r}); expected the "
        "ClinicalTrials.gov flattened CSV, the EU CTIS CSV, the literature CSV, "
        "ClinicalTrials.gov API v2 JSON or PubMed XML"
    )


def _bad_line(number: int, line: str, origin: str, exc: Exception) -> ParsedRecord:
    return ParsedRecord("ctgov", f"line {number}", line, origin, ctgov_json.COVERS, error=f"not valid JSON: {exc}")


def _json_records(handle: IO[str], origin: str) -> Iterator[ParsedRecord]:
    """One JSON document (study, page or list), or JSON Lines streamed line by line.

    A first line that is a complete JSON value on its own means JSON Lines; a
    pretty-printed document's first line never is.
    """
    first_line = handle.readline()
    try:
        first = json.loads(first_line)
    except json.JSONDecodeError:
        text = first_line + handle.read()
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{origin}: not valid JSON ({exc}); nothing was imported from it") from exc
        yield from ctgov_json.iter_records(document, origin)
        return
    yield _json_line(first, first_line, 1, origin)
    for number, line in enumerate(handle, start=2):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield _bad_line(number, line, origin, exc)
            continue
        yield _json_line(obj, line, number, origin)


def _json_line(obj, line: str, number: int, origin: str) -> ParsedRecord:
    """One JSON Lines study, keeping the line itself as the verbatim record."""
    return ctgov_json.record_from_api(obj, f"{origin}:{number}", f"line {number}", raw=line.rstrip("\r\n"))


def iter_file_records(path: Path, on_read: Callable[[int], None] | None = None) -> Iterator[ParsedRecord]:
    """Stream the records of one file, whatever its recognised format.

    ``on_read`` is told the number of bytes of the file read so far, chunk by chunk.
    """
    fmt = detect_format(path)
    origin = path.name
    if fmt == "pubmed_xml":
        with _open_binary(path, on_read) as binary:
            yield from pubmed_xml.iter_records(binary, origin)
        return
    with _open_text(path, on_read) as handle:
        if fmt == "ctgov_json":
            yield from _json_records(handle, origin)
        else:
            module = next(m for m in CSV_FORMATS if m.__name__.endswith(fmt))
            yield from module.iter_records(handle, origin)
