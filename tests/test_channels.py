"""Every channel against the fake robot server (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from urllib.parse import quote_plus

import httpx
import pytest

from reminders.channels import (
    Answer,
    DingTalkChannel,
    FeishuChannel,
    LogChannel,
    Outgoing,
    WebhookChannel,
    WeComChannel,
    measure,
)
from reminders.channels.base import Channel, robot_url
from reminders.channels.dingtalk import sign as ding_sign
from reminders.exceptions import DeliveryError

from .fakerobot import FakeRobots

WECOM_KEY = "wk-3f1e9c2a-test-key-7788"
DING_TOKEN = "dt-9a8b7c6d5e4f-test-token"
DING_SECRET = "SECa1b2c3d4e5f6-test-secret+/="
FEISHU_TOKEN = "fs-0f1e2d3c-test-hook"
FEISHU_SECRET = "fs-secret-test-5566"
HOOK_SECRET = "hook-secret-test-9911"

MESSAGE = Outgoing(
    "【安全生产提醒】教育局 · 9月23日", "- [4.5] 每月安全检查\n  截止：2026-09-30", "教育局"
)


@pytest.fixture
def robots() -> Iterator[FakeRobots]:
    with FakeRobots(hang=3.0) as server:
        server.add("wecom", WECOM_KEY)
        server.add("dingtalk", DING_TOKEN, DING_SECRET)
        server.add("feishu", FEISHU_TOKEN, FEISHU_SECRET)
        server.add("webhook", "school", HOOK_SECRET)
        yield server


def send(channel: Channel, message: Outgoing = MESSAGE, timeout: float = 2.0) -> Answer:
    async def go() -> Answer:
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await channel.send(client, message)

    return asyncio.run(go())


def fails(channel: Channel, message: Outgoing = MESSAGE, timeout: float = 2.0) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        send(channel, message, timeout)
    return info.value


def all_channels(robots: FakeRobots) -> list[Channel]:
    return [
        WeComChannel("wecom", robots.url("wecom", WECOM_KEY)),
        DingTalkChannel("ding", robots.url("dingtalk", DING_TOKEN), secret=DING_SECRET),
        FeishuChannel("feishu", robots.url("feishu", FEISHU_TOKEN), secret=FEISHU_SECRET),
        WebhookChannel("hook", robots.url("webhook", "school"), secret=HOOK_SECRET),
    ]


def test_every_channel_delivers(robots: FakeRobots) -> None:
    for channel in all_channels(robots):
        answer = send(channel)
        assert answer.code == 0
    for robot in robots.robots.values():
        assert len(robot.messages) == 1
        assert "每月安全检查" in robot.messages[0]["_text"]
        assert robot.rejections == []


def test_wecom_markdown_and_text_with_mentions(robots: FakeRobots) -> None:
    send(WeComChannel("a", robots.url("wecom", WECOM_KEY)))
    send(WeComChannel("b", robots.url("wecom", WECOM_KEY), mention_mobiles=("13800000000",)))
    first, second = robots.robots[("wecom", WECOM_KEY)].messages
    assert first["msgtype"] == "markdown"
    assert second["msgtype"] == "text"
    assert second["text"]["mentioned_mobile_list"] == ["13800000000"]


def test_dingtalk_mentions_in_text_and_at(robots: FakeRobots) -> None:
    channel = DingTalkChannel(
        "d",
        robots.url("dingtalk", DING_TOKEN),
        secret=DING_SECRET,
        mention_mobiles=("13900000000",),
    )
    send(channel)
    payload = robots.robots[("dingtalk", DING_TOKEN)].messages[0]
    assert payload["at"]["atMobiles"] == ["13900000000"]
    assert "@13900000000" in payload["markdown"]["text"]


def test_dingtalk_signature_is_url_encoded_once() -> None:
    channel = DingTalkChannel("d", "TOKEN", secret="SECxyz", clock=lambda: 1700000000.123)
    url = channel.signed_url()
    assert url.startswith("https://oapi.dingtalk.com/robot/send?access_token=TOKEN&timestamp=")
    ts = 1700000000123
    raw = ding_sign("SECxyz", ts)
    encoded = url.split("&sign=")[1]
    assert encoded == quote_plus(raw)
    assert httpx.URL(url).params["sign"] == raw  # decoded once gives the base64 value


def test_bare_key_and_full_url_are_both_accepted() -> None:
    assert robot_url("K", "https://x/y", param="key") == "https://x/y?key=K"
    assert robot_url("https://a/b?key=K", "https://x/y", param="key") == "https://a/b?key=K"
    assert robot_url("T", "https://open.feishu.cn/open-apis/bot/v2/hook", param=None).endswith(
        "/hook/T"
    )


@pytest.mark.parametrize(
    ("kind", "code"),
    [("dingtalk", 310000), ("feishu", 19021)],
)
def test_wrong_secret_is_permanent_with_robot_code(
    robots: FakeRobots, kind: str, code: int
) -> None:
    if kind == "dingtalk":
        channel: Channel = DingTalkChannel("d", robots.url(kind, DING_TOKEN), secret="SECwrong-one")
    else:
        channel = FeishuChannel("f", robots.url(kind, FEISHU_TOKEN), secret="wrong-secret-xyz")
    error = fails(channel)
    assert error.code == code and not error.transient
    assert "wrong" not in str(error)


def test_stale_timestamp_is_rejected(robots: FakeRobots) -> None:
    channel = DingTalkChannel(
        "d", robots.url("dingtalk", DING_TOKEN), secret=DING_SECRET, clock=lambda: 1_000_000.0
    )
    assert fails(channel).code == 310000


@pytest.mark.parametrize(
    ("channel_factory", "code"),
    [
        (lambda r: WeComChannel("w", r.url("wecom", "no-such-key")), 93000),
        (lambda r: DingTalkChannel("d", r.url("dingtalk", "no-such-token")), 300005),
        (lambda r: FeishuChannel("f", r.url("feishu", "no-such-hook")), 19001),
    ],
)
def test_unknown_key_is_permanent(robots: FakeRobots, channel_factory: object, code: int) -> None:
    channel = channel_factory(robots)  # type: ignore[operator]
    error = fails(channel)
    assert error.code == code and not error.transient
    assert "no-such" not in str(error)
    # Chinese first, the English term and the robot's own code beside it
    assert error.message.startswith(f"{channel.name}：机器人返回错误 (robot error) {code}：")


def test_keyword_missing(robots: FakeRobots) -> None:
    robots.add("dingtalk", "kw-token", None, keyword="安全")
    robots.add("feishu", "kw-hook", None, keyword="安全")
    plain = Outgoing("提醒", "内容")
    assert fails(DingTalkChannel("d", robots.url("dingtalk", "kw-token")), plain).code == 310000
    assert fails(FeishuChannel("f", robots.url("feishu", "kw-hook")), plain).code == 19024
    assert send(DingTalkChannel("d", robots.url("dingtalk", "kw-token"))).code == 0


def test_over_long_content_gets_the_real_errcode(robots: FakeRobots) -> None:
    huge = Outgoing("提醒", "安" * 8000)  # 24,000 bytes
    assert fails(WeComChannel("w", robots.url("wecom", WECOM_KEY)), huge).code == 40058
    ding = DingTalkChannel("d", robots.url("dingtalk", DING_TOKEN), secret=DING_SECRET)
    assert fails(ding, huge).code == 460101
    error = fails(
        FeishuChannel("f", robots.url("feishu", FEISHU_TOKEN), secret=FEISHU_SECRET), huge
    )
    assert error.code == 9499


def test_rate_limits_give_the_real_errcodes_and_are_transient(robots: FakeRobots) -> None:
    wecom = WeComChannel("w", robots.url("wecom", WECOM_KEY))
    ding = DingTalkChannel("d", robots.url("dingtalk", DING_TOKEN), secret=DING_SECRET)
    for _ in range(20):
        send(wecom)
        send(ding)
    error = fails(wecom)
    assert (error.code, error.transient, error.retry_after) == (45009, True, 60.0)
    error = fails(ding)
    assert (error.code, error.transient, error.retry_after) == (130101, True, 600.0)
    feishu_robot = robots.add("feishu", "fast", None)
    feishu = FeishuChannel("f", robots.url("feishu", "fast"))
    for _ in range(5):
        send(feishu)
    error = fails(feishu)  # 5 per second
    assert (error.code, error.transient) == (9499, True)
    assert feishu_robot.rejections == [9499]


def test_dingtalk_block_lasts_ten_minutes_on_the_injected_clock() -> None:
    now = [1_800_000_000.0]
    with FakeRobots(clock=lambda: now[0]) as robots:
        robots.add("dingtalk", DING_TOKEN, DING_SECRET)
        ding = DingTalkChannel(
            "d", robots.url("dingtalk", DING_TOKEN), secret=DING_SECRET, clock=lambda: now[0]
        )
        for _ in range(20):
            send(ding)
        assert fails(ding).code == 130101
        now[0] += 120  # the minute is over, the block is not
        assert fails(ding).code == 130101
        now[0] += 481
        assert send(ding).code == 0


@pytest.mark.parametrize("mode", ["502", "drop", "errcode"])
def test_failures_are_read_from_status_and_body(robots: FakeRobots, mode: str) -> None:
    robots.robots[("wecom", WECOM_KEY)].fail(mode, -1, "system busy")
    error = fails(WeComChannel("w", robots.url("wecom", WECOM_KEY)))
    assert error.transient
    said = {
        "502": "w：机器人服务器暂时出错 (HTTP 502)",
        "drop": "w：网络错误 (network error)：",
        "errcode": "w：机器人返回错误 (robot error) -1：system busy",
    }[mode]
    assert error.message.startswith(said), error.message


def test_errcode_in_http_200_is_a_failure(robots: FakeRobots) -> None:
    robots.robots[("feishu", FEISHU_TOKEN)].fail("errcode", 19024, "Key Words Not Found")
    error = fails(FeishuChannel("f", robots.url("feishu", FEISHU_TOKEN), secret=FEISHU_SECRET))
    assert error.code == 19024 and not error.transient
    assert error.message.startswith(
        "f：机器人返回错误 (robot error) 19024：Key Words Not Found（机器人开启了关键词安全设置"
    )


def test_timeout_is_transient(robots: FakeRobots) -> None:
    robots.robots[("wecom", WECOM_KEY)].fail("hang")
    error = fails(WeComChannel("w", robots.url("wecom", WECOM_KEY)), timeout=0.2)
    assert error.transient and error.message.startswith("w：请求超时 (timed out)：")
    assert error.message.endswith("Timeout")  # httpx's own name for which wait ran out


def test_connection_refused_is_transient() -> None:
    closed = FakeRobots()
    port = closed.port
    closed.httpd.server_close()
    error = fails(
        WeComChannel("w", f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key={WECOM_KEY}")
    )
    assert error.transient and error.message.startswith("w：网络错误 (network error)：")
    assert WECOM_KEY not in str(error)


def test_webhook_signature_and_wrong_secret(robots: FakeRobots) -> None:
    good = WebhookChannel("h", robots.url("webhook", "school"), secret=HOOK_SECRET)
    send(good)
    payload = robots.robots[("webhook", "school")].messages[0]
    assert payload["type"] == "reminders.digest" and payload["unit"] == "教育局"
    bad = WebhookChannel("h", robots.url("webhook", "school"), secret="nope-nope")
    error = fails(bad)
    assert error.code == 401 and not error.transient


def test_log_channel_writes_the_message(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "reminders.channels.log")
    assert send(LogChannel("log")).message == "logged"
    assert "每月安全检查" in caplog.text


def test_repr_and_errors_hide_secrets(robots: FakeRobots) -> None:
    owned = [(WECOM_KEY,), (DING_TOKEN, DING_SECRET), (FEISHU_TOKEN, FEISHU_SECRET), (HOOK_SECRET,)]
    for channel, secrets in zip(all_channels(robots), owned, strict=True):
        for secret in secrets:
            assert secret not in repr(channel)
            assert secret not in channel.redact(f"x {secret} y")


def test_measure_counts_json_escaped_bytes() -> None:
    assert measure("安") == 3
    assert measure("a\nb") == 4
    assert measure("😀") == 4
    assert json.dumps("😀", ensure_ascii=False).encode() == '"😀"'.encode()


# -- byte limits as the robots measure them: the whole request body ------------------
LIMITS = [
    ("wecom markdown", lambda r: WeComChannel("w", r.url("wecom", WECOM_KEY)), 4096, 40058),
    (
        "wecom text",
        lambda r: WeComChannel("t", r.url("wecom", WECOM_KEY), mention_mobiles=("13800000000",)),
        2048,
        40058,
    ),
    (
        "dingtalk",
        lambda r: DingTalkChannel(
            "d", r.url("dingtalk", DING_TOKEN), secret=DING_SECRET, mention_mobiles=("139",)
        ),
        20000,
        460101,
    ),
    (
        "feishu",
        lambda r: FeishuChannel("f", r.url("feishu", FEISHU_TOKEN), secret=FEISHU_SECRET),
        20 * 1024,
        9499,
    ),
    (
        "webhook",
        lambda r: WebhookChannel("h", r.url("webhook", "school"), secret=HOOK_SECRET),
        60 * 1024,
        413,
    ),
]


def sized(channel: Channel, size: int) -> Outgoing:
    """A message whose request body is exactly `size` bytes (Chinese, quotes, newlines)."""
    title = '【安全生产提醒】"教育局" · 9月23日'
    envelope = len(channel.body(Outgoing(title, "", "教育局", ("k",))))
    room = size - envelope
    text = ('安全"检查"\n' * (room // 16))[: room // 16 * 6]
    text += "a" * (room - channel.text_size(text))
    message = Outgoing(title, text, "教育局", ("k",))
    assert len(channel.body(message)) == size
    return message


@pytest.mark.parametrize(("kind", "make", "limit", "code"), LIMITS, ids=[x[0] for x in LIMITS])
def test_a_body_at_the_limit_is_taken_and_one_byte_more_is_refused(
    robots: FakeRobots, kind: str, make: object, limit: int, code: int
) -> None:
    channel: Channel = make(robots)  # type: ignore[operator]
    assert channel.byte_limit == limit and channel.max_body < limit
    assert send(channel, sized(channel, limit)).code == 0
    over = sized(channel, limit + 1)
    assert fails(channel, over).code == code
    assert send(channel, sized(channel, channel.max_body)).code == 0  # what we fill up to


@pytest.mark.parametrize(("kind", "make", "limit", "code"), LIMITS, ids=[x[0] for x in LIMITS])
def test_a_digest_fills_a_part_up_to_the_limit_less_the_margin(
    robots: FakeRobots, kind: str, make: object, limit: int, code: int
) -> None:
    """One item grown a character at a time: one part while it fits, two parts (each
    under the limit, each taken by the robot) from the first byte that would not."""
    from datetime import date

    from reminders.delivery.render import Renderer

    from .test_deliver_render import _CALENDAR, reminder

    channel: Channel = make(robots)  # type: ignore[operator]
    renderer = Renderer(_CALENDAR, {"item": "$text"})

    def parts(length: int) -> int:
        item = reminder("1.1", "安" * length, date(2026, 9, 30))
        rendered = renderer.render("教育局", [(item, "k")], date(2026, 9, 23), fit=channel)
        for part in rendered:
            assert len(channel.body(part.outgoing())) <= channel.max_body
        return len(rendered)

    low, high = 1, limit  # parts(low) == 1, parts(high) == 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if parts(middle) == 1 else (low, middle)
    item = reminder("1.1", "安" * low, date(2026, 9, 23 + 7))
    (whole,) = renderer.render("教育局", [(item, "k")], date(2026, 9, 23), fit=channel)
    body = len(channel.body(whole.outgoing()))
    # full to within a character (3 bytes) and the room a part number would take: "（1/2）"
    # in the title (the webhook also posts "part": 1, "parts": 2 and the keys)
    assert channel.max_body - 3 - measure("（99/99）") - 4 <= body <= channel.max_body
    longer = reminder("1.1", "安" * high, date(2026, 9, 30))
    for part in renderer.render("教育局", [(longer, "k")], date(2026, 9, 23), fit=channel):
        assert send(channel, part.outgoing()).code == 0


# -- answers that are no robot's ---------------------------------------------------
@pytest.mark.parametrize("status", [401, 403, 404, 405])
def test_refused_or_missing_addresses_are_permanent_with_status_and_body(
    robots: FakeRobots, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def answer(*args: object) -> tuple[int, dict[str, object]]:
        return status, {"error": "<html>no such path</html>"}

    monkeypatch.setattr(robots, "handle", answer)
    for channel in all_channels(robots):
        error = fails(channel)
        assert not error.transient and error.code == status, channel
        assert f"HTTP {status}" in error.message and "no such path" in error.message
        said = (
            f"接收方未接受消息 (HTTP {status})："
            if channel.kind == "webhook"
            else f"HTTP {status}，机器人地址被拒绝或不存在 (wrong or refused webhook URL)："
        )
        assert error.message.startswith(f"{channel.name}：{said}"), error.message


def test_a_wrong_path_is_permanent_and_says_what_answered(robots: FakeRobots) -> None:
    """A WeCom key in a DingTalk path's place: the fake answers 404 with JSON lacking
    any errcode, as a web server in front of a wrong URL does."""
    channel = WeComChannel("w", f"{robots.base}/no/such/path?key={WECOM_KEY}")
    error = fails(channel)
    assert not error.transient and error.code == 404
    assert "HTTP 404" in error.message and "not found" in error.message
    assert WECOM_KEY not in error.message
    assert error.message == (
        "w：HTTP 404，机器人地址被拒绝或不存在 (wrong or refused webhook URL)："
        '\'{"error": "not found"}\''
    )


def test_json_without_a_code_is_permanent(
    robots: FakeRobots, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(robots, "handle", lambda *args: (200, {"status": "ok?" * 100}))
    for channel in all_channels(robots)[:3]:
        error = fails(channel)
        assert not error.transient, channel
        assert "HTTP 200" in error.message and "ok?" in error.message
        assert error.message.startswith(
            f"{channel.name}：HTTP 200，应答中没有机器人的 "
        ) and "不是机器人的应答 (not a robot's answer)，请检查机器人地址 (webhook URL)：'" in (
            error.message
        )
        assert len(error.message) < 500  # the first 200 characters of the answer


def test_keyword_is_put_in_every_title_and_a_refusal_says_where_to_set_it(
    robots: FakeRobots,
) -> None:
    robots.add("dingtalk", "kw-token", None, keyword="校安")
    robots.add("feishu", "kw-hook", None, keyword="校安")
    ding = DingTalkChannel("school-ding", robots.url("dingtalk", "kw-token"))
    feishu = FeishuChannel("school-feishu", robots.url("feishu", "kw-hook"), flavor="markdown")
    for channel, code in ((ding, 310000), (feishu, 19024)):
        error = fails(channel)
        assert error.code == code and not error.transient
        assert f"channels.{channel.name}.keyword" in error.message and "关键词" in error.message
        channel.keyword = "安全"  # the wrong one: the hint names it
        assert "“安全”" in fails(channel).message
        channel.keyword = "校安"
        assert send(channel).code == 0
        assert channel.titled(MESSAGE.title).startswith("校安 ")
        assert channel.titled("校安周报") == "校安周报"  # already there: unchanged
