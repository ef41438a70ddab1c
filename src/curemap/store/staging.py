"""New papers loaded through staging tables on PostgreSQL: the writer's share of a bulk load
made set-based, the rest done by the workers in parallel.

A worker that has made a partition of papers (each once, none withdrawn or unreadable) copies
every row an import of them into an empty store would write (the verbatim record, the paper,
its change-log row, its classification and labels, its extraction and figures, its search
document) into unlogged tables of its own (:func:`stage`), in parallel with the other workers;
the server stems each document there, on the worker's connection. The single writer then
moves a partition in (:func:`merge`), in the partition's transaction, with one
``INSERT … SELECT`` per table in the partition's order, so serial ids come out as the import's
would and readers see the partition whole or not at all. If any of its papers is stored by
then (or a verbatim version of it), the staged rows are dropped and the partition is imported
record by record, as every partition on SQLite is: the set-based path is taken only where it
writes exactly the rows that import writes.

Rows are staged without the moments they are written (``fetched_at``, ``first_seen_at`` …),
which the merge sets to the transaction's clock, and a paper without its verbatim version's id,
which the merge joins.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, Table

from curemap.jsontext import parse_json
from curemap.store import schema, search, summary
from curemap.store.bulk import bulk_insert
from curemap.store.kinds import PAPER

MOMENTS = ("fetched_at", "first_seen_at", "updated_at", "detected_at", "classified_at", "extracted_at")
"""The columns that say when a row was written: set by the merge, in the writer's transaction."""

PREFIX = "staged_"
"""Staging tables are named ``staged_<token>_<table>``."""

ORDERED = (schema.raw_records, schema.papers, schema.changes)
"""Tables whose staged rows keep their record's place in the partition (in a column
:data:`ORDER` none of them has): the first and the last number their rows as they come;
papers join their verbatim version by it."""

ORDER = "position"


class _NotStageable(Exception):
    """A partition the set-based path cannot load (its staging is rolled back)."""


REJECTED = "rejected"
"""The staged table of a partition's unreadable records (source, record, error), which the
import reports and does not store."""


class _Seen:
    """The papers and verbatim records of a partition so far, to find one given twice."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.versions: set[tuple[str, str]] = set()

    def check(self, entry: Any) -> bool:
        """Whether the entry is a paper to stage (False: an unreadable record, to report).
        Raise :class:`_NotStageable` for anything else: a study, a withdrawal, a paper without
        its enrichment, or a paper or verbatim record that came before."""
        record = entry.record
        if entry.kind is None and not record.deleted:
            return False
        if entry.kind is not PAPER or record.deleted or entry.labels is None or entry.figures is None:
            raise _NotStageable
        version = (record.source, record.source_id)
        if entry.data["id"] in self.ids or version in self.versions:
            raise _NotStageable
        self.ids.add(entry.data["id"])
        self.versions.add(version)
        return True


def staged_rows(entries: list[Any], start: int, keys: dict[str, str]) -> dict[Table | str, list[dict[str, Any]]]:
    """Every row an import of these new papers writes, moments left empty, papers without their
    verbatim version's id, and :data:`ORDER` (the record's place, from ``start``) where order matters."""
    from curemap.store.store import _log_row, classification_rows, figure_rows

    rows: dict[Table | str, list[dict[str, Any]]] = {table: [] for table in ORDERED}
    for position, entry in enumerate(entries, start):
        record, data = entry.record, entry.data
        source, source_id, sha256 = entry.raw_key
        rows[schema.raw_records].append(
            {ORDER: position, "source": source, "source_id": source_id, "sha256": sha256, "origin": record.origin,
             "fetched_at": None, "content": record.raw}
        )
        rows[schema.papers].append(
            {ORDER: position, **PAPER.columns(data, entry.data_json), "content_hash": entry.content_hash,
             "updated_at": None, "first_seen_at": None}
        )
        rows[schema.changes].append({ORDER: position, **_log_row(data["id"], PAPER.name, "added", None)})
    labelled = [(e.data["id"], e.content_hash, e.labels, e.classification) for e in entries]
    rows.update(classification_rows(PAPER, labelled, keys["classify"], None))
    rows.update(figure_rows([(e.data["id"], e.content_hash, parse_json(e.figures)) for e in entries], keys["extract"], None))
    rows["search_documents"] = [
        {"record_id": e.data["id"], "kind": PAPER.name, **dict(zip(("title", "body"), search.document_of(PAPER.name, e.data))), "facets": ""}
        for e in entries
    ]
    return rows


def _name(token: str, table: Table | str) -> str:
    return f"{PREFIX}{token}_{table if isinstance(table, str) else table.name}"


def stage(engine: Engine, groups: Iterable[list[Any]], keys: dict[str, str]) -> str | None:
    """Copy the rows of a partition's entries (a row group at a time, so memory holds one) into
    unlogged staging tables of their own, in one transaction of the worker's, and return the
    token that names them; None, with nothing staged, if the partition is not new papers alone,
    each once, with their enrichment."""
    token, seen, created, start, unread = secrets.token_hex(6), _Seen(), set(), 0, 0
    try:
        with engine.begin() as conn:
            for entries in groups:
                papers = [entry for entry in entries if seen.check(entry)]
                rows = staged_rows(papers, start, keys)
                rows[REJECTED] = [
                    {ORDER: unread + i, "source": e.record.source, "record": e.record.source_id, "error": e.record.error or "unreadable"}
                    for i, e in enumerate(entry for entry in entries if entry.kind is None)
                ]
                for table, table_rows in rows.items():
                    if not table_rows:
                        continue
                    if table not in created:
                        _create(conn, token, table, table_rows[0])
                        created.add(table)
                    bulk_insert(conn, _name(token, table), table_rows)
                start, unread = start + len(papers), unread + len(rows[REJECTED])
            if not start:
                raise _NotStageable
    except _NotStageable:
        return None
    return token


def _create(conn: Connection, token: str, table: Table | str, row: dict[str, Any]) -> None:
    """A staging table for rows like ``row``, its target's columns' types; the documents' with
    their words stemmed as they are copied in, on the worker's connection."""
    name = _name(token, table)
    if table == REJECTED:
        conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {name} ({ORDER} integer, source text, record text, error text)")
        return
    target = table if isinstance(table, str) else table.name
    names = [conn.dialect.identifier_preparer.quote(column) for column in row if column != ORDER or table not in ORDERED]
    ordered = f"0 AS {ORDER}, " if table in ORDERED else ""
    conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {name} AS SELECT {ordered}{', '.join(names)} FROM {target} WITH NO DATA")
    if table == "search_documents":
        conn.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN document tsvector GENERATED ALWAYS AS ({search.words()}) STORED")


