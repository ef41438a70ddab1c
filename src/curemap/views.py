"""Read views over the store, shared by the command line, the API and exports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from curemap.enrich.outcomes import clause_span
from curemap.enrich.registrations import disagreements
from curemap.errors import InputError
from curemap.store import Store, schema
from curemap.store.kinds import PAPER, STUDY


def store_status(store: Store) -> dict[str, Any]:
    """What the store holds, in the shape of ``curemap status --json``."""
    return {
        "studies": store.count_studies(),
        "ms_studies": store.count_ms(STUDY),
        "papers": store.count_papers(),
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


PAPER_PREFIXES = ("PMID:", "DOI:", "URL:")


def record(store: Store, record_id: str) -> dict[str, Any]:
    """A study (NCT id, EU CT number) or a paper (``PMID:n``, ``DOI:…``), as ``curemap show`` prints it."""
    wanted = record_id.strip()
    if wanted.upper().startswith(PAPER_PREFIXES):
        return paper_record(store, wanted)
    return study_record(store, wanted)


def _enrichment(store: Store, record_id: str) -> dict[str, Any]:
    classification = store.get_classification(record_id) or {}
    return {
        "is_ms": classification.get("is_ms"),
        "strategies": classification.get("strategies", []),
        "roles": classification.get("roles", {}),
        "tested_strategies": [
            s for s in classification.get("strategies", []) if classification.get("roles", {}).get(s, "tested") == "tested"
        ],
        "purpose": classification.get("purpose"),
        "populations": classification.get("populations", []),
        "sponsors": classification.get("sponsors", []),
        "phenotypes": classification.get("phenotypes", []),
        "curative_intent": classification.get("curative_intent"),
        "evidence": classification.get("evidence", []),
        "classification_method": classification.get("method"),
        "outcomes": store.figures_of(record_id),
        "comparisons": store.comparisons_of(record_id),
        "links": store.links_of(record_id),
        "changes": store.record_changes(record_id),
    }


def with_clauses(figures: list[dict[str, Any]], texts: dict[str, str]) -> list[dict[str, Any]]:
    """Each stored figure with the clause that states it (``clause``, and its ``clause_start``/
    ``clause_end`` in the same text as ``start``/``end``), read from the text it came from; a
    registry result's line states itself."""
    shown = []
    for figure in figures:
        source = texts.get(figure["source_field"])
        if source is not None and source[figure["start"] : figure["end"]] == figure["text"]:
            start, end = clause_span(source, figure["start"], figure["end"])
            clause = source[start:end]
        else:
            start, end, clause = figure["start"], figure["end"], figure["text"]
        shown.append({**figure, "clause": clause, "clause_start": start, "clause_end": end})
    return shown


def study_record(store: Store, record_id: str) -> dict[str, Any]:
    """One study with its enrichment, provenance and change history."""
    study = store.get_study(record_id.upper())
    if study is None:
        raise InputError(
            f"{record_id}: no such study in the store; run `curemap build --offline` or "
            "`curemap import FILE` first, or check the id (an NCT number or EU CT number)"
        )
    data = study.to_dict()
    # "outcomes" is the extracted outcome figures for every record kind; a study's
    # protocol-planned outcome measures are shown as "planned_outcomes".
    data["planned_outcomes"] = data.pop("outcomes")
    enrichment = _enrichment(store, study.id)
    enrichment["outcomes"] = with_clauses(enrichment["outcomes"], {})
    return {
        **data,
        **enrichment,
        "provenance": store.provenance(study.id, STUDY),
        "trial": trial(store, study.id),
    }


def trial(store: Store, study_id: str) -> dict[str, Any]:
    """The trial a study registers: its id, every registration (this one included) and where they disagree."""
    registrations = store.registrations_of(study_id)
    return {
        "id": registrations[0]["trial_id"] if registrations else study_id,
        "registrations": [{k: v for k, v in r.items() if k != "trial_id"} for r in registrations],
        "disagreements": disagreements(registrations),
    }


def paper_record(store: Store, record_id: str) -> dict[str, Any]:
    """One paper with its enrichment (design included), links, provenance and change history."""
    prefix, _, rest = record_id.partition(":")
    paper_id = f"{prefix.upper()}:{rest.strip().lower() if prefix.upper() == 'DOI' else rest.strip()}"
    paper = store.get_paper(paper_id)
    if paper is None:
        raise InputError(
            f"{record_id}: no such paper in the store; import it first (`curemap import FILE` or "
            "`curemap update --source pubmed`), or check the id (PMID:n or DOI:…)"
        )
    classification = store.get_classification(paper.id) or {}
    enrichment = _enrichment(store, paper.id)
    texts = {"abstract": paper.abstract or "", **{f"full_text[{i}]": part.text for i, part in enumerate(paper.full_text)}}
    enrichment["outcomes"] = with_clauses(enrichment["outcomes"], texts)
    return {
        **paper.to_dict(),
        **enrichment,
        "design": classification.get("design"),
        "provenance": store.provenance(paper.id, PAPER),
    }


def strategy_comparisons(store: Store, strategy_id: str, role: str = "tested") -> list[dict[str, Any]]:
    """The results of comparisons of every record that tests a strategy, with the record's id, in
    record order."""
    table, rs = schema.comparisons, schema.record_strategies
    query = (
        select(table)
        .join(rs, rs.c.record_id == table.c.record_id)
        .where(rs.c.strategy == strategy_id, rs.c.role == role)
        .order_by(table.c.record_id, table.c.position)
    )
    with store.connect() as conn:
        return [{k: v for k, v in row._mapping.items() if k != "position"} for row in conn.execute(query)]
