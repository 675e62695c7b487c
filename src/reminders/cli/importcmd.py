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
        help="turn a task table (.txt, .docx, .xlsx, .csv) into duties; merge into duties.yaml",
        description=(
            "Read a task table (任务分工表) and write its duties: by default merged into the "
            "config directory's duties.yaml, keeping your schedule, lead_times, "
            "overdue_steps and title edits. Exit 0 when the result is valid, 1 on an error "
            "or when some task still needs fixing (see the report)."
        ),
    )
    parser.add_argument(
        "file",
        metavar="FILE",
        help="the table: .txt (flattened Word, or a notice's numbered paragraphs), .docx, "
        ".xlsx or .csv",
    )
    parser.add_argument(
        "--year", type=parse_year, metavar="YYYY", help="the plan year the table was issued for"
    )
    parser.add_argument(
        "--config",
        dest="import_config",
        metavar="DIR",
        help="config directory (default: the global --config, $REMINDERS_CONFIG, ./config)",
    )
    parser.add_argument("--output", metavar="FILE", help="write the duties here instead")
    parser.add_argument("--dry-run", action="store_true", help="report only; write nothing")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace your edits (schedule, lead_times, overdue_steps, title) with the table's",
    )
    parser.add_argument(
        "--add-units", action="store_true", help="append unknown units to units.yaml (no channels)"
    )
    parser.add_argument(
        "--columns",
        metavar="SPEC",
        help="手动指定列 (columns)：task=3,units=4,time=5（列名或从 1 起的列号；"
        "另有 partners, leader, number, section, ignore）",
    )
    parser.set_defaults(run=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    directory = find_config_dir(args.import_config or args.config)
    if args.output:
        target = Path(args.output)
    elif directory.is_dir():
        target = directory / "duties.yaml"
    else:
        raise ConfigError(
            [
                Problem(
                    "config directory not found; use --config DIR or --output FILE",
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
