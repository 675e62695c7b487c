"""Read a task-table file of any supported kind into rows, or say clearly why not.

The kind is decided by the content (a ZIP package is .docx or .xlsx by its
parts), the extension only breaking ties, so a renamed file still imports and
a binary file never reaches a text parser. Every failure is a RemindersError
whose Problem names the file, and the line when one is known.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import Problem, RemindersError
from .decode import Decoded, DecodeError, decode
from .grid import find_header, read_grid
from .rows import Row
from .textable import TableFormatError, read_text_table

MAX_TEXT_BYTES = 4 * 2**20  # a 2,000-task text table is about 0.5 MB
MAX_PACKAGE_BYTES = 40 * 2**20  # .docx / .xlsx may carry images
MAX_UNPACKED_BYTES = 200 * 2**20  # zip-bomb guard


@dataclass(slots=True)
class Table:
    path: Path
    kind: str
    title: str
    rows: list[Row]
    encoding: str | None = None


def _fail(
    path: Path, message: str, line: int | None = None, value: object = None
) -> RemindersError:
    return RemindersError([Problem(message, str(path), line, None, value)])


def _package_kind(path: Path, raw: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as package:
            names = set(package.namelist())
            unpacked = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _fail(path, "a damaged ZIP package, not a readable .docx or .xlsx") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise _fail(path, f"the package unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB")
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    raise _fail(path, "a ZIP file that is neither a Word .docx nor an Excel .xlsx")


def detect_kind(path: Path, raw: bytes) -> str:
    if raw.startswith(b"PK\x03\x04"):
        return _package_kind(path, raw)
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise _fail(path, "an old binary .doc/.xls file; save it as .docx or .xlsx and retry")
    if raw.startswith(b"%PDF"):
        raise _fail(path, "a PDF, not a table; export the table as .docx, .xlsx or .csv")
    return "csv" if path.suffix.lower() in (".csv", ".tsv") else "text"


def read_table(path: Path) -> Table:
    """Read and parse `path`; raise RemindersError with a located Problem on failure."""
    try:
        if path.is_dir():
            raise _fail(path, "a directory, not a table file")
        size = path.stat().st_size
        if size > MAX_PACKAGE_BYTES:
            raise _fail(
                path, f"too large: {size / 2**20:.1f} MB (limit {MAX_PACKAGE_BYTES // 2**20} MB)"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror or exc}") from None
    kind = detect_kind(path, raw)
    if kind in ("text", "csv") and len(raw) > MAX_TEXT_BYTES:
        limit = MAX_TEXT_BYTES // 2**20
        raise _fail(
            path,
            f"too large for a task table: {len(raw) / 2**20:.1f} MB of text (limit {limit} MB)",
        )
    try:
        table = _parse(path, kind, raw)
    except DecodeError as exc:
        raise _fail(path, exc.message, exc.line) from None
    except TableFormatError as exc:
        raise _fail(path, str(exc), exc.line) from None
    if not table.rows:
        raise _fail(path, f"no numbered tasks found in this {kind} table")
    _check_ids(table)
    return table


def _parse(path: Path, kind: str, raw: bytes) -> Table:
    if kind == "docx":
        from .docxtable import read_docx

        try:
            title, grid = read_docx(raw)
        except Exception as exc:  # python-docx raises many types on a damaged package
            raise _fail(path, f"not a readable .docx: {type(exc).__name__}: {exc}") from None
        if not grid:
            raise _fail(path, "the document has no table")
        return Table(path, kind, title, read_grid(grid))
    if kind == "xlsx":
        from .sheet import read_xlsx

        try:
            title, grid, numbers = read_xlsx(raw)
        except Exception as exc:  # openpyxl raises many types on a damaged package
            raise _fail(path, f"not a readable .xlsx: {type(exc).__name__}: {exc}") from None
        return Table(path, kind, title, read_grid(grid, numbers))
    decoded = decode(raw)
    if kind == "csv":
        from .sheet import read_csv

        try:
            title, grid, numbers = read_csv(decoded.text)
        except csv.Error as exc:
            raise _fail(path, f"not a readable CSV table: {exc}") from None
        return Table(path, kind, title, read_grid(grid, numbers), decoded.encoding)
    sheet = _as_sheet(path, decoded)
    if sheet is not None:  # a .txt that is really a tab- or comma-separated sheet
        return sheet
    title, rows = read_text_table(decoded.text)
    return Table(path, kind, title, rows, decoded.encoding)


def _as_sheet(path: Path, decoded: Decoded) -> Table | None:
    """Read text as CSV/TSV if one line holds the whole header (Word text never does)."""
    from .sheet import read_csv

    try:
        title, grid, numbers = read_csv(decoded.text)
    except csv.Error:
        return None
    if find_header(grid) is None:
        return None
    return Table(path, "csv", title, read_grid(grid, numbers), decoded.encoding)


def _check_ids(table: Table) -> None:
    seen: dict[str, Row] = {}
    for row in table.rows:
        first = seen.get(row.id)
        if first is not None:
            where = f" (first at line {first.line})" if first.line else ""
            raise _fail(table.path, f"task id {row.id} appears twice{where}", row.line, row.id)
        seen[row.id] = row
