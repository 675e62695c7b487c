"""The action link's pages: small, server-rendered, Chinese, phone-sized. Pure.

The confirm page says what will happen and posts a form back to the same
link; nothing changes on GET. Every value is HTML-escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from ..core.occurrence import KIND_LABELS, Occurrence
from .loop import Listed
from .state import ACTION_LABELS, STATE_LABELS, TARGET, Action, Closure

HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),  # the URL is a capability: never leak it
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
]

_STYLE = (
    "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;"
    "padding:16px;background:#f5f6f8;color:#222;font-size:17px;line-height:1.5}"
    "main{max-width:560px;margin:0 auto;background:#fff;border-radius:10px;padding:18px}"
    "h1{font-size:20px;margin:0 0 12px}dl{margin:0}dt{color:#777;font-size:14px;margin-top:8px}"
    "dd{margin:0}label{display:block;margin-top:14px;color:#555;font-size:15px}"
    "input,textarea{width:100%;box-sizing:border-box;font-size:17px;padding:8px;"
    "border:1px solid #ccc;border-radius:6px}"
    "button{margin-top:18px;width:100%;padding:14px;font-size:18px;border:0;border-radius:8px;"
    "background:#1a7f37;color:#fff}.note{color:#555;font-size:15px;margin-top:12px}"
    ".ok{color:#1a7f37}.bad{color:#b42318}"
    "h2{font-size:16px;margin:16px 0 4px}ul{margin:0;padding-left:20px}"
    "li{margin-top:6px}small{color:#777;font-size:13px;word-break:break-all}"
)

WHAT_HAPPENS: dict[str, str] = {
    "done": "点击下方按钮后，本事项将标记为“已完成”，对应的提醒和催办随即停止，"
    "日历订阅中显示为已完成。",
    "undo": "点击下方按钮后，本事项将恢复为“未完成”，提醒和催办将照常进行。",
    "waive": "点击下方按钮后，本事项将标记为“已免除”，不再提醒，日历订阅中显示为已取消。",
}


@dataclass(frozen=True, slots=True)
class Page:
    status: int
    body: bytes


def _page(status: int, title: str, inner: str) -> Page:
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{inner}</main></body></html>"
    )
    return Page(status, html.encode())


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _dl(rows: list[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl>"


def _form(token: str, button: str, expires: datetime, zone: ZoneInfo) -> str:
    """The confirm form (name and note optional), posting back to the link itself."""
    return (
        f'<form method="post" action="/act/{escape(token)}">'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        '<label for="by">办理人（选填）</label>'
        '<input id="by" name="by" maxlength="50" autocomplete="name">'
        '<label for="note">说明（选填）</label>'
        '<textarea id="note" name="note" rows="3" maxlength="500"></textarea>'
        f'<button type="submit">{escape(button)}</button></form>'
        f'<p class="note">此链接有效期至 {escape(_local(expires, zone))}。</p>'
    )


def _details(
    occurrence: Occurrence, closure: Closure | None, zone: ZoneInfo, text: str | None
) -> str:
    state = closure.state if closure is not None else "open"
    rows = [
        ("任务", f"[{occurrence.duty}] {text or occurrence.title}"),
        ("责任单位", occurrence.unit),
        ("本次", f"{occurrence.label}（{KIND_LABELS[occurrence.kind]}）"),
        ("截止日期", occurrence.due.isoformat()),
        ("当前状态", STATE_LABELS[state]),
    ]
    if closure is not None and closure.closed:
        when = _local(closure.changed_at, zone)
        rows.append(("办理情况", f"{closure.by or '（未署名）'} 于 {when}"))
        if closure.note:
            rows.append(("说明", closure.note))
    rows.append(("事项编号", occurrence.id))
    return _dl(rows)


def confirm_page(
    occurrence: Occurrence,
    closure: Closure | None,
    action: Action,
    token: str,
    expires: datetime,
    zone: ZoneInfo,
    text: str | None = None,
) -> Page:
    label = ACTION_LABELS[action]
    inner = _details(occurrence, closure, zone, text)
    state = closure.state if closure is not None else "open"
    if TARGET[action] == state:
        inner += f'<p class="note ok">本事项已是“{STATE_LABELS[state]}”，无需再次操作。</p>'
        return _page(200, f"确认{label}", inner)
    inner += f'<p class="note">{escape(WHAT_HAPPENS[action])}</p>'
    inner += _form(token, f"确认{label}", expires, zone)
    return _page(200, f"确认{label}", inner)


def done_page(
    occurrence: Occurrence,
    closure: Closure,
    changed: bool,
    action: Action,
    zone: ZoneInfo,
    text: str | None = None,
) -> Page:
    label = ACTION_LABELS[action]
    if changed:
        head = f'<p class="ok">已{escape(label)}。谢谢！</p>'
    else:
        head = f'<p class="ok">本事项此前已是“{STATE_LABELS[closure.state]}”，本次未作更改。</p>'
    return _page(200, f"{label}成功", head + _details(occurrence, closure, zone, text))


GROUP_WHAT_HAPPENS = (
    "点击下方按钮后，上列未完成事项将全部标记为“已完成”，本次自查随即办结，"
    "相关提醒停止；已完成或已免除的事项保持不变。"
)


def _members(heading: str, members: list[Listed], zone: ZoneInfo) -> str:
    if not members:
        return ""
    items = []
    for m in members:
        line = f"[{escape(m.occurrence.duty)}] {escape(m.occurrence.title)}"
        if m.closure is not None and m.closure.closed:
            when = _local(m.closure.changed_at, zone)
            who = m.closure.by or "（未署名）"
            line += escape(f"（{STATE_LABELS[m.state]}：{who} 于 {when}）")
        items.append(f"<li>{line}<br><small>{escape(m.occurrence.id)}</small></li>")
    return f"<h2>{escape(heading)}（{len(members)} 项）</h2><ul>{''.join(items)}</ul>"


def _group_details(first: Occurrence) -> str:
    return _dl(
        [("责任单位", first.unit), ("本次", first.label), ("截止日期", first.due.isoformat())]
    )


def group_confirm_page(
    members: list[Listed], token: str, expires: datetime, zone: ZoneInfo
) -> Page:
    """The self-check's "all done" page: what it will close, what is closed already."""
    title = "确认本次自查全部完成"
    open_ = [m for m in members if m.state == "open"]
    closed = [m for m in members if m.state != "open"]
    inner = _group_details(members[0].occurrence)
    inner += _members("将标记为已完成", open_, zone) + _members("此前已办结", closed, zone)
    if not open_:
        inner += '<p class="note ok">本次自查的事项均已办结，无需再次操作。</p>'
        return _page(200, title, inner)
    inner += f'<p class="note">{escape(GROUP_WHAT_HAPPENS)}</p>'
    inner += _form(token, f"确认全部完成（{len(open_)} 项）", expires, zone)
    return _page(200, title, inner)


