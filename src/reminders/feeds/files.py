"""Write feeds to a directory: atomically, and only the files whose bytes change.

Each file is written to a temporary file in the same directory and renamed
over the old one, so a web server never serves half a feed. A file whose bytes
are unchanged is left alone, so its mtime stays a truthful Last-Modified. A
manifest remembers which files this writer made, so the feed of a removed unit
is deleted, and nothing else in the directory is touched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import write_atomic
from ..exceptions import ConfigError, Problem
from .builder import Feed

MANIFEST = ".reminders-feeds.json"


@dataclass(slots=True)
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _same(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def write_feeds(directory: Path, feeds: Mapping[str, Feed]) -> WriteReport:
    """Write `<slug>.ics` for every feed; delete files of feeds that no longer exist."""
    try:
        return _write_feeds(directory, feeds)
    except OSError as exc:
        where = exc.filename or directory
        raise ConfigError(
            [Problem(f"写不了订阅文件：{exc.strerror}；用 --output DIR 换一个目录", str(where))]
        ) from None


def _write_feeds(directory: Path, feeds: Mapping[str, Feed]) -> WriteReport:
    directory.mkdir(parents=True, exist_ok=True)
    report = WriteReport()
    names = sorted(feed.spec.filename for feed in feeds.values())
    for feed in feeds.values():
        name = feed.spec.filename
        path = directory / name
        if _same(path, feed.body):
            report.unchanged.append(name)
        else:
            write_atomic(path, feed.body)
            report.written.append(name)
    manifest = directory / MANIFEST
    try:
        previous = json.loads(manifest.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        previous = []
    for old in previous if isinstance(previous, list) else []:
        ours = isinstance(old, str) and old.endswith(".ics") and old == Path(old).name
        if ours and old not in names and (directory / old).is_file():
            (directory / old).unlink()
            report.removed.append(old)
    text = json.dumps(names, ensure_ascii=False, indent=1) + "\n"
    if not _same(manifest, text.encode()):
        write_atomic(manifest, text.encode())
    return report
