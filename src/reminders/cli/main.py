"""`reminders` command line: each command lives in its own module with a `register`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..daemon import stopsignal

if stopsignal.wanted(sys.argv):  # `reminders run`: a SIGTERM from here on exits 0
    stopsignal.catch()

from .. import __version__
from . import agenda, delivercmd, feedscmd, importcmd, loopcmd, runcmd, userscmd
from .errors import EXIT_OK, EXIT_USAGE, handle_cli_error
from .parser import Parser, add_shared_options, finish, print_overview
from .terminal import clean_output

# One entry per command module; each adds its subcommands and sets `run`.
COMMAND_MODULES = [agenda, importcmd, feedscmd, runcmd, delivercmd, loopcmd, userscmd]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="reminders",
        description="reminders：把任务分工表 (task table) 变成按工作日排定的事项、日历订阅、"
        "群机器人提醒和闭环管理。",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}", help="显示版本号并退出"
    )
    add_shared_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="命令", title="命令 (commands)")
    for module in COMMAND_MODULES:
        module.register(commands)
    finish(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command != "run":
        stopsignal.release()
    if args.command is None:
        print_overview(parser)
        return EXIT_OK
    with clean_output():  # what the table, config or a note says is shown, never obeyed
        return handle_cli_error(lambda: int(args.run(args)))


if __name__ == "__main__":
    sys.exit(main())
