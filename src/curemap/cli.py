"""The ``curemap`` command: thin wrappers over library functions (contract: CLI.md).

With ``--json`` a command prints one JSON object (or one per line where noted)
on stdout and nothing else; people-facing progress and messages go to stderr.
Exit status: 0 success, 1 handled error, 2 bad usage. Every failure takes one path:
:func:`curemap.errors.handled` makes it a message naming the file or the command, and
:func:`run` prints it (with the traceback only under ``--debug``).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from curemap import __version__
from curemap.console import stderr
from curemap.errors import CuremapError, InputError, StoreError, about, handled
from curemap.store import Store


class _Commands(TyperGroup):
    """Catches what a command did not handle before the command-line framework sees it (it
    would print a traceback, or a bare "Aborted!" for an EOFError from a truncated gzip file)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, CuremapError, BrokenPipeError):
            raise
        except Exception as exc:
            raise handled(exc, f"curemap {ctx.invoked_subcommand}") from exc


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Curemap: a living, cited map of the research toward curing multiple sclerosis.\n\n"
    "Example: curemap --home ./map build --offline",
)


class State:
    home: Path
    db: str | None = None
    debug: bool = False
    _store: Store | None = None

    def store(self) -> Store:
        if self._store is None:
            try:
                self._store = Store.open(self.home, self.db)
            except OSError as exc:
                reason = "not a directory" if self.home.exists() and not self.home.is_dir() else exc.strerror.lower()
                raise StoreError(
                    f"cannot create the home {self.home} ({reason}); "
                    "choose a writable directory with --home or CUREMAP_HOME"
                ) from exc
            except StoreError as exc:
                problem = str(getattr(exc.__cause__, "orig", "")).splitlines()[:1]
                if self.db is not None or not problem or not problem[0].startswith(HOME_PROBLEMS):
                    raise
                raise StoreError(
                    f"cannot open the store in the home {self.home} ({problem[0]}); "
                    "choose a writable directory with --home or CUREMAP_HOME"
                ) from exc
        return self._store


HOME_PROBLEMS = ("unable to open database file", "attempt to write a readonly database")
"""SQLite's words for a home it cannot create or write its file in."""


state = State()

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
TimeoutOption = Annotated[
    Optional[float],
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=0.1,
        help="Give up on a request to a source after this many seconds, retries included "
        "[default: 10 s to connect, 60 s to answer, 300 s with retries]. A source that never "
        "answers is skipped from then on.",
    ),
]


def default_home() -> Path:
    return Path(os.environ.get("CUREMAP_HOME") or Path.home() / ".curemap")


@app.callback()
def main(
    home: Annotated[
        Optional[Path],
        typer.Option("--home", help="Where the store, caches and outputs live [env: CUREMAP_HOME; default ~/.curemap]."),
    ] = None,
    db: Annotated[
        Optional[str],
        typer.Option("--db", help="Store URL overriding the home's SQLite file (sqlite:///… or postgresql://…)."),
    ] = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="On a failure, print its traceback too (to report a bug).")
    ] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()
    state.home = home or default_home()
    state.db = db or os.environ.get("CUREMAP_DB")
    state.debug = debug
    state._store = None


