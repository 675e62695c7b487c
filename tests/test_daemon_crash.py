"""Crash safety: the real daemon is SIGKILLed 20 times while pushing 500 reminders.

Every reminder must arrive; a reminder may arrive twice only if the kill caught
it claimed but not yet marked sent (sent, answer not yet recorded). The test
freezes the process (SIGSTOP) before each kill to read that exposure exactly.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reminders.ledger import default_url

from .daemonproc import DaemonProcess
from .fakerobot import FakeRobots
from .robotconfig import set_delivery

SCHOOLS = 100
DUTIES = 5
NOW = "2026-11-20T10:00"  # the duties below fall due at 09:00 that day
KILLS = int(os.environ.get("CRASH_KILLS", "20"))
SECRET = "whsec-made-up-for-tests"
SWEEP = ("--sweep-seconds", "1")


class SlowRobots(FakeRobots):
    """Robots that take 50-300 ms to answer, as real ones do, so kills land mid-send."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.rng = random.Random(7)

    def handle(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        time.sleep(self.rng.uniform(0.05, 0.3))
        return super().handle(path, query, headers, body)


def write_config(config_dir: Path, robots: FakeRobots) -> dict[str, str]:
    yaml = YAML()
    units: list[dict[str, Any]] = [{"name": "教育局", "channels": []}]
    channels: dict[str, dict[str, str]] = {}
    for i in range(SCHOOLS):
        name = f"hook-{i:03d}"
        robots.add("webhook", f"h{i:03d}", SECRET)
        channels[name] = {
            "type": "webhook",
            "url": robots.url("webhook", f"h{i:03d}"),
            "secret_env": "TEST_HOOK_SECRET",
        }
        units.append(
            {"name": f"学校{i:03d}", "groups": ["各校"], "supervisor": "教育局", "channels": [name]}
        )
    duties = [
        {"id": f"1.{n}", "title": f"崩溃测试任务{n}", "units": ["各校"], "time_limit": "11月20日前"}
        for n in range(1, DUTIES + 1)
    ]
    with (config_dir / "units.yaml").open("w", encoding="utf-8") as out:
        yaml.dump({"units": units}, out)
    with (config_dir / "channels.yaml").open("w", encoding="utf-8") as out:
        yaml.dump({"channels": channels}, out)
    with (config_dir / "duties.yaml").open("w", encoding="utf-8") as out:
        yaml.dump({"duties": duties}, out)
    # One message on the wire at a time: a kill can then repeat at most one message.
    set_delivery(config_dir, lease_seconds=10, timeout_seconds=60, max_parallel_sends=1)
    return {"TEST_HOOK_SECRET": SECRET}


def claimed_by(state: Path, pid: int) -> int:
    """Reminders this process has claimed and not yet marked: what a kill could repeat."""
    path = default_url(state).removeprefix("sqlite:///")
    if not os.path.exists(path):
        return 0
    with sqlite3.connect(path, timeout=5) as db:
        try:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM deliveries WHERE status = 'claimed' AND lease_owner LIKE ?",
                (f"%:{pid}:%",),
            ).fetchone()
        except sqlite3.OperationalError:  # not migrated yet
            return 0
    return int(count)


def repeated_messages(robots: FakeRobots) -> int:
    """Messages whose reminders had all arrived already: the repeats a crash caused."""
    seen: set[str] = set()
    repeats = 0
    messages = [m for r in robots.robots.values() for m in r.messages]
    for message in sorted(messages, key=lambda m: m["_at"]):
        keys = {key.split("@", 1)[0] for key in message["keys"]}
        if keys <= seen:
            repeats += 1
        seen |= keys
    return repeats


def received(robots: FakeRobots) -> Counter[str]:
    """How many times each reminder (its occurrence id) reached a robot."""
    seen: Counter[str] = Counter()
    for robot in robots.robots.values():
        for message in robot.messages:
            for key in message["keys"]:
                seen[key.split("@", 1)[0]] += 1
    return seen


def test_sigkill_twenty_times_loses_nothing(config_dir: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    rng = random.Random(20261128)
    with SlowRobots() as robots:
        env = write_config(config_dir, robots)
        expected = {
            f"1.{n}/学校{i:03d}/2026-11-20" for i in range(SCHOOLS) for n in range(1, DUTIES + 1)
        }
        mid_send = exposure = 0
        began = time.monotonic()

        def clock() -> str:
            """The test's time: NOW when it began, then running on across restarts."""
            moment = datetime.fromisoformat(NOW) + timedelta(seconds=time.monotonic() - began)
            return moment.isoformat(timespec="seconds")

        for _ in range(KILLS):
            daemon = DaemonProcess(config_dir, state, now=clock(), env=env, args=SWEEP)
            daemon.start(wait_ready=False)
            daemon.wait_log(r"serving \d+ feeds")  # start-up done; the catch-up run begins
            time.sleep(rng.uniform(0.0, 1.5))
            assert daemon.proc is not None
            daemon.proc.send_signal(signal.SIGSTOP)  # freeze, then read what a kill would cut
            exposed = claimed_by(state, daemon.proc.pid)
            if exposed:
                mid_send += 1
            exposure += exposed
            daemon.kill()

        final = DaemonProcess(config_dir, state, now=clock(), env=env, args=SWEEP).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not expected <= set(received(robots)):
            time.sleep(0.2)
        code = final.stop()
        assert code == 0, final.log()[-3000:]

        counts = received(robots)
        missing = expected - set(counts)
        duplicates = sum(n - 1 for n in counts.values())
        messages = sum(len(r.messages) for r in robots.robots.values())
        repeats = repeated_messages(robots)
        print(f"\ncrash test: {len(expected)} reminders to {SCHOOLS} robots, {KILLS} SIGKILLs")
        print(f"kills that landed mid-send: {mid_send}, holding {exposure} unmarked claims")
        print(f"messages received: {messages}, rejections: {robots.total_rejections()}")
        print(f"reminders missing: {len(missing)}; repeated messages: {repeats}")
        assert not missing, sorted(missing)[:10]
        assert set(counts) == expected
        assert duplicates <= exposure
        assert repeats <= mid_send  # at most the one message on the wire per kill
        assert robots.total_rejections() == 0
