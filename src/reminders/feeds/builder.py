"""Plan → every feed, incrementally.

`FeedBuilder.build(plan, today, now)` expands the plan over the rolling window,
renders each occurrence once, and assembles one feed per unit, per group and
for everything. Between builds it keeps what it rendered: a duty whose
definition did not change is not expanded again, an event whose content did
not change is not rendered again, and a feed whose events did not change keeps
its bytes. So a rebuild after one duty changes costs only that duty's events
and the feeds that hold them.

A feed over the size limits (Google drops feeds over about 1 MB or 1,100
events) is cut at the window's far end, on a day boundary, and the log says so.
When even the days up to today do not fit (a group feed of a hundred schools),
the past is dropped instead, so the feed still shows what is coming.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from ..core.expand import Window, expand
from ..core.model import Duty, Settings
from ..core.occurrence import Occurrence, review_group
from ..core.plan import CompiledDuty, Plan
from ..core.rules import Rule
from .history import History
from .render import (
    CALENDAR_TAIL,
    Mark,
    calendar_head,
    event_chunk,
    render_event,
    render_review,
)
from .specs import FeedSpec, feed_specs

log = logging.getLogger("reminders.feeds")

SortKey = tuple[date, tuple[int, int], int, str]
_PRUNE_AFTER = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class Feed:
    """One encoded feed and what the server needs to serve it."""

    spec: FeedSpec
    body: bytes
    etag: str  # strong, quoted: '"<hex>"'
    changed: datetime  # when these bytes were first built (UTC): Last-Modified
    events: int
    start: date  # the days the feed covers: the window, with `end` earlier when
    end: date  # cut, and `start` = today when even the past alone did not fit
    dropped: int = 0  # events of the window left out


# What an event is rendered from: (duty, occurrence, mark), one for most events, the
# standing duties of one unit and period (in plan order) for a self-check event.
_Members = tuple[tuple[Duty, Occurrence, Mark | None], ...]


@dataclass(slots=True)
class _Event:
    """A rendered event; only its final bytes are kept (held for every event of every feed)."""

    key: SortKey
    unit: str
    source: _Members  # compared with the next build's to tell when to render again
    chunk: bytes


@dataclass(slots=True)
class BuildStats:
    duties_expanded: int = 0
    events_rendered: int = 0
    feeds_rendered: int = 0


@dataclass(slots=True)
class _FeedCache:
    head: bytes
    chunks: list[bytes]
    feed: Feed


@dataclass(slots=True)
class _DutyCache:
    definition: tuple[Duty, tuple[str, ...], tuple[Rule, ...]]
    events: list[_Event] = field(default_factory=list)
    reviews: list[Occurrence] = field(default_factory=list)  # rendered per group, not here


def feed_window(settings: Settings, today: date) -> Window:
    feeds = settings.feeds
    return Window(today - timedelta(days=feeds.days_back), today + timedelta(days=feeds.days_ahead))


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


class FeedBuilder:
    """Keeps the last build in memory; give it the same History across builds."""

    def __init__(self, history: History | None = None) -> None:
        self.history = history if history is not None else History()
        self.stats = BuildStats()
        self._context: tuple[object, ...] | None = None
        self._duties: dict[str, _DutyCache] = {}
        self._reviews: dict[str, _Event] = {}
        self._feeds: dict[str, _FeedCache] = {}

    def build(
        self,
        plan: Plan,
        today: date,
        now: datetime,
        completed: Mapping[str, Mark] | None = None,
    ) -> dict[str, Feed]:
        """Every feed, by slug. `completed` maps occurrence id → note (done) or
        (state, note) with state "done" or "waived" (closed loop)."""
        window = feed_window(plan.settings, today)
        context = (plan.settings, plan.data, plan.units, window)
        if context != self._context:
            self._duties.clear()
            self._reviews.clear()
            self._context = context
        self.stats = BuildStats()
        done = completed or {}
        unit_order = plan.unit_names()
        unit_index = {name: i for i, name in enumerate(unit_order)}
        per_unit: dict[str, list[_Event]] = {name: [] for name in unit_order}
        live: dict[str, _DutyCache] = {}
        groups: dict[str, list[tuple[Duty, Occurrence, Mark | None]]] = {}
        for compiled in plan.duties:
            cache = self._duty_events(plan, compiled, unit_index, window, done, now)
            live[compiled.duty.id] = cache
            for event in cache.events:
                per_unit[event.unit].append(event)
            for o in cache.reviews:
                group = review_group(o)
                assert group is not None
                groups.setdefault(group, []).append((compiled.duty, o, done.get(o.id)))
        self._duties = live
        reviews: dict[str, _Event] = {}
        for group, items in groups.items():
            event = self._review_event(plan, group, tuple(items), unit_index, now)
            reviews[group] = event
            per_unit[event.unit].append(event)
        self._reviews = reviews
        for events in per_unit.values():
            events.sort(key=lambda e: e.key)

        feeds: dict[str, Feed] = {}
        for spec in feed_specs(plan):
            members = [per_unit[name] for name in unit_order if name in spec.units]
            feeds[spec.slug] = self._feed(spec, plan.settings, members, window, today, now)
        self._feeds = {slug: self._feeds[slug] for slug in feeds}
        self.history.prune(window.start - _PRUNE_AFTER)
        return feeds

    # -- events ------------------------------------------------------------
    def _duty_events(
        self,
        plan: Plan,
        compiled: CompiledDuty,
        unit_index: Mapping[str, int],
        window: Window,
        done: Mapping[str, Mark],
        now: datetime,
    ) -> _DutyCache:
        duty = compiled.duty
        definition = (duty, compiled.units, compiled.rules)
        cache = self._duties.get(duty.id)
        if cache is None or cache.definition != definition:
            self.stats.duties_expanded += 1
            occurrences = expand(replace(plan, duties=(compiled,)), window)
            cache = _DutyCache(definition)
            for o in occurrences:
                if review_group(o) is not None:
                    cache.reviews.append(o)
                    continue
                key = (o.due, duty.sort_key, unit_index[o.unit], o.period)
                cache.events.append(self._render(plan, duty, key, o, done.get(o.id), now))
        else:
            for i, event in enumerate(cache.events):
                _, o, mark = event.source[0]
                note = done.get(o.id)
                if note != mark:
                    cache.events[i] = self._render(plan, duty, event.key, o, note, now)
        return cache

    def _review_event(
        self,
        plan: Plan,
        group: str,
        members: _Members,
        unit_index: Mapping[str, int],
        now: datetime,
    ) -> _Event:
        old = self._reviews.get(group)
        if old is not None and old.source == members:
            return old
        self.stats.events_rendered += 1
        first = members[0][1]
        body = render_review(group, members, plan.settings, plan.calendar)
        due = min(o.due for _, o, _ in members)
        stamp = self.history.stamp(body.uid, body.digest, due, now)
        key = (due, (0, 0), unit_index[first.unit], first.period)
        return _Event(key, first.unit, members, event_chunk(body, stamp.sequence, stamp.changed))

    def _render(
        self,
        plan: Plan,
        duty: Duty,
        key: SortKey,
        occurrence: Occurrence,
        completed: Mark | None,
        now: datetime,
    ) -> _Event:
        self.stats.events_rendered += 1
        body = render_event(occurrence, duty, plan.settings, plan.calendar, completed)
        stamp = self.history.stamp(body.uid, body.digest, occurrence.due, now)
        chunk = event_chunk(body, stamp.sequence, stamp.changed)
        return _Event(key, occurrence.unit, ((duty, occurrence, completed),), chunk)

    # -- feeds -------------------------------------------------------------
    def _feed(
        self,
        spec: FeedSpec,
        settings: Settings,
        members: list[list[_Event]],
        window: Window,
        today: date,
        now: datetime,
    ) -> Feed:
        limits = settings.feeds
        head = calendar_head(spec, settings)
        merged: Iterable[_Event] = (
            members[0] if len(members) == 1 else heapq.merge(*members, key=lambda e: e.key)
        )
        total = sum(len(m) for m in members)
        budget = limits.max_bytes - len(head) - len(CALENDAR_TAIL)
        start, end = window.start, window.end
        taken, cut_day = _take(merged, limits.max_events, budget)
        if cut_day is not None and cut_day <= today:
            # The past alone fills the feed: drop it rather than every coming day.
            start = today
            coming = [[e for e in m if e.key[0] >= today] for m in members]
            merged = coming[0] if len(coming) == 1 else heapq.merge(*coming, key=lambda e: e.key)
            taken, cut_day = _take(merged, limits.max_events, budget)
        dropped = total - len(taken)
        if cut_day is not None:
            end = cut_day - timedelta(days=1)
            log.warning(
                "feed %s: over the limit (%d events / %d bytes); cut at the far end: "
                "covers %s to %s, %d of %d events left out%s",
                spec.slug,
                limits.max_events,
                limits.max_bytes,
                start,
                end,
                dropped,
                total,
                "" if taken else "; not even one day fits: subscribe to the unit feeds",
            )
        chunks = [e.chunk for e in taken]
        old = self._feeds.get(spec.slug)
        if (
            old is not None
            and old.head == head
            and len(old.chunks) == len(chunks)
            and all(a is b for a, b in zip(old.chunks, chunks, strict=True))
            and (old.feed.start, old.feed.end) == (start, end)
        ):
            return old.feed
        self.stats.feeds_rendered += 1
        body = b"".join((head, *chunks, CALENDAR_TAIL))
        etag = etag_of(body)
        stamp = self.history.feed(spec.slug, etag, now)
        feed = Feed(spec, body, etag, stamp.changed, len(chunks), start, end, dropped)
        self._feeds[spec.slug] = _FeedCache(head, chunks, feed)
        return feed


def _take(
    events: Iterable[_Event], max_events: int, max_bytes: int
) -> tuple[list[_Event], date | None]:
    """The events that fit; when some do not, also the first day left out."""
    taken: list[_Event] = []
    size = 0
    stream: Iterator[_Event] = iter(events)
    for event in itertools.islice(stream, max_events + 1):
        size += len(event.chunk)
        if len(taken) == max_events or size > max_bytes:
            day = event.key[0]
            while taken and taken[-1].key[0] == day:
                taken.pop()
            return taken, day
        taken.append(event)
    return taken, None
