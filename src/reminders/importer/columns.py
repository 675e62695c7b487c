"""Which column of a table is which: by its header's meaning, then by its content.

The header row is the first row naming at least two known fields (序号, 工作任务,
责任单位, 完成时限, …; spaces and line breaks removed). A header with fewer cells
than the table has columns spans some of them (Word text keeps a spanning cell
once): the header is laid over the columns in the way that best fits their
content. Where a header is missing, unknown or spans two columns, the content
decides: time phrases make the time limit, organisation names the units, person
names the leader, small numbers the 序号, and the longest free text the task.
Columns left of the task hold its section headings. `--columns` overrides it all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from itertools import pairwise

from ..core.grammar import Vocabulary, read_phrases
from .rows import split_units
from .words import (
    FIELD_LABELS,
    MEASURE_AT_START,
    SECTION,
    TASK,
    header_field,
    is_org,
    key,
    month_of,
    person_like,
)

HEADER_SCAN_ROWS = 50
PROFILE_ROWS = 200  # a column's content is judged on this many rows at most
_NUMBER = re.compile(r"^\s*\d{1,4}\s*[.．、]?\s*$")
_ALIASES = {
    "task": "task",
    "text": "task",
    "任务": "task",
    "units": "units",
    "unit": "units",
    "单位": "units",
    "责任单位": "units",
    "partners": "partners",
    "配合单位": "partners",
    "leader": "leader",
    "责任人": "leader",
    "time": "time",
    "时限": "time",
    "number": "number",
    "序号": "number",
    "section": "group",
    "group": "group",
    "分组": "group",
    "ignore": "ignore",
}


_REPEATABLE = frozenset({"units", "partners", "leader", "group", "ignore"})
_SHARE: dict[str, tuple[Callable[[_Profile], float], str]] = {}  # filled below _Profile


class ColumnsError(ValueError):
    """A --columns value that does not fit the table."""


@dataclass(frozen=True, slots=True)
class Column:
    index: int  # 0-based
    header: str
    field: str | None
    reason: str

    def as_json(self) -> dict[str, object]:
        return {
            "column": self.index + 1,
            "header": self.header,
            "field": self.field,
            "reason": self.reason,
        }

    def describe(self) -> str:
        label = FIELD_LABELS.get(self.field or "", "未用 unused")
        header = f"“{self.header}”" if self.header else "（无表头 no header）"
        return f"第{self.index + 1}列 {header} → {label}：{self.reason}"


@dataclass(slots=True)
class Mapping:
    header_row: int | None
    width: int
    columns: list[Column] = field(default_factory=list)

    def first(self, name: str) -> int | None:
        return next((c.index for c in self.columns if c.field == name), None)

    def all(self, name: str) -> list[int]:
        return [c.index for c in self.columns if c.field == name]


@dataclass(slots=True)
class _Profile:
    filled: float = 0.0  # share of rows with text
    length: float = 0.0  # mean length of the filled cells
    numbers: float = 0.0
    times: float = 0.0
    units: float = 0.0
    people: float = 0.0
    headings: float = 0.0  # 一、 （一） 九月 …
    numbered: float = 0.0  # cells that start 1. 2. …
    repeats: float = 0.0  # same text as the row above (merged down)

    def task_score(self) -> float:
        """How much the column reads as the task: long, filled, numbered, not merged."""
        if self.headings >= 0.5 or self.length < 4:
            return 0.0
        return self.length * self.filled * (1 + self.numbered) * (1.2 - self.repeats)

    def kind(self) -> str:
        """What the content alone says this column is."""
        if self.filled == 0:
            return "empty"
        if self.numbers >= 0.7:
            return "number"
        if self.times >= 0.5:
            return "time"
        if self.people >= 0.5:
            return "leader"
        if self.units >= 0.5:
            return "units"
        return "text"


_SHARE.update(
    {
        "number": (lambda p: p.numbers, "序号 numbers"),
        "time": (lambda p: p.times, "时限短语 time phrases"),
        "leader": (lambda p: p.people, "人名 names"),
        "units": (lambda p: p.units, "单位名称 unit names"),
    }
)


def full_width(cells: Sequence[str]) -> bool:
    """A title or section row: one text across the row (or a single cell)."""
    texts = {c.strip() for c in cells if c.strip()}
    return len(texts) == 1 and (len(cells) == 1 or sum(1 for c in cells if c.strip()) > 1)


def width_of(grid: Sequence[Sequence[str]]) -> int:
    """The number of columns: the most common row length among rows of two or more."""
    counts: dict[int, int] = {}
    for cells in grid:
        if len(cells) >= 2:
            counts[len(cells)] = counts.get(len(cells), 0) + 1
    if not counts:
        return max((len(c) for c in grid), default=0)
    return max(counts, key=lambda n: (counts[n], n))


def _names_fields(cells: Sequence[str]) -> bool:
    return (
        len(cells) >= 2
        and not full_width(cells)
        and sum(1 for c in cells if header_field(c) is not None) >= 2
    )


def header_row(grid: Sequence[Sequence[str]]) -> int | None:
    """The first row naming two known fields, not a full-width title row."""
    for index, cells in enumerate(grid[:HEADER_SCAN_ROWS]):
        if _names_fields(cells):
            return index
    return None


def header_rows(grid: Sequence[Sequence[str]]) -> tuple[int, int] | None:
    """(first, last) rows of the header: a second row of nothing but field names (or
    cells merged from above) under the first (责任单位 over 牵头单位 | 配合单位) is part
    of it."""
    first = header_row(grid)
    if first is None:
        return None
    below = first + 1
    if below < len(grid) and len(grid[below]) == len(grid[first]) and _names_fields(grid[below]):
        pairs = zip(grid[first], grid[below], strict=True)
        if all(not b.strip() or b == a or header_field(b) for a, b in pairs):
            return first, below
    return first, first


def _combined(grid: Sequence[Sequence[str]], rows: tuple[int, int]) -> list[str]:
    """One header cell per column: the lower row's where it names a field."""
    top, bottom = grid[rows[0]], grid[rows[1]]
    return [
        lower if header_field(lower) is not None or not upper.strip() else upper
        for upper, lower in zip(top, bottom, strict=True)
    ]


