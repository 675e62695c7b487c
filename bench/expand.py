"""Expansion speed: 10,000 generated duties over a 5-year window.

Prints occurrences/s and peak memory of the engine (workday shifting included),
and the time raw python-dateutil takes to expand equivalent bare rules in the
same run, with the ratio. Target: engine under 2 s.

    .venv/bin/python bench/expand.py [--duties N] [--years N]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from datetime import date, datetime

from dateutil.rrule import MONTHLY, YEARLY, rrule

from reminders.core.expand import Window, expand
from reminders.core.model import CalendarData, Duty, Settings, Unit
from reminders.core.plan import compile_plan

KINDS = ["month", "quarter", "half-year", "year", "deadline"]
START = date(2026, 1, 1)


def duties(count: int) -> list[Duty]:
    made = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        rule = {"deadline": f"{i % 12 + 1:02d}"} if kind == "deadline" else {"every": kind}
        made.append(
            Duty(
                id=f"{i // 100 + 1}.{i % 100 + 1}",
                title=f"任务{i}",
                units=["教育局"],
                schedule=[rule],
            )  # type: ignore[list-item]
        )
    return made


def bare_rules(count: int, until: datetime) -> list[rrule]:
    start = datetime.combine(START, datetime.min.time())
    made = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        if kind == "month":
            made.append(rrule(MONTHLY, bymonthday=-1, dtstart=start, until=until))
        elif kind == "quarter":
            made.append(
                rrule(MONTHLY, bymonth=(3, 6, 9, 12), bymonthday=-1, dtstart=start, until=until)
            )
        elif kind == "half-year":
            made.append(rrule(MONTHLY, bymonth=(6, 12), bymonthday=-1, dtstart=start, until=until))
        elif kind == "year":
            made.append(rrule(YEARLY, bymonth=12, bymonthday=31, dtstart=start, until=until))
        else:
            made.append(rrule(MONTHLY, count=1, bymonth=i % 12 + 1, bymonthday=-1, dtstart=start))
    return made


def run_engine(count: int, years: int) -> tuple[int, float, float]:
    settings = Settings(plan_year=START.year)
    t0 = time.perf_counter()
    plan = compile_plan(settings, [Unit(name="教育局")], CalendarData(), duties(count))
    compiled = time.perf_counter() - t0
    window = Window(START, date(START.year + years - 1, 12, 31))
    t0 = time.perf_counter()
    found = expand(plan, window)
    return len(found), compiled, time.perf_counter() - t0


def run_dateutil(count: int, years: int) -> tuple[int, float]:
    until = datetime(START.year + years - 1, 12, 31)
    rules = bare_rules(count, until)
    t0 = time.perf_counter()
    total = sum(len(list(r)) for r in rules)
    return total, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duties", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_only:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        run_engine(args.duties, args.years)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"{before} {after}")
        return

    # Measure memory first: a child forked from a big parent inherits its peak RSS.
    memory_run = [sys.executable, __file__, "--memory-only"]
    memory_run += ["--duties", str(args.duties), "--years", str(args.years)]
    child = subprocess.run(memory_run, check=True, capture_output=True, text=True)
    occurrences, compiled, engine = run_engine(args.duties, args.years)
    raw_count, raw = run_dateutil(args.duties, args.years)
    before_kb, peak_kb = (int(x) for x in child.stdout.split())
    print(f"duties: {args.duties}, window: {args.years} years, fan-out off")
    rate = occurrences / engine
    print(f"engine: {occurrences} occurrences in {engine:.3f} s = {rate:,.0f} occurrences/s")
    print(f"(compiling the plan: {compiled:.3f} s)")
    print(f"raw python-dateutil, equivalent bare rules: {raw_count} dates in {raw:.3f} s")
    print(f"ratio engine/dateutil: {engine / raw:.2f}")
    print(f"peak RSS: {peak_kb / 1024:.0f} MB (process before run: {before_kb / 1024:.0f} MB)")
    print(f"target engine < 2 s: {'met' if engine < 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
