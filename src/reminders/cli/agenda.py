"""`reminders agenda`: the occurrences in a date window, as a table or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date

from rich.console import Console
from rich.table import Table

from ..core.occurrence import Occurrence
from ..core.plan import Plan

WEEKDAYS = "一二三四五六日"
KIND_LABELS = {
    "deadline": "限期完成",
    "recurring": "周期任务",
    "standing-review": "长期坚持自查",
    "campaign": "专项行动",
    "as-needed-review": "及时事项复核",
    "immediate": "立即",
    "observance": "主题活动",
}


def select_units(plan: Plan, name: str | None) -> set[str] | None:
    """A unit name, or a group name meaning all its members; None means everyone."""
    if name is None:
        return None
    groups = plan.groups()
    if name in groups:
        return set(groups[name])
    if name in plan.unit_names():
        return {name}
    known = ", ".join([*plan.unit_names(), *groups])
    raise LookupError(f"unknown unit or group {name!r}; known: {known}")


def print_json(occurrences: Sequence[Occurrence]) -> None:
    json.dump([o.as_json() for o in occurrences], sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def print_table(occurrences: Sequence[Occurrence], start: date, end: date, today: date) -> None:
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    table = Table(title=f"日程 {start} 至 {end}（{len(occurrences)} 项）", title_justify="left")
    table.add_column("到期日", no_wrap=True)
    table.add_column("单位", no_wrap=True)
    table.add_column("编号", no_wrap=True)
    table.add_column("任务", ratio=3)
    table.add_column("周期/说明", ratio=1)
    table.add_column("类型", no_wrap=True)
    for o in occurrences:
        due = f"{o.due} 周{WEEKDAYS[o.due.weekday()]}"
        if o.provisional:
            due += " 暂定"
        style = "bold" if o.due == today else ("dim" if o.due < today else None)
        table.add_row(due, o.unit, o.duty, o.title, o.label, KIND_LABELS[o.kind], style=style)
    console.print(table)
    if any(o.provisional for o in occurrences):
        console.print(
            "暂定 (provisional): no official holiday data for that year; weekends only. "
            "Add the year to calendar.yaml when it is published."
        )
