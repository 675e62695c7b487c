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

from ..exceptions import ConfigError, Problem
from ..statedir import find_state_dir
from ..statelock import running_pid
from .common import (
    at_or_now,
    load,
    parse_date,
    parse_instant,
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
    common = argparse.ArgumentParser(add_help=False, parents=[state_dir_option("the ledger")])
    common.add_argument(
        "--at",
        metavar="DATETIME",
        type=parse_instant,
        help="act or look as of this instant, YYYY-MM-DDTHH:MM local (default: now)",
    )
    actor = argparse.ArgumentParser(add_help=False)
    actor.add_argument("occurrence", metavar="OCCURRENCE", help="an id such as 4.5/教育局/2026-09")
    actor.add_argument("--by", metavar="NAME", help="who did it (default: your login name)")

    done = commands.add_parser(
        "done", parents=[common, actor], help="mark an occurrence done: its reminders stop"
    )
    done.add_argument("--note", metavar="TEXT", help="what was done")
    done.add_argument("--evidence", metavar="URL", help="a link to proof (minutes, photos)")
    done.set_defaults(run=cmd_action, action="done")

    undo = commands.add_parser(
        "undo", parents=[common, actor], help="open a done or waived occurrence again"
    )
    undo.add_argument("--note", metavar="TEXT", help="why")
    undo.set_defaults(run=cmd_action, action="undo", evidence=None)

    waive = commands.add_parser(
        "waive", parents=[common, actor], help="waive an occurrence (not required this time)"
    )
    waive.add_argument("--reason", dest="note", metavar="TEXT", required=True, help="why")
    waive.set_defaults(run=cmd_action, action="waive", evidence=None)

    overdue = commands.add_parser(
        "overdue", parents=[common], help="open occurrences past their due date, longest first"
    )
    overdue.add_argument(
        "--unit", action="append", metavar="UNIT", help="only this unit (repeatable)"
    )
    overdue.add_argument("--json", action="store_true", help="print JSON")
    overdue.set_defaults(run=cmd_overdue)

    report = commands.add_parser(
        "report", parents=[common], help="per unit: done on time, done late, overdue"
    )
    report.add_argument(
        "--from", dest="start", type=parse_date, metavar="DATE", help="default: plan start"
    )
    report.add_argument("--to", dest="end", type=parse_date, metavar="DATE", help="default: today")
    report.add_argument("--worst", type=int, default=10, metavar="N", help="overdue items listed")
    report.add_argument("--json", action="store_true", help="print JSON")
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
        "history", parents=[common], help="who changed which occurrence, when"
    )
    history.add_argument("occurrence", metavar="OCCURRENCE", nargs="?", help="only this one")
    history.add_argument("--json", action="store_true", help="print JSON")
    history.set_defaults(run=cmd_history)


def _loop(args: argparse.Namespace, *, writes: bool) -> tuple[Config, Loop]:
    """The loop on the ledger; only a command that `writes` creates a missing one."""
    from ..closedloop.loop import Loop
    from ..closedloop.store import LoopStore
    from ..delivery.setup import existing_ledger, ledger_file, open_ledger
    from ..ledger import Ledger

    config = load(args)
    state_dir = find_state_dir(args.state_dir)
    ledger = open_ledger(config, state_dir) if writes else existing_ledger(config, state_dir)
    if ledger is None:
        where = ledger_file(config, state_dir)
        print(f"no ledger yet ({where}): nothing is marked done or waived", file=sys.stderr)
        ledger = Ledger.open(EMPTY_LEDGER)
    plan = config.plan
    return config, Loop(LoopStore.of(ledger), lambda: plan)


def _who(given: str | None) -> str:
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "命令行"


def cmd_action(args: argparse.Namespace) -> int:
    from ..closedloop.state import STATE_LABELS

    config, loop = _loop(args, writes=True)
    action: Action = args.action
    outcome = loop.act(
        args.occurrence,
        action,
        at_or_now(args.at, config),
        by=_who(args.by),
        note=args.note,
        evidence=args.evidence,
        via="cli",
    )
    label = STATE_LABELS[outcome.closure.state]
    if outcome.changed:
        print(f"{args.occurrence}: {label}")
    else:
        print(f"{args.occurrence}: already {outcome.closure.state} ({label}); nothing changed")
    if outcome.changed and running_pid(find_state_dir(args.state_dir)) is not None:
        print("the running service picks this up at its next sweep; `reminders reload` now")
    return EXIT_OK


def cmd_overdue(args: argparse.Namespace) -> int:
    config, loop = _loop(args, writes=False)
    now = at_or_now(args.at, config)
    units = set(args.unit) if args.unit else None
    if units:
        unknown = sorted(units - set(config.plan.unit_names()))
        if unknown:
            raise ConfigError([Problem("unknown unit", field="--unit", value=u) for u in unknown])
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
    from ..closedloop.report import COLUMN_LABELS, COLUMNS

    config, loop = _loop(args, writes=False)
    now = at_or_now(args.at, config)
    start: date | None = args.start
    end: date | None = args.end
    report = loop.report(now, start, end, worst=args.worst)
    if args.xlsx:
        _write_workbook(args, config, loop, now, report.start, report.end)
    if args.json:
        print_json(report.as_json())
        return EXIT_OK
    table = Table(f"{report.start} 至 {report.end}（截至 {report.today}）")
    table.add_column("单位")
    for name in COLUMNS:
        table.add_column(COLUMN_LABELS[name], justify="right")
    for counts in report.units:
        table.add_row(counts.unit, *(str(getattr(counts, n)) for n in COLUMNS))
    print(table.render(table_width()))
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
    from ..console.export import export

    target = Path(args.xlsx)
    if target.exists() and not args.force:
        raise ConfigError(
            [Problem("文件已存在，加 --force 覆盖 (file exists; --force)", str(target))]
        )
    settings = config.settings
    base = settings.loop.base_url or settings.feeds.base_url
    data = export(loop, now, start, end, config.plan.unit_names(), base)
    try:
        write_atomic(target, data)
    except OSError as exc:
        raise ConfigError(
            [Problem(f"无法写入 (cannot write): {exc.strerror}", str(target))]
        ) from None
    print(f"台账已写入 {target}（{start} 至 {end}）", file=sys.stderr)


def cmd_history(args: argparse.Namespace) -> int:
    _, loop = _loop(args, writes=False)
    changes = loop.store.history(args.occurrence)
    if args.json:
        print_json([c.as_json() for c in changes])
        return EXIT_OK
    for c in changes:
        extra = "；".join(p for p in (c.note, c.evidence) if p)
        print(
            f"{c.at.isoformat(timespec='seconds')}  {c.occurrence_id}  {c.action}: "
            f"{c.before} → {c.after}  by {c.by or '-'} via {c.via}"
            + (f"  {extra}" if extra else "")
        )
    return EXIT_OK
