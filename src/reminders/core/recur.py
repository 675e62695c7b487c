"""User-written `rrule:` schedules: checked when read, expanded within a fixed budget.

Only date rules are taken: FREQ DAILY, WEEKLY, MONTHLY or YEARLY, counted from the
plan start (no DTSTART or TZID of their own, no time of day), INTERVAL 1 to
RRULE_MAX_INTERVAL, UNTIL as a date in the config's year range.

python-dateutil looks for a rule's next date without end: a rule that never
matches again (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30) is followed day by day to the
year 9999. The Gregorian calendar repeats every 400 years (146,097 days, a whole
number of weeks), so a rule's dates from a start moved by a multiple of 400 years
are its dates from the real start, moved alike. Every rule is therefore evaluated
_SHIFT years later, where the year 9999 — dateutil's own end — lies at most
RRULE_SEARCH_YEARS after any start the config allows: no rule can make an
expansion look at more than that many years of candidate days.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from dateutil.rrule import rrule, rrulestr

from ..limits import MAX_YEAR, MIN_YEAR, RRULE_MAX_INTERVAL, RRULE_SEARCH_YEARS

_SHIFT = date.max.year + 1 - RRULE_SEARCH_YEARS - MIN_YEAR  # 7,600 years
assert _SHIFT % 400 == 0

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_DATE_PARTS = ("BYDAY", "BYMONTHDAY", "BYMONTH", "BYYEARDAY", "BYWEEKNO", "BYSETPOS", "WKST")
_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", *_DATE_PARTS)
_TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
_PART = re.compile(r"^([A-Za-z]+)=([A-Za-z0-9,+-]*)$")
_UNTIL = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_rrule(text: str) -> dict[str, str]:
    """KEY -> value of a date rule; ValueError (in Chinese, naming the part) otherwise."""
    body = text.strip()
    if body[:6].upper() == "RRULE:":
        body = body[6:]
    upper = body.upper()
    if "\n" in body or "DTSTART" in upper or "TZID" in upper:
        raise ValueError(
            "rrule 中不能写 DTSTART 或 TZID：规则从计划开始日 (plan_start) 起算，"
            "按 settings.yaml 的时区 (timezone)"
        )
    parts: dict[str, str] = {}
    for item in body.split(";"):
        match = _PART.match(item.strip())
        if not match:
            raise ValueError(
                "rrule 的每一项写作 KEY=VALUE，用 ; 隔开，例如 FREQ=MONTHLY;BYMONTHDAY=15"
            )
        key, value = match[1].upper(), match[2].upper()
        if key in _TIME_PARTS:
            raise ValueError(f"rrule 只按日期重复，不支持 {key}（时分秒）")
        if key not in _PARTS:
            raise ValueError(f"rrule 不支持 {key[:20]}；可用：{', '.join(_PARTS)}")
        if key in parts:
            raise ValueError(f"rrule 中 {key} 写了两次")
        parts[key] = value
    freq = parts.get("FREQ")
    if freq not in FREQUENCIES:
        raise ValueError(
            "rrule 的 FREQ 只能是 DAILY、WEEKLY、MONTHLY 或 YEARLY（按日及更粗）"
            + (f"，不支持 {freq[:20]}" if freq else "")
        )
    interval = parts.get("INTERVAL", "1")
    if not interval.isdigit() or not 1 <= int(interval[:6]) <= RRULE_MAX_INTERVAL:
        raise ValueError(f"rrule 的 INTERVAL 须为 1 到 {RRULE_MAX_INTERVAL} 的整数")
    count = parts.get("COUNT")
    if count is not None and not (count.isdigit() and len(count) <= 6 and int(count) >= 1):
        raise ValueError("rrule 的 COUNT 须为 1 到 999999 的整数")
    until = parts.get("UNTIL")
    if until is not None and count is not None:
        raise ValueError("rrule 的 COUNT 与 UNTIL 只能写一个")
    if until is not None:
        match = _UNTIL.match(until)
        try:
            if match is None:
                raise ValueError
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise ValueError("rrule 的 UNTIL 写作日期 YYYYMMDD，例如 UNTIL=20261231") from None
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise ValueError(f"rrule 的 UNTIL 须在 {MIN_YEAR}–{MAX_YEAR} 年之间")
    try:
        _rule(parts, date(MIN_YEAR, 1, 1))
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise ValueError(f"不是有效的 rrule: {str(exc)[:100]}") from None
    return parts


def _rule(parts: dict[str, str], start: date) -> rrule:
    """The rule from `start`, both moved _SHIFT years on."""
    shifted = dict(parts)
    if "UNTIL" in shifted:
        shifted["UNTIL"] = f"{int(shifted['UNTIL'][:4]) + _SHIFT:04d}{shifted['UNTIL'][4:]}"
    text = ";".join(f"{key}={value}" for key, value in shifted.items())
    result = rrulestr(text, dtstart=_later(start))
    assert isinstance(result, rrule)
    return result


def _later(day: date) -> datetime:
    return datetime(day.year + _SHIFT, day.month, day.day)


def _earlier(moment: datetime) -> date:
    return date(moment.year - _SHIFT, moment.month, moment.day)


def _clamp(day: date) -> date:
    """Within the range that can be moved _SHIFT years on (years 1 to 2399)."""
    latest = date(date.max.year - _SHIFT, 12, 31)
    return min(max(day, date(1, 1, 1)), latest)


def rrule_dates(text: str, start: date, first: date, last: date) -> list[date]:
    """The dates of the rule counted from `start`, from `first` to `last` inclusive."""
    rule = _rule(parse_rrule(text), start)
    found = rule.between(_later(_clamp(first)), _later(_clamp(last)), inc=True)
    return [_earlier(moment) for moment in found]


def first_rrule_date(text: str, start: date, last: date) -> date | None:
    """The rule's first date counted from `start`, if there is one on or before `last`."""
    rule = _rule(parse_rrule(text), start)
    moment = rule.after(_later(_clamp(start)), inc=True)
    if moment is None:
        return None
    found = _earlier(moment)
    return found if found <= last else None
