"""Expansion: a plan and a date window → every dated occurrence, sorted.

Pure and deterministic: the same plan and window give the same list, and an
occurrence inside two windows is identical in both (nothing depends on where
the window starts). An occurrence is in the window when its due date is.

A duty's dates do not depend on the unit: `duty_slots` gives each duty's
unit-independent occurrences (slots) once, and an occurrence is a slot for one
unit. Feeds and delivery work from the slots, so their cost grows with duties
and periods, and only what is needed is fanned out to units.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

from .model import Duty
from .occurrence import Kind, Occurrence, occurrence_id
from .periods import MonthDay, SemesterDates, Span, merge, month_end, spans, split
from .plan import CompiledDuty, Plan
from .recur import rrule_dates
from .rules import (
    AsNeededRule,
    CampaignRule,
    DeadlineRule,
    DensifyRule,
    EveryRule,
    ImmediateRule,
    ObservanceRule,
    Period,
    PeriodicRule,
    RRuleRule,
    StandingRule,
    WindowRule,
    describe_rule,
    spec_parts,
)

# A due date moves back at most over one holiday block plus a weekend; periods
# ending this far past the window can still fall due inside it.
_SLACK = timedelta(days=21)


@dataclass(frozen=True, slots=True)
class Window:
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window ends ({self.end}) before it starts ({self.start})")


@dataclass(frozen=True, slots=True)
class Slot:
    """A unit-independent occurrence template: one period of one duty, any unit."""

    key: str
    label: str
    due: date
    start: date | None
    kind: Kind
    provisional: bool
    source: str
    tracked: bool = True  # False: due before the plan's track_from (history, 未跟踪)
    plan: str | None = None  # its plan's key, when the config has several plans

    def occurrence(self, duty: Duty, unit: str) -> Occurrence:
        return Occurrence(
            occurrence_id(duty.id, unit, self.key),
            duty.id,
            unit,
            duty.title,
            self.label,
            self.due,
            self.start,
            self.kind,
            self.provisional,
            self.source,
            self.key,
            self.tracked,
            self.plan,
        )


@dataclass(frozen=True, slots=True)
class DutySlots:
    """One duty's slots in a window, each period once (in the order its rules give them)."""

    position: int  # the duty's place in the plan
    compiled: CompiledDuty
    slots: tuple[Slot, ...]


_CN_HALF = {"H1": "上半年", "H2": "下半年"}


def period_label(key: str) -> str:
    base, _, part = key.partition(".")
    year, _, rest = base.partition("-")
    if not rest:
        text = f"{year}年"
    elif rest.startswith("Q"):
        text = f"{year}年第{rest[1:]}季度"
    elif rest.startswith("H"):
        text = f"{year}年{_CN_HALF[rest]}"
    elif rest.startswith("W"):
        text = f"{year}年第{int(rest[1:])}周"
    elif rest in ("spring", "autumn"):
        text = f"{year}年{'春季' if rest == 'spring' else '秋季'}学期"
    else:
        text = f"{year}年{int(rest)}月"
    return f"{text}第{part}次" if part else text


class _Expander:
    def __init__(self, plan: Plan, window: Window, year: tuple[int, date] | None = None) -> None:
        self.plan = plan
        self.window = window
        self.cal = plan.calendar
        settings = plan.settings
        # (plan year, plan start): each duty file may have its own; default the settings'
        self.plan_year, self.plan_start = year or (settings.plan_year, settings.start)
        self.semesters: SemesterDates = (settings.semesters.spring, settings.semesters.autumn)
        self._cache: dict[tuple[object, ...], list[Slot]] = {}
        self._years: dict[tuple[int, date], _Expander] = {}

    def for_duty(self, compiled: CompiledDuty) -> _Expander:
        """The expander of the duty's plan year (this one, or one kept for that year)."""
        table = compiled.table
        if table is None or (table.plan_year, table.start) == (self.plan_year, self.plan_start):
            return self
        year = (table.plan_year, table.start)
        if year not in self._years:
            self._years[year] = _Expander(self.plan, self.window, year)
        return self._years[year]

    # -- helpers ---------------------------------------------------------
    def provisional(self, *days: date) -> bool:
        return any(self.cal.is_provisional(day.year) for day in days)

    def slot(
        self, key: str, label: str, nominal: date, start: date | None, kind: Kind, source: str
    ) -> Slot:
        due = self.cal.last_workday_on_or_before(nominal)
        return Slot(key, label, due, start, kind, self.provisional(nominal, due), source)

    def in_window(self, slot: Slot) -> bool:
        return self.window.start <= slot.due <= self.window.end

    def spans_from(self, period: Period, first: date) -> list[Span]:
        lo = max(first, self.window.start - _SLACK)
        hi = self.window.end + _SLACK
        if hi < lo:
            return []
        return [s for s in spans(period, lo, hi, self.semesters) if s.end >= first]

    def cached(self, key: tuple[object, ...], build: Iterator[Slot]) -> list[Slot]:
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = [s for s in build if self.in_window(s)]
        return hit

    # -- rules -------------------------------------------------------------
    def deadline_date(self, rule: DeadlineRule) -> date:
        year, month, day = rule.parts
        year = year or self.plan_year + (rule.year_offset or 0)
        return date(year, month, day) if day else month_end(year, month)

    def window_dates(self, rule: WindowRule) -> tuple[date, date]:
        """First and last day; an end before the start without years is in the next year."""
        y1, m1, d1 = spec_parts(rule.window.start)
        y2, m2, d2 = spec_parts(rule.window.end)
        first = date(y1 or self.plan_year, m1, d1 or 1)
        year = y2 or (y1 or self.plan_year)
        if y2 is None and (m2, d2 or 31) < (m1, d1 or 1):
            year += 1
        last = date(year, m2, d2) if d2 else month_end(year, m2)
        return first, last

    def every(
        self,
        period: Period,
        count: int,
        source: str,
        day: int | None = None,
        interval: int = 1,
        at: tuple[str, ...] = (),
    ) -> list[Slot]:
        def build() -> Iterator[Slot]:
            if interval == 1:
                periods = self.spans_from(period, self.plan_start)
            else:
                periods = self.chunked(period, interval)
            for span in periods:
                if at:
                    yield from self.points(span, at, source)
                    continue
                if day is not None:
                    nominal = _day_in(span, period, day)
                    yield self.slot(
                        span.key, period_label(span.key), nominal, None, "recurring", source
                    )
                    continue
                for part in split(span, count):
                    start = part.start if count > 1 else None
                    yield self.slot(
                        part.key, period_label(part.key), part.end, start, "recurring", source
                    )

        return self.cached(("every", period, count, day, interval, at, source), build())

    def points(self, span: Span, at: tuple[str, ...], source: str) -> Iterator[Slot]:
        """每学期开学前、期中、期末: due on the period's first day, its middle and its last."""
        middle = span.start + (span.end - span.start) // 2
        days = {"start": span.start, "middle": middle, "end": span.end}
        names = {"start": "开始前", "middle": "期中", "end": "期末"}
        for point in at:
            nominal = days[point]
            if nominal < self.plan_start:
                continue
            label = f"{period_label(span.key)}{names[point]}"
            yield self.slot(f"{span.key}.{point}", label, nominal, None, "recurring", source)

    def chunked(self, period: Period, interval: int) -> list[Span]:
        """Every `interval` periods from the plan start's, as one span keyed by its first."""
        every = spans(period, self.plan_start, self.window.end + _SLACK, self.semesters)
        chunks = [every[i : i + interval] for i in range(0, len(every), interval)]
        return [
            Span(c[0].key, c[0].start, c[-1].end)
            for c in chunks
            if c[-1].end >= self.window.start - _SLACK
        ]

    def reviews(
        self, period: Period, first: date, prefix: str, kind: Kind, label: str, source: str
    ) -> list[Slot]:
        def build() -> Iterator[Slot]:
            for span in self.spans_from(period, first):
                yield self.slot(
                    f"{prefix}-{span.key}",
                    f"{label}·{period_label(span.key)}",
                    span.end,
                    None,
                    kind,
                    source,
                )

        return self.cached(("review", period, first, prefix, source), build())

    def rrule(self, rule: RRuleRule, source: str) -> list[Slot]:
        def build() -> Iterator[Slot]:
            hi = self.window.end + _SLACK
            for day in rrule_dates(rule.rrule, self.plan_start, self.window.start, hi):
                yield self.slot(
                    day.isoformat(), f"{day:%Y年%-m月%-d日}", day, None, "recurring", source
                )

        return self.cached(("rrule", rule.rrule, source), build())

    def densified(self, source: str) -> list[Slot]:
        def build() -> Iterator[Slot]:
            ranges: list[tuple[date, date]] = []
            years = range(self.window.start.year - 1, self.window.end.year + 2)
            for period in self.plan.data.sensitive_periods:
                ranges.extend(period.dates)
                for begins, ends in period.each_year:
                    for year in years:
                        start = _on_or_after(year, begins)
                        end = _on_or_before(year + (1 if ends < begins else 0), ends)
                        if start <= end:
                            ranges.append((start, end))
            for lo, hi in merge(ranges):
                lo = max(lo, self.plan_start)
                if hi < lo or hi < self.window.start - _SLACK or lo > self.window.end + _SLACK:
                    continue
                for week in spans("week", lo, hi, self.semesters):
                    first, last = max(week.start, lo), min(week.end, hi)
                    due = self.cal.last_workday_on_or_before(last)
                    if due < first:
                        continue
                    key = f"dense-{week.key}"
                    yield Slot(
                        key,
                        f"敏感时期加密·{period_label(week.key)}",
                        due,
                        first,
                        "recurring",
                        self.provisional(last, due),
                        source,
                    )

        return self.cached(("densify", source), build())

    def observance(self, rule: ObservanceRule, source: str) -> list[Slot]:
        obs = self.plan.observances[rule.observance]

        def build() -> Iterator[Slot]:
            for year in range(
                max(self.plan_start.year, self.window.start.year - 1), self.window.end.year + 2
            ):
                if obs.month is not None:
                    start, nominal = date(year, obs.month, 1), month_end(year, obs.month)
                else:
                    assert obs.day is not None
                    start, nominal = None, _on_or_before(year, obs.day)
                if nominal < self.plan_start:
                    continue
                yield self.slot(
                    f"{obs.key}-{year}",
                    f"{obs.name}·{year}年",
                    nominal,
                    start,
                    "observance",
                    source,
                )

        return self.cached(("observance", rule.observance, source), build())

    def campaign(self, rule: CampaignRule, source: str) -> list[Slot]:
        event = self.plan.events[rule.campaign.until]
        month, day = rule.campaign.month_day
        begin = date(self.plan_year, month, day)
        slots = []
        for span in spans("month", begin, event.end, self.semesters):
            if span.end < event.end:
                slots.append(
                    self.slot(
                        f"campaign-{event.key}-{span.key}",
                        f"进度检查·{period_label(span.key)}",
                        span.end,
                        max(span.start, begin),
                        "campaign",
                        source,
                    )
                )
        slots.append(
            self.slot(
                f"campaign-{event.key}", f"至{event.name}结束", event.end, begin, "campaign", source
            )
        )
        return [s for s in slots if self.in_window(s)]

    def window_slots(self, rule: WindowRule, source: str) -> list[Slot]:
        """A window (4-12月份): a progress check at each month end inside it, due at its end."""
        first, last = self.window_dates(rule)
        slots = [
            self.slot(
                f"window-{span.key}",
                f"进度检查·{period_label(span.key)}",
                span.end,
                max(span.start, first),
                "campaign",
                source,
            )
            for span in spans("month", first, last, self.semesters)
            if span.end < last
        ]
        label = rule.phrase or f"{first:%-m月%-d日}至{last:%-m月%-d日}"
        slots.append(
            self.slot(f"window-{last.isoformat()}", label, last, first, "campaign", source)
        )
        return [s for s in slots if self.in_window(s)]

    def slots_for(self, compiled: CompiledDuty) -> list[Slot]:
        rules = compiled.rules
        settings = self.plan.settings
        has_cadence = any(isinstance(r, EveryRule | PeriodicRule | RRuleRule) for r in rules)
        deadlines = [self.deadline_date(r) for r in rules if isinstance(r, DeadlineRule)]
        out: list[Slot] = []
        for rule in rules:
            source = rule.phrase or describe_rule(rule)
            if isinstance(rule, DeadlineRule):
                nominal = self.deadline_date(rule)
                slot = self.slot(
                    nominal.isoformat(),
                    rule.phrase or f"{nominal:%Y年%-m月%-d日}前",
                    nominal,
                    None,
                    "deadline",
                    source,
                )
                if self.in_window(slot):
                    out.append(slot)
            elif isinstance(rule, EveryRule):
                out.extend(
                    self.every(
                        rule.every,
                        rule.count,
                        source,
                        rule.day,
                        rule.interval or 1,
                        tuple(rule.at or ()),
                    )
                )
            elif isinstance(rule, PeriodicRule):
                out.extend(self.every(settings.cadence.periodic, 1, source))
            elif isinstance(rule, RRuleRule):
                out.extend(self.rrule(rule, source))
            elif isinstance(rule, StandingRule):
                if has_cadence:
                    continue
                period = (
                    settings.cadence.standing_review if rule.standing is True else rule.standing
                )
                first = max([self.plan_start, *(d + timedelta(days=1) for d in deadlines)])
                out.extend(
                    self.reviews(period, first, "review", "standing-review", "长期坚持自查", source)
                )
            elif isinstance(rule, AsNeededRule):
                period = settings.cadence.as_needed_review
                out.extend(
                    self.reviews(
                        period,
                        self.plan_start,
                        "asneeded",
                        "as-needed-review",
                        "及时事项复核",
                        source,
                    )
                )
            elif isinstance(rule, ImmediateRule):
                workdays = (
                    settings.cadence.immediate_workdays
                    if rule.immediate is True
                    else rule.immediate
                )
                if rule.calendar_days:
                    due = self.cal.last_workday_on_or_before(
                        self.plan_start + timedelta(days=workdays)
                    )
                    label = f"{workdays}天内"
                else:
                    due = self.cal.add_workdays(self.plan_start, workdays)
                    label = f"立即（{workdays}个工作日内）"
                slot = Slot(
                    "immediate",
                    label,
                    due,
                    self.plan_start,
                    "immediate",
                    self.provisional(self.plan_start, due),
                    source,
                )
                if self.in_window(slot):
                    out.append(slot)
            elif isinstance(rule, DensifyRule):
                out.extend(self.densified(source))
            elif isinstance(rule, ObservanceRule):
                out.extend(self.observance(rule, source))
            elif isinstance(rule, CampaignRule):
                out.extend(self.campaign(rule, source))
            elif isinstance(rule, WindowRule):
                out.extend(self.window_slots(rule, source))
        return out

    def duty_slots(self, position: int, compiled: CompiledDuty) -> DutySlots:
        track_from = self.plan.track_from
        table = compiled.table
        active = table is None or table.active  # a retired plan's: history, never tracked
        shown = table.key if table is not None and self.plan.several else None
        seen: set[str] = set()
        kept: list[Slot] = []
        for slot in self.for_duty(compiled).slots_for(compiled):
            if slot.key not in seen:
                seen.add(slot.key)
                if not active or (track_from is not None and slot.due < track_from):
                    slot = replace(slot, tracked=False)
                if shown is not None:
                    slot = replace(slot, plan=shown)
                kept.append(slot)
        return DutySlots(position, compiled, tuple(kept))

    def run(self, only: set[str] | None) -> list[Occurrence]:
        unit_order = {name: i for i, name in enumerate(self.plan.unit_names())}
        rows: list[tuple[tuple[date, int, int, str], Occurrence]] = []
        for position, compiled in enumerate(self.plan.duties):
            duty = compiled.duty
            units = [u for u in compiled.units if only is None or u in only]
            if not units:
                continue
            for slot in self.duty_slots(position, compiled).slots:
                for unit in units:
                    occurrence = slot.occurrence(duty, unit)
                    rows.append(((slot.due, position, unit_order[unit], slot.key), occurrence))
        rows.sort(key=lambda row: row[0])
        return [occurrence for _, occurrence in rows]


