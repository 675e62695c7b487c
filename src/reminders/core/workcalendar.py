"""China's working calendar: official data plus the user's corrections.

The `chinesecalendar` package knows 2004 to its last release year and raises
`NotImplementedError` after that. Here a year with no data is never an error:
it falls back to weekends-only and is *provisional*, which callers surface.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

_ONE_DAY = timedelta(days=1)
WEEKDAYS_CN = "一二三四五六日"  # by date.weekday()


def weekday_cn(day: date) -> str:
    """周一 … 周日."""
    return f"周{WEEKDAYS_CN[day.weekday()]}"


@dataclass(frozen=True, slots=True)
class YearOverride:
    """Days the user declares for one year; declaring a year makes it official."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


def package_calendar() -> tuple[frozenset[date], frozenset[date], frozenset[int]]:
    """(rest days off a weekday, make-up working days, years covered) from `chinesecalendar`."""
    import chinese_calendar

    holidays = frozenset(chinese_calendar.holidays)
    workdays = frozenset(chinese_calendar.workdays)
    years = frozenset(range(min(d.year for d in holidays), max(d.year for d in holidays) + 1))
    return holidays, workdays, years


@dataclass(slots=True)
class WorkCalendar:
    """Answers workday questions; build with `WorkCalendar.build`."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    official_years: frozenset[int]
    _last_cache: dict[date, date] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        overrides: Mapping[int, YearOverride] | None = None,
        base: tuple[Iterable[date], Iterable[date], Iterable[int]] | None = None,
    ) -> WorkCalendar:
        base_holidays, base_workdays, base_years = base if base is not None else package_calendar()
        holidays = set(base_holidays)
        workdays = set(base_workdays)
        years = set(base_years)
        for year, override in (overrides or {}).items():
            years.add(year)
            holidays -= override.workdays
            workdays -= override.holidays
            holidays |= override.holidays
            workdays |= override.workdays
        return cls(frozenset(holidays), frozenset(workdays), frozenset(years))

    def is_provisional(self, year: int) -> bool:
        """True when the year has no official data and weekends-only is a guess."""
        return year not in self.official_years

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def last_workday_on_or_before(self, day: date) -> date:
        """The deadline rule: a due date on a rest day moves back to the workday before."""
        hit = self._last_cache.get(day)
        if hit is not None:
            return hit
        probe = day
        while not self.is_workday(probe):
            probe -= _ONE_DAY
        self._last_cache[day] = probe
        return probe

    def first_workday_on_or_after(self, day: date) -> date:
        while not self.is_workday(day):
            day += _ONE_DAY
        return day

    def add_workdays(self, day: date, count: int) -> date:
        """The date `count` workdays after `day` (before it if negative); `day` is not counted."""
        step = _ONE_DAY if count >= 0 else -_ONE_DAY
        remaining = abs(count)
        while remaining:
            day += step
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Workdays in (start, end]; negative when end is before start."""
        if end < start:
            return -self.workdays_between(end, start)
        count = 0
        day = start
        while day < end:
            day += _ONE_DAY
            if self.is_workday(day):
                count += 1
        return count
