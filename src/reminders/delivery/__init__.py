"""Reminder delivery: the pure reminder plan, rendering, and the sender with its ledger.

The daemon keeps one `Deliverer` (so rate limits hold across runs) and calls its
`deliver_due(plan, now, completions)` at each instant `next_wakeup(plan, completions,
now)` returns.
"""

from .plan import (
    Delivery,
    Reminder,
    deliveries,
    due_at,
    in_window,
    next_due_instant,
    next_opening,
    reminders_between,
    reminders_for,
)
from .render import RenderedPart, Renderer
from .sender import ChannelOutcome, Deliverer, DeliveryReport
from .setup import (
    channels_from_config,
    deliverer_from_config,
    existing_ledger,
    ledger_url,
    open_ledger,
)

__all__ = [
    "ChannelOutcome",
    "Deliverer",
    "Delivery",
    "DeliveryReport",
    "Reminder",
    "RenderedPart",
    "Renderer",
    "channels_from_config",
    "deliverer_from_config",
    "deliveries",
    "due_at",
    "existing_ledger",
    "in_window",
    "ledger_url",
    "next_due_instant",
    "next_opening",
    "open_ledger",
    "reminders_between",
    "reminders_for",
]
