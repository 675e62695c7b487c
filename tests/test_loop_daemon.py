"""End to end against the real `reminders run` and the fake robots: the closed loop."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest

from reminders.cli.main import main
from reminders.closedloop import LoopStore, sign
from reminders.closedloop.keys import action_key, api_token
from reminders.closedloop.lookup import between
from reminders.config import load_config
from reminders.ledger import Ledger, default_url

from .daemonproc import DaemonProcess
from .fakerobot import FakeRobots
from .robotconfig import wire_dingtalk
from .test_daemon import feed_url

MONDAY = "2026-11-30T09:30"
THURSDAY = "2026-12-03T09:30"  # three workdays later: the 3wd overdue step
LINK = re.compile(r"办结确认：(\S+)")


def occurrence_of(url: str) -> str:
    payload = url.rsplit("/", 1)[1].split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return raw.decode().split("\n", 2)[2]


def links_in(texts: list[str]) -> dict[str, str]:
    return {occurrence_of(url): url for text in texts for url in LINK.findall(text)}


def feed_summary(url: str, occurrence: str) -> str:
    cal = icalendar.Calendar.from_ical(httpx.get(url).content)
    for event in cal.walk("VEVENT"):
        if str(event["UID"]).startswith(f"{occurrence}@"):
            return str(event["SUMMARY"])
    raise AssertionError(f"{occurrence} not in the feed")


def store_of(state: Path) -> LoopStore:
    return LoopStore.of(Ledger.open(default_url(state)))


def test_a_link_from_a_robot_message_closes_the_loop(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    with FakeRobots() as robots:
        env = wire_dingtalk(config_dir, robots)
        bureau = robots.robot("dingtalk", "tok00madeup")
        assert bureau is not None
        daemon = DaemonProcess(config_dir, state, now=MONDAY, env=env).start()
        try:
            daemon.wait_log(r"已推送 \(sent\) \d+ 条提醒到 ding-00")
            links = links_in(bureau.texts())
            due_today = sorted(o for o in links if o.endswith("/2026-11-30"))
            assert len(due_today) >= 2, bureau.texts()
            target, other = due_today[0], due_today[1]
            url = links[target]
            assert url.startswith(f"http://127.0.0.1:{daemon.port}/act/")
            token = url.rsplit("/", 1)[1]
            feed = feed_url(daemon)
            assert not feed_summary(feed, target).startswith("✓")
            with httpx.Client(timeout=10) as client:
                swapped = url.rsplit(".", 1)[0] + "." + links[other].rsplit(".", 1)[1]
                head, mac = url.rsplit(".", 1)
                altered = f"{head}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}"
                for bad, status in ((swapped, 403), (altered, 403), (url + "x", 400)):
                    assert client.post(bad, data={"by": "冒充"}).status_code == status
                page = client.get(url)
                assert page.status_code == 200 and "确认标记完成" in page.text
                assert store_of(state).get(target) is None  # GET changed nothing
                done = client.post(url, data={"token": token, "by": "张三", "note": "已组织检查"})
                assert done.status_code == 200 and "已标记完成" in done.text
                replay = client.post(url, data={"token": token, "by": "李四"})
                assert replay.status_code == 200 and "本次未作更改" in replay.text
            deadline = time.monotonic() + 15
            while not feed_summary(feed, target).startswith("✓已完成"):
                assert time.monotonic() < deadline, "the feed did not change"
                time.sleep(0.1)
            assert not feed_summary(feed, other).startswith("✓")
            # the report counts it, over the API and on the command line
            api = httpx.get(
                f"http://127.0.0.1:{daemon.port}/api/report?from=2026-11-30&to=2026-11-30",
                headers={"authorization": f"Bearer {api_token(state)}"},
            )
            bureau_counts = next(u for u in api.json()["units"] if u["unit"] == "教育局")
            assert bureau_counts["done_on_time"] == 1
            # a school closes one of its own over the API: no escalation for it later
            school_done = "1.2/县第一中学/2026-11-30"
            closed = httpx.post(
                f"http://127.0.0.1:{daemon.port}/api/occurrences/{school_done}/done",
                headers={"authorization": f"Bearer {api_token(state)}"},
                json={"by": "一中 王老师"},
            )
            assert closed.status_code == 200 and closed.json()["state"] == "done"
        finally:
            assert daemon.stop() == 0
        history = store_of(state).history(target)
        assert [(c.action, c.by, c.note, c.via) for c in history] == [
            ("done", "张三", "已组织检查", "link")
        ]
        before = len(bureau.messages)

        later = DaemonProcess(config_dir, state, now=THURSDAY, env=env).start()
        later.wait_log(r"已推送 \(sent\) \d+ 条提醒到 ding-00")
        assert later.stop() == 0
        new = bureau.texts()[before:]
        reminded = links_in(new)
        assert other in reminded, new  # still open: its overdue reminder went out
        assert target not in reminded  # done: no more reminders
        escalated = "\n".join(t for t in new if "下属单位逾期" in t)
        assert "- 县第二中学：[1.2]" in escalated  # still open: the supervisor is told
        assert "- 县第一中学：[1.2]" not in escalated  # done: not escalated
        assert robots.total_rejections() == 0

    argv = ["--config", str(config_dir), "report", "--state-dir", str(state), "--json"]
    argv += ["--from", "2026-11-30", "--to", "2026-11-30", "--at", THURSDAY]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    counts = {u["unit"]: u for u in report["units"]}
    assert counts["教育局"]["done_on_time"] == 1 and counts["县第一中学"]["done_on_time"] == 1
    assert counts["县第二中学"]["done_on_time"] == 0 and counts["县第二中学"]["overdue"] > 0


def test_a_hundred_simultaneous_confirms_all_land(config_dir: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    plan = load_config(config_dir).plan
    chosen = [o.id for o in between(plan, date(2026, 10, 1), date(2026, 12, 31))][:100]
    assert len(chosen) == 100
    daemon = DaemonProcess(config_dir, state, now=MONDAY).start()
    try:
        key = action_key(state)
        expires = datetime(2026, 11, 30, tzinfo=ZoneInfo("Asia/Shanghai")) + timedelta(days=30)
        base = f"http://127.0.0.1:{daemon.port}/act/"
        urls = [base + sign(key, occ, "done", expires) for occ in chosen]

        async def confirm_all() -> list[int]:
            limits = httpx.Limits(max_connections=100)
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                answers = await asyncio.gather(
                    *(client.post(u, data={"by": f"校长{i}"}) for i, u in enumerate(urls))
                )
            return [a.status_code for a in answers]

        started = time.monotonic()
        statuses = asyncio.run(confirm_all())
        took = time.monotonic() - started
        print(f"100 simultaneous confirms: {took:.2f}s")
        assert statuses == [200] * 100
        store = store_of(state)
        assert store.closed_ids() >= set(chosen)
        history = store.history()
        assert sorted(c.occurrence_id for c in history) == sorted(chosen)
        assert {c.by for c in history} == {f"校长{i}" for i in range(100)}
        assert all(c.via == "link" and c.after == "done" for c in history)
        # the daemon re-planned and refreshed the feeds once the burst was over
        mine = [o for o in chosen if o.split("/")[1] == "教育局"]
        assert mine
        feed = feed_url(daemon)
        deadline = time.monotonic() + 20
        while not all(feed_summary(feed, o).startswith("✓") for o in mine):
            assert time.monotonic() < deadline, "the feed did not change"
            time.sleep(0.2)
        rebuilds = len(re.findall(r"日历订阅已生成 \(feeds built\)：\d+ 个", daemon.log())) - 1
        print(f"feed rebuilds after the burst: {rebuilds}")
        # changes are taken together: a handful of rebuilds at most, not one per confirm
        assert 1 <= rebuilds <= 5, rebuilds
    finally:
        assert daemon.stop() == 0


def test_a_cli_change_reaches_the_running_service_on_reload(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    occ = "4.5/教育局/2026-11"
    daemon = DaemonProcess(config_dir, state, now=MONDAY).start()
    try:
        feed = feed_url(daemon)
        assert not feed_summary(feed, occ).startswith("✓")
        base = ["--config", str(config_dir)]
        assert main([*base, "done", occ, "--state-dir", str(state), "--by", "张三"]) == 0
        assert "reminders reload" in capsys.readouterr().out
        assert main([*base, "reload", "--state-dir", str(state)]) == 0
        deadline = time.monotonic() + 15
        while not feed_summary(feed, occ).startswith("✓已完成"):
            assert time.monotonic() < deadline, "the feed did not change"
            time.sleep(0.1)
        # secrets never reach the log
        log = daemon.log()
        assert api_token(state) not in log and action_key(state).decode() not in log
        assert "/act/" not in log.replace("/act/<", "")
    finally:
        assert daemon.stop() == 0


def _reports(robots: FakeRobots) -> list[str]:
    """The dates of the weekly reports the bureau's robot received, in order."""
    bureau = robots.robot("dingtalk", "tok00madeup")
    assert bureau is not None
    found = (re.search(r"闭环周报】(\d{4}-\d{2}-\d{2})", text) for text in bureau.texts())
    return [m[1] for m in found if m]


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_weekly_report_late_after_downtime_then_on_time_on_the_service_clock(
    config_dir: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    with FakeRobots() as robots:
        env = wire_dingtalk(config_dir, robots)
        # first started on a Friday: that week's report time came before the ledger: none
        first = DaemonProcess(config_dir, state, now="2026-11-27T10:00", env=env).start()
        first.wait_log(r"2026-11-23 的周报 \(weekly report\) 不补发：台账建立在它之后")
        assert first.stop() == 0 and _reports(robots) == []
        # stopped over Monday 09:00: this week's report goes out when it starts on Wednesday
        daemon = DaemonProcess(config_dir, state, now="2026-12-02T10:00", env=env).start()
        _wait(lambda: _reports(robots) == ["2026-12-02"])
        assert daemon.stop() == 0
        again = DaemonProcess(config_dir, state, now="2026-12-03T10:00", env=env).start()
        again.wait_woke()  # its first wake-up (which looks at the report) is over
        assert _reports(robots) == ["2026-12-02"]  # not twice
        assert again.stop() == 0
        # three seconds before next Monday's time: sent at 09:00 by the service's clock
        monday = DaemonProcess(config_dir, state, now="2026-12-07T08:59:57", env=env).start()
        assert _reports(robots) == ["2026-12-02"]
        _wait(lambda: len(_reports(robots)) == 2)
        assert monday.stop() == 0
    assert _reports(robots) == ["2026-12-02", "2026-12-07"]
    ledger = Ledger.open(default_url(state))
    try:
        weekly = [r for r in ledger.rows() if r.step == "weekly"]
    finally:
        ledger.close()
    assert sorted((r.subject, r.status) for r in weekly) == [
        ("report/2026-W49", "sent"),
        ("report/2026-W50", "sent"),
    ]
