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


def load(args: argparse.Namespace) -> Config:
    """Load the config named by --config / REMINDERS_CONFIG; print its warnings."""
    config = load_config(find_config_dir(args.config), args.plan_year)
    if config.plan.warnings:
        print_problems(list(config.plan.warnings))
    return config


def today(config: Config) -> date:
    return datetime.now(ZoneInfo(config.settings.timezone)).date()


def parse_year(text: str) -> int:
    """An argparse type for plan years."""
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise argparse.ArgumentTypeError(f"not a year (2000-2100): {text!r}")
    return int(text)


def parse_instant(text: str) -> datetime:
    """An argparse type for date-times (YYYY-MM-DDTHH:MM, optional offset)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date-time (YYYY-MM-DDTHH:MM): {text!r}") from None
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
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    return _in_range(day, text)


def _in_range(day: D, text: str) -> D:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise argparse.ArgumentTypeError(
            f"日期须在 {MIN_YEAR}–{MAX_YEAR} 年之间 (date out of range): {text[:40]!r}"
        )
    return day


def state_dir_option(holding: str) -> argparse.ArgumentParser:
    """A parent parser with the one `--state-dir DIR` option (see statedir.find_state_dir)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help=f"state directory holding {holding} "
        "(default: $REMINDERS_STATE_DIR, $STATE_DIRECTORY, else ./var)",
    )
    return parser


def table_width() -> int:
    """Columns a table may use: the terminal's width, or 160 when piped."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else 160


def print_json(data: object) -> None:
    """`data` as indented JSON on stdout, Chinese kept readable."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def listen_address(text: str) -> tuple[str, int]:
    """An argparse type for HOST:PORT (IPv6 as [::1]:8080)."""
    from ..feeds.server import parse_listen  # not at import time: it loads uvicorn

    try:
        return parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
