"""Full-text search over studies and papers.

SQLite keeps an FTS5 index (``search_documents``, stemmed, diacritics folded) whose rowids
are the ids of ``search_keys`` rows naming each record; PostgreSQL keeps one table with a
generated ``tsvector`` under a GIN index. Both are filled by migration ``0005_search`` and
kept in step by every import (:func:`index_records`), and both answer :func:`matching_ids`
with the same meaning: every word of the query must occur (stemmed) in the record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, String, bindparam, text
from sqlalchemy.sql.selectable import TextualSelect

from curemap.model import Paper, Study
from curemap.store.bulk import bulk_insert

WORDS = re.compile(r"[^\W_]+")

_SQLITE_DDL = (
    "CREATE TABLE IF NOT EXISTS search_keys (id INTEGER PRIMARY KEY, record_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_documents USING fts5(title, body, tokenize='porter unicode61 remove_diacritics 2')",
)
_POSTGRES_DDL = (
    (
        "CREATE TABLE IF NOT EXISTS search_documents (record_id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT, body TEXT,"
        " document tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(title, '') || ' ' || coalesce(body, ''))) STORED)"
    ),
    "CREATE INDEX IF NOT EXISTS ix_search_documents_document ON search_documents USING gin (document)",
)


def _joined(*parts: Any) -> str:
    return "\n".join(str(part) for part in parts if part)


def document_of(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    """The (title, body) a record is found by: its titles, ids, summary or abstract (and a paper's
    open-access full text), and names."""
    if kind == "study":
        sponsor = (data.get("lead_sponsor") or {}).get("name")
        return data.get("brief_title") or "", _joined(
            data["id"], data.get("official_title"), data.get("acronym"), data.get("summary"),
            *(data.get("conditions") or []), *(data.get("keywords") or []),
            *(iv.get("name") for iv in data.get("interventions") or []), sponsor,
        )
    return data.get("title") or "", _joined(
        data["id"], data.get("abstract"), data.get("journal"), *(data.get("keywords") or []),
        *(heading.get("descriptor") for heading in data.get("mesh") or []),
        *(part.get("text") for part in data.get("full_text") or []),
    )


def create_index(conn: Connection) -> None:
    """Create the index (empty) for the connection's dialect."""
    for statement in _SQLITE_DDL if conn.dialect.name == "sqlite" else _POSTGRES_DDL:
        conn.execute(text(statement))


def index_records(conn: Connection, kind: str, items: Iterable[Study | Paper | dict[str, Any]]) -> None:
    """(Re)index records of one kind (``study`` or ``paper``) in the caller's transaction."""
    documents = {}
    for item in items:
        data = item if isinstance(item, dict) else item.to_dict()
        documents[data["id"]] = document_of(kind, data)
    if not documents:
        return
    ids = list(documents)
    if conn.dialect.name != "sqlite":
        conn.execute(text("DELETE FROM search_documents WHERE record_id = ANY(:ids)"), {"ids": ids})
        bulk_insert(conn, "search_documents", [{"record_id": i, "kind": kind, "title": t, "body": b} for i, (t, b) in documents.items()])
        return
    conn.exec_driver_sql("INSERT OR IGNORE INTO search_keys (record_id, kind) VALUES (?, ?)", [(i, kind) for i in ids])
    keys = dict(
        conn.execute(
            text("SELECT record_id, id FROM search_keys WHERE record_id IN :ids").bindparams(bindparam("ids", expanding=True)),
            {"ids": ids},
        ).all()
    )
    conn.execute(text("DELETE FROM search_documents WHERE rowid IN :keys").bindparams(bindparam("keys", expanding=True)), {"keys": list(keys.values())})
    bulk_insert(conn, "search_documents", [{"rowid": keys[i], "title": t, "body": b} for i, (t, b) in documents.items()])


def index_existing(conn: Connection, batch_size: int = 2000) -> None:
    """Index every stored study and paper (a store that predates the index)."""
    for kind, table in (("study", "studies"), ("paper", "papers")):
        last = ""
        while rows := conn.execute(
            text(f"SELECT id, data FROM {table} WHERE id > :last ORDER BY id LIMIT :n"), {"last": last, "n": batch_size}
        ).all():
            index_records(conn, kind, [json.loads(row.data) for row in rows])
            last = rows[-1].id


def query_words(query: str) -> list[str]:
    """The words of a search query; punctuation and search-syntax characters carry no meaning."""
    return WORDS.findall(query)


def matching_ids(kind: str, query: str, dialect: str) -> TextualSelect:
    """A ``SELECT record_id`` of the records of ``kind`` containing every word of ``query``,
    to use as a subquery (``table.c.id.in_(...)``) or run on its own; unordered, so the index
    answers it without ranking every match. A query with no words matches nothing."""
    words = query_words(query)
    if not words:
        return text("SELECT NULL AS record_id WHERE 1 = 0").columns(record_id=String)
    if dialect == "sqlite":
        # Each word quoted, so FTS5 operators typed by a user are plain words.
        match = " ".join(f'"{word}"' for word in words)
        statement = text(
            "SELECT search_keys.record_id FROM search_documents JOIN search_keys ON search_keys.id = search_documents.rowid"
            " WHERE search_documents MATCH :match AND search_keys.kind = :kind"
        ).bindparams(match=match, kind=kind)
    else:
        statement = text(
            "SELECT record_id FROM search_documents WHERE document @@ plainto_tsquery('english', :match) AND kind = :kind"
        ).bindparams(match=" ".join(words), kind=kind)
    return statement.columns(record_id=String)
