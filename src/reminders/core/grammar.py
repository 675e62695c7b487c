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
    WindowRule,
)

_CN_DIGITS = {
    "〇": 0,
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
# a number as written: 12, 十二, 二十五, 五 (never 十十 or 一二, which cn_number cannot read)
_NUM = r"\d{1,2}|[一二两三四五六七八九]?十[一二三四五六七八九]?|[一二两三四五六七八九]"
# a month: never 两 (两月 = two months); importer.words reads month headings with it too
MONTH_WORDS = r"1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九]"
# 2014年, 一一年 (two digits: 2011, only before a month), 次年/明年 (the year after the plan year)
_YEARS = r"(?:(\d{4})年|([〇零一二三四五六七八九]{2})年(?=(?:" + MONTH_WORDS + r")月)|(次年|明年))"

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
_POINTS = {"开学前": "start", "开学初": "start", "期初": "start", "期中": "middle", "期末": "end"}
_POINT = "开学前|开学初|期初|期中|期末"

_EVERY = re.compile(
    r"每(两|二|[2-9])?(半年|季度|季|月|年|学期|周|星期)"
    r"(?:(末|底)|(\d{1,2})日|([一二三四五六日天1-7])(?![次个])"
    rf"|((?:{_POINT})(?:[、,和及与]?(?:{_POINT})){{0,3}}))?(?:之?前)?"
)
# 两月…一次, 三个月一次: every N months or weeks (the 一次 within the clause)
_INTERVAL = re.compile(
    r"(?<![每\d])(两个?|(?:[2-9]|三|四|六)个)(月|周|星期)(?=[^。；;，,]{0,20}?[一1]次)"
)
_WEEKDAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}
# bounded, so that a cell of 每月 × 10,000 stays linear
_COUNT = re.compile(rf"(?:至少)?[^。；;，,]{{0,30}}?({_NUM})次")
_CAMPAIGN = re.compile(rf"从?({_NUM})月(?:({_NUM})日)?起至(.{{1,24}}?)结束")
_DATE = re.compile(rf"(?:(\d{{4}})年)?({_NUM})月({_NUM})[日号](之?前|止|以前)?(?:完成)?")
# 2024-06-30, 2024/6/30, 2024.6.30 (a spreadsheet's date cell); 6.30前 in a cell
_NUMERIC_DATE = re.compile(
    r"(?<!\d)(\d{4})[-/.](1[0-2]|0?[1-9])[-/.](3[01]|[12]\d|0?[1-9])(?!\d)(之?前|止|以前)?(?:完成)?"
)
_SHORT_DATE = re.compile(
    r"(?<![\d.])(1[0-2]|0?[1-9])[./](3[01]|[12]\d|0?[1-9])(之?前|止|以前)(?:完成)?"
)
_DOT_DATE = re.compile(
    r"(?<![\d.])(1[0-2]|[1-9])\.(3[01]|[12]\d|[1-9])(?![\d.%])(?=[^\d,;。万亿元%]{0,8}?[日节])"
)
_WEEK_OF_MONTH = re.compile(r"第([一二三四五1-5])个?(?:周|星期)")
_WINDOW = re.compile(
    rf"(?:(\d{{4}})年)?({MONTH_WORDS})月?份?(?:起?至|到|[-~～—–])(?:(\d{{4}})年)?({MONTH_WORDS})月份?"
    r"(?:底|末)?(?:之?前)?(?:完成)?"
)
# 2014年1月2月
_WINDOW_NO_DASH = re.compile(rf"(?:(\d{{4}})年)?({MONTH_WORDS})月({MONTH_WORDS})月份?")
_MONTH_DEADLINE = re.compile(rf"(?:(\d{{4}})年)?({_NUM})月(?:底|末)(?:之?前)?(?:完成)?")
_MONTH_BEFORE = re.compile(rf"(?:(\d{{4}})年)?({MONTH_WORDS})月份?(?:之前|以前|前)(?:完成)?")
_MONTH_DONE = re.compile(
    rf"(?:(\d{{4}})年)?({MONTH_WORDS})月份?(?=完成|投入使用|建成|竣工|投用|上线|启用|交付)"
)
_MONTH = re.compile(
    rf"{_YEARS}?({MONTH_WORDS})月份?(?:(上旬|中旬|下旬|初)|第([一二三四五1-5])个?(?:周|星期))?(?:内)?"
)
_TEN_DAYS = {"上旬": 10, "初": 10, "中旬": 20}
_YEAR_END = re.compile(r"(?:(\d{4})年|年)(?:底|末|内)(?:之?前)?(?:完成)?")
_HALF = re.compile(r"(上|下)半年(?:完成)?")
_QUARTER = re.compile(r"第?([一二三四1-4])季度(?:末|底)?(?:之?前)?(?:完成)?")
_RELATIVE = re.compile(rf"(?<![月\d])({_NUM})个?(工作日|天|日)(内|之内)?(?:完成)?")
# The time-limit cell reads every form; running text only some (see read_phrases).
_STANDING = re.compile(r"长期坚持|长期推进|持续推进|常态化|常年|(?:\d{4}年)?全年|长期")
_STANDING_TEXT = re.compile(r"长期坚持|长期推进|持续推进|常态化|常年")
_IMMEDIATE = re.compile(r"立即(?:整改|开展|完成)?")
_AS_NEEDED = re.compile(r"随时|适时|不定期|及时(?:修订|更新|调整|完善)?")
_AS_NEEDED_TEXT = re.compile(r"随时|适时|不定期")
_PERIODIC = re.compile(r"(?<![不未没])定期")  # 未定期维护: a problem, not a cadence
_DENSIFY = re.compile(
    r"(?:(?:重点)?敏感时期(?:要|应|须)?)?(?:加密[^。；;]{0,20}?频次|加密(?:检查|频次))"
)
# 发现问题立即纠正: 立即 in a clause about what is found is not the duty's own timing
_CONDITIONAL = re.compile(r"发现|一旦|如有|若|遇到|遇有")
_FILLER = re.compile(r"[完成并和及、，,；;。.\s（）()]+")
# left over after a bare month in the same clause, it names what is due (2021年2月公布预算
# 信息), unless it is itself about time (9月某日: not silently read as the month's end)
_TIMEISH = re.compile(
    r"[\d一二三四五六七八九十两][年月]|[日号周天旬季时每某]|之前|以前|之后|以后|择机|视情|尽快|酌情"
)
_BARE_DATE_END = re.compile(r"[年月份]$")
_CLAUSE_END = frozenset("。；;，,")


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


