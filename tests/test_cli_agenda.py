from __future__ import annotations

import json
from pathlib import Path

import pytest

from reminders.cli.main import main

from .conftest import SHIPPED_CONFIG


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_shipped_config(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--config", str(SHIPPED_CONFIG), "validate")
    assert code == 0
    assert "51 项任务" in out
    assert "7.1" in err and "已过期" in err  # warnings in full: validate is where they are read


def test_agenda_json_for_one_unit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "--config",
        str(SHIPPED_CONFIG),
        "agenda",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--unit",
        "教育局",
        "--json",
    )
    assert code == 0
    rows = json.loads(out)
    assert {"id", "duty", "unit", "title", "due", "start", "kind", "provisional"} <= set(rows[0])
    assert {row["unit"] for row in rows} == {"教育局"}
    monthly = [
        r["due"]
        for r in rows
        if r["duty"] == "4.5" and r["kind"] == "recurring" and not r["period"].startswith("dense")
    ]
    assert len(monthly) == 12


def test_unknown_unit_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--config", str(SHIPPED_CONFIG), "agenda", "--unit", "不存在")
    assert code == 1
    assert "不存在" in err and "各校" in err
    assert "Traceback" not in err


def test_missing_config_dir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--config", str(tmp_path / "nope"), "validate")
    assert code == 1
    assert "找不到配置目录" in err


def test_agenda_table_lists_every_occurrence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    window = ("--from", "2026-09-01", "--to", "2026-09-30", "--unit", "教育局")
    window += ("--at", "2026-09-01", "--state-dir", str(tmp_path))  # tracked from that day
    _, out, _ = run(capsys, "--config", str(SHIPPED_CONFIG), "agenda", *window, "--json")
    rows = json.loads(out)
    assert rows
    code, out, _ = run(capsys, "--config", str(SHIPPED_CONFIG), "agenda", *window)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"日程 2026-09-01 至 2026-09-30（{len(rows)} 项）"
    assert lines[1].split() == ["到期日", "单位", "事项编号", "任务", "周期/说明", "类型"]
    body = lines[3 : 3 + len(rows)]  # piped: 160 columns, wide enough for one line each
    for line, row in zip(body, rows, strict=True):
        assert line.startswith(row["due"]) and row["title"] in line and row["unit"] in line
        assert f"  {row['id']}  " in line  # the id `done` takes, whole
    assert lines[3 + len(rows) :] == ["事项编号用于 reminders done / undo / waive / link。"]


def test_agenda_marks_what_is_before_tracking(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """No ledger yet: tracking would start on the day of --at; earlier occurrences are
    shown, marked 未跟踪, and say so in JSON."""
    window = ("--from", "2026-11-25", "--to", "2026-12-31", "--unit", "教育局")
    argv = ("--config", str(SHIPPED_CONFIG), "agenda", *window, "--at", "2026-12-01")
    argv += ("--state-dir", str(tmp_path / "state"))
    _, out, _ = run(capsys, *argv, "--json")
    rows = json.loads(out)
    assert {r["tracked"] for r in rows if r["due"] < "2026-12-01"} == {False}
    assert {r["tracked"] for r in rows if r["due"] >= "2026-12-01"} == {True}
    code, out, err = run(capsys, *argv)
    assert code == 0
    marked = [line for line in out.splitlines() if " 未跟踪 " in line]
    assert len(marked) == sum(1 for r in rows if not r["tracked"]) > 0
    assert all(line.startswith("2026-11-") for line in marked)
    assert "未跟踪 (before tracking)" in out
    assert err == "2 条警告，运行 reminders validate 查看\n"  # one line, not the warnings
    assert not (tmp_path / "state").exists()  # agenda only reads


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_and_state_dir_before_or_after_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str
) -> None:
    shared = ["--config", str(SHIPPED_CONFIG), "--state-dir", str(tmp_path)]
    command = ["agenda", "--unit", "教育局", "--json", "--at", "2026-09-01"]
    argv = [*shared, *command] if where == "before" else [*command, *shared]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and json.loads(out)
    # a state-dir given after the command reaches it: history reads that directory
    code, _, err = run(capsys, "history", *shared)
    assert code == 0 and str(tmp_path / "ledger.sqlite3") in err
