"""The feed edge a command or the daemon drives: state dir in, feeds out.

    publisher = FeedPublisher(state_dir)
    publisher.publish(config.plan, now)   # take the plan; updates publisher.store
    app = FeedApp(publisher.store)        # serve them: each rendered when first asked

`publish` is synchronous (run it in a thread from an event loop). It renders
nothing unless told to (`render_all`, for `feeds build`): a feed is rendered on
its first request and kept until a publish changes what it shows. Requests see
the old or the new feeds, never a mix.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ..core.plan import Plan
from ..statedir import ensure_private_dir
from .builder import Feed, FeedBuilder
from .history import History
from .render import Mark
from .server import FeedStore
from .specs import FeedSpec
from .tokens import load_tokens

log = logging.getLogger("reminders.feeds")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FeedPublisher:
    def __init__(self, state_dir: Path, clock: Callable[[], datetime] = _utc_now) -> None:
        """`clock`: the time a feed rendered on request is stamped with."""
        self.state_dir = ensure_private_dir(state_dir)
        self.clock = clock
        self.store = FeedStore(self._render_missing)
        self.builder = FeedBuilder(History.load(state_dir))
        self.tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def specs(self) -> list[FeedSpec]:
        """Every feed there is (rendered or not)."""
        return self.builder.specs

    def publish(
        self,
        plan: Plan,
        now: datetime,
        today: date | None = None,
        completed: Mapping[str, Mark] | None = None,
        *,
        render_all: bool = False,
    ) -> dict[str, Feed]:
        """Take this plan, day and marks: a feed whose content they change is rendered
        again when next asked for (every feed now, with `render_all`). Saves the history,
        updates the store; returns the feeds rendered (all of them with `render_all`)."""
        if today is None:
            today = now.astimezone(ZoneInfo(plan.settings.timezone)).date()
        with self._lock:
            if render_all:
                feeds = self.builder.build(plan, today, now, completed)
            else:
                self.builder.update(plan, today, now, completed)
                feeds = self.builder.rendered()
            self.builder.history.save()
            specs = self.builder.specs
            self.tokens = load_tokens(self.state_dir, [spec.key for spec in specs])
            self.store.update(feeds, self.tokens, specs)
        stats = self.builder.stats
        log.info(
            "日历订阅已生成 (feeds built)：%d 个；展开 %d 项任务，生成 %d 个事件、%d 个订阅，"
            "留存 %d 个（其余在被请求时生成）",
            len(specs),
            stats.duties_expanded,
            stats.events_rendered,
            stats.feeds_rendered,
            len(feeds) - stats.feeds_rendered,
        )
        return feeds

    def _render_missing(self, filename: str) -> None:
        """Render a feed a request asks for (in a worker thread) and publish it."""
        with self._lock:
            feed = self.builder.feed(filename.removesuffix(".ics"), self.clock())
            if feed is None:
                return
            self.builder.history.save()
            self.store.put(feed)
