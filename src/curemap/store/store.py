"""The evidence store: idempotent upserts with provenance and a field-level change log.

Every write goes through :meth:`Store.import_records` (a file: one transaction)
or :meth:`Store.save_page` (a harvested page and its resume cursor: one
transaction), so a failure leaves the previous state readable and intact.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, delete, event, func, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from curemap.errors import StoreError
from curemap.model import STUDY_FIELDS, ParsedRecord, Study
from curemap.store import schema
from curemap.store.migrations import migrate

BATCH_SIZE = 500

DB_FILENAME = "curemap.db"

CHANGE_KINDS = {
    "status": "status_changed",
    "why_stopped": "status_changed",
    "has_results": "results_posted",
    "results_first_posted": "results_posted",
    "result_values": "results_updated",
    "adverse_events": "results_updated",
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


def canonical_json(value: Any) -> str:
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


def default_url(home: Path) -> str:
    return f"sqlite:///{home / DB_FILENAME}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _batched(items: Iterable[ParsedRecord], size: int) -> Iterator[list[ParsedRecord]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _study_columns(study: Study, data_json: str) -> dict[str, Any]:
    return {
        "id": study.id,
        "source": study.source,
        "brief_title": study.brief_title,
        "status": study.status,
        "phase": study.phase,
        "study_type": study.study_type,
        "enrollment": study.enrollment,
        "lead_sponsor": study.lead_sponsor.name if study.lead_sponsor else None,
        "lead_sponsor_class": study.lead_sponsor.sponsor_class if study.lead_sponsor else None,
        "start_date": study.start_date.value if study.start_date else None,
        "completion_date": study.completion_date.value if study.completion_date else None,
        "last_update_posted": study.last_update_posted.value if study.last_update_posted else None,
        "has_results": study.has_results,
        "data": data_json,
    }


def _child_rows(study: Study) -> dict[Any, list[dict[str, Any]]]:
    sid = study.id
    return {
        schema.study_locations: [
            {"study_id": sid, "position": i, **vars(loc)} for i, loc in enumerate(study.locations)
        ],
        schema.study_interventions: [
            {"study_id": sid, "position": i, "name": iv.name, "type": iv.type}
            for i, iv in enumerate(study.interventions)
        ],
        schema.study_conditions: [
            {"study_id": sid, "position": i, "condition": c} for i, c in enumerate(study.conditions)
        ],
        schema.result_values: [
            {"study_id": sid, "position": i, **vars(rv)} for i, rv in enumerate(study.result_values)
        ],
        schema.adverse_events: [
            {"study_id": sid, "position": i, **vars(ae)} for i, ae in enumerate(study.adverse_events)
        ],
    }


def _change_rows(study_id: str, old: dict[str, Any], new: dict[str, Any], now: str) -> list[dict[str, Any]]:
    """One change-log row per field that moved."""
    return [
        {
            "study_id": study_id,
            "kind": CHANGE_KINDS.get(name, "updated"),
            "field": name,
            "old_value": canonical_json(before),
            "new_value": canonical_json(after),
            "detected_at": now,
        }
        for name, before, after in diff_fields(old, new)
        if name not in UNLOGGED_FIELDS
    ]


def _is_older(new: dict[str, Any], old: dict[str, Any]) -> bool:
    new_date = (new.get("last_update_posted") or {}).get("value")
    old_date = (old.get("last_update_posted") or {}).get("value")
    return bool(new_date and old_date and new_date < old_date)


def diff_fields(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The Study fields whose values differ, in model order."""
    return [(name, old.get(name), new.get(name)) for name in STUDY_FIELDS if old.get(name) != new.get(name)]


