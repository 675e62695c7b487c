"""What the console's access control needs besides accounts: its secret, CSRF tokens and
a login throttle. Pure: times are arguments.

The console secret is derived from the action-link key (which instances sharing
a ledger already share), so sessions and login links made by one instance are
honoured by the others, and nothing new has to be kept or copied.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

_DOMAIN = b"reminders/console/v1"


def console_secret(action_key: bytes) -> str:
    return hmac.new(action_key, _DOMAIN, hashlib.sha256).hexdigest()


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(session: Mapping[str, object], given: object) -> bool:
    """The form's token matches the session's (constant-time); false when either is missing."""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass
class LoginThrottle:
    """Failed logins per account name and per client address within a sliding window.

    `per_name` failures for one name, or `per_address` from one address, within
    `window` seconds block further tries from that name or address until the
    oldest failure leaves the window. Kept in memory, per process.
    """

    per_name: int = 5
    per_address: int = 30
    window: float = 15 * 60
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def wait(self, name: str, address: str, now: float) -> float:
        """Seconds until a try is allowed (0: allowed now)."""
        waits = [
            self._wait(f"n:{name}", self.per_name, now),
            self._wait(f"a:{address}", self.per_address, now),
        ]
        return max(waits)

    def failed(self, name: str, address: str, now: float) -> None:
        for key in (f"n:{name}", f"a:{address}"):
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 10_000:  # bounded memory under a spray of names
            self._forget(now)

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"n:{name}", None)

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < limit:
            return 0.0
        return times[-limit] + self.window - now

    def _forget(self, now: float) -> None:
        for key in list(self._failures):
            times = self._failures[key]
            while times and times[0] <= now - self.window:
                times.popleft()
            if not times:
                del self._failures[key]
