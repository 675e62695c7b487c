"""The config's data model: settings, units, calendar data and duties.

Pydantic models, frozen and strict about unknown keys, so a typo in the YAML is
an error naming the field rather than a silently ignored line.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from ..limits import (
    DUTY_ID_LEVEL_MAX_DIGITS,
    DUTY_ID_MAX_CHARS,
    DUTY_ID_MAX_LEVELS,
    MAX_YEAR,
    MIN_YEAR,
    NAME_MAX_CHARS,
    PHRASE_MAX_CHARS,
    TEXT_MAX_CHARS,
    TIMEZONE_MAX_CHARS,
    TITLE_MAX_CHARS,
)
from .rules import Period, Rule, check_year

if TYPE_CHECKING:
    from .workcalendar import WorkCalendar

_OFFSET = re.compile(r"^(\d{1,3})(d|wd)$")
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_SLUG = r"^[a-z0-9][a-z0-9-]*$"
_ZONE = re.compile(r"^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*$")

Name = Annotated[str, StringConstraints(max_length=NAME_MAX_CHARS)]
Title = Annotated[str, StringConstraints(max_length=TITLE_MAX_CHARS)]
Phrase = Annotated[str, StringConstraints(max_length=PHRASE_MAX_CHARS)]
Key = Annotated[str, StringConstraints(pattern=_SLUG, max_length=NAME_MAX_CHARS)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _offset(value: str) -> str:
    if not _OFFSET.match(value):
        raise ValueError("a lead time is a count of days ('7d') or workdays ('3wd')")
    return value


Offset = Annotated[str, AfterValidator(_offset)]


def parse_offset(value: str) -> tuple[int, bool]:
    """'3wd' -> (3, True): count and whether it counts workdays."""
    match = _OFFSET.match(value)
    assert match is not None, value
    return int(match[1]), match[2] == "wd"


def shift(calendar: WorkCalendar, due: date, offset: str, sign: int) -> date:
    """`offset` ('7d', '3wd') before (sign -1) or after (+1) a due date."""
    count, workdays = parse_offset(offset)
    if workdays:
        return calendar.add_workdays(due, sign * count)
    return due + timedelta(days=sign * count)


def _month_day(value: Any) -> tuple[int, int]:
    if isinstance(value, tuple):
        return value
    match = _MONTH_DAY.match(str(value).strip())
    if not match:
        raise ValueError("expected MM-DD")
    month, day = int(match[1]), int(match[2])
    date(2024, month, day)  # raises for 02-30 and friends
    return month, day


MonthDay = Annotated[tuple[int, int], BeforeValidator(_month_day)]


def _date_range(value: Any) -> tuple[date, date]:
    if isinstance(value, tuple):
        return value
    if isinstance(value, date):
        return value, value
    text = str(value).strip()
    first, sep, last = text.partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if sep else start
    except ValueError:
        raise ValueError("expected YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD") from None
    if end < start:
        raise ValueError("the range ends before it starts")
    return start, end


def _bounded_range(value: tuple[date, date]) -> tuple[date, date]:
    check_year(value[0].year)
    check_year(value[1].year)
    return value


def _bounded_date(value: date) -> date:
    check_year(value.year)
    return value


DateRange = Annotated[
    tuple[date, date], BeforeValidator(_date_range), AfterValidator(_bounded_range)
]
BoundedDate = Annotated[date, AfterValidator(_bounded_date)]


def _local_time(value: time) -> time:
    if value.tzinfo is not None:  # also what a bare number such as 0 becomes
        raise ValueError('时刻写作 "HH:MM"，不带时区 (local time, e.g. "09:00")')
    return value


LocalTime = Annotated[time, AfterValidator(_local_time)]
Year = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]


def _month_day_range(value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    if isinstance(value, tuple):
        return value
    first, sep, last = str(value).partition("..")
    if not sep:
        raise ValueError("expected MM-DD..MM-DD")
    return _month_day(first), _month_day(last)


MonthDayRange = Annotated[
    tuple[tuple[int, int], tuple[int, int]], BeforeValidator(_month_day_range)
]


# ---------------------------------------------------------------- settings


class SendWindow(_Model):
    start: LocalTime = time(9, 0)
    end: LocalTime = time(17, 30)
    workdays_only: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.end <= self.start:
            raise ValueError("send_window.end must be after send_window.start")
        return self


class Cadence(_Model):
    standing_review: Period = Field("quarter", description="长期坚持: self-check cadence")
    periodic: Period = Field("quarter", description="定期: default cadence")
    immediate_workdays: int = Field(5, ge=0, le=60, description="立即: workdays after plan start")
    as_needed_review: Period = Field("year", description="及时: review cadence")


class Semesters(_Model):
    spring: MonthDayRange = ((3, 1), (7, 10))
    autumn: MonthDayRange = ((9, 1), (1, 15))


class DeliverySettings(_Model):
    """`delivery:`: the ledger, robot rate limits, retries and catch-up."""

    ledger_url: str | None = Field(
        None, description="SQLAlchemy URL; default: sqlite file ledger.sqlite3 in the state dir"
    )
    rate_limit_per_minute: int = Field(20, ge=1, le=1000, description="per robot")
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    attempts_per_run: int = Field(3, ge=1, le=20, description="tries inside one delivery run")
    max_attempts: int = Field(12, ge=1, le=1000, description="then a transient failure is dead")
    retry_base_seconds: float = Field(30.0, gt=0, description="first backoff; doubles each time")
    retry_max_seconds: float = Field(1800.0, gt=0)
    lease_seconds: int = Field(300, ge=10, description="a claim older than this may be taken over")
    catch_up_hours: int = Field(168, ge=0, description="missed reminders older than this: logged")
    max_parallel_sends: int = Field(
        4,
        ge=1,
        le=100,
        description="messages on the wire at once; a crash repeats at most this many",
    )
    lookback_days: int = Field(14, ge=1, le=366, description="how far back a run looks")
    review_lead_times: list[Offset] = Field(
        default_factory=lambda: ["7d"], description="长期坚持 self-check digest: when it is sent"
    )


class FeedSettings(_Model):
    """Calendar feeds: the rolling window, the public URL and the identity of events."""

    days_back: int = Field(90, ge=0, le=3660, description="window: days before today")
    days_ahead: int = Field(400, ge=1, le=3660, description="window: days after today")
    base_url: str | None = Field(
        None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", description="public URL of the server"
    )
    uid_domain: str = Field(
        "reminders.local", pattern=r"^[A-Za-z0-9.-]+$", description="UID = <occurrence>@<domain>"
    )
    dashboard_url: str | None = Field(
        None, pattern=r"^https?://\S+$", description="URL of an event; {id} = occurrence id"
    )
    max_events: int = Field(1000, ge=10, le=100_000, description="Google drops ~1,100+")
    max_bytes: int = Field(900_000, ge=10_000, le=50_000_000, description="Google drops ~1 MB+")
    refresh_minutes: int = Field(60, ge=5, le=10_080, description="REFRESH-INTERVAL")
    listen: str = Field("127.0.0.1:8080", pattern=r"^\S+:\d{1,5}$", description="HOST:PORT")

    @field_validator("listen")
    @classmethod
    def _port(cls, value: str) -> str:
        if int(value.rpartition(":")[2]) > 65535:
            raise ValueError("the port must be 0-65535")
        return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class LoopSettings(_Model):
    """`loop:`: closing the loop (闭环): action links, escalation and the weekly report."""

    escalate_after_workdays: int | None = Field(
        3, ge=1, le=60, description="overdue this long: the supervisor is told too; null: off"
    )
    link_days: int = Field(30, ge=1, le=366, description="action links in messages expire after")
    base_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="public URL of the service for action links; default: feeds.base_url",
    )
    report_weekday: Weekday | None = Field("mon", description="weekly report day; null: off")
    report_time: LocalTime = Field(time(9, 0), description="weekly report time (local)")
    report_to: list[str] | None = Field(
        None, description="units that get the weekly report; default: every supervising unit"
    )
    report_worst: int = Field(10, ge=0, le=200, description="worst overdue items listed")


class Settings(_Model):
    timezone: str = "Asia/Shanghai"
    plan_year: int = Field(ge=MIN_YEAR, le=MAX_YEAR)
    plan_start: BoundedDate | None = Field(None, description="default: 1 January of the plan year")
    lead_times: list[Offset] = Field(default_factory=lambda: ["7d", "3wd", "0d"])
    overdue_steps: list[Offset] = Field(default_factory=lambda: ["1wd", "3wd", "7wd"])
    send_window: SendWindow = SendWindow()
    cadence: Cadence = Cadence()
    semesters: Semesters = Semesters()
    feeds: FeedSettings = FeedSettings()
    delivery: DeliverySettings = DeliverySettings()
    loop: LoopSettings = LoopSettings()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if len(value) <= TIMEZONE_MAX_CHARS and _ZONE.match(value):
            try:
                ZoneInfo(value)
                return value
            except (ZoneInfoNotFoundError, ValueError, OSError):  # `America` is a directory
                pass
        raise ValueError("不是已知的 IANA 时区 (time zone)，例如 Asia/Shanghai")

    @property
    def start(self) -> date:
        return self.plan_start or date(self.plan_year, 1, 1)


# ---------------------------------------------------------------- units


class Unit(_Model):
    name: str = Field(min_length=1, max_length=NAME_MAX_CHARS)
    groups: list[Name] = Field(default_factory=list, description="e.g. 各校")
    supervisor: Name | None = Field(None, description="unit told about this one's overdue work")
    channels: list[Name] = Field(default_factory=list)


class UnitsFile(_Model):
    units: list[Unit] = Field(min_length=1)


# ---------------------------------------------------------------- calendar data


class YearDays(_Model):
    holidays: list[DateRange] = Field(default_factory=list)
    workdays: list[DateRange] = Field(default_factory=list)


class SensitivePeriod(_Model):
    name: Name
    dates: list[DateRange] = Field(default_factory=list)
    each_year: list[MonthDayRange] = Field(default_factory=list)


class Event(_Model):
    key: Key
    name: Name
    start: BoundedDate
    end: BoundedDate
    aliases: list[Name] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> Event:
        if self.end < self.start:
            raise ValueError("the event ends before it starts")
        return self


class Observance(_Model):
    key: Key
    name: Name
    month: int | None = Field(None, ge=1, le=12, description="a whole month, e.g. 6")
    day: MonthDay | None = Field(None, description="one day each year, MM-DD")

    @model_validator(mode="after")
    def _one(self) -> Observance:
        if (self.month is None) == (self.day is None):
            raise ValueError("an observance has exactly one of 'month' or 'day'")
        return self


class CalendarData(_Model):
    years: dict[Year, YearDays] = Field(default_factory=dict)
    sensitive_periods: list[SensitivePeriod] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    observances: list[Observance] = Field(default_factory=list)


# ---------------------------------------------------------------- duties


class Duty(_Model):
    id: str = Field(pattern=r"^\d+\.\d+$", description="<measure>.<task>, e.g. 4.5")
    section: Title | None = None
    measure: Title | None = None
    title: str = Field(min_length=1, max_length=TITLE_MAX_CHARS)
    text: str = Field("", max_length=TEXT_MAX_CHARS)
    units: list[Name] = Field(min_length=1, description="responsible units or groups")
    partners: list[Name] = Field(default_factory=list, description="配合单位")
    time_limit: Phrase | None = Field(None, description="the time-limit cell, verbatim")
    schedule: list[Rule] | None = Field(None, description="structured rules; replace the phrases")
    lead_times: list[Offset] | None = None
    overdue_steps: list[Offset] | None = None

    @field_validator("id")
    @classmethod
    def _bounded_id(cls, value: str) -> str:
        levels = value.rpartition(":")[2].split(".")
        if (
            len(value) > DUTY_ID_MAX_CHARS
            or len(levels) > DUTY_ID_MAX_LEVELS
            or any(len(level) > DUTY_ID_LEVEL_MAX_DIGITS for level in levels)
        ):
            raise ValueError(
                f"编号 (id) 过长：至多 {DUTY_ID_MAX_LEVELS} 级、每级至多 "
                f"{DUTY_ID_LEVEL_MAX_DIGITS} 位数字、共 {DUTY_ID_MAX_CHARS} 字符"
            )
        return value

    @property
    def sort_key(self) -> tuple[int, int]:
        measure, task = self.id.split(".")
        return int(measure), int(task)


class DutiesFile(_Model):
    title: Title | None = None
    source_year: int | None = None
    duties: list[Duty] = Field(default_factory=list)
