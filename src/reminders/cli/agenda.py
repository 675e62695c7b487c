"""`reminders validate` and `reminders agenda`: check the config, list occurrences."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date, timedelta

from ..core.expand import Window, expand
from ..core.occurrence import KIND_LABELS, Occurrence
from ..core.plan import Plan
from ..core.workcalendar import weekday_cn
from ..exceptions import ConfigError, Problem
from .common import at_or_now, load, parse_date, print_json, table_width, today
from .errors import EXIT_OK
from .table import Table

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
    known = ", ".join([*plan.unit_names(), *groups])
    raise LookupError(f"unknown unit or group {name!r}; known: {known}")


def print_table(occurrences: Sequence[Occurrence], start: date, end: date) -> None:
    table = Table(f"日程 {start} 至 {end}（{len(occurrences)} 项）")
    table.add_column("到期日")
    table.add_column("单位")
    table.add_column("编号")
    table.add_column("任务", ratio=3)
    table.add_column("周期/说明", ratio=1)
    table.add_column("类型")
    for o in occurrences:
        due = f"{o.due} {weekday_cn(o.due)}"
        if o.provisional:
            due += " 暂定"
        table.add_row(due, o.unit, o.duty, o.title, o.label, KIND_LABELS[o.kind])
    print(table.render(table_width()))
    if any(o.provisional for o in occurrences):
        print(
            "暂定 (provisional): no official holiday data for that year; weekends only. "
            "Add the year to calendar.yaml when it is published."
        )


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = commands.add_parser(
        "validate", help="check the config; list every problem; exit 1 if any"
    )
    validate.set_defaults(run=cmd_validate)

    agenda = commands.add_parser("agenda", help="list the occurrences due in a date window")
    agenda.add_argument(
        "--from",
        dest="start",
        metavar="DATE",
        type=parse_date,
        help="first due date (default: today)",
    )
    agenda.add_argument(
        "--to",
        dest="end",
        metavar="DATE",
        type=parse_date,
        help=f"last due date (default: {DEFAULT_DAYS} days after --from)",
    )
    agenda.add_argument("--unit", metavar="NAME", help="one unit, or a group such as 各校")
    agenda.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    agenda.set_defaults(run=cmd_agenda)


def cmd_validate(args: argparse.Namespace) -> int:
    from ..daemon.trial import check_service_start

    config = load(args)
    check_service_start(config, at_or_now(None, config))  # what `run` computes at start
    plan = config.plan
    print(
        f"ok: {config.directory}: {len(plan.duties)} duties, {len(plan.units)} units, "
        f"plan year {config.settings.plan_year}, {len(plan.warnings)} warning(s)"
    )
    return EXIT_OK


def cmd_agenda(args: argparse.Namespace) -> int:
    config = load(args)
    now = today(config)
    start = args.start or now
    end = args.end or start + timedelta(days=DEFAULT_DAYS)
    if end < start:
        raise ConfigError([Problem("--to is before --from", field="--to", value=str(end))])
    try:
        units = select_units(config.plan, args.unit)
    except LookupError as exc:
        raise ConfigError([Problem(str(exc.args[0]), field="--unit", value=args.unit)]) from None
    occurrences = expand(config.plan, Window(start, end), units)
    if args.json:
        print_json([o.as_json() for o in occurrences])
    else:
        print_table(occurrences, start, end)
    return EXIT_OK
