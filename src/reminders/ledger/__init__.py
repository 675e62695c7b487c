"""The durable delivery ledger (SQLAlchemy Core; SQLite by default)."""

from .schema import LATEST, STATUSES
from .store import Entry, Ledger, Message, Progress, Row, default_url

__all__ = [
    "LATEST",
    "STATUSES",
    "Entry",
    "Ledger",
    "Message",
    "Progress",
    "Row",
    "default_url",
]
