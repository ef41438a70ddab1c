"""The evidence store: idempotent upserts with provenance and a field-level change log.

Every write goes through :meth:`Store.import_records` (a file: one transaction)
or :meth:`Store.save_page` (a harvested page and its resume cursor: one
transaction), so a failure leaves the previous state readable and intact.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, partial
from itertools import chain, islice
from math import isfinite
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Table,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from curemap.errors import StoreError
from curemap.model import Paper, ParsedRecord, Study
from curemap.jsontext import parse_json
from curemap.store import schema, search, staging, summary
from curemap.store.bulk import among, bulk_insert, insert_new, update_rows
from curemap.store.schema import upsert
from curemap.store.kinds import PAPER, STUDY, RecordKind, item_of, kind_of
from curemap.store.migrations import migrate

BATCH_SIZE = 500

DB_FILENAME = "curemap.db"

POOL_SIZE, POOL_OVERFLOW = 5, 10
"""Connections the engine keeps open, and opens beyond them when busy; a server bounds its
concurrent readers by their sum (:attr:`Store.connections`) so none waits on the pool."""

CHANGE_KINDS = {
    "status": "status_changed",
    "why_stopped": "status_changed",
    "has_results": "results_posted",
    "results_first_posted": "results_posted",
    "result_values": "results_updated",
    "adverse_events": "results_updated",
    "result_analyses": "results_updated",
    "enrollment": "enrollment_changed",
    "enrollment_type": "enrollment_changed",
    "start_date": "dates_moved",
    "primary_completion_date": "dates_moved",
    "completion_date": "dates_moved",
}
"""Change-log kinds for the fields "what changed" reports on; other fields log as ``updated``."""

UNLOGGED_FIELDS = frozenset({"last_update_posted"})
"""Fields that move with every registry edit and say nothing by themselves."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_SPELT_OTHERWISE = (re.compile(rb"e-[1-9](?![0-9])"), re.compile(rb"0\.0000"))
"""Where orjson may spell a number otherwise than Python: 1e-06 as ``1e-6`` and 1e-05 as
``0.00001``, where Python writes ``1e-06`` and ``1e-05``."""

_IN_NUMBER = frozenset(b"0123456789.-")
_BEFORE_NUMBER = frozenset(b":,[")


def _spelt_otherwise(text: bytes) -> bool:
    """Whether orjson's text holds a number spelt otherwise than Python spells it. In its text
    (no spaces) a number starts the text or follows ``:``, ``,`` or ``[``, so a string's
    ``type-2`` is not one."""
    for found in chain.from_iterable(pattern.finditer(text) for pattern in _SPELT_OTHERWISE):
        start = found.start()
        while start and text[start - 1] in _IN_NUMBER:
            start -= 1
        if not start or text[start - 1] in _BEFORE_NUMBER:
            return True
    return False


_JSON_SCALARS = frozenset({str, int, bool, type(None)})


def _written_alike(value: Any) -> bool:
    """Whether orjson writes ``value`` as the standard library does, as far as the value shows:
    it holds plain containers and scalars only (orjson would write a dataclass, an enum or a
    UUID the standard library refuses) and no NaN or infinity (which orjson writes ``null``).
    Checked level by level without recursion, by exact class (a subclass is left to the
    standard library)."""
    level = [value]
    while level:
        deeper: list[Any] = []
        extend = deeper.extend
        for node in level:
            kind = node.__class__
            if kind in _JSON_SCALARS:
                continue
            if kind is dict:
                extend(node.values())
            elif kind is list or kind is tuple:
                extend(node)
            elif kind is not float or not isfinite(node):
                return False
        level = deeper
    return True


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, non-ASCII as is: ``json.dumps(value, ensure_ascii=False,
    sort_keys=True, separators=(",", ":"))``, the text stored records are hashed by.

    orjson writes that text several times faster, except for a float below 1e-4 (whose
    exponent it spells otherwise), NaN and infinities (it writes ``null``) and values it
    writes where the standard library refuses them or cannot (other types, integers past
    64 bits, lone surrogates, keys that are not text). So its text is kept only for a value
    of plain JSON types (:func:`_written_alike`) it writes without error and with no such
    float; else the standard library writes the value, and the text never differs.
    """
    encoded = _orjson_canonical(value)
    return _stdlib_canonical(value) if encoded is None else encoded.decode()


def canonical_json_hashed(value: Any) -> tuple[str, str]:
    """:func:`canonical_json` of ``value`` and the sha256 of that text, which orjson's bytes
    give without encoding the text again (a stored study's is about 34 KB)."""
    encoded = _orjson_canonical(value)
    if encoded is None:
        text = _stdlib_canonical(value)
        return text, sha256_text(text)
    return encoded.decode(), hashlib.sha256(encoded).hexdigest()


def _orjson_canonical(value: Any) -> bytes | None:
    """orjson's UTF-8 text of ``value`` when it is :func:`canonical_json`'s, else ``None``."""
    if not _written_alike(value):
        return None
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    return None if _spelt_otherwise(encoded) else encoded


def _stdlib_canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class ImportCounts:
    """What one import or harvested page did, in the shape of the CLI contract."""

    imported: int = 0
    unchanged: int = 0
    changed: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)

    def add(self, other: "ImportCounts") -> None:
        self.imported += other.imported
        self.unchanged += other.unchanged
        self.changed += other.changed
        self.rejected.extend(other.rejected)
        self.changed_ids.extend(other.changed_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "unchanged": self.unchanged,
            "changed": self.changed,
            "rejected": self.rejected,
        }


@dataclass
class Entry:
    """A record on its way into the store, with its stored form worked out once: the record's
    plain dict, its canonical JSON and that JSON's hash (``None`` for a withdrawal or an
    unreadable record). A Dask worker ships all three, and the enrichment it computed for that
    very version (canonical JSON of a classification, with the classification decoded, and of
    an extraction), so loading builds no record objects and encodes nothing again."""

    record: ParsedRecord
    kind: RecordKind | None = None
    data: dict[str, Any] | None = None
    data_json: str | None = None
    content_hash: str | None = None
    classification: str | None = None
    figures: str | None = None
    labels: dict[str, Any] | None = None
    """The classification, decoded."""

    @classmethod
    def of(cls, record: ParsedRecord) -> "Entry":
        kind = kind_of(record)
        if kind is None or record.deleted:
            return cls(record, kind)
        data = item_of(record).to_dict()
        return cls(record, kind, data, *canonical_json_hashed(data))

    @cached_property
    def raw_key(self) -> tuple[str, str, str]:
        """The verbatim record's version: (source, source_id, sha256 of the text)."""
        return self.record.source, self.record.source_id, sha256_text(self.record.raw)


COLLECT_EVERY = 200_000
"""Containers allocated and not yet freed between two runs of the garbage collector while an
import runs (Python's default is 700): a batch of records holds about that many."""

