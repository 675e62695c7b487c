"""The import report: each kind of task that needs a person's eye, and the exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reminders.cli.main import main

HEADER = "措施,具体工作,责任单位,完成时限\n"


def run_json(
    capsys: pytest.CaptureFixture[str], config_dir: Path, source: Path, *extra: str
) -> tuple[int, dict[str, object]]:
    code = main(["--config", str(config_dir), "import", str(source), "--json", *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, json.loads(captured.out)


@pytest.mark.parametrize(
    ("row", "reason", "detail", "code"),
    [
        ("1.每月至少组织1次检查,教育局,", "no-time-limit", "“每月至少组织1次”", 0),
        ("1.认真做好工作,教育局,", "no-rule", "都没有给出到期日", 1),
        ("1.认真做好工作,教育局,尽快落实到位", "not-understood", "尽快落实到位", 1),
        ("1.认真做好工作,教育局,2月30日前完成", "not-understood", "02-30 不是存在的日期", 1),
        ("1.检查，2月30日前完成整改,教育局,9月底前完成", "not-understood", "02-30 不是", 1),
        ("1.认真做好工作,,长期坚持", "no-unit", "责任单位栏为空", 1),
        ("1.认真做好工作,县农业局,长期坚持", "unknown-unit", "县农业局", 1),
        ("1.从5月起至党的二十大结束开展整治,教育局,4月起至党的二十大结束", "conflict", "5月起", 0),
    ],
    ids=[
        "empty-cell-rule-from-text",
        "no-rule",
        "not-understood",
        "no-such-date-in-cell",
        "no-such-date-in-text",
        "no-unit",
        "unknown-unit",
        "conflict",
    ],
)
def test_each_reason_for_attention(
    row: str,
    reason: str,
    detail: str,
    code: int,
    capsys: pytest.CaptureFixture[str],
    config_dir: Path,
    tmp_path: Path,
) -> None:
    source = tmp_path / "t.csv"
    source.write_text(HEADER + "（一）甲措施," + row + "\n", encoding="utf-8")
    got, report = run_json(capsys, config_dir, source, "--output", str(tmp_path / "d.yaml"))
    assert got == code
    attention = report["attention"]
    assert isinstance(attention, list)
    assert [(a["id"], a["reason"]) for a in attention] == [("1.1", reason)]
    assert detail in attention[0]["detail"]
    assert attention[0]["line"] == 2
    assert report["tasks"] == 1
    assert report["understood"] == (0 if reason in ("no-rule", "not-understood") else 1)
    assert (tmp_path / "d.yaml").exists()  # written: the person fixes it there


def test_text_report_names_row_and_reason(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "t.csv"
    source.write_text(HEADER + "（一）甲措施,1.认真做好工作,教育局,尽快落实\n", encoding="utf-8")
    code = main(["--config", str(config_dir), "import", str(source), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 1
    assert "任务 (tasks) 1 项：读懂时限 (rule understood) 0 项，未读懂 1 项" in out
    assert (
        "1.1  时限未识别 phrase not understood：“尽快落实”，时限栏为“尽快落实”［第 2 行 (line)］"
        in out
    )
    assert "处问题须在任务清单（或单位）文件中改正" in out


def test_a_txt_that_is_really_a_tab_separated_sheet(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "sheet.txt"
    source.write_text(
        "措施\t具体工作\t责任单位\t完成时限\n（一）甲\t1.每月至少组织1次检查\t教育局\t长期坚持\n",
        encoding="gbk",
    )
    code, report = run_json(capsys, config_dir, source, "--output", str(tmp_path / "d.yaml"))
    assert code == 0
    assert report["kind"] == "csv" and report["encoding"] == "GBK"
    assert report["added"] == ["1.1"]


def test_missing_calendar_is_a_warning_in_the_json(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    (config_dir / "calendar.yaml").unlink()
    source = tmp_path / "t.csv"
    source.write_text(HEADER + "（一）甲,1.开展安全生产月活动,教育局,长期坚持\n", encoding="utf-8")
    code, report = run_json(capsys, config_dir, source, "--dry-run")
    assert code == 0
    warnings = report["warnings"]
    assert isinstance(warnings, list) and "no calendar file" in warnings[0]


def test_a_broken_units_file_is_reported_as_validate_reports_it(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    (config_dir / "units.yaml").write_text(
        "units:\n  - name: 教育局\n    channels: 5\n", encoding="utf-8"
    )
    source = config_dir / "source" / "task-table-2022.txt"
    assert main(["--config", str(config_dir), "import", str(source), "--dry-run"]) == 1
    import_err = capsys.readouterr().err
    assert main(["--config", str(config_dir), "validate"]) == 1
    assert import_err == capsys.readouterr().err
    assert "units.yaml:3: units[0].channels: 应为列表 (list)" in import_err
    assert import_err.splitlines()[0].endswith("（当前值：5）")
