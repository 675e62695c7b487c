"""Structured schedule rules: what a phrase means, or what a user writes directly.

In YAML each rule is a one-key mapping named by its kind (plus options)::

    - deadline: 09-30            # MM-DD, MM (month end), YYYY-MM or YYYY-MM-DD
    - every: quarter             # week, month, quarter, half-year, year, semester
      count: 2                   # N occurrences spread evenly over each period
    - every: month               # due on day 15 (the month's end if shorter)
      day: 15                    # for week: 1 (Monday) to 7
    - every: week                # every other week
      interval: 2
    - rrule: FREQ=MONTHLY;BYMONTHDAY=15
    - periodic: true             # 定期: the default periodic cadence
    - standing: true             # 长期坚持: reviewed on the default cadence
    - campaign: {from: 04-01, until: cpc20}
    - window: {from: 04, to: 12} # 4-12月份: April to December, progress checked monthly
    - immediate: true            # 立即: due N workdays after the plan starts
    - immediate: 3               # 3天: three calendar days after the plan starts
      calendar_days: true
    - as_needed: true            # 及时: no due date, yearly review
    - densify: true              # weekly inside sensitive periods
    - observance: safety-month
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from ..limits import MAX_YEAR, MIN_YEAR, NAME_MAX_CHARS, PHRASE_MAX_CHARS
from .recur import parse_rrule

Period = Literal["week", "month", "quarter", "half-year", "year", "semester"]

_DEADLINE = re.compile(r"^(?:(?P<y>\d{4})-)?(?P<m>\d{1,2})(?:-(?P<d>\d{1,2}))?$")
_DEADLINE_FORMS = "MM-DD、MM（月底）、YYYY-MM 或 YYYY-MM-DD"
_MONTH_DAY = re.compile(r"^(?P<m>\d{1,2})-(?P<d>\d{1,2})$")


def check_year(year: int) -> None:
    """ValueError unless `year` is in the range every date of the config must be in."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(
            f"日期须在 {MIN_YEAR}–{MAX_YEAR} 年之间 (year out of range)，不是 {year} 年"
        )


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    phrase: str | None = Field(
        default=None,
        max_length=PHRASE_MAX_CHARS,
        description="the source words this rule was read from",
    )


