"""``curemap mcp``: the map for AI assistants over the Model Context Protocol.

Each tool and resource is a thin wrapper over the function the command line, the pages and
the API answer with (:func:`curemap.views.record`, :func:`curemap.web.query.study_page`,
:func:`curemap.analysis.landscape.strategy_landscape`, :func:`curemap.match.matcher.find_trials`,
:class:`curemap.verify.Verifier`), so an assistant reads the same facts a person does. Every
answer carries ``citations``: the store records it names, each with its registry or PubMed
link; an id the store does not hold is never cited. Nothing writes to the store, nothing calls
the outside world, and nothing about a person given to the trial finder is stored or logged
(the SDK logs a failed call's message at INFO; the server logs from WARNING up).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.types import ToolAnnotations
from sqlalchemy import select

from curemap import __version__
from curemap.analysis.landscape import TESTED_LIST, StrategyLandscape, strategy_landscape, strategy_list
from curemap.errors import CuremapError, InputError
from curemap.match import matcher
from curemap.match.person import as_of_day, person_from_dict
from curemap.profile import Profile, load_profile
from curemap.store import Store, schema
from curemap.store.search import query_words
from curemap.verify import Verifier
from curemap.views import record
from curemap.web.query import (
    RELEVANCE,
    PaperFilters,
    StudyFilters,
    paper_page,
    study_page,
    validate_page,
    validate_paper_filters,
    validate_study_filters,
)
from curemap.wording import citation_url

INSTRUCTIONS = (
    "Curemap is a cited map of the research toward curing multiple sclerosis, built from trial "
    "registries (ClinicalTrials.gov, EU CTIS) and PubMed. Cite records by the ids and links in "
    "each answer's `citations`; say so when the map holds nothing on a question. Strategy ids "
    "are listed by the resource curemap://strategies."
)

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

IDS_NAMED = 50
"""Study ids a strategy's answer names of each of its lists (the first by id; ``list_totals``
gives each list's length): a large strategy's lists hold thousands, more than an assistant reads."""
MAX_TEXT = 200_000
"""The longest passage ``verify_text`` reads (a long review is about 100,000 characters)."""


def create_server(store: Store, home: Path, profile: Profile | None = None) -> MCPServer:
    """The server over ``store``; the review is read from ``home``/report/report.md."""
    profile = profile or load_profile()
    server = MCPServer("curemap", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool(annotations=READ_ONLY)
    def search(query: str, strategy: str | None = None, page: int = 1, per_page: int = 20) -> dict[str, Any]:
        """Studies (registered trials) and papers containing every word of the query (stemmed),
        most relevant first (words in a title count more); optionally only those labelled with a
        strategy id (see curemap://strategies). Pages of per_page (1-200) items. A list of more
        than 10,000 matches is ranked among its newest (its `ranked`: how many, dated since when)."""
        with _answering(store, ToolError):
            if not query_words(query):
                raise InputError("query: give at least one word to search for")
            studies = study_page(
                store, profile, validate_study_filters(profile, StudyFilters(q=query, strategy=strategy)),
                sort=RELEVANCE, page=page, per_page=per_page,
            )
            papers = paper_page(
                store, profile, validate_paper_filters(profile, PaperFilters(q=query, strategy=strategy)),
                sort=RELEVANCE, page=page, per_page=per_page,
            )
            ids = [item["id"] for item in studies.items + papers.items]
            return _cited(store, {"query": query, "studies": studies.to_dict(), "papers": papers.to_dict()}, ids)

    @server.tool(annotations=READ_ONLY)
    def show_record(record_id: str) -> dict[str, Any]:
        """One study (NCT id or EU CT number) or paper (PMID:n or DOI:…) as `curemap show`
        gives it: registry facts, its strategies with their roles and the evidence for each,
        purpose, populations, outcome figures, linked papers or trials, every registration of
        the same trial, provenance and change history."""
        with _answering(store, ToolError):
            found = record(store, record_id)
            linked = [i for link in found["links"] for i in (link["paper_id"], link["study_id"])]
            registrations = [r["id"] for r in found.get("trial", {}).get("registrations", [])]
            return _cited(store, {**found, "url": citation_url(found["id"])}, [found["id"], *registrations, *linked])

    @server.tool(annotations=READ_ONLY)
    def strategy_trials(strategy_id: str, page: int = 1, per_page: int = 50) -> dict[str, Any]:
        """A strategy's development stage and the MS trials behind it: the trials that test it
        as a treatment (a trial registered twice counts once; a page of per_page ids), the
        trials that set its stage (stage_studies), those open now (recruiting_studies), and
        apart from them the studies only about it and those using it as a comparator (each of
        these four lists its first 50 ids; list_totals gives how many each holds)."""
        with _answering(store, ToolError):
            return _strategy(store, profile, strategy_id, page, per_page)

    @server.tool(annotations=READ_ONLY)
    def find_trials(
        person: dict[str, Any],
        curative_first: bool = False,
        curative_only: bool = False,
        country_only: bool = False,
        as_of: str | None = None,
        limit: int = 20,
    ) -> dict[str, Any]:
        """The trial finder: recruiting and not-yet-recruiting MS trials a person could join,
        best first, each criterion met, not_met or unknown with its reason, and the nearest
        sites. `person` holds the fields of a `curemap match` profile: age, sex, phenotype
        (e.g. rrms), edss, years_since_onset, relapses and mri_activity (lists of dates),
        treatments ({name, start, stop}), country, location ({lat, lon}), max_distance_km,
        pregnant, breastfeeding, contraception, in_other_trial, conditions, labs; anything left
        out leaves the criteria needing it unknown. as_of (YYYY-MM-DD) judges time windows on
        that day. Returns the first `limit` trials and the count of each verdict. Nothing
        about the person is stored or logged."""
        with _answering(store, ToolError):
            if not 1 <= limit <= 200:
                raise InputError(f"limit={limit}: must be between 1 and 200")
            day = as_of_day(as_of, "as_of")
            found = person_from_dict(person, profile, "person", day)
            if country_only and found.country is None:
                raise InputError("country_only: the person gives no country")
            matches = matcher.find_trials(
                store, profile, found, curative_first=curative_first, curative_only=curative_only,
                country_only=country_only, as_of=day,
            )
            shown = [{**m.to_dict(), "url": citation_url(m.study.id)} for m in matches[:limit]]
            answer = {
                "total": len(matches),
                "verdicts": {verdict: sum(m.verdict == verdict for m in matches) for verdict in matcher.VERDICTS},
                "trials": shown,
            }
            return _cited(store, answer, [t["id"] for t in shown])

    @server.tool(annotations=READ_ONLY)
    def verify_text(text: str) -> dict[str, Any]:
        """Check a passage's citations and claims as `curemap verify --offline` does: every NCT
        id, EU CT number, PMID, PMCID and DOI must be well formed and in the map, and the phase,
        status, sponsor, condition, enrollment and figures beside it must match the record.
        `references` lists each with its status (ok, mismatch, malformed, not_found,
        unverifiable: not in the map) and problems; `citations` the records they resolved to."""
        with _answering(store, ToolError):
            if len(text) > MAX_TEXT:
                raise InputError(f"text: {len(text):,} characters; give at most {MAX_TEXT:,}")
            result = Verifier(store, profile).verify_text(text)
            ids = [i for c in result["citations"] for i in ([c["record"]] if c["record"] else []) + c.get("candidates", [])]
            return _cited(store, {"references": result["citations"], "summary": result["summary"]}, ids)

    @server.resource("curemap://report", name="review", mime_type="text/markdown")
    def review() -> str:
        """The living review in Markdown, as `curemap report` last wrote it into the home."""
        path = home / "report" / "report.md"
        if not path.is_file():
            raise ResourceNotFoundError(f"no review in {path.parent}: run `curemap --home {home} report` first")
        return path.read_text(encoding="utf-8")

    @server.resource("curemap://strategies", name="strategies", mime_type="application/json")
    def strategies() -> str:
        """Every strategy with its group, curative intent, stage, the trials that set it (the first 50, and how many) and the counts of trials testing it and open now."""
        with _answering(store, ResourceError):
            rows = [_summary(profile, entry) for entry in strategy_landscape(store, profile, shown=IDS_NAMED)]
            answer = _cited(store, {"strategies": rows}, [i for row in rows for i in row["stage_studies"]])
        return json.dumps(answer, ensure_ascii=False)

    @server.resource("curemap://strategies/{strategy_id}", name="strategy", mime_type="application/json")
    def strategy(strategy_id: str) -> str:
        """One strategy's page: what it is, its stage and the trials behind it (as the tool strategy_trials answers)."""
        with _answering(store, ResourceNotFoundError):
            answer = _strategy(store, profile, strategy_id, 1, 200)
        return json.dumps(answer, ensure_ascii=False)

    return server


def serve(store: Store, home: Path, *, http: bool = False, port: int = 8001) -> None:
    """Serve over stdio (an assistant starts the command), or streamable HTTP on 127.0.0.1."""
    server = create_server(store, home)
    if http:
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run("stdio")


@contextmanager
def _answering(store: Store, error: type[Exception]) -> Iterator[None]:
    """One state of the store for the whole answer; a handled failure becomes ``error`` with its
    message (a tool's for the assistant to read, a resource's as a protocol error)."""
    try:
        with store.reading():
            yield
    except CuremapError as exc:
        raise error(str(exc)) from None


def _strategy(store: Store, profile: Profile, strategy_id: str, page: int, per_page: int) -> dict[str, Any]:
    """A strategy's landscape entry with a page of the trials that test it: the very trials its counts and stage rest on."""
    validate_page(page, per_page)
    if strategy_id not in profile.strategy_ids:
        known = ", ".join(s.id for s in profile.strategies)
        raise InputError(f"strategy_id={strategy_id!r} is not a strategy; one of: {known}")
    (entry,) = [e for e in strategy_landscape(store, profile, listed=(strategy_id,), shown=IDS_NAMED) if e.id == strategy_id]
    tested = strategy_list(store, strategy_id, TESTED_LIST, per_page=per_page, page=page)
    answer = {
        **entry.to_dict(),
        "group_name": profile.group(entry.group).name,
        "description": profile.strategy(strategy_id).description,
        "trials": {"total": tested.total, "page": page, "per_page": per_page, "items": tested.items},
    }
    named = [*entry.stage_studies, *entry.recruiting_studies, *tested.items, *entry.about_studies, *entry.comparator_studies]
    return _cited(store, answer, named)


def _summary(profile: Profile, entry: StrategyLandscape) -> dict[str, Any]:
    """A strategy's line in the list: enough to choose one and cite what set its stage."""
    return {
        "id": entry.id,
        "name": entry.name,
        "group": entry.group,
        "group_name": profile.group(entry.group).name,
        "curative_intent": entry.curative_intent,
        "stage": entry.stage,
        "stage_studies": entry.stage_studies,
        "stage_trials": entry.stage_trials,
        "studies": entry.studies,
        "recruiting": entry.recruiting,
    }


def _cited(store: Store, answer: dict[str, Any], ids: Iterable[str]) -> dict[str, Any]:
    """``answer`` with the records it names that the store holds, in order of first mention,
    each with its title and its registry or PubMed link (a trial also its status and phase)."""
    wanted = list(dict.fromkeys(ids))
    st, pp = schema.studies, schema.papers
    found: dict[str, dict[str, Any]] = {}
    with store.connect() as conn:
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            for row in conn.execute(select(st.c.id, st.c.brief_title, st.c.status, st.c.phase).where(st.c.id.in_(chunk))):
                found[row.id] = {"id": row.id, "kind": "study", "title": row.brief_title, "status": row.status, "phase": row.phase}
            for row in conn.execute(select(pp.c.id, pp.c.title).where(pp.c.id.in_(chunk))):
                found[row.id] = {"id": row.id, "kind": "paper", "title": row.title}
    return {**answer, "citations": [{**found[i], "url": citation_url(i)} for i in wanted if i in found]}
