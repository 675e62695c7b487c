"""Keyword security (关键词): robots that refuse any message without their keyword take
every kind of message the service sends: digests, escalations, the weekly report and
`send-test`, once channels.yaml names the keyword."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reminders.cli.main import main
from reminders.closedloop import Loop, LoopStore
from reminders.closedloop.weekly import send_weekly_report
from reminders.config import load_config
from reminders.delivery import deliverer_from_config
from reminders.ledger import Ledger

from .fakerobot import FakeRobots

TZ = ZoneInfo("Asia/Shanghai")
KEYWORD = "校安"  # in no default template: only the keyword setting can put it there
SECRET = "SECkeyword-test-secret-made-up"
ROBOTS = {
    # unit: (channel name, kind, key, extra channel settings)
    "教育局": ("bureau", "dingtalk", "kw-bureau-token", {"secret_env": "KW_SECRET"}),
    "县第一中学": ("school1", "feishu", "kw-school1-hook", {"format": "markdown"}),
    "县第二中学": ("school2", "dingtalk", "kw-school2-token", {"format": "text"}),
    "县实验小学": ("school3", "wecom", "kw-school3-key", {}),
}
THURSDAY = datetime(2026, 12, 3, 9, 30, tzinfo=TZ)  # 3 workdays overdue: escalations
MONDAY = datetime(2026, 12, 7, 9, 30, tzinfo=TZ)  # the weekly report


def configure(config_dir: Path, robots: FakeRobots, keyword: str | None) -> dict[str, str]:
    env = {"KW_SECRET": SECRET}
    lines = ["channels:"]
    units = config_dir / "units.yaml"
    text = units.read_text(encoding="utf-8")
    for unit, (name, kind, key, extra) in ROBOTS.items():
        secret = SECRET if "secret_env" in extra else None
        robots.add(kind, key, secret, keyword=KEYWORD if kind != "wecom" else None)
        env[f"KW_{name.upper()}"] = robots.url(kind, key)
        lines += [f"  {name}:", f"    type: {kind}", f"    key_env: KW_{name.upper()}"]
        lines += [f"    {k}: {v}" for k, v in extra.items()]
        if keyword:
            lines.append(f"    keyword: {keyword}")
        text = text.replace(f"- name: {unit}\n", f"- name: {unit}\n    channels: [{name}]\n", 1)
    units.write_text(text.replace("    channels: []\n", ""), encoding="utf-8")
    (config_dir / "channels.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return env


def test_a_keyword_robot_takes_every_kind_of_message(
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeRobots() as robots:
        env = configure(config_dir, robots, KEYWORD)
        config = load_config(config_dir)
        ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        loop = Loop(LoopStore.of(ledger), lambda: config.plan)
        deliverer = deliverer_from_config(config, ledger, env)

        async def scenario() -> None:
            report = await deliverer.deliver_due(config.plan, THURSDAY)
            assert report.sent and not report.failed and not report.dead, report.as_json()
            assert await send_weekly_report(deliverer, loop, MONDAY) == 1
            await deliverer.aclose()

        asyncio.run(scenario())
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for unit in ROBOTS:
            assert main(["--config", str(config_dir), "send-test", unit]) == 0, capsys.readouterr()
        out = capsys.readouterr().out
        assert out.count("成功 ok: HTTP 200") >= len(ROBOTS)

        assert robots.total_rejections() == 0
        bureau = robots.robots[("dingtalk", "kw-bureau-token")]
        kinds = {
            "digest": "【安全生产提醒】",
            "escalation": "请督办",
            "report": "闭环周报",
            "send-test": "【测试】",
        }
        for kind, mark in kinds.items():
            assert any(mark in text for text in bureau.texts()), kind
        for unit, (_, kind, key, _) in ROBOTS.items():
            texts = robots.robots[(kind, key)].texts()
            assert texts and all(KEYWORD in text for text in texts), (unit, texts[:1])
            assert any("【测试】" in text for text in texts)


def test_without_the_keyword_the_refusal_says_where_to_set_it(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeRobots() as robots:
        env = configure(config_dir, robots, None)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert main(["--config", str(config_dir), "send-test", "教育局"]) == 1
        out = capsys.readouterr().out
        assert "310000" in out and "channels.bureau.keyword" in out and "关键词" in out
        assert SECRET not in out