def _year(explicit: str | None, two_digits: str | None) -> str:
    """'2014-' or '2011-' (一一年) or '' for the plan year."""
    if explicit:
        return f"{explicit}-"
    if two_digits:
        digits = "".join(str(_CN_DIGITS[c]) if c in _CN_DIGITS else c for c in two_digits)
        return f"20{digits}-"
    return ""


def _month_before(year: int | None, month: int) -> dict[str, object]:
    """8月前 (before August): by the end of July; 1月前: December of the year before."""
    if month > 1:
        return {"deadline": f"{year}-{month - 1:02d}" if year else f"{month - 1:02d}"}
    if year:
        return {"deadline": f"{year - 1}-12"}
    return {"deadline": "12", "year_offset": -1}


def _month_end_day(month: int) -> int:
    return 29 if month == 2 else 30 if month in (4, 6, 9, 11) else 31


class _Scanner:
    """Finds rules in one normalised string, remembering which spans were consumed.

    `cell` is the strict reading of a time-limit cell (every form); otherwise the
    string is running text, where only forms that carry a schedule are read, the
    adverbs (长期坚持, 随时, 立即, …) only when `adverbs` (the cell is empty)."""

    def __init__(self, text: str, vocabulary: Vocabulary) -> None:
        self.text = text
        self.vocabulary = vocabulary
        self.used = [False] * len(text)
        self.found: list[tuple[int, int, Rule]] = []
        self.invalid: list[str] = []
        self.weak: list[tuple[int, int, str]] = []  # text dates: (month, day, phrase)
        self.weeks: list[tuple[int, str]] = []  # text 第二周: (week, phrase)

    def _take(self, match: re.Match[str], make: Callable[..., Rule], **fields: object) -> None:
        self._take_span(match.start(), match.end(), make, **fields)

    def _take_span(self, start: int, end: int, make: Callable[..., Rule], **fields: object) -> None:
        for i in range(start, end):
            self.used[i] = True
        try:
            self.found.append((start, end, make(**fields)))
        except ValueError as exc:  # pydantic's ValidationError: e.g. 2月30日
            reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            self.invalid.append(f"“{self.text[start:end]}”：{reason.removeprefix('Value error, ')}")

    def _free(self, match: re.Match[str]) -> bool:
        return not any(self.used[match.start() : match.end()])

    def _after(self, match: re.Match[str], char: str) -> bool:
        return self.text[max(0, match.start() - 1) : match.start()] == char

    def _conditional(self, match: re.Match[str]) -> bool:
        """Is the match in a clause that starts with 发现/如有/若… (bounded look back)?"""
        clause = ""
        for i in range(match.start() - 1, max(-1, match.start() - 41), -1):
            if self.text[i] in _CLAUSE_END:
                break
            clause = self.text[i] + clause
        return bool(_CONDITIONAL.search(clause))

    def scan(self, *, cell: bool = True, adverbs: bool = True) -> None:
        text = self.text
        for m in _CAMPAIGN.finditer(text):
            event = m[3]
            key = self.vocabulary.events.get(event, event)
            day = cn_number(m[2]) if m[2] else 1
            spec = {"from": f"{cn_number(m[1]):02d}-{day:02d}", "until": key}
            self._take(m, CampaignRule, campaign=spec, phrase=m[0])
        for name, key in self.vocabulary.observances.items():
            if name in text:
                for m in re.finditer(re.escape(name), text):
                    self._take(m, ObservanceRule, observance=key, phrase=name)
        for m in _DATE.finditer(text):
            if not self._free(m):
                continue
            year = f"{m[1]}-" if m[1] else ""
            value = f"{year}{cn_number(m[2]):02d}-{cn_number(m[3]):02d}"
            if cell or m[4]:
                self._take(m, DeadlineRule, deadline=value, phrase=m[0])
            elif not m[1]:
                self.weak.append((cn_number(m[2]), cn_number(m[3]), m[0]))
        for m in _NUMERIC_DATE.finditer(text):
            if self._free(m) and (cell or m[4]):
                value = f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}"
                self._take(m, DeadlineRule, deadline=value, phrase=m[0])
        for m in _SHORT_DATE.finditer(text):
            if self._free(m):
                self._take(
                    m, DeadlineRule, deadline=f"{int(m[1]):02d}-{int(m[2]):02d}", phrase=m[0]
                )
        if not cell:
            for m in _DOT_DATE.finditer(text):
                self.weak.append((int(m[1]), int(m[2]), m[0]))
            for m in _WEEK_OF_MONTH.finditer(text):
                self.weeks.append((cn_number(m[1]), m[0]))
        windows = [_WINDOW, _WINDOW_NO_DASH] if cell else [_WINDOW]
        for pattern in windows:
            for m in pattern.finditer(text):
                if self._free(m):
                    first_year = f"{m[1]}-" if m[1] else ""
                    last_year = f"{m[3]}-" if pattern is _WINDOW and m[3] else first_year
                    last = m[4] if pattern is _WINDOW else m[3]
                    spec = {
                        "from": f"{first_year}{cn_number(m[2]):02d}",
                        "to": f"{last_year}{cn_number(last):02d}",
                    }
                    self._take(m, WindowRule, window=spec, phrase=m[0])
        for m in _MONTH_DEADLINE.finditer(text):
            if self._free(m):
                year = f"{m[1]}-" if m[1] else ""
                self._take(m, DeadlineRule, deadline=f"{year}{cn_number(m[2]):02d}", phrase=m[0])
        for m in _MONTH_BEFORE.finditer(text):
            if self._free(m):
                before = _month_before(int(m[1]) if m[1] else None, cn_number(m[2]))
                self._take(m, DeadlineRule, **before, phrase=m[0])
        if not cell:
            for m in _MONTH_DONE.finditer(text):
                if self._free(m):
                    year = f"{m[1]}-" if m[1] else ""
                    self._take(
                        m, DeadlineRule, deadline=f"{year}{cn_number(m[2]):02d}", phrase=m[0]
                    )
        for m in _YEAR_END.finditer(text):
            if self._free(m) and not self._after(m, "每"):
                self._take(m, DeadlineRule, deadline=f"{m[1]}-12" if m[1] else "12", phrase=m[0])
        for m in _QUARTER.finditer(text):
            if self._free(m) and not self._after(m, "每"):
                self._take(m, DeadlineRule, deadline=f"{_QUARTERS[m[1]]:02d}", phrase=m[0])
        self._every(text)
        for m in _HALF.finditer(text):
            if self._free(m) and not self._after(m, "每"):
                self._take(m, DeadlineRule, deadline="06" if m[1] == "上" else "12", phrase=m[0])
        for m in _DENSIFY.finditer(text):
            self._take(m, DensifyRule, phrase=m[0])
        for m in _PERIODIC.finditer(text):
            if self._free(m):
                self._take(m, PeriodicRule, phrase=m[0])
        for m in _RELATIVE.finditer(text):
            if self._free(m) and (cell or m[3]):  # in running text only 3天内, 5个工作日内
                fields = {"immediate": cn_number(m[1])}
                if m[2] != "工作日":
                    fields["calendar_days"] = True
                self._take(m, ImmediateRule, **fields, phrase=m[0])
        if cell:
            self._months(text)
        if adverbs:
            for m in (_STANDING if cell else _STANDING_TEXT).finditer(text):
                if self._free(m):
                    self._take(m, StandingRule, phrase=m[0])
            for m in _IMMEDIATE.finditer(text):
                if self._free(m) and (cell or not self._conditional(m)):
                    self._take(m, ImmediateRule, phrase=m[0])
            for m in (_AS_NEEDED if cell else _AS_NEEDED_TEXT).finditer(text):
                if self._free(m):
                    self._take(m, AsNeededRule, phrase=m[0])

    def _every(self, text: str) -> None:
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
            elif m[6]:
                points = re.findall(_POINT, m[6])
                fields["at"] = list(dict.fromkeys(_POINTS[p] for p in points))
            self._take_span(start, end, EveryRule, **fields, phrase=text[start:end])
        for m in _INTERVAL.finditer(text):
            if self._free(m):
                count_match = _COUNT.match(text, m.end())
                end = count_match.end() if count_match else m.end()
                fields = {"every": _PERIODS[m[2]], "interval": 2 if m[1][0] == "两" else 0}
                fields["interval"] = fields["interval"] or cn_number(m[1].rstrip("个"))
                self._take_span(m.start(), end, EveryRule, **fields, phrase=text[m.start() : end])

    def _months(self, text: str) -> None:
        """A month alone in the cell (4月, 九月份, 一一年一月, 次年一月): due by its end,
        or its 上旬/中旬, or a window over its 第二周."""
        for m in _MONTH.finditer(text):
            if not self._free(m):
                continue
            month = cn_number(m[4])
            prefix = _year(m[1], m[2])
            offset: dict[str, object] = {"year_offset": 1} if m[3] and not prefix else {}
            if m[6]:
                week = cn_number(m[6])
                first = (week - 1) * 7 + 1
                last = min(week * 7, _month_end_day(month))
                spec = {"from": f"{prefix}{month:02d}-{first:02d}"}
                spec["to"] = f"{prefix}{month:02d}-{last:02d}"
                self._take(m, WindowRule, window=spec, phrase=m[0])
                continue
            day = _TEN_DAYS.get(m[5] or "")
            value = f"{prefix}{month:02d}" + (f"-{day:02d}" if day else "")
            self._take(m, DeadlineRule, deadline=value, **offset, phrase=m[0])

    def describe_after_dates(self) -> None:
        """Mark what follows a date in its clause as read (2021年2月公布预算信息)."""
        for start, end, rule in self.found:
            if not isinstance(rule, DeadlineRule | WindowRule):
                continue
            if not _BARE_DATE_END.search(self.text[start:end]):
                continue  # 9月底前完成 is whole: what follows it is not its object
            stop = end
            while stop < len(self.text) and not self.used[stop]:
                if self.text[stop] in _CLAUSE_END:
                    break
                stop += 1
            if stop > end and not _TIMEISH.search(self.text[end:stop]):
                for i in range(end, stop):
                    self.used[i] = True

    def rules(self) -> list[Rule]:
        return [rule for _, _, rule in sorted(self.found, key=lambda found: found[0])]

    def leftover(self) -> str:
        rest = "".join(
            ch if not used else " " for ch, used in zip(self.text, self.used, strict=True)
        )
        return " ".join(part for part in _FILLER.split(rest) if part)


