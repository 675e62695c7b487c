"""Guards for the one HTTP listener (feeds, action links, API, console): every request.

Idle and slow connections must not starve real requests. Two things are bounded,
separately, because they cost different things (the bounds are in limits.py):

- **Open connections** cost a file descriptor and about 6 kB each, and do nothing
  while they wait for a request head. At most `MAX_CONNECTIONS` are open; when one
  more arrives, the one idle longest is closed to make room: no request in
  progress (waiting for a head, or kept alive between requests), no response
  unsent, and no request bytes that arrived but were not read yet (a client of a
  burst whose request waits in the kernel is not idle). So under pressure idle
  heads time out at once, oldest first. Only when none is idle is the newcomer
  refused (503). The process's soft descriptor limit is raised to fit (systemd's
  default soft limit is 1,024); with a low hard limit, fewer connections are kept.
- **Requests in progress** cost work (a render, a database call). At most
  `MAX_REQUESTS` run at once; the next wait their turn in arrival order, for at
  most `QUEUE_SECONDS`, then get 503 with Retry-After.

No per-client bound: the listener usually sits behind a reverse proxy (every
request from 127.0.0.1) and a school's staff share one NAT address, so a bound
per address would fall on the proxy or a whole school first.

uvicorn's own `limit_concurrency` counts open connections, so 1,100 idle ones
made every request a 503; it is off, `GuardedHttpTools` (feeds/server.py) uses
`Pressure`, and `server_config` wraps the app in `Admission`.

The last section bounds what the JSON API accepts (dates, spans, nesting), checked
by closedloop/app.py before any work, each past its bound a 400.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import resource
import sys
import termios
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date
from typing import Any, Protocol

from .limits import BACKLOG as BACKLOG
from .limits import MAX_CONNECTIONS as MAX_CONNECTIONS
from .limits import MAX_REQUESTS as MAX_REQUESTS
from .limits import MAX_YEAR, MIN_YEAR
from .limits import QUEUE_SECONDS as QUEUE_SECONDS

log = logging.getLogger("reminders.http")

RETRY_AFTER_SECONDS = 5
"""Retry-After of a 503 for want of room."""

REFUSED_LINGER_SECONDS = 1.0
"""How long a connection refused for want of room is kept to drop what its client sends
(so it reads the 503 rather than a reset)."""

FD_RESERVE = 128
"""File descriptors kept apart from connections: ledger, logs, config files, the
robots' connections, the listening socket."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BUSY_BODY = "服务繁忙，请稍后再试 (busy, try again later)\n".encode()
BUSY_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(BUSY_BODY)).encode()),
    (b"cache-control", b"no-store"),
    (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
    (b"connection", b"close"),
]
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    + b"".join(name + b": " + value + b"\r\n" for name, value in BUSY_HEADERS)
    + b"\r\n"
    + BUSY_BODY
)


class Connection(Protocol):
    """What `Pressure` needs of a connection (GuardedHttpTools is one)."""

    def idle_sheddable(self) -> bool: ...

    def shed(self) -> None: ...


