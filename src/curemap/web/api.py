"""The JSON API under ``/api/``: lists with filters, sorting and pagination (and whole-list
CSV or JSON downloads with ``format``), single records, strategies, stats and changes.
Every endpoint reads the store; the one that writes needs the server's token."""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response

from curemap.analysis import trends
from curemap.analysis.landscape import LISTS, PAGED_LISTS, TESTED_LIST, strategy_list
from curemap.service.runs import update_status
from curemap.store.search import RANK_WINDOW
from curemap.views import store_counts, store_status
from curemap.export import LABEL_COLUMNS
from curemap.web import aggregates
from curemap.web.context import WebContext, web_context
from curemap.web.downloads import ListFormat, download
from curemap.web.params import (
    change_filters,
    paging,
    paper_filters,
    paper_or_404,
    study_filters,
    study_or_404,
)
from curemap.web.query import (
    PAPER_COLUMNS,
    RELEVANCE,
    STUDY_COLUMNS,
    ChangeFilters,
    PaperFilters,
    PaperSort,
    StudyFilters,
    StudySort,
    change_page,
    iter_studies,
    paper_page,
    refuse_ranked_export,
    study_page,
)
from curemap.wording import citation_url

router = APIRouter(prefix="/api", tags=["api"])

Context = Annotated[WebContext, Depends(web_context)]
Format = Annotated[ListFormat | None, Query(description="json or csv: the whole list as a download instead of a page")]
Paging = Annotated[tuple[int, int], Depends(paging)]
Cursor = Annotated[
    str | None,
    Query(description="where the page starts: the next_cursor of the page before (reads deep pages from an index)", max_length=1000),
]

EXPORT_STUDY_COLUMNS = [*STUDY_COLUMNS, *LABEL_COLUMNS, "registry_url"]
"""A study list's download: the list's columns and what enrichment says of each study, as `curemap export` writes it."""
STRATEGY_COLUMNS = ["id", "name", "group", "group_name", "curative_intent", "stage", "studies", "interventional", "recruiting", "with_results", "stage_trials"]
RANKED_SORT = (
    f"relevance (with q): most relevant first, numbered pages only; a search of more than {RANK_WINDOW:,} matches"
    " ranks its newest and says so in ranked"
)
MAX_IDS_PER_PAGE = 1000
"""Ids a page of a sponsor's trials or a strategy's list holds at most (bare ids: ten times a page of studies)."""
StrategyListName = Literal[PAGED_LISTS]
CHANGE_COLUMNS = ["id", "record_id", "title", "kind", "field", "old", "new", "detected_at"]


@router.get("/status")
def api_status(ctx: Context, response: Response) -> dict:
    """What the store holds (the same object as `curemap status --json`) and, under `updates`,
    the scheduled updates: running now, next run, and each step's last success and last failure
    with its error; under `pages`, on a server that works the pages' figures out ahead of
    readers (`curemap serve`), whether they are ready for the store as it is now. Never cached."""
    response.headers["Cache-Control"] = "no-store"
    pages = {"pages": ctx.warmer.state()} if ctx.warmer is not None else {}
    return {**store_status(ctx.store), "updates": update_status(ctx.store), **pages}


@router.get("/studies")
def list_studies(
    ctx: Context,
    filters: Annotated[StudyFilters, Depends(study_filters)],
    pages: Paging,
    sort: Annotated[StudySort, Query(description=f"order; a leading - means newest/largest first; {RANKED_SORT}")] = "-last_update",
    format: Format = None,
    cursor: Cursor = None,
):
    """Studies matching every given filter, a page at a time: `{total, page, per_page, items,
    next_cursor}`. Numbered pages reach the first 10,000 studies; `cursor=` with the
    `next_cursor` of a page gives the page after it, however deep."""
    if format:
        refuse_ranked_export(sort)
        return download(iter_studies(ctx.store, ctx.profile, filters, sort=sort), EXPORT_STUDY_COLUMNS, format, "studies")
    page, per_page = pages
    return study_page(ctx.store, ctx.profile, filters, sort=sort, page=page, per_page=per_page, cursor=cursor).to_dict()


@router.get("/studies/{study_id}")
def one_study(ctx: Context, study_id: Annotated[str, Path(max_length=60)]) -> dict:
    """One study with its classification and the evidence for it, outcome figures, links,
    provenance and change history (as `curemap show ID --json`)."""
    record = study_or_404(ctx.store, study_id)
    return {**record, "registry_url": citation_url(record["id"])}


