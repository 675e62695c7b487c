"""Every class of hostile import table found in issue 16: a clean one-screen error
naming the file (and line or row), exit 1 and nothing written — or, where the
table is sound once clipped, the import it holds — within 5 s of CPU and 300 MB.

Each case runs `reminders import FILE --output OUT` in a forked child
(tests/fuzzing.py), so a regression that hangs fails at the wall-clock limit
instead of hanging the suite. The files are written by tests/fuzz_import.py, raw
enough to claim what no office program would write.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from random import Random

import pytest

from reminders.limits import (
    IMPORT_CELL_MAX_LINES,
    IMPORT_FILE_MAX_BYTES,
    IMPORT_MAX_ROWS,
    IMPORT_XML_MAX_TAGS,
    IMPORT_ZIP_MAX_MEMBERS,
)

from .conftest import SHIPPED_CONFIG
from .fuzz_import import HEADER, Table, task_rows, write_table, xlsx_cell
from .fuzzing import MEGABYTES, SCREEN_LINES, SECONDS, Outcome, run_forked

Make = Callable[[Path], Path]


def imported(tmp_path: Path, source: Path) -> tuple[Outcome, Path]:
    output = tmp_path / f"out-{source.name}" / "duties.yaml"
    output.parent.mkdir(exist_ok=True)
    argv = ["--config", str(SHIPPED_CONFIG), "import", str(source), "--output", str(output)]
    outcome = run_forked(argv)
    assert "Traceback" not in outcome.stderr
    assert outcome.code is not None, "no answer: a hang"
    assert outcome.seconds < SECONDS and outcome.megabytes < MEGABYTES  # the budget
    return outcome, output


def refused(tmp_path: Path, source: Path, where: str | None, *words: str) -> str:
    """The one error line; it starts with `source` and `where` (":12", "", or None for
    some line) and holds `words`; exit 1, one screen, nothing written."""
    outcome, output = imported(tmp_path, source)
    assert outcome.code == 1, outcome.stdout[-500:]
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) <= SCREEN_LINES
    (error,) = [line for line in lines if line.startswith("错误")]
    if where is None:
        assert re.match(rf"错误：{re.escape(str(source))}:\d+: ", error), error
    else:
        assert error.startswith(f"错误：{source}{where}: "), error
    assert all(word in error for word in words), error
    assert not output.exists()
    return error


def read_whole(tmp_path: Path, source: Path) -> str:
    """The import ran and wrote its duties (exit 0)."""
    outcome, output = imported(tmp_path, source)
    assert outcome.code == 0, outcome.stderr + outcome.stdout[-800:]
    return output.read_text(encoding="utf-8")


def rows(count: int = 4) -> list[list[str]]:
    return task_rows(Random(16), count)


# -- cells: characters and lines ----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["txt", "csv", "xlsx", "docx"])
def test_a_time_cell_of_10000_times_meiyue_is_refused_at_its_line(tmp_path: Path, fmt: str) -> None:
    table = rows()
    table[2][3] = "每月" * 10_000
    source = write_table(tmp_path, fmt, Table(table))
    line = {"txt": ":13", "csv": ":4", "xlsx": ":4", "docx": ":3"}[fmt]  # the task's line
    refused(tmp_path, source, line, "完成时限", "20,000 个字符", "200 上限")


@pytest.mark.parametrize("fmt", ["txt", "csv", "xlsx", "docx"])
def test_a_task_cell_of_20000_times_jiami_is_refused_at_its_line(tmp_path: Path, fmt: str) -> None:
    table = rows()
    table[3][1] = "加密" * 20_000
    source = write_table(tmp_path, fmt, Table(table))
    line = {"txt": ":18", "csv": ":5", "xlsx": ":5", "docx": ":4"}[fmt]
    refused(tmp_path, source, line, "单元格超过 20,000 个字符上限")


def test_a_cell_of_200000_continuation_lines_is_refused_where_it_passes_the_limit(
    tmp_path: Path,
) -> None:
    source = tmp_path / "table.txt"
    head = "".join(f"\t{cell}\n" for cell in HEADER) + "\n"
    cell = "\t1\n\t检查\n" + "续\n" * 200_000 + "\t教育局\n\t年底前\n\n"
    source.write_text("分工表\n" + head + cell, encoding="utf-8")
    past = 1 + 5 + 2 + IMPORT_CELL_MAX_LINES  # title, header, the number, the cell's lines
    refused(tmp_path, source, f":{past}", f"超过 {IMPORT_CELL_MAX_LINES} 行上限")


def test_a_word_cell_of_many_paragraphs_is_refused(tmp_path: Path) -> None:
    table = rows()
    table[1][1] += "\n续" * 100_000
    refused(tmp_path, write_table(tmp_path, "docx", Table(table)), ":2", "行上限")


# -- rows and columns -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "docx"])
def test_300000_real_rows_are_refused(tmp_path: Path, fmt: str) -> None:
    table = [list(HEADER)] + [[str(n), f"检查{n}", "教育局", "年底前"] for n in range(1, 300_001)]
    source = write_table(tmp_path, fmt, Table(table))
    refused(tmp_path, source, "", "压缩包内的 XML 超过")  # 40 MB of XML: before it is parsed


@pytest.mark.parametrize("fmt", ["txt", "csv"])
def test_300000_real_rows_of_text_are_too_large(tmp_path: Path, fmt: str) -> None:
    table = [list(HEADER)] + [[str(n), f"检查{n}", "教育局", "年底前"] for n in range(1, 300_001)]
    refused(tmp_path, write_table(tmp_path, fmt, Table(table)), "", "超过 4 MiB 上限")


@pytest.mark.parametrize("fmt", ["txt", "csv", "xlsx", "docx"])
def test_rows_past_the_limit_are_refused_at_the_first_one_past_it(tmp_path: Path, fmt: str) -> None:
    count = IMPORT_MAX_ROWS + 5
    table = [list(HEADER)] + [[str(n), f"检查{n}", "教育局", "年底前"] for n in range(1, count)]
    source = write_table(tmp_path, fmt, Table(table))
    refused(tmp_path, source, None, f"超过 {IMPORT_MAX_ROWS:,} 行")


@pytest.mark.parametrize("fmt", ["txt", "csv", "xlsx", "docx"])
def test_text_past_the_last_column_is_refused(tmp_path: Path, fmt: str) -> None:
    table = rows()
    table[2] += [""] * 200 + ["远处的字"]
    refused(tmp_path, write_table(tmp_path, fmt, Table(table)), None, "列上限")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "docx"])
def test_blank_cells_past_the_last_column_are_left_out(tmp_path: Path, fmt: str) -> None:
    table = rows()
    table[2] += [""] * 16_000
    assert 'id: "2"' in read_whole(tmp_path, write_table(tmp_path, fmt, Table(table)))


def test_a_cell_at_xfd1048576_is_refused_at_its_row(tmp_path: Path) -> None:
    table = Table(rows(), sheet_xml=f'<row r="1048576">{xlsx_cell(1048576, 16384, "x")}</row>')
    table.dimension = "A1:XFD1048576"
    source = write_table(tmp_path, "xlsx", table)
    refused(tmp_path, source, ":1048576", "第 16,384 列有内容", "50 列上限")


def test_a_sheet_claiming_the_whole_grid_costs_what_it_holds(tmp_path: Path) -> None:
    table = Table(rows(), dimension="A1:XFD1048576")
    table.sheet_xml = f'<row r="1048576">{xlsx_cell(1048576, 2, "最后一行")}</row>'
    assert 'id: "4"' in read_whole(tmp_path, write_table(tmp_path, "xlsx", table))


def test_900000_empty_rows_are_read_past_and_a_million_are_refused(tmp_path: Path) -> None:
    many = Table(rows(), sheet_xml="".join(f'<row r="{r}"/>' for r in range(10, 900_010)))
    assert 'id: "4"' in read_whole(tmp_path, write_table(tmp_path, "xlsx", many, "many"))
    more = Table(rows(), sheet_xml="".join(f'<row r="{r}"/>' for r in range(10, 1_000_010)))
    source = write_table(tmp_path, "xlsx", more, "more")
    refused(tmp_path, source, "", f"{IMPORT_XML_MAX_TAGS:,} 个标签上限")


# -- spans and merges ---------------------------------------------------------------------------


def test_grid_span_of_100000000_is_clipped_to_the_table(tmp_path: Path) -> None:
    table = Table(rows(), spans={(2, 3): 100_000_000, (4, 3): 100_000_000})
    written = read_whole(tmp_path, write_table(tmp_path, "docx", table))
    assert [f'id: "{n}"' in written for n in range(1, 5)] == [True] * 4


def test_every_cell_spanning_16000_columns_is_clipped(tmp_path: Path) -> None:
    table = Table(rows(), spans={(r, c): 16_000 for r in range(5) for c in range(4)})
    # the first cell of each row fills the table's 4 columns, the others follow it
    written = read_whole(tmp_path, write_table(tmp_path, "docx", table, "declared"))
    assert [f'id: "{n}"' in written for n in range(1, 5)] == [True] * 4
    table.grid_cols = 0  # no width declared: IMPORT_MAX_COLUMNS, then the rest is past it
    refused(tmp_path, write_table(tmp_path, "docx", table, "undeclared"), ":1", "第 51 列")


def test_grid_before_of_100000000_is_clipped(tmp_path: Path) -> None:
    table = Table(rows(), before={3: 100_000_000})
    assert 'id: "4"' in read_whole(tmp_path, write_table(tmp_path, "docx", table))


def test_a_table_grid_of_60000_columns_is_refused(tmp_path: Path) -> None:
    table = Table(rows(), grid_cols=60_000)
    refused(tmp_path, write_table(tmp_path, "docx", table), ":1", "第 51 列", "50 列上限")


def test_merged_ranges_over_a_million_cells_are_clipped_to_the_cells_in_use(
    tmp_path: Path,
) -> None:
    table = Table(rows(), merges=["C4:C1048576", "E1:XFD1048576"])
    table.rows[2][2] = "县第一中学"  # the units of task 2 (sheet row 4), merged down
    written = read_whole(tmp_path, write_table(tmp_path, "xlsx", table))
    assert written.count("units: [县第一中学]") == 3


def test_overlapping_merged_ranges_are_refused(tmp_path: Path) -> None:
    table = Table(rows(), merges=["A2:D6"] * 1000)
    refused(tmp_path, write_table(tmp_path, "xlsx", table), ":2", "合并单元格相互重叠")


def test_too_many_merged_ranges_are_refused(tmp_path: Path) -> None:
    table = Table(rows(), merges=[f"E{r}:F{r}" for r in range(1, 100_001)])
    refused(tmp_path, write_table(tmp_path, "xlsx", table), "", "合并单元格超过 20,000 处上限")


# -- files and packages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("fifo", "命名管道 (FIFO)"),
        ("/dev/zero", "字符设备"),
        ("/dev/urandom", "字符设备"),
        ("directory", "目录"),
    ],
)
def test_only_regular_files_are_read(tmp_path: Path, kind: str, words: str) -> None:
    source = tmp_path / "table.xlsx"
    if kind == "fifo":
        os.mkfifo(source)
    elif kind == "directory":
        source.mkdir()
    else:
        source.symlink_to(kind)
    refused(tmp_path, source, "", "分工表文件不是普通文件", words)


def test_a_symlink_to_a_table_is_read(tmp_path: Path) -> None:
    real = write_table(tmp_path, "csv", Table(rows()), "real")
    (tmp_path / "link.csv").symlink_to(real)
    assert 'id: "4"' in read_whole(tmp_path, tmp_path / "link.csv")


def test_the_size_limit_applies_before_reading(tmp_path: Path) -> None:
    source = tmp_path / "huge.docx"
    with source.open("wb") as file:  # sparse: nothing to read, the size says it all
        file.truncate(IMPORT_FILE_MAX_BYTES + 1)
    refused(tmp_path, source, "", "分工表文件超过 40 MiB 上限")


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_a_zip_bomb_is_refused_before_it_expands(tmp_path: Path, fmt: str) -> None:
    table = Table(rows(), zeros={"media/scan.bin": 300 * 2**20})
    source = write_table(tmp_path, fmt, table)
    assert source.stat().st_size < 2 * 2**20
    refused(tmp_path, source, "", "解压后超过 200 MiB 上限")


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_too_many_members_are_refused(tmp_path: Path, fmt: str) -> None:
    members = {f"media/{n}.png": b"\x89PNG" for n in range(IMPORT_ZIP_MAX_MEMBERS)}
    source = write_table(tmp_path, fmt, Table(rows(), members=members))
    refused(tmp_path, source, "", f"超过 {IMPORT_ZIP_MAX_MEMBERS:,} 个上限")


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_xml_of_too_many_elements_is_refused_as_it_is_read(tmp_path: Path, fmt: str) -> None:
    table = Table(rows(), body_xml="<w:p/>" * IMPORT_XML_MAX_TAGS)
    table.sheet_xml = '<row r="99">' + "<c/>" * IMPORT_XML_MAX_TAGS + "</row>"
    refused(tmp_path, write_table(tmp_path, fmt, table), "", "个标签上限")


def test_images_in_a_package_are_never_expanded(tmp_path: Path) -> None:
    table = Table(rows(), zeros={"word/media/scan.bin": 150 * 2**20})
    outcome, _ = imported(tmp_path, write_table(tmp_path, "docx", table))
    assert outcome.code == 0
    assert outcome.megabytes < 100 and outcome.seconds < 1
