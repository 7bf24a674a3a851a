"""Plain SQL for the worker's hot path (claim, state, answer, done), run on the DBAPI cursor of the
session's own connection, so inside its transaction. For these one-row statements SQLAlchemy's
execution machinery cost several times the database's own work (bench/turn_cpu.py); everything else
uses Core or the ORM.

A statement is written once with :name parameters, as SQLite takes them; PostgreSQL's form is made
from it. Aware datetimes are stored as SQLAlchemy's UTCDateTime stores them (naive UTC; on SQLite
the same text), so Core and plain SQL read and compare each other's values.
"""
import re
from datetime import datetime

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from scheduling.store.models import UTCDateTime


class Sql:
    def __init__(self, text: str):
        self.sqlite = " ".join(text.split())
        self.postgresql = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", self.sqlite)


def execute(session: Session | Connection, sql: Sql, params: dict):
    """Run `sql` with `params` in the session's (or connection's) transaction; the cursor, to fetch from."""
    found, postgres = _cursor(session)
    found.execute(sql.postgresql if postgres else sql.sqlite, _stored(params, postgres))
    return found


def execute_many(session: Session | Connection, sql: Sql, rows: list[dict]) -> None:
    found, postgres = _cursor(session)
    found.executemany(sql.postgresql if postgres else sql.sqlite, [_stored(row, postgres) for row in rows])


def _cursor(session: Session | Connection):
    """A cursor of the connection (its transaction begun), and whether it is PostgreSQL's."""
    connection = session.connection() if isinstance(session, Session) else session
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None  # a connection in a transaction has one
    return dbapi.cursor(), connection.dialect.name == "postgresql"


def _stored(params: dict, postgres: bool) -> dict:
    """Aware datetimes as SQLAlchemy's UTCDateTime stores them: naive UTC, on SQLite as its text."""
    return {key: _stamp(value, postgres) if isinstance(value, datetime) else value for key, value in params.items()}


def _stamp(moment: datetime, postgres: bool) -> datetime | str:
    naive = _UTC.process_bind_param(moment, None)
    return naive if postgres else naive.isoformat(" ", "microseconds")   # SQLAlchemy's SQLite DATETIME text


_UTC = UTCDateTime()
