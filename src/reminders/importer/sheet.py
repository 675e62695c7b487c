"""Spreadsheets (.xlsx through openpyxl, .csv) → a grid of cell texts.

Merged ranges in .xlsx keep their value in the top-left cell only; the other
cells of the range get it too, as if the merge were undone. Rows keep their
spreadsheet row number (or CSV line) for messages.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl  # type: ignore[import-untyped]

from .grid import Columns, find_header


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(raw: bytes) -> tuple[str, list[list[str]], list[int]]:
    """(title, grid, spreadsheet row numbers) of the first sheet with a task header."""
    book = openpyxl.load_workbook(io.BytesIO(raw), data_only=True)
    chosen: tuple[str, list[list[str]], list[int]] | None = None
    for sheet in book.worksheets:
        grid: list[list[str]] = []
        numbers: list[int] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            grid.append([_text(v) for v in values])
            numbers.append(number)
        for merged in sheet.merged_cells.ranges:
            top = merged.min_row - 1
            left = merged.min_col - 1
            if top >= len(grid) or left >= len(grid[top]):
                continue
            value = grid[top][left]
            for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
                for c in range(merged.min_col - 1, min(merged.max_col, len(grid[r]))):
                    grid[r][c] = value
        header = find_header(grid)
        if header is not None:
            chosen = (_title(grid, header), grid, numbers)
            break
        if chosen is None:
            chosen = ("", grid, numbers)
    book.close()
    return chosen if chosen is not None else ("", [], [])


def _title(grid: list[list[str]], header: Columns | None) -> str:
    """The text of the rows above the header that have one distinct value."""
    if header is None:
        return ""
    lines: list[str] = []
    for cells in grid[: header.header_row]:
        values = {c.strip() for c in cells if c.strip()}
        if len(values) == 1:
            lines.append(values.pop())
    return "".join(line for line in lines if not line.startswith("附件"))


def read_csv(text: str) -> tuple[str, list[list[str]], list[int]]:
    """(title, grid, line numbers); the delimiter is sniffed (comma, tab or semicolon)."""
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    grid: list[list[str]] = []
    numbers: list[int] = []
    start = 1
    for cells in reader:
        grid.append(cells)
        numbers.append(start)
        start = reader.line_num + 1
    return _title(grid, find_header(grid)), grid, numbers