def date_spec(value: Any) -> str:
    """A deadline-like value checked: MM-DD, MM (month end), YYYY-MM or YYYY-MM-DD."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"日期 (date) 写作 {_DEADLINE_FORMS}")
    match = _DEADLINE.match(value.strip())
    if not match:
        raise ValueError(f"日期 (date) 写作 {_DEADLINE_FORMS}")
    year, month, day = match["y"], int(match["m"]), match["d"]
    if year:
        check_year(int(year))
    if not 1 <= month <= 12:
        raise ValueError(f"没有 {month} 月")
    probe_year = int(year) if year else 2024  # a leap year, so 02-29 is allowed
    if day is not None:
        try:
            date(probe_year, month, int(day))
        except ValueError:
            raise ValueError(f"{value} 不是存在的日期 (not a date)") from None
    return value.strip()


def spec_parts(spec: str) -> tuple[int | None, int, int | None]:
    """(year or None for the plan year, month, day or None) of a checked date spec."""
    match = _DEADLINE.match(spec)
    assert match is not None
    return (
        int(match["y"]) if match["y"] else None,
        int(match["m"]),
        int(match["d"]) if match["d"] else None,
    )


class DeadlineRule(_Rule):
    deadline: str
    year_offset: int | None = Field(
        default=None, ge=-1, le=1, description="次年一月: 1 (the year after the plan year)"
    )

    @field_validator("deadline", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> str:
        return date_spec(value)

    @model_validator(mode="after")
    def _offset_without_year(self) -> DeadlineRule:
        if self.year_offset and spec_parts(self.deadline)[0] is not None:
            raise ValueError("year_offset 只用于不写年份的期限 (deadline)")
        return self

    @property
    def parts(self) -> tuple[int | None, int, int | None]:
        """(year or None for the plan year, month, day or None for the month's end)."""
        return spec_parts(self.deadline)


class EveryRule(_Rule):
    every: Period
    count: int = Field(default=1, ge=1, le=31, description="N times per period, spread evenly")
    day: int | None = Field(default=None, ge=1, le=31, description="month: day 1-31; week: 1-7")
    interval: int | None = Field(default=None, ge=1, le=12, description="week/month: every N")
    at: list[Literal["start", "middle", "end"]] | None = Field(
        default=None, description="每学期开学前、期中、期末: due at these points of each period"
    )

    @model_validator(mode="after")
    def _consistent(self) -> EveryRule:
        if self.day is not None:
            if self.every not in ("month", "week"):
                raise ValueError("day 只用于 every: month（1–31）或 every: week（1–7）")
            if self.every == "week" and self.day > 7:
                raise ValueError("every: week 的 day 是星期几：1（周一）到 7（周日）")
            if self.count > 1:
                raise ValueError("day 与 count 只能写一个")
        if (self.interval or 1) > 1 and self.every not in ("month", "week"):
            raise ValueError("interval 只用于 every: month 或 every: week")
        if self.at is not None:
            if not self.at or len(set(self.at)) != len(self.at):
                raise ValueError("at 列出 start、middle、end 中的一个或几个，各一次")
            if self.every == "week" or self.day is not None or self.count > 1:
                raise ValueError("at 用于月及更长的周期，且不与 day、count 同用")
        return self


class RRuleRule(_Rule):
    rrule: str = Field(max_length=PHRASE_MAX_CHARS)

    @field_validator("rrule")
    @classmethod
    def _parse(cls, value: str) -> str:
        parse_rrule(value)  # a date rule, DAILY or coarser, from the plan start
        return value


class PeriodicRule(_Rule):
    periodic: Literal[True] = True


class StandingRule(_Rule):
    standing: Period | Literal[True] = True


class CampaignSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: str = Field(alias="from", description="MM-DD in the plan year")
    until: str = Field(
        max_length=NAME_MAX_CHARS,
        description="key of a named event; the campaign ends when it ends",
    )

    @field_validator("start", mode="before")
    @classmethod
    def _month_day(cls, value: Any) -> str:
        text = str(value).strip()
        match = _MONTH_DAY.match(text)
        if not match:
            raise ValueError("专项行动的起始日 (from) 写作 MM-DD")
        date(2024, int(match["m"]), int(match["d"]))
        return text

    @property
    def month_day(self) -> tuple[int, int]:
        month, day = self.start.split("-")
        return int(month), int(day)


class CampaignRule(_Rule):
    campaign: CampaignSpec


class WindowSpec(BaseModel):
    """A stretch of time: each end MM, MM-DD, YYYY-MM or YYYY-MM-DD (plan year if none);
    a month as the start means its first day, as the end its last."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: str = Field(alias="from")
    end: str = Field(alias="to")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _spec(cls, value: Any) -> str:
        return date_spec(value)


class WindowRule(_Rule):
    window: WindowSpec


class ImmediateRule(_Rule):
    immediate: int | Literal[True] = True
    calendar_days: Literal[True] | None = Field(
        default=None, description="count calendar days (3天), not workdays (5个工作日)"
    )


class AsNeededRule(_Rule):
    as_needed: Literal[True] = True


class DensifyRule(_Rule):
    densify: Literal[True] = True


class ObservanceRule(_Rule):
    observance: str = Field(max_length=NAME_MAX_CHARS)


_KINDS = (
    "deadline",
    "every",
    "rrule",
    "periodic",
    "standing",
    "campaign",
    "window",
    "immediate",
    "as_needed",
    "densify",
    "observance",
)


def _rule_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        for kind in _KINDS:
            if kind in type(value).model_fields:
                return kind
        return None
    if isinstance(value, dict):
        found = [kind for kind in _KINDS if kind in value]
        return found[0] if len(found) == 1 else None
    return None


Rule = Annotated[
    Annotated[DeadlineRule, Tag("deadline")]
    | Annotated[EveryRule, Tag("every")]
    | Annotated[RRuleRule, Tag("rrule")]
    | Annotated[PeriodicRule, Tag("periodic")]
    | Annotated[StandingRule, Tag("standing")]
    | Annotated[CampaignRule, Tag("campaign")]
    | Annotated[WindowRule, Tag("window")]
    | Annotated[ImmediateRule, Tag("immediate")]
    | Annotated[AsNeededRule, Tag("as_needed")]
    | Annotated[DensifyRule, Tag("densify")]
    | Annotated[ObservanceRule, Tag("observance")],
    Discriminator(
        _rule_kind,
        custom_error_type="rule_kind",
        custom_error_message="每条规则是一个映射，恰好含以下一项：" + ", ".join(_KINDS),
    ),
]


def describe_rule(rule: _Rule) -> str:
    """A rule as one short line, e.g. `every: quarter, count 2` (the phrase left out)."""
    data = rule.model_dump(exclude_none=True, by_alias=True, exclude={"phrase"})
    data = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in data.items()}
    (kind, value), *rest = data.items()
    if isinstance(value, dict):
        text = f"{kind}: " + ", ".join(f"{k} {v}" for k, v in value.items())
    else:
        text = f"{kind}: {value}"
    return text + "".join(f", {k} {v}" for k, v in rest)
