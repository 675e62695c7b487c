"""Render the reminders for one robot at one instant as one digest, split at its byte limit.

Templates are `string.Template` text (`$name`), overridable in channels.yaml
under `templates:`. The digest groups overdue → today → upcoming, then the
self-check (长期坚持) lists. When it is too long for the robot it is split
between items; an item longer than a whole message is cut between characters
(never inside one, never before a combining mark or joiner). Sizes are the
channel's: what each piece adds to the request body the robot measures, and
every part's real body is checked against the channel's limit before it is kept.

Every value that came from the table or the config (unit, title, text, label, …)
is made `inert` before it fills a template: one line, no control characters, no
mention, tag or link a robot would act on; only the templates' own markup and our
links (`$act`, `$link`) reach the robot as such. Sizes are measured after that.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from string import Template
from typing import Protocol

from ..channels.base import Channel, Outgoing, measure
from ..core.model import duty_sort_key
from ..core.occurrence import Occurrence
from ..core.plan import Plan
from ..core.workcalendar import WEEKDAYS_CN, WorkCalendar
from ..safetext import inert
from .plan import Delivery, Reminder

DEFAULT_TEMPLATES: dict[str, str] = {
    "title": "【安全生产提醒】$unit · $date",
    "overdue": "**⚠ 已逾期（$count 项）**",
    "today": "**今日到期（$count 项）**",
    "upcoming": "**即将到期（$count 项）**",
    "item": "- [$duty] $text\n  截止：$due（周$weekday）$provisional，$left\n  $basis",
    # a robot shared by several units (or the log): each item says whose it is
    "unit_item": "- $unit：[$duty] $text\n  截止：$due（周$weekday）$provisional，$left\n  $basis",
    "review": "**长期坚持事项自查 · $period（$count 项，$due 前完成）**",
    "unit_review": "**$unit：长期坚持事项自查 · $period（$count 项，$due 前完成）**",
    "review_item": "- [$duty] $title",
    "footer": "日程订阅：$link",
    # the unit's page in the web console (督办看板), when it is served: after a login
    "console": "督办看板（本单位全部事项、上传佐证）：$console",
    "part": "（$part/$parts）",
    "escalated": "**⚠ 下属单位逾期，请督办（$count 项）**",
    "escalated_item": "- $unit：[$duty] $text\n  截止：$due（周$weekday），$left",
    "action": "  办结确认：$act",
    # under a self-check heading: one link that closes every duty of it still open
    "review_action": "  全部自查完毕：$act",
}

_PART_PLACEHOLDER = {"part": "99", "parts": "99"}


@dataclass(frozen=True, slots=True)
class Block:
    text: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RenderedPart:
    title: str
    text: str
    keys: tuple[str, ...]
    part: int
    parts: int
    unit: str = ""

    def outgoing(self) -> Outgoing:
        return Outgoing(self.title, self.text, self.unit, self.keys, self.part, self.parts)


class Fit(Protocol):
    """How a channel measures a message (every Channel is one)."""

    @property
    def flavor(self) -> str: ...

    def budget(self, envelope: Outgoing) -> int: ...

    def text_size(self, text: str) -> int: ...

    def keys_size(self, keys: tuple[str, ...]) -> int: ...

    def overflow(self, message: Outgoing) -> int: ...


def days_left(calendar: WorkCalendar, today: date, due: date) -> str:
    days = (due - today).days
    workdays = calendar.workdays_between(today, due)
    if days > 0:
        return f"还有 {days} 天（{workdays} 个工作日）"
    if days == 0:
        return "今天到期"
    return f"已逾期 {-days} 天（{-workdays} 个工作日）"


def _fill(template: str, values: Mapping[str, object]) -> str:
    return Template(template).safe_substitute({k: str(v) for k, v in values.items()})


def _plain(text: str) -> str:
    text = text.replace("**", "")
    return re.sub(r"(?m)^> ", "  ", text)


class Renderer:
    def __init__(
        self,
        calendar: WorkCalendar,
        templates: Mapping[str, str] | None = None,
        link_template: str | None = None,
        texts: Mapping[str, str] | None = None,
        action_link: Callable[[str], str] | None = None,
    ) -> None:
        self.calendar = calendar
        # occurrence (or self-check group) id → its signed "done" link (closed loop)
        self.action_link = action_link
        self.texts = dict(texts or {})
        self.templates = {**DEFAULT_TEMPLATES, **(templates or {})}
        self.link_template = link_template

    def occurrence_values(self, occ: Occurrence, today: date) -> dict[str, object]:
        """An item's template values; what came from the table or config made `inert`."""
        values = {
            "id": occ.id,
            "duty": occ.duty,
            "unit": occ.unit,
            "title": occ.title,
            "text": self.texts.get(occ.duty) or occ.title,
            "label": occ.label,
            "due": occ.due.isoformat(),
            "weekday": WEEKDAYS_CN[occ.due.weekday()],
            "left": days_left(self.calendar, today, occ.due),
            "source": occ.source,
            "period": occ.period,
            "provisional": "（暂定）" if occ.provisional else "",
            "basis": f"依据：{occ.source}"
            if occ.label == occ.source
            else f"{occ.label} · 依据：{occ.source}",
        }
        return {name: inert(str(value)) for name, value in values.items()}

    def blocks(
        self, items: Sequence[tuple[Reminder, str]], today: date, actions: bool = True
    ) -> list[Block]:
        """Items are (reminder, ledger key) pairs for one robot at one instant; `actions`:
        whether items carry their action links (not in the log, which nobody taps)."""
        t = self.templates
        groups: dict[str, list[tuple[Reminder, str]]] = {
            "escalated": [],
            "overdue": [],
            "today": [],
            "upcoming": [],
        }
        reviews: list[tuple[Reminder, str]] = []
        several = len({reminder.unit for reminder, _ in items}) > 1
        for reminder, key in items:
            if reminder.stage == "review":
                reviews.append((reminder, key))
            elif reminder.unit != reminder.occurrences[0].unit:  # escalated to a supervisor
                groups["escalated"].append((reminder, key))
            elif reminder.due < today:
                groups["overdue"].append((reminder, key))
            elif reminder.due == today:
                groups["today"].append((reminder, key))
            else:
                groups["upcoming"].append((reminder, key))
        out: list[Block] = []
        for name, members in groups.items():
            if not members:
                continue
            members.sort(key=lambda pair: (pair[0].due, duty_sort_key(pair[0].occurrences[0].duty)))
            heading = _fill(t[name], {"count": len(members)})
            for index, (reminder, key) in enumerate(members):
                occ = reminder.occurrences[0]
                item = "escalated_item" if name == "escalated" else "item"
                if several and name != "escalated":
                    item = "unit_item"
                text = _fill(t[item], self.occurrence_values(occ, today))
                if actions and self.action_link is not None and name != "escalated":
                    text += "\n" + _fill(t["action"], {"act": self.action_link(occ.id)})
                if index == 0:
                    text = f"{heading}\n{text}"
                out.append(Block(text, (key,)))
        for reminder, key in sorted(reviews, key=lambda pair: (pair[0].due, pair[0].subject)):
            occs = sorted(reminder.occurrences, key=lambda o: duty_sort_key(o.duty))
            first = occs[0]
            heading = _fill(
                t["unit_review" if several else "review"],
                {
                    "count": len(occs),
                    "period": inert(first.label.split("·")[-1]),
                    "due": first.due.isoformat(),
                    "unit": inert(first.unit),
                },
            )
            if actions and self.action_link is not None:
                # the reminder's subject is the group id, `review/<unit>/<period>`
                act = self.action_link(reminder.subject)
                heading += "\n" + _fill(t["review_action"], {"act": act, "count": len(occs)})
            for index, occ in enumerate(occs):
                text = _fill(t["review_item"], self.occurrence_values(occ, today))
                if actions and self.action_link is not None:
                    text += "\n" + _fill(t["action"], {"act": self.action_link(occ.id)})
                if index == 0:
                    text = f"{heading}\n{text}"
                out.append(Block(text, (key,)))
        return out

    def link(self, unit: str, channel_link: str | None) -> str | None:
        if channel_link:
            return channel_link
        if self.link_template:
            return _fill(self.link_template, {"unit": unit})
        return None

    def digest(
        self, channel: Channel, items: Sequence[Delivery], today: date
    ) -> list[RenderedPart]:
        """One robot's digest of `items`, shaped by its byte limit, format and link."""
        units = list(dict.fromkeys(d.reminder.unit for d in items))
        return self.render(
            "、".join(units),
            [(d.reminder, d.key) for d in items],
            today,
            fit=channel,
            link=self.link(units[0], channel.link) if len(units) == 1 else channel.link,
            actions=channel.kind != "log",  # action links are capabilities: not in logs
            unit=units[0] if len(units) == 1 else "",
        )

    def render(
        self,
        unit_label: str,
        items: Sequence[tuple[Reminder, str]],
        today: date,
        *,
        fit: Fit,
        link: str | None = None,
        actions: bool = True,
        unit: str = "",
    ) -> list[RenderedPart]:
        """The parts, each body within `fit`'s limit; `unit`: the message's unit field."""
        t = self.templates
        title = _fill(t["title"], {"unit": inert(unit_label), "date": f"{today:%-m月%-d日}"})
        blocks = self.blocks(items, today, actions)
        footer = _fill(t["footer"], {"link": link}) if link else ""
        page = self._unit_page(unit) if actions else None
        if page:
            footer = "\n".join(f for f in (_fill(t["console"], {"console": page}), footer) if f)
        if fit.flavor == "text":
            title, footer = _plain(title), _plain(footer)
            blocks = [Block(_plain(b.text), b.keys) for b in blocks]
        longest_title = title + _fill(t["part"], _PART_PLACEHOLDER)
        envelope = Outgoing(longest_title, "", unit, (), 99, 99)
        budget = fit.budget(envelope) - (fit.text_size("\n\n" + footer) if footer else 0)
        while True:
            if budget < 16:
                raise ValueError("the title and footer templates leave no room for the message")
            groups = split(blocks, budget, fit.text_size, fit.keys_size)
            parts: list[RenderedPart] = []
            for number, group in enumerate(groups, 1):
                text = "\n".join(b.text for b in group)
                if footer and number == len(groups):
                    text = f"{text}\n\n{footer}"
                part_title = title
                if len(groups) > 1:
                    part_title += _fill(t["part"], {"part": number, "parts": len(groups)})
                keys = tuple(dict.fromkeys(k for b in group for k in b.keys))
                parts.append(RenderedPart(part_title, text, keys, number, len(groups), unit))
            # the sizes above are exact for every channel we know; the real bodies decide
            over = max(fit.overflow(part.outgoing()) for part in parts)
            if over <= 0:
                return parts
            budget -= over

    def _unit_page(self, unit: str) -> str | None:
        unit_page: Callable[[str | None], str | None] | None = getattr(
            self.action_link, "unit_page", None
        )  # ActionLinks (closed loop) knows whether the console is served
        return unit_page(unit or None) if unit_page is not None else None


