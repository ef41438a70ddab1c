"""Full-text search over studies and papers.

SQLite keeps an FTS5 index (``search_documents``, stemmed, diacritics folded) whose rowids
are the ids of ``search_keys`` rows naming each record; PostgreSQL keeps one table with a
generated ``tsvector`` under a GIN index. Both are filled by migration ``0005_search`` and
kept in step by every import (:func:`index_records`), and both answer :func:`matching_ids`
with the same meaning: every word of the query must occur (stemmed) in the record.

Both indexes tell a record's kind (SQLite by its key, PostgreSQL by a column) and hold each
record's *facets* (:func:`facet_tokens`: a study's phase, status, MS and curative labels, lead
sponsor's class and type, phenotypes, populations and countries, and the strategies a study's or
a paper's classification names, each with its role: every filter of the lists) as
tokens (SQLite: a column of their own, which a query's words never reach; PostgreSQL: unstemmed
``facet…`` tokens beside the words, matched by a query of their own, which a search reaches only
by typing one whole). The index then answers "phase 3 MS studies of a strategy mentioning
ocrelizumab" (or papers of a strategy) by itself, where joining each of a million-record store's
matches to its record to test them took most of the time. The facets are read from the stored
record, its sites and its labels, so they are written after a batch's labels
(:func:`index_records`) and again when a record's labels change (:func:`refresh_facets`). Both
rank matches by relevance (:func:`ranked_matches`): FTS5's BM25 with a title's words
weighing :data:`TITLE_WEIGHT` times a body's, PostgreSQL's ``ts_rank``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, String, bindparam, text
from sqlalchemy.sql.selectable import TextualSelect

from curemap.console import meter
from curemap.model import Paper, Study
from curemap.store.bulk import bulk_insert

WORDS = re.compile(r"[^\W_]+")

TITLE_WEIGHT = 4.0
"""How much more a word in a record's title counts towards its relevance than one in its body."""

Facets = list[list[str]]
"""Facet tokens a search must hold: every group, and in each group one token at least (a
strategy's group is answered by any of its strategies)."""

NOTHING = "facetnothing"
"""A facet no record holds: a group of no alternatives (a profile group with no strategy)."""

DAY_SHIFT = 24
"""A record's key in the SQLite index is its day (:func:`record_day`) shifted left by this many
bits, plus its place among that day's records of its kind (a paper's above :data:`PAPER_KEYS`):
the index's own rowid order is then the lists' newest-first order, day by day, and a search's
newest matches are its highest rowids (:func:`newest_matches`, :func:`ranked_matches`' window),
however many records match."""

PAPER_KEYS = 1 << 60
"""Papers' keys start here, above every study's."""

DATED_BY = {"study": "last_update_posted", "paper": "published"}
"""The date a record of each kind is dated by in the index: the one its list's newest-first order
follows (a study's last update, a paper's publication)."""

RANK_WINDOW = 10_000
"""How many of a search's matches a ranking by relevance reads. A search matching more ranks its
newest matches only: those dated on or after the day of its ``RANK_WINDOW``-th newest (the first
``RANK_WINDOW`` of the list's newest-first order, with their last day whole). Ranking reads every
ranked match's statistics, so a common word ranked whole grew with the store (``relapsing``, 151,076
of a million papers: 0.4 s on SQLite, 2.5 s on PostgreSQL); read this way, a reader following the
research is shown the most relevant of its recent work, and is told so (:func:`ranked_matches`).
The same as the numbered pages' reach (``web.query.MAX_OFFSET``), so those pages reach every
ranked match."""

_SQLITE_DDL = (
    "CREATE TABLE IF NOT EXISTS search_keys (id INTEGER PRIMARY KEY, record_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_documents USING fts5(title, body, facets, tokenize='porter unicode61 remove_diacritics 2')",
    # ORDER BY rank: BM25 weighing the title's words more, the facets not at all
    f"INSERT INTO search_documents (search_documents, rank) VALUES ('rank', 'bm25({TITLE_WEIGHT}, 1.0, 0.0)')",
)


def words(row: str = "") -> str:
    """A PostgreSQL document's words, from its columns (of ``row``, e.g. ``NEW.``): its text's
    stemmed as English, its facets kept whole."""
    return (
        f"to_tsvector('english', coalesce({row}title, '') || ' ' || coalesce({row}body, ''))"
        f" || to_tsvector('simple', coalesce({row}facets, ''))"
    )


SEARCH_WORK_MEM = "32MB"
"""PostgreSQL: the memory a search's statements may use for each of their bitmaps and sorts.
At the server's usual 4 MB, a word in 151,076 of a million papers made a lossy bitmap, and
each match on a lossy page had its words read again to be tested: counting it took 630 ms
instead of 160."""

