"""Find occurrences in the plan by id, by self-check group, or for a unit over a span
of days. Pure."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import replace
from datetime import date, timedelta

from ..core.expand import Window, duty_slots, expand
from ..core.occurrence import Occurrence, split_occurrence_id, split_review_group
from ..core.plan import Plan
from ..core.rules import StandingRule

# An action may name an occurrence up to this far from today (links live ~30 days;
# the CLI may close last year's work).
REACH = timedelta(days=800)


def find(plan: Plan, occurrence_id: str, today: date) -> Occurrence | None:
    """The occurrence with this id in the current plan, within REACH of today (a retired
    plan's too: history, never tracked)."""
    parts = split_occurrence_id(occurrence_id)
    if parts is None:
        return None
    duty_id, unit, _ = parts
    compiled = plan.duty(duty_id)
    if compiled is None or unit not in plan.unit_names():
        return None
    window = Window(min(today - REACH, plan.start), today + REACH)
    for occurrence in expand(replace(plan, duties=(compiled,)), window, {unit}):
        if occurrence.id == occurrence_id:
            return occurrence
    return None


# A standing review's period key starts with its year ("review-2026-Q4", "review-2026-W53").
_REVIEW_YEAR = re.compile(r"review-(\d{4})(?:-[A-Za-z0-9.]+)?")


def group_members(plan: Plan, group_id: str, today: date) -> list[Occurrence]:
    """The standing-review occurrences of one self-check (`review/<unit>/<period>`), in
    plan order: [] when the unit is unknown or has no standing duty in that period, or
    the period is beyond REACH of today."""
    parts = split_review_group(group_id)
    if parts is None:
        return []
    unit, period = parts
    match = _REVIEW_YEAR.fullmatch(period)
    if match is None or unit not in plan.unit_names():
        return []
    year = int(match[1])
    if not (today - REACH).year - 1 <= year <= (today + REACH).year:
        return []
    standing = tuple(d for d in plan.duties if any(isinstance(r, StandingRule) for r in d.rules))
    # Every period keyed with this year ends by the end of the next (weeks, semesters).
    window = Window(date(year, 1, 1), date(year + 1, 12, 31))
    return [
        o
        for o in expand(replace(plan, duties=standing), window, {unit})
        if o.kind == "standing-review" and o.period == period
    ]


def between(
    plan: Plan,
    start: date,
    end: date,
    units: set[str] | None = None,
    closed: Collection[str] = (),
) -> list[Occurrence]:
    """Occurrences due in [start, end] (not before the plan starts), sorted by due date;
    with them the retired plans' occurrences whose ids are in `closed` (their history:
    what was done or waived before they were retired)."""
    start = max(start, plan.start)
    found = each_between(plan, start, end, units, closed)
    return sorted((o for o in found if start <= o.due <= end), key=lambda o: (o.due, o.unit, o.id))


def each_between(
    plan: Plan,
    start: date,
    end: date,
    units: set[str] | None = None,
    closed: Collection[str] = (),
) -> Iterator[Occurrence]:
    """The occurrences of `between`, one at a time and unsorted: for counting over
    thousands of units without holding them all."""
    start = max(start, plan.start)
    if end < start:
        return
    yield from _fanned(plan, Window(start, end), units)
    yield from _closed_history(plan, Window(start, end), units, closed)


def _fanned(plan: Plan, window: Window, units: set[str] | None) -> Iterator[Occurrence]:
    for found in duty_slots(plan, window):
        duty = found.compiled.duty
        members = [u for u in found.compiled.units if units is None or u in units]
        for slot in found.slots:
            for unit in members:
                yield slot.occurrence(duty, unit)


def _closed_history(
    plan: Plan, window: Window, units: set[str] | None, closed: Collection[str]
) -> list[Occurrence]:
    """The retired plans' occurrences in the window whose ids are in `closed`."""
    if not closed or not plan.retired:
        return []
    retired = replace(plan, duties=plan.retired)
    return [o for o in _fanned(retired, window, units) if o.id in closed]
