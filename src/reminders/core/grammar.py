"""Schedule phrases → structured rules.

Two sources are read: the time-limit cell, which must be understood entirely,
and the task text, from which only schedule-bearing phrases are picked out
(running prose there is not an error). Whitespace and line breaks are ignored.

In the text, 长期坚持 / 立即 / 及时 are ordinary adverbs ("及时消除隐患") and are
read only when the time-limit cell is empty.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from .rules import (
    AsNeededRule,
    CampaignRule,
    DeadlineRule,
    DensifyRule,
    EveryRule,
    ImmediateRule,
    ObservanceRule,
    Period,
    PeriodicRule,
    Rule,
    StandingRule,
)

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_NUM = r"\d{1,2}|[一二两三四五六七八九十]{1,3}"

_PERIODS: dict[str, Period] = {
    "半年": "half-year",
    "季度": "quarter",
    "季": "quarter",
    "月": "month",
    "年": "year",
    "学期": "semester",
    "周": "week",
    "星期": "week",
}
_QUARTERS = {"一": 3, "二": 6, "三": 9, "四": 12, "1": 3, "2": 6, "3": 9, "4": 12}

_EVERY = re.compile(
    r"每(两|二|[2-9])?(半年|季度|季|月|年|学期|周|星期)"
    r"(?:(末|底)|(\d{1,2})日|([一二三四五六日天1-7])(?![次个]))?(?:之?前)?"
)
_WEEKDAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}
_COUNT = re.compile(rf"(?:至少)?[^。；;，,]*?({_NUM})次")
_CAMPAIGN = re.compile(rf"从?({_NUM})月(?:({_NUM})日)?起至(.+?)结束")
_DATE_DEADLINE = re.compile(rf"(?:(\d{{4}})年)?({_NUM})月({_NUM})日(?:之?前|止)(?:完成)?")
_MONTH_DEADLINE = re.compile(rf"(?:(\d{{4}})年)?({_NUM})月(?:底|末)(?:之?前)?(?:完成)?")
_YEAR_END = re.compile(r"(?:年底|年末|年内)(?:之?前)?(?:完成)?")
_HALF = re.compile(r"(上|下)半年(?:完成)?")
_QUARTER = re.compile(r"第?([一二三四1-4])季度(?:末|底)?(?:之?前)?(?:完成)?")
_STANDING = re.compile(r"长期坚持|持续推进|长期")
_IMMEDIATE = re.compile(r"立即(?:整改|开展|完成)?")
_AS_NEEDED = re.compile(r"及时(?:修订|更新|调整|完善)?")
_PERIODIC = re.compile(r"定期")
_DENSIFY = re.compile(
    r"(?:(?:重点)?敏感时期(?:要|应|须)?)?(?:加密[^。；;]*?频次|加密(?:检查|频次))"
)
_FILLER = re.compile(r"[完成并和及、，,；;。.\s（）()]+")


def normalise(text: str) -> str:
    """NFKC (full-width digits and punctuation) and no whitespace at all."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def cn_number(token: str) -> int:
    if token.isdigit():
        return int(token)
    if token == "十":
        return 10
    if "十" in token:
        tens, _, units = token.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)
    return _CN_DIGITS[token]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Names the grammar must recognise that come from config, not from code."""

    observances: Mapping[str, str] = field(default_factory=dict)  # name -> key
    events: Mapping[str, str] = field(default_factory=dict)  # name -> key


@dataclass(slots=True)
class Reading:
    """What a duty's phrases were read as."""

    rules: list[Rule] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


