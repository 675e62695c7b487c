"""Action links for messages: `<base>/act/<token>`, one per occurrence (or self-check
group) and action."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from .keys import action_key
from .signing import sign
from .state import Action

if TYPE_CHECKING:
    from ..config import Config
    from ..core.model import Settings


class ActionLinks:
    """`links(occurrence_id)` → a signed link valid for `lifetime` from the clock's now.

    Expiry is rounded up to the next UTC midnight, so one day's messages carry
    the same link for the same occurrence.
    """

    def __init__(
        self,
        key: bytes,
        base_url: str,
        lifetime: timedelta,
        clock: Callable[[], datetime],
        console: bool = False,
    ) -> None:
        self.key = key
        self.base_url = base_url.rstrip("/")
        self.lifetime = lifetime
        self.clock = clock
        self.console = console  # the web console is served: messages may point at it

    def expiry(self, now: datetime) -> datetime:
        end = (now + self.lifetime).astimezone(UTC)
        midnight = end.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight if midnight == end else midnight + timedelta(days=1)

    def __call__(self, occurrence_id: str, action: Action = "done") -> str:
        token = sign(self.key, occurrence_id, action, self.expiry(self.clock()))
        return f"{self.base_url}/act/{token}"

    def unit_page(self, unit: str | None) -> str | None:
        """The console's page of `unit` (its home page for several units, `None`), or
        None when the console is off. Not a capability: the page asks for a login."""
        if not self.console:
            return None
        if unit is None:
            return f"{self.base_url}/console/"
        return f"{self.base_url}/console/unit/{quote(unit, safe='')}"


def link_base(settings: Settings) -> str | None:
    """Where action links point: `loop.base_url`, else `feeds.base_url` (None: neither set)."""
    return settings.loop.base_url or settings.feeds.base_url


def cli_links(
    config: Config,
    state_dir: Path,
    at: datetime,
    *,
    fallback: bool,
    environ: Mapping[str, str] | None = None,
) -> ActionLinks | None:
    """The links the service would put in its messages at `at`, signed with its key (made
    in the state directory when it has none yet, as the service would). No base URL set:
    None, or with `fallback` the service's own listen address, as the service does."""
    base = link_base(config.settings)
    if base is None:
        if not fallback:
            return None
        base = f"http://{config.settings.feeds.listen}"
    key = action_key(state_dir, environ)
    days = timedelta(days=config.settings.loop.link_days)
    return ActionLinks(key, base, days, lambda: at, config.settings.console.enabled)
