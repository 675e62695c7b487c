"""Text flattened from Word: a table (a tab starts each cell), or plain paragraphs.

Word writes each table cell as a line starting with a tab (a cell's further lines
have none) and ends each row with a blank line. Extraction adds artefacts: blank
lines inside a row, cells and phrases broken over lines, stray spaces. Rows cut
by a stray blank line are joined again when together they make one row of the
table's width. A document with no tab-led cells is a notice: its lines are
paragraphs for the notice reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import bounds
from .bounds import TableFormatError as TableFormatError
from .words import MEASURE, header_field


@dataclass(slots=True)
class Grid:
    """A table as cell texts, with the line (text) or row (sheet) of each cell.

    `explicit`: merged cells are already filled in (docx, xlsx), so a blank cell is
    blank; in flattened text and CSV a blank cell may be one merged with the cell
    above."""

    cells: list[list[str]]
    lines: list[list[int]]
    explicit: bool
    title: str = ""


@dataclass(slots=True)
class _Cell:
    first: str
    line: int
    more: list[str] = field(default_factory=list)  # its further lines (no quadratic joins)
    size: int = 0  # characters so far, line breaks included

    def __post_init__(self) -> None:
        self.size = len(self.first)
        bounds.check_cell(self.size, self.line)

    def add(self, text: str, line: int) -> None:
        """A further line of the cell (`line` in the file), within the bounds."""
        self.more.append(text)
        self.size += len(text) + 1
        bounds.check_cell_lines(len(self.more) + 1, line)
        bounds.check_cell(self.size, line)

    @property
    def text(self) -> str:
        return "\n".join([self.first, *self.more]) if self.more else self.first


@dataclass(slots=True)
class Flattened:
    preamble: list[str] = field(default_factory=list)
    grid: Grid | None = None
    paragraphs: list[tuple[int, str]] = field(default_factory=list)


def title_of(preamble: list[str]) -> str:
    lines = [re.sub(r"\[bookmark:[^\]]*\]", "", line).strip() for line in preamble]
    lines = [line for line in lines if line and not re.fullmatch(r"附件\s*\d*", line)]
    return "".join(lines)


def measure_title(cell: str) -> tuple[int, str]:
    """Number and title; two measures in one cell keep the first number, both titles."""
    from .words import cn_int

    flat = "".join(line.strip() for line in cell.splitlines() if line.strip())
    numbers = MEASURE.findall(flat)
    parts = [p for p in re.split(r"(?=[（(][一二三四五六七八九十]+[）)])", flat) if p.strip()]
    return cn_int(numbers[0]), "；".join(p.strip().rstrip("。") for p in parts)


def flatten(text: str) -> Flattened:
    """Split flattened text into the lines before the table, the table, or paragraphs."""
    lines = text.splitlines()
    if sum(1 for line in lines if line.startswith("\t")) < 2:
        return Flattened(paragraphs=paragraphs_of(lines))
    out = Flattened()
    rows: list[list[_Cell]] = []
    row: list[_Cell] = []
    cell: _Cell | None = None
    for number, raw in enumerate(lines, start=1):
        if raw.startswith("\t"):
            cell = _Cell(raw[1:], number)
            row.append(cell)
            bounds.check_width(len(row), number)
        elif not raw.strip():
            if row:
                rows.append(row)
                bounds.check_rows(len(rows), number)
            row, cell = [], None
        elif cell is None and not rows and not row:
            out.preamble.append(raw)
            bounds.check_rows(len(out.preamble), number, paragraphs=True)
        elif cell is not None:
            cell.add(raw, number)
        else:  # a cell's line after a stray blank line
            (row or rows[-1])[-1].add(raw, number)
    if row:
        rows.append(row)
        bounds.check_rows(len(rows), len(lines))
    joined = _join_fragments(rows)
    out.grid = Grid(
        [[c.text for c in r] for r in joined],
        [[c.line for c in r] for r in joined],
        explicit=False,
        title=title_of(out.preamble),
    )
    return out


def paragraphs_of(lines: list[str]) -> list[tuple[int, str]]:
    """The non-blank lines of a notice, numbered from 1, within the bounds."""
    out: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            bounds.check_cell(len(line), number)
            out.append((number, line))
            bounds.check_rows(len(out), number, paragraphs=True)
    return out


def _is_header(row: list[_Cell]) -> bool:
    """A row naming two known fields (序号, 责任单位, …): a header, maybe repeated on a new
    page, that is a row of its own, not a piece of one cut by a stray blank line (a title
    or section row, one cell, comes before it and is no piece of it either)."""
    return sum(1 for cell in row if header_field(cell.text) is not None) >= 2


def _join_fragments(rows: list[list[_Cell]]) -> list[list[_Cell]]:
    """Rows cut by a stray blank line, joined while together they fit the table's width."""
    counts: dict[int, int] = {}
    for r in rows:
        if len(r) >= 2:
            counts[len(r)] = counts.get(len(r), 0) + 1
    if not counts:
        return rows
    width = max(counts, key=lambda n: (counts[n], n))
    out: list[list[_Cell]] = []
    i = 0
    while i < len(rows):
        current = list(rows[i])
        j = i + 1
        while (
            len(current) < width
            and j < len(rows)
            and len(current) + len(rows[j]) <= width
            and not _is_header(rows[i])
            and not _is_header(rows[j])
        ):
            current += rows[j]
            j += 1
        if len(current) == width:
            out.append(current)
            i = j
        else:
            out.append(list(rows[i]))
            i += 1
    return out
