"""The ``curemap`` command: thin wrappers over library functions (contract: CLI.md).

With ``--json`` a command prints one JSON object (or one per line where noted)
on stdout and nothing else; people-facing progress and messages go to stderr.
Exit status: 0 success, 1 handled error, 2 bad usage.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from curemap import __version__
from curemap.console import stderr
from curemap.errors import CuremapError, InputError
from curemap.store import Store

app = typer.Typer(
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
    _store: Store | None = None

    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.home, self.db)
        return self._store


state = State()

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


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
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()
    state.home = home or default_home()
    state.db = db or os.environ.get("CUREMAP_DB")
    state._store = None


def emit(payload: Any, as_json: bool, human: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    elif human is not None:
        typer.echo(human)
    else:
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def run(argv: list[str] | None = None) -> None:
    """Entry point: handled errors become a message on stderr and exit status 1;
    usage errors exit with 2 (click's own handling)."""
    try:
        app(args=argv, prog_name="curemap")
    except CuremapError as exc:
        stderr.print(f"error: {exc}", style="red", highlight=False, markup=False)
        sys.exit(1)


# -- commands -----------------------------------------------------------------------


@app.command()
def build(
    offline: Annotated[bool, typer.Option("--offline", help="Use only the bundled snapshot (no network).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Build the map: import the bundled offline snapshot (and keep what `update` fetched),
    run all enrichment and record a snapshot.

    Example: curemap build --offline --json
    """
    from curemap.pipeline import build as build_map

    result = build_map(state.store())
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

    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such file")
    store = state.store()
    counts = import_paths(store, paths)
    enrich(store)
    emit(
        counts.to_dict(),
        as_json,
        f"{counts.imported:,} new, {counts.changed:,} changed, {counts.unchanged:,} unchanged, "
        f"{len(counts.rejected):,} rejected",
    )


@app.command()
def update(
    source: Annotated[str, typer.Option("--source", help="ctgov (pubmed and europepmc come with the literature connectors), or all.")] = "all",
    since: Annotated[
        Optional[str],
        typer.Option("--since", help="Fetch records updated on or after this date (YYYY-MM-DD) [default: the newest update already stored]."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Harvest live from the sources, incrementally: only records updated since the last
    harvest. An interrupted harvest resumes where it stopped when run again.

    Example: curemap update --source ctgov --since 2025-01-01 --json
    """
    from curemap.normalise import parse_partial_date
    from curemap.pipeline import enrich, update_ctgov
    from curemap.profile import load_profile

    if source not in ("ctgov", "all"):
        raise InputError(f"--source {source!r}: this version harvests ctgov (ClinicalTrials.gov) only")
    if since is not None and (parse_partial_date(since) is None or parse_partial_date(since).precision != "day"):
        raise InputError(f"--since {since!r} is not a date; give it as YYYY-MM-DD")
    store = state.store()
    result = update_ctgov(store, load_profile().queries.registry["condition"], since)
    enrich(store)
    emit(
        result,
        as_json,
        f"{result['imported']:,} new, {result['changed']:,} changed, {result['unchanged']:,} unchanged, "
        f"{len(result['rejected']):,} rejected",
    )


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
    record_id: Annotated[str, typer.Argument(metavar="ID", help="An NCT id or EU CT number.")],
    as_json: JsonFlag = False,
) -> None:
    """One study with its enrichment, provenance and change history.

    Example: curemap show NCT02210780 --json
    """
    from curemap.views import study_record

    record = study_record(state.store(), record_id)
    emit(record, as_json, None if as_json else json.dumps(record, ensure_ascii=False, indent=2))


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
    for record in iter_file_records(path):
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


@app.command("eval")
def eval_(
    labels: Annotated[
        Path, typer.Option("--labels", help="Hand-labelled strategies CSV (nct_id, strategies, phenotypes, curative_intent, note).")
    ],
    studies: Annotated[
        Optional[Path],
        typer.Option("--studies", help="The registry CSV the labelled ids come from [default: the bundled snapshot]."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Score the strategy classifier against hand labels: micro and macro F1, per-class
    precision and recall, curative-intent and not-MS accuracy, and every disagreement with
    its evidence.

    Example: curemap eval --labels ctgov-strategies-dev.csv --json
    """
    from curemap.enrich.evaluate import evaluate_files
    from curemap.snapshot import snapshot_files

    for path in (labels, studies):
        if path is not None and not path.is_file():
            raise InputError(f"{path}: no such file")
    if studies is None:
        with snapshot_files() as paths:
            report = evaluate_files(labels, next(p for p in paths if p.name.startswith("ctgov")))
    else:
        report = evaluate_files(labels, studies)
    emit(report.to_dict(), as_json, report.render_text())


@app.command()
def strategies(as_json: JsonFlag = False) -> None:
    """Each strategy of the profile with its MS studies, development stage (highest phase
    among its interventional, non-withdrawn MS studies) and counts by status.

    Example: curemap strategies --json
    """
    from curemap.analysis.landscape import strategy_landscape
    from curemap.profile import load_profile

    landscape = strategy_landscape(state.store(), load_profile())
    rows = [entry.to_dict() for entry in landscape]
    lines = [f"{'strategy':<22} {'group':<22} {'studies':>7} {'recruiting':>10}  stage"]
    lines += [
        f"{e.id:<22} {e.group:<22} {e.studies:>7} {e.recruiting:>10}  {e.stage or 'no MS study'}" for e in landscape
    ]
    emit({"strategies": rows}, as_json, "\n".join(lines))


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
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the map in a browser, with its JSON API under /api/. The server only reads
    the store; it never calls the outside world.

    Example: curemap serve --port 8000
    """
    import uvicorn

    from curemap.web import create_app

    store = state.store()
    stderr.print(f"serving {store.count_studies():,} studies at http://{host}:{port}/", highlight=False)
    uvicorn.run(create_app(store), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    run()
