"""What a new user meets first: the command line in Chinese, `validate` failing where
`run` would, the signed links without a robot, and errors that say what to do."""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reminders.cli.main import build_parser, main
from reminders.cli.parser import subcommands
from reminders.closedloop.keys import action_key
from reminders.closedloop.signing import verify

from .conftest import ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _every_command(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = []
    for name, sub, _ in subcommands(parser):
        found.append(((*prefix, name), sub))
        found += _every_command(sub, (*prefix, name))
    return found


COMMANDS = _every_command(build_parser())


def test_there_are_commands_to_check() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"validate", "agenda", "run", "done", "link", "feeds build", "feeds serve"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_has_a_chinese_description_and_every_option_help(
    capsys: pytest.CaptureFixture[str], path: tuple[str, ...]
) -> None:
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    usage, _, rest = out.partition("\n\n")
    assert usage.startswith(f"用法：reminders {' '.join(path)}")
    description = rest.split("\n\n")[0]
    assert CJK.search(description), f"no Chinese description:\n{out}"
    parser = dict(COMMANDS)[path]
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        assert action.help and CJK.search(action.help), f"{path} {action.option_strings}"
    assert "show this help" not in out and "options:" not in out


def test_done_help_reads_as_the_issue_asks(capsys: pytest.CaptureFixture[str]) -> None:
    main(["done", "--help"])
    assert "标记事项已完成 (done)" in capsys.readouterr().out


def test_reminders_alone_lists_each_command_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys)
    assert code == 0
    lines = out.splitlines()
    for name, _, help_text in subcommands(build_parser()):
        (line,) = [x for x in lines if x.startswith(f"  {name} ")]
        assert help_text in line and CJK.search(line)
    assert "docs/使用指南.md" in out


def test_usage_errors_are_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "done")
    assert code == 2 and "错误：缺少参数：OCCURRENCE" in err
    code, _, err = run(capsys, "agenda", "--from", "昨天")
    assert code == 2 and "不是日期 (date)" in err and "昨天" in err
    code, _, err = run(capsys, "nosuch")
    assert code == 2 and "无效的选择" in err


