"""Writing many rows at the database's speed, in the caller's transaction.

SQLAlchemy's per-row parameter handling, psycopg's per-value adaptation, and PostgreSQL
statements with thousands of parameters each cost more than the database does for a bulk
load; these helpers skip all three. On PostgreSQL rows travel by ``COPY`` (into the table, or
into a temporary staging table that one set-based statement merges); on SQLite by one
prepared statement run over them all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Table, any_, literal
from sqlalchemy.dialects import postgresql

from curemap.store.schema import upsert

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\x00": "\ufffd"})
"""COPY's text format escapes; PostgreSQL text cannot hold NUL, written as U+FFFD as every
string the store sends (see ``store._postgresql_text``)."""


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _copy(conn: Connection, target: str, names: list[str], rows: list[dict[str, Any]]) -> None:
    """``COPY target (names) FROM STDIN`` in text format, the lines built in one pass."""
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(name) for name in names)
    lines = "".join("\t".join([_copy_value(row[name]) for name in names]) + "\n" for row in rows)
    with conn.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {target} ({quoted}) FROM STDIN") as copy:
            copy.write(lines.encode("utf-8"))


def bulk_insert(conn: Connection, table: Table | str, rows: list[dict[str, Any]]) -> None:
    """Insert many rows (each with the first row's keys) in the caller's transaction:
    PostgreSQL ``COPY``, SQLite one prepared statement run over them all."""
    if not rows:
        return
    target = table if isinstance(table, str) else table.name
    names = list(rows[0])
    if conn.dialect.name == "postgresql":
        _copy(conn, target, names, rows)
        return
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(name) for name in names)
    conn.exec_driver_sql(
        f"INSERT INTO {target} ({quoted}) VALUES ({', '.join('?' for _ in names)})",
        [tuple(row[name] for name in names) for row in rows],
    )


def insert_new(conn: Connection, table: Table, rows: list[dict[str, Any]], unique: list[str], returning: list[str]) -> list[Row]:
    """Insert the rows (in their order) but those a stored row already matches on the ``unique``
    columns, and return the ``returning`` columns of the rows inserted. A row another writer
    stored meanwhile is skipped, not an error. On PostgreSQL the rows are copied into a
    temporary staging table (dropped at commit) that one ``INSERT … SELECT … ON CONFLICT DO
    NOTHING`` empties into the table, in order."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        statement = upsert(conn, table).on_conflict_do_nothing(index_elements=unique).returning(*(table.c[c] for c in returning))
        return list(conn.execute(statement, rows))
    names = list(rows[0])
    stage = f"{table.name}_staged"
    columns = ", ".join(names)
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS SELECT 0 AS position, {columns} FROM {table.name} WITH NO DATA"
    )
    _copy(conn, stage, ["position", *names], [{"position": i, **row} for i, row in enumerate(rows)])
    return list(
        conn.exec_driver_sql(
            f"WITH staged AS (DELETE FROM {stage} RETURNING *) INSERT INTO {table.name} ({columns}) "
            f"SELECT {columns} FROM staged ORDER BY position ON CONFLICT ({', '.join(unique)}) DO NOTHING "
            f"RETURNING {', '.join(returning)}"
        )
    )


def among(conn: Connection, column, values: list[Any]):
    """``column IN values`` for a batch of values: on PostgreSQL one array parameter
    (``= ANY``), which the driver sends as it is, where an expanded ``IN`` list is a statement
    of thousands of parameters for SQLAlchemy and psycopg to build and PostgreSQL to parse."""
    if conn.dialect.name == "postgresql":
        return column == any_(literal(values, postgresql.ARRAY(column.type)))
    return column.in_(values)
