"""`reminders send-test`, `due` and `status`, and channels.yaml in the config."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reminders.cli.main import main
from reminders.config import load_config
from reminders.delivery import deliverer_from_config, open_ledger
from reminders.delivery.plan import due_at
from reminders.exceptions import ConfigError

from .fakerobot import FakeRobots
from .test_deliver_plan import at

KEY = "wk-cli-test-key-4242"
TOKEN = "dt-cli-test-token-4343"
SECRET = "SECcli-test-secret-4444"


@pytest.fixture
def robots() -> Iterator[FakeRobots]:
    with FakeRobots() as server:
        server.add("wecom", KEY)
        server.add("dingtalk", TOKEN, SECRET)
        yield server


@pytest.fixture
def configured(config_dir: Path, robots: FakeRobots, monkeypatch: pytest.MonkeyPatch) -> Path:
    (config_dir / "channels.yaml").write_text(
        "channels:\n"
        "  bureau-wecom:\n"
        "    type: wecom\n"
        "    key_env: TEST_WECOM_KEY\n"
        "  bureau-ding:\n"
        "    type: dingtalk\n"
        "    key_env: TEST_DING_TOKEN\n"
        "    secret_credential: ding-secret\n"
        "credentials_file: credentials.env\n",
        encoding="utf-8",
    )
    (config_dir / "credentials.env").write_text(f"ding-secret={SECRET}\n", encoding="utf-8")
    units = config_dir / "units.yaml"
    text = units.read_text(encoding="utf-8")
    units.write_text(
        text.replace("channels: []", "channels: [bureau-wecom, bureau-ding]", 1), encoding="utf-8"
    )
    monkeypatch.setenv("TEST_WECOM_KEY", robots.url("wecom", KEY))
    monkeypatch.setenv("TEST_DING_TOKEN", robots.url("dingtalk", TOKEN))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    return config_dir


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def due(
    capsys: pytest.CaptureFixture[str], config: Path, state: Path, *extra: str
) -> tuple[int, str, str]:
    """`reminders due --at 2026-09-23T10:00` on this config and state directory."""
    return run(
        capsys,
        "--config",
        str(config),
        "due",
        "--at",
        "2026-09-23T10:00",
        "--state-dir",
        str(state),
        *extra,
    )


def test_send_test_prints_each_robots_answer(
    configured: Path, robots: FakeRobots, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--config", str(configured), "send-test", "教育局")
    assert code == 0
    assert "bureau-wecom (wecom): 成功 ok: HTTP 200，返回码 (code) 0：ok" in out
    assert "bureau-ding (dingtalk): 成功 ok" in out
    assert len(robots.robots[("dingtalk", TOKEN)].messages) == 1


def test_send_test_reports_a_wrong_secret_without_showing_it(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (configured / "credentials.env").write_text("ding-secret=SECwrong-wrong\n", encoding="utf-8")
    code, out, err = run(capsys, "--config", str(configured), "send-test", "教育局")
    assert code == 1
    assert "失败 FAILED（永久错误 (permanent)）" in out and "310000" in out
    assert "bureau-ding：机器人返回错误 (robot error) 310000：" in out
    for secret in ("SECwrong-wrong", TOKEN, KEY):
        assert secret not in out + err


def test_send_test_for_a_unit_without_robot_uses_the_log(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--config", str(configured), "send-test", "县第一中学")
    assert code == 0 and "log (log): 没有机器人 (no robot)" in out


def test_missing_secret_names_the_variable(
    configured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TEST_WECOM_KEY")
    code, _, err = run(capsys, "--config", str(configured), "send-test", "教育局")
    assert code == 1 and "环境变量 TEST_WECOM_KEY 未设置" in err and "Traceback" not in err


def test_unknown_channel_is_a_config_error_with_its_line(config_dir: Path) -> None:
    units = config_dir / "units.yaml"
    units.write_text(
        units.read_text(encoding="utf-8").replace("channels: []", "channels: [nope]", 1),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    (problem,) = info.value.problems
    assert problem.value == "nope" and problem.line is not None
    assert problem.file is not None and problem.file.endswith("units.yaml")
    assert problem.field == "units[0].channels[0]"


def test_channel_without_a_key_reference_is_rejected(config_dir: Path) -> None:
    (config_dir / "channels.yaml").write_text(
        "channels:\n  x:\n    type: wecom\n    url: https://qyapi.weixin.qq.com/x?key=abc\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="key_env"):
        load_config(config_dir)


def test_due_is_a_dry_run(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    code, out, _ = due(capsys, configured, state, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["send_window_open"] is True
    channels = {row["channel"] for row in data["would_send"]}
    assert channels == {"bureau-wecom", "bureau-ding", "log"}
    assert {row["step"] for row in data["would_send"]} >= {"before-7d"}
    assert not state.exists()
    code, out, _ = due(capsys, configured, state, "--render")
    assert code == 0
    assert "【安全生产提醒】教育局 · 9月23日" in out and "即将到期" in out
    assert not state.exists()


def test_status_after_a_delivery(
    configured: Path, tmp_path: Path, robots: FakeRobots, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    code, out, _ = run(capsys, "--config", str(configured), "status", "--state-dir", str(state))
    assert code == 0 and "no deliveries yet" in out
    config = load_config(configured)
    ledger = open_ledger(config, state)
    robots.robots.pop(("dingtalk", TOKEN))  # removed robot: dead
    now = at("2026-09-23", "10:00")

    async def deliver() -> None:
        async with deliverer_from_config(config, ledger) as deliverer:
            await deliverer.deliver(config.plan, due_at(config.plan, now), now)

    asyncio.run(deliver())
    code, out, _ = run(
        capsys, "--config", str(configured), "status", "--state-dir", str(state), "--json"
    )
    assert code == 0
    data = json.loads(out)
    sent = data["channels"]["bureau-wecom"]["sent"]
    assert sent > 20 and data["channels"]["bureau-wecom"] == {"sent": sent}
    assert data["channels"]["bureau-ding"] == {"dead": sent}
    assert data["problems"][0]["last_code"] == 300005
    _, out, _ = run(capsys, "--config", str(configured), "status", "--state-dir", str(state))
    assert "bureau-ding" in out and "300005" in out
    assert TOKEN not in out


def test_due_render_shapes_each_robots_message_as_the_sender_does(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    channels = configured / "channels.yaml"
    text = channels.read_text(encoding="utf-8")
    channels.write_text(
        text.replace(
            "    key_env: TEST_WECOM_KEY\n",
            "    key_env: TEST_WECOM_KEY\n    mention_mobiles: ['13800000000']\n",
        ),
        encoding="utf-8",
    )
    code, out, _ = due(capsys, configured, tmp_path / "state", "--render")
    assert code == 0
    wecom = out.split("── bureau-wecom (wecom) ──")[1].split("── ")[0]
    ding = out.split("── bureau-ding (dingtalk) ──")[1].split("── ")[0]
    assert "即将到期" in wecom and "**" not in wecom  # sent as text, for the mention
    assert "**即将到期" in ding  # markdown


def test_due_table_orders_duty_ids_as_numbers(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On 31 December a school's quarter-end items include 4.4 and 12.3: 4.4 comes first."""
    code, out, _ = run(
        capsys,
        *("--config", str(config_dir), "due", "--at", "2026-12-31T10:00"),
        *("--state-dir", str(tmp_path / "state")),
    )
    assert code == 0
    school = [line for line in out.splitlines() if " 县实验小学 " in line]
    ids = [line.split("[", 1)[1].split("]", 1)[0] for line in school]
    assert "4.4" in ids and "12.3" in ids
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split(".")))
