"""New records loaded through staging tables: the writer's share of a bulk load made
set-based, the rest done by the workers in parallel.

A worker that has made a partition of new records of one kind (each once, none withdrawn; its
unreadable ones are reported) copies every row an import of them into the store would write
(the verbatim record, the study or paper with a study's sites, conditions, interventions and
results, its change-log row, its classification and labels, its extraction and figures, its
search document) into staging tables, in parallel with the other workers: unlogged tables of
a PostgreSQL store, where the server stems each document on the worker's connection
(:func:`stage_in_store`), or a SQLite file beside the partition (:func:`stage_in_file`). The
single writer then moves a partition in (:func:`merge`, the file attached to its connection),
in the partition's transaction, with one ``INSERT … SELECT`` per table in the partition's
order, so serial ids and index keys come out as the import's would and readers see the
partition whole or not at all; the summary counts move as the import moves them. New
studies' trial figures are the worker's too, each study a trial of its own, unless a stored
registration links one to another study (then they are worked out in the store, as an import
works them out). If any of its records is stored by then (or a verbatim
version of it), the staged rows are dropped and the partition is imported record by record:
the set-based path is taken only where it writes exactly the rows that import writes.

Rows are staged without the moments they are written (``fetched_at``, ``first_seen_at`` …),
which the merge sets to the transaction's clock, and a record without its verbatim version's
id, which the merge joins. A study's facets list its strategies by code point on both paths,
whatever the database's collation.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, String, Table, create_engine, literal, select, text
from sqlalchemy import column as sql_column, table as sql_table

from curemap.jsontext import parse_json
from curemap.store import schema, search, summary
from curemap.store.bulk import among, bulk_insert
from curemap.store.kinds import PAPER, STUDY, RecordKind

MOMENTS = ("fetched_at", "first_seen_at", "updated_at", "detected_at", "classified_at", "extracted_at")
"""The columns that say when a row was written: set by the merge, in the writer's transaction."""

PREFIX = "staged_"
"""Staging tables are named ``staged_<token>_<table>``."""

LEFT_AFTER = timedelta(days=1)
"""A partition staged in a PostgreSQL store this long ago was left by a build that stopped: no
partition waits for the writer that long."""

ORDER = "position"
"""The column of a staged row that holds its record's place in the partition."""

ORDERED = (schema.raw_records, schema.studies, schema.papers, schema.changes)
"""Tables whose staged rows keep their record's place in the partition (in :data:`ORDER`, a
column none of them has): the first and the last number their rows as they come; records
join their verbatim version's id by it."""

REJECTED = "rejected"
"""The staged table of a partition's unreadable records (source, record, error), which the
import reports and does not store."""

FIGURES = "trial_figures"
"""The staged table of what new studies' trials add to the summary (name, key, n), each study a
trial of its own, worked out by the worker (:func:`summary.own_trial_figures`); the kept rows
lists of trials read are staged as the store's own tables."""


class _NotStageable(Exception):
    """A partition the set-based path cannot load (its staging is rolled back)."""


class _Seen:
    """A partition's records so far: their kind, ids and verbatim records (one given twice is not staged)."""

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
    from curemap.store.store import carried_labels, log_row, classification_rows, figure_rows

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
             "updated_at": None, "first_seen_at": None, **carried_labels(kind, entry)}
        )
        rows[schema.changes].append({ORDER: position, **log_row(data["id"], kind.name, "added", None)})
        for table, children in kind.children(data).items():
            rows[table] += children
    labelled = [(e.data["id"], e.content_hash, e.labels, e.classification) for e in entries]
    rows.update(classification_rows(kind, labelled, keys["classify"], None))
    rows.update(figure_rows([(e.data["id"], e.content_hash, parse_json(e.figures)) for e in entries], keys["extract"], None))
    facets = _facets(kind, rows)
    if kind is STUDY:
        figures = _trial_figures(rows, {e.data["id"]: e.data.get("total_locations") for e in entries})
        rows[schema.strategy_trials], rows[schema.sponsor_trials] = figures.listed, figures.sponsored
        rows[FIGURES] = [{"name": name, "key": key, "n": n} for (name, key), n in figures.tally.counts.items()]
    rows["search_documents"] = [
        {"record_id": e.data["id"], "kind": kind.name, **dict(zip(("title", "body"), search.document_of(kind.name, e.data))),
         "facets": facets.get(e.data["id"], ""), "day": search.record_day(kind.name, e.data)}
        for e in entries
    ]
    return rows


