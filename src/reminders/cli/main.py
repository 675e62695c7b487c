"""`reminders` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .. import __version__
from ..config import Config, find_config_dir, load_config
from ..core.expand import Window, expand
from ..exceptions import ConfigError, Problem
from .agenda import print_json, print_table, select_units
from .errors import EXIT_OK, EXIT_USAGE, handle_cli_error, print_problems

DEFAULT_DAYS = 60


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _year(text: str) -> int:
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise argparse.ArgumentTypeError(f"not a plan year (2000-2100): {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reminders",
        description="Task table (任务分工表) → dated duties, calendar feeds and reminders.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config",
        metavar="DIR",
        help="config directory (default: $REMINDERS_CONFIG, else ./config)",
    )
    parser.add_argument(
        "--plan-year", metavar="YYYY", type=_year, help="override settings.plan_year for this run"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser("validate", help="check the config; list every problem; exit 1 if any")

    agenda = commands.add_parser("agenda", help="list the occurrences due in a date window")
    agenda.add_argument(
        "--from", dest="start", metavar="DATE", type=_date, help="first due date (default: today)"
    )
    agenda.add_argument(
        "--to",
        dest="end",
        metavar="DATE",
        type=_date,
        help=f"last due date (default: {DEFAULT_DAYS} days after --from)",
    )
    agenda.add_argument("--unit", metavar="NAME", help="one unit, or a group such as 各校")
    agenda.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    return parser


def _load(args: argparse.Namespace) -> Config:
    config = load_config(find_config_dir(args.config), args.plan_year)
    if config.plan.warnings:
        print_problems(list(config.plan.warnings))
    return config


def _today(config: Config) -> date:
    return datetime.now(ZoneInfo(config.settings.timezone)).date()


def cmd_validate(args: argparse.Namespace) -> int:
    config = _load(args)
    plan = config.plan
    units = len(plan.units)
    print(
        f"ok: {config.directory}: {len(plan.duties)} duties, {units} units, "
        f"plan year {config.settings.plan_year}, {len(plan.warnings)} warning(s)"
    )
    return EXIT_OK


def cmd_agenda(args: argparse.Namespace) -> int:
    config = _load(args)
    today = _today(config)
    start = args.start or today
    end = args.end or start + timedelta(days=DEFAULT_DAYS)
    if end < start:
        raise ConfigError([Problem("--to is before --from", field="--to", value=str(end))])
    try:
        units = select_units(config.plan, args.unit)
    except LookupError as exc:
        raise ConfigError([Problem(str(exc.args[0]), field="--unit", value=args.unit)]) from None
    occurrences = expand(config.plan, Window(start, end), units)
    if args.json:
        print_json(occurrences)
    else:
        print_table(occurrences, start, end, today)
    return EXIT_OK


COMMANDS = {"validate": cmd_validate, "agenda": cmd_agenda}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    return handle_cli_error(lambda: COMMANDS[args.command](args))


if __name__ == "__main__":
    sys.exit(main())
