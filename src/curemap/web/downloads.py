"""CSV and JSON downloads of any list the API serves, streamed so a large list never sits in
memory. CSV cells that a spreadsheet would run as a formula are prefixed with a quote."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from fastapi.responses import StreamingResponse

ListFormat = Literal["json", "csv"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "|".join(csv_cell(item) for item in value)
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_lines(rows: Iterable[dict[str, Any]], columns: list[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for count, row in enumerate(rows, 1):
        writer.writerow([csv_cell(row.get(column)) for column in columns])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    yield "["
    for count, row in enumerate(rows):
        yield ("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False, default=str)
    yield "\n]\n"


def download(rows: Iterable[dict[str, Any]], columns: list[str], fmt: ListFormat, name: str) -> StreamingResponse:
    """A whole list as ``name.csv`` or ``name.json``."""
    if fmt == "csv":
        body, media = _csv_lines(rows, columns), "text/csv; charset=utf-8"
    else:
        body, media = _json_lines(rows), "application/json"
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    )
