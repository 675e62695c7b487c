"""A self-check's one "all done" link (全部自查完毕): it closes every standing duty of
`review/<unit>/<period>` still open, in one confirmation, and nothing else."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import icalendar
import pytest

from reminders.channels import DingTalkChannel
from reminders.channels.log import LogChannel
from reminders.closedloop import LoopStore, feed_marks, sign
from reminders.closedloop.keys import action_key
from reminders.config import Config, load_config
from reminders.core.expand import Window, expand
from reminders.core.occurrence import Occurrence
from reminders.delivery.plan import Delivery, reminders_for
from reminders.delivery.render import Renderer
from reminders.feeds import FeedBuilder
from reminders.ledger import Ledger, default_url

from .conftest import SHIPPED_CONFIG
from .daemonproc import DaemonProcess
from .fakerobot import FakeRobots
from .robotconfig import wire_dingtalk
from .test_daemon import feed_url
from .test_loop_daemon import occurrence_of
from .test_loop_http import KEY, NOW, Harness

GROUP = "review/教育局/review-2026-Q4"
SCHOOL_GROUP = "review/县第一中学/review-2026-Q4"
GROUP_LINK = re.compile(r"全部自查完毕：(\S+)")
DUTY_LINK = re.compile(r"办结确认：(\S+)")


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(SHIPPED_CONFIG)


def reviews(config: Config, unit: str = "教育局") -> list[Occurrence]:
    """The unit's standing reviews of 2026 Q4, in plan order."""
    quarter_end = Window(date(2026, 12, 31), date(2026, 12, 31))
    found = [o for o in expand(config.plan, quarter_end, {unit}) if o.kind == "standing-review"]
    assert len(found) > 20
    return found


def members(config: Config, unit: str = "教育局") -> list[str]:
    return [o.id for o in reviews(config, unit)]


@pytest.fixture
def h(config: Config, tmp_path: Path) -> Iterator[Harness]:
    yield Harness(config, tmp_path)


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


# -- rendering ------------------------------------------------------------------


def self_checks(config: Config, units: list[str]) -> list[Delivery]:
    window = Window(date(2026, 12, 31), date(2026, 12, 31))
    occs = [o for o in expand(config.plan, window, set(units)) if o.kind == "standing-review"]
    found = [r for r in reminders_for(config.plan, occs) if r.stage == "review"]
    assert sorted(r.subject for r in found) == sorted(f"review/{u}/review-2026-Q4" for u in units)
    return [Delivery(r, "ch") for r in found]


def rendered(
    renderer: Renderer, channel: DingTalkChannel | LogChannel, items: list[Delivery]
) -> str:
    return "\n".join(p.text for p in renderer.digest(channel, items, date(2026, 12, 24)))


def test_one_group_link_per_self_check_list_and_only_with_actions(config: Config) -> None:
    renderer = Renderer(config.plan.calendar, action_link=lambda i: f"https://r/act/{i}")
    robot = DingTalkChannel("d", "t")
    one = rendered(renderer, robot, self_checks(config, ["教育局"]))
    assert GROUP_LINK.findall(one) == [f"https://r/act/{GROUP}"]
    heading, link = one.splitlines()[:2]
    assert "长期坚持事项自查" in heading and link == f"  全部自查完毕：https://r/act/{GROUP}"
    assert len(DUTY_LINK.findall(one)) == len(members(config))  # the per-duty links stay

    two = rendered(renderer, robot, self_checks(config, ["教育局", "县第一中学"]))
    assert sorted(GROUP_LINK.findall(two)) == sorted(
        f"https://r/act/{g}" for g in (GROUP, SCHOOL_GROUP)
    )
    log = rendered(renderer, LogChannel("log"), self_checks(config, ["教育局"]))
    assert "长期坚持事项自查" in log and "全部自查完毕" not in log and "/act/" not in log
    plain = rendered(Renderer(config.plan.calendar), robot, self_checks(config, ["教育局"]))
    assert "全部自查完毕" not in plain


