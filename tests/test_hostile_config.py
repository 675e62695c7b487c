"""Every class of hostile config found in issue 16: a clean error naming the file (or,
where the config is sound, a service that works), fast, without a traceback.

Each case runs the CLI in a forked child (tests/fuzzing.py), so a regression that
hangs fails after 5 s instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reminders.cli.main import main
from reminders.exceptions import ConfigError

from .fuzzing import Outcome, run_forked

Edit = Callable[[Path], None]


def validate(config: Path) -> Outcome:
    return run_forked(["--config", str(config), "validate"])


def agenda(config: Path, start: str, end: str) -> Outcome:
    return run_forked(["--config", str(config), "agenda", "--json", "--from", start, "--to", end])


def edit(name: str, old: str, new: str) -> Edit:
    def apply(config: Path) -> None:
        path = config / name
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return apply


def prepend(name: str, text: str) -> Edit:
    def apply(config: Path) -> None:
        path = config / name
        path.write_text(text + path.read_text(encoding="utf-8"), encoding="utf-8")

    return apply


def special(name: str, make: Callable[[Path], None]) -> Edit:
    def apply(config: Path) -> None:
        path = config / name
        path.unlink()
        make(path)

    return apply


def schedule(rule: str) -> Edit:
    """Give duty 1.3 a structured schedule of one rule."""
    return edit(
        "duties.yaml",
        '    time_limit: 9月底前完成  # 读作: “9月底前完成” → deadline: 09\n\n  - id: "1.4"',
        f'    time_limit: 9月底前完成\n    schedule:\n      - rrule: "{rule}"\n\n  - id: "1.4"',
    )


LAUGHS = 'x-lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"x-lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)

REFUSED = [
    pytest.param(
        prepend("units.yaml", LAUGHS), "units.yaml", "别名 (alias) 展开后超过", id="laughs"
    ),
    pytest.param(
        prepend("calendar.yaml", f'x-s: &s "{"哈" * 5000}"\nx-t: [{", ".join(["*s"] * 60)}]\n'),
        "calendar.yaml",
        "200000 个字符",
        id="anchored-long-string",
    ),
    pytest.param(
        prepend("settings.yaml", "x-loop: &loop [1, *loop]\n"),
        "settings.yaml:1",
        "recursive alias",
        id="recursive-alias",
    ),
    pytest.param(
        prepend("settings.yaml", "x: " + "[" * 50_000 + "]" * 50_000 + "\n"),
        "settings.yaml:1",
        "嵌套超过 50 层",
        id="nesting-50000",
    ),
    pytest.param(
        prepend("duties.yaml", "x:\n" + "- 1\n" * 45_000),
        "duties.yaml:39999",
        "超过 40000 个值",
        id="too-many-values",
    ),
    pytest.param(
        special("calendar.yaml", os.mkfifo), "calendar.yaml", "命名管道 (FIFO)", id="fifo"
    ),
    pytest.param(
        special("units.yaml", lambda p: p.symlink_to("/dev/zero")),
        "units.yaml",
        "字符设备",
        id="dev-zero",
    ),
    pytest.param(
        special("duties.yaml", lambda p: p.symlink_to("/dev/urandom")),
        "duties.yaml",
        "字符设备",
        id="dev-urandom",
    ),
    pytest.param(
        special("settings.yaml", lambda p: p.mkdir()), "settings.yaml", "目录", id="directory"
    ),
    pytest.param(
        special("channels.yaml", lambda p: p.symlink_to(p)),
        "channels.yaml",
        "符号链接循环",
        id="symlink-loop",
    ),
    pytest.param(
        edit("duties.yaml", "text: 局党组、", "text: " + "重" * 1_800_000 + "局党组、"),
        "duties.yaml",
        "超过 1 MiB 上限",
        id="5mb-string",
    ),
    pytest.param(
        edit("duties.yaml", "text: 局党组、", "text: " + "每月" * 2_500 + "局党组、"),
        "duties.yaml:13: duties[0].text",
        "最多 4000 个字符",
        id="text-over-bound",
    ),
    pytest.param(
        edit("calendar.yaml", "years: {}", "years: {2026: {holidays: [0001-01-01..9999-12-31]}}"),
        "calendar.yaml:9: years[2026].holidays[0]",
        "2000–2100",
        id="holidays-0001-9999",
    ),
    pytest.param(
        edit("calendar.yaml", "end: 2022-10-22", "end: 9999-12-31"),
        "calendar.yaml:32: events[0].end",
        "不是 9999 年",
        id="event-ends-9999",
    ),
    pytest.param(
        edit("settings.yaml", "# plan_start: 2026-01-01", "plan_start: 9999-12-30"),
        "settings.yaml:{plan_start: 9999}: plan_start",
        "2000–2100",
        id="plan-start-9999",
    ),
    pytest.param(
        edit("settings.yaml", "timezone: Asia/Shanghai", "timezone: America"),
        "settings.yaml:{timezone: America}: timezone",
        "不是已知的时区",
        id="timezone-directory",
    ),
    pytest.param(schedule("FREQ=SECONDLY"), "duties.yaml:33", "DAILY", id="secondly"),
    pytest.param(schedule("FREQ=MINUTELY"), "duties.yaml:33", "DAILY", id="minutely"),
    pytest.param(
        schedule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"),
        "duties.yaml:32: duties[2].schedule",
        "never matches",
        id="never-matches",
    ),
    pytest.param(schedule("FREQ=WEEKLY;INTERVAL=0"), "duties.yaml:33", "INTERVAL", id="interval-0"),
    pytest.param(
        schedule("DTSTART;TZID=Asia/Shanghai:20260101T090000\\nRRULE:FREQ=DAILY"),
        "duties.yaml:33",
        "DTSTART 或 TZID",
        id="dtstart-tzid",
    ),
    pytest.param(
        edit("duties.yaml", 'id: "4.5"', 'id: "123456789012345678901234567890.5"'),
        "duties.yaml:113: duties[13].id",
        "格式不对",
        id="duty-id-30-digits",
    ),
    pytest.param(
        edit("settings.yaml", 'start: "09:00"', "start: 0"),
        "settings.yaml:{start: 0}: send_window.start",
        "不带时区",
        id="time-as-number",
    ),
    pytest.param(
        edit("units.yaml", "  - name: 县第一中学", "  - name: 9" + "9" * 5000),
        "units.yaml:9",
        "数字过长",
        id="5000-digit-number",
    ),
    pytest.param(
        edit("units.yaml", "  - name: 县第一中学", '  - name: "\\ud800"'),
        "units.yaml:9",
        "surrogate",
        id="lone-surrogate",
    ),
]


def located(config: Path, where: str) -> str:
    """`name.yaml:{text}: field` with {text} replaced by the line the text is on."""
    match = re.search(r"\{(.+?)\}", where)
    if match is None:
        return where
    lines = (config / where.split(":")[0]).read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if match[1] in text)
    return where.replace(match[0], str(line))


@pytest.mark.parametrize(("change", "where", "message"), REFUSED)
def test_hostile_config_is_refused_with_file_line_and_reason(
    config_dir: Path, change: Edit, where: str, message: str
) -> None:
    change(config_dir)
    where = located(config_dir, where)
    outcome = validate(config_dir)
    assert outcome.code == 1, outcome.stderr
    assert "Traceback" not in outcome.stderr
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("错误")]
    assert any(where in line and message in line for line in errors), outcome.stderr
    assert all(len(line) < 400 for line in errors)  # values quoted short
    assert outcome.seconds < 5  # CPU: the budget per case


def dense_days(outcome: Outcome, duty: str) -> list[tuple[str, str]]:
    rows = json.loads(outcome.stdout)
    return [(o["start"], o["due"]) for o in rows if o["duty"] == duty and "dense" in o["period"]]


@pytest.mark.parametrize(("year", "first"), [(2027, "2027-03-01"), (2028, "2028-02-29")])
def test_sensitive_period_from_february_29_is_march_1_in_a_common_year(
    config_dir: Path, year: int, first: str
) -> None:
    edit("calendar.yaml", "each_year: [03-03..03-15]", "each_year: [02-29..03-15]")(config_dir)
    edit("settings.yaml", "plan_year: 2026", f"plan_year: {year}")(config_dir)
    assert validate(config_dir).code == 0
    outcome = agenda(config_dir, f"{year}-02-01", f"{year}-03-31")
    assert outcome.code == 0, outcome.stderr
    days = dense_days(outcome, "4.5")  # 重点敏感时期要加密检查频次
    assert days and min(start for start, _ in days) == first
    assert max(due for _, due in days) <= f"{year}-03-15"


def test_observance_on_february_29_falls_on_the_28th_in_a_common_year(config_dir: Path) -> None:
    edit("calendar.yaml", "day: 11-09", "day: 02-29")(config_dir)
    assert validate(config_dir).code == 0
    outcome = agenda(config_dir, "2026-01-01", "2028-12-31")
    assert outcome.code == 0, outcome.stderr
    days = {o["due"] for o in json.loads(outcome.stdout) if o["period"].startswith("fire-day")}
    # 2026-02-28 is a make-up working Saturday; 2027-02-28 a Sunday
    assert {"2026-02-28", "2027-02-26", "2028-02-29"} <= days


def test_campaign_from_february_29_in_a_common_year_is_an_error(config_dir: Path) -> None:
    edit("calendar.yaml", "end: 2022-10-22", "end: 2026-12-31")(config_dir)
    campaign = "time_limit: 4月起至党的二十大结束"
    edit("duties.yaml", campaign, campaign.replace("4月", "2月29日"))(config_dir)
    outcome = validate(config_dir)
    assert outcome.code == 1
    assert "2026 年没有 2 月 29 日" in outcome.stderr
    assert "Traceback" not in outcome.stderr


def test_a_sound_rrule_expands_to_the_same_dates_as_dateutil(config_dir: Path) -> None:
    schedule("FREQ=MONTHLY;BYDAY=-1FR")(config_dir)
    outcome = agenda(config_dir, "2026-01-01", "2026-06-30")
    assert outcome.code == 0, outcome.stderr
    nominal = [o["period"] for o in json.loads(outcome.stdout) if o["duty"] == "1.3"]
    assert sorted(set(nominal)) == [
        "2026-01-30",
        "2026-02-27",
        "2026-03-27",
        "2026-04-24",
        "2026-05-29",
        "2026-06-26",
    ]


def test_dates_on_the_command_line_are_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agenda", "--from", "9999-12-01"]) == 2
    err = capsys.readouterr().err
    assert "2000–2100" in err and "Traceback" not in err


def test_the_trial_names_the_duty_that_would_fail_the_service(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever would make the service fail at start (here: an expansion that raises
    for duty 4.5) fails `validate` with the duty's file, line and field."""
    from reminders.config import load_config
    from reminders.core import expand
    from reminders.daemon.trial import check_service_start

    config = load_config(config_dir)
    original = expand._Expander.slots_for

    def failing(self: expand._Expander, compiled: expand.CompiledDuty) -> list[expand._Slot]:
        if compiled.duty.id == "4.5":
            raise OverflowError("date value out of range")
        return original(self, compiled)

    monkeypatch.setattr(expand._Expander, "slots_for", failing)
    with pytest.raises(ConfigError) as caught:
        check_service_start(config, datetime(2026, 11, 30, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    (problem,) = caught.value.problems
    assert problem.file == str(config_dir / "duties.yaml")
    assert problem.line == 113
    assert problem.field == "duties[13].time_limit"
    assert "任务 4.5" in problem.message and "OverflowError" in problem.message


def test_validate_of_the_shipped_config_runs_the_trial(config_dir: Path) -> None:
    outcome = validate(config_dir)
    assert outcome.code == 0, outcome.stderr
    assert re.match(r"配置有效 \(ok\)：.*51 项任务", outcome.stdout)


def test_year_bounds_hold_for_every_date_field() -> None:
    from reminders.core.model import Event, Settings, YearDays
    from reminders.core.rules import DeadlineRule

    with pytest.raises(ValueError, match="2000–2100"):
        Event(key="x", name="x", start=date(1999, 12, 31), end=date(2026, 1, 1))
    with pytest.raises(ValueError, match="2000–2100"):
        YearDays.model_validate({"holidays": ["2026-01-01..2101-01-01"]})
    with pytest.raises(ValueError, match="2000–2100"):
        DeadlineRule(deadline="9999-12-31")
    with pytest.raises(ValueError, match="less than or equal to 2100"):
        Settings.model_validate({"plan_year": 2101})


def test_a_reload_that_would_break_the_service_keeps_the_last_good_config(
    config_dir: Path, tmp_path: Path
) -> None:
    """Issue 16: a config with `FREQ=SECONDLY` or `plan_start: 9999-12-30` was applied by
    a reload ("config reloaded") and every wake-up then raised. Now it is rejected and
    the service goes on with the config it had."""
    import signal

    import httpx

    from .daemonproc import DaemonProcess
    from .test_daemon import MONDAY, feed_url

    off = ("--watch-seconds", "0")
    daemon = DaemonProcess(config_dir, tmp_path / "state", now=MONDAY, args=off).start()
    try:
        url = feed_url(daemon)
        for change, reason in (
            (schedule("FREQ=SECONDLY"), r"duties\.yaml:33: .*rrule.*DAILY"),
            (edit("settings.yaml", "# plan_start: 2026-01-01", "plan_start: 9999-12-30"), "2000"),
        ):
            good = {p.name: p.read_bytes() for p in config_dir.glob("*.yaml")}
            change(config_dir)
            mark = len(daemon.log())
            daemon.signal(signal.SIGHUP)
            daemon.wait_log(rf"重新加载被拒绝 \(reload rejected\)：.*{reason}", after=mark)
            daemon.wait_log(r"继续使用上次的有效配置 \(last good config\)：51 项任务", after=mark)
            assert "配置已重新加载 (config reloaded)" not in daemon.log()[mark:]
            assert httpx.get(url, timeout=10).status_code == 200
            for name, data in good.items():
                (config_dir / name).write_bytes(data)
        assert "Traceback" not in daemon.log()
    finally:
        assert daemon.stop() == 0