def _slot(rule: Rule) -> str:
    return "every" if isinstance(rule, EveryRule | PeriodicRule) else type(rule).__name__


def _refine(cell_rules: list[Rule], text: _Scanner) -> tuple[list[Rule], list[Rule]]:
    """A month in the cell (十一月) narrowed by the text to a day in it (11月9日, “12.4…日”)
    or to one of its weeks (第二周): (cell rules, text rules) with the narrowing applied."""
    months = [r for r in cell_rules if isinstance(r, DeadlineRule) and r.parts[2] is None]
    if len(months) != 1:
        return cell_rules, text.rules()
    month_rule = months[0]
    year, month, _ = month_rule.parts
    prefix = f"{year}-" if year else ""
    refined: Rule | None = None
    text_rules = text.rules()
    for rule in text_rules:
        if isinstance(rule, DeadlineRule):
            ry, rm, rd = rule.parts
            if rd is not None and rm == month and ry in (None, year):
                refined = rule.model_copy(update={"deadline": f"{prefix}{rm:02d}-{rd:02d}"})
                text_rules = [r for r in text_rules if r is not rule]
                break
    if refined is None:
        for weak_month, day, phrase in text.weak:
            if weak_month == month and day <= _month_end_day(month):
                refined = DeadlineRule(
                    deadline=f"{prefix}{month:02d}-{day:02d}",
                    year_offset=month_rule.year_offset,
                    phrase=phrase,
                )
                break
    if refined is None and text.weeks:
        week, phrase = text.weeks[0]
        first, last = (week - 1) * 7 + 1, min(week * 7, _month_end_day(month))
        spec = {"from": f"{prefix}{month:02d}-{first:02d}", "to": f"{prefix}{month:02d}-{last:02d}"}
        refined = WindowRule.model_validate({"window": spec, "phrase": phrase})
    if refined is None:
        return cell_rules, text_rules
    return [refined if r is month_rule else r for r in cell_rules], text_rules


