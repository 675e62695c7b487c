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
    CONSOLE_UPLOAD_MAX_MB,
    DUTY_ID_LEVEL_MAX_DIGITS,
    DUTY_ID_MAX_LEVELS,
    MAX_YEAR,
    MIN_YEAR,
    NAME_MAX_CHARS,
    PHRASE_MAX_CHARS,
    PLAN_KEY_MAX_CHARS,
    PLAN_SHORT_MAX_CHARS,
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
        raise ValueError("提前量写作天数（'7d'）或工作日数（'3wd'）")
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
        raise ValueError("应为 MM-DD（月-日）")
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
        raise ValueError("应为 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD") from None
    if end < start:
        raise ValueError("结束日早于开始日")
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
        raise ValueError("应为 MM-DD..MM-DD")
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
            raise ValueError("send_window.end 必须晚于 send_window.start")
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
            raise ValueError("端口 (port) 应在 0–65535 之间")
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


class ConsoleSettings(_Model):
    """`console:`: the web console (督办看板) on the service's listener."""

    enabled: bool = Field(True, description="serve the console under /console/")
    session_hours: int = Field(168, ge=1, le=2160, description="a login lasts this long")
    login_link_minutes: int = Field(30, ge=1, le=1440, description="`users link` expiry")
    max_upload_mb: int = Field(
        20, ge=1, le=CONSOLE_UPLOAD_MAX_MB, description="largest evidence file"
    )


class Settings(_Model):
    timezone: str = "Asia/Shanghai"
    plan_year: int = Field(ge=MIN_YEAR, le=MAX_YEAR)
    plan_start: BoundedDate | None = Field(None, description="default: 1 January of the plan year")
    track_from: BoundedDate | None = Field(
        None,
        description="跟踪起始日: occurrences due before it are history (not reminded, not "
        "overdue); default: the day the ledger was created",
    )
    lead_times: list[Offset] = Field(default_factory=lambda: ["7d", "3wd", "0d"])
    overdue_steps: list[Offset] = Field(default_factory=lambda: ["1wd", "3wd", "7wd"])
    send_window: SendWindow = SendWindow()
    cadence: Cadence = Cadence()
    semesters: Semesters = Semesters()
    feeds: FeedSettings = FeedSettings()
    delivery: DeliverySettings = DeliverySettings()
    loop: LoopSettings = LoopSettings()
    console: ConsoleSettings = ConsoleSettings()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if len(value) <= TIMEZONE_MAX_CHARS and _ZONE.match(value):
            try:
                ZoneInfo(value)
                return value
            except (ZoneInfoNotFoundError, ValueError, OSError):  # `America` is a directory
                pass
        raise ValueError("不是已知的时区 (time zone)，例如 Asia/Shanghai")

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
    groups: list[str] = Field(
        default_factory=list, description="groups no unit has joined yet (e.g. 各科室)"
    )


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
            raise ValueError("事件的结束日早于开始日")
        return self


class Observance(_Model):
    key: Key
    name: Name
    month: int | None = Field(None, ge=1, le=12, description="a whole month, e.g. 6")
    day: MonthDay | None = Field(None, description="one day each year, MM-DD")

    @model_validator(mode="after")
    def _one(self) -> Observance:
        if (self.month is None) == (self.day is None):
            raise ValueError("主题活动 (observance) 须有且只有 month 或 day 之一")
        return self


class CalendarData(_Model):
    years: dict[Year, YearDays] = Field(default_factory=dict)
    sensitive_periods: list[SensitivePeriod] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    observances: list[Observance] = Field(default_factory=list)


# ---------------------------------------------------------------- duties

DUTY_ID = (  # 4.5, 7, 2.3, 3.2.1: at most 4 levels of at most 4 digits
    rf"^\d{{1,{DUTY_ID_LEVEL_MAX_DIGITS}}}"
    rf"(?:\.\d{{1,{DUTY_ID_LEVEL_MAX_DIGITS}}}){{0,{DUTY_ID_MAX_LEVELS - 1}}}$"
)


# A plan's key (计划键): `duties/<key>.yaml`, and the prefix of its duties' ids.
PLAN_KEY = rf"^[a-z0-9][a-z0-9-]{{0,{PLAN_KEY_MAX_CHARS - 1}}}$"
PLAN_SEPARATOR = ":"


def plan_duty_id(plan: str | None, duty_id: str) -> str:
    """A duty's id in a service of several plans: ('2025', '4.5') → '2025:4.5'; a plan
    without a prefix (None) keeps the table's own id."""
    return duty_id if plan is None else f"{plan}{PLAN_SEPARATOR}{duty_id}"


def split_duty_id(duty_id: str) -> tuple[str | None, str]:
    """'2025:4.5' → ('2025', '4.5'); '4.5' → (None, '4.5')."""
    plan, sep, own = duty_id.rpartition(PLAN_SEPARATOR)
    return (plan, own) if sep else (None, duty_id)


def duty_sort_key(duty_id: object) -> tuple[int, ...]:
    """The one place duty ids are taken apart: '3.2.1' → (3, 2, 1), so 2 < 2.3 < 10;
    a plan's ids ('2025:4.5') after every unprefixed one, plans in key order;
    anything else sorts last."""
    plan, own = split_duty_id(str(duty_id))
    parts = own.split(".")
    if not all(part.isascii() and part.isdigit() for part in parts) or plan == "":
        return (10**9,)
    numbers = tuple(int(part) for part in parts)
    if plan is None:
        return numbers
    # table numbers are below 10**DUTY_ID_LEVEL_MAX_DIGITS; the key's characters, -1 to end it
    return (10**8, *(ord(char) for char in plan), -1, *numbers)


class Duty(_Model):
    id: str = Field(
        pattern=DUTY_ID, description="the table's numbering: 4.5 (<measure>.<task>), 7, 2.3, 3.2.1"
    )
    section: Title | None = None
    measure: Title | None = None
    title: str = Field(min_length=1, max_length=TITLE_MAX_CHARS)
    text: str = Field("", max_length=TEXT_MAX_CHARS)
    units: list[Name] = Field(min_length=1, description="responsible units or groups")
    partners: list[Name] = Field(default_factory=list, description="配合单位")
    leader: Title | None = Field(None, description="责任领导/责任人 as written; never a unit")
    time_limit: Phrase | None = Field(None, description="the time-limit cell, verbatim")
    schedule: list[Rule] | None = Field(None, description="structured rules; replace the phrases")
    lead_times: list[Offset] | None = None
    overdue_steps: list[Offset] | None = None

    @property
    def sort_key(self) -> tuple[int, ...]:
        return duty_sort_key(self.id)


class DutiesFile(_Model):
    """One duty file: one plan (计划), `duties.yaml` or `duties/<key>.yaml`."""

    key: str | None = Field(
        None, pattern=PLAN_KEY, description="计划键 (plan key); default: the file's name"
    )
    title: Title | None = None
    short: str | None = Field(
        None,
        min_length=1,
        max_length=PLAN_SHORT_MAX_CHARS,
        description="short name shown beside its duties",
    )
    source_year: int | None = None
    plan_year: Year | None = Field(None, description="default: settings.yaml's")
    plan_start: BoundedDate | None = Field(None, description="default: 1 January of its year")
    active: bool = Field(True, description="false: retired (停用): no reminders, history kept")
    duties: list[Duty] = Field(default_factory=list)
