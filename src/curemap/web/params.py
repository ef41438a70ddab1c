"""Query parameters shared by pages, the API and feeds, parsed and checked once.

A value that cannot mean anything (an unknown strategy, a page 0, a date that is not a
date) is an :class:`InputError`, which the app answers with 400 and the message."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, HTTPException, Query

from curemap.errors import InputError
from curemap.store import Store
from curemap.views import paper_record, study_record
from curemap.web.context import WebContext, web_context
from curemap.web.query import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    ChangeFilters,
    PaperFilters,
    StudyFilters,
    validate_change_filters,
    validate_paper_filters,
    validate_study_filters,
)

Text = Annotated[str | None, Query(max_length=200)]


def study_or_404(store: Store, study_id: str) -> dict:
    """The study a path names, as `curemap show` gives it; 404 when the store lacks it."""
    try:
        return study_record(store, study_id)
    except InputError as exc:
        raise HTTPException(404, str(exc)) from exc


def paper_or_404(store: Store, paper_id: str) -> dict:
    """The paper a path names (`PMID:n`, `DOI:…` or a bare PMID); 404 when the store lacks it."""
    if len(paper_id) > 300:
        raise InputError("paper id is longer than 300 characters")
    try:
        return paper_record(store, paper_id if ":" in paper_id else f"PMID:{paper_id}")
    except InputError as exc:
        raise HTTPException(404, str(exc)) from exc


def study_filters(
    ctx: Annotated[WebContext, Depends(web_context)],
    strategy: Annotated[str | None, Query(description="a strategy id, e.g. ahsct (see /api/strategies)", max_length=60)] = None,
    group: Annotated[str | None, Query(description="a strategy group id, e.g. immune_reset", max_length=60)] = None,
    phase: Annotated[str | None, Query(description="phase1, phase1_2, phase2, phase2_3, phase3, phase4, early_phase1, not_applicable", max_length=40)] = None,
    status: Annotated[str | None, Query(description="registry status, e.g. RECRUITING", max_length=40)] = None,
    phenotype: Annotated[str | None, Query(description="a phenotype id, e.g. ppms", max_length=40)] = None,
    country: Annotated[str | None, Query(description="a site country as the registry names it", max_length=200)] = None,
    sponsor_class: Annotated[str | None, Query(description="lead sponsor class as the registry states it, e.g. INDUSTRY", max_length=200)] = None,
    sponsor_type: Annotated[str | None, Query(description="lead sponsor type in the profile's one vocabulary, e.g. industry", max_length=40)] = None,
    curative: Annotated[bool | None, Query(description="only studies pursuing (true) or not pursuing (false) a curative-intent strategy")] = None,
    q: Annotated[str | None, Query(description="words that must all occur in the study (full-text)", max_length=200)] = None,
    ms: Annotated[bool | None, Query(description="only studies classified as about MS (true) or not (false)")] = None,
    role: Annotated[str | None, Query(description="with strategy or group: tested (studies that test it) or comparator", max_length=20)] = None,
    population: Annotated[str | None, Query(description="a population the study admits, e.g. paediatric_only (the profile's populations)", max_length=40)] = None,
) -> StudyFilters:
    return validate_study_filters(
        ctx.profile,
        StudyFilters(
            strategy, group, phase, status.upper() if status else None, phenotype, country, sponsor_class, sponsor_type, curative, q, ms, role,
            population,
        ),
    )


def paper_filters(
    ctx: Annotated[WebContext, Depends(web_context)],
    strategy: Annotated[str | None, Query(description="a strategy id", max_length=60)] = None,
    group: Annotated[str | None, Query(description="a strategy group id", max_length=60)] = None,
    q: Annotated[str | None, Query(description="words that must all occur in the paper (full-text)", max_length=200)] = None,
) -> PaperFilters:
    return validate_paper_filters(ctx.profile, PaperFilters(strategy, group, q))


def change_filters(
    ctx: Annotated[WebContext, Depends(web_context)],
    since: Annotated[date | None, Query(description="only changes detected on or after this date (YYYY-MM-DD)")] = None,
    kind: Annotated[str | None, Query(description="added, status_changed, results_posted, results_updated, enrollment_changed, dates_moved, updated, deleted", max_length=40)] = None,
    strategy: Annotated[str | None, Query(description="only records of this strategy", max_length=60)] = None,
    record: Annotated[str | None, Query(description="study or paper", max_length=10)] = None,
) -> ChangeFilters:
    return validate_change_filters(ctx.profile, ChangeFilters(since.isoformat() if since else None, kind, strategy, record))


def paging(
    page: Annotated[int, Query(description="page number, from 1", ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(description=f"items per page, at most {MAX_PER_PAGE}", ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE,
) -> tuple[int, int]:
    return page, per_page
