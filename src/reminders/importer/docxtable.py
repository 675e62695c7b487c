"""Word .docx → its body in order: paragraphs and tables (as grids, merged cells filled in).

Only word/document.xml is read, as a stream of parser events (package.py): no tree
is built and the package's images are never expanded. The text of a paragraph is
what python-docx's `Paragraph.text` gives (runs and hyperlinks directly in the
paragraph: text, tabs, line breaks, no-break hyphens); a table is what its direct
rows and cells hold (a table nested in a cell is not read). A horizontally merged
cell (gridSpan) repeats its text in each column it spans, and a vertically merged
one (vMerge continue) repeats the text of the cell above it, so every grid row is
complete. Spans are clipped to the table's width (its w:tblGrid, at most
IMPORT_MAX_COLUMNS): `gridSpan=100000000` costs what a one-column cell does. Rows,
paragraphs, a cell's lines and characters are bounded (bounds.py). Paragraphs are
numbered in document order (the line of a notice's task is its paragraph number).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..limits import IMPORT_MAX_COLUMNS
from . import bounds
from .package import Package
from .textable import Grid, title_of

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_VAL = _W + "val"

# (role of the parent, tag) → role of the element; anything else is not read
_ROLES = {
    ("root", _W + "document"): "document",
    ("document", _W + "body"): "body",
    ("body", _W + "p"): "body-p",
    ("body", _W + "tbl"): "tbl",
    ("tbl", _W + "tblGrid"): "grid",
    ("grid", _W + "gridCol"): "grid-col",
    ("tbl", _W + "tr"): "tr",
    ("tr", _W + "trPr"): "tr-pr",
    ("tr-pr", _W + "gridBefore"): "grid-before",
    ("tr", _W + "tc"): "tc",
    ("tc", _W + "tcPr"): "tc-pr",
    ("tc-pr", _W + "gridSpan"): "grid-span",
    ("tc-pr", _W + "vMerge"): "v-merge",
    ("tc", _W + "p"): "cell-p",
    ("body-p", _W + "r"): "r",
    ("body-p", _W + "hyperlink"): "link",
    ("cell-p", _W + "r"): "r",
    ("cell-p", _W + "hyperlink"): "link",
    ("link", _W + "r"): "r",
    ("r", _W + "t"): "t",
    ("r", _W + "tab"): "\t",
    ("r", _W + "ptab"): "\t",
    ("r", _W + "cr"): "\n",
    ("r", _W + "br"): "br",
    ("r", _W + "noBreakHyphen"): "-",
}
_CHARACTERS = frozenset({"\t", "\n", "-"})


@dataclass(slots=True)
class Body:
    paragraphs: list[tuple[int, str]] = field(default_factory=list)
    tables: list[Grid] = field(default_factory=list)


class _Reader:
    """The target of the parser: keeps the body's paragraphs and tables, nothing else."""

    def __init__(self) -> None:
        self.body = Body()
        self.roles: list[str | None] = []
        self.before: list[str] = []  # paragraphs since the last table: its title
        self.number = 0  # body paragraphs so far
        self.line = 0  # where errors point: the body paragraph, or the table's row
        self.rows_before = 0  # rows of the earlier tables
        self.parts: list[str] = []  # the paragraph being read
        self.size = 0  # its characters, with the cell's earlier lines
        # the table being read
        self.grid: list[list[str]] = []
        self.above: dict[int, str] = {}
        self.width = IMPORT_MAX_COLUMNS
        self.declared = 0  # gridCol elements
        self.row: list[str] | None = None
        self.grid_before = 0
        self.lines: list[str] = []  # the cell being read
        self.span = 1
        self.merge: str | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        parent = self.roles[-1] if self.roles else "root"
        role = _ROLES.get((parent, tag)) if parent is not None else None
        self.roles.append(role)
        if role is None:
            return
        if role in ("body-p", "cell-p"):
            self.parts = []
            if role == "body-p":
                self.number += 1
                self.line, self.size = self.number, 0
        elif role in _CHARACTERS:
            self._add(role)
        elif role == "br":
            if attrib.get(_W + "type", "textWrapping") == "textWrapping":
                self._add("\n")
        elif role == "tbl":
            self.grid, self.above, self.width, self.declared = [], {}, IMPORT_MAX_COLUMNS, 0
        elif role == "grid-col":
            self.declared += 1
            if self.declared > IMPORT_MAX_COLUMNS:
                bounds.check_column(self.declared, self.line)
        elif role == "tr":
            self.row, self.grid_before, self.line = None, 0, len(self.grid) + 1
            bounds.check_rows(self.rows_before + self.line, self.line)
        elif role == "grid-before":
            self.grid_before = int(attrib[_VAL])
        elif role == "tc":
            self.lines, self.span, self.merge, self.size = [], 1, None, 0
        elif role == "grid-span":
            self.span = int(attrib[_VAL])
        elif role == "v-merge":
            self.merge = attrib.get(_VAL, "continue")

    def data(self, text: str) -> None:
        if self.roles and self.roles[-1] == "t":
            self._add(text)

    def _add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        bounds.check_cell(self.size, self.line)

    def end(self, tag: str) -> None:
        role = self.roles.pop()
        if role == "body-p":
            text = "".join(self.parts)
            if text.strip():
                self.body.paragraphs.append((self.number, text))
                bounds.check_rows(len(self.body.paragraphs), self.number, paragraphs=True)
                self.before.append(text)
        elif role == "cell-p":
            self.lines.append("".join(self.parts))
            self.size += 1
            bounds.check_cell_lines(len(self.lines), self.line)
        elif role == "grid":
            self.width = self.declared or IMPORT_MAX_COLUMNS
        elif role == "tc":
            self._cell()
        elif role == "tr":
            self.grid.append(self._row())
            self.row = None
        elif role == "tbl":
            self._table()

    def _row(self) -> list[str]:
        if self.row is None:
            self.row = [""] * min(self.grid_before, self.width - 1)
        return self.row

    def _cell(self) -> None:
        row = self._row()
        column = len(row)
        text = self.above.get(column, "") if self.merge == "continue" else "\n".join(self.lines)
        if column >= IMPORT_MAX_COLUMNS:
            if text.strip():
                bounds.check_column(column + 1, self.line)
            return
        for offset in range(max(1, min(self.span, self.width - column))):
            self.above[column + offset] = text
            row.append(text)

    def _table(self) -> None:
        cells = self.grid
        lines = [[index] * max(1, len(r)) for index, r in enumerate(cells, start=1)]
        self.body.tables.append(Grid(cells, lines, explicit=True, title=title_of(self.before)))
        self.rows_before += len(cells)
        self.before = []
        self.grid = []

    def close(self) -> None:
        pass


def read_docx(package: Package) -> Body:
    """The paragraphs (numbered from 1) and tables of a document, in order; each table's
    title is the text of the paragraphs before it."""
    reader = _Reader()
    package.feed("word/document.xml", reader)
    return reader.body
