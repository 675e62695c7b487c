"""Plain-text tables for the command line: a title, a header, a rule, rows.

Widths are terminal display widths: CJK wide characters take two columns,
combining marks none. Cells are printed literally (no markup, no colour), their
control characters and escape sequences dropped first (as the command's output
filter, cli/terminal.py, would drop them) so the widths are what the terminal shows.
When a table is wider than the terminal, only the columns given a ratio
shrink, in proportion to it, and their cells wrap onto continuation lines.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from ..safetext import printable

GAP = "  "
RULE = "─"

Justify = Literal["left", "right"]


def char_width(char: str) -> int:
    """Terminal columns taken by one character: 2 wide, 0 combining, else 1."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    return sum(char_width(c) for c in text)


def wrap(text: str, width: int) -> list[str]:
    """`text` as lines at most `width` columns wide; joined, they give `text` back.

    A run of narrow characters (a Latin word, a number) cut by the line's end
    moves whole to the next line when something precedes it on this one.
    A character wider than `width` gets a line of its own.
    """
    lines: list[str] = []
    line = ""
    used = 0
    for char in text:
        w = char_width(char)
        if w and used + w > width and line:  # a combining mark stays with its base
            line, carried = _split_at_word(line, char)
            lines.append(line)
            line = carried
            used = display_width(line)
        line += char
        used += w
    lines.append(line)
    return lines


def _split_at_word(line: str, following: str) -> tuple[str, str]:
    """`line` cut before `following`: (what stays, what moves to the next line)."""
    if not _in_word(following):
        return line, ""
    start = len(line)
    while start > 0 and _in_word(line[start - 1]):
        start -= 1
    return (line[:start], line[start:]) if start > 0 else (line, "")


def _in_word(char: str) -> bool:
    return char_width(char) == 1 and not char.isspace()


@dataclass
class Column:
    header: str
    justify: Justify = "left"
    ratio: int = 0  # share of the shrinking when the table is too wide; 0: never wraps


@dataclass
class Table:
    title: str
    columns: list[Column] = field(default_factory=list)
    rows: list[tuple[str, ...]] = field(default_factory=list)

    def add_column(self, header: str, *, justify: Justify = "left", ratio: int = 0) -> None:
        self.columns.append(Column(header, justify, ratio))

    def add_row(self, *cells: str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(tuple(printable(cell) for cell in cells))

    def render(self, width: int) -> str:
        """The table as text (no final newline), as narrow as `width` allows."""
        widths = self._widths(width)
        out = [self.title]
        out += self._row_lines(tuple(c.header for c in self.columns), widths)
        out.append(GAP.join(RULE * w for w in widths))
        for row in self.rows:
            out += self._row_lines(row, widths)
        return "\n".join(out)

    def _widths(self, width: int) -> list[int]:
        widths = [
            max(_text_width(text) for text in (c.header, *(row[i] for row in self.rows)))
            for i, c in enumerate(self.columns)
        ]
        room = width - display_width(GAP) * (len(self.columns) - 1)
        if sum(widths) <= room:
            return widths
        shrinking = [i for i, c in enumerate(self.columns) if c.ratio > 0]
        fixed = sum(w for i, w in enumerate(widths) if i not in shrinking)
        shares = _share(
            room - fixed,
            [widths[i] for i in shrinking],
            [self.columns[i].ratio for i in shrinking],
            [self._widest_char(i) for i in shrinking],
        )
        for i, share in zip(shrinking, shares, strict=True):
            widths[i] = share
        return widths

    def _widest_char(self, index: int) -> int:
        texts = (self.columns[index].header, *(row[index] for row in self.rows))
        return max((char_width(c) for text in texts for c in text), default=1) or 1

    def _row_lines(self, cells: tuple[str, ...], widths: list[int]) -> list[str]:
        wrapped = [
            _cell_lines(text, w, wraps=c.ratio > 0)
            for text, w, c in zip(cells, widths, self.columns, strict=True)
        ]
        height = max(len(lines) for lines in wrapped)
        return [
            GAP.join(
                _pad(lines[n] if n < len(lines) else "", w, c.justify)
                for lines, w, c in zip(wrapped, widths, self.columns, strict=True)
            ).rstrip()
            for n in range(height)
        ]


def _text_width(text: str) -> int:
    return max(display_width(line) for line in text.split("\n"))


def _cell_lines(text: str, width: int, *, wraps: bool) -> list[str]:
    lines = text.split("\n")
    if not wraps:
        return lines
    return [part for line in lines for part in wrap(line, width)]


def _pad(text: str, width: int, justify: Justify) -> str:
    padding = " " * max(width - display_width(text), 0)
    return padding + text if justify == "right" else text + padding


def _share(room: int, natural: list[int], ratios: list[int], minimum: list[int]) -> list[int]:
    """Split `room` columns by ratio; a column needing less than its part keeps its
    natural width and leaves the rest to the others; none goes below its minimum."""
    widths = list(natural)
    open_ = list(range(len(natural)))
    while open_:
        total = sum(ratios[i] for i in open_)
        narrow = [i for i in open_ if natural[i] * total <= room * ratios[i]]
        if not narrow:
            break
        for i in narrow:
            room -= natural[i]
            open_.remove(i)
    if not open_:
        return widths
    total = sum(ratios[i] for i in open_)
    parts = {i: max(room, 0) * ratios[i] // total for i in open_}
    # the columns left over by rounding down go to the largest remainders
    leftover = max(room, 0) - sum(parts.values())
    by_remainder = sorted(open_, key=lambda i: -(max(room, 0) * ratios[i] % total))
    for i in by_remainder[:leftover]:
        parts[i] += 1
    for i in open_:
        widths[i] = max(parts[i], minimum[i])
    return widths
