"""Excel .xlsx → a grid of cell texts per sheet, merged ranges filled in.

The workbook is read as streams of parser events (package.py), keeping only what a
table needs: the sheets' names and parts, the shared strings, which cell styles are
dates, and each sheet's cells that hold a value. A sheet's size is what it holds,
not what it claims: a cell at XFD1048576 is one cell (and past IMPORT_MAX_COLUMNS an
error), a million empty rows or a `<dimension>` of the whole sheet cost nothing to
keep, rows with nothing in them are left out (each row keeps its sheet row number
for messages), and merged ranges are clipped to the rows and columns in use.

openpyxl (which writes the project's .xlsx files) reads a workbook whole, with every
style and an object per cell, and in read-only mode pads each row to the sheet's
claimed width; so only its number-format and date helpers are used here, with cell
values converted as its reader converts them (shared strings, inline strings,
numbers, booleans, dates by the cell's number format, errors as their text).

Merged ranges in .xlsx keep their value in the top-left cell only; the other cells
of the range get it too, as if the merge were undone.
"""

from __future__ import annotations

import bisect
import posixpath
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar

from openpyxl.styles.numbers import (  # type: ignore[import-untyped]
    builtin_format_code,
    is_date_format,
    is_timedelta_format,
)
from openpyxl.utils.cell import (  # type: ignore[import-untyped]
    coordinate_to_tuple,
    range_boundaries,
)
from openpyxl.utils.datetime import (  # type: ignore[import-untyped]
    MAC_EPOCH,
    WINDOWS_EPOCH,
    from_excel,
    from_ISO8601,
)

from ..limits import IMPORT_MAX_MERGED_RANGES
from . import bounds
from .package import Package
from .textable import Grid, TableFormatError

_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


class _Events:
    """A parser target that tracks each element's role from its parent's role and tag
    (`roles`), so that only the elements named there are read, wherever they nest."""

    ROLES: ClassVar[dict[tuple[str, str], str]] = {}

    def __init__(self) -> None:
        self.stack: list[str | None] = []
        self.text: list[str] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        parent = self.stack[-1] if self.stack else "root"
        role = self.ROLES.get((parent, tag)) if parent is not None else None
        self.stack.append(role)
        if role is not None:
            self.opened(role, attrib)

    def end(self, tag: str) -> None:
        role = self.stack.pop()
        if role is not None:
            self.closed(role)

    def data(self, text: str) -> None:
        if self.stack and self.stack[-1] == "t":
            self.text.append(text)

    def opened(self, role: str, attrib: dict[str, str]) -> None:
        pass

    def closed(self, role: str) -> None:
        pass

    def close(self) -> None:
        pass


class _Workbook(_Events):
    ROLES: ClassVar[dict[tuple[str, str], str]] = {
        ("root", _S + "workbook"): "workbook",
        ("workbook", _S + "workbookPr"): "properties",
        ("workbook", _S + "sheets"): "sheets",
        ("sheets", _S + "sheet"): "sheet",
    }

    def __init__(self) -> None:
        super().__init__()
        self.sheets: list[str] = []  # relationship ids, in order
        self.epoch = WINDOWS_EPOCH

    def opened(self, role: str, attrib: dict[str, str]) -> None:
        if role == "sheet":
            self.sheets.append(attrib.get(_REL_ID, ""))
        elif role == "properties" and attrib.get("date1904") in ("1", "true"):
            self.epoch = MAC_EPOCH


class _Relationships(_Events):
    ROLES: ClassVar[dict[tuple[str, str], str]] = {
        ("root", _REL + "s"): "relationships",
        ("relationships", _REL): "relationship",
    }

    def __init__(self) -> None:
        super().__init__()
        self.targets: dict[str, tuple[str, str]] = {}  # id → (type's last part, part name)

    def opened(self, role: str, attrib: dict[str, str]) -> None:
        target = attrib.get("Target", "")
        name = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        kind = attrib.get("Type", "").rsplit("/", 1)[-1]
        self.targets[attrib.get("Id", "")] = (kind, posixpath.normpath(name))


