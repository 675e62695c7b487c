"""Crash safety: the real service is SIGKILLed 20 times at random moments while it pushes.

Robots are shared by several schools (WeCom, signed DingTalk, signed Feishu), so
their digests split into parts; every school has a self-check list (长期坚持) long
enough to run over a part boundary; the bureau's robot gets the weekly report.
The unit of "sent" is the message on the wire: every reminder must arrive, and a
kill can repeat at most the messages that were on the wire when it landed, so
repeated messages ≤ `max_parallel_sends` × kills that landed mid-send. Before each
kill the test freezes the process (SIGSTOP) and counts the messages the robots have
taken that its outbox still holds: those a restart will send again.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ruamel.yaml import YAML

from reminders.config import load_config
from reminders.delivery.plan import due_at
from reminders.ledger import default_url

from .daemonproc import DaemonProcess, ledger_made_at
from .fakerobot import FakeRobots
from .robotconfig import set_delivery

KINDS = ("wecom", "dingtalk", "feishu")
ROBOTS = 9  # shared by the schools, three of each kind
PER_ROBOT = 6  # schools per robot
DEADLINES = 4  # duties due on NOW's day, per school
STANDING = 8  # 长期坚持 duties: one self-check list per school
NOW = "2026-11-20T10:00"  # a Friday: the duties fall due at 09:00, the report at 09:00
EARLY = "2026-11-20T08:00"  # the ledger is made before both
KILLS = int(os.environ.get("CRASH_KILLS", "20"))
PARALLEL = 2  # delivery.max_parallel_sends
SECRET = "SECcrash-test-secret-made-up-0001"
SWEEP = ("--sweep-seconds", "1")
ITEM = re.compile(r"^- \[([^\]]+)\]", re.MULTILINE)
TZ = ZoneInfo("Asia/Shanghai")


class SlowRobots(FakeRobots):
    """Robots that take 50-300 ms to answer, as real ones do, so kills land mid-send."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.rng = random.Random(7)
        self.rng_lock = threading.Lock()

    def handle(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        with self.rng_lock:
            pause = self.rng.uniform(0.05, 0.3)
        time.sleep(pause)
        return super().handle(path, query, headers, body)


def robot_key(index: int) -> tuple[str, str]:
    kind = KINDS[index % len(KINDS)]
    return kind, f"crash-{kind}-{index:02d}"


def write_config(config_dir: Path, robots: FakeRobots) -> dict[str, str]:
    """Schools sharing robots, the bureau on its own; templates that put each item's
    occurrence id first on its line (`- [1.2/学校003/2026-11-20] …`), so a message's
    reminders can be read back from its text whatever robot took it."""
    yaml = YAML()
    env = {"CRASH_SECRET": SECRET}
    channels: dict[str, dict[str, Any]] = {}
    units: list[dict[str, Any]] = []
    for index in range(ROBOTS + 1):
        kind, key = ("wecom", "crash-bureau") if index == ROBOTS else robot_key(index)
        name = f"robot-{index:02d}"
        secret = SECRET if kind != "wecom" else None
        robots.add(kind, key, secret)
        env[f"CRASH_KEY_{index:02d}"] = robots.url(kind, key)
        channels[name] = {"type": kind, "key_env": f"CRASH_KEY_{index:02d}"}
        if secret:
            channels[name]["secret_env"] = "CRASH_SECRET"
    units.append({"name": "教育局", "channels": [f"robot-{ROBOTS:02d}"]})
    for school in range(ROBOTS * PER_ROBOT):
        units.append(
            {
                "name": f"学校{school:03d}",
                "groups": ["各校"],
                "supervisor": "教育局",
                "channels": [f"robot-{school // PER_ROBOT:02d}"],
            }
        )
    duties: list[dict[str, Any]] = [
        {
            "id": f"1.{n}",
            "title": f"崩溃测试任务{n}：组织开展校园安全隐患排查整治并报送台账",
            "units": ["各校"],
            "time_limit": "11月20日前",
        }
        for n in range(1, DEADLINES + 1)
    ]
    duties += [
        {
            "id": f"2.{n}",
            "title": f"长期坚持事项{n}：落实安全生产“一岗双责”，定期自查整改并留存记录",
            "units": ["各校"],
            "time_limit": "长期坚持",
        }
        for n in range(1, STANDING + 1)
    ]
    templates = {
        "item": "- [$id] $text\n  截止：$due（周$weekday），$left",
        "unit_item": "- [$id] $text\n  截止：$due（周$weekday），$left",
        "review_item": "- [$id] $title",
    }
    with (config_dir / "units.yaml").open("w", encoding="utf-8") as out:
        yaml.dump({"units": units}, out)
    with (config_dir / "channels.yaml").open("w", encoding="utf-8") as out:
        yaml.dump({"templates": templates, "channels": channels}, out)
    with (config_dir / "duties.yaml").open("w", encoding="utf-8") as out:
        yaml.dump({"duties": duties}, out)
    settings = config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8")
        + '\nloop:\n  report_weekday: fri\n  report_time: "09:00"\n',
        encoding="utf-8",
    )
    set_delivery(
        config_dir,
        lease_seconds=10,
        timeout_seconds=60,
        max_parallel_sends=PARALLEL,
        review_lead_times=["41d"],  # the fourth quarter's self-check list is due on NOW's day
    )
    return env


