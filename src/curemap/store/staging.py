"""New records loaded through staging tables on PostgreSQL: the writer's share of a bulk load
made set-based, the rest done by the workers in parallel.

A worker that has made a partition of new records of one kind (each once, none withdrawn; its
unreadable ones are reported) copies every row an import of them into the store would write
(the verbatim record, the study or paper with a study's sites, conditions, interventions and
results, its change-log row, its classification and labels, its extraction and figures, its
search document) into unlogged tables of its own (:func:`stage`), in parallel with the other
workers; the server stems each document there, on the worker's connection. The single writer
then moves a partition in (:func:`merge`), in the partition's transaction, with one
``INSERT … SELECT`` per table in the partition's order, so serial ids come out as the import's
would and readers see the partition whole or not at all; the summary counts move as the
import moves them, and new studies' trials' figures with them. If any of its records is stored
by then (or a verbatim version of it), the staged rows are dropped and the partition is
imported record by record, as every partition on SQLite is: the set-based path is taken only
where it writes exactly the rows that import writes.

Rows are staged without the moments they are written (``fetched_at``, ``first_seen_at`` …),
which the merge sets to the transaction's clock, and a record without its verbatim version's
id, which the merge joins. (A study's facets list its strategies in Python's order, an
import's in the database's; on a database whose collation orders them otherwise the text
differs, the tokens searched do not.)
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, Table

from curemap.jsontext import parse_json
from curemap.store import schema, search, summary
from curemap.store.bulk import bulk_insert
from curemap.store.kinds import PAPER, STUDY, RecordKind

MOMENTS = ("fetched_at", "first_seen_at", "updated_at", "detected_at", "classified_at", "extracted_at")
"""The columns that say when a row was written: set by the merge, in the writer's transaction."""

PREFIX = "staged_"
"""Staging tables are named ``staged_<token>_<table>``."""

ORDERED = (schema.raw_records, schema.studies, schema.papers, schema.changes)
"""Tables whose staged rows keep their record's place in the partition (in a column
:data:`ORDER` none of them has): the first and the last number their rows as they come;
records join their verbatim version by it."""

ORDER = "position"


class _NotStageable(Exception):
    """A partition the set-based path cannot load (its staging is rolled back)."""


REJECTED = "rejected"
"""The staged table of a partition's unreadable records (source, record, error), which the
import reports and does not store."""


class _Seen:
    """The records of a partition so far: their kind, and their ids and verbatim records, to find one given twice."""

    def __init__(self) -> None:
        self.kind: RecordKind | None = None
        self.ids: set[str] = set()
        self.versions: set[tuple[str, str]] = set()

    def check(self, entry: Any) -> bool:
        """Whether the entry is a record to stage (False: an unreadable record, to report).
        Raise :class:`_NotStageable` for anything else: a withdrawal, a record without its
        enrichment or of another kind than the partition's first, or a record or verbatim
        record that came before."""
        record = entry.record
        if entry.kind is None and not record.deleted:
            return False
        if record.deleted or entry.labels is None or entry.figures is None or entry.kind is not (self.kind or entry.kind):
            raise _NotStageable
        version = (record.source, record.source_id)
        if entry.data["id"] in self.ids or version in self.versions:
            raise _NotStageable
        self.kind = entry.kind
        self.ids.add(entry.data["id"])
        self.versions.add(version)
        return True


def staged_rows(kind: RecordKind, entries: list[Any], start: int, keys: dict[str, str]) -> dict[Table | str, list[dict[str, Any]]]:
    """Every row an import of these new records of ``kind`` writes, moments left empty, records
    without their verbatim version's id, and :data:`ORDER` (the record's place, from ``start``)
    where order matters."""
    from curemap.store.store import _carried_labels, _log_row, classification_rows, figure_rows

    rows: dict[Table | str, list[dict[str, Any]]] = {schema.raw_records: [], kind.table: [], schema.changes: []}
    for table in kind.child_tables:
        rows[table] = []
    for position, entry in enumerate(entries, start):
        record, data = entry.record, entry.data
        source, source_id, sha256 = entry.raw_key
        rows[schema.raw_records].append(
            {ORDER: position, "source": source, "source_id": source_id, "sha256": sha256, "origin": record.origin,
             "fetched_at": None, "content": record.raw}
        )
        rows[kind.table].append(
            {ORDER: position, **kind.columns(data, entry.data_json), "content_hash": entry.content_hash,
             "updated_at": None, "first_seen_at": None, **_carried_labels(kind, entry)}
        )
        rows[schema.changes].append({ORDER: position, **_log_row(data["id"], kind.name, "added", None)})
        for table, children in kind.children(data).items():
            rows[table] += children
    labelled = [(e.data["id"], e.content_hash, e.labels, e.classification) for e in entries]
    rows.update(classification_rows(kind, labelled, keys["classify"], None))
    rows.update(figure_rows([(e.data["id"], e.content_hash, parse_json(e.figures)) for e in entries], keys["extract"], None))
    facets = _facets(rows[kind.table], rows[schema.record_strategies]) if kind is STUDY else {}
    rows["search_documents"] = [
        {"record_id": e.data["id"], "kind": kind.name, **dict(zip(("title", "body"), search.document_of(kind.name, e.data))),
         "facets": facets.get(e.data["id"], "")}
        for e in entries
    ]
    return rows


