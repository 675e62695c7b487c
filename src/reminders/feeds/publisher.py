"""The feed edge a command or the daemon drives: state dir in, feeds out.

    publisher = FeedPublisher(state_dir)
    feeds = publisher.publish(config.plan, now)  # rebuild; updates publisher.store
    app = FeedApp(publisher.store)               # serve them

`publish` is synchronous and CPU-bound (run it in a thread from an event
loop); the store is swapped whole, so requests see the old or the new feeds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ..core.plan import Plan
from ..statedir import ensure_private_dir
from .builder import Feed, FeedBuilder
from .history import History
from .render import Mark
from .server import FeedStore
from .tokens import load_tokens

log = logging.getLogger("reminders.feeds")


class FeedPublisher:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = ensure_private_dir(state_dir)
        self.store = FeedStore()
        self.builder = FeedBuilder(History.load(state_dir))
        self.feeds: dict[str, Feed] = {}
        self.tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def publish(
        self,
        plan: Plan,
        now: datetime,
        today: date | None = None,
        completed: Mapping[str, Mark] | None = None,
    ) -> dict[str, Feed]:
        """Rebuild every feed (incrementally), save the history, update the store."""
        if today is None:
            today = now.astimezone(ZoneInfo(plan.settings.timezone)).date()
        with self._lock:
            feeds = self.builder.build(plan, today, now, completed)
            self.builder.history.save(self.state_dir)
            self.tokens = load_tokens(self.state_dir, [f.spec.key for f in feeds.values()])
            self.store.update(feeds, self.tokens)
            self.feeds = feeds
        stats = self.builder.stats
        log.info(
            "feeds: %d built; %d duties expanded, %d events and %d feeds rendered",
            len(feeds),
            stats.duties_expanded,
            stats.events_rendered,
            stats.feeds_rendered,
        )
        return feeds