@router.get("/papers")
def list_papers(
    ctx: Context,
    filters: Annotated[PaperFilters, Depends(paper_filters)],
    pages: Paging,
    sort: Annotated[PaperSort, Query(description=f"order; a leading - means newest first; {RANKED_SORT}")] = "-published",
    format: Format = None,
    cursor: Cursor = None,
):
    """Papers matching every given filter, a page at a time: `{total, page, per_page, items,
    next_cursor}` (numbered pages, or `cursor=` as for studies)."""
    page, per_page = pages
    if format:
        refuse_ranked_export(sort)
        rows = _by_cursor(lambda after: paper_page(ctx.store, ctx.profile, filters, sort=sort, per_page=200, cursor=after))
        return download(rows, [*PAPER_COLUMNS, "strategies", "url"], format, "papers")
    return paper_page(ctx.store, ctx.profile, filters, sort=sort, page=page, per_page=per_page, cursor=cursor).to_dict()


@router.get("/papers/{paper_id:path}")
def one_paper(ctx: Context, paper_id: str) -> dict:
    """One paper (`PMID:n` or `DOI:…`) with its classification, outcome figures with their
    spans, linked studies, provenance and change history."""
    record = paper_or_404(ctx.store, paper_id)
    return {**record, "url": citation_url(record["id"])}


@router.get("/strategies")
def list_strategies(ctx: Context, format: Format = None):
    """Every profile strategy with its development stage, its MS trials counted by status and
    phase, and `lists`, its own endpoint, which names them."""
    items = [aggregates.strategy_summary(ctx, entry) for entry in aggregates.landscape_figures(ctx)]
    if format:
        return download(items, STRATEGY_COLUMNS, format, "strategies")
    return {"total": len(items), "items": items}


@router.get("/strategies/{strategy_id}")
def one_strategy(ctx: Context, strategy_id: Annotated[str, Path(max_length=60)]) -> dict:
    """One strategy: stage, counts, its `lists` of studies (the trials testing it, those that set
    its stage, those open now, studies only about it and those comparing it: each with its
    `total`, its `first_ids` by id and `studies`, where every id pages), pooled evidence per
    outcome measure, and the shares its pools leave out with the reason."""
    entry = aggregates.landscape_of(ctx, strategy_id)
    if entry is None:
        raise HTTPException(404, f"{strategy_id}: no such strategy; see /api/strategies")
    synthesis = aggregates.synthesis_of(ctx, strategy_id)
    tested = strategy_list(ctx.store, strategy_id, TESTED_LIST, per_page=aggregates.IDS_SHOWN)
    lists = {
        name: {"total": total, "first_ids": ids, "studies": f"/api/strategies/{strategy_id}/lists/{name}"}
        for name, total, ids in [
            (TESTED_LIST, tested.total, tested.items), *((name, entry.list_totals[name], getattr(entry, name)) for name in LISTS)
        ]
    }
    return {
        **aggregates.strategy_summary(ctx, entry),
        "lists": lists,
        "description": ctx.profile.strategy(strategy_id).description,
        "evidence": [e.to_dict() for e in synthesis.evidence],
        "left_out": [vars(f) for f in synthesis.left_out],
    }


@router.get("/strategies/{strategy_id}/lists/{name}")
def strategy_studies_listed(
    ctx: Context,
    strategy_id: Annotated[str, Path(max_length=60)],
    name: Annotated[StrategyListName, Path(description="which of the strategy's lists")],
    per_page: Annotated[int, Query(description=f"ids per page, at most {MAX_IDS_PER_PAGE}", ge=1, le=MAX_IDS_PER_PAGE)] = MAX_IDS_PER_PAGE,
    cursor: Annotated[str | None, Query(description="the next_cursor of the page before", max_length=60)] = None,
) -> dict:
    """One of a strategy's lists of MS studies, by id: `{strategy, list, total, per_page, items,
    next_cursor}`. tested_studies: the trials testing it as a treatment (one registration per
    trial, the one its counts cite); stage_studies: those that set its stage; recruiting_studies:
    those open now; about_studies: studies only about it; comparator_studies: studies comparing
    another treatment with it."""
    if strategy_id not in ctx.profile.strategy_ids:
        raise HTTPException(404, f"{strategy_id}: no such strategy; see /api/strategies")
    return vars(strategy_list(ctx.store, strategy_id, name, per_page=per_page, cursor=cursor))


