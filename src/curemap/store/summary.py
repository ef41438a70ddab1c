"""Counts every page shows, kept as rows and moved by each write in its own transaction.

Recounting a million studies per request costs seconds; these rows cost one indexed read.
A write collects what it changes in a :class:`Tally` and applies it once, just before its
transaction commits (rows in one fixed order, so concurrent writers on PostgreSQL queue on
them instead of deadlocking). :func:`recount` computes the same rows from the tables: the
migration fills the summary with it, and tests compare the two.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, case, delete, func, select

from curemap.store import schema
from curemap.store.schema import upsert

STUDIES, PAPERS, MS, RAW = "studies", "papers", "ms", "raw_records"
"""Counters: all studies, papers held (not withdrawn), records classified as MS per kind,
distinct raw records per source (with the newest fetch)."""

STUDY_COLUMNS = ("source", "status", "phase", "lead_sponsor_class")
"""Studies are also counted per value of these columns (the overview's registry counts)."""

COUNTED = {"study": STUDY_COLUMNS, "paper": ("deleted",)}
"""Per kind of record, the columns its counts depend on (a write reads their old values)."""

NO_VALUE = ""
"""The key of a column's NULL (no study column holds an empty string)."""


def by(column: str) -> str:
    return f"studies_by_{column}"


def _key(value: Any) -> str:
    return NO_VALUE if value is None else str(value)


class Tally:
    """The summary changes one transaction makes, applied together by :meth:`apply`."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.fetched_at: dict[tuple[str, str], str] = {}

    def add(self, name: str, key: str = NO_VALUE, n: int = 1, fetched_at: str | None = None) -> None:
        self.counts[(name, key)] += n
        if fetched_at is not None and fetched_at > self.fetched_at.get((name, key), ""):
            self.fetched_at[(name, key)] = fetched_at

    def apply(self, conn: Connection) -> None:
        """Add the tally to the summary rows, in key order, in the caller's transaction."""
        keys = sorted(key for key in set(self.counts) | set(self.fetched_at) if self.counts[key] or key in self.fetched_at)
        if not keys:
            return
        table = schema.summary_counts
        rows = [{"name": n, "key": k, "n": self.counts[(n, k)], "fetched_at": self.fetched_at.get((n, k))} for n, k in keys]
        statement = upsert(conn, table)
        newer = statement.excluded.fetched_at
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.name, table.c.key],
                set_={
                    "n": table.c.n + statement.excluded.n,
                    "fetched_at": case(
                        (newer.is_(None), table.c.fetched_at),
                        (table.c.fetched_at.is_(None), newer),
                        (newer > table.c.fetched_at, newer),
                        else_=table.c.fetched_at,
                    ),
                },
            ),
            rows,
        )
        self.counts.clear()
        self.fetched_at.clear()


def record(tally: Tally, kind: str, columns: dict[str, Any], sign: int) -> None:
    """A study or paper row with these column values came (+1) or went (-1)."""
    if kind == "study":
        tally.add(STUDIES, n=sign)
        for column in STUDY_COLUMNS:
            tally.add(by(column), _key(columns[column]), sign)
    elif not columns["deleted"]:
        tally.add(PAPERS, n=sign)


def read(conn: Connection, name: str) -> dict[str, tuple[int, str | None]]:
    """One counter's rows: key → (count, newest), leaving out keys counted down to zero."""
    table = schema.summary_counts
    rows = conn.execute(select(table.c.key, table.c.n, table.c.fetched_at).where(table.c.name == name, table.c.n != 0))
    return {row.key: (row.n, row.fetched_at) for row in rows}


def total(conn: Connection, name: str, key: str = NO_VALUE) -> int:
    return read(conn, name).get(key, (0, None))[0]


def recount(conn: Connection) -> Tally:
    """The summary as the tables say it now, counted from scratch."""
    st, pp, cl, raw = schema.studies, schema.papers, schema.classifications, schema.raw_records
    tally = Tally()
    tally.add(STUDIES, n=conn.execute(select(func.count()).select_from(st)).scalar_one())
    for column in STUDY_COLUMNS:
        for value, n in conn.execute(select(st.c[column], func.count()).group_by(st.c[column])):
            tally.add(by(column), _key(value), n)
    tally.add(PAPERS, n=conn.execute(select(func.count()).select_from(pp).where(pp.c.deleted.is_(False))).scalar_one())
    for kind, n in conn.execute(select(cl.c.kind, func.count()).where(cl.c.is_ms).group_by(cl.c.kind)):
        tally.add(MS, kind, n)
    for source, n, newest in conn.execute(
        select(raw.c.source, func.count(raw.c.source_id.distinct()), func.max(raw.c.fetched_at)).group_by(raw.c.source)
    ):
        tally.add(RAW, source, n, newest)
    return tally


def rebuild(conn: Connection) -> None:
    """Replace the summary with a fresh :func:`recount` (the migration that adds it)."""
    conn.execute(delete(schema.summary_counts))
    recount(conn).apply(conn)
