"""`reminders done|undo|waive|overdue|report|history`: close the loop from the command line.

State changes go to the ledger database; a running service sees them at its
next sweep, or at once after `reminders reload`. The loop and the ledger
(SQLAlchemy) are imported by these commands only, not when the parser is built.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..exceptions import ConfigError, Problem
from ..statedir import find_state_dir
from ..statelock import running_pid
from ..tracking import tracked
from .common import (
    at_option,
    at_or_now,
    load,
    parse_date,
    print_json,
    state_dir_option,
    table_width,
)
from .errors import EXIT_OK
from .table import Table

if TYPE_CHECKING:
    from ..closedloop.loop import Loop
    from ..closedloop.state import Action
    from ..config import Config

EMPTY_LEDGER = "sqlite://"  # in memory: what a read sees before anything was recorded


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False, parents=[state_dir_option("台账")])
    at_option(common, "按此时刻操作或查看")
    actor = argparse.ArgumentParser(add_help=False)
    actor.add_argument(
        "occurrence",
        metavar="OCCURRENCE",
        help="事项编号 (occurrence id)，如 4.5/教育局/2026-09（reminders agenda 列出）",
    )
    actor.add_argument("--by", metavar="NAME", help="办理人（默认：当前登录用户名）")

    done = commands.add_parser(
        "done",
        parents=[common, actor],
        help="标记事项已完成 (done)：它的提醒随即停止",
        description="标记事项已完成 (done)，记下办理人、时间、说明和佐证链接；此后不再提醒，"
        "也不再督办。重复执行不会改变任何东西。",
    )
    done.add_argument("--note", metavar="TEXT", help="完成情况说明")
    done.add_argument("--evidence", metavar="URL", help="佐证材料的链接（会议纪要、照片等）")
    done.set_defaults(run=cmd_action, action="done")

    undo = commands.add_parser(
        "undo",
        parents=[common, actor],
        help="撤销 (undo)：把已完成或已免除的事项改回未完成",
        description="撤销 (undo)：已完成或已免除的事项重新打开，提醒恢复。",
    )
    undo.add_argument("--note", metavar="TEXT", help="撤销原因")
    undo.set_defaults(run=cmd_action, action="undo", evidence=None)

    waive = commands.add_parser(
        "waive",
        parents=[common, actor],
        help="免除 (waive)：本次不需要办理（须写原因）",
        description="免除 (waive)：本次不需要办理，不再提醒；日历中显示为已取消。",
    )
    waive.add_argument("--reason", dest="note", metavar="TEXT", required=True, help="免除原因")
    waive.set_defaults(run=cmd_action, action="waive", evidence=None)

    overdue = commands.add_parser(
        "overdue",
        parents=[common],
        help="逾期未完成的事项 (overdue)，逾期最久的在前",
        description="列出已过到期日仍未完成的事项，逾期最久的在前（开始跟踪之前到期的不算）。",
    )
    overdue.add_argument("--unit", action="append", metavar="UNIT", help="只看这个单位（可重复）")
    overdue.add_argument("--json", action="store_true", help="输出 JSON")
    overdue.set_defaults(run=cmd_overdue)

    report = commands.add_parser(
        "report",
        parents=[common],
        help="统计报告 (report)：每个单位按时完成、逾期完成、逾期未完成的数量",
        description="按单位统计一段时间内到期的事项：按时完成、逾期完成、免除、逾期未完成、"
        "未到期，并列出逾期最久的事项；与每周推送的周报相同。",
    )
    report.add_argument(
        "--from",
        dest="start",
        type=parse_date,
        metavar="DATE",
        help="起始到期日（默认：计划开始日与开始跟踪日中较晚的一天）",
    )
    report.add_argument(
        "--to", dest="end", type=parse_date, metavar="DATE", help="截止到期日（默认：今天）"
    )
    report.add_argument(
        "--worst", type=int, default=10, metavar="N", help="列出逾期最久的 N 项（默认 10）"
    )
    report.add_argument("--json", action="store_true", help="输出 JSON")
    report.add_argument(
        "--xlsx",
        metavar="FILE",
        help="另存台账为 Excel 工作簿：汇总、周报统计、每单位一张表 (write the ledger workbook)",
    )
    report.add_argument(
        "--force", action="store_true", help="覆盖已有的 --xlsx 文件 (overwrite FILE)"
    )
    report.set_defaults(run=cmd_report)

    history = commands.add_parser(
        "history",
        parents=[common],
        help="办理记录 (history)：谁在何时改了哪个事项",
        description="办理记录：每次完成、撤销、免除的时间（配置的时区）、办理人、方式"
        "（命令行 cli、消息链接 link、接口 api）和说明。",
    )
    history.add_argument("occurrence", metavar="OCCURRENCE", nargs="?", help="只看这个事项")
    history.add_argument("--json", action="store_true", help="输出 JSON")
    history.set_defaults(run=cmd_history)

    link = commands.add_parser(
        "link",
        parents=[common],
        help="显示某事项的“办结确认”签名链接 (link)，以及它所在自查的“全部自查完毕”链接",
        description="显示消息中会附带的“办结确认”链接：在手机上打开、点按钮即标记完成。"
        "长期坚持事项还显示它所在自查（review/单位/周期）的“全部自查完毕”链接。"
        "链接指向 loop.base_url（否则 feeds.base_url，否则本机监听地址），"
        "有效期 loop.link_days 天。",
    )
    link.add_argument(
        "occurrence",
        metavar="OCCURRENCE",
        help="事项编号，如 4.5/教育局/2026-09；或自查编号，如 review/教育局/review-2026-Q4",
    )
    link.set_defaults(run=cmd_link)


def _loop(args: argparse.Namespace, *, writes: bool) -> tuple[Config, Loop, datetime]:
    """The loop on the ledger, and the instant (--at) it acts or looks at; only a command
    that `writes` creates a missing ledger."""
    from ..closedloop.loop import Loop
    from ..closedloop.store import LoopStore
    from ..delivery.setup import existing_ledger, ledger_file, open_ledger
    from ..ledger import Ledger

    config = load(args)
    now = at_or_now(args.at, config)
    state_dir = find_state_dir(args.state_dir)
    ledger = open_ledger(config, state_dir, now) if writes else existing_ledger(config, state_dir)
    config = tracked(config, ledger, now)
    if ledger is None:
        where = ledger_file(config, state_dir)
        print(f"还没有台账 (no ledger yet)：{where}；尚无事项标记为完成或免除", file=sys.stderr)
        ledger = Ledger.open(EMPTY_LEDGER)
    plan = config.plan
    return config, Loop(LoopStore.of(ledger), lambda: plan), now


def _who(given: str | None) -> str:
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "命令行"


def cmd_action(args: argparse.Namespace) -> int:
    from ..closedloop.state import STATE_LABELS

    _, loop, now = _loop(args, writes=True)
    action: Action = args.action
    outcome = loop.act(
        args.occurrence,
        action,
        now,
        by=_who(args.by),
        note=args.note,
        evidence=args.evidence,
        via="cli",
    )
    label = STATE_LABELS[outcome.closure.state]
    if outcome.changed:
        print(f"{args.occurrence}：{label}")
    else:
        print(f"{args.occurrence}：本来就是{label}（{outcome.closure.state}），没有改变")
    if outcome.changed and running_pid(find_state_dir(args.state_dir)) is not None:
        print("运行中的服务会在下一次巡检时看到这一变化；要立即生效：reminders reload")
    return EXIT_OK


def cmd_overdue(args: argparse.Namespace) -> int:
    config, loop, now = _loop(args, writes=False)
    units = set(args.unit) if args.unit else None
    if units:
        unknown = sorted(units - set(config.plan.unit_names()))
        if unknown:
            raise ConfigError(
                [Problem("没有这个单位 (unit)", field="--unit", value=u) for u in unknown]
            )
    items = loop.overdue(now, units)
    if args.json:
        print_json({"today": loop.today(now).isoformat(), "overdue": [i.as_json() for i in items]})
        return EXIT_OK
    table = Table(f"{loop.today(now)} 逾期未完成 {len(items)} 项")
    for column in ("单位", "事项编号", "任务", "截止", "逾期"):
        table.add_column(column, ratio=1 if column == "任务" else 0)
    for item in items:
        o = item.occurrence
        table.add_row(
            o.unit, o.id, o.title, o.due.isoformat(), f"{item.days} 天（{item.workdays} 工作日）"
        )
    print(table.render(table_width()))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from ..closedloop.report import COLUMN_LABELS, COLUMNS, UNTRACKED_LABEL

    config, loop, now = _loop(args, writes=False)
    start: date | None = args.start
    end: date | None = args.end
    report = loop.report(now, start, end, worst=args.worst)
    if args.xlsx:
        _write_workbook(args, config, loop, now, report.start, report.end)
    if args.json:
        print_json(report.as_json())
        return EXIT_OK
    untracked = any(counts.untracked for counts in report.units)
    table = Table(f"{report.start} 至 {report.end}（截至 {report.today}）")
    table.add_column("单位")
    for name in COLUMNS:
        table.add_column(COLUMN_LABELS[name], justify="right")
    if untracked:
        table.add_column(UNTRACKED_LABEL, justify="right")
    for counts in report.units:
        cells = [str(getattr(counts, n)) for n in COLUMNS]
        if untracked:
            cells.append(str(counts.untracked))
        table.add_row(counts.unit, *cells)
    print(table.render(table_width()))
    if untracked:
        print("未跟踪：到期日在开始跟踪（track_from）之前且未办结，不计入逾期。")
    if report.worst:
        print("逾期最久：")
        for item in report.worst:
            o = item.occurrence
            print(f"  {o.id}  {o.title}  截止 {o.due}，逾期 {item.days} 天")
    return EXIT_OK


def _write_workbook(
    args: argparse.Namespace, config: Config, loop: Loop, now: datetime, start: date, end: date
) -> None:
    from ..atomic import write_atomic
    from ..closedloop.links import link_base
    from ..console.export import export

    target = Path(args.xlsx)
    if target.exists() and not args.force:
        raise ConfigError(
            [Problem("文件已存在，加 --force 覆盖 (file exists; --force)", str(target))]
        )
    base = link_base(config.settings)
    data = export(loop, now, start, end, config.plan.unit_names(), base)
    try:
        write_atomic(target, data)
    except OSError as exc:
        raise ConfigError(
            [Problem(f"无法写入 (cannot write): {exc.strerror}", str(target))]
        ) from None
    print(f"台账已写入 {target}（{start} 至 {end}）", file=sys.stderr)


def cmd_history(args: argparse.Namespace) -> int:
    config, loop, _ = _loop(args, writes=False)
    changes = loop.store.history(args.occurrence)
    if args.json:
        print_json([c.as_json() for c in changes])
        return EXIT_OK
    zone = ZoneInfo(config.settings.timezone)
    for c in changes:
        extra = "；".join(p for p in (c.note, c.evidence) if p)
        print(
            f"{c.at.astimezone(zone).isoformat(timespec='seconds')}  {c.occurrence_id}  "
            f"{c.action}: {c.before} → {c.after}  办理人 {c.by or '-'}  方式 {c.via}"
            + (f"  {extra}" if extra else "")
        )
    return EXIT_OK


def cmd_link(args: argparse.Namespace) -> int:
    from ..closedloop.links import cli_links, link_base
    from ..closedloop.loop import UnknownOccurrence
    from ..core.occurrence import is_review_group, review_group

    config, loop, now = _loop(args, writes=False)
    links = cli_links(config, find_state_dir(args.state_dir), now, fallback=True)
    assert links is not None
    wanted = args.occurrence
    if is_review_group(wanted):
        members = loop.group(wanted, now)
        if not members:
            raise UnknownOccurrence(wanted)
        print(f"{wanted}（全部自查完毕，{len(members)} 项长期坚持事项）\n  {links(wanted)}")
    else:
        occurrence = loop.find(wanted, now)
        if occurrence is None:
            raise UnknownOccurrence(wanted)
        print(f"{wanted}（办结确认：{occurrence.title}，截止 {occurrence.due}）\n  {links(wanted)}")
        group = review_group(occurrence)
        if group is not None:
            print(f"{group}（全部自查完毕）\n  {links(group)}")
    expires = links.expiry(now).astimezone(ZoneInfo(config.settings.timezone))
    print(f"有效期至 {expires:%Y-%m-%d %H:%M}（loop.link_days = {config.settings.loop.link_days}）")
    if link_base(config.settings) is None:
        print(
            f"注意：未设置 loop.base_url 或 feeds.base_url，链接指向本机监听地址 "
            f"{config.settings.feeds.listen}，手机打不开；设置手机能访问的地址后再发链接。",
            file=sys.stderr,
        )
    return EXIT_OK
