"""A task table's rows, whatever file they came from, and the duties they become."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.grammar import cn_number

SECTION = re.compile(r"^\s*([一二三四五六七八九十]+)、")
MEASURE = re.compile(r"（([一二三四五六七八九十]+)）")
TASK = re.compile(r"^\s*(\d{1,3})\s*[.．、]\s*")
_UNIT_SPLIT = re.compile(r"[、，,；;/\s]+|及")
_CN_INT = re.compile(r"[一二三四五六七八九]|[一二三四五六七八九]?十[一二三四五六七八九]?")


def cn_int(text: str) -> int:
    """一 … 九十九; ValueError for anything else (一一, 十十)."""
    if not _CN_INT.fullmatch(text):
        raise ValueError(f"not a Chinese numeral: {text}")
    return cn_number(text)


def squash(text: str) -> str:
    """Join a cell's lines into one, dropping the breaks that extraction put in."""
    lines = [line.strip() for line in text.splitlines()]
    return " ".join(line for line in lines if line)


def join_broken(text: str) -> str:
    """Join a heading broken over lines: CJK text needs no space at the break."""
    return "".join(line.strip() for line in text.splitlines() if line.strip())


@dataclass(slots=True)
class Row:
    """One task row with its cells as found (the source line for messages)."""

    section: str
    measure: str
    measure_no: int
    task_no: int
    text: str
    units: str
    time_limit: str
    partners: str = ""
    line: int | None = None

    @property
    def id(self) -> str:
        return f"{self.measure_no}.{self.task_no}"


def split_units(cell: str) -> tuple[list[str], list[str]]:
    """Units in a cell, split on 、，, and 及; '（牵头）' / '（配合）' marks kept apart."""
    lead: list[str] = []
    partners: list[str] = []
    for token in _UNIT_SPLIT.split(cell.strip().rstrip("。.")):
        token = token.strip()
        if not token:
            continue
        target = lead
        if "配合" in token:
            target = partners
        name = re.sub(r"[（(](牵头|配合|负责)[）)]|牵头|配合", "", token).strip()
        if name and name not in target:
            target.append(name)
    return lead, partners


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