def _trial_figures(rows: dict[Table | str, list[dict[str, Any]]], totals: dict[str, int | None]) -> summary.TrialFigures:
    """The figures of new studies' trials, each study a trial of its own, from their staged rows."""
    classified = {row["record_id"]: row for row in rows[schema.classifications]}
    labels: dict[str, list[summary.Label]] = {}
    for row in rows[schema.record_strategies]:
        labels.setdefault(row["record_id"], []).append(summary.Label(row["strategy"], row["role"]))
    from_classification = ("is_ms", "purpose", "sponsor_type", "organisation")
    registrations = [
        summary.Registration(
            **{name: study[name] for name in summary.Registration._fields if name in study and name not in from_classification},
            trial=study["id"],
            **{name: classified[study["id"]][name] for name in from_classification},
        )
        for study in rows[schema.studies]
    ]
    return summary.own_trial_figures(registrations, labels, rows[schema.study_locations], totals)


def _facets(kind: RecordKind, rows: dict[Table | str, list[dict[str, Any]]]) -> dict[str, str]:
    """New records' facet tokens (:func:`search.facet_tokens`), read from the rows written as the
    index reads them from the store."""
    related = {row["id"]: search.Related() for row in rows[kind.table]}
    for label in rows[schema.record_strategies]:
        related[label["record_id"]].labels.append((label["strategy"], label["role"]))
    if kind is not STUDY:
        return {record_id: search.facet_tokens(None, held) for record_id, held in related.items()}
    for row in rows[schema.classifications]:
        related[row["record_id"]].sponsor_type = row["sponsor_type"]
    for table, record, part, column in (
        (schema.record_phenotypes, "record_id", "phenotypes", "phenotype"),
        (schema.record_populations, "record_id", "populations", "population"),
        (schema.study_locations, "study_id", "countries", "country"),
    ):
        for row in rows[table]:
            if row[column]:
                getattr(related[row[record]], part).add(row[column])
    return {row["id"]: search.facet_tokens(row, related[row["id"]]) for row in rows[kind.table]}


FILE_SUFFIX = ".staged.db"
"""A SQLite store's partition is staged in a SQLite file beside it, named so."""

ATTACHED = "staged"
"""The name a staging file is attached to the writer's connection under."""


def _in_file(token: str) -> bool:
    """Whether a partition was staged in a file (its token the file's path), not in the store."""
    return token.endswith(FILE_SUFFIX)


def _table_name(table: Table | str) -> str:
    return table if isinstance(table, str) else table.name


def _name(token: str, table: Table | str) -> str:
    """A staged table's name as the writer reads it."""
    return f"{ATTACHED}.{_table_name(table)}" if _in_file(token) else f"{PREFIX}{token}_{_table_name(table)}"


def stage_in_store(engine: Engine, groups: Iterable[list[Any]], keys: dict[str, str]) -> str | None:
    """Stage a partition in unlogged tables of a PostgreSQL store (see :func:`_stage`)."""
    token = f"{int(time.time()):08x}{secrets.token_hex(4)}"  # when it was staged, then a random part
    return token if _stage(engine, lambda table: f"{PREFIX}{token}_{_table_name(table)}", groups, keys) else None


def stage_in_file(beside: str, groups: Iterable[list[Any]], keys: dict[str, str]) -> str | None:
    """Stage a partition in a SQLite file beside ``beside`` (a SQLite store's, see :func:`_stage`);
    the file's path is the token."""
    path = Path(beside + FILE_SUFFIX)
    path.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    try:
        staged = _stage(engine, _table_name, groups, keys)
    finally:
        engine.dispose()
    if not staged:
        path.unlink(missing_ok=True)
        return None
    return str(path)


