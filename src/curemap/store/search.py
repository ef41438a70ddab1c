"""Full-text search over studies and papers.

SQLite keeps an FTS5 index (``search_documents``, stemmed, diacritics folded) whose rowids
are the ids of ``search_keys`` rows naming each record; PostgreSQL keeps one table with a
generated ``tsvector`` under a GIN index. Both are filled by migration ``0005_search`` and
kept in step by every import (:func:`index_records`), and both answer :func:`matching_ids`
with the same meaning: every word of the query must occur (stemmed) in the record.

The SQLite index also holds each record's *facets* (:func:`facets_of`: its kind, and a study's
phase and status) as tokens of a column of their own, which a query's words never reach: the
index then answers "studies in phase 3 mentioning ocrelizumab" by itself, where joining each of
a million-record store's matches to its key and its row to test them took most of the time.
(PostgreSQL keeps the kind in a column; its planner joins the other filters from the studies.)
Both rank matches by relevance (:func:`matching_ids`, ``ranked``): FTS5's BM25 with a title's words
weighing :data:`TITLE_WEIGHT` times a body's, PostgreSQL's ``ts_rank``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Float, String, bindparam, text
from sqlalchemy.sql.selectable import TextualSelect

from curemap.model import Paper, Study
from curemap.store.bulk import bulk_insert

WORDS = re.compile(r"[^\W_]+")

TITLE_WEIGHT = 4.0
"""How much more a word in a record's title counts towards its relevance than one in its body."""

FACETS = ("phase", "status")
"""The study filters the SQLite index answers together with a query's words."""

