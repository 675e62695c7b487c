"""The importer's bounds: every reader stops at the first cell, row or column past a
limit in limits.py, with an error naming the line (or row), instead of reading on.

A table arrives by e-mail from outside: whatever its shape, reading it must take
time and memory in proportion to a table we accept, never to what the file claims
(a span of 100,000,000 columns, a cell at XFD1048576, a million rows).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..limits import (
    IMPORT_CELL_MAX_CHARS,
    IMPORT_CELL_MAX_LINES,
    IMPORT_MAX_COLUMNS,
    IMPORT_MAX_ROWS,
    IMPORT_MAX_TASKS,
    NAME_MAX_CHARS,
    PHRASE_MAX_CHARS,
    TEXT_MAX_CHARS,
    TITLE_MAX_CHARS,
)
from .rows import Row, row_units


class TableFormatError(ValueError):
    """A table that cannot be read as a task table, or that is past a bound; `line` is
    the line (text), row (sheet, Word table) or paragraph where it was found."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _n(count: int) -> str:
    return f"{count:,}"


def check_rows(count: int, line: int | None, paragraphs: bool = False) -> None:
    """`count` rows (or paragraphs of a notice) read so far; an error past the limit."""
    if count > IMPORT_MAX_ROWS:
        what = "段 (too many paragraphs)" if paragraphs else "行 (too many rows)"
        raise TableFormatError(
            f"超过 {_n(IMPORT_MAX_ROWS)} {what}上限：请只导入任务分工表本身，或把它分成几个文件",
            line,
        )


def check_column(column: int, line: int | None) -> None:
    """`column` (1-based) of a cell with text; an error past the limit."""
    if column > IMPORT_MAX_COLUMNS:
        raise TableFormatError(
            f"第 {_n(column)} 列有内容，超过 {IMPORT_MAX_COLUMNS} 列上限 (too many columns)", line
        )


def check_width(cells: int, line: int | None) -> None:
    """A row of `cells` cells so far; an error past the limit."""
    if cells > IMPORT_MAX_COLUMNS:
        raise TableFormatError(
            f"一行超过 {IMPORT_MAX_COLUMNS} 列上限 (too many cells in a row)", line
        )


def check_cell(length: int, line: int | None) -> None:
    """A cell of `length` characters so far; an error past the limit."""
    if length > IMPORT_CELL_MAX_CHARS:
        raise TableFormatError(
            f"单元格超过 {_n(IMPORT_CELL_MAX_CHARS)} 个字符上限 (cell too long)",
            line,
        )


def check_cell_lines(count: int, line: int | None) -> None:
    """A cell of `count` lines (paragraphs); an error past the limit."""
    if count > IMPORT_CELL_MAX_LINES:
        raise TableFormatError(
            f"一个单元格超过 {_n(IMPORT_CELL_MAX_LINES)} 行上限 (too many lines in a cell)", line
        )


def bounded_row(texts: Sequence[str], line: int | None) -> list[str]:
    """A row's cells within the limits (characters, columns with text); the blank cells
    past the last column allowed are dropped."""
    for column, text in enumerate(texts, start=1):
        if text:
            check_cell(len(text), line)
            if column > IMPORT_MAX_COLUMNS and text.strip():
                check_column(column, line)
    return list(texts[:IMPORT_MAX_COLUMNS])


_FIELDS = (
    ("text", "任务内容 (task text)", TEXT_MAX_CHARS),
    ("time_limit", "完成时限 (time limit)", PHRASE_MAX_CHARS),
    ("section", "所属部分 (section)", TITLE_MAX_CHARS),
    ("measure", "措施 (measure)", TITLE_MAX_CHARS),
    ("leader", "责任人 (leader)", TITLE_MAX_CHARS),
)


def check_tasks(rows: Sequence[Row]) -> None:
    """The tasks a table gave fit the duties' own bounds (what `reminders validate`
    checks), so an import never writes a duties file that cannot load."""
    if len(rows) > IMPORT_MAX_TASKS:
        raise TableFormatError(
            f"表格有 {_n(len(rows))} 项任务，超过 {_n(IMPORT_MAX_TASKS)} 项上限 (too many tasks)："
            "请只导入任务分工表本身，或把它分成几个文件",
            rows[IMPORT_MAX_TASKS].line,
        )
    for row in rows:
        for name, label, limit in _FIELDS:
            value = getattr(row, name) or ""
            if len(value) > limit:
                raise TableFormatError(
                    f"任务 {row.id} 的{label}有 {_n(len(value))} 个字符，"
                    f"超过 {_n(limit)} 上限 (too long)",
                    row.line,
                )
        lead, partners = row_units(row)
        for unit in (*lead, *partners):
            if len(unit) > NAME_MAX_CHARS:
                raise TableFormatError(
                    f"任务 {row.id} 的单位名称有 {_n(len(unit))} 个字符，"
                    f"超过 {NAME_MAX_CHARS} 上限 (unit name too long)",
                    row.line,
                )
