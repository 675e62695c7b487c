"""Feishu (飞书) custom bot: signature in the body; text or post rich text."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import httpx

from .base import (
    ROBOT_ERROR,
    Answer,
    Clock,
    HttpChannel,
    Outgoing,
    dumps,
    headed,
    measure,
    overloaded,
    robot_url,
)

URL = "https://open.feishu.cn/open-apis/bot/v2/hook"

OK = 0
RATE_LIMITED = 9499
SIGN_FAILED = 19021
KEYWORD_MISSING = 19024

BODY_LIMIT = 20 * 1024


def sign(secret: str, timestamp_s: int) -> str:
    """base64(HMAC-SHA256(key=f"{ts}\\n{secret}", msg=b""))."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def _post_lines(text: str) -> list[list[dict[str, str]]]:
    return [[{"tag": "text", "text": line}] for line in text.split("\n")]


# In post rich text a line break is not `\n` (2 bytes) but the end of one line's JSON
# and the start of the next: this many bytes.
_LINE_BREAK = len(dumps({"c": _post_lines("\n")})) - len(dumps({"c": _post_lines("")}))


class FeishuChannel(HttpChannel):
    kind = "feishu"
    byte_limit = BODY_LIMIT
    flavor = "text"
    burst_per_second = 5

    def __init__(
        self,
        name: str,
        token: str,
        *,
        secret: str | None = None,
        flavor: str | None = None,
        link: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(name, link=link, clock=clock)
        self._set_robot(robot_url(token, URL, param=None), secret, key=token)
        self.post_format = flavor == "markdown"

    def text_size(self, text: str) -> int:
        if not self.post_format:
            return measure(text)
        return measure(text) + text.count("\n") * (_LINE_BREAK - measure("\n"))

    def body(self, message: Outgoing) -> bytes:
        payload: dict[str, object]
        title = self.titled(message.title)
        if self.post_format:
            payload = {
                "msg_type": "post",
                "content": {
                    "post": {"zh_cn": {"title": title, "content": _post_lines(message.text)}}
                },
            }
        else:
            payload = {"msg_type": "text", "content": {"text": headed(title, message.text)}}
        if self._secret:
            ts = int(self.clock())
            payload = {"timestamp": str(ts), "sign": sign(self._secret, ts), **payload}
        return dumps(payload)

    async def send(self, client: httpx.AsyncClient, message: Outgoing) -> Answer:
        response = await self.post(client, self._url, self.body(message))
        body = self.read_json(response)
        if body is None or not ({"code", "StatusCode"} & set(body)):
            self.check_http(response, body)
        assert body is not None
        code = self.robot_code(response, body, "code", "StatusCode")
        text_msg = str(body.get("msg", body.get("StatusMessage", "")))
        if code == 0 and response.status_code >= 400:
            self.check_http(response, None)
        if code != 0 and response.status_code >= 500:
            raise self.fail(
                f"{overloaded(response.status_code)}，{ROBOT_ERROR} {code}：{text_msg}",
                transient=True,
            )
        return self.check_code(response, code, text_msg, transient=(RATE_LIMITED,))

    def explain(self, code: int, message: str) -> str:
        return self.keyword_hint() if code == KEYWORD_MISSING else ""