class _Styles(_Events):
    """Which cell styles (by index) show a date or a duration, as openpyxl decides."""

    ROLES: ClassVar[dict[tuple[str, str], str]] = {
        ("root", _S + "styleSheet"): "styles",
        ("styles", _S + "numFmts"): "formats",
        ("formats", _S + "numFmt"): "format",
        ("styles", _S + "cellXfs"): "cells",
        ("cells", _S + "xf"): "xf",
    }

    def __init__(self) -> None:
        super().__init__()
        self.custom: dict[int, str] = {}
        self.count = 0
        self.dates: set[int] = set()
        self.durations: set[int] = set()

    def opened(self, role: str, attrib: dict[str, str]) -> None:
        if role == "format":
            self.custom[int(attrib.get("numFmtId", "0"))] = attrib.get("formatCode", "")
        elif role == "xf":
            number = int(attrib.get("numFmtId", "0"))
            code = self.custom[number] if number in self.custom else builtin_format_code(number)
            if is_date_format(code):
                self.dates.add(self.count)
            if is_timedelta_format(code):
                self.durations.add(self.count)
            self.count += 1


_STRING_ROLES = {
    ("si", _S + "t"): "t",
    ("si", _S + "r"): "run",
    ("run", _S + "t"): "t",
}


class _Strings(_Events):
    """The shared strings: a string's text and its runs' texts (not the phonetic guide)."""

    ROLES: ClassVar[dict[tuple[str, str], str]] = {
        ("root", _S + "sst"): "sst",
        ("sst", _S + "si"): "si",
        **_STRING_ROLES,
    }

    def __init__(self) -> None:
        super().__init__()
        self.strings: list[str] = []

    def opened(self, role: str, attrib: dict[str, str]) -> None:
        if role == "si":
            self.text = []

    def closed(self, role: str) -> None:
        if role == "si":
            self.strings.append("".join(self.text).replace("x005F_", ""))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # a date cell: the day is what a time limit needs
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(text: str) -> int | float:
    return float(text) if "." in text or "E" in text or "e" in text else int(text)


@dataclass(slots=True)
class _Book:
    strings: list[str] = field(default_factory=list)
    epoch: datetime = WINDOWS_EPOCH
    dates: set[int] = field(default_factory=set)
    durations: set[int] = field(default_factory=set)


