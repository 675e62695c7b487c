from __future__ import annotations

from datetime import date, timedelta

import pytest

from reminders.core.workcalendar import WorkCalendar, YearOverride

CAL = WorkCalendar.build()


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        pytest.param(date(2026, 2, 28), True, id="2026-02-28-saturday-makeup-for-spring-festival"),
        pytest.param(date(2026, 1, 31), False, id="2026-01-31-ordinary-saturday"),
        pytest.param(date(2026, 9, 20), True, id="2026-09-20-sunday-makeup-for-national-day"),
        pytest.param(date(2026, 10, 10), True, id="2026-10-10-saturday-makeup-for-national-day"),
        pytest.param(date(2026, 10, 1), False, id="2026-10-01-national-day"),
        pytest.param(date(2026, 2, 17), False, id="2026-02-17-spring-festival-weekday"),
        pytest.param(date(2026, 3, 2), True, id="2026-03-02-ordinary-monday"),
    ],
)
def test_official_2026_days(day: date, workday: bool) -> None:
    assert CAL.is_workday(day) is workday


@pytest.mark.parametrize(
    ("nominal", "expected"),
    [
        pytest.param(date(2026, 2, 28), date(2026, 2, 28), id="feb-2026-ends-on-working-saturday"),
        pytest.param(date(2026, 1, 31), date(2026, 1, 30), id="jan-2026-saturday-moves-to-friday"),
        pytest.param(
            date(2026, 5, 31), date(2026, 5, 29), id="may-2026-sunday-and-saturday-skipped"
        ),
        pytest.param(date(2026, 10, 7), date(2026, 9, 30), id="golden-week-moves-before-holiday"),
        pytest.param(date(2026, 10, 10), date(2026, 10, 10), id="makeup-saturday-stays"),
        pytest.param(
            date(2026, 2, 23), date(2026, 2, 14), id="spring-festival-back-to-makeup-saturday"
        ),
    ],
)
def test_last_workday_on_or_before(nominal: date, expected: date) -> None:
    assert CAL.last_workday_on_or_before(nominal) == expected


def test_year_without_data_is_weekends_only_and_provisional() -> None:
    year = max(CAL.official_years) + 1
    assert CAL.is_provisional(year)
    assert not CAL.is_provisional(2026)
    saturday = next(date(year, 1, d) for d in range(1, 8) if date(year, 1, d).weekday() == 5)
    assert CAL.is_workday(saturday) is False
    assert CAL.is_workday(saturday + timedelta(days=2)) is True
    # never raises, however far out
    assert CAL.last_workday_on_or_before(date(2099, 12, 31)) == date(2099, 12, 31)


def test_config_year_block_overrides_and_makes_year_official() -> None:
    cal = WorkCalendar.build(
        {2027: YearOverride(frozenset({date(2027, 1, 1)}), frozenset({date(2027, 2, 7)}))}
    )
    assert not cal.is_provisional(2027)
    assert cal.is_workday(date(2027, 1, 1)) is False  # a Friday declared a holiday
    assert cal.is_workday(date(2027, 2, 7)) is True  # a Sunday declared a working day


def test_config_can_correct_a_package_year() -> None:
    cal = WorkCalendar.build({2026: YearOverride(workdays=frozenset({date(2026, 10, 1)}))})
    assert cal.is_workday(date(2026, 10, 1)) is True
    assert cal.is_workday(date(2026, 10, 2)) is False


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        pytest.param(date(2026, 11, 27), 1, date(2026, 11, 30), id="friday-plus-one-is-monday"),
        pytest.param(date(2026, 9, 30), 1, date(2026, 10, 8), id="over-golden-week"),
        pytest.param(date(2026, 10, 9), 1, date(2026, 10, 10), id="onto-makeup-saturday"),
        pytest.param(date(2026, 11, 30), -3, date(2026, 11, 25), id="three-workdays-before"),
        pytest.param(date(2026, 11, 30), 0, date(2026, 11, 30), id="zero"),
    ],
)
def test_add_workdays(start: date, count: int, expected: date) -> None:
    assert CAL.add_workdays(start, count) == expected
    assert CAL.workdays_between(start, expected) == count