_collecting = threading.Lock()
_imports_running = [0, gc.get_threshold()]  # imports now running; the thresholds before the first


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the garbage collector less often for the block. An import allocates thousands of
    containers a record, all freed by reference counting; at the default threshold the
    collector runs every few records and walks again the batch held in memory, a fifth of an
    import's time. Imports running at once in threads restore the thresholds when the last ends."""
    with _collecting:
        if not _imports_running[0]:
            _imports_running[1] = gc.get_threshold()
            gc.set_threshold(max(COLLECT_EVERY, _imports_running[1][0]), *_imports_running[1][1:])
        _imports_running[0] += 1
    try:
        yield
    finally:
        with _collecting:
            _imports_running[0] -= 1
            if not _imports_running[0]:
                gc.set_threshold(*_imports_running[1])


def default_url(home: Path) -> str:
    return f"sqlite:///{home / DB_FILENAME}"


def driver_url(url: str) -> str:
    """The URL SQLAlchemy opens: a plain ``postgresql://`` (or ``postgres://``) store speaks psycopg 3."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def in_id_order(conn: Connection, column):
    """``column`` sorted by code point on every backend, so content hashes do not depend on a
    PostgreSQL database's locale."""
    return column.collate("C") if conn.dialect.name == "postgresql" else column


PAGE_SIZE = 16384
"""Bytes a page of a new SQLite store (SQLite's default 4,096; an existing store keeps its own).
A study's row (its JSON about 2.6 kB) took a 4 kB page of its own, and a load wrote and
checkpointed every page with calls of their own: loading 20,000 studies took about a tenth less
CPU with 16 kB pages (32 kB, no less again), in a file a seventh smaller, with reads by index,
by list and by full text no slower."""


