"""Reading a file a user hands us: a regular file, within a size limit, or a clear error.

Config files, credentials, key and token files (and import tables) go through
`read_user_file`. A FIFO would block the reader forever and `/dev/zero` or
`/dev/urandom` never end, so the file is opened without blocking, checked to be a
regular file on the open descriptor (a symlink counts as what it points to, so
there is no window between the check and the read), and read no further than the
limit.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .exceptions import ConfigError, Problem

_KINDS = (
    (stat.S_ISDIR, "一个目录 (directory)"),
    (stat.S_ISFIFO, "一个命名管道 (FIFO)"),
    (stat.S_ISCHR, "一个字符设备 (character device)"),
    (stat.S_ISBLK, "一个块设备 (block device)"),
    (stat.S_ISSOCK, "一个套接字 (socket)"),
)


def size_text(count: int) -> str:
    """1048576 -> '1 MiB', 65536 -> '64 KiB'."""
    for unit, size in (("MiB", 2**20), ("KiB", 2**10)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} 字节 (bytes)"


def read_user_file(
    path: Path, limit: int, what: str = "文件", *, missing_ok: bool = False
) -> bytes:
    """The bytes of `path`; ConfigError naming the file when it is not a regular file,
    is larger than `limit` bytes, or cannot be read. `what` names it in messages
    (e.g. "配置文件", "凭据文件"). `missing_ok`: a missing file raises
    FileNotFoundError, for callers that make the file when it is absent."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if missing_ok:
            raise
        raise _unreadable(path, what, FileNotFoundError(errno.ENOENT, "")) from None
    except OSError as exc:
        raise _unreadable(path, what, exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "特殊文件")
            raise ConfigError(
                [Problem(f"{what}不是普通文件 (regular file)，而是{kind}", str(path))]
            )
        if info.st_size > limit:
            raise _too_large(path, what, limit)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(limit + 1 - total, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while we read
            raise _too_large(path, what, limit)
        return b"".join(chunks)
    except OSError as exc:
        raise _unreadable(path, what, exc) from None
    finally:
        os.close(fd)


def _too_large(path: Path, what: str, limit: int) -> ConfigError:
    return ConfigError([Problem(f"{what}超过 {size_text(limit)} 上限 (too large)", str(path))])


def _unreadable(path: Path, what: str, exc: OSError) -> ConfigError:
    if exc.errno == errno.ENOENT:
        reason = "不存在 (not found)"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        reason = "无权读取 (permission denied)"
    elif exc.errno == errno.ELOOP:
        reason = "符号链接循环 (symlink loop)"
    else:
        reason = f"无法读取 (cannot read): {exc.strerror}"
    return ConfigError([Problem(f"{what}{reason}", str(path))])