def _stage(engine: Engine, name_of: Callable[[Table | str], str], groups: Iterable[list[Any]], keys: dict[str, str]) -> bool:
    """Copy the rows of a partition's entries (a row group at a time, so memory holds one) into
    staging tables named by ``name_of``, in one transaction of the worker's; False, with
    nothing staged, unless the partition is records of one kind, each once, with their
    enrichment, none withdrawn."""
    seen, created, start, unread = _Seen(), set(), 0, 0
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
                        _create(conn, name_of(table), table, table_rows[0])
                        created.add(table)
                    bulk_insert(conn, name_of(table), table_rows)
                start, unread = start + len(good), unread + len(rows[REJECTED])
            if not start:
                raise _NotStageable
            if conn.dialect.name == "postgresql":  # the writer's joins planned on what the tables hold
                for table in created:
                    conn.exec_driver_sql(f"ANALYZE {name_of(table)}")
    except _NotStageable:
        return False
    return True


def _create(conn: Connection, name: str, table: Table | str, row: dict[str, Any]) -> None:
    """A staging table for rows like ``row``, with its target's column types. On PostgreSQL
    unlogged, the documents' words stemmed as they are copied in, on the worker's connection."""
    ordered = table in ORDERED or table == REJECTED
    names = [column for column in row if column != ORDER or not ordered]
    if conn.dialect.name == "postgresql" and table not in (REJECTED, FIGURES):
        quoted = [conn.dialect.identifier_preparer.quote(column) for column in names]
        conn.exec_driver_sql(
            f"CREATE UNLOGGED TABLE {name} AS SELECT {f'0 AS {ORDER}, ' if ordered else ''}{', '.join(quoted)}"
            f" FROM {_table_name(table)} WITH NO DATA"
        )
        if table == "search_documents":
            conn.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN document tsvector GENERATED ALWAYS AS ({search.words()}) STORED")
        return
    target = schema.metadata.tables.get(_table_name(table))
    declared = [
        f"{conn.dialect.identifier_preparer.quote(column)} "
        f"{target.c[column].type.compile(dialect=conn.dialect) if target is not None else 'INTEGER' if column in ('n', 'day') else 'TEXT'}"
        for column in names
    ]
    unlogged = "UNLOGGED " if conn.dialect.name == "postgresql" else ""
    conn.exec_driver_sql(f"CREATE {unlogged}TABLE {name} ({f'{ORDER} INTEGER, ' if ordered else ''}{', '.join(declared)})")


@contextmanager
def attached(conn: Connection, token: str | None) -> Iterator[None]:
    """A SQLite partition's staging file attached to the writer's connection for the block
    (detached after it, once its transaction is over)."""
    if not token or not _in_file(token) or conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql(f"ATTACH DATABASE ? AS {ATTACHED}", (token,))
    conn.commit()  # ends the transaction the statement began, before the caller's
    try:
        yield
    finally:
        conn.rollback()  # a transaction the caller's block left open
        conn.exec_driver_sql(f"DETACH DATABASE {ATTACHED}")
        conn.commit()


