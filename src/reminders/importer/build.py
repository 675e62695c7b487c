"""Rows → duty mappings, and the list of what needs a person's eye."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from ruamel.yaml.comments import CommentedMap

from ..core.grammar import Vocabulary, read_phrases
from .emit import duty_map
from .report import Attention
from .rows import Row, row_units


@dataclass(slots=True)
class Built:
    duties: list[CommentedMap] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    understood: int = 0
    unknown_units: list[str] = field(default_factory=list)


def build(
    rows: Sequence[Row], vocabulary: Vocabulary, known_units: Collection[str] | None
) -> Built:
    """Duty mappings in table order; `known_units` None means no units file to check."""
    out = Built()
    for row in rows:
        reading = read_phrases(row.time_limit, row.text, vocabulary)
        lead, partners = row_units(row)
        out.duties.append(duty_map(row, reading, lead, partners))

        def flag(reason: str, detail: str, row: Row = row) -> None:
            out.attention.append(Attention(row.id, reason, detail, row.line))

        for phrase in reading.not_understood:
            flag("not-understood", f"“{phrase}” in “{row.time_limit}”")
        for reason in reading.invalid:  # read, but no such date (2月30日): validate refuses it
            flag("not-understood", reason)
        unreadable = reading.not_understood or reading.invalid
        if not reading.rules and not unreadable:
            empty = "is empty" if not row.time_limit.strip() else f"says “{row.time_limit}”"
            flag(
                "no-rule", f"the time-limit cell {empty}; neither it nor the text gives a due date"
            )
        elif not row.time_limit.strip():
            found = "; ".join(f"“{r.phrase}”" for r in reading.rules if r.phrase)
            flag("no-time-limit", f"the cell is empty; read from the task text: {found}")
        for conflict in reading.conflicts:
            flag("conflict", conflict)
        if reading.rules and not unreadable:
            out.understood += 1
        if not lead:
            flag("no-unit", f"no responsible unit in “{row.units}”")
        if known_units is not None:
            for name in [*lead, *partners]:
                if name not in known_units:
                    flag("unknown-unit", name)
                    if name not in out.unknown_units:
                        out.unknown_units.append(name)
    return out
