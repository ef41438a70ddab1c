"""The row loop every CSV connector shares: one record per row, a bad row never stops the file."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from curemap.errors import InputError
from curemap.model import ParsedRecord
from curemap.sources.validation import record_name


def csv_rows(reader: Iterator[Any], origin: str) -> Iterator[Any]:
    """The reader's rows; a row the csv module cannot read (a field over its 128 KB limit, a NUL
    byte) stops the file, since where the next row starts is then unknown."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = (reader.reader if isinstance(reader, csv.DictReader) else reader).line_num  # DictReader's lags a row
            raise InputError(
                f"{origin}, line {line}: not readable as CSV ({exc}); no registry export has a "
                "field that long or a NUL byte, so check that this is the export itself; nothing was imported from it"
            ) from None
        yield row


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
    for row_number, row in enumerate(csv_rows(reader, origin), start=2):
        raw = json.dumps(row, ensure_ascii=False)
        try:
            item = parse(row)
        except (ValueError, TypeError) as exc:
            named = record_name(row.get(id_column) if id_column else None, f"row {row_number}")
            yield ParsedRecord(source, named, raw, origin, covers(None), error=str(exc))
        else:
            yield ParsedRecord(source, item.id, raw, origin, covers(item), **{kind: item})
