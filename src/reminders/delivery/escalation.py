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


def supervisor_of(plan: Plan, unit: str) -> str | None:
    for candidate in plan.units:
        if candidate.name == unit:
            supervisor = candidate.supervisor
            return supervisor if supervisor and supervisor != unit else None
    return None


def reach_offset(plan: Plan) -> str | None:
    """The escalation threshold as an offset ('3wd'), for how far back the plan must look."""
    after = plan.settings.loop.escalate_after_workdays
    return None if after is None else f"{after}wd"


def escalation_days(
    plan: Plan, occurrence: Occurrence, overdue_steps: Sequence[str]
) -> list[tuple[str, str, date]]:
    """(step, supervisor, day) for each escalation of one occurrence; [] when none apply."""
    after = plan.settings.loop.escalate_after_workdays
    if after is None or occurrence.kind == "standing-review":
        return []
    supervisor = supervisor_of(plan, occurrence.unit)
    if supervisor is None:
        return []
    calendar = plan.calendar
    threshold = calendar.add_workdays(occurrence.due, after)
    out = [(f"escalate-{after}wd", supervisor, threshold)]
    for offset in overdue_steps:
        day = shift(calendar, occurrence.due, offset, +1)
        if day > threshold:
            out.append((f"escalate-{offset}", supervisor, day))
    return out
