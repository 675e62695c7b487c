"""DingTalk (钉钉) custom robot: signed URL, markdown with at.atMobiles."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

import httpx

from .base import Answer, Clock, HttpChannel, Outgoing, dumps, headed, robot_url

URL = "https://oapi.dingtalk.com/robot/send"

OK = 0
BLOCKED = 130101
SIGN_OR_KEYWORD = 310000
NO_TOKEN = 300005
TOO_LONG = 460101
SYSTEM_BUSY = -1

BYTE_LIMIT = 20000
BLOCK_SECONDS = 600.0


def sign(secret: str, timestamp_ms: int) -> str:
    """base64(HMAC-SHA256(secret, f"{ts}\\n{secret}")), not yet URL-encoded."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


class DingTalkChannel(HttpChannel):
    kind = "dingtalk"
    byte_limit = BYTE_LIMIT

    def __init__(
        self,
        name: str,
        token: str,
        *,
        secret: str | None = None,
        flavor: str | None = None,
        mention_mobiles: tuple[str, ...] = (),
        mention_all: bool = False,
        link: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(name, link=link, clock=clock)
        self._set_robot(robot_url(token, URL, param="access_token"), secret, key=token)
        self.flavor = "text" if flavor == "text" else "markdown"
        self.mobiles = list(mention_mobiles)
        self.mention_all = mention_all

    def signed_url(self) -> str:
        if not self._secret:
            return self._url
        ts = int(self.clock() * 1000)
        return f"{self._url}&timestamp={ts}&sign={quote_plus(sign(self._secret, ts))}"

    def _mention_line(self) -> str:
        return " ".join(f"@{m}" for m in self.mobiles)

    def body(self, message: Outgoing) -> bytes:
        text = message.text
        line = self._mention_line()
        if line:
            text = f"{text}\n\n{line}"
        at = {"atMobiles": self.mobiles, "isAtAll": self.mention_all}
        title = self.titled(message.title)
        if self.flavor == "text":
            content = headed(title, text)
            payload: dict[str, object] = {"msgtype": "text", "text": {"content": content}, "at": at}
        else:
            payload = {
                "msgtype": "markdown",
                "markdown": {"title": title or "提醒", "text": text},
                "at": at,
            }
        return dumps(payload)

    async def send(self, client: httpx.AsyncClient, message: Outgoing) -> Answer:
        response = await self.post(client, self.signed_url(), self.body(message))
        body = self.json_answer(response)
        return self.check_code(
            response,
            self.robot_code(response, body, "errcode"),
            str(body.get("errmsg", "")),
            transient=(BLOCKED, SYSTEM_BUSY),
            retry_after={BLOCKED: BLOCK_SECONDS},
        )

    def explain(self, code: int, message: str) -> str:
        # 310000 covers a bad signature, a stale timestamp and a missing keyword: the
        # robot's message tells which
        if code == SIGN_OR_KEYWORD and "keyword" in message.lower():
            return self.keyword_hint()
        return ""
