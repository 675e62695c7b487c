"""Escalation: work overdue beyond N workdays is also pushed to the supervising unit. Pure.

With `loop.escalate_after_workdays: N`, an open occurrence of a unit that has a
`supervisor` yields escalation steps: one N workdays after its due date, and
one at each of its overdue steps that falls later. Each step is its own
reminder (subject `escalate/<occurrence id>`, step `escalate-<offset>`), so the
ledger sends it once to each of the supervisor's channels; done or waived
occurrences yield none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ..core.model import shift
from ..core.occurrence import Occurrence
from ..core.plan import Plan

PREFIX = "escalate/"


def subject_for(occurrence_id: str) -> str:
    return f"{PREFIX}{occurrence_id}"


def supervisors(plan: Plan) -> dict[str, str]:
    """Each unit's supervisor, for the units that have one (other than themselves)."""
    return {
        unit.name: unit.supervisor
        for unit in plan.units
        if unit.supervisor and unit.supervisor != unit.name
    }


def supervisor_of(plan: Plan, unit: str) -> str | None:
    return supervisors(plan).get(unit)


def reach_offset(plan: Plan) -> str | None:
    """The escalation threshold as an offset ('3wd'), for how far back the plan must look."""
    after = plan.settings.loop.escalate_after_workdays
    return None if after is None else f"{after}wd"


def escalation_offsets(
    plan: Plan, due: date, overdue_steps: Sequence[str]
) -> list[tuple[str, date]]:
    """(step, day) of each escalation of an occurrence due on `due`, whoever its unit;
    [] when escalation is off."""
    after = plan.settings.loop.escalate_after_workdays
    if after is None:
        return []
    calendar = plan.calendar
    threshold = calendar.add_workdays(due, after)
    out = [(f"escalate-{after}wd", threshold)]
    for offset in overdue_steps:
        day = shift(calendar, due, offset, +1)
        if day > threshold:
            out.append((f"escalate-{offset}", day))
    return out


def escalation_days(
    plan: Plan, occurrence: Occurrence, overdue_steps: Sequence[str]
) -> list[tuple[str, str, date]]:
    """(step, supervisor, day) for each escalation of one occurrence; [] when none apply."""
    if occurrence.kind == "standing-review":
        return []
    supervisor = supervisor_of(plan, occurrence.unit)
    if supervisor is None:
        return []
    return [
        (step, supervisor, day)
        for step, day in escalation_offsets(plan, occurrence.due, overdue_steps)
    ]