BUSY_TIMEOUT_S = 30
"""How long a SQLite connection waits for a lock another holds."""


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")  # first: turning a new file to WAL takes a lock another opener may hold
    cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")  # takes effect only on a file not yet written
    _into_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _into_wal(cursor) -> None:
    """Turn the file to write-ahead logging. Processes opening a new file at once race to do
    it, and SQLite refuses the losers at once ("database is locked") rather than wait on a lock
    they would deadlock for: try again, for as long as the busy timeout would have waited."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class SQLiteIndexHints(SQLiteCompiler):
    """SQLite's compiler, rendering a select's hint on a table (``INDEXED BY ix``) after the
    table's name, as SQLAlchemy's does for other databases (its own leaves them out)."""

    def get_from_hint_text(self, table, text):
        return text


IMPORT_CACHE_KIB = 65536
"""SQLite's page cache (KiB) on the connection an import writes through, for the import; the
default is 2,000. An import inserts into a dozen indexes at once, whose pages a small cache keeps
evicting and reading back: 20,000 studies inserted into a store of 20,000 took 0.8–1.0 s of CPU
with the default, 0.5 s with this (16 MiB gave most of it at that size; larger stores need more)."""


@contextmanager
def _import_cache(conn: Connection) -> Iterator[None]:
    """A larger SQLite page cache for the block (the connection's own setting is put back)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(previous)}")


def _postgresql_text(dbapi_conn, _record) -> None:
    """PostgreSQL text cannot hold NUL, which registry text rarely carries (SQLite keeps it):
    every string this store sends writes it as U+FFFD. The normalised ``data`` JSON escapes
    NUL, so records still come back exactly."""
    from psycopg.types.string import StrDumperUnknown

    class NulSafeText(StrDumperUnknown):
        def dump(self, obj):
            return super().dump(obj.replace("\x00", "\ufffd") if "\x00" in obj else obj)

    dbapi_conn.adapters.register_dumper(str, NulSafeText)


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


_RAW_VERSION = ("source", "source_id", "sha256")
_RAW_ROWS_A_STATEMENT = 32
"""Raw records one SQLite ``INSERT`` writes. SQLite runs a multi-row ``INSERT … RETURNING``
through a temporary table of its rows, which past its 2 MB page cache goes to a temporary file:
statements of 500 API v2 records with results (26 KB each) wrote every record's text there once
more. 32 such records stay in memory. A fixed count keeps the statement texts few, so the
driver's cache of prepared statements does not fill with one per length."""


def _insert_raw(conn: Connection, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert verbatim records (in order) but for versions already stored; return the ``id`` and
    version of those inserted. PostgreSQL copies them through a staging table
    (:func:`bulk.insert_new`); SQLite writes them a few at a time, each a multi-row ``INSERT …
    ON CONFLICT DO NOTHING RETURNING``, since staging a record's text there writes it twice and
    sorts it once."""
    if conn.dialect.name == "postgresql":
        return insert_new(conn, schema.raw_records, rows, list(_RAW_VERSION), ["id", *_RAW_VERSION])
    names = list(rows[0])
    one = f"({', '.join('?' for _ in names)})"
    inserted = []
    for start in range(0, len(rows), _RAW_ROWS_A_STATEMENT):
        chunk = rows[start : start + _RAW_ROWS_A_STATEMENT]
        inserted += conn.exec_driver_sql(
            f"INSERT INTO raw_records ({', '.join(names)}) VALUES {', '.join(one for _ in chunk)} "
            f"ON CONFLICT ({', '.join(_RAW_VERSION)}) DO NOTHING RETURNING id, {', '.join(_RAW_VERSION)}",
            tuple(value for row in chunk for value in row.values()),
        ).all()
    return inserted


def _change_rows(
    record_id: str, record: str, old: dict[str, Any], new: dict[str, Any], names: tuple[str, ...], now: str
) -> list[dict[str, Any]]:
    """One change-log row per field that moved."""
    return [
        {
            "record_id": record_id,
            "record": record,
            "kind": CHANGE_KINDS.get(name, "updated"),
            "field": name,
            "old_value": canonical_json(before),
            "new_value": canonical_json(after),
            "detected_at": now,
        }
        for name, before, after in diff_fields(old, new, names)
        if name not in UNLOGGED_FIELDS
    ]


def diff_fields(old: dict[str, Any], new: dict[str, Any], names: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    """The fields whose values differ, in model order."""
    return [(name, old.get(name), new.get(name)) for name in names if old.get(name) != new.get(name)]


def _insert_children(conn: Connection, kind: RecordKind, records: list[dict[str, Any]]) -> None:
    rows_by_table: dict[Any, list[dict[str, Any]]] = {table: [] for table in kind.child_tables}
    for data in records:
        for table, rows in kind.children(data).items():
            rows_by_table[table].extend(rows)
    for table, rows in rows_by_table.items():
        bulk_insert(conn, table, rows)


def _lead(classification: dict[str, Any], key: str) -> str | None:
    """A value of the lead sponsor's entry in a study's classification (papers have none)."""
    lead = next((s for s in classification.get("sponsors") or [] if s.get("role") == "lead"), None)
    return lead.get(key) if lead else None


def carried_labels(kind: RecordKind, entry: Entry) -> dict[str, Any]:
    """A new study's labels from the classification its entry carries, written with the row
    (the classification itself is saved after the batch): one write of the row, not two."""
    if kind.table is not schema.studies or entry.labels is None:
        return {}
    return {"is_ms": entry.labels["is_ms"], "curative_intent": entry.labels["curative_intent"]}


def log_row(record_id: str, record: str, kind: str, now: str) -> dict[str, Any]:
    return {"record_id": record_id, "record": record, "kind": kind, "field": None, "old_value": None, "new_value": None, "detected_at": now}


def classification_rows(
    kind: RecordKind, items: list[tuple[str, str, dict[str, Any], str]], key: str, now: str | None
) -> dict[Table, list[dict[str, Any]]]:
    """The rows (record id, record hash, classification, its canonical JSON) triples write: the
    classification's own and its labels' (strategies with their roles, phenotypes, populations)."""
    return {
        schema.classifications: [
            {
                "record_id": record_id,
                "kind": kind.name,
                "is_ms": data["is_ms"],
                "curative_intent": data["curative_intent"],
                "design": data.get("design"),
                "purpose": data.get("purpose"),
                "sponsor_type": _lead(data, "type"),
                "organisation": _lead(data, "organisation"),
                "data": encoded,
                "record_hash": record_hash,
                "profile_hash": key,
                "classified_at": now,
            }
            for record_id, record_hash, data, encoded in items
        ],
        schema.record_strategies: [
            {"record_id": i, "strategy": s, "role": (d.get("roles") or {}).get(s, "tested")}
            for i, _, d, _ in items
            for s in d["strategies"]
        ],
        schema.record_phenotypes: [{"record_id": i, "phenotype": p} for i, _, d, _ in items for p in d["phenotypes"]],
        schema.record_populations: [{"record_id": i, "population": p} for i, _, d, _ in items for p in d.get("populations") or []],
    }


def figure_rows(items: list[tuple[str, str, Any]], key: str, now: str | None) -> dict[Table, list[dict[str, Any]]]:
    """The rows (record id, record hash, extraction) triples write: the extraction's own, its
    outcome figures' and its comparisons' (an extraction is a list of outcome figure dicts, or
    ``{"figures": […], "comparisons": […]}``)."""
    rows: dict[Table, list[dict[str, Any]]] = {
        schema.extractions: [{"record_id": i, "record_hash": h, "profile_hash": key, "extracted_at": now} for i, h, _ in items]
    }
    for table, part in ((schema.outcome_figures, "figures"), (schema.comparisons, "comparisons")):
        rows[table] = [
            {"record_id": record_id, "position": position, **row}
            for record_id, _, found in items
            for position, row in enumerate(found.get(part, []) if isinstance(found, dict) else found if part == "figures" else [])
        ]
    return rows


class _Reading:
    """The one connection a :meth:`Store.reading` block reads through, opened on first use."""

    def __init__(self, store: "Store"):
        self.store = store
        self.conn: Connection | None = None
        self.closed = False

    def end(self) -> None:
        """End the read transaction and give the connection back."""
        self.closed = True
        if self.conn is not None:
            self.conn.close()
            self.conn = None


_reading: ContextVar[_Reading | None] = ContextVar("curemap_reading", default=None)


class Store:
    """A Curemap store at a SQLAlchemy URL (SQLite by default, PostgreSQL for servers)."""

    def __init__(self, url: str, *, clock: Callable[[], str] = now_iso):
        self.url = url
        self.clock = clock
        try:
            target = make_url(driver_url(url))
            # A server may drop idle connections between the reads of a long-lived process.
            server = {} if target.get_backend_name() == "sqlite" else {"pool_pre_ping": True}
            pooled = issubclass(target.get_dialect().get_pool_class(target), QueuePool)  # not an in-memory SQLite
            limits = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW} if pooled else {}
            self.connections = POOL_SIZE + POOL_OVERFLOW if pooled else 1  # handed out at once
            self.engine: Engine = create_engine(target, future=True, **server, **limits)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
                self.engine.dialect.statement_compiler = SQLiteIndexHints
            elif self.engine.dialect.driver == "psycopg":
                event.listen(self.engine, "connect", _postgresql_text)
            migrate(self.engine)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open the store at {url}: {exc}") from exc

    @classmethod
    def open(cls, home: Path, url: str | None = None) -> "Store":
        """Open (creating and migrating if needed) the store for ``home``."""
        if url is None:
            home.mkdir(parents=True, exist_ok=True)
            url = default_url(home)
        return cls(url)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Every read inside the block sees one state of the store: one connection in one
        transaction (a WAL read snapshot on SQLite, REPEATABLE READ on PostgreSQL). A web page
        that reads in several statements so never combines the store before and after an
        update that commits while it renders."""
        state = _Reading(self)
        token = _reading.set(state)
        try:
            yield
        finally:
            _reading.reset(token)
            state.end()

    def end_reading(self) -> None:
        """End the current :meth:`reading` block's transaction and give its connection back now,
        from the thread that may wait on the database (a web server's worker, never its event
        loop); reads later in the block open connections of their own."""
        state = _reading.get()
        if state is not None and state.store is self:
            state.end()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection to read with: the one a :meth:`reading` block holds, else a fresh one."""
        state = _reading.get()
        if state is None or state.store is not self or state.closed:
            with self.engine.connect() as conn:
                yield conn
            return
        if state.conn is None:
            conn = self.engine.connect()
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")  # pysqlite would read each statement on its own
            else:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            state.conn = conn
        yield state.conn

    # -- writing -----------------------------------------------------------------

    def import_records(
        self,
        records: Iterable[ParsedRecord],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> ImportCounts:
        """Upsert a stream of records in one transaction; bad records are rejected, not fatal."""
        return self.import_entries(map(Entry.of, records), progress=progress)

    def import_entries(
        self,
        entries: Iterable[Entry],
        *,
        keys: dict[str, str] | None = None,
        progress: Callable[[int], None] | None = None,
        staged: str | None = None,
    ) -> ImportCounts:
        """Upsert a stream of entries in one transaction. The enrichment entries carry (computed
        under ``keys["classify"]`` and ``keys["extract"]``) is saved in the same transaction for
        each record the store then holds in the very version that was enriched and that still
        needs it, so readers see a file's records and their labels together or not at all.
        ``staged``: the token of the same entries' rows staged (:mod:`curemap.store.staging`),
        moved in set-based when they are all new; the entries are then never read."""
        counts = ImportCounts()
        tally = summary.Tally()
        with _fewer_collections(), self.engine.connect() as conn, staging.attached(conn, staged), conn.begin(), _import_cache(conn):
            trials = summary.TrialsChanging(conn)
            merged = staging.merge(conn, staged, self.clock(), tally, trials) if staged else None
            if merged is not None:
                counts = merged
                if progress:
                    progress(merged.imported + len(merged.rejected))
            for batch in _batched(entries if merged is None else (), BATCH_SIZE):
                counts.add(self._apply(conn, batch, tally, trials, keys))
                if progress:
                    progress(len(batch))
            trials.done(tally)  # the stored studies' new versions and labels move their trials' figures, once
            tally.apply(conn)
        return counts

    def drop_staged(self, token: str) -> None:
        """Drop what a partition staged once its load is over, merged or not (:mod:`curemap.store.staging`)."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.begin() as conn:
                staging.drop(conn, token)
        staging.remove(token)

    def drop_left_staging(self) -> int:
        """Drop the partitions builds that stopped left staged (:func:`staging.left_behind`); return how many."""
        if self.engine.dialect.name != "postgresql":
            return 0
        with self.engine.begin() as conn:
            left = staging.left_behind(conn)
            for token, _ in left:
                staging.drop(conn, token)
        return len(left)

    def save_page(
        self, records: list[ParsedRecord], *, cursor_key: str, cursor: dict[str, Any] | None
    ) -> ImportCounts:
        """Upsert one harvested page and save (or, with ``None``, clear) its resume cursor atomically."""
        with self.engine.begin() as conn:
            counts = ImportCounts()
            tally = summary.Tally()
            trials = summary.TrialsChanging(conn)
            for batch in _batched(map(Entry.of, records), BATCH_SIZE):
                counts.add(self._apply(conn, batch, tally, trials))
            trials.done(tally)
            tally.apply(conn)
            cursors = schema.harvest_cursors
            if cursor is None:
                conn.execute(delete(cursors).where(cursors.c.key == cursor_key))
            else:
                saved = upsert(conn, cursors).values(key=cursor_key, data=canonical_json(cursor), updated_at=self.clock())
                conn.execute(
                    saved.on_conflict_do_update(
                        index_elements=[cursors.c.key],
                        set_={"data": saved.excluded.data, "updated_at": saved.excluded.updated_at},
                    )
                )
        return counts

    def get_cursor(self, key: str) -> dict[str, Any] | None:
        with self.connect() as conn:
            data = conn.execute(
                select(schema.harvest_cursors.c.data).where(schema.harvest_cursors.c.key == key)
            ).scalar_one_or_none()
        return json.loads(data) if data else None

    def _store_raw(self, conn: Connection, batch: list[Entry], now: str, tally: summary.Tally) -> dict[tuple, int]:
        """Insert the verbatim records not stored yet; map (source, source_id, sha256) → raw id.
        A version another writer stored meanwhile is skipped (``ON CONFLICT DO NOTHING``) and looked up."""
        raw = schema.raw_records
        keyed: dict[tuple, ParsedRecord] = {}
        for entry in batch:
            keyed[entry.raw_key] = entry.record
        ids: dict[tuple, int] = {}
        held: set[tuple[str, str]] = set()  # (source, source_id) with a version stored before

        def look_up(keys) -> None:
            for source in {key[0] for key in keys}:
                source_ids = [key[1] for key in keys if key[0] == source]
                for row in conn.execute(
                    select(raw.c.id, raw.c.source, raw.c.source_id, raw.c.sha256).where(
                        raw.c.source == source, among(conn, raw.c.source_id, source_ids)
                    )
                ):
                    ids[(row.source, row.source_id, row.sha256)] = row.id
                    held.add((row.source, row.source_id))

        look_up(keyed)
        missing = [
            {
                "source": key[0],
                "source_id": key[1],
                "sha256": key[2],
                "origin": record.origin,
                "fetched_at": now,
                "content": record.raw,
            }
            for key, record in keyed.items()
            if key not in ids
        ]
        if missing:
            stored = set()
            for row in _insert_raw(conn, missing):
                ids[(row.source, row.source_id, row.sha256)] = row.id
                stored.add((row.source, row.source_id))
            for source, source_id in stored:
                tally.add(summary.RAW, source, 0 if (source, source_id) in held else 1, fetched_at=now)
            if len(ids) < len(keyed):
                look_up([key for key in keyed if key not in ids])
        return ids

    def _apply(
        self, conn: Connection, batch: list[Entry], tally: summary.Tally, trials: summary.TrialsChanging, keys: dict[str, str] | None = None
    ) -> ImportCounts:
        """Upsert one batch of records of any kind, with the enrichment its entries carry (under
        ``keys``), then index what changed: a study's facets are its stored labels. A bad record is
        rejected, not fatal. The studies written are touched in ``trials``, whose figures the
        caller moves when done."""
        counts = ImportCounts()
        now = self.clock()
        by_kind: dict[RecordKind, list[Entry]] = {}
        deletions = []
        for entry in batch:
            record = entry.record
            if record.deleted:
                deletions.append(record)
            elif entry.kind is None:
                counts.rejected.append(
                    {"source": record.source, "record": record.source_id, "error": record.error or "unreadable"}
                )
            else:
                by_kind.setdefault(entry.kind, []).append(entry)
        good = [entry for entries in by_kind.values() for entry in entries]
        raw_ids = self._store_raw(conn, good, now, tally) if good else {}
        changed = {kind: self._upsert(conn, kind, entries, raw_ids, now, counts, tally, trials) for kind, entries in by_kind.items()}
        if deletions:
            self._delete_papers(conn, deletions, now, counts, tally)
        relabelled = self._save_carried(conn, batch, keys, tally, trials) if keys else []
        for kind, searchable in changed.items():
            search.index_records(conn, kind.name, searchable.values())
        search.refresh_facets(conn, [i for i in relabelled if not any(i in indexed for indexed in changed.values())])
        return counts

    def _upsert(
        self,
        conn: Connection,
        kind: RecordKind,
        entries: list[Entry],
        raw_ids: dict[tuple, int],
        now: str,
        counts: ImportCounts,
        tally: summary.Tally,
        trials: summary.TrialsChanging,
    ) -> dict[str, dict[str, Any]]:
        """Insert new records in bulk, update changed ones with a change-log row per field, and
        return the records written (by id) for the index; the studies among them are touched in
        ``trials`` before any is written."""
        table = kind.table
        counted = summary.COUNTED[kind.name]
        current: dict[str, dict[str, Any]] = {
            row.id: {
                "data": parse_json(row.data),
                "hash": row.content_hash,
                "raw_id": row.raw_id,
                "columns": {name: row._mapping[name] for name in counted},
            }
            for row in conn.execute(
                select(table.c.id, table.c.data, table.c.content_hash, table.c.raw_id, *(table.c[c] for c in counted)).where(
                    among(conn, table.c.id, list({entry.data["id"] for entry in entries}))
                )
            )
        }
        every_field = frozenset(kind.fields) - {"id", "source"}
        if kind is STUDY:
            trials.touch((entry.data["id"] for entry in entries), stored=current)
        new_rows: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        updated: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # stored rows changed, set together
        moved: dict[str, int] = {}  # stored rows unchanged but for their raw version
        change_rows: list[dict[str, Any]] = []
        searchable: dict[str, Any] = {}
        for entry in entries:
            new_data, data_json, content_hash = entry.data, entry.data_json, entry.content_hash
            record_id = new_data["id"]
            raw_id = raw_ids[entry.raw_key]
            old = current.get(record_id)
            if old is not None and kind.is_older(new_data, old["data"]):
                # A snapshot older than what a live harvest stored never rolls it back.
                counts.unchanged += 1
                continue
            covers = entry.record.covers
            if old is not None and not (covers >= every_field and old["data"].get("source") == new_data["source"]):
                # A thinner record keeps what a richer one stored for the fields it cannot express,
                # and names itself the record's source only if it changes something. (A record
                # expressing every field, from the stored record's source, is kept as it came.)
                new_data = {
                    name: new_data[name] if name in covers or name == "id" else old["data"].get(name)
                    for name in kind.fields
                }
                data_json = canonical_json(new_data)
                content_hash = sha256_text(data_json)
                if content_hash != old["hash"] and new_data["source"] != entry.data["source"]:
                    new_data["source"] = entry.data["source"]
                    data_json = canonical_json(new_data)
                    content_hash = sha256_text(data_json)
            if old is not None and old["hash"] == content_hash:
                counts.unchanged += 1
                if old["raw_id"] != raw_id and record_id in updated:
                    updated[record_id][0]["raw_id"] = raw_id
                elif old["raw_id"] != raw_id and record_id not in new_rows:
                    moved[record_id] = raw_id
                old["raw_id"] = raw_id
                continue
            columns = kind.columns(new_data, data_json) | {"content_hash": content_hash, "raw_id": raw_id, "updated_at": now}
            if old is not None:
                summary.record(tally, kind.name, old["columns"], -1)
            summary.record(tally, kind.name, columns, +1)
            if old is None:
                change_rows.append(log_row(record_id, kind.name, "added", now))
                new_rows[record_id] = (columns | {"first_seen_at": now} | carried_labels(kind, entry), new_data)
                counts.imported += 1
            else:
                change_rows += _change_rows(record_id, kind.name, old["data"], new_data, kind.fields, now)
                if record_id in new_rows:  # a new record twice in one batch, differing: keep the later
                    new_rows[record_id] = (columns | {"first_seen_at": now} | carried_labels(kind, entry), new_data)
                    counts.changed += 1
                else:
                    updated[record_id] = (columns, new_data)
                    moved.pop(record_id, None)
                    counts.changed += 1
            current[record_id] = {"data": new_data, "hash": content_hash, "raw_id": raw_id, "columns": columns}
            searchable[record_id] = new_data
            counts.changed_ids.append(record_id)
        update_rows(conn, table, [columns for columns, _ in updated.values()])
        update_rows(conn, table, [{"id": record_id, "raw_id": raw_id} for record_id, raw_id in moved.items()])
        if updated:
            for child in kind.child_tables:
                conn.execute(delete(child).where(among(conn, child.c.study_id, list(updated))))
        bulk_insert(conn, table, [columns for columns, _ in new_rows.values()])
        _insert_children(conn, kind, [data for _, data in (*new_rows.values(), *updated.values())])
        bulk_insert(conn, schema.changes, change_rows)
        if change_rows:
            tally.write()
        return searchable

    def _delete_papers(
        self, conn: Connection, records: list[ParsedRecord], now: str, counts: ImportCounts, tally: summary.Tally
    ) -> None:
        """A source withdrew these papers: mark them deleted, keep them and their history."""
        papers = schema.papers
        for record in records:
            result = conn.execute(
                update(papers)
                .where(papers.c.id == record.source_id, papers.c.deleted.is_(False))
                .values(deleted=True, updated_at=now)
            )
            if result.rowcount:
                search.unindex_records(conn, [record.source_id])
                tally.add(summary.PAPERS, n=-1)
                conn.execute(insert(schema.changes).values(**log_row(record.source_id, PAPER.name, "deleted", now)))
                counts.changed += 1
                counts.changed_ids.append(record.source_id)
            else:
                counts.unchanged += 1

    def record_snapshot(self, counts: dict[str, Any]) -> str:
        """Record the store's current content as a snapshot; its id is derived from the content,
        so rebuilding unchanged data names the same snapshot."""
        digest = hashlib.sha256()
        st, tally = schema.studies, summary.Tally()
        with self.engine.begin() as conn:
            for row in conn.execute(select(st.c.id, st.c.content_hash).order_by(in_id_order(conn, st.c.id))):
                digest.update(f"{row.id}:{row.content_hash}\n".encode())
            for extra in self._snapshot_parts(conn):
                digest.update(extra.encode())
            content_hash = digest.hexdigest()
            snapshot_id = content_hash[:12]
            recorded = conn.execute(
                upsert(conn, schema.snapshots)
                .values(id=snapshot_id, created_at=self.clock(), content_hash=content_hash, counts=canonical_json(counts))
                .on_conflict_do_nothing(index_elements=[schema.snapshots.c.id])
            )
            if recorded.rowcount:  # an update that changed nothing leaves the pages as worked out
                tally.write()
            tally.apply(conn)
        return snapshot_id

    def _snapshot_parts(self, conn: Connection) -> Iterator[str]:
        """Further content that defines a snapshot beyond the studies: papers and enrichment."""
        papers = schema.papers
        ordered = partial(in_id_order, conn)
        for row in conn.execute(select(papers.c.id, papers.c.content_hash, papers.c.deleted).order_by(ordered(papers.c.id))):
            yield f"paper {row.id}:{row.content_hash}:{row.deleted}\n"
        cl = schema.classifications
        for row in conn.execute(select(cl.c.record_id, cl.c.data).order_by(ordered(cl.c.record_id))):
            yield f"classification {row.record_id}:{sha256_text(row.data)}\n"
        fig = schema.outcome_figures
        for row in conn.execute(select(fig).order_by(ordered(fig.c.record_id), fig.c.position)):
            yield f"figure {row.record_id}:{row.position}:{row.measure}:{row.value}:{row.n}:{row.start}:{row.end}\n"

    # -- enrichment ----------------------------------------------------------------

    def classification_targets(self, kind: RecordKind, key: str, batch_size: int = 1000) -> Iterator[tuple[Any, str]]:
        """Records of ``kind`` (with their content hash) never classified, or classified from
        an older version of the record or with another ``key``; streamed in id order."""
        return self._stale(kind, schema.classifications, key, batch_size)

    def extraction_targets(self, kind: RecordKind, key: str, batch_size: int = 1000) -> Iterator[tuple[Any, str]]:
        """Records of ``kind`` whose outcome figures are missing or stale, as for classification."""
        return self._stale(kind, schema.extractions, key, batch_size)

    def stale_classifications(self, kind: RecordKind, key: str, ids: list[str]) -> dict[str, str]:
        """Among ``ids``, those whose classification is missing or stale, with their content hash."""
        with self.connect() as conn:
            return self._stale_among(conn, kind, schema.classifications, key, ids)

    def stale_extractions(self, kind: RecordKind, key: str, ids: list[str]) -> dict[str, str]:
        """Among ``ids``, those whose outcome figures are missing or stale, with their content hash."""
        with self.connect() as conn:
            return self._stale_among(conn, kind, schema.extractions, key, ids)

    @staticmethod
    def _stale_condition(table, state, key: str):
        return or_(state.c.record_id.is_(None), state.c.record_hash != table.c.content_hash, state.c.profile_hash != key)

    def _stale_among(self, conn: Connection, kind: RecordKind, state, key: str, ids: list[str]) -> dict[str, str]:
        table = kind.table
        found: dict[str, str] = {}
        for start in range(0, len(ids), BATCH_SIZE):
            rows = conn.execute(
                select(table.c.id, table.c.content_hash)
                .outerjoin(state, state.c.record_id == table.c.id)
                .where(self._stale_condition(table, state, key), among(conn, table.c.id, ids[start : start + BATCH_SIZE]))
            )
            found.update(rows.all())
        return found

    def _save_carried(
        self, conn: Connection, batch: list[Entry], keys: dict[str, str], tally: summary.Tally, trials: summary.TrialsChanging
    ) -> list[str]:
        """Save the enrichment a batch's entries carry, in the import's transaction, for the
        records now stored in the version it was computed from and whose own is missing or stale;
        return the records whose labels were written."""
        now = self.clock()
        relabelled = []
        for kind in {entry.kind for entry in batch if entry.labels is not None}:
            mine = {entry.data["id"]: entry for entry in batch if entry.kind is kind and entry.labels is not None}
            ids = list(mine)
            wanted = self._stale_among(conn, kind, schema.classifications, keys["classify"], ids)
            labels = [(i, h, mine[i].labels, mine[i].classification) for i, h in wanted.items() if mine[i].content_hash == h]
            self._write_classifications(conn, kind=kind, items=labels, key=keys["classify"], now=now, tally=tally, trials=trials)
            relabelled += [i for i, *_ in labels]
            wanted = self._stale_among(conn, kind, schema.extractions, keys["extract"], ids)
            figures = [(i, h, json.loads(mine[i].figures)) for i, h in wanted.items() if mine[i].content_hash == h]
            self._write_figures(conn, items=figures, key=keys["extract"], now=now, tally=tally)
        return relabelled

    def _stale(self, kind: RecordKind, state, key: str, batch_size: int) -> Iterator[tuple[Any, str]]:
        table = kind.table
        stale = self._stale_condition(table, state, key)
        last = ""
        while True:
            with self.connect() as conn:
                rows = conn.execute(
                    select(table.c.id, table.c.data, table.c.content_hash)
                    .outerjoin(state, state.c.record_id == table.c.id)
                    .where(stale, table.c.id > last)
                    .order_by(table.c.id)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            for row in rows:
                yield kind.from_dict(json.loads(row.data)), row.content_hash
            last = rows[-1].id

    def save_figures(self, items: list[tuple[str, str, Any]], key: str) -> None:
        """Store (record id, record content hash, extraction) in one transaction; an extraction is
        a list of outcome figure dicts, or ``{"figures": […], "comparisons": […]}``."""
        if not items:
            return
        tally = summary.Tally()
        with self.engine.begin() as conn:
            self._write_figures(conn, items=items, key=key, now=self.clock(), tally=tally)
            tally.apply(conn)

    @staticmethod
    def _write_figures(conn: Connection, *, items: list[tuple[str, str, Any]], key: str, now: str, tally: summary.Tally) -> None:
        if not items:
            return
        tally.write()
        ex = schema.extractions
        ids = [record_id for record_id, _, _ in items]
        # Figures are written whole with their extraction row: records without one have none to remove.
        replaced = list(conn.execute(select(ex.c.record_id).where(among(conn, ex.c.record_id, ids))).scalars())
        if replaced:
            for table in (schema.outcome_figures, schema.comparisons, ex):
                conn.execute(delete(table).where(among(conn, table.c.record_id, replaced)))
        for table, rows in figure_rows(items, key, now).items():
            bulk_insert(conn, table, rows)

    def figures_of(self, record_id: str) -> list[dict[str, Any]]:
        figures = schema.outcome_figures
        with self.connect() as conn:
            rows = conn.execute(
                select(figures).where(figures.c.record_id == record_id).order_by(figures.c.position)
            )
            return [{k: v for k, v in row._mapping.items() if k not in ("record_id", "position")} for row in rows]

    def comparisons_of(self, record_id: str) -> list[dict[str, Any]]:
        table = schema.comparisons
        with self.connect() as conn:
            rows = conn.execute(select(table).where(table.c.record_id == record_id).order_by(table.c.position))
            return [{k: v for k, v in row._mapping.items() if k not in ("record_id", "position")} for row in rows]

    def save_classifications(self, kind: RecordKind, items: list[tuple[str, str, dict[str, Any]]], key: str) -> None:
        """Store (record id, record content hash, classification dict) triples in one transaction."""
        if not items:
            return
        tally = summary.Tally()
        with self.engine.begin() as conn:
            encoded = [(i, h, data, canonical_json(data)) for i, h, data in items]
            trials = summary.TrialsChanging(conn)
            self._write_classifications(conn, kind=kind, items=encoded, key=key, now=self.clock(), tally=tally, trials=trials)
            search.refresh_facets(conn, [i for i, *_ in items])
            trials.done(tally)
            tally.apply(conn)

    @staticmethod
    def _write_classifications(
        conn: Connection,
        *,
        kind: RecordKind,
        items: list[tuple[str, str, dict[str, Any], str]],
        key: str,
        now: str,
        tally: summary.Tally,
        trials: summary.TrialsChanging,
    ) -> None:
        """Write (record id, record hash, classification, its canonical JSON) and the labels it
        gives; the studies classified are touched in ``trials`` (labels move trial figures)."""
        if not items:
            return
        tally.write()
        cl = schema.classifications
        ids = [record_id for record_id, *_ in items]
        if kind is STUDY:
            trials.touch(ids)
        # Labels are written whole with their classification row: records without one have none to remove.
        held = conn.execute(select(cl.c.record_id, cl.c.kind, cl.c.is_ms).where(among(conn, cl.c.record_id, ids))).all()
        for row in held:
            tally.add(summary.MS, row.kind, -1 if row.is_ms else 0)
        tally.add(summary.MS, kind.name, sum(bool(data["is_ms"]) for _, _, data, _ in items))
        if held:
            replaced = [row.record_id for row in held]
            if kind is STUDY:
                summary.labelled(tally, summary.strategies_of_studies(conn, replaced), -1)
            for table in (cl, schema.record_strategies, schema.record_phenotypes, schema.record_populations):
                conn.execute(delete(table).where(among(conn, table.c.record_id, replaced)))
        for table, rows in classification_rows(kind, items, key, now).items():
            bulk_insert(conn, table, rows)
        if kind is STUDY:
            summary.labelled(tally, summary.strategies_of_studies(conn, ids), +1)
        if kind.table is schema.studies:
            st = schema.studies
            differs = or_(st.c.is_ms.is_distinct_from(cl.c.is_ms), st.c.curative_intent.is_distinct_from(cl.c.curative_intent))
            conn.execute(
                update(st)
                .values(is_ms=cl.c.is_ms, curative_intent=cl.c.curative_intent)
                .where(st.c.id == cl.c.record_id, among(conn, cl.c.record_id, ids), differs)
            )

    def get_classification(self, record_id: str) -> dict[str, Any] | None:
        with self.connect() as conn:
            data = conn.execute(
                select(schema.classifications.c.data).where(schema.classifications.c.record_id == record_id)
            ).scalar_one_or_none()
        return json.loads(data) if data else None

    def count_ms(self, kind: RecordKind) -> int:
        """Records of ``kind`` classified as about MS."""
        with self.connect() as conn:
            return summary.total(conn, summary.MS, kind.name)

    def latest_change(self) -> int:
        """The id of the newest change-log entry (0 when there is none)."""
        with self.connect() as conn:
            return conn.execute(select(func.max(schema.changes.c.id))).scalar_one() or 0

    def enrichment_mark(self, name: str) -> int | None:
        """The newest change-log entry the pass ``name`` has seen (None: it has not run)."""
        marks = schema.enrichment_marks
        with self.connect() as conn:
            return conn.execute(select(marks.c.change_id).where(marks.c.name == name)).scalar_one_or_none()

    def changed_since(self, change_id: int) -> dict[str, set[str]]:
        """The ids of the records the change log names after entry ``change_id``, by kind."""
        changes = schema.changes
        found: dict[str, set[str]] = {STUDY.name: set(), PAPER.name: set()}
        with self.connect() as conn:
            for row in conn.execute(select(changes.c.record_id, changes.c.record).where(changes.c.id > change_id).distinct()):
                found.setdefault(row.record, set()).add(row.record_id)
        return found

    def records_of(self, kind: RecordKind, ids: Iterable[str], batch_size: int = 1000) -> Iterator[Any]:
        """The stored records of ``kind`` among ``ids``, in id order, a batch at a time."""
        table = kind.table
        for batch in _batched(sorted(set(ids)), batch_size):
            with self.connect() as conn:
                rows = conn.execute(select(table.c.data).where(among(conn, table.c.id, batch)).order_by(table.c.id)).scalars()
                yield from (kind.from_dict(parse_json(data)) for data in rows)

    def aliases_of(self, *, numbers: Iterable[str] = (), studies: Iterable[str] = ()) -> list[tuple[str, str]]:
        """The (number, study id) rows of :data:`schema.registry_aliases` naming any of ``numbers``
        or held by any of ``studies``."""
        aliases = schema.registry_aliases
        found: set[tuple[str, str]] = set()
        with self.connect() as conn:
            for column, values in ((aliases.c.number, sorted(set(numbers))), (aliases.c.study_id, sorted(set(studies)))):
                if values:
                    found.update(map(tuple, conn.execute(select(aliases.c.number, aliases.c.study_id).where(among(conn, column, values)))))
        return sorted(found)

    def papers_linked_to(self, targets: Iterable[str], via: tuple[str, ...]) -> set[str]:
        """The papers with a link found ``via`` one of these ways to any of ``targets``."""
        links, wanted = schema.links, sorted(set(targets))
        if not wanted:
            return set()
        with self.connect() as conn:
            return set(conn.execute(select(links.c.paper_id).where(among(conn, links.c.study_id, wanted), links.c.via.in_(via))).scalars())

    def write_links(
        self,
        rows: list[dict[str, Any]],
        aliases: list[tuple[str, str]],
        *,
        mark: tuple[str, int],
        studies: Iterable[str] | None = None,
        papers: Iterable[str] | None = None,
        via: tuple[str, ...] = (),
    ) -> None:
        """Save a link pass in one transaction with its ``mark`` (name, change id). Without
        ``studies`` every link and alias is replaced; with them, those studies' aliases and their
        links found other than ``via`` (their own references), and the links ``papers`` have
        ``via`` one of those ways."""
        links, held, tally = schema.links, schema.registry_aliases, summary.Tally()
        with self.engine.begin() as conn:
            if studies is None:
                conn.execute(delete(links))
                conn.execute(delete(held))
            else:
                changed, relinked = sorted(set(studies)), sorted(set(papers or ()))
                conn.execute(delete(held).where(among(conn, held.c.study_id, changed)))
                conn.execute(delete(links).where(among(conn, links.c.study_id, changed), links.c.via.not_in(via)))
                conn.execute(delete(links).where(among(conn, links.c.paper_id, relinked), links.c.via.in_(via)))
            bulk_insert(conn, links, rows)
            bulk_insert(conn, held, [{"number": number, "study_id": study_id} for number, study_id in aliases])
            self._set_mark(conn, mark)
            tally.write()
            tally.apply(conn)

    def set_mark(self, mark: tuple[str, int]) -> None:
        """Record that a pass has seen the change log up to a point with nothing to write."""
        with self.engine.begin() as conn:
            self._set_mark(conn, mark)

    def _set_mark(self, conn: Connection, mark: tuple[str, int]) -> None:
        """Record that the pass ``mark[0]`` has seen the change log up to entry ``mark[1]``."""
        marks = schema.enrichment_marks
        name, change_id = mark
        saved = upsert(conn, marks).values(name=name, change_id=change_id, updated_at=self.clock())
        conn.execute(saved.on_conflict_do_update(index_elements=[marks.c.name], set_={"change_id": change_id, "updated_at": saved.excluded.updated_at}))

    # -- reading -----------------------------------------------------------------

    def get_study(self, study_id: str) -> Study | None:
        with self.connect() as conn:
            data = conn.execute(
                select(schema.studies.c.data).where(schema.studies.c.id == study_id)
            ).scalar_one_or_none()
        return Study.from_dict(json.loads(data)) if data else None

    def iter_studies(self, batch_size: int = 1000) -> Iterator[Study]:
        """Every study, in id order, streamed in batches so memory stays flat."""
        return self.iter_records(STUDY, batch_size)

    def get_paper(self, paper_id: str) -> Paper | None:
        with self.connect() as conn:
            data = conn.execute(select(schema.papers.c.data).where(schema.papers.c.id == paper_id)).scalar_one_or_none()
        return Paper.from_dict(json.loads(data)) if data else None

    def iter_records(self, kind: RecordKind, batch_size: int = 1000, fields: Iterable[str] | None = None) -> Iterator[Any]:
        """Every record of ``kind``, in id order, streamed in batches so memory stays flat; with
        ``fields``, records holding only those (the others left at their defaults)."""
        table, kept = kind.table, None if fields is None else tuple(fields)
        last = ""
        while True:
            with self.connect() as conn:
                rows = conn.execute(
                    select(table.c.id, table.c.data).where(table.c.id > last).order_by(table.c.id).limit(batch_size)
                ).all()
            if not rows:
                return
            for row in rows:
                data = parse_json(row.data)
                yield kind.from_dict(data if kept is None else {name: data[name] for name in kept if name in data})
            last = rows[-1].id

    def labels_of(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """What enrichment says of each study in ``ids``, as lists and exports show it: whether
        it is about MS, its strategies with their roles, those it tests, its purpose, the
        populations it admits, its lead sponsor's type and organisation, and its trial."""
        cl, rs, rp, tr = (
            schema.classifications,
            schema.record_strategies,
            schema.record_populations,
            schema.trial_registrations,
        )
        labels: dict[str, dict[str, Any]] = {}
        with self.connect() as conn:
            for start in range(0, len(ids), BATCH_SIZE):
                chunk = ids[start : start + BATCH_SIZE]
                for row in conn.execute(
                    select(
                        cl.c.record_id, cl.c.is_ms, cl.c.curative_intent, cl.c.purpose, cl.c.sponsor_type, cl.c.organisation
                    ).where(cl.c.record_id.in_(chunk))
                ):
                    labels[row.record_id] = {
                        "is_ms": bool(row.is_ms),
                        "curative_intent": bool(row.curative_intent),
                        "strategies": [],
                        "roles": {},
                        "tested_strategies": [],
                        "purpose": row.purpose,
                        "populations": [],
                        "sponsor_type": row.sponsor_type,
                        "organisation": row.organisation,
                        "trial_id": row.record_id,
                    }
                for row in conn.execute(
                    select(rs.c.record_id, rs.c.strategy, rs.c.role)
                    .where(rs.c.record_id.in_(chunk))
                    .order_by(rs.c.record_id, rs.c.strategy)
                ):
                    if row.record_id in labels:
                        entry = labels[row.record_id]
                        entry["strategies"].append(row.strategy)
                        entry["roles"][row.strategy] = row.role
                        if row.role == "tested":
                            entry["tested_strategies"].append(row.strategy)
                for row in conn.execute(
                    select(rp.c.record_id, rp.c.population)
                    .where(rp.c.record_id.in_(chunk))
                    .order_by(rp.c.record_id, rp.c.population)
                ):
                    if row.record_id in labels:
                        labels[row.record_id]["populations"].append(row.population)
                for row in conn.execute(select(tr.c.study_id, tr.c.trial_id).where(tr.c.study_id.in_(chunk))):
                    if row.study_id in labels:
                        labels[row.study_id]["trial_id"] = row.trial_id
        return labels

    def links_of(self, record_id: str) -> list[dict[str, Any]]:
        """Links from a paper to studies, or from a study to papers, each naming how it was found."""
        links = schema.links
        with self.connect() as conn:
            rows = conn.execute(
                select(links).where(or_(links.c.paper_id == record_id, links.c.study_id == record_id))
                .order_by(links.c.paper_id, links.c.study_id, links.c.via)
            )
            return [dict(row._mapping) for row in rows]

    def provenance(self, record_id: str, kind: RecordKind = STUDY) -> dict[str, Any] | None:
        """Where the current version of a record came from."""
        table, raw = kind.table, schema.raw_records
        with self.connect() as conn:
            row = conn.execute(
                select(raw.c.source, raw.c.source_id, raw.c.origin, raw.c.fetched_at, raw.c.sha256)
                .join(table, table.c.raw_id == raw.c.id)
                .where(table.c.id == record_id)
            ).first()
        return dict(row._mapping) if row else None

    def record_changes(self, record_id: str | None = None, since: str | None = None) -> list[dict[str, Any]]:
        """Change-log entries, oldest first, for one record and/or since an ISO time."""
        ch = schema.changes
        query = select(ch).order_by(ch.c.id)
        if record_id:
            query = query.where(ch.c.record_id == record_id)
        if since:
            query = query.where(ch.c.detected_at >= since)
        with self.connect() as conn:
            return [
                {
                    **{k: v for k, v in row._mapping.items() if k not in ("old_value", "new_value")},
                    "old": json.loads(row.old_value) if row.old_value else None,
                    "new": json.loads(row.new_value) if row.new_value else None,
                }
                for row in conn.execute(query)
            ]

    def count_labelled(self, strategies: list[str]) -> int:
        """Studies labelled with any of these strategies."""
        with self.connect() as conn:
            return summary.labelled_total(conn, strategies)

    def count_studies(self) -> int:
        with self.connect() as conn:
            return summary.total(conn, summary.STUDIES)

    def count_papers(self) -> int:
        """Papers held, less those their source withdrew."""
        with self.connect() as conn:
            return summary.total(conn, summary.PAPERS)

    def newest_last_update(self, source: str) -> str | None:
        """The newest "last update posted" date among a registry's stored studies: where an
        incremental harvest picks up (records updated on or after it are fetched again)."""
        st = schema.studies
        with self.connect() as conn:
            return conn.execute(
                select(func.max(st.c.last_update_posted)).where(st.c.source == source)
            ).scalar_one_or_none()

    def count_by(self, column: str) -> list[tuple[Any, int]]:
        """Studies per value of one of :data:`summary.STUDY_COLUMNS`, most frequent first."""
        with self.connect() as conn:
            counted = summary.read(conn, summary.by(column))
        values = [(None if key == summary.NO_VALUE else key, n) for key, (n, _) in counted.items()]
        return sorted(values, key=lambda item: (-item[1], item[0] is None, item[0] or ""))

    def source_summary(self) -> dict[str, dict[str, Any]]:
        """Per source: distinct records held and when it was last written."""
        with self.connect() as conn:
            counted = summary.read(conn, summary.RAW)
        return {source: {"records": n, "last_update": latest} for source, (n, latest) in sorted(counted.items())}

    def replace_registrations(self, rows: list[dict[str, Any]], *, mark: tuple[str, int]) -> None:
        """Make ``rows`` every study's trial registration, in one transaction with the pass's
        ``mark`` (name, change id): trials are derived across the whole store, so recomputed
        whole, but only the rows that differ from the stored ones are written (a pass over a
        million studies rewrites a few, not a million)."""
        tr, tally = schema.trial_registrations, summary.Tally()
        names = [column.name for column in tr.columns]
        with self.engine.begin() as conn:
            held = {row.study_id: row for row in conn.execute(select(*tr.columns))}
            wanted = {row["study_id"]: tuple(row.get(name) for name in names) for row in rows}
            stale = {study for study, row in held.items() if wanted.get(study) != tuple(row)}  # gone or differing
            fresh = [row for row in rows if row["study_id"] in stale or row["study_id"] not in held]
            trials = summary.TrialsChanging(conn, summary.moved_trials({study: row.trial_id for study, row in held.items()}, rows))
            for batch in _batched(sorted(stale), 10000):
                conn.execute(delete(tr).where(among(conn, tr.c.study_id, batch)))
            bulk_insert(conn, tr, [{name: row.get(name) for name in names} for row in fresh])
            trials.done(tally)
            if stale or fresh:
                tally.write()
            tally.apply(conn)
            self._set_mark(conn, mark)

    def registration_digests(self, ids: Iterable[str]) -> dict[str, str | None]:
        """The digest of what linking read of each of these studies at the last registration pass."""
        tr, wanted = schema.trial_registrations, sorted(set(ids))
        found: dict[str, str | None] = {}
        with self.connect() as conn:
            for batch in _batched(wanted, 1000):
                found.update(conn.execute(select(tr.c.study_id, tr.c.digest).where(among(conn, tr.c.study_id, batch))).all())
        return found

    def count_linked_trials(self) -> int:
        """How many trials have more than one registration."""
        tr = schema.trial_registrations
        with self.connect() as conn:
            return conn.execute(select(func.count(tr.c.trial_id.distinct())).where(tr.c.via != "self")).scalar_one()

    def trial_ids(self) -> dict[str, str]:
        """Every study id → the id of the trial it registers, so counts can count trials."""
        tr = schema.trial_registrations
        with self.connect() as conn:
            return {row.study_id: row.trial_id for row in conn.execute(select(tr.c.study_id, tr.c.trial_id))}

    def registrations_of(self, study_id: str) -> list[dict[str, Any]]:
        """Every registration of the study's trial (itself included) with the registry facts
        that may disagree between them and how each was linked; [] before trials are computed."""
        tr, st = schema.trial_registrations, schema.studies
        trial = select(tr.c.trial_id).where(tr.c.study_id == study_id).scalar_subquery()
        query = (
            select(
                st.c.id, st.c.source, st.c.brief_title, st.c.status, st.c.phase, st.c.enrollment, st.c.last_update_posted,
                st.c.start_date, st.c.completion_date, tr.c.trial_id, tr.c.via, tr.c.score, tr.c.evidence,
            )
            .join(tr, tr.c.study_id == st.c.id)
            .where(tr.c.trial_id == trial)
            .order_by(st.c.id)
        )
        with self.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
