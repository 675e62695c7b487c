"""The delivery ledger: one row per delivery key, claimed before sending, marked after.

A claim is one conditional write: insert the row if absent, or take it over
when it failed and its retry time has come, or when another sender's lease
has expired. On SQLite every writing transaction starts with `BEGIN IMMEDIATE`,
so two processes on one file serialise their claims and never both win a key
(reads, through `reading()`, take no lock and see the last commit); on
PostgreSQL the same statements (`INSERT … ON CONFLICT DO NOTHING … RETURNING`, a
guarded `UPDATE`) are atomic per row, and a claim writes its rows in key order so
that two senders never deadlock. Both are tested (tests/test_ledger_backends.py).

A digest's messages are written to the outbox before the first is sent; each is
deleted, and the deliveries it completes marked sent, in one transaction when
the robot has taken it. A crash after a send and before its record can repeat
that one message (the same message, read back from the outbox) when the lease
runs out; nothing is lost.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from ..exceptions import ConfigError, Problem
from ..statedir import ensure_private_dir, private_file
from .schema import created_at, deliveries, migrate, outbox
from .upsert import insert_if_absent

_CHUNK = 400

#: why a failed delivery was skipped when its item was closed (the ledger's last_error)
CLOSED = "事项已办结或免除，不再发送 (done)"


@dataclass(frozen=True, slots=True)
class Entry:
    """What the ledger needs to know about a delivery before it exists."""

    key: str
    subject: str
    step: str
    channel: str
    unit: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Progress:
    """What a sweep needs of a delivery's row to decide whether to send it."""

    status: str
    attempts: int
    next_attempt_at: datetime | None
    lease_until: datetime | None


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    subject: str
    step: str
    channel: str
    unit: str
    due_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    last_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a digest (or a report) as written before it is sent."""

    id: str
    digest: str
    channel: str
    part: int
    parts: int
    day: str  # the local date its text speaks of ("还有 3 天"); "" when that never ages
    flavor: str
    unit: str
    title: str
    text: str
    keys: tuple[str, ...]  # the deliveries it carries
    completes: tuple[str, ...]  # those whose last message this is
    continues: tuple[str, ...]  # those begun in an earlier message of its digest
    created_at: datetime


_LISTS = ("keys", "completes", "continues")


def default_url(state_dir: Path) -> str:
    return f"sqlite:///{state_dir / 'ledger.sqlite3'}"


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class Ledger:
    """Open with `Ledger.open(url)`; all times are timezone-aware."""

    def __init__(
        self, engine: Engine, owner: str | None = None, now: datetime | None = None
    ) -> None:
        self.engine = engine
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.version = migrate(engine, now)

    @classmethod
    def open(cls, url: str, owner: str | None = None, now: datetime | None = None) -> Ledger:
        """Errors are ConfigErrors that never show the URL's password (nor the URL
        itself when it cannot be parsed)."""
        engine = _engine(url)
        if engine.dialect.name == "sqlite":
            _sqlite_setup(engine)
            database = engine.url.database
            if database and database != ":memory:":
                _private_sqlite_files(Path(database))
        try:
            return cls(engine, owner, now)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise _failed(engine, exc) from None

    @staticmethod
    def check_reachable(url: str, timeout: int = 5) -> None:
        """Connect to a database ledger and ask it `SELECT 1`, changing nothing (no
        migration): what `validate` checks for a PostgreSQL `ledger_url`. Errors as
        `open`'s, the password never shown."""
        engine = _engine(url, timeout)
        try:
            with engine.connect() as conn:
                conn.execute(select(1))
        except SQLAlchemyError as exc:
            raise _failed(engine, exc) from None
        finally:
            engine.dispose()

    def close(self) -> None:
        self.engine.dispose()

    def created_at(self) -> datetime:
        """When this ledger was made (`now` of the first `open`): tracking starts then."""
        with reading(self.engine) as conn:
            found = created_at(conn)
        assert found is not None, "a migrated ledger has a schema_version row"
        return found

    # -- claims ------------------------------------------------------------
    def claim(self, entries: Sequence[Entry], now: datetime, lease: timedelta) -> list[str]:
        """Claim the keys that are new, retryable now, or whose lease expired; return those won
        (in key order)."""
        until = now + lease
        retry_due = or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now)
        return self._insert_or_take(
            entries,
            now,
            "claimed",
            until,
            None,
            takeover=or_(and_(deliveries.c.status == "failed", retry_due), _lease_expired(now)),
            values={
                "status": "claimed",
                "lease_owner": self.owner,
                "lease_until": until,
                "attempts": deliveries.c.attempts + 1,
            },
        )

    def _insert_or_take(
        self,
        entries: Sequence[Entry],
        now: datetime,
        status: str,
        until: datetime | None,
        error: str | None,
        *,
        takeover: ColumnElement[bool],
        values: dict[str, Any],
    ) -> list[str]:
        """Insert each entry's row if absent, else update it where `takeover` holds; the keys
        written, in key order.

        Rows are written in key order: on PostgreSQL each write locks its row until the
        commit, and two senders locking the same keys in different orders would deadlock.
        """
        written: list[str] = []
        with self.engine.begin() as conn:
            for entry in sorted(entries, key=lambda entry: entry.key):
                if self._insert(conn, entry, status, now, until, error):
                    written.append(entry.key)
                    continue
                taken = conn.execute(
                    update(deliveries)
                    .where(deliveries.c.key == entry.key, takeover)
                    .values(updated_at=now, **values)
                )
                if taken.rowcount == 1:
                    written.append(entry.key)
        return written

    def _insert(
        self,
        conn: Connection,
        entry: Entry,
        status: str,
        now: datetime,
        until: datetime | None,
        error: str | None = None,
    ) -> bool:
        values = {
            "key": entry.key,
            "subject": entry.subject,
            "step": entry.step,
            "channel": entry.channel,
            "unit": entry.unit,
            "due_at": entry.due_at,
            "status": status,
            "attempts": 1 if status == "claimed" else 0,
            "lease_owner": self.owner if until else None,
            "lease_until": until,
            "last_error": error,
            "created_at": now,
            "updated_at": now,
        }
        return insert_if_absent(conn, deliveries, values)

    def renew(self, keys: Iterable[str], now: datetime, lease: timedelta) -> None:
        """Another attempt inside one run: count it and extend the lease."""
        self._update(
            keys,
            now,
            attempts=deliveries.c.attempts + 1,
            lease_until=now + lease,
        )

    def extend(self, keys: Iterable[str], now: datetime, lease: timedelta) -> None:
        """Still working on these (a long digest under a rate limit): keep the lease."""
        self._update(keys, now, lease_until=now + lease)

    # -- outcomes ----------------------------------------------------------
    def mark_sent(self, keys: Iterable[str], now: datetime) -> None:
        self._release(keys, now, status="sent", sent_at=now, next_attempt_at=None)

    def mark_failed(
        self,
        keys: Iterable[str],
        now: datetime,
        *,
        error: str,
        code: int | None,
        retry_at: datetime,
    ) -> None:
        self._release(
            keys,
            now,
            status="failed",
            last_error=_no_nul(error),
            last_code=_int32(code),
            next_attempt_at=retry_at,
        )

    def mark_dead(
        self, keys: Iterable[str], now: datetime, *, error: str, code: int | None
    ) -> None:
        self._release(
            keys,
            now,
            status="dead",
            last_error=_no_nul(error),
            last_code=_int32(code),
            next_attempt_at=None,
        )

    def record_skipped(self, entries: Sequence[Entry], now: datetime, reason: str) -> list[str]:
        """Record as skipped (too old, superseded), also over a failed row or an abandoned
        claim; return the keys written."""
        reason = _no_nul(reason) or ""
        return self._insert_or_take(
            entries,
            now,
            "skipped",
            None,
            reason,
            takeover=or_(deliveries.c.status == "failed", _lease_expired(now)),
            values={"status": "skipped", "last_error": reason},
        )

    def skip_done(self, subjects: Iterable[str], now: datetime) -> int:
        """Failed deliveries of occurrences now closed (done or waived): skipped, not retried."""
        changed = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(list(subjects)):
                result = conn.execute(
                    update(deliveries)
                    .where(deliveries.c.subject.in_(chunk), deliveries.c.status == "failed")
                    .values(status="skipped", last_error=CLOSED, updated_at=now)
                )
                changed += result.rowcount
        return changed

    def _release(self, keys: Iterable[str], now: datetime, **values: Any) -> None:
        """An outcome for rows this sender holds: the lease ends."""
        self._update(keys, now, lease_until=None, **values)

    def _update(self, keys: Iterable[str], now: datetime, **values: Any) -> None:
        """Update the rows this sender holds (a late write never clobbers a new owner).

        No keys, no transaction: on SQLite an empty one would still take the write lock."""
        keys = list(keys)
        if not keys:
            return
        with self.engine.begin() as conn:
            self._update_held(conn, keys, now, **values)

    def _update_held(
        self, conn: Connection, keys: Sequence[str], now: datetime, **values: Any
    ) -> None:
        for chunk in _chunks(keys):
            conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.key.in_(chunk),
                    deliveries.c.lease_owner == self.owner,
                    deliveries.c.status == "claimed",
                )
                .values(updated_at=now, **values)
            )

    # -- the outbox ----------------------------------------------------------
    def store_messages(self, messages: Sequence[Message]) -> None:
        """Write a digest's messages before the first is sent (one transaction)."""
        if not messages:
            return
        rows = []
        for message in messages:
            row = {name: getattr(message, name) for name in message.__slots__}
            for name in _LISTS:
                row[name] = json.dumps(row[name], ensure_ascii=False)
            rows.append(row)
        with self.engine.begin() as conn:
            conn.execute(outbox.insert(), rows)

    def messages(self, channel: str) -> list[Message]:
        """The messages written for `channel` and not yet taken by its robot, in order."""
        query = (
            select(outbox)
            .where(outbox.c.channel == channel)
            .order_by(outbox.c.created_at, outbox.c.digest, outbox.c.part)
        )
        with reading(self.engine) as conn:
            found = []
            for record in conn.execute(query):
                values = dict(record._mapping)
                for name in _LISTS:
                    values[name] = tuple(json.loads(values[name]))
                found.append(Message(**values))
            return found

    def message_sent(self, message_id: str, completes: Sequence[str], now: datetime) -> None:
        """The robot took this message: it leaves the outbox and the deliveries it
        completes are sent, together (a crash leaves both or neither)."""
        with self.engine.begin() as conn:
            conn.execute(delete(outbox).where(outbox.c.id == message_id))
            self._update_held(
                conn,
                list(completes),
                now,
                status="sent",
                sent_at=now,
                next_attempt_at=None,
                lease_until=None,
            )

    def drop_messages(self, ids: Iterable[str]) -> None:
        """Messages that will not be sent as written (dead, or to be written afresh)."""
        ids = list(ids)
        if not ids:
            return
        with self.engine.begin() as conn:
            for chunk in _chunks(ids):
                conn.execute(delete(outbox).where(outbox.c.id.in_(chunk)))

    # -- reading -----------------------------------------------------------
    def statuses(self, keys: Sequence[str]) -> dict[str, Row]:
        found: dict[str, Row] = {}
        with reading(self.engine) as conn:
            for chunk in _chunks(list(keys)):
                for record in conn.execute(select(deliveries).where(deliveries.c.key.in_(chunk))):
                    row = Row(**record._mapping)
                    found[row.key] = row
        return found

    def progress(self, keys: Sequence[str]) -> dict[str, Progress]:
        """`statuses`, reduced to what a sweep decides on: a quarter's end with 2,000
        schools asks for 116,000 keys, nearly all of them sent long ago."""
        c = deliveries.c
        columns = (c.key, c.status, c.attempts, c.next_attempt_at, c.lease_until)
        found: dict[str, Progress] = {}
        with reading(self.engine) as conn:
            for chunk in _chunks(list(keys)):
                for key, *rest in conn.execute(select(*columns).where(c.key.in_(chunk))):
                    found[key] = Progress(*rest)
        return found

    def rows(
        self,
        status: str | None = None,
        channel: str | None = None,
        limit: int | None = None,
        step: str | None = None,
    ) -> list[Row]:
        query = select(deliveries).order_by(deliveries.c.due_at, deliveries.c.key)
        if status is not None:
            query = query.where(deliveries.c.status == status)
        if channel is not None:
            query = query.where(deliveries.c.channel == channel)
        if step is not None:
            query = query.where(deliveries.c.step == step)
        if limit is not None:
            query = query.limit(limit)
        with reading(self.engine) as conn:
            return [Row(**record._mapping) for record in conn.execute(query)]

    def summary(self) -> dict[str, dict[str, int]]:
        """{channel: {status: count}}."""
        query = select(deliveries.c.channel, deliveries.c.status, func.count()).group_by(
            deliveries.c.channel, deliveries.c.status
        )
        out: dict[str, dict[str, int]] = {}
        with reading(self.engine) as conn:
            for channel, status, count in conn.execute(query):
                out.setdefault(channel, {})[status] = count
        return out

    def next_retry_at(self, after: datetime | None = None) -> datetime | None:
        """The earliest time a failed delivery may be tried again or a lease runs out
        (only times later than `after`, when given: what is already due was just tried)."""
        retry_query = select(func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.status == "failed"
        )
        lease_query = select(func.min(deliveries.c.lease_until)).where(
            deliveries.c.status == "claimed"
        )
        if after is not None:
            retry_query = retry_query.where(deliveries.c.next_attempt_at > after)
            lease_query = lease_query.where(deliveries.c.lease_until > after)
        with reading(self.engine) as conn:
            retry = conn.execute(retry_query).scalar()
            lease = conn.execute(lease_query).scalar()
        times: list[datetime] = [t for t in (retry, lease) if t is not None]
        return min(times) if times else None