def duty_texts(plan: Plan) -> dict[str, str]:
    """Each duty's full task text (the title is a shortened form) and its 责任人, for `$text`;
    with several plans, after its plan's name, as the title has it (〔2025〕…)."""
    texts: dict[str, str] = {}
    for c in plan.all_duties:
        text = c.duty.text.strip()
        if text and plan.several and c.table is not None:
            text = c.table.named(text)
        if c.duty.leader:
            text = f"{text or c.duty.title}（责任人：{c.duty.leader}）"
        if text:
            texts[c.duty.id] = text
    return texts


def _breakable(text: str, index: int) -> bool:
    """May a cut go before text[index]? Not before a combining mark, joiner or selector."""
    char = text[index]
    if (
        unicodedata.combining(char)
        or char in "\u200d\ufe0e\ufe0f"
        or 0x1F3FB <= ord(char) <= 0x1F3FF
    ):
        return False
    return text[index - 1] != "\u200d"


def cut(text: str, budget: int, size_of: Callable[[str], int] = measure) -> list[str]:
    """Cut `text` into pieces each with size ≤ budget, between characters."""
    pieces: list[str] = []
    start = 0
    size = 0
    last_break = 0
    index = 0
    while index < len(text):
        width = size_of(text[index])
        if size + width > budget:
            end = last_break if last_break > start else index
            if end == start:  # one character wider than the budget cannot happen for budget ≥ 16
                end = index + 1
            pieces.append(text[start:end])
            start = end
            index = max(index, end)
            size = size_of(text[start:index])
            last_break = start
            continue
        if index > start and _breakable(text, index):
            last_break = index
        size += width
        index += 1
    if start < len(text) or not pieces:
        pieces.append(text[start:])
    return pieces


def split(
    blocks: Sequence[Block],
    budget: int,
    size_of: Callable[[str], int] = measure,
    keys_size: Callable[[tuple[str, ...]], int] | None = None,
) -> list[list[Block]]:
    """Greedy: blocks joined by newlines, each group's size (its text's, plus what its
    blocks' keys add to the body) ≤ budget."""
    groups: list[list[Block]] = []
    current: list[Block] = []
    size = 0
    newline = size_of("\n")  # two bytes in JSON; more in Feishu's rich text
    for block in blocks:
        own = keys_size(block.keys) if keys_size else 0
        room = budget - own
        pieces = (
            [block]
            if size_of(block.text) <= room
            else [Block(piece, block.keys) for piece in cut(block.text, room, size_of)]
        )
        for piece in pieces:
            width = size_of(piece.text) + own
            extra = width + (newline if current else 0)
            if current and size + extra > budget:
                groups.append(current)
                current, size = [], 0
                extra = width
            current.append(piece)
            size += extra
    if current:
        groups.append(current)
    return groups