class Pressure:
    """The open connections of one listener, the idle ones in the order they fell idle."""

    _SCAN = 64  # idle connections looked at per arrival, at most

    def __init__(
        self, max_connections: int = MAX_CONNECTIONS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_connections = max_connections
        self.clock = clock
        self.open = 0
        self.shed = 0  # connections closed to make room, all told
        self.refused = 0  # connections refused for want of an idle one to close
        self._idle: OrderedDict[Connection, float] = OrderedDict()
        self._logged = 0.0

    def opened(self, connection: Connection) -> bool:
        """A connection arrived; room is made for it if need be. False: no room (refuse it)."""
        self.open += 1
        if self.open <= self.max_connections:
            return True
        victim = self._longest_idle()
        if victim is None:
            self.refused += 1
            self._report()
            return False
        self.forget(victim)
        victim.shed()
        self.shed += 1
        self._report()
        return True

    def idle(self, connection: Connection) -> None:
        """`connection` waits for a request head from now on."""
        self._idle[connection] = self.clock()
        self._idle.move_to_end(connection)

    def busy(self, connection: Connection) -> None:
        """`connection` has a request in progress."""
        self._idle.pop(connection, None)

    def forget(self, connection: Connection) -> None:
        self._idle.pop(connection, None)

    def closed(self, connection: Connection) -> None:
        self._idle.pop(connection, None)
        self.open -= 1

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    def _longest_idle(self) -> Connection | None:
        for scanned, connection in enumerate(self._idle):
            if scanned >= self._SCAN:
                break
            if connection.idle_sheddable():
                return connection
        return None

    def _report(self) -> None:
        now = self.clock()
        if now - self._logged >= 60:
            self._logged = now
            log.warning(
                "连接过多 (too many connections)：已打开 %d 个，上限 %d 个；已关闭 %d 个空闲连接"
                "腾出位置，累计拒绝 %d 个",
                self.open,
                self.max_connections,
                self.shed,
                self.refused,
            )


class Admission:
    """ASGI middleware: at most `max_requests` requests in progress, the rest queued
    in arrival order for at most `queue_seconds`, then answered 503."""

    def __init__(
        self,
        app: ASGIApp,
        max_requests: int = MAX_REQUESTS,
        queue_seconds: float = QUEUE_SECONDS,
    ) -> None:
        self.app = app
        self.max_requests = max_requests
        self.queue_seconds = queue_seconds
        self.running = 0
        self.peak_waiting = 0
        self.turned_away = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # a live waiter exists only while every slot is taken (slots pass from hand to
        # hand), so a request that finds one free is not jumping the queue
        if self.running >= self.max_requests:
            if not await self._wait_turn():
                self.turned_away += 1
                await send({"type": "http.response.start", "status": 503, "headers": BUSY_HEADERS})
                await send({"type": "http.response.body", "body": BUSY_BODY})
                return
        else:
            self.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _wait_turn(self) -> bool:
        """Queue up; True once a slot was handed over, False after `queue_seconds`."""
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        self.peak_waiting = max(self.peak_waiting, len(self._waiting))
        try:
            done, _ = await asyncio.wait([turn], timeout=self.queue_seconds)
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # handed a slot it will never use
            turn.cancel()
            raise
        if done:
            return True
        turn.cancel()  # skipped when its turn comes
        return False

    def _release(self) -> None:
        """A request finished: its slot goes to the first still waiting, or is freed."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes on: `running` stays
                return
        self.running -= 1


def unread_bytes(sock: Any) -> int:
    """Bytes that arrived on a socket and were not read yet (0 when it cannot tell)."""
    try:
        answer = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
    except (OSError, ValueError):
        return 0
    return int.from_bytes(answer, sys.byteorder, signed=True)


def descriptor_budget(
    connections: int, backlog: int = BACKLOG, reserve: int = FD_RESERVE
) -> tuple[int, int]:
    """(connections, backlog) that fit the process's descriptor limit, after raising the
    soft limit as far as the hard one allows.

    asyncio accepts up to a whole backlog in one go, before the first of them is
    seen (and counted), and a connection closed to make room gives its descriptor
    back a moment later; so `connections + 3 × backlog + reserve` descriptors are
    wanted. A low hard limit shrinks both, the backlog to an eighth of what is left.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = connections + 3 * backlog + reserve
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= need:
        return connections, backlog
    available = max(soft - reserve, 64)
    backlog = min(backlog, available // 8)
    fit = min(connections, available - 3 * backlog)
    log.warning(
        "文件描述符上限 (open files limit) %d：最多同时保持 %d 个连接 (connections)", soft, fit
    )
    return fit, backlog


# -- what the JSON API accepts (its bounds are in limits.py) -------------------------------
EARLIEST_DATE = date(MIN_YEAR, 1, 1)
"""Earliest date a request may name: the config's dates are bounded alike."""

LATEST_DATE = date(MAX_YEAR, 12, 31)
"""Latest date a request may name."""


def json_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in `raw` (JSON text), found without parsing it,
    so a body of 8,000 brackets is refused before the parser recurses into it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest
