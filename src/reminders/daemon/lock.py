"""One daemon per state directory: an exclusive lock plus a pid file for `reload`."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ..exceptions import RemindersError

PID_FILE = "reminders.pid"


class StateLock:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._fd: int | None = None

    def __enter__(self) -> StateLock:
        path = self.state_dir / "reminders.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RemindersError(
                f"another `reminders run` is using the state directory {self.state_dir}"
            ) from None
        self._fd = fd
        pid = self.state_dir / PID_FILE
        pid.write_text(f"{os.getpid()}\n", encoding="ascii")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        (self.state_dir / PID_FILE).unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def running_pid(state_dir: Path) -> int | None:
    """The pid of the daemon holding `state_dir`, if one does."""
    try:
        pid = int((state_dir / PID_FILE).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid
