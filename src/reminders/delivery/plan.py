"""The reminder plan: which pushes fall due when. Pure: `now` is always an argument.

Every occurrence yields one reminder per lead time ('7d' before, '3wd' before,
'0d' on the day) and per overdue step ('1wd' after, ...), each at the first
opening of the send window on or after its day. Standing duties (长期坚持) of
one unit in one review period yield a single self-check digest reminder.

A reminder's `subject` + `step` identify it; with a channel name they form the
ledger's idempotency key, derived only from config, so it is stable across
restarts and code versions.

A duty's reminder instants depend on its due dates, not on the unit: they are
worked out once per duty and period (`duty_slots`), and only the periods with an
instant in the asked-for span are fanned out to units. A city of 2,000 schools
costs what its reminders cost, not what every unit's occurrences would.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Literal
from zoneinfo import ZoneInfo

from ..core.expand import DutySlots, Slot, Window, duty_slots
from ..core.model import Duty, Settings, parse_offset, shift
from ..core.occurrence import Occurrence, occurrence_id, review_group, review_group_id
from ..core.plan import Plan
from ..core.workcalendar import WorkCalendar
from .escalation import (
    escalation_offsets,
    reach_offset,
    subject_for,
    supervisors,
)

Stage = Literal["before", "due", "overdue", "review"]

LOG_CHANNEL = "log"


@dataclass(frozen=True, slots=True)
class Reminder:
    """One push for one subject (an occurrence, or a unit's self-check digest)."""

    subject: str
    step: str
    stage: Stage
    unit: str
    instant: datetime
    due: date
    occurrences: tuple[Occurrence, ...]

    @property
    def id(self) -> str:
        return f"{self.subject}@{self.step}"

    def key(self, channel: str) -> str:
        """The ledger's idempotency key: occurrence id + step + channel."""
        return f"{self.subject}@{self.step}>{channel}"

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "subject": self.subject,
            "step": self.step,
            "stage": self.stage,
            "unit": self.unit,
            "instant": self.instant.isoformat(),
            "due": self.due.isoformat(),
            "occurrences": [o.id for o in self.occurrences],
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """A reminder bound for one channel: the unit of the ledger."""

    reminder: Reminder
    channel: str

    @property
    def key(self) -> str:
        return self.reminder.key(self.channel)


def zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def in_window(moment: datetime, settings: Settings, calendar: WorkCalendar) -> bool:
    """True when a push may go out at `moment` (workday, office hours)."""
    local = moment.astimezone(zone(settings))
    window = settings.send_window
    if window.workdays_only and not calendar.is_workday(local.date()):
        return False
    return window.start <= local.time().replace(tzinfo=None) < window.end


def next_opening(moment: datetime, settings: Settings, calendar: WorkCalendar) -> datetime:
    """`moment` if the send window is open then, else the window's next opening."""
    tz = zone(settings)
    local = moment.astimezone(tz)
    window = settings.send_window
    day = local.date()
    clock = local.time().replace(tzinfo=None)
    if clock >= window.end:
        day += timedelta(days=1)
        clock = window.start
    elif clock < window.start:
        clock = window.start
    if window.workdays_only and not calendar.is_workday(day):
        day = calendar.first_workday_on_or_after(day)
        clock = window.start
    if day == local.date() and clock == local.time().replace(tzinfo=None):
        return moment
    return datetime.combine(day, clock, tz)


def _span_days(offsets: Iterable[str]) -> int:
    """Calendar days an offset list can reach, generously (workdays cross holidays)."""
    days = 0
    for offset in offsets:
        count, workdays = parse_offset(offset)
        days = max(days, count * 2 + 16 if workdays else count)
    return days


@dataclass(frozen=True, slots=True)
class _Steps:
    lead: tuple[str, ...]
    overdue: tuple[str, ...]


def _steps_by_duty(plan: Plan) -> dict[str, _Steps]:
    settings = plan.settings
    out: dict[str, _Steps] = {}
    for compiled in plan.duties:
        duty = compiled.duty
        out[duty.id] = _Steps(
            tuple(duty.lead_times if duty.lead_times is not None else settings.lead_times),
            tuple(duty.overdue_steps if duty.overdue_steps is not None else settings.overdue_steps),
        )
    return out


def _reach(plan: Plan) -> tuple[int, int]:
    """(days before due the earliest lead reaches, days after due the last step reaches)."""
    settings = plan.settings
    leads: list[str] = [*settings.lead_times, *settings.delivery.review_lead_times]
    overdue: list[str] = list(settings.overdue_steps)
    overdue.extend(o for o in (reach_offset(plan),) if o)
    for compiled in plan.duties:
        leads.extend(compiled.duty.lead_times or ())
        overdue.extend(compiled.duty.overdue_steps or ())
    return _span_days(leads), _span_days(overdue) + 7


def _at_opening(day: date, plan: Plan) -> datetime:
    settings = plan.settings
    start = datetime.combine(day, settings.send_window.start, zone(settings))
    return next_opening(start, settings, plan.calendar)


def reminders_for(
    plan: Plan, occurrences: Sequence[Occurrence], completions: Collection[str] = ()
) -> list[Reminder]:
    """Every reminder of the given occurrences, sorted by instant; completed ones and
    those due before the plan's track_from (history) left out."""
    instants = _Instants(plan)
    bosses = supervisors(plan)
    out: list[Reminder] = []
    reviews: dict[str, list[Occurrence]] = {}
    for occ in occurrences:
        if occ.id in completions or not occ.tracked:  # done, or history (before track_from)
            continue
        group = review_group(occ)
        if group is not None:
            reviews.setdefault(group, []).append(occ)
            continue
        for step, stage, instant in instants.occurrence(occ.duty, occ.due):
            out.append(Reminder(occ.id, step, stage, occ.unit, instant, occ.due, (occ,)))
        boss = bosses.get(occ.unit)
        if boss is not None:
            subject = subject_for(occ.id)
            for step, stage, instant in instants.escalation(occ.duty, occ.due):
                out.append(Reminder(subject, step, stage, boss, instant, occ.due, (occ,)))
    for subject, members in reviews.items():
        due = min(o.due for o in members)
        for step, stage, instant in instants.review(due):
            out.append(
                Reminder(subject, step, stage, members[0].unit, instant, due, tuple(members))
            )
    out.sort(key=_ORDER)
    return out


_ORDER = attrgetter("instant", "unit", "due", "subject", "step")


def _stage(count: int) -> Stage:
    return "due" if count == 0 else "before"


Step = tuple[str, Stage, datetime]


class _Instants:
    """Reminder instants by due date, worked out once for every unit (the plan's
    steps, send window and calendar decide them; the unit does not)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.steps = _steps_by_duty(plan)
        self._default = _Steps(tuple(plan.settings.lead_times), ())  # a duty not in the plan
        self._openings: dict[date, datetime] = {}
        self._cache: dict[tuple[object, ...], tuple[Step, ...]] = {}

    def opening(self, day: date) -> datetime:
        hit = self._openings.get(day)
        if hit is None:
            hit = self._openings[day] = _at_opening(day, self.plan)
        return hit

    def _deduped(self, due: date, candidates: list[tuple[str, Stage, date]]) -> tuple[Step, ...]:
        """Steps landing on the same instant collapse into the one nearest the due date."""
        by_instant: dict[datetime, tuple[str, Stage, date]] = {}
        for step, stage, day in candidates:
            instant = self.opening(day)
            kept = by_instant.get(instant)
            if kept is None or abs((day - due).days) < abs((kept[2] - due).days):
                by_instant[instant] = (step, stage, day)
        return tuple((step, stage, instant) for instant, (step, stage, _) in by_instant.items())

    def occurrence(self, duty: str, due: date) -> tuple[Step, ...]:
        """Lead-time and overdue steps of an occurrence of `duty` due on `due`."""
        key = ("occurrence", duty, due)
        hit = self._cache.get(key)
        if hit is None:
            steps = self.steps.get(duty, self._default)
            candidates: list[tuple[str, Stage, date]] = []
            for offset in steps.lead:
                count, _ = parse_offset(offset)
                day = shift(self.plan.calendar, due, offset, -1)
                candidates.append(("due" if count == 0 else f"before-{offset}", _stage(count), day))
            for offset in steps.overdue:
                candidates.append(
                    (f"overdue-{offset}", "overdue", shift(self.plan.calendar, due, offset, +1))
                )
            hit = self._cache[key] = self._deduped(due, candidates)
        return hit

    def escalation(self, duty: str, due: date) -> tuple[Step, ...]:
        """Escalation steps of an occurrence of `duty` due on `due` (for a unit with a
        supervisor)."""
        key = ("escalation", duty, due)
        hit = self._cache.get(key)
        if hit is None:
            days = escalation_offsets(self.plan, due, self.steps.get(duty, self._default).overdue)
            hit = self._cache[key] = self._deduped(due, [(s, "overdue", d) for s, d in days])
        return hit

    def review(self, due: date) -> tuple[Step, ...]:
        key = ("review", due)
        hit = self._cache.get(key)
        if hit is None:
            candidates: list[tuple[str, Stage, date]] = [
                (f"review-{offset}", "review", shift(self.plan.calendar, due, offset, -1))
                for offset in self.plan.settings.delivery.review_lead_times
            ]
            hit = self._cache[key] = self._deduped(due, candidates)
        return hit


# The standing duties of one review period: (due, duty's place in the plan, duty, slot),
# sorted; a unit's self-check holds those of its duties it has not closed.
_Review = list[tuple[date, int, DutySlots, Slot]]


def _slots(
    plan: Plan, window: Window, units: set[str] | None
) -> tuple[list[tuple[Duty, Slot, tuple[str, ...]]], dict[str, _Review]]:
    """Each duty's tracked slots with its units (those asked for), the standing reviews
    apart, by period."""
    singles: list[tuple[Duty, Slot, tuple[str, ...]]] = []
    reviews: dict[str, _Review] = {}
    for found in duty_slots(plan, window):
        members = found.compiled.units
        if units is not None:
            members = tuple(u for u in members if u in units)
        if not members:
            continue
        for slot in found.slots:
            if not slot.tracked:  # due before the plan's track_from: history, never reminded
                continue
            if slot.kind == "standing-review":
                reviews.setdefault(slot.key, []).append((slot.due, found.position, found, slot))
            else:
                singles.append((found.compiled.duty, slot, members))
    for items in reviews.values():
        items.sort(key=lambda item: (item[0], item[1]))
    return singles, reviews


def _review_members(
    items: _Review, units: set[str] | None, completions: Collection[str]
) -> dict[str, list[Occurrence]]:
    """Each unit's open standing-review occurrences of one period, in plan order."""
    by_unit: dict[str, list[Occurrence]] = {}
    for _, _, found, slot in items:
        duty = found.compiled.duty
        for unit in found.compiled.units:
            if units is not None and unit not in units:
                continue
            if occurrence_id(duty.id, unit, slot.key) in completions:
                continue
            by_unit.setdefault(unit, []).append(slot.occurrence(duty, unit))
    return by_unit


def reminders_between(
    plan: Plan,
    start: datetime,
    end: datetime,
    completions: Collection[str] = (),
    units: set[str] | None = None,
) -> list[Reminder]:
    """Reminders whose instant is in [start, end] (the same as `reminders_for` over the
    occurrences of the window, without expanding the periods that have none)."""
    before, after = _reach(plan)
    tz = zone(plan.settings)
    window = Window(
        start.astimezone(tz).date() - timedelta(days=after),
        end.astimezone(tz).date() + timedelta(days=before + 7),
    )
    instants = _Instants(plan)
    bosses = supervisors(plan)
    out: list[Reminder] = []
    singles, reviews = _slots(plan, window, units)
    for duty, slot, members in singles:
        own = [s for s in instants.occurrence(duty.id, slot.due) if start <= s[2] <= end]
        up: list[Step] = []
        if bosses:
            up = [s for s in instants.escalation(duty.id, slot.due) if start <= s[2] <= end]
        if not own and not up:
            continue
        add, due = out.append, slot.due
        for unit in members:
            subject = occurrence_id(duty.id, unit, slot.key)
            if subject in completions:
                continue
            occurrence = (slot.occurrence(duty, unit),)
            for step, stage, instant in own:
                add(Reminder(subject, step, stage, unit, instant, due, occurrence))
            boss = bosses.get(unit) if up else None
            if boss is not None:
                up_subject = subject_for(subject)
                for step, stage, instant in up:
                    add(Reminder(up_subject, step, stage, boss, instant, due, occurrence))
    for period, items in reviews.items():
        dues = {item[0] for item in items}
        if not any(start <= s[2] <= end for due in dues for s in instants.review(due)):
            continue
        for unit, occurrences in _review_members(items, units, completions).items():
            due = occurrences[0].due
            subject = review_group_id(unit, period)
            for step, stage, instant in instants.review(due):
                if start <= instant <= end:
                    out.append(
                        Reminder(subject, step, stage, unit, instant, due, tuple(occurrences))
                    )
    out.sort(key=_ORDER)
    return out


def due_at(
    plan: Plan,
    now: datetime,
    completions: Collection[str] = (),
    units: set[str] | None = None,
) -> list[Reminder]:
    """Reminders due by `now` within the delivery lookback (the ledger decides what is new)."""
    lookback = timedelta(days=plan.settings.delivery.lookback_days)
    return reminders_between(plan, now - lookback, now, completions, units)


def next_due_instant(
    plan: Plan,
    completions: Collection[str],
    now: datetime,
    horizon: timedelta = timedelta(days=400),
) -> datetime | None:
    """The first reminder instant strictly after `now`, for the scheduler; None if none.

    Per duty and period, the earliest instant after `now` counts if some unit has the
    occurrence open (for an escalation: some unit with a supervisor)."""
    before, after = _reach(plan)
    tz = zone(plan.settings)
    end = now + horizon
    window = Window(
        now.astimezone(tz).date() - timedelta(days=after),
        end.astimezone(tz).date() + timedelta(days=before + 7),
    )
    instants = _Instants(plan)
    bosses = supervisors(plan)
    best: datetime | None = None

    def first(steps: Iterable[Step]) -> datetime | None:
        """The earliest instant in (now, end] that beats `best`."""
        found = [s[2] for s in steps if now < s[2] <= end and (best is None or s[2] < best)]
        return min(found, default=None)

    singles, reviews = _slots(plan, window, None)
    for duty, slot, members in singles:
        candidate = first(instants.occurrence(duty.id, slot.due))
        if candidate is not None and _any_open(duty, slot, members, completions):
            best = candidate
        if bosses:
            candidate = first(instants.escalation(duty.id, slot.due))
            bossed = (u for u in members if u in bosses)
            if candidate is not None and _any_open(duty, slot, bossed, completions):
                best = candidate
    for items in reviews.values():
        dues = {item[0] for item in items}
        if first(s for due in dues for s in instants.review(due)) is None:
            continue
        if len(dues) > 1:  # a unit's self-check is due with its earliest open duty
            dues = {o[0].due for o in _review_members(items, None, completions).values()}
        elif not any(
            _any_open(found.compiled.duty, slot, found.compiled.units, completions)
            for _, _, found, slot in items
        ):
            continue
        candidate = first(s for due in dues for s in instants.review(due))
        if candidate is not None:
            best = candidate
    return best


def _any_open(duty: Duty, slot: Slot, units: Iterable[str], completions: Collection[str]) -> bool:
    return any(occurrence_id(duty.id, unit, slot.key) not in completions for unit in units)


def _routes(plan: Plan) -> dict[str, list[str]]:
    """Each unit's channel names; the log channel for a unit that names none."""
    return {unit.name: list(unit.channels) or [LOG_CHANNEL] for unit in plan.units}


def channels_of(plan: Plan, unit: str) -> list[str]:
    """The channel names a unit's reminders go to; the log channel when it names none."""
    return _routes(plan).get(unit, [LOG_CHANNEL])


def deliveries(plan: Plan, reminders: Iterable[Reminder]) -> list[Delivery]:
    """Fan reminders out to their units' channels (the units looked up once, not per reminder)."""
    routes = _routes(plan)
    return [
        Delivery(r, channel) for r in reminders for channel in routes.get(r.unit, [LOG_CHANNEL])
    ]