def merge(conn: Connection, token: str, now: str, tally: summary.Tally):
    """Move the staged partition in, in the caller's transaction, and return what the import did
    (:class:`~curemap.store.store.ImportCounts`); None, with nothing written, if any of its
    papers or their verbatim versions is stored already (the caller imports the partition
    record by record). The staged tables are dropped either way."""
    from curemap.store.store import ImportCounts

    papers, raw = _name(token, schema.papers), _name(token, schema.raw_records)
    held = conn.exec_driver_sql(
        f"SELECT 1 FROM {papers} AS s WHERE EXISTS (SELECT 1 FROM papers WHERE papers.id = s.id)"
        " OR EXISTS (SELECT 1 FROM classifications WHERE record_id = s.id) OR EXISTS (SELECT 1 FROM extractions WHERE record_id = s.id)"
        " OR EXISTS (SELECT 1 FROM search_documents WHERE record_id = s.id)"
        f" UNION ALL SELECT 1 FROM {raw} AS s WHERE EXISTS"
        " (SELECT 1 FROM raw_records AS r WHERE r.source = s.source AND r.source_id = s.source_id) LIMIT 1"
    ).first()
    if held is not None:
        drop(conn, token)
        return None
    quote = conn.dialect.identifier_preparer.quote
    for table in _staged_tables(conn, token):
        target = table if isinstance(table, str) else table.name
        names = [name for name in _staged_columns(conn, _name(token, table)) if name != ORDER or table not in ORDERED]
        values = ["%(now)s" if name in MOMENTS else f"s.{quote(name)}" for name in names]
        names = [quote(name) for name in names]
        joined, ordered = "", f" ORDER BY s.{ORDER}" if table in ORDERED else ""
        if table is schema.papers:
            names.append("raw_id")
            values.append("r.id")
            joined = (
                f" JOIN {raw} AS v ON v.{ORDER} = s.{ORDER}"
                " JOIN raw_records AS r ON r.source = v.source AND r.source_id = v.source_id AND r.sha256 = v.sha256"
            )
        conn.exec_driver_sql(
            f"INSERT INTO {target} ({', '.join(names)}) SELECT {', '.join(values)} FROM {_name(token, table)} AS s{joined}{ordered}",
            {"now": now},
        )
    for source, n in conn.exec_driver_sql(f"SELECT source, count(*) FROM {raw} GROUP BY source").all():
        tally.add(summary.RAW, source, n, fetched_at=now)
    ids = list(conn.exec_driver_sql(f"SELECT id FROM {papers} ORDER BY {ORDER}").scalars())
    ms = conn.exec_driver_sql(f"SELECT count(*) FROM {_name(token, schema.classifications)} WHERE is_ms").scalar()
    tally.add(summary.PAPERS, n=len(ids))
    tally.add(summary.MS, PAPER.name, ms)
    rejected = []
    if conn.exec_driver_sql("SELECT to_regclass(%(name)s)", {"name": _name(token, REJECTED)}).scalar() is not None:
        rejected = [
            dict(row._mapping)
            for row in conn.exec_driver_sql(f"SELECT source, record, error FROM {_name(token, REJECTED)} ORDER BY {ORDER}")
        ]
    drop(conn, token)
    return ImportCounts(imported=len(ids), rejected=rejected, changed_ids=ids)


def _staged_tables(conn: Connection, token: str) -> list[Table | str]:
    """The staged tables of a partition, in the order their rows must go in (a paper after its
    verbatim version; the rest after the paper)."""
    held = set(conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE tablename LIKE %(prefix)s", {"prefix": f"{PREFIX}{token}_%"}).scalars())
    order: list[Table | str] = [*ORDERED, *(t for t in schema.metadata.sorted_tables if t not in ORDERED), "search_documents"]
    return [table for table in order if _name(token, table) in held]


def _staged_columns(conn: Connection, name: str) -> list[str]:
    return list(
        conn.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %(name)s ORDER BY ordinal_position", {"name": name}
        ).scalars()
    )


def drop(conn: Connection, token: str) -> None:
    """Drop a partition's staged tables (those it has)."""
    for name in conn.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE tablename LIKE %(prefix)s", {"prefix": f"{PREFIX}{token}_%"}
    ).scalars().all():
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
