"""Expansion facts: the seed in plan year 2026, every rule kind, edges of the calendar."""

from __future__ import annotations

from datetime import date

import pytest

from reminders.config import load_config
from reminders.core.expand import Window, expand
from reminders.core.workcalendar import WorkCalendar

from .conftest import SHIPPED_CONFIG
from .helpers import dues, duty, make_plan, occurrences

CAL = WorkCalendar.build()


@pytest.fixture(scope="module")
def shipped_2026() -> list:  # type: ignore[type-arg]
    plan = load_config(SHIPPED_CONFIG, plan_year=2026).plan
    return expand(plan, Window(date(2026, 1, 1), date(2026, 12, 31)))


def test_4_5_monthly_on_each_months_last_workday(shipped_2026: list) -> None:  # type: ignore[type-arg]
    monthly = [
        o
        for o in shipped_2026
        if o.duty == "4.5" and o.kind == "recurring" and not o.period.startswith("dense")
    ]
    assert [o.unit for o in monthly] == ["教育局"] * 12
    assert [o.period for o in monthly] == [f"2026-{m:02d}" for m in range(1, 13)]
    expected = [
        CAL.last_workday_on_or_before(date(2026, m, 1).replace(day=28)) for m in range(1, 13)
    ]
    for o, floor in zip(monthly, expected, strict=True):
        assert CAL.is_workday(o.due)
        assert o.due.month == floor.month and o.due >= floor
        # nothing later in the month is a workday
        probe = o.due.toordinal() + 1
        while date.fromordinal(probe).month == o.due.month:
            assert not CAL.is_workday(date.fromordinal(probe))
            probe += 1
    assert monthly[0].due == date(2026, 1, 30)
    assert monthly[1].due == date(2026, 2, 28)


def test_3_2_quarterly(shipped_2026: list) -> None:  # type: ignore[type-arg]
    quarterly = [o for o in shipped_2026 if o.duty == "3.2" and o.kind == "recurring"]
    assert [(o.unit, o.period, o.due.isoformat()) for o in quarterly] == [
        ("教育局", "2026-Q1", "2026-03-31"),
        ("教育局", "2026-Q2", "2026-06-30"),
        ("教育局", "2026-Q3", "2026-09-30"),
        ("教育局", "2026-Q4", "2026-12-31"),
    ]


def test_14_1_one_off_to_bureau_and_every_school(shipped_2026: list) -> None:  # type: ignore[type-arg]
    hits = [o for o in shipped_2026 if o.duty == "14.1"]
    assert {o.due for o in hits} == {date(2026, 5, 29)}
    assert [o.unit for o in hits] == ["教育局", "县第一中学", "县第二中学", "县实验小学"]
    assert all(o.kind == "deadline" and o.id == f"14.1/{o.unit}/2026-05-31" for o in hits)


def test_no_due_date_in_2026_is_a_rest_day(shipped_2026: list) -> None:  # type: ignore[type-arg]
    assert shipped_2026
    assert all(CAL.is_workday(o.due) for o in shipped_2026)
    assert not any(o.provisional for o in shipped_2026)


def test_expired_campaign_gives_nothing_in_2026(shipped_2026: list) -> None:  # type: ignore[type-arg]
    assert not [o for o in shipped_2026 if o.duty == "7.1"]


def test_campaign_in_2022_runs_to_the_event_end_with_monthly_checks() -> None:
    plan = load_config(SHIPPED_CONFIG, plan_year=2022).plan
    hits = expand(plan, Window(date(2022, 1, 1), date(2022, 12, 31)), {"教育局"})
    campaign = [o for o in hits if o.duty == "7.1"]
    assert [o.period for o in campaign] == [
        *(f"campaign-cpc20-2022-{m:02d}" for m in range(4, 10)),
        "campaign-cpc20",
    ]
    final = campaign[-1]
    assert final.start == date(2022, 4, 1)
    assert final.due == date(2022, 10, 21)  # 22 October 2022 was a Saturday
    assert all(o.kind == "campaign" for o in campaign)


@pytest.mark.parametrize(
    ("time_limit", "text", "expected"),
    [
        pytest.param("9月底前完成", "", ["2026-09-30"], id="deadline-month-end"),
        pytest.param("1月底前完成", "", ["2026-01-30"], id="deadline-on-saturday-moves-back"),
        pytest.param("3月15日前", "", ["2026-03-13"], id="deadline-date-on-sunday"),
        pytest.param("上半年", "", ["2026-06-30"], id="first-half"),
        pytest.param("第一季度", "", ["2026-03-31"], id="first-quarter"),
        pytest.param("年底前", "", ["2026-12-31"], id="year-end"),
        pytest.param("每半年", "", ["2026-06-30", "2026-12-31"], id="half-yearly"),
        pytest.param("每年", "", ["2026-12-31"], id="yearly"),
        pytest.param("每学期", "", ["2026-01-15", "2026-07-10"], id="semesters"),
        pytest.param(
            "立即整改", "", ["2026-01-08"], id="immediate-five-workdays-from-sunday-makeup"
        ),
        pytest.param("及时修订", "", ["2026-12-31"], id="as-needed-yearly-review"),
        pytest.param(
            "每月15日前",
            "",
            [
                "2026-01-15",
                "2026-02-14",
                "2026-03-13",
                "2026-04-15",
                "2026-05-15",
                "2026-06-15",
                "2026-07-15",
                "2026-08-14",
                "2026-09-15",
                "2026-10-15",
                "2026-11-13",
                "2026-12-15",
            ],
            id="monthly-on-the-15th-rest-days-move-back",
        ),
        pytest.param(
            "每2月至少1次",
            "",
            ["2026-02-28", "2026-04-30", "2026-06-30", "2026-08-31", "2026-10-30", "2026-12-31"],
            id="every-two-months",
        ),
    ],
)
def test_rule_kinds(time_limit: str, text: str, expected: list[str]) -> None:
    assert dues(make_plan([duty(time_limit=time_limit, text=text)])) == expected


