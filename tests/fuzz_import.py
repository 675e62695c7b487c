"""Hostile import tables: generated .txt/.csv/.xlsx/.docx files and special files.

Each class makes one case per call from a seeded Random: a small valid task table
(序号, 具体工作, 责任单位, 完成时限, units from the shipped units.yaml) in one of the
four formats with one thing made hostile — a cell, the rows, the columns, spans and
merges, the ZIP package, the bytes — or a special file in its place, run as
`reminders import FILE --output OUT` against the shipped config. The classes are
those of issue 16 (a time cell of 每月 × 10,000, a task cell of 加密 × 20,000, a
cell of 200,000 continuation lines, an .xlsx cell at XFD1048576, a million empty
rows, merged ranges over a million cells, 300,000 rows, gridSpan=100,000,000 and
every cell spanning 16,000 columns, FIFOs and /dev/zero) and variations around the
limits in limits.py. The .xlsx and .docx files are written as raw XML, so that they
can claim what no office program would write.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from reminders.limits import (
    IMPORT_CELL_MAX_CHARS,
    IMPORT_CELL_MAX_LINES,
    IMPORT_MAX_COLUMNS,
    IMPORT_MAX_MERGED_RANGES,
    IMPORT_MAX_ROWS,
    IMPORT_XML_MAX_TAGS,
    IMPORT_ZIP_MAX_MEMBERS,
    PHRASE_MAX_CHARS,
    TEXT_MAX_CHARS,
)

from .conftest import SHIPPED_CONFIG
from .fuzzing import Case, Plan, hostile, mutate

FORMATS = ("txt", "csv", "xlsx", "docx")
HEADER = ["序号", "具体工作", "责任单位", "完成时限"]
UNITS = ["教育局", "各校", "县第一中学", "教育局、各校", "县实验小学"]
LIMITS = ["9月底前完成", "每月至少组织1次", "长期坚持", "年底前完成", "每季度至少开展1次"]
REPORT_ERRORS = "处问题须在任务清单"  # exit 1 with a report: the duties need a person's fix
TARGET = "import"


def task_rows(rng: Random, count: int) -> list[list[str]]:
    """A header and `count` numbered tasks, each read as a duty with a rule."""
    rows = [list(HEADER)]
    for n in range(1, count + 1):
        text = f"第{n}项：加强安全隐患排查治理，落实主体责任" + "，完善制度" * rng.randint(0, 3)
        rows.append([str(n), text, rng.choice(UNITS), rng.choice(LIMITS)])
    return rows


# -- writers: each format, raw enough to say anything -----------------------------------


@dataclass
class Table:
    """What a writer writes; the extras are what the format can claim beyond its rows."""

    rows: list[list[str]]
    title: str = "关于落实安全生产责任的任务分工表"
    spans: dict[tuple[int, int], int] = field(default_factory=dict)  # docx gridSpan
    before: dict[int, int] = field(default_factory=dict)  # docx gridBefore per row
    grid_cols: int | None = None  # docx tblGrid columns (None: as many as the header)
    continue_down: set[tuple[int, int]] = field(default_factory=set)  # docx vMerge continue
    body_xml: str = ""  # docx: raw XML after the table
    merges: list[str] = field(default_factory=list)  # xlsx merged ranges
    sheet_xml: str = ""  # xlsx: raw rows after the table's rows
    dimension: str | None = None  # xlsx <dimension ref=…>
    members: dict[str, bytes] = field(default_factory=dict)  # extra package members
    zeros: dict[str, int] = field(default_factory=dict)  # extra members of so many zero bytes


def write_txt(path: Path, table: Table) -> None:
    """Text flattened from Word: a tab starts each cell, a blank line ends each row."""
    lines = [table.title]
    for row in table.rows:
        lines += ["\t" + cell for cell in row]
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_csv(path: Path, table: Table) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([table.title])
    writer.writerows(table.rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


_XLSX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/></Types>'
)
_XLSX_WORKBOOK = (
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="任务" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_XLSX_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def xlsx_cell(row: int, column: int, text: str) -> str:
    ref = f"{get_column_letter(column)}{row}"
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def write_xlsx(path: Path, table: Table) -> None:
    rows = [f'<row r="1">{xlsx_cell(1, 1, table.title)}</row>']
    for r, cells in enumerate(table.rows, start=2):
        inner = "".join(xlsx_cell(r, c, text) for c, text in enumerate(cells, start=1) if text)
        rows.append(f'<row r="{r}">{inner}</row>')
    merges = "".join(f'<mergeCell ref="{ref}"/>' for ref in table.merges)
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + (f'<dimension ref="{table.dimension}"/>' if table.dimension else "")
        + "<sheetData>"
        + "".join(rows)
        + table.sheet_xml
        + "</sheetData>"
        + (f'<mergeCells count="{len(table.merges)}">{merges}</mergeCells>' if merges else "")
        + "</worksheet>"
    )
    _package(
        path,
        {
            "[Content_Types].xml": _XLSX_TYPES.encode(),
            "xl/workbook.xml": _XLSX_WORKBOOK.encode(),
            "xl/_rels/workbook.xml.rels": _XLSX_RELS.encode(),
            "xl/worksheets/sheet1.xml": sheet.encode(),
            **table.members,
        },
        table.zeros,
    )


def docx_paragraph(text: str) -> str:
    if not text:
        return "<w:p/>"
    return f'<w:p><w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


def write_docx(path: Path, table: Table) -> None:
    width = table.grid_cols if table.grid_cols is not None else len(table.rows[0])
    rows = []
    for r, cells in enumerate(table.rows):
        before = table.before.get(r)
        head = f'<w:trPr><w:gridBefore w:val="{before}"/></w:trPr>' if before is not None else ""
        tcs = []
        for c, text in enumerate(cells):
            props = ""
            if (r, c) in table.spans:
                props += f'<w:gridSpan w:val="{table.spans[r, c]}"/>'
            if (r, c) in table.continue_down:
                props += "<w:vMerge/>"
            paragraphs = "".join(docx_paragraph(line) for line in text.split("\n"))
            tcs.append(
                f"<w:tc><w:tcPr>{props}</w:tcPr>{paragraphs}</w:tc>"
                if props
                else f"<w:tc>{paragraphs}</w:tc>"
            )
        rows.append(f"<w:tr>{head}{''.join(tcs)}</w:tr>")
    grid = "<w:tblGrid>" + '<w:gridCol w:w="2000"/>' * width + "</w:tblGrid>"
    body = docx_paragraph(table.title) + f"<w:tbl>{grid}{''.join(rows)}</w:tbl>" + table.body_xml
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    _package(path, {"word/document.xml": document.encode(), **table.members}, table.zeros)


def _package(path: Path, members: dict[str, bytes], zeros: dict[str, int] | None = None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in members.items():
            package.writestr(name, data)
        for name, size in (zeros or {}).items():  # a zip bomb, written without holding it
            with package.open(name, "w", force_zip64=True) as member:
                for _ in range(size // 2**20):
                    member.write(bytes(2**20))


WRITERS: dict[str, Callable[[Path, Table], None]] = {
    "txt": write_txt,
    "csv": write_csv,
    "xlsx": write_xlsx,
    "docx": write_docx,
}


def write_table(directory: Path, fmt: str, table: Table, name: str = "table") -> Path:
    path = directory / f"{name}.{fmt}"
    WRITERS[fmt](path, table)
    return path


def import_plan(scratch: Path, source: Path, *, must_fail: bool = False) -> Plan:
    """`import SOURCE --output OUT` with the shipped config: a refusal names the source
    and writes nothing; exit 1 with a report (duties to fix) is a reading too."""
    output = scratch / "out" / "duties.yaml"
    output.parent.mkdir(exist_ok=True)
    command = ["--config", str(SHIPPED_CONFIG), "import", str(source), "--output", str(output)]
    return Plan(
        [command],
        (str(source),),
        must_fail=must_fail,
        absent=(output,),
        report_marker=REPORT_ERRORS,
        one_screen=True,
    )


# -- the classes of issue 16 and around the limits --------------------------------------


@hostile("import-special-file", TARGET)
def special_file(rng: Random) -> Case:
    kind = rng.choice(
        [
            *("fifo", "dev-zero", "dev-urandom", "dev-null", "directory", "socket"),
            *("dangling", "loop", "good-link"),
        ]
    )
    fmt = rng.choice(FORMATS)

    def build(scratch: Path) -> Plan:
        path = scratch / f"table.{fmt}"
        if kind == "fifo":
            os.mkfifo(path)
        elif kind.startswith("dev-"):
            path.symlink_to("/dev/" + kind.removeprefix("dev-"))
        elif kind == "directory":
            path.mkdir()
        elif kind == "socket":
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(path))
            listener.close()
        elif kind == "dangling":
            path.symlink_to(scratch / "nowhere")
        elif kind == "loop":
            path.symlink_to(path)
        else:
            real = write_table(scratch, fmt, Table(task_rows(rng, 3)), "real")
            path.symlink_to(real)
        return import_plan(scratch, path, must_fail=kind != "good-link")

    return Case("import-special-file", f".{fmt} is {kind}", build)


_FIELDS = {1: ("task", TEXT_MAX_CHARS), 2: ("units", 100), 3: ("time", PHRASE_MAX_CHARS)}


@hostile("import-huge-cell", TARGET)
def huge_cell(rng: Random) -> Case:
    fmt = rng.choice(FORMATS)
    column = rng.choice([1, 1, 2, 3, 3])
    unit = rng.choice(["每月", "加密", "重", "9月底前", "a", "、", "每月至少1次", "局"])
    repeat = rng.choice([10, 100, 1_000, 2_000, 10_000, 20_000, 100_000])
    name, bound = _FIELDS[column]

    def build(scratch: Path) -> Plan:
        rows = task_rows(rng, 4)
        rows[rng.randint(1, 4)][column] = unit * repeat
        source = write_table(scratch, fmt, Table(rows))
        return import_plan(scratch, source, must_fail=len(unit) * repeat > 2 * bound)

    return Case("import-huge-cell", f"{name} cell of {unit!r} × {repeat:,} in .{fmt}", build)


@hostile("import-cell-lines", TARGET)
def cell_lines(rng: Random) -> Case:
    fmt = rng.choice(["txt", "txt", "docx", "docx", "csv", "xlsx"])
    lines = rng.choice([10, IMPORT_CELL_MAX_LINES, IMPORT_CELL_MAX_LINES + 1, 5_000, 200_000])
    line = rng.choice(["续", "", "继续落实", " "])
    column = rng.choice([1, 2, 3])

    def build(scratch: Path) -> Plan:
        rows = task_rows(rng, 3)
        rows[2][column] += "\n" + "\n".join([line] * lines)
        source = write_table(scratch, fmt, Table(rows))
        if fmt == "docx":  # every paragraph is a line of the cell
            must_fail = lines + 1 > IMPORT_CELL_MAX_LINES
        elif fmt == "txt":  # a blank line ends the row
            must_fail = bool(line.strip()) and lines + 1 > IMPORT_CELL_MAX_LINES
        else:  # one cell of many characters
            must_fail = (len(line) + 1) * lines > IMPORT_CELL_MAX_CHARS
        return import_plan(scratch, source, must_fail=must_fail)

    return Case("import-cell-lines", f"{lines:,} lines of {line!r} in .{fmt}", build)


@hostile("import-many-rows", TARGET)
def many_rows(rng: Random) -> Case:
    fmt = rng.choice(FORMATS)
    count = rng.choice([IMPORT_MAX_ROWS - 2, IMPORT_MAX_ROWS + 1, 30_000, 300_000])
    if fmt in ("txt", "csv") and count > IMPORT_MAX_ROWS:
        count = rng.choice([IMPORT_MAX_ROWS + 1, 300_000])

    def build(scratch: Path) -> Plan:
        rows = [list(HEADER)] + [
            [str(n), f"检查第{n}项", "教育局", "年底前"] for n in range(1, count + 1)
        ]
        source = write_table(scratch, fmt, Table(rows))
        return import_plan(scratch, source, must_fail=count + 1 > IMPORT_MAX_ROWS)

    return Case("import-many-rows", f"{count:,} rows in .{fmt}", build)


@hostile("import-wide", TARGET)
def wide(rng: Random) -> Case:
    fmt = rng.choice(FORMATS)
    columns = rng.choice(
        [
            IMPORT_MAX_COLUMNS,
            IMPORT_MAX_COLUMNS + 1,
            1_000,
            16_384,
            {"xlsx": 16_384, "csv": 200_000}.get(fmt, 50_000),  # XFD: Excel's last column
        ]
    )
    filled = rng.choice(["last", "none", "all"])

    def build(scratch: Path) -> Plan:
        rows = task_rows(rng, 3)
        extra = columns - len(rows[2])
        if filled == "all":
            rows[2] += ["x"] * extra
        else:
            rows[2] += [""] * (extra - 1) + ["x" if filled == "last" else ""]
        source = write_table(scratch, fmt, Table(rows))
        past = columns > IMPORT_MAX_COLUMNS and (filled != "none" or fmt == "txt")
        return import_plan(scratch, source, must_fail=past)

    return Case("import-wide", f"a row of {columns:,} cells ({filled} filled) in .{fmt}", build)


@hostile("import-spans", TARGET)
def spans(rng: Random) -> Case:
    fmt = rng.choice(["docx", "docx", "xlsx"])
    kind = rng.choice(["one-span", "every-span", "grid-before", "grid-cols", "merged-down"])
    if fmt == "xlsx":
        kind = rng.choice(["whole-sheet", "many-ranges", "overlapping", "reversed", "bad-refs"])
    value = rng.choice([2, IMPORT_MAX_COLUMNS, 16_000, 100_000_000, 0, -5])

    def build(scratch: Path) -> Plan:
        rows = task_rows(rng, 4)
        table = Table(rows)
        must_fail = False
        if kind == "one-span":
            table.spans[rng.randint(0, 4), rng.randint(0, 3)] = value
        elif kind == "every-span":
            table.spans = {(r, c): value for r in range(5) for c in range(4)}
        elif kind == "grid-before":
            table.before = {r: value for r in range(1, 5)}
        elif kind == "grid-cols":
            table.grid_cols = max(0, value) if value < 10_000 else 60_000
            must_fail = table.grid_cols > IMPORT_MAX_COLUMNS
        elif kind == "merged-down":
            table.continue_down = {(r, c) for r in range(2, 5) for c in range(4)}
        elif kind == "whole-sheet":
            table.merges = ["A1:XFD1048576", "B3:XFD1048576", "A2:D1048576"][: rng.randint(1, 3)]
        elif kind == "many-ranges":
            count = rng.choice(
                [10, IMPORT_MAX_MERGED_RANGES, IMPORT_MAX_MERGED_RANGES + 1, 100_000]
            )
            table.merges = [f"E{r}:XFD{r + 1_000_000}" for r in range(1, count + 1)]
            must_fail = count > IMPORT_MAX_MERGED_RANGES
        elif kind == "overlapping":
            table.merges = ["A2:D6"] * rng.choice([2, 1_000, 10_000])
            must_fail = len(table.merges) > 1
        elif kind == "reversed":
            table.merges = ["D6:A2", "XFD1048576:A1"]
        else:
            table.merges = ["", "A", "1:1", "A0:B0", "ZZZZ1:A1", "A1:A99999999999999"]
        source = write_table(scratch, fmt, table)
        return import_plan(scratch, source, must_fail=must_fail)

    return Case("import-spans", f"{kind} ({value:,}) in .{fmt}", build)


@hostile("import-sparse-sheet", TARGET)
def sparse_sheet(rng: Random) -> Case:
    kind = rng.choice(["far-cell", "last-row", "empty-rows", "empty-cells", "dimension"])
    count = rng.choice([1_000, 100_000, 900_000, 1_100_000])

    def build(scratch: Path) -> Plan:
        table = Table(task_rows(rng, 4))
        must_fail = False
        if kind == "far-cell":
            table.sheet_xml = f'<row r="1048576">{xlsx_cell(1048576, 16384, "x")}</row>'
            must_fail = True
        elif kind == "last-row":
            table.sheet_xml = f'<row r="1048576">{xlsx_cell(1048576, 2, "最后一行的任务")}</row>'
        elif kind == "empty-rows":
            table.sheet_xml = "".join(f'<row r="{r}"/>' for r in range(10, 10 + count))
            must_fail = count > IMPORT_XML_MAX_TAGS
        elif kind == "empty-cells":
            table.sheet_xml = '<row r="9">' + '<c s="1"/>' * count + "</row>"
            must_fail = count > IMPORT_XML_MAX_TAGS
        else:
            table.dimension = "A1:XFD1048576"
        source = write_table(scratch, "xlsx", table)
        return import_plan(scratch, source, must_fail=must_fail)

    return Case("import-sparse-sheet", f"{kind} ({count:,})", build)


_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "哈哈哈哈哈哈哈哈哈哈">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + "]>"
)


@hostile("import-package", TARGET)
def package(rng: Random) -> Case:
    fmt = rng.choice(["docx", "xlsx"])
    kind = rng.choice(
        ["members", "bomb", "xml-bytes", "xml-tags", "entities", "deep", "crc", "not-xml"]
    )

    def build(scratch: Path) -> Plan:
        table = Table(task_rows(rng, 4))
        must_fail = True
        if kind == "members":
            count = rng.choice([100, IMPORT_ZIP_MAX_MEMBERS + 1, 5_000])
            table.members = {f"word/media/image{n}.png": b"\x89PNG" for n in range(count)}
            must_fail = count + 4 > IMPORT_ZIP_MAX_MEMBERS
        elif kind == "bomb":
            megabytes = rng.choice([10, 201, 400])
            table.zeros = {"word/media/scan.bin": megabytes * 2**20}
            must_fail = megabytes > 200
        elif kind == "xml-bytes":
            padding = " " * (33 * 2**20)
            table.body_xml = f"<w:p>{padding}</w:p>" if fmt == "docx" else ""
            table.sheet_xml = f'<row r="99">{padding}</row>' if fmt == "xlsx" else ""
        elif kind == "xml-tags":
            table.body_xml = "<w:p/>" * (IMPORT_XML_MAX_TAGS + 1)
            table.sheet_xml = '<row r="99">' + "<c/>" * (IMPORT_XML_MAX_TAGS + 1) + "</row>"
        elif kind in ("entities", "crc"):
            must_fail = False  # refused, or read with nothing expanded or damaged that is read
        elif kind == "deep":
            depth = rng.choice([300, 100_000])
            table.body_xml = "<w:p>" * depth + "</w:p>" * depth
            table.sheet_xml = '<row r="99">' + "<c>" * depth + "</c>" * depth + "</row>"
            must_fail = False  # read as events: nesting costs a list entry per level
        source = write_table(scratch, fmt, table)
        if kind == "entities":
            part = "word/document.xml" if fmt == "docx" else "xl/worksheets/sheet1.xml"
            _rewrite(
                source,
                part,
                lambda xml: (
                    _LAUGHS.encode() + xml.split(b"?>", 1)[1]
                    if xml.startswith(b"<?xml")
                    else _LAUGHS.encode() + xml
                ),
            )
            _rewrite(
                source,
                part,
                lambda xml: xml.replace("检查".encode(), b"&i;", 1).replace(
                    "加强".encode(), b"&i;", 1
                ),
            )
        elif kind == "crc":
            data = bytearray(source.read_bytes())
            at = data.find(b"PK\x01\x02")  # the central directory: damage the data before it
            data[at // 2] ^= 0xFF
            source.write_bytes(bytes(data))
        elif kind == "not-xml":
            part = "word/document.xml" if fmt == "docx" else "xl/worksheets/sheet1.xml"
            _rewrite(source, part, lambda xml: b"\x89PNG\r\n\x1a\n" + os.urandom(256))
        return import_plan(scratch, source, must_fail=must_fail)

    return Case("import-package", f"{kind} in .{fmt}", build)


def _rewrite(path: Path, name: str, change: Callable[[bytes], bytes]) -> None:
    with zipfile.ZipFile(path) as old:
        members = {info.filename: old.read(info) for info in old.infolist()}
    members[name] = change(members[name])
    _package(path, members)


@hostile("import-byte-noise", TARGET)
def byte_noise(rng: Random) -> Case:
    fmt = rng.choice(FORMATS)
    operations = rng.randint(1, 12)
    seed = rng.random()

    def build(scratch: Path) -> Plan:
        source = write_table(scratch, fmt, Table(task_rows(rng, 6)))
        inserts = [b"\x00", b"\xff", b"\t", b"\n\n", b'"', b",", b"<"]
        source.write_bytes(mutate(source.read_bytes(), Random(seed), operations, inserts))
        return import_plan(scratch, source)

    return Case("import-byte-noise", f"{operations} byte edits in .{fmt} (seed {seed:.6f})", build)


# fmt: off
_PHRASE_PARTS = [
    "每月", "每季度", "每年", "至少", "1次", "9月底前", "年底前", "完成", "长期坚持", "从5月起",
    "至", "党的二十大结束", "春节前", "开学前", "第二周", "立即", "及时", "、", "，", "和",
    "每周一", "3天", "次年一月", "汛期", "加密", "（", "）", "2月30日", "十",
]
# fmt: on


@hostile("import-phrases", TARGET)
def phrases(rng: Random) -> Case:
    """Time cells and task texts of phrase words in any order, within the duties' bounds:
    read, or reported as not understood, in time linear in their length."""
    fmt = rng.choice(FORMATS)

    def text(limit: int) -> str:
        parts: list[str] = []
        while sum(map(len, parts)) < limit:
            parts.append(rng.choice(_PHRASE_PARTS))
        return "".join(parts)[:limit]

    def build(scratch: Path) -> Plan:
        rows = task_rows(rng, 5)
        for row in rows[1:]:
            row[3] = text(rng.choice([10, 60, PHRASE_MAX_CHARS]))
            row[1] = text(rng.choice([50, 1_000, TEXT_MAX_CHARS - 10]))
        source = write_table(scratch, fmt, Table(rows))
        return import_plan(scratch, source)

    return Case("import-phrases", f"phrase words in .{fmt}", build)


assert IMPORT_CELL_MAX_CHARS > TEXT_MAX_CHARS  # a cell may hold several tasks
