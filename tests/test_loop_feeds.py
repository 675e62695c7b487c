"""Feeds show done occurrences with a ✓ and waived ones as STATUS:CANCELLED, byte-stably."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

from reminders.config import Config, load_config
from reminders.feeds import FeedBuilder

from .conftest import SHIPPED_CONFIG

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
DONE = "4.5/教育局/2026-12"
WAIVED = "4.5/教育局/2026-11"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(SHIPPED_CONFIG)


def events(body: bytes) -> dict[str, icalendar.cal.Component]:
    cal = icalendar.Calendar.from_ical(body)
    return {str(e["UID"]).rpartition("@")[0]: e for e in cal.walk("VEVENT")}


def test_done_and_waived(config: Config) -> None:
    builder = FeedBuilder()
    before = events(builder.build(config.plan, TODAY, NOW)["教育局"].body)
    marks = {DONE: ("done", "张三 已检查"), WAIVED: ("waived", "局长 停课")}
    feed = builder.build(config.plan, TODAY, NOW + timedelta(hours=1), completed=marks)["教育局"]
    after = events(feed.body)
    assert str(after[DONE]["SUMMARY"]).startswith("✓已完成")
    assert str(after[DONE]["STATUS"]) == "CONFIRMED"
    assert "已完成：张三 已检查" in str(after[DONE]["DESCRIPTION"])
    assert str(after[WAIVED]["STATUS"]) == "CANCELLED"
    assert "已免除：局长 停课" in str(after[WAIVED]["DESCRIPTION"])
    assert not after[DONE].walk("VALARM") and not after[WAIVED].walk("VALARM")
    assert before[WAIVED].walk("VALARM")
    for occ in (DONE, WAIVED):
        assert after[occ]["SEQUENCE"] == before[occ]["SEQUENCE"] + 1
    changed = {u for u in before if before[u].to_ical() != after[u].to_ical()}
    assert changed == {DONE, WAIVED}
    # the same marks again: the same bytes; undone: back to open with a higher SEQUENCE
    again = builder.build(config.plan, TODAY, NOW + timedelta(hours=2), completed=marks)["教育局"]
    assert again.body == feed.body and again.changed == feed.changed
    reopened = events(
        builder.build(config.plan, TODAY, NOW + timedelta(hours=3), completed={})["教育局"].body
    )
    assert str(reopened[WAIVED]["STATUS"]) == "CONFIRMED"
    assert reopened[WAIVED]["SEQUENCE"] == before[WAIVED]["SEQUENCE"] + 2


def test_a_plain_note_still_means_done(config: Config) -> None:
    feed = FeedBuilder().build(config.plan, TODAY, NOW, completed={DONE: "张三"})["教育局"]
    assert str(events(feed.body)[DONE]["SUMMARY"]).startswith("✓已完成")
