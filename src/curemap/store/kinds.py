"""What the store needs to know about each kind of record (studies, papers) to upsert it.

One upsert serves every kind; a kind says which table holds it, which columns
lists and filters query, which child rows it owns, and whether an incoming
version is older than the stored one. Columns and child rows are read from the
record's plain dict (``to_dict``), the form the store keeps and a worker ships, so
loading never rebuilds the record's objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Table

from curemap.model import Paper, ParsedRecord, Study
from curemap.store import schema


@dataclass(frozen=True)
class RecordKind:
    name: str
    table: Table
    fields: tuple[str, ...]
    from_dict: Callable[[dict[str, Any]], Any]
    columns: Callable[[dict[str, Any], str], dict[str, Any]]
    children: Callable[[dict[str, Any]], dict[Table, list[dict[str, Any]]]]
    child_tables: tuple[Table, ...]
    is_older: Callable[[dict[str, Any], dict[str, Any]], bool]


def _value(date: dict[str, Any] | None) -> str | None:
    return date["value"] if date else None


def _study_columns(study: dict[str, Any], data_json: str) -> dict[str, Any]:
    sponsor = study.get("lead_sponsor")
    return {
        "id": study["id"],
        "source": study["source"],
        "brief_title": study.get("brief_title"),
        "status": study.get("status"),
        "phase": study.get("phase"),
        "study_type": study.get("study_type"),
        "enrollment": study.get("enrollment"),
        "lead_sponsor": sponsor["name"] if sponsor else None,
        "lead_sponsor_class": sponsor.get("sponsor_class") if sponsor else None,
        "start_date": _value(study.get("start_date")),
        "completion_date": _value(study.get("completion_date")),
        "last_update_posted": _value(study.get("last_update_posted")),
        "has_results": study.get("has_results", False),
        "data": data_json,
    }


def _study_children(study: dict[str, Any]) -> dict[Table, list[dict[str, Any]]]:
    sid = study["id"]
    return {
        schema.study_locations: [
            {"study_id": sid, "position": i, **loc} for i, loc in enumerate(study.get("locations") or ())
        ],
        schema.study_interventions: [
            {"study_id": sid, "position": i, "name": iv["name"], "type": iv.get("type")}
            for i, iv in enumerate(study.get("interventions") or ())
        ],
        schema.study_conditions: [
            {"study_id": sid, "position": i, "condition": c} for i, c in enumerate(study.get("conditions") or ())
        ],
        schema.result_values: [
            {"study_id": sid, "position": i, **rv} for i, rv in enumerate(study.get("result_values") or ())
        ],
        schema.adverse_events: [
            {"study_id": sid, "position": i, **ae} for i, ae in enumerate(study.get("adverse_events") or ())
        ],
    }


def _study_is_older(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """A registry version whose last update predates the stored one's: a stale snapshot."""
    new_date = (new.get("last_update_posted") or {}).get("value")
    old_date = (old.get("last_update_posted") or {}).get("value")
    return bool(new_date and old_date and new_date < old_date)


def _paper_columns(paper: dict[str, Any], data_json: str) -> dict[str, Any]:
    return {
        "id": paper["id"],
        "source": paper["source"],
        "pmid": paper.get("pmid"),
        "doi": paper.get("doi"),
        "title": paper.get("title"),
        "journal": paper.get("journal"),
        "published": _value(paper.get("published")),
        "deleted": False,
        "data": data_json,
    }


STUDY = RecordKind(
    name="study",
    table=schema.studies,
    fields=tuple(f.name for f in fields(Study)),
    from_dict=Study.from_dict,
    columns=_study_columns,
    children=_study_children,
    child_tables=schema.STUDY_CHILD_TABLES,
    is_older=_study_is_older,
)

PAPER = RecordKind(
    name="paper",
    table=schema.papers,
    fields=tuple(f.name for f in fields(Paper)),
    from_dict=Paper.from_dict,
    columns=_paper_columns,
    children=lambda paper: {},
    child_tables=(),
    is_older=lambda new, old: False,
)


def kind_of(record: ParsedRecord) -> RecordKind | None:
    if record.study is not None:
        return STUDY
    if record.paper is not None:
        return PAPER
    return None


def item_of(record: ParsedRecord):
    return record.study if record.study is not None else record.paper
