"""Read a task-table file of any supported kind into tasks, or say clearly why not.

The kind is decided by the content (a ZIP package is .docx or .xlsx by its
parts), the extension only breaking ties, so a renamed file still imports and
a binary file never reaches a text parser. Every kind becomes a grid of cells
(a table) or a list of paragraphs (a notice with no table); a .docx with both
uses the table that holds the tasks. Every failure is a RemindersError whose
Problem names the file, and the line when one is known.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..core.grammar import Vocabulary
from ..exceptions import Problem, RemindersError
from .columns import Mapping as ColumnMapping
from .columns import header_row
from .decode import Decoded, DecodeError, decode
from .grid import Parsed, parse_grid
from .notice import read_notice
from .rows import Row
from .textable import Grid, TableFormatError, flatten

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
    layout: str = "table"
    mapping: ColumnMapping | None = None


@dataclass(frozen=True, slots=True)
class ReadOptions:
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    columns: Mapping[str, str] | None = None  # --columns
    school_year_start: int = 9


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


def read_table(path: Path, options: ReadOptions | None = None) -> Table:
    """Read and parse `path`; raise RemindersError with a located Problem on failure."""
    options = options or ReadOptions()
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
        table = _parse(path, kind, raw, options)
    except DecodeError as exc:
        raise _fail(path, exc.message, exc.line) from None
    except TableFormatError as exc:
        raise _fail(path, str(exc), exc.line) from None
    if not table.rows:
        raise _fail(path, f"no numbered tasks found in this {kind} table")
    return table


def _table(path: Path, kind: str, parsed: Parsed, encoding: str | None = None) -> Table:
    return Table(
        path,
        kind,
        parsed.title,
        parsed.rows,
        encoding,
        layout=parsed.layout,
        mapping=parsed.mapping,
    )


def _grid(grid: Grid, options: ReadOptions) -> Parsed:
    return parse_grid(grid, options.vocabulary, options.columns, options.school_year_start)


def _no_columns_for(path: Path, options: ReadOptions) -> None:
    if options.columns:
        raise _fail(path, "--columns 只用于表格 (only for tables): 这个文件没有表格 (no table)")


def _parse(path: Path, kind: str, raw: bytes, options: ReadOptions) -> Table:
    if kind == "docx":
        from .docxtable import read_docx

        try:
            body = read_docx(raw)
        except Exception as exc:  # python-docx raises many types on a damaged package
            raise _fail(path, f"not a readable .docx: {type(exc).__name__}: {exc}") from None
        return _docx(path, body, options)
    if kind == "xlsx":
        from .sheet import read_xlsx

        try:
            grids = read_xlsx(raw)
        except Exception as exc:  # openpyxl raises many types on a damaged package
            raise _fail(path, f"not a readable .xlsx: {type(exc).__name__}: {exc}") from None
        return _table(path, kind, _best_table(grids, options))
    decoded = decode(raw)
    if kind == "csv":
        from .sheet import read_csv

        try:
            grid = read_csv(decoded.text)
        except csv.Error as exc:
            raise _fail(path, f"not a readable CSV table: {exc}") from None
        return _table(path, kind, _grid(grid, options), decoded.encoding)
    sheet = _as_sheet(decoded)
    if sheet is not None:  # a .txt that is really a tab- or comma-separated sheet
        return _table(path, "csv", _grid(sheet, options), decoded.encoding)
    flat = flatten(decoded.text)
    if flat.grid is not None:
        return _table(path, kind, _grid(flat.grid, options), decoded.encoding)
    _no_columns_for(path, options)
    parsed = read_notice(flat.paragraphs, options.vocabulary, options.school_year_start)
    return _table(path, kind, parsed, decoded.encoding)


def _best_table(grids: list[Grid], options: ReadOptions) -> Parsed:
    """The table (or sheet) holding the tasks: of those that read as a task table, the
    one with the most; the first one's error if none does."""
    first_error: TableFormatError | None = None
    best: Parsed | None = None
    for grid in grids:
        try:
            parsed = _grid(grid, options)
        except TableFormatError as exc:
            first_error = first_error or exc
            continue
        if best is None or len(parsed.rows) > len(best.rows):
            best = parsed
    if best is not None and best.rows:
        return best
    raise first_error or TableFormatError("the document has no table")


def _docx(path: Path, body: object, options: ReadOptions) -> Table:
    from .docxtable import Body

    assert isinstance(body, Body)
    if body.tables:
        try:
            return _table(path, "docx", _best_table(body.tables, options))
        except TableFormatError:
            if not body.paragraphs or options.columns:
                raise
    if not body.paragraphs:
        raise _fail(path, "the document has no table")
    _no_columns_for(path, options)
    try:
        parsed = read_notice(body.paragraphs, options.vocabulary, options.school_year_start)
    except TableFormatError as exc:
        if body.tables:
            raise _fail(path, "no header row found in its tables, " + str(exc), exc.line) from None
        raise _fail(path, "the document has no table, and " + str(exc), exc.line) from None
    return _table(path, "docx", parsed)


def _as_sheet(decoded: Decoded) -> Grid | None:
    """Text as CSV/TSV if one line holds the whole header (Word text never does)."""
    from .sheet import read_csv

    try:
        grid = read_csv(decoded.text)
    except csv.Error:
        return None
    if header_row(grid.cells) is None:
        return None
    return grid
