"""Rendering: digest order, templates, and splitting at each robot's byte limit."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from reminders.channels import (
    DingTalkChannel,
    FeishuChannel,
    LogChannel,
    WebhookChannel,
    WeComChannel,
    measure,
)
from reminders.channels.base import Channel, Outgoing
from reminders.closedloop.links import ActionLinks
from reminders.core.occurrence import Occurrence
from reminders.delivery.plan import Reminder
from reminders.delivery.render import Block, Renderer, cut, split
from reminders.safetext import inert

from .test_deliver_plan import _CALENDAR, at

TODAY = date(2026, 9, 23)


def reminder(
    duty: str, title: str, due: date, stage: str = "before", unit: str = "教育局"
) -> Reminder:
    occ = Occurrence(
        f"{duty}/{unit}/{due}",
        duty,
        unit,
        title,
        "9月底前完成",
        due,
        None,
        "deadline",
        False,
        "9月底前完成",
        due.isoformat(),
    )
    return Reminder(occ.id, stage, stage, unit, at("2026-09-23"), due, (occ,))  # type: ignore[arg-type]


class Budget:
    """A budget for the text alone (no envelope): what the rendering tests need."""

    def __init__(self, limit: int, flavor: str = "markdown") -> None:
        self.limit = limit
        self.flavor = flavor

    def budget(self, envelope: Outgoing) -> int:
        return self.limit

    def text_size(self, text: str) -> int:
        return measure(text)

    def keys_size(self, keys: tuple[str, ...]) -> int:
        return 0

    def overflow(self, message: Outgoing) -> int:
        return measure(message.text) - self.limit


def test_digest_groups_overdue_today_upcoming() -> None:
    items = [
        reminder("3.1", "以后的事", date(2026, 9, 30)),
        reminder("1.1", "逾期的事", date(2026, 9, 21), "overdue"),
        reminder("2.1", "今天的事", TODAY, "due"),
    ]
    renderer = Renderer(_CALENDAR)
    parts = renderer.render(
        "教育局",
        [(r, r.id) for r in items],
        TODAY,
        fit=Budget(4000),
        link="https://example.org/feeds/t.ics",
    )
    assert len(parts) == 1
    text = parts[0].text
    assert text.index("已逾期") < text.index("今日到期") < text.index("即将到期")
    assert "截止：2026-09-30（周三），还有 7 天（5 个工作日）" in text
    assert "已逾期 2 天（2 个工作日）" in text
    assert text.endswith("日程订阅：https://example.org/feeds/t.ics")
    assert parts[0].title == "【安全生产提醒】教育局 · 9月23日"


def test_a_digest_for_several_units_names_each_items_unit() -> None:
    """One robot (or the log) for two schools: the same duty twice must not read as a repeat."""
    items = [
        reminder("12.3", "聘请专家", TODAY, "due", unit="县第一中学"),
        reminder("12.3", "聘请专家", TODAY, "due", unit="县第二中学"),
    ]
    renderer = Renderer(_CALENDAR)
    (part,) = renderer.render(
        "县第一中学、县第二中学", [(r, r.id) for r in items], TODAY, fit=Budget(4000)
    )
    assert "- 县第一中学：[12.3] 聘请专家" in part.text
    assert "- 县第二中学：[12.3] 聘请专家" in part.text
    (single,) = renderer.render("县第一中学", [(items[0], "k")], TODAY, fit=Budget(4000))
    assert "- [12.3] 聘请专家" in single.text and "县第一中学：" not in single.text


def test_a_units_digest_points_at_its_console_page_when_the_console_is_served() -> None:
    """The school's officer opens the console from the chat message: the last part names
    the unit's page (a login follows: the link is not a capability). Not in the log, not
    when the console is off."""
    item = (reminder("2.1", "今天的事", TODAY, "due", unit="县第一中学"), "k")
    link = "https://example.org/feeds/t.ics"

    def last_text(console: bool, actions: bool = True, unit: str = "县第一中学") -> str:
        links = ActionLinks(b"k" * 32, "https://r.example.cn/", timedelta(days=30),
                            lambda: at("2026-09-23"), console)  # fmt: skip
        renderer = Renderer(_CALENDAR, action_link=links)
        parts = renderer.render(unit, [item], TODAY, fit=Budget(4000), link=link,
                                actions=actions, unit=unit)  # fmt: skip
        return parts[-1].text

    page = "https://r.example.cn/console/unit/%E5%8E%BF%E7%AC%AC%E4%B8%80%E4%B8%AD%E5%AD%A6"
    assert last_text(True).endswith(
        f"督办看板（本单位全部事项、上传佐证）：{page}\n日程订阅：{link}"
    )
    assert "督办看板" not in last_text(False)
    assert "督办看板" not in last_text(True, actions=False)  # the log channel
    assert last_text(True, unit="").endswith(f"：https://r.example.cn/console/\n日程订阅：{link}")


def test_templates_are_overridable() -> None:
    renderer = Renderer(_CALENDAR, {"title": "提醒：$unit", "item": "* $duty $title 到期 $due"})
    parts = renderer.render(
        "教育局",
        [(reminder("1.1", "事项", TODAY, "due"), "k")],
        TODAY,
        fit=Budget(999, "text"),
    )
    assert parts[0].title == "提醒：教育局"
    assert parts[0].text == "今日到期（1 项）\n* 1.1 事项 到期 2026-09-23"


def test_cut_never_splits_a_character_or_an_emoji_sequence() -> None:
    family = "👨\u200d👩\u200d👧"
    text = ("安全" + family + "e\u0301") * 50
    pieces = cut(text, 30)
    assert "".join(pieces) == text
    for piece in pieces:
        assert measure(piece) <= 30
        assert not piece.startswith(("\u200d", "\u0301"))
        assert not piece.endswith("\u200d")


def _keyword(channel: Channel, word: str) -> Channel:
    channel.keyword = word
    return channel


FAKE_SECRET = "SECmade-up-render-secret"
CHANNELS: list[Channel] = [
    WeComChannel("w", "k"),
    WeComChannel("t", "k", mention_mobiles=("13800000000",)),
    DingTalkChannel("d", "t", secret=FAKE_SECRET, mention_mobiles=("13800000000",)),
    _keyword(DingTalkChannel("dk", "t", flavor="text", mention_all=True), '安全"提醒"'),
    FeishuChannel("f", "t", secret=FAKE_SECRET),
    _keyword(FeishuChannel("fp", "t", secret=FAKE_SECRET, flavor="markdown"), "提醒"),
    WebhookChannel("h", "http://127.0.0.1:9/hook", secret=FAKE_SECRET),
    LogChannel("log"),
]

# Chinese, emoji sequences, and what JSON escapes ("\n" 2 bytes, "\x01" 6 bytes)
EMOJI = [
    "😀",
    "🚒",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "\n",
    " ",
    "a",
    '"',
    "\\",
    "\t",
    "\x01",
    "\u2028",
]
texty = st.lists(
    st.one_of(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), st.sampled_from(EMOJI)),
    min_size=1,
    max_size=1500,
).map("".join)


@settings(max_examples=120, deadline=None)
@given(
    titles=st.lists(texty, min_size=1, max_size=12),
    channel=st.sampled_from(CHANNELS),
    unit=st.text(min_size=1, max_size=30),
    link=st.one_of(st.none(), texty.map(lambda t: "https://example.org/" + t[:200])),
    actions=st.booleans(),
)
def test_no_body_exceeds_its_robots_limit_and_every_reminder_is_carried(
    titles: list[str], channel: Channel, unit: str, link: str | None, actions: bool
) -> None:
    """The whole request body as the robot measures it (envelope, title, keyword,
    mentions, links, keys, after JSON escaping) stays under the limit less the margin."""
    items = [
        (reminder(f"{i}.1", title, date(2026, 9, 23 + i % 5)), f"key-{i}-{title[:40]}")
        for i, title in enumerate(titles)
    ]
    renderer = Renderer(_CALENDAR, action_link=lambda occ: f'https://x.example/act/{occ}"')
    parts = renderer.render(unit, items, TODAY, fit=channel, link=link, actions=actions, unit=unit)
    carried = set()
    for part in parts:
        body = channel.body(part.outgoing())
        assert len(body) <= channel.max_body < channel.byte_limit
        carried.update(part.keys)
    assert carried == {key for _, key in items}
    joined = "".join(part.text for part in parts)
    for title in titles:  # as data: on one line, without control characters
        assert inert(title) in joined.replace("\n", "")


@given(st.lists(texty, min_size=1, max_size=20), st.integers(min_value=16, max_value=5000))
def test_split_keeps_order_and_budget(texts: list[str], budget: int) -> None:
    blocks = [Block(text, (str(i),)) for i, text in enumerate(texts)]
    groups = split(blocks, budget)
    assert "".join(b.text for g in groups for b in g) == "".join(texts)
    for group in groups:
        assert measure("\n".join(b.text for b in group)) <= budget
