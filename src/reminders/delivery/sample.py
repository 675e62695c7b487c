"""What `send-test` sends: a unit's next digest, rendered by the service's own code.

So a test that passes means the service's messages pass: the same templates,
byte limits, format, mentions, keyword and links, only the title marked 【测试】.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from ..channels.base import Channel, Outgoing
from ..config import Config
from .plan import Delivery, Reminder, reminders_between, zone
from .render import DEFAULT_TEMPLATES, Renderer, duty_texts

TEST_MARK = "【测试】"
HORIZON = timedelta(days=400)


def next_batch(
    config: Config, unit: str, now: datetime, completions: Collection[str] = ()
) -> list[Reminder]:
    """The unit's reminders at its next reminder instant after `now`; [] if none within
    the horizon."""
    upcoming = [
        r
        for r in reminders_between(config.plan, now, now + HORIZON, completions, {unit})
        if r.unit == unit
    ]
    if not upcoming:
        return []
    first = min(r.instant for r in upcoming)
    return [r for r in upcoming if r.instant == first]


def sample_messages(
    config: Config,
    channel: Channel,
    batch: list[Reminder],
    now: datetime,
    action_link: Callable[[str], str] | None = None,
) -> list[Outgoing]:
    """The messages `channel` would get for `batch` (rendered as of its instant), or one
    plain test message when the batch is empty."""
    templates = {**DEFAULT_TEMPLATES, **config.channels.templates}
    templates["title"] = TEST_MARK + templates["title"]
    renderer = Renderer(
        config.plan.calendar,
        templates,
        config.channels.link_template,
        duty_texts(config.plan),
        action_link=action_link,
    )
    if not batch:
        title = TEST_MARK + "reminders 测试消息"
        text = (
            f"这是 reminders 的测试消息；一年内没有待推送的提醒。\n发送时间：{now:%Y-%m-%d %H:%M}"
        )
        return [Outgoing(title, text)]
    today = batch[0].instant.astimezone(zone(config.plan.settings)).date()
    deliveries = [Delivery(r, channel.name) for r in batch]
    return [part.outgoing() for part in renderer.digest(channel, deliveries, today)]
