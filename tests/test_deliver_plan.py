"""The pure reminder plan: instants, send window, steps, completions, self-check digests."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from reminders.config import load_config
from reminders.core.expand import Window, expand
from reminders.core.model import CalendarData, Duty, Settings, Unit
from reminders.core.plan import Plan, compile_plan
from reminders.core.workcalendar import WorkCalendar
from reminders.delivery.plan import (
    Reminder,
    _reach,
    deliveries,
    due_at,
    in_window,
    next_due_instant,
    next_opening,
    reminders_between,
    reminders_for,
)

from .conftest import SHIPPED_CONFIG

TZ = ZoneInfo("Asia/Shanghai")

# 2026: National Day holiday 10-01..10-07 with make-up workdays 09-20 (Sun) and 10-10 (Sat).
_CALENDAR = WorkCalendar.build(
    base=(
        [date(2026, 10, d) for d in range(1, 8)],
        [date(2026, 9, 20), date(2026, 10, 10)],
        [2026],
    )
)


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=TZ)


def make_plan(
    units: Sequence[tuple[str, Sequence[str]]] = (("教育局", ()),),
    duties: Sequence[dict[str, Any]] = (),
    **settings: Any,
) -> Plan:
    unit_models = [
        Unit(name=name, channels=list(channels), groups=["各校"] if name != "教育局" else [])
        for name, channels in units
    ]
    duty_models = [Duty.model_validate(d) for d in duties] or [
        Duty.model_validate(
            {
                "id": "1.1",
                "title": "制定安全检查方案",
                "units": ["教育局"],
                "time_limit": "9月底前完成",
            }
        )
    ]
    return compile_plan(
        Settings.model_validate({"plan_year": 2026, **settings}),
        unit_models,
        CalendarData(),
        duty_models,
        calendar=_CALENDAR,
    )


def test_lead_times_due_day_and_overdue_steps() -> None:
    plan = make_plan()
    found = reminders_between(plan, at("2026-09-01", "00:00"), at("2026-12-31", "23:00"))
    steps = {r.step: r.instant for r in found}
    assert steps == {
        "before-7d": at("2026-09-23"),
        "before-3wd": at("2026-09-25"),
        "due": at("2026-09-30"),
        "overdue-1wd": at("2026-10-08"),  # the holiday week is skipped
        "overdue-3wd": at("2026-10-10"),  # a make-up Saturday is a workday
        "overdue-7wd": at("2026-10-15"),
    }
    assert {r.stage for r in found} == {"before", "due", "overdue"}


def test_weekend_instant_moves_to_next_workday_opening() -> None:
    # due Friday 2026-11-27; 7 days before is Friday 11-20; 2d before is Wednesday
    plan = make_plan(
        duties=[
            {
                "id": "2.1",
                "title": "x",
                "units": ["教育局"],
                "schedule": [{"deadline": "2026-11-30"}],  # Monday
                "lead_times": ["1d"],  # Sunday 11-29 → Monday 11-30 09:00, same as due
                "overdue_steps": [],
            }
        ]
    )
    found = reminders_between(plan, at("2026-11-01"), at("2026-12-31"))
    # the 1d reminder lands on the due instant: kept once, as the step nearest the due date
    assert [(r.step, r.instant) for r in found] == [("before-1d", at("2026-11-30"))]


def test_send_window() -> None:
    plan = make_plan()
    s, cal = plan.settings, plan.calendar
    assert in_window(at("2026-09-23", "09:00"), s, cal)
    assert not in_window(at("2026-09-23", "17:30"), s, cal)
    assert not in_window(at("2026-09-26", "10:00"), s, cal)  # Saturday
    assert next_opening(at("2026-09-23", "18:00"), s, cal) == at("2026-09-24")
    assert next_opening(at("2026-09-25", "18:00"), s, cal) == at("2026-09-28")
    assert next_opening(at("2026-09-30", "20:00"), s, cal) == at("2026-10-08")
    assert next_opening(at("2026-09-23", "07:00"), s, cal) == at("2026-09-23")
    moment = at("2026-09-23", "10:17")
    assert next_opening(moment, s, cal) is moment
    custom = make_plan(send_window={"start": "08:30", "end": "12:00", "workdays_only": False})
    assert next_opening(at("2026-09-26", "13:00"), custom.settings, custom.calendar) == at(
        "2026-09-27", "08:30"
    )


def test_completions_stop_reminders() -> None:
    plan = make_plan()
    window = (at("2026-09-01"), at("2026-12-31"))
    assert len(reminders_between(plan, *window)) == 6
    assert reminders_between(plan, *window, completions={"1.1/教育局/2026-09-30"}) == []


def test_keys_are_occurrence_step_channel_and_stable() -> None:
    plan = make_plan(units=[("教育局", ["wecom", "ding"])])
    first = deliveries(plan, due_at(plan, at("2026-09-23", "10:00")))
    again = deliveries(
        plan, due_at(make_plan(units=[("教育局", ["wecom", "ding"])]), at("2026-09-23", "10:00"))
    )
    assert [d.key for d in first] == [
        "1.1/教育局/2026-09-30@before-7d>wecom",
        "1.1/教育局/2026-09-30@before-7d>ding",
    ]
    assert [d.key for d in again] == [d.key for d in first]


def test_unit_without_channel_goes_to_log() -> None:
    plan = make_plan()
    assert [d.channel for d in deliveries(plan, due_at(plan, at("2026-09-23", "10:00")))] == ["log"]


def test_standing_duties_make_one_self_check_digest_per_unit_and_period() -> None:
    duties = [
        {
            "id": f"5.{i}",
            "title": f"长期事项{i}",
            "units": ["教育局", "各校"],
            "time_limit": "长期坚持",
        }
        for i in range(1, 6)
    ]
    plan = make_plan(units=[("教育局", ()), ("县第一中学", ())], duties=duties)
    found = reminders_between(plan, at("2026-01-01"), at("2026-12-31", "23:00"))
    assert all(r.stage == "review" for r in found)
    assert len(found) == 8  # 4 quarters x 2 units
    q3 = [r for r in found if r.subject == "review/教育局/review-2026-Q3"]
    assert len(q3) == 1 and len(q3[0].occurrences) == 5
    assert q3[0].instant == at("2026-09-23")
    done = {"5.1/教育局/review-2026-Q3"}
    smaller = reminders_between(plan, at("2026-09-01"), at("2026-09-30"), completions=done)
    assert [len(r.occurrences) for r in smaller if r.unit == "教育局"] == [4]


def test_due_at_looks_back_and_next_due_instant() -> None:
    plan = make_plan()
    assert [r.step for r in due_at(plan, at("2026-09-28", "10:00"))] == ["before-7d", "before-3wd"]
    assert next_due_instant(plan, set(), at("2026-09-23", "10:00")) == at("2026-09-25")
    assert next_due_instant(plan, set(), at("2026-09-22", "10:00")) == at("2026-09-23")
    assert next_due_instant(plan, set(), at("2026-10-16", "10:00")) is None
    assert next_due_instant(plan, {"1.1/教育局/2026-09-30"}, at("2026-09-01")) is None


class _NoNow(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _NoNow:
        raise AssertionError("the plan read the clock")

    @classmethod
    def utcnow(cls) -> _NoNow:
        raise AssertionError("the plan read the clock")

    @classmethod
    def today(cls) -> _NoNow:
        raise AssertionError("the plan read the clock")


class _NoToday(date):
    @classmethod
    def today(cls) -> _NoToday:
        raise AssertionError("the plan read the clock")


def _no_time() -> float:
    raise AssertionError("the plan read the clock")


@pytest.mark.parametrize("hours", [0, 5, 30])
def test_the_plan_never_reads_the_clock(hours: int, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = make_plan()
    moment = at("2026-09-23", "09:30") + timedelta(hours=hours)
    expected = due_at(plan, moment), next_due_instant(plan, set(), moment)
    for module in [m for name, m in sys.modules.items() if name.startswith("reminders.")]:
        if getattr(module, "datetime", None) is datetime:
            monkeypatch.setattr(module, "datetime", _NoNow)
        if getattr(module, "date", None) is date:
            monkeypatch.setattr(module, "date", _NoToday)
    monkeypatch.setattr(time, "time", _no_time)
    assert (due_at(plan, moment), next_due_instant(plan, set(), moment)) == expected


# -- planning from the rules equals planning from every occurrence --------------------


def _from_occurrences(
    plan: Plan, start: datetime, end: datetime, done: set[str], units: set[str] | None = None
) -> list[Reminder]:
    """The reference: expand every unit's occurrences of the window, plan each."""
    before, after = _reach(plan)
    window = Window(
        start.astimezone(TZ).date() - timedelta(days=after),
        end.astimezone(TZ).date() + timedelta(days=before + 7),
    )
    found = reminders_for(plan, expand(plan, window, units), done)
    return [r for r in found if start <= r.instant <= end]


