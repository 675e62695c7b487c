"""Plan → feeds: one per unit, and a summary per group (各校) and for everything.

A unit's feed holds its occurrences over the rolling window. A group's feed
holds one event per occurrence of a duty, not one per unit: how many of the
group's units have done it and which have not, shown done when all are; and
per period one self-check event for the standing duties. So a group feed's
size follows the duties, not the number of schools.

`FeedBuilder.update(plan, today, now, marks)` takes a new plan, day or set of
marks and works out each duty's unit-independent occurrences (slots) over the
window; nothing is rendered then. `feed(slug, now)` renders a feed when it is
first asked for and keeps it until an update changes what it shows: a changed
duty drops the feeds of its units and the groups that hold them, a changed mark
the feeds of its unit and groups, a new day or config for units, settings or
calendar every feed. `build` is both at once, for every feed (files, tests).
A service with 2,000 schools is ready once the slots are known, and holds the
feeds that were asked for, compressed.

A feed over the size limits (Google drops feeds over about 1 MB or 1,100
events) is cut at the window's far end, on a day boundary, and the log says so.
When even the days up to today do not fit, the past is dropped instead, so the
feed still shows what is coming.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..core.expand import Slot, Window, duty_slots
from ..core.model import Duty, Settings
from ..core.occurrence import (
    Occurrence,
    occurrence_id,
    review_group_id,
    split_occurrence_id,
    unit_of_id,
)
from ..core.plan import CompiledDuty, Plan
from ..core.rules import Rule
from .history import FeedHistory, History
from .render import (
    CALENDAR_TAIL,
    EventBody,
    Mark,
    calendar_head,
    event_chunk,
    mark_of,
    render_event,
    render_group_event,
    render_group_review,
    render_review,
    tally,
)
from .specs import FeedSpec, feed_specs

log = logging.getLogger("reminders.feeds")

SortKey = tuple[date, tuple[int, ...], str]
_Event = tuple[SortKey, bytes]  # where it sorts, its VEVENT bytes
_PRUNE_AFTER = timedelta(days=366)
_GZIP_LEVEL = 6
ALL_UNITS = "全部单位"


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


@dataclass(slots=True)
class BuildStats:
    duties_expanded: int = 0
    events_rendered: int = 0
    feeds_rendered: int = 0


@dataclass(frozen=True, slots=True)
class _Duty:
    """A duty's slots in the window, kept while its definition stays the same."""

    definition: tuple[Duty, tuple[str, ...], tuple[Rule, ...]]
    compiled: CompiledDuty
    slots: tuple[Slot, ...]


def feed_window(settings: Settings, today: date) -> Window:
    feeds = settings.feeds
    return Window(today - timedelta(days=feeds.days_back), today + timedelta(days=feeds.days_ahead))


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def compress(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0)


