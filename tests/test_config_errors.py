"""Every class of bad config gives a short error naming file, line, field and value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reminders.cli.main import main


def replace(name: str, old: str, new: str) -> Callable[[Path], tuple[str, str]]:
    """Edit one file of the config; return (file name, the text the error must point at)."""

    def edit(config: Path) -> tuple[str, str]:
        path = config / name
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return name, new.splitlines()[-1] if new.strip() else old

    return edit


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


CASES = [
    pytest.param(
        replace(
            "duties.yaml",
            "units: [教育局]\n    time_limit: 11 月底前完成长期坚持",
            "units: [教育厅]\n    time_limit: 11 月底前完成长期坚持",
        ),
        ["没有这个单位或分组", "教育厅", "units[0]"],
        id="unknown-unit",
    ),
    pytest.param(
        replace(
            "duties.yaml", "time_limit: 11 月底前完成长期坚持", "time_limit: 11 月底前完成择机推进"
        ),
        ["读不懂的时限用语", "择机推进", "任务 4.5", "time_limit"],
        id="unknown-phrase",
    ),
    pytest.param(
        replace(
            "duties.yaml", "time_limit: 4月起至党的二十大结束", "time_limit: 4月起至全运会结束"
        ),
        ["未定义的事件", "任务 7.1", "全运会", "cpc20"],
        id="undefined-event",
    ),
    pytest.param(
        replace("settings.yaml", "plan_year: 2026", "plan_year: [2026"),
        ["YAML 格式错误"],
        id="bad-yaml",
    ),
    pytest.param(
        replace("duties.yaml", 'id: "4.5"', 'id: "4.4"'),
        ["任务编号重复", "4.4"],
        id="duplicate-id",
    ),
    pytest.param(
        replace("settings.yaml", "plan_year: 2026", "plan_year: 今年"),
        ["plan_year", "今年"],
        id="wrong-type",
    ),
    pytest.param(
        replace("calendar.yaml", "day: 11-09", "day: 02-30"),
        ["observances[1].day", "02-30"],
        id="date-that-does-not-exist",
    ),
    pytest.param(
        replace("calendar.yaml", "end: 2022-10-22", "end: 2022-13-22"),
        ["events[0].end", "2022-13-22"],
        id="month-13",
    ),
    pytest.param(
        replace("settings.yaml", "timezone: Asia/Shanghai", "timezone: Asia/Beijing"),
        ["timezone", "Asia/Beijing", "不是已知的时区"],
        id="unknown-time-zone",
    ),
    pytest.param(
        replace("settings.yaml", "lead_times: [7d, 3wd, 0d]", "lead_times: [7d, 3days]"),
        ["lead_times[1]", "3days", "工作日数"],
        id="bad-lead-time",
    ),
    pytest.param(
        replace(
            "units.yaml",
            "supervisor: 教育局\n    channels: []\n\n  - name: 县第二中学",
            "supervisor: 体育局\n    channels: []\n\n  - name: 县第二中学",
        ),
        ["supervisor", "体育局"],
        id="unknown-supervisor",
    ),
    pytest.param(
        replace(
            "settings.yaml",
            "timezone: Asia/Shanghai",
            "timezone: Asia/Shanghai\nfeeds:\n  listen: 127.0.0.1:70000",
        ),
        ["feeds.listen", "70000", "0–65535"],
        id="port-out-of-range",
    ),
    pytest.param(
        replace(
            "settings.yaml", "timezone: Asia/Shanghai", "timezone: Asia/Shanghai\ntimezone: UTC"
        ),
        ["YAML 格式错误", "duplicate key"],
        id="duplicate-yaml-key",
    ),
    pytest.param(
        replace("settings.yaml", "timezone: Asia/Shanghai", "time_zone: Asia/Shanghai"),
        ["time_zone", "不认识的设置项"],
        id="misspelt-key",
    ),
    pytest.param(
        replace(
            "duties.yaml",
            "time_limit: 11 月底前完成长期坚持",
            "time_limit: 11 月底前完成\n    schedule: [{every: fortnight}]",
        ),
        ["schedule[0].every", "fortnight", "'month'"],
        id="bad-structured-rule",
    ),
    pytest.param(
        replace("duties.yaml", "time_limit: 11 月底前完成长期坚持", "time_limit: 2月30日前"),
        ["2月30日前", "不是存在的日期", "任务 4.5"],
        id="deadline-that-does-not-exist",
    ),
]


@pytest.mark.parametrize(("edit", "needles"), CASES)
def test_bad_config_is_reported_with_file_and_line(
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Callable[[Path], tuple[str, str]],
    needles: list[str],
) -> None:
    name, _ = edit(config_dir)
    code = main(["--config", str(config_dir), "validate"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("错误：")]
    assert errors, err
    assert len(err.splitlines()) < 25  # one screen
    hit = [line for line in errors if all(n in line for n in needles)]
    assert hit, f"no error line has all of {needles}:\n{err}"
    assert f"{name}:" in hit[0]
    location = hit[0].removeprefix("错误：")
    assert location.split(":")[0].endswith(name) and location.split(":")[1].isdigit(), hit[0]


def test_line_number_is_the_line_of_the_bad_value(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(
        "duties.yaml", "time_limit: 11 月底前完成长期坚持", "time_limit: 11 月底前完成择机推进"
    )(config_dir)
    main(["--config", str(config_dir), "validate"])
    err = capsys.readouterr().err
    expected = line_of(config_dir / "duties.yaml", "择机推进")
    assert f"duties.yaml:{expected}: duties[" in err


def test_not_utf8(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (config_dir / "units.yaml").write_bytes("units:\n  - name: 教育局\n".encode("gbk"))
    assert main(["--config", str(config_dir), "validate"]) == 1
    err = capsys.readouterr().err
    assert "units.yaml:2" in err and "UTF-8" in err


def test_missing_file(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (config_dir / "calendar.yaml").unlink()
    assert main(["--config", str(config_dir), "validate"]) == 1
    assert "calendar.yaml: 缺少文件" in capsys.readouterr().err


def test_all_problems_are_listed_at_once(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(
        "duties.yaml",
        "units: [教育局]\n    time_limit: 11 月底前完成长期坚持",
        "units: [教育厅]\n    time_limit: 11 月底前完成长期坚持",
    )(config_dir)
    replace("duties.yaml", "time_limit: 7月底前完成", "time_limit: 7月某日")(config_dir)
    assert main(["--config", str(config_dir), "validate"]) == 1
    err = capsys.readouterr().err
    assert "教育厅" in err and "7月某日" in err
    assert "共 2 个错误" in err


def test_plan_year_override_on_the_command_line(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    assert main(["--config", str(config_dir), "--plan-year", "2022", "validate"]) == 0
    out, err = capsys.readouterr()
    assert "计划年度 2022" in out
    assert "已过期" not in err  # 7.1's campaign is live in 2022


def test_a_password_in_the_ledger_url_is_a_warning_that_never_shows_it(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "s3cr3t-madeup"
    url = f"postgresql+psycopg://reminders:{secret}@db.invalid/reminders"
    with (config_dir / "settings.yaml").open("a", encoding="utf-8") as out:
        out.write(f"delivery:\n  ledger_url: {url}\n")
    # db.invalid never resolves (RFC 6761): validate fails on it, as run would, and
    # still warns about the password without showing it
    assert main(["--config", str(config_dir), "validate"]) == 1
    captured = capsys.readouterr()
    assert "打不开台账 (ledger) postgresql+psycopg://reminders:***@db.invalid" in captured.err
    line = next(x for x in captured.err.splitlines() if "台账地址 (ledger URL) 中含密码" in x)
    settings = config_dir / "settings.yaml"
    assert f"settings.yaml:{line_of(settings, 'ledger_url')}" in line
    assert "delivery.ledger_url" in line and "PGPASSWORD" in line
    assert secret not in captured.err + captured.out
    # without one: no warning
    text = settings.read_text(encoding="utf-8").replace(f":{secret}@", "@")
    settings.write_text(text, encoding="utf-8")
    assert main(["--config", str(config_dir), "validate"]) == 1
    err = capsys.readouterr().err
    assert "中含密码" not in err and "打不开台账" in err