class _Sheet(_Events):
    """One sheet: the cells that hold a value, by row number, and its merged ranges."""

    ROLES: ClassVar[dict[tuple[str, str], str]] = {
        ("root", _S + "worksheet"): "worksheet",
        ("worksheet", _S + "sheetData"): "data",
        ("data", _S + "row"): "row",
        ("row", _S + "c"): "c",
        ("c", _S + "v"): "t",
        ("c", _S + "is"): "si",
        **_STRING_ROLES,
        ("worksheet", _S + "mergeCells"): "merges",
        ("merges", _S + "mergeCell"): "merge",
    }

    def __init__(self, book: _Book, rows_before: int) -> None:
        super().__init__()
        self.book = book
        self.rows_before = rows_before
        self.rows: dict[int, dict[int, str]] = {}
        self.merges: list[str] = []
        self.row = self.column = 0  # as openpyxl counts rows and cells without `r`
        self.cell: tuple[int, int, str, int] = (0, 0, "n", 0)  # row, column, type, style

    def opened(self, role: str, attrib: dict[str, str]) -> None:
        if role == "c":
            ref = attrib.get("r")
            if ref:
                row, self.column = coordinate_to_tuple(ref)
            else:
                row, self.column = self.row, self.column + 1
            self.cell = (row, self.column, attrib.get("t", "n"), int(attrib.get("s") or 0))
            self.text = []
        elif role == "row":
            number = attrib.get("r")
            self.row = int(number) if number else self.row + 1
            self.column = 0
        elif role == "merge":
            self.merges.append(attrib.get("ref", ""))
            if len(self.merges) > IMPORT_MAX_MERGED_RANGES:
                raise TableFormatError(
                    f"合并单元格超过 {IMPORT_MAX_MERGED_RANGES:,} 处上限 (too many merged ranges)"
                )

    def closed(self, role: str) -> None:
        if role != "c":
            return
        row, column, kind, style = self.cell
        text = _text(self._value(kind, style, "".join(self.text)))
        if not text.strip():
            return
        bounds.check_cell(len(text), row)
        bounds.check_column(column, row)
        if row not in self.rows:
            self.rows[row] = {}
            bounds.check_rows(self.rows_before + len(self.rows), row)
        self.rows[row][column] = text

    def _value(self, kind: str, style: int, raw: str) -> object:
        """What openpyxl's reader makes of a cell (data only: values, not formulas)."""
        if kind == "inlineStr":
            return raw
        if not raw:
            return None
        if kind == "n":
            value = _number(raw)
            if style in self.book.dates:
                try:
                    return from_excel(
                        value, self.book.epoch, timedelta=style in self.book.durations
                    )
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return value
        if kind == "s":
            return self.book.strings[int(raw)]
        if kind == "b":
            return bool(int(raw))
        if kind == "d":
            return from_ISO8601(raw)
        return raw  # "str", "e" (an error such as #N/A)

    def grid(self) -> Grid:
        numbers = sorted(self.rows)
        width = max((max(row) for row in self.rows.values()), default=0)
        cells = [[""] * width for _ in numbers]
        for r, number in enumerate(numbers):
            for column, text in self.rows[number].items():
                cells[r][column - 1] = text
        self._fill_merges(numbers, cells, width)
        lines = [[n] * max(1, len(r)) for r, n in zip(cells, numbers, strict=True)]
        return Grid(cells, lines, explicit=True)

    def _fill_merges(self, numbers: list[int], cells: list[list[str]], width: int) -> None:
        """Each merged range's value into its other cells, clipped to the rows and columns
        in use; ranges that overlap past the sheet's size are an error."""
        budget = len(numbers) * width  # what ranges that do not overlap can fill at most
        for ref in self.merges:
            try:
                left, top, right, bottom = range_boundaries(ref)
            except (ValueError, TypeError):
                continue  # not a range: nothing to fill
            if None in (left, top, right, bottom):
                continue
            left, right = sorted((left, right))
            top, bottom = sorted((top, bottom))
            first = bisect.bisect_left(numbers, top)
            if first == len(numbers) or numbers[first] != top or left > width:
                continue  # the top-left cell holds nothing
            value = cells[first][left - 1]
            last = bisect.bisect_right(numbers, bottom)
            right = min(right, width)
            budget -= (last - first) * (right - left + 1)
            if budget < 0:
                raise TableFormatError(
                    "合并单元格相互重叠 (overlapping merged ranges)", numbers[first]
                )
            for r in range(first, last):
                cells[r][left - 1 : right] = [value] * (right - left + 1)


def read_xlsx(package: Package) -> list[Grid]:
    """Every worksheet as a grid, in the workbook's order, merged ranges filled in."""
    workbook = _Workbook()
    package.feed("xl/workbook.xml", workbook)
    relationships = _Relationships()
    if "xl/_rels/workbook.xml.rels" in package.names:
        package.feed("xl/_rels/workbook.xml.rels", relationships)
    parts: dict[str, str] = {}
    for kind, name in relationships.targets.values():
        parts.setdefault(kind, name)
    book = _Book(epoch=workbook.epoch)
    styles = parts.get("styles", "xl/styles.xml")
    if styles in package.names:
        found = _Styles()
        package.feed(styles, found)
        book.dates, book.durations = found.dates, found.durations
    strings = parts.get("sharedStrings", "xl/sharedStrings.xml")
    if strings in package.names:
        table = _Strings()
        package.feed(strings, table)
        book.strings = table.strings
    grids: list[Grid] = []
    rows = 0
    for sheet_id in workbook.sheets:
        kind, name = relationships.targets.get(sheet_id, ("", ""))
        if kind != "worksheet" or name not in package.names:
            continue
        sheet = _Sheet(book, rows)
        package.feed(name, sheet)
        grids.append(sheet.grid())
        rows += len(grids[-1].cells)
    return grids
