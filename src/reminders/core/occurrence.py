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

# How each kind is named to users (agenda, feeds, messages).
KIND_LABELS: dict[str, str] = {
    "deadline": "限期完成",
    "recurring": "周期任务",
    "standing-review": "长期坚持自查",
    "campaign": "专项行动",
    "as-needed-review": "及时事项复核",
    "immediate": "立即",
    "observance": "主题活动",
}


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
    tracked: bool = True  # False: due before the plan's track_from (history, 未跟踪)
    plan: str | None = None  # its plan's key, when the config has several plans

    def as_json(self) -> dict[str, object]:
        plan = {"plan": self.plan} if self.plan is not None else {}
        return {
            **plan,
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
            "tracked": self.tracked,
        }


def occurrence_id(duty: str, unit: str, period: str) -> str:
    return f"{duty}/{unit}/{period}"


def split_occurrence_id(occurrence_id: str) -> tuple[str, str, str] | None:
    """'4.5/教育局/2026-09' → ('4.5', '教育局', '2026-09'); None when malformed."""
    duty, sep, rest = occurrence_id.partition("/")
    unit, sep2, period = rest.rpartition("/")
    if not (sep and sep2 and duty and unit and period):
        return None
    return duty, unit, period


def unit_of_id(identifier: str) -> str | None:
    """The unit an occurrence id or self-check id names; None when it is neither."""
    review = split_review_group(identifier)
    if review is not None:
        return review[0]
    parts = split_occurrence_id(identifier)
    return parts[1] if parts is not None else None


def review_group(occurrence: Occurrence) -> str | None:
    """Standing duties are reviewed together, one self-check per unit and period
    (DESIGN §3): the id that digest and feed event share, or None for other kinds."""
    if occurrence.kind != "standing-review":
        return None
    return review_group_id(occurrence.unit, occurrence.period)


_REVIEW_PREFIX = "review/"


def review_group_id(unit: str, period: str) -> str:
    # Duty ids are digits and dots, so `review/…` never names an occurrence.
    return f"{_REVIEW_PREFIX}{unit}/{period}"


def is_review_group(identifier: str) -> bool:
    return identifier.startswith(_REVIEW_PREFIX)


def split_review_group(group_id: str) -> tuple[str, str] | None:
    """'review/教育局/review-2026-Q4' → ('教育局', 'review-2026-Q4'); None for any other id."""
    if not is_review_group(group_id):
        return None
    unit, sep, period = group_id[len(_REVIEW_PREFIX) :].rpartition("/")
    if not (sep and unit and period):
        return None
    return unit, period
