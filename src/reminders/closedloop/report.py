"""Per-unit counts of done on time, done late, overdue, and the worst overdue items. Pure.

An occurrence counts once, by its due date in the span [start, end]:
done on time (closed as done on or before its due day, local time), done
late, waived, overdue (open, due before `today`) or pending (open, not yet due).
An open occurrence due before tracking started is history: counted apart as
`untracked` (未跟踪), never overdue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from ..core.occurrence import Occurrence
from ..core.workcalendar import WorkCalendar
from ..safetext import inert
from .overdue import Overdue, overdue
from .state import Closure

COLUMNS = ("done_on_time", "done_late", "waived", "overdue", "pending")
COLUMN_LABELS = {
    "done_on_time": "按时完成",
    "done_late": "逾期完成",
    "waived": "免除",
    "overdue": "逾期未完成",
    "pending": "未到期",
}
UNTRACKED_LABEL = "未跟踪"


@dataclass(slots=True)
class UnitCounts:
    unit: str
    done_on_time: int = 0
    done_late: int = 0
    waived: int = 0
    overdue: int = 0
    pending: int = 0
    untracked: int = 0  # open and due before tracking started: not in COLUMNS, not overdue

    @property
    def total(self) -> int:
        counted: int = sum(getattr(self, name) for name in COLUMNS)
        return counted + self.untracked

    def as_json(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            **{n: getattr(self, n) for n in COLUMNS},
            "untracked": self.untracked,
            "total": self.total,
        }


@dataclass(slots=True)
class Report:
    start: date
    end: date
    today: date
    units: list[UnitCounts] = field(default_factory=list)
    worst: list[Overdue] = field(default_factory=list)

    def unit(self, name: str) -> UnitCounts:
        return next(u for u in self.units if u.unit == name)

    def as_json(self) -> dict[str, object]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "today": self.today.isoformat(),
            "units": [u.as_json() for u in self.units],
            "worst_overdue": [w.as_json() for w in self.worst],
        }


def classify(occurrence: Occurrence, closure: Closure | None, today: date, zone: ZoneInfo) -> str:
    if closure is not None and closure.state == "done":
        done_on = closure.changed_at.astimezone(zone).date()
        return "done_on_time" if done_on <= occurrence.due else "done_late"
    if closure is not None and closure.state == "waived":
        return "waived"
    if not occurrence.tracked:
        return "untracked"
    return "overdue" if occurrence.due < today else "pending"


def build_report(
    occurrences: Iterable[Occurrence],
    closures: Mapping[str, Closure],
    *,
    start: date,
    end: date,
    today: date,
    calendar: WorkCalendar,
    zone: ZoneInfo,
    units: Sequence[str],
    worst: int = 10,
) -> Report:
    """Counts for every unit in `units` (in that order) over occurrences due in [start, end].

    The occurrences are taken one at a time (a generator will do): only the overdue
    ones due early enough to be among the `worst` are held."""
    report = Report(start, end, today, [UnitCounts(u) for u in units])
    by_unit = {counts.unit: counts for counts in report.units}
    late: dict[date, list[Occurrence]] = {}  # the earliest due dates' overdue occurrences
    held = 0
    cutoff: date | None = None
    for occurrence in occurrences:
        if not start <= occurrence.due <= end or occurrence.unit not in by_unit:
            continue
        column = classify(occurrence, closures.get(occurrence.id), today, zone)
        counts = by_unit[occurrence.unit]
        setattr(counts, column, getattr(counts, column) + 1)
        if column != "overdue" or not worst or (cutoff is not None and occurrence.due > cutoff):
            continue
        late.setdefault(occurrence.due, []).append(occurrence)
        held += 1
        # drop the latest due date while the earlier ones alone hold `worst`
        dues = sorted(late)
        while len(dues) > 1 and held - len(late[dues[-1]]) >= worst:
            held -= len(late.pop(dues.pop()))
            cutoff = dues[-1]
    chosen = [o for due in sorted(late) for o in late[due]]
    report.worst = overdue(chosen, closures, today, calendar)[:worst]
    return report


def render_report(report: Report) -> tuple[str, str]:
    """(title, markdown text) for a chat robot; names and titles from the table `inert`."""
    title = f"【安全生产闭环周报】{report.today:%Y-%m-%d}"
    lines = [f"**统计区间：{report.start} 至 {report.end}（截至 {report.today}）**", ""]
    for counts in report.units:
        parts = "，".join(f"{COLUMN_LABELS[n]} {getattr(counts, n)}" for n in COLUMNS)
        lines.append(f"- {inert(counts.unit)}：{parts}")
    if report.worst:
        lines += ["", f"**逾期最久的事项（前 {len(report.worst)} 项）**"]
        for item in report.worst:
            o = item.occurrence
            lines.append(
                f"- {inert(o.unit)} [{o.duty}] {inert(o.title)}（{inert(o.label)}，截止 {o.due}，"
                f"已逾期 {item.days} 天 / {item.workdays} 个工作日）"
            )
    else:
        lines += ["", "无逾期未完成事项。"]
    return title, "\n".join(lines)
