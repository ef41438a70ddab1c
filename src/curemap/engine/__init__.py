"""Batch engines: parse → classify → extract → load over many input files.

The in-process engine (the default) imports each file in its own transaction and
then enriches what changed. The Dask engine runs parse, classify and extract on a
cluster, one input file per partition, writes each partition's results as Parquet,
and loads the partitions into the store in input order. Enrichment is a function
of the record and the profile, so the same input gives the same store whichever
engine runs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from curemap.errors import InputError
from curemap.store import ImportCounts, Store

ENGINES = ("local", "dask")


class BatchEngine(Protocol):
    def run(self, store: Store, paths: list[Path]) -> ImportCounts:
        """Import ``paths`` (each file atomically, in order) and bring all enrichment up to date."""
        ...


def input_files(paths: Iterable[Path]) -> list[Path]:
    """The files to import: each file named, and every file of a recognised format inside each
    directory named (in path order), as a PubMed baseline directory or a registry dump is laid
    out; a directory's other files (checksums, manifests) are skipped with a note."""
    from curemap.console import stderr
    from curemap.errors import FormatNotRecognised
    from curemap.sources.files import detect_format

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = []
            for candidate in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
                try:
                    detect_format(candidate)
                except FormatNotRecognised as exc:
                    stderr.print(f"skipped {exc}", highlight=False, markup=False)
                    continue
                inside.append(candidate)
            if not inside:
                raise InputError(f"{path}: the directory holds no file of a recognised format")
            files += inside
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    return files


def open_engine(name: str, *, workers: int | None = None, scheduler: str | None = None) -> BatchEngine:
    """The engine called ``name``: ``local`` (in-process) or ``dask`` (a local cluster of
    ``workers`` processes, or the running cluster at ``scheduler``)."""
    if name == "local":
        if workers is not None or scheduler is not None:
            raise InputError("--workers and --scheduler apply to --engine dask only")
        from curemap.engine.local import LocalEngine

        return LocalEngine()
    if name == "dask":
        if workers is not None and workers < 1:
            raise InputError(f"--workers {workers}: give at least 1")
        if workers is not None and scheduler is not None:
            raise InputError("--workers sizes a local cluster; a cluster at --scheduler has its own workers")
        from curemap.engine.dask import DaskEngine

        return DaskEngine(workers=workers or 2, scheduler=scheduler)
    raise InputError(f"--engine {name!r} is not one of {', '.join(ENGINES)}")
