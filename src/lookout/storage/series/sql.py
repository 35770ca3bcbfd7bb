"""SQL for the series modules: per-dialect INSERTs, statements compiled once as driver SQL,
whether bulk writes may use COPY, and IN lists cut to a size every dialect accepts."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lookout.errors import StorageError

_T = TypeVar("_T")

CHUNK = 300  # keys or ids per IN list: stays below SQLite's 999 bound parameters

_DRIVER_SQL: dict[tuple[str, str], str] = {}  # (dialect, statement) → compiled driver SQL


def dialect_insert(conn: sa.Connection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT supporting ON CONFLICT for the connection's dialect."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise StorageError(f"metric series need SQLite or PostgreSQL, not {dialect!r}")


def driver_sql(
    conn: sa.Connection,
    name: str,
    build: Callable[[sa.Connection], tuple[sa.Insert, tuple[str, ...]]],
) -> str:
    """A statement compiled once per dialect as driver SQL with positional parameters.

    Points are many: executing the compiled text with plain tuples costs a fraction of
    ``conn.execute(statement, rows)``, which builds and processes parameters row by row.
    """
    key = (conn.dialect.name, name)
    sql = _DRIVER_SQL.get(key)
    if sql is None:
        statement, columns = build(conn)
        dialect = conn.dialect
        if not dialect.positional:  # psycopg's default is named: "%(name)s"
            dialect_class: Any = type(dialect)
            dialect = dialect_class(paramstyle="format")
        compiled = statement.compile(dialect=dialect)
        if tuple(compiled.positiontup or ()) != columns:
            raise StorageError(f"unexpected parameter order in {compiled}")
        sql = _DRIVER_SQL[key] = str(compiled)
    return sql


def copies(conn: sa.Connection) -> bool:
    """Whether bulk writes may use COPY: PostgreSQL through psycopg."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]