def _on_or_before(year: int, month_day: MonthDay) -> date:
    """MM-DD in `year`; 02-29 is 28 February in a common year."""
    month, day = month_day
    return min(date(year, month, 1) + timedelta(days=day - 1), month_end(year, month))


def _on_or_after(year: int, month_day: MonthDay) -> date:
    """MM-DD in `year`; 02-29 is 1 March in a common year."""
    month, day = month_day
    return date(year, month, 1) + timedelta(days=day - 1)


def _day_in(span: Span, period: Period, day: int) -> date:
    """Day `day` of a month span (its last day if shorter), or weekday `day` of a week span."""
    if period == "week":
        return span.start + timedelta(days=day - 1)
    return min(
        date(span.start.year, span.start.month, 1) + timedelta(days=day - 1),
        month_end(span.start.year, span.start.month),
    )


def expand(plan: Plan, window: Window, units: set[str] | None = None) -> list[Occurrence]:
    """Every occurrence of every duty due inside the window, for all (or the given) units."""
    return _Expander(plan, window).run(units)


def duty_slots(
    plan: Plan, window: Window, positions: Iterable[int] | None = None
) -> list[DutySlots]:
    """Each duty's slots due inside the window (of the duties at `positions`, default
    all), in plan order: what `expand` fans out to the duty's units."""
    expander = _Expander(plan, window)
    chosen = range(len(plan.duties)) if positions is None else positions
    return [expander.duty_slots(i, plan.duties[i]) for i in chosen]
