"""What every command shares: loading the config and knowing today's date."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..config import Config, find_config_dir, load_config
from .errors import print_problems


def load(args: argparse.Namespace) -> Config:
    """Load the config named by --config / REMINDERS_CONFIG; print its warnings."""
    config = load_config(find_config_dir(args.config), args.plan_year)
    if config.plan.warnings:
        print_problems(list(config.plan.warnings))
    return config


def today(config: Config) -> date:
    return datetime.now(ZoneInfo(config.settings.timezone)).date()


def parse_instant(text: str) -> datetime:
    """An argparse type for date-times (YYYY-MM-DDTHH:MM, optional offset)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date-time (YYYY-MM-DDTHH:MM): {text!r}") from None


def at_or_now(moment: datetime | None, config: Config) -> datetime:
    """`moment` in the config's time zone when it has none; the current time when None."""
    zone = ZoneInfo(config.settings.timezone)
    if moment is None:
        return datetime.now(zone)
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