DAY_INDEX = "CREATE INDEX IF NOT EXISTS ix_search_documents_day ON search_documents (kind, day)"
"""PostgreSQL: a search's newest matches by their day (:func:`record_day`), their bitmap joined
with the words' to rank a common word's window (:data:`RANK_WINDOW`)."""

_POSTGRES_DDL = (
    "CREATE TABLE IF NOT EXISTS search_documents"
    " (record_id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT, body TEXT, facets TEXT, document tsvector, day INTEGER NOT NULL DEFAULT 0)",
    # The words are worked out as a row is written, unless an insert brings them (a partition's
    # rows staged by a worker, whose connection stemmed them: :mod:`curemap.store.staging`).
    "CREATE OR REPLACE FUNCTION search_document_words() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    f" IF TG_OP = 'UPDATE' OR NEW.document IS NULL THEN NEW.document := {words('NEW.')}; END IF; RETURN NEW; END $$",
    "DROP TRIGGER IF EXISTS search_document_words ON search_documents",
    "CREATE TRIGGER search_document_words BEFORE INSERT OR UPDATE ON search_documents FOR EACH ROW EXECUTE FUNCTION search_document_words()",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_document ON search_documents USING gin (document)",
    DAY_INDEX,
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


def facet(name: str, value: Any) -> str:
    """One facet as one token the tokenizer keeps whole: letters and digits only (the
    vocabularies' and the profile's ids differ in more than their punctuation)."""
    return "facet" + name + re.sub(r"[^0-9a-z]", "", str(value).lower())


def registry_facet(name: str, value: str) -> str:
    """A facet of a registry's own words (a country, a sponsor's class), which the lists' filters
    compare whole, case and all: their UTF-8 as hexadecimal digits, then a ``0``, so that no
    stemmer takes a suffix from the token (FTS5 stems the facets column as it does the words)."""
    return "facet" + name + value.encode().hex() + "0"


def day_number(value: str | None) -> int:
    """A date (``YYYY-MM-DD``, or a part of it, as the store keeps dates) as a number in the same
    order, naming that date alone: 2024-05-01 is 20240501, 2024-05 is 20240500; none is 0, the
    lowest, as a list puts undated studies last."""
    if not value:
        return 0
    parts = [int(part) for part in value.split("-")[:3] if part.isdigit()]
    year, month, day = (parts + [0, 0, 0])[:3]
    return year * 10_000 + month * 100 + day


def day_text(number: int) -> str | None:
    """The date a :func:`day_number` names."""
    if not number:
        return None
    year, month, day = number // 10_000, number // 100 % 100, number % 100
    return f"{year:04d}" + (f"-{month:02d}" if month else "") + (f"-{day:02d}" if day else "")


def record_day(kind: str, data: dict[str, Any]) -> int:
    """The :func:`day_number` a record (its stored dict) is dated by in the index (:data:`DATED_BY`)."""
    return day_number((data.get(DATED_BY[kind]) or {}).get("value"))


def _key_low(kind: str, day: int) -> int:
    """SQLite: the first key of a day's records of a kind (:data:`DAY_SHIFT`)."""
    return (PAPER_KEYS if kind == "paper" else 0) + (day << DAY_SHIFT)


def key_day(key: int) -> int:
    """SQLite: the day an index key was given for (:func:`_key_low`)."""
    return (key - PAPER_KEYS if key >= PAPER_KEYS else key) >> DAY_SHIFT


def record_facets(conn: Connection, ids: list[str]) -> dict[str, str]:
    """The facet tokens of these stored records (:func:`facet_tokens`)."""
    return {record_id: tokens for kind in DATED_BY for record_id, (tokens, _) in _stored(conn, kind, ids).items()}


@dataclass
class Related:
    """What a record's facets are read from besides its own row: its strategy labels and, a
    study's, its lead sponsor's type in the profile's vocabulary, its phenotypes, populations and
    the countries of its sites."""

    labels: list[tuple[str, str]] = field(default_factory=list)  # (strategy, role)
    sponsor_type: str | None = None
    phenotypes: set[str] = field(default_factory=set)
    populations: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)


STUDY_COLUMNS = ("phase", "status", "is_ms", "curative_intent", "lead_sponsor_class")
"""The columns of a study's row its facets are read from."""