def emit(payload: Any, as_json: bool, human: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    elif human is not None:
        typer.echo(human)
    else:
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def report_error(exc: CuremapError) -> None:
    """One failure on stderr: its message, and under ``--debug`` the traceback behind it."""
    if state.debug:
        traceback.print_exception(exc)
    stderr.print(f"error: {exc}", style="red", highlight=False, markup=False)


def run(argv: list[str] | None = None) -> None:
    """Entry point: every failure becomes a message on stderr and exit status 1;
    usage errors exit with 2 (click's own handling)."""
    state.debug = False
    try:
        app(args=argv, prog_name="curemap")
    except CuremapError as exc:
        report_error(exc)
        sys.exit(1)


# -- commands -----------------------------------------------------------------------


@app.command()
def build(
    offline: Annotated[bool, typer.Option("--offline", help="Use only the bundled snapshot (no network).")] = False,
    inputs: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--input",
            help="Build from these files or directories (every file inside, e.g. a PubMed baseline directory) "
            "instead of the bundled snapshot; every record is mapped, MS or not. Repeatable.",
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="local: in-process; dask: a Dask cluster, one input file per partition.")
    ] = "local",
    workers: Annotated[
        Optional[int], typer.Option("--workers", help="Worker processes of the local Dask cluster [default: 2].")
    ] = None,
    scheduler: Annotated[
        Optional[str],
        typer.Option("--scheduler", help="Address of a running Dask scheduler (tcp://host:8786) instead of a local cluster."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build the map: import the bundled offline snapshot (and keep what `update` fetched),
    run all enrichment and record a snapshot. The same input gives the same store whichever
    engine runs it.

    Example: curemap build --engine dask --workers 2 --input pubmed-baseline/ --json
    """
    from curemap.engine import open_engine
    from curemap.pipeline import build as build_map

    batch_engine = open_engine(engine, workers=workers, scheduler=scheduler)
    result = build_map(state.store(), batch_engine, inputs)
    emit(
        result,
        as_json,
        f"{result['studies']:,} studies ({result['ms_studies']:,} about MS), "
        f"{result['papers']:,} papers; snapshot {result['snapshot']}",
    )


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Files to import; the format is detected from content.")],
    as_json: JsonFlag = False,
) -> None:
    """Import registry files: the flattened ClinicalTrials.gov CSV, raw API v2 JSON (one study,
    a `studies` page or JSON Lines), or the EU CTIS CSV. Each file lands whole or not at all.

    Example: curemap import ctgov_ms_20250925.csv NCT02210780.json --json
    """
    from curemap.pipeline import enrich, import_paths
    from curemap.store import ImportCounts

    store = state.store()
    counts, failed, store_error = ImportCounts(), [], None
    for index, path in enumerate(paths):
        try:
            if not path.is_file():
                raise InputError(f"{path}: no such file")
            counts.add(import_paths(store, [path]))
        except CuremapError as exc:
            report_error(exc)
            failed.append({"file": str(path), "error": str(exc)})
            if isinstance(exc, StoreError):  # every later file would wait on the store and fail too
                store_error = exc
                failed += [{"file": str(p), "error": "not tried: the store failed"} for p in paths[index + 1 :]]
                break
    enriched = store_error is None
    if enriched:
        try:
            with about("enriching the imported records"):
                enrich(store)
        except CuremapError as exc:
            report_error(exc)
            enriched = False
    summary = f"{counts.imported:,} new, {counts.changed:,} changed, {counts.unchanged:,} unchanged, {len(counts.rejected):,} rejected"
    if failed:
        summary += f"; not imported: {', '.join(f['file'] for f in failed)}"
    if not enriched and (counts.imported or counts.changed):
        summary += "; not yet enriched: the next import or build enriches what was imported"
    emit({**counts.to_dict(), "failed": failed}, as_json, summary)
    if failed or not enriched:
        raise typer.Exit(1)


@app.command()
def update(
    source: Annotated[str, typer.Option("--source", help="ctgov, pubmed, europepmc, or all.")] = "all",
    since: Annotated[
        Optional[str],
        typer.Option(
            "--since",
            help="Fetch records updated on or after this date (YYYY-MM-DD) [default: where the last harvest of each source left off].",
        ),
    ] = None,
    profile_query: Annotated[
        bool,
        typer.Option(
            "--profile-query/--no-profile-query",
            help="Harvest the profile's query (MS), or every record the source holds (all of "
            "ClinicalTrials.gov; for PubMed, build from its baseline files with --input).",
        ),
    ] = True,
    timeout: TimeoutOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Harvest live from the sources, incrementally, for the profile's queries. An interrupted
    harvest resumes where it stopped when run again; one failing source does not stop the others.
    With --no-profile-query the whole registry is harvested and mapped, MS or not.

    Example: curemap update --source ctgov --since 2025-01-01 --timeout 30 --json
    """
    from curemap.normalise import parse_partial_date
    from curemap.pipeline import enrich, update_source
    from curemap.profile import load_profile

    names = _live_sources(source)
    parsed = parse_partial_date(since) if since is not None else None
    if since is not None and (parsed is None or parsed.precision != "day"):
        raise InputError(f"--since {since!r} is not a date; give it as YYYY-MM-DD")
    store, profile = state.store(), load_profile()
    results, failures = {}, {}
    for name in names:
        try:
            results[name] = update_source(store, name, profile, since, profile_query, timeout)
        except CuremapError as exc:
            if len(names) == 1:
                raise
            failures[name] = str(exc)
            stderr.print(f"error: {name}: {exc}", style="red", highlight=False, markup=False)
    enrich(store)
    total = {
        "imported": sum(r["imported"] for r in results.values()),
        "unchanged": sum(r["unchanged"] for r in results.values()),
        "changed": sum(r["changed"] for r in results.values()),
        "rejected": [problem for r in results.values() for problem in r["rejected"]],
    }
    payload = {**total, "sources": results, "failed": failures} if len(names) > 1 else {**total, **results[names[0]]}
    emit(
        payload,
        as_json,
        f"{total['imported']:,} new, {total['changed']:,} changed, {total['unchanged']:,} unchanged, "
        f"{len(total['rejected']):,} rejected" + (f"; failed: {', '.join(failures)}" if failures else ""),
    )
    if failures and len(failures) == len(names):
        raise typer.Exit(1)


def _live_sources(source: str) -> list[str]:
    """The sources ``--source`` names: one of the live sources, or all of them."""
    from curemap.pipeline import LIVE_SOURCES

    if source != "all" and source not in LIVE_SOURCES:
        raise InputError(f"--source {source!r} is not one of {', '.join(LIVE_SOURCES)} or all")
    return list(LIVE_SOURCES) if source == "all" else [source]


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """What the store holds: studies, MS studies, papers, and each source's records and last update.

    Example: curemap status --json
    """
    from curemap.views import store_status

    result = store_status(state.store())
    lines = [f"{result['studies']:,} studies ({result['ms_studies']:,} about MS), {result['papers']:,} papers"]
    lines += [
        f"  {name}: {info['records']:,} records, last update {info['last_update']}"
        for name, info in result["sources"].items()
    ]
    emit(result, as_json, "\n".join(lines))


@app.command()
def show(
    record_id: Annotated[str, typer.Argument(metavar="ID", help="An NCT id, an EU CT number, or a paper as PMID:n or DOI:….")],
    as_json: JsonFlag = False,
) -> None:
    """One study or paper with its enrichment (strategies with their evidence, links between
    papers and trials), provenance and change history.

    Example: curemap show NCT02210780 --json
    """
    from curemap.views import record as record_view

    record = record_view(state.store(), record_id)
    emit(record, as_json, None if as_json else json.dumps(record, ensure_ascii=False, indent=2))


@app.command()
def extract(
    path: Annotated[str, typer.Argument(metavar="[PATH|-]", help="A plain-text file, or JSON Lines of {\"id\", \"text\"}; - or nothing reads stdin.")] = "-",
    as_json: JsonFlag = False,
) -> None:
    """Extract outcome figures (NEDA, relapse-free, progression-free, ARR, EDSS change,
    adverse events, hazard ratios…) from text, each with its measure, value, unit, n, time
    point, group, named event and the exact span it came from (text == input[start:end]),
    the clause that states it (clause == input[clause_start:clause_end]) and the figure as a
    sentence (statement).

    Example: curemap extract abstracts.jsonl --json
    """
    from curemap.enrich.outcomes import OutcomeExtractor, clause_span, statement
    from curemap.profile import load_profile

    if path == "-":
        content, default_id = sys.stdin.read(), "stdin"
    else:
        source = Path(path)
        if not source.is_file():
            raise InputError(f"{path}: no such file")
        with about(path):
            content, default_id = source.read_text(encoding="utf-8"), source.name
    extractor = OutcomeExtractor(load_profile())
    for text_id, text in _texts(content, default_id):
        for figure in extractor.extract(text):
            clause_start, clause_end = clause_span(text, figure.start, figure.end)
            line = {
                "id": text_id,
                **_figure_fields(figure),
                "clause": text[clause_start:clause_end],
                "clause_start": clause_start,
                "clause_end": clause_end,
                "statement": statement(extractor.measures[figure.measure], figure.to_dict()),
            }
            if as_json:
                sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            else:
                typer.echo(f"{text_id}\t{line['measure']}\t{line['value']:g} {line['unit']}\tn={line['n']}\t{line['text']}")


def _texts(content: str, default_id: str) -> list[tuple[str, str]]:
    """JSON Lines of {"id", "text"} when every non-blank line is one; otherwise the whole content."""
    lines = [line for line in content.splitlines() if line.strip()]
    try:
        items = [json.loads(line) for line in lines]
    except json.JSONDecodeError:
        return [(default_id, content)]
    if not items or not all(isinstance(i, dict) and isinstance(i.get("text"), str) for i in items):
        return [(default_id, content)]
    return [(str(item.get("id", f"line {n}")), item["text"]) for n, item in enumerate(items, start=1)]


def _figure_fields(figure) -> dict[str, Any]:
    data = figure.to_dict()
    return {key: data.get(key) for key in ("measure", "value", "unit", "n", "timepoint", "group", "event", "text", "start", "end")}


@app.command()
def classify(
    path: Annotated[Path, typer.Argument(metavar="CSV", help="A flattened ClinicalTrials.gov CSV (or EU CTIS CSV).")],
    evidence: Annotated[bool, typer.Option("--evidence", help="Include the words that triggered each label.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Classify the rows of a registry CSV without storing them: MS or not, strategies,
    phenotypes and curative intent. With --json, one JSON object per line.

    Example: curemap classify ctgov_ms_20250925.csv --json
    """
    from curemap.enrich.classify import Classifier
    from curemap.profile import load_profile
    from curemap.sources.files import iter_file_records

    if not path.is_file():
        raise InputError(f"{path}: no such file")
    classifier = Classifier(load_profile())
    for record in _named(str(path), iter_file_records(path)):
        if record.study is None:
            stderr.print(f"skipped {record.source_id}: {record.error}", highlight=False, markup=False)
            continue
        result = classifier.classify(record.study)
        line = {
            "id": record.study.id,
            "is_ms": result.is_ms,
            "strategies": result.strategies,
            "phenotypes": result.phenotypes,
            "curative_intent": result.curative_intent,
        }
        if evidence:
            line["evidence"] = result.to_dict()["evidence"]
        if as_json:
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            flags = "MS" if result.is_ms else "not MS"
            typer.echo(f"{line['id']}\t{flags}\t{','.join(result.strategies)}\t{','.join(result.phenotypes)}")


def _named(subject: str, items: Iterable[Any]) -> Iterator[Any]:
    """``items``, read lazily, with any failure of the reading naming ``subject``."""
    with about(subject):
        yield from items


@app.command("eval")
def eval_(
    labels: Annotated[
        Optional[Path],
        typer.Option("--labels", help="Hand-labelled strategies CSV (nct_id, strategies, phenotypes, curative_intent, note)."),
    ] = None,
    outcomes: Annotated[
        Optional[Path],
        typer.Option("--outcomes", help="Hand-annotated outcome figures, JSON Lines ({pmid, figures: […]})."),
    ] = None,
    studies: Annotated[
        Optional[Path],
        typer.Option("--studies", help="The registry file the labelled ids come from [default: the bundled snapshot]."),
    ] = None,
    literature: Annotated[
        Optional[list[Path]],
        typer.Option("--literature", help="The literature file the annotated abstracts come from, or a folder of trial articles (txt_files/PMC*.txt) [default: the bundled snapshot]. Repeatable, for a set drawing on both."),
    ] = None,
    eligibility: Annotated[
        Optional[Path],
        typer.Option("--eligibility", help="Hand-labelled eligibility criteria, JSON Lines: study lines with the registry text, criterion lines with checks and statuses per person profile."),
    ] = None,
    audit: Annotated[
        Optional[list[Path]],
        typer.Option("--audit", help="Hand labels of what studies test (JSON Lines, tests/data/strategy-audit); scores the store's curative labels and the studies its stages cite. Repeatable."),
    ] = None,
    verify_reviews: Annotated[
        Optional[Path],
        typer.Option("--verify", help="A folder of reviews with answer keys (NAME.key.json, tests/data/verify-reviews); scores `curemap verify` on the store: planted errors caught, correct references flagged."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Score the classifier against strategy labels (micro and macro F1, per-class precision
    and recall, curative-intent and not-MS accuracy, every disagreement with its evidence)
    and/or the outcome extractor against annotated figures (precision, recall, every miss).
    With both, the JSON has a "strategies" and an "outcomes" part. --eligibility scores the
    trial finder's reading of criteria and its met/not_met/unknown per criterion. --audit
    scores the built store: the share of its "tests a curative strategy" labels that are
    right, the share of labelled ones it has, and the share of stage and open-now citations
    that are right. --verify scores the verifier on reviews with planted errors.

    Example: curemap eval --labels ctgov-strategies-dev.csv --outcomes outcomes-dev.jsonl --json
    """
    from curemap.enrich.evaluate import evaluate_files
    from curemap.enrich.outcome_eval import evaluate_outcomes
    from curemap.enrich.outcomes import OutcomeExtractor
    from curemap.profile import load_profile
    from curemap.snapshot import snapshot_files

    if labels is None and outcomes is None and eligibility is None and not audit and verify_reviews is None:
        raise typer.BadParameter("give --labels, --outcomes, --eligibility, --audit, --verify or several")
    if verify_reviews is not None and not verify_reviews.is_dir():
        raise InputError(f"{verify_reviews}: no such folder")
    for path in (labels, outcomes, studies, *(literature or []), eligibility, *(audit or [])):
        if path is not None and not path.is_file() and not (path in (literature or []) and (path / "txt_files").is_dir()):
            raise InputError(f"{path}: no such file")
    reports = {}
    with snapshot_files() as bundled:
        if labels is not None:
            source = studies or next(p for p in bundled if p.name.startswith("ctgov"))
            reports["strategies"] = evaluate_files(labels, source)
        if outcomes is not None:
            source = literature or [next(p for p in bundled if p.name.startswith("ms_articles"))]
            reports["outcomes"] = evaluate_outcomes(outcomes, source, OutcomeExtractor(load_profile()))
    if eligibility is not None:
        from curemap.match.evaluate import evaluate_eligibility

        reports["eligibility"] = evaluate_eligibility(eligibility, load_profile())
    if audit:
        from curemap.enrich.audit import audit_store, read_audit_labels

        reports["audit"] = audit_store(state.store(), load_profile(), read_audit_labels(audit))
    if verify_reviews is not None:
        from curemap.verify.evaluate import evaluate_reviews

        reports["verify"] = evaluate_reviews(state.store(), load_profile(), verify_reviews)
    if len(reports) == 1:
        (report,) = reports.values()
        emit(report.to_dict(), as_json, report.render_text())
    else:
        emit(
            {name: report.to_dict() for name, report in reports.items()},
            as_json,
            "\n\n".join(report.render_text() for report in reports.values()),
        )


@app.command()
def strategies(as_json: JsonFlag = False) -> None:
    """Each strategy of the profile with the MS trials that test it as a treatment (a trial
    registered in two registries counts once), its development stage (the highest phase among
    those trials that are interventional and not withdrawn) and the trials that set it, the
    trials open now, and apart from them the studies only about it and those using it as a
    comparator.

    Example: curemap strategies --json
    """
    from curemap.analysis.landscape import strategy_landscape
    from curemap.profile import load_profile

    landscape = strategy_landscape(state.store(), load_profile())
    rows = [entry.to_dict() for entry in landscape]
    lines = [f"{'strategy':<22} {'group':<22} {'trials':>6} {'open':>5} {'about':>6} {'comparator':>10}  stage"]
    lines += [
        f"{e.id:<22} {e.group:<22} {e.studies:>6} {e.recruiting:>5} {len(e.about_studies):>6} "
        f"{len(e.comparator_studies):>10}  {e.stage or 'no trial'}"
        for e in landscape
    ]
    emit({"strategies": rows}, as_json, "\n".join(lines))


@app.command()
def evidence(
    strategy: Annotated[Optional[str], typer.Option("--strategy", help="Only this strategy id (e.g. ahsct).")] = None,
    figures: Annotated[
        Optional[Path], typer.Option("--figures", help="Also write a forest plot (SVG) per estimate into this directory.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Pooled evidence per strategy and outcome measure: random-effects proportions (REML, logit)
    with 95% CI and prediction interval, I², tau², and the studies, patients and words behind them.

    Example: curemap evidence --strategy ahsct --figures ./forest --json
    """
    from curemap.analysis.evidence import synthesise
    from curemap.analysis.forest import forest_svg
    from curemap.profile import load_profile

    profile = load_profile()
    if strategy is not None and strategy not in profile.strategy_ids:
        raise InputError(f"--strategy {strategy!r} is not a strategy of the profile; see `curemap strategies`")
    estimates = synthesise(state.store(), profile, strategy).evidence
    if figures is not None:
        figures.mkdir(parents=True, exist_ok=True)
        for entry in estimates:
            name = "-".join(part for part in (entry.strategy, entry.measure, entry.event) if part)
            title = f"{profile.strategy(entry.strategy).name}: {entry.measure}" + (f" ({entry.event})" if entry.event else "")
            (figures / f"{_slug(name)}.svg").write_text(forest_svg(entry.estimate, title), encoding="utf-8")
    lines = [
        f"{e.strategy:<20} {e.measure:<18} {(e.event or ''):<24} k={e.estimate.k:<3} n={e.estimate.total_patients:<6} "
        f"{e.estimate.pooled.proportion:.1%} ({e.estimate.pooled.ci.low:.1%}–{e.estimate.pooled.ci.high:.1%})"
        for e in estimates
    ]
    emit({"estimates": [e.to_dict() for e in estimates]}, as_json, "\n".join(lines) or "no poolable figures in the store")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text.lower())[:120]


@app.command()
def match(
    profile_path: Annotated[Path, typer.Argument(metavar="PROFILE", help="The person: a TOML or JSON file (age, sex, phenotype, edss, treatments, country…).")],
    curative_first: Annotated[bool, typer.Option("--curative-first", help="List curative-intent trials first.")] = False,
    curative_only: Annotated[bool, typer.Option("--curative-only", help="Only curative-intent trials.")] = False,
    country_only: Annotated[bool, typer.Option("--country-only", help="Only trials with a site in the person's country.")] = False,
    since: Annotated[
        Optional[str], typer.Option("--since", help="Only trials that fit and opened or were first posted on or after this date, YYYY-MM-DD.")
    ] = None,
    feed: Annotated[
        Optional[Path], typer.Option("--feed", help="Also write the trials that fit (since --since, if given) as an Atom feed to this file.")
    ] = None,
    as_of: Annotated[
        Optional[str], typer.Option("--as-of", help="Judge time windows (washouts, recent relapses) as of this date, YYYY-MM-DD [default: today].")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Trials a person could join: recruiting and not-yet-recruiting MS trials in the store, best
    first, each criterion met, not_met or unknown with the reason, and the nearest sites. First
    the trials nothing rules the person out of (judged on their eligibility text, then those
    judged on age and who they admit only), then those a criterion rules them out of
    ("eligible": false), then those nothing could be checked on ("judged": false, "eligible":
    null). Trials with a site in the person's country come first within each. With --since, only
    new trials that fit; --feed writes them as an Atom feed for a feed reader. Nothing about the
    person is stored. With --json, one JSON object per trial per line.

    Example: curemap match person.toml --since 2025-01-01 --feed trials.atom --json
    """
    import datetime as dt

    from curemap.match.feed import trials_feed
    from curemap.match.matcher import JUDGED_ON, find_trials, new_fitting_trials
    from curemap.match.person import as_of_day, load_person
    from curemap.profile import load_profile

    day = as_of_day(as_of, "--as-of")
    new_since = as_of_day(since, "--since")
    profile = load_profile()
    person = load_person(profile_path, profile, day)
    if country_only and person.country is None:
        raise InputError(f"--country-only: {profile_path} gives no country")
    matches = find_trials(
        state.store(), profile, person, curative_first=curative_first, curative_only=curative_only,
        country_only=country_only, as_of=day,
    )
    if new_since is not None:
        matches = new_fitting_trials(matches, new_since)
    if feed is not None:
        fitting = [m for m in matches if m.eligible]
        with about(str(feed)):
            feed.write_bytes(trials_feed(fitting, new_since, day or dt.date.today()))
    verdicts = {
        "may_be_eligible": "nothing read rules you out",
        "ask_the_study_team": "nothing read rules you out; ask the study team",
        "ruled_out": "ruled out",
        "not_checked": "not yet checked",
    }
    for found in matches:
        line = found.to_dict()
        if as_json:
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            continue
        counts = line["counts"]
        site = next(iter(line["sites"]), None)
        where = ""
        if site and site["place"]:
            where = f"; nearest site {site['place']}" + (f" ({site['distance_km']:g} km)" if site["distance_km"] is not None else "")
        judged = f" ({JUDGED_ON[found.judged_on]})" if found.judged else ""
        typer.echo(
            f"{line['id']}  {verdicts[found.verdict]}{judged}  score {line['score']:.2f}  {counts['read']} criteria read: "
            f"{counts['met']} met, {counts['not_met']} not met, {counts['unknown']} unknown; "
            f"{line['site_count']} open site{'s' if line['site_count'] != 1 else ''}{where}\n  {line['title']}"
        )
    if not matches:
        what = "trial that fits opened or was posted since " + since if since else "recruiting MS trial in the store fits"
        stderr.print(f"no {what}; `curemap update --source ctgov` fetches current ones", highlight=False)


@app.command()
def report(
    fmt: Annotated[
        Optional[list[str]], typer.Option("--format", help="md, html or pdf; repeat for several [default: all three].")
    ] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Directory to write into [default: HOME/report].")] = None,
    since: Annotated[
        Optional[str],
        typer.Option("--since", help="Snapshot id to report changes since [default: the snapshot of the report already in --out]."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write the living review, rebuilt from the store: summaries, the landscape, one part per
    strategy aimed at a cure, trends, challenges and references; every statement cited.

    Example: curemap report --format html --out ./review --json
    """
    from curemap.profile import load_profile
    from curemap.report import FORMATS, write_report

    result = write_report(state.store(), load_profile(), out or state.home / "report", tuple(fmt or FORMATS), since)
    timing = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in result["seconds"].items())
    emit(result, as_json, "\n".join(result["files"]) + f"\n{result['citations']:,} records cited; snapshot {result['snapshot']}\ntook {timing}")


@app.command()
def verify(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="A review as Markdown, HTML, text, LaTeX, a CSV / TSV table, JSON, Word (.docx), Excel (.xlsx), PowerPoint (.pptx) or PDF.")],
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not look up references the store lacks (they are unverifiable).")
    ] = False,
    timeout: TimeoutOption = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text (problems first) or html (an annotated copy of the review).")
    ] = "text",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the output to this file instead of stdout.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a review written elsewhere: every reference (NCT ids, EU CT and EudraCT numbers,
    PMIDs, PMCIDs, DOIs, in text, links, tables and HTML attributes) must be well formed and
    exist, and the phase, status, sponsor, condition, enrollment and figures stated beside it
    must match the record. Claims naming a product with no id (beside a news or company link)
    are checked against the store's trials of it (matched_by_name). Problems are listed first,
    each with its line, the quoted words, what the record says and a link.

    Example: curemap verify review.md --format html --out review-checked.html
    """
    from curemap.profile import load_profile
    from curemap.verify import Verifier, read_review, where
    from curemap.verify.annotate import annotated_html
    from curemap.verify.refs import parse_document

    if fmt not in ("text", "html"):
        raise typer.BadParameter("--format is text or html")
    content, kind = read_review(path)
    document = parse_document(content, kind, path.name)
    if offline:
        lookup = None
    else:
        from curemap.verify.online import OnlineLookup

        lookup = OnlineLookup(timeout=timeout)
    try:
        result = Verifier(state.store(), load_profile(), lookup).verify_document(document)
    finally:
        if lookup is not None:
            lookup.close()
    results = result.pop("_results")
    summary = result["summary"]
    if "network" in summary:
        stderr.print(f"{summary['network']}\nreferences the store lacks are unverifiable; --offline skips the lookups", highlight=False)
    text = ""  # --json on stdout prints the result itself: the problem lines are not built
    if fmt == "html":
        text = annotated_html(document, results, path.name, content)
    elif not as_json or out is not None:
        lines = []
        for c in result["citations"]:
            for p in c["problems"]:
                lines.append(f"{where(p)}: {c['ref']} ({c['status']}) {p['message']}")
                lines.append(f"    quote: \u201c{p.get('quote', '')}\u201d" + (f"  record: {c['link']}" if c.get("link") else ""))
        lines += [f"{where(c)}: {c['ref']} unverifiable: {c.get('note', '')}" for c in result["citations"] if c["status"] == "unverifiable"]
        lines.append(", ".join(f"{summary[s]:,} {s}" for s in ("ok", "mismatch", "malformed", "not_found", "unverifiable", "matched_by_name")))
        text = "\n".join(lines)
    if out is not None:
        with about(str(out)):
            out.write_text(text if fmt == "html" else text + "\n", encoding="utf-8")
        text = f"wrote {out}"
    emit(result, as_json, text)


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv, json or parquet.")] = "csv",
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Directory to write into [default: HOME/exports].")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Export studies, their interventions, locations, posted results, adverse events and
    change log as CSV, JSON or Parquet files.

    Example: curemap export --format csv --out ./curemap-export --json
    """
    from curemap.export import export as export_store

    files = export_store(state.store(), fmt, out or state.home / "exports")
    emit({"files": [str(f) for f in files]}, as_json, "\n".join(str(f) for f in files))


@app.command()
def watch(
    every: Annotated[
        str, typer.Option("--every", envvar="CUREMAP_UPDATE_EVERY", help="How often to update: 12h, 30m, 1d, 1h30m.")
    ] = "12h",
    once: Annotated[bool, typer.Option("--once", help="Run one update now (retried with backoff if it fails) and exit.")] = False,
    source: Annotated[str, typer.Option("--source", help="ctgov, pubmed, europepmc, or all.")] = "all",
    fmt: Annotated[
        Optional[list[str]], typer.Option("--format", help="Report formats: md, html or pdf; repeat for several [default: all three].")
    ] = None,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Retries of a failed update before the next scheduled one.")] = 4,
    backoff: Annotated[str, typer.Option("--backoff", help="Wait before the first retry; each later one waits twice as long.")] = "5m",
    timeout: TimeoutOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Keep the map living: every interval, harvest the live sources (as `curemap update`),
    enrich, record a snapshot and write the report edition into HOME/report, saying what changed
    since the previous one. Run it beside `curemap serve`, which keeps answering throughout. A
    failed update is retried with backoff and leaves the previous map and edition in place;
    /status shows each source's last success and failure. Only one update runs at a time on a
    store: another scheduler waits for it (and skips its run if that one just updated).

    Example: curemap --db postgresql://curemap@db/curemap watch --every 12h --format html
    """
    import signal

    from curemap.report import FORMATS
    from curemap.service.scheduler import Plan, Scheduler, parse_every

    plan = Plan(
        report_dir=state.home / "report", every=parse_every(every), sources=tuple(_live_sources(source)),
        formats=tuple(fmt or FORMATS), timeout=timeout, retries=retries, backoff=parse_every(backoff),
    )
    signal.signal(signal.SIGTERM, _stopped)  # a service manager's stop ends the run as Ctrl-C does
    scheduler = Scheduler(state.store(), plan)
    if not once:
        scheduler.run_forever()
        return
    result = scheduler.run_once()
    emit(result, as_json, f"update {result['outcome']}" + (f": {result.get('error') or result.get('reason')}" if result["outcome"] != "ok" else ""))
    if result["outcome"] == "failed":
        raise typer.Exit(1)


def _stopped(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


@app.command()
def doctor(as_json: JsonFlag = False) -> None:
    """Check a deployment: the store reachable and migrated, a snapshot in it, the update
    schedule set and its last run, the report folder writable, the mail server reachable when
    digests are configured. Says what to fix; exit status 1 when something is wrong.

    Example: curemap --db postgresql://curemap@db/curemap doctor --json
    """
    from curemap.service.doctor import check_deployment

    checks = check_deployment(state.home, state.db)
    lines = [f"{'ok' if c.ok else 'PROBLEM':<8}{c.name}: {c.message}" + (f"\n        fix: {c.fix}" if c.fix else "") for c in checks]
    healthy = all(c.ok for c in checks)
    emit({"ok": healthy, "checks": [c.as_dict() for c in checks]}, as_json, "\n".join(lines))
    if not healthy:
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on (1–65535).")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(envvar="CUREMAP_TOKEN", help="Token that callers of the writing endpoints must send (Authorization: Bearer …); without one they are disabled."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes answering requests, each with its own connections.")] = 1,
    update_every: Annotated[
        Optional[str], typer.Option("--update-every", help="Also keep the map living: run `curemap watch --every` this (12h…) beside the server.")
    ] = None,
) -> None:
    """Serve the map in a browser, with its JSON API under /api/ and Atom feeds under /feeds/,
    and the updates' state at /status and /api/status. The server only reads the store
    (writing endpoints need --token); it never calls the outside world. Whenever the store
    changes it works out the pages' whole-store figures (the overview, each strategy's lists,
    timeline and evidence, the review) before readers ask for them. --update-every starts
    `curemap watch` as a process of its own beside it, so harvests never slow the answers.

    Example: curemap serve --port 8000 --workers 4 --update-every 12h
    """
    import subprocess

    import uvicorn

    from curemap.service.digests import DigestSettings
    from curemap.service.scheduler import parse_every
    from curemap.web import create_app

    store = state.store()
    watcher = None
    if update_every is not None:
        parse_every(update_every)  # a bad interval stops here, not in the child
        where = ["--home", str(state.home)] + (["--db", state.db] if state.db else [])
        watcher = subprocess.Popen([sys.executable, "-m", "curemap.cli", *where, "watch", "--every", update_every])
    stderr.print(f"serving {store.count_studies():,} studies at http://{host}:{port}/", highlight=False)
    try:
        if workers == 1:
            uvicorn.run(create_app(store, token=token, digests=DigestSettings.from_env(state.home), warm=True), host=host, port=port, log_level="warning")
        else:  # each worker process opens the store from the environment (curemap.service.asgi)
            os.environ.update({"CUREMAP_HOME": str(state.home), **({"CUREMAP_DB": state.db} if state.db else {}), **({"CUREMAP_TOKEN": token} if token else {})})
            uvicorn.run("curemap.service.asgi:app", factory=True, workers=workers, host=host, port=port, log_level="warning")
    finally:
        if watcher is not None:
            watcher.terminate()
            watcher.wait()


@app.command("mcp")
def mcp_(
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP at http://127.0.0.1:PORT/mcp instead of stdio.")] = False,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port for --http (1–65535).")] = 8001,
) -> None:
    """Serve the map to AI assistants over the Model Context Protocol: tools to search studies
    and papers, show a record with its evidence, list a strategy's trials and stage, run the
    trial finder on a person's profile and verify a passage of text, each answer citing the
    records it rests on; the review and the strategies as resources. Over stdio (the assistant
    starts this command) unless --http. It only reads the store, never calls the outside world,
    and stores or logs nothing about a person.

    Example: curemap --home ~/.curemap mcp
    """
    try:
        from curemap.mcp import serve as serve_mcp
    except ImportError as exc:
        raise InputError(f"curemap mcp needs the MCP SDK ({exc}); install it with: pip install 'curemap[mcp]'") from exc

    store = state.store()
    where = f"streamable HTTP at http://127.0.0.1:{port}/mcp" if http else "stdio"
    studies = store.count_studies()
    empty = "; the store is empty: run `curemap build --offline` with this --home first" if not studies else ""
    stderr.print(f"serving {studies:,} studies to assistants over {where}{empty}", highlight=False)
    serve_mcp(store, state.home, http=http, port=port)


digest_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="E-mail digests for the people who subscribed on the site (/subscribe).\n\nExample: curemap digest send --dry-run",
)
app.add_typer(digest_app, name="digest")


@digest_app.command("send")
def digest_send(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be sent; send and record nothing.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Mail each confirmed subscriber what is new or changed in the MS studies they follow since
    their last digest, and any confirmation mail still waiting; each exactly once, so running it
    again sends nothing new. SMTP and link settings come from CUREMAP_SMTP_HOST, _PORT, _USER,
    _PASSWORD, _FROM, _SECURITY and CUREMAP_PUBLIC_URL, or HOME/digests.toml.

    Example: curemap --home /var/lib/curemap digest send --json
    """
    from curemap.profile import load_profile
    from curemap.service.digests import DigestSettings, send_digests

    result = send_digests(state.store(), load_profile(), DigestSettings.from_env(state.home), dry_run=dry_run)
    if dry_run:
        human = f"{len(result['digests']):,} digests would be queued ({sum(d['items'] for d in result['digests']):,} items); {result['waiting']:,} mails waiting"
    else:
        human = f"{result['queued']:,} digests queued; {result['sent']:,} mails sent, {result['failed']:,} refused, {result['cancelled']:,} cancelled"
    emit(result, as_json, human)


if __name__ == "__main__":
    run()
