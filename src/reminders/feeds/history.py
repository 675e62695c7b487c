"""What the feeds looked like before: per event, its content hash, SEQUENCE and
the time its content last changed; per feed, its ETag and last change.

This is what makes output both byte-stable and truthful: SEQUENCE and DTSTAMP
move only when an event's content does, and Last-Modified only when a feed's
bytes do. The history is a JSON file in the state directory.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from ..exceptions import ConfigError, Problem
from ..statedir import write_private

log = logging.getLogger("reminders.feeds")

HISTORY_FILE = Path("feeds") / "history.json"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class Stamp:
    digest: str
    sequence: int
    changed: datetime
    due: date


@dataclass(frozen=True, slots=True)
class FeedStamp:
    etag: str
    changed: datetime


def _second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


class History:
    """In memory; `load`/`save` read and write the state file."""

    def __init__(self) -> None:
        self.events: dict[str, Stamp] = {}
        self.feeds: dict[str, FeedStamp] = {}
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

    def feed(self, slug: str, etag: str, now: datetime) -> FeedStamp:
        old = self.feeds.get(slug)
        if old is not None and old.etag == etag:
            return old
        new = self.feeds[slug] = FeedStamp(etag, _second(now))
        self.dirty = True
        return new

    def prune(self, before: date) -> None:
        """Forget events due before `before` (long out of every window)."""
        stale = [uid for uid, stamp in self.events.items() if stamp.due < before]
        for uid in stale:
            del self.events[uid]
        self.dirty |= bool(stale)

    # -- persistence -------------------------------------------------------
    def dumps(self) -> bytes:
        data = {
            "version": _VERSION,
            "events": {
                uid: [s.digest, s.sequence, s.changed.isoformat(), s.due.isoformat()]
                for uid, s in sorted(self.events.items())
            },
            "feeds": {
                slug: [f.etag, f.changed.isoformat()] for slug, f in sorted(self.feeds.items())
            },
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def loads(cls, raw: bytes, where: str = "<history>") -> History:
        history = cls()
        try:
            data = json.loads(raw)
            if data.get("version") != _VERSION:
                raise ValueError(f"unknown version {data.get('version')!r}")
            for uid, (digest, seq, changed, due) in data["events"].items():
                history.events[uid] = Stamp(
                    str(digest), int(seq), datetime.fromisoformat(changed), date.fromisoformat(due)
                )
            for slug, (etag, changed) in data["feeds"].items():
                history.feeds[slug] = FeedStamp(str(etag), datetime.fromisoformat(changed))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ConfigError(
                [
                    Problem(
                        f"订阅历史已损坏（{exc}）：把它移走即可重新开始（SEQUENCE 编号重新计数）",
                        where,
                    )
                ]
            ) from None
        return history

    @classmethod
    def load(cls, state_dir: Path) -> History:
        path = state_dir / HISTORY_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls()
        return cls.loads(raw, str(path))

    def save(self, state_dir: Path) -> bool:
        """Write the file if anything changed since load/save; True if written."""
        if not self.dirty:
            return False
        write_private(state_dir / HISTORY_FILE, self.dumps())
        self.dirty = False
        return True
