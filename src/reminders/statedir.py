"""Where `reminders` keeps its state: feed tokens, feed history, the ledger.

One rule for every command and the daemon: ``--state-dir DIR``, else
``$REMINDERS_STATE_DIR``, else systemd's ``$STATE_DIRECTORY`` (its first entry
when it lists several), else ``./var``. The directory holds secrets, so it is
created private (0700) and files in it are written 0600, whatever the umask:
whole files through `write_private`, files another program writes into (SQLite's
database, its -wal and -shm) made with `private_file` first. A state directory
that others can read is made private, with a warning, the first time a command
uses it.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from .atomic import write_atomic
from .exceptions import ConfigError, Problem
from .limits import SECRET_FILE_MAX_BYTES
from .userfiles import read_user_file

log = logging.getLogger("reminders.state")

DEFAULT_STATE_DIR = "var"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
HINT = "用 --state-dir DIR 或环境变量 REMINDERS_STATE_DIR 指定一个可写的状态目录"


def unusable_state_dir(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        [Problem(f"状态目录不可用 (state directory)：{exc.strerror}；{HINT}", str(path))]
    )


def not_a_directory(path: Path) -> ConfigError:
    return ConfigError([Problem(f"状态目录 (state directory) 不是目录；{HINT}", str(path))])


def check_state_dir(path: Path) -> ConfigError | None:
    """What `ensure_private_dir` would fail with, found without creating anything: the
    directory (or, when it does not exist yet, the nearest parent that does) must be
    a directory this user can write into."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return not_a_directory(path)
    if not os.access(existing, os.W_OK | os.X_OK):
        return unusable_state_dir(path, PermissionError(errno.EACCES, os.strerror(errno.EACCES)))
    return None


def find_state_dir(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """--state-dir DIR, else $REMINDERS_STATE_DIR, else $STATE_DIRECTORY, else ./var."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get("REMINDERS_STATE_DIR"):
        return Path(env["REMINDERS_STATE_DIR"])
    systemd = env.get("STATE_DIRECTORY", "")
    first = systemd.split(":")[0]
    return Path(first or DEFAULT_STATE_DIR)


def ensure_private_dir(path: Path) -> Path:
    """Create the directory if missing; every directory it creates is 0700. An existing
    one that others may read or enter is made 0700, with a warning."""
    try:
        for directory in [*reversed(path.parents), path]:
            if not directory.exists():
                directory.mkdir(mode=PRIVATE_DIR, exist_ok=True)
                os.chmod(directory, PRIVATE_DIR)  # the umask may have taken more away
    except OSError as exc:
        raise unusable_state_dir(path, exc) from None
    if not path.is_dir():
        raise not_a_directory(path)
    _make_private(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Make `path` exist as an owner-only (0600) file, whatever the umask, without
    touching its content; an existing file that others can read is made 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    except FileExistsError:
        _make_private(path, PRIVATE_FILE)
        return path
    except OSError as exc:
        raise unusable_state_dir(path.parent, exc) from None
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def _make_private(path: Path, mode: int) -> None:
    """Take group and other permissions away (warned about); a file we may not
    change is left as it is, with the warning."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    if not current & 0o077:
        return
    try:
        os.chmod(path, mode)
        log.warning(
            "%s 的权限是 %04o，其他用户可读；已改为 %04o (made private)", path, current, mode
        )
    except OSError as exc:
        log.warning(
            "%s 的权限是 %04o，其他用户可读；无法修改 (%s)：请执行 chmod %o %s",
            path,
            current,
            exc.strerror,
            mode,
            path,
        )


def write_private(path: Path, data: bytes) -> None:
    """Atomically replace `path` with `data`, readable by the owner only (0600)."""
    ensure_private_dir(path.parent)
    try:
        write_atomic(path, data, 0o600)
    except OSError as exc:
        raise unusable_state_dir(path.parent, exc) from None


def read_private(path: Path, limit: int = SECRET_FILE_MAX_BYTES) -> bytes:
    """The file's bytes (a regular file of at most `limit` bytes, else ConfigError;
    FileNotFoundError when missing); a file others could read is first made
    owner-only (0600)."""
    _make_private(path, PRIVATE_FILE)  # a missing file: nothing to do, the read says so
    return read_user_file(path, limit, missing_ok=True)