def _profile(values: Sequence[str], vocabulary: Vocabulary) -> _Profile:
    rows = len(values)
    filled = [v.strip() for v in values if v.strip()]
    if not rows or not filled:
        return _Profile()
    n = len(filled)
    times = 0
    for v in filled:
        if len(v) <= 40:
            reading = read_phrases(v, None, vocabulary)
            times += bool(reading.rules and not reading.not_understood and not reading.invalid)
    unit_cells = 0
    for v in filled:
        lead, partners = split_units(v)
        names = lead + partners
        unit_cells += bool(names) and all(is_org(name) for name in names)
    repeats = sum(1 for a, b in pairwise(values) if b.strip() and a == b)
    return _Profile(
        filled=n / rows,
        length=sum(len(key(v)) for v in filled) / n,
        numbers=sum(1 for v in filled if _NUMBER.match(v)) / n,
        times=times / n,
        units=unit_cells / n,
        people=sum(1 for v in filled if person_like(v)) / n,
        headings=sum(
            1
            for v in filled
            if SECTION.match(v) or MEASURE_AT_START.match(v) or month_of(v) is not None
        )
        / n,
        numbered=sum(1 for v in filled if TASK.match(v)) / n,
        repeats=repeats / max(1, rows - 1),
    )


_FITS = {  # how well a header's field fits a column's content kind
    ("time", "time"): 3,
    ("number", "number"): 3,
    ("units", "units"): 3,
    ("leader", "leader"): 3,
    ("partners", "units"): 2,
    ("task", "text"): 2,
    ("group", "text"): 1,
    ("time", "text"): -2,
    ("number", "text"): -2,
    ("units", "text"): -1,
    ("task", "number"): -1,
    ("task", "time"): -2,
    ("units", "time"): -2,
}


def _align(headers: Sequence[str], kinds: Sequence[str]) -> list[list[int]]:
    """Lay `headers` over len(kinds) columns in order, each header over one or more
    columns, so that the fields they name best fit the columns' content."""
    h, w = len(headers), len(kinds)
    fields = [header_field(x) for x in headers]

    def fit(i: int, lo: int, hi: int) -> int:
        """A named header fits its best column; it seldom spans (a title cell does)."""
        name = fields[i]
        if name is None:
            return 0
        return max(_FITS.get((name, kinds[c]), 0) for c in range(lo, hi)) - (hi - lo - 1)

    worst = -(10**6)
    best = [[worst] * (w + 1) for _ in range(h + 1)]
    back = [[0] * (w + 1) for _ in range(h + 1)]
    best[0][0] = 0
    for i in range(1, h + 1):
        for j in range(i, w + 1):
            for k in range(i - 1, j):  # header i-1 over columns k..j-1
                if best[i - 1][k] == worst:
                    continue
                score = best[i - 1][k] + fit(i - 1, k, j)
                if score > best[i][j]:
                    best[i][j], back[i][j] = score, k
    spans: list[list[int]] = []
    j = w
    for i in range(h, 0, -1):
        k = back[i][j]
        spans.append(list(range(k, j)))
        j = k
    return list(reversed(spans))


def parse_override(spec: str) -> dict[str, str]:
    """`task=3,units=4,time=5` (names or 1-based numbers) → {field: column}."""
    found: dict[str, str] = {}
    for part in re.split(r"[,，;；]", spec):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        field_name = _ALIASES.get(name.strip().lower())
        if not sep or field_name is None or not value.strip():
            known = "task, units, partners, leader, time, number, section, ignore"
            raise ColumnsError(
                f"--columns 无法识别 “{part.strip()}” (not understood): "
                f"write field=column, fields: {known}"
            )
        found[field_name] = value.strip()
    return found