def facet_tokens(study: Any | None, related: Related) -> str:
    """A record's facet tokens, in the order every writer of the index keeps: a study's phase,
    status and MS and curative labels (unclassified studies have neither, as the lists' filters
    match neither); each strategy its classification names, alone and with its role, in order of
    strategy by code point; then a study's lead sponsor's class and type, its phenotypes,
    populations and countries, each in order. Every filter of the study list is then answered
    by the index together with a search's words. ``study`` is its row (or a dict of
    :data:`STUDY_COLUMNS`), None for a paper."""
    tokens: list[str] = []
    if study is not None:
        get = study.get if isinstance(study, dict) else lambda name: getattr(study, name)
        given = {"phase": get("phase"), "status": get("status"), "ms": get("is_ms"), "curative": get("curative_intent")}
        tokens += [facet(name, bool(v) if name in ("ms", "curative") else v) for name, v in given.items() if v is not None and v != ""]
    for strategy, role in sorted(related.labels):
        tokens += [facet("strategy", strategy), facet(role, strategy)]
    if study is not None:
        tokens += [registry_facet("sponsorclass", get("lead_sponsor_class"))] if get("lead_sponsor_class") else []
        tokens += [facet("sponsortype", related.sponsor_type)] if related.sponsor_type else []
        tokens += [facet("phenotype", value) for value in sorted(related.phenotypes)]
        tokens += [facet("population", value) for value in sorted(related.populations)]
        tokens += [registry_facet("country", value) for value in sorted(related.countries)]
    return " ".join(tokens)


_RELATED = {
    "labels": "SELECT record_id, strategy, role FROM record_strategies WHERE record_id IN :ids",
    "sponsor_type": "SELECT record_id, sponsor_type FROM classifications WHERE record_id IN :ids AND sponsor_type IS NOT NULL",
    "phenotypes": "SELECT record_id, phenotype FROM record_phenotypes WHERE record_id IN :ids",
    "populations": "SELECT record_id, population FROM record_populations WHERE record_id IN :ids",
    "countries": "SELECT study_id, country FROM study_locations WHERE study_id IN :ids AND country IS NOT NULL AND country != ''",
}
"""Where each part of :class:`Related` is stored (a paper's facets read its labels alone)."""


