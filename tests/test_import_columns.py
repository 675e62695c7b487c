"""How a table was read, shown and overridden: the column mapping, --columns, and the
clean errors of every new way an import can fail (file and line named, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reminders.cli.main import main

TABLE = (
    "某县2026年安全工作任务表\n"
    "工作内容,主办,时间,说明\n"
    "开展校舍安全排查,教育局,6月底前,重点\n"
    "组织消防演练,各校,每学期,无\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_dry_run_prints_the_mapping_and_why(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path, "t.csv", TABLE)
    code = main(["--config", str(config_dir), "import", str(source), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "版式 (layout)：表格 (table)；列 (columns)：" in out
    assert "第1列 “工作内容” → 任务 task：表头 header：最长的文字 the longest text" in out
    assert "第2列 “主办” → 责任单位 units：内容 content：100% 为单位名称 unit names" in out
    assert "第3列 “时间” → 时限 time：表头 header" in out
    assert "第4列 “说明” → 不读 ignored：表头 header" in out
    assert "试运行 (dry run)：没有写入任何文件" in out


def test_columns_override_by_number_and_by_header_name(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path, "t.csv", TABLE)
    argv = ["--config", str(config_dir), "import", str(source), "--dry-run", "--json"]
    assert main([*argv, "--columns", "task=1,units=主办,time=3,leader=4"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(c["field"], c["reason"]) for c in report["columns"]] == [
        ("task", "--columns 指定 given"),
        ("units", "--columns 指定 given"),
        ("time", "--columns 指定 given"),
        ("leader", "--columns 指定 given"),
    ]
    assert [(d["units"], d["leader"]) for d in report["duties"]] == [
        (["教育局"], "重点"),
        (["各校"], "无"),
    ]


def test_columns_override_what_the_content_would_say(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --columns the 2nd column is the units; told otherwise, it is ignored."""
    source = write(tmp_path, "t.csv", TABLE)
    argv = ["--config", str(config_dir), "import", str(source), "--dry-run", "--json"]
    assert main([*argv, "--columns", "ignore=2,partners=4"]) == 1  # no units now
    report = json.loads(capsys.readouterr().out)
    assert [c["field"] for c in report["columns"]] == ["task", "ignore", "time", "partners"]
    assert {a["reason"] for a in report["attention"]} >= {"no-unit"}


@pytest.mark.parametrize(
    ("name", "text", "extra", "message", "line"),
    [
        pytest.param(
            "t.csv",
            TABLE,
            ["--columns", "task3"],
            "--columns 无法识别 “task3”",
            None,
            id="columns-not-field-equals-column",
        ),
        pytest.param(
            "t.csv",
            TABLE,
            ["--columns", "owner=2"],
            "--columns 无法识别 “owner=2”",
            None,
            id="columns-unknown-field",
        ),
        pytest.param(
            "t.csv",
            TABLE,
            ["--columns", "task=9"],
            "表格只有 4 列",
            2,
            id="columns-number-out-of-range",
        ),
        pytest.param(
            "t.csv",
            TABLE,
            ["--columns", "units=责任单位"],
            "表头中没有这一列",
            2,
            id="columns-no-such-header",
        ),
        pytest.param(
            "t.csv",
            TABLE,
            ["--columns", "task=1,units=1"],
            "第1列指定了两次",
            2,
            id="columns-one-column-twice",
        ),
        pytest.param(
            "n.txt",
            "通知\n1.开展检查。\n责任单位：教育局\n",
            ["--columns", "task=1"],
            "--columns 只用于表格",
            None,
            id="columns-on-a-notice",
        ),
        pytest.param(
            "t.csv",
            "序号,工作任务,责任单位,完成时限\n1,检查,教育局,年底前\n1,复查,教育局,年底前\n",
            [],
            "任务编号 1 重复 (task id 1 appears twice)，首次在第 2 行 (first at line 2)",
            3,
            id="a-number-twice",
        ),
        pytest.param(
            "t.csv",
            "姓名,电话\n张三,138\n",
            [],
            "找不到任务列",
            None,
            id="no-task-column",
        ),
        pytest.param(
            "n.txt",
            "关于安全工作的通知\n请各校认真落实。\n",
            [],
            "找不到编号的任务",
            None,
            id="a-notice-with-no-numbered-tasks",
        ),
    ],
)
def test_each_new_failure_is_a_clean_error_and_writes_nothing(
    name: str,
    text: str,
    extra: list[str],
    message: str,
    line: int | None,
    tmp_path: Path,
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = write(tmp_path, name, text)
    before = {p.name: p.read_bytes() for p in config_dir.iterdir() if p.is_file()}
    code = main(["--config", str(config_dir), "import", str(source), *extra])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert message in err
    where = f"{source}:{line}:" if line is not None else f"{source}:"
    assert where in err
    after = {p.name: p.read_bytes() for p in config_dir.iterdir() if p.is_file()}
    assert after == before
