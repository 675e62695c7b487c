"""Signed action links: a token is an HMAC over (action, expiry, occurrence id). Pure.

    token = base64url(payload) "." base64url(HMAC-SHA256(key, domain + payload)[:16])
    payload = "<action>\\n<expiry, Unix seconds>\\n<occurrence id>"  (UTF-8)

The token is the capability: whoever holds the link may take that one action
on that one occurrence until it expires. Changing any byte of the payload (another
occurrence, another action, a later expiry) or pairing a payload with another
token's signature fails the constant-time comparison. A self-check's "all done"
link signs its group id (`review/<unit>/<period>`, never an occurrence id) the
same way. `now` is an argument.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from .state import ACTIONS, Action

_DOMAIN = b"reminders/act/v1\n"
_MAC_BYTES = 16
_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,1024}\.[A-Za-z0-9_-]{22}$")
MIN_KEY_BYTES = 32

Reason = Literal["malformed", "forged", "expired"]


class TokenError(Exception):
    """Why a token was refused: malformed, forged (bad signature) or expired."""

    def __init__(self, reason: Reason, expired_at: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason: Reason = reason
        self.expired_at = expired_at


@dataclass(frozen=True, slots=True)
class Claim:
    occurrence_id: str
    action: Action
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(key: bytes, occurrence_id: str, action: Action, expires: datetime) -> str:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError("the signing key is too short")
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    seconds = int(expires.timestamp())
    payload = f"{action}\n{seconds}\n{occurrence_id}".encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def verify(key: bytes, token: str, now: datetime) -> Claim:
    """The claim of a genuine, unexpired token; TokenError otherwise."""
    if not _SHAPE.match(token):
        raise TokenError("malformed")
    head, _, tail = token.partition(".")
    try:
        payload, mac = _unb64(head), _unb64(tail)
    except (binascii.Error, ValueError):
        raise TokenError("malformed") from None
    if _b64(payload) != head or _b64(mac) != tail:  # one spelling per token
        raise TokenError("malformed")
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise TokenError("forged")
    try:
        action, seconds, occurrence_id = payload.decode("utf-8").split("\n", 2)
        expires = datetime.fromtimestamp(int(seconds), UTC)
    except (UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise TokenError("malformed") from None
    if action not in ACTIONS or not occurrence_id:
        raise TokenError("malformed")
    if now >= expires:
        raise TokenError("expired", expires)
    return Claim(occurrence_id, action, expires)
