"""The ledger's tables and their versioned migrations.

`schema_version` holds one row per applied migration. `migrate` applies the
missing ones in order, each in its own transaction (on PostgreSQL under an
advisory lock, so processes opening an empty database together apply each once),
so an old ledger is brought up to date on open and a newer one is refused (never
downgraded).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import Dialect

from ..exceptions import ConfigError, Problem


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the database keeps."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("ledger times must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("key", String(512), primary_key=True, comment="occurrence id + step + channel"),
    Column("subject", String(400), nullable=False),
    Column("step", String(40), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("unit", String(200), nullable=False),
    Column("due_at", UTCDateTime, nullable=False, comment="the reminder instant"),
    Column("status", String(16), nullable=False, comment="claimed/sent/failed/dead/skipped"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("lease_owner", String(100)),
    Column("lease_until", UTCDateTime),
    Column("last_code", Integer),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    Index("ix_deliveries_channel_status", "channel", "status"),
    Index("ix_deliveries_due_at", "due_at"),
)

STATUSES = ("claimed", "sent", "failed", "dead", "skipped")

# -- version 2: the closed loop (闭环) -------------------------------------------

occurrence_states = Table(
    "occurrence_states",
    metadata,
    Column("occurrence_id", String(400), primary_key=True),
    Column("unit", String(200), nullable=False),
    Column("state", String(16), nullable=False, comment="open/done/waived"),
    Column("actor", String(200)),
    Column("note", Text),
    Column("evidence", Text, comment="a link to proof of the work (optional)"),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("revision", Integer, nullable=False, default=0),
    Index("ix_occurrence_states_unit_state", "unit", "state"),
)

occurrence_history = Table(
    "occurrence_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("occurrence_id", String(400), nullable=False),
    Column("unit", String(200), nullable=False),
    Column("action", String(16), nullable=False, comment="done/undo/waive"),
    Column("state_before", String(16), nullable=False),
    Column("state_after", String(16), nullable=False),
    Column("actor", String(200)),
    Column("note", Text),
    Column("evidence", Text),
    Column("via", String(20), nullable=False, comment="cli/link/api"),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_occurrence_history_occurrence", "occurrence_id", "id"),
)


def _v1(conn: Connection) -> None:
    """Version 1: the deliveries table and its indexes as defined above.

    Later versions must not edit the table definition in place for old files;
    each adds its own migration (ALTER TABLE / CREATE INDEX) here.
    """
    deliveries.create(conn)


def _v2(conn: Connection) -> None:
    """Version 2: occurrence states (open/done/waived) and their history."""
    occurrence_states.create(conn)
    occurrence_history.create(conn)


# Columns holding names from the config (units, channels) and the ids built from them.
_UNBOUNDED = {
    "deliveries": ("key", "subject", "channel", "unit"),
    "occurrence_states": ("occurrence_id", "unit"),
    "occurrence_history": ("occurrence_id", "unit"),
}


def _v3(conn: Connection) -> None:
    """Version 3: names of any length. SQLite never enforced the VARCHAR lengths above;
    PostgreSQL refused a unit name over 200 characters. Nothing to do on SQLite."""
    if conn.dialect.name != "postgresql":
        return
    for table, columns in _UNBOUNDED.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE TEXT" for column in columns)
        conn.exec_driver_sql(f"ALTER TABLE {table} {changes}")


# -- version 4: messages written before they are sent (the unit of "sent") ------------

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(80), primary_key=True, comment="<digest>/<part>"),
    Column("digest", String(64), nullable=False, comment="the render it belongs to"),
    Column("channel", Text, nullable=False),
    Column("part", Integer, nullable=False),
    Column("parts", Integer, nullable=False),
    Column("day", String(10), nullable=False, comment="local date its text speaks of; '' ageless"),
    Column("flavor", String(16), nullable=False),
    Column("unit", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("keys", Text, nullable=False, comment="JSON: the delivery keys it carries"),
    Column("completes", Text, nullable=False, comment="JSON: keys whose last message it is"),
    Column("continues", Text, nullable=False, comment="JSON: keys begun in an earlier part"),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_outbox_channel", "channel", "created_at"),
)


# -- version 5: the web console (督办看板): accounts, one-time login links, evidence files --

console_users = Table(
    "console_users",
    metadata,
    Column("name", Text, primary_key=True),
    Column("role", String(16), nullable=False, comment="bureau/unit"),
    Column("units", Text, nullable=False, comment="JSON list of the units a unit account sees"),
    Column("password_hash", Text, comment="argon2; null: login links only"),
    Column("epoch", Integer, nullable=False, comment="bumped on passwd/remove: ends sessions"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

console_login_links = Table(
    "console_login_links",
    metadata,
    Column("digest", String(64), primary_key=True, comment="SHA-256 of the link's nonce"),
    Column("user_name", Text, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
)

console_evidence = Table(
    "console_evidence",
    metadata,
    Column("id", String(32), primary_key=True, comment="random; also the stored file's name"),
    Column("occurrence_id", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("filename", Text, nullable=False, comment="as uploaded, for display only"),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploaded_by", Text, nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
    Index("ix_console_evidence_occurrence", "occurrence_id"),
    Index("ix_console_evidence_unit", "unit"),
)


def _v4(conn: Connection) -> None:
    """Version 4: the outbox. Each message of a digest is written before it is sent and
    deleted when the robot has taken it, so a crash repeats only what was on the wire."""
    outbox.create(conn)


def _v5(conn: Connection) -> None:
    """Version 5: the console's accounts, login links and uploaded evidence."""
    console_users.create(conn)
    console_login_links.create(conn)
    console_evidence.create(conn)


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "deliveries table with status, attempts, lease and last error", _v1),
    (2, "occurrence states and history (closed loop)", _v2),
    (3, "names of any length (text columns on PostgreSQL)", _v3),
    (4, "outbox: each message written before it is sent", _v4),
    (5, "console accounts, login links and evidence files", _v5),
]

LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    found = conn.execute(select(schema_version.c.version)).scalars().all()
    return max(found, default=0)


def created_at(conn: Connection) -> datetime | None:
    """When the ledger was made: the time its first migration was applied."""
    if not inspect(conn).has_table("schema_version"):
        return None
    found: datetime | None = conn.execute(select(func.min(schema_version.c.applied_at))).scalar()
    return found


def _one_at_a_time(conn: Connection) -> None:
    """Hold the database's migration lock until this transaction ends.

    SQLite's writers already queue (`BEGIN IMMEDIATE`). On PostgreSQL, services
    starting together on an empty database would otherwise all see version 0 and
    all create the same tables; there DDL is transactional, so the lock makes each
    check-then-create step atomic.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))


_MIGRATION_LOCK = 0x72656D696E646572  # "reminder": any constant shared by every process


def migrate(engine: Engine, now: datetime | None = None) -> int:
    """Apply the missing migrations; return the schema version now in force.

    `now` stamps the migrations applied (the caller's clock: a service started with
    `--now` makes its ledger then); the first one's time is when the ledger was made."""
    with engine.begin() as conn:
        _one_at_a_time(conn)
        if not inspect(conn).has_table("schema_version"):
            schema_version.create(conn)
    for version, description, apply in MIGRATIONS:
        with engine.begin() as conn:
            _one_at_a_time(conn)
            have = current_version(conn)
            if have > LATEST:
                raise ConfigError(
                    [
                        Problem(
                            f"台账的结构版本为 {have}，比本程序的 {LATEST} 新：请升级 reminders",
                            field="delivery.ledger_url",
                        )
                    ]
                )
            if have >= version:
                continue
            apply(conn)
            conn.execute(
                insert(schema_version).values(
                    version=version, description=description, applied_at=now or datetime.now(UTC)
                )
            )
    with engine.connect() as conn:
        return current_version(conn)
