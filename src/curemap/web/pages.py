"""The server-rendered pages: overview, strategies, studies, papers and search.

Pages take the same filters as the API (:mod:`curemap.web.params`) and render registry and
abstract text only through autoescaped templates; outcome-figure spans are highlighted by
splitting the text into plain and marked pieces, never by inserting markup into it."""

from __future__ import annotations

import html
import json
import textwrap
from datetime import date
from typing import Annotated, Any, Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from curemap.analysis.evidence import LeftOutFigure
from curemap.analysis.forest import forest_svg
from curemap.analysis.landscape import RECRUITING_STATUSES
from curemap.enrich.classify import TESTED
from curemap.enrich.comparisons import Comparison
from curemap.enrich.outcomes import statement
from curemap.normalise import PHASES
from curemap.views import strategy_comparisons
from curemap.web import aggregates, query
from curemap.web.api import Cursor
from curemap.web.context import WebContext, web_context
from curemap.web.params import (
    paging,
    paper_filters,
    paper_or_404,
    study_filters,
    study_or_404,
)
from curemap.web.query import (
    RELEVANCE,
    ROLES,
    STATUSES,
    ChangeFilters,
    Page,
    PaperFilters,
    StudyFilters,
    StudySort,
    newest_changes,
    paper_page,
    study_page,
)
from curemap.web.rendering import humanise, render_page
from curemap.wording import citation_url, phase_words

router = APIRouter(include_in_schema=False)

Context = Annotated[WebContext, Depends(web_context)]
Paging = Annotated[tuple[int, int], Depends(paging)]


