"""Word .docx tables → a grid of cell texts, merged cells filled in.

The XML is walked directly (python-docx's `row.cells` is quadratic in the
number of rows): a horizontally merged cell (gridSpan) repeats its text in each
column it spans, and a vertically merged one (vMerge continue) repeats the text
of the cell above it, so every grid row is complete.
"""

from __future__ import annotations

import io

import docx
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tbl, CT_Tc
from docx.table import Table
from docx.text.paragraph import Paragraph

from .grid import find_header
from .textable import title_of


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


def read_docx(raw: bytes) -> tuple[str, list[list[str]]]:
    """(title from the paragraphs before the table, grid of the first task table)."""
    document = docx.Document(io.BytesIO(raw))
    grids = [table_grid(table._tbl) for table in document.tables]
    chosen = next((grid for grid in grids if find_header(grid) is not None), None)
    if chosen is None:
        chosen = grids[0] if grids else []
    return title_of(_paragraphs_before_first_table(document.tables)), chosen


def _paragraphs_before_first_table(tables: list[Table]) -> list[str]:
    if not tables:
        return []
    found: list[str] = []
    for sibling in tables[0]._tbl.itersiblings(preceding=True):
        if sibling.tag == qn("w:p"):
            found.append(Paragraph(sibling, None).text)  # type: ignore[arg-type]
    return list(reversed(found))
