"""Escalation, overdue and report logic: pure, `today`/`now` given."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reminders.closedloop import Closure, UnitCounts, build_report, overdue, render_report
from reminders.closedloop.lookup import between, each_between
from reminders.closedloop.report import classify
from reminders.config import load_config
from reminders.delivery.escalation import escalation_days
from reminders.delivery.plan import reminders_for
from reminders.delivery.render import Renderer

from .conftest import SHIPPED_CONFIG
from .helpers import duty, make_plan, occurrences

TZ = ZoneInfo("Asia/Shanghai")
MONTHLY = duty("4.5", "每月至少组织 1 次", units=("各校", "教育局"))


def closure(occurrence_id: str, state: str, day: date) -> Closure:
    moment = datetime.combine(day, datetime.min.time(), TZ).replace(hour=15)
    return Closure(occurrence_id, "x", state, "张三", None, None, moment, 1)  # type: ignore[arg-type]


def test_escalation_steps_go_to_the_supervisor_only() -> None:
    plan = make_plan([MONTHLY], overdue_steps=["1wd", "3wd", "7wd"])
    school = next(o for o in occurrences(plan, unit="一中") if o.period == "2026-11")
    bureau = next(o for o in occurrences(plan, unit="教育局") if o.period == "2026-11")
    days = escalation_days(plan, school, ["1wd", "3wd", "7wd"])
    assert [(step, unit) for step, unit, _ in days] == [
        ("escalate-3wd", "教育局"),
        ("escalate-7wd", "教育局"),
    ]
    assert days[0][2] == plan.calendar.add_workdays(school.due, 3)
    assert escalation_days(plan, bureau, ["1wd", "3wd", "7wd"]) == []  # no supervisor


def test_escalation_threshold_setting_and_off() -> None:
    plan = make_plan([MONTHLY], loop={"escalate_after_workdays": 5})
    school = next(o for o in occurrences(plan, unit="一中") if o.period == "2026-11")
    assert [s for s, _, _ in escalation_days(plan, school, ["1wd", "3wd", "7wd"])] == [
        "escalate-5wd",
        "escalate-7wd",
    ]
    off = make_plan([MONTHLY], loop={"escalate_after_workdays": None})
    assert escalation_days(off, school, ["7wd"]) == []


def test_escalation_reminders_are_planned_and_stop_when_done() -> None:
    plan = make_plan([MONTHLY])
    school = [o for o in occurrences(plan, unit="一中") if o.period == "2026-11"]
    planned = reminders_for(plan, school)
    up = [r for r in planned if r.subject.startswith("escalate/")]
    assert {(r.unit, r.step) for r in up} == {
        ("教育局", "escalate-3wd"),
        ("教育局", "escalate-7wd"),
    }
    assert all(r.subject == f"escalate/{school[0].id}" for r in up)
    assert reminders_for(plan, school, {school[0].id}) == []


def test_rendered_messages_carry_links_and_escalations_name_the_unit() -> None:
    plan = make_plan([MONTHLY])
    school = [o for o in occurrences(plan, unit="一中") if o.period == "2026-11"]
    planned = reminders_for(plan, school)
    renderer = Renderer(plan.calendar, action_link=lambda occ: f"https://r/act/{occ}")
    today = date(2026, 12, 10)
    own = [r for r in planned if r.unit == "一中" and r.stage == "overdue"][:1]
    text = "\n".join(b.text for b in renderer.blocks([(r, "k") for r in own], today))
    assert f"办结确认：https://r/act/{school[0].id}" in text
    up = [r for r in planned if r.unit == "教育局"][:1]
    text = "\n".join(b.text for b in renderer.blocks([(r, "k") for r in up], today))
    assert "下属单位逾期" in text and "- 一中：[4.5]" in text and "办结确认" not in text
    plain = Renderer(plan.calendar)
    assert "办结确认" not in "\n".join(b.text for b in plain.blocks([(r, "k") for r in own], today))


def test_overdue_and_report_counts() -> None:
    plan = make_plan([MONTHLY])
    occs = [o for o in occurrences(plan) if o.due < date(2026, 12, 1)]
    today = date(2026, 12, 1)
    sept = {o.unit: o for o in occs if o.period == "2026-09"}
    octo = {o.unit: o for o in occs if o.period == "2026-10"}
    closures = {
        sept["一中"].id: closure(sept["一中"].id, "done", sept["一中"].due),  # on time
        octo["一中"].id: closure(octo["一中"].id, "done", octo["一中"].due + timedelta(days=1)),
        sept["二小"].id: closure(sept["二小"].id, "waived", today),
        octo["二小"].id: closure(octo["二小"].id, "open", today),  # undone: open again
    }
    late = overdue(occs, closures, today, plan.calendar)
    assert sept["一中"].id not in {i.occurrence.id for i in late}
    assert octo["二小"].id in {i.occurrence.id for i in late}
    assert late[0].days >= late[-1].days
    report = build_report(
        occs,
        closures,
        start=date(2026, 9, 1),
        end=date(2026, 11, 30),
        today=today,
        calendar=plan.calendar,
        zone=TZ,
        units=["教育局", "一中", "二小"],
        worst=2,
    )
    one, two, bureau = report.unit("一中"), report.unit("二小"), report.unit("教育局")
    assert (one.done_on_time, one.done_late, one.overdue) == (1, 1, 1)
    assert (two.waived, two.overdue) == (1, 2)
    assert bureau.overdue == 3 and len(report.worst) == 2
    title, text = render_report(report)
    assert "周报" in title and "一中：按时完成 1，逾期完成 1" in text and "逾期最久" in text


def test_report_done_time_uses_local_date() -> None:
    plan = make_plan([MONTHLY])
    occ = next(o for o in occurrences(plan, unit="一中") if o.period == "2026-09")
    # 23:30 on the due day in Shanghai is 15:30 UTC the same day: on time

    def done_at(moment: datetime) -> UnitCounts:
        done = Closure(occ.id, "一中", "done", None, None, None, moment.astimezone(UTC), 1)
        report = build_report(
            [occ], {occ.id: done}, start=occ.due, end=occ.due, today=occ.due + timedelta(days=3),
            calendar=plan.calendar, zone=TZ, units=["一中"],
        )  # fmt: skip
        return report.unit("一中")

    late_evening = datetime.combine(occ.due, datetime.min.time(), TZ).replace(hour=23, minute=30)
    assert done_at(late_evening).done_on_time == 1
    # 00:30 the next day in Shanghai is still the due day in UTC: late all the same
    after_midnight = late_evening + timedelta(hours=1)
    assert after_midnight.astimezone(UTC).date() == occ.due
    assert done_at(after_midnight).done_late == 1


@pytest.mark.parametrize("bad", [0, 61, "x"])
def test_loop_settings_are_validated(bad: object) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        make_plan([MONTHLY], loop={"escalate_after_workdays": bad})


def test_self_check_digests_carry_one_link_per_standing_duty() -> None:
    plan = make_plan([duty("2.1", "长期坚持"), duty("2.2", "长期坚持")])
    reviews = [o for o in occurrences(plan, unit="教育局") if o.kind == "standing-review"]
    first = [o for o in reviews if o.period == reviews[0].period]
    assert len(first) == 2
    (digest,) = [r for r in reminders_for(plan, first) if r.stage == "review"][:1]
    renderer = Renderer(plan.calendar, action_link=lambda occ: f"https://r/act/{occ}")
    text = "\n".join(b.text for b in renderer.blocks([(digest, "k")], date(2026, 3, 25)))
    for occ in first:
        assert f"办结确认：https://r/act/{occ.id}" in text
    quiet = "\n".join(b.text for b in renderer.blocks([(digest, "k")], date(2026, 3, 25), False))
    assert "办结确认" not in quiet
    # one of the two done: the digest lists only the other
    (left,) = [r for r in reminders_for(plan, first, {first[0].id}) if r.stage == "review"][:1]
    assert [o.id for o in left.occurrences] == [first[1].id]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_report_counted_one_occurrence_at_a_time_equals_counting_a_list(seed: int) -> None:
    """The weekly report walks the occurrences without holding them (2,000 schools):
    the same counts and the same worst overdue as from the sorted list, with random
    closures, for `worst` cutting anywhere, at and beside the due dates' boundaries."""
    plan = load_config(SHIPPED_CONFIG).plan
    start, end, today = date(2026, 1, 1), date(2026, 11, 30), date(2026, 12, 1)
    listed = between(plan, start, end)
    rng = random.Random(seed)
    closures = {}
    for o in rng.sample(listed, len(listed) // 3):
        state = rng.choice(["done", "waived", "open"])
        closures[o.id] = closure(o.id, state, o.due + timedelta(days=rng.randrange(-3, 4)))
    units = plan.unit_names()
    expected = {u: UnitCounts(u) for u in units}
    for o in listed:
        column = classify(o, closures.get(o.id), today, TZ)
        setattr(expected[o.unit], column, getattr(expected[o.unit], column) + 1)
    late = overdue(listed, closures, today, plan.calendar)
    boundaries = [
        i for i in range(1, len(late)) if late[i].occurrence.due != late[i - 1].occurrence.due
    ]
    cuts = {0, 1, len(late), len(late) + 5, *boundaries[:4], *(b + 1 for b in boundaries[:4])}
    for worst in sorted(cuts):
        streamed = build_report(
            each_between(plan, start, end), closures, start=start, end=end, today=today,
            calendar=plan.calendar, zone=TZ, units=units, worst=worst,
        )  # fmt: skip
        assert streamed.units == list(expected.values())
        assert streamed.worst == late[:worst], worst
