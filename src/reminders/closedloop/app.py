"""HTTP for the closed loop: action links (`/act/<token>`) and a small JSON API (`/api/`).

    GET|HEAD /act/<token>            the confirm page (changes nothing)
    POST     /act/<token>            do the token's action (form: by, note); idempotent
             a token may name a self-check group (`review/<unit>/<period>`) instead of
             an occurrence: its "done" closes every standing duty of the group still open
    GET      /api/occurrences?unit=U[&from=YYYY-MM-DD&to=YYYY-MM-DD]
    GET      /api/overdue[?unit=U]
    GET      /api/report[?from=…&to=…]
    POST     /api/occurrences/<id>/done|undo|waive   JSON body {"by", "note", "evidence"}

The API wants `Authorization: Bearer <token>`. The link's token is its own
authority (an HMAC the service made), so the form needs no other CSRF token.
Database work runs in worker threads; `on_change` is called in the event loop
after every change so the daemon can re-plan and refresh the feeds.
`RootApp` puts this next to the feed server under one listener.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote

from ..core.occurrence import is_review_group
from ..exceptions import RemindersError
from ..httpguard import EARLIEST_DATE, LATEST_DATE, json_depth
from ..limits import (
    API_BODY_MAX_BYTES,
    API_JSON_MAX_DEPTH,
    API_LISTING_MAX_DAYS,
    API_REPORT_MAX_DAYS,
)
from . import pages
from .loop import Listed, Loop, UnknownOccurrence
from .signing import Claim, TokenError, verify
from .state import ACTIONS, STATE_LABELS

log = logging.getLogger("reminders.loop")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_JSON = [(b"content-type", b"application/json; charset=utf-8"), (b"cache-control", b"no-store")]


class _TooLarge(Exception):
    pass


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > API_BODY_MAX_BYTES:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool = False
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _page(send: Send, page: pages.Page, head: bool = False) -> None:
    await _respond(send, page.status, pages.HEADERS, page.body, head)


async def _json(
    send: Send, status: int, data: object, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(data, ensure_ascii=False).encode() + b"\n"
    await _respond(send, status, [*_JSON, *(extra or [])], body)


class LoopApp:
    def __init__(
        self,
        loop: Loop,
        key: bytes,
        api_token: str,
        clock: Callable[[], datetime],
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.loop = loop
        self.key = key
        self.api_token = api_token
        self.clock = clock
        self.on_change = on_change

    @staticmethod
    def handles(scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        return scope.get("type") == "http" and path.startswith(("/act/", "/api/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = str(scope["path"])
        try:
            if path.startswith("/act/"):
                await self._act(scope, receive, send, path[len("/act/") :])
            else:
                await self._api(scope, receive, send, path[len("/api/") :])
        except _TooLarge:
            await _page(send, pages.error_page("too_large"))

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                log.exception("状态变更后重新排定失败 (re-planning failed)")

    # -- action links --------------------------------------------------------
    async def _act(self, scope: Scope, receive: Receive, send: Send, token: str) -> None:
        method = scope["method"]
        head = method == "HEAD"
        if method not in ("GET", "HEAD", "POST"):
            await _page(send, pages.error_page("method"))
            return
        now = self.clock()
        try:
            claim = verify(self.key, token, now)
        except TokenError as exc:
            log.info("办结链接被拒绝 (action link refused)：%s", exc.reason)  # never the token
            await _page(send, pages.error_page(exc.reason), head)
            return
        if is_review_group(claim.occurrence_id):
            await self._act_group(scope, receive, send, claim, token, now)
            return
        zone = self.loop.zone()
        if method == "POST":
            form = await self._form(scope, receive, token)
            if form is None:
                await _page(send, pages.error_page("bad_form"))
                return
            occurrence = await asyncio.to_thread(self.loop.find, claim.occurrence_id, now)
            try:
                outcome = await asyncio.to_thread(
                    self.loop.act,
                    claim.occurrence_id,
                    claim.action,
                    now,
                    by=form.get("by") or "链接确认",
                    note=form.get("note"),
                    via="link",
                    found=occurrence,  # looked up once for the action and the page
                )
            except UnknownOccurrence:
                await _page(send, pages.error_page("unknown"))
                return
            if outcome.changed:
                state = outcome.closure.state
                log.info(
                    "%s：%s (%s)，经办结链接 (action link)",
                    claim.occurrence_id,
                    STATE_LABELS[state],
                    state,
                )
                self._changed()
            if occurrence is None:
                await _page(send, pages.error_page("unknown"))
                return
            page = pages.done_page(
                occurrence,
                outcome.closure,
                outcome.changed,
                claim.action,
                zone,
                self.loop.text_of(occurrence),
            )
            await _page(send, page)
            return
        occurrence = await asyncio.to_thread(self.loop.find, claim.occurrence_id, now)
        if occurrence is None:
            await _page(send, pages.error_page("unknown"), head)
            return
        closure = await asyncio.to_thread(self.loop.store.get, claim.occurrence_id)
        page = pages.confirm_page(
            occurrence,
            closure,
            claim.action,
            token,
            claim.expires,
            zone,
            self.loop.text_of(occurrence),
        )
        await _page(send, page, head)

    async def _act_group(
        self, scope: Scope, receive: Receive, send: Send, claim: Claim, token: str, now: datetime
    ) -> None:
        """A self-check's "all done" link: every standing duty of the group still open."""
        method = scope["method"]
        head = method == "HEAD"
        if claim.action != "done":  # only "done" links are ever made for a group
            await _page(send, pages.error_page("malformed"), head)
            return
        form: dict[str, str] | None = None
        if method == "POST":
            form = await self._form(scope, receive, token)
            if form is None:
                await _page(send, pages.error_page("bad_form"))
                return
        members = await asyncio.to_thread(self.loop.group, claim.occurrence_id, now)
        if not members:
            await _page(send, pages.error_page("unknown"), head)
            return
        zone = self.loop.zone()
        if form is None:
            await _page(send, pages.group_confirm_page(members, token, claim.expires, zone), head)
            return
        outcomes = await asyncio.to_thread(
            self.loop.close_group,
            [m.occurrence for m in members],
            now,
            by=form.get("by") or "链接确认",
            note=form.get("note"),
            via="link",
        )
        closed_now = [Listed(o, out.closure) for o, out in outcomes if out.changed]
        before = [Listed(o, out.closure) for o, out in outcomes if not out.changed]
        if closed_now:
            log.info(
                "%s：%d 项已完成 (done)，经办结链接 (action link)",
                claim.occurrence_id,
                len(closed_now),
            )
            self._changed()
        await _page(send, pages.group_done_page(closed_now, before, zone))

    async def _form(self, scope: Scope, receive: Receive, token: str) -> dict[str, str] | None:
        """The posted form; None when it is not a form, or carries another link's token."""
        kind = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                kind = value.split(b";")[0].strip().lower()
        raw = await _body(receive)
        if kind not in (b"", b"application/x-www-form-urlencoded"):
            return None
        try:
            parsed = parse_qs(raw.decode("utf-8"), max_num_fields=10, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            return None
        form = {k: v[0][:500] for k, v in parsed.items() if v}
        return form if form.get("token", token) == token else None

    # -- JSON API ------------------------------------------------------------
    def _authorised(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, given = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    return hmac.compare_digest(given.strip().encode(), self.api_token.encode())
        return False

    async def _api(self, scope: Scope, receive: Receive, send: Send, rest: str) -> None:
        if not self._authorised(scope):
            await _json(
                send,
                401,
                {"error": "unauthorised: send Authorization: Bearer <token>"},
                [(b"www-authenticate", b'Bearer realm="reminders"')],
            )
            return
        method = scope["method"]
        query = {
            k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()
        }
        now = self.clock()
        try:
            if method == "GET" and rest == "occurrences":
                await self._list(send, query, now)
            elif method == "GET" and rest == "overdue":
                unit = query.get("unit")
                items = await asyncio.to_thread(self.loop.overdue, now, {unit} if unit else None)
                await _json(send, 200, {"overdue": [i.as_json() for i in items]})
            elif method == "GET" and rest == "report":
                start, end = _date(query.get("from")), _date(query.get("to"))
                today = self.loop.today(now)  # stands in for a missing end of the span
                first, last = start or min(today, end or today), end or max(today, start or today)
                _check_span(first, last, REPORT)
                report = await asyncio.to_thread(self.loop.report, now, start, end)
                await _json(send, 200, report.as_json())
            elif method == "POST" and rest.startswith("occurrences/"):
                await self._change(send, receive, unquote(rest[len("occurrences/") :]), now)
            elif rest in ("occurrences", "overdue", "report") or rest.startswith("occurrences/"):
                await _json(send, 405, {"error": "method not allowed"})
            else:
                await _json(send, 404, {"error": "not found"})
        except UnknownOccurrence as exc:
            await _json(send, 404, {"error": "no such occurrence", "occurrence": exc.occurrence_id})
        except (RemindersError, ValueError) as exc:
            await _json(send, 400, {"error": str(exc)})

    async def _list(self, send: Send, query: dict[str, str], now: datetime) -> None:
        unit = query.get("unit")
        if not unit:
            raise ValueError("give ?unit=<unit name>")
        today = self.loop.today(now)
        start = _date(query.get("from")) or today - timedelta(days=90)
        end = _date(query.get("to")) or today + timedelta(days=90)
        _check_span(start, end, LISTING)
        listed = await asyncio.to_thread(self.loop.listing, unit, start, end)
        await _json(
            send,
            200,
            {
                "unit": unit,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "occurrences": [item.as_json() for item in listed],
            },
        )

    async def _change(self, send: Send, receive: Receive, rest: str, now: datetime) -> None:
        occurrence_id, _, action = rest.rpartition("/")
        if action not in ACTIONS or not occurrence_id:
            await _json(send, 404, {"error": "POST /api/occurrences/<id>/done|undo|waive"})
            return
        raw = await _body(receive)
        if json_depth(raw) > API_JSON_MAX_DEPTH:  # before json.loads recurses into it
            raise ValueError(f"JSON 嵌套过深 (nested deeper than {API_JSON_MAX_DEPTH})")
        data: Any = json.loads(raw) if raw.strip() else {}
        if not isinstance(data, dict):
            raise ValueError('the body is a JSON object: {"by", "note", "evidence"}')
        fields = {k: data.get(k) for k in ("by", "note", "evidence")}
        if any(v is not None and not isinstance(v, str) for v in fields.values()):
            raise ValueError("by, note and evidence are strings")
        outcome = await asyncio.to_thread(
            self.loop.act,
            occurrence_id,
            action,
            now,
            by=fields["by"] or "API",
            note=fields["note"],
            evidence=fields["evidence"],
            via="api",
        )
        if outcome.changed:
            self._changed()
        await _json(send, 200, {"changed": outcome.changed, **outcome.closure.as_json()})


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"不是日期 (not a date, YYYY-MM-DD)：{text[:40]!r}") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(
            f"日期超出范围 (date out of range)：{text}，应在 {EARLIEST_DATE} 至 {LATEST_DATE} 之间"
        )
    return day


LISTING = ("occurrences", API_LISTING_MAX_DAYS)
REPORT = ("report", API_REPORT_MAX_DAYS)


def _check_span(start: date, end: date, what: tuple[str, int]) -> None:
    name, most = what
    if end < start:
        raise ValueError(f"from 晚于 to (from is after to)：{start} > {end}")
    if (end - start).days > most:
        raise ValueError(f"时间跨度过长 (span too long)：/api/{name} 一次最多 {most} 天")


class RootApp:
    """One listener: `/feeds/` to the feed app (checked first: the hot path), `/act/` and
    `/api/` to the loop app, `/` and `/console/` to the console; anything else to the
    feed app, which answers 404."""

    def __init__(
        self, feeds: ASGIApp, loop: LoopApp | None, console: ASGIApp | None = None
    ) -> None:
        self.feeds = feeds
        self.loop = loop
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if path.startswith("/feeds/"):
            await self.feeds(scope, receive, send)
        elif self.loop is not None and LoopApp.handles(scope):
            await self.loop(scope, receive, send)
        elif self.console is not None and scope.get("type") == "http" and _console_path(path):
            await self.console(scope, receive, send)
        else:
            await self.feeds(scope, receive, send)


def _console_path(path: str) -> bool:
    return path == "/" or path == "/console" or path.startswith("/console/")
