"""`reminders done|undo|waive|overdue|report|history` against a real ledger file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reminders.cli.main import main

AT = "2026-10-12T10:00"  # a Monday; September's monthly check (4.5) is overdue


def run(
    capsys: pytest.CaptureFixture[str], config: Path, state: Path, *argv: str
) -> tuple[int, str, str]:
    code = main(["--config", str(config), *argv[:1], "--state-dir", str(state), *argv[1:]])
    out, err = capsys.readouterr()
    return code, out, err


def test_done_stops_it_being_overdue_and_counts_in_the_report(
    tracked_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_dir = tracked_config
    state = tmp_path / "state"
    code, out, _ = run(
        capsys, config_dir, state, "overdue", "--unit", "教育局", "--json", "--at", AT
    )
    assert code == 0
    before = {item["id"] for item in json.loads(out)["overdue"]}
    assert "4.5/教育局/2026-09" in before

    code, out, _ = run(
        capsys, config_dir, state, "done", "4.5/教育局/2026-09", "--by", "张三",
        "--note", "已检查 3 所学校", "--evidence", "https://pan.example.cn/1", "--at", AT,
    )  # fmt: skip
    assert code == 0 and "已完成" in out
    code, out, _ = run(capsys, config_dir, state, "done", "4.5/教育局/2026-09", "--at", AT)
    assert code == 0 and "没有改变" in out

    code, out, _ = run(
        capsys, config_dir, state, "overdue", "--unit", "教育局", "--json", "--at", AT
    )
    after = {item["id"] for item in json.loads(out)["overdue"]}
    assert after == before - {"4.5/教育局/2026-09"}

    code, out, _ = run(capsys, config_dir, state, "report", "--json", "--at", AT)
    bureau = next(u for u in json.loads(out)["units"] if u["unit"] == "教育局")
    assert bureau["done_late"] == 1 and bureau["done_on_time"] == 0
    assert bureau["overdue"] == len(before) - 1

    code, out, _ = run(capsys, config_dir, state, "history", "--json")
    (change,) = json.loads(out)
    assert change["by"] == "张三" and change["evidence"] == "https://pan.example.cn/1"
    assert change["via"] == "cli"


def test_waive_needs_a_reason_and_undo_reopens(
    tracked_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_dir = tracked_config
    state = tmp_path / "state"
    code = main(
        ["--config", str(config_dir), "waive", "4.5/教育局/2026-09", "--state-dir", str(state)]
    )
    assert code == 2
    capsys.readouterr()
    occ = "1.2/县第一中学/2026-Q3"
    code, out, _ = run(capsys, config_dir, state, "waive", occ, "--reason", "停课", "--at", AT)
    assert code == 0 and "已免除" in out
    code, out, _ = run(capsys, config_dir, state, "report", "--json", "--at", AT)
    school = next(u for u in json.loads(out)["units"] if u["unit"] == "县第一中学")
    assert school["waived"] == 1
    code, out, _ = run(capsys, config_dir, state, "undo", occ, "--at", AT)
    assert code == 0 and "未完成" in out
    code, out, _ = run(capsys, config_dir, state, "history", occ)
    assert "waive: open → waived" in out and "undo: waived → open" in out


def test_unknown_occurrence_is_a_clear_error(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for bad in ("4.5/教育局/2099-09", "99.9/教育局/2026-09", "nonsense", "4.5/无此单位/2026-09"):
        code, _, err = run(capsys, config_dir, tmp_path / "s", "done", bad)
        assert code == 1 and "计划中没有这个事项编号" in err and "Traceback" not in err
        assert "reminders agenda" in err and "事项编号" in err  # where the ids are shown


def test_overdue_unknown_unit(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, config_dir, tmp_path / "s", "overdue", "--unit", "无此单位")
    assert code == 1 and "没有这个单位" in err


def test_tables_print(config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, config_dir, tmp_path / "s", "overdue", "--at", AT)
    assert code == 0 and "逾期未完成" in out
    code, out, _ = run(
        capsys, config_dir, tmp_path / "s", "report", "--at", AT, "--from", "2026-09-01"
    )
    assert code == 0 and "按时完成" in out and "2026-09-01" in out


def test_due_leaves_out_done_occurrences(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    at = "2026-11-30T09:30"
    code, out, _ = run(capsys, config_dir, state, "due", "--json", "--at", at)
    before = {o for row in json.loads(out)["would_send"] for o in row["occurrences"]}
    occ = "1.2/教育局/2026-11-30"
    assert occ in before
    assert run(capsys, config_dir, state, "done", occ, "--at", at)[0] == 0
    code, out, _ = run(capsys, config_dir, state, "due", "--json", "--at", at)
    assert code == 0
    after = {o for row in json.loads(out)["would_send"] for o in row["occurrences"]}
    assert after == before - {occ}
