"""Small builders for plans in tests: real models, real work calendar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from reminders.core.expand import Window, expand
from reminders.core.model import CalendarData, Duty, Settings, Unit
from reminders.core.occurrence import Occurrence
from reminders.core.plan import Plan, compile_plan

DEFAULT_CALENDAR: dict[str, Any] = {
    "sensitive_periods": [{"name": "国庆节", "each_year": ["09-28..10-08"]}],
    "events": [{"key": "cpc20", "name": "党的二十大", "start": "2022-10-16", "end": "2022-10-22"}],
    "observances": [
        {"key": "safety-month", "name": "安全生产月", "month": 6},
        {"key": "fire-day", "name": "全国消防安全日", "day": "11-09"},
    ],
}

UNITS = [
    Unit(name="教育局"),
    Unit(name="一中", groups=["各校"], supervisor="教育局"),
    Unit(name="二小", groups=["各校"], supervisor="教育局"),
]


def duty(
    id: str = "1.1",
    time_limit: str | None = None,
    text: str = "",
    units: Sequence[str] = ("教育局",),
    **extra: Any,
) -> Duty:
    return Duty.model_validate(
        {
            "id": id,
            "title": f"任务{id}",
            "text": text,
            "units": list(units),
            "time_limit": time_limit,
            **extra,
        }
    )


def make_plan(
    duties: Sequence[Duty],
    plan_year: int = 2026,
    calendar: dict[str, Any] | None = None,
    **settings: Any,
) -> Plan:
    return compile_plan(
        Settings.model_validate({"plan_year": plan_year, **settings}),
        UNITS,
        CalendarData.model_validate(calendar if calendar is not None else DEFAULT_CALENDAR),
        list(duties),
    )


def occurrences(
    plan: Plan, start: date | None = None, end: date | None = None, unit: str | None = None
) -> list[Occurrence]:
    year = plan.settings.plan_year
    window = Window(start or date(year, 1, 1), end or date(year, 12, 31))
    return expand(plan, window, {unit} if unit else None)


def dues(plan: Plan, **kwargs: Any) -> list[str]:
    return [o.due.isoformat() for o in occurrences(plan, **kwargs)]