class FeedBuilder:
    """Keeps the slots and the feeds rendered so far; give it the same History across
    builds. Not thread-safe: the caller serialises (FeedPublisher holds a lock)."""

    def __init__(self, history: History | None = None) -> None:
        self.history = history if history is not None else History()
        self.stats = BuildStats()
        self._context: tuple[object, ...] | None = None
        self._plan: Plan | None = None
        self._today = date.min
        self._duties: list[_Duty] = []
        self._marks: Mapping[str, Mark] = {}
        self._specs: dict[str, FeedSpec] = {}
        self._feeds: dict[str, Feed] = {}  # rendered and still current, by slug

    @property
    def specs(self) -> list[FeedSpec]:
        """Every feed there is: units in config order, then groups, then everything."""
        return list(self._specs.values())

    def rendered(self) -> dict[str, Feed]:
        """The feeds rendered and still current, by slug."""
        return dict(self._feeds)

    def build(
        self,
        plan: Plan,
        today: date,
        now: datetime,
        completed: Mapping[str, Mark] | None = None,
    ) -> dict[str, Feed]:
        """Every feed, by slug. `completed` maps occurrence id → note (done) or
        (state, note) with state "done" or "waived" (closed loop)."""
        self.update(plan, today, now, completed)
        feeds = {}
        for slug in self._specs:
            feed = self.feed(slug, now)
            assert feed is not None
            feeds[slug] = feed
        return feeds

    def update(
        self,
        plan: Plan,
        today: date,
        now: datetime,
        completed: Mapping[str, Mark] | None = None,
    ) -> None:
        """Take this plan, day and marks; forget the feeds whose content they may change."""
        try:
            self._update(plan, today, completed or {})
        except BaseException:
            self._context = None  # half updated: the next update starts afresh
            self._feeds.clear()
            raise

    def _update(self, plan: Plan, today: date, marks: Mapping[str, Mark]) -> None:
        window = feed_window(plan.settings, today)
        specs = {spec.slug: spec for spec in feed_specs(plan)}
        context = (plan.settings, plan.data, plan.units, window, plan.track_from)
        fresh = context != self._context
        cached = {} if fresh else {d.compiled.duty.id: d for d in self._duties}
        touched: set[str] = set()  # units whose feeds may show something else now
        self.stats = BuildStats()
        duties: list[_Duty | None] = []
        expand: list[int] = []
        for position, compiled in enumerate(plan.duties):
            definition = (compiled.duty, compiled.units, compiled.rules)
            old = cached.pop(compiled.duty.id, None)
            if old is not None and old.definition == definition:
                duties.append(old)
                continue
            duties.append(None)
            expand.append(position)
            touched.update(compiled.units)
            if old is not None:
                touched.update(old.compiled.units)
        for gone in cached.values():
            touched.update(gone.compiled.units)
        for found in duty_slots(plan, window, expand):
            compiled = found.compiled
            duties[found.position] = _Duty(
                (compiled.duty, compiled.units, compiled.rules), compiled, found.slots
            )
        self.stats.duties_expanded = len(expand)
        if not fresh and marks is not self._marks:
            for key in _changed(self._marks, marks):
                unit = unit_of_id(key)
                if unit is not None:
                    touched.add(unit)
        kept: dict[str, Feed] = {}
        if not fresh:
            for slug, feed in self._feeds.items():
                if specs.get(slug) == feed.spec and not _shows(feed.spec, touched):
                    kept[slug] = feed
        self._plan, self._today, self._context = plan, today, context
        self._duties = [d for d in duties if d is not None]
        self._marks, self._specs, self._feeds = marks, specs, kept

    # -- one feed ------------------------------------------------------------------
    def feed(self, slug: str, now: datetime) -> Feed | None:
        """The feed (rendered now if it is not current); None when there is no such feed."""
        feed = self._feeds.get(slug)
        if feed is not None:
            return feed
        spec = self._specs.get(slug)
        if spec is None:
            return None
        history = self.history.of(slug)
        try:
            if spec.kind == "unit":
                events = self._unit_events(spec.name, history, now)
            else:
                events = self._group_events(spec, history, now)
            feed = self._assemble(spec, events, history, now)
        finally:
            self.history.release(slug)
        self._feeds[slug] = feed
        return feed

    def _event(
        self, history: FeedHistory, body: EventBody, due: date, key: SortKey, now: datetime
    ) -> _Event:
        self.stats.events_rendered += 1
        stamp = history.stamp(body.uid, body.digest, due, now)
        return key, event_chunk(body, stamp.sequence, stamp.changed)

    def _unit_events(self, unit: str, history: FeedHistory, now: datetime) -> list[_Event]:
        plan = self._current()
        settings, calendar, marks = plan.settings, plan.calendar, self._marks
        events: list[_Event] = []
        reviews: dict[str, list[tuple[Duty, Occurrence, Mark | None]]] = {}
        for cached in self._duties:
            if unit not in cached.compiled.units:
                continue
            duty = cached.compiled.duty
            for slot in cached.slots:
                o = slot.occurrence(duty, unit)
                mark = marks.get(o.id)
                if slot.kind == "standing-review":
                    reviews.setdefault(slot.key, []).append((duty, o, mark))
                    continue
                body = render_event(o, duty, settings, calendar, mark)
                events.append(
                    self._event(history, body, o.due, (o.due, duty.sort_key, o.period), now)
                )
        # a unit's standing duties of one period: one self-check event (DESIGN §3)
        for period, members in reviews.items():
            body = render_review(review_group_id(unit, period), unit, members, settings, calendar)
            due = min(o.due for _, o, _ in members)
            events.append(self._event(history, body, due, (due, (0, 0), period), now))
        return events

    def _group_events(self, spec: FeedSpec, history: FeedHistory, now: datetime) -> list[_Event]:
        plan = self._current()
        settings, calendar = plan.settings, plan.calendar
        covered: dict[str, tuple[str, ...]] = {}  # duty → its units in this feed, in order
        for cached in self._duties:
            units = cached.compiled.units
            if spec.kind != "all":
                units = tuple(u for u in units if u in spec.units)
            if units:
                covered[cached.compiled.duty.id] = units
        closed = self._closed(covered)
        events: list[_Event] = []
        reviews: dict[str, list[tuple[Duty, Occurrence, tuple[str, ...], dict[str, str]]]] = {}
        for cached in self._duties:
            duty = cached.compiled.duty
            if duty.id not in covered:
                continue
            units = covered[duty.id]
            who = _who(spec, units, "、".join(duty.units))
            for slot in cached.slots:
                o = slot.occurrence(duty, units[0])  # its dates and labels: any unit's
                states = closed.get((duty.id, slot.key), {})
                if slot.kind == "standing-review":
                    reviews.setdefault(slot.key, []).append((duty, o, units, states))
                    continue
                event_id = occurrence_id(duty.id, spec.name, slot.key)
                body = render_group_event(
                    event_id, who, o, duty, tally(units, states), settings, calendar
                )
                events.append(
                    self._event(history, body, o.due, (o.due, duty.sort_key, o.period), now)
                )
        for period, items in reviews.items():
            everyone = _self_checks(items)
            body = render_group_review(
                review_group_id(spec.name, period),
                _who(spec, tuple(everyone), ALL_UNITS),
                [(duty, o, tally(units, states)) for duty, o, units, states in items],
                tally(tuple(everyone), {u: s for u, s in everyone.items() if s is not None}),
                settings,
                calendar,
            )
            due = min(o.due for _, o, _, _ in items)
            events.append(self._event(history, body, due, (due, (0, 0), period), now))
        return events

    def _closed(
        self, covered: Mapping[str, tuple[str, ...]]
    ) -> dict[tuple[str, str], dict[str, str]]:
        """(duty, period) → unit → "done" or "waived", for the duties' units in `covered`."""
        members: dict[str, frozenset[str]] = {}
        closed: dict[tuple[str, str], dict[str, str]] = {}
        for key, mark in self._marks.items():
            parts = split_occurrence_id(key)
            if parts is None or parts[0] not in covered:
                continue
            duty, unit, period = parts
            units = members.get(duty)
            if units is None:
                units = members[duty] = frozenset(covered[duty])
            if unit in units:
                state = mark_of(mark)
                assert state is not None
                closed.setdefault((duty, period), {})[unit] = state[0]
        return closed

    def _current(self) -> Plan:
        if self._plan is None:
            raise RuntimeError("update the builder with a plan first")
        return self._plan

    def _assemble(
        self, spec: FeedSpec, events: list[_Event], history: FeedHistory, now: datetime
    ) -> Feed:
        plan = self._current()
        settings, today = plan.settings, self._today
        window = feed_window(settings, today)
        events.sort(key=lambda e: e[0])
        limits = settings.feeds
        head = calendar_head(spec, settings)
        budget = limits.max_bytes - len(head) - len(CALENDAR_TAIL)
        start, end = window.start, window.end
        taken, cut_day = _take(events, limits.max_events, budget)
        if cut_day is not None and cut_day <= today:
            # The past alone fills the feed: drop it rather than every coming day.
            start = today
            taken, cut_day = _take(
                (e for e in events if e[0][0] >= today), limits.max_events, budget
            )
        dropped = len(events) - len(taken)
        if cut_day is not None:
            end = cut_day - timedelta(days=1)
            log.warning(
                "订阅 %s 超出上限 (over the limit)（%d 个事件 / %d 字节）：截去较远的日子，"
                "只含 %s 至 %s，%d 个事件中 %d 个未列入%s",
                spec.slug,
                limits.max_events,
                limits.max_bytes,
                start,
                end,
                len(events),
                dropped,
                "" if taken else "；连一天也放不下：请改为订阅各单位的订阅",
            )
        self.stats.feeds_rendered += 1
        body = b"".join((head, *(chunk for _, chunk in taken), CALENDAR_TAIL))
        etag = etag_of(body)
        stamp = history.feed(etag, now)
        history.prune(window.start - _PRUNE_AFTER)
        return Feed(
            spec, compress(body), len(body), etag, stamp.changed, len(taken), start, end, dropped
        )


