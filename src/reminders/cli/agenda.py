"""`reminders validate` and `reminders agenda`: check the config (and what `run` needs
around it), list occurrences."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from ..core.expand import Window, expand
from ..core.occurrence import KIND_LABELS, Occurrence
from ..core.plan import Plan
from ..core.workcalendar import weekday_cn
from ..exceptions import ConfigError, Problem
from ..statedir import find_state_dir
from ..tracking import tracked
from .common import at_option, at_or_now, load, parse_date, print_json, table_width
from .errors import EXIT_INVALID, EXIT_OK, print_problems
from .table import Table

if TYPE_CHECKING:
    from ..config import Config
    from ..ledger import Ledger

DEFAULT_DAYS = 60


def select_units(plan: Plan, name: str | None) -> set[str] | None:
    """A unit name, or a group name meaning all its members; None means everyone."""
    if name is None:
        return None
    groups = plan.groups()
    if name in groups:
        return set(groups[name])
    if name in plan.unit_names():
        return {name}
    known = "、".join([*plan.unit_names(), *groups])
    raise LookupError(f"没有这个单位或分组 (unit or group)；已有：{known}")


def print_table(
    occurrences: Sequence[Occurrence], start: date, end: date, retired: bool = False
) -> None:
    """`retired`: the occurrences are a retired plan's (shown only for a look back)."""
    table = Table(f"日程 {start} 至 {end}（{len(occurrences)} 项）")
    table.add_column("到期日")
    table.add_column("单位")
    table.add_column("事项编号")
    table.add_column("任务", ratio=3)
    table.add_column("周期/说明", ratio=1)
    table.add_column("类型")
    for o in occurrences:
        due = f"{o.due} {weekday_cn(o.due)}"
        if o.provisional:
            due += " 暂定"
        if not o.tracked:
            due += " 已停用" if retired else " 未跟踪"
        table.add_row(due, o.unit, o.id, o.title, o.label, KIND_LABELS[o.kind])
    print(table.render(table_width()))
    if any(o.provisional for o in occurrences):
        print(
            "暂定 (provisional)：该年尚无官方节假日数据，按周末推算；"
            "公布后把该年的放假安排加入 calendar.yaml。"
        )
    if retired and occurrences:
        print("已停用 (retired)：该计划写有 active: false，不提醒、不计逾期；这里只列出供查阅。")
    elif any(not o.tracked for o in occurrences):
        print(
            "未跟踪 (before tracking)：到期日在开始跟踪之前（settings.yaml 的 track_from，"
            "默认台账创建之日），不提醒、不计逾期。"
        )
    if occurrences:
        print("事项编号用于 reminders done / undo / waive / link。")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = commands.add_parser(
        "validate",
        help="检查配置与运行环境 (validate)：列出每个问题；有错误时退出码为 1",
        description="检查配置目录：每个问题都写明文件、行号、字段和值；并检查 reminders run "
        "需要的运行环境：机器人密钥所在的环境变量或凭据（只看名称，从不显示值）、状态目录"
        "可写、监听地址可用。退出码 0 表示可以启动，1 表示有错误（systemd 的 ExecStartPre "
        "用它阻止一次会失败的启动）。",
    )
    validate.set_defaults(run=cmd_validate)

    agenda = commands.add_parser(
        "agenda",
        help="列出某段日期内到期的事项 (agenda)，含事项编号",
        description="列出日期窗口内到期的事项：每个单位、每次到期一行，含事项编号"
        "（reminders done 等命令用它）。开始跟踪之前到期的事项标为“未跟踪”。",
    )
    agenda.add_argument(
        "--from",
        dest="start",
        metavar="DATE",
        type=parse_date,
        help="起始到期日 YYYY-MM-DD（默认：今天）",
    )
    agenda.add_argument(
        "--to",
        dest="end",
        metavar="DATE",
        type=parse_date,
        help=f"截止到期日 YYYY-MM-DD（默认：起始日后 {DEFAULT_DAYS} 天）",
    )
    agenda.add_argument("--unit", metavar="NAME", help="只看一个单位，或一个分组（如 各校）")
    agenda.add_argument(
        "--plan",
        metavar="KEY",
        help="只看一个计划 (plan) 的事项（有多个任务文件时）；已停用的计划也可这样查看",
    )
    agenda.add_argument("--json", action="store_true", help="输出 JSON 数组而不是表格")
    at_option(agenda, "当作“现在”的时刻（默认的起始日、开始跟踪日由它而定）")
    agenda.set_defaults(run=cmd_agenda)


