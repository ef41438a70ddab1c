"""CSV and JSON downloads of any list the API serves, streamed so a large list never sits in
memory. CSV cells are written by :func:`curemap.export.csv_cell`, as in `curemap export`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from fastapi.responses import StreamingResponse

from curemap.export import csv_cell

ListFormat = Literal["json", "csv"]


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
