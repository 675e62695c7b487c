"""When tracking starts (跟踪起始日): occurrences due before it are history.

`track_from` in settings.yaml, else the day the ledger was made (a first start
in December does not report the whole year as overdue), else, when there is no
ledger yet, the day of `now` (the day one would be made). The pure core takes
the date in the plan (`Plan.track_from`); only this edge reads the ledger.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .config import Config

if TYPE_CHECKING:
    from .ledger import Ledger


def track_start(config: Config, ledger: Ledger | None, now: datetime) -> date:
    if config.settings.track_from is not None:
        return config.settings.track_from
    zone = ZoneInfo(config.settings.timezone)
    made = ledger.created_at() if ledger is not None else now
    return made.astimezone(zone).date()


def tracked(config: Config, ledger: Ledger | None, now: datetime) -> Config:
    """`config` whose plan knows when tracking started."""
    start = track_start(config, ledger, now)
    if config.plan.track_from == start:
        return config
    return replace(config, plan=replace(config.plan, track_from=start))
