"""Tables flattened from Word into text: cells start with a tab, one per line.

Extraction leaves artefacts: headings and phrases broken over lines, blank lines
between cells of one row, empty cells, two measures in one cell. The reader
walks the non-empty cells with a small state machine rather than trusting rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .rows import MEASURE, SECTION, TASK, Row, cn_int, join_broken, squash


class TableFormatError(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(slots=True)
class _Cell:
    text: str
    line: int


def cells(text: str) -> tuple[list[str], list[_Cell]]:
    """(lines before the first cell, cells in order); continuation lines join their cell."""
    preamble: list[str] = []
    found: list[_Cell] = []
    current: _Cell | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith("\t"):
            current = _Cell(raw[1:], number)
            found.append(current)
        elif not raw.strip():
            current = None if current is None or current.text.strip() else current
        elif current is None and not found:
            preamble.append(raw)
        elif current is not None:
            current.text += "\n" + raw
        else:
            found[-1].text += "\n" + raw
    return preamble, [c for c in found if c.text.strip()]


def title_of(preamble: list[str]) -> str:
    lines = [re.sub(r"\[bookmark:[^\]]*\]", "", line).strip() for line in preamble]
    lines = [line for line in lines if line and not re.fullmatch(r"附件\s*\d*", line)]
    return "".join(lines)


def measure_title(cell: str) -> tuple[int, str]:
    """Number and title; two measures in one cell keep the first number, both titles."""
    flat = join_broken(cell)
    numbers = MEASURE.findall(flat)
    parts = [p for p in re.split(r"(?=（[一二三四五六七八九十]+）)", flat) if p.strip()]
    return cn_int(numbers[0]), "；".join(p.strip().rstrip("。") for p in parts)


def read_text_table(text: str) -> tuple[str, list[Row]]:
    preamble, found = cells(text)
    title = title_of(preamble)
    rows: list[Row] = []
    section = measure = ""
    measure_no = 0
    i = 0
    while i < len(found):
        cell = found[i]
        body = cell.text.strip()
        if SECTION.match(body) and not TASK.match(body):
            section = join_broken(body)
            i += 1
            continue
        if MEASURE.match(body):
            try:
                measure_no, measure = measure_title(body)
            except ValueError as exc:
                raise TableFormatError(str(exc), cell.line) from None
            i += 1
            continue
        task = TASK.match(body)
        if task is None:
            if not rows:
                i += 1  # header cells before the first section
                continue
            raise TableFormatError(f"unexpected cell: {squash(body)[:40]!r}", cell.line)
        if not measure_no:
            raise TableFormatError("a task appears before any measure （一）", cell.line)
        units = limit = ""
        j = i + 1
        if j < len(found) and not _starts_row(found[j].text):
            units = squash(found[j].text)
            j += 1
            if j < len(found) and not _starts_row(found[j].text):
                limit = squash(found[j].text)
                j += 1
        rows.append(
            Row(
                section=section,
                measure=measure,
                measure_no=measure_no,
                task_no=int(task[1]),
                text=squash(body[task.end() :]),
                units=units,
                time_limit=limit,
                line=cell.line,
            )
        )
        i = j
    return title, rows


def _starts_row(text: str) -> bool:
    body = text.strip()
    return bool(TASK.match(body) or MEASURE.match(body) or (SECTION.match(body) and len(body) > 2))
