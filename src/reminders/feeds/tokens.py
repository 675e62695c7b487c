"""Feed tokens: one unguessable secret per feed, made once, kept in the state dir.

A token is 192 random bits (URL-safe base64). Tokens live only in
``<state>/feeds/tokens.json`` (mode 0600) and in the URLs that `reminders feeds
urls` prints; they are never logged. Deleting a feed's entry revokes its URL
(the next feed build, which reads this file each time, makes a new token).
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

from ..exceptions import ConfigError, Problem
from ..limits import STATE_FILE_MAX_BYTES
from ..statedir import ensure_private_dir, read_private, write_private
from ..statelock import exclusive

TOKENS_FILE = Path("feeds") / "tokens.json"
TOKEN_BYTES = 24
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22,128}$")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def same_token(given: str, expected: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(given.encode(), expected.encode())


def load_tokens(state_dir: Path, keys: Iterable[str]) -> dict[str, str]:
    """The token of every feed key, making (and saving) any that are missing."""
    path = state_dir / TOKENS_FILE
    wanted = list(keys)
    tokens = _read_tokens(path)
    if any(key not in tokens for key in wanted):
        # `feeds urls` may add tokens while the service does: read again under a lock
        # on the folder, so that neither overwrites the tokens the other just made.
        with exclusive(ensure_private_dir(path.parent)):
            tokens = _read_tokens(path)
            missing = [key for key in wanted if key not in tokens]
            for key in missing:
                tokens[key] = new_token()
            if missing:
                text = json.dumps(tokens, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
                write_private(path, text.encode())
    return {key: tokens[key] for key in wanted}


def _read_tokens(path: Path) -> dict[str, str]:
    try:
        raw = read_private(path, STATE_FILE_MAX_BYTES)
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not a mapping")
        tokens = {str(k): str(v) for k, v in data.items()}
    except ValueError as exc:
        raise ConfigError(
            [Problem(f"订阅令牌文件已损坏（{exc}）：修好或删除它", str(path))]
        ) from None
    bad = [key for key, token in tokens.items() if not TOKEN_PATTERN.match(token)]
    if bad:
        raise ConfigError(
            [Problem("订阅令牌太短或格式不对：删除这一项", str(path), value=k) for k in bad]
        )
    return tokens
