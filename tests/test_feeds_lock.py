"""`feeds build` and `feeds serve` hold the state directory as `reminders run` does:
one process at a time saves the feed history. `feeds urls` stays usable beside
the service, and tokens it makes are never lost to the service's (or back)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from reminders.statelock import StateLock, exclusive, running_pid

from .conftest import SHIPPED_CONFIG
from .daemonproc import DaemonProcess

HISTORY = Path("feeds") / "history.sqlite3"
BUILD = ("feeds", "build", "--today", "2026-11-28")
LATER = ("feeds", "build", "--today", "2027-03-01")  # another window: a new history


def reminders(
    state: Path, *argv: str, config: Path = SHIPPED_CONFIG
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "reminders", "--config", str(config), *argv]
    output = ["--output", str(state.parent / "cal")] if argv[:2] == ("feeds", "build") else []
    return subprocess.run(
        [*command, "--state-dir", str(state), *output], capture_output=True, text=True, timeout=60
    )


def snapshot(tmp_path: Path) -> dict[str, bytes]:
    files = [*(tmp_path / "state" / "feeds").iterdir(), *(tmp_path / "cal").iterdir()]
    return {str(p.relative_to(tmp_path)): p.read_bytes() for p in files}


def errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("错误：")]


def test_build_is_refused_while_the_service_holds_the_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert reminders(state, *BUILD).returncode == 0
    before = snapshot(tmp_path)
    with StateLock(state):  # as `reminders run` holds it, pid file included
        for argv in (LATER, ("feeds", "serve", "--listen", "127.0.0.1:0")):
            refused = reminders(state, *argv)
            assert refused.returncode == 1, refused.stderr
            assert "Traceback" not in refused.stderr
            (line,) = errors(refused)
            assert str(state) in line
            assert f"另一个 `reminders run` 正在使用该状态目录（进程 {os.getpid()}）" in line
            assert "用 `reminders feeds urls` 查看订阅地址" in line
        assert snapshot(tmp_path) == before

    assert reminders(state, *LATER).returncode == 0  # free again: the same build goes through
    assert (state / HISTORY).read_bytes() != before[f"state/{HISTORY}"]


def test_build_is_refused_beside_the_real_service(config_dir: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    daemon = DaemonProcess(config_dir, state, now="2026-11-30T09:30").start()
    try:
        history = (state / HISTORY).read_bytes()
        refused = reminders(state, *LATER, config=config_dir)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert daemon.proc is not None
        (line,) = errors(refused)
        assert f"`reminders run` 正在使用该状态目录（进程 {daemon.proc.pid}）" in line
        assert (state / HISTORY).read_bytes() == history
        urls = reminders(
            state, "feeds", "urls", "--base-url", "https://cal.test", config=config_dir
        )
        assert urls.returncode == 0 and urls.stdout.count("https://cal.test/feeds/") == 6
    finally:
        assert daemon.stop() == 0


def test_serve_holds_the_state_dir_for_its_whole_run(tmp_path: Path) -> None:
    state = tmp_path / "state"
    command = [sys.executable, "-m", "reminders", "--config", str(SHIPPED_CONFIG), "feeds"]
    command += ["serve", "--state-dir", str(state), "--listen", "127.0.0.1:0"]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, encoding="utf-8")
    try:
        assert server.stderr is not None
        serving = server.stderr.readline()
        while "个日历订阅 (feeds)" not in serving:
            assert serving, "feeds serve exited before serving"
            serving = server.stderr.readline()
        history = (state / HISTORY).read_bytes()

        refused = reminders(state, *LATER)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        (line,) = errors(refused)
        assert "另一个 reminders 进程" in line and str(state) in line
        assert "pid" not in line  # not a service: nothing to reload, no feeds of its own
        assert (state / HISTORY).read_bytes() == history

        # the service's pid file is not written: `reload` would stop a `feeds serve`
        reload = reminders(state, "reload")
        assert reload.returncode == 1 and "没有运行中的服务 (no running service)" in reload.stderr
        assert server.poll() is None
    finally:
        server.terminate()
        server.communicate(timeout=10)
    assert server.returncode == 0
    assert reminders(state, *LATER).returncode == 0


def test_service_refuses_a_state_dir_a_feeds_command_holds(
    config_dir: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    with StateLock(state, service=False):
        daemon = DaemonProcess(config_dir, state).start(wait_ready=False)
        assert daemon.proc is not None and daemon.proc.wait(30) == 1
        daemon.close()
    assert "另一个 reminders 进程" in daemon.log() and str(state) in daemon.log()
    assert "Traceback" not in daemon.log()


def test_a_stale_pid_file_is_dropped_by_a_feeds_command(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "reminders.pid").write_text(f"{os.getpid()}\n")  # a killed service's, pid reused
    assert reminders(state, *BUILD).returncode == 0
    assert not (state / "reminders.pid").exists()


def test_tokens_made_meanwhile_by_another_process_are_kept(tmp_path: Path) -> None:
    """`feeds urls` and the service may both make a missing token: the second waits and keeps
    the first's."""
    from reminders.feeds.tokens import TOKENS_FILE, load_tokens

    folder = tmp_path / "feeds"
    folder.mkdir(mode=0o700)
    theirs = {"all": "T" * 32, "unit:教育局": "U" * 32}
    got: list[dict[str, str]] = []
    with exclusive(folder):  # the other process is making tokens
        reader = threading.Thread(target=lambda: got.append(load_tokens(tmp_path, theirs)))
        reader.start()
        time.sleep(0.5)
        assert reader.is_alive(), "load_tokens wrote without waiting for the lock"
        (tmp_path / TOKENS_FILE).write_text(json.dumps(theirs), encoding="utf-8")
    reader.join(10)
    assert got == [theirs]
    assert json.loads((tmp_path / TOKENS_FILE).read_text(encoding="utf-8")) == theirs


def test_reload_never_signals_a_stranger_named_by_a_stale_pid_file(tmp_path: Path) -> None:
    """A killed service's pid file, its pid since reused by another program."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        (state / "reminders.pid").write_text(f"{stranger.pid}\n", encoding="ascii")
        assert running_pid(state) is None
        done = subprocess.run(
            [sys.executable, "-m", "reminders", "reload", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode != 0 and "没有运行中的服务" in done.stderr
        assert stranger.poll() is None, "the stranger was signalled"
    finally:
        stranger.kill()
        stranger.wait()
