"""Exports of the store for spreadsheets, notebooks and other tools.

Every format writes the same tables: ``studies`` (one flat row per study, list
fields joined with ``|``), and the repeated parts as tables of their own
(``interventions``, ``locations``, ``result_values``, ``adverse_events``,
``changes``). JSON is one array per table; the full nested record of each
study is in ``studies.json``. A CSV cell a spreadsheet would run as a formula (registry text
can start with ``=HYPERLINK(…)``) is prefixed with a quote, here and in the web downloads.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from curemap.errors import InputError
from curemap.model import DATE_FIELDS, Study
from curemap.store import Store, schema

FORMATS = ("csv", "json", "parquet")

ROW_TABLES = {
    "interventions": schema.study_interventions,
    "locations": schema.study_locations,
    "result_values": schema.result_values,
    "adverse_events": schema.adverse_events,
    "changes": schema.changes,
}

STUDY_COLUMNS = (
    "id",
    "source",
    "brief_title",
    "official_title",
    "acronym",
    "status",
    "why_stopped",
    "phase",
    "study_type",
    "enrollment",
    "enrollment_type",
    "lead_sponsor",
    "lead_sponsor_class",
    "collaborators",
    "conditions",
    "keywords",
    "interventions",
    "countries",
    "total_locations",
    "has_results",
    *DATE_FIELDS,
)

LABEL_COLUMNS = (
    "is_ms",
    "curative_intent",
    "strategies",
    "roles",
    "tested_strategies",
    "purpose",
    "populations",
    "trial_id",
    "sponsor_type",
    "organisation",
)
"""What enrichment says of each study (:meth:`Store.labels_of`): flat rows join lists with ``|``
and write roles as ``strategy=role``; ``studies.json`` keeps them as lists and an object."""


def flat_study(study: Study) -> dict[str, Any]:
    """One study as a flat row: scalars as they are, lists joined with ``|``."""
    row: dict[str, Any] = {
        name: getattr(study, name)
        for name in STUDY_COLUMNS
        if name not in {"lead_sponsor", "lead_sponsor_class", "collaborators", "interventions", "countries"}
        and name not in DATE_FIELDS
    }
    row["conditions"] = "|".join(study.conditions)
    row["keywords"] = "|".join(study.keywords)
    row["lead_sponsor"] = study.lead_sponsor.name if study.lead_sponsor else None
    row["lead_sponsor_class"] = study.lead_sponsor.sponsor_class if study.lead_sponsor else None
    row["collaborators"] = "|".join(c.name for c in study.collaborators)
    row["interventions"] = "|".join(i.name for i in study.interventions)
    row["countries"] = "|".join(dict.fromkeys(loc.country for loc in study.locations if loc.country))
    for name in DATE_FIELDS:
        value = getattr(study, name)
        row[name] = value.value if value else None
    return {name: row[name] for name in STUDY_COLUMNS}


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""How a cell a spreadsheet would run as a formula begins."""


def csv_cell(value: Any) -> str:
    """One CSV cell for a spreadsheet: lists joined with ``|``, objects as JSON, and text that
    would run as a formula (``=HYPERLINK(…)`` in a registry title) kept as text by a leading quote."""
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


def _labelled(store: Store, batch_size: int = 1000) -> Iterator[tuple[Study, dict[str, Any]]]:
    """Every study with its labels, read a batch at a time."""
    batch: list[Study] = []
    for study in store.iter_studies():
        batch.append(study)
        if len(batch) >= batch_size:
            yield from _with_labels(store, batch)
            batch = []
    yield from _with_labels(store, batch)


def _with_labels(store: Store, studies: list[Study]) -> Iterator[tuple[Study, dict[str, Any]]]:
    labels = store.labels_of([study.id for study in studies])
    for study in studies:
        label = labels.get(study.id, {})
        yield study, {name: label.get(name) for name in LABEL_COLUMNS}


def _flat_labels(labels: dict[str, Any]) -> dict[str, Any]:
    flat = dict(labels)
    for name in ("strategies", "tested_strategies", "populations"):
        flat[name] = "|".join(labels.get(name) or [])
    flat["roles"] = "|".join(f"{strategy}={role}" for strategy, role in (labels.get("roles") or {}).items())
    return flat


def _table_rows(store: Store, table) -> Iterator[dict[str, Any]]:
    with store.connect() as conn:
        for row in conn.execution_options(stream_results=True).execute(select(table)):
            yield dict(row._mapping)


def _write_csv(path: Path, columns: list[str], rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({name: csv_cell(value) for name, value in row.items()} for row in rows)


def _write_json_array(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for index, row in enumerate(rows):
            handle.write(",\n" if index else "\n")
            handle.write(json.dumps(row, ensure_ascii=False))
        handle.write("\n]\n")


def _write_parquet(path: Path, columns: list[str], rows: Iterator[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    materialised = list(rows)
    if materialised:
        table = pa.Table.from_pylist(materialised).select(columns)
    else:
        table = pa.table({column: pa.array([], pa.null()) for column in columns})
    pq.write_table(table, path)


def export(store: Store, fmt: str, out: Path) -> list[Path]:
    """Write every table in ``fmt`` into the directory ``out``; returns the files written."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise InputError("Parquet export needs pyarrow: pip install 'curemap[parquet]'") from exc
    out.mkdir(parents=True, exist_ok=True)
    written = []
    tables: list[tuple[str, list[str], Any]] = [
        (
            "studies",
            [*STUDY_COLUMNS, *LABEL_COLUMNS],
            lambda: ({**flat_study(study), **_flat_labels(labels)} for study, labels in _labelled(store)),
        )
    ]
    tables += [
        (name, [c.name for c in table.columns], lambda table=table: _table_rows(store, table))
        for name, table in ROW_TABLES.items()
    ]
    for name, columns, rows in tables:
        if fmt == "csv":
            path = out / f"{name}.csv"
            _write_csv(path, columns, rows())
        elif fmt == "parquet":
            path = out / f"{name}.parquet"
            _write_parquet(path, columns, rows())
        else:
            path = out / f"{name}.json"
            source = (
                ({**study.to_dict(), **labels} for study, labels in _labelled(store)) if name == "studies" else rows()
            )
            _write_json_array(path, source)
        written.append(path)
    return written
