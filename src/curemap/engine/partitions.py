"""One partition of batch work: an input file parsed, classified and extracted into Parquet
(on whichever machine runs it), then loaded into the store (where the store is).

Loading imports the partition's records exactly as an in-process import does, and in the
same transaction saves the precomputed enrichment only for records the store now holds
in the very version that was enriched and that still need it; anything else (a thinner
record merged into a richer stored one, say) is left stale for the ordinary enrichment pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from queue import Full, Queue
from typing import Any

from curemap.jsontext import parse_json
from curemap.model import ParsedRecord
from curemap.store import ImportCounts, Store, staging
from curemap.store.kinds import PAPER, STUDY, item_of, kind_of
from curemap.store.store import Entry, canonical_json, sha256_text

ROWS_PER_GROUP = 2000
"""Records per Parquet row group: what a worker holds in memory at once, and a loader too."""

KINDS = {STUDY.name: STUDY, PAPER.name: PAPER}

_FIELDS = ("source", "source_id", "raw", "origin", "covers", "error", "deleted", "kind", "item", "content_hash", "classification", "figures")
"""The columns a loader reads, in the order :func:`_entries` takes them."""


@dataclass
class PartitionResult:
    """What a worker made of one input file, and how long each stage took there."""

    path: str
    parquet: str
    records: int = 0
    keys: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=lambda: {"parse": 0.0, "classify": 0.0, "extract": 0.0})
    staged: str | None = None
    """The token of the partition's staged rows (:mod:`curemap.store.staging`), if they were staged."""


def _schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("source", pa.string()),
            ("source_id", pa.string()),
            ("raw", pa.large_string()),
            ("origin", pa.string()),
            ("covers", pa.list_(pa.string())),
            ("error", pa.string()),
            ("deleted", pa.bool_()),
            ("kind", pa.string()),
            ("record_id", pa.string()),
            ("item", pa.large_string()),
            ("content_hash", pa.string()),
            ("classification", pa.large_string()),
            ("figures", pa.large_string()),
        ]
    )


@lru_cache(maxsize=1)
def _enrichers():
    """The classifier, the extraction readers and their enrichment keys, made once per worker process."""
    from curemap.enrich.classify import Classifier
    from curemap.enrich.comparisons import ComparisonReader
    from curemap.enrich.outcomes import OutcomeExtractor
    from curemap.enrich.pipeline import CLASSIFYING_CODE, EXTRACTING_CODE, enrichment_key
    from curemap.profile import load_profile

    profile = load_profile()
    keys = {"classify": enrichment_key(profile, *CLASSIFYING_CODE), "extract": enrichment_key(profile, *EXTRACTING_CODE)}
    return Classifier(profile), (OutcomeExtractor(profile), ComparisonReader(profile)), keys


@lru_cache(maxsize=4)
def _staging_engine(url: str):
    """The engine a worker stages through, made once per worker process and store."""
    return Store(url).engine


def _on_postgresql(url: str) -> bool:
    """Whether a store URL names a PostgreSQL store (a plain ``postgres://`` one too)."""
    from sqlalchemy.engine import make_url

    from curemap.store.store import driver_url

    return make_url(driver_url(url)).get_backend_name() == "postgresql"


