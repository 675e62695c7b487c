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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..core.grammar import Vocabulary
from ..exceptions import Problem, RemindersError
from ..limits import IMPORT_FILE_MAX_BYTES, IMPORT_TEXT_MAX_BYTES, TITLE_MAX_CHARS
from ..userfiles import read_user_file, size_text
from . import bounds
from .columns import HEADER_SCAN_ROWS, header_row
from .columns import Mapping as ColumnMapping
from .decode import Decoded, DecodeError, decode
from .docxtable import Body, read_docx
from .grid import Parsed, parse_grid
from .notice import read_notice
from .package import Package, PackageError, open_package
from .rows import Row
from .sheet import read_csv
from .textable import Grid, TableFormatError, flatten


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


def detect_kind(path: Path, raw: bytes) -> str | Package:
    """The kind of a text table ("text" or "csv"), or the checked package of a .docx
    or .xlsx."""
    if raw.startswith(b"PK\x03\x04"):
        try:
            return open_package(raw)
        except PackageError as exc:
            raise _fail(path, str(exc)) from None
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise _fail(
            path,
            "旧版二进制 .doc/.xls 文件 (an old binary .doc/.xls file)："
            "请另存为 .docx 或 .xlsx 后重试",
        )
    if raw.startswith(b"%PDF"):
        raise _fail(
            path, "这是 PDF，不是表格 (a PDF, not a table)：请把表格导出为 .docx、.xlsx 或 .csv"
        )
    return "csv" if path.suffix.lower() in (".csv", ".tsv") else "text"


def read_table(path: Path, options: ReadOptions | None = None) -> Table:
    """Read and parse `path`; raise RemindersError with a located Problem on failure."""
    options = options or ReadOptions()
    raw = read_user_file(path, IMPORT_FILE_MAX_BYTES, "分工表文件")
    kind = detect_kind(path, raw)
    if isinstance(kind, str) and len(raw) > IMPORT_TEXT_MAX_BYTES:
        raise _fail(
            path,
            f"文本表格超过 {size_text(IMPORT_TEXT_MAX_BYTES)} 上限 (too large for a task table: "
            f"{len(raw) / 2**20:.1f} MB of text)",
        )
    try:
        table = _parse(path, kind, raw, options)
        bounds.check_tasks(table.rows)
    except DecodeError as exc:
        raise _fail(path, exc.message, exc.line) from None
    except TableFormatError as exc:
        raise _fail(path, str(exc), exc.line) from None
    if not table.rows:
        name = kind if isinstance(kind, str) else kind.kind
        raise _fail(path, f"没有找到编号的任务 (no numbered tasks found in this {name} table)")
    return table


def _table(path: Path, kind: str, parsed: Parsed, encoding: str | None = None) -> Table:
    title = parsed.title  # the lines above the table: a long preamble is cut
    if len(title) > TITLE_MAX_CHARS:
        title = title[: TITLE_MAX_CHARS - 1] + "…"
    return Table(
        path,
        kind,
        title,
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


def _parse(path: Path, kind: str | Package, raw: bytes, options: ReadOptions) -> Table:
    if isinstance(kind, Package):
        return _package(path, kind, options)
    decoded = decode(raw)
    if kind == "csv":
        try:
            grid = read_csv(decoded.text)
        except csv.Error as exc:
            raise _fail(path, f"不是可读的 CSV 表格 (not a readable CSV table): {exc}") from None
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


def _package(path: Path, package: Package, options: ReadOptions) -> Table:
    """A .docx or .xlsx: its tables (or a document's paragraphs). A bound crossed while
    reading is a TableFormatError; anything else raised on a damaged package (of many
    types) says the file is not readable."""
    from .xlsx import read_xlsx  # openpyxl's helpers: only for a workbook

    try:
        body = read_docx(package) if package.kind == "docx" else Body(tables=read_xlsx(package))
    except TableFormatError:
        raise
    except PackageError as exc:
        raise _fail(path, str(exc)) from None
    except Exception as exc:
        what = f".{package.kind} (not a readable .{package.kind})"
        raise _fail(path, f"不是可读的 {what}: {type(exc).__name__}: {exc}") from None
    return _body(path, package.kind, body, options)


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
    raise first_error or TableFormatError("文档中没有表格 (the document has no table)")


def _body(path: Path, kind: str, body: Body, options: ReadOptions) -> Table:
    """The table of a workbook or document that holds the tasks; a document's numbered
    paragraphs when none does."""
    if body.tables:
        try:
            return _table(path, kind, _best_table(body.tables, options))
        except TableFormatError:
            if not body.paragraphs or options.columns:
                raise
    if not body.paragraphs:
        raise _fail(path, "文档中没有表格 (the document has no table)")
    _no_columns_for(path, options)
    try:
        parsed = read_notice(body.paragraphs, options.vocabulary, options.school_year_start)
    except TableFormatError as exc:
        if body.tables:
            raise _fail(
                path, "表格中没有表头 (no header row found in its tables)：" + str(exc), exc.line
            ) from None
        raise _fail(
            path, "文档中没有表格 (the document has no table)，且" + str(exc), exc.line
        ) from None
    return _table(path, kind, parsed)


def _as_sheet(decoded: Decoded) -> Grid | None:
    """Text as CSV/TSV if one line holds the whole header (Word text never does). Only
    the rows a header is looked for in are read to decide; then the whole, bounded."""
    try:
        head = read_csv(decoded.text, HEADER_SCAN_ROWS)
    except (csv.Error, TableFormatError):
        return None
    if header_row(head.cells) is None:
        return None
    try:
        return read_csv(decoded.text)
    except csv.Error:
        return None
