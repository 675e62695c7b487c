"""A table as a grid of cell texts (from .docx, .xlsx or .csv) → task rows.

The header row is found by name, not position: 具体工作 / 工作任务 / 任务 for the
task, 责任单位 / 牵头单位 for the responsible units, 配合单位 for partners and
完成时限 / 时间节点 / 完成时间 for the time limit. Columns left of the task hold
the section (一、) and measure (（一）) headings; a blank or merged cell
there means "same as above".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .rows import MEASURE, SECTION, TASK, Row, join_broken, squash
from .textable import TableFormatError, measure_title

HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "text": ("具体工作", "工作任务", "任务", "主要任务", "工作内容", "具体任务"),
    "partners": ("配合单位", "协办单位"),
    "units": ("责任单位", "牵头单位", "责任部门", "牵头部门", "主办单位"),
    "time_limit": ("完成时限", "时间节点", "完成时间", "时限"),
}
REQUIRED = ("text", "units", "time_limit")
HEADER_SCAN_ROWS = 50
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Columns:
    header_row: int
    text: int
    units: int
    time_limit: int
    partners: int | None = None


def _key(cell: str) -> str:
    return _SPACE.sub("", cell)


def _field_of(cell: str) -> str | None:
    key = _key(cell)
    if not key:
        return None
    for name, words in HEADER_NAMES.items():
        if key in words:
            return name
    if len(key) <= 10:  # "责任单位（牵头）", not a title row that says 任务分工表
        for name, words in HEADER_NAMES.items():
            if any(word in key for word in words if len(word) > 2):
                return name
    return None


def find_header(grid: Sequence[Sequence[str]]) -> Columns | None:
    """The first row naming a task, a unit and a time-limit column."""
    for index, cells in enumerate(grid[:HEADER_SCAN_ROWS]):
        found: dict[str, int] = {}
        for column, cell in enumerate(cells):
            name = _field_of(cell)
            if name is not None and name not in found:
                found[name] = column
        if all(name in found for name in REQUIRED):
            return Columns(
                index,
                found["text"],
                found["units"],
                found["time_limit"],
                found.get("partners"),
            )
    return None


def _cell(cells: Sequence[str], column: int | None) -> str:
    if column is None or column >= len(cells):
        return ""
    return cells[column]


def _headings(cells: Sequence[str]) -> Iterable[tuple[str, str]]:
    """('section', text) and ('measure', text) found in the heading cells."""
    for cell in cells:
        flat = join_broken(cell)
        if not flat:
            continue
        measure_at = MEASURE.search(flat)
        if SECTION.match(flat):
            end = measure_at.start() if measure_at else len(flat)
            yield "section", flat[:end]
            flat = flat[end:]
        if flat and MEASURE.match(flat):
            yield "measure", flat


def _measure(text: str, line: int) -> tuple[int, str]:
    try:
        return measure_title(text)
    except ValueError as exc:
        raise TableFormatError(str(exc), line) from None


def read_grid(
    grid: Sequence[Sequence[str]], line_numbers: Sequence[int] | None = None
) -> list[Row]:
    """Task rows of a grid; raise TableFormatError (with the row's line) when unreadable."""
    columns = find_header(grid)
    if columns is None:
        raise TableFormatError(
            "no header row found: need columns named 具体工作 (or 工作任务/任务), "
            "责任单位 (or 牵头单位) and 完成时限 (or 时间节点/完成时间)"
        )
    header = [_key(cell) for cell in grid[columns.header_row]]
    rows: list[Row] = []
    section = measure = ""
    measure_no = 0
    last_task: dict[int, int] = {}
    for index in range(columns.header_row + 1, len(grid)):
        cells = grid[index]
        line = line_numbers[index] if line_numbers is not None else index + 1
        if [_key(cell) for cell in cells] == header:
            continue  # the header repeated on each page
        for kind, text in _headings(cells[: columns.text]):
            if kind == "section":
                section = text
            elif text != measure:
                measure_no, measure = _measure(text, line)
        cell = _cell(cells, columns.text)
        body = squash(cell)
        if not body:
            continue
        headings = list(_headings([cell]))
        if headings and not TASK.match(body):
            for kind, text in headings:
                if kind == "section":
                    section = text
                else:
                    measure_no, measure = _measure(text, line)
            continue
        if not measure_no:
            raise TableFormatError("a task appears before any measure （一）", line)
        task = TASK.match(body)
        task_no = int(task[1]) if task else last_task.get(measure_no, 0) + 1
        last_task[measure_no] = task_no
        rows.append(
            Row(
                section=section,
                measure=measure,
                measure_no=measure_no,
                task_no=task_no,
                text=body[task.end() :] if task else body,
                units=squash(_cell(cells, columns.units)),
                time_limit=squash(_cell(cells, columns.time_limit)),
                partners=squash(_cell(cells, columns.partners)),
                line=line,
            )
        )
    return rows
