"""Plan → every feed, incrementally.

`FeedBuilder.build(plan, today, now)` expands the plan over the rolling window,
renders each occurrence once, and assembles one feed per unit, per group and
for everything. Between builds it keeps what it rendered: a duty whose
definition did not change is not expanded again, an event whose content did
not change is not rendered again, and a feed whose events did not change keeps
its bytes. So a rebuild after one duty changes costs only that duty's events
and the feeds that hold them.

Memory is what a small server runs short of, so rendered bytes are kept once,
compressed: each feed as gzip (which the server sends as is to clients that
accept it), and each event only as a place in its unit's feed. Building a feed
reads unchanged events back out of the old unit feeds.

A feed over the size limits (Google drops feeds over about 1 MB or 1,100
events) is cut at the window's far end, on a day boundary, and the log says so.
When even the days up to today do not fit (a group feed of a hundred schools),
the past is dropped instead, so the feed still shows what is coming.
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import itertools
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from ..core.expand import Window, expand
from ..core.model import Duty, Settings
from ..core.occurrence import Occurrence, occurrence_id, review_group, review_group_id
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

SortKey = tuple[date, tuple[int, ...], int, str]
_PRUNE_AFTER = timedelta(days=366)
_GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class Feed:
    """One encoded feed and what the server needs to serve it."""

    spec: FeedSpec
    gzipped: bytes  # the feed's bytes, gzip-compressed (reproducibly: no name, no time)
    size: int  # length of the uncompressed bytes
    etag: str  # strong, quoted: '"<hex>"', of the uncompressed bytes
    changed: datetime  # when these bytes were first built (UTC): Last-Modified
    events: int
    start: date  # the days the feed covers: the window, with `end` earlier when
    end: date  # cut, and `start` = today when even the past alone did not fit
    dropped: int = 0  # events of the window left out

    @property
    def body(self) -> bytes:
        """The iCalendar bytes (decompressed on each call)."""
        return gzip.decompress(self.gzipped)


# What an event is rendered from: (duty, occurrence, mark), one for most events, the
# standing duties of one unit and period (in plan order) for a self-check event; there
# the occurrence stands for every unit's of that duty and period (they differ only in
# unit and id), so a hundred schools do not keep a hundred copies.
_Members = tuple[tuple[Duty, Occurrence, Mark | None], ...]


@dataclass(slots=True)
class _Event:
    """A rendered event. Its bytes are `chunk` until its unit's feed holds them;
    from then on they are `size` bytes at `offset` in that feed."""

    key: SortKey
    unit: str
    source: _Members  # compared with the next build's to tell when to render again
    size: int
    chunk: bytes | None
    offset: int = -1


@dataclass(slots=True)
class BuildStats:
    duties_expanded: int = 0
    events_rendered: int = 0
    feeds_rendered: int = 0


@dataclass(slots=True)
class _FeedCache:
    head: bytes
    events: list[_Event]
    feed: Feed


class _Bodies:
    """The uncompressed unit feeds one build reads events from, by unit."""

    def __init__(self, feeds: Mapping[str, _FeedCache]) -> None:
        self._feeds = feeds  # unit → its feed as last built
        self._raw: dict[str, bytes] = {}

    def raw(self, unit: str) -> bytes:
        raw = self._raw.get(unit)
        if raw is None:
            raw = self._raw[unit] = self._feeds[unit].feed.body
        return raw

    def replace(self, unit: str, raw: bytes) -> None:
        self._raw[unit] = raw

    def chunk(self, event: _Event) -> bytes:
        if event.chunk is not None:
            return event.chunk
        return self.raw(event.unit)[event.offset : event.offset + event.size]


@dataclass(slots=True)
class _DutyCache:
    definition: tuple[Duty, tuple[str, ...], tuple[Rule, ...]]
    events: list[_Event] = field(default_factory=list)
    # standing reviews, rendered per unit and period, not here: one occurrence per
    # period, for these units
    reviews: list[Occurrence] = field(default_factory=list)
    review_units: tuple[str, ...] = ()


def feed_window(settings: Settings, today: date) -> Window:
    feeds = settings.feeds
    return Window(today - timedelta(days=feeds.days_back), today + timedelta(days=feeds.days_ahead))


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def compress(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0)


class FeedBuilder:
    """Keeps the last build in memory; give it the same History across builds."""

    def __init__(self, history: History | None = None) -> None:
        self.history = history if history is not None else History()
        self.stats = BuildStats()
        self._context: tuple[object, ...] | None = None
        self._duties: dict[str, _DutyCache] = {}
        self._reviews: dict[str, _Event] = {}
        self._feeds: dict[str, _FeedCache] = {}  # by slug
        self._units: dict[str, _FeedCache] = {}  # the unit feeds, by unit

    def build(
        self,
        plan: Plan,
        today: date,
        now: datetime,
        completed: Mapping[str, Mark] | None = None,
    ) -> dict[str, Feed]:
        """Every feed, by slug. `completed` maps occurrence id → note (done) or
        (state, note) with state "done" or "waived" (closed loop)."""
        try:
            return self._build(plan, today, now, completed or {})
        except BaseException:
            self._context = None  # half-moved event bytes: the next build starts afresh
            raise

    def _build(
        self, plan: Plan, today: date, now: datetime, done: Mapping[str, Mark]
    ) -> dict[str, Feed]:
        window = feed_window(plan.settings, today)
        context = (plan.settings, plan.data, plan.units, window, plan.track_from)
        if context != self._context:
            self._duties.clear()
            self._reviews.clear()
            self._feeds.clear()
            self._units.clear()
            self._context = context
        self.stats = BuildStats()
        unit_order = plan.unit_names()
        unit_index = {name: i for i, name in enumerate(unit_order)}
        per_unit: dict[str, list[_Event]] = {name: [] for name in unit_order}
        live: dict[str, _DutyCache] = {}
        groups: dict[tuple[str, str], list[tuple[Duty, Occurrence, Mark | None]]] = {}
        for compiled in plan.duties:
            cache = self._duty_events(plan, compiled, unit_index, window, done, now)
            live[compiled.duty.id] = cache
            for event in cache.events:
                per_unit[event.unit].append(event)
            duty = compiled.duty
            for o in cache.reviews:
                for unit in cache.review_units:
                    mark = done.get(occurrence_id(duty.id, unit, o.period))
                    groups.setdefault((unit, o.period), []).append((duty, o, mark))
        self._duties = live
        reviews: dict[str, _Event] = {}
        for (unit, period), items in groups.items():
            group = review_group_id(unit, period)
            event = self._review_event(plan, group, unit, tuple(items), unit_index, now)
            reviews[group] = event
            per_unit[unit].append(event)
        self._reviews = reviews
        for events in per_unit.values():
            events.sort(key=lambda e: e.key)

        feeds: dict[str, Feed] = {}
        bodies = _Bodies(self._units)
        units: dict[str, _FeedCache] = {}
        for spec in feed_specs(plan):  # unit feeds first: the others read from them
            members = [per_unit[name] for name in unit_order if name in spec.units]
            feed = self._feed(spec, plan.settings, members, bodies, window, today, now)
            feeds[spec.slug] = feed
            if spec.kind == "unit":
                units[spec.name] = self._feeds[spec.slug]
        self._feeds = {slug: self._feeds[slug] for slug in feeds}
        self._units = units
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
            review_units: dict[str, None] = {}
            reviews: dict[str, Occurrence] = {}
            for o in occurrences:
                if review_group(o) is not None:
                    review_units[o.unit] = None
                    reviews.setdefault(o.period, o)
                    continue
                key = (o.due, duty.sort_key, unit_index[o.unit], o.period)
                cache.events.append(self._render(plan, duty, key, o, done.get(o.id), now))
            cache.reviews = list(reviews.values())
            cache.review_units = tuple(review_units)
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
        unit: str,
        members: _Members,
        unit_index: Mapping[str, int],
        now: datetime,
    ) -> _Event:
        old = self._reviews.get(group)
        if old is not None and old.source == members:
            return old
        self.stats.events_rendered += 1
        body = render_review(group, unit, members, plan.settings, plan.calendar)
        due = min(o.due for _, o, _ in members)
        stamp = self.history.stamp(body.uid, body.digest, due, now)
        key = (due, (0, 0), unit_index[unit], members[0][1].period)
        chunk = event_chunk(body, stamp.sequence, stamp.changed)
        return _Event(key, unit, members, len(chunk), chunk)

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
        return _Event(key, occurrence.unit, ((duty, occurrence, completed),), len(chunk), chunk)

    # -- feeds -------------------------------------------------------------
    def _feed(
        self,
        spec: FeedSpec,
        settings: Settings,
        members: list[list[_Event]],
        bodies: _Bodies,
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
        old = self._feeds.get(spec.slug)
        if (
            old is not None
            and old.head == head
            and len(old.events) == len(taken)
            and all(a is b for a, b in zip(old.events, taken, strict=True))
            and (old.feed.start, old.feed.end) == (start, end)
        ):
            return old.feed
        self.stats.feeds_rendered += 1
        body = b"".join((head, *map(bodies.chunk, taken), CALENDAR_TAIL))
        if spec.kind == "unit":
            self._hold(spec.name, members[0], taken, head, body, bodies)
        etag = etag_of(body)
        stamp = self.history.feed(spec.slug, etag, now)
        feed = Feed(
            spec, compress(body), len(body), etag, stamp.changed, len(taken), start, end, dropped
        )
        self._feeds[spec.slug] = _FeedCache(head, taken, feed)
        return feed

    @staticmethod
    def _hold(
        unit: str,
        events: list[_Event],
        taken: list[_Event],
        head: bytes,
        body: bytes,
        bodies: _Bodies,
    ) -> None:
        """Point the unit's events at its new feed, and drop their own bytes."""
        inside = {id(e) for e in taken}
        for event in events:
            if id(event) not in inside and event.chunk is None:
                event.chunk = bodies.chunk(event)  # cut off: keeps its own bytes again
        offset = len(head)
        for event in taken:
            event.chunk, event.offset = None, offset
            offset += event.size
        bodies.replace(unit, body)


def _take(
    events: Iterable[_Event], max_events: int, max_bytes: int
) -> tuple[list[_Event], date | None]:
    """The events that fit; when some do not, also the first day left out."""
    taken: list[_Event] = []
    size = 0
    stream: Iterator[_Event] = iter(events)
    for event in itertools.islice(stream, max_events + 1):
        size += event.size
        if len(taken) == max_events or size > max_bytes:
            day = event.key[0]
            while taken and taken[-1].key[0] == day:
                taken.pop()
            return taken, day
        taken.append(event)
    return taken, None
