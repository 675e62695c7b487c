"""`reminders send-test`, `due` and `status`: try a robot, preview pushes, read the ledger.

The channels, the delivery plan and the ledger (httpx, SQLAlchemy) are imported
by the commands that use them, not when the parser is built for every command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..exceptions import ConfigError, DeliveryError, Problem
from ..statedir import find_state_dir
from .common import at_or_now, load, parse_instant, print_json, state_dir_option, table_width
from .errors import EXIT_INVALID, EXIT_OK
from .table import Table

if TYPE_CHECKING:
    from ..channels.base import Channel, Outgoing
    from ..config import Config
    from ..delivery.plan import Delivery
    from ..ledger import Row


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    state = state_dir_option("ledger.sqlite3")

    test = commands.add_parser(
        "send-test",
        parents=[state],
        help="测试推送：把该单位下一次的提醒（标题带【测试】）按服务的格式发到它的机器人，打印应答",
    )
    test.add_argument("unit", metavar="UNIT", help="a unit name from units.yaml")
    test.add_argument("--channel", metavar="NAME", help="only this one of the unit's channels")
    test.set_defaults(run=cmd_send_test)

    due = commands.add_parser(
        "due", parents=[state], help="dry run: what would be sent at an instant (writes nothing)"
    )
    due.add_argument(
        "--at",
        metavar="DATETIME",
        type=parse_instant,
        help="YYYY-MM-DDTHH:MM in the configured time zone (default: now)",
    )
    due.add_argument("--json", action="store_true", help="print JSON instead of a table")
    due.add_argument("--render", action="store_true", help="print the messages as they would go")
    due.set_defaults(run=cmd_due)

    status = commands.add_parser(
        "status", parents=[state], help="sent, pending, failing and dead deliveries per robot"
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of tables")
    status.add_argument(
        "--limit", type=int, default=50, metavar="N", help="failing/dead rows listed (default 50)"
    )
    status.set_defaults(run=cmd_status)


# -- send-test --------------------------------------------------------------


def cmd_send_test(args: argparse.Namespace) -> int:
    from ..delivery.plan import channels_of
    from ..delivery.sample import next_batch, sample_messages
    from ..delivery.setup import channels_from_config, existing_ledger

    config = load(args)
    unit = next((u for u in config.plan.units if u.name == args.unit), None)
    if unit is None:
        known = ", ".join(config.plan.unit_names())
        raise ConfigError([Problem(f"unknown unit; known: {known}", field="UNIT", value=args.unit)])
    names = channels_of(config.plan, unit.name)
    if args.channel:
        if args.channel not in names:
            raise ConfigError(
                [
                    Problem(
                        f"{unit.name} has no channel {args.channel!r}; it has {', '.join(names)}",
                        field="--channel",
                    )
                ]
            )
        names = [args.channel]
    channels = channels_from_config(config, only=set(names))
    now = datetime.now(ZoneInfo(config.settings.timezone))
    state_dir = find_state_dir(args.state_dir)
    ledger = existing_ledger(config, state_dir)
    closed: set[str] = set()
    if ledger is not None:
        from ..closedloop.store import LoopStore

        closed = LoopStore.of(ledger).closed_ids()
        ledger.close()
    batch = next_batch(config, unit.name, now, closed)
    if batch:
        print(
            f"测试消息：{unit.name} 下一次的提醒（{batch[0].instant:%Y-%m-%d %H:%M}，"
            f"{len(batch)} 条），按服务的格式发送，标题带【测试】"
        )
    links = _action_links(config, state_dir, now)
    messages = {n: sample_messages(config, channels[n], batch, now, links) for n in names}
    failures = asyncio.run(_send_all([channels[n] for n in names], messages, config))
    return EXIT_INVALID if failures else EXIT_OK


def _action_links(config: Config, state_dir: Path, now: datetime) -> Callable[[str], str] | None:
    """The service's action links when its signing key exists (never made here)."""
    import os
    from datetime import timedelta

    from ..closedloop.keys import KEY_ENV, KEY_FILE, action_key
    from ..closedloop.links import ActionLinks

    if not os.environ.get(KEY_ENV) and not (state_dir / KEY_FILE).exists():
        return None
    settings = config.settings
    base = settings.loop.base_url or settings.feeds.base_url or f"http://{settings.feeds.listen}"
    days = timedelta(days=settings.loop.link_days)
    return ActionLinks(action_key(state_dir), base, days, lambda: now)


async def _send_all(
    channels: list[Channel], messages: dict[str, list[Outgoing]], config: Config
) -> int:
    import httpx

    failures = 0
    timeout = config.settings.delivery.timeout_seconds
    async with httpx.AsyncClient(timeout=timeout) as client:
        for channel in channels:
            label = f"{channel.name} ({channel.kind})"
            if channel.kind == "log":
                print(f"{label}: no robot; reminders for this unit are written to the log:")
                for message in messages[channel.name]:
                    print(f"  {channel.titled(message.title)}\n  {message.text}")
                continue
            for message in messages[channel.name]:
                part = f" ({message.part}/{message.parts})" if message.parts > 1 else ""
                try:
                    answer = await channel.send(client, message)
                except DeliveryError as exc:
                    failures += 1
                    kind = "transient, would be retried" if exc.transient else "permanent"
                    print(f"{label}{part}: FAILED ({kind}): {exc.message}")
                    break
                print(f"{label}{part}: ok: {answer}")
    return failures


