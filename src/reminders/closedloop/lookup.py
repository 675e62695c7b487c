"""Find occurrences in the plan by id, or for a unit over a span of days. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from ..core.expand import Window, expand
from ..core.occurrence import Occurrence
from ..core.plan import Plan

# An action may name an occurrence up to this far from today (links live ~30 days;
# the CLI may close last year's work).
REACH = timedelta(days=800)


def split_id(occurrence_id: str) -> tuple[str, str, str] | None:
    """'4.5/教育局/2026-09' → ('4.5', '教育局', '2026-09'); None when malformed."""
    duty, sep, rest = occurrence_id.partition("/")
    unit, sep2, period = rest.rpartition("/")
    if not (sep and sep2 and duty and unit and period):
        return None
    return duty, unit, period


def find(plan: Plan, occurrence_id: str, today: date) -> Occurrence | None:
    """The occurrence with this id in the current plan, within REACH of today."""
    parts = split_id(occurrence_id)
    if parts is None:
        return None
    duty_id, unit, _ = parts
    compiled = next((d for d in plan.duties if d.duty.id == duty_id), None)
    if compiled is None or unit not in plan.unit_names():
        return None
    window = Window(min(today - REACH, plan.settings.start), today + REACH)
    for occurrence in expand(replace(plan, duties=(compiled,)), window, {unit}):
        if occurrence.id == occurrence_id:
            return occurrence
    return None


def between(plan: Plan, start: date, end: date, units: set[str] | None = None) -> list[Occurrence]:
    """Occurrences due in [start, end] (not before the plan starts), sorted by due date."""
    start = max(start, plan.settings.start)
    if end < start:
        return []
    found = expand(plan, Window(start, end), units)
    return sorted((o for o in found if start <= o.due <= end), key=lambda o: (o.due, o.unit, o.id))
