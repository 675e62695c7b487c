"""What the feeds looked like before: per event, its content hash, SEQUENCE and
the time its content last changed; per feed, its ETag and last change.

This is what makes output both byte-stable and truthful: SEQUENCE and DTSTAMP
move only when an event's content does, and Last-Modified only when a feed's
bytes do.

Every event belongs to one feed (a unit's events to its feed, a group's summary
events to the group's), so the history is kept per feed and read when that
feed is rendered: a service with 2,000 schools holds one feed's history at a
time, not 100,000 events'. On disk it is an SQLite file in the state directory,
`feeds/history.sqlite3`; the single JSON file of earlier versions
(`feeds/history.json`) is moved into it on first use.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ..core.occurrence import unit_of_id
from ..exceptions import ConfigError, Problem
from ..statedir import ensure_private_dir, private_file, read_private
from .specs import slug_for

log = logging.getLogger("reminders.feeds")

HISTORY_FILE = Path("feeds") / "history.sqlite3"
LEGACY_FILE = Path("feeds") / "history.json"  # version 1: one JSON file for every feed
_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    feed TEXT NOT NULL, uid TEXT NOT NULL, digest TEXT NOT NULL, sequence INTEGER NOT NULL,
    changed TEXT NOT NULL, due TEXT NOT NULL, PRIMARY KEY (feed, uid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feeds (
    feed TEXT PRIMARY KEY, etag TEXT NOT NULL, changed TEXT NOT NULL
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Stamp:
    digest: str
    sequence: int
    changed: datetime
    due: date

    @classmethod
    def parse(cls, digest: Any, sequence: Any, changed: str, due: str) -> Stamp:
        """A stamp as stored (JSON or SQLite): times and dates in ISO form."""
        return cls(
            str(digest), int(sequence), datetime.fromisoformat(changed), date.fromisoformat(due)
        )


@dataclass(frozen=True, slots=True)
class FeedStamp:
    etag: str
    changed: datetime

    @classmethod
    def parse(cls, etag: Any, changed: str) -> FeedStamp:
        return cls(str(etag), datetime.fromisoformat(changed))


def _second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


class FeedHistory:
    """One feed's history: its events' stamps and its own."""

    def __init__(self) -> None:
        self.events: dict[str, Stamp] = {}
        self.stamp_of_feed: FeedStamp | None = None
        self.dirty = False

    def stamp(self, uid: str, digest: str, due: date, now: datetime) -> Stamp:
        """The stamp of an event with this content; a new or changed content is stamped `now`."""
        old = self.events.get(uid)
        if old is not None and old.digest == digest:
            if old.due != due:
                old = self.events[uid] = Stamp(digest, old.sequence, old.changed, due)
                self.dirty = True
            return old
        sequence = 0 if old is None else old.sequence + 1
        new = self.events[uid] = Stamp(digest, sequence, _second(now), due)
        self.dirty = True
        return new

    def feed(self, etag: str, now: datetime) -> FeedStamp:
        """The feed's stamp for these bytes: when they were first built."""
        old = self.stamp_of_feed
        if old is not None and old.etag == etag:
            return old
        new = self.stamp_of_feed = FeedStamp(etag, _second(now))
        self.dirty = True
        return new

    def prune(self, before: date) -> None:
        """Forget events due before `before` (long out of every window)."""
        stale = [uid for uid, stamp in self.events.items() if stamp.due < before]
        for uid in stale:
            del self.events[uid]
        self.dirty |= bool(stale)

    def as_json(self) -> dict[str, Any]:
        feed = self.stamp_of_feed
        return {
            "feed": [feed.etag, feed.changed.isoformat()] if feed is not None else None,
            "events": {
                uid: [s.digest, s.sequence, s.changed.isoformat(), s.due.isoformat()]
                for uid, s in sorted(self.events.items())
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedHistory:
        history = cls()
        for uid, (digest, seq, changed, due) in data["events"].items():
            history.events[uid] = Stamp.parse(digest, seq, changed, due)
        if data.get("feed") is not None:
            etag, changed = data["feed"]
            history.stamp_of_feed = FeedStamp.parse(etag, changed)
        return history


def _damaged(where: str, exc: Exception) -> ConfigError:
    return ConfigError(
        [Problem(f"订阅历史已损坏（{exc}）：把它移走即可重新开始（SEQUENCE 编号重新计数）", where)]
    )


class History:
    """Every feed's history, by feed slug: in memory, or in the state directory.

    `of(slug)` reads one feed's, `release(slug)` writes it back and forgets it,
    `save()` makes what was written durable. Not thread-safe: one builder uses it.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._where = str(path) if path is not None else "<history>"
        self._loaded: dict[str, FeedHistory] = {}
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                str(path) if path is not None else ":memory:",
                check_same_thread=False,  # callers serialise; a feed may render in a worker
                isolation_level=None,  # reads commit at once; writes wait for `save`
            )
            if path is not None:
                # A commit is not flushed at once (the write-ahead log is, now and then): a
                # crash may lose the last stamps, which stamps those events again; the
                # file is never left damaged.
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _VERSION):
                raise ValueError(f"unknown version {version}")
            self._db.execute(f"PRAGMA user_version={_VERSION}")
        except (sqlite3.Error, ValueError) as exc:
            raise _damaged(self._where, exc) from None

    # -- one feed ------------------------------------------------------------
    def of(self, slug: str) -> FeedHistory:
        """The feed's history, read when first asked for."""
        history = self._loaded.get(slug)
        if history is None:
            history = self._loaded[slug] = self._read(slug)
        return history

    def release(self, slug: str) -> None:
        """Write the feed's history back (if it changed) and forget it until asked again."""
        history = self._loaded.pop(slug, None)
        if history is not None and history.dirty:
            self._write(slug, history)

    def _read(self, slug: str) -> FeedHistory:
        history = FeedHistory()
        with self._guard():
            rows = self._db.execute(
                "SELECT uid, digest, sequence, changed, due FROM events WHERE feed = ?", (slug,)
            ).fetchall()
            feed = self._db.execute(
                "SELECT etag, changed FROM feeds WHERE feed = ?", (slug,)
            ).fetchone()
        for uid, *stored in rows:
            history.events[uid] = Stamp.parse(*stored)
        if feed is not None:
            history.stamp_of_feed = FeedStamp.parse(*feed)
        return history

    def _write(self, slug: str, history: FeedHistory) -> None:
        with self._guard():
            if not self._db.in_transaction:
                self._db.execute("BEGIN")
            self._db.execute("DELETE FROM events WHERE feed = ?", (slug,))
            self._db.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (slug, uid, s.digest, s.sequence, s.changed.isoformat(), s.due.isoformat())
                    for uid, s in history.events.items()
                ],
            )
            feed = history.stamp_of_feed
            if feed is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO feeds VALUES (?, ?, ?)",
                    (slug, feed.etag, feed.changed.isoformat()),
                )
        history.dirty = False

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            with self._lock:
                yield
        except sqlite3.Error as exc:
            raise _damaged(self._where, exc) from None

    # -- the whole -----------------------------------------------------------
    def save(self) -> bool:
        """Make everything released so far durable (the feeds still held are written too);
        True if anything was written."""
        for slug in list(self._loaded):
            history = self._loaded[slug]
            if history.dirty:
                self._write(slug, history)
        with self._guard():
            if not self._db.in_transaction:
                return False
            self._db.execute("COMMIT")
        return True

    def close(self) -> None:
        self._db.close()

    def dumps(self) -> bytes:
        """Every feed's history as JSON (a snapshot: `History.loads` gives it back in memory)."""
        self.save()
        with self._guard():
            slugs = {
                r[0]
                for r in self._db.execute("SELECT feed FROM events UNION SELECT feed FROM feeds")
            }
        data = {
            "version": _VERSION,
            "feeds": {slug: self._read(slug).as_json() for slug in sorted(slugs)},
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def loads(cls, raw: bytes, where: str = "<history>") -> History:
        history = cls()
        try:
            data = json.loads(raw)
            if data.get("version") != _VERSION:
                raise ValueError(f"unknown version {data.get('version')!r}")
            feeds = {slug: FeedHistory.from_json(item) for slug, item in data["feeds"].items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise _damaged(where, exc) from None
        for slug, feed in feeds.items():
            history._write(slug, feed)
        history.save()
        return history

    @classmethod
    def load(cls, state_dir: Path) -> History:
        """The history in the state directory (made if missing, the version 1 file moved in)."""
        # made 0600 first: SQLite gives its -wal and -shm files the database file's mode
        path = private_file(ensure_private_dir(state_dir / HISTORY_FILE.parent) / HISTORY_FILE.name)
        history = cls(path)
        legacy = state_dir / LEGACY_FILE
        try:
            raw = read_private(legacy)
        except FileNotFoundError:
            return history
        for slug, feed in _split_legacy(raw, str(legacy)).items():
            if not history._has(slug):
                history._write(slug, feed)
        history.save()
        legacy.unlink()
        log.info("订阅历史 (feed history) 已从 %s 移入 %s", legacy, path)
        return history

    def _has(self, slug: str) -> bool:
        with self._guard():
            found = self._db.execute("SELECT 1 FROM feeds WHERE feed = ?", (slug,)).fetchone()
            found = (
                found
                or self._db.execute(
                    "SELECT 1 FROM events WHERE feed = ? LIMIT 1", (slug,)
                ).fetchone()
            )
        return found is not None


def _split_legacy(raw: bytes, where: str) -> dict[str, FeedHistory]:
    """The version 1 file (every event of every feed in one table) split by feed: an
    event goes to its unit's feed (group feeds then held copies of unit events)."""
    feeds: dict[str, FeedHistory] = {}
    try:
        data = json.loads(raw)
        if data.get("version") != 1:
            raise ValueError(f"unknown version {data.get('version')!r}")
        for uid, (digest, seq, changed, due) in data["events"].items():
            unit = unit_of_id(uid.rpartition("@")[0])
            if unit is None:
                continue
            feed = feeds.setdefault(slug_for(unit), FeedHistory())
            feed.events[uid] = Stamp.parse(digest, seq, changed, due)
        for slug, (etag, changed) in data["feeds"].items():
            feed = feeds.setdefault(slug, FeedHistory())
            feed.stamp_of_feed = FeedStamp.parse(etag, changed)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _damaged(where, exc) from None
    return feeds