def chart(data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    """A plotly figure as JSON for a ``data-chart`` attribute; ``static/curemap.js`` draws it.
    The legend sits above the plot, so a phone's narrow chart keeps its width for the data,
    and dragging does not zoom, so a finger on a chart scrolls the page."""
    base = {
        "dragmode": False,
        "margin": {"l": 50, "r": 10, "t": 10, "b": 40},
        "height": 360,
        "font": {"family": "system-ui, sans-serif", "size": 13},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    }
    return json.dumps({"data": data, "layout": {**base, **layout}}, separators=(",", ":"))


def filled(per_year: dict[int, int]) -> tuple[list[int], list[int]]:
    """Years from the first start to the last and the starts in each: a year without one is a
    0, not a gap a line skips."""
    years = list(range(min(per_year), max(per_year) + 1)) if per_year else []
    return years, [per_year.get(year, 0) for year in years]


def incomplete_year(as_of: date | None, last: int) -> dict[str, Any]:
    """Layout shading the data's own year, still incomplete, and the planned starts after it up
    to ``last``; nothing when the data's year lies past ``last``."""
    if as_of is None or as_of.year > last:
        return {}
    shade = {"type": "rect", "xref": "x", "yref": "paper", "y0": 0, "y1": 1, "line": {"width": 0}, "layer": "below"}
    shapes = [{**shade, "x0": as_of.year - 0.5, "x1": as_of.year + 0.5, "fillcolor": "rgba(91,100,117,0.25)"}]
    if last > as_of.year:
        shapes.append({**shade, "x0": as_of.year + 0.5, "x1": last + 0.5, "fillcolor": "rgba(91,100,117,0.1)"})
    note = {"x": as_of.year + 0.5, "xanchor": "right", "y": 1, "xref": "x", "yref": "paper", "yanchor": "top", "bgcolor": "rgba(255,255,255,0.85)",
            "showarrow": False, "text": f"{as_of.year}: to {as_of.day} {as_of:%b}", "font": {"size": 11}}
    return {"shapes": shapes, "annotations": [note]}


def wrap(name: str, width: int = 16) -> str:
    """A category name broken into lines for a chart axis (plotly wraps none itself)."""
    return "<br>".join(textwrap.wrap(html.escape(name), width))


def spans(text: str | None, marks: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_marked) at the given (start, end) spans; spans that overlap
    an earlier one or fall outside the text are left unmarked."""
    text = text or ""
    pieces, at = [], 0
    for start, end in sorted(marks):
        if start < at or end > len(text) or start >= end:
            continue
        pieces += [(text[at:start], False), (text[start:end], True)]
        at = end
    pieces.append((text[at:], False))
    return [piece for piece in pieces if piece[0]]


def _link_params(filters: StudyFilters, drop: tuple[str, ...] = (), **extra: Any) -> str:
    params = {k: v for k, v in filters.params().items() if k not in drop}
    params.update({k: v for k, v in extra.items() if v is not None})
    return urlencode(params)


def _next_link(found: Page, link: Callable[..., str], cursor: str | None, by_cursor: bool = True) -> str | None:
    """The pager's "next": the numbered page while it lies within the numbered pages' reach
    (:data:`query.MAX_OFFSET`), beyond it (or once a page was reached by cursor) the page after
    by its cursor; none past the end, or past the reach where the list has no cursor to offer."""
    if cursor is None and found.page * found.per_page < query.MAX_OFFSET:
        return link(page=found.page + 1) if found.page < found.pages else None
    return link(cursor=found.next_cursor) if by_cursor and found.next_cursor else None


@router.get("/", response_class=HTMLResponse)
def overview(ctx: Context) -> Response:
    data = aggregates.overview(ctx)
    names = {g["id"]: g["name"] for g in data["groups"]}
    curative = {g["id"] for g in data["curative"]}
    groups = list(data["pipeline"])[::-1]  # plotly draws the first category at the bottom
    pipeline_chart = chart(
        [
            {"type": "bar", "orientation": "h", "name": phase_words(phase), "y": [wrap(names[g]) for g in groups],
             "x": [data["pipeline"][g].get(phase, 0) for g in groups]}
            for phase in data["phases"]
        ],
        {"barmode": "stack", "height": 420, "xaxis": {"title": {"text": "MS studies"}}, "yaxis": {"automargin": True},
         "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "traceorder": "normal"}},
    )
    lines = {g: filled(years) for g, years in data["started_per_year"].items() if years}
    last_shown = max((years[-1] for g, (years, _) in lines.items() if g in curative), default=0)
    years_chart = chart(
        [
            {"type": "scatter", "mode": "lines", "name": names[g], "x": years, "y": starts,
             "visible": True if g in curative else "legendonly"}  # the others are far more: shown, they flatten these
            for g, (years, starts) in lines.items()
        ],
        {"yaxis": {"title": {"text": "studies started"}}, "height": 400, **incomplete_year(data["as_of"], last_shown)},
    )
    countries_chart = chart(
        [{"type": "bar", "orientation": "h", "x": [n for _, n in data["countries"]][::-1], "y": [c for c, _ in data["countries"]][::-1]}],
        {"height": 520, "margin": {"l": 10, "r": 10, "t": 10, "b": 40}, "yaxis": {"automargin": True}},
    )
    recent = newest_changes(ctx.store, ChangeFilters(kind="status_changed", record="study", ms=True), 10)
    added = newest_changes(ctx.store, ChangeFilters(kind="added", record="study", ms=True), 5)
    recruiting = study_page(ctx.store, ctx.profile, StudyFilters(status="RECRUITING", ms=True, curative=True), per_page=10)
    return render_page(
        "overview.html", o=data, pipeline_chart=pipeline_chart, years_chart=years_chart,
        countries_chart=countries_chart, recent=recent, added=added, recruiting=recruiting,
        landscape=aggregates.landscape_figures(ctx), approved=_approved(ctx),
    )


def _approved(ctx: WebContext) -> dict[str, Any]:
    """Strategies that are already approved drugs, with the profile's words and source for it."""
    return {s.id: s.approved for s in ctx.profile.strategies if s.approved is not None}


@router.get("/strategies", response_class=HTMLResponse)
def strategies(ctx: Context) -> Response:
    by_group = {g.id: [] for g in ctx.profile.groups}
    for entry in aggregates.landscape_figures(ctx):  # the table shows figures, no lists of studies
        by_group[entry.group].append(entry)
    return render_page("strategies.html", groups=ctx.profile.groups, by_group=by_group)


@router.get("/strategies/{strategy_id}", response_class=HTMLResponse)
def strategy(
    ctx: Context,
    strategy_id: Annotated[str, Path(max_length=60)],
    filters: Annotated[StudyFilters, Depends(study_filters)],
    pages: Paging,
    sort: Annotated[StudySort, Query()] = "-last_update",
    cursor: Cursor = None,
) -> Response:
    entry = aggregates.landscape_of(ctx, strategy_id)
    if entry is None:
        raise HTTPException(404, f"{strategy_id}: no such strategy")
    profile_entry = ctx.profile.strategy(strategy_id)
    synthesis = aggregates.synthesis_of(ctx, strategy_id)
    chosen = StudyFilters(**{**vars(filters), "strategy": strategy_id, "group": None, "ms": True, "role": filters.role or TESTED})
    page, per_page = pages
    trials = study_page(ctx.store, ctx.profile, chosen, sort=sort, page=page, per_page=per_page, cursor=cursor)
    years = aggregates.strategy_start_years(ctx, strategy_id)
    per_year = {int(year): n for year, n in years if year.isdigit()}
    timeline = chart(
        [{"type": "bar", "x": list(per_year), "y": list(per_year.values())}],
        {"height": 280, "yaxis": {"title": {"text": "MS studies started"}}, **incomplete_year(aggregates.as_of(ctx), max(per_year, default=0))},
    )
    return render_page(
        "strategy.html",
        entry=entry,
        strategy=profile_entry,
        group=ctx.profile.group(entry.group),
        evidence=list(enumerate(synthesis.evidence)),
        left_out=_left_out(synthesis.left_out),
        comparisons=comparisons_shown(strategy_comparisons(ctx.store, strategy_id)),
        trials=trials,
        filters=chosen,
        sort=sort,
        timeline=timeline if years else None,
        years=years,
        papers=aggregates.strategy_papers(ctx, strategy_id),
        statuses=STATUSES,
        phases=PHASES,
        phenotypes=ctx.profile.phenotypes,
        page_link=lambda n: f"/strategies/{strategy_id}?" + _link_params(chosen, ("strategy", "ms"), sort=sort, page=n),
        by_cursor=cursor is not None,
        next_link=_next_link(
            trials, lambda **at: f"/strategies/{strategy_id}?" + _link_params(chosen, ("strategy", "ms"), sort=sort, **at), cursor
        ),
        roles=ROLES,
        feed_query=urlencode({"strategy": strategy_id}),
    )


@router.get("/strategies/{strategy_id}/forest/{index}.svg")
def forest(ctx: Context, strategy_id: Annotated[str, Path(max_length=60)], index: int) -> Response:
    estimates = aggregates.evidence_of(ctx, strategy_id)
    if not 0 <= index < len(estimates):
        raise HTTPException(404, f"{strategy_id}: no pooled estimate number {index}")
    entry = estimates[index]
    title = f"{ctx.profile.strategy(strategy_id).name}: {entry.measure}" + (f" ({entry.event})" if entry.event else "")
    return Response(forest_svg(entry.estimate, title), media_type="image/svg+xml")


@router.get("/studies", response_class=HTMLResponse)
def studies(
    ctx: Context,
    filters: Annotated[StudyFilters, Depends(study_filters)],
    pages: Paging,
    sort: Annotated[StudySort, Query()] = "-last_update",
    cursor: Cursor = None,
) -> Response:
    page, per_page = pages
    trials = study_page(ctx.store, ctx.profile, filters, sort=sort, page=page, per_page=per_page, cursor=cursor)
    return render_page(
        "studies.html",
        trials=trials,
        filters=filters,
        sort=sort,
        statuses=STATUSES,
        phases=PHASES,
        phenotypes=ctx.profile.phenotypes,
        sponsor_types=ctx.profile.sponsors.types if ctx.profile.sponsors else (),
        strategies=ctx.profile.strategies,
        groups=ctx.profile.groups,
        populations=ctx.profile.populations.populations if ctx.profile.populations else (),
        page_link=lambda n: "/studies?" + _link_params(filters, sort=sort, page=n),
        by_cursor=cursor is not None,
        next_link=_next_link(trials, lambda **at: "/studies?" + _link_params(filters, sort=sort, **at), cursor),
        export_query=_link_params(filters, sort=sort),
        every="/studies?" + _link_params(filters),  # a ranked list's matches, newest first
    )


@router.get("/studies/{study_id}", response_class=HTMLResponse)
def study(ctx: Context, study_id: Annotated[str, Path(max_length=60)]) -> Response:
    record = study_or_404(ctx.store, study_id)
    results_text = [f for f in record["outcomes"] if f["source_field"] == "results"]
    papers = {}
    for link in record["links"]:
        found = ctx.store.get_paper(link["paper_id"])
        papers.setdefault(link["paper_id"], {"title": found.title if found else None, "via": []})["via"].append(link["via"])
    return render_page(
        "study.html",
        s=record,
        registry_link=citation_url(record["id"]),
        strategies={s.id: s for s in ctx.profile.strategies},
        admits=_admits(ctx, record["populations"]),
        sponsor_types={t.id: t.name for t in ctx.profile.sponsors.types} if ctx.profile.sponsors else {},
        figures=figures_shown(ctx.profile, results_text),
        comparisons=comparisons_shown(record["comparisons"]),
        summary=spans(record["summary"], [(e["start"], e["end"]) for e in record["evidence"] if e["field"] == "summary"]),
        papers=papers,
        countries=list(dict.fromkeys(loc["country"] for loc in record["locations"] if loc.get("country"))),
        recruiting=record["status"] in RECRUITING_STATUSES,
    )


def figures_shown(profile, figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored figures as the pages show them: the figure as a sentence, and the clause that states
    it split around the figure's own words (``before``, ``marked``, ``after``) so a template marks
    them without inserting markup into untrusted text."""
    measures = {m.id: m for m in profile.outcome_measures}
    shown = []
    for f in figures:
        if f["measure"] not in measures:
            continue
        clause, at = f.get("clause", f["text"]), f["start"] - f.get("clause_start", f["start"])
        inside = clause[at : at + len(f["text"])] == f["text"]
        shown.append({
            "statement": statement(measures[f["measure"]], f),
            "before": clause[:at] if inside else "",
            "marked": f["text"] if inside else clause,
            "after": clause[at + len(f["text"]) :] if inside else "",
            "source": _source_words(f["source_field"]),
        })  # fmt: skip
    return shown


def comparisons_shown(comparisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored results of comparisons as the pages show them, primary outcomes first: "X vs Y on Z:
    better (effect, CI; n)" with the words that state it."""
    shown = [
        {"summary": Comparison.from_row(c).summary(), "text": c["text"], "primary": bool(c["is_primary"]),
         "verdict": c["verdict"], "source": _source_words(c["source_field"]), "record_id": c.get("record_id")}
        for c in comparisons
    ]  # fmt: skip
    return sorted(shown, key=lambda c: not c["primary"])


def _left_out(figures: list[LeftOutFigure]) -> list[tuple[str, list[LeftOutFigure]]]:
    """A strategy's shares that no pool uses, grouped by the reason, the commonest first."""
    by_reason: dict[str, list[LeftOutFigure]] = {}
    for figure in figures:
        by_reason.setdefault(figure.reason, []).append(figure)
    return sorted(by_reason.items(), key=lambda item: -len(item[1]))


def _source_words(source_field: str) -> str:
    """Where a figure or comparison was read: "posted results", "abstract", "full text"."""
    return {"results": "posted results", "abstract": "abstract"}.get(source_field, "full text")


def _admits(ctx: WebContext, populations: list[str]) -> list[str]:
    """The names of the populations a study admits, less those another one implies ("admits
    children" beside "children and adolescents only")."""
    if ctx.profile.populations is None:
        return populations
    known = {p.id: p for p in ctx.profile.populations.populations}
    implied = {i for p in populations if p in known for i in known[p].implies}
    return [known[p].name if p in known else p for p in populations if p not in implied]


@router.get("/papers", response_class=HTMLResponse)
def papers(
    ctx: Context, filters: Annotated[PaperFilters, Depends(paper_filters)], pages: Paging, cursor: Cursor = None
) -> Response:
    page, per_page = pages
    found = paper_page(ctx.store, ctx.profile, filters, page=page, per_page=per_page, cursor=cursor)
    return render_page(
        "papers.html", papers=found, filters=filters, strategies=ctx.profile.strategies,
        page_link=lambda n: "/papers?" + urlencode({**filters.params(), "page": n}),
        by_cursor=cursor is not None,
        next_link=_next_link(found, lambda **at: "/papers?" + urlencode({**filters.params(), **at}), cursor),
    )


@router.get("/papers/{paper_id:path}", response_class=HTMLResponse)
def paper(ctx: Context, paper_id: str) -> Response:
    record = paper_or_404(ctx.store, paper_id)
    abstract_figures = [f for f in record["outcomes"] if f["source_field"] == "abstract"]
    return render_page(
        "paper.html",
        p=record,
        link=citation_url(record["id"]),
        abstract=spans(record["abstract"], [(f["start"], f["end"]) for f in abstract_figures]),
        figures=figures_shown(ctx.profile, record["outcomes"]),
        comparisons=comparisons_shown(record["comparisons"]),
        strategies={s.id: s for s in ctx.profile.strategies},
        studies={link["study_id"]: ctx.store.get_study(link["study_id"]) for link in record["links"]},
    )


@router.get("/search", response_class=HTMLResponse)
def search(ctx: Context, pages: Paging, q: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    page, per_page = pages
    studies_found = papers_found = None
    if q and q.strip():
        studies_found = study_page(ctx.store, ctx.profile, StudyFilters(q=q), sort=RELEVANCE, page=page, per_page=per_page)
        papers_found = paper_page(ctx.store, ctx.profile, PaperFilters(q=q), sort=RELEVANCE, page=page, per_page=per_page)
    longer = studies_found if studies_found is None or studies_found.pages >= papers_found.pages else papers_found

    def link(**at: Any) -> str:
        return "/search?" + urlencode({"q": q or "", **at})

    return render_page(
        "search.html", q=q or "", studies=studies_found, papers=papers_found, longer=longer,
        page_link=lambda n: link(page=n),
        # studies and papers share one page number, so search pages stop where numbered pages end
        next_link=_next_link(longer, link, None, by_cursor=False) if longer else None,
    )


@router.get("/docs/api", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    spec = request.app.openapi()
    endpoints = [
        {
            "method": method.upper(),
            "path": path,
            "summary": operation.get("summary", ""),
            "description": operation.get("description", ""),
            "parameters": operation.get("parameters", []),
        }
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]
    return render_page("api_docs.html", endpoints=endpoints, humanise=humanise)
