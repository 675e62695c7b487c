"""The weekly report to the bureau's robots: a deliverable like any reminder.

The week's delivery is claimed in the ledger under `report/<ISO week>@weekly>
<channel>`, written to the outbox and sent as a digest part is: rate limit,
in-run retries, then failed with a retry time (or dead, with the robot's
message in `reminders status`). Every wake-up and sweep of the service looks at
it until it is sent or dead, so a failed report is retried on the reminders'
backoff and one claimed by a process that died is taken over when its lease
runs out; one owed from an earlier week still goes out, late. A report whose
time passed while the service was stopped goes out when it starts, within the
same ISO week; an older week's was never claimed and is not sent, nor one whose
time came before the ledger was made (a first start sends none: the first
report goes out at the next report time).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..channels.base import Channel, Outgoing, measure
from ..core.model import Settings
from ..core.plan import Plan
from ..delivery.plan import channels_of
from ..delivery.sender import ChannelOutcome, Deliverer
from ..ledger import Entry
from .loop import Loop
from .report import render_report

log = logging.getLogger("reminders.loop")


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def report_times(
    settings: Settings, now: datetime, since: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """(this ISO week's report time if it has come, the next report time), in the
    settings' zone; (None, None) when the report is off. `since`: when tracking
    started (the ledger was made); a report time before it is not this week's
    report to send, so the first report goes out at the next report time."""
    loop = settings.loop
    if loop.report_weekday is None:
        return None, None
    local = now.astimezone(ZoneInfo(settings.timezone))
    monday = local.date() - timedelta(days=local.weekday())
    day = monday + timedelta(days=_WEEKDAYS.index(loop.report_weekday))
    this_week = datetime.combine(day, loop.report_time, local.tzinfo)
    if this_week <= local:
        came = since is None or this_week >= since
        return (this_week if came else None), this_week + timedelta(days=7)
    return None, this_week


def report_units(plan: Plan) -> list[str]:
    """`loop.report_to`, else every unit some other unit names as its supervisor."""
    chosen = plan.settings.loop.report_to
    names = plan.unit_names()
    if chosen is not None:
        return [u for u in chosen if u in names]
    supervisors = {u.supervisor for u in plan.units if u.supervisor}
    return [name for name in names if name in supervisors]


def _fit(text: str, limit: int, size: Callable[[str], int] = measure) -> str:
    """Whole lines up to the robot's limit (as `size` counts), with a note when some were
    left out."""
    if size(text) <= limit:
        return text
    tail = "\n…（其余从略，完整报告：reminders report）"
    kept: list[str] = []
    total = size(tail)
    newline = size("\n")
    for line in text.split("\n"):
        width = size(line) + newline
        if total + width > limit:
            break
        kept.append(line)
        total += width
    return "\n".join(kept) + tail


STEP = "weekly"


def _messages(
    channel: Channel, title: str, text: str, unit: str, keys: Collection[str]
) -> list[Outgoing]:
    """The report as one message per delivery key, cut to what the robot takes."""
    out = []
    for key in keys:
        limit = channel.budget(Outgoing(title, "", unit, (key,)))
        out.append(Outgoing(title, _fit(text, limit, channel.text_size), unit, (key,)))
    return out


def _owed(deliverer: Deliverer, loop: Loop, now: datetime, since: datetime | None) -> list[Entry]:
    """This week's report deliveries once its time has come (and came after `since`,
    when the ledger was made), and earlier ones not yet sent or dead (failed, or
    claimed by a sender that may have died)."""
    plan = loop.plan
    entries: dict[str, Entry] = {}
    due, _ = report_times(plan.settings, now, since)
    if due is not None:
        year, week, _ = due.date().isocalendar()
        subject = f"report/{year}-W{week:02d}"
        for unit in report_units(plan):
            for name in channels_of(plan, unit):
                if name not in deliverer.channels:
                    log.warning("周报 (weekly report)：%s 的渠道 %s 未配置", unit, name)
                    continue
                key = f"{subject}@{STEP}>{name}"
                entries[key] = Entry(key, subject, STEP, name, unit, due)
    for status in ("failed", "claimed"):
        for row in deliverer.ledger.rows(status=status, step=STEP):
            if row.key not in entries and row.channel in deliverer.channels:
                entries[row.key] = Entry(
                    row.key, row.subject, row.step, row.channel, row.unit, row.due_at
                )
    return sorted(entries.values(), key=lambda entry: (entry.due_at, entry.key))  # oldest first


async def send_weekly_report(
    deliverer: Deliverer, loop: Loop, now: datetime, since: datetime | None = None
) -> int:
    """Send the report deliveries owed now; return messages sent. Nothing is computed
    unless a delivery is won."""
    plan = loop.plan
    settings = plan.settings.delivery
    entries = await asyncio.to_thread(_owed, deliverer, loop, now, since)
    if not entries:
        return 0
    rows = await asyncio.to_thread(deliverer.ledger.statuses, [e.key for e in entries])
    settled = ("sent", "dead", "skipped")
    entries = [e for e in entries if e.key not in rows or rows[e.key].status not in settled]
    if not entries:
        return 0
    won = await deliverer.claim(entries, settings)
    if not won:
        return 0
    report = await asyncio.to_thread(loop.report, now, None, None, plan.settings.loop.report_worst)
    title, text = render_report(report)
    sent = 0
    for entry in entries:
        if entry.key not in won:
            continue
        channel = deliverer.channels[entry.channel]
        render = functools.partial(_messages, channel, title, text, entry.unit)
        outcome = ChannelOutcome(channel.name)
        prior = rows[entry.key].attempts if entry.key in rows else 0
        await deliverer.send_batch(
            channel, {entry.key}, render, "", settings, outcome, {entry.key: prior + 1}
        )
        if outcome.sent:
            log.info(
                "周报 (weekly report) %s 已发给 %s（%s）", entry.subject, entry.unit, channel.name
            )
            sent += outcome.messages
        else:
            log.error(
                "周报 (weekly report) %s 未能发到 %s：%s（详见 reminders status）",
                entry.subject,
                channel.name,
                outcome.error,
            )
    return sent
