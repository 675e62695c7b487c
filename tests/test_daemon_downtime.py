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


def digests(texts: list[str]) -> int:
    """Reminder messages, not weekly reports."""
    return sum("闭环周报" not in text for text in texts)


def test_downtime_catch_up(tracked_config: Path, tmp_path: Path) -> None:
    config_dir = tracked_config  # tracked all year: the first start has reminders to send
    state = tmp_path / "state"
    with FakeRobots() as robots:
        env = wire_dingtalk(config_dir, robots)
        set_delivery(config_dir, catch_up_hours=48)
        first = DaemonProcess(config_dir, state, now=BEFORE, env=env).start()
        first.wait_woke()  # its start-up run
        # Monday 09:00 came before the ledger was made: the first report is next Monday's
        first.wait_log(r"2026-11-16 的周报 \(weekly report\) 不补发：台账建立在它之后")
        assert first.stop() == 0
        before = {key: digests(robot.texts()) for key, robot in robots.robots.items()}

        second = DaemonProcess(config_dir, state, now=AFTER, env=env).start()
        # Monday 09:00's weekly report also came while stopped: it goes out too, once
        second.wait_log(r"周报 \(weekly report\)：已发送 1 条，补发 \(late\)")
        assert second.stop() == 0
        after = {key: digests(robot.texts()) for key, robot in robots.robots.items()}
        assert robots.total_rejections() == 0
        bureau = robots.robot("dingtalk", "tok00madeup")
        assert bureau is not None
        weeks = [t.split("闭环周报】")[1][:10] for t in bureau.texts() if "闭环周报" in t]
        assert weeks == ["2026-11-23"]  # once, and none at the first start

    caught_up = {key: after[key] - before[key] for key in after}
    print(f"reminder digests per robot on restart after 72 h: {caught_up}")
    assert set(caught_up.values()) == {1}, caught_up
    assert len(caught_up) == len(UNITS)

    ledger = Ledger.open(default_url(state))
    try:
        rows = ledger.rows()
    finally:
        ledger.close()
    stale = "停机期间错过，已超过补发时限 (catch-up)"
    skipped = [r for r in rows if r.status == "skipped" and r.last_error == stale]
    sent_on_restart = [
        r
        for r in rows
        if r.status == "sent" and r.due_at.astimezone(SHANGHAI).isoformat() > "2026-11-21"
    ]
    print(f"skipped as stale: {len(skipped)}; sent in the catch-up digests: {len(sent_on_restart)}")
    assert skipped, "reminders older than catch_up_hours are recorded as skipped"
    assert all(r.due_at.astimezone(SHANGHAI).isoformat() < "2026-11-21T16:00" for r in skipped)
    assert sent_on_restart
