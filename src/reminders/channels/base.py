"""What every channel shares: the message it is given, the answer it returns, errors.

A channel turns one rendered message part into one HTTP request (or log line)
and reads the robot's answer. The three robots answer HTTP 200 with a failure
in the JSON body, so every answer's `errcode`/`code` is checked; a failure
raises `DeliveryError`, transient (retry later) or permanent. An answer that
carries no code at all (a wrong path answered by some web server, HTTP
401/403/404/405) is permanent: retrying cannot fix the address.

Sizes are measured as the robots measure them: the serialised request body
(envelope, title, mentions, links, after JSON escaping). `body(message)` is the
exact body a send would post; the renderer fills each part up to `max_body`.

Secrets (keys, tokens, signing secrets) live only in private attributes; the
repr, every error message and every log line name the channel, never its URL.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import httpx

from ..exceptions import DeliveryError

# httpx logs every request URL (with the robot key in it) at INFO.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

Flavor = Literal["markdown", "text"]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message part: what a robot posts in the group."""

    title: str
    text: str
    unit: str = ""
    keys: tuple[str, ...] = ()
    part: int = 1
    parts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Answer:
    """The robot's reply to a successful send."""

    status: int
    code: int
    message: str

    def __str__(self) -> str:
        return f"HTTP {self.status}，返回码 (code) {self.code}：{self.message}"


def measure(text: str) -> int:
    """Bytes `text` takes inside a JSON string: UTF-8 plus escapes (never less than UTF-8).

    Additive: measure(a + b) == measure(a) + measure(b), so parts can be filled piece by piece.
    """
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


#: bytes kept free under every robot's body limit, for what a body may gain between
#: rendering and sending (a timestamp's digits, a keyword added by a reload)
MARGIN = 96

#: how an error message names the robot's own code (errcode) and message (errmsg)
ROBOT_ERROR = "机器人返回错误 (robot error)"

#: HTTP statuses that say the address is wrong or refused: no retry can help
PERMANENT_STATUSES = frozenset({401, 403, 404, 405})


class Channel(ABC):
    """A destination for reminders; one instance per configured channel name."""

    kind: ClassVar[str]
    #: the most bytes the robot accepts, measured as it measures them: the request body
    byte_limit: int = 4000
    margin: int = MARGIN
    flavor: Flavor = "markdown"
    #: per-robot limit; None means the `delivery.rate_limit_per_minute` setting
    rate_limit_per_minute: int | None = None
    #: a robot's own burst limit (Feishu: 5 per second)
    burst_per_second: int | None = None
    #: keyword security (关键词): every title carries it (channels.yaml `keyword:`)
    keyword: str | None = None

    def __init__(self, name: str, *, link: str | None = None) -> None:
        self.name = name
        self.link = link
        self._secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text

    def titled(self, title: str) -> str:
        """The title as sent: with the channel's keyword in front when it lacks it."""
        keyword = self.keyword
        if not keyword or keyword in title:
            return title
        return f"{keyword} {title}" if title else keyword

    @abstractmethod
    def body(self, message: Outgoing) -> bytes:
        """The request body a send of `message` would post (what the robot measures)."""

    @property
    def max_body(self) -> int:
        """The largest body we send: the robot's limit less the margin."""
        return self.byte_limit - self.margin

    def text_size(self, text: str) -> int:
        """Bytes `text` adds to the body (additive over concatenation)."""
        return measure(text)

    def keys_size(self, keys: tuple[str, ...]) -> int:
        """Bytes a message's ledger keys add to the body (only a webhook posts them)."""
        return 0

    def budget(self, envelope: Outgoing) -> int:
        """Bytes (as `text_size` counts them) left for the text of a message shaped like
        `envelope` (its longest title, its unit, no text, no keys)."""
        return self.max_body - len(self.body(envelope))

    def overflow(self, message: Outgoing) -> int:
        """Bytes by which `message`'s body exceeds `max_body` (≤ 0: it fits)."""
        return len(self.body(message)) - self.max_body

    @abstractmethod
    async def send(self, client: httpx.AsyncClient, message: Outgoing) -> Answer:
        """Deliver one part or raise DeliveryError."""


