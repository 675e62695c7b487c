"""Word .docx → its body in order: paragraphs and tables (as grids, merged cells filled in).

The XML is walked directly (python-docx's `row.cells` is quadratic in the
number of rows): a horizontally merged cell (gridSpan) repeats its text in each
column it spans, and a vertically merged one (vMerge continue) repeats the text
of the cell above it, so every grid row is complete. Paragraphs are numbered in
document order (the line of a notice's task is its paragraph number).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import docx
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tbl, CT_Tc
from docx.text.paragraph import Paragraph

from .textable import Grid, title_of


def _text(tc: CT_Tc) -> str:
    paragraphs = [Paragraph(p, None).text for p in tc.iterchildren(qn("w:p"))]  # type: ignore[arg-type]
    return "\n".join(paragraphs)


def table_grid(tbl: CT_Tbl) -> list[list[str]]:
    grid: list[list[str]] = []
    above: dict[int, str] = {}
    for tr in tbl.tr_lst:
        row: list[str] = [""] * tr.grid_before
        for tc in tr.tc_lst:
            column = len(row)
            text = above.get(column, "") if tc.vMerge == "continue" else _text(tc)
            for offset in range(tc.grid_span):
                above[column + offset] = text
                row.append(text)
        grid.append(row)
    return grid


@dataclass(slots=True)
class Body:
    paragraphs: list[tuple[int, str]] = field(default_factory=list)
    tables: list[Grid] = field(default_factory=list)


def read_docx(raw: bytes) -> Body:
    """The paragraphs (numbered from 1) and tables of a document, in order; each table's
    title is the text of the paragraphs before it."""
    document = docx.Document(io.BytesIO(raw))
    body = Body()
    before: list[str] = []
    number = 0
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            number += 1
            text = Paragraph(child, None).text  # type: ignore[arg-type]
            if text.strip():
                body.paragraphs.append((number, text))
                before.append(text)
        elif child.tag == qn("w:tbl"):
            cells = table_grid(child)
            rows = [[index] * max(1, len(r)) for index, r in enumerate(cells, start=1)]
            body.tables.append(Grid(cells, rows, explicit=True, title=title_of(before)))
            before = []
    return body
