"""A .csv table → a grid of cell texts (.xlsx: xlsx.py).

A CSV cannot say which blank cells were merged, so there a blank may be read as the
cell above. Rows keep their CSV line for messages; rows with nothing in them are
left out, and rows, columns and characters are bounded (bounds.py).
"""

from __future__ import annotations

import csv
import io

from . import bounds
from .textable import Grid


def read_csv(text: str, max_rows: int | None = None) -> Grid:
    """The grid and its line numbers; the delimiter is sniffed (comma, tab or semicolon).
    `max_rows`: stop after so many rows."""
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
        if any(field.strip() for field in row):
            cells.append(bounds.bounded_row(row, start))
            numbers.append(start)
            bounds.check_rows(len(cells), start)
            if len(cells) == max_rows:
                break
        start = reader.line_num + 1
    lines = [[n] * max(1, len(r)) for r, n in zip(cells, numbers, strict=True)]
    return Grid(cells, lines, explicit=False)