def _who(spec: FeedSpec, units: tuple[str, ...], many: str) -> str:
    """Whom a group event names: the one unit, the group, or (feed of everything) `many`."""
    if len(units) == 1:
        return units[0]
    return spec.name if spec.kind == "group" else many


def _self_checks(
    items: Iterable[tuple[Duty, Occurrence, tuple[str, ...], Mapping[str, str]]],
) -> dict[str, str | None]:
    """Each unit's self-check of one period: "done" (or "waived" when it waived every one)
    once it closed all its standing duties, else None; units in order."""
    shapes: Counter[tuple[str, ...]] = Counter()  # duties of one period share their units
    closed: Counter[str] = Counter()
    did: set[str] = set()
    for _, _, units, states in items:
        shapes[units] += 1
        closed.update(states.keys())
        did.update(u for u, state in states.items() if state == "done")
    need: dict[str, int] = {}
    for units, count in shapes.items():
        for unit in units:
            need[unit] = need.get(unit, 0) + count
    out: dict[str, str | None] = {}
    for unit, count in need.items():
        if closed[unit] < count:
            out[unit] = None
        else:
            out[unit] = "done" if unit in did else "waived"
    return out


def _shows(spec: FeedSpec, units: set[str]) -> bool:
    """Whether the feed shows any of these units' occurrences."""
    if spec.kind == "unit":
        return spec.name in units
    return bool(units) and not spec.units.isdisjoint(units)


def _changed(old: Mapping[str, Mark], new: Mapping[str, Mark]) -> Iterator[str]:
    for key, mark in new.items():
        if old.get(key) != mark:
            yield key
    for key in old:
        if key not in new:
            yield key


def _take(
    events: Iterable[_Event], max_events: int, max_bytes: int
) -> tuple[list[_Event], date | None]:
    """The events that fit; when some do not, also the first day left out."""
    taken: list[_Event] = []
    size = 0
    stream: Iterator[_Event] = iter(events)
    for event in itertools.islice(stream, max_events + 1):
        size += len(event[1])
        if len(taken) == max_events or size > max_bytes:
            day = event[0][0]
            while taken and taken[-1][0][0] == day:
                taken.pop()
            return taken, day
        taken.append(event)
    return taken, None
