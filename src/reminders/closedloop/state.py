"""An occurrence's state in the closed loop (闭环): open, done or waived, and its history.

Pure data. The transitions are few: `done` and `waive` close an occurrence,
`undo` opens it again. Repeating the action that led to the current state
changes nothing (a replayed confirm is harmless).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

State = Literal["open", "done", "waived"]
Action = Literal["done", "undo", "waive"]

ACTIONS: tuple[Action, ...] = ("done", "undo", "waive")
TARGET: dict[Action, State] = {"done": "done", "undo": "open", "waive": "waived"}
STATE_LABELS: dict[str, str] = {"open": "未完成", "done": "已完成", "waived": "已免除"}
ACTION_LABELS: dict[str, str] = {"done": "标记完成", "undo": "撤销", "waive": "免除"}


@dataclass(frozen=True, slots=True)
class Closure:
    """The current state of one occurrence (an occurrence never touched is open)."""

    occurrence_id: str
    unit: str
    state: State
    by: str | None
    note: str | None
    evidence: str | None
    changed_at: datetime
    revision: int

    @property
    def closed(self) -> bool:
        return self.state != "open"

    def as_json(self) -> dict[str, object]:
        return {
            "occurrence": self.occurrence_id,
            "unit": self.unit,
            "state": self.state,
            "by": self.by,
            "note": self.note,
            "evidence": self.evidence,
            "changed_at": self.changed_at.isoformat(),
            "revision": self.revision,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """One line of an occurrence's history: who did what, when, and what it changed."""

    id: int
    occurrence_id: str
    unit: str
    action: Action
    before: State
    after: State
    by: str | None
    note: str | None
    evidence: str | None
    via: str
    at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "occurrence": self.occurrence_id,
            "unit": self.unit,
            "action": self.action,
            "before": self.before,
            "after": self.after,
            "by": self.by,
            "note": self.note,
            "evidence": self.evidence,
            "via": self.via,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action did: `changed` is False when the occurrence was already in that state."""

    closure: Closure
    changed: bool


def feed_marks(closures: dict[str, Closure]) -> dict[str, tuple[State, str]]:
    """occurrence id → (state, note) of the closed ones, as the feeds want them."""
    out: dict[str, tuple[State, str]] = {}
    for occurrence_id, closure in closures.items():
        if closure.closed:
            who = closure.by or ""
            note = " ".join(p for p in (who, closure.note or "") if p)
            out[occurrence_id] = (closure.state, note)
    return out
