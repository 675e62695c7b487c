"""One process at a time owns a state directory; the service leaves its pid.

`reminders run`, `feeds build` and `feeds serve` each save the feed history, so
each holds an exclusive lock on ``<state>/reminders.lock`` for its whole run.
Only the service writes ``<state>/reminders.pid``: the process `reminders
reload` signals and that `reminders done` says will pick a change up.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from .exceptions import ConfigError, Problem, RemindersError
from .statedir import ensure_private_dir, unusable_state_dir, write_private

LOCK_FILE = "reminders.lock"
PID_FILE = "reminders.pid"


class StateDirBusy(RemindersError):
    """Another process holds the state directory; `pid` is the service's when it is one."""

    def __init__(self, state_dir: Path, pid: int | None, advice: str = "") -> None:
        if pid is not None:
            message = f"另一个 `reminders run` 正在使用该状态目录（进程 {pid}）"
        else:
            message = (
                "另一个 reminders 进程（`reminders run` 或 `reminders feeds build|serve`）"
                "正在使用该状态目录"
            )
        super().__init__([Problem(message + (f"；{advice}" if advice else ""), str(state_dir))])
        self.state_dir = state_dir
        self.pid = pid


class StateLock:
    """Hold `state_dir` exclusively: `with StateLock(state_dir): ...`, or acquire/release.

    `service`: the holder is `reminders run`, so it writes the pid file; any other
    holder removes a pid file it finds, which a killed service left behind.
    """

    def __init__(self, state_dir: Path, *, service: bool = True) -> None:
        self.state_dir = state_dir
        self.service = service
        self._fd: int | None = None

    def acquire(self) -> StateLock:
        ensure_private_dir(self.state_dir)
        try:
            fd = os.open(self.state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise unusable_state_dir(self.state_dir, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateDirBusy(self.state_dir, running_pid(self.state_dir)) from None
        self._fd = fd
        pid_file = self.state_dir / PID_FILE
        try:
            if self.service:
                write_private(pid_file, f"{os.getpid()}\n".encode("ascii"))  # 0600
            else:
                _remove(pid_file, self.state_dir)
        except ConfigError:
            self.release()
            raise
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        (self.state_dir / PID_FILE).unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> StateLock:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _remove(path: Path, state_dir: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise unusable_state_dir(state_dir, exc) from None


def running_pid(state_dir: Path) -> int | None:
    """The pid of the service holding `state_dir`, if one does. A pid file a killed
    service left behind may name a process that has nothing to do with us since
    (pids are reused): only the process that holds the lock counts, so `reminders
    reload` never signals a stranger."""
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
    return pid if _holds_lock(pid, state_dir / LOCK_FILE) else None


def _holds_lock(pid: int, lock: Path) -> bool:
    """Whether `pid` holds the flock on `lock` (Linux: /proc/locks); True where the
    system cannot tell."""
    try:
        table = Path("/proc/locks").read_text(encoding="ascii")
    except OSError:
        return True
    try:
        inode = str(lock.stat().st_ino)
    except OSError:
        return False  # no lock file: nobody holds it
    for line in table.splitlines():
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
        fields = line.split()
        if (
            len(fields) > 5
            and fields[1] == "FLOCK"
            and fields[4] == str(pid)
            and fields[5].rsplit(":", 1)[-1] == inode
        ):
            return True
    return False


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Wait for an exclusive lock on an existing file or directory, for a short section."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