_SQLITE_DDL = (
    "CREATE TABLE IF NOT EXISTS search_keys (id INTEGER PRIMARY KEY, record_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_documents USING fts5(title, body, facets, tokenize='porter unicode61 remove_diacritics 2')",
    # ORDER BY rank: BM25 weighing the title's words more, the facets not at all
    f"INSERT INTO search_documents (search_documents, rank) VALUES ('rank', 'bm25({TITLE_WEIGHT}, 1.0, 0.0)')",
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


def _facet(name: str, value: Any) -> str:
    """One facet as a token the tokenizer keeps whole: letters and digits only."""
    return "facet" + name + re.sub(r"[^0-9a-z]", "", str(value).lower())


def facets_of(kind: str, data: dict[str, Any]) -> str:
    """The facet tokens of a record: its kind, and a study's phase and status (if stated)."""
    given = {"kind": kind} | ({name: data.get(name) for name in FACETS} if kind == "study" else {})
    return " ".join(_facet(name, value) for name, value in given.items() if value)


def has_facets(conn: Connection) -> bool:
    """Whether the SQLite index holds facets (stores made before migration 0018 do not)."""
    return "facets" in {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(search_documents)")}


def create_index(conn: Connection) -> None:
    """Create the index (empty) for the connection's dialect."""
    for statement in _SQLITE_DDL if conn.dialect.name == "sqlite" else _POSTGRES_DDL:
        conn.execute(text(statement))


def index_records(conn: Connection, kind: str, items: Iterable[Study | Paper | dict[str, Any]]) -> None:
    """(Re)index records of one kind (``study`` or ``paper``) in the caller's transaction."""
    documents, facets = {}, {}
    for item in items:
        data = item if isinstance(item, dict) else item.to_dict()
        documents[data["id"]] = document_of(kind, data)
        facets[data["id"]] = facets_of(kind, data)
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
    bulk_insert(
        conn, "search_documents",
        [{"rowid": keys[i], "title": t, "body": b, "facets": facets[i]} for i, (t, b) in documents.items()],
    )


def unindex_records(conn: Connection, ids: list[str]) -> None:
    """Take records out of the index (papers their source withdrew: no list shows them)."""
    if not ids:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(text("DELETE FROM search_documents WHERE record_id = ANY(:ids)"), {"ids": ids})
        return
    conn.execute(
        text("DELETE FROM search_documents WHERE rowid IN (SELECT id FROM search_keys WHERE record_id IN :ids)").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": ids},
    )


def index_existing(conn: Connection, batch_size: int = 2000) -> None:
    """Index every stored study and paper but the withdrawn ones (a store that predates the index)."""
    for kind, table, kept in (("study", "studies", ""), ("paper", "papers", " AND NOT deleted")):
        last = ""
        while rows := conn.execute(
            text(f"SELECT id, data FROM {table} WHERE id > :last{kept} ORDER BY id LIMIT :n"), {"last": last, "n": batch_size}
        ).all():
            index_records(conn, kind, [json.loads(row.data) for row in rows])
            last = rows[-1].id


def query_words(query: str) -> list[str]:
    """The words of a search query; punctuation and search-syntax characters carry no meaning."""
    return WORDS.findall(query)


def _sqlite_match(words: list[str], kind: str, facets: dict[str, str] | None) -> str:
    """An FTS5 query: every word (quoted, so FTS5 operators typed by a user are plain words) in
    the title or body, and every facet in the facets column."""
    wanted = [_facet("kind", kind), *(_facet(name, value) for name, value in (facets or {}).items() if value)]
    return "{title body}: (" + " ".join(f'"{word}"' for word in words) + ") AND facets: (" + " ".join(f'"{token}"' for token in wanted) + ")"


def matching_ids(kind: str, query: str, dialect: str, facets: dict[str, str] | None = None, *, ranked: bool = False) -> TextualSelect:
    """A ``SELECT record_id`` of the (not withdrawn) records of ``kind`` containing every word of ``query`` (and,
    on SQLite, with the ``facets`` given, of :data:`FACETS`), to use as a subquery
    (``table.c.id.in_(...)``) or run on its own; unordered, so the index answers it without
    ranking every match. With ``ranked``, each match's relevance as ``score`` too (higher is
    more relevant), still in no order: the caller orders once its other filters are joined.
    A query with no words matches nothing."""
    words = query_words(query)
    columns = {"record_id": String, **({"score": Float} if ranked else {})}
    if not words:
        return text(f"SELECT NULL AS record_id{', 0.0 AS score' if ranked else ''} WHERE 1 = 0").columns(**columns)
    if dialect == "sqlite":
        score = ", -search_documents.rank AS score" if ranked else ""
        statement = text(
            f"SELECT search_keys.record_id{score} FROM search_documents JOIN search_keys ON search_keys.id = search_documents.rowid"
            " WHERE search_documents MATCH :match"
        ).bindparams(match=_sqlite_match(words, kind, facets))
    else:
        score = ", ts_rank(document, plainto_tsquery('english', :match)) AS score" if ranked else ""
        statement = text(
            f"SELECT record_id{score} FROM search_documents WHERE document @@ plainto_tsquery('english', :match) AND kind = :kind"
        ).bindparams(match=" ".join(words), kind=kind)
    return statement.columns(**columns)


def _no_facets(facets: dict[str, str] | None) -> None:
    if any((facets or {}).values()):
        raise ValueError("PostgreSQL's search table holds no facets; join the studies to filter them")


def count_matches(conn: Connection, kind: str, query: str, facets: dict[str, str] | None = None) -> int:
    """How many records :func:`matching_ids` finds, counted in the index alone on SQLite (no
    match joined to its key). On PostgreSQL ``facets`` must be empty (the table holds none)."""
    words = query_words(query)
    if not words:
        return 0
    if conn.dialect.name == "sqlite":
        statement = text("SELECT count(*) FROM search_documents WHERE search_documents MATCH :match")
        return conn.execute(statement, {"match": _sqlite_match(words, kind, facets)}).scalar_one()
    _no_facets(facets)
    statement = text("SELECT count(*) FROM search_documents WHERE document @@ plainto_tsquery('english', :match) AND kind = :kind")
    return conn.execute(statement, {"match": " ".join(words), "kind": kind}).scalar_one()


def top_matches(conn: Connection, kind: str, query: str, facets: dict[str, str] | None, limit: int, offset: int) -> list[str]:
    """The ids of the ``limit`` most relevant matches after the first ``offset`` (:func:`matching_ids`'
    ranked order; equal scores in the index's order on SQLite, by id on PostgreSQL). SQLite ranks and
    cuts in the index before naming the page's matches; PostgreSQL needs ``facets`` empty."""
    words = query_words(query)
    if not words:
        return []
    if conn.dialect.name == "sqlite":
        statement = text(
            "SELECT search_keys.record_id FROM (SELECT rowid, rank FROM search_documents WHERE search_documents MATCH :match"
            " ORDER BY rank LIMIT :limit OFFSET :offset) AS page JOIN search_keys ON search_keys.id = page.rowid"
            " ORDER BY page.rank, page.rowid"
        )
        parameters = {"match": _sqlite_match(words, kind, facets), "limit": limit, "offset": offset}
    else:
        _no_facets(facets)
        statement = text(
            "SELECT record_id FROM search_documents WHERE document @@ plainto_tsquery('english', :match) AND kind = :kind"
            " ORDER BY ts_rank(document, plainto_tsquery('english', :match)) DESC, record_id LIMIT :limit OFFSET :offset"
        )
        parameters = {"match": " ".join(words), "kind": kind, "limit": limit, "offset": offset}
    return list(conn.execute(statement, parameters).scalars())


def each_contains(id_column: Any, kind: str, query: str, facets: dict[str, str] | None = None) -> Any:
    """On SQLite, a condition on each row of ``id_column``'s table that its record matches (as
    :func:`matching_ids`), tested row by row in the index (its rowid sought in the words'
    entries): for a list walked in another index's order until a page is found, where building
    the set of every match first grows with the store. A query with no words matches nothing."""
    words = query_words(query)
    if not words:
        return text("1 = 0")
    return text(
        "EXISTS (SELECT 1 FROM search_keys JOIN search_documents ON search_documents.rowid = search_keys.id"
        f" WHERE search_keys.record_id = {id_column.table.name}.{id_column.name} AND search_documents MATCH :each_match)"
    ).bindparams(each_match=_sqlite_match(words, kind, facets))
