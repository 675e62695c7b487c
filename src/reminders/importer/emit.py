"""Rows → duties YAML in the shipped format, each phrase beside what it was read as."""

from __future__ import annotations

import io
from collections.abc import Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ..core.grammar import Reading
from ..core.rules import Rule, describe_rule
from .rows import Row, short_title


def describe(rule: Rule) -> str:
    """`“phrase” → rule`, for the `# 读作:` comment."""
    return f"“{rule.phrase}” → {describe_rule(rule)}" if rule.phrase else describe_rule(rule)


def duty_map(row: Row, reading: Reading, units: list[str], partners: list[str]) -> CommentedMap:
    """The duty for `row`; `reading` is what its phrases were read as (for the comment),
    `units` and `partners` its cells split (rows.row_units)."""
    duty = CommentedMap()
    duty["id"] = DoubleQuotedScalarString(row.id)
    if row.section:
        duty["section"] = row.section
    if row.measure:
        duty["measure"] = row.measure
    duty["title"] = short_title(row.text) or row.id
    duty["text"] = row.text
    duty["units"] = CommentedSeq(units)
    duty["units"].fa.set_flow_style()
    if partners:
        duty["partners"] = CommentedSeq(partners)
        duty["partners"].fa.set_flow_style()
    if row.leader:
        duty["leader"] = row.leader
    if row.time_limit is None:  # the table gives none: no key, so the duty has no occurrences
        return duty
    duty["time_limit"] = row.time_limit
    notes = [describe(rule) for rule in reading.rules]
    notes += [f"未识别: {p}" for p in reading.not_understood]
    notes += [f"冲突: {c}" for c in reading.conflicts]
    if notes:
        duty.yaml_add_eol_comment("读作: " + "; ".join(notes), "time_limit")
    return duty


def dump_duties(
    title: str,
    source_year: int | None,
    duties: Sequence[CommentedMap],
    header: str,
    plan_year: int | None = None,
) -> str:
    doc = CommentedMap()
    doc["title"] = title
    if source_year is not None:
        doc["source_year"] = source_year
    if plan_year is not None:
        doc["plan_year"] = plan_year
    doc["duties"] = CommentedSeq(duties)
    doc.yaml_set_start_comment(header)
    for i in range(1, len(duties)):
        doc["duties"].yaml_set_comment_before_after_key(i, before="\n", indent=2)
    return dump_document(doc)


def round_trip_yaml() -> YAML:
    """The one YAML setup for reading and writing duties, so a re-dump is byte-stable."""
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    return yaml


def dump_document(doc: object) -> str:
    buffer = io.StringIO()
    round_trip_yaml().dump(doc, buffer)
    return buffer.getvalue()


HEADER = """任务清单 (duties), made by `reminders import` from {source}.
Each duty: id {ids}, units (各校 = every school), the time-limit
cell verbatim, and after it the rules it was read as (a comment, rewritten
on each import). To override the reading, add a structured `schedule:` list
(see the README); re-import keeps it."""
IDS_BY_MEASURE = "<measure>.<task>"
IDS_OWN = "(the table's own numbering)"
