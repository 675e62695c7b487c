"""Delivery: 1,000 due reminders for 50 robots against the fake robot server.

50 units, each with its own robot (17 WeCom, 17 DingTalk signed, 16 Feishu
signed), 20 deadlines each, falling due at 20 successive instants: each robot
gets 20 digests in quick succession, exactly its 20-per-minute limit. Prints
messages sent, the robots' rejections (target 0), wall time, and the ledger's
cost per message, with each message recorded as its robot takes it (written to
the outbox before it is sent, deleted and its reminders marked sent after):
claim + write + record one at a time on a fresh file, and as the wall-time
difference against the same sender with a ledger that remembers nothing (fresh
robots, same rate limits, same rendering).

    .venv/bin/python bench/deliver.py [--robots 50] [--per-robot 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakerobot import FakeRobots

from reminders.channels import DingTalkChannel, FeishuChannel, WeComChannel
from reminders.channels.base import Channel, Outgoing
from reminders.core.model import CalendarData, Duty, Settings, Unit
from reminders.core.plan import Plan, compile_plan
from reminders.delivery import Deliverer, Reminder, reminders_between
from reminders.delivery.outbox import written
from reminders.ledger import Entry, Ledger, Message

TZ = ZoneInfo("Asia/Shanghai")
SECRET = "SECbench-secret-0000"
KINDS = ("wecom", "dingtalk", "feishu")


def make_plan(robots: int, per_robot: int) -> Plan:
    units = [
        Unit(name=f"学校{i:02d}", groups=["各校"], channels=[f"r{i:02d}"]) for i in range(robots)
    ]
    duties = []
    days = [date(2026, 3, 2) + timedelta(days=d) for d in range(per_robot * 2)]
    workdays = [d for d in days if d.weekday() < 5]
    for n in range(per_robot):
        duties.append(
            Duty.model_validate(
                {
                    "id": f"{n + 1}.1",
                    "title": f"开展第{n + 1}项安全生产检查并报送整改台账",
                    "units": ["各校"],
                    "schedule": [{"deadline": workdays[n].isoformat()}],
                    "lead_times": ["0d"],
                    "overdue_steps": [],
                }
            )
        )
    settings = Settings.model_validate({"plan_year": 2026, "send_window": {"workdays_only": False}})
    return compile_plan(settings, units, CalendarData(), duties)


def make_channels(server: FakeRobots, robots: int, tag: str) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    for i in range(robots):
        kind = KINDS[i % 3]
        key = f"{tag}-{kind}-{i:02d}"
        if kind == "wecom":
            server.add(kind, key)
            channels[f"r{i:02d}"] = WeComChannel(f"r{i:02d}", server.url(kind, key))
        elif kind == "dingtalk":
            server.add(kind, key, SECRET)
            channels[f"r{i:02d}"] = DingTalkChannel(
                f"r{i:02d}", server.url(kind, key), secret=SECRET
            )
        else:
            server.add(kind, key, SECRET)
            channels[f"r{i:02d}"] = FeishuChannel(f"r{i:02d}", server.url(kind, key), secret=SECRET)
    return channels


def uncontended(path: str, count: int) -> float:
    """Seconds per message, one at a time on a fresh file: claim its reminder, write it to
    the outbox, record it taken (what the sender does for a one-part digest)."""
    ledger = Ledger.open(f"sqlite:///{path}")
    now = datetime(2026, 3, 2, 1, 0, tzinfo=ZoneInfo("UTC"))
    start = time.perf_counter()
    for i in range(count):
        entry = Entry(f"k{i}", f"s{i}", "due", "c", "u", now)
        ledger.claim([entry], now, timedelta(minutes=5))
        part = Outgoing("【安全生产提醒】学校 · 3月2日", "- [1.1] 检查" * 20, "u", (entry.key,))
        (message,) = written("c", "markdown", [part], day="2026-03-02", digest=f"d{i}", now=now)
        ledger.store_messages([message])
        ledger.message_sent(message.id, message.completes, now)
    return (time.perf_counter() - start) / count


async def with_ledger(
    plan: Plan,
    batches: list[tuple[datetime, list[Reminder]]],
    channels: dict[str, Channel],
    ledger: Ledger,
) -> tuple[int, float]:
    async with Deliverer(ledger, channels) as deliverer:
        start = time.perf_counter()
        sent = 0
        for when, batch in batches:
            report = await deliverer.deliver(plan, batch, when)
            sent += report.messages
            if report.failed or report.dead:
                print("  failures:", report.failed[:3], report.dead[:3], file=sys.stderr)
        return sent, time.perf_counter() - start


class NoLedger(Ledger):
    """The same interface, remembering nothing: the baseline without the ledger."""

    def __init__(self) -> None:
        self.owner = "bench"

    def statuses(self, keys: Any) -> dict[str, Any]:
        return {}

    def progress(self, keys: Any) -> dict[str, Any]:
        return {}

    def claim(self, entries: Any, now: Any, lease: Any) -> list[str]:
        return [entry.key for entry in entries]

    def mark_sent(self, *args: Any, **kwargs: Any) -> None:
        pass

    def mark_failed(self, *args: Any, **kwargs: Any) -> None:
        pass

    def mark_dead(self, *args: Any, **kwargs: Any) -> None:
        pass

    def renew(self, *args: Any, **kwargs: Any) -> None:
        pass

    def extend(self, *args: Any, **kwargs: Any) -> None:
        pass

    def record_skipped(self, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def messages(self, channel: str) -> list[Message]:
        return []

    def store_messages(self, *args: Any, **kwargs: Any) -> None:
        pass

    def message_sent(self, *args: Any, **kwargs: Any) -> None:
        pass

    def drop_messages(self, *args: Any, **kwargs: Any) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--robots", type=int, default=50)
    parser.add_argument("--per-robot", type=int, default=20)
    args = parser.parse_args()
    plan = make_plan(args.robots, args.per_robot)
    reminders = reminders_between(
        plan, datetime(2026, 1, 1, tzinfo=TZ), datetime(2026, 12, 31, tzinfo=TZ)
    )
    grouped: dict[datetime, list[Reminder]] = defaultdict(list)
    for reminder in reminders:
        grouped[reminder.instant].append(reminder)
    batches = sorted(grouped.items())
    print(f"{len(reminders)} reminders for {args.robots} robots at {len(batches)} instants")

    with tempfile.TemporaryDirectory() as tmp, FakeRobots() as server:
        ledger = Ledger.open(f"sqlite:///{tmp}/ledger.sqlite3")
        channels = make_channels(server, args.robots, "a")
        sent, wall = asyncio.run(with_ledger(plan, batches, channels, ledger))
        rejections = server.total_rejections()
        received = server.total_messages()
        summary = ledger.summary()
    sent_rows = sum(c.get("sent", 0) for c in summary.values())

    with FakeRobots() as server:
        channels = make_channels(server, args.robots, "b")
        plain_sent, plain_wall = asyncio.run(with_ledger(plan, batches, channels, NoLedger()))
        plain_rejections = server.total_rejections()

    print(
        f"with ledger:    {sent} messages sent, {received} received, {rejections} rejections, "
        f"{sent_rows} ledger rows sent, wall {wall:.2f} s"
    )
    print(
        f"without ledger: {plain_sent} messages sent, {plain_rejections} rejections, "
        f"wall {plain_wall:.2f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        single = uncontended(f"{tmp}/single.sqlite3", 1000)
    print(
        f"ledger claim + outbox write + record taken, one at a time: {single * 1000:.2f} ms/message"
    )
    print(f"wall-time difference: {(wall - plain_wall) * 1000 / max(sent, 1):.2f} ms/message")
    return 0 if rejections == 0 and sent == received else 1


if __name__ == "__main__":
    sys.exit(main())
