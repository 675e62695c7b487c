"""Task ids from the table's own numbering, the same on every import of the same table.

- `<measure>.<task>` when the table has （一） measures (the seed: 4.5);
- otherwise `<n>` from 序号 or the tasks' own 1. 2. 3. when they run through the table,
  `<section>.<n>` when they restart in each section (市科技馆 （1）（2） → 1.1, 1.2), or the
  running order when the table numbers nothing;
- a numbered item inside a task that carries its own units or time limit is `<id>.<k>`.

Numbers that restart where a finer heading changes (a list per indicator) count in
running order within the measure or section; a number repeated with nothing to
explain it is an error naming both lines, as an id must never be guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .rows import Row


class NumberingError(ValueError):
    def __init__(self, message: str, line: int | None = None, value: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.value = value


@dataclass(slots=True)
class Entry:
    """A task before it has an id: where it sits and what number it gives itself."""

    line: int | None
    path: tuple[str, ...]  # its headings, outermost first (section, measure, site, month…)
    path_numbers: tuple[int | None, ...]  # each heading's own number (一、 → 1), if any
    section: str
    measure: str
    measure_no: int
    number: int | None  # 序号, or the 1. before its text
    text: str
    units: str = ""
    partners: str = ""
    leader: str = ""
    time_limit: str | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)
    sub: int | None = None  # k of <id>.<k> (a numbered item with its own units or time)
    parent: int | None = None  # the sub-items of one task share it
    row_group: int | None = None  # tasks split from one row (a calendar's month) share it
    row_number: int | None = None  # that row's own 序号, if any


def _own_numbers(entries: Sequence[Entry]) -> list[int]:
    """Each entry's number; an unnumbered one follows the one before it."""
    numbers: list[int] = []
    for e in entries:
        numbers.append(e.number if e.number is not None else (numbers[-1] + 1 if numbers else 1))
    return numbers


def _restarts_explained(entries: Sequence[Entry], numbers: Sequence[int]) -> bool:
    """Does every repeat of a number come where a finer heading changes?"""
    for i in range(1, len(entries)):
        if numbers[i] <= numbers[i - 1] and entries[i].path == entries[i - 1].path:
            return False
    return True


def _duplicate(entries: Sequence[Entry], ids: Sequence[str]) -> None:
    seen: dict[str, Entry] = {}
    for entry, duty_id in zip(entries, ids, strict=True):
        first = seen.get(duty_id)
        if first is not None:
            where = f"，首次在第 {first.line} 行 (first at line {first.line})" if first.line else ""
            raise NumberingError(
                f"任务编号 {duty_id} 重复 (task id {duty_id} appears twice){where}",
                entry.line,
                duty_id,
            )
        seen[duty_id] = entry


def _within(groups: list[list[int]], entries: Sequence[Entry]) -> list[int] | None:
    """Numbers within each group: their own if distinct, the running order if their
    repeats follow finer headings, None if a number repeats for no reason."""
    out = [0] * len(entries)
    for members in groups:
        chosen = [entries[i] for i in members]
        numbers = _own_numbers(chosen)
        if len(set(numbers)) == len(numbers):
            values = numbers
        elif _restarts_explained(chosen, numbers):
            values = list(range(1, len(members) + 1))
        else:
            return None
        for i, value in zip(members, values, strict=True):
            out[i] = value
    return out


def _groups(keys: Sequence[object]) -> list[list[int]]:
    order: dict[object, list[int]] = {}
    for i, k in enumerate(keys):
        order.setdefault(k, []).append(i)
    return list(order.values())


def _section_numbers(entries: Sequence[Entry]) -> list[int]:
    """A number per section: its innermost heading's own number when those are distinct
    (1. 市科技馆 → 1), else its order in the table."""
    first: dict[tuple[str, ...], Entry] = {}
    for e in entries:
        first.setdefault(e.path, e)
    own = [e.path_numbers[-1] if e.path_numbers else None for e in first.values()]
    numbers = [n for n in own if n is not None]
    if len(numbers) == len(own) and len(set(numbers)) == len(numbers):
        by_path = dict(zip(first, numbers, strict=True))
    else:
        by_path = {path: i + 1 for i, path in enumerate(first)}
    return [by_path[e.path] for e in entries]


def assign_ids(entries: Sequence[Entry]) -> list[Row]:
    """Rows with ids; raise NumberingError when the numbering cannot give unique ids."""
    if not entries:
        return []
    parents = _groups(
        [e.parent if e.parent is not None else ("own", i) for i, e in enumerate(entries)]
    )
    heads = [entries[members[0]] for members in parents]
    base = _base_ids(heads)
    ids = [""] * len(entries)
    for members, base_id in zip(parents, base, strict=True):
        for i in members:
            sub = entries[i].sub
            ids[i] = f"{base_id}.{sub}" if sub is not None else base_id
    _duplicate(entries, ids)
    rows = []
    for e, duty_id in zip(entries, ids, strict=True):
        measure_no, _, task = duty_id.partition(".")
        seed_like = bool(e.measure_no) and task.isdigit()  # <measure>.<task>, nothing more
        rows.append(
            Row(
                section=e.section,
                measure=e.measure,
                measure_no=int(measure_no) if seed_like else e.measure_no,
                task_no=int(task) if seed_like else 0,
                text=e.text,
                units=e.units,
                time_limit=e.time_limit,
                partners=e.partners,
                line=e.line,
                key="" if seed_like else duty_id,
                leader=e.leader,
                notes=e.notes,
            )
        )
    return rows


def _base_ids(entries: Sequence[Entry]) -> list[str]:
    """The id of each task (without a sub-item part)."""
    if any(e.measure_no for e in entries):
        before = next((e for e in entries if not e.measure_no), None)
        if before is not None:
            raise NumberingError(
                "任务出现在第一个措施（一）之前 (a task appears before any measure)", before.line
            )
        within = _within(_groups([e.measure_no for e in entries]), entries)
        if within is None:  # name the repeated id and its two lines
            _duplicate(entries, [f"{e.measure_no}.{n}" for e, n in _numbered(entries)])
            raise AssertionError("unreachable: a repeat without a duplicate")
        return [f"{e.measure_no}.{n}" for e, n in zip(entries, within, strict=True)]
    if any(e.row_group is not None for e in entries):  # several tasks per row: <row>.<item>
        rows = _groups([e.row_group for e in entries])
        own = [entries[members[0]].row_number for members in rows]
        distinct = all(n is not None for n in own) and len(set(own)) == len(own)
        out = [""] * len(entries)
        for index, members in enumerate(rows):
            row_number = own[index] if distinct else index + 1
            chosen = [entries[i] for i in members]
            for i, n in zip(members, _own_numbers(chosen), strict=True):
                out[i] = f"{row_number}.{n}"
        return out
    numbers = _own_numbers(entries)
    if len(set(numbers)) == len(numbers):
        return [str(n) for n in numbers]
    if len({e.path for e in entries}) > 1:
        within = _within(_groups([e.path for e in entries]), entries)
        if within is not None:
            sections = _section_numbers(entries)
            return [f"{s}.{n}" for s, n in zip(sections, within, strict=True)]
    if _restarts_explained(entries, numbers):
        return [str(i + 1) for i in range(len(entries))]
    _duplicate(entries, [str(n) for n in numbers])
    raise AssertionError("unreachable: a repeat without a duplicate")


def _numbered(entries: Sequence[Entry]) -> list[tuple[Entry, int]]:
    return list(zip(entries, _own_numbers(entries), strict=True))
