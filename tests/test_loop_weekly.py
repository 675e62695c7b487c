"""The weekly report goes to the supervising unit's robot once a week, whatever restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reminders.closedloop import Loop, LoopStore
from reminders.closedloop.weekly import _fit, report_times, report_units, send_weekly_report
from reminders.config import load_config
from reminders.delivery import deliverer_from_config
from reminders.ledger import Entry, Ledger

from .fakerobot import FakeRobots
from .robotconfig import wire_dingtalk

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)


def test_weekly_report_once_per_week(config_dir: Path, tmp_path: Path) -> None:
    with FakeRobots() as robots:
        env = wire_dingtalk(config_dir, robots)
        config = load_config(config_dir)
        assert report_units(config.plan) == ["教育局"]
        ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        store = LoopStore.of(ledger)
        loop = Loop(store, lambda: config.plan)
        loop.act("1.2/县第一中学/2026-11-30", "done", MONDAY - timedelta(days=1), by="王")
        deliverer = deliverer_from_config(config, ledger, env)

        async def run(now: datetime) -> int:
            return await send_weekly_report(deliverer, loop, now)

        assert asyncio.run(run(MONDAY)) == 1
        assert asyncio.run(run(MONDAY + timedelta(hours=2))) == 0  # same week: not again
        bureau = robots.robot("dingtalk", "tok00madeup")
        assert bureau is not None
        (text,) = bureau.texts()
        assert "县第一中学：按时完成 1" in text and "逾期最久" in text
        assert all(not r.messages for k, r in robots.robots.items() if k[1] != "tok00madeup")
        assert asyncio.run(run(MONDAY + timedelta(days=7))) == 1
        assert ledger.summary()["ding-00"] == {"sent": 2}
        asyncio.run(deliverer.aclose())


def test_report_to_setting(config_dir: Path) -> None:
    path = config_dir / "settings.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + "\nloop:\n  report_to: [县第一中学]\n", encoding="utf-8"
    )
    assert report_units(load_config(config_dir).plan) == ["县第一中学"]


def test_long_reports_are_cut_between_lines() -> None:
    text = "\n".join(f"- 第{i}行" for i in range(1000))
    cut = _fit(text, 500)
    assert len(cut.encode()) <= 500 and cut.endswith("reminders report）")
    assert _fit("短", 500) == "短"


def test_done_stops_retries_of_a_failed_escalation(config_dir: Path, tmp_path: Path) -> None:
    from reminders.delivery import channels_from_config
    from reminders.delivery.sender import Deliverer

    thursday = datetime(2026, 12, 3, 9, 30, tzinfo=TZ)  # 3 workdays after 11-30
    occ = "1.2/县第一中学/2026-11-30"
    with FakeRobots() as robots:
        env = wire_dingtalk(config_dir, robots)
        config = load_config(config_dir)
        ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        loop = Loop(LoopStore.of(ledger), lambda: config.plan)
        bureau = robots.robot("dingtalk", "tok00madeup")
        assert bureau is not None
        bureau.fail("502")

        async def no_wait(seconds: float) -> None:
            return None

        deliverer = Deliverer(
            ledger, channels_from_config(config, env), sleep=no_wait, max_wait_in_run=0.0
        )
        plan = config.plan

        def escalations() -> list[str]:
            return [r.status for r in ledger.rows() if r.key.startswith(f"escalate/{occ}@")]

        async def scenario() -> None:
            await deliverer.deliver_due(plan, thursday, loop.store.closed_ids())
            assert escalations() == ["failed"]
            loop.act(occ, "done", thursday, by="王")
            await deliverer.deliver_due(plan, thursday, loop.store.closed_ids())
            assert escalations() == ["skipped"]
            await deliverer.aclose()

        asyncio.run(scenario())


@pytest.mark.parametrize(
    ("now", "due", "upcoming"),
    [
        ("2026-11-30T08:59", None, "2026-11-30T09:00"),  # Monday, before the time
        ("2026-11-30T09:00", "2026-11-30T09:00", "2026-12-07T09:00"),
        ("2026-12-02T10:00", "2026-11-30T09:00", "2026-12-07T09:00"),  # came while stopped
        ("2026-12-06T23:59", "2026-11-30T09:00", "2026-12-07T09:00"),  # Sunday: same ISO week
        ("2026-12-07T01:00", None, "2026-12-07T09:00"),  # a new week: last week's is gone
    ],
)
def test_report_times(config_dir: Path, now: str, due: str | None, upcoming: str) -> None:
    settings = load_config(config_dir).settings
    moment = datetime.fromisoformat(now).replace(tzinfo=TZ).astimezone(UTC)
    got_due, got_upcoming = report_times(settings, moment)
    assert (got_due.isoformat()[:16] if got_due else None) == due
    assert got_upcoming is not None and got_upcoming.isoformat()[:16] == upcoming


def test_report_times_other_day_and_off(config_dir: Path) -> None:
    settings = load_config(config_dir).settings
    friday = settings.model_copy(
        update={"loop": settings.loop.model_copy(update={"report_weekday": "fri"})}
    )
    monday = datetime(2026, 11, 30, 12, 0, tzinfo=TZ)
    assert report_times(friday, monday) == (None, datetime(2026, 12, 4, 9, 0, tzinfo=TZ))
    off = settings.model_copy(
        update={"loop": settings.loop.model_copy(update={"report_weekday": None})}
    )
    assert report_times(off, monday) == (None, None)


def test_a_robot_down_at_report_time_leaves_the_report_to_be_retried(
    config_dir: Path, tmp_path: Path
) -> None:
    """The report goes as a reminder does: a transient failure is failed with a retry
    time (not dead), a permanent one is dead."""
    with FakeRobots() as robots:
        env = wire_dingtalk(config_dir, robots)
        config = load_config(config_dir)
        ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        loop = Loop(LoopStore.of(ledger), lambda: config.plan)
        deliverer = deliverer_from_config(config, ledger, env)
        waits: list[float] = []

        async def no_wait(seconds: float) -> None:
            waits.append(seconds)

        deliverer.sleep = no_wait  # the backoff between tries, recorded instead of waited
        bureau = robots.robot("dingtalk", "tok00madeup")
        assert bureau is not None

        async def run(now: datetime) -> int:
            return await send_weekly_report(deliverer, loop, now)

        bureau.fail("502")
        assert asyncio.run(run(MONDAY)) == 0
        attempts = config.settings.delivery.attempts_per_run
        assert robots.requests == attempts and len(waits) == attempts - 1  # retried in-run
        (row,) = [r for r in ledger.rows() if r.step == "weekly"]
        assert row.status == "failed" and row.next_attempt_at is not None
        assert row.subject == "report/2026-W49"
        bureau.fail("errcode", 300001, "token is not exist")  # permanent
        week2 = MONDAY + timedelta(days=7)
        assert asyncio.run(run(week2)) == 0
        (dead,) = [r for r in ledger.rows() if r.subject == "report/2026-W50"]
        assert dead.status == "dead" and dead.last_code == 300001
        asyncio.run(deliverer.aclose())


def test_an_owed_report_is_retried_taken_over_and_sent_late_once(
    config_dir: Path, tmp_path: Path
) -> None:
    """Failed at its time: retried once its retry time has come; a week later still owed,
    it goes out late beside the new week's; a claim left by a dead process is taken over
    when its lease runs out."""
    with FakeRobots() as robots:
        env = wire_dingtalk(config_dir, robots)
        config = load_config(config_dir)
        url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        ledger = Ledger.open(url)
        loop = Loop(LoopStore.of(ledger), lambda: config.plan)
        deliverer = deliverer_from_config(config, ledger, env)
        wall = [MONDAY]
        deliverer.clock = lambda: wall[0].timestamp()

        async def no_wait(seconds: float) -> None:
            return None

        deliverer.sleep = no_wait
        bureau = robots.robot("dingtalk", "tok00madeup")
        assert bureau is not None

        def run(now: datetime) -> int:
            wall[0] = now
            return asyncio.run(send_weekly_report(deliverer, loop, now))

        def reports() -> list[str]:
            return [t.split("闭环周报】")[1][:10] for t in bureau.texts() if "闭环周报" in t]

        bureau.fail("502")
        assert run(MONDAY) == 0
        (row,) = ledger.rows(step="weekly")
        assert row.status == "failed" and row.next_attempt_at is not None
        assert run(MONDAY + timedelta(seconds=5)) == 0  # not yet: waiting for its retry time
        retry = row.next_attempt_at + timedelta(seconds=1)
        assert run(retry) == 0  # tried again, still refused
        # the robot stays down past the next week's time: both weeks are owed then
        week2 = MONDAY + timedelta(days=7)
        assert run(week2) == 0
        assert {r.subject: r.status for r in ledger.rows(step="weekly")} == {
            "report/2026-W49": "failed",
            "report/2026-W50": "failed",
        }
        bureau.fail(None)
        assert run(week2 + timedelta(hours=2)) == 2  # W49's late, as written, and W50's
        assert reports() == ["2026-11-30", "2026-12-07"]
        assert run(week2 + timedelta(hours=3)) == 0  # once

        # a process that claimed week 3's report and died before sending it
        week3 = week2 + timedelta(days=7)
        dead = Ledger.open(url, owner="dead-process")
        key = "report/2026-W51@weekly>ding-00"
        lease = timedelta(seconds=config.settings.delivery.lease_seconds)
        dead.claim(
            [Entry(key, "report/2026-W51", "weekly", "ding-00", "教育局", week3)], week3, lease
        )
        assert run(week3 + timedelta(seconds=10)) == 0  # its lease still holds
        assert run(week3 + lease + timedelta(seconds=1)) == 1
        assert reports()[-1] == "2026-12-14"
        assert ledger.statuses([key])[key].status == "sent"
        asyncio.run(deliverer.aclose())


def test_a_report_for_some_units_counts_only_them(config_dir: Path, tmp_path: Path) -> None:
    """A unit's own workbook: its counts and its longest-overdue items, a full list of
    them, not the county's top N with everyone else's removed."""
    config = load_config(config_dir)
    loop = Loop(
        LoopStore.of(Ledger.open(f"sqlite:///{tmp_path / 'l.sqlite3'}")), lambda: config.plan
    )
    start = config.plan.start
    county = loop.report(MONDAY, start, MONDAY.date(), worst=3)
    school = loop.report(MONDAY, start, MONDAY.date(), worst=3, units=["县第二中学"])
    assert [u.unit for u in school.units] == ["县第二中学"]
    assert school.unit("县第二中学") == county.unit("县第二中学")
    assert {w.occurrence.unit for w in county.worst} != {"县第二中学"}  # others lead the county
    assert len(school.worst) == 3
    assert {w.occurrence.unit for w in school.worst} == {"县第二中学"}