def read_phrases(time_limit: str | None, text: str | None, vocabulary: Vocabulary) -> Reading:
    """Read the cell (strictly) and the task text (leniently) into rules."""
    reading = Reading()
    cell = normalise(time_limit or "")
    body = normalise(text or "")
    cell_rules: list[Rule] = []
    if cell:
        scanner = _Scanner(cell, vocabulary)
        scanner.scan(cell=True)
        if scanner.found:
            scanner.describe_after_dates()
        cell_rules = scanner.rules()
        leftover = scanner.leftover()
        if leftover:
            reading.not_understood.append(leftover)
        reading.invalid.extend(scanner.invalid)
    text_scanner = _Scanner(body, vocabulary)
    text_scanner.scan(cell=False, adverbs=not cell)
    cell_rules, text_rules = _refine(cell_rules, text_scanner)
    reading.invalid.extend(text_scanner.invalid)

    rules = list(cell_rules)
    seen = {_identity(r) for r in rules}
    in_cell: dict[str, tuple[Rule, set[str]]] = {}  # slot → (first cell rule, identities)
    for rule in cell_rules:
        in_cell.setdefault(_slot(rule), (rule, set()))[1].add(_identity(rule))
    for rule in text_rules:
        identity = _identity(rule)
        same = in_cell.get(_slot(rule))
        if same is None or identity in same[1]:
            if identity not in seen:
                seen.add(identity)
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


def _identity(rule: Rule) -> str:
    """What a rule means, without the words it was read from (equal rules, equal keys)."""
    return f"{type(rule).__name__}:{rule.model_dump_json(exclude={'phrase'})}"