def test_old_option_names_still_work(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`--at` everywhere; `run --now` and `feeds --today` kept as aliases."""
    parser = build_parser()
    run_args = parser.parse_args(["run", "--now", "2026-09-01T09:00"])
    assert run_args.at == datetime(2026, 9, 1, 9, 0)
    feeds_args = parser.parse_args(["feeds", "build", "--today", "2026-09-01"])
    assert feeds_args.at == datetime(2026, 9, 1)
    for path in (("run",), ("due",), ("done", "x"), ("agenda",), ("feeds", "urls")):
        assert parser.parse_args([*path, "--at", "2026-09-01T09:00"]).at is not None


# -- validate fails where run would -------------------------------------------------


def _robot_for_the_bureau(config_dir: Path) -> None:
    (config_dir / "channels.yaml").write_text(
        "channels:\n  bureau:\n    type: wecom\n    key_env: FIRST_HOUR_WECOM_KEY\n",
        encoding="utf-8",
    )
    units = config_dir / "units.yaml"
    units.write_text(
        units.read_text(encoding="utf-8").replace("channels: []", "channels: [bureau]", 1),
        encoding="utf-8",
    )


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("错误：")]


def test_validate_fails_on_an_unset_key_as_run_does(config_dir: Path, tmp_path: Path) -> None:
    _robot_for_the_bureau(config_dir)
    state = tmp_path / "state"
    base = [sys.executable, "-m", "reminders", "--config", str(config_dir)]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no FIRST_HOUR_WECOM_KEY
    checked = subprocess.run(
        [*base, "validate", "--state-dir", str(state)], capture_output=True, text=True, env=env
    )
    started = subprocess.run(
        [*base, "run", "--state-dir", str(state), "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert checked.returncode == 1 and started.returncode == 1
    (line,) = _error_lines(checked.stderr)
    assert "环境变量 FIRST_HOUR_WECOM_KEY 未设置" in line and "channels.bureau.key_env" in line
    assert line in _error_lines(started.stderr)  # the same words where run stops
    assert "配置有效" not in checked.stdout
    # set: both pass that point (the value is never printed)
    env["FIRST_HOUR_WECOM_KEY"] = "made-up-key-for-validate"
    checked = subprocess.run(
        [*base, "validate", "--state-dir", str(state)], capture_output=True, text=True, env=env
    )
    assert checked.returncode == 0, checked.stderr
    assert "made-up-key-for-validate" not in checked.stdout + checked.stderr


def test_validate_checks_the_state_dir_and_the_listen_address(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    argv = ["--config", str(config_dir), "validate"]
    code, _, err = run(capsys, *argv, "--state-dir", str(blocker / "state"))
    assert code == 1 and "状态目录 (state directory) 不是目录" in err
    assert not (blocker.parent / "state").exists()  # validate creates nothing

    settings = config_dir / "settings.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text + "\nfeeds:\n  listen: 192.0.2.1:8080\n", encoding="utf-8")
    code, _, err = run(capsys, *argv, "--state-dir", str(tmp_path / "s"))
    assert code == 1 and "不能在 192.0.2.1:8080 上监听" in err and "feeds.listen" in err

    with socket.socket() as holder:  # someone else holds the port now: a warning only
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        settings.write_text(text + f"\nfeeds:\n  listen: 127.0.0.1:{port}\n", encoding="utf-8")
        code, out, err = run(capsys, *argv, "--state-dir", str(tmp_path / "s"))
    assert code == 0 and "配置有效" in out
    (warning,) = [line for line in err.splitlines() if f":{port} 上监听" in line]
    assert warning.startswith("警告：") and "feeds.listen" in warning and "--listen" in warning


def test_port_in_use_names_the_setting_and_the_option(config_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        argv = [sys.executable, "-m", "reminders", "--config", str(config_dir), "run"]
        started = subprocess.run(
            [*argv, "--state-dir", str(tmp_path / "s"), "--listen", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert started.returncode == 1 and "Traceback" not in started.stderr
    (line,) = _error_lines(started.stderr)
    assert f"端口 {port} 已被占用 (address already in use)" in line
    assert "settings.yaml 的 feeds.listen" in line and "--listen HOST:PORT" in line


# -- the signed links without a robot -------------------------------------------------


def _with_base_url(config_dir: Path) -> None:
    with (config_dir / "settings.yaml").open("a", encoding="utf-8") as out:
        out.write("\nloop:\n  base_url: https://reminders.example.gov.cn\n")


LINK = re.compile(r"https://reminders\.example\.gov\.cn/act/(\S+)")


def test_due_render_carries_each_items_signed_link(
    tracked_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_base_url(tracked_config)
    state = tmp_path / "state"
    argv = ["--config", str(tracked_config), "due", "--state-dir", str(state)]
    code, out, _ = run(capsys, *argv, "--at", "2026-09-23T10:00", "--json")
    ids = {o for r in json.loads(out)["would_send"] for o in r["occurrences"]}
    assert ids
    code, out, _ = run(capsys, *argv, "--at", "2026-09-23T10:00", "--render")
    assert code == 0
    key = action_key(state)  # the key the service will sign and check with
    now = datetime(2026, 9, 23, 2, 0, tzinfo=UTC)
    claims = {verify(key, token, now).occurrence_id for token in LINK.findall(out)}
    assert ids <= claims  # every item's link, each a valid token for it
    assert all(c in ids or c.startswith("review/") for c in claims)


def test_due_render_says_how_to_get_links_when_no_base_url(
    tracked_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--config", str(tracked_config), "due", "--state-dir", str(tmp_path / "s")]
    code, out, _ = run(capsys, *argv, "--at", "2026-09-23T10:00", "--render")
    assert code == 0 and "/act/" not in out and "loop.base_url" in out


def test_link_prints_the_done_link_and_its_self_check_link(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_base_url(config_dir)
    state = tmp_path / "state"
    argv = ["--config", str(config_dir), "--state-dir", str(state), "link"]
    at = ("--at", "2026-12-01T10:00")
    code, out, _ = run(capsys, *argv, "4.5/教育局/2026-12", *at)
    assert code == 0
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    (token,) = LINK.findall(out)
    claim = verify(action_key(state), token, now)
    assert (claim.occurrence_id, claim.action) == ("4.5/教育局/2026-12", "done")
    assert "有效期至 2027-01-01 08:00" in out  # 30 days, to the next UTC midnight, local time

    code, out, _ = run(capsys, *argv, "1.1/教育局/review-2026-Q4", *at)  # a standing duty
    tokens = LINK.findall(out)
    assert code == 0 and len(tokens) == 2
    assert [verify(action_key(state), t, now).occurrence_id for t in tokens] == [
        "1.1/教育局/review-2026-Q4",
        "review/教育局/review-2026-Q4",
    ]
    code, out, _ = run(capsys, *argv, "review/教育局/review-2026-Q4", *at)
    assert code == 0 and "全部自查完毕" in out and len(LINK.findall(out)) == 1

    code, _, err = run(capsys, *argv, "4.5/教育局/2099-01", *at)
    assert code == 1 and "计划中没有这个事项编号" in err


def test_history_prints_the_configured_time_zone(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--config", str(config_dir), "--state-dir", str(tmp_path / "s")]
    assert main([*argv, "done", "4.5/教育局/2026-12", "--at", "2026-12-01T08:30"]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, *argv, "history")
    assert code == 0 and out.startswith("2026-12-01T08:30:00+08:00  4.5/教育局/2026-12")


def test_the_fake_robots_help_names_only_what_the_project_has() -> None:
    helped = subprocess.run(
        [sys.executable, "-m", "tests.fakerobot", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert "DESIGN" not in helped
    for named in re.findall(r"[\w./-]+\.(?:md|py)\b", helped):
        assert (ROOT / named).exists(), named