def expected(config_dir: Path) -> set[str]:
    """What must arrive: every occurrence due at NOW (deadlines, self-check lists' duties),
    and the week's report."""
    plan = load_config(config_dir).plan
    now = datetime.fromisoformat(NOW).replace(tzinfo=TZ)
    due = {o.id for r in due_at(plan, now) for o in r.occurrences}
    return due | {"report"}


def items(text: str) -> list[str]:
    """The reminders a message carries: its items' occurrence ids, or the report."""
    return ["report"] if "闭环周报" in text else ITEM.findall(text)


def arrivals(robots: FakeRobots) -> list[tuple[float, str, list[str]]]:
    """(when, text, reminders) of every message the robots took, in order."""
    found = [
        (m["_at"], m["_text"], items(m["_text"]))
        for r in robots.robots.values()
        for m in r.messages
    ]
    return sorted(found, key=lambda arrival: arrival[0])


def on_the_wire(state: Path, robots: FakeRobots, counted: Counter[str]) -> int:
    """Messages the robots took since the last look that the frozen process's outbox still
    holds (taken, not yet recorded): what a kill now makes the next process send again.
    `counted`: how many takings of each outbox message were counted before."""
    path = default_url(state).removeprefix("sqlite:///")
    if not os.path.exists(path):
        return 0
    with sqlite3.connect(path, timeout=5) as db:
        try:
            stored = list(db.execute("SELECT id, text FROM outbox"))
        except sqlite3.OperationalError:  # not migrated yet
            return 0
    taken = [text for _, text, _ in arrivals(robots)]
    new = 0
    for message_id, text in stored:
        times = sum(text in got for got in taken)
        new += max(0, times - counted[message_id])
        counted[message_id] = max(times, counted[message_id])
    return new


def test_sigkill_twenty_times_repeats_only_what_was_on_the_wire(
    config_dir: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    rng = random.Random(20261128)
    with SlowRobots() as robots:
        env = write_config(config_dir, robots)
        wanted = expected(config_dir)
        # the bureau started before the report's time (a first start sends no report
        # for a week whose time came before the ledger was made)
        ledger_made_at(state, EARLY)
        mid_send = exposure = 0
        counted: Counter[str] = Counter()
        began = time.monotonic()

        def clock() -> str:
            """The test's time: NOW when it began, then running on across restarts."""
            moment = datetime.fromisoformat(NOW) + timedelta(seconds=time.monotonic() - began)
            return moment.isoformat(timespec="seconds")

        for _ in range(KILLS):
            daemon = DaemonProcess(config_dir, state, now=clock(), env=env, args=SWEEP)
            daemon.start(wait_ready=False)
            time.sleep(rng.uniform(0.0, 4.0))  # start-up takes about 1.5 s of that here
            assert daemon.proc is not None
            daemon.proc.send_signal(signal.SIGSTOP)  # freeze; let requests in flight land
            time.sleep(0.5)
            exposed = on_the_wire(state, robots, counted)
            assert exposed <= PARALLEL  # the wire semaphore: taken-but-unrecorded at most N
            mid_send += exposed > 0
            exposure += exposed
            daemon.kill()

        final = DaemonProcess(config_dir, state, now=clock(), env=env, args=SWEEP).start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            final.poll_notify()
            if wanted <= {i for _, _, got in arrivals(robots) for i in got}:
                break
        final.poll_notify()
        time.sleep(2)  # sweeps after the last arrival: nothing more may come
        code = final.stop()
        assert code == 0, final.log()[-3000:]

    messages = arrivals(robots)
    counts = Counter(i for _, _, got in messages for i in got)
    missing = wanted - set(counts)
    seen: set[str] = set()
    repeated = 0
    for _, _, got in messages:
        repeated += any(i in seen for i in got)
        seen.update(got)
    split = sum(1 for _, text, _ in messages if re.search(r"（\d+/\d+）", text))
    lists: dict[str, set[int]] = {}  # a school's self-check list: the messages carrying it
    for number, (_, _, got) in enumerate(messages):
        for item in got:
            if "/review-" in item:
                lists.setdefault(item.split("/", 1)[1], set()).add(number)
    lists_split = sum(len(numbers) > 1 for numbers in lists.values())
    print(
        f"\ncrash test: {len(wanted)} reminders (incl. {STANDING}-duty self-check lists and "
        f"the weekly report) for {ROBOTS + 1} robots, max_parallel_sends {PARALLEL}"
    )
    print(
        f"messages received: {len(messages)} ({split} parts of split digests; "
        f"{lists_split} self-check lists ran over two parts), "
        f"rejections: {robots.total_rejections()}"
    )
    print(f"kills: {KILLS}; mid-send kills: {mid_send} (messages on the wire: {exposure})")
    print(f"messages repeated: {repeated}; reminders missing: {len(missing)}")
    assert not missing, sorted(missing)[:10]
    assert set(counts) == wanted
    assert repeated <= exposure <= PARALLEL * mid_send
    rejected = {k: r.rejections for k, r in robots.robots.items() if r.rejections}
    assert not rejected, rejected
    assert split > ROBOTS and lists_split > 0  # kills could land between parts, mid-list