@router.get("/stats")
def stats(ctx: Context) -> dict:
    """Headline numbers and the landscape trends the overview charts show, every one a count
    the store keeps, so the response is the same size however many studies the store holds.
    Lists of trials stay out of it (they made it grow with the store: 350 kB at 100,000
    studies, 280 kB of it the leading sponsors' trial ids): each curative strategy carries its
    figures (with `stage_trials`, the trials that set its stage) and `lists`, its own
    endpoint, which names them; each leading sponsor carries its `first_ids` (by id) and
    `trials`, where every id behind its `count` pages."""
    overview = aggregates.overview(ctx)
    curative = [
        {**group, "strategies": [{**entry.figures(), "lists": f"/api/strategies/{entry.id}"} for entry in group["strategies"]]}
        for group in overview["curative"]
    ]
    sponsors = [
        {"name": o.name, "count": o.count, "spellings": o.spellings, "first_ids": o.ids,
         "trials": f"/api/sponsors/trials?{urlencode({'organisation': o.name})}"}
        for o in overview["leading_sponsors"]
    ]
    return trends.to_dict(
        {**overview, "curative": curative, "leading_sponsors": sponsors, "registry_counts": store_counts(ctx.store)}
    )


@router.get("/sponsors/trials")
def sponsor_trials(
    ctx: Context,
    organisation: Annotated[str, Query(description="a lead sponsor as /api/stats names it (its name variants count as one)", min_length=1, max_length=300)],
    per_page: Annotated[int, Query(description=f"ids per page, at most {MAX_IDS_PER_PAGE}", ge=1, le=MAX_IDS_PER_PAGE)] = MAX_IDS_PER_PAGE,
    cursor: Annotated[str | None, Query(description="the next_cursor of the page before", max_length=60)] = None,
) -> dict:
    """The MS trials an organisation leads, as counted for the overview's leading sponsors (one
    id per trial, its counted registration), by id: `{organisation, total, per_page, items,
    next_cursor}`."""
    found = trends.sponsor_trials(ctx.store, organisation, per_page=per_page, cursor=cursor)
    if found is None:
        raise HTTPException(404, f"{organisation}: no MS trial in the store names it as lead sponsor")
    return vars(found)


@router.get("/changes")
def list_changes(
    ctx: Context, filters: Annotated[ChangeFilters, Depends(change_filters)], pages: Paging, format: Format = None
):
    """What changed (records added, statuses changed, results posted…), newest first,
    optionally since a date: `{total, page, per_page, items}`."""
    if format:
        rows = _all_pages(lambda n: change_page(ctx.store, filters, page=n, per_page=200))
        return download(rows, CHANGE_COLUMNS, format, "changes")
    page, per_page = pages
    return change_page(ctx.store, filters, page=page, per_page=per_page).to_dict()


@router.get("/search")
def search(
    ctx: Context,
    q: Annotated[str, Query(description="words that must all occur", min_length=1, max_length=200)],
    pages: Paging,
) -> dict:
    """Studies and papers containing every word of `q` (stemmed), most relevant first (as the search
    page): words in a title count more. Numbered pages reach the best 10,000 of each."""
    page, per_page = pages
    return {
        "q": q,
        "studies": study_page(ctx.store, ctx.profile, StudyFilters(q=q), sort=RELEVANCE, page=page, per_page=per_page).to_dict(),
        "papers": paper_page(ctx.store, ctx.profile, PaperFilters(q=q), sort=RELEVANCE, page=page, per_page=per_page).to_dict(),
    }


def _by_cursor(fetch) -> Any:
    """Every item of a list, page after page by cursor."""
    cursor = None
    while True:
        chunk = fetch(cursor)
        yield from chunk.items
        if chunk.next_cursor is None:
            return
        cursor = chunk.next_cursor


def _all_pages(fetch) -> Any:
    number = 1
    while True:
        chunk = fetch(number)
        yield from chunk.items
        if number >= chunk.pages:
            return
        number += 1


@router.post("/snapshots", status_code=201, responses={401: {"description": "no or wrong token"}, 403: {"description": "writes are disabled"}})
def record_snapshot(ctx: Context, authorization: Annotated[str | None, Header()] = None) -> dict:
    """Record a content-addressed snapshot of the store as it is now. Needs the server's token
    (`Authorization: Bearer TOKEN`; `curemap serve --token` or `CUREMAP_TOKEN`)."""
    if not ctx.token:
        raise HTTPException(403, "writes are disabled on this server: start it with --token or CUREMAP_TOKEN")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), ctx.token.encode()):
        raise HTTPException(401, "a valid token is required: send Authorization: Bearer TOKEN", headers={"WWW-Authenticate": "Bearer"})
    return {"snapshot": ctx.store.record_snapshot(store_status(ctx.store))}