def _open_error(reason: str, where: str | None = None) -> ConfigError:
    at = f" {where}" if where else ""
    return ConfigError([Problem(f"打不开台账 (ledger){at}：{reason}", field="delivery.ledger_url")])


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's own words on one line, without SQLAlchemy's SQL and help link."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return f"{type(cause).__name__}: {'; '.join(lines)}"[:500]


def _redacted(text: str, password: str | None) -> str:
    """`text` without the password, as written or as URL-encoded."""
    if not password:
        return text
    for form in {password, quote(password, safe=""), quote_plus(password, safe="")}:
        text = text.replace(form, "***")
    return text


def _no_nul(text: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters (SQLite can): dropped on both."""
    return None if text is None else text.replace("\x00", "")


def _int32(code: int | None) -> int | None:
    """A robot's code as the INTEGER column holds it; an outlandish one (it is also in
    the error text) is left out rather than refused by PostgreSQL."""
    return code if code is not None and -(2**31) <= code < 2**31 else None


def _lease_expired(now: datetime) -> ColumnElement[bool]:
    """A claim whose sender stopped renewing it (crashed or stuck): free to take over."""
    return and_(deliveries.c.status == "claimed", deliveries.c.lease_until < now)


def _engine(url: str, timeout: int | None = None) -> Engine:
    """The engine for `url` (PostgreSQL connections given up after `timeout` seconds);
    a URL that cannot be used is a ConfigError that does not show it."""
    try:
        postgres = timeout is not None and make_url(url).get_backend_name() == "postgresql"
        return create_engine(url, connect_args={"connect_timeout": timeout} if postgres else {})
    except NoSuchModuleError as exc:
        raise _open_error(str(exc)) from None
    except ImportError as exc:
        raise _open_error(f"its database driver is not installed ({exc})") from None
    except (SQLAlchemyError, ValueError, TypeError) as exc:
        raise _open_error(type(exc).__name__) from None


def _failed(engine: Engine, exc: SQLAlchemyError) -> ConfigError:
    """The database's refusal, naming where (the password never shown)."""
    where = engine.url.render_as_string(hide_password=True)
    return _open_error(_redacted(_reason(exc), engine.url.password), where)


