"""Writing many rows at the database's speed, in the caller's transaction.

SQLAlchemy's per-row parameter handling, psycopg's per-value adaptation, and PostgreSQL
statements with thousands of parameters each cost more than the database does for a bulk
load; these helpers skip all three. On PostgreSQL rows travel by ``COPY`` (into the table, or
into a temporary staging table that one set-based statement merges); on SQLite by one
prepared statement run over them all.
"""

from __future__ import annotations

import json
import zlib
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Row, Table, any_, func, literal, select
from sqlalchemy.dialects import postgresql


def _copy_text(value: str) -> str:
    """A string in COPY's text format: backslash, newline, carriage return and tab escaped;
    PostgreSQL text cannot hold NUL, written as U+FFFD as every string the store sends (see
    ``store._postgresql_text``). Five scans by ``str.replace`` cost a tenth of one
    ``str.translate`` over text that is not all ASCII, which most records' text is not."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t").replace("\x00", "\ufffd")


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _copy_text(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _tuples(names: list[str], rows: list[dict[str, Any]]) -> list[tuple]:
    """Each row's values in ``names`` order."""
    pick = itemgetter(*names)
    return [pick(row) for row in rows] if len(names) > 1 else [(row[names[0]],) for row in rows]


def _copy(conn: Connection, target: str, names: list[str], rows: list[dict[str, Any]]) -> None:
    """``COPY target (names) FROM STDIN`` in text format, the lines built in one pass."""
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(name) for name in names)
    lines = "".join("\t".join(map(_copy_value, values)) + "\n" for values in _tuples(names, rows))
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
    conn.exec_driver_sql(f"INSERT INTO {target} ({quoted}) VALUES ({', '.join('?' for _ in names)})", _tuples(names, rows))


def insert_new(conn: Connection, table: Table, rows: list[dict[str, Any]], unique: list[str], returning: list[str]) -> list[Row]:
    """Insert the rows (in their order) but those a stored row already matches on the ``unique``
    columns, and return the ``returning`` columns of the rows inserted; a row another writer
    stored meanwhile is skipped, not an error. The rows go by :func:`bulk_insert` into a
    temporary staging table, which one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` empties
    into the table in order (PostgreSQL drops the staging table at commit)."""
    if not rows:
        return []
    names = list(rows[0])
    stage, columns = f"{table.name}_staged", ", ".join(names)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "
            f"SELECT 0 AS position, {columns} FROM {table.name} WITH NO DATA"
        )
        moved = f"WITH staged AS (DELETE FROM {stage} RETURNING *) "
        source = "staged"
    else:
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS SELECT 0 AS position, {columns} FROM {table.name} WHERE 0")
        moved, source = "", stage
    bulk_insert(conn, stage, [{"position": i, **row} for i, row in enumerate(rows)])
    inserted = list(
        conn.exec_driver_sql(
            f"{moved}INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {source} WHERE true ORDER BY position "
            f"ON CONFLICT ({', '.join(unique)}) DO NOTHING RETURNING {', '.join(returning)}"
        )
    )
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql(f"DELETE FROM {stage}")
    return inserted


def update_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Set each row's columns (each with the first row's keys) on the stored row with its ``id``:
    on SQLite one prepared ``UPDATE`` run over them all; on PostgreSQL one ``UPDATE … FROM`` a
    temporary staging table the rows are copied into (dropped at commit)."""
    if not rows:
        return
    names = list(rows[0])
    assigned = [name for name in names if name != "id"]
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql(
            f"UPDATE {table.name} SET {', '.join(f'{name} = ?' for name in assigned)} WHERE id = ?",
            _tuples([*assigned, "id"], rows),
        )
        return
    stage = f"{table.name}_update_{zlib.crc32(' '.join(names).encode()):08x}"
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS SELECT {', '.join(names)} FROM {table.name} WITH NO DATA"
    )
    _copy(conn, stage, names, rows)
    conn.exec_driver_sql(
        f"WITH staged AS (DELETE FROM {stage} RETURNING *) UPDATE {table.name} AS target "
        f"SET {', '.join(f'{name} = staged.{name}' for name in assigned)} FROM staged WHERE target.id = staged.id"
    )


def among(conn: Connection, column, values: list[Any]):
    """``column IN values`` for a batch of values as one parameter: a PostgreSQL array
    (``= ANY``), a JSON array on SQLite (``IN (SELECT value FROM json_each(…))``). An expanded
    ``IN`` list is a statement of thousands of parameters for SQLAlchemy and the driver to
    build and the database to parse, per batch."""
    if conn.dialect.name == "postgresql":
        return column == any_(literal(values, postgresql.ARRAY(column.type)))
    return column.in_(select(func.json_each(json.dumps(values)).table_valued("value").c.value))
