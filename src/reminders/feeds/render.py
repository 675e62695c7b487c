"""Occurrences → iCalendar bytes. Pure: no clock, no files.

An event is rendered in two parts. The *body* is everything that describes the
occurrence (UID, dates, summary, text, alarms); its hash is the event's
content identity. The *stamp* (SEQUENCE and DTSTAMP) comes from the feed
history, which raises SEQUENCE whenever the body's hash changes. Same body and
same history give the same bytes.

Every date is a DATE (all-day) and every alarm is relative, so no property
carries a TZID and no VTIMEZONE is needed (RFC 5545 §3.6.5 asks for one per
TZID used); X-WR-TIMEZONE names the zone for clients that show one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import quote

from ..core.model import Duty, Settings, shift
from ..core.occurrence import KIND_LABELS, Occurrence
from ..core.workcalendar import WorkCalendar, weekday_cn
from . import ical
from .specs import FeedSpec

PRODID = "-//reminders//calendar feeds//ZH"
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class EventBody:
    uid: str
    body: bytes
    digest: str


def uid_for(occurrence_id: str, domain: str) -> str:
    return f"{occurrence_id}@{domain}"


def occurrence_id_of(uid: str) -> str:
    """The inverse of uid_for: the occurrence id in a feed's UID."""
    return uid.rpartition("@")[0]


# (calendar id, due, offsets, time) → (calendar, bytes): one VALARM block is shared
# by every unit's event due that day; the calendar is kept to rule out id reuse.
_ALARMS: dict[tuple[int, date, tuple[str, ...], time], tuple[WorkCalendar, bytes]] = {}


def _alarms(calendar: WorkCalendar, due: date, offsets: tuple[str, ...], at: time) -> bytes:
    """A VALARM per lead time, at the send window's opening on that day."""
    key = (id(calendar), due, offsets, at)
    hit = _ALARMS.get(key)
    if hit is not None and hit[0] is calendar:
        return hit[1]
    days = {shift(calendar, due, offset, -1) for offset in offsets}
    end = due + _ONE_DAY
    seconds = at.hour * 3600 + at.minute * 60
    out = []
    for day in sorted(days):
        when = "今天到期" if day == due else f"{(due - day).days}天后到期"
        out += [
            b"BEGIN:VALARM\r\n",
            b"ACTION:DISPLAY\r\n",
            ical.line("TRIGGER;RELATED=END", ical.duration((day - end).days * 86400 + seconds)),
            ical.text("DESCRIPTION", f"安全生产任务{when}"),
            b"END:VALARM\r\n",
        ]
    block = b"".join(out)
    if len(_ALARMS) > 8192:
        _ALARMS.clear()
    _ALARMS[key] = (calendar, block)
    return block


# What the closed loop says about an occurrence: a note (done), or (state, note) with
# state "done" or "waived". Waived events are STATUS:CANCELLED; done ones keep their
# status and get a "✓" prefix; neither carries alarms.
Mark = str | tuple[str, str]


def mark_of(completed: Mark | None) -> tuple[str, str] | None:
    if completed is None:
        return None
    if isinstance(completed, str):
        return ("done", completed)
    return completed


_MARK_LABELS = {"done": "已完成", "waived": "已免除"}
_PROVISIONAL = "暂定：该年尚无官方节假日安排，按周末推算，公布后日期可能调整。"
UNTRACKED = "未跟踪"
_UNTRACKED_NOTE = "未跟踪：到期日在开始跟踪（track_from）之前，不推送提醒，不计入逾期。"


