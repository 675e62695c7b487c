"""The same table as .docx, .xlsx, .csv and GBK text imports to the same duties as the text."""

from __future__ import annotations

import csv
import importlib.util
import io
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl  # type: ignore[import-untyped]
import pytest
from ruamel.yaml import YAML

from reminders.cli.main import main
from reminders.importer.docxtable import read_docx
from reminders.importer.grid import find_header, read_grid
from reminders.importer.package import open_package
from reminders.importer.rows import Row
from reminders.importer.source import read_table
from reminders.importer.writers import to_csv, to_text, write_docx, write_xlsx

from .conftest import ROOT, SEED_TABLE

BENCH = ROOT / "bench" / "import_table.py"

Writer = Callable[[Path, str, list[Row]], None]


def _text(path: Path, title: str, rows: list[Row]) -> None:
    path.write_text(to_text(title, rows), encoding="utf-8")


def _gbk_text(path: Path, title: str, rows: list[Row]) -> None:
    path.write_bytes(SEED_TABLE.read_text(encoding="utf-8").encode("gbk"))


def _csv(path: Path, title: str, rows: list[Row]) -> None:
    path.write_text(to_csv(title, rows), encoding="utf-8")


def _gbk_csv(path: Path, title: str, rows: list[Row]) -> None:
    path.write_bytes(to_csv(title, rows).encode("gbk"))


def _tsv(path: Path, title: str, rows: list[Row]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\n").writerows(_grid(to_csv(title, rows)))
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")


FORMATS: dict[str, tuple[str, Writer]] = {
    "docx-merged-cells": ("table.docx", write_docx),
    "xlsx-merged-cells": ("table.xlsx", write_xlsx),
    "csv-utf8": ("table.csv", _csv),
    "csv-gbk": ("table.csv", _gbk_csv),
    "tsv-utf8-bom": ("table.csv", _tsv),
    "text-rewritten": ("table.txt", _text),
    "text-gbk": ("table.txt", _gbk_text),
}


def import_to(tmp_path: Path, config_dir: Path, source: Path, name: str) -> dict[str, object]:
    target = tmp_path / name
    code = main(["--config", str(config_dir), "import", str(source), "--output", str(target)])
    assert code == 0
    data: dict[str, object] = YAML(typ="safe").load(target.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def seed() -> tuple[str, list[Row]]:
    table = read_table(SEED_TABLE)
    return table.title, table.rows


@pytest.mark.parametrize("fmt", list(FORMATS), ids=list(FORMATS))
def test_format_imports_to_the_same_duties_as_the_text(
    fmt: str,
    seed: tuple[str, list[Row]],
    tmp_path: Path,
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    title, rows = seed
    name, writer = FORMATS[fmt]
    source = tmp_path / name
    writer(source, title, rows)
    expected = import_to(tmp_path, config_dir, SEED_TABLE, "from-text.yaml")
    got = import_to(tmp_path, config_dir, source, "from-format.yaml")
    assert got["duties"] == expected["duties"]
    assert got["title"] == expected["title"]
    assert len(got["duties"]) == 51  # type: ignore[arg-type]


def test_docx_has_really_merged_cells(seed: tuple[str, list[Row]], tmp_path: Path) -> None:
    title, rows = seed
    write_docx(tmp_path / "t.docx", title, rows)
    xml = (
        docx.Document(str(tmp_path / "t.docx")).tables[0]._tbl.xml  # the fixture is what we say
    )
    assert 'w:val="restart"' in xml and "<w:vMerge/>" in xml and 'w:gridSpan w:val="2"' in xml


def test_docx_grid_fills_vertically_and_horizontally_merged_cells(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=4, cols=3)
    table.cell(0, 0).text = "措施"
    table.cell(0, 0).merge(table.cell(0, 1))
    table.cell(0, 2).text = "具体工作"
    table.cell(1, 0).text = "（一）甲"
    table.cell(1, 0).merge(table.cell(3, 0))
    for r in (1, 2, 3):
        table.cell(r, 1).text = f"x{r}"
    path = tmp_path / "merged.docx"
    document.save(str(path))
    grid = read_docx(open_package(path.read_bytes())).tables[0].cells
    assert grid[0] == ["措施", "措施", "具体工作"]
    assert [row[0] for row in grid[1:]] == ["（一）甲"] * 3
    assert [row[1] for row in grid[1:]] == ["x1", "x2", "x3"]


def _grid(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("header", "columns"),
    [
        (["措施", "具体工作", "责任单位", "完成时限"], (1, 2, 3, None)),
        (["工作任务", "完成时间", "牵头单位", "配合单位"], (0, 2, 1, 3)),
        (["序号", "任务", "时间节点", "责任单位（牵头）"], (1, 3, 2, None)),
        (["具 体 工 作", "责任\n单位", "完成\n时限"], (0, 1, 2, None)),
    ],
    ids=["seed-names", "lead-and-partner-columns", "short-names-reordered", "names-with-breaks"],
)
def test_header_is_found_by_name_not_position(
    header: list[str], columns: tuple[int, int, int, int | None]
) -> None:
    found = find_header([["某某任务分工表"], [], header])
    assert found is not None
    assert found.header_row == 2
    assert (found.text, found.units, found.time_limit, found.partners) == columns


def test_lead_and_partner_columns_are_kept_apart(tmp_path: Path, config_dir: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_text(
        "措施,工作任务,牵头单位,配合单位,完成时间\n"
        "（一）甲措施,1.每月至少组织1次检查,教育局,各校及县第一中学,长期坚持\n",
        encoding="utf-8",
    )
    data = import_to(tmp_path, config_dir, source, "out.yaml")
    (duty,) = data["duties"]  # type: ignore[misc]
    assert duty["id"] == "1.1"
    assert duty["units"] == ["教育局"]
    assert duty["partners"] == ["各校", "县第一中学"]


def test_unnumbered_tasks_are_numbered_in_order_within_their_measure() -> None:
    grid = _grid(
        "措施,具体工作,责任单位,完成时限\n"
        "（一）甲,做第一件事,教育局,9月底前完成\n"
        ",做第二件事,教育局,长期坚持\n"
        "（二）乙,做第三件事,各校,长期坚持\n"
    )
    rows = read_grid(grid)
    assert [r.id for r in rows] == ["1.1", "1.2", "2.1"]
    assert [r.line for r in rows] == [2, 3, 4]


def test_xlsx_title_and_sheet_choice(seed: tuple[str, list[Row]], tmp_path: Path) -> None:
    title, rows = seed
    path = tmp_path / "t.xlsx"
    write_xlsx(path, title, rows)
    book = openpyxl.load_workbook(path)
    cover = book.create_sheet("封面", 0)
    cover.append(["说明：本表无任务"])
    book.save(path)
    table = read_table(path)
    assert table.title == title
    assert [r.id for r in table.rows][:3] == ["1.1", "1.2", "1.3"]
    assert table.rows[0].line == 3  # the spreadsheet's own row number


def test_a_generated_2000_row_table_imports_whole(tmp_path: Path, config_dir: Path) -> None:
    """The bench's table, functionally: every row becomes a duty (timing is the bench's job)."""
    spec = importlib.util.spec_from_file_location("bench_import", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows: list[Row] = bench.generated_rows(2000)
    source = tmp_path / "big.csv"
    source.write_text(to_csv("大表", rows), encoding="utf-8")
    data = import_to(tmp_path, config_dir, source, "big.yaml")
    duties = data["duties"]
    assert isinstance(duties, list) and len(duties) == 2000
    assert [d["id"] for d in duties] == [r.id for r in rows]
    assert duties[-1]["id"] == "80.25"
