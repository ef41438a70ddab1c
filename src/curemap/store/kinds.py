"""What the store needs to know about each kind of record (studies, papers) to upsert it.

One upsert serves every kind; a kind says which table holds it, which columns
lists and filters query, which child rows it owns, and whether an incoming
version is older than the stored one.
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
    columns: Callable[[Any, str], dict[str, Any]]
    children: Callable[[Any], dict[Table, list[dict[str, Any]]]]
    child_tables: tuple[Table, ...]
    is_older: Callable[[dict[str, Any], dict[str, Any]], bool]


def _value(date) -> str | None:
    return date.value if date else None


def _study_columns(study: Study, data_json: str) -> dict[str, Any]:
    return {
        "id": study.id,
        "source": study.source,
        "brief_title": study.brief_title,
        "status": study.status,
        "phase": study.phase,
        "study_type": study.study_type,
        "enrollment": study.enrollment,
        "lead_sponsor": study.lead_sponsor.name if study.lead_sponsor else None,
        "lead_sponsor_class": study.lead_sponsor.sponsor_class if study.lead_sponsor else None,
        "start_date": _value(study.start_date),
        "completion_date": _value(study.completion_date),
        "last_update_posted": _value(study.last_update_posted),
        "has_results": study.has_results,
        "data": data_json,
    }


def _study_children(study: Study) -> dict[Table, list[dict[str, Any]]]:
    sid = study.id
    return {
        schema.study_locations: [
            {"study_id": sid, "position": i, **vars(loc)} for i, loc in enumerate(study.locations)
        ],
        schema.study_interventions: [
            {"study_id": sid, "position": i, "name": iv.name, "type": iv.type}
            for i, iv in enumerate(study.interventions)
        ],
        schema.study_conditions: [
            {"study_id": sid, "position": i, "condition": c} for i, c in enumerate(study.conditions)
        ],
        schema.result_values: [
            {"study_id": sid, "position": i, **vars(rv)} for i, rv in enumerate(study.result_values)
        ],
        schema.adverse_events: [
            {"study_id": sid, "position": i, **vars(ae)} for i, ae in enumerate(study.adverse_events)
        ],
    }


def _study_is_older(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """A registry version whose last update predates the stored one's: a stale snapshot."""
    new_date = (new.get("last_update_posted") or {}).get("value")
    old_date = (old.get("last_update_posted") or {}).get("value")
    return bool(new_date and old_date and new_date < old_date)


def _paper_columns(paper: Paper, data_json: str) -> dict[str, Any]:
    return {
        "id": paper.id,
        "source": paper.source,
        "pmid": paper.pmid,
        "doi": paper.doi,
        "title": paper.title,
        "journal": paper.journal,
        "published": _value(paper.published),
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
