"""Whole-store figures the overview, strategy pages and API show, computed by the analysis
modules and cached per store version (see :class:`curemap.web.context.AggregateCache`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from curemap.analysis import trends
from curemap.analysis.evidence import LeftOutFigure, StrategyEvidence, left_out_figures, strategy_evidence
from curemap.analysis.landscape import (
    RECRUITING_STATUSES,
    StrategyLandscape,
    StrategyStudies,
    counted_registrations,
    strategy_landscape,
    strategy_studies,
)
from curemap.normalise import PHASE_RANK, PHASES
from curemap.store.kinds import PAPER
from curemap.views import store_status
from curemap.web.context import WebContext

COUNTRIES_SHOWN = 20
SPONSORS_SHOWN = 10


def landscape(ctx: WebContext, behind: StrategyStudies | None = None) -> list[StrategyLandscape]:
    """Every strategy's landscape entry; ``behind`` when the caller has read it already."""
    return ctx.cache.get("landscape", lambda: strategy_landscape(ctx.store, ctx.profile, behind))


def landscape_of(ctx: WebContext, strategy_id: str) -> StrategyLandscape | None:
    return next((entry for entry in landscape(ctx) if entry.id == strategy_id), None)


def evidence(ctx: WebContext) -> list[StrategyEvidence]:
    return ctx.cache.get("evidence", lambda: strategy_evidence(ctx.store, ctx.profile))


def evidence_of(ctx: WebContext, strategy_id: str) -> list[StrategyEvidence]:
    return [entry for entry in evidence(ctx) if entry.strategy == strategy_id]


def left_out_of(ctx: WebContext, strategy_id: str) -> list[LeftOutFigure]:
    """The strategy's shares that no pool uses, each with the reason."""
    found = ctx.cache.get("left_out", lambda: left_out_figures(ctx.store, ctx.profile))
    return [figure for figure in found if figure.strategy == strategy_id]


def strategy_summary(ctx: WebContext, entry: StrategyLandscape) -> dict[str, Any]:
    """A strategy's landscape entry with its group's name, as the API and pages show it."""
    return {**entry.to_dict(), "group_name": ctx.profile.group(entry.group).name}


def as_of(ctx: WebContext) -> date | None:
    """The date the data speak for: the newest registry update in the store, not when it was
    imported (the review dates itself the same way)."""
    return ctx.cache.get("as_of", lambda: trends.data_date(ctx.store))


def overview(ctx: WebContext) -> dict[str, Any]:
    """The curative groups, headline numbers, pipeline by group × phase, starts per year,
    countries, lead-sponsor types and the leading sponsors, as of the data's date."""
    return ctx.cache.get("overview", lambda: _overview(ctx))


def _overview(ctx: WebContext) -> dict[str, Any]:
    store, profile = ctx.store, ctx.profile
    counted = counted_registrations(store)
    behind = strategy_studies(store, profile, counted)  # read once, for the trials and the landscape
    studies = trends.ms_studies(store, profile, counted, behind)
    ms_ids = {study.id for study in studies}
    by_status: dict[str, int] = {}
    for study in studies:
        if study.status in RECRUITING_STATUSES:
            by_status[study.status] = by_status.get(study.status, 0) + 1
    pipeline = trends.pipeline_by_group_phase(store, profile, studies=studies)
    phases = [p for p in (*PHASES, trends.NO_PHASE) if any(p in row for row in pipeline.values())]
    status = store_status(store)
    return {
        "as_of": as_of(ctx),
        "curative": _curative(ctx, studies, landscape(ctx, behind)),
        "status": status,
        "ms_studies": status["ms_studies"],  # registrations classified as about MS
        "ms_trials": len(ms_ids),  # the trials they register (a trial in two registries counts once)
        "curative_studies": sum(bool(study.groups & _curative_groups(ctx)) for study in studies),
        "recruiting": dict(sorted(by_status.items(), key=lambda item: -item[1])),
        "recruiting_total": sum(by_status.values()),
        "with_results": sum(study.has_results for study in studies),
        "groups": [{"id": g.id, "name": g.name, "curative_intent": g.curative_intent} for g in profile.groups],
        "phases": phases,
        "pipeline": pipeline,
        "started_per_year": trends.started_per_year(store, profile, studies=studies),
        "countries": trends.country_counts(store, study_ids=ms_ids)[:COUNTRIES_SHOWN],
        "site_coverage": trends.site_coverage(store, ms_ids),
        "sponsor_types": trends.sponsor_types(store, profile, studies=studies),
        "leading_sponsors": trends.leading_sponsors(store, profile, studies=studies, limit=SPONSORS_SHOWN),
        "ms_papers": store.count_ms(PAPER),
    }


def _curative(ctx: WebContext, studies: list[trends.MsStudy], entries: list[StrategyLandscape]) -> list[dict[str, Any]]:
    """Each curative group with the trials testing its strategies as a treatment (a trial that
    tests two of them counted once), those open now, and its strategies, furthest first."""
    groups = []
    for group in ctx.profile.groups:
        if not group.curative_intent:
            continue
        testing = [study for study in studies if group.id in study.groups]
        strategies = [entry for entry in entries if entry.group == group.id]
        strategies.sort(key=lambda entry: (-PHASE_RANK.get(entry.stage, -1), -entry.studies))
        groups.append(
            {
                "id": group.id,
                "name": group.name,
                "description": group.description,
                "trials": len(testing),
                "open": sum(study.status in RECRUITING_STATUSES for study in testing),
                "strategies": strategies,
            }
        )
    return groups


def _curative_groups(ctx: WebContext) -> set[str]:
    return {g.id for g in ctx.profile.groups if g.curative_intent}