# -- due --------------------------------------------------------------------


def cmd_due(args: argparse.Namespace) -> int:
    from ..closedloop.store import LoopStore
    from ..delivery.plan import deliveries, due_at, in_window
    from ..delivery.sender import select
    from ..delivery.setup import existing_ledger

    config = load(args)
    plan = config.plan
    at = at_or_now(args.at, config)
    settings = plan.settings.delivery
    ledger = existing_ledger(config, find_state_dir(args.state_dir))
    closed = LoopStore.of(ledger).closed_ids() if ledger else set()  # done/waived: not sent
    wanted = deliveries(plan, due_at(plan, at, closed))
    existing: dict[str, Row] = ledger.statuses([d.key for d in wanted]) if ledger else {}
    wall = datetime.now(UTC) if args.at is None else at
    chosen = select(wanted, existing, at, wall, settings)
    open_now = in_window(at, plan.settings, plan.calendar)
    if args.json:
        rows = [
            {
                "key": d.key,
                "channel": d.channel,
                **d.reminder.as_json(),
                "ledger_status": existing[d.key].status if d.key in existing else None,
            }
            for d in chosen.send
        ]
        out = {
            "at": at.isoformat(),
            "send_window_open": open_now,
            "would_send": rows,
            "catch_up_too_old": [d.key for d in chosen.too_old],
            "superseded": [d.key for d in chosen.superseded],
            "already_done": chosen.already,
            "waiting_for_retry": chosen.waiting,
        }
        print_json(out)
        return EXIT_OK
    title = f"{at:%Y-%m-%d %H:%M} 将发送 {len(chosen.send)} 条提醒"
    if not open_now:
        title += "（不在推送时段内：将在下一个推送时段发送）"
    table = Table(title)
    for column in ("提醒时间", "渠道", "单位", "步骤", "事项", "截止"):
        table.add_column(column, ratio=1 if column == "事项" else 0)
    for d in chosen.send:
        r = d.reminder
        what = "；".join(f"[{o.duty}] {o.title}" for o in r.occurrences[:3])
        if len(r.occurrences) > 3:
            what += f" 等 {len(r.occurrences)} 项"
        table.add_row(
            f"{r.instant:%m-%d %H:%M}", d.channel, r.unit, r.step, what, r.due.isoformat()
        )
    print(table.render(table_width()))
    if chosen.too_old:
        print(f"{len(chosen.too_old)} missed reminder(s) older than the catch-up limit.")
    if args.render:
        _print_render(config, chosen.send, at)
    return EXIT_OK


def _print_render(config: Config, items: list[Delivery], at: datetime) -> None:
    """Each robot's messages as the sender would render them (its real limit and format)."""
    from ..channels.log import LogChannel
    from ..channels.registry import preview_channels
    from ..delivery.render import Renderer, duty_texts

    renderer = Renderer(
        config.plan.calendar,
        config.channels.templates,
        config.channels.link_template,
        duty_texts(config.plan),
    )
    channels = preview_channels(config.channels)
    by_channel: dict[str, list[Delivery]] = {}
    for d in items:
        by_channel.setdefault(d.channel, []).append(d)
    today = at.astimezone(ZoneInfo(config.settings.timezone)).date()
    for name, group in by_channel.items():
        channel = channels.get(name) or LogChannel(name)
        for part in renderer.digest(channel, group, today):
            print(f"\n── {name} ({channel.kind}) ──\n{part.title}\n{part.text}")


# -- status -----------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    from ..delivery.setup import existing_ledger

    config = load(args)
    ledger = existing_ledger(config, find_state_dir(args.state_dir))
    if ledger is None:
        if args.json:
            print(json.dumps({"channels": {}, "problems": []}))
        else:
            print("no deliveries yet (no ledger in the state directory)")
        return EXIT_OK
    summary = ledger.summary()
    problems = [
        *ledger.rows(status="failed", limit=args.limit),
        *ledger.rows(status="dead", limit=args.limit),
    ]
    if args.json:
        out = {
            "channels": summary,
            "next_retry_at": (t.isoformat() if (t := ledger.next_retry_at()) else None),
            "problems": [row.as_json() for row in problems],
        }
        print_json(out)
        return EXIT_OK
    width = table_width()
    table = Table("推送状态 (per robot)")
    statuses = ("sent", "claimed", "failed", "dead", "skipped")
    table.add_column("渠道 channel")
    for status in statuses:
        table.add_column("pending" if status == "claimed" else status, justify="right")
    for channel, counts in sorted(summary.items()):
        table.add_row(channel, *(str(counts.get(s, 0)) for s in statuses))
    print(table.render(width))
    if problems:
        failing = Table("失败与放弃 failing and dead")
        for column in ("status", "channel", "key", "attempts", "error", "next attempt"):
            failing.add_column(column, ratio=1 if column == "error" else 0)
        tz = ZoneInfo(config.settings.timezone)
        for row in problems:
            retry = (
                f"{row.next_attempt_at.astimezone(tz):%m-%d %H:%M}" if row.next_attempt_at else ""
            )
            failing.add_row(
                row.status, row.channel, row.key, str(row.attempts), row.last_error or "", retry
            )
        print(failing.render(width))
    return EXIT_OK