def _stored(conn: Connection, kind: str, ids: list[str]) -> dict[str, tuple[str, int]]:
    """The facet tokens (:func:`facet_tokens`) and :func:`record_day` of these stored records of ``kind``."""
    found: dict[str, tuple[str, int]] = {}
    columns = (", ".join(STUDY_COLUMNS) + ", " if kind == "study" else "") + DATED_BY[kind]
    for chunk in _chunks(ids):
        rows = {
            row.id: row
            for row in conn.execute(
                text(f"SELECT id, {columns} FROM {'studies' if kind == 'study' else 'papers'} WHERE id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": chunk},
            )
        }
        related = {record_id: Related() for record_id in rows}
        for part, statement in _RELATED.items() if kind == "study" else [("labels", _RELATED["labels"])]:
            for record_id, *value in conn.execute(text(statement).bindparams(bindparam("ids", expanding=True)), {"ids": chunk}):
                held = related.get(record_id)
                if held is None:
                    continue
                if part == "labels":
                    held.labels.append((value[0], value[1]))
                elif part == "sponsor_type":
                    held.sponsor_type = value[0]
                else:
                    getattr(held, part).add(value[0])
        for record_id, row in rows.items():
            found[record_id] = (facet_tokens(row if kind == "study" else None, related[record_id]), day_number(row[-1]))
    return found


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def has_facets(conn: Connection) -> bool:
    """Whether the SQLite index holds facets (stores made before migration 0018 do not)."""
    return "facets" in {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(search_documents)")}


def index_current(conn: Connection) -> bool:
    """Whether the index is this version's. PostgreSQL's if its table holds facets and days
    (migration 0025), papers' labels among the facets (0025: it does if no paper is labelled, or
    if a labelled one's facets are written) and studies' sponsors, sites and the rest (0026:
    :func:`_studies_filter_facets`); SQLite's if it holds facets, studies' labels among them
    (migration 0020: it does if no study is labelled, or if it holds a study's MS label),
    papers' (0025) and the rest of studies' (0026), studies' keys by their day (0021,
    :data:`DAY_SHIFT`) and papers' by theirs (0025)."""
    if conn.dialect.name != "sqlite":
        held = text("SELECT column_name FROM information_schema.columns WHERE table_name = 'search_documents' AND column_name IN ('facets', 'day')")
        return len(conn.execute(held).all()) == 2 and _papers_labelled_facets(conn) and _studies_filter_facets(conn)
    if not has_facets(conn) or not _papers_labelled_facets(conn) or not _studies_filter_facets(conn):
        return False
    labelled = conn.exec_driver_sql("SELECT 1 FROM studies WHERE is_ms IS NOT NULL LIMIT 1").first()
    held = conn.exec_driver_sql(
        "SELECT 1 FROM search_documents WHERE search_documents MATCH ? LIMIT 1", (f'facets: ("{facet("ms", True)}" OR "{facet("ms", False)}")',)
    ).first()
    dated = [
        conn.exec_driver_sql(
            f"SELECT search_keys.id, {table}.{column} FROM search_keys JOIN {table} ON {table}.id = search_keys.record_id"
            f" WHERE {table}.{column} IS NOT NULL LIMIT 1"
        ).first()
        for table, column in (("studies", DATED_BY["study"]), ("papers", DATED_BY["paper"]))
    ]
    return (labelled is None or held is not None) and all(keyed is None or key_day(keyed[0]) == day_number(keyed[1]) for keyed in dated)


def _indexed_facets(conn: Connection, records: str) -> str | None:
    """The facets the index holds for the first of ``records`` (a statement selecting ``id``s)
    it holds, None if it holds none of them."""
    if conn.dialect.name == "sqlite":
        document = "JOIN search_keys AS k ON k.record_id = r.id JOIN search_documents AS d ON d.rowid = k.id"
    else:
        document = "JOIN search_documents AS d ON d.record_id = r.id"
    held = conn.exec_driver_sql(f"SELECT d.facets FROM ({records}) AS r {document} LIMIT 1").first()
    return None if held is None else held[0] or ""


def _papers_labelled_facets(conn: Connection) -> bool:
    """Whether a labelled paper's labels are among its facets in the index (or no paper is labelled)."""
    held = _indexed_facets(conn, "SELECT r.record_id AS id FROM record_strategies AS r JOIN papers AS p ON p.id = r.record_id")
    return held is None or bool(held)


def _studies_filter_facets(conn: Connection) -> bool:
    """Whether the index holds studies' facets of the filters added in migration 0026 (a sponsor's
    class and type, phenotypes, populations, countries): it does if a study with a lead sponsor's
    class has that class among its facets, or if no study has one."""
    held = _indexed_facets(conn, "SELECT id FROM studies WHERE lead_sponsor_class IS NOT NULL AND lead_sponsor_class != ''")
    return held is None or "facetsponsorclass" in held


def create_index(conn: Connection) -> None:
    """Create the index (empty) for the connection's dialect; on PostgreSQL, with the trigger that writes its words."""
    for statement in _SQLITE_DDL if conn.dialect.name == "sqlite" else _POSTGRES_DDL:
        conn.execute(text(statement))


def index_records(conn: Connection, kind: str, items: Iterable[Study | Paper | dict[str, Any]]) -> None:
    """(Re)index stored records of one kind (``study`` or ``paper``) in the caller's transaction,
    after their labels are written (a study's facets are read from the store)."""
    documents = {}
    for item in items:
        data = item if isinstance(item, dict) else item.to_dict()
        documents[data["id"]] = document_of(kind, data)
    if not documents:
        return
    ids = list(documents)
    stored = _stored(conn, kind, ids)
    facets = {record_id: tokens for record_id, (tokens, _) in stored.items()}
    days = {record_id: day for record_id, (_, day) in stored.items()}
    if conn.dialect.name != "sqlite":
        conn.execute(text("DELETE FROM search_documents WHERE record_id = ANY(:ids)"), {"ids": ids})
        bulk_insert(
            conn, "search_documents",
            [{"record_id": i, "kind": kind, "title": t, "body": b, "facets": facets.get(i, ""), "day": days[i]} for i, (t, b) in documents.items()],
        )
        return
    # a day's studies keyed in the order SQLite reads them by id, its papers in the order they came, as staged
    keys = index_keys(conn, kind, days if kind == "study" else {record_id: days[record_id] for record_id in ids})
    # in the keys' order: FTS5 writes out what it holds whenever a rowid comes below the last one
    rows = sorted(({"rowid": keys[i], "title": t, "body": b, "facets": facets.get(i, "")} for i, (t, b) in documents.items()), key=lambda row: row["rowid"])
    bulk_insert(conn, "search_documents", rows)


def index_keys(conn: Connection, kind: str, days: dict[str, int]) -> dict[str, int]:
    """The index rowids of these records of one kind (SQLite), given their days
    (:func:`record_day`), their documents taken out of the index: a record's key kept while its
    day is the same, else a new one among its new day's (:data:`DAY_SHIFT`)."""
    held = dict(
        conn.execute(
            text("SELECT record_id, id FROM search_keys WHERE record_id IN :ids").bindparams(bindparam("ids", expanding=True)),
            {"ids": list(days)},
        ).all()
    )
    if held:
        conn.execute(text("DELETE FROM search_documents WHERE rowid IN :keys").bindparams(bindparam("keys", expanding=True)), {"keys": list(held.values())})
    keys, moved = {}, []
    for record_id, day in days.items():
        key = held.get(record_id)
        if key is not None and key_day(key) == day:
            keys[record_id] = key
        else:
            moved.append(record_id)
    if not moved:
        return keys
    stale = [held[record_id] for record_id in moved if record_id in held]
    if stale:
        conn.execute(text("DELETE FROM search_keys WHERE id IN :keys").bindparams(bindparam("keys", expanding=True)), {"keys": stale})
    lows = {record_id: _key_low(kind, days[record_id]) for record_id in moved}
    following = _next_keys(conn, sorted(set(lows.values())))  # the next free key of each range a key is taken from
    for record_id in moved:
        keys[record_id] = following[lows[record_id]]
        following[lows[record_id]] += 1
    conn.exec_driver_sql("INSERT INTO search_keys (id, record_id, kind) VALUES (?, ?, ?)", [(keys[i], i, kind) for i in moved])
    return keys


def _next_keys(conn: Connection, lows: list[int]) -> dict[int, int]:
    """The next free key of each day's range starting at one of ``lows``, in one statement for
    each 500 ranges: a batch's records come from hundreds of days."""
    following = {}
    for chunk in _chunks(lows):
        statement = (
            "WITH ranges(low) AS (VALUES " + ", ".join("(?)" for _ in chunk) + ") SELECT low, (SELECT max(id) FROM search_keys"
            " WHERE id >= low AND id < low + ?) FROM ranges"
        )
        for low, last in conn.exec_driver_sql(statement, (*chunk, 1 << DAY_SHIFT)):
            following[low] = low if last is None else last + 1
    return following


def refresh_facets(conn: Connection, ids: list[str]) -> int:
    """Write again the facets of these indexed records whose labels changed, and return how
    many changed. Both stores rewrite a row whole (its words too), so the unchanged are left alone."""
    changed = 0
    for chunk in _chunks(ids):
        facets = record_facets(conn, chunk)
        if conn.dialect.name == "sqlite":
            held = conn.execute(
                text(
                    "SELECT search_keys.record_id, search_keys.id AS key, search_documents.facets FROM search_keys"
                    " JOIN search_documents ON search_documents.rowid = search_keys.id WHERE search_keys.record_id IN :ids"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": list(facets)},
            ).all()
            statement = "UPDATE search_documents SET facets = ? WHERE rowid = ?"
        else:
            held = conn.execute(
                text("SELECT record_id, record_id AS key, facets FROM search_documents WHERE record_id = ANY(:ids)"), {"ids": list(facets)}
            ).all()
            statement = "UPDATE search_documents SET facets = %s WHERE record_id = %s"
        stale = [(facets[row.record_id], row.key) for row in held if row.facets != facets[row.record_id]]
        if stale:
            conn.exec_driver_sql(statement, stale)
        changed += len(stale)
    return changed


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
    """Index every stored study and paper but the withdrawn ones (a store that predates the index,
    or whose index changed), showing progress: at a million records it takes minutes."""
    kinds = (("study", "studies", ""), ("paper", "papers", " AND NOT deleted"))
    total = sum(conn.execute(text(f"SELECT count(*) FROM {table} WHERE TRUE{kept}")).scalar_one() for _, table, kept in kinds)
    with meter("indexing the records for search", total=total) as bar:
        for kind, table, kept in kinds:
            last = ""
            while rows := conn.execute(
                text(f"SELECT id, data FROM {table} WHERE id > :last{kept} ORDER BY id LIMIT :n"), {"last": last, "n": batch_size}
            ).all():
                index_records(conn, kind, [json.loads(row.data) for row in rows])
                last = rows[-1].id
                bar.advance(len(rows))
                bar.count(len(rows))


def query_words(query: str) -> list[str]:
    """The words of a search query; punctuation and search-syntax characters carry no meaning."""
    return WORDS.findall(query)


def _sqlite_match(words: list[str], facets: Facets | None) -> str:
    """An FTS5 query: every word (quoted, so FTS5 operators typed by a user are plain words) in
    the title or body, and in the facets column one token of every facet group. (A record's kind
    is told by its key: :func:`_of_kind`.)"""
    words_wanted = "{title body}: (" + " ".join(f'"{word}"' for word in words) + ")"
    if not facets:
        return words_wanted
    wanted = " AND ".join("(" + " OR ".join(f'"{token}"' for token in group or [NOTHING]) + ")" for group in facets)
    return words_wanted + " AND facets: (" + wanted + ")"


def _of_kind(kind: str, since: int | None = None) -> str:
    """SQLite: the condition on an index row's key that it is a record of ``kind`` (papers' keys
    start at :data:`PAPER_KEYS`), dated on or after the day ``since`` if given. FTS5 seeks a key
    range in its lists; a token of the kind in the query was matched against the list of every
    record of the kind, and BM25 read that whole list again for the token's weight (at a million
    studies, most of a ranked search's time). A paper's is one bound: FTS5 seeks by one of two
    lower bounds, and read every paper's entries when it took the other."""
    if kind == "paper":
        return f"search_documents.rowid >= {_key_low(kind, since or 0)}"
    return f"search_documents.rowid < {PAPER_KEYS}" + ("" if since is None else f" AND search_documents.rowid >= {_key_low(kind, since)}")


def _postgres_match(words: list[str], kind: str, facets: Facets | None) -> tuple[str, dict[str, str]]:
    """A PostgreSQL condition on ``search_documents`` and its parameters: every word, one token of
    every facet group (``to_tsquery('simple', …)``, intersected in the GIN index with the words),
    and the kind, a column (its token would add the posting list of every record of the kind to
    every search: at a million studies, 15 ms on a search alone)."""
    parameters = {"match": " ".join(words), "kind": kind}
    condition = "document @@ plainto_tsquery('english', :match)"
    if facets:
        condition = "document @@ (plainto_tsquery('english', :match) && to_tsquery('simple', :facets))"
        parameters["facets"] = " & ".join("(" + " | ".join(group or [NOTHING]) + ")" for group in facets)
    # words that are all stop words match nothing
    return f"{condition} AND kind = :kind AND numnode(plainto_tsquery('english', :match)) > 0", parameters


def matching_ids(kind: str, query: str, dialect: str, facets: Facets | None = None) -> TextualSelect:
    """A ``SELECT record_id`` of the (not withdrawn) records of ``kind`` containing every word of
    ``query`` and holding the ``facets`` given, to use as a subquery (``table.c.id.in_(...)``)
    or run on its own; unordered, so the index answers it without ranking every match. A query
    with no words matches nothing."""
    words = query_words(query)
    if not words:
        return text("SELECT NULL AS record_id WHERE 1 = 0").columns(record_id=String)
    if dialect == "sqlite":
        statement = text(
            "SELECT search_keys.record_id FROM search_documents JOIN search_keys ON search_keys.id = search_documents.rowid"
            f" WHERE search_documents MATCH :match AND {_of_kind(kind)}"
        ).bindparams(match=_sqlite_match(words, facets))
    else:
        condition, parameters = _postgres_match(words, kind, facets)
        statement = text(f"SELECT record_id FROM search_documents WHERE {condition}").bindparams(**parameters)
    return statement.columns(record_id=String)


def _postgres_since(condition: str, parameters: dict[str, Any], since: int | None) -> tuple[str, dict[str, Any]]:
    """PostgreSQL: a search's condition narrowed to the records dated on or after the day ``since``."""
    return (condition, parameters) if since is None else (f"{condition} AND day >= :since", parameters | {"since": since})


@contextmanager
def _through_the_index(conn: Connection) -> Iterator[None]:
    """PostgreSQL: the search statements run within read their matches through the index's bitmap,
    with room for it to stay exact (:data:`SEARCH_WORK_MEM`, for the rest of the transaction),
    never by reading the table whole. For a word in a quarter of the studies or more the
    planner chose the table, testing every row's words: at 100,000 studies counting
    ``relapsing`` took 108 ms that way, 53–74 through the bitmap, and ``sclerosis`` (every study)
    91–98 against 45."""
    held = conn.exec_driver_sql("SELECT current_setting('enable_seqscan')").scalar_one()
    conn.exec_driver_sql(f"SET LOCAL work_mem = '{SEARCH_WORK_MEM}'")
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"SET LOCAL enable_seqscan = {held}")


def count_matches(conn: Connection, kind: str, query: str, facets: Facets | None = None, *, since: int | None = None) -> int:
    """How many records :func:`matching_ids` finds (dated on or after the day ``since``, if
    given), counted in the index alone (no match joined to its key, or to its study)."""
    words = query_words(query)
    if not words:
        return 0
    if conn.dialect.name == "sqlite":
        statement = text(f"SELECT count(*) FROM search_documents WHERE search_documents MATCH :match AND {_of_kind(kind, since)}")
        return conn.execute(statement, {"match": _sqlite_match(words, facets)}).scalar_one()
    condition, parameters = _postgres_since(*_postgres_match(words, kind, facets), since)
    with _through_the_index(conn):
        return conn.execute(text(f"SELECT count(*) FROM search_documents WHERE {condition}"), parameters).scalar_one()


@dataclass(frozen=True)
class RankWindow:
    """The matches a ranking by relevance reads when a search matches more than
    :data:`RANK_WINDOW`: the ``size`` dated on or after the day ``since`` (:func:`day_number`)."""

    since: int
    size: int


@dataclass(frozen=True)
class Ranked:
    """A page of a search in order of relevance: how many records match, the page's ids, and
    the window ranked when not every match was."""

    total: int
    ids: list[str]
    window: RankWindow | None


def ranked_matches(conn: Connection, kind: str, query: str, facets: Facets | None, limit: int, offset: int) -> Ranked:
    """The ids of the ``limit`` most relevant matches after the first ``offset`` (:func:`matching_ids`'
    ranked order; equal scores in the index's order on SQLite, by id on PostgreSQL), ranked and
    cut in the index before the page's matches are named; of a search matching more than
    :data:`RANK_WINDOW`, of its newest matches only. SQLite reads the window's first day from
    the index's keys and counts it there; PostgreSQL, which reads every match to count them,
    finds that day in the same pass and counts the window as it ranks it."""
    words = query_words(query)
    if not words:
        return Ranked(0, [], None)
    if conn.dialect.name == "sqlite":
        match, total = _sqlite_match(words, facets), count_matches(conn, kind, query, facets)
        since = None
        if total > RANK_WINDOW:
            low, high = _kind_keys(kind)
            start, found = _newest_range(conn, match, low, high, RANK_WINDOW)
            if found >= RANK_WINDOW:  # the window starts on the day of its RANK_WINDOW-th newest match
                since = key_day(_keys_from(conn, match, start, high, limit=1, skip=found - RANK_WINDOW)[0])
        statement = text(
            "SELECT search_keys.record_id FROM (SELECT rowid, rank FROM search_documents WHERE search_documents MATCH :match"
            f" AND {_of_kind(kind, since or None)} ORDER BY rank LIMIT :limit OFFSET :offset) AS page"
            " JOIN search_keys ON search_keys.id = page.rowid ORDER BY page.rank, page.rowid"
        )
        ids = list(conn.execute(statement, {"match": match, "limit": limit, "offset": offset}).scalars())
        return Ranked(total, ids, RankWindow(since, count_matches(conn, kind, query, facets, since=since)) if since else None)
    condition, parameters = _postgres_match(words, kind, facets)
    with _through_the_index(conn):
        total, since = conn.execute(
            text(f"SELECT count(*), (array_agg(day ORDER BY day DESC))[:last] FROM search_documents WHERE {condition}"),
            parameters | {"last": RANK_WINDOW},
        ).one()
        condition, parameters = _postgres_since(condition, parameters, since or None)
        rows = conn.execute(
            text(
                f"SELECT record_id, count(*) OVER () AS ranked FROM search_documents WHERE {condition}"
                " ORDER BY ts_rank(document, plainto_tsquery('english', :match)) DESC, record_id LIMIT :limit OFFSET :offset"
            ),
            parameters | {"limit": limit, "offset": offset},
        ).all()
    window = None
    if since:  # a page past the window's last names none of it: counted on its own
        window = RankWindow(since, rows[0].ranked if rows else count_matches(conn, kind, query, facets, since=since))
    return Ranked(total, [row.record_id for row in rows], window)


def newest_matches(
    conn: Connection, kind: str, query: str, facets: Facets | None, limit: int, *, offset: int = 0,
    after: tuple[str | None, str] | None = None,
) -> list[tuple[str, str | None]]:
    """The (id, date) of the newest records of ``kind`` matching (SQLite), in the lists' order
    (their date, :data:`DATED_BY`, then id, both descending; undated last): the ``limit`` after
    the first ``offset``, or after the cursor's (date, id) ``after``. Read from the index's highest
    keys (:data:`DAY_SHIFT`, :func:`_newest_keys`): the first ``offset + limit`` keys, the days
    before the last one's whole and that day's by id (a day's keys are in the order its records
    came), so the cost is the page's, not the matches'."""
    words = query_words(query)
    if not words:
        return []
    match = _sqlite_match(words, facets)
    wanted = offset + limit
    found: list[tuple[int, str]] = []  # (day, id), in the lists' order
    low, high = _kind_keys(kind)
    if after is not None:  # the rest of the cursor's day, then the days before it
        day = day_number(after[0])
        found += [(day, record_id) for record_id in _day_ids(conn, kind, match, day, wanted, below=after[1])]
        high = _key_low(kind, day)
    keys = _newest_keys(conn, match, low, high, limit=wanted - len(found)) if len(found) < wanted else []
    if keys:
        last = key_day(keys[-1])
        newer = [key for key in keys if key_day(key) > last]
        names = dict(
            conn.execute(
                text("SELECT id, record_id FROM search_keys WHERE id IN :keys").bindparams(bindparam("keys", expanding=True)), {"keys": newer}
            ).all()
        ) if newer else {}
        found += sorted(((key_day(key), names[key]) for key in newer), reverse=True)
        found += [(last, record_id) for record_id in _day_ids(conn, kind, match, last, wanted - len(found))]
    return [(record_id, day_text(day)) for day, record_id in found[offset:wanted]]


def _day_ids(conn: Connection, kind: str, match: str, day: int, limit: int, *, below: str | None = None) -> list[str]:
    """The ids of one day's matches of ``kind`` (below ``below``), highest first, at most ``limit``."""
    statement = text(
        "SELECT record_id FROM search_keys WHERE id IN (SELECT rowid FROM search_documents WHERE search_documents MATCH :match"
        " AND rowid >= :low AND rowid < :high)" + (" AND record_id < :below" if below is not None else "") + " ORDER BY record_id DESC LIMIT :limit"
    )
    parameters = {"match": match, "low": _key_low(kind, day), "high": _key_low(kind, day + 1), "limit": limit}
    return list(conn.execute(statement, parameters | ({"below": below} if below is not None else {})).scalars())


def _kind_keys(kind: str) -> tuple[int, int]:
    """SQLite: the range of the index's keys of ``kind`` (from, up to)."""
    return (_key_low(kind, 0), PAPER_KEYS) if kind == "study" else (PAPER_KEYS, 1 << 62)


def _newest_keys(conn: Connection, match: str, low: int, high: int, *, limit: int) -> list[int]:
    """The ``limit`` highest keys of the index's matches from ``low`` up to ``high``, highest
    first, read forwards (:func:`_newest_range`)."""
    start, found = _newest_range(conn, match, low, high, limit)
    return _keys_from(conn, match, start, high, limit=limit, skip=max(0, found - limit))[::-1]


def _keys_from(conn: Connection, match: str, start: int, high: int, *, limit: int, skip: int) -> list[int]:
    """Keys of the index's matches from ``start`` up to ``high``, lowest first, after the first ``skip``."""
    statement = "SELECT rowid FROM search_documents WHERE search_documents MATCH ? AND rowid >= ? AND rowid < ? ORDER BY rowid LIMIT ? OFFSET ?"
    return [key for (key,) in conn.exec_driver_sql(statement, (match, start, high, limit, skip))]


def _newest_range(conn: Connection, match: str, low: int, high: int, limit: int) -> tuple[int, int]:
    """Where a range of the index's keys holding the ``limit`` highest of its matches from ``low``
    up to ``high`` starts (``low`` if it holds fewer), and how many it holds. SQLite 3.40's FTS5
    (Debian 12's) reads a long list of matches backwards under an upper bound wrongly: at 100,000
    studies, ``sclerosis`` newest first found 1,131 of its 100,000 matches; at a million,
    ``multiple sclerosis`` began two years back. So the index is read forwards only: a lower
    bound is moved back from the highest key of the range held, its reach growing until the
    range holds ``limit`` matches (by four while it holds none, else by what it lacks, at most
    sixteen), then forward again by halves while it holds more than twice that (or than 20,000,
    which read at once cost about what halving further would). Each step counts a range's
    matches: the cost follows ``limit``, not the store."""
    top = conn.execute(text("SELECT max(id) FROM search_keys WHERE id >= :low AND id < :high"), {"low": low, "high": high}).scalar()
    if top is None or limit <= 0:
        return high, 0
    counted = text("SELECT count(*) FROM search_documents WHERE search_documents MATCH :match AND rowid >= :start AND rowid < :high")

    def held(start: int) -> int:
        return conn.execute(counted, {"match": match, "start": start, "high": high}).scalar_one()

    reach, fewer = 1 << DAY_SHIFT, top + 1  # ``fewer``: a start whose range holds fewer than ``limit``
    start = max(low, fewer - reach)
    found = held(start)
    while found < limit and start > low:
        fewer, reach = start, reach * (4 if not found else max(2, min(16, -(-limit // found))))
        start = max(low, top + 1 - reach)
        found = held(start)
    while found > max(2 * limit, 20_000) and fewer - start > 1:
        middle = (start + fewer) // 2
        if (inside := held(middle)) >= limit:
            start, found = middle, inside
        else:
            fewer = middle
    return start, found
