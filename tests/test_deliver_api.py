"""Public surface of the delivery packages, and channel answers read with MockTransport."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable

import httpx
import pytest

import reminders.channels
import reminders.delivery
import reminders.ledger
from reminders.channels import FeishuChannel, Outgoing, WebhookChannel, WeComChannel
from reminders.channels.base import Channel
from reminders.exceptions import DeliveryError


@pytest.mark.parametrize("module", [reminders.channels, reminders.delivery, reminders.ledger])
def test_all_is_sorted_and_importable(module: object) -> None:
    names = module.__all__  # type: ignore[attr-defined]
    # isort-style, as ruff keeps it: CONSTANTS, then Classes, then functions
    assert names == sorted(
        names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    loaded = importlib.import_module(module.__name__)  # type: ignore[attr-defined]
    for name in names:
        assert hasattr(loaded, name)


def answer(channel: Channel, handler: Callable[[httpx.Request], httpx.Response]) -> object:
    async def go() -> object:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            try:
                return await channel.send(client, Outgoing("t", "x"))
            except DeliveryError as exc:
                return exc

    return asyncio.run(go())


def test_feishu_legacy_status_code_answer() -> None:
    ok = answer(FeishuChannel("f", "tok"), lambda r: httpx.Response(200, json={"StatusCode": 0}))
    assert not isinstance(ok, DeliveryError)


def test_non_json_200_is_a_failure() -> None:
    error = answer(WeComChannel("w", "key"), lambda r: httpx.Response(200, text="<html>"))
    assert isinstance(error, DeliveryError) and not error.transient
    assert error.message == "w：HTTP 200，应答不是 JSON (answer is not JSON)：'<html>'"


def test_gateway_html_502_is_transient() -> None:
    error = answer(WeComChannel("w", "key"), lambda r: httpx.Response(502, text="<html>"))
    assert isinstance(error, DeliveryError) and error.transient and error.code == 502
    assert error.message == "w：机器人服务器暂时出错 (HTTP 502)"


def test_feishu_5xx_with_a_code_is_transient_with_the_robots_words() -> None:
    busy = {"code": 9499, "msg": "too many request"}
    error = answer(FeishuChannel("f", "tok"), lambda r: httpx.Response(503, json=busy))
    assert isinstance(error, DeliveryError) and error.transient
    assert error.message == (
        "f：机器人服务器暂时出错 (HTTP 503)，机器人返回错误 (robot error) 9499：too many request"
    )


def test_webhook_json_errcode_is_a_failure_and_4xx_permanent() -> None:
    hook = WebhookChannel("h", "https://example.org/hook?token=abcdef123")
    error = answer(hook, lambda r: httpx.Response(200, json={"errcode": 7, "errmsg": "no"}))
    assert isinstance(error, DeliveryError) and error.code == 7
    assert error.message == "h：机器人返回错误 (robot error) 7：no"
    error = answer(hook, lambda r: httpx.Response(404, text="missing"))
    assert isinstance(error, DeliveryError) and not error.transient
    assert "abcdef123" not in str(error)
    error = answer(hook, lambda r: httpx.Response(400, text="bad"))
    assert isinstance(error, DeliveryError) and not error.transient and error.code == 400
    assert error.message == "h：接收方未接受消息 (HTTP 400)：'bad'"
    error = answer(hook, lambda r: httpx.Response(429))
    assert isinstance(error, DeliveryError) and error.transient
    assert error.message == "h：请求太频繁 (HTTP 429)"


def test_wecom_sends_the_bare_key_to_the_real_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    answer(WeComChannel("w", "KEY123"), handler)
    assert str(seen[0].url) == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY123"
