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

from ..core.model import duty_sort_key
from ..exceptions import ConfigError, DeliveryError, Problem
from ..statedir import find_state_dir
from ..tracking import tracked
from .common import at_option, at_or_now, load, print_json, state_dir_option, table_width
from .errors import EXIT_INVALID, EXIT_OK
from .table import Table

if TYPE_CHECKING:
    from ..channels.base import Channel, Outgoing
    from ..config import Config
    from ..delivery.plan import Delivery
    from ..ledger import Progress


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    state = state_dir_option("台账 ledger.sqlite3")

    test = commands.add_parser(
        "send-test",
        parents=[state],
        help="测试推送 (send-test)：把单位下一次的提醒按服务的格式发到它的机器人，显示回答",
        description="把单位下一次到期的提醒（标题带【测试】）用服务本身的格式渲染，"
        "发到单位的每个群机器人（或只发到 --channel 指定的一个），并逐条显示机器人的回答"
        "（成功，或错误码与说明）。它通过，服务的消息也就能通过。有失败时退出码为 1。",
    )
    test.add_argument("unit", metavar="UNIT", help="units.yaml 中的单位名称")
    test.add_argument("--channel", metavar="NAME", help="只试该单位的这一个渠道 (channel)")
    test.set_defaults(run=cmd_send_test)

    due = commands.add_parser(
        "due",
        parents=[state],
        help="预演 (dry run)：某一时刻会推送哪些提醒（不发送、不记录）",
        description="预演某一时刻会推送的提醒：每个渠道、每条提醒一行。--render 显示消息全文，"
        "设置了 loop.base_url（或 feeds.base_url）时含每项的“办结确认”签名链接。"
        "不发送，也不写台账。",
    )
    at_option(due, "预演的时刻")
    due.add_argument("--json", action="store_true", help="输出 JSON 而不是表格")
    due.add_argument(
        "--render", action="store_true", help="按机器人的格式和长度限制显示将发出的消息全文"
    )
    due.set_defaults(run=cmd_due)

    status = commands.add_parser(
        "status",
        parents=[state],
        help="推送状态 (status)：每个机器人的已发送、待发送、失败、放弃",
        description="按渠道统计台账中的推送：sent 已发送、pending 发送中、failed 失败待重试、"
        "dead 已放弃（永久错误）、skipped 跳过；并列出失败与放弃的推送及机器人的错误码。",
    )
    status.add_argument("--json", action="store_true", help="输出 JSON 而不是表格")
    status.add_argument(
        "--limit",
        type=int,
        default=50,
        metavar="N",
        help="最多列出多少条失败/放弃的推送（默认 50）",
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
        known = "、".join(config.plan.unit_names())
        raise ConfigError(
            [Problem(f"没有这个单位 (unit)；已有：{known}", field="UNIT", value=args.unit)]
        )
    names = channels_of(config.plan, unit.name)
    if args.channel:
        if args.channel not in names:
            raise ConfigError(
                [
                    Problem(
                        f"{unit.name} 没有渠道 {args.channel!r}；它的渠道：{'、'.join(names)}",
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
                print(f"{label}: 没有机器人 (no robot)：该单位的提醒写入日志，内容如下：")
                for message in messages[channel.name]:
                    print(f"  {channel.titled(message.title)}\n  {message.text}")
                continue
            for message in messages[channel.name]:
                part = f" ({message.part}/{message.parts})" if message.parts > 1 else ""
                try:
                    answer = await channel.send(client, message)
                except DeliveryError as exc:
                    failures += 1
                    kind = (
                        "临时错误，会重试 (transient)" if exc.transient else "永久错误 (permanent)"
                    )
                    print(f"{label}{part}: 失败 FAILED（{kind}）: {exc.message}")
                    break
                print(f"{label}{part}: 成功 ok: {answer}")
    return failures


# -- due --------------------------------------------------------------------


def cmd_due(args: argparse.Namespace) -> int:
    from ..closedloop.store import LoopStore
    from ..delivery.plan import deliveries, due_at, in_window
    from ..delivery.sender import select
    from ..delivery.setup import existing_ledger

    config = load(args)
    at = at_or_now(args.at, config)
    ledger = existing_ledger(config, find_state_dir(args.state_dir))
    config = tracked(config, ledger, at)
    plan = config.plan
    settings = plan.settings.delivery
    closed = LoopStore.of(ledger).closed_ids() if ledger else set()  # done/waived: not sent
    wanted = deliveries(plan, due_at(plan, at, closed))
    existing: dict[str, Progress] = ledger.progress([d.key for d in wanted]) if ledger else {}
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
    for d in sorted(chosen.send, key=_table_order):
        r = d.reminder
        what = "；".join(f"[{o.duty}] {o.title}" for o in r.occurrences[:3])
        if len(r.occurrences) > 3:
            what += f" 等 {len(r.occurrences)} 项"
        table.add_row(
            f"{r.instant:%m-%d %H:%M}", d.channel, r.unit, r.step, what, r.due.isoformat()
        )
    print(table.render(table_width()))
    if chosen.too_old:
        print(f"另有 {len(chosen.too_old)} 条错过的提醒超过补发时限 (catch_up_hours)，不再补发。")
    if args.render:
        _print_render(config, chosen.send, at, find_state_dir(args.state_dir))
    return EXIT_OK


def _table_order(delivery: Delivery) -> tuple[object, ...]:
    """As the sender orders them, but duty ids as numbers: 4.4 before 12.3."""
    r = delivery.reminder
    return (r.instant, r.unit, r.due, [duty_sort_key(o.duty) for o in r.occurrences], r.step)


def _print_render(config: Config, items: list[Delivery], at: datetime, state_dir: Path) -> None:
    """Each robot's messages as the sender would render them (its real limit, format and
    signed links). The log gets no links (nobody taps a log line): they are listed after."""
    from ..channels.log import LogChannel
    from ..channels.registry import preview_channels
    from ..closedloop.links import cli_links
    from ..delivery.render import Renderer, duty_texts

    links = cli_links(config, state_dir, at, fallback=False)
    renderer = Renderer(
        config.plan.calendar,
        config.channels.templates,
        config.channels.link_template,
        duty_texts(config.plan),
        links,
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
        if channel.kind == "log" and links is not None:
            print(f"\n── {name}：办结确认链接（日志中不写链接，这里单独列出）──")
            for subject in dict.fromkeys(i for d in group for i in _linked(d)):
                print(f"{subject}\n  {links(subject)}")
    if items and links is None:
        print(
            "\n（消息中的“办结确认”链接：在 settings.yaml 设置 loop.base_url 或 feeds.base_url"
            "（手机能打开的地址）后显示）"
        )


def _linked(delivery: Delivery) -> list[str]:
    """The ids a message links for one reminder: a self-check group's own id, then each
    item's (an escalation to the supervisor carries none)."""
    reminder = delivery.reminder
    if reminder.unit != reminder.occurrences[0].unit:
        return []
    ids = [o.id for o in reminder.occurrences]
    return [reminder.subject, *ids] if reminder.stage == "review" else ids


# -- status -----------------------------------------------------------------

STATUS_LABELS = {
    "sent": "已发送 sent",
    "claimed": "发送中 pending",
    "failed": "失败待重试 failed",
    "dead": "已放弃 dead",
    "skipped": "跳过 skipped",
}


def cmd_status(args: argparse.Namespace) -> int:
    from ..delivery.setup import existing_ledger

    config = load(args)
    ledger = existing_ledger(config, find_state_dir(args.state_dir))
    if ledger is None:
        if args.json:
            print(json.dumps({"channels": {}, "problems": []}))
        else:
            print("还没有推送记录 (no deliveries yet)：状态目录中没有台账")
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
    table = Table("推送状态（按渠道）")
    statuses = ("sent", "claimed", "failed", "dead", "skipped")
    table.add_column("渠道 channel")
    for status in statuses:
        table.add_column(STATUS_LABELS[status], justify="right")
    for channel, counts in sorted(summary.items()):
        table.add_row(channel, *(str(counts.get(s, 0)) for s in statuses))
    print(table.render(width))
    if problems:
        failing = Table("失败与放弃 (failing and dead)")
        for column in ("状态", "渠道", "推送 key", "次数", "机器人的错误", "下次重试"):
            failing.add_column(column, ratio=1 if column == "机器人的错误" else 0)
        tz = ZoneInfo(config.settings.timezone)
        for row in problems:
            retry = (
                f"{row.next_attempt_at.astimezone(tz):%m-%d %H:%M}" if row.next_attempt_at else ""
            )
            failing.add_row(
                STATUS_LABELS.get(row.status, row.status),
                row.channel,
                row.key,
                str(row.attempts),
                row.last_error or "",
                retry,
            )
        print(failing.render(width))
    return EXIT_OK
