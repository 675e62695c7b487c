"""A service stopped for 72 hours catches up with one digest per robot; stale ones are skipped."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from reminders.ledger import Ledger, default_url

from .daemonproc import DaemonProcess
from .fakerobot import FakeRobots
from .robotconfig import UNITS, set_delivery, wire_dingtalk

SHANGHAI = ZoneInfo("Asia/Shanghai")
BEFORE = "2026-11-20T16:00"  # Friday afternoon
AFTER = "2026-11-23T16:00"  # Monday afternoon, 72 hours later


def test_downtime_catch_up(config_dir: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with FakeRobots() as robots:
        env = wire_dingtalk(config_dir, robots)
        set_delivery(config_dir, catch_up_hours=48)
        first = DaemonProcess(config_dir, state, now=BEFORE, env=env).start()
        assert first.stop() == 0
        before = {key: len(robot.messages) for key, robot in robots.robots.items()}

        second = DaemonProcess(config_dir, state, now=AFTER, env=env).start()
        assert second.stop() == 0
        after = {key: len(robot.messages) for key, robot in robots.robots.items()}
        assert robots.total_rejections() == 0

    caught_up = {key: after[key] - before[key] for key in after}
    print(f"messages per robot on restart after 72 h: {caught_up}")
    assert set(caught_up.values()) == {1}, caught_up
    assert len(caught_up) == len(UNITS)

    ledger = Ledger.open(default_url(state))
    try:
        rows = ledger.rows()
    finally:
        ledger.close()
    skipped = [r for r in rows if r.status == "skipped" and "catch-up" in (r.last_error or "")]
    sent_on_restart = [
        r
        for r in rows
        if r.status == "sent" and r.due_at.astimezone(SHANGHAI).isoformat() > "2026-11-21"
    ]
    print(f"skipped as stale: {len(skipped)}; sent in the catch-up digests: {len(sent_on_restart)}")
    assert skipped, "reminders older than catch_up_hours are recorded as skipped"
    assert all(r.due_at.astimezone(SHANGHAI).isoformat() < "2026-11-21T16:00" for r in skipped)
    assert sent_on_restart
