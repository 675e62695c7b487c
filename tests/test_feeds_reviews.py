"""Standing duties (长期坚持) show as one self-check event per unit and period,
listing each duty; the closed loop's marks show per duty, and the event is closed
when every duty is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

from reminders.config import Config, load_config
from reminders.core.expand import Window, expand
from reminders.core.plan import compile_plan
from reminders.feeds import Feed, FeedBuilder

from .conftest import SHIPPED_CONFIG

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
GROUP = "review/教育局/review-2026-Q4"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(SHIPPED_CONFIG)


@pytest.fixture(scope="module")
def members(config: Config) -> list[str]:
    """The occurrence ids of the bureau's standing reviews of 2026 Q4, in plan order."""
    quarter_end = Window(date(2026, 12, 31), date(2026, 12, 31))
    found = expand(config.plan, quarter_end, {"教育局"})
    ids = [o.id for o in found if o.kind == "standing-review"]
    assert len(ids) > 20 and all(i.endswith("/教育局/review-2026-Q4") for i in ids)
    return ids


def events(feed: Feed) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(feed.body)
    return {str(e["UID"]).rpartition("@")[0]: e for e in cal.walk("VEVENT")}


def listed(event: icalendar.Event) -> list[str]:
    """The duty lines of a self-check event's description."""
    return [line for line in str(event["DESCRIPTION"]).splitlines() if line and line[0] in "☐✓—"]


def test_one_self_check_event_lists_every_standing_duty(config: Config, members: list[str]) -> None:
    feed = FeedBuilder().build(config.plan, TODAY, NOW)["教育局"]
    found = events(feed)
    assert not any(uid in found for uid in members), "no event per standing duty"
    event = found[GROUP]
    assert str(event["SUMMARY"]) == (
        f"【长期坚持自查】教育局：{len(members)}项长期坚持事项（长期坚持自查·2026年第4季度）"
    )
    duty_ids = [m.split("/")[0] for m in members]
    titles = {c.duty.id: c.duty.title for c in config.plan.duties}
    assert listed(event) == [f"☐ {d} {titles[d]}" for d in duty_ids]
    assert event.decoded("DTSTART") == date(2026, 12, 31)
    assert event.decoded("DTEND") == date(2027, 1, 1)
    assert event["CATEGORIES"].cats == ["长期坚持自查"]
    # delivery.review_lead_times (7d): one alarm at 09:00 seven days before
    assert [a.decoded("TRIGGER") for a in event.walk("VALARM")] == [timedelta(days=-8, hours=9)]
    # the schools have theirs; a group belongs to one unit only
    school = events(FeedBuilder().build(config.plan, TODAY, NOW)["县第一中学"])
    assert "review/县第一中学/review-2026-Q4" in school and GROUP not in school


def test_marks_show_per_duty_and_close_the_event_when_all_are_closed(
    config: Config, members: list[str]
) -> None:
    builder = FeedBuilder()
    before = events(builder.build(config.plan, TODAY, NOW)["教育局"])
    first, second, *rest = members
    one = {first: ("done", "张三 已自查")}
    after = events(builder.build(config.plan, TODAY, NOW + timedelta(hours=1), one)["教育局"])
    event = after[GROUP]
    assert str(event["SUMMARY"]).endswith("（已完成1项）")
    assert listed(event)[0].startswith("✓ ") and listed(event)[0].endswith(
        "（已完成：张三 已自查）"
    )
    assert all(line.startswith("☐ ") for line in listed(event)[1:])
    assert event.walk("VALARM"), "still open: still reminds"
    assert event["SEQUENCE"] == before[GROUP]["SEQUENCE"] + 1
    assert {u for u in before if before[u].to_ical() != after[u].to_ical()} == {GROUP}

    closed = {first: ("done", ""), second: ("waived", "停课"), **{m: ("done", "") for m in rest}}
    event = events(builder.build(config.plan, TODAY, NOW + timedelta(hours=2), closed)["教育局"])[
        GROUP
    ]
    assert str(event["SUMMARY"]).startswith("✓已完成 ")
    assert str(event["STATUS"]) == "CONFIRMED" and not event.walk("VALARM")
    assert listed(event)[1].startswith("— ") and listed(event)[1].endswith("（已免除：停课）")

    waived = {m: ("waived", "") for m in members}
    event = events(builder.build(config.plan, TODAY, NOW + timedelta(hours=3), waived)["教育局"])[
        GROUP
    ]
    assert str(event["STATUS"]) == "CANCELLED" and not event.walk("VALARM")


def test_changing_a_standing_duty_renders_only_its_units_self_checks(config: Config) -> None:
    """12.1 is the bureau's alone: its change touches the bureau's self-checks, no school's."""
    builder = FeedBuilder()
    before = builder.build(config.plan, TODAY, NOW)
    duties = [
        d.model_copy(update={"title": "改过的标题"}) if d.id == "12.1" else d
        for d in config.duties.duties
    ]
    plan = compile_plan(config.settings, config.units.units, config.calendar, duties)
    after = builder.build(plan, TODAY, NOW + timedelta(hours=1))
    assert builder.stats.duties_expanded == 1
    assert builder.stats.feeds_rendered == 2  # 教育局 and all
    old, new = events(before["教育局"]), events(after["教育局"])
    changed = {uid for uid in old if old[uid].to_ical() != new[uid].to_ical()}
    own = [
        o
        for o in expand(plan, Window(after["教育局"].start, after["教育局"].end))
        if o.duty == "12.1"
    ]
    reviews = {f"review/教育局/{o.period}" for o in own if o.kind == "standing-review"}
    singles = {o.id for o in own if o.kind != "standing-review"}
    assert reviews and singles and changed == reviews | singles
    assert all("☐ 12.1 改过的标题" in listed(new[uid]) for uid in reviews)
    for slug in before:
        if slug not in ("教育局", "all"):
            assert after[slug].body == before[slug].body


def test_a_schools_mark_shows_in_its_own_self_check_only(config: Config) -> None:
    school_group = "review/县第二中学/review-2026-Q4"
    occurrence = "1.1/县第二中学/review-2026-Q4"
    feeds = FeedBuilder().build(config.plan, TODAY, NOW, {occurrence: ("done", "李四")})
    mine = events(feeds["县第二中学"])[school_group]
    assert "✓ 1.1 局党组、各校党支部必须高度重视（已完成：李四）" in listed(mine)
    for unit in ("教育局", "县第一中学", "县实验小学"):
        other = events(feeds[unit])[f"review/{unit}/review-2026-Q4"]
        assert all(line.startswith("☐ ") for line in listed(other)), unit
