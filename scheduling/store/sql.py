"""Small helpers for SQL that differs between SQLite and PostgreSQL."""
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_duplicates(session: Session, table, rows: list[dict], key: str | None) -> int:
    """Insert rows, skipping any whose unique `key` exists already (any unique constraint when key is
    None); returns how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (insert(table).values(rows).on_conflict_do_nothing(index_elements=[key] if key else None)
                 .returning(table.c[key] if key else table.c.id))  # psycopg reports no rowcount here
    return len(session.execute(statement).all())