def test_n_per_period_spreads_evenly_with_start_dates() -> None:
    found = occurrences(make_plan([duty(time_limit="每季度至少 3 次")]), end=date(2026, 3, 31))
    assert [(o.period, o.start, o.due) for o in found] == [
        ("2026-Q1.1", date(2026, 1, 1), date(2026, 1, 30)),
        ("2026-Q1.2", date(2026, 1, 31), date(2026, 2, 28)),  # 1 March is a Sunday
        ("2026-Q1.3", date(2026, 3, 2), date(2026, 3, 31)),
    ]


def test_weekly_on_a_weekday_and_fortnightly() -> None:
    window = {"start": date(2026, 9, 1), "end": date(2026, 10, 31)}
    mondays = occurrences(make_plan([duty(time_limit="每周一")]), **window)
    assert [o.due.isoformat() for o in mondays] == [
        "2026-09-07",
        "2026-09-14",
        "2026-09-21",
        "2026-09-28",
        "2026-09-30",  # Monday 5 October is National Day: back to the last workday
        "2026-10-12",
        "2026-10-19",
        "2026-10-26",
    ]
    fortnightly = occurrences(make_plan([duty(time_limit="每两周1次")]), **window)
    assert [(o.period, o.due.isoformat()) for o in fortnightly] == [
        ("2026-W35", "2026-09-04"),
        ("2026-W37", "2026-09-20"),  # a make-up working Sunday
        ("2026-W39", "2026-09-30"),
        ("2026-W41", "2026-10-16"),
        ("2026-W43", "2026-10-30"),
    ]


def test_standing_duty_reviews_start_after_its_deadline() -> None:
    found = occurrences(make_plan([duty(time_limit="9月底前完成 长期坚持")]))
    assert [(o.kind, o.period) for o in found] == [
        ("deadline", "2026-09-30"),
        ("standing-review", "review-2026-Q4"),
    ]


def test_standing_without_deadline_reviews_every_quarter() -> None:
    found = occurrences(make_plan([duty(time_limit="长期坚持")]))
    assert [o.period for o in found] == [f"review-2026-Q{q}" for q in range(1, 5)]


def test_densify_adds_weekly_occurrences_inside_sensitive_periods() -> None:
    found = occurrences(make_plan([duty(text="每季度至少1次。重点敏感时期要加密检查频次。")]))
    dense = [o for o in found if o.period.startswith("dense-")]
    # 2026-09-28..10-08: week 40 ends in the holiday (due before it), week 41 has the 8th
    assert [(o.period, o.start, o.due) for o in dense] == [
        ("dense-2026-W40", date(2026, 9, 28), date(2026, 9, 30)),
        ("dense-2026-W41", date(2026, 10, 5), date(2026, 10, 8)),
    ]


def test_observances_every_year() -> None:
    found = occurrences(
        make_plan([duty(text="开展“安全生产月”、“全国消防安全日”活动")]), end=date(2027, 12, 31)
    )
    assert [(o.period, o.due.isoformat()) for o in found] == [
        ("safety-month-2026", "2026-06-30"),
        ("fire-day-2026", "2026-11-09"),
        ("safety-month-2027", "2027-06-30"),
        ("fire-day-2027", "2027-11-09"),
    ]
    assert [o.provisional for o in found] == [False, False, True, True]


def test_group_fans_out_to_every_member_in_units_order() -> None:
    found = occurrences(make_plan([duty(time_limit="9月底前完成", units=["各校", "教育局"])]))
    assert [o.unit for o in found] == ["教育局", "一中", "二小"]  # units-file order
    assert len({o.id for o in found}) == 3


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        pytest.param(2024, "2024-02-29", id="leap-2024-thursday"),
        pytest.param(2028, "2028-02-29", id="leap-2028-provisional-tuesday"),
        pytest.param(2027, "2027-02-26", id="2027-weekend-provisional"),
        pytest.param(2100, "2100-02-26", id="2100-not-leap"),
    ],
)
def test_february_ends_and_leap_years(year: int, expected: str) -> None:
    plan = make_plan([duty(time_limit="2月底前完成")], plan_year=year)
    assert dues(plan) == [expected]


def test_structured_schedule_replaces_phrases() -> None:
    d = duty(
        time_limit="长期坚持",
        schedule=[{"rrule": "FREQ=MONTHLY;BYMONTHDAY=15"}, {"deadline": "2026-03-20"}],
    )
    found = occurrences(make_plan([d]), end=date(2026, 4, 30))
    assert [(o.kind, o.due.isoformat()) for o in found] == [
        ("recurring", "2026-01-15"),
        (
            "recurring",
            "2026-02-14",
        ),  # 15th is a Sunday in the Spring Festival; 14th a make-up Saturday
        ("recurring", "2026-03-13"),
        ("deadline", "2026-03-20"),
        ("recurring", "2026-04-15"),
    ]


def test_plan_start_limits_recurring_duties() -> None:
    plan = make_plan([duty(time_limit="每月至少1次")], plan_start="2026-09-15")
    assert [o.period for o in occurrences(plan)] == ["2026-09", "2026-10", "2026-11", "2026-12"]