class HttpChannel(Channel):
    """A channel that POSTs JSON to a robot URL."""

    def __init__(self, name: str, *, link: str | None = None, clock: Clock = time.time) -> None:
        super().__init__(name, link=link)
        self.clock = clock

    def _set_robot(
        self, url: str, secret: str | None, *, key: str | None = None, url_is_secret: bool = True
    ) -> None:
        """The URL to POST to and the signing secret, both (and the bare key) redacted."""
        self._url = url
        self._secret = secret
        self._secrets = (
            *((key,) if key else ()),
            *(url_secrets(url) if url_is_secret else ()),
            *((secret,) if secret else ()),
        )

    def fail(
        self, message: str, *, transient: bool, code: int | None = None, retry: float | None = None
    ) -> DeliveryError:
        return DeliveryError(
            self.redact(f"{self.name}：{message}"),
            transient=transient,
            code=code,
            retry_after=retry,
        )

    async def post(
        self,
        client: httpx.AsyncClient,
        url: str,
        body: bytes,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        try:
            return await client.post(url, content=body, headers=all_headers)
        except httpx.TimeoutException as exc:
            raise self.fail(f"请求超时 (timed out)：{type(exc).__name__}", transient=True) from None
        except httpx.TransportError as exc:
            detail = self.redact(str(exc)) or type(exc).__name__
            raise self.fail(f"网络错误 (network error)：{detail}", transient=True) from None

    def read_json(self, response: httpx.Response) -> dict[str, Any] | None:
        try:
            data = response.json()
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def json_answer(self, response: httpx.Response) -> dict[str, Any]:
        """The robot's JSON answer; DeliveryError on an HTTP error or an answer that is not JSON."""
        body = self.read_json(response)
        self.check_http(response, body)
        assert body is not None
        return body

    def robot_code(self, response: httpx.Response, body: dict[str, Any], *names: str) -> int:
        """The robot's code under the first of `names` the answer has; an answer with none
        is no robot's (a wrong path, a proxy's page): permanent, with what it said."""
        for name in names:
            value = body.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lstrip("-").isdigit():
                return int(value)
        raise self.fail(
            f"HTTP {response.status_code}，应答中没有机器人的 {'/'.join(names)}，"
            f"不是机器人的应答 (not a robot's answer)，请检查机器人地址 (webhook URL)："
            f"{self.snippet(response)}",
            transient=False,
            code=response.status_code if response.status_code >= 400 else None,
        )

    def snippet(self, response: httpx.Response) -> str:
        """The first 200 characters of an answer, quoted, secrets redacted."""
        return repr(self.redact(response.text[:200]))

    def check_overload(self, response: httpx.Response) -> None:
        """Fail, to be retried, on HTTP 5xx and 429 whatever the body says."""
        status = response.status_code
        if status >= 500 or status == 429:
            raise self.fail(overloaded(status), transient=True, code=status)

    def check_http(self, response: httpx.Response, body: dict[str, Any] | None) -> None:
        """Fail on an HTTP error that carries no robot code: 5xx/429 transient; 401, 403,
        404, 405 or an answer that is not JSON permanent, with the status and what it said."""
        self.check_overload(response)
        status = response.status_code
        if status in PERMANENT_STATUSES:
            raise self.fail(
                f"HTTP {status}，机器人地址被拒绝或不存在 (wrong or refused webhook URL)："
                f"{self.snippet(response)}",
                transient=False,
                code=status,
            )
        if body is None:
            raise self.fail(
                f"HTTP {status}，应答不是 JSON (answer is not JSON)：{self.snippet(response)}",
                transient=False,
                code=status,
            )

    def check_code(
        self,
        response: httpx.Response,
        code: int,
        message: str,
        *,
        transient: Iterable[int],
        retry_after: dict[int, float] | None = None,
    ) -> Answer:
        if code == 0 and response.status_code < 400:
            return Answer(response.status_code, 0, message)
        transient_codes = set(transient)
        hint = (retry_after or {}).get(code)
        raise self.fail(
            f"{ROBOT_ERROR} {code}：{message}{self.explain(code, message)}",
            transient=code in transient_codes,
            code=code,
            retry=hint,
        )

    def explain(self, code: int, message: str) -> str:
        """A hint appended to the robot's own words for a code the user must act on."""
        return ""

    def keyword_hint(self) -> str:
        """What to do when the robot refuses a message for want of its keyword."""
        where = f"channels.yaml 的 channels.{self.name}.keyword"
        if self.keyword:
            return (
                f"（机器人开启了关键词安全设置 (keyword security)，不接受关键词 “{self.keyword}”："
                f"请在机器人安全设置里查看它要求的关键词，写到 {where}）"
            )
        return (
            "（机器人开启了关键词安全设置 (keyword security)，消息里必须含它的关键词之一："
            f"请在机器人安全设置里查看关键词，写到 {where}，例如 keyword: 提醒；"
            "每条消息的标题都会带上它）"
        )


def overloaded(status: int) -> str:
    """What a robot's HTTP 5xx or 429 means, the status beside it."""
    said = "请求太频繁" if status == 429 else "机器人服务器暂时出错"
    return f"{said} (HTTP {status})"


def headed(title: str, text: str) -> str:
    """The title as the text's first line, for message types with no title field."""
    return f"{title}\n{text}" if title else text


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def url_secrets(url: str) -> tuple[str, ...]:
    """The secret parts of a robot URL: the URL, its query values and its last path segment."""
    parsed = httpx.URL(url)
    parts = [url, *(v for _, v in parsed.params.multi_items() if len(v) >= 6)]
    last = parsed.path.rstrip("/").rsplit("/", 1)[-1]
    if len(last) >= 16:
        parts.append(last)
    return tuple(parts)


def robot_url(value: str, base: str, *, param: str | None) -> str:
    """A full URL as given, else the robot's URL with the bare key in it."""
    if value.startswith(("http://", "https://")):
        return value
    return f"{base}?{param}={value}" if param else f"{base}/{value}"
