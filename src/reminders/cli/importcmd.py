"""`reminders import`: a task table (.txt, .docx, .xlsx, .csv) → the duties file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import find_config_dir
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
            "读取任务分工表 (task table)，写出其中的任务：默认合并进配置目录的 duties.yaml，"
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


def cmd_import(args: argparse.Namespace) -> int:
    directory = find_config_dir(args.config)
    if args.output:
        target = Path(args.output)
    elif directory.is_dir():
        target = directory / "duties.yaml"
    else:
        raise ConfigError(
            [
                Problem(
                    "找不到配置目录 (config directory)；用 --config DIR 或 --output FILE",
                    str(directory),
                )
            ]
        )
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
    )
    report = run_import(options, context)
    sys.stdout.write(report.to_json() if args.json else report.to_text())
    return EXIT_INVALID if report.errors else EXIT_OK