def _description(
    occurrence: Occurrence, duty: Duty, state: Sequence[str], scope: str, closed: bool
) -> str:
    """The duty's text, where it stands (`state` lines), then its particulars; `scope`
    says whose event it is (本单位：教育局); `closed`: done or waived."""
    due = occurrence.due
    parts = [duty.text or duty.title, ""]
    if state:
        parts += [*state, ""]
    parts.append(f"编号：{duty.id}")
    if duty.section:
        parts.append(f"部分：{duty.section}")
    if duty.measure:
        parts.append(f"措施：{duty.measure}")
    parts.append(f"责任单位：{'、'.join(duty.units)}（{scope}）")
    if duty.partners:
        parts.append(f"配合单位：{'、'.join(duty.partners)}")
    if duty.leader:
        parts.append(f"责任人：{duty.leader}")
    if duty.time_limit:
        parts.append(f"时限（原文）：{duty.time_limit}")
    parts.append(
        f"本次：{occurrence.label}（{KIND_LABELS[occurrence.kind]}，依据“{occurrence.source}”）"
    )
    if occurrence.start is not None and occurrence.start < due:
        parts.append(f"期间：{occurrence.start} 至 {due}")
    parts.append(f"到期：{due}（{weekday_cn(due)}）")
    if occurrence.provisional:
        parts.append(_PROVISIONAL)
    if not occurrence.tracked and not closed:
        parts.append(_UNTRACKED_NOTE)
    return "\n".join(parts)


def _mark_line(mark: tuple[str, str] | None) -> list[str]:
    if mark is None:
        return []
    state, note = mark
    label = _MARK_LABELS[state]
    return [f"{label}：{note}" if note else label]


def render_event(
    occurrence: Occurrence,
    duty: Duty,
    settings: Settings,
    calendar: WorkCalendar,
    completed: Mark | None = None,
) -> EventBody:
    """The body of one VEVENT (without BEGIN/END, SEQUENCE and DTSTAMP)."""
    mark = mark_of(completed)
    return _occurrence_body(
        occurrence.id,
        (occurrence.unit, ""),
        occurrence,
        duty,
        mark,
        (_mark_line(mark), f"本单位：{occurrence.unit}"),
        settings,
        calendar,
    )


def _occurrence_body(
    event_id: str,
    who: tuple[str, str],
    occurrence: Occurrence,
    duty: Duty,
    mark: tuple[str, str] | None,
    state: tuple[Sequence[str], str],
    settings: Settings,
    calendar: WorkCalendar,
) -> EventBody:
    """One duty occurrence's event, a unit's or a group's. `who`: (whose, progress
    suffix) for the summary; `state`: (where it stands, scope) for the description."""
    whose, progress = who
    lines, scope = state
    due = occurrence.due
    kind = KIND_LABELS[occurrence.kind]
    summary = f"【{kind}】{whose}：{occurrence.title}（{occurrence.label}）{progress}"
    offsets = tuple(duty.lead_times if duty.lead_times is not None else settings.lead_times)
    quiet = mark is not None or not occurrence.tracked
    return _body(
        event_id,
        min(occurrence.start or due, due),
        due,
        _marked(summary, mark, occurrence.tracked),
        _description(occurrence, duty, lines, scope, mark is not None),
        [c for c in (duty.section, kind) if c],
        _status(occurrence.provisional, mark),
        None if quiet else offsets,
        settings,
        calendar,
    )


def render_review(
    group: str,
    unit: str,
    members: Sequence[tuple[Duty, Occurrence, Mark | None]],
    settings: Settings,
    calendar: WorkCalendar,
) -> EventBody:
    """One self-check event for a unit's standing duties of one period (DESIGN §3),
    listing each duty and whether it is done; closed when every one is. The
    occurrences give the period's dates and label (any unit's will do)."""
    first = members[0][1]
    marks = [mark_of(m) for _, _, m in members]
    closed = [m for m in marks if m is not None]
    done = sum(1 for m in closed if m[0] == "done")
    mark: tuple[str, str] | None = None
    if len(closed) == len(members):
        mark = ("done", "") if done else ("waived", "")
    due = min(o.due for _, o, _ in members)
    kind = KIND_LABELS[first.kind]
    summary = f"【{kind}】{unit}：{len(members)}项长期坚持事项（{first.label}）"
    if closed and mark is None:
        waived = len(closed) - done
        summary += f"（已完成{done}项{f'，免除{waived}项' if waived else ''}）"
    lines = [f"{unit}逐项自查以下长期坚持事项的落实情况：", ""]
    for (duty, _, _), item in zip(members, marks, strict=True):
        if item is None:
            lines.append(f"☐ {duty.id} {duty.title}")
        else:
            state, note = item
            label = _MARK_LABELS[state]
            lines.append(
                f"{'✓' if state == 'done' else '—'} {duty.id} {duty.title}"
                f"（{label}{'：' + note if note else ''}）"
            )
    provisional = any(o.provisional for _, o, _ in members)
    tracked = any(o.tracked for _, o, _ in members)
    return _self_check(
        group, summary, lines, first, due, (provisional, tracked), mark, settings, calendar
    )


