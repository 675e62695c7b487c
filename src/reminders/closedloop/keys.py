"""The closed loop's two secrets: the action-link signing key and the API bearer token.

Each comes from the environment (`REMINDERS_ACTION_KEY`, `REMINDERS_API_TOKEN`;
several instances sharing one ledger must share them) or is made once in the
state directory (`loop/action.key`, `loop/api.token`, mode 0600). Made with an
exclusive link, so a CLI command and the daemon starting together agree on
one. Neither is ever logged.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from ..exceptions import ConfigError, Problem
from ..statedir import ensure_private_dir, read_private
from .signing import MIN_KEY_BYTES

KEY_ENV = "REMINDERS_ACTION_KEY"
TOKEN_ENV = "REMINDERS_API_TOKEN"
KEY_FILE = Path("loop") / "action.key"
TOKEN_FILE = Path("loop") / "api.token"
_MIN_TOKEN = 24


def _made_once(path: Path, make: Callable[[], str]) -> str:
    """The file's text; when absent, `make()` is written first (atomically, exclusively)."""
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(make() + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # fails if another process made it first: theirs wins
    finally:
        Path(tmp).unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    return read_private(path).decode("ascii").strip()


def _secret(
    state_dir: Path,
    environ: Mapping[str, str] | None,
    name: str,
    file: Path,
    what: str,
    minimum: int,
    make: Callable[[], str],
) -> str:
    """The secret from `$name`, else from `file` in the state dir (made when absent).

    Lengths are counted in UTF-8 bytes (made secrets are ASCII).
    """
    env = os.environ if environ is None else environ
    given = env.get(name)
    if given:
        if len(given.encode()) < minimum:
            raise ConfigError([Problem(f"太短：至少用 {minimum} 个随机字符", name)])
        return given
    path = state_dir / file
    text = _made_once(path, make)
    if len(text) < minimum:
        raise ConfigError([Problem(f"{what}文件已损坏：删除它，会重新生成", str(path))])
    return text


def action_key(state_dir: Path, environ: Mapping[str, str] | None = None) -> bytes:
    make = functools.partial(secrets.token_hex, 32)
    key = _secret(state_dir, environ, KEY_ENV, KEY_FILE, "链接签名密钥", MIN_KEY_BYTES, make)
    return key.encode()


def api_token(state_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    make = functools.partial(secrets.token_urlsafe, 32)
    return _secret(state_dir, environ, TOKEN_ENV, TOKEN_FILE, "API 令牌", _MIN_TOKEN, make)
