"""Start the real `reminders run` process for tests, with a real NOTIFY_SOCKET."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


class DaemonProcess:
    def __init__(
        self,
        config_dir: Path,
        state_dir: Path,
        *,
        now: str | None = None,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        listen: str | None = "127.0.0.1:0",
    ) -> None:
        self.listen = listen
        self.config_dir = config_dir
        self.state_dir = state_dir
        self.now = now
        self.extra_env = env or {}
        self.args = args
        self.notify_path = state_dir.parent / f"notify-{os.getpid()}-{id(self)}.sock"
        self.log_path = state_dir.parent / f"daemon-{id(self)}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.messages: list[str] = []
        self._cursor = 0

    def start(self, wait_ready: bool = True, timeout: float = 30.0) -> DaemonProcess:
        self.notify_path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.notify_path))
        self.sock.settimeout(0.2)
        env = {**os.environ, "NOTIFY_SOCKET": str(self.notify_path), **self.extra_env}
        env.pop("JOURNAL_STREAM", None)
        argv = [sys.executable, "-m", "reminders", "--config", str(self.config_dir), "run"]
        argv += ["--state-dir", str(self.state_dir), *self.args]
        if self.listen:
            argv += ["--listen", self.listen]
        if self.now:
            argv += ["--now", self.now]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=log, env=env)
        log.close()
        if wait_ready:
            self.wait_for("READY=1", timeout)
        return self

    def poll_notify(self) -> list[str]:
        assert self.sock is not None
        got = []
        while True:
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, BlockingIOError):
                break
            got.extend(data.decode().splitlines())
        self.messages.extend(got)
        return got

    def wait_for(self, line: str, timeout: float = 30.0) -> None:
        """Wait for the next notify message `line` (e.g. READY=1) not yet waited for."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll_notify()
            if line in self.messages[self._cursor :]:
                self._cursor += self.messages[self._cursor :].index(line) + 1
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited {self.proc.returncode} before {line}:\n{self.log()}"
                )
        raise AssertionError(f"no {line} within {timeout}s:\n{self.log()}")

    def woke(self) -> bool:
        """The service has finished a wake-up since READY (each ends with a STATUS= line):
        its deliveries and the weekly report owed then are done."""
        self.poll_notify()
        if "READY=1" not in self.messages:
            return False
        after = self.messages[self.messages.index("READY=1") + 1 :]
        return any(line.startswith("STATUS=") for line in after[1:])

    def wait_woke(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.woke():
            if time.monotonic() > deadline:
                raise AssertionError(f"no wake-up done within {timeout}s:\n{self.log()}")
            time.sleep(0.05)

    def wait_log(self, pattern: str, timeout: float = 30.0, after: int = 0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log()[after:])
            if match:
                return match
            time.sleep(0.05)
        raise AssertionError(f"no log line matching {pattern!r} within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return (
            self.log_path.read_text(encoding="utf-8", errors="replace")
            if self.log_path.exists()
            else ""
        )

    @property
    def port(self) -> int:
        match = re.search(r"提供 \d+ 个日历订阅 \(feeds\)：http://127\.0\.0\.1:(\d+)/", self.log())
        assert match, self.log()
        return int(match[1])

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None and "STOPPING=1" not in self.messages:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.close()
        return code

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.notify_path.unlink(missing_ok=True)


def ledger_made_at(state: Path, moment: str) -> None:
    """Make the state directory's ledger as a service started at `moment` would (local
    time, Asia/Shanghai): a weekly report whose time comes after it is owed, one whose
    time came before it is not (a first start sends no report)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from reminders.ledger import Ledger, default_url

    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    when = datetime.fromisoformat(moment).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    Ledger.open(default_url(state), now=when).close()