def map_columns(
    grid: Sequence[Sequence[str]],
    header: int | None,
    vocabulary: Vocabulary,
    override: MappingType[str, str] | None = None,
    last_header: int | None = None,
) -> Mapping:
    """The mapping of every column of `grid` (whose header is rows `header` to
    `last_header`, if any)."""
    width = width_of(grid)
    bottom = last_header if last_header is not None else header
    start = bottom + 1 if bottom is not None else 0
    body = [r for r in grid[start : start + PROFILE_ROWS] if not full_width(r) and len(r) >= 2]
    columns_values = [[r[c] if c < len(r) else "" for r in body] for c in range(width)]
    profiles = [_profile(values, vocabulary) for values in columns_values]
    kinds = [p.kind() for p in profiles]

    headers = [""] * width
    spanned = [False] * width
    if header is not None:
        cells = list(grid[header]) if bottom == header else _combined(grid, (header, bottom or 0))
        while len(cells) > width and not cells[-1].strip():
            cells.pop()
        if len(cells) == width:
            headers = cells
            for c in range(1, width):
                if key(cells[c]) and key(cells[c]) == key(cells[c - 1]):
                    spanned[c] = spanned[c - 1] = True
        else:
            for i, cols in enumerate(_align(cells[:width], kinds)):
                for c in cols:
                    headers[c] = cells[i]
                    spanned[c] = len(cols) > 1
    chosen: dict[int, tuple[str | None, str]] = {}
    if override:
        chosen = _apply_override(override, headers, width)
    named = {c: header_field(headers[c]) for c in range(width)}

    def by_header(c: int) -> str | None:
        return None if spanned[c] else named[c]

    # the task: the longest free text among task-named, spanning and unnamed columns
    if "task" not in {f for f, _ in chosen.values()}:
        scores = {
            c: profiles[c].task_score()
            for c in range(width)
            if c not in chosen
            and kinds[c] == "text"
            and (named[c] in (None, "task") or spanned[c])
            and not _names_a_period(headers[c], vocabulary)
        }
        scores = {c: score for c, score in scores.items() if score > 0}
        if scores:
            task = max(scores, key=lambda c: (scores[c], -c))
            why = "表头 header" if by_header(task) == "task" else "内容 content"
            chosen[task] = ("task", f"{why}：最长的文字 the longest text")
    task_at = next((c for c, (f, _) in chosen.items() if f == "task"), None)
    taken = {f for f, _ in chosen.values()}
    for c in range(width):
        if c in chosen:
            continue
        name, kind = by_header(c), kinds[c]
        if name is None and _names_a_period(headers[c], vocabulary):
            chosen[c] = ("ignore", "表头是时段 a period as header: 进度节点 milestones")
        elif name is not None and name != "task" and (name in _REPEATABLE or name not in taken):
            chosen[c] = (name, "表头 header")
        elif kind in _SHARE and kind not in taken:
            share, what = _SHARE[kind]
            chosen[c] = (kind, f"内容 content：{share(profiles[c]):.0%} 为{what}")
        elif task_at is not None and c < task_at and kind != "empty":
            chosen[c] = ("group", "任务列左侧 left of the task: 分组标题 headings")
        else:
            chosen[c] = (None, "未用 not used" if kind != "empty" else "空列 empty")
        taken.update(f for f in (chosen[c][0],) if f is not None)
    return Mapping(
        header,
        width,
        [Column(c, key(headers[c]), *chosen[c]) for c in range(width)],
    )


def _names_a_period(header: str, vocabulary: Vocabulary) -> bool:
    """一季度, 6月, 上半年 as a column's header: milestones per period, not the task."""
    text = key(header)
    if not text or header_field(text) is not None or len(text) > 10:
        return False
    reading = read_phrases(text, None, vocabulary)
    return bool(reading.rules) and not reading.not_understood


def _apply_override(
    override: MappingType[str, str], headers: Sequence[str], width: int
) -> dict[int, tuple[str | None, str]]:
    chosen: dict[int, tuple[str | None, str]] = {}
    for name, value in override.items():
        if value.isdigit():
            column = int(value) - 1
            if not 0 <= column < width:
                raise ColumnsError(
                    f"--columns {name}={value}: 表格只有 {width} 列 (the table has {width} columns)"
                )
        else:
            matches = [c for c in range(width) if key(headers[c]) == key(value)]
            if not matches:
                names = "、".join(dict.fromkeys(key(h) for h in headers if key(h))) or "无"
                raise ColumnsError(
                    f"--columns {name}={value}: 表头中没有这一列 (no such header); "
                    f"表头 headers: {names}"
                )
            column = matches[-1]
        if column in chosen:
            raise ColumnsError(
                f"--columns: 第{column + 1}列指定了两次 (column {column + 1} given twice)"
            )
        chosen[column] = (name, "--columns 指定 given")
    return chosen


__all__ = ["Column", "ColumnsError", "Mapping", "header_row", "header_rows", "map_columns"]
