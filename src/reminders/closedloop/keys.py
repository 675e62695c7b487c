"""The closed loop's two secrets: the action-link signing key and the API bearer token.

Each comes from the environment (`REMINDERS_ACTION_KEY`, `REMINDERS_API_TOKEN`;
several instances sharing one ledger must share them) or is made once in the
state directory (`loop/action.key`, `loop/api.token`, mode 0600). Made with an
exclusive link, so a CLI command and the daemon starting together agree on
one. Neither is ever logged.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..exceptions import ConfigError, Problem
from ..statedir import ensure_private_dir
from .signing import MIN_KEY_BYTES

KEY_ENV = "REMINDERS_ACTION_KEY"
TOKEN_ENV = "REMINDERS_API_TOKEN"
KEY_FILE = Path("loop") / "action.key"
TOKEN_FILE = Path("loop") / "api.token"
_MIN_TOKEN = 24


def _made_once(path: Path, make: str) -> str:
    """The file's text; when absent, `make` is written first (atomically, exclusively)."""
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(make + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # fails if another process made it first: theirs wins
    finally:
        Path(tmp).unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
        os.chmod(path, 0o600)
    return path.read_text(encoding="ascii").strip()


def action_key(state_dir: Path, environ: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if environ is None else environ
    given = env.get(KEY_ENV)
    if given:
        key = given.encode()
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(
                [Problem(f"too short: use at least {MIN_KEY_BYTES} random characters", KEY_ENV)]
            )
        return key
    path = state_dir / KEY_FILE
    text = _made_once(path, secrets.token_hex(32))
    if len(text) < MIN_KEY_BYTES:
        raise ConfigError(
            [Problem("action key file damaged: delete it to make a new one", str(path))]
        )
    return text.encode()


def api_token(state_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    given = env.get(TOKEN_ENV)
    if given:
        if len(given) < _MIN_TOKEN:
            raise ConfigError(
                [Problem(f"too short: use at least {_MIN_TOKEN} random characters", TOKEN_ENV)]
            )
        return given
    path = state_dir / TOKEN_FILE
    text = _made_once(path, secrets.token_urlsafe(32))
    if len(text) < _MIN_TOKEN:
        raise ConfigError(
            [Problem("API token file damaged: delete it to make a new one", str(path))]
        )
    return text
