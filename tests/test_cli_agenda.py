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
    assert "51 duties" in out
    assert "7.1" in err and "expired" in err


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
    assert "config directory not found" in err


def test_agenda_table_lists_every_occurrence(capsys: pytest.CaptureFixture[str]) -> None:
    window = ("--from", "2026-09-01", "--to", "2026-09-30", "--unit", "教育局")
    _, out, _ = run(capsys, "--config", str(SHIPPED_CONFIG), "agenda", *window, "--json")
    rows = json.loads(out)
    assert rows
    code, out, _ = run(capsys, "--config", str(SHIPPED_CONFIG), "agenda", *window)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"日程 2026-09-01 至 2026-09-30（{len(rows)} 项）"
    assert lines[1].split() == ["到期日", "单位", "编号", "任务", "周期/说明", "类型"]
    body = lines[3:]
    assert len(body) == len(rows)  # piped: 160 columns, wide enough for one line each
    for line, row in zip(body, rows, strict=True):
        assert line.startswith(row["due"]) and row["title"] in line and row["unit"] in line
