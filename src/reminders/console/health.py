"""The robots' health as the ledger records it: per channel, what was sent, what is
failing (will be retried) and what is dead (given up), the last success and the last
error, over the deliveries of the last `DAYS` days."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from ..ledger.schema import deliveries
from ..ledger.store import reading

DAYS = 30


@dataclass(slots=True)
class ChannelHealth:
    channel: str
    sent: int = 0
    failed: int = 0
    dead: int = 0
    last_sent: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.dead


def channel_health(engine: Engine, channels: Iterable[str], now: datetime) -> list[ChannelHealth]:
    """One entry per channel named in the config, plus any other the ledger has seen."""
    since = now - timedelta(days=DAYS)
    found = {name: ChannelHealth(name) for name in channels}
    counts = (
        select(deliveries.c.channel, deliveries.c.status, func.count())
        .where(deliveries.c.updated_at >= since)
        .group_by(deliveries.c.channel, deliveries.c.status)
    )
    last_sent = select(deliveries.c.channel, func.max(deliveries.c.sent_at)).group_by(
        deliveries.c.channel
    )
    failing = deliveries.c.status.in_(("failed", "dead"))
    latest = (
        select(deliveries.c.channel, func.max(deliveries.c.updated_at).label("at"))
        .where(failing, deliveries.c.updated_at >= since)
        .group_by(deliveries.c.channel)
        .subquery()
    )
    errors = (
        select(deliveries.c.channel, deliveries.c.last_error, deliveries.c.updated_at)
        .join(
            latest,
            (latest.c.channel == deliveries.c.channel) & (latest.c.at == deliveries.c.updated_at),
        )
        .where(failing)
    )
    with reading(engine) as conn:
        for channel, state, count in conn.execute(counts):
            health = found.setdefault(channel, ChannelHealth(channel))
            if state in ("sent", "failed", "dead"):
                setattr(health, state, count)
        for channel, moment in conn.execute(last_sent):
            if moment is not None:
                found.setdefault(channel, ChannelHealth(channel)).last_sent = moment
        for channel, error, moment in conn.execute(errors):
            health = found.setdefault(channel, ChannelHealth(channel))
            health.last_error, health.last_error_at = error, moment
    return sorted(found.values(), key=lambda h: (h.ok, h.channel))
