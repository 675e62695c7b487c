"""The unit of "sent" is the message on the wire: each part of a digest is written
before it is sent and recorded as its robot takes it; a crash repeats only what was
on the wire, as itself; a part that fails permanently does not condemn the others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reminders.channels.base import Outgoing
from reminders.delivery import Deliverer
from reminders.delivery.outbox import orphans, reuse, written
from reminders.ledger import Ledger, Message

from . import test_deliver_sender as sender
from .fakerobot import FakeRobots, VirtualClock
from .test_deliver_sender import START, Rig, count, duties, make_rig

# the sender tests' fixtures: a virtual clock, the fake robots on it
clock = sender.clock
robots = sender.robots

T0 = datetime(2026, 9, 23, 2, 0, tzinfo=UTC)


def five_parts(tmp_path: Path, robots: FakeRobots, clock: VirtualClock) -> Rig:
    """Five reminders for the WeCom robot, one per message (a 600-byte limit)."""
    rig = make_rig(tmp_path, robots, clock, duties=duties(5, "检查" * 30))
    rig.deliverer.channels["wecom"].byte_limit = 600
    return rig


def answer_nth(robots: FakeRobots, nth: int, status: int, body: dict[str, Any]) -> list[int]:
    """The robot answers its `nth` WeCom request with (status, body); returns the counter."""
    seen = [0]
    real = robots.handle

    def handle(path: str, *args: Any) -> Any:
        if path == "/cgi-bin/webhook/send":
            seen[0] += 1
            if seen[0] == nth:
                return status, body
        return real(path, *args)

    robots.handle = handle  # type: ignore[method-assign]
    return seen


def test_a_permanent_failure_in_part_2_of_5_leaves_parts_3_to_5_tried(rig_parts: Rig) -> None:
    rig = rig_parts
    answer_nth(rig.robots, 2, 200, {"errcode": 40008, "errmsg": "invalid message type"})
    report = rig.run(START)
    outcome = report.channels["wecom"]
    wecom = rig.robot("wecom")
    assert len(wecom.messages) == 4 and outcome.messages == 4
    assert [m["_text"].split("\n")[0][-5:] for m in wecom.messages] == [
        "（1/5）",
        "（3/5）",
        "（4/5）",
        "（5/5）",
    ]
    assert len(outcome.dead) == 1 and len(outcome.sent) == 4
    (dead,) = rig.ledger.rows(status="dead", channel="wecom")
    assert dead.last_code == 40008 and dead.key == outcome.dead[0]
    assert rig.ledger.summary()["wecom"] == {"sent": 4, "dead": 1}
    assert rig.ledger.messages("wecom") == []  # nothing left in the outbox
    assert rig.run(START + timedelta(hours=1)).messages == 0  # dead is not retried


@pytest.fixture
def rig_parts(tmp_path: Path, robots: FakeRobots, clock: VirtualClock) -> Rig:
    return five_parts(tmp_path, robots, clock)


def test_a_robot_down_after_part_2_gets_parts_3_to_5_later_as_written(rig_parts: Rig) -> None:
    rig = rig_parts
    robot = rig.robot("wecom")
    real = rig.robots.handle
    down = [False]

    def handle(path: str, *args: Any) -> Any:
        if path == "/cgi-bin/webhook/send" and (down[0] or len(robot.messages) >= 2):
            return 502, {"error": "bad gateway"}
        return real(path, *args)

    rig.robots.handle = handle  # type: ignore[method-assign]
    first = rig.run(START)
    assert len(robot.messages) == 2 and len(first.channels["wecom"].sent) == 2
    assert len(first.channels["wecom"].failed) == 3  # left for the retry
    stored = rig.ledger.messages("wecom")
    assert [(m.part, m.parts) for m in stored] == [(3, 5), (4, 5), (5, 5)]
    rig.robots.handle = real  # type: ignore[method-assign]
    later = rig.run(START + timedelta(hours=1))
    assert len(later.sent) == 3
    texts = [m["_text"] for m in robot.messages]
    assert [t.split("\n")[0][-5:] for t in texts] == [f"（{i}/5）" for i in range(1, 6)]
    assert [t.split("\n", 1)[1] for t in texts[2:]] == [m.text for m in stored]  # as written
    assert all(count("\n".join(texts), f"{i}.1") == 1 for i in range(1, 6))
    assert rig.ledger.messages("wecom") == []


def test_a_crash_between_a_send_and_its_record_repeats_that_one_message(
    tmp_path: Path, robots: FakeRobots, clock: VirtualClock
) -> None:
    """Process A dies with part 2 on the wire (taken by the robot, not recorded); B takes
    the claims over when the lease runs out and sends parts 2..5 as A wrote them."""
    rig = five_parts(tmp_path, robots, clock)
    robot = rig.robot("wecom")
    crashed = {"after": 2}
    real_sent = rig.ledger.message_sent

    def dies_on_second(message_id: str, completes: Any, now: datetime) -> None:
        if any(key.endswith(">wecom") for key in completes):
            crashed["after"] -= 1
        if crashed["after"] == 0:
            raise SystemExit("killed")  # as a SIGKILL: nothing after the send is recorded
        real_sent(message_id, completes, now)

    rig.ledger.message_sent = dies_on_second  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        rig.run(START)
    assert len(robot.messages) == 2
    lease = rig.plan.settings.delivery.lease_seconds
    other = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", owner="process-b")
    b = Deliverer(other, rig.channels, clock=clock, sleep=clock.sleep, rng=lambda: 0.5)
    soon = START + timedelta(seconds=lease / 2)
    clock.set(soon.timestamp())
    assert asyncio.run(b.deliver_due(rig.plan, soon)).channels.get("wecom") is None  # A's lease
    later = START + timedelta(seconds=lease + 1)
    clock.set(later.timestamp())
    outcome = asyncio.run(b.deliver_due(rig.plan, later)).channels["wecom"]
    assert outcome.messages == 4 and len(outcome.sent) == 4
    texts = [m["_text"] for m in robot.messages]
    assert len(texts) == 6
    assert texts[2] == texts[1]  # the one on the wire, repeated as itself
    assert len(set(texts)) == 5  # and nothing else twice
    assert other.summary()["wecom"] == {"sent": 5}
    assert other.messages("wecom") == []


# -- the pure choice ---------------------------------------------------------------
def msgs(*parts: tuple[str, ...], day: str = "2026-09-23", digest: str = "d") -> list[Message]:
    outgoing = [
        Outgoing(f"t{i}", f"x{i}", "", keys, i + 1, len(parts)) for i, keys in enumerate(parts)
    ]
    return written("c", "markdown", outgoing, day=day, digest=digest, now=T0)


def everything(message: Message) -> bool:
    return True


def test_written_marks_what_each_message_completes_and_continues() -> None:
    a, b, c = msgs(("k1", "k2"), ("k2",), ("k2", "k3"))
    assert (a.completes, a.continues) == (("k1",), ())
    assert (b.completes, b.continues) == ((), ("k2",))
    assert (c.completes, c.continues) == (("k2", "k3"), ("k2",))


def test_reuse_the_same_day_and_write_afresh_on_another() -> None:
    stored = msgs(("k1",), ("k2",))
    same = reuse(stored, {"k1", "k2"}, "2026-09-23", everything)
    assert [m.id for m in same.send] == ["d/1", "d/2"] and same.covered == {"k1", "k2"}
    later = reuse(stored, {"k1", "k2"}, "2026-09-24", everything)  # "还有 3 天" is stale
    assert later.send == [] and later.drop == ["d/1", "d/2"]
    ageless = reuse(msgs(("r",), day=""), {"r"}, "2027-01-01", everything)
    assert [m.id for m in ageless.send] == ["d/1"]


def test_a_list_whose_first_part_was_taken_is_finished_as_written_even_days_later() -> None:
    _, second, third = msgs(("k1", "list"), ("list",), ("list", "k3"))
    kept = reuse([second, third], {"list", "k3"}, "2026-09-30", everything)
    assert kept.send == [second, third] and kept.drop == []


def test_messages_sharing_a_delivery_are_kept_or_dropped_together() -> None:
    stored = msgs(("k1", "list"), ("list",), ("k9",))
    # k1 is no longer ours to send (done meanwhile): both parts of the list go afresh
    mixed = reuse(stored, {"list", "k9"}, "2026-09-23", everything)
    assert mixed.drop == ["d/1", "d/2"] and [m.id for m in mixed.send] == ["d/3"]
    # a part that no longer fits the channel (its limit or format changed)
    too_big = reuse(stored, {"k1", "list", "k9"}, "2026-09-23", lambda m: m.id != "d/2")
    assert too_big.drop == ["d/1", "d/2"] and too_big.covered == {"k9"}
    # not claimed in this run at all: left alone
    assert reuse(stored, {"other"}, "2026-09-23", everything).drop == []


def test_orphans_are_messages_whose_deliveries_are_all_settled() -> None:
    stored = msgs(("k1",), ("k2", "k3"))
    statuses = {"k1": "skipped", "k2": "sent", "k3": "failed"}
    assert orphans(stored, statuses) == ["d/1"]
