"""Rate limiter and backoff on a virtual clock."""

from __future__ import annotations

import asyncio

from reminders.delivery.ratelimit import MARGIN, WINDOW, RateLimiter, backoff

from .fakerobot import VirtualClock


def sends(limiter: RateLimiter, clock: VirtualClock, count: int) -> list[float]:
    async def go() -> list[float]:
        times = []
        for _ in range(count):
            await limiter.acquire()
            times.append(clock())
        return times

    return asyncio.run(go())


def test_twenty_per_minute_then_waits() -> None:
    clock = VirtualClock(1000.0)
    times = sends(RateLimiter(20, clock, clock.sleep), clock, 45)
    assert times[:20] == [1000.0] * 20
    assert times[20] == 1000.0 + WINDOW + MARGIN
    for i in range(len(times) - 20):
        assert times[i + 20] - times[i] >= WINDOW


def test_burst_per_second() -> None:
    clock = VirtualClock(0.0)
    times = sends(RateLimiter(100, clock, clock.sleep, per_second=5), clock, 12)
    for i in range(len(times) - 5):
        assert times[i + 5] - times[i] >= 1.0


def test_block_delays_the_next_send() -> None:
    clock = VirtualClock(0.0)
    limiter = RateLimiter(20, clock, clock.sleep)
    limiter.block(600.0)
    assert limiter.blocked_for() == 600.0
    assert sends(limiter, clock, 1) == [600.0]


def test_backoff_doubles_with_jitter_and_cap() -> None:
    assert backoff(1, 30, 1800, lambda: 1.0) == 30
    assert backoff(3, 30, 1800, lambda: 1.0) == 120
    assert backoff(3, 30, 1800, lambda: 0.0) == 60
    assert backoff(20, 30, 1800, lambda: 1.0) == 1800


def test_a_slow_send_counts_from_when_it_finished() -> None:
    clock = VirtualClock(0.0)
    limiter = RateLimiter(100, clock, clock.sleep, per_second=1)

    async def go() -> list[float]:
        first = await limiter.acquire()
        await clock.sleep(0.7)  # the request took 0.7 s to reach the robot and answer
        limiter.settle(first)
        await limiter.acquire()
        return list(limiter.times)

    times = asyncio.run(go())
    assert times[1] - times[0] >= 1.0
