"""Small helpers for SQL that differs between SQLite and PostgreSQL."""
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

Model = TypeVar("Model")
_INSERTS: dict[tuple, Executable] = {}


def insert_ignoring_duplicates(session: Session | Connection, table, rows: list[dict], key: str | None) -> int:
    """Insert rows, skipping any whose unique `key` exists already (any unique constraint when key is
    None); returns how many were new.

    One statement per table, key and set of columns, run with the rows as parameters (executemany;
    SQLAlchemy sends them as multi-row VALUES in batches): unlike `.values(rows)`, whose SQL is new for
    each number of rows and never found in the compiled cache, it is compiled once."""
    if not rows:
        return 0
    if isinstance(session, Connection):
        connection = session
    else:
        session.flush()  # as session.execute would (nothing to do when no object is pending)
        connection = session.connection()
    dialect = connection.dialect.name
    columns = tuple(rows[0])
    if any(tuple(row) != columns for row in rows):  # rows of different shapes: one group per shape
        groups: dict[tuple, list[dict]] = {}
        for row in rows:
            groups.setdefault(tuple(row), []).append(row)
        return sum(insert_ignoring_duplicates(session, table, group, key) for group in groups.values())
    cache_key = (dialect, table.name, key, columns)
    statement = _INSERTS.get(cache_key)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (insert(table).on_conflict_do_nothing(index_elements=[key] if key else None)
                     .returning(table.c[key] if key else table.c.id))  # psycopg reports no rowcount here
        _INSERTS[cache_key] = statement
    return len(connection.execute(statement, rows).all())


def run(session: Session, statement: Executable, params: dict | None = None) -> CursorResult:
    """A prebuilt Core statement on the session's connection, after its pending changes are flushed (as
    session.execute would do): without the ORM's setup of each statement, for the chat's hot paths."""
    session.flush()
    return session.connection().execute(statement, params or {})


def one_of(column, values) -> ColumnElement[bool]:
    """`column IN (values)` for a prebuilt statement on a hot path, with a bound parameter of its own for
    each value: `column.in_(values)` is an "expanding" parameter, which SQLAlchemy writes into the SQL
    anew on every execution (about 40 µs a statement)."""
    return column.in_([literal(value, column.type) for value in values])


def affected(session: Session, statement: Executable) -> int:
    """How many rows an UPDATE or DELETE changed."""
    return cast(CursorResult, session.execute(statement)).rowcount


def existing(session: Session, model: type[Model], key: Any) -> Model:
    """The row of `model` with primary key `key`, which must be there: LookupError when it is not."""
    row = session.get(model, key)
    if row is None:
        raise LookupError(f"{model.__name__} {key!r}")
    return row
