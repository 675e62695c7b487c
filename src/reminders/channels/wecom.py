"""WeCom (企业微信) group robot: markdown, or text with mentioned_mobile_list."""

from __future__ import annotations

import time

import httpx

from .base import Answer, Clock, HttpChannel, Outgoing, dumps, headed, robot_url

URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"

OK = 0
INVALID_KEY = 93000
RATE_LIMITED = 45009
TOO_LONG = 40058
MALFORMED = 44004
BAD_MSGTYPE = 40008
SYSTEM_BUSY = -1

MARKDOWN_LIMIT = 4096
TEXT_LIMIT = 2048


class WeComChannel(HttpChannel):
    kind = "wecom"

    def __init__(
        self,
        name: str,
        key: str,
        *,
        flavor: str | None = None,
        mention_mobiles: tuple[str, ...] = (),
        mention_all: bool = False,
        link: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(name, link=link, clock=clock)
        self._set_robot(robot_url(key, URL, param="key"), None, key=key)
        self.mentions = [*mention_mobiles, *(["@all"] if mention_all else [])]
        text = flavor == "text" or (flavor is None and bool(self.mentions))
        self.flavor = "text" if text else "markdown"
        self.byte_limit = TEXT_LIMIT if text else MARKDOWN_LIMIT

    def body(self, message: Outgoing) -> bytes:
        content = headed(self.titled(message.title), message.text)
        if self.flavor == "text":
            text: dict[str, object] = {"content": content}
            if self.mentions:
                text["mentioned_mobile_list"] = self.mentions
            payload: dict[str, object] = {"msgtype": "text", "text": text}
        else:
            payload = {"msgtype": "markdown", "markdown": {"content": content}}
        return dumps(payload)

    async def send(self, client: httpx.AsyncClient, message: Outgoing) -> Answer:
        response = await self.post(client, self._url, self.body(message))
        body = self.json_answer(response)
        return self.check_code(
            response,
            self.robot_code(response, body, "errcode"),
            str(body.get("errmsg", "")),
            transient=(RATE_LIMITED, SYSTEM_BUSY),
            retry_after={RATE_LIMITED: 60.0},
        )
