"""`reminders` command line: each command lives in its own module with a `register`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from . import agenda, delivercmd, feedscmd, importcmd, loopcmd, runcmd, userscmd
from .common import parse_year
from .errors import EXIT_USAGE, handle_cli_error

# One entry per command module; each adds its subcommands and sets `run`.
COMMAND_MODULES = [agenda, importcmd, feedscmd, runcmd, delivercmd, loopcmd, userscmd]


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
        "--plan-year",
        metavar="YYYY",
        type=parse_year,
        help="override settings.plan_year for this run",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    return handle_cli_error(lambda: int(args.run(args)))


if __name__ == "__main__":
    sys.exit(main())