def merge(conn: Connection, token: str, now: str, tally: summary.Tally, trials: summary.TrialsChanging):
    """Move the staged partition in, in the caller's transaction, and return what the import did
    (:class:`~curemap.store.store.ImportCounts`); None, with nothing written, if any of its
    records or their verbatim versions is stored already (the caller imports the partition
    record by record). New studies are touched in ``trials`` before they are written, as an
    import touches them. The staged tables are dropped either way."""
    from curemap.store.store import ImportCounts

    tables = _staged_tables(conn, token)
    if not tables:  # its staging is gone (dropped as left behind, or a file removed): imported record by record
        return None
    kind = STUDY if schema.studies in tables else PAPER
    records, raw = _name(token, kind.table), _name(token, schema.raw_records)
    ids = list(conn.exec_driver_sql(f"SELECT id FROM {records} ORDER BY {ORDER}").scalars())
    versions: dict[str, list[str]] = {}
    for source, source_id in conn.exec_driver_sql(f"SELECT source, source_id FROM {raw}").all():
        versions.setdefault(source, []).append(source_id)
    if any_stored(conn, kind, ids, versions):
        drop(conn, token)
        return None
    linked = kind is STUDY and any(_any_among(conn, "trial_registrations", column, ids) for column in ("study_id", "trial_id"))
    if linked:  # a registration links a new study to another: its trial's figures move as an import moves them
        trials.touch(ids, stored=())
    elif FIGURES in tables:
        for name, key, n in conn.exec_driver_sql(f"SELECT name, key, sum(n) FROM {_name(token, FIGURES)} GROUP BY name, key").all():
            tally.add(name, key, int(n))
    quote = conn.dialect.identifier_preparer.quote
    for table in tables:
        if table in (REJECTED, FIGURES):
            continue
        if table == "search_documents" and conn.dialect.name == "sqlite":
            _index_in_sqlite(conn, token, kind, ids)
            continue
        target = _table_name(table)
        names = [name for name in _staged_columns(conn, token, table) if name != ORDER or table not in ORDERED]
        values = [":now" if name in MOMENTS else f"s.{quote(name)}" for name in names]
        names = [quote(name) for name in names]
        joined, ordered = "", f" ORDER BY s.{ORDER}" if table in ORDERED else ""
        if table is kind.table:
            names.append("raw_id")
            values.append("v.raw_id")
            joined = f" JOIN {RAW_IDS} AS v ON v.{ORDER} = s.{ORDER}"
        inserted = conn.execute(
            text(
                f"INSERT INTO {target} ({', '.join(names)}) SELECT {', '.join(values)} FROM {_name(token, table)} AS s{joined}{ordered}"
                + (" RETURNING id, source, source_id, sha256" if table is schema.raw_records else "")
            ),
            {"now": now},
        )
        if table is schema.raw_records:
            _keep_raw_ids(conn, token, inserted.all())
    _count(conn, token, kind, len(ids), now, tally)
    rejected = []
    if REJECTED in tables:
        rejected = [
            dict(row._mapping)
            for row in conn.exec_driver_sql(f"SELECT source, record, error FROM {_name(token, REJECTED)} ORDER BY {ORDER}")
        ]
    drop(conn, token)
    return ImportCounts(imported=len(ids), rejected=rejected, changed_ids=ids)


def _index_in_sqlite(conn: Connection, token: str, kind: RecordKind, ids: list[str]) -> None:
    """Index new records in SQLite's full-text table: their keys taken as an import takes them
    (a batch at a time; a batch's studies in the order SQLite reads them by id, its papers in the
    order they came), then their
    documents copied in the keys' order."""
    from curemap.store.store import BATCH_SIZE

    days = dict(conn.exec_driver_sql(f"SELECT record_id, day FROM {_name(token, 'search_documents')}").all())
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start : start + BATCH_SIZE]
        search.index_keys(conn, kind.name, {i: days[i] for i in (sorted(batch) if kind is STUDY else batch)})
    conn.exec_driver_sql(
        f"INSERT INTO search_documents (rowid, title, body, facets) SELECT k.id, s.title, s.body, s.facets"
        f" FROM {_name(token, 'search_documents')} AS s JOIN search_keys AS k ON k.record_id = s.record_id ORDER BY k.id"
    )


RAW_IDS = "merged_raw_ids"
"""A temporary table of the ids the partition's verbatim records were given, by their place."""


def _keep_raw_ids(conn: Connection, token: str, inserted: list[Any]) -> None:
    """Keep the ids the verbatim records were given by their place in the partition, for their
    records to join: the staged rows joined to each other, never to the store's whole table,
    whose plan would depend on statistics a bulk load leaves behind."""
    place = {tuple(row[1:]): row[0] for row in conn.exec_driver_sql(f"SELECT {ORDER}, source, source_id, sha256 FROM {_name(token, schema.raw_records)}")}
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {RAW_IDS} ({ORDER} integer PRIMARY KEY, raw_id integer) ON COMMIT DROP")
    else:
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {RAW_IDS} ({ORDER} INTEGER PRIMARY KEY, raw_id INTEGER)")
    conn.exec_driver_sql(f"DELETE FROM {RAW_IDS}")
    bulk_insert(conn, RAW_IDS, [{ORDER: place[(row.source, row.source_id, row.sha256)], "raw_id": row.id} for row in inserted])