class Store:
    """A Curemap store at a SQLAlchemy URL (SQLite by default, PostgreSQL for servers)."""

    def __init__(self, url: str, *, clock: Callable[[], str] = now_iso):
        self.url = url
        self.clock = clock
        try:
            self.engine: Engine = create_engine(url, future=True)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            migrate(self.engine)
        except SQLAlchemyError as exc:
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

    # -- writing -----------------------------------------------------------------

    def import_records(
        self,
        records: Iterable[ParsedRecord],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> ImportCounts:
        """Upsert a stream of records in one transaction; bad records are rejected, not fatal."""
        counts = ImportCounts()
        with self.engine.begin() as conn:
            for batch in _batched(records, BATCH_SIZE):
                counts.add(self._apply(conn, batch))
                if progress:
                    progress(len(batch))
        return counts

    def save_page(
        self, records: list[ParsedRecord], *, cursor_key: str, cursor: dict[str, Any] | None
    ) -> ImportCounts:
        """Upsert one harvested page and save (or, with ``None``, clear) its resume cursor atomically."""
        with self.engine.begin() as conn:
            counts = ImportCounts()
            for batch in _batched(records, BATCH_SIZE):
                counts.add(self._apply(conn, batch))
            conn.execute(delete(schema.harvest_cursors).where(schema.harvest_cursors.c.key == cursor_key))
            if cursor is not None:
                conn.execute(
                    insert(schema.harvest_cursors).values(
                        key=cursor_key, data=canonical_json(cursor), updated_at=self.clock()
                    )
                )
        return counts

    def get_cursor(self, key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            data = conn.execute(
                select(schema.harvest_cursors.c.data).where(schema.harvest_cursors.c.key == key)
            ).scalar_one_or_none()
        return json.loads(data) if data else None

    def _store_raw(self, conn: Connection, batch: list[ParsedRecord], now: str) -> dict[tuple, int]:
        """Insert the verbatim records not stored yet; map (source, source_id, sha256) → raw id."""
        raw = schema.raw_records
        keyed = {(r.source, r.source_id, sha256_text(r.raw)): r for r in batch}
        ids: dict[tuple, int] = {}
        for source in {key[0] for key in keyed}:
            source_ids = [key[1] for key in keyed if key[0] == source]
            for row in conn.execute(
                select(raw.c.id, raw.c.source, raw.c.source_id, raw.c.sha256).where(
                    raw.c.source == source, raw.c.source_id.in_(source_ids)
                )
            ):
                ids[(row.source, row.source_id, row.sha256)] = row.id
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
            returning = insert(raw).returning(raw.c.id, raw.c.source, raw.c.source_id, raw.c.sha256, sort_by_parameter_order=True)
            for row in conn.execute(returning, missing):
                ids[(row.source, row.source_id, row.sha256)] = row.id
        return ids

    def _apply(self, conn: Connection, batch: list[ParsedRecord]) -> ImportCounts:
        """Upsert one batch: reads in bulk, inserts new studies in bulk, updates changed ones."""
        counts = ImportCounts()
        now = self.clock()
        good = []
        for record in batch:
            if record.study is None:
                counts.rejected.append(
                    {"source": record.source, "record": record.source_id, "error": record.error or "unreadable"}
                )
            else:
                good.append(record)
        if not good:
            return counts
        raw_ids = self._store_raw(conn, good, now)
        st = schema.studies
        current: dict[str, dict[str, Any]] = {
            row.id: {"data": json.loads(row.data), "hash": row.content_hash, "raw_id": row.raw_id}
            for row in conn.execute(
                select(st.c.id, st.c.data, st.c.content_hash, st.c.raw_id).where(
                    st.c.id.in_({r.study.id for r in good})
                )
            )
        }
        new_rows: dict[str, tuple[dict[str, Any], Study]] = {}
        change_rows: list[dict[str, Any]] = []
        for record in good:
            study = record.study
            raw_id = raw_ids[(record.source, record.source_id, sha256_text(record.raw))]
            new_data = study.to_dict()
            old = current.get(study.id)
            if old is not None and _is_older(new_data, old["data"]):
                # A snapshot older than what a live harvest stored never rolls it back.
                counts.unchanged += 1
                continue
            if old is not None:
                # A thinner record keeps what a richer one stored for the fields it cannot express.
                new_data = {
                    name: new_data[name] if name in record.covers or name in ("id", "source") else old["data"].get(name)
                    for name in STUDY_FIELDS
                }
                study = Study.from_dict(new_data)
            data_json = canonical_json(new_data)
            content_hash = sha256_text(data_json)
            if old is not None and old["hash"] == content_hash:
                counts.unchanged += 1
                if old["raw_id"] != raw_id and study.id not in new_rows:
                    conn.execute(update(st).where(st.c.id == study.id).values(raw_id=raw_id))
                old["raw_id"] = raw_id
                continue
            columns = _study_columns(study, data_json) | {
                "content_hash": content_hash,
                "raw_id": raw_id,
                "updated_at": now,
            }
            if old is None:
                change_rows.append(
                    {"study_id": study.id, "kind": "added", "field": None, "old_value": None, "new_value": None, "detected_at": now}
                )
                new_rows[study.id] = (columns | {"first_seen_at": now}, study)
                counts.imported += 1
            else:
                change_rows += _change_rows(study.id, old["data"], new_data, now)
                if study.id in new_rows:  # the same new study twice in one batch: keep the later
                    new_rows[study.id] = (columns | {"first_seen_at": now}, study)
                else:
                    conn.execute(update(st).where(st.c.id == study.id).values(**columns))
                    for table in schema.CHILD_TABLES:
                        conn.execute(delete(table).where(table.c.study_id == study.id))
                    self._insert_children(conn, [study])
                    counts.changed += 1
            current[study.id] = {"data": new_data, "hash": content_hash, "raw_id": raw_id}
            counts.changed_ids.append(study.id)
        if new_rows:
            conn.execute(insert(st), [columns for columns, _ in new_rows.values()])
            self._insert_children(conn, [study for _, study in new_rows.values()])
        if change_rows:
            conn.execute(insert(schema.changes), change_rows)
        return counts

    @staticmethod
    def _insert_children(conn: Connection, studies_: list[Study]) -> None:
        rows_by_table: dict[Any, list[dict[str, Any]]] = {table: [] for table in schema.CHILD_TABLES}
        for study in studies_:
            for table, rows in _child_rows(study).items():
                rows_by_table[table].extend(rows)
        for table, rows in rows_by_table.items():
            if rows:
                conn.execute(insert(table), rows)

    def record_snapshot(self, counts: dict[str, Any]) -> str:
        """Record the store's current content as a snapshot; its id is derived from the content,
        so rebuilding unchanged data names the same snapshot."""
        digest = hashlib.sha256()
        st = schema.studies
        with self.engine.begin() as conn:
            for row in conn.execute(select(st.c.id, st.c.content_hash).order_by(st.c.id)):
                digest.update(f"{row.id}:{row.content_hash}\n".encode())
            for extra in self._snapshot_parts(conn):
                digest.update(extra.encode())
            content_hash = digest.hexdigest()
            snapshot_id = content_hash[:12]
            exists = conn.execute(
                select(schema.snapshots.c.id).where(schema.snapshots.c.id == snapshot_id)
            ).first()
            if not exists:
                conn.execute(
                    insert(schema.snapshots).values(
                        id=snapshot_id,
                        created_at=self.clock(),
                        content_hash=content_hash,
                        counts=canonical_json(counts),
                    )
                )
        return snapshot_id

    def _snapshot_parts(self, conn: Connection) -> Iterator[str]:
        """Further content that defines a snapshot beyond the studies: their enrichment."""
        cl = schema.classifications
        for row in conn.execute(select(cl.c.study_id, cl.c.data).order_by(cl.c.study_id)):
            yield f"classification {row.study_id}:{sha256_text(row.data)}\n"

    # -- enrichment ----------------------------------------------------------------

    def classification_targets(self, profile_hash: str, batch_size: int = 1000) -> Iterator[tuple[Study, str]]:
        """Studies (with their content hash) never classified, or classified from an older
        version of the study or of the profile; streamed in id order."""
        st, cl = schema.studies, schema.classifications
        stale = or_(
            cl.c.study_id.is_(None), cl.c.study_hash != st.c.content_hash, cl.c.profile_hash != profile_hash
        )
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(st.c.id, st.c.data, st.c.content_hash)
                    .outerjoin(cl, cl.c.study_id == st.c.id)
                    .where(stale, st.c.id > last)
                    .order_by(st.c.id)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            for row in rows:
                yield Study.from_dict(json.loads(row.data)), row.content_hash
            last = rows[-1].id

    def save_classifications(self, items: list[tuple[str, str, dict[str, Any]]], profile_hash: str) -> None:
        """Store (study id, study content hash, classification dict) triples in one transaction."""
        if not items:
            return
        cl = schema.classifications
        ids = [study_id for study_id, _, _ in items]
        now = self.clock()
        with self.engine.begin() as conn:
            for table in (cl, schema.study_strategies, schema.study_phenotypes):
                conn.execute(delete(table).where(table.c.study_id.in_(ids)))
            conn.execute(
                insert(cl),
                [
                    {
                        "study_id": study_id,
                        "is_ms": data["is_ms"],
                        "curative_intent": data["curative_intent"],
                        "data": canonical_json(data),
                        "study_hash": study_hash,
                        "profile_hash": profile_hash,
                        "classified_at": now,
                    }
                    for study_id, study_hash, data in items
                ],
            )
            strategies = [{"study_id": i, "strategy": s} for i, _, d in items for s in d["strategies"]]
            phenotypes = [{"study_id": i, "phenotype": p} for i, _, d in items for p in d["phenotypes"]]
            if strategies:
                conn.execute(insert(schema.study_strategies), strategies)
            if phenotypes:
                conn.execute(insert(schema.study_phenotypes), phenotypes)

    def get_classification(self, study_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            data = conn.execute(
                select(schema.classifications.c.data).where(schema.classifications.c.study_id == study_id)
            ).scalar_one_or_none()
        return json.loads(data) if data else None

    def count_ms_studies(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(schema.classifications).where(schema.classifications.c.is_ms)
            ).scalar_one()

    # -- reading -----------------------------------------------------------------

    def get_study(self, study_id: str) -> Study | None:
        with self.engine.connect() as conn:
            data = conn.execute(
                select(schema.studies.c.data).where(schema.studies.c.id == study_id)
            ).scalar_one_or_none()
        return Study.from_dict(json.loads(data)) if data else None

    def iter_studies(self, batch_size: int = 1000) -> Iterator[Study]:
        """Every study, in id order, streamed in batches so memory stays flat."""
        st = schema.studies
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(st.c.id, st.c.data).where(st.c.id > last).order_by(st.c.id).limit(batch_size)
                ).all()
            if not rows:
                return
            for row in rows:
                yield Study.from_dict(json.loads(row.data))
            last = rows[-1].id

    def provenance(self, study_id: str) -> dict[str, Any] | None:
        """Where the current version of a study came from."""
        st, raw = schema.studies, schema.raw_records
        with self.engine.connect() as conn:
            row = conn.execute(
                select(raw.c.source, raw.c.source_id, raw.c.origin, raw.c.fetched_at, raw.c.sha256)
                .join(st, st.c.raw_id == raw.c.id)
                .where(st.c.id == study_id)
            ).first()
        return dict(row._mapping) if row else None

    def study_changes(self, study_id: str | None = None, since: str | None = None) -> list[dict[str, Any]]:
        """Change-log entries, oldest first, for one study and/or since an ISO time."""
        ch = schema.changes
        query = select(ch).order_by(ch.c.id)
        if study_id:
            query = query.where(ch.c.study_id == study_id)
        if since:
            query = query.where(ch.c.detected_at >= since)
        with self.engine.connect() as conn:
            return [
                {
                    **{k: v for k, v in row._mapping.items() if k not in ("old_value", "new_value")},
                    "old": json.loads(row.old_value) if row.old_value else None,
                    "new": json.loads(row.new_value) if row.new_value else None,
                }
                for row in conn.execute(query)
            ]

    def count_studies(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(schema.studies)).scalar_one()

    def newest_last_update(self, source: str) -> str | None:
        """The newest "last update posted" date among a registry's stored studies: where an
        incremental harvest picks up (records updated on or after it are fetched again)."""
        st = schema.studies
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.max(st.c.last_update_posted)).where(st.c.source == source)
            ).scalar_one_or_none()

    def count_by(self, column: str) -> list[tuple[Any, int]]:
        """Studies per value of one ``studies`` column, most frequent first."""
        col = schema.studies.c[column]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col, func.count().label("n")).group_by(col).order_by(func.count().desc(), col)
            )
            return [(row[0], row.n) for row in rows]

    def source_summary(self) -> dict[str, dict[str, Any]]:
        """Per source: distinct records held and when it was last written."""
        raw = schema.raw_records
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    raw.c.source,
                    func.count(raw.c.source_id.distinct()).label("records"),
                    func.max(raw.c.fetched_at).label("last_update"),
                ).group_by(raw.c.source)
            )
            return {row.source: {"records": row.records, "last_update": row.last_update} for row in rows}
