"""One dated instance of a duty for one unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Kind = Literal[
    "deadline",
    "recurring",
    "standing-review",
    "campaign",
    "as-needed-review",
    "immediate",
    "observance",
]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Identity is (duty, unit, period): `id` never changes when the due date moves."""

    id: str
    duty: str
    unit: str
    title: str
    label: str
    due: date
    start: date | None
    kind: Kind
    provisional: bool
    source: str
    period: str

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "duty": self.duty,
            "unit": self.unit,
            "title": self.title,
            "label": self.label,
            "due": self.due.isoformat(),
            "start": self.start.isoformat() if self.start else None,
            "kind": self.kind,
            "provisional": self.provisional,
            "source": self.source,
            "period": self.period,
        }