def cmd_validate(args: argparse.Namespace) -> int:
    from ..daemon.trial import check_service_start
    from ..preflight import environment_problems

    config = load(args, all_warnings=True)
    check_service_start(config, at_or_now(None, config))  # what `run` computes at start
    plan = config.plan
    found = environment_problems(config, find_state_dir(args.state_dir))
    print_problems(found)
    errors = [p for p in found if p.severity == "error"]
    if errors:
        print(f"共 {len(errors)} 个错误：reminders run 会因此停止。", file=sys.stderr)
        return EXIT_INVALID
    track = config.settings.track_from or "台账创建之日（首次启动 reminders run 的那天）"
    print(
        f"配置有效 (ok)：{config.directory}：{len(plan.duties)} 项任务，{len(plan.units)} 个单位，"
        f"计划年度 {config.settings.plan_year}，开始跟踪：{track}，"
        f"{len(plan.warnings) + len(found)} 条警告"
    )
    if plan.several:
        print(f"{len(plan.tables)} 个计划 (plans)：")
        for table in plan.tables:
            count = sum(1 for d in plan.all_duties if d.table == table)
            short = f"（{table.short}）" if table.short else ""
            state = "" if table.active else "，已停用 (retired)"
            title = f"：{table.title}" if table.title else ""
            print(f"  {table.key}{short}：{count} 项，计划年度 {table.plan_year}{state}{title}")
    return EXIT_OK


def cmd_agenda(args: argparse.Namespace) -> int:
    config = load(args)
    now = at_or_now(args.at, config)
    config = tracked(config, _existing_ledger(config, args.state_dir), now)
    start = args.start or now.date()
    end = args.end or start + timedelta(days=DEFAULT_DAYS)
    if end < start:
        raise ConfigError(
            [Problem("截止日 (--to) 早于起始日 (--from)", field="--to", value=str(end))]
        )
    try:
        units = select_units(config.plan, args.unit)
    except LookupError as exc:
        raise ConfigError([Problem(str(exc.args[0]), field="--unit", value=args.unit)]) from None
    plan, retired = _one_plan(config.plan, args.plan)
    occurrences = expand(plan, Window(start, end), units)
    if args.json:
        print_json([o.as_json() for o in occurrences])
        return EXIT_OK
    print_table(occurrences, start, end, retired)
    resting = [t.key for t in plan.tables if not t.active]
    if args.plan is None and resting:
        print(f"已停用的计划不列出：{'、'.join(resting)}（用 --plan {resting[0]} 查看）")
    return EXIT_OK


def _one_plan(plan: Plan, key: str | None) -> tuple[Plan, bool]:
    """The plan with only the duties of plan `key` (a retired one's too), and whether
    that one is retired; the plan as it is when `key` is None."""
    if key is None:
        return plan, False
    table = plan.table(key)
    if table is None:
        known = "、".join(t.key for t in plan.tables)
        raise ConfigError(
            [Problem(f"没有这个计划 (plan)；已有：{known}", field="--plan", value=key)]
        )
    chosen = tuple(d for d in plan.all_duties if d.table is not None and d.table.key == key)
    return replace(plan, duties=chosen, retired=()), not table.active


def _existing_ledger(config: Config, state_dir: str | None) -> Ledger | None:
    """The ledger if one exists (it says when tracking started), else None."""
    from ..delivery.setup import existing_ledger

    return existing_ledger(config, find_state_dir(state_dir))
