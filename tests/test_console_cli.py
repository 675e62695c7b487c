"""`reminders users …` and `reminders report --xlsx FILE` against a real ledger file."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from reminders.cli.main import main

from .consolerig import cli

AT = "2026-10-12T10:00"


def test_users_add_list_passwd_remove(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    code, out = cli(config_dir, state, "users", "list")
    assert code == 0 and "还没有账号" in out
    assert not state.exists()  # listing creates nothing
    code, out = cli(config_dir, state, "users", "add", "督办科", "--bureau", "--password-stdin",
                    stdin="bureau-pass-1\n")  # fmt: skip
    assert code == 0 and "已新建账号 督办科（全部单位）" in out
    code, out = cli(config_dir, state, "users", "add", "王老师", "--unit", "县第一中学",
                    "--unit", "县第二中学", "--no-password")  # fmt: skip
    assert code == 0 and "users link 王老师" in out
    code, out = cli(config_dir, state, "users", "list", "--json")
    listed = {a["name"]: a for a in json.loads(out)}
    assert listed["督办科"]["role"] == "bureau" and listed["督办科"]["password"] is True
    assert listed["王老师"]["units"] == ["县第一中学", "县第二中学"]
    assert listed["王老师"]["password"] is False
    assert "password_hash" not in out and "bureau-pass-1" not in out
    code, out = cli(config_dir, state, "users", "passwd", "王老师", "--password-stdin",
                    stdin="school-pass-1\n")  # fmt: skip
    assert code == 0 and "会话全部失效" in out
    code, out = cli(config_dir, state, "users", "list")
    assert "王老师\t县第一中学、县第二中学\t密码" in out
    assert cli(config_dir, state, "users", "remove", "王老师")[0] == 0
    code, out = cli(config_dir, state, "users", "list", "--json")
    assert [a["name"] for a in json.loads(out)] == ["督办科"]
    capsys.readouterr()


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["add", "甲", "--unit", "不存在的学校", "--no-password"], "", "没有这个单位"),
        (["add", "甲", "--bureau", "--password-stdin"], "short\n", "至少 8 个字符"),
        (["add", "甲", "--bureau"], "", "标准输入不是终端"),
        (["passwd", "无此人", "--no-password"], "", "没有这个账号"),
        (["remove", "无此人"], "", "没有这个账号"),
        (["link", "无此人"], "", "没有这个账号"),
        (["link", "乙", "--minutes", "0"], "", "有效期"),
    ],
)
def test_users_errors_are_clear(
    config_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    state = tmp_path / "state"
    cli(config_dir, state, "users", "add", "乙", "--bureau", "--no-password")
    capsys.readouterr()
    code, _ = cli(config_dir, state, "users", *argv, stdin=stdin)
    err = capsys.readouterr().err
    assert code == 1 and message in err and "Traceback" not in err


def test_users_add_needs_one_role(config_dir: Path, tmp_path: Path) -> None:
    both = ("users", "add", "甲", "--unit", "县第一中学", "--bureau", "--no-password")
    assert cli(config_dir, tmp_path / "s", *both)[0] == 2
    assert main(["--config", str(config_dir), "users", "add", "甲", "--no-password"]) == 2
    assert not (tmp_path / "s").exists()


def test_users_link_prints_a_one_time_link(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    cli(config_dir, state, "users", "add", "王老师", "--unit", "县第一中学", "--no-password")
    base = "https://reminders.example.gov.cn/"
    code, out = cli(config_dir, state, "users", "link", "王老师", "--base-url", base,
                    "--minutes", "10")  # fmt: skip
    assert code == 0
    (url,) = out.split()
    assert url.startswith("https://reminders.example.gov.cn/console/login/")
    assert "有效至" in capsys.readouterr().err
    code, again = cli(config_dir, state, "users", "link", "王老师")
    assert again.startswith("http://127.0.0.1:8080/console/login/") and again != out


def test_report_xlsx_writes_the_ledger_workbook(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    target = "4.5/教育局/2026-09"
    code, _ = cli(config_dir, state, "done", target, "--by", "张三", "--note", "已检查 3 所学校",
                  "--evidence", "https://pan.example.cn/1", "--at", AT)  # fmt: skip
    assert code == 0
    book_path = tmp_path / "台账.xlsx"
    code, _ = cli(config_dir, state, "report", "--from", "2026-09-01", "--to", "2026-09-30",
                  "--at", AT, "--xlsx", str(book_path))  # fmt: skip
    assert code == 0 and "台账已写入" in capsys.readouterr().err
    book = openpyxl.load_workbook(book_path, read_only=True)
    assert book.sheetnames == [
        "汇总",
        "周报统计",
        "教育局",
        "县第一中学",
        "县第二中学",
        "县实验小学",
    ]
    rows = [list(r) for r in book["教育局"].iter_rows(values_only=True)]
    (row,) = [r for r in rows if r[9] == target]
    assert row[:2] == ["4.5", "教育行政部门每月至少组织 1 次安全生产工作检查"]
    assert row[4] == "逾期完成" and row[6] == "张三" and row[7] == "已检查 3 所学校"
    assert row[8] == "https://pan.example.cn/1" and row[5].startswith("2026-10-12 10:00")
    summary = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
    every = [r for r in summary[1:]]
    assert {r[0] for r in every} == {"教育局", "县第一中学", "县第二中学", "县实验小学"}
    assert all("2026-09-01" <= str(r[4])[:10] <= "2026-09-30" for r in every)
    # the weekly report's numbers, as `report --json` gives them
    code, out = cli(config_dir, state, "report", "--from", "2026-09-01", "--to", "2026-09-30",
                    "--at", AT, "--json")  # fmt: skip
    expected = {u["unit"]: u for u in json.loads(out)["units"]}
    weekly = [list(r) for r in book["周报统计"].iter_rows(values_only=True)]
    assert weekly[1] == ["单位", "按时完成", "逾期完成", "免除", "逾期未完成", "未到期", "合计"]
    for line in weekly[2:6]:
        counts = expected[line[0]]
        names = ("done_on_time", "done_late", "waived", "overdue", "pending", "total")
        assert line[1:] == [counts[n] for n in names]
    book.close()

    before = book_path.read_bytes()
    code, _ = cli(config_dir, state, "report", "--at", AT, "--xlsx", str(book_path))
    assert code == 1 and "--force" in capsys.readouterr().err
    assert book_path.read_bytes() == before
    code, _ = cli(config_dir, state, "report", "--at", AT, "--xlsx", str(book_path), "--force")
    assert code == 0 and book_path.read_bytes() != before


def test_the_workbook_keeps_a_hostile_note_as_text(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A note is data: its control characters (which openpyxl refuses) are dropped when
    it is recorded, and text starting with '=' is a cell's text, never a formula."""
    state = tmp_path / "state"
    target = "4.5/教育局/2026-09"
    code, _ = cli(config_dir, state, "done", target, "--by", "=cmd|' /C calc'!A0",
                  "--note", "已\x07检查\x1b[31m=1+1", "--at", AT)  # fmt: skip
    assert code == 0
    book_path = tmp_path / "台账.xlsx"
    code, _ = cli(config_dir, state, "report", "--from", "2026-09-01", "--to", "2026-09-30",
                  "--at", AT, "--xlsx", str(book_path))  # fmt: skip
    assert code == 0
    book = openpyxl.load_workbook(book_path)
    sheet = book["教育局"]
    (row,) = [r for r in sheet.iter_rows() if r[9].value == target]
    assert row[6].value == "=cmd|' /C calc'!A0" and row[6].data_type == "s"
    assert row[7].value == "已检查=1+1" and row[7].data_type == "s"
