"""Action links for messages: `<base>/act/<token>`, one per occurrence (or self-check
group) and action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .signing import sign
from .state import Action


class ActionLinks:
    """`links(occurrence_id)` → a signed link valid for `lifetime` from the clock's now.

    Expiry is rounded up to the next UTC midnight, so one day's messages carry
    the same link for the same occurrence.
    """

    def __init__(
        self, key: bytes, base_url: str, lifetime: timedelta, clock: Callable[[], datetime]
    ) -> None:
        self.key = key
        self.base_url = base_url.rstrip("/")
        self.lifetime = lifetime
        self.clock = clock

    def expiry(self, now: datetime) -> datetime:
        end = (now + self.lifetime).astimezone(UTC)
        midnight = end.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight if midnight == end else midnight + timedelta(days=1)

    def __call__(self, occurrence_id: str, action: Action = "done") -> str:
        token = sign(self.key, occurrence_id, action, self.expiry(self.clock()))
        return f"{self.base_url}/act/{token}"
