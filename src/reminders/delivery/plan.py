"""The reminder plan: which pushes fall due when. Pure: `now` is always an argument.

Every occurrence yields one reminder per lead time ('7d' before, '3wd' before,
'0d' on the day) and per overdue step ('1wd' after, ...), each at the first
opening of the send window on or after its day. Standing duties (长期坚持) of
one unit in one review period yield a single self-check digest reminder.

A reminder's `subject` + `step` identify it; with a channel name they form the
ledger's idempotency key, derived only from config, so it is stable across
restarts and code versions.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ..core.expand import Window, expand
from ..core.model import Settings, parse_offset, shift
from ..core.occurrence import Occurrence, review_group
from ..core.plan import Plan
from ..core.workcalendar import WorkCalendar
from .escalation import escalation_days, reach_offset, subject_for

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
    steps = _steps_by_duty(plan)
    out: list[Reminder] = []
    reviews: dict[str, list[Occurrence]] = {}
    for occ in occurrences:
        if occ.id in completions or not occ.tracked:  # done, or history (before track_from)
            continue
        group = review_group(occ)
        if group is not None:
            reviews.setdefault(group, []).append(occ)
            continue
        plan_steps = steps.get(occ.duty, _Steps(tuple(plan.settings.lead_times), ()))
        candidates: list[tuple[str, Stage, date]] = []
        for offset in plan_steps.lead:
            count, _ = parse_offset(offset)
            day = shift(plan.calendar, occ.due, offset, -1)
            candidates.append(("due" if count == 0 else f"before-{offset}", _stage(count), day))
        for offset in plan_steps.overdue:
            day = shift(plan.calendar, occ.due, offset, +1)
            candidates.append((f"overdue-{offset}", "overdue", day))
        out.extend(_dedupe(plan, occ.id, occ.unit, occ.due, (occ,), candidates))
        escalations = escalation_days(plan, occ, plan_steps.overdue)
        if escalations:
            up: list[tuple[str, Stage, date]] = [(s, "overdue", d) for s, _, d in escalations]
            supervisor = escalations[0][1]
            out.extend(_dedupe(plan, subject_for(occ.id), supervisor, occ.due, (occ,), up))
    for subject, members in reviews.items():
        due = min(o.due for o in members)
        candidates = [
            (f"review-{offset}", "review", shift(plan.calendar, due, offset, -1))
            for offset in plan.settings.delivery.review_lead_times
        ]
        out.extend(_dedupe(plan, subject, members[0].unit, due, tuple(members), candidates))
    out.sort(key=lambda r: (r.instant, r.unit, r.due, r.subject, r.step))
    return out


def _stage(count: int) -> Stage:
    return "due" if count == 0 else "before"


def _dedupe(
    plan: Plan,
    subject: str,
    unit: str,
    due: date,
    occurrences: tuple[Occurrence, ...],
    candidates: list[tuple[str, Stage, date]],
) -> list[Reminder]:
    """Steps landing on the same instant collapse into the one nearest the due date."""
    by_instant: dict[datetime, tuple[str, Stage, date]] = {}
    for step, stage, day in candidates:
        instant = _at_opening(day, plan)
        kept = by_instant.get(instant)
        if kept is None or abs((day - due).days) < abs((kept[2] - due).days):
            by_instant[instant] = (step, stage, day)
    return [
        Reminder(subject, step, stage, unit, instant, due, occurrences)
        for instant, (step, stage, _) in by_instant.items()
    ]


def reminders_between(
    plan: Plan,
    start: datetime,
    end: datetime,
    completions: Collection[str] = (),
    units: set[str] | None = None,
) -> list[Reminder]:
    """Reminders whose instant is in [start, end]."""
    before, after = _reach(plan)
    tz = zone(plan.settings)
    window = Window(
        start.astimezone(tz).date() - timedelta(days=after),
        end.astimezone(tz).date() + timedelta(days=before + 7),
    )
    occurrences = expand(plan, window, units)
    return [r for r in reminders_for(plan, occurrences, completions) if start <= r.instant <= end]


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

    Due dates are expanded a month at a time, each day once, until no later due date
    can have a reminder before the earliest one found."""
    before, after = _reach(plan)
    tz = zone(plan.settings)
    end = now + horizon
    day = now.astimezone(tz).date() - timedelta(days=after)
    last = end.astimezone(tz).date() + timedelta(days=before + 7)
    # the first window is the one reminders_between would expand for the next month
    chunk_end = now.astimezone(tz).date() + timedelta(days=31 + before + 7)
    best: datetime | None = None
    while day <= last:
        if best is not None and day - timedelta(days=before + 7) > best.astimezone(tz).date():
            break
        chunk = Window(day, min(chunk_end, last))
        for reminder in reminders_for(plan, expand(plan, chunk), completions):
            if now < reminder.instant <= end and (best is None or reminder.instant < best):
                best = reminder.instant
        day = chunk.end + timedelta(days=1)
        chunk_end = day + timedelta(days=30)
    return best


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
