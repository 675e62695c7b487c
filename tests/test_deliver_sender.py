"""The sender against the fake robots: once and only once, under failures and rate limits."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reminders.channels import (
    DingTalkChannel,
    FeishuChannel,
    LogChannel,
    WebhookChannel,
    WeComChannel,
)
from reminders.channels.base import Channel
from reminders.core.plan import Plan
from reminders.delivery import Deliverer, DeliveryReport
from reminders.ledger import Ledger

from .fakerobot import FakeRobots, VirtualClock
from .test_deliver_plan import at, make_plan

WECOM_KEY = "wk-sender-test-key-0001"
DING_TOKEN = "dt-sender-test-token-0002"
DING_SECRET = "SECsender-test-secret-0003"
FEISHU_TOKEN = "fs-sender-test-hook-0004"
FEISHU_SECRET = "fs-sender-test-secret-0005"
HOOK_SECRET = "hook-sender-test-secret-0006"
SECRETS = (WECOM_KEY, DING_TOKEN, DING_SECRET, FEISHU_TOKEN, FEISHU_SECRET, HOOK_SECRET)

UNITS = [
    ("教育局", ["wecom"]),
    ("县第一中学", ["ding"]),
    ("县第二中学", ["feishu"]),
    ("县实验小学", ["hook"]),
]
ROBOTS = {
    "wecom": ("wecom", WECOM_KEY),
    "ding": ("dingtalk", DING_TOKEN),
    "feishu": ("feishu", FEISHU_TOKEN),
    "hook": ("webhook", "school"),
}


def duties(count: int = 3, title: str = "开展安全检查") -> list[dict[str, Any]]:
    return [
        {
            "id": f"{i}.1",
            "title": f"{title}{i}",
            "units": ["教育局", "各校"],
            "time_limit": "9月底前完成",
        }
        for i in range(1, count + 1)
    ]


@dataclass
class Rig:
    robots: FakeRobots
    clock: VirtualClock
    ledger: Ledger
    channels: dict[str, Channel]
    deliverer: Deliverer
    plan: Plan

    def run(self, when: datetime, completions: Sequence[str] = ()) -> DeliveryReport:
        self.clock.set(when.timestamp())
        return asyncio.run(self.deliverer.deliver_due(self.plan, when, completions))

    def robot(self, channel: str) -> Any:
        return self.robots.robots[ROBOTS[channel]]

    def texts(self, channel: str) -> str:
        return "\n".join(self.robot(channel).texts())


def build_channels(robots: FakeRobots, clock: VirtualClock) -> dict[str, Channel]:
    return {
        "log": LogChannel("log"),
        "wecom": WeComChannel("wecom", robots.url("wecom", WECOM_KEY), clock=clock),
        "ding": DingTalkChannel(
            "ding", robots.url("dingtalk", DING_TOKEN), secret=DING_SECRET, clock=clock
        ),
        "feishu": FeishuChannel(
            "feishu", robots.url("feishu", FEISHU_TOKEN), secret=FEISHU_SECRET, clock=clock
        ),
        "hook": WebhookChannel(
            "hook", robots.url("webhook", "school"), secret=HOOK_SECRET, clock=clock
        ),
    }


def make_rig(tmp_path: Path, robots: FakeRobots, clock: VirtualClock, **settings: Any) -> Rig:
    plan = make_plan(
        units=UNITS,
        duties=settings.pop("duties", duties()),
        delivery={"timeout_seconds": 0.3, **settings},
    )
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    channels = build_channels(robots, clock)
    deliverer = Deliverer(ledger, channels, clock=clock, sleep=clock.sleep, rng=lambda: 0.5)
    return Rig(robots, clock, ledger, channels, deliverer, plan)


START = at("2026-09-23", "10:00")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START.timestamp())


@pytest.fixture
def robots(clock: VirtualClock) -> Iterator[FakeRobots]:
    with FakeRobots(clock=clock.server, hang=2.0) as server:
        server.add("wecom", WECOM_KEY)
        server.add("dingtalk", DING_TOKEN, DING_SECRET)
        server.add("feishu", FEISHU_TOKEN, FEISHU_SECRET)
        server.add("webhook", "school", HOOK_SECRET)
        yield server


@pytest.fixture
def rig(tmp_path: Path, robots: FakeRobots, clock: VirtualClock) -> Rig:
    return make_rig(tmp_path, robots, clock)


def count(text: str, duty: str) -> int:
    return len(re.findall(rf"\[{re.escape(duty)}\]", text))


def test_one_digest_per_robot_and_never_twice(rig: Rig) -> None:
    report = rig.run(START)
    assert report.messages == 4 and len(report.sent) == 12
    for channel in ROBOTS:
        robot = rig.robot(channel)
        assert len(robot.messages) == 1 and robot.rejections == []
        for duty in ("1.1", "2.1", "3.1"):
            assert count(rig.texts(channel), duty) == 1
    assert "还有 7 天" in rig.texts("wecom")
    again = rig.run(START + timedelta(hours=1))
    assert again.messages == 0 and again.already == 12
    assert rig.ledger.summary() == {c: {"sent": 3} for c in ROBOTS}


def test_outside_the_send_window_nothing_is_sent(rig: Rig) -> None:
    assert rig.run(at("2026-09-23", "20:00")).outside_window
    assert rig.run(at("2026-09-26", "10:00")).outside_window  # Saturday
    assert rig.robots.total_messages() == 0


def test_done_occurrences_are_not_sent(rig: Rig) -> None:
    report = rig.run(START, completions=["1.1/教育局/2026-09-30"])
    assert count(rig.texts("wecom"), "1.1") == 0 and count(rig.texts("wecom"), "2.1") == 1
    assert len(report.sent) == 11


def test_marking_done_stops_retries_of_a_failed_reminder(rig: Rig) -> None:
    rig.robot("ding").fail("502")
    assert len(rig.run(START).failed) == 3
    rig.robot("ding").fail(None)
    done = ["1.1/县第一中学/2026-09-30"]
    later = rig.run(START + timedelta(hours=2), completions=done)
    assert len(later.sent) == 2 and count(rig.texts("ding"), "1.1") == 0
    row = rig.ledger.statuses(["1.1/县第一中学/2026-09-30@before-7d>ding"])
    assert row["1.1/县第一中学/2026-09-30@before-7d>ding"].status == "skipped"
    assert row["1.1/县第一中学/2026-09-30@before-7d>ding"].last_error == (
        "事项已办结或免除，不再发送 (done)"
    )


@pytest.mark.parametrize(
    ("mode", "code"),
    [("502", 0), ("hang", 0), ("drop", 0), ("errcode", 45009), ("errcode", -1)],
)
def test_a_failing_robot_recovers_and_never_delays_the_others(
    rig: Rig, mode: str, code: int
) -> None:
    wecom = rig.robot("wecom")
    wecom.fail(mode, code, "system busy")
    first = rig.run(START)
    # the other robots were served on time, at the run's start, while wecom was failing
    for channel in ("ding", "feishu", "hook"):
        assert first.channels[channel].first_sent_at == START.timestamp()
        assert len(rig.robot(channel).messages) == 1
    assert len(first.channels["wecom"].failed) == 3 and wecom.messages == []
    assert first.channels["wecom"].attempts == 3

    still = rig.run(START + timedelta(minutes=5))  # still failing, minutes later
    assert still.messages == 0 and len(still.failed) == 3

    wecom.fail(None)
    waiting = rig.run(START + timedelta(minutes=6))
    assert waiting.messages == 0 and waiting.waiting == 3  # backoff not over yet
    later = rig.run(START + timedelta(minutes=30))
    assert later.messages == 1 and len(later.sent) == 3
    for channel in ROBOTS:
        assert len(rig.robot(channel).messages) == 1
        for duty in ("1.1", "2.1", "3.1"):
            assert count(rig.texts(channel), duty) == 1
    row = rig.ledger.statuses(["1.1/教育局/2026-09-30@before-7d>wecom"])
    assert row["1.1/教育局/2026-09-30@before-7d>wecom"].attempts == 7


def test_connection_refused_then_the_robot_comes_back(
    tmp_path: Path, robots: FakeRobots, clock: VirtualClock
) -> None:
    gone = FakeRobots(clock=clock.server)
    port = gone.port
    gone.httpd.server_close()
    rig = make_rig(tmp_path, robots, clock)
    rig.deliverer.channels["wecom"] = WeComChannel(
        "wecom", f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key={WECOM_KEY}", clock=clock
    )
    first = rig.run(START)
    assert len(first.failed) == 3 and len(first.sent) == 9
    assert (first.channels["wecom"].error or "").startswith("wecom：网络错误 (network error)：")
    with FakeRobots(port, clock=clock.server) as back:
        back.add("wecom", WECOM_KEY)
        later = rig.run(START + timedelta(minutes=30))
        assert len(later.sent) == 3
        assert len(back.robots[("wecom", WECOM_KEY)].messages) == 1


def test_permanent_error_is_dead_with_the_robots_message(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.robots.robots.pop(ROBOTS["wecom"])  # the robot was removed from the group: 93000
    caplog.set_level(logging.ERROR, "reminders.delivery")
    report = rig.run(START)
    # the log line names the robot once, then the robot's error
    (line,) = [r.getMessage() for r in caplog.records if "(dead)" in r.getMessage()]
    assert line == (
        "wecom：3 条提醒放弃发送 (dead)：机器人返回错误 (robot error) 93000："
        "invalid webhook url, hint: [x]"
    )
    assert len(report.dead) == 3 and report.channels["wecom"].attempts == 1
    rows = rig.ledger.rows(status="dead")
    assert {r.last_code for r in rows} == {93000}
    assert "invalid webhook url" in (rows[0].last_error or "")
    # Chinese first, the robot's own code and words verbatim
    assert rows[0].last_error == (
        "wecom：机器人返回错误 (robot error) 93000：invalid webhook url, hint: [x]"
    )
    rig.robots.add("wecom", WECOM_KEY)
    assert rig.run(START + timedelta(hours=1)).messages == 0  # dead is not retried


def test_rate_limit_is_enforced_before_sending(
    tmp_path: Path, robots: FakeRobots, clock: VirtualClock
) -> None:
    rig = make_rig(tmp_path, robots, clock, duties=duties(25, "检查" * 30), lease_seconds=30)
    channel = rig.deliverer.channels["wecom"]
    channel.byte_limit = 600  # about one item per message: 25 messages to one robot
    report = rig.run(START)
    wecom = rig.robot("wecom")
    assert report.channels["wecom"].messages == len(wecom.messages) >= 21
    assert wecom.rejections == []
    times = [m["_at"] for m in wecom.messages]
    for i in range(len(times) - 20):
        assert times[i + 20] - times[i] >= 60
    assert all(count(rig.texts("wecom"), f"{i}.1") == 1 for i in range(1, 26))
    # the digest took over a minute, longer than the 30 s lease: the lease was kept alive
    assert rig.ledger.summary()["wecom"] == {"sent": 25}


def test_wecom_45009_waits_a_minute_and_recovers(rig: Rig) -> None:
    wecom = rig.robot("wecom")
    wecom.sent_times.extend([rig.clock.server()] * 20)  # someone else used the minute
    report = rig.run(START)
    assert wecom.rejections == [45009]
    assert len(wecom.messages) == 1 and len(report.channels["wecom"].sent) == 3
    assert 60 in rig.clock.slept


def test_dingtalk_block_is_respected_for_ten_minutes(rig: Rig) -> None:
    ding = rig.robot("ding")
    ding.sent_times.extend([rig.clock.server()] * 20)
    first = rig.run(START)
    assert ding.rejections == [130101] and len(first.channels["ding"].failed) == 3
    assert len(rig.robot("wecom").messages) == 1  # others on time
    retry = rig.ledger.next_retry_at()
    assert retry is not None and retry >= START + timedelta(seconds=600)
    assert rig.deliverer.next_wakeup(rig.plan, (), START) == START + timedelta(seconds=600)
    assert rig.deliverer.next_wakeup(rig.plan, (), START + timedelta(minutes=11)) == at(
        "2026-09-25"
    )  # a retry already due is not a reason to wake up again at once: the next reminder is
    assert rig.run(START + timedelta(minutes=5)).waiting == 3
    assert ding.rejections == [130101]  # no hammering while blocked
    later = rig.run(START + timedelta(minutes=11))
    assert len(later.sent) == 3 and len(ding.messages) == 1


def test_a_robot_still_blocked_is_not_tried_and_its_rows_wait(rig: Rig) -> None:
    ding = rig.channels["ding"]
    rig.clock.set(START.timestamp())
    rig.deliverer.limiter(ding, rig.plan.settings.delivery).block(rig.clock() + 300)
    report = rig.run(START)
    assert len(report.channels["ding"].failed) == 3 and rig.robot("ding").messages == []
    assert report.channels["ding"].error == "ding：机器人被限流，等待 300 秒 (robot blocked)"
    rows = rig.ledger.rows(status="failed")
    assert {r.last_error for r in rows} == {report.channels["ding"].error}
    retry = rig.ledger.next_retry_at()
    assert retry is not None and retry >= START + timedelta(seconds=300)


@pytest.mark.parametrize("channel", ["wecom", "ding", "feishu"])
def test_oversize_digest_is_split_and_accepted(
    tmp_path: Path, robots: FakeRobots, clock: VirtualClock, channel: str
) -> None:
    rig = make_rig(tmp_path, robots, clock, duties=duties(40, "安全生产🚒检查" * 40))
    report = rig.run(START)
    robot = rig.robot(channel)
    assert robot.rejections == [] and len(robot.messages) > 1
    assert report.channels[channel].messages == len(robot.messages)
    parts = [m["_text"] for m in robot.messages]
    assert all(f"（{i + 1}/{len(parts)}）" in part for i, part in enumerate(parts))
    for i in range(1, 41):
        assert count(rig.texts(channel), f"{i}.1") == 1


def test_catch_up_sends_the_latest_step_once(rig: Rig) -> None:
    # down from before 09-23 until 09-28: the 7-day and 3-workday reminders were missed
    report = rig.run(at("2026-09-28", "10:00"))
    assert report.messages == 4 and len(report.sent) == 12 and len(report.skipped) == 12
    assert "还有 2 天" in rig.texts("wecom") and count(rig.texts("wecom"), "1.1") == 1
    skipped = rig.ledger.rows(status="skipped")
    assert {r.step for r in skipped} == {"before-7d"}
    assert {r.last_error for r in skipped} == {"被后一步提醒取代 (superseded)"}


def test_catch_up_older_than_the_limit_is_only_logged(
    tmp_path: Path, robots: FakeRobots, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    rig = make_rig(tmp_path, robots, clock, catch_up_hours=24)
    caplog.set_level(logging.WARNING, "reminders.delivery")
    report = rig.run(at("2026-09-29", "10:00"))
    assert report.messages == 0 and len(report.skipped) == 24
    assert "早于补发时限 (catch-up limit)" in caplog.text
    reasons = {r.last_error for r in rig.ledger.rows(status="skipped")}
    assert reasons == {"停机期间错过，已超过补发时限 (catch-up)", "被后一步提醒取代 (superseded)"}
    assert rig.run(at("2026-09-30", "10:00")).messages == 4  # the due-day reminder goes out


def test_two_senders_on_one_ledger_send_each_reminder_once(
    tmp_path: Path, robots: FakeRobots, clock: VirtualClock
) -> None:
    rig = make_rig(tmp_path, robots, clock)
    other_ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    other = Deliverer(other_ledger, build_channels(robots, clock), clock=clock, sleep=clock.sleep)

    async def both() -> list[DeliveryReport]:
        return list(
            await asyncio.gather(
                rig.deliverer.deliver_due(rig.plan, START),
                other.deliver_due(rig.plan, START),
            )
        )

    clock.set(START.timestamp())
    reports = asyncio.run(both())
    assert sum(len(r.sent) for r in reports) == 12
    assert robots.total_messages() == 4


def test_no_secret_in_logs_errors_reports_or_ledger(
    tmp_path: Path, robots: FakeRobots, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rig = make_rig(tmp_path, robots, clock)
    rig.robot("wecom").fail("502")
    rig.robot("hook").fail("hang")
    rig.deliverer.channels["ding"] = DingTalkChannel(
        "ding", rig.robots.url("dingtalk", DING_TOKEN), secret=DING_SECRET + "x", clock=clock
    )
    rig.robots.robots.pop(ROBOTS["feishu"])
    report = rig.run(START)
    assert len(report.failed) == 6 and len(report.dead) == 6
    evidence = [
        caplog.text,
        json.dumps(report.as_json(), ensure_ascii=False),
        *(str(o.error) for o in report.channels.values()),
        *(repr(c) for c in rig.deliverer.channels.values()),
        *(json.dumps(r.as_json(), ensure_ascii=False) for r in rig.ledger.rows()),
        (tmp_path / "ledger.sqlite3").read_bytes().decode("utf-8", "replace"),
    ]
    assert any("310000" in text for text in evidence)
    for text in evidence:
        for secret in SECRETS:
            assert secret not in text
            assert secret.replace("+", "%2B") not in text


@pytest.mark.parametrize("channel", ["feishu", "hook"])
def test_feishu_and_webhook_rate_limits_recover(rig: Rig, channel: str) -> None:
    robot = rig.robot(channel)
    robot.sent_times.extend([rig.clock.server()] * 20)  # the minute is used up elsewhere
    report = rig.run(START)
    assert set(robot.rejections) == {9499 if channel == "feishu" else 429}
    assert len(robot.rejections) <= 2  # backoff, not hammering
    assert len(robot.messages) == 1 and len(report.channels[channel].sent) == 3


def test_messages_carry_the_full_task_text(
    tmp_path: Path, robots: FakeRobots, clock: VirtualClock
) -> None:
    long = [
        {**duty, "text": f"{duty['title']}，并于月底前将整改台账报送县教育局安全股。"}
        for duty in duties(1)
    ]
    rig = make_rig(tmp_path, robots, clock, duties=long)
    rig.run(START)
    assert "整改台账报送县教育局安全股" in rig.texts("wecom")
