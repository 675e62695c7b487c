"""Per-robot rate limits and retry backoff, on an injected clock."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from ..channels.base import Clock

Sleep = Callable[[float], Awaitable[None]]

WINDOW = 60.0
#: seconds added to the window: the robot's clock and ours are not the same clock
MARGIN = 1.0
SECOND_MARGIN = 0.2


class RateLimiter:
    """At most `per_minute` sends in any sliding minute (and `per_second` in any second);
    shared by all sends to one robot."""

    def __init__(
        self, per_minute: int, clock: Clock, sleep: Sleep, per_second: int | None = None
    ) -> None:
        self.per_minute = per_minute
        self.per_second = per_second
        self.clock = clock
        self.sleep = sleep
        self.times: deque[float] = deque()
        self.blocked_until = 0.0
        self.lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def block(self, until: float) -> None:
        """The robot asked us to stop (45009, 130101, 9499) until `until`."""
        self.blocked_until = max(self.blocked_until, until)

    def blocked_for(self) -> float:
        return max(0.0, self.blocked_until - self.clock())

    def wait_needed(self) -> float:
        now = self.clock()
        while self.times and self.times[0] <= now - WINDOW - MARGIN:
            self.times.popleft()
        wait = self.blocked_until - now
        if len(self.times) >= self.per_minute:
            wait = max(wait, self.times[0] + WINDOW + MARGIN - now)
        if self.per_second and len(self.times) >= self.per_second:
            nth = self.times[-self.per_second]
            wait = max(wait, nth + 1.0 + SECOND_MARGIN - now)
        return max(0.0, wait)

    async def acquire(self) -> float:
        """Wait for a free slot; return its stamp (pass it to `settle` after the send)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a lock belongs to one event loop
            self.lock, self._loop = asyncio.Lock(), loop
        async with self.lock:
            while True:
                wait = self.wait_needed()
                if wait <= 0:
                    stamp = self.clock()
                    self.times.append(stamp)
                    return stamp
                await self.sleep(wait)

    def settle(self, stamp: float) -> None:
        """The send is over: count it from now, a time the robot surely saw it by."""
        for index in range(len(self.times) - 1, -1, -1):
            if self.times[index] == stamp:
                self.times[index] = max(stamp, self.clock())
                return


def backoff(attempt: int, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base·2^(attempt-1))."""
    delay = min(cap, base * 2.0 ** max(0, attempt - 1))
    return float(delay * (0.5 + 0.5 * rng()))