# -- the pages ------------------------------------------------------------------


def test_get_lists_what_it_will_close_and_changes_nothing(config: Config, h: Harness) -> None:
    occs = reviews(config)
    ids = [o.id for o in occs]
    h.store.apply(ids[0], "教育局", "done", NOW, by="王老师", note="上周已查", via="test")
    link = h.link(GROUP)
    for method in ("GET", "HEAD"):
        assert h.request(method, link).status_code == 200
    page = h.request("GET", link)
    text = page.text
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "确认本次自查全部完成" in text and 'method="post"' in text
    will, _, already = text.partition("此前已办结")
    assert f"将标记为已完成（{len(ids) - 1} 项）" in will and "（1 项）" in already
    for occ in occs[1:]:
        assert occ.id in will and f"[{occ.duty}] {occ.title}" in will
    first = f"<small>{ids[0]}</small>"
    assert first in already and first not in will and "王老师" in already
    assert len(h.store.history()) == 1 and h.changes == 0


def test_post_closes_exactly_the_open_ones_once(config: Config, h: Harness) -> None:
    ids = members(config)
    done, waived, *rest = ids
    h.store.apply(done, "教育局", "done", NOW, by="王老师", note="上周已查", via="test")
    h.store.apply(waived, "教育局", "waive", NOW, note="不适用", via="test")
    school = members(config, "县第一中学")
    link = h.link(GROUP)
    token = token_of(link)
    h.now = NOW + timedelta(hours=1)
    answer = h.request("POST", link, data={"token": token, "by": "张三", "note": "季度自查"})
    assert answer.status_code == 200 and f"已将 {len(rest)} 项标记为已完成" in answer.text
    assert h.changes == 1
    after = h.store.closures()
    assert {i for i, c in after.items() if c.state == "done"} == {done, *rest}
    kept = after[done]
    assert (kept.by, kept.note, kept.changed_at, kept.revision) == ("王老师", "上周已查", NOW, 1)
    assert after[waived].state == "waived" and after[waived].note == "不适用"
    history = h.store.history()[2:]
    assert sorted(c.occurrence_id for c in history) == sorted(rest)
    assert {(c.action, c.before, c.after, c.by, c.note, c.via) for c in history} == {
        ("done", "open", "done", "张三", "季度自查", "link")
    }
    assert not any(i in after for i in school)  # another unit's self-check is untouched

    replay = h.request("POST", link, data={"token": token, "by": "李四"})
    assert replay.status_code == 200 and "本次未作更改" in replay.text
    assert len(h.store.history()) == 2 + len(rest) and h.changes == 1
    page = h.request("GET", link)
    assert "无需再次操作" in page.text and "<form" not in page.text


def test_the_feed_shows_the_self_check_done_afterwards(config: Config, h: Harness) -> None:
    today = NOW.date()

    def event() -> icalendar.Event:
        feed = FeedBuilder().build(config.plan, today, h.now, feed_marks(h.store.closed()))
        cal = icalendar.Calendar.from_ical(feed["教育局"].body)
        return next(e for e in cal.walk("VEVENT") if str(e["UID"]).startswith(f"{GROUP}@"))

    assert not str(event()["SUMMARY"]).startswith("✓")
    h.request("POST", h.link(GROUP), data={"by": "张三"})
    done = event()
    assert str(done["SUMMARY"]).startswith("✓已完成 ") and not done.walk("VALARM")


def test_bad_tokens_are_refused_and_change_nothing(config: Config, h: Harness) -> None:
    genuine = token_of(h.link(GROUP))
    school = token_of(h.link(SCHOOL_GROUP))
    payload = genuine.split(".")[0]
    cases = {
        sign(b"k" * 32, GROUP, "done", NOW + timedelta(days=3)): 403,  # another key
        f"{payload}.{school.split('.')[1]}": 403,  # the school's signature on the bureau's group
        f"{school.split('.')[0]}.{genuine.split('.')[1]}": 403,
        sign(KEY, GROUP, "done", NOW - timedelta(seconds=1)): 410,
        genuine[:-2]: 400,
    }
    for token, status in cases.items():
        for method in ("GET", "POST"):
            answer = h.request(method, f"/act/{token}", data={"token": token})
            assert answer.status_code == status, (token, method)
            assert "<form" not in answer.text
    # a genuine token posted with another group's token in the form
    assert h.request("POST", f"/act/{genuine}", data={"token": school}).status_code == 400
    assert h.store.history() == [] and h.changes == 0


