"""The service's start, tried without sending: what `validate` checks beyond the files,
and what a reload must pass before it replaces the running config.

At start (and after every reload) `reminders run` works out each duty's dates over
its windows: the feeds' window (as the feed builder does), the delivery lookback,
the scheduler's look-ahead and the weekly report's range (plan start to today),
and plans the reminders of each. `check_service_start` does the same in
memory — no ledger, no robot, no file, no feed rendered — so that whatever would
fail there fails here first. A failure is traced to the duty that causes it and
reported with its file, line and field.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..config import Config
from ..core.expand import Window, duty_slots
from ..core.plan import Plan
from ..delivery.plan import due_at, next_due_instant, zone
from ..exceptions import ConfigError, Problem, clipped
from ..feeds.builder import feed_window


def check_service_start(config: Config, now: datetime) -> None:
    """Raise ConfigError naming the duty (file, line, field) when the service would
    fail on this config at `now`."""
    try:
        _start(config.plan, now)
    except Exception as exc:  # whatever it is, the service would have died of it
        raise ConfigError(_blame(config, now, exc)) from None


def _start(plan: Plan, now: datetime) -> None:
    """What the service computes from the plan when it starts: each duty's dates (its
    slots; the units are only fanned out from them, which cannot fail)."""
    today = now.astimezone(zone(plan.settings)).date()
    duty_slots(plan, feed_window(plan.settings, today))  # as the feed builder does
    due_at(plan, now)
    next_due_instant(plan, (), now)
    if plan.start <= today:  # the weekly report's range
        duty_slots(plan, Window(plan.start, today))


def _blame(config: Config, now: datetime, failure: Exception) -> list[Problem]:
    """One problem per duty that fails on its own; the whole plan's failure otherwise."""
    plan = config.plan
    problems = []
    for compiled in plan.duties:
        duty = compiled.duty
        try:
            _start(replace(plan, duties=(compiled,)), now)
        except Exception as exc:
            place = config.duty_places.get(duty.id)
            field = "schedule" if duty.schedule is not None else "time_limit"
            problems.append(
                Problem(
                    f"任务 {duty.id}：服务启动时展开失败 (expansion failed at start)："
                    f"{_reason(exc)}",
                    str(place.file if place else config.directory),
                    place.line if place else None,
                    f"duties[{place.index}].{field}" if place else field,
                )
            )
    if not problems:
        problems.append(
            Problem(
                f"服务启动试运行失败 (the service would fail at start)：{_reason(failure)}",
                str(config.directory),
            )
        )
    return problems


def _reason(exc: Exception) -> str:
    return clipped(f"{type(exc).__name__}: {exc}", 300)
