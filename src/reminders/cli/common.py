"""What every command shares: loading the config and knowing today's date."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from ..config import Config, find_config_dir, load_config
from ..limits import MAX_YEAR, MIN_YEAR
from .errors import print_problems

D = TypeVar("D", date, datetime)


def load(args: argparse.Namespace, *, all_warnings: bool = False) -> Config:
    """Load the config named by --config / REMINDERS_CONFIG. Its warnings are printed in
    full by `validate` (`all_warnings`), as one summary line by every other command."""
    config = load_config(find_config_dir(args.config), args.plan_year)
    warnings = list(config.plan.warnings)
    if warnings and all_warnings:
        print_problems(warnings)
    elif warnings:
        print(f"{len(warnings)} 条警告，运行 reminders validate 查看", file=sys.stderr)
    return config


def today(config: Config) -> date:
    return datetime.now(ZoneInfo(config.settings.timezone)).date()


def parse_year(text: str) -> int:
    """An argparse type for plan years."""
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise argparse.ArgumentTypeError(f"不是年份 (year)，应为 2000–2100：{text!r}")
    return int(text)


def parse_instant(text: str) -> datetime:
    """An argparse type for date-times (YYYY-MM-DDTHH:MM, optional offset; a bare date
    means its midnight)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"不是日期时间 (date-time)，应为 YYYY-MM-DDTHH:MM：{text!r}"
        ) from None
    return _in_range(moment, text)


def at_or_now(moment: datetime | None, config: Config) -> datetime:
    """`moment` in the config's time zone when it has none; the current time when None."""
    zone = ZoneInfo(config.settings.timezone)
    if moment is None:
        return datetime.now(zone)
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def parse_date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"不是日期 (date)，应为 YYYY-MM-DD：{text!r}") from None
    return _in_range(day, text)


def _in_range(day: D, text: str) -> D:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise argparse.ArgumentTypeError(
            f"日期须在 {MIN_YEAR}–{MAX_YEAR} 年之间 (date out of range)：{text[:40]!r}"
        )
    return day


def state_dir_option(holding: str) -> argparse.ArgumentParser:
    """A parent parser with the one `--state-dir DIR` option (see statedir.find_state_dir).
    It defaults to nothing, so `reminders --state-dir DIR COMMAND` is kept."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help=f"状态目录 (state directory)，存放{holding}；"
        "默认 $REMINDERS_STATE_DIR、$STATE_DIRECTORY，否则 ./var",
    )
    return parser


def at_option(parser: argparse.ArgumentParser, what: str, *aliases: str) -> None:
    """`--at DATETIME`: the one name for "as of this instant" in every command
    (`aliases`: the option's older names, still accepted)."""
    old = f"；旧名 {'、'.join(aliases)} 仍可用" if aliases else ""
    parser.add_argument(
        "--at",
        *aliases,
        dest="at",
        metavar="DATETIME",
        type=parse_instant,
        help=f"{what} (as of)：YYYY-MM-DDTHH:MM 或 YYYY-MM-DD，按配置的时区；默认现在{old}",
    )


def table_width() -> int:
    """Columns a table may use: the terminal's width, or 160 when piped."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else 160


def print_json(data: object) -> None:
    """`data` as indented JSON on stdout, Chinese kept readable."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def listen_address(text: str) -> tuple[str, int]:
    """An argparse type for HOST:PORT (IPv6 as [::1]:8080)."""
    from ..listen import parse_listen

    try:
        return parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
