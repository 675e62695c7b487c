"""Who is behind: open occurrences past their due date. Pure: `today` is an argument."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from ..core.occurrence import Occurrence
from ..core.workcalendar import WorkCalendar
from .state import Closure


@dataclass(frozen=True, slots=True)
class Overdue:
    occurrence: Occurrence
    days: int  # calendar days past due
    workdays: int  # workdays past due

    def as_json(self) -> dict[str, object]:
        return {**self.occurrence.as_json(), "days": self.days, "workdays": self.workdays}


def is_closed(occurrence_id: str, closures: Mapping[str, Closure]) -> bool:
    closure = closures.get(occurrence_id)
    return closure is not None and closure.closed


def overdue(
    occurrences: Iterable[Occurrence],
    closures: Mapping[str, Closure],
    today: date,
    calendar: WorkCalendar,
) -> list[Overdue]:
    """Open occurrences due before `today`, the longest overdue first; those due before
    tracking started (history) are never overdue."""
    workdays: dict[date, int] = {}  # by due date: thousands of schools share a few hundred
    out = []
    for o in occurrences:
        if o.due < today and o.tracked and not is_closed(o.id, closures):
            late = workdays.get(o.due)
            if late is None:
                late = workdays[o.due] = calendar.workdays_between(o.due, today)
            out.append(Overdue(o, (today - o.due).days, late))
    out.sort(key=lambda item: (-item.days, item.occurrence.unit, item.occurrence.id))
    return out
