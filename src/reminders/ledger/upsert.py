"""Insert a row unless its key exists, on any SQLAlchemy database.

SQLite and PostgreSQL say so in the statement (ON CONFLICT DO NOTHING); other
databases try the insert inside a savepoint. A dialect's module is imported
only when its database is in use.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.exc import IntegrityError


def insert_if_absent(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """True when the row was inserted, False when one with its key was there."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(table).values(values).on_conflict_do_nothing()
        return conn.execute(lite).rowcount == 1
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        # RETURNING, not rowcount: SQLAlchemy closes an INSERT's cursor before
        # psycopg's rowcount is read, which then says -1 whether a row went in or not.
        pg = (
            postgresql_insert(table)
            .values(values)
            .on_conflict_do_nothing()
            .returning(*table.primary_key.columns)
        )
        return conn.execute(pg).first() is not None
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(values))
    except IntegrityError:
        return False
    return True
