"""Rows → duty mappings, what each was read as, and what needs a person's eye."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap

from ..core.grammar import Vocabulary, read_phrases
from ..core.rules import describe_rule
from .emit import duty_map
from .report import Attention
from .rows import Row, row_units
from .summary import summarise
from .words import is_group

TEXT_START = 30  # characters of a task's text shown in the JSON report


@dataclass(slots=True)
class Built:
    duties: list[CommentedMap] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    understood: int = 0
    unknown_units: list[str] = field(default_factory=list)
    readings: list[dict[str, Any]] = field(default_factory=list)


_NOTE_DETAIL = {
    "inherited": "空白单元格读作与上一行合并 (a blank cell read as merged with the one above)",
    "units-from-text": "表中无责任单位，取自句子主语 (no units given; read from the sentence)",
    "next-year": "学年行事历：九月前的月份在下一年 (school year: a month before September)",
}


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

        cell = (row.time_limit or "").strip()
        for phrase in reading.not_understood:
            flag("not-understood", f"“{phrase}”，时限栏为“{row.time_limit}”")
        for reason in reading.invalid:  # read, but no such date (2月30日): validate refuses it
            flag("not-understood", reason)
        unreadable = reading.not_understood or reading.invalid
        none_why: str | None = None
        if not reading.rules and not unreadable:
            if row.time_limit is None:
                none_why = "无时限 (no time limit in the table or the text): 不会提醒 no reminders"
                flag("no-schedule", none_why)
            else:
                empty = "为空" if not cell else f"为“{row.time_limit}”"
                none_why = f"时限栏{empty}，时限栏和任务内容都没有给出到期日 (no due date)"
                flag("no-rule", none_why)
        elif not cell:
            found = "; ".join(f"“{r.phrase}”" for r in reading.rules if r.phrase)
            where = "时限栏为空" if row.time_limit is not None else "没有时限栏"
            flag("no-time-limit", f"{where}；从任务内容读出 (read from the text)：{found}")
        for conflict in reading.conflicts:
            flag("conflict", conflict)
        if reading.rules and not unreadable:
            out.understood += 1
        if not lead:
            detail = f"“{row.units}”中读不出单位名称" if row.units.strip() else "责任单位栏为空"
            flag("no-unit", detail)
        for reason, detail in row.notes:
            flag(reason, f"{_NOTE_DETAIL.get(reason, reason)}: {detail}")
        if known_units is not None:
            for name in [*lead, *partners]:
                if name not in known_units:
                    kind = "组 group" if is_group(name) else "单位 unit"
                    flag("unknown-unit", f"{name}（{kind}）")
                    if name not in out.unknown_units:
                        out.unknown_units.append(name)
        out.readings.append(
            {
                "id": row.id,
                "line": row.line,
                "text": row.text[:TEXT_START],
                "section": row.section or None,
                "units": lead,
                "partners": partners,
                "leader": row.leader or None,
                "time_limit": row.time_limit,
                "rules": [{"phrase": r.phrase, "rule": describe_rule(r)} for r in reading.rules],
                "reading": summarise(reading.rules).as_json(),
                "not_understood": list(reading.not_understood) + list(reading.invalid),
                "why_none": none_why,
            }
        )
    return out
