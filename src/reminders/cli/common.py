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


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
