"""The weekly report is a deliverable like any reminder: the real service retries it after
a robot's 502 window, takes it over from a process killed while it waited, and sends it
once; the reminders' retry and lease rules, no special case."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from reminders.ledger import Ledger, default_url

from .daemonproc import DaemonProcess, ledger_made_at
from .fakerobot import FakeRobots
from .robotconfig import set_delivery, wire_dingtalk

MONDAY = "2026-11-30T09:30"  # the report's time, 09:00, has just passed
BEFORE = "2026-11-27T17:00"  # the bureau started before it: the report is owed
BUREAU = ("dingtalk", "tok00madeup")
SWEEP = ("--sweep-seconds", "1")


class ReportRobots(FakeRobots):
    """Counts the requests that carry a weekly report; `down` answers them all 502."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.report_tries = 0
        self.down = False

    def handle(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        if "闭环周报".encode() in body:
            self.report_tries += 1
        if self.down and path == "/robot/send" and "tok00madeup" in str(query):
            return 502, {"error": "bad gateway"}
        return super().handle(path, query, headers, body)

    def reports(self) -> int:
        return sum("闭环周报" in text for text in self.robots[BUREAU].texts())


def wait(daemon: DaemonProcess, condition: Callable[[], bool], timeout: float = 40.0) -> None:
    """Until `condition`, reading the daemon's notify messages meanwhile (a sweep a second
    sends a STATUS each: unread, they would fill the socket and block the service)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out:\n{daemon.log()[-3000:]}"
        daemon.poll_notify()


def pause(daemon: DaemonProcess, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    wait(daemon, lambda: time.monotonic() > deadline)


def report_row(state: Path) -> tuple[str, int]:
    ledger = Ledger.open(default_url(state))
    try:
        (row,) = [r for r in ledger.rows(step="weekly")]
        return row.status, row.attempts
    finally:
        ledger.close()


def test_a_report_refused_for_a_while_is_retried_until_it_goes_out(
    config_dir: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    with ReportRobots() as robots:
        env = wire_dingtalk(config_dir, robots)
        set_delivery(config_dir, attempts_per_run=2, retry_base_seconds=1, retry_max_seconds=2)
        robots.down = True
        ledger_made_at(state, BEFORE)
        daemon = DaemonProcess(config_dir, state, now=MONDAY, env=env, args=SWEEP).start()
        # the run's own tries, then later wake-ups' tries: the report is not given up
        wait(daemon, lambda: robots.report_tries >= 5)
        assert robots.reports() == 0 and report_row(state)[0] in ("failed", "claimed")
        robots.down = False
        wait(daemon, lambda: robots.reports() == 1)
        pause(daemon, 3)  # more sweeps: still once
        assert daemon.stop() == 0
    assert robots.reports() == 1
    status, attempts = report_row(state)
    assert status == "sent" and attempts >= 5
    assert "周报 (weekly report) report/2026-W49 已发给 教育局" in daemon.log()


def test_a_report_waiting_for_its_retry_survives_a_kill(config_dir: Path, tmp_path: Path) -> None:
    """Killed while the report waits between tries (its row claimed): the next process
    takes it over when the lease runs out and sends it, once."""
    state = tmp_path / "state"
    with ReportRobots() as robots:
        env = wire_dingtalk(config_dir, robots)
        set_delivery(
            config_dir,
            attempts_per_run=3,
            retry_base_seconds=5,
            retry_max_seconds=10,
            lease_seconds=10,
        )
        robots.down = True
        ledger_made_at(state, BEFORE)
        started = time.monotonic()
        first = DaemonProcess(config_dir, state, now=MONDAY, env=env, args=SWEEP).start()
        wait(first, lambda: robots.report_tries >= 1)  # refused once: now 5 s to the next try
        pause(first, 0.5)
        assert report_row(state)[0] == "claimed"
        first.kill()
        robots.down = False
        began = time.monotonic()
        # the service's clock runs on across the restart, as a real one does
        resumed = datetime.fromisoformat(MONDAY) + timedelta(seconds=began - started)
        second = DaemonProcess(
            config_dir, state, now=resumed.isoformat(timespec="seconds"), env=env, args=SWEEP
        ).start()
        wait(second, lambda: robots.reports() == 1)
        waited = time.monotonic() - began
        pause(second, 3)
        assert second.stop() == 0
    assert robots.reports() == 1
    assert report_row(state)[0] == "sent"
    print(f"\nreport taken over and sent {waited:.1f} s after the restart (lease 10 s)")
