"""The board (总览): units × periods coloured by state, the period's counts, who is behind.
Pure: occurrences, closures and `today` are arguments.

An occurrence's status refines the weekly report's classification
(`closedloop.report.classify`): an open one due within `SOON` is "due soon".
A cell (one unit, one month or quarter, by due date) takes the most urgent
status of its occurrences: overdue, due soon, not yet due, done late, done
on time, waived, untracked (open, due before tracking started). A unit's
overdue count and the oldest are read off the same statuses (no workday
counts: the board shows calendar days).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ..closedloop.report import classify
from ..closedloop.state import Closure
from ..core.occurrence import Occurrence
from ..core.periods import SemesterDates, Span, spans

SOON = timedelta(days=14)

Status = Literal[
    "overdue", "due_soon", "pending", "done_late", "done_on_time", "waived", "untracked"
]
# most urgent first: a cell shows the first its occurrences have
STATUSES: tuple[Status, ...] = (
    "overdue",
    "due_soon",
    "pending",
    "done_late",
    "done_on_time",
    "waived",
    "untracked",  # open and due before tracking started (track_from): history, not overdue
)
STATUS_LABELS: dict[str, str] = {
    "overdue": "逾期未完成",
    "due_soon": "即将到期",
    "pending": "未到期",
    "done_late": "逾期完成",
    "done_on_time": "按时完成",
    "waived": "已免除",
    "untracked": "未跟踪",
}
CLOSED: frozenset[str] = frozenset({"done_late", "done_on_time", "waived"})
Grain = Literal["month", "quarter"]


def status(occurrence: Occurrence, closure: Closure | None, today: date, zone: ZoneInfo) -> Status:
    column = classify(occurrence, closure, today, zone)
    if column == "pending" and occurrence.due <= today + SOON:
        return "due_soon"
    return column  # type: ignore[return-value]  # the report's other columns are statuses


def worst(statuses: Iterable[str]) -> Status | None:
    found = set(statuses)
    return next((s for s in STATUSES if s in found), None)


@dataclass(slots=True)
class Cell:
    span: Span
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def status(self) -> Status | None:
        return worst(self.counts)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def closed(self) -> int:
        return sum(n for s, n in self.counts.items() if s in CLOSED)

    @property
    def text(self) -> str:
        """What the cell shows: '逾2' when overdue, else closed/total ('3/5')."""
        if not self.total:
            return ""
        if self.counts["overdue"]:
            return f"逾{self.counts['overdue']}"
        return f"{self.closed}/{self.total}"


@dataclass(slots=True)
class Row:
    unit: str
    cells: list[Cell]
    overdue: int = 0
    oldest: int = 0  # days the longest overdue one is past due


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts over a span of due dates."""

    label: str
    start: date
    end: date
    due: int
    done: int
    waived: int
    overdue: int
    open: int


@dataclass(slots=True)
class Board:
    today: date
    grain: Grain
    spans: list[Span]
    rows: list[Row]
    current: Tally
    fortnight: Tally
    overdue_total: int
    ranking: list[Row]


def period_spans(grain: Grain, year: int, semesters: SemesterDates) -> list[Span]:
    return spans(grain, date(year, 1, 1), date(year, 12, 31), semesters)


def span_label(span: Span, grain: Grain) -> str:
    if grain == "quarter":
        return f"{span.start.year}年第{(span.start.month - 1) // 3 + 1}季度"
    return f"{span.start.month}月"


def _tally(
    label: str,
    start: date,
    end: date,
    occurrences: Sequence[Occurrence],
    statuses: Mapping[str, Status],
) -> Tally:
    counts = Counter(statuses[o.id] for o in occurrences if start <= o.due <= end)
    return Tally(
        label,
        start,
        end,
        due=sum(counts.values()),
        done=counts["done_on_time"] + counts["done_late"],
        waived=counts["waived"],
        overdue=counts["overdue"],
        open=counts["overdue"] + counts["due_soon"] + counts["pending"],
    )


def build_board(
    occurrences: Sequence[Occurrence],
    closures: Mapping[str, Closure],
    *,
    units: Sequence[str],
    today: date,
    zone: ZoneInfo,
    year: int,
    grain: Grain,
    semesters: SemesterDates,
) -> Board:
    """`occurrences` must cover the grid's year, the fortnight ahead and the overdue ones."""
    columns = period_spans(grain, year, semesters)
    statuses = {o.id: status(o, closures.get(o.id), today, zone) for o in occurrences}
    rows = {u: Row(u, [Cell(s) for s in columns]) for u in units}
    starts = [s.start for s in columns]
    for o in occurrences:
        row = rows.get(o.unit)
        if row is None or o.due.year != year:
            continue
        row.cells[bisect_right(starts, o.due) - 1].counts[statuses[o.id]] += 1
    for o in occurrences:
        if statuses[o.id] == "overdue" and o.unit in rows:
            row = rows[o.unit]
            row.overdue += 1
            row.oldest = max(row.oldest, (today - o.due).days)
    current = next((s for s in columns if s.start <= today <= s.end), None)
    if current is None:  # a year other than today's: its last period
        current = columns[-1] if columns[-1].end < today else columns[0]
    order = {u: i for i, u in enumerate(units)}
    ranking = sorted(
        (r for r in rows.values() if r.overdue),
        key=lambda r: (-r.overdue, -r.oldest, order[r.unit]),
    )
    return Board(
        today=today,
        grain=grain,
        spans=columns,
        rows=list(rows.values()),
        current=_tally(
            span_label(current, grain), current.start, current.end, occurrences, statuses
        ),
        fortnight=_tally(
            "未来两周", today, today + SOON - timedelta(days=1), occurrences, statuses
        ),
        overdue_total=sum(r.overdue for r in rows.values()),
        ranking=ranking,
    )
