"""Generic JSON webhook, signed so any system can receive reminders.

Request: `POST <url>` with a JSON body (see README, "Webhook receivers") and

    X-Reminders-Timestamp: <unix seconds>
    X-Reminders-Signature: sha256=<hex HMAC-SHA256(secret, body bytes)>

Any 2xx answer is success; 429 and 5xx are retried; other answers are permanent.
A JSON answer with a non-zero `errcode` or `code` is a failure too.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime

import httpx

from .base import Answer, Clock, HttpChannel, Outgoing, dumps, measure

SIGNATURE_HEADER = "X-Reminders-Signature"
TIMESTAMP_HEADER = "X-Reminders-Timestamp"
BYTE_LIMIT = 60 * 1024


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookChannel(HttpChannel):
    kind = "webhook"
    byte_limit = BYTE_LIMIT

    def __init__(
        self,
        name: str,
        url: str,
        *,
        secret: str | None = None,
        url_is_secret: bool = True,
        flavor: str | None = None,
        link: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(name, link=link, clock=clock)
        self._set_robot(url, secret, url_is_secret=url_is_secret)
        self.flavor = "text" if flavor == "text" else "markdown"

    def keys_size(self, keys: tuple[str, ...]) -> int:
        return sum(measure(key) + 3 for key in keys)  # quoted, with a comma

    def body(self, message: Outgoing, ts: int | None = None) -> bytes:
        ts = int(self.clock()) if ts is None else ts
        payload = {
            "type": "reminders.digest",
            "channel": self.name,
            "unit": message.unit,
            "title": self.titled(message.title),
            "text": message.text,
            "format": self.flavor,
            "part": message.part,
            "parts": message.parts,
            "keys": list(message.keys),
            "sent_at": datetime.fromtimestamp(ts, UTC).isoformat(),
            **message.extra,
        }
        return dumps(payload)

    async def send(self, client: httpx.AsyncClient, message: Outgoing) -> Answer:
        ts = int(self.clock())
        body = self.body(message, ts)
        headers = {TIMESTAMP_HEADER: str(ts)}
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        response = await self.post(client, self._url, body, headers)
        self.check_overload(response)
        status = response.status_code
        if status >= 300:
            raise self.fail(
                f"接收方未接受消息 (HTTP {status})：{self.snippet(response)}",
                transient=False,
                code=status,
            )
        data = self.read_json(response) or {}
        code = data.get("errcode", data.get("code", 0))
        message_text = str(data.get("errmsg", data.get("msg", "ok")))
        return self.check_code(
            response, int(code) if isinstance(code, int) else 0, message_text, transient=()
        )
