"""A duty's rules in one line for a person: its kind, period and first deadline.

Kinds, most telling first: campaign (a window or a campaign: due at its end),
deadline, recurring (with its period), immediate, standing, as-needed, none.
A deadline without a year is given as MM-DD (in the plan year).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass

from ..core.rules import (
    AsNeededRule,
    CampaignRule,
    DeadlineRule,
    EveryRule,
    ImmediateRule,
    PeriodicRule,
    RRuleRule,
    Rule,
    StandingRule,
    WindowRule,
    spec_parts,
)

_ORDER = ("campaign", "deadline", "recurring", "immediate", "standing", "as-needed")


@dataclass(frozen=True, slots=True)
class Summary:
    kind: str
    period: str | None = None
    deadline: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "period": self.period, "deadline": self.deadline}


def _end(spec: str, year_offset: int | None = None) -> str:
    """The last day a date spec names: MM → MM-<last>, YYYY-MM → YYYY-MM-<last>."""
    year, month, day = spec_parts(spec)
    if day is None:
        probe = (year or 2023) + (year_offset or 0)  # a year without 29 February
        day = calendar.monthrange(probe, month)[1]
    text = f"{month:02d}-{day:02d}"
    return f"{year}-{text}" if year else text


def _of(rule: Rule) -> Summary | None:
    if isinstance(rule, WindowRule):
        days = (rule.window.start, rule.window.end)
        period = "week" if _days(*days) == 7 else None
        return Summary("campaign", period, _end(rule.window.end))
    if isinstance(rule, CampaignRule):
        return Summary("campaign")
    if isinstance(rule, DeadlineRule):
        return Summary("deadline", None, _end(rule.deadline, rule.year_offset))
    if isinstance(rule, EveryRule):
        return Summary("recurring", rule.every)
    if isinstance(rule, PeriodicRule | RRuleRule):
        return Summary("recurring")
    if isinstance(rule, ImmediateRule):
        return Summary("immediate")
    if isinstance(rule, StandingRule):
        return Summary("standing")
    if isinstance(rule, AsNeededRule):
        return Summary("as-needed")
    return None


def _days(first: str, last: str) -> int | None:
    y1, m1, d1 = spec_parts(first)
    y2, m2, d2 = spec_parts(last)
    if d1 is None or d2 is None or (m1, y1) != (m2, y2):
        return None
    return d2 - d1 + 1


def summarise(rules: Sequence[Rule]) -> Summary:
    found = [s for s in map(_of, rules) if s is not None]
    if not found:
        return Summary("none")
    return min(found, key=lambda s: _ORDER.index(s.kind))
