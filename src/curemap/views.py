"""Read views over the store, shared by the command line, the API and exports."""

from __future__ import annotations

from typing import Any

from curemap.errors import InputError
from curemap.store import Store


def store_status(store: Store) -> dict[str, Any]:
    """What the store holds, in the shape of ``curemap status --json``."""
    return {
        "studies": store.count_studies(),
        "ms_studies": store.count_ms_studies(),
        "papers": 0,
        "sources": store.source_summary(),
    }


def store_counts(store: Store) -> dict[str, list[tuple[Any, int]]]:
    """Studies by registry, status, phase and sponsor class, for the overview page."""
    return {
        "registry": store.count_by("source"),
        "status": store.count_by("status"),
        "phase": store.count_by("phase"),
        "sponsor class": store.count_by("lead_sponsor_class"),
    }


def study_record(store: Store, record_id: str) -> dict[str, Any]:
    """One study with its provenance and change history, in the shape of ``curemap show --json``."""
    study = store.get_study(record_id.strip().upper())
    if study is None:
        raise InputError(
            f"{record_id}: no such study in the store; run `curemap build --offline` or "
            "`curemap import FILE` first, or check the id (an NCT number or EU CT number)"
        )
    classification = store.get_classification(study.id) or {}
    return {
        **study.to_dict(),
        "is_ms": classification.get("is_ms"),
        "strategies": classification.get("strategies", []),
        "phenotypes": classification.get("phenotypes", []),
        "curative_intent": classification.get("curative_intent"),
        "evidence": classification.get("evidence", []),
        "classification_method": classification.get("method"),
        "provenance": store.provenance(study.id),
        "changes": store.study_changes(study.id),
        "links": [],
    }
