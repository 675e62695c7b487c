"""Spreadsheets (.xlsx through openpyxl, .csv) → grids of cell texts.

Merged ranges in .xlsx keep their value in the top-left cell only; the other
cells of the range get it too, as if the merge were undone. A CSV cannot say
which blank cells were merged, so there a blank may be read as the cell above.
Rows keep their spreadsheet row number (or CSV line) for messages.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl  # type: ignore[import-untyped]

from .textable import Grid


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


def _lines(cells: list[list[str]], numbers: list[int]) -> list[list[int]]:
    return [[n] * max(1, len(r)) for r, n in zip(cells, numbers, strict=True)]


def read_xlsx(raw: bytes) -> list[Grid]:
    """Every sheet as a grid, merged ranges filled in."""
    book = openpyxl.load_workbook(io.BytesIO(raw), data_only=True)
    grids: list[Grid] = []
    for sheet in book.worksheets:
        cells: list[list[str]] = []
        numbers: list[int] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells.append([_text(v) for v in values])
            numbers.append(number)
        for merged in sheet.merged_cells.ranges:
            top = merged.min_row - 1
            left = merged.min_col - 1
            if top >= len(cells) or left >= len(cells[top]):
                continue
            value = cells[top][left]
            for r in range(merged.min_row - 1, min(merged.max_row, len(cells))):
                for c in range(merged.min_col - 1, min(merged.max_col, len(cells[r]))):
                    cells[r][c] = value
        grids.append(Grid(cells, _lines(cells, numbers), explicit=True))
    book.close()
    return grids


def read_csv(text: str) -> Grid:
    """The grid and its line numbers; the delimiter is sniffed (comma, tab or semicolon)."""
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    cells: list[list[str]] = []
    numbers: list[int] = []
    start = 1
    for row in reader:
        cells.append(row)
        numbers.append(start)
        start = reader.line_num + 1
    return Grid(cells, _lines(cells, numbers), explicit=False)
