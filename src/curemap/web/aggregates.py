"""Whole-store figures the overview, strategy pages and API show, read by the analysis modules
from what the store keeps counted and cached per store version (see
:class:`curemap.web.context.AggregateCache`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from curemap.analysis import trends
from curemap.analysis.evidence import StrategyEvidence, Synthesis, synthesise
from curemap.analysis.landscape import RECRUITING_STATUSES, StrategyLandscape, strategy_landscape
from curemap.normalise import PHASE_RANK, PHASES
from curemap.store.kinds import PAPER
from curemap.report import build_report, render_html
from curemap.views import store_status
from curemap.web.context import WebContext
from curemap.web.query import Page, PaperFilters, StudyFilters, paper_page, start_years

COUNTRIES_SHOWN = 20
SPONSORS_SHOWN = 10
STRATEGY_PAPERS = 10
"""Papers a strategy's page lists (the newest), beside how many it has."""
IDS_SHOWN = 100
"""Study ids a strategy's entry names of each of its lists (the first by id): the whole of a
large strategy's lists made its page and entry grow with the store (2 MB at 100,000 studies);
every id pages at :func:`curemap.analysis.landscape.strategy_list`'s endpoint."""


def landscape_figures(ctx: WebContext) -> list[StrategyLandscape]:
    """Every strategy's landscape entry with its figures alone (no lists of studies: those are
    :func:`landscape_of`'s), for a table of them and the overview's curative groups."""
    return ctx.cache.get("landscape_figures", lambda: strategy_landscape(ctx.store, ctx.profile, listed=()))


def landscape_of(ctx: WebContext, strategy_id: str) -> StrategyLandscape | None:
    """One strategy's landscape entry, with its own lists of studies only, each cut at
    :data:`IDS_SHOWN` (their lengths in ``list_totals``)."""
    if strategy_id not in ctx.profile.strategy_ids:
        return None
    listed = ctx.cache.get(
        f"landscape:{strategy_id}", lambda: strategy_landscape(ctx.store, ctx.profile, listed=(strategy_id,), shown=IDS_SHOWN)
    )
    return next(entry for entry in listed if entry.id == strategy_id)


def synthesis_of(ctx: WebContext, strategy_id: str) -> Synthesis:
    """One strategy's pooled evidence and the shares its pools leave out, read from its own
    records' figures (a strategy page's cost follows the strategy, not the store)."""
    if strategy_id not in ctx.profile.strategy_ids:
        return Synthesis([], [])
    return ctx.cache.get(f"synthesis:{strategy_id}", lambda: synthesise(ctx.store, ctx.profile, strategy_id))


def evidence_of(ctx: WebContext, strategy_id: str) -> list[StrategyEvidence]:
    return synthesis_of(ctx, strategy_id).evidence


def strategy_start_years(ctx: WebContext, strategy_id: str) -> list[tuple[str, int]]:
    """The MS studies of a strategy per start year, for its page's timeline."""
    return ctx.cache.get(
        f"start_years:{strategy_id}", lambda: start_years(ctx.store, ctx.profile, StudyFilters(strategy=strategy_id, ms=True))
    )


def strategy_papers(ctx: WebContext, strategy_id: str) -> Page:
    """A strategy's newest papers and how many it has, for its page (counting them reads every
    paper labelled with it: 0.1 s for the largest strategy at 100,000 papers)."""
    return ctx.cache.get(f"papers:{strategy_id}", lambda: paper_page(ctx.store, ctx.profile, PaperFilters(strategy=strategy_id), per_page=STRATEGY_PAPERS))


def report_html(ctx: WebContext) -> str:
    """The review as the dashboard serves it, as of the newest recorded snapshot."""
    return ctx.cache.get("report_html", lambda: render_html(build_report(ctx.store, ctx.profile, record_snapshot=False), dashboard=True))


def warm_steps(ctx: WebContext) -> list[tuple[str, Callable[[], Any]]]:
    """Every aggregate the pages read, named, cheapest and most read first: what a
    :class:`curemap.web.warming.Warmer` works out for each new version of the store."""
    steps: list[tuple[str, Callable[[], Any]]] = [("the overview", lambda: overview(ctx)), ("the strategies' figures", lambda: landscape_figures(ctx))]
    for strategy in ctx.profile.strategies:
        steps += [
            (f"{strategy.id}'s lists", lambda s=strategy.id: landscape_of(ctx, s)),
            (f"{strategy.id}'s timeline", lambda s=strategy.id: strategy_start_years(ctx, s)),
            (f"{strategy.id}'s papers", lambda s=strategy.id: strategy_papers(ctx, s)),
            (f"{strategy.id}'s evidence", lambda s=strategy.id: synthesis_of(ctx, s)),
        ]
    return [*steps, ("the review", lambda: report_html(ctx))]


def strategy_summary(ctx: WebContext, entry: StrategyLandscape) -> dict[str, Any]:
    """A strategy's figures with its group's name and where its lists are, as the API shows it."""
    return {**entry.figures(), "group_name": ctx.profile.group(entry.group).name, "lists": f"/api/strategies/{entry.id}"}


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
    studies = trends.kept_trials(store)
    by_status: dict[str, int] = {}
    for study in studies:
        if study.status in RECRUITING_STATUSES:
            by_status[study.status] = by_status.get(study.status, 0) + study.trials
    pipeline = trends.pipeline_by_group_phase(store, profile, studies=studies)
    phases = [p for p in (*PHASES, trends.NO_PHASE) if any(p in row for row in pipeline.values())]
    status = store_status(store)
    return {
        "as_of": as_of(ctx),
        "curative": _curative(ctx, studies, landscape_figures(ctx)),
        "status": status,
        "ms_studies": status["ms_studies"],  # registrations classified as about MS
        "ms_trials": sum(study.trials for study in studies),  # the trials they register (one trial in two registries counts once)
        "curative_studies": sum(study.trials for study in studies if study.groups & _curative_groups(ctx)),
        "recruiting": dict(sorted(by_status.items(), key=lambda item: (-item[1], item[0]))),
        "recruiting_total": sum(by_status.values()),
        "with_results": sum(study.trials for study in studies if study.has_results),
        "groups": [{"id": g.id, "name": g.name, "curative_intent": g.curative_intent} for g in profile.groups],
        "phases": phases,
        "pipeline": pipeline,
        "started_per_year": trends.started_per_year(store, profile, studies=studies),
        "countries": trends.kept_countries(store)[:COUNTRIES_SHOWN],
        "site_coverage": trends.kept_site_coverage(store),
        "sponsor_types": trends.sponsor_types(store, profile, studies=studies),
        "leading_sponsors": trends.kept_leading_sponsors(store, limit=SPONSORS_SHOWN),
        "ms_papers": store.count_ms(PAPER),
    }


def _curative(ctx: WebContext, studies: list[trends.TrialGroup], entries: list[StrategyLandscape]) -> list[dict[str, Any]]:
    """Each curative group with the trials testing its strategies as a treatment (a trial that
    tests two of them counted once), those open now, and its strategies' figures, furthest first."""
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
                "trials": sum(study.trials for study in testing),
                "open": sum(study.trials for study in testing if study.status in RECRUITING_STATUSES),
                "strategies": strategies,
            }
        )
    return groups


def _curative_groups(ctx: WebContext) -> set[str]:
    return {g.id for g in ctx.profile.groups if g.curative_intent}
