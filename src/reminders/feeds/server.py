"""Serve feeds over HTTP: a raw ASGI app over an in-memory `FeedStore`.

    GET|HEAD /feeds/<token>/<slug>.ics

The store holds each feed gzip-compressed, with prebuilt headers; a request
for it does no rendering and no I/O. A feed not rendered yet (a unit's, until
someone subscribes) is rendered on its first request, once its token is checked.
A client that accepts gzip (calendar apps do) gets those bytes as they are; any
other gets them decompressed, the last few kept decompressed in a small cache.
Responses carry the content's ETag (weak, W/, on gzip responses, as nginx does:
same content, other bytes), a truthful Last-Modified and `Vary: Accept-Encoding`,
and answer conditional requests with 304. A wrong token, an unknown feed or any
other path is a 404 with no hint; other methods get 405.
The path is matched on the raw bytes, segment by segment, against the known
feeds, so `..`, encoded slashes and the like can only ever miss.

`FeedApp` is an ASGI callable a daemon can mount next to its own routes.
`server_config()` gives a uvicorn config with bounded headers, timeouts and
concurrency; `GuardedHttpTools` adds what uvicorn lacks: a deadline for the
request head (slowloris) and for the response (slow readers).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import unquote_to_bytes

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .. import httpguard
from ..limits import (
    HTTP_HEAD_MAX_BYTES,
    HTTP_HEAD_SECONDS,
    HTTP_KEEP_ALIVE_SECONDS,
    HTTP_RESPONSE_SECONDS,
)
from ..listen import configured_listen as configured_listen  # its old home: re-exported
from ..listen import parse_listen as parse_listen
from .builder import Feed
from .specs import FeedSpec
from .tokens import TOKEN_PATTERN, same_token

log = logging.getLogger("reminders.feeds")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PREFIX = b"/feeds/"
CONTENT_TYPE = b"text/calendar; charset=utf-8"
CACHE_CONTROL = b"private, no-cache"
_DUMMY_TOKEN = "x" * 32


MAX_HEAD_BYTES = HTTP_HEAD_MAX_BYTES  # request line and headers


IDENTITY_CACHE_BYTES = 1024 * 1024  # decompressed feeds kept for clients without gzip


@dataclass(frozen=True, slots=True)
class _Variant:
    ok_headers: list[tuple[bytes, bytes]]
    not_modified_headers: list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class _Entry:
    token: str
    gzipped: bytes
    etag: bytes
    modified: int  # Unix seconds
    gzip: _Variant
    identity: _Variant


def _http_date(moment: datetime) -> bytes:
    return format_datetime(moment, usegmt=True).encode()


class FeedStore:
    """Encoded feeds by file name (safe across threads).

    `update` swaps the feeds whole; a feed that is known but not rendered yet (a
    unit's, until first asked for) is rendered by `render_missing(name)`, which
    must `put` it, in a worker thread of its own when a request wants it.
    """

    def __init__(self, render_missing: Callable[[str], None] | None = None) -> None:
        self._entries: dict[str, _Entry] = {}
        self._tokens: dict[str, str] = {}  # every known feed's token, by file name
        self.render_missing = render_missing
        self._renderer: ThreadPoolExecutor | None = None

    def update(
        self, feeds: Mapping[str, Feed], tokens: Mapping[str, str], specs: Iterable[FeedSpec] = ()
    ) -> None:
        """Publish these feeds; `tokens` maps each feed's key to its token; `specs`: the
        feeds to render when asked for, besides these."""
        known = {spec.filename: tokens[spec.key] for spec in specs}
        entries = {}
        for feed in feeds.values():
            entries[feed.spec.filename] = _entry(feed, tokens[feed.spec.key])
            known[feed.spec.filename] = tokens[feed.spec.key]
        self._entries, self._tokens = entries, known

    def put(self, feed: Feed) -> None:
        """Publish one more rendered feed (a known one, with its token)."""
        name = feed.spec.filename
        self._entries[name] = _entry(feed, self._tokens[name])

    def lookup(self, token: str, name: str) -> _Entry | None:
        entry = self._entries.get(name)
        expected = entry.token if entry is not None else _DUMMY_TOKEN
        if same_token(token, expected) and entry is not None:
            return entry
        return None

    async def render(self, token: str, name: str) -> _Entry | None:
        """A known feed that is not rendered yet, rendered now (for the right token only)."""
        expected = self._tokens.get(name)
        if not same_token(token, expected or _DUMMY_TOKEN) or expected is None:
            return None
        if self.render_missing is None:
            return None
        if self._renderer is None:  # one thread: renders queue there, not in asyncio's pool
            self._renderer = ThreadPoolExecutor(1, thread_name_prefix="feed-render")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._renderer, self.render_missing, name)
        return self.lookup(token, name)


def _entry(feed: Feed, token: str) -> _Entry:
    etag = feed.etag.encode()
    modified = _http_date(feed.changed)
    return _Entry(
        token,
        feed.gzipped,
        etag,
        int(feed.changed.timestamp()),
        _variant(b"W/" + etag, modified, len(feed.gzipped), gzipped=True),
        _variant(etag, modified, feed.size, gzipped=False),
    )


def _variant(etag: bytes, modified: bytes, length: int, *, gzipped: bool) -> _Variant:
    common = [
        (b"etag", etag),
        (b"last-modified", modified),
        (b"cache-control", CACHE_CONTROL),
        (b"vary", b"accept-encoding"),
    ]
    ok = [
        (b"content-type", CONTENT_TYPE),
        (b"content-length", str(length).encode()),
        (b"x-content-type-options", b"nosniff"),
        *common,
    ]
    if gzipped:
        ok.insert(1, (b"content-encoding", b"gzip"))
    return _Variant(ok, common)


def accepts_gzip(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether Accept-Encoding allows gzip (RFC 9110 §12.5.3): listed, or covered by
    `*`, with a q-value above zero."""
    listed: dict[bytes, float] = {}
    for key, value in headers:
        if key != b"accept-encoding":
            continue
        for item in value.split(b","):
            name, _, params = item.partition(b";")
            q = 1.0
            for param in params.split(b";"):
                k, _, v = param.partition(b"=")
                if k.strip().lower() == b"q":
                    try:
                        q = float(v.strip())
                    except ValueError:
                        q = 0.0
            listed[name.strip().lower()] = q
    for name in (b"gzip", b"x-gzip", b"*"):
        if name in listed:
            return listed[name] > 0
    return False


class _IdentityCache:
    """The last few feeds decompressed, up to a byte budget, newest last."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._bodies: OrderedDict[bytes, bytes] = OrderedDict()  # by ETag
        self._size = 0

    def body(self, entry: _Entry) -> bytes:
        body = self._bodies.get(entry.etag)
        if body is not None:
            self._bodies.move_to_end(entry.etag)
            return body
        body = gzip.decompress(entry.gzipped)
        if len(body) <= self.budget:
            self._bodies[entry.etag] = body
            self._size += len(body)
            while self._size > self.budget:
                _, old = self._bodies.popitem(last=False)
                self._size -= len(old)
        return body


def _split(raw_path: bytes) -> tuple[str, str] | None:
    """b'/feeds/<token>/<name>' → (token, name), or None for anything else."""
    if not raw_path.startswith(PREFIX):
        return None
    parts = raw_path[len(PREFIX) :].split(b"/")
    if len(parts) != 2:
        return None
    try:
        token = parts[0].decode("ascii")
        name = unquote_to_bytes(parts[1]).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not TOKEN_PATTERN.match(token) or "/" in name or "\\" in name or name.startswith("."):
        return None
    return token, name


def _not_modified(entry: _Entry, headers: list[tuple[bytes, bytes]]) -> bool:
    match: bytes | None = None
    since: bytes | None = None
    for key, value in headers:
        if key == b"if-none-match":
            match = value if match is None else match + b"," + value
        elif key == b"if-modified-since":
            since = value
    if match is not None:  # RFC 9110 §13.1.3: If-None-Match wins
        for tag in match.split(b","):
            tag = tag.strip()
            if tag.startswith(b"W/"):
                tag = tag[2:]
            if tag == entry.etag or tag == b"*":
                return True
        return False
    if since is not None:
        try:
            when = parsedate_to_datetime(since.decode("latin-1"))
        except (TypeError, ValueError, IndexError):
            return False
        if when.tzinfo is None:
            return False
        return entry.modified <= when.timestamp()
    return False


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_NOT_FOUND = b"not found\n"
_NOT_FOUND_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(_NOT_FOUND)).encode()),
    (b"cache-control", b"no-store"),
]
_UNAVAILABLE = b"try again later\n"
_UNAVAILABLE_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(_UNAVAILABLE)).encode()),
    (b"cache-control", b"no-store"),
    (b"retry-after", b"60"),
]
_NOT_ALLOWED = b"method not allowed\n"
_NOT_ALLOWED_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(_NOT_ALLOWED)).encode()),
    (b"allow", b"GET, HEAD"),
]


class FeedApp:
    """ASGI app serving a FeedStore under /feeds/."""

    def __init__(self, store: FeedStore, identity_cache: int = IDENTITY_CACHE_BYTES) -> None:
        self.store = store
        self._identity = _IdentityCache(identity_cache)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        raw: bytes = scope.get("raw_path") or str(scope["path"]).encode()
        raw = raw.split(b"?", 1)[0]
        if method not in ("GET", "HEAD"):
            await _respond(send, 405, _NOT_ALLOWED_HEADERS, _NOT_ALLOWED)
            return
        parts = _split(raw)
        entry = self.store.lookup(*parts) if parts is not None else None
        if entry is None and parts is not None:
            try:
                entry = await self.store.render(*parts)
            except Exception:
                log.exception("订阅 %s 未能生成 (feed render failed)，下次请求时重试", parts[1])
                await _respond(
                    send, 503, _UNAVAILABLE_HEADERS, b"" if method == "HEAD" else _UNAVAILABLE
                )
                return
        if entry is None:
            body = b"" if method == "HEAD" else _NOT_FOUND
            await _respond(send, 404, _NOT_FOUND_HEADERS, body)
            return
        headers = scope["headers"]
        gzipped = accepts_gzip(headers)
        variant = entry.gzip if gzipped else entry.identity
        if _not_modified(entry, headers):
            await _respond(send, 304, variant.not_modified_headers)
            return
        body = b""
        if method != "HEAD":
            body = entry.gzipped if gzipped else self._identity.body(entry)
        await _respond(send, 200, variant.ok_headers, body)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol plus deadlines, a bound on the request head and
    room kept for real requests.

    uvicorn times out idle keep-alive connections only; a client that sends a
    head byte by byte (slowloris) or never reads the response holds its
    connection forever. Here a connection must deliver each request head
    within `head_timeout` seconds and `max_head_bytes`, and take each
    response within `response_timeout` seconds, or it is closed. With a
    listener's `pressure` (server_config gives each its own), a connection that
    arrives when the open ones are at the limit closes the longest-idle one
    (httpguard.py), so idle connections cannot crowd real requests out.
    """

    head_timeout = HTTP_HEAD_SECONDS
    response_timeout = HTTP_RESPONSE_SECONDS
    max_head_bytes = MAX_HEAD_BYTES
    pressure: ClassVar[httpguard.Pressure | None] = None
    _deadline: asyncio.TimerHandle | None = None
    _head_bytes: int = 0  # bytes received while the head is incomplete
    _head_parsed: int = 0  # bytes of request line and headers parsed
    _in_head: bool = True
    _refused: bool = False  # answered 503 for want of room: reading only to drop it

    def _arm(self, seconds: float) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head, self._head_bytes = True, 0
        self._arm(self.head_timeout)
        if self.pressure is not None:
            if self.pressure.opened(self):
                self.pressure.idle(self)
            else:  # at the limit and nothing idle to close: no room
                self._refuse()

    def _refuse(self) -> None:
        """Answer 503 and close gently: what the client sends meanwhile is read and
        dropped (closing with it unread would reset the connection, and the client
        would lose the answer), for at most `httpguard.REFUSED_LINGER_SECONDS`."""
        self._refused = True
        self.transport.write(httpguard.BUSY_RESPONSE)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._arm(httpguard.REFUSED_LINGER_SECONDS)

    # -- for Pressure ---------------------------------------------------------
    def idle_sheddable(self) -> bool:
        """Closing it now loses nothing: no request in progress or arrived unread, no
        response unsent."""
        return (
            (self.cycle is None or self.cycle.response_complete)
            and not self.transport.is_closing()
            and self.transport.get_write_buffer_size() == 0
            and httpguard.unread_bytes(self.transport.get_extra_info("socket")) == 0
        )

    def shed(self) -> None:
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        # Counted after parsing, so a body that arrives with its head is not
        # mistaken for head bytes; a head that never ends is.
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self.send_400_response("Request head too large.")
                self.transport.close()

    def on_message_begin(self) -> None:
        self._in_head, self._head_bytes, self._head_parsed = True, 0, 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head_parsed += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_parsed += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self.pressure is not None:
            self.pressure.busy(self)
        if self._head_parsed > self.max_head_bytes:
            # a whole head in one read: the parser turns this into a 400
            raise ValueError("request head too large")
        self._arm(self.response_timeout)
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        self._arm(self.head_timeout)
        pipelined = bool(self.pipeline)  # then super() starts the next request
        super().on_response_complete()
        if self.pressure is not None and not pipelined and not self.transport.is_closing():
            self.pressure.idle(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self.pressure is not None:
            self.pressure.closed(self)
        super().connection_lost(exc)


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals to its owner (a daemon, `feeds serve`).

    uvicorn's own handling re-raises SIGTERM after shutdown, so the process
    would die by the signal instead of exiting 0; the owner sets
    `should_exit = True` instead.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server_config(
    app: Callable[..., Awaitable[None]],
    host: str,
    port: int,
    *,
    max_connections: int = httpguard.MAX_CONNECTIONS,
    max_requests: int = httpguard.MAX_REQUESTS,
    log_level: str = "warning",
) -> uvicorn.Config:
    """A uvicorn config for untrusted clients: bounded, timed, quiet (no access log).

    Every request on the listener, whatever app `app` routes it to, is under the same
    guards (httpguard.py): at most `max_connections` open (the longest-idle closed
    to make room; fewer when the descriptor limit cannot be raised to fit) and
    `max_requests` in progress (the rest queued, then 503)."""

    connections, backlog = httpguard.descriptor_budget(max_connections)

    class Listener(GuardedHttpTools):
        pressure = httpguard.Pressure(connections)

    return uvicorn.Config(
        httpguard.Admission(app, max_requests),
        host=host,
        port=port,
        http=Listener,
        lifespan="off",
        log_config=None,  # the caller (CLI, daemon) owns logging
        access_log=False,  # URLs carry tokens: never log them
        log_level=log_level,
        server_header=False,
        proxy_headers=False,
        limit_concurrency=None,  # it counts open connections: httpguard counts better
        backlog=backlog,
        timeout_keep_alive=HTTP_KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=5,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        ws="none",
    )
