"""Rows → a task-table file in each supported format, laid out as such tables are.

The same rows written as flattened text, .docx (section and measure columns
vertically merged, the header's first two cells merged across), .xlsx (the
same merges) or .csv (blank cells below a heading) must import back to the
same duties. Tests and the bench use these; they also make sample tables.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from .rows import Row

HEADINGS = ("国务院安委会安全生产15条措施内容", "具体工作", "责任单位", "完成时限")


def _measure_cell(measure: str) -> str:
    """Two measures sharing a row are written on two lines, as in the seed."""
    return measure.replace("；（", "\n（")


def _task_cell(row: Row) -> str:
    return f"{row.task_no}.{row.text}"


def _spans(rows: Sequence[Row], key: str) -> list[tuple[int, int, str]]:
    """(first, last, value) runs of equal `key` values, as merged cells."""
    runs: list[tuple[int, int, str]] = []
    for index, row in enumerate(rows):
        value = str(getattr(row, key))
        if runs and runs[-1][2] == value:
            runs[-1] = (runs[-1][0], index, value)
        else:
            runs.append((index, index, value))
    return runs


def to_text(title: str, rows: Sequence[Row]) -> str:
    """Flattened like the seed: tab-led cells, blank cells under merged headings."""
    lines = ["附件1", title, "\t" + HEADINGS[0], *("\t" + h for h in HEADINGS[1:]), ""]
    section = measure = ""
    for row in rows:
        lines.append("\t" + row.section if row.section != section else "\t")
        lines.append("\t" + _measure_cell(row.measure) if row.measure != measure else "\t")
        section, measure = row.section, row.measure
        lines.append("\t" + _task_cell(row))
        lines.append("\t" + row.units)
        lines.append("\t" + (row.time_limit or "").replace(" ", "\n"))
        lines.append("")
    return "\n".join(lines) + "\n"


def to_csv(title: str, rows: Sequence[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([title])
    writer.writerow([HEADINGS[0], "", *HEADINGS[1:]])
    section = measure = ""
    for row in rows:
        writer.writerow(
            [
                row.section if row.section != section else "",
                _measure_cell(row.measure) if row.measure != measure else "",
                _task_cell(row),
                row.units,
                row.time_limit or "",
            ]
        )
        section, measure = row.section, row.measure
    return buffer.getvalue()


def write_xlsx(path: Path, title: str, rows: Sequence[Row]) -> None:
    import openpyxl  # type: ignore[import-untyped]

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=5)
    sheet.append([HEADINGS[0], None, *HEADINGS[1:]])
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=2)
    for row in rows:
        sheet.append(
            [
                row.section,
                _measure_cell(row.measure),
                _task_cell(row),
                row.units,
                row.time_limit or "",
            ]
        )
    for column, key in ((1, "section"), (2, "measure")):
        for first, last, _ in _spans(rows, key):
            if last > first:
                sheet.merge_cells(
                    start_row=first + 3, start_column=column, end_row=last + 3, end_column=column
                )
    book.save(path)


def write_docx(path: Path, title: str, rows: Sequence[Row]) -> None:
    """A Word document: the title paragraph, then one table with merged heading cells."""
    import docx
    from docx.table import _Cell

    document = docx.Document()
    document.add_paragraph("附件1")
    document.add_paragraph(title)
    table = document.add_table(rows=1 + len(rows), cols=5)
    trs = table._tbl.tr_lst
    header = trs[0].tc_lst
    _Cell(header[0], table).text = HEADINGS[0]
    for tc, text in zip(header[2:], HEADINGS[1:], strict=True):
        _Cell(tc, table).text = text
    table.cell(0, 0).merge(table.cell(0, 1))
    for index, row in enumerate(rows):
        tcs = trs[index + 1].tc_lst
        cells = (_task_cell(row), row.units, row.time_limit or "")
        for tc, text in zip(tcs[2:], cells, strict=True):
            _Cell(tc, table).text = text
    for column, key in ((0, "section"), (1, "measure")):
        for first, last, value in _spans(rows, key):
            top = trs[first + 1].tc_lst[column]
            _Cell(top, table).text = _measure_cell(value) if key == "measure" else value
            if last > first:
                top.vMerge = "restart"
                for tr in trs[first + 2 : last + 2]:
                    tr.tc_lst[column].vMerge = "continue"
    document.save(str(path))
