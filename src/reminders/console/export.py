"""The 台账 as an Excel workbook: every occurrence due in a span, with its state, who
closed it, when, the note and the evidence; one sheet with every unit (汇总), one with
the weekly report's numbers (周报统计), then one sheet per unit.

Shared by the console's 导出 page and `reminders report --xlsx FILE`. The rows come
from the closed loop (`Loop`), so they say what the CLI, the links and the API say.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..closedloop import lookup
from ..closedloop.loop import Loop
from ..closedloop.report import COLUMN_LABELS, COLUMNS, Report
from ..closedloop.state import Closure
from ..core.occurrence import Occurrence
from ..safetext import printable
from .board import STATUS_LABELS, status

HEADER = (
    "任务编号",
    "任务",
    "本次",
    "截止日期",
    "状态",
    "办结时间",
    "办理人",
    "说明",
    "佐证材料",
    "事项编号",
)
WIDTHS = (9, 48, 16, 12, 11, 17, 14, 36, 48, 30)
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True, slots=True)
class LedgerRow:
    occurrence: Occurrence
    closure: Closure | None
    status: str

    def cells(self, zone: ZoneInfo, base_url: str | None) -> list[object]:
        o, c = self.occurrence, self.closure
        closed = c is not None and c.closed
        when = c.changed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if closed and c else ""
        return [
            o.duty,
            o.title,
            o.label,
            o.due,
            STATUS_LABELS[self.status],
            when,
            (c.by or "") if closed and c else "",
            (c.note or "") if closed and c else "",
            absolute(c.evidence, base_url) if closed and c and c.evidence else "",
            o.id,
        ]


def absolute(evidence: str, base_url: str | None) -> str:
    """Evidence text with the console's own paths made into full links when the
    service's public address is known."""
    if not base_url:
        return evidence
    base = base_url.rstrip("/")
    return " ".join(
        base + part if part.startswith("/console/") else part for part in evidence.split()
    )


def ledger_rows(
    loop: Loop, now: datetime, start: date, end: date, units: list[str]
) -> list[LedgerRow]:
    """Every occurrence of these units due in [start, end], by unit then due date."""
    closures = loop.store.closures(units)
    today, zone = loop.today(now), loop.zone()
    order = {u: i for i, u in enumerate(units)}
    closed = {key for key, closure in closures.items() if closure.closed}
    found = lookup.between(loop.plan, start, end, set(units), closed=closed)
    found.sort(key=lambda o: (order[o.unit], o.due, o.id))
    return [
        LedgerRow(o, closures.get(o.id), status(o, closures.get(o.id), today, zone)) for o in found
    ]


def sheet_name(unit: str, taken: set[str]) -> str:
    """An Excel sheet name for a unit: no []:*?/\\, at most 31 characters, unique."""
    base = _BAD_SHEET.sub("_", unit).strip("'")[:31] or "单位"
    name, n = base, 1
    while name.lower() in taken:
        n += 1
        suffix = f"~{n}"
        name = base[: 31 - len(suffix)] + suffix
    taken.add(name.lower())
    return name


def workbook(
    rows: Sequence[LedgerRow],
    report: Report,
    units: list[str],
    zone: ZoneInfo,
    base_url: str | None = None,
) -> bytes:
    """The .xlsx file's bytes."""
    import openpyxl  # type: ignore[import-untyped]  # only when a workbook is made

    book = openpyxl.Workbook(write_only=True)
    book.properties.title = f"安全生产工作台账 {report.start} 至 {report.end}"
    taken = {"汇总", "周报统计"}

    summary = book.create_sheet("汇总")
    _columns(summary, (14, *WIDTHS))
    summary.freeze_panes = "B2"
    summary.auto_filter.ref = f"A1:K{len(rows) + 1}"
    _append(summary, ("单位", *HEADER))
    for row in rows:
        _append(summary, [row.occurrence.unit, *row.cells(zone, base_url)])

    weekly = book.create_sheet("周报统计")
    _columns(weekly, (18, 10, 10, 10, 12, 10, 10))
    weekly.append([f"统计区间：{report.start} 至 {report.end}（截至 {report.today}）"])
    weekly.append(["单位", *(COLUMN_LABELS[c] for c in COLUMNS), "合计"])
    totals = [0] * (len(COLUMNS) + 1)
    for counts in report.units:
        values = [getattr(counts, c) for c in COLUMNS] + [counts.total]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        _append(weekly, [counts.unit, *values])
    weekly.append(["合计", *totals])
    if report.worst:
        weekly.append([])
        weekly.append([f"逾期最久的事项（前 {len(report.worst)} 项）"])
        weekly.append(["单位", "事项编号", "任务", "截止日期", "逾期天数", "逾期工作日"])
        for item in report.worst:
            o = item.occurrence
            _append(weekly, [o.unit, o.id, o.title, o.due, item.days, item.workdays])

    by_unit: dict[str, list[LedgerRow]] = {}
    for row in rows:
        by_unit.setdefault(row.occurrence.unit, []).append(row)
    for unit in units:
        sheet = book.create_sheet(sheet_name(unit, taken))
        _columns(sheet, WIDTHS)
        sheet.freeze_panes = "A2"
        sheet.append(HEADER)
        for row in by_unit.get(unit, []):
            _append(sheet, row.cells(zone, base_url))

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _append(sheet: Any, values: Sequence[object]) -> None:
    """A row of cells whose text is data: control characters (which openpyxl refuses)
    dropped, and text starting with '=' kept as text, never a formula."""
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

    cells: list[object] = []
    for value in values:
        if isinstance(value, str):
            value = printable(value)
            if value.startswith("="):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                value = cell
        cells.append(value)
    sheet.append(cells)


def _columns(sheet: object, widths: Sequence[int]) -> None:
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width  # type: ignore[attr-defined]


def export(
    loop: Loop, now: datetime, start: date, end: date, units: list[str], base_url: str | None
) -> bytes:
    """The 台账 of these units for occurrences due in [start, end]."""
    rows = ledger_rows(loop, now, start, end, units)
    report = loop.report(now, start, end, worst=loop.plan.settings.loop.report_worst, units=units)
    return workbook(rows, report, units, loop.zone(), base_url)
