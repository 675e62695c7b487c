"""The first start makes sense: tracking starts when the bureau starts.

A service first started on 2026-12-01 with the shipped config (plan start 1 January)
does not report the year's 300-odd past occurrences as overdue, push them, or send
a weekly report at once: they are history (未跟踪). The first weekly report goes
out at the next report time and lists nothing overdue from before tracking began.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from reminders.cli.main import main
from reminders.closedloop.weekly import report_times
from reminders.config import load_config
from reminders.delivery.plan import due_at
from reminders.ledger import Ledger, default_url
from reminders.tracking import track_start, tracked

from .conftest import SHIPPED_CONFIG
from .daemonproc import DaemonProcess
from .fakerobot import FakeRobots
from .robotconfig import wire_dingtalk

FIRST = "2026-12-01T10:00"  # a Tuesday: Monday's 09:00 report time has passed
NEXT_REPORT = "2026-12-07T08:59:57"  # three seconds before the next one


def _texts(robots: FakeRobots, token: str) -> list[str]:
    robot = robots.robot("dingtalk", token)
    assert robot is not None
    return robot.texts()


def test_first_weekly_report_lists_nothing_from_before_tracking(
    config_dir: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    with FakeRobots() as robots:
        env = wire_dingtalk(config_dir, robots)  # 教育局 is tok00: it gets the report
        first = DaemonProcess(config_dir, state, now=FIRST, env=env).start()
        first.wait_log(r"开始跟踪 \(tracking from\) 2026-12-01")
        first.wait_log(r"2026-11-30 的周报 \(weekly report\) 不补发：台账建立在它之后")
        assert first.stop() == 0
        sent_at_first_start = {
            token: list(_texts(robots, token)) for token in ("tok00madeup", "tok01madeup")
        }
        monday = DaemonProcess(config_dir, state, now=NEXT_REPORT, env=env).start()
        monday.wait_log(r"周报 \(weekly report\)：已发送 1 条")
        assert monday.stop() == 0
        bureau = _texts(robots, "tok00madeup")

    # the first start pushed no report and no reminder of last year's past
    assert not any("闭环周报" in t for t in sent_at_first_start["tok00madeup"])
    for texts in sent_at_first_start.values():
        assert not any("已逾期" in t for t in texts), texts

    (report,) = [t for t in bureau if "闭环周报" in t]
    assert "统计区间：2026-12-01 至 2026-12-07" in report
    listed = re.findall(r"截止 (\d{4}-\d{2}-\d{2})", report)
    assert all(day >= "2026-12-01" for day in listed), listed
    overdue = [int(n) for n in re.findall(r"逾期未完成 (\d+)", report)]
    assert len(overdue) == 4 and sum(overdue) == len(listed)  # every unit, 10 or fewer listed

    ledger = Ledger.open(default_url(state))
    try:
        made = ledger.created_at()
        rows = ledger.rows()
    finally:
        ledger.close()
    service_clock = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # its --now, not the wall clock
    assert timedelta(0) <= made - service_clock < timedelta(minutes=1)
    # no delivery of an occurrence due before tracking began was ever recorded
    due_before = [r.subject for r in rows if re.search(r"/2026-(0\d|1[01])(-|$|@)", r.subject)]
    assert due_before == []


def test_tracking_start_comes_from_settings_else_the_ledger_else_now(
    config_dir: Path, tmp_path: Path
) -> None:
    config = load_config(config_dir)
    now = datetime.fromisoformat("2026-12-01T10:00+08:00")
    assert track_start(config, None, now) == date(2026, 12, 1)  # no ledger: it starts today
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.sqlite3'}", now=now.replace(month=3))
    try:
        assert track_start(config, ledger, now) == date(2026, 3, 1)  # the day it was made
        with (config_dir / "settings.yaml").open("a", encoding="utf-8") as out:
            out.write("\ntrack_from: 2026-06-01\n")
        explicit = load_config(config_dir)
        assert track_start(explicit, ledger, now) == date(2026, 6, 1)  # the setting wins
    finally:
        ledger.close()


def test_history_is_not_reminded_but_the_tracked_are() -> None:
    """The pure plan: the same instant, with and without tracking from 2026-12-01."""
    config = load_config(SHIPPED_CONFIG)
    at = datetime.fromisoformat("2026-12-01T10:00+08:00")
    everything = due_at(config.plan, at)
    assert any(r.stage == "overdue" and r.due < date(2026, 12, 1) for r in everything)
    fresh = tracked(config, None, at).plan
    assert fresh.track_from == date(2026, 12, 1)
    since = due_at(fresh, at)
    assert all(r.due >= date(2026, 12, 1) for r in since)
    assert {r.id for r in since} == {r.id for r in everything if r.due >= date(2026, 12, 1)}


def test_no_report_for_a_week_whose_time_came_before_the_ledger() -> None:
    settings = load_config(SHIPPED_CONFIG).settings
    tuesday = datetime.fromisoformat("2026-12-01T10:00+08:00")
    came, upcoming = report_times(settings, tuesday)
    assert came == datetime.fromisoformat("2026-11-30T09:00+08:00")
    assert report_times(settings, tuesday, since=tuesday) == (None, upcoming)
    # a ledger made before Monday's time: that report is this week's to send
    earlier = datetime.fromisoformat("2026-11-27T10:00+08:00")
    assert report_times(settings, tuesday, since=earlier) == (came, upcoming)


def test_report_counts_history_apart(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`report --from` the plan start on a fresh state: past open work is 未跟踪, not overdue."""
    argv = ["--config", str(SHIPPED_CONFIG), "report", "--state-dir", str(tmp_path / "s")]
    argv += ["--at", FIRST, "--json"]
    assert main([*argv, "--from", "2026-01-01"]) == 0
    report = json.loads(capsys.readouterr().out)
    bureau = next(u for u in report["units"] if u["unit"] == "教育局")
    assert bureau["untracked"] > 50 and bureau["overdue"] == 0
    assert report["worst_overdue"] == []
    assert main(argv) == 0  # by default the span starts where tracking starts
    assert json.loads(capsys.readouterr().out)["from"] == "2026-12-01"