def _any_among(conn: Connection, table: str, column: str, values: list[str], **equal: str) -> bool:
    """Whether any row of ``table`` has one of ``values`` in ``column`` (and the ``equal``
    values), each looked up by an index however large the table (:func:`bulk.among`)."""
    held = sql_table(table, *(sql_column(name, String) for name in (column, *equal)))
    where = [among(conn, held.c[column], values), *(held.c[name] == value for name, value in equal.items())]
    return conn.execute(select(literal(1)).select_from(held).where(*where).limit(1)).first() is not None


def any_stored(conn: Connection, kind: RecordKind, ids: list[str], versions: dict[str, list[str]]) -> bool:
    """Whether the store holds any of these records, anything of theirs, or a verbatim version
    of any (by source, the source's ids)."""
    indexed = ("search_keys" if conn.dialect.name == "sqlite" else "search_documents", "record_id")
    for table, column in ((kind.table.name, "id"), ("classifications", "record_id"), ("extractions", "record_id"), indexed):
        if _any_among(conn, table, column, ids):
            return True
    return any(_any_among(conn, "raw_records", "source_id", source_ids, source=source) for source, source_ids in versions.items())


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
        joined = "string_agg(strategy, ' ')" if conn.dialect.name == "postgresql" else "group_concat(strategy, ' ')"
        labelled = conn.exec_driver_sql(
            f"SELECT {joined} FROM"
            f" (SELECT DISTINCT record_id, strategy FROM {_name(token, schema.record_strategies)}) AS labels GROUP BY record_id"
        ).scalars()
        summary.labelled(tally, (key.split(" ") for key in labelled), +1)


def _staged_tables(conn: Connection, token: str) -> list[Table | str]:
    """The staged tables of a partition, in the order their rows must go in (a record after its
    verbatim version; the rest after the record)."""
    if _in_file(token):
        held = set(conn.exec_driver_sql(f"SELECT name FROM {ATTACHED}.sqlite_master WHERE type = 'table'").scalars())
    else:
        held = set(_named_after(conn, f"{PREFIX}{token}_"))
    order: list[Table | str] = [*ORDERED, *(t for t in schema.metadata.sorted_tables if t not in ORDERED), "search_documents", REJECTED, FIGURES]
    return [table for table in order if _table_name(table) in held]


def _named_after(conn: Connection, prefix: str) -> list[str]:
    """The names of a PostgreSQL store's tables that begin with ``prefix``, less the prefix."""
    found = conn.execute(text("SELECT tablename FROM pg_tables WHERE starts_with(tablename, :prefix)"), {"prefix": prefix}).scalars()
    return [name[len(prefix) :] for name in found]


def _staged_columns(conn: Connection, token: str, table: Table | str) -> list[str]:
    if _in_file(token):
        return [row[1] for row in conn.exec_driver_sql(f"PRAGMA {ATTACHED}.table_info({_table_name(table)})")]
    return list(
        conn.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = :name ORDER BY ordinal_position"),
            {"name": _name(token, table)},
        ).scalars()
    )


def drop(conn: Connection, token: str) -> None:
    """Drop a partition's staged tables in a PostgreSQL store (a staging file is removed once
    the writer is done with it: :func:`remove`)."""
    if not _in_file(token):
        for table in _staged_tables(conn, token):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_name(token, table)}")


def left_behind(conn: Connection, older_than: timedelta = LEFT_AFTER) -> list[tuple[str, datetime]]:
    """The partitions staged in a PostgreSQL store longer ago than ``older_than`` (by builds
    stopped before loading them), with when each was staged, oldest first."""
    if conn.dialect.name != "postgresql":
        return []
    found = {}
    for name in _named_after(conn, PREFIX):
        token = name.split("_", 1)[0]
        if re.fullmatch(r"[0-9a-f]{16}", token):
            found[token] = datetime.fromtimestamp(int(token[:8], 16), UTC)
    cutoff = datetime.now(UTC) - older_than
    return sorted(((token, at) for token, at in found.items() if at < cutoff), key=lambda item: item[1])


def remove(token: str) -> None:
    """Remove a partition's staging file."""
    if _in_file(token):
        Path(token).unlink(missing_ok=True)