def _facets(studies: list[dict[str, Any]], labels: list[dict[str, Any]]) -> dict[str, str]:
    """New studies' facet tokens, as the index reads them from the rows written (labels in
    order of strategy)."""
    tokens = {row["id"]: search.study_tokens(row["phase"], row["status"], row.get("is_ms"), row.get("curative_intent")) for row in studies}
    for label in sorted(labels, key=lambda label: (label["record_id"], label["strategy"])):
        tokens[label["record_id"]] += search.label_tokens(label["strategy"], label["role"])
    return {record_id: " ".join(held) for record_id, held in tokens.items()}


def _name(token: str, table: Table | str) -> str:
    return f"{PREFIX}{token}_{table if isinstance(table, str) else table.name}"


def stage(engine: Engine, groups: Iterable[list[Any]], keys: dict[str, str]) -> str | None:
    """Copy the rows of a partition's entries (a row group at a time, so memory holds one) into
    unlogged staging tables of their own, in one transaction of the worker's, and return the
    token that names them; None, with nothing staged, unless the partition is records of one
    kind, each once, with their enrichment, none withdrawn."""
    token, seen, created, start, unread = secrets.token_hex(6), _Seen(), set(), 0, 0
    try:
        with engine.begin() as conn:
            for entries in groups:
                good = [entry for entry in entries if seen.check(entry)]
                rows = staged_rows(seen.kind, good, start, keys) if good else {}
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
                start, unread = start + len(good), unread + len(rows[REJECTED])
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


def merge(conn: Connection, token: str, now: str, tally: summary.Tally, trials: summary.TrialsChanging):
    """Move the staged partition in, in the caller's transaction, and return what the import did
    (:class:`~curemap.store.store.ImportCounts`); None, with nothing written, if any of its
    records or their verbatim versions is stored already (the caller imports the partition
    record by record). New studies are touched in ``trials`` before they are written, as an
    import touches them. The staged tables are dropped either way."""
    from curemap.store.store import ImportCounts

    tables = _staged_tables(conn, token)
    kind = STUDY if schema.studies in tables else PAPER
    records, raw = _name(token, kind.table), _name(token, schema.raw_records)
    held = conn.exec_driver_sql(
        f"SELECT 1 FROM {records} AS s WHERE EXISTS (SELECT 1 FROM {kind.table.name} AS t WHERE t.id = s.id)"
        " OR EXISTS (SELECT 1 FROM classifications WHERE record_id = s.id) OR EXISTS (SELECT 1 FROM extractions WHERE record_id = s.id)"
        " OR EXISTS (SELECT 1 FROM search_documents WHERE record_id = s.id)"
        f" UNION ALL SELECT 1 FROM {raw} AS s WHERE EXISTS"
        " (SELECT 1 FROM raw_records AS r WHERE r.source = s.source AND r.source_id = s.source_id) LIMIT 1"
    ).first()
    if held is not None:
        drop(conn, token)
        return None
    ids = list(conn.exec_driver_sql(f"SELECT id FROM {records} ORDER BY {ORDER}").scalars())
    if kind is STUDY:
        trials.touch(ids, stored=())
    quote = conn.dialect.identifier_preparer.quote
    for table in tables:
        target = table if isinstance(table, str) else table.name
        names = [name for name in _staged_columns(conn, _name(token, table)) if name != ORDER or table not in ORDERED]
        values = ["%(now)s" if name in MOMENTS else f"s.{quote(name)}" for name in names]
        names = [quote(name) for name in names]
        joined, ordered = "", f" ORDER BY s.{ORDER}" if table in ORDERED else ""
        if table is kind.table:
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
    _count(conn, token, kind, len(ids), now, tally)
    rejected = []
    if conn.exec_driver_sql("SELECT to_regclass(%(name)s)", {"name": _name(token, REJECTED)}).scalar() is not None:
        rejected = [
            dict(row._mapping)
            for row in conn.exec_driver_sql(f"SELECT source, record, error FROM {_name(token, REJECTED)} ORDER BY {ORDER}")
        ]
    drop(conn, token)
    return ImportCounts(imported=len(ids), rejected=rejected, changed_ids=ids)


def _count(conn: Connection, token: str, kind: RecordKind, n: int, now: str, tally: summary.Tally) -> None:
    """What the new records add to the summary, counted over their staged rows as an import
    counts them one by one: verbatim records per source, records (studies per value of each
    counted column), those about MS, and studies per set of strategies."""
    for source, count in conn.exec_driver_sql(f"SELECT source, count(*) FROM {_name(token, schema.raw_records)} GROUP BY source").all():
        tally.add(summary.RAW, source, count, fetched_at=now)
    if kind is PAPER:
        tally.add(summary.PAPERS, n=n)
    else:
        tally.add(summary.STUDIES, n=n)
        for column in summary.STUDY_COLUMNS:
            for value, count in conn.exec_driver_sql(f"SELECT {column}, count(*) FROM {_name(token, schema.studies)} GROUP BY {column}").all():
                tally.add(summary.by(column), summary.NO_VALUE if value is None else str(value), count)
    ms = conn.exec_driver_sql(f"SELECT count(*) FROM {_name(token, schema.classifications)} WHERE is_ms").scalar()
    tally.add(summary.MS, kind.name, ms)
    if kind is STUDY and schema.record_strategies in _staged_tables(conn, token):
        labelled = conn.exec_driver_sql(
            "SELECT string_agg(strategy, ' ') FROM"
            f" (SELECT DISTINCT record_id, strategy FROM {_name(token, schema.record_strategies)}) AS labels GROUP BY record_id"
        ).scalars()
        summary.labelled(tally, (key.split(" ") for key in labelled), +1)


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