def test_one_units_link_cannot_close_another_units_self_check(config: Config, h: Harness) -> None:
    h.request("POST", h.link(SCHOOL_GROUP), data={"by": "一中"})
    closed = h.store.closed()
    assert set(closed) == set(members(config, "县第一中学"))
    assert not any(i in closed for i in members(config))


@pytest.mark.parametrize(
    "group",
    [
        "review/无此单位/review-2026-Q4",  # no such unit
        "review/教育局/review-2026-11",  # a period no standing duty has
        "review/教育局/review-2099-Q4",  # beyond reach
        "review/教育局",
        "review//review-2026-Q4",
    ],
)
def test_a_group_that_is_not_there_is_not_found(h: Harness, group: str) -> None:
    for method in ("GET", "POST"):
        answer = h.request(method, h.link(group))
        assert answer.status_code == 404 and "事项不存在" in answer.text
    assert h.store.history() == [] and h.changes == 0


def test_a_group_link_only_marks_done(h: Harness) -> None:
    for action in ("undo", "waive"):
        for method in ("GET", "POST"):
            assert h.request(method, h.link(GROUP, action)).status_code == 400
    assert h.store.history() == []


# -- end to end ------------------------------------------------------------------


def test_the_self_check_link_from_the_robot_closes_the_group(
    config_dir: Path, tmp_path: Path
) -> None:
    """The real service: the 12-24 self-check digest carries the link; one POST closes the
    bureau's quarter and the feed's self-check event turns done."""
    state = tmp_path / "state"
    ids = members(load_config(config_dir))
    with FakeRobots() as robots:
        env = wire_dingtalk(config_dir, robots)
        bureau = robots.robot("dingtalk", "tok00madeup")
        assert bureau is not None
        daemon = DaemonProcess(config_dir, state, now="2026-12-24T09:30", env=env).start()
        try:
            daemon.wait_log(r"已推送 \(sent\) \d+ 条提醒到 ding-00")
            text = "\n".join(bureau.texts())
            (url,) = GROUP_LINK.findall(text)
            assert url.startswith(f"http://127.0.0.1:{daemon.port}/act/")
            assert occurrence_of(url) == GROUP
            store = LoopStore.of(Ledger.open(default_url(state)))
            store.apply(ids[0], "教育局", "done", datetime.now(UTC), note="早已自查", via="test")
            with httpx.Client(timeout=10) as client:
                page = client.get(url)
                assert page.status_code == 200 and f"（{len(ids) - 1} 项）" in page.text
                assert len(store.history()) == 1
                done = client.post(url, data={"token": token_of(url), "by": "张三"})
                assert done.status_code == 200 and f"已将 {len(ids) - 1} 项" in done.text
            assert store.closed_ids() >= set(ids) and store.get(ids[0]).note == "早已自查"  # type: ignore[union-attr]
            feed = feed_url(daemon)
            deadline = time.monotonic() + 15
            while not _group_summary(feed).startswith("✓已完成"):
                assert time.monotonic() < deadline, "the feed did not change"
                time.sleep(0.1)
            assert action_key(state).decode() not in daemon.log()
        finally:
            assert daemon.stop() == 0


def _group_summary(url: str) -> str:
    cal = icalendar.Calendar.from_ical(httpx.get(url).content)
    for event in cal.walk("VEVENT"):
        if str(event["UID"]).startswith(f"{GROUP}@"):
            return str(event["SUMMARY"])
    raise AssertionError(f"{GROUP} not in the feed")
