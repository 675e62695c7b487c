"""Group feeds summarise: one event per occurrence of a duty, counting the group's units
that have done it; and feeds are rendered when first asked for, again only when what
they show changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import icalendar
import pytest

from reminders.config import Config, load_config
from reminders.feeds import Feed, FeedBuilder
from reminders.feeds.render import GROUP_NAMES, Mark

from .test_feeds_build import NOW, TODAY, events_of, raw_events

SCHOOLS = ("县第一中学", "县第二中学", "县实验小学")
QUARTERLY = "4.4"  # 教育局 and 各校, every quarter
EVENT = f"{QUARTERLY}/各校/2026-Q4@reminders.local"
EVERYONE = f"{QUARTERLY}/全部/2026-Q4@reminders.local"
SELF_CHECK = "review/各校/review-2026-Q4@reminders.local"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(Path(__file__).resolve().parent.parent / "config")


def occ(unit: str) -> str:
    return f"{QUARTERLY}/{unit}/2026-Q4"


def description(event: icalendar.Event) -> list[str]:
    return str(event["DESCRIPTION"]).split("\n")


def test_a_group_feed_has_one_event_per_occurrence_of_a_duty(config: Config) -> None:
    feeds = FeedBuilder().build(config.plan, TODAY, NOW)
    event = events_of(feeds["各校"])[EVENT]
    assert str(event["SUMMARY"]) == (
        "【周期任务】各校：局党组、各学校至少每季度组织召开 1 次党组（支部）会议（2026年第4季度）"
    )
    lines = description(event)
    assert "完成情况：3个单位中已完成0个，未完成3个" in lines
    assert "未完成：县第一中学、县第二中学、县实验小学" in lines
    assert "责任单位：教育局、各校（本日历汇总3个单位）" in lines
    assert len(event.walk("VALARM")) == 3 and str(event["STATUS"]) == "CONFIRMED"
    # the feed of everything names the duty's units as the table does, and counts all four
    everyone = events_of(feeds["all"])[EVERYONE]
    assert str(everyone["SUMMARY"]).startswith("【周期任务】教育局、各校：")
    assert "完成情况：4个单位中已完成0个，未完成4个" in description(everyone)
    # no event of a group feed is a unit's own
    for slug in ("各校", "all"):
        uids = events_of(feeds[slug])
        assert all("/各校/" in uid or "/全部/" in uid for uid in uids), slug


def test_a_group_events_counts_follow_done_waive_and_undo(config: Config) -> None:
    builder = FeedBuilder()
    now = NOW
    steps: list[tuple[dict[str, Mark], str, list[str]]] = [
        ({}, "", ["完成情况：3个单位中已完成0个，未完成3个"]),
        (
            {occ("县第一中学"): "张三"},
            "（已完成1/3）",
            ["完成情况：3个单位中已完成1个，未完成2个", "未完成：县第二中学、县实验小学"],
        ),
        (
            {occ("县第一中学"): "张三", occ("县第二中学"): ("waived", "停课")},
            "（已完成1/3，免除1）",
            ["完成情况：3个单位中已完成1个，免除1个，未完成1个", "未完成：县实验小学"],
        ),
        (
            {occ(u): "张三" for u in SCHOOLS},
            "",
            ["完成情况：3个单位中已完成3个"],
        ),
        ({occ("县第二中学"): "李四"}, "（已完成1/3）", ["未完成：县第一中学、县实验小学"]),
    ]
    sequence = -1
    before: dict[str, Feed] | None = None
    for marks, progress, lines in steps:
        now += timedelta(hours=1)
        feeds = builder.build(config.plan, TODAY, now, marks)
        event = events_of(feeds["各校"])[EVENT]
        summary = str(event["SUMMARY"])
        done = all(occ(u) in marks for u in SCHOOLS)
        assert summary.startswith("✓已完成 【周期任务】各校：") is done
        assert summary.endswith(f"（2026年第4季度）{progress}")
        assert all(line in description(event) for line in lines), description(event)
        assert (not event.walk("VALARM")) is done
        assert event["SEQUENCE"] == sequence + 1, "SEQUENCE rises with every change"
        sequence = event["SEQUENCE"]
        assert event.decoded("DTSTAMP") == now.replace(microsecond=0)
        if before is not None:
            old, new = raw_events(before["各校"]), raw_events(feeds["各校"])
            assert {uid for uid in new if new[uid] != old[uid]} == {EVENT}
            assert feeds["教育局"].body == before["教育局"].body
        before = feeds
    # the same marks again: nothing changes
    again = builder.build(config.plan, TODAY, now + timedelta(hours=1), steps[-1][0])
    assert again["各校"].body == before["各校"].body and again["各校"].changed == now


def test_a_group_where_every_unit_waived_is_cancelled(config: Config) -> None:
    marks: dict[str, Mark] = {occ(u): ("waived", "") for u in SCHOOLS}
    event = events_of(FeedBuilder().build(config.plan, TODAY, NOW, marks)["各校"])[EVENT]
    assert str(event["SUMMARY"]).startswith("（已免除）【周期任务】各校：")
    assert str(event["STATUS"]) == "CANCELLED" and not event.walk("VALARM")


def test_the_group_self_check_counts_units_that_closed_all_their_standing_duties(
    config: Config,
) -> None:
    feeds = FeedBuilder().build(config.plan, TODAY, NOW)
    standing = [
        line.split(" ")[1]
        for line in description(events_of(feeds["各校"])[SELF_CHECK])
        if line.startswith("☐ ")
    ]
    assert len(standing) > 20
    marks: dict[str, Mark] = {f"{d}/县第一中学/review-2026-Q4": "张三" for d in standing}
    marks[f"{standing[0]}/县第二中学/review-2026-Q4"] = ("waived", "")
    feeds = FeedBuilder().build(config.plan, TODAY, NOW, marks)
    event = events_of(feeds["各校"])[SELF_CHECK]
    lines = description(event)
    assert str(event["SUMMARY"]).endswith("（已完成1/3）")
    assert "完成情况：3个单位中已完成自查1个，未完成2个" in lines
    assert "未完成：县第二中学、县实验小学" in lines
    first = next(line for line in lines if line.split(" ")[1:2] == [standing[0]])
    assert first.startswith("☐ ") and first.endswith("（已完成1/3，免除1）")
    # every school closes every standing duty: the group's self-check is done
    marks = {f"{d}/{u}/review-2026-Q4": "张三" for d in standing for u in SCHOOLS}
    event = events_of(FeedBuilder().build(config.plan, TODAY, NOW, marks)["各校"])[SELF_CHECK]
    assert str(event["SUMMARY"]).startswith("✓已完成 ") and not event.walk("VALARM")
    assert all(line.startswith("✓ ") for line in description(event) if "（已完成" in line)


def test_names_are_listed_up_to_a_limit_then_counted(config_dir: Path) -> None:
    lines = ["units:", "  - name: 教育局"]
    lines += [f"  - {{name: 第{i:02d}小学, groups: [各校], supervisor: 教育局}}" for i in range(30)]
    (config_dir / "units.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = load_config(config_dir)
    marks: dict[str, Mark] = {f"{QUARTERLY}/第00小学/2026-Q4": "张三"}
    event = events_of(FeedBuilder().build(config.plan, TODAY, NOW, marks)["各校"])[EVENT]
    waiting = next(line for line in description(event) if line.startswith("未完成："))
    names = [f"第{i:02d}小学" for i in range(1, GROUP_NAMES + 1)]
    assert waiting == f"未完成：{'、'.join(names)}等29个单位"
    assert str(event["SUMMARY"]).endswith("（已完成1/30）")


# -- rendered when asked, again only when changed --------------------------------------


def test_feeds_are_rendered_when_asked_for_and_kept_until_they_change(config: Config) -> None:
    builder = FeedBuilder()
    builder.update(config.plan, TODAY, NOW)
    assert builder.rendered() == {} and builder.stats.feeds_rendered == 0
    first = builder.feed("县第二中学", NOW)
    assert first is not None and builder.stats.feeds_rendered == 1
    assert builder.feed("县第二中学", NOW + timedelta(hours=1)) is first
    assert builder.feed("没有这个单位", NOW) is None
    reference = FeedBuilder().build(config.plan, TODAY, NOW)
    assert first.body == reference["县第二中学"].body
    for slug in ("县第一中学", "各校", "all", "教育局"):
        assert builder.feed(slug, NOW) is not None
    # a mark for one school: its feed and the group feeds show it, the others are kept
    later = NOW + timedelta(hours=2)
    builder.update(config.plan, TODAY, later, {occ("县第一中学"): "张三"})
    assert set(builder.rendered()) == {"县第二中学", "教育局"}
    assert builder.rendered()["县第二中学"] is first
    mine = builder.feed("县第一中学", later)
    assert mine is not None and mine.changed == later
    # a new day: the window moved, every feed is rendered again
    builder.update(config.plan, TODAY + timedelta(days=1), later, {occ("县第一中学"): "张三"})
    assert builder.rendered() == {}


def test_a_group_event_before_tracking_started_is_history(config: Config) -> None:
    """Before `track_from` (#13) a group's events are 未跟踪 as its units' are: no alarms."""
    plan = replace(config.plan, track_from=date(2027, 1, 1))
    feeds = FeedBuilder().build(plan, TODAY, NOW)
    group = events_of(feeds["各校"])
    for uid in (EVENT, SELF_CHECK):
        event = group[uid]
        assert str(event["SUMMARY"]).startswith("（未跟踪）【") and not event.walk("VALARM")
        assert any(line.startswith("未跟踪：") for line in description(event))
    later = next(e for uid, e in group.items() if "/2027-Q1" in uid)
    assert not str(later["SUMMARY"]).startswith("（未跟踪）") and later.walk("VALARM")
    own = events_of(feeds["县第一中学"])[EVENT.replace("各校", "县第一中学")]
    assert str(own["SUMMARY"]).startswith("（未跟踪）【")