def _private_sqlite_files(database: Path) -> None:
    """The ledger holds names, notes and history: its file is made 0600 before SQLite
    opens it (SQLite gives the -wal, -shm and -journal files it creates the
    database's mode), and any of them left readable by others is made 0600."""
    ensure_private_dir(database.parent)
    private_file(database)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = database.with_name(database.name + suffix)
        if companion.exists():
            private_file(companion)


def _sqlite_setup(engine: Engine) -> None:
    """WAL, a busy timeout, and BEGIN IMMEDIATE so concurrent writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        if engine.url.database not in (None, "", ":memory:"):
            _wal(cursor)
            # WAL + NORMAL: no fsync per commit; a power cut may undo the last commits
            # (a reminder then repeats), never corrupts the file.
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _wal(cursor: Any) -> None:
    """Switch the file to WAL. Processes opening a new file at once (a service and
    `reminders done` on a fresh state directory) race for the switch, and SQLite
    answers the losers "database is locked" at once, busy timeout or not."""
    for attempt in range(50):
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.01 * (attempt + 1))


_READ_ONLY = "reminders_read_only"


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only: on SQLite it does not wait for writers (WAL
    gives it the last committed state), where `engine.begin()` queues behind them."""
    with engine.connect() as conn:
        conn.execution_options(**{_READ_ONLY: True})
        yield conn
