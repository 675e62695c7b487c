"""The closed loop over one plan and one store: what the CLI, the HTTP app and the daemon use.

Everything that depends on time takes `now`; the plan is read through a
callable so a daemon's reload is seen by the next request.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..core.occurrence import Occurrence
from ..core.plan import Plan
from ..delivery.plan import zone
from ..delivery.render import duty_texts
from ..exceptions import Problem, RemindersError
from ..safetext import printable
from . import lookup
from .overdue import Overdue, overdue
from .report import Report, build_report
from .state import Action, Closure, Outcome
from .store import LoopStore

OVERDUE_REACH = timedelta(days=400)


class UnknownOccurrence(RemindersError):
    """No occurrence with this id in the plan (and none recorded)."""

    def __init__(self, occurrence_id: str) -> None:
        super().__init__(
            [
                Problem(
                    "计划中没有这个事项编号 (occurrence id)；编号形如 4.5/教育局/2026-09，"
                    "`reminders agenda` 表格的“事项编号”一列列出它们"
                    "（自查编号形如 review/教育局/review-2026-Q4）",
                    field="OCCURRENCE",
                    value=occurrence_id,
                )
            ]
        )
        self.occurrence_id = occurrence_id


@dataclass(frozen=True, slots=True)
class Listed:
    occurrence: Occurrence
    closure: Closure | None

    @property
    def state(self) -> str:
        return self.closure.state if self.closure is not None else "open"

    def as_json(self) -> dict[str, object]:
        out = self.occurrence.as_json()
        out["state"] = self.state
        if self.closure is not None and self.closure.closed:
            out["by"] = self.closure.by
            out["note"] = self.closure.note
            out["evidence"] = self.closure.evidence
            out["changed_at"] = self.closure.changed_at.isoformat()
        return out


class Loop:
    def __init__(self, store: LoopStore, plan: Callable[[], Plan]) -> None:
        self.store = store
        self._plan = plan

    @property
    def plan(self) -> Plan:
        return self._plan()

    def zone(self) -> ZoneInfo:
        return zone(self.plan.settings)

    def today(self, now: datetime) -> date:
        return now.astimezone(self.zone()).date()

    def find(self, occurrence_id: str, now: datetime) -> Occurrence | None:
        return lookup.find(self.plan, occurrence_id, self.today(now))

    def text_of(self, occurrence: Occurrence) -> str:
        """The duty's full task text (an occurrence's title is a shortened form)."""
        return duty_texts(self.plan).get(occurrence.duty) or occurrence.title

    def act(
        self,
        occurrence_id: str,
        action: Action,
        now: datetime,
        *,
        by: str | None = None,
        note: str | None = None,
        evidence: str | None = None,
        via: str = "cli",
        found: Occurrence | None = None,
    ) -> Outcome:
        """Apply an action to an occurrence of the plan (or one already recorded).

        `found`: the occurrence, when the caller has already looked it up.
        """
        occurrence = found if found is not None else self.find(occurrence_id, now)
        if occurrence is not None:
            unit = occurrence.unit
        else:
            known = self.store.get(occurrence_id)
            if known is None:
                raise UnknownOccurrence(occurrence_id)
            unit = known.unit
        by, note, evidence = (printable(v) if v is not None else None for v in (by, note, evidence))
        return self.store.apply(
            occurrence_id, unit, action, now, by=by, note=note, evidence=evidence, via=via
        )

    def group(self, group_id: str, now: datetime) -> list[Listed]:
        """A self-check's standing duties (`review/<unit>/<period>`) with their states;
        [] when there is no such group."""
        members = lookup.group_members(self.plan, group_id, self.today(now))
        if not members:
            return []
        closures = self.store.closures([members[0].unit])
        return [Listed(o, closures.get(o.id)) for o in members]

    def close_group(
        self,
        members: list[Occurrence],
        now: datetime,
        *,
        by: str | None = None,
        note: str | None = None,
        via: str = "link",
    ) -> list[tuple[Occurrence, Outcome]]:
        """Mark every still-open member done, each with its own history row; done and
        waived ones stay as they are. Repeating it changes nothing."""
        by, note = (printable(v) if v is not None else None for v in (by, note))
        return [
            (
                o,
                self.store.apply(
                    o.id, o.unit, "done", now, by=by, note=note, via=via, only_open=True
                ),
            )
            for o in members
        ]

    def overdue(self, now: datetime, units: set[str] | None = None) -> list[Overdue]:
        plan = self.plan
        today = self.today(now)
        occurrences = lookup.between(plan, today - OVERDUE_REACH, today - timedelta(days=1), units)
        return overdue(occurrences, self.store.closed(), today, plan.calendar)

    def report(
        self,
        now: datetime,
        start: date | None = None,
        end: date | None = None,
        worst: int = 10,
        units: Collection[str] | None = None,
    ) -> Report:
        """Counts per unit over occurrences due in [start, end] (default: from the plan
        start, or from the day tracking started when later, to today); a retired plan's
        count only where they were closed. `units`: only these (totals and the worst
        list too), else every unit."""
        plan = self.plan
        today = self.today(now)
        start = start or max(plan.start, plan.track_from or plan.start)
        end = end or today
        closed = self.store.closed()
        only = None if units is None else set(units)
        names = [u for u in plan.unit_names() if only is None or u in only]
        return build_report(
            lookup.each_between(plan, start, end, only, closed=closed),
            closed,
            start=start,
            end=end,
            today=today,
            calendar=plan.calendar,
            zone=self.zone(),
            units=names,
            worst=worst,
        )

    def listing(self, unit: str, start: date, end: date) -> list[Listed]:
        if unit not in self.plan.unit_names():
            raise RemindersError([Problem("没有这个单位 (unit)", field="unit", value=unit)])
        closures = self.store.closures([unit])
        return [
            Listed(o, closures.get(o.id)) for o in lookup.between(self.plan, start, end, {unit})
        ]