@lru_cache(maxsize=4)
def _reading_engine(url: str):
    """An engine that only reads the store, made once per worker process: a PostgreSQL store's
    own, a SQLite store's file opened read-only (never created where a worker cannot see it)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if _on_postgresql(url):
        return _staging_engine(url)
    return create_engine(f"sqlite:///file:{make_url(url).database}?mode=ro&uri=true")


def _held_already(url: str, parquet: str) -> bool:
    """Whether the store holds any of the partition's records (or a verbatim version of one)
    already, when the worker can tell: the writer would then drop their staging unread. A
    store the worker cannot read counts as holding none (the writer checks again)."""
    import pyarrow.parquet as pq
    from sqlalchemy.exc import SQLAlchemyError

    columns = pq.read_table(parquet, columns=["kind", "record_id", "source", "source_id"]).to_pydict()
    kinds = {name for name in columns["kind"] if name}
    if len(kinds) != 1:
        return False  # staging itself turns a partition of several kinds down
    ids, versions = [], {}
    for record_id, source, source_id in zip(columns["record_id"], columns["source"], columns["source_id"]):
        if record_id:  # a record read (an unreadable one stores nothing)
            ids.append(record_id)
            versions.setdefault(source, []).append(source_id)
    try:
        with _reading_engine(url).connect() as conn:
            return staging.any_stored(conn, KINDS[kinds.pop()], ids, versions)
    except SQLAlchemyError:
        return False


def process_file(path: str, out_dir: str, index: int, stage_url: str | None = None) -> PartitionResult:
    """Parse, classify and extract one input file into ``out_dir/part-INDEX.parquet``, streaming;
    with ``stage_url`` (the store's), also stage its rows if they are new records (in a PostgreSQL
    store, else in a file beside the partition), so the store's single writer only moves them
    in (:mod:`curemap.store.staging`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curemap.enrich.pipeline import paper_extraction, study_extraction
    from curemap.sources.files import iter_file_records

    classifier, readers, keys = _enrichers()
    result = PartitionResult(path=path, parquet=str(Path(out_dir) / f"part-{index:06d}.parquet"), keys=keys)
    schema = _schema()
    rows: list[dict[str, Any]] = []
    clock = time.perf_counter
    with pq.ParquetWriter(result.parquet, schema, compression="zstd") as writer:
        records = iter_file_records(Path(path))
        while True:
            started = clock()
            record = next(records, None)
            result.seconds["parse"] += clock() - started
            if record is None:
                break
            rows.append(_row(record, classifier, readers, result.seconds, paper_extraction, study_extraction))
            if len(rows) >= ROWS_PER_GROUP:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                result.records += len(rows)
                rows = []
        if rows or not result.records:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            result.records += len(rows)
    if stage_url is not None and not _held_already(stage_url, result.parquet):
        started = clock()
        if _on_postgresql(stage_url):
            result.staged = staging.stage_in_store(_staging_engine(stage_url), _entries(result.parquet), keys)
        else:
            result.staged = staging.stage_in_file(result.parquet, _entries(result.parquet), keys)
        result.seconds["stage"] = clock() - started
    return result


def _row(record: ParsedRecord, classifier, readers, seconds, paper_extraction, study_extraction) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source": record.source,
        "source_id": record.source_id,
        "raw": record.raw,
        "origin": record.origin,
        "covers": sorted(record.covers),
        "error": record.error,
        "deleted": record.deleted,
    }
    kind = kind_of(record)
    if kind is None or record.deleted:
        return row
    item = item_of(record)
    item_json = canonical_json(item.to_dict())
    clock = time.perf_counter
    started = clock()
    verdict = classifier.classify(item) if kind is STUDY else classifier.classify_paper(item)
    classification = verdict.to_dict()
    seconds["classify"] += clock() - started
    started = clock()
    figures = (study_extraction if kind is STUDY else paper_extraction)(*readers, item)
    seconds["extract"] += clock() - started
    return row | {
        "kind": kind.name,
        "record_id": item.id,
        "item": item_json,
        "content_hash": sha256_text(item_json),
        "classification": canonical_json(classification),
        "figures": canonical_json(figures),
    }


def _columns(parquet: str) -> Iterator[list[list[Any]]]:
    """The :data:`_FIELDS` of the partition a row group at a time, as one list per column: a
    conversion per column instead of a dict built per row. Decoded on the calling thread alone:
    Arrow's pool of threads spent three times the CPU on a row group (handing columns between
    threads), and the loader already reads on a thread of its own."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(parquet) as handle:
        for batch in handle.iter_batches(batch_size=ROWS_PER_GROUP, columns=list(_FIELDS), use_threads=False):
            yield [batch.column(name).to_pylist() for name in _FIELDS]


def _entries(parquet: str) -> Iterator[list[Entry]]:
    """The partition's records as the store takes them, a row group at a time: the worker's
    plain dict, canonical JSON and content hash of each item, and its enrichment (decoded), with
    no record object rebuilt. The JSON is read by :func:`parse_json` (orjson, with the standard
    library's value), and each verbatim record's hash taken here, on the reading thread."""
    for group in _columns(parquet):
        entries = []
        for source, source_id, raw, origin, covers, error, deleted, kind, item, content_hash, classification, figures in zip(*group):
            record = ParsedRecord(source, source_id, raw, origin, frozenset(covers), error=error, deleted=deleted)
            if item is None:
                entry = Entry(record)
            else:
                entry = Entry(
                    record, KINDS[kind], parse_json(item), item, content_hash, classification, figures, parse_json(classification)
                )
            entry.raw_key  # noqa: B018 (hashed here, off the writing thread)
            entries.append(entry)
        yield entries


def _read_ahead(groups: Iterator[list[Entry]]) -> Iterator[Entry]:
    """The entries of ``groups``, read and decoded on a thread of their own one row group ahead:
    reading and decoding the next group overlaps the store's statements on this one (the
    database drivers let go of the interpreter while the database works). The reader stops when
    the loading stops, and its error is raised here."""
    ahead: Queue = Queue(maxsize=1)
    stop = threading.Event()

    def offer(item) -> bool:
        """Hand ``item`` over once there is room; False if the loading stopped first."""
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def read() -> None:
        try:
            for group in groups:
                if not offer(group):
                    return
            offer(None)
        except BaseException as exc:  # handed to the loading thread, which raises it
            offer(exc)

    reader = threading.Thread(target=read, name="partition-reader", daemon=True)
    reader.start()
    try:
        while (group := ahead.get()) is not None:
            if isinstance(group, BaseException):
                raise group
            yield from group
    finally:
        stop.set()
        reader.join()


def load_partition(store: Store, result: PartitionResult) -> ImportCounts:
    """Import a partition's records and save their still-needed enrichment, in one transaction
    (moving its staged rows in, if it has them and they are all new)."""
    try:
        return store.import_entries(_read_ahead(_entries(result.parquet)), keys=result.keys, staged=result.staged)
    finally:
        if result.staged is not None:
            store.drop_staged(result.staged)  # a staging file, or what a failed load left behind
