"""The weekly report to the bureau's robots: one message per week per channel, never twice.

The week's delivery is claimed in the ledger under `report/<ISO week>@weekly>
<channel>` like any reminder, so a restart or a second instance does not send
it again; a failure is recorded with the robot's message (`reminders status`).
A report whose time passed while the service was stopped goes out when it
starts, within the same ISO week; an older week's is not sent, nor one whose
time came before the ledger was made (a first start sends none: the first
report goes out at the next report time).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..channels.base import Channel, Outgoing, measure
from ..core.model import Settings
from ..core.plan import Plan
from ..delivery.plan import channels_of
from ..delivery.sender import Deliverer
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


def _fit(text: str, limit: int) -> str:
    """Whole lines up to the robot's limit, with a note when some were left out."""
    if measure(text) <= limit:
        return text
    tail = "\n…（其余从略，完整报告：reminders report）"
    kept: list[str] = []
    size = measure(tail)
    for line in text.split("\n"):
        width = measure(line) + 2
        if size + width > limit:
            break
        kept.append(line)
        size += width
    return "\n".join(kept) + tail


async def send_weekly_report(deliverer: Deliverer, loop: Loop, now: datetime) -> int:
    """Send this week's report to each report unit's channels; return messages sent.
    Each delivery is claimed first: once the week's are all sent, nothing is computed.
    A send goes as a reminder's does (rate limit, retries, recorded failed or dead)."""
    plan = loop.plan
    settings = plan.settings.delivery
    year, week, _ = loop.today(now).isocalendar()
    subject = f"report/{year}-W{week:02d}"
    entries: list[tuple[Entry, Channel]] = []
    for unit in report_units(plan):
        for name in channels_of(plan, unit):
            channel = deliverer.channels.get(name)
            if channel is None:
                log.warning("weekly report: channel %s of %s is not configured", name, unit)
                continue
            entry = Entry(f"{subject}@weekly>{name}", subject, "weekly", name, unit, now)
            entries.append((entry, channel))
    won = await deliverer.claim([entry for entry, _ in entries], settings)
    if not won:
        return 0
    report = await asyncio.to_thread(loop.report, now, None, None, plan.settings.loop.report_worst)
    title, text = render_report(report)
    sent = 0
    for entry, channel in entries:
        if entry.key not in won:
            continue
        body = _fit(text, channel.limit_for(title))
        message = Outgoing(title, body, entry.unit, (entry.key,))
        answer = await deliverer.send_claimed(channel, message, settings)
        if answer is None:
            log.error("weekly report to %s not sent (see reminders status)", entry.channel)
            continue
        log.info("weekly report sent to %s (%s): %s", entry.unit, entry.channel, answer)
        sent += 1
    return sent
