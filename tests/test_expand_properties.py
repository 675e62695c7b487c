"""Properties of expansion over generated plans and windows."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reminders.core.expand import Window, expand
from reminders.core.plan import Plan

from .helpers import duty, make_plan

RULES: list[dict[str, Any]] = [
    {"every": "month"},
    {"every": "quarter"},
    {"every": "quarter", "count": 3},
    {"every": "half-year"},
    {"every": "year"},
    {"every": "week"},
    {"every": "semester"},
    {"deadline": "09"},
    {"deadline": "03-15"},
    {"standing": True},
    {"immediate": True},
    {"as_needed": True},
    {"densify": True},
    {"observance": "fire-day"},
    {"campaign": {"from": "04-01", "until": "cpc20"}},
    {"rrule": "FREQ=WEEKLY;BYDAY=WE"},
]

schedules = st.lists(st.sampled_from(RULES), min_size=1, max_size=4, unique_by=repr)
unit_sets = st.sampled_from([["教育局"], ["各校"], ["教育局", "各校"]])


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    count = draw(st.integers(min_value=1, max_value=5))
    duties = [
        duty(id=f"{i + 1}.1", units=draw(unit_sets), schedule=draw(schedules)) for i in range(count)
    ]
    return make_plan(duties, plan_year=draw(st.integers(min_value=2021, max_value=2028)))


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
    return Window(start, start + timedelta(days=draw(st.integers(min_value=0, max_value=800))))


@settings(max_examples=60, deadline=None)
@given(plan=plans(), window=windows())
def test_sorted_unique_inside_window_and_deterministic(plan: Plan, window: Window) -> None:
    found = expand(plan, window)
    assert found == expand(plan, window)
    assert all(window.start <= o.due <= window.end for o in found)
    assert [o.due for o in found] == sorted(o.due for o in found)
    assert len({o.id for o in found}) == len(found)
    assert all(o.id == f"{o.duty}/{o.unit}/{o.period}" for o in found)
    assert all(o.start is None or o.start <= o.due + timedelta(days=21) for o in found)


@settings(max_examples=60, deadline=None)
@given(plan=plans(), window=windows(), shift=st.integers(min_value=-400, max_value=400))
def test_stable_when_the_window_moves(plan: Plan, window: Window, shift: int) -> None:
    moved = Window(window.start + timedelta(days=shift), window.end + timedelta(days=shift))
    first = {o.id: o for o in expand(plan, window)}
    second = {o.id: o for o in expand(plan, moved)}
    overlap_start, overlap_end = max(window.start, moved.start), min(window.end, moved.end)
    in_overlap = {i for i, o in first.items() if overlap_start <= o.due <= overlap_end}
    assert in_overlap == {i for i, o in second.items() if overlap_start <= o.due <= overlap_end}
    for key in in_overlap:
        assert first[key] == second[key]


@settings(max_examples=30, deadline=None)
@given(plan=plans(), window=windows())
def test_split_windows_add_up(plan: Plan, window: Window) -> None:
    whole = expand(plan, window)
    if window.start == window.end:
        return
    middle = window.start + (window.end - window.start) // 2
    parts = expand(plan, Window(window.start, middle)) + expand(
        plan, Window(middle + timedelta(days=1), window.end)
    )
    assert sorted(o.id for o in parts) == sorted(o.id for o in whole)
