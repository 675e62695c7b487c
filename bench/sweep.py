"""A sweep for a city: the shipped table's 51 duties for the bureau and N schools.

At several instants of the year (a quarter's end, a month's start, the week a
self-check is due, after the year's end), in the same run:

1. the plan a sweep works out: the reminders due by now within the lookback
   (`due_at`) and the next wake-up (`next_due_instant`), from each duty's slots;
   baseline: the same from every unit's occurrences of the window (`expand`,
   then `reminders_for` for each; the way before). Target with 2,000 schools:
   < 1 s.
2. the whole sweep of a service that already sent all of them (`deliver_due`:
   the plan, the ledger lookup of every delivery key, nothing to send), on a
   real SQLite ledger.

    .venv/bin/python bench/sweep.py [--schools 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from feeds import best  # bench/ is the script's directory
from reminders.config import load_config
from reminders.core.expand import Window, expand
from reminders.core.model import Unit
from reminders.core.plan import Plan, compile_plan
from reminders.delivery import Deliverer
from reminders.delivery.plan import (
    Reminder,
    _reach,
    deliveries,
    due_at,
    next_due_instant,
    reminders_for,
    zone,
)
from reminders.delivery.setup import channels_from_config
from reminders.ledger import Entry, Ledger

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
INSTANTS = [
    datetime(2026, 9, 30, 10, 0, tzinfo=TZ),
    datetime(2026, 12, 1, 10, 0, tzinfo=TZ),
    datetime(2026, 12, 24, 10, 0, tzinfo=TZ),
    datetime(2027, 1, 5, 10, 0, tzinfo=TZ),
]


def city(schools: int) -> Plan:
    config = load_config(ROOT / "config")
    units = [config.units.units[0]] + [
        Unit(name=f"第{i:04d}学校", groups=["各校"], supervisor="教育局")
        for i in range(1, schools + 1)
    ]
    return compile_plan(config.settings, units, config.calendar, config.duties.duties)


# -- the way before: every unit's occurrences of the window, each planned ----------------


def previous_due_at(plan: Plan, now: datetime, done: Collection[str]) -> list[Reminder]:
    start = now - timedelta(days=plan.settings.delivery.lookback_days)
    before, after = _reach(plan)
    tz = zone(plan.settings)
    window = Window(
        start.astimezone(tz).date() - timedelta(days=after),
        now.astimezone(tz).date() + timedelta(days=before + 7),
    )
    found = reminders_for(plan, expand(plan, window), done)
    return [r for r in found if start <= r.instant <= now]


def previous_next_due(plan: Plan, done: Collection[str], now: datetime) -> datetime | None:
    """The month-by-month search the service did before, over every unit's occurrences."""
    before, after = _reach(plan)
    tz = zone(plan.settings)
    end = now + timedelta(days=400)
    day = now.astimezone(tz).date() - timedelta(days=after)
    last = end.astimezone(tz).date() + timedelta(days=before + 7)
    chunk_end = now.astimezone(tz).date() + timedelta(days=31 + before + 7)
    best_at: datetime | None = None
    while day <= last:
        if best_at is not None and day - timedelta(days=before + 7) > best_at.date():
            break
        chunk = Window(day, min(chunk_end, last))
        for reminder in reminders_for(plan, expand(plan, chunk), done):
            if now < reminder.instant <= end and (best_at is None or reminder.instant < best_at):
                best_at = reminder.instant
        day = chunk.end + timedelta(days=1)
        chunk_end = day + timedelta(days=30)
    return best_at


# -- the whole sweep on a ledger that has sent everything ---------------------------------


def steady_sweep(plan: Plan, now: datetime, state: Path, runs: int) -> tuple[float, int]:
    config = load_config(ROOT / "config")
    ledger = Ledger.open(f"sqlite:///{state / 'ledger.sqlite3'}")
    try:
        wanted = deliveries(plan, due_at(plan, now))
        entries = [
            Entry(d.key, d.reminder.subject, d.reminder.step, d.channel, d.reminder.unit, now)
            for d in wanted
        ]
        ledger.claim(entries, now, timedelta(minutes=5))
        ledger.mark_sent([e.key for e in entries], now)
        deliverer = Deliverer(ledger, channels_from_config(config, {}))

        async def sweep() -> None:
            report = await deliverer.deliver_due(plan, now, set())
            assert not report.sent and report.already == len(wanted), report.as_json()

        took = best(runs, lambda: asyncio.run(sweep()))
        return took, len(wanted)
    finally:
        ledger.close()


def cpu(runs: int, fn: Callable[[], Any]) -> float:
    """The least CPU time of `runs` calls: steadier than wall time on a shared machine."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def measure(
    plan: Plan, now: datetime, runs: int
) -> tuple[list[Reminder], float, float, float, float, int]:
    """(the reminders due, the plan's time and CPU time, the way before's, the whole
    sweep's, its keys)."""
    done: set[str] = set()
    due = due_at(plan, now, done)
    assert [r.id for r in due] == [r.id for r in previous_due_at(plan, now, done)]
    assert next_due_instant(plan, done, now) == previous_next_due(plan, done, now), now
    took = best(runs, lambda: (due_at(plan, now, done), next_due_instant(plan, done, now)))
    took_cpu = cpu(runs, lambda: (due_at(plan, now, done), next_due_instant(plan, done, now)))
    before = best(1, lambda: (previous_due_at(plan, now, done), previous_next_due(plan, done, now)))
    with tempfile.TemporaryDirectory() as tmp:
        sweep, keys = steady_sweep(plan, now, Path(tmp), runs)
    return due, took, took_cpu, before, sweep, keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("reminders").setLevel(logging.ERROR)
    plan = city(args.schools)
    print(
        f"sweep bench, {datetime.now(TZ):%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}: shipped table + {args.schools} schools "
        f"({len(plan.units)} units, {len(plan.duties)} duties)"
    )
    print(
        f"  {'instant':<17} {'due':>7} {'plan (due + next)':>18} {'CPU':>8} {'the way before':>15} "
        f"{'ratio':>6} {'whole sweep, all sent':>22}"
    )
    worst = 0.0
    for now in INSTANTS:
        due, took, took_cpu, before, sweep, keys = measure(plan, now, args.runs)
        worst = max(worst, took)
        print(
            f"  {now:%Y-%m-%d %H:%M} {len(due):>7} {took:>16.3f} s {took_cpu:>6.3f} s "
            f"{before:>13.3f} s "
            f"{before / took:>5.0f}x {sweep:>13.3f} s ({keys} keys)"
        )
    verdict = "met" if worst < 1 else "MISSED"
    print(f"  slowest plan {worst:.3f} s; target < 1 s with 2,000 schools: {verdict}")


if __name__ == "__main__":
    main()
