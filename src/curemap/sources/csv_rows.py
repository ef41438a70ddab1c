"""The row loop every CSV connector shares: one record per row, a bad row never stops the file."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from curemap.model import ParsedRecord


def iter_csv_records(
    lines: Iterable[str],
    origin: str,
    *,
    source: str,
    parse: Callable[[dict[str, str]], Any],
    covers: Callable[[Any], frozenset[str]],
    id_column: str | None = None,
    kind: str = "study",
) -> Iterator[ParsedRecord]:
    """Yield one :class:`ParsedRecord` per row, its ``kind`` (``study`` or ``paper``) set by
    ``parse``; a row ``parse`` refuses carries the error, named by its ``id_column`` value or
    its row number. The row itself, as header → value JSON, is the verbatim record."""
    reader = csv.DictReader(lines)
    if reader.fieldnames:  # a file opened without utf-8-sig keeps the BOM on the first name
        reader.fieldnames = [name.lstrip("\ufeff") for name in reader.fieldnames]
    for row_number, row in enumerate(reader, start=2):
        raw = json.dumps(row, ensure_ascii=False)
        try:
            item = parse(row)
        except (ValueError, TypeError) as exc:
            named = (row.get(id_column) or "").strip() if id_column else ""
            yield ParsedRecord(source, named or f"row {row_number}", raw, origin, covers(None), error=str(exc))
        else:
            yield ParsedRecord(source, item.id, raw, origin, covers(item), **{kind: item})
