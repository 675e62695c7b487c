"""Calendar periods (month, quarter, …) as keyed date spans, computed directly."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from .rules import Period


@dataclass(frozen=True, slots=True)
class Span:
    """One period: its stable key and its first and last day (inclusive)."""

    key: str
    start: date
    end: date


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


MonthDay = tuple[int, int]
SemesterDates = tuple[tuple[MonthDay, MonthDay], tuple[MonthDay, MonthDay]]


def _months(step: int, first: date, last: date) -> Iterator[tuple[int, int, date, date]]:
    """(year, index in year, start, end) of each step-month block overlapping [first, last]."""
    year, month = first.year, ((first.month - 1) // step) * step + 1
    while True:
        start = date(year, month, 1)
        if start > last:
            return
        end_month = month + step - 1
        yield year, (month - 1) // step + 1, start, month_end(year, end_month)
        month += step
        if month > 12:
            year, month = year + 1, month - 12


def _weeks(first: date, last: date) -> Iterator[Span]:
    start = first - timedelta(days=first.weekday())
    while start <= last:
        iso = start.isocalendar()
        yield Span(f"{iso.year}-W{iso.week:02d}", start, start + timedelta(days=6))
        start += timedelta(days=7)


def _safe_date(year: int, month_day: MonthDay) -> date:
    month, day = month_day
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _semesters(first: date, last: date, semesters: SemesterDates) -> Iterator[Span]:
    for year in range(first.year - 1, last.year + 1):
        for name, (start_md, end_md) in zip(("spring", "autumn"), semesters, strict=True):
            start = _safe_date(year, start_md)
            end = _safe_date(year + (1 if end_md < start_md else 0), end_md)
            if end >= first and start <= last:
                yield Span(f"{year}-{name}", start, end)


def spans(period: Period, first: date, last: date, semesters: SemesterDates) -> list[Span]:
    """Every period of the given kind that overlaps [first, last], in order."""
    if period == "week":
        return list(_weeks(first, last))
    if period == "semester":
        return list(_semesters(first, last, semesters))
    if period == "month":
        return [Span(f"{y}-{i:02d}", s, e) for y, i, s, e in _months(1, first, last)]
    if period == "quarter":
        return [Span(f"{y}-Q{i}", s, e) for y, i, s, e in _months(3, first, last)]
    if period == "half-year":
        return [Span(f"{y}-H{i}", s, e) for y, i, s, e in _months(6, first, last)]
    return [Span(f"{y}", s, e) for y, _, s, e in _months(12, first, last)]


def split(span: Span, count: int) -> list[Span]:
    """Cut a span into `count` nearly equal parts, keyed `<key>.<n>`."""
    if count == 1:
        return [span]
    days = (span.end - span.start).days + 1
    parts = []
    for i in range(count):
        lo = span.start + timedelta(days=i * days // count)
        hi = span.start + timedelta(days=(i + 1) * days // count - 1)
        parts.append(Span(f"{span.key}.{i + 1}", lo, max(lo, hi)))
    return parts


def merge(ranges: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Union of date ranges, sorted, touching ranges joined."""
    merged: list[tuple[date, date]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
