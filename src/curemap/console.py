"""Progress and messages for people, on stderr, so stdout stays clean for ``--json``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

stderr = Console(stderr=True, soft_wrap=True)


class Meter:
    """One progress line: a total (bytes or records) with a record count and rate beside it."""

    def __init__(self, progress: Progress, task, unit: str):
        self._progress = progress
        self._task = task
        self._unit = unit
        self.records = 0

    def advance(self, amount: int) -> None:
        self._progress.advance(self._task, amount)

    def set_total(self, total: int | None) -> None:
        self._progress.update(self._task, total=total)

    def count(self, records: int = 1) -> None:
        self.records += records
        elapsed = self._progress.tasks[self._task].elapsed or 0
        rate = f"{self.records / elapsed:,.0f}/s" if elapsed > 0.5 else "…"
        self._progress.update(self._task, records=f"{self.records:,} {self._unit} · {rate}")


@contextmanager
def meter(description: str, total: int | None = None, unit: str = "records") -> Iterator[Meter]:
    """A progress bar with time left when the total is known; quiet when stderr is not a terminal."""
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn() if total else MofNCompleteColumn(),
        TextColumn("{task.fields[records]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=stderr, transient=False, disable=not stderr.is_terminal) as progress:
        task = progress.add_task(description, total=total, records="")
        yield Meter(progress, task, unit)


def report_import(name: str, counts, seconds: float | None = None) -> None:
    """One line per imported file (records, rate, new/changed/unchanged/rejected), then the
    first rejected records with their reasons, so a bad record is named, not hidden."""
    seen = counts.imported + counts.changed + counts.unchanged + len(counts.rejected)
    rate = f" in {seconds:.1f} s ({seen / max(seconds, 1e-9):,.0f}/s)" if seconds is not None else ""
    stderr.print(
        f"{name}: {seen:,} records{rate}: {counts.imported:,} new, {counts.changed:,} changed, "
        f"{counts.unchanged:,} unchanged, {len(counts.rejected):,} rejected",
        highlight=False,
    )
    for problem in counts.rejected[:20]:
        stderr.print(f"  rejected {problem['record']}: {problem['error']}", highlight=False, markup=False)
