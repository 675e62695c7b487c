"""Where `reminders` keeps its state: feed tokens, feed history, the ledger.

One rule for every command and the daemon: ``--state-dir DIR``, else
``$REMINDERS_STATE_DIR``, else systemd's ``$STATE_DIRECTORY`` (its first entry
when it lists several), else ``./var``. The directory holds secrets, so it is
created private (0700) and files in it are written 0600.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from .atomic import write_atomic
from .exceptions import ConfigError, Problem

DEFAULT_STATE_DIR = "var"
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
    """Create the directory if missing; every directory it creates is 0700."""
    try:
        for directory in [*reversed(path.parents), path]:
            if not directory.exists():
                directory.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise unusable_state_dir(path, exc) from None
    if not path.is_dir():
        raise not_a_directory(path)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Atomically replace `path` with `data`, readable by the owner only (0600)."""
    ensure_private_dir(path.parent)
    try:
        write_atomic(path, data, 0o600)
    except OSError as exc:
        raise unusable_state_dir(path.parent, exc) from None


def read_private(path: Path) -> bytes:
    """The file's bytes; a file others could read is first made owner-only (0600)."""
    if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
        os.chmod(path, 0o600)
    return path.read_bytes()
