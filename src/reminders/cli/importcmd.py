"""`reminders import`: a task table (.txt, .docx, .xlsx, .csv) → the duties file."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..config import find_config_dir
from ..config.planfiles import (
    FOLDER,
    TOP,
    PlanFile,
    find_plan,
    new_plan_path,
    plan_files,
    written_key,
)
from ..core.model import PLAN_KEY
from ..exceptions import ConfigError, Problem
from ..importer.columns import ColumnsError, parse_override
from ..importer.context import load_context
from ..importer.run import Options, run_import
from .common import parse_year
from .errors import EXIT_INVALID, EXIT_OK, print_problems


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "import",
        help="导入任务分工表 (import)：.txt/.docx/.xlsx/.csv → duties.yaml",
        description=(
            "读取任务分工表 (task table)，写出其中的任务：默认合并进配置目录的 duties.yaml"
            "（--plan KEY：合并进计划 KEY 的文件，或新建 duties/KEY.yaml），"
            "保留你改过的 schedule、lead_times、overdue_steps 和标题。报告列出读到多少项、"
            "哪些需要人工查看及原因。退出码 0 表示结果有效；1 表示出错，或仍有任务需要修改"
            "（见报告）。"
        ),
    )
    parser.add_argument(
        "file",
        metavar="FILE",
        help="分工表文件：.txt（Word 表格另存的文本，或通知的编号段落）、.docx、.xlsx 或 .csv",
    )
    parser.add_argument(
        "--year", type=parse_year, metavar="YYYY", help="分工表印发的年份（计划年度）"
    )
    parser.add_argument("--output", metavar="FILE", help="写到这个文件，而不是 duties.yaml")
    parser.add_argument(
        "--plan",
        metavar="KEY",
        type=plan_key,
        help="导入到计划 KEY (plan)：合并进持有该计划的文件，没有则新建 duties/KEY.yaml；"
        "KEY 用小写字母、数字和连字符，如 2025、drowning-2026",
    )
    parser.add_argument(
        "--plan-year",
        metavar="YYYY",
        type=parse_year,
        default=argparse.SUPPRESS,
        help="写入该计划自己的计划年度 (plan_year)；新建计划时默认取 --year",
    )
    parser.add_argument("--dry-run", action="store_true", help="只出报告，不写任何文件")
    parser.add_argument("--json", action="store_true", help="以 JSON 输出报告")
    parser.add_argument(
        "--force",
        action="store_true",
        help="用分工表的内容覆盖你改过的 schedule、lead_times、overdue_steps 和标题",
    )
    parser.add_argument(
        "--add-units",
        action="store_true",
        help="把 units.yaml 中没有的单位追加进去（不带机器人渠道）",
    )
    parser.add_argument(
        "--columns",
        metavar="SPEC",
        help="手动指定列 (columns)：task=3,units=4,time=5（列名或从 1 起的列号；"
        "另有 partners, leader, number, section, ignore）",
    )
    parser.set_defaults(run=cmd_import)


def plan_key(text: str) -> str:
    """An argparse type for plan keys."""
    if not re.fullmatch(PLAN_KEY, text):
        raise argparse.ArgumentTypeError(
            f"不是计划键 (plan key)：只用小写字母、数字和连字符，如 2025、drowning-2026：{text!r}"
        )
    return text


def cmd_import(args: argparse.Namespace) -> int:
    directory = find_config_dir(args.config)
    plan_year: int | None = getattr(args, "plan_year", None)
    notes: list[str] = []
    new_plan = False
    if args.output and args.plan:
        raise ConfigError(
            [Problem("--plan 与 --output 只能用一个 (one or the other)", field="--output")]
        )
    if args.output:
        target = Path(args.output)
    elif not directory.is_dir():
        raise ConfigError(
            [
                Problem(
                    "找不到配置目录 (config directory)；用 --config DIR 或 --output FILE",
                    str(directory),
                )
            ]
        )
    elif args.plan:
        target, new_plan = _plan_target(directory, args.plan, notes)
        if new_plan:
            plan_year = args.year if plan_year is None else plan_year
            notes.append(_year_note(plan_year))
    else:
        target = _default_target(directory)
    columns = None
    if args.columns:
        try:
            columns = parse_override(args.columns)
        except ColumnsError as exc:
            raise ConfigError([Problem(str(exc), args.file)]) from None
    context = load_context(directory)
    if context.warnings and not args.json:
        print_problems(context.warnings)
    options = Options(
        source=Path(args.file),
        target=target,
        year=args.year,
        dry_run=args.dry_run,
        force=args.force,
        add_units=args.add_units,
        columns=columns,
        plan_year=plan_year,
        notes=tuple(notes),
        make_folder=new_plan,
    )
    report = run_import(options, context)
    sys.stdout.write(report.to_json() if args.json else report.to_text())
    return EXIT_INVALID if report.errors else EXIT_OK


def _default_target(directory: Path) -> Path:
    """duties.yaml; a config whose plans are all in duties/ must say which (--plan)."""
    target = directory / TOP
    if target.exists():
        return target
    plans = plan_files(directory)
    if plans:
        keys = "、".join(written_key(f) for f in plans)
        raise ConfigError(
            [
                Problem(
                    f"任务分计划放在 duties/ 下：用 --plan KEY 指定导入哪个计划（已有：{keys}；"
                    "新的 KEY 会新建 duties/KEY.yaml）",
                    str(directory / FOLDER),
                    field="--plan",
                )
            ]
        )
    return target


def _plan_target(directory: Path, key: str, notes: list[str]) -> tuple[Path, bool]:
    """The file of plan `key` and whether it is new; `notes` say which and how."""
    found = find_plan(directory, key)
    if found is not None:
        notes.append(f"计划 (plan) {key}：合并进 {found.path}")
        return found.path, False
    target = new_plan_path(directory, key)
    if target.exists():  # its own `key:` names another plan: `validate` says so
        raise ConfigError(
            [
                Problem(
                    f"{target.name} 中的 key: 与文件名不一致，不是计划 {key}；"
                    "删去它的 key: 一行，或换一个计划键",
                    str(target),
                    field="key",
                )
            ]
        )
    notes.append(
        f"新计划 (new plan) {key}：写入 {target}；其事项编号形如 {key}:4.5/单位/周期，"
        "不会与其他计划的编号重复"
    )
    top = directory / TOP
    if top.exists():
        first = PlanFile(top, "duties", prefixed=False)
        notes += [
            f"{TOP} 原样保留，是第一个计划（计划键 {written_key(first)}）：它的事项编号不变"
            "（如 4.5/教育局/2026-09），台账中的状态、已发送的提醒、办结链接和日历订阅照常有效。",
            f"  请勿把 {TOP} 移进 {FOLDER}/：那样它的编号会变成 <键>:4.5，与台账对不上。",
            f"  可在 {TOP} 中加一行 short: 2026年分工表，作为列表和消息中的计划名；"
            "不再执行时加 active: false（停用，保留历史）。",
        ]
    return target, True


def _year_note(plan_year: int | None) -> str:
    if plan_year is None:
        return "未写 plan_year：该计划沿用 settings.yaml 的计划年度（用 --plan-year 指定）"
    return f"计划年度 (plan_year)：{plan_year}（用 --plan-year 改）"
