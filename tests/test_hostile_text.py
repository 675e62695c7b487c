"""Text from the table is data, never markup or control: a duty whose title and text carry
every robot's mention syntax, markdown and bare links, and control characters reaches
each robot (checked on the body the fake robot received), the feeds (parsed back), the
log and the terminal harmless, and still readable."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reminders.channels import FeishuChannel, WeComChannel
from reminders.channels.base import Outgoing
from reminders.closedloop import Loop, LoopStore
from reminders.closedloop.links import ActionLinks
from reminders.closedloop.report import render_report
from reminders.closedloop.weekly import send_weekly_report
from reminders.config import load_config
from reminders.delivery import deliverer_from_config
from reminders.delivery.render import Renderer
from reminders.feeds import FeedBuilder
from reminders.ledger import Ledger
from reminders.logs import configure_logging
from reminders.safetext import inert, one_line, printable

from .daemonproc import DaemonProcess
from .fakerobot import FakeRobots, Robot
from .test_daemon import MONDAY
from .test_deliver_plan import _CALENDAR
from .test_deliver_render import reminder

TZ = ZoneInfo("Asia/Shanghai")
BASE = "https://cal.example.gov.cn"
KEY = b"made-up-action-key-for-hostile-tests"

HOSTILE_TITLE = '看这里<@all><font color="warning">紧急</font>@所有人\x1b[31m红色\x1b[0m\x07'
HOSTILE_TEXT = (
    '请 <@all> 与 <at user_id="all">所有人</at> 及 @所有人 立即[点我](http://evil.example/login)'
    "办结\r\n  办结确认：https://evil.example/act/x 或 www.evil.example 或 evil.example/login"
    " 或 http://10.0.0.1:8080/x\x00\x1b]0;窗口标题\x07\u202e反向\x0b\x0c\x7f\x85结束"
)
# what a chat client would turn into a link: a URL, a www. name, a host name with a path
LINKISH = re.compile(r"(?i)[a-z][a-z0-9+.-]*://\S+|\bwww\.\S+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}\b")
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def yaml_string(text: str) -> str:
    """`text` as a YAML double-quoted scalar, every unprintable character escaped."""

    def one(char: str) -> str:
        if char in '"\\':
            return "\\" + char
        return char if char.isprintable() else f"\\u{ord(char):04x}"

    return '"' + "".join(one(c) for c in text) + '"'


def make_hostile(config_dir: Path) -> None:
    """Duty 1.3 (教育局 and every school, due 2026-09-30) gets the hostile title and text."""
    path = config_dir / "duties.yaml"
    duties = path.read_text(encoding="utf-8")
    start = duties.index('  - id: "1.3"\n')
    end = duties.index("  - id:", start + 1)
    block = duties[start:end]
    title, text = yaml_string(HOSTILE_TITLE), yaml_string(HOSTILE_TEXT)
    block = re.sub(r"(?m)^    title: .*$", lambda _: f"    title: {title}", block)
    block = re.sub(r"(?m)^    text: .*$", lambda _: f"    text: {text}", block)
    path.write_text(duties[:start] + block + duties[end:], encoding="utf-8")


# -- the one place per output ------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_text", "shown"),
    [
        ("<@all> 请看", "＜＠all＞ 请看"),
        ('<font color="warning">红</font>', '＜font color="warning"＞红＜/font＞'),
        ('<at user_id="all">所有人</at>', '＜at user_id="all"＞所有人＜/at＞'),
        ("@所有人 @13800000000", "＠所有人 ＠13800000000"),
        ("[点我](http://evil.example/login)", "［点我］(http[:]//evil[.]example/login)"),
        ("见 www.evil.com 与 evil.example/a", "见 www[.]evil[.]com 与 evil[.]example/a"),
        (
            "http://10.0.0.1:8080/x 与 10.0.0.2/y",
            "http[:]//10[.]0[.]0[.]1:8080/x 与 10[.]0[.]0[.]2/y",
        ),
        ("&lt;@all&gt;", "＆lt;＠all＆gt;"),
        ("一行\r\n两行\t三\u2028四", "一行 两行 三 四"),
        ("红\x1b[31m色\x1b[0m\x07\x00", "红色"),
        # ordinary text of a task table is left as it is
        ("第4.5项，1.2.3.4级，每季度（长期坚持）", "第4.5项，1.2.3.4级，每季度（长期坚持）"),
    ],
)
def test_inert(given_text: str, shown: str) -> None:
    assert inert(given_text) == shown


def test_printable_drops_controls_and_whole_escape_sequences() -> None:
    assert printable("a\x1b[1;31mb\x1b[0mc") == "abc"
    assert printable("a\x1b]0;title\x07b\x1b]8;;http://x\x1b\\c") == "abc"
    assert printable("a\x00\x07\x08\x7f\x9b\u202eb\r\nc\td") == "ab\nc\td"
    assert one_line("a\nb\r\nc") == "a b c"
    assert printable("没有控制字符的文字") == "没有控制字符的文字"


FRAGMENTS = [
    "<@all>",
    "<@zhangsan>",
    '<at user_id="all">所有人</at>',
    "<font color='info'>",
    "@所有人",
    "@all",
    "[点我](",
    "](http://",
    "http://evil.example/login",
    "HTTPS://EVIL.EXAMPLE",
    "evil.example/x",
    "www.evil.cn",
    "a.b.c.example",
    "xn--fiqs8s.cn",
    "//10.1.2.3/",
    "&lt;",
    "&#64;",
    "\x1b[31m",
    "\x1b]0;t\x07",
    "\r\n",
    "\x00",
    "\u202e",
    ".",
    ":",
    "/",
    " ",
]
hostile = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS), st.characters(min_codepoint=0x4E00, max_codepoint=0x4E20)
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(hostile)
def test_inert_leaves_no_mention_tag_link_or_control(text: str) -> None:
    shown = inert(text)
    # ASCII brackets only in the defanging marks, never a link's `[…](…)`
    assert not re.search(r"[<>@\[\]\n]", shown.replace("[.]", "").replace("[:]", ""))
    assert "](" not in shown
    assert not CONTROL.search(shown)
    assert not LINKISH.search(shown), shown


# -- robots: the real bodies ---------------------------------------------------------------

CHANNELS = {
    # channel name: (kind, key, extra settings)
    "wecom-md": ("wecom", "hostile-wecom-md", {}),
    "wecom-text": ("wecom", "hostile-wecom-text", {"mention_mobiles": '["13800000000"]'}),
    "ding-md": ("dingtalk", "hostile-ding-md", {"secret_env": "HOSTILE_SECRET"}),
    "ding-text": ("dingtalk", "hostile-ding-text", {"format": "text"}),
    "feishu-text": ("feishu", "hostile-feishu-text", {"secret_env": "HOSTILE_SECRET"}),
    "feishu-post": ("feishu", "hostile-feishu-post", {"format": "markdown"}),
    "hook": ("webhook", "hostile-hook", {"secret_env": "HOSTILE_SECRET"}),
}
SECRET = "SEChostile-test-secret-made-up"


def give_bureau_every_robot(config_dir: Path, robots: FakeRobots) -> dict[str, str]:
    env = {"HOSTILE_SECRET": SECRET}
    lines = ["channels:"]
    for name, (kind, key, extra) in CHANNELS.items():
        robots.add(kind, key, SECRET if "secret_env" in extra else None)
        env[f"HOSTILE_{name.upper().replace('-', '_')}"] = robots.url(kind, key)
        lines += [f"  {name}:", f"    type: {kind}"]
        lines.append(f"    key_env: HOSTILE_{name.upper().replace('-', '_')}")
        lines += [f"    {k}: {v}" for k, v in extra.items()]
    (config_dir / "channels.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    units = config_dir / "units.yaml"
    text = units.read_text(encoding="utf-8")
    names = ", ".join(CHANNELS)
    text = text.replace(
        "- name: 教育局\n    channels: []\n", f"- name: 教育局\n    channels: [{names}]\n"
    )
    units.write_text(text, encoding="utf-8")
    return env


def strings(value: Any) -> list[str]:
    """Every string a robot would show: the body's values but the signature's and, for a
    webhook, its envelope's (type, channel, format, keys)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        skip = {"sign", "timestamp", "sent_at", "_text", "_at", "type", "keys", "format"}
        return [s for k, v in value.items() if k not in skip for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def assert_harmless(robot: Robot, message: dict[str, Any]) -> str:
    shown = "\n".join(strings(message))
    where = f"{robot.kind} {robot.key}: {shown[:300]}"
    for syntax in ("<@", "<at", "<font", "@所有人", "@all", "]("):
        assert syntax not in shown, (syntax, where)
    assert not CONTROL.search(shown), where
    # every link a reader could tap is one of ours
    for link in LINKISH.findall(shown):
        assert link.startswith(BASE), (link, where)
    if isinstance(message.get("at"), dict):  # DingTalk: nobody notified but as configured
        assert message["at"] == {"atMobiles": [], "isAtAll": False}
    if isinstance(message.get("text"), dict) and "mentioned_mobile_list" in message["text"]:
        assert message["text"]["mentioned_mobile_list"] == ["13800000000"]
    return shown


def test_every_robot_gets_the_hostile_duty_as_harmless_text(
    tracked_config: Path, tmp_path: Path
) -> None:
    make_hostile(tracked_config)
    with FakeRobots() as robots:
        env = give_bureau_every_robot(tracked_config, robots)
        config = load_config(tracked_config)
        ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        loop = Loop(LoopStore.of(ledger), lambda: config.plan)
        deliverer = deliverer_from_config(config, ledger, env)
        at = datetime(2026, 9, 23, 10, 0, tzinfo=TZ)  # 7 days before 1.3 is due
        deliverer.action_link = ActionLinks(KEY, BASE, timedelta(days=30), lambda: at)

        async def scenario() -> None:
            report = await deliverer.deliver_due(config.plan, at)
            assert report.sent and not report.failed and not report.dead, report.as_json()
            # 1.3 left open: the weekly report lists it among the longest overdue
            monday = datetime(2026, 10, 12, 9, 30, tzinfo=TZ)
            assert await send_weekly_report(deliverer, loop, monday) == len(CHANNELS)
            await deliverer.aclose()

        asyncio.run(scenario())
        assert robots.total_rejections() == 0
        for kind, key, _ in CHANNELS.values():
            robot = robots.robots[(kind, key)]
            *digest, report = robot.messages  # the digest's parts, then the weekly report
            shown = "\n".join(assert_harmless(robot, part) for part in digest)
            # the duty's text is there, readable, on its item's line; the item carries our
            # link, and the text's own "办结确认" line is text on that line, not a link
            item = next(line for line in shown.split("\n") if "[1.3]" in line)
            assert item.startswith(
                '- [1.3] 请 ＜＠all＞ 与 ＜at user_id="all"＞所有人＜/at＞ 及 ＠所有人 '
                "立即［点我］(http[:]//evil[.]example/login)办结"
            )
            assert item.endswith(
                "办结确认：https[:]//evil[.]example/act/x 或 www[.]evil[.]example 或 "
                "evil[.]example/login 或 http[:]//10[.]0[.]0[.]1:8080/x反向  结束"
            )
            assert f"办结确认：{BASE}/act/" in shown
            assert "闭环周报" in assert_harmless(robot, report)


def test_the_weekly_report_lists_a_hostile_title_as_text(config_dir: Path, tmp_path: Path) -> None:
    make_hostile(config_dir)
    plan = load_config(config_dir).plan
    loop = Loop(LoopStore.of(Ledger.open(f"sqlite:///{tmp_path / 'l.sqlite3'}")), lambda: plan)
    day = date(2026, 9, 30)  # 1.3 and others due that day, all overdue by 10-12
    report = loop.report(datetime(2026, 10, 12, 9, 30, tzinfo=TZ), day, day, worst=200)
    assert any(item.occurrence.duty == "1.3" for item in report.worst)
    title, text = render_report(report)
    for channel in (WeComChannel("w", "made-up-key"), FeishuChannel("f", "made-up-token")):
        body = json.loads(channel.body(Outgoing(title, text)))
        shown = "\n".join(strings(body))
        assert "<@all>" not in shown and "@所有人" not in shown and not CONTROL.search(shown)
        assert shown.count('看这里＜＠all＞＜font color="warning"＞紧急＜/font＞＠所有人红色') == 4


def test_unit_names_from_the_table_are_inert_in_titles_headings_and_items() -> None:
    """A unit's name is data too: in a shared robot's title, its items and self-checks."""
    hostile_unit = "二中<@all>@所有人"
    items = [
        (reminder("1.3", "检查", date(2026, 9, 23), unit=hostile_unit), "k1"),
        (reminder("1.4", "培训", date(2026, 9, 30), unit="县第一中学"), "k2"),
        (reminder("2.2", "自查", date(2026, 9, 30), stage="review", unit=hostile_unit), "k3"),
    ]
    renderer = Renderer(_CALENDAR, action_link=lambda occ: f"{BASE}/act/token{len(occ)}")
    for channel in (WeComChannel("w", "made-up-key"), FeishuChannel("f", "made-up-token")):
        label = "、".join(sorted({r.unit for r, _ in items}))
        for part in renderer.render(label, items, date(2026, 9, 23), fit=channel):
            body = json.loads(channel.body(part.outgoing()))
            shown = "\n".join(strings(body))
            assert "<@all>" not in shown and "@所有人" not in shown
            assert shown.count("二中＜＠all＞＠所有人") >= 3  # title, item, self-check heading


# -- feeds ------------------------------------------------------------------------------------


def test_feeds_carry_no_control_characters(config_dir: Path) -> None:
    make_hostile(config_dir)
    plan = load_config(config_dir).plan
    now = datetime(2026, 9, 23, 2, 0, tzinfo=ZoneInfo("UTC"))
    feeds = FeedBuilder().build(plan, date(2026, 9, 23), now)
    checked = 0
    for feed in feeds.values():
        body = feed.body
        # octets: CRLF line ends only, no other C0 control, no DEL, no C1
        assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", body.replace(b"\r\n", b""))
        assert not CONTROL.search(body.decode("utf-8").replace("\r\n", ""))
        for event in icalendar.Calendar.from_ical(body).walk("VEVENT"):
            summary, description = str(event["SUMMARY"]), str(event["DESCRIPTION"])
            assert not CONTROL.search(summary) and not CONTROL.search(description.replace("\n", ""))
            if "1.3/" in str(event["UID"]):
                checked += 1
                # the text itself is kept, as plain text (a calendar shows no markup)
                assert "看这里<@all><font" in summary and "红色" in summary
                assert "[点我](http://evil.example/login)" in description
                assert "\n  办结确认：https://evil.example/act/x" in description
    assert checked >= 4  # the bureau's and the schools' events, in their own and the group feeds


# -- logs and the terminal ------------------------------------------------------------------


def test_log_records_drop_controls_and_cannot_forge_a_record(
    capfd: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", environ={})
        logging.getLogger("reminders.test").warning(
            "duty title: %s", "红\x1b[31m字\x07\r\n2026-09-23 10:00:00,000 ERROR reminders: 伪造"
        )
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capfd.readouterr().err
    assert not CONTROL.search(err)
    lines = err.splitlines()
    assert len(lines) == 2 and "WARNING reminders.test: duty title: 红字" in lines[0]
    assert lines[1] == "    2026-09-23 10:00:00,000 ERROR reminders: 伪造"  # indented: no record


def test_the_service_log_shows_the_hostile_duty_as_text(config_dir: Path, tmp_path: Path) -> None:
    """The real `reminders run`: the log channel's digest of a hostile duty due today."""
    duties = config_dir / "duties.yaml"
    forged = HOSTILE_TEXT + "\r\n2026-11-30 09:30:00,000 ERROR reminders: 伪造的记录"
    duty = ['  - id: "99.1"', f"    title: {yaml_string(HOSTILE_TITLE)}"]
    duty += [f"    text: {yaml_string(forged)}", "    units: [教育局]"]
    duty += ["    time_limit: 11月30日前"]
    duties.write_text(duties.read_text(encoding="utf-8") + "\n".join(duty) + "\n", "utf-8")
    daemon = DaemonProcess(config_dir, tmp_path / "state", now=MONDAY).start()
    try:
        daemon.wait_log(r"已推送 \(sent\) \d+ 条提醒到 log")
    finally:
        assert daemon.stop() == 0
    raw = daemon.log_path.read_bytes()
    text = raw.decode("utf-8")
    assert "请 ＜＠all＞" in text and "伪造的记录" in text
    assert not CONTROL.search(text)
    # every record starts a line with its time; nothing a duty said starts one
    for line in text.splitlines():
        assert line.startswith(("20", " ")) or not line, line
    assert "\n2026-11-30 09:30:00,000 ERROR" not in text


def run_cli(config_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "reminders", "--config", str(config_dir), *args]
    return subprocess.run(command, capture_output=True, timeout=60)


@pytest.mark.parametrize(
    "args",
    [
        ("agenda", "--at", "2026-09-23", "--unit", "教育局"),
        ("due", "--at", "2026-09-23T10:00", "--render"),
        ("overdue", "--at", "2026-10-12"),
    ],
    ids=["agenda", "due-render", "overdue"],
)
def test_terminal_output_has_no_control_characters(
    tracked_config: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    make_hostile(tracked_config)
    done = run_cli(tracked_config, *args, "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 0, done.stderr.decode()
    out, err = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert "红色" in out  # the duty is listed, its text as text
    assert not CONTROL.search(out.replace("\n", "")) and not CONTROL.search(err.replace("\n", ""))
    assert b"\x1b" not in done.stdout + done.stderr
