"""The console over HTTP: Starlette routes, sessions, CSRF, Jinja2 pages.

    GET       /console/                      总览 (bureau) or the unit's own page
    GET|POST  /console/login                 password login (rate-limited)
    GET|POST  /console/login/<token>         one-time login link: GET shows, POST uses it
    POST      /console/logout
    GET       /console/unit/<unit>           单位: overdue, due soon, later, closed; self-checks
    GET|POST  /console/item/<occurrence>     one occurrence: history, files; 完成/撤销/免办
    GET|POST  /console/review/<group>        a self-check: its duties; one action for all
    GET       /console/duty/<duty>           任务: one duty across its units for a period
    GET       /console/history               记录: the audit log, filtered
    GET       /console/export[.xlsx]         导出: the 台账 workbook
    GET       /console/evidence/<id>         an uploaded file, to those who may see its unit

Sessions are Starlette's signed cookies (HttpOnly, SameSite=Lax, path /console,
Secure when the public address is https) holding the account name, its epoch
and the CSRF token every form carries. A page asked for without a valid
session redirects to the login page; a POST without the session's CSRF token
is refused with 403. A unit account sees and acts on its own units only.
Changes go through `Loop.act` / `Loop.close_group` (a history row each), then
`on_change` (the daemon re-plans and refreshes the feeds). Rendering and
database work run in worker threads, so the feeds on the same event loop
keep flowing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..closedloop.links import link_base
from ..closedloop.loop import Loop
from ..closedloop.state import ACTION_LABELS, ACTIONS, STATE_LABELS, Action
from ..core.model import Settings
from ..core.occurrence import KIND_LABELS, review_group, split_review_group
from ..daemon.memory import release_free_memory
from ..limits import CONSOLE_FORM_MAX_BYTES, CONSOLE_NOTE_MAX_CHARS, CONSOLE_UPLOAD_SLACK_BYTES
from . import views
from .accounts import Account, Accounts, LinkRefused
from .auth import LoginThrottle, csrf_ok, new_csrf
from .board import STATUS_LABELS, span_label
from .evidence import ACCEPT, KINDS_TEXT, SNIFF_BYTES, EvidenceStore, Refused, content_type
from .health import channel_health

log = logging.getLogger("reminders.console")

PREFIX = "/console"
COOKIE = "reminders_console"
_LINK = re.compile(r"^https?://[^\s<>\"']{3,500}$")
_LINKABLE = re.compile(r"^(https?://|/console/evidence/[0-9a-f]{32}$)")
_STATIC = Path(__file__).parent / "static"
VIA_LABELS = {"cli": "命令行", "link": "消息链接", "api": "接口", "console": "看板"}

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
EVIDENCE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'"
_SECURITY = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)

LINK_REFUSALS: dict[str, tuple[int, str]] = {
    "forged": (403, "登录链接无效：校验失败。请向管理员索取新的登录链接。"),
    "unknown": (404, "登录链接无效或账号已删除。请向管理员索取新的登录链接。"),
    "used": (410, "此登录链接已使用过，每个链接只能登录一次。请用密码登录，或向管理员索取新链接。"),
    "expired": (410, "此登录链接已过期。请向管理员索取新的登录链接。"),
}


@dataclass
class ConsoleDeps:
    """What the console works with; the daemon passes its own."""

    loop: Loop
    accounts: Accounts
    evidence: EvidenceStore
    engine: Engine  # the ledger's, for the robots' health
    clock: Callable[[], datetime]  # the service's clock: what actions are stamped with
    on_change: Callable[[], None] | None = None
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # logins, links
    monotonic: Callable[[], float] = time.monotonic  # the login throttle


class SecurityHeaders:
    """Adds the console's security headers to every response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(f"{PREFIX}/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [*_SECURITY, (b"content-security-policy", PAGE_CSP.encode())]
                extra.append(
                    (b"cache-control", b"public, max-age=86400" if static else b"no-store")
                )
                headers += [(k, v) for k, v in extra if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _quote_unit(unit: str) -> str:
    return quote(unit, safe="")


def unit_url(unit: str, **query: object) -> str:
    url = f"{PREFIX}/unit/{_quote_unit(unit)}"
    params = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{url}?{urlencode(params)}" if params else url


def item_url(occurrence_id: str) -> str:
    return f"{PREFIX}/item/{quote(occurrence_id, safe='/')}"


def review_url(group_id: str) -> str:
    return f"{PREFIX}/review/{quote(group_id, safe='/')}"


def duty_url(duty: str, period: str | None = None) -> str:
    url = f"{PREFIX}/duty/{quote(duty, safe='')}"
    return f"{url}?{urlencode({'period': period})}" if period else url


def safe_next(target: object, default: str = f"{PREFIX}/") -> str:
    """Only a path inside the console: never another host, never a scheme."""
    if (
        isinstance(target, str)
        and target.startswith(f"{PREFIX}/")
        and "//" not in target
        and "\\" not in target
        and not any(ch in target for ch in "\r\n\t")
    ):
        return target
    return default


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


def _date_arg(text: object) -> date | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class FormError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


Handler = Callable[[Request, Account], Awaitable[Response]]


class Console:
    def __init__(self, deps: ConsoleDeps) -> None:
        self.deps = deps
        self.loop = deps.loop
        self._max_upload = deps.loop.plan.settings.console.max_upload_mb * 1024 * 1024
        self.throttle = LoginThrottle()
        self.boards = views.Boards()
        self._hashing = asyncio.Semaphore(2)  # argon2: a few at a time on a small server
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("reminders.console", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        version = str(int(max(p.stat().st_mtime for p in _STATIC.iterdir())))
        self.env.globals.update(
            unit_url=unit_url,
            item_url=item_url,
            review_url=review_url,
            duty_url=duty_url,
            STATUS_LABELS=STATUS_LABELS,
            STATE_LABELS=STATE_LABELS,
            ACTION_LABELS=ACTION_LABELS,
            KIND_LABELS=KIND_LABELS,
            ACCEPT=ACCEPT,
            KINDS_TEXT=KINDS_TEXT,
            static=lambda name: f"{PREFIX}/static/{name}?v={version}",
            size=_size,
            span_label=span_label,
            VIA_LABELS=VIA_LABELS,
        )
        self.env.filters["local"] = self._local
        self.env.filters["external"] = external_parts
        self.env.tests["linkable"] = lambda part: bool(_LINKABLE.match(str(part)))

    # -- settings: `console:` is read at start; the rest per request (a reload changes it)
    @property
    def settings(self) -> Settings:
        return self.loop.plan.settings

    def max_upload(self) -> int:
        return self._max_upload

    def body_cap(self) -> int:
        """The hard limit of an upload request: past the limit, a body this small is still
        read (and dropped) so the browser shows the answer; a larger one is cut off."""
        return 2 * self._max_upload + CONSOLE_UPLOAD_SLACK_BYTES

    def _local(self, moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if moment is None:
            return ""
        return moment.astimezone(self.loop.zone()).strftime(fmt)

    # -- rendering -----------------------------------------------------------------------
    async def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        status: int = 200,
        account: Account | None = None,
    ) -> HTMLResponse:
        session = request.session
        if "csrf" not in session:
            session["csrf"] = new_csrf()
        full = {
            "request": request,
            "account": account,
            "csrf": session["csrf"],
            "flash": session.pop("flash", None),
            "path": request.url.path,
            **context,
        }
        template = self.env.get_template(name)
        html = await asyncio.to_thread(template.render, full)
        return HTMLResponse(html, status)

    async def message(
        self, request: Request, status: int, title: str, text: str, account: Account | None = None
    ) -> HTMLResponse:
        return await self.render(
            request, "message.html", {"title": title, "text": text}, status, account
        )

    async def refused(self, request: Request, account: Account) -> HTMLResponse:
        return await self.message(
            request,
            403,
            "无权访问",
            "此页面属于其他单位，您的账号无权查看或办理。如需访问，请联系教育局管理员。",
            account,
        )

    # -- sessions ------------------------------------------------------------------------
    async def current(self, request: Request) -> Account | None:
        session = request.session
        name, epoch = session.get("user"), session.get("epoch")
        if not isinstance(name, str) or not isinstance(epoch, int):
            return None
        account = await asyncio.to_thread(self.deps.accounts.get, name)
        if account is None or account.epoch != epoch:
            session.clear()
            return None
        return account

    def _login_redirect(self, request: Request) -> RedirectResponse:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        query = urlencode({"next": safe_next(target)})
        return RedirectResponse(f"{PREFIX}/login?{query}", 303)

    def guard(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A page for signed-in accounts; POSTs must carry the session's CSRF token."""

        async def endpoint(request: Request) -> Response:
            account = await self.current(request)
            if account is None:
                return self._login_redirect(request)
            if request.method == "POST":
                return await self._post(request, account, handler)
            return await handler(request, account)

        return endpoint

    async def _post(self, request: Request, account: Account, handler: Handler) -> Response:
        limit = self.max_upload() + CONSOLE_UPLOAD_SLACK_BYTES
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            async for _ in request.stream():  # dropped: a browser shows no answer mid-upload
                pass
            return await self.message(
                request,
                413,
                "文件过大",
                f"上传的内容超过 {_size(self.max_upload())} 上限，未保存。"
                "请压缩图片或拆分文件后重试。",
                account,
            )
        try:
            async with request.form(max_files=1, max_fields=20, max_part_size=64 * 1024) as form:
                if not csrf_ok(request.session, form.get("csrf")):
                    return await self.message(
                        request,
                        403,
                        "请求无效",
                        "表单已失效（缺少或不匹配的校验码 CSRF）。请返回页面刷新后重试。",
                        account,
                    )
                request.state.form = form
                return await handler(request, account)
        except HTTPException as exc:  # a malformed or oversized form (Starlette's words)
            return await self.message(
                request, exc.status_code, "提交无效", f"表单无法读取：{exc.detail}", account
            )

    def changed(self) -> None:
        if self.deps.on_change is not None:
            try:
                self.deps.on_change()
            except Exception:
                log.exception("看板修改后重新排定失败 (re-planning failed)")

    # -- login -----------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        next_url = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            note = "已退出登录。" if request.query_params.get("out") else None
            return await self.render(request, "login.html", {"next": next_url, "note": note})
        async with request.form(max_files=0, max_fields=10, max_part_size=4096) as form:
            if not csrf_ok(request.session, form.get("csrf")):
                return await self.message(
                    request, 403, "请求无效", "登录表单已失效，请刷新登录页后重试。"
                )
            name = str(form.get("name") or "").strip()
            password = str(form.get("password") or "")
            next_url = safe_next(form.get("next"))
        address = request.client.host if request.client else "-"
        now = self.deps.monotonic()
        wait = self.throttle.wait(name, address, now)
        if wait > 0:
            minutes = max(1, round(wait / 60))
            return await self.render(
                request,
                "login.html",
                {
                    "next": next_url,
                    "name": name,
                    "error": f"登录失败次数过多，请 {minutes} 分钟后再试。",
                },
                429,
            )
        async with self._hashing:
            account = await asyncio.to_thread(self.deps.accounts.authenticate, name, password)
        if account is None:
            self.throttle.failed(name, address, now)
            log.info("看板登录失败 (console login failed)：%r", name)
            return await self.render(
                request,
                "login.html",
                {"next": next_url, "name": name, "error": "账号或密码不正确。"},
                200,
            )
        self.throttle.succeeded(name)
        return self._sign_in(request, account, next_url)

    def _sign_in(self, request: Request, account: Account, target: str) -> Response:
        session = request.session
        session.clear()
        session.update(user=account.name, epoch=account.epoch, csrf=new_csrf())
        log.info("看板登录 (console login)：%s（%s）", account.name, account.role)
        return RedirectResponse(target, 303)

    async def login_link(self, request: Request) -> Response:
        token = request.path_params["token"]
        now = self.deps.wall()
        accounts = self.deps.accounts
        if request.method == "GET":
            try:
                account = await asyncio.to_thread(accounts.peek_link, token, now)
            except LinkRefused as exc:
                return await self._link_refused(request, exc)
            return await self.render(request, "login_link.html", {"who": account, "token": token})
        async with request.form(max_files=0, max_fields=5, max_part_size=4096) as form:
            if not csrf_ok(request.session, form.get("csrf")):
                return await self.message(
                    request, 403, "请求无效", "页面已失效，请重新打开登录链接。"
                )
        try:
            account = await asyncio.to_thread(accounts.redeem_link, token, now)
        except LinkRefused as exc:
            return await self._link_refused(request, exc)
        return self._sign_in(request, account, f"{PREFIX}/")

    async def _link_refused(self, request: Request, exc: LinkRefused) -> Response:
        log.info("看板登录链接被拒绝 (login link refused)：%s", exc.reason)  # never the token
        status, text = LINK_REFUSALS[exc.reason]
        return await self.message(request, status, "无法登录", text)

    async def logout(self, request: Request, account: Account) -> Response:
        request.session.clear()
        return RedirectResponse(f"{PREFIX}/login?out=1", 303)

    # -- pages -------------------------------------------------------------------------------
    async def home(self, request: Request, account: Account) -> Response:
        plan = self.loop.plan
        if not account.bureau:
            units = account.visible(plan.unit_names())
            if len(units) == 1:
                return RedirectResponse(unit_url(units[0]), 303)
            return await self.render(request, "units.html", {"units": units}, account=account)
        now = self.deps.clock()
        today = self.loop.today(now)
        year = request.query_params.get("year", "")
        chosen = int(year) if year.isdigit() and abs(int(year) - today.year) <= 2 else today.year
        grain = "quarter" if request.query_params.get("by") == "quarter" else "month"
        data = await asyncio.to_thread(self._board, now, chosen, grain)
        return await self.render(request, "board.html", data, account=account)

    def _board(self, now: datetime, year: int, grain: Any) -> dict[str, Any]:
        plan = self.loop.plan
        board = self.boards.board(self.loop, now, year, grain)
        release_free_memory()
        return {
            "board": board,
            "year": year,
            "health": channel_health(self.deps.engine, views.robot_channels(plan), now),
            "warnings": views.warnings(self.loop, now),
        }

    async def unit(self, request: Request, account: Account) -> Response:
        unit = request.path_params["unit"]
        plan = self.loop.plan
        if unit not in plan.unit_names():
            return await self.message(
                request, 404, "单位不存在", f"配置中没有单位“{unit}”。", account
            )
        if not account.may_see(unit):
            return await self.refused(request, account)
        now = self.deps.clock()
        start, end = views.default_span(self.loop, now)
        given = (
            _date_arg(request.query_params.get("from")),
            _date_arg(request.query_params.get("to")),
        )
        filtered = given[0] is not None and given[1] is not None
        if filtered:
            assert given[0] is not None and given[1] is not None
            start, end = given[0], min(given[1], given[0] + timedelta(days=800))

        def gather() -> dict[str, Any]:
            files = self.deps.evidence.of_units([unit])
            sections = views.unit_sections(self.loop, unit, now, start, end, files)
            return {"sections": sections}

        data = await asyncio.to_thread(gather)
        context = {
            "unit": unit,
            "start": start,
            "end": end,
            "filtered": filtered,
            "today": self.loop.today(now),
            "max_upload": self.max_upload(),
            **data,
        }
        return await self.render(request, "unit.html", context, account=account)

    async def item(self, request: Request, account: Account) -> Response:
        occurrence_id = request.path_params["occurrence"]
        now = self.deps.clock()
        occurrence = await asyncio.to_thread(self.loop.find, occurrence_id, now)
        if occurrence is None:
            return await self.message(
                request, 404, "事项不存在", "计划中找不到此事项，可能已调整。", account
            )
        if not account.may_see(occurrence.unit):
            return await self.refused(request, account)
        error: FormError | None = None
        values: Mapping[str, Any] = {}
        if request.method == "POST":
            form: FormData = request.state.form
            try:
                return await self._act(request, account, occurrence, form, now)
            except FormError as exc:
                error = exc
                values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        files = await asyncio.to_thread(self.deps.evidence.of_occurrence, occurrence.id)
        found, history = await asyncio.to_thread(views.item, self.loop, occurrence, now, files)
        context = {
            "item": found,
            "history": history,
            "text": self.loop.text_of(occurrence),
            "error": error.message if error else None,
            "values": values,
            "max_upload": self.max_upload(),
            "group_id": review_group(occurrence),
        }
        return await self.render(
            request, "item.html", context, error.status if error else 200, account
        )

    async def _act(
        self, request: Request, account: Account, occurrence: Any, form: FormData, now: datetime
    ) -> Response:
        action = form.get("action")
        if action not in ACTIONS:
            raise FormError("请选择操作：完成、撤销或免办。")
        act: Action = action
        actor = _actor(form, account)
        note = _text(form.get("note"), CONSOLE_NOTE_MAX_CHARS)
        link = _text(form.get("link"), 500)
        if act == "waive" and not note:
            raise FormError("免办须写明理由（说明）。")
        if link and not _LINK.match(link):
            raise FormError("佐证链接须以 http:// 或 https:// 开头，且不含空格。")
        upload = form.get("file")
        data: bytes | None = None
        kind = ""
        if isinstance(upload, UploadFile) and upload.filename:
            if act != "done":
                raise FormError("只有“完成”可以附佐证材料。")
            data, kind = await self._read_upload(upload)
        evidence = self.deps.evidence
        saved = None
        if data is not None and isinstance(upload, UploadFile):
            saved = await asyncio.to_thread(
                evidence.save,
                data,
                upload.filename or "",
                kind,
                occurrence.id,
                occurrence.unit,
                actor,
                now,
            )
        proof = " ".join(p for p in (link, saved.path if saved else None) if p) or None
        try:
            outcome = await asyncio.to_thread(
                self.loop.act,
                occurrence.id,
                act,
                now,
                by=actor,
                note=note,
                evidence=proof,
                via="console",
                found=occurrence,
            )
        except BaseException:
            if saved is not None:
                await asyncio.to_thread(evidence.discard, saved)
            raise
        if outcome.changed:
            state = outcome.closure.state
            log.info(
                "%s：%s (%s)，%s 经看板 (console) 操作",
                occurrence.id,
                STATE_LABELS[state],
                state,
                account.name,
            )
            self.changed()
            text = f"已{ACTION_LABELS[act]}：{occurrence.title}（{occurrence.label}）"
            if saved is not None:
                text += f"，附件 {saved.filename}（{_size(saved.size)}）已保存"
            request.session["flash"] = ("ok", text)
        else:
            if saved is not None:
                await asyncio.to_thread(evidence.discard, saved)
            label = STATE_LABELS[outcome.closure.state]
            text = f"本事项此前已是“{label}”，未作更改。"
            if saved is not None:
                text += "附件未保存；如需补充材料，请先撤销再重新提交。"
            request.session["flash"] = ("note", text)
        return RedirectResponse(safe_next(form.get("next"), item_url(occurrence.id)), 303)

    async def _read_upload(self, upload: UploadFile) -> tuple[bytes, str]:
        limit = self.max_upload()
        size = upload.size
        if size is not None and size > limit:
            raise FormError(
                f"文件“{upload.filename}”为 {_size(size)}，超过 {_size(limit)} 上限，未保存。"
                "请压缩图片或拆分文件后重试。",
                413,
            )
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise FormError(f"文件超过 {_size(limit)} 上限，未保存。", 413)
        if not data:
            raise FormError(f"文件“{upload.filename}”是空的，未保存。")
        try:
            kind = content_type(upload.filename or "", data[:SNIFF_BYTES])
        except Refused as exc:
            raise FormError(str(exc), 415) from None
        return data, kind

    async def review(self, request: Request, account: Account) -> Response:
        group_id = request.path_params["group"]
        parts = split_review_group(group_id)
        if parts is None:
            return await self.message(request, 404, "自查不存在", "找不到这次自查。", account)
        if not account.may_see(parts[0]):
            return await self.refused(request, account)
        now = self.deps.clock()
        if request.method == "POST":
            form: FormData = request.state.form
            members = await asyncio.to_thread(self.loop.group, group_id, now)
            if not members:
                return await self.message(request, 404, "自查不存在", "找不到这次自查。", account)
            actor = _actor(form, account)
            outcomes = await asyncio.to_thread(
                self.loop.close_group,
                [m.occurrence for m in members],
                now,
                by=actor,
                note=_text(form.get("note"), CONSOLE_NOTE_MAX_CHARS),
                via="console",
            )
            closed = sum(1 for _, out in outcomes if out.changed)
            if closed:
                log.info(
                    "%s：%d 项已完成 (done)，%s 经看板 (console) 操作",
                    group_id,
                    closed,
                    account.name,
                )
                self.changed()
                request.session["flash"] = ("ok", f"已将 {closed} 项自查事项标记为已完成。")
            else:
                request.session["flash"] = ("note", "本次自查的事项此前均已办结，未作更改。")
            return RedirectResponse(safe_next(form.get("next"), review_url(group_id)), 303)
        files = await asyncio.to_thread(self.deps.evidence.of_units, [parts[0]])
        found = await asyncio.to_thread(views.group, self.loop, group_id, now, files)
        if found is None:
            return await self.message(request, 404, "自查不存在", "找不到这次自查。", account)
        return await self.render(request, "review.html", {"group": found}, account=account)

    async def duty(self, request: Request, account: Account) -> Response:
        duty_id = request.path_params["duty"]
        now = self.deps.clock()
        units = account.visible(self.loop.plan.unit_names())
        found = await asyncio.to_thread(
            views.duty_view, self.loop, duty_id, request.query_params.get("period"), now, units
        )
        if found is None:
            return await self.message(
                request, 404, "任务不存在", f"配置中没有任务 {duty_id}。", account
            )
        context = {"view": found, "text": found.duty.duty.text or found.duty.duty.title}
        return await self.render(request, "duty.html", context, account=account)

    async def history(self, request: Request, account: Account) -> Response:
        q = request.query_params
        plan = self.loop.plan
        visible = account.visible(plan.unit_names())
        unit = q.get("unit") or None
        if unit is not None and unit not in visible:
            return await self.refused(request, account)
        duty = q.get("duty") or None
        person = (q.get("person") or "").strip()[:50] or None
        start, end = _date_arg(q.get("from")), _date_arg(q.get("to"))
        page = int(q["page"]) if q.get("page", "").isdigit() else 1
        page = max(1, min(page, 10_000))
        since, before = views.day_bounds(self.loop, start, end)
        units = [unit] if unit else (None if account.bureau else visible)
        changes = await asyncio.to_thread(
            self.loop.store.search,
            units=units,
            duty=duty,
            person=person,
            since=since,
            before=before,
            limit=views.HISTORY_PAGE + 1,
            offset=(page - 1) * views.HISTORY_PAGE,
        )
        more = len(changes) > views.HISTORY_PAGE
        filters = {
            "unit": unit or "",
            "duty": duty or "",
            "person": person or "",
            "from": start.isoformat() if start else "",
            "to": end.isoformat() if end else "",
        }
        context = {
            "changes": changes[: views.HISTORY_PAGE],
            "units": visible,
            "duties": [(d.duty.id, d.duty.title) for d in plan.all_duties],
            "titles": {d.duty.id: d.duty.title for d in plan.all_duties},
            "filters": filters,
            "page": page,
            "more": more,
            "query": lambda p: urlencode({**{k: v for k, v in filters.items() if v}, "page": p}),
        }
        return await self.render(request, "history.html", context, account=account)

    async def export_page(self, request: Request, account: Account) -> Response:
        now = self.deps.clock()
        today = self.loop.today(now)
        context = {"start": self.loop.plan.start, "end": today}
        return await self.render(request, "export.html", context, account=account)

    async def export_file(self, request: Request, account: Account) -> Response:
        from .export import export

        now = self.deps.clock()
        today = self.loop.today(now)
        start = _date_arg(request.query_params.get("from")) or self.loop.plan.start
        end = _date_arg(request.query_params.get("to")) or today
        if end < start or (end - start).days > 800:
            return await self.message(
                request, 400, "日期无效", "结束日期须不早于开始日期，且跨度不超过 800 天。", account
            )
        units = account.visible(self.loop.plan.unit_names())
        base = link_base(self.settings)
        data = await asyncio.to_thread(export, self.loop, now, start, end, units, base)
        await asyncio.to_thread(release_free_memory)  # the workbook's tens of MB
        name = f"安全生产台账_{start}_{end}.xlsx"
        headers = {
            "content-disposition": f'attachment; filename="ledger_{start}_{end}.xlsx"; '
            f"filename*=UTF-8''{quote(name)}"
        }
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(data, media_type=media, headers=headers)

    async def evidence_file(self, request: Request, account: Account) -> Response:
        evidence_id = request.path_params["evidence"]
        store = self.deps.evidence
        found = await asyncio.to_thread(store.get, evidence_id)
        if found is None:
            return await self.message(request, 404, "附件不存在", "找不到此附件。", account)
        if not account.may_see(found.unit):
            return await self.refused(request, account)
        path = store.file(found.id)
        if path is None:
            return await self.message(
                request, 404, "附件不存在", "附件文件已不在服务器上。", account
            )
        return FileResponse(
            path,
            media_type=found.content_type,
            filename=found.filename,
            content_disposition_type="inline" if found.inline else "attachment",
            headers={"content-security-policy": EVIDENCE_CSP, "cache-control": "private, no-store"},
        )

    async def root(self, request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/", 303)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 405:
            return await self.message(request, 405, "不支持的操作", "请从页面上的按钮操作。")
        if status == 404:
            return await self.message(request, 404, "页面不存在", "请从总览或单位页面进入。")
        return await self.message(request, status, "出错了", "请求无法完成，请稍后重试。")


def external_parts(evidence: str | None) -> list[str]:
    """The parts of an evidence text that are not this console's own files."""
    return [p for p in (evidence or "").split() if not p.startswith(f"{PREFIX}/evidence/")]


def _actor(form: FormData, account: Account) -> str:
    """Who acted: the name the form gives, with the signed-in account's beside it."""
    by = _text(form.get("by"), 50) or account.name
    return by if by == account.name else f"{by}（{account.name}）"


def _text(value: object, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text[:limit] or None


def console_app(deps: ConsoleDeps, secret: str) -> ASGIApp:
    """The console as one ASGI app (paths `/` and `/console/…`)."""
    console = Console(deps)
    settings = deps.loop.plan.settings
    public = link_base(settings) or ""
    g = console.guard
    routes = [
        Route("/", console.root),
        Route(f"{PREFIX}/", g(console.home)),
        Route(f"{PREFIX}/login", console.login, methods=["GET", "POST"]),
        Route(f"{PREFIX}/login/{{token}}", console.login_link, methods=["GET", "POST"]),
        Route(f"{PREFIX}/logout", g(console.logout), methods=["POST"]),
        Route(f"{PREFIX}/unit/{{unit:path}}", g(console.unit)),
        Route(
            f"{PREFIX}/item/{{occurrence:path}}",
            g(console.item),
            methods=["GET", "POST"],
            max_body_size=console.body_cap(),
        ),
        Route(f"{PREFIX}/review/{{group:path}}", g(console.review), methods=["GET", "POST"]),
        Route(f"{PREFIX}/duty/{{duty}}", g(console.duty)),
        Route(f"{PREFIX}/history", g(console.history)),
        Route(f"{PREFIX}/export", g(console.export_page)),
        Route(f"{PREFIX}/export.xlsx", g(console.export_file)),
        Route(f"{PREFIX}/evidence/{{evidence}}", g(console.evidence_file)),
        Mount(f"{PREFIX}/static", StaticFiles(directory=_STATIC), name="static"),
    ]
    middleware = [
        Middleware(GZipMiddleware, minimum_size=2000),
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie=COOKIE,
            max_age=settings.console.session_hours * 3600,
            path=PREFIX,
            same_site="lax",
            https_only=public.startswith("https://"),
        ),
    ]
    handlers: Mapping[Any, Any] = {HTTPException: console.not_found}
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=handlers,
        max_body_size=CONSOLE_FORM_MAX_BYTES,
    )
