"""The daemon's clock: real time, or real time shifted to a given start (tests).

`--now` exists so tests can put a service three days in the future without
waiting: time still advances, from the given instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Clock:
    zone: ZoneInfo
    offset: timedelta = timedelta(0)

    @classmethod
    def starting_at(cls, zone: ZoneInfo, start: datetime | None) -> Clock:
        if start is None:
            return cls(zone)
        if start.tzinfo is None:
            start = start.replace(tzinfo=zone)
        return cls(zone, start - datetime.now(zone))

    def now(self) -> datetime:
        return datetime.now(self.zone) + self.offset

    def to_real(self, when: datetime) -> datetime:
        """The wall-clock instant at which this clock will read `when`."""
        return when - self.offset