def group_done_page(closed_now: list[Listed], before: list[Listed], zone: ZoneInfo) -> Page:
    """After the POST: what this confirmation closed, and what was closed before it."""
    first = (closed_now or before)[0].occurrence
    if closed_now:
        head = f'<p class="ok">已将 {len(closed_now)} 项标记为已完成。谢谢！</p>'
    else:
        head = '<p class="ok">本次自查的事项此前均已办结，本次未作更改。</p>'
    inner = head + _group_details(first)
    inner += _members("本次标记完成", closed_now, zone) + _members("此前已办结", before, zone)
    return _page(200, "自查办结成功", inner)


ERRORS: dict[str, tuple[int, str, str]] = {
    "malformed": (400, "链接无效", "链接不完整或已损坏，请从提醒消息中重新打开。"),
    "forged": (403, "链接无效", "链接校验失败，无法据此操作。请从提醒消息中重新打开原始链接。"),
    "expired": (410, "链接已过期", "此链接已过期，请使用最新一条提醒消息中的链接，或联系管理员。"),
    "unknown": (404, "事项不存在", "计划中找不到此事项，可能已被删除或调整。"),
    "method": (405, "不支持的操作", "请从提醒消息中打开链接。"),
    "too_large": (413, "提交内容过长", "说明请控制在 500 字以内。"),
    "bad_form": (400, "提交无效", "表单内容无效，请返回重试。"),
}


def error_page(kind: str) -> Page:
    status, title, text = ERRORS[kind]
    return _page(status, title, f'<p class="bad">{escape(text)}</p>')