def _self_check(
    event_id: str,
    summary: str,
    lines: list[str],
    first: Occurrence,
    due: date,
    flags: tuple[bool, bool],
    mark: tuple[str, str] | None,
    settings: Settings,
    calendar: WorkCalendar,
) -> EventBody:
    """A self-check event: `lines` list the duties; the period and due date follow.
    `flags`: (provisional, tracked)."""
    provisional, tracked = flags
    lines = [*lines, "", f"本次：{first.label}", f"到期：{due}（{weekday_cn(due)}）"]
    if provisional:
        lines.append(_PROVISIONAL)
    if not tracked and mark is None:
        lines.append(_UNTRACKED_NOTE)
    quiet = mark is not None or not tracked
    return _body(
        event_id,
        due,
        due,
        _marked(summary, mark, tracked),
        "\n".join(lines),
        [KIND_LABELS[first.kind]],
        _status(provisional, mark),
        None if quiet else tuple(settings.delivery.review_lead_times),
        settings,
        calendar,
    )


# -- group feeds: one event per duty occurrence, with where the group's units stand --

GROUP_NAMES = 20  # units named as not done in a group event; the rest are counted


@dataclass(frozen=True, slots=True)
class Tally:
    """Where a group's units stand on one occurrence of a duty (or one self-check)."""

    total: int
    done: int
    waived: int
    waiting: tuple[str, ...]  # the first units not done, up to GROUP_NAMES

    @property
    def open(self) -> int:
        return self.total - self.done - self.waived

    def mark(self) -> tuple[str, str] | None:
        """Closed when every unit is: done if any did it, else waived."""
        if self.open:
            return None
        return ("done", "") if self.done else ("waived", "")

    def progress(self) -> str:
        """'（已完成37/100）' while some but not all units are closed; else ''."""
        if not self.open or self.open == self.total:
            return ""
        waived = f"，免除{self.waived}" if self.waived else ""
        return f"（已完成{self.done}/{self.total}{waived}）"

    def lines(self, what: str = "") -> list[str]:
        counts = f"{self.total}个单位中已完成{what}{self.done}个"
        if self.waived:
            counts += f"，免除{self.waived}个"
        if self.open:
            counts += f"，未完成{self.open}个"
        out = [f"完成情况：{counts}"]
        if self.waiting:
            more = f"等{self.open}个单位" if self.open > len(self.waiting) else ""
            out.append(f"未完成：{'、'.join(self.waiting)}{more}")
        return out


def tally(units: Sequence[str], states: Mapping[str, str]) -> Tally:
    """`units` in order; `states`: unit → "done" or "waived" for those of `units` that
    are closed."""
    done = sum(1 for state in states.values() if state == "done")
    waiting: list[str] = []
    if len(states) < len(units):
        for unit in units:
            if unit not in states:
                waiting.append(unit)
                if len(waiting) == GROUP_NAMES:
                    break
    return Tally(len(units), done, len(states) - done, tuple(waiting))


def render_group_event(
    event_id: str,
    who: str,
    occurrence: Occurrence,
    duty: Duty,
    count: Tally,
    settings: Settings,
    calendar: WorkCalendar,
) -> EventBody:
    """One event for one occurrence of a duty across a group's units (any unit's
    occurrence gives the dates and labels): how many have done it, who has not."""
    return _occurrence_body(
        event_id,
        (who, count.progress()),
        occurrence,
        duty,
        count.mark(),
        (count.lines(), f"本日历汇总{count.total}个单位"),
        settings,
        calendar,
    )


