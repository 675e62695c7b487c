"""A task table's rows, whatever file they came from, and their units split."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .words import NAME_MAX, is_org, person_like

_CUT_AFTER_ORG = re.compile(r"等|按职责|按照职责|分别|共同|负责落实|落实")
_JOINERS = ("会同", "及", "和", "与", "会")
_SEPARATORS = frozenset("、，,；;/ \t\n\r\u3000")
# a name typed with ASCII brackets (as stored web copies have it) is the same unit
_FULL_BRACKETS = str.maketrans("()", "（）")


def squash(text: str) -> str:
    """Join a cell's lines into one, dropping the breaks that extraction put in."""
    lines = [line.strip() for line in text.splitlines()]
    return " ".join(line for line in lines if line)


def join_broken(text: str) -> str:
    """Join a heading broken over lines: CJK text needs no space at the break."""
    return "".join(line.strip() for line in text.splitlines() if line.strip())


@dataclass(slots=True)
class Row:
    """One task with its cells as found (the source line for messages).

    `time_limit` is None when the source gives the task no time limit at all (no
    such column, no time line), and "" when its cell is empty. `key` is the id
    when the table is not numbered <measure>.<task>; `notes` say how a value was
    inferred (a blank cell read as merged, units from the sentence, …)."""

    section: str
    measure: str
    measure_no: int
    task_no: int
    text: str
    units: str
    time_limit: str | None
    partners: str = ""
    line: int | None = None
    key: str = ""
    leader: str = ""
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.key or f"{self.measure_no}.{self.task_no}"


def _tokens(cell: str) -> list[str]:
    """Split on 、，,；; / and spaces outside brackets (乡镇（街道、园区） stays whole)."""
    found: list[str] = []
    depth = 0
    current: list[str] = []
    for char in cell:
        if char in "（(":
            depth += 1
        elif char in "）)":
            depth = max(0, depth - 1)
        if depth == 0 and char in _SEPARATORS:
            found.append("".join(current))
            current = []
        else:
            current.append(char)
    found.append("".join(current))
    return [t.strip() for t in found if t.strip()]


def _trim(name: str) -> str:
    """基层处等按职责分工落实 → 基层处: what follows a unit name is not part of it."""
    for m in _CUT_AFTER_ORG.finditer(name):
        if m.start() > NAME_MAX:  # names are short: look no further (linear on any cell)
            break
        if m.start() and is_org(name[: m.start()]):
            return name[: m.start()]
    return name


def _split_joined(name: str) -> list[tuple[str, bool]]:
    """宣传处会办公室 → [(宣传处, lead), (办公室, partner)]; 各校及县第一中学 → both
    kept as they are; 中省驻安及市直 (not two names) stays whole."""
    for joiner in _JOINERS:
        left, sep, right = name.partition(joiner)
        if sep and is_org(left) and is_org(right):
            together = joiner in ("会同", "会")
            return [(left, False), *((n, together or p) for n, p in _split_joined(right))]
    return [(name, False)]


def split_units(cell: str) -> tuple[list[str], list[str]]:
    """Units in a cell, split on 、，,；; / spaces and between two names joined by 及/和/与;
    '牵头' / '配合' marks (办公室牵头，各科室配合) and 会同 put a name in units or partners."""
    lead: list[str] = []
    partners: list[str] = []
    for token in _tokens(cell.strip().rstrip("。.")):
        partner = any(mark in token for mark in ("配合", "协办", "协助", "参与"))
        name = re.sub(r"[（(](?:牵头|配合|负责|协办)[）)]|牵头|配合|协办|协助|参与", "", token)
        for part, joined in _split_joined(_trim(name.strip())):
            part = _trim(part.strip()).translate(_FULL_BRACKETS)
            target = partners if partner or joined else lead
            if part and part not in target:
                target.append(part)
    return lead, partners


def split_person(cell: str) -> tuple[str, str]:
    """责任单位及责任人: 呈贡县政府主要领导 → ('呈贡县政府', '主要领导'): each name that is a
    unit followed by a person or role gives the unit to the units, the rest to the leader."""
    units: list[str] = []
    people: list[str] = []
    for token in _tokens(cell):
        token = token.translate(_FULL_BRACKETS)
        if is_org(token):
            units.append(token)
            continue
        for end in range(2, min(len(token), NAME_MAX + 1)):
            if is_org(token[:end]) and person_like(token[end:]):
                units.append(token[:end])
                people.append(token[end:])
                break
        else:
            people.append(token)
    return "、".join(units), " ".join(people)


def row_units(row: Row) -> tuple[list[str], list[str]]:
    """(responsible units, partners): the units cell split, plus the partners column."""
    lead, partners = split_units(row.units)
    extra = split_units(row.partners)[0] if row.partners else []
    return lead, partners + [p for p in extra if p not in partners]


def short_title(text: str, limit: int = 30) -> str:
    """The first sentence of the task text, cut at a clause boundary if long."""
    flat = re.sub(r"\s+", " ", text).strip()
    first = re.split(r"[。；;]", flat, maxsplit=1)[0].strip() or flat
    if len(first) <= limit:
        return first
    cut = max(first.rfind("，", 0, limit), first.rfind(",", 0, limit))
    return first[:cut] if cut >= limit // 2 else first[: limit - 1] + "…"