@pytest.fixture(scope="module")
def shipped() -> Plan:
    return load_config(SHIPPED_CONFIG).plan


@pytest.mark.parametrize("seed", range(4))
def test_reminders_from_the_rules_equal_reminders_from_every_occurrence(
    shipped: Plan, seed: int
) -> None:
    """The shipped table (schools with a supervisor: escalations; standing duties: self-
    checks) over a year of instants, with random completions and unit filters."""
    rng = random.Random(seed)
    year = expand(shipped, Window(date(2026, 1, 1), date(2027, 3, 31)))
    ids = [o.id for o in year]
    names = shipped.unit_names()
    for i in range(12):
        # history before a tracking start is never reminded (#13): half the rounds have one
        start_day = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 420))
        plan = replace(shipped, track_from=start_day if i % 2 else None)
        end = at("2026-01-05") + timedelta(hours=rng.randrange(0, 24 * 420))
        start = end - timedelta(days=rng.choice([1, 14, 40]))
        done = set(rng.sample(ids, k=rng.choice([0, 50, len(ids) // 2])))
        units = rng.choice([None, {rng.choice(names)}, set(rng.sample(names, 2))])
        got = reminders_between(plan, start, end, done, units)
        want = _from_occurrences(plan, start, end, done, units)
        assert [r.as_json() for r in got] == [r.as_json() for r in want]
        assert got == want  # the occurrences each reminder carries too
        horizon = timedelta(days=rng.choice([3, 30, 400]))
        upcoming = _from_occurrences(plan, end + timedelta(seconds=1), end + horizon, done)
        expected = min((r.instant for r in upcoming if r.instant > end), default=None)
        assert next_due_instant(plan, done, end, horizon) == expected