def render_group_review(
    event_id: str,
    who: str,
    members: Sequence[tuple[Duty, Occurrence, Tally]],
    units: Tally,
    settings: Settings,
    calendar: WorkCalendar,
) -> EventBody:
    """One self-check event for a group's standing duties of one period: each duty with
    how many units closed it, and how many units closed all of theirs (`units`)."""
    first = members[0][1]
    mark = units.mark()
    due = min(o.due for _, o, _ in members)
    kind = KIND_LABELS[first.kind]
    summary = f"【{kind}】{who}：{len(members)}项长期坚持事项（{first.label}）{units.progress()}"
    lines = [f"各单位逐项自查以下长期坚持事项的落实情况（{units.total}个单位）：", ""]
    for duty, _, count in members:
        state = count.mark()
        symbol = "☐" if state is None else ("✓" if state[0] == "done" else "—")
        waived = f"，免除{count.waived}" if count.waived else ""
        lines.append(f"{symbol} {duty.id} {duty.title}（已完成{count.done}/{count.total}{waived}）")
    lines += ["", *units.lines("自查")]
    provisional = any(o.provisional for _, o, _ in members)
    tracked = any(o.tracked for _, o, _ in members)
    return _self_check(
        event_id, summary, lines, first, due, (provisional, tracked), mark, settings, calendar
    )


def _marked(summary: str, mark: tuple[str, str] | None, tracked: bool = True) -> str:
    if mark is None:
        return summary if tracked else f"（{UNTRACKED}）{summary}"
    return f"✓已完成 {summary}" if mark[0] == "done" else f"（已免除）{summary}"


def _status(provisional: bool, mark: tuple[str, str] | None) -> str:
    if mark is not None and mark[0] == "waived":
        return "CANCELLED"
    return "TENTATIVE" if provisional else "CONFIRMED"


def _body(
    event_id: str,
    start: date,
    due: date,
    summary: str,
    description: str,
    categories: list[str],
    status: str,
    alarm_offsets: tuple[str, ...] | None,
    settings: Settings,
    calendar: WorkCalendar,
) -> EventBody:
    feeds = settings.feeds
    uid = uid_for(event_id, feeds.uid_domain)
    out = [
        ical.text("UID", uid),
        ical.line("DTSTART;VALUE=DATE", ical.ical_date(start)),
        ical.line("DTEND;VALUE=DATE", ical.ical_date(due + _ONE_DAY)),
        ical.text("SUMMARY", summary),
        ical.text("DESCRIPTION", description),
        ical.line("CATEGORIES", ",".join(ical.escape_text(c) for c in categories)),
        ical.line("STATUS", status),
        ical.line("TRANSP", "TRANSPARENT"),
    ]
    if feeds.dashboard_url:
        out.append(ical.line("URL", feeds.dashboard_url.replace("{id}", quote(event_id))))
    if alarm_offsets is not None:
        out.append(_alarms(calendar, due, alarm_offsets, settings.send_window.start))
    body = b"".join(out)
    return EventBody(uid, body, hashlib.sha256(body).hexdigest()[:20])


def event_chunk(event: EventBody, sequence: int, stamp: datetime) -> bytes:
    """A whole VEVENT: the body plus the stamp the history gives it."""
    return b"".join(
        (
            b"BEGIN:VEVENT\r\n",
            event.body,
            ical.line("DTSTAMP", ical.ical_utc(stamp)),
            ical.line("LAST-MODIFIED", ical.ical_utc(stamp)),
            ical.line("SEQUENCE", str(sequence)),
            b"END:VEVENT\r\n",
        )
    )


def calendar_head(spec: FeedSpec, settings: Settings) -> bytes:
    refresh = ical.duration(settings.feeds.refresh_minutes * 60)
    what = "到期任务" if spec.kind == "unit" else "每项任务每期一个事件，注明各单位完成情况"
    description = f"{spec.title}：{what}（由 reminders 生成，请勿手工修改）"
    return b"".join(
        (
            b"BEGIN:VCALENDAR\r\n",
            b"VERSION:2.0\r\n",
            ical.line("PRODID", PRODID),
            b"CALSCALE:GREGORIAN\r\n",
            b"METHOD:PUBLISH\r\n",
            ical.text("NAME", spec.title),
            ical.text("X-WR-CALNAME", spec.title),
            ical.text("X-WR-CALDESC", description),
            ical.line("X-WR-TIMEZONE", settings.timezone),
            ical.line("REFRESH-INTERVAL;VALUE=DURATION", refresh),
            ical.line("X-PUBLISHED-TTL", refresh),
        )
    )


CALENDAR_TAIL = b"END:VCALENDAR\r\n"