class _Scanner:
    """Finds rules in one normalised string, remembering which spans were consumed."""

    def __init__(self, text: str, vocabulary: Vocabulary) -> None:
        self.text = text
        self.vocabulary = vocabulary
        self.used = [False] * len(text)
        self.found: list[tuple[int, Rule]] = []
        self.invalid: list[str] = []

    def _take(self, match: re.Match[str], make: Callable[..., Rule], **fields: object) -> None:
        self._take_span(match.start(), match.end(), make, **fields)

    def _take_span(self, start: int, end: int, make: Callable[..., Rule], **fields: object) -> None:
        for i in range(start, end):
            self.used[i] = True
        try:
            self.found.append((start, make(**fields)))
        except ValueError as exc:  # pydantic's ValidationError: e.g. 2月30日
            reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            self.invalid.append(f"“{self.text[start:end]}”：{reason.removeprefix('Value error, ')}")

    def _free(self, match: re.Match[str]) -> bool:
        return not any(self.used[match.start() : match.end()])

    def scan(self, *, adverbs: bool) -> None:
        text = self.text
        for m in _CAMPAIGN.finditer(text):
            event = m[3]
            key = self.vocabulary.events.get(event, event)
            day = cn_number(m[2]) if m[2] else 1
            spec = {"from": f"{cn_number(m[1]):02d}-{day:02d}", "until": key}
            self._take(m, CampaignRule, campaign=spec, phrase=m[0])
        for name, key in self.vocabulary.observances.items():
            for m in re.finditer(re.escape(name), text):
                self._take(m, ObservanceRule, observance=key, phrase=name)
        for m in _DATE_DEADLINE.finditer(text):
            if self._free(m):
                year = f"{m[1]}-" if m[1] else ""
                value = f"{year}{cn_number(m[2]):02d}-{cn_number(m[3]):02d}"
                self._take(m, DeadlineRule, deadline=value, phrase=m[0])
        for m in _MONTH_DEADLINE.finditer(text):
            if self._free(m):
                year = f"{m[1]}-" if m[1] else ""
                self._take(m, DeadlineRule, deadline=f"{year}{cn_number(m[2]):02d}", phrase=m[0])
        for m in _YEAR_END.finditer(text):
            if self._free(m):
                self._take(m, DeadlineRule, deadline="12", phrase=m[0])
        for m in _QUARTER.finditer(text):
            if self._free(m) and text[max(0, m.start() - 1) : m.start()] != "每":
                self._take(m, DeadlineRule, deadline=f"{_QUARTERS[m[1]]:02d}", phrase=m[0])
        for m in _EVERY.finditer(text):
            if not self._free(m):
                continue
            period = _PERIODS[m[2]]
            count_match = _COUNT.match(text, m.end())
            count = cn_number(count_match[1]) if count_match else 1
            end = count_match.end() if count_match else m.end()
            start = (
                m.start() - 2 if text[max(0, m.start() - 2) : m.start()] == "至少" else m.start()
            )
            fields: dict[str, object] = {"every": period, "count": count}
            if m[1]:
                fields["interval"] = 2 if m[1] in "两二" else int(m[1])
            if m[4]:
                fields["day"] = int(m[4])
            elif m[5]:
                fields["day"] = _WEEKDAYS.get(m[5]) or int(m[5])
            self._take_span(start, end, EveryRule, **fields, phrase=text[start:end])
        for m in _HALF.finditer(text):
            if self._free(m) and text[max(0, m.start() - 1) : m.start()] != "每":
                self._take(m, DeadlineRule, deadline="06" if m[1] == "上" else "12", phrase=m[0])
        for m in _DENSIFY.finditer(text):
            self._take(m, DensifyRule, phrase=m[0])
        for m in _PERIODIC.finditer(text):
            self._take(m, PeriodicRule, phrase=m[0])
        if adverbs:
            for m in _STANDING.finditer(text):
                if self._free(m):
                    self._take(m, StandingRule, phrase=m[0])
            for m in _IMMEDIATE.finditer(text):
                if self._free(m):
                    self._take(m, ImmediateRule, phrase=m[0])
            for m in _AS_NEEDED.finditer(text):
                if self._free(m):
                    self._take(m, AsNeededRule, phrase=m[0])

    def rules(self) -> list[Rule]:
        return [rule for _, rule in sorted(self.found, key=lambda pair: pair[0])]

    def leftover(self) -> str:
        rest = "".join(
            ch if not used else " " for ch, used in zip(self.text, self.used, strict=True)
        )
        return " ".join(part for part in _FILLER.split(rest) if part)


def _slot(rule: Rule) -> str:
    return "every" if isinstance(rule, EveryRule | PeriodicRule) else type(rule).__name__


def read_phrases(time_limit: str | None, text: str | None, vocabulary: Vocabulary) -> Reading:
    """Read the cell (strictly) and the task text (leniently) into rules."""
    reading = Reading()
    cell = normalise(time_limit or "")
    body = normalise(text or "")
    cell_rules: list[Rule] = []
    if cell:
        scanner = _Scanner(cell, vocabulary)
        scanner.scan(adverbs=True)
        cell_rules = scanner.rules()
        leftover = scanner.leftover()
        if leftover:
            reading.not_understood.append(leftover)
        reading.invalid.extend(scanner.invalid)
    text_scanner = _Scanner(body, vocabulary)
    text_scanner.scan(adverbs=not cell)
    text_rules = text_scanner.rules()
    reading.invalid.extend(text_scanner.invalid)

    rules = list(cell_rules)
    for rule in text_rules:
        same = [r for r in cell_rules if _slot(r) == _slot(rule)]
        if not same or any(_equivalent(r, rule) for r in same):
            if not any(_equivalent(r, rule) for r in rules):
                rules.append(rule)
            continue
        if isinstance(rule, ObservanceRule):
            rules.append(rule)
            continue
        reading.conflicts.append(f"时限栏为“{same[0].phrase}”，正文为“{rule.phrase}”；按时限栏执行")
    if any(isinstance(r, EveryRule) for r in rules):
        rules = [r for r in rules if not isinstance(r, PeriodicRule)]
    reading.rules = rules
    return reading


def _equivalent(a: Rule, b: Rule) -> bool:
    return a.model_dump(exclude={"phrase"}) == b.model_dump(exclude={"phrase"})
