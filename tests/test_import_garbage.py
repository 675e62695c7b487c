"""Garbage in: a clear message naming the file, exit 1, no traceback, nothing written."""

from __future__ import annotations

import io
import os
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminders.cli.main import main
from reminders.core.model import DUTY_ID
from reminders.exceptions import RemindersError
from reminders.importer.source import read_table
from reminders.importer.writers import write_docx

from .conftest import SEED_TABLE

Maker = Callable[[Path], Path]

SEED_TEXT = SEED_TABLE.read_text(encoding="utf-8")


def _bytes(name: str, data: bytes) -> Maker:
    def make(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(data)
        return path

    return make


def _random(name: str, size: int, seed: int = 7) -> Maker:
    return _bytes(name, random.Random(seed).randbytes(size))


def _docx_without_table(directory: Path) -> Path:
    document = docx.Document()
    document.add_paragraph("关于进一步强化安全生产责任落实的通知")
    path = directory / "no-table.docx"
    document.save(str(path))
    return path


def _docx_table_without_header(directory: Path) -> Path:
    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    for r in range(2):
        for c in range(3):
            table.cell(r, c).text = f"单元格{r}{c}"
    path = directory / "no-header.docx"
    document.save(str(path))
    return path


def _xlsx_without_header(directory: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.append(["姓名", "电话", "地址"])
    book.active.append(["张三", "138", "县城"])
    path = directory / "no-header.xlsx"
    book.save(path)
    return path


def _truncated_docx(directory: Path) -> Path:
    document = docx.Document()
    buffer = io.BytesIO()
    document.save(buffer)
    path = directory / "truncated.docx"
    path.write_bytes(buffer.getvalue()[:3000])
    return path


def _plain_zip(directory: Path) -> Path:
    path = directory / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return path


def _broken_workbook(directory: Path) -> Path:
    path = directory / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<<< not xml")
    return path


def _mixed_encodings(directory: Path) -> Path:
    half = len(SEED_TEXT) // 2
    data = SEED_TEXT[:half].encode("utf-8") + SEED_TEXT[half:].encode("gbk")
    path = directory / "mixed.txt"
    path.write_bytes(data)
    return path


def _directory(directory: Path) -> Path:
    path = directory / "a-directory.txt"
    path.mkdir()
    return path


GARBAGE: dict[str, tuple[Maker, str]] = {
    "empty-file": (_bytes("empty.txt", b""), "the file is empty"),
    "blank-lines-only": (_bytes("blank.csv", b"\n \n\t\n"), "the file is empty"),
    "binary-random": (_random("random.txt", 4096), "binary data"),
    "binary-with-nul": (_bytes("nul.csv", b"a,b\x00c\n"), "binary data (NUL byte)"),
    "png-named-docx": (_bytes("image.docx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), "binary"),
    "old-doc": (
        _bytes("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504),
        "an old binary .doc/.xls file",
    ),
    "pdf": (_bytes("table.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "a PDF"),
    "utf16": (_bytes("utf16.txt", "\ufeff具体工作".encode("utf-16")), "UTF-16"),
    "mixed-utf8-and-gbk": (_mixed_encodings, "mixed encodings"),
    "truncated-docx": (_truncated_docx, "damaged ZIP"),
    "zip-not-office": (_plain_zip, "neither a Word .docx nor an Excel .xlsx"),
    "broken-workbook": (_broken_workbook, "XML 无法读取 (not readable XML): xl/workbook.xml"),
    "docx-without-table": (_docx_without_table, "no table"),
    "docx-table-without-header": (_docx_table_without_header, "no header row found"),
    "xlsx-without-header": (_xlsx_without_header, "no header row found"),
    "csv-without-header": (
        _bytes("no-header.csv", "姓名,电话\n张三,138\n".encode()),
        "no header row found",
    ),
    "text-without-tasks": (
        _bytes("prose.txt", "这是一封普通的通知。\n请各校认真落实。\n".encode()),
        "no numbered tasks",
    ),
    # a flat table (no measures at all) imports now (issue #11); a measure table whose
    # first task comes before its first measure still has no id for that task
    "csv-task-before-measure": (
        _bytes(
            "early.csv",
            "措施,具体工作,责任单位,完成时限\n,1.检查,教育局,9月底前完成\n"
            "（一）甲,2.再查,教育局,长期坚持\n".encode(),
        ),
        "before any measure",
    ),
    "bad-measure-numeral": (
        _bytes("numeral.txt", "\t（一一）措施\n\t1.检查\n\t教育局\n\t9月底前\n".encode()),
        "not a Chinese numeral",
    ),
    "duplicate-task-id": (
        _bytes(
            "dup.csv",
            "措施,具体工作,责任单位,完成时限\n（一）甲,1.检查,教育局,长期坚持\n,1.再查,教育局,长期坚持\n".encode(),
        ),
        "task id 1.1 appears twice",
    ),
    "text-10MB": (_bytes("huge.txt", ("\t1.检查\n" * 1_000_000).encode()), "too large"),
    "directory": (_directory, "不是普通文件 (regular file)，而是一个目录 (directory)"),
    "missing-file": (lambda d: d / "nope.txt", "分工表文件不存在 (not found)"),
}


@pytest.mark.parametrize("case", list(GARBAGE), ids=list(GARBAGE))
def test_garbage_gives_a_clear_message_and_writes_nothing(
    case: str, config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, message = GARBAGE[case]
    inputs = tmp_path / "in"
    inputs.mkdir()
    source = make(inputs)
    before = {p.name: p.read_bytes() for p in config_dir.iterdir() if p.is_file()}
    code = main(["--config", str(config_dir), "import", str(source)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in err + out
    assert message in err
    assert str(source) in err
    after = {p.name: p.read_bytes() for p in config_dir.iterdir() if p.is_file()}
    assert after == before  # nothing written, no temp file left


def test_line_of_the_trouble_is_named(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "dup.csv"
    source.write_text(
        "标题\n措施,具体工作,责任单位,完成时限\n（一）甲,1.检查,教育局,长期坚持\n,1.再查,教育局,长期坚持\n",
        encoding="utf-8",
    )
    assert main(["--config", str(config_dir), "import", str(source)]) == 1
    assert (
        f"{source}:4: 任务编号 1.1 重复 (task id 1.1 appears twice)，首次在第 3 行"
        in capsys.readouterr().err
    )


def test_failed_write_leaves_the_old_file_whole(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (config_dir / "duties.yaml").unlink()
    target = config_dir / "duties.yaml"
    target.write_text("title: old\nduties: []\n", encoding="utf-8")

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    assert main(["--config", str(config_dir), "import", str(SEED_TABLE)]) == 1
    err = capsys.readouterr().err
    assert f"{target}: 无法写入 (cannot write): No space left on device" in err
    assert target.read_text(encoding="utf-8") == "title: old\nduties: []\n"
    assert [p.name for p in config_dir.iterdir() if p.name.startswith(".")] == []


def test_a_10mb_docx_with_images_still_imports(tmp_path: Path) -> None:
    table = read_table(SEED_TABLE)
    path = tmp_path / "big.docx"
    write_docx(path, table.title, table.rows)
    with zipfile.ZipFile(path, "a") as package:
        package.writestr("word/media/scan.bin", random.Random(1).randbytes(10 * 2**20))
    assert path.stat().st_size > 10 * 2**20
    assert [r.id for r in read_table(path).rows] == [r.id for r in table.rows]


CELLS = st.sampled_from(
    [
        *("\t", "\n", "\r\n", " ", "、", "，", ",", '"'),
        *("一、", "（一）", "（十二）", "（一一）", "1.", "12．"),
        *("具体工作", "责任单位", "完成时限", "教育局", "各校"),
        *("9月底前完成", "长期坚持", "每月", "至少1次"),
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(CELLS, max_size=60), suffix=st.sampled_from([".txt", ".csv"]))
def test_any_table_like_text_reads_or_fails_cleanly(
    parts: list[str], suffix: str, tmp_path: Path
) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_text("".join(parts), encoding="utf-8")
    try:
        table = read_table(path)
    except RemindersError as exc:
        assert exc.problems and exc.problems[0].file == str(path)
    else:  # measures or not (issue #11), every task has a text and a duty id
        assert table.rows
        assert all(re.fullmatch(DUTY_ID, row.id) and row.text for row in table.rows)
