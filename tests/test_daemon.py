"""The real `reminders run` process: readiness, watchdog, signals, reload."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import time
from pathlib import Path

import httpx

from .daemonproc import DaemonProcess

# A Monday in the send window (2026-11-30 09:30 Asia/Shanghai): several duties are due that day.
MONDAY = "2026-11-30T09:30"


def feed_url(daemon: DaemonProcess, unit: str = "教育局") -> str:
    from reminders.config import load_config
    from reminders.feeds import feed_specs, load_tokens

    plan = load_config(daemon.config_dir).plan
    spec = next(s for s in feed_specs(plan) if s.kind == "unit" and s.name == unit)
    token = load_tokens(daemon.state_dir, [spec.key])[spec.key]
    return f"http://127.0.0.1:{daemon.port}/feeds/{token}/{spec.filename}"


def with_duty_due_today(duties: str, title: str) -> str:
    """duties.yaml plus a bureau duty 99.1 due on MONDAY."""
    duty = [
        '  - id: "99.1"',
        f"    title: {title}",
        "    units: [教育局]",
        "    time_limit: 11月30日前",
    ]
    return duties + "\n" + "\n".join(duty) + "\n"


def test_notify_ready_watchdog_stopping_and_clean_exit(config_dir: Path, tmp_path: Path) -> None:
    daemon = DaemonProcess(
        config_dir, tmp_path / "state", now=MONDAY, env={"WATCHDOG_USEC": "400000"}
    )
    daemon.start()
    ready = [m for m in daemon.messages if m.startswith("STATUS=")]
    assert ready and ready[0].startswith("STATUS=下一次提醒 (next reminder) 2026-")
    # systemctl status shows what the log's ready line says
    daemon.wait_log(rf"(?m)就绪 \(ready\)：{re.escape(ready[0].removeprefix('STATUS='))}$")
    daemon.wait_for("WATCHDOG=1", timeout=5)
    daemon.signal(signal.SIGTERM)
    daemon.wait_for("STOPPING=1", timeout=20)
    assert daemon.stop() == 0
    assert re.search(r"已停止 \(stopped\)$", daemon.log(), re.MULTILINE)
    assert not (tmp_path / "state" / "reminders.pid").exists()


def test_sends_due_reminders_through_the_log_channel_on_start(
    config_dir: Path, tmp_path: Path
) -> None:
    daemon = DaemonProcess(config_dir, tmp_path / "state", now=MONDAY).start()
    try:
        daemon.wait_log(r"已推送 \(sent\) \d+ 条提醒到 log")
        assert "今日到期" in daemon.log()
    finally:
        assert daemon.stop() == 0
    # restarting at the same instant sends nothing again
    again = DaemonProcess(config_dir, tmp_path / "state", now=MONDAY).start()
    assert again.stop() == 0
    assert "启动以来已推送 0 条" in again.log()
    assert "条提醒到 log" not in again.log()


def test_second_daemon_on_the_same_state_dir_is_refused(config_dir: Path, tmp_path: Path) -> None:
    first = DaemonProcess(config_dir, tmp_path / "state", now=MONDAY).start()
    try:
        second = DaemonProcess(config_dir, tmp_path / "state", now=MONDAY).start(wait_ready=False)
        assert second.proc is not None
        assert second.proc.wait(30) == 1
        second.close()
        assert "另一个 `reminders run` 正在使用该状态目录" in second.log()
        assert "Traceback" not in second.log()
    finally:
        assert first.stop() == 0


def test_reload_keeps_last_good_config_then_applies_a_good_one(
    config_dir: Path, tmp_path: Path
) -> None:
    off = ("--watch-seconds", "0")  # SIGHUP alone
    daemon = DaemonProcess(config_dir, tmp_path / "state", now=MONDAY, args=off).start()
    try:
        url = feed_url(daemon)
        good = (config_dir / "duties.yaml").read_text(encoding="utf-8")
        (config_dir / "duties.yaml").write_text(
            good.replace("units: [教育局]", "units: [教育厅]", 1), encoding="utf-8"
        )
        mark = len(daemon.log())
        daemon.signal(signal.SIGHUP)
        daemon.wait_for("RELOADING=1")
        daemon.wait_for("READY=1")
        rejected = daemon.wait_log(
            r"重新加载被拒绝 \(reload rejected\)：.*duties\.yaml:\d+: .*教育厅", after=mark
        )
        assert rejected
        assert "继续使用上次的有效配置 (last good config)" in daemon.log()[mark:]
        feed = httpx.get(url, timeout=10)
        assert feed.status_code == 200
        assert b"BEGIN:VCALENDAR" in feed.content

        # a good change: a new duty due today is pushed at once
        extra = with_duty_due_today(good, "重载测试任务")
        (config_dir / "duties.yaml").write_text(extra, encoding="utf-8")
        mark = len(daemon.log())
        daemon.signal(signal.SIGHUP)
        daemon.wait_log(r"配置已重新加载 \(config reloaded\)：52 项任务", after=mark)
        daemon.wait_log(r"\[99\.1\] 重载测试任务", after=mark)
    finally:
        assert daemon.stop() == 0


def test_an_edited_config_file_is_reloaded_without_a_signal(
    config_dir: Path, tmp_path: Path
) -> None:
    watch = ("--watch-seconds", "0.3")
    daemon = DaemonProcess(config_dir, tmp_path / "state", now=MONDAY, args=watch).start()
    try:
        good = (config_dir / "duties.yaml").read_text(encoding="utf-8")
        mark = len(daemon.log())
        (config_dir / "duties.yaml").write_text(
            good.replace("units: [教育局]", "units: [教育厅]", 1), encoding="utf-8"
        )
        daemon.wait_log(r"配置文件已修改 \(config files changed\)", after=mark)
        daemon.wait_log(r"重新加载被拒绝 \(reload rejected\)：.*教育厅", after=mark)
        daemon.wait_for("READY=1")
        # an editor's swap file is not config: three looks later, nothing reloaded
        mark = len(daemon.log())
        (config_dir / ".duties.yaml.swp").write_bytes(b"\0" * 10)
        time.sleep(1.0)
        assert "配置文件已修改 (config files changed)" not in daemon.log()[mark:]
        extra = with_duty_due_today(good, "监视测试任务")
        (config_dir / "duties.yaml").write_text(extra, encoding="utf-8")
        daemon.wait_log(r"配置已重新加载 \(config reloaded\)：52 项任务", after=mark)
        daemon.wait_log(r"\[99\.1\] 监视测试任务", after=mark)
    finally:
        assert daemon.stop() == 0


def test_listen_address_comes_from_settings_without_listen(
    config_dir: Path, tmp_path: Path
) -> None:
    settings = config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + "\nfeeds:\n  listen: 127.0.0.1:0\n",
        encoding="utf-8",
    )
    daemon = DaemonProcess(config_dir, tmp_path / "state", now=MONDAY, listen=None).start()
    try:
        assert daemon.port != 8080
        assert httpx.get(feed_url(daemon), timeout=10).status_code == 200
    finally:
        assert daemon.stop() == 0


def test_the_service_socket_sends_each_response_at_once() -> None:
    """Every connection has TCP_NODELAY (asyncio sets it only on a socket made as TCP):
    without it, a response's body waits for the client's delayed ACK of its head, 40 ms
    on every feed request."""
    from reminders.listen import bind

    async def accepted() -> list[int]:
        sock = bind("127.0.0.1", 0)
        seen: list[int] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            raw = writer.get_extra_info("socket")
            seen.append(raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sock)
        reader, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
        await reader.read()
        writer.close()
        server.close()
        await server.wait_closed()
        return seen

    assert asyncio.run(accepted()) == [1]
