"""A notice with no table: numbered paragraphs and the unit and time lines under them.

Paragraphs are numbered 一、 (section), （一） (measure), 1. / 1、 / 一是 (item) and
（1） (sub-item); a month alone (九月份, 一一年一月) heads a school calendar's items.
Lines such as `牵头单位：…`, `责任单位：…`, `问题整改责任单位：… 整改时限：3天` — or
`（责任单位：…）` at the end of a sentence — give units, partners, leader and time
limit to the items above them since the last such line (a heading's lines to all
its items). An item that only names a place and lists sub-items (1. 市科技馆
（1）…（2）…) is a heading; its sub-items are the tasks.

When some sections' items carry units (or month headings), only those sections
hold the tasks: the 几点要求 or 工作目标 of a notice are not duties.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core.grammar import Vocabulary, read_phrases
from .grid import Parsed
from .numbering import Entry, NumberingError, assign_ids
from .rows import split_person
from .schoolyear import school_year
from .subjects import subject_units
from .textable import TableFormatError
from .words import (
    LETTER,
    MEASURE_AT_START,
    ORDINAL,
    SECTION,
    SUB_ITEM,
    TASK,
    cn_int,
    month_of,
)

_LABELS = (
    ("both", "(?:责任|牵头)单位及责任(?:人|领导)"),
    ("leader", "责任领导|分管领导|责任人"),
    ("partners", "配合单位|协办单位|配合部门|协作单位"),
    ("lead", "牵头单位|牵头部门|主办单位"),
    ("units", "责任单位|责任部门|实施单位|责任科室|责任处室"),
    ("time", "完成时限|整改时限|时限要求|完成时间|时间节点|时间要求|办结时限|时限"),
)
_LABEL = re.compile(
    "(" + "|".join(f"(?P<{name}>{words})" for name, words in _LABELS) + r")\s*[：:；;]"
)
_LABEL_LINE_START = 8  # 问题整改责任单位：… — a short prefix before the first label
_NOTE = re.compile(
    r"[（(]([^（）()]{0,8}(?:单位|部门|领导|责任人|时限)\s*[：:；;][^（）()]{1,120})[）)]"
)
_RANK = {"section": 1, "measure": 2, "month": 3, "item": 4, "sub": 5}
_TITLE_WORDS = re.compile(r"方案|计划|通知|清单|分工|台账|制度|意见|要点|安排|行事历")


@dataclass(slots=True)
class _Node:
    kind: str
    number: int | None
    text: str
    line: int | None
    full: str = ""  # the paragraph as written, its number included
    labels: dict[str, list[str]] = field(default_factory=dict)
    children: list[_Node] = field(default_factory=list)
    parent: _Node | None = None
    more: list[str] = field(default_factory=list)  # paragraphs that go on its text

    @property
    def ends_sentence(self) -> bool:
        last = (self.more[-1] if self.more else self.text).rstrip()
        return last.endswith(("。", "；", ";"))

    @property
    def whole(self) -> str:
        return "".join([self.text, *self.more])

    @property
    def rank(self) -> int:
        return _RANK.get(self.kind, 0)

    def ancestors(self) -> list[_Node]:
        found, node = [], self.parent
        while node is not None and node.kind != "root":
            found.append(node)
            node = node.parent
        return found


def labels_of(text: str) -> dict[str, list[str]]:
    """{lead/units/partners/leader/time: [values]} of `责任单位：X 整改时限：3天`;
    `责任单位及责任人：呈贡县政府主要领导` gives a unit and a leader."""
    found: dict[str, list[str]] = {}
    matches = list(_LABEL.finditer(text))
    for m, after in zip(matches, [*matches[1:], None], strict=True):
        name = next(k for k, v in m.groupdict().items() if v)
        value = text[m.end() : after.start() if after else len(text)].strip(" \t，,；;。")
        if name == "both":
            units, person = split_person(value)
            for key, part in (("units", units), ("leader", person)):
                if part:
                    found.setdefault(key, []).append(part)
        elif value:
            found.setdefault(name, []).append(value)
    return found


def _label_line(text: str) -> dict[str, list[str]] | None:
    match = _LABEL.search(text)
    if match is None or match.start() > _LABEL_LINE_START:
        return None
    return labels_of(text[match.start() :])


def _classify(text: str) -> tuple[str, int | None, str]:
    """(kind, own number, text without its mark) of one paragraph."""
    for kind, pattern in (
        ("section", SECTION),
        ("measure", MEASURE_AT_START),
        ("sub", SUB_ITEM),
        ("item", TASK),
        ("item", ORDINAL),
    ):
        match = pattern.match(text)
        if match:
            raw = match[1]
            try:
                number = int(raw) if raw.isdigit() else cn_int(raw)
            except ValueError:
                return "plain", None, text
            if kind == "section":
                return kind, number, text.strip()
            return kind, number, text[match.end() :].strip()
    if month_of(text) is not None:
        return "month", None, text.strip()
    if LETTER.match(text):
        return "letter", None, text.strip()
    return "plain", None, text.strip()


def _title(preamble: Sequence[str]) -> str:
    for line in preamble:
        if _TITLE_WORDS.search(line) and len(line) <= 80:
            return re.sub(r"\s+", " ", line).strip()
    return preamble[0].strip()[:80] if preamble else ""


def _tree(paragraphs: Sequence[tuple[int, str]]) -> tuple[_Node, list[str]]:
    root = _Node("root", None, "", None)
    stack = [root]
    preamble: list[str] = []
    since_labels: list[_Node] = []  # items since the last unit/time line
    last_labelled: list[_Node] = []
    previous_was_label = False
    for line, para in paragraphs:
        text = para.strip()
        labels = _label_line(text)
        if labels is not None and len(stack) > 1:
            targets = last_labelled if previous_was_label else (since_labels or [stack[-1]])
            for node in targets:
                for name, values in labels.items():
                    node.labels.setdefault(name, []).extend(values)
            last_labelled, since_labels, previous_was_label = targets, [], True
            continue
        previous_was_label = False
        kind, number, body = _classify(text)
        if kind in _RANK:
            rank = _RANK[kind]
            while stack[-1].rank >= rank:
                stack.pop()
            node = _Node(kind, number, body, line, text, parent=stack[-1])
            stack[-1].children.append(node)
            stack.append(node)
            if kind in ("item", "sub"):
                since_labels.append(node)
        elif len(stack) == 1:
            preamble.append(text)
        elif stack[-1].kind in ("item", "sub") and (
            kind == "letter" or not stack[-1].ends_sentence
        ):
            stack[-1].more.append(text)  # the task's sentence goes on, or its A、B、 items
    _notes(root)
    return root, preamble


def _notes(node: _Node) -> None:
    """（责任单位：…） at the end of an item's sentence: its labels, taken out of its text."""
    for child in node.children:
        if child.kind in ("item", "sub"):
            whole = child.whole
            note = _NOTE.search(whole)
            if note is not None:
                for name, values in labels_of(note[1]).items():
                    child.labels.setdefault(name, []).extend(values)
                child.text, child.more = (whole[: note.start()] + whole[note.end() :]).strip(), []
        _notes(child)


def _is_heading(node: _Node) -> bool:
    """1. 市科技馆 over （1）（2）: an item that names a place and lists sub-items."""
    subs = [c for c in node.children if c.kind == "sub"]
    return bool(subs) and len(node.text) <= 20 and not re.search(r"[，,。；;]", node.text)


def _tasks(root: _Node) -> list[_Node]:
    found: list[_Node] = []

    def walk(node: _Node) -> None:
        for child in node.children:
            if child.kind in ("section", "month"):
                walk(child)
            elif child.kind == "measure":
                if any(c.kind in ("item", "sub") for c in child.children):
                    walk(child)
                else:
                    found.append(child)
            elif child.kind == "item":
                if _is_heading(child):
                    found.extend(c for c in child.children if c.kind == "sub")
                else:
                    found.append(child)
            elif child.kind == "sub":
                found.append(child)

    walk(root)
    return [node for node in found if node.whole.strip()]


def _inherited(node: _Node, name: str) -> list[str]:
    for holder in (node, *node.ancestors()):
        if name in holder.labels:
            return holder.labels[name]
    return []


def _has_units(node: _Node) -> bool:
    return any(_inherited(node, name) for name in ("lead", "units"))


def _section_of(node: _Node) -> _Node | None:
    return next((a for a in reversed(node.ancestors()) if a.kind == "section"), None)


def _keep(tasks: list[_Node]) -> list[_Node]:
    """Only the sections whose items carry units (else month headings) hold duties."""
    sections: dict[int, list[_Node]] = {}
    for task in tasks:
        sections.setdefault(id(_section_of(task)), []).append(task)
    with_units = [ts for ts in sections.values() if sum(map(_has_units, ts)) * 2 >= len(ts)]
    if any(_has_units(t) for t in tasks) and with_units:
        return [t for ts in with_units for t in ts]
    calendars = [ts for ts in sections.values() if any(_month(t) for t in ts)]
    if calendars:
        return [t for ts in calendars for t in ts]
    return tasks


def _month(node: _Node) -> _Node | None:
    return next((a for a in node.ancestors() if a.kind == "month"), None)


def _split_duties(text: str, vocabulary: Vocabulary) -> list[tuple[str, str]]:
    """An item holding two duties, each with its own subject and schedule, split at ；:
    [(text, units)]; otherwise [(text, "")]."""
    parts = [p.strip() for p in re.split(r"(?<=[；;])", text) if p.strip()]
    if len(parts) < 2:
        return [(text, "")]
    readings = []
    for part in parts:
        units = subject_units(part)
        rules = read_phrases(None, part, vocabulary).rules
        if not units or not rules:
            return [(text, "")]
        readings.append((part.rstrip("；;"), units))
    return readings if len({u for _, u in readings}) > 1 else [(text, "")]


def read_notice(
    paragraphs: Sequence[tuple[int, str]],
    vocabulary: Vocabulary,
    school_year_start: int = 9,
) -> Parsed:
    """The duties of a notice; raise TableFormatError when it numbers none."""
    root, preamble = _tree(paragraphs)
    tasks = _keep(_tasks(root))
    if not tasks:
        raise TableFormatError(
            "找不到编号的任务 (no numbered tasks found in this text table): "
            "number them 1. 2. or （一） and put 责任单位：… under them, or make it a table"
        )
    seen: dict[int, _Node] = {}
    for task in tasks:
        heading = _month(task)
        if heading is not None:
            seen.setdefault(id(heading), heading)
    headings = list(seen.values())
    limits = dict(
        zip(
            map(id, headings),
            school_year([h.text for h in headings], school_year_start),
            strict=True,
        )
    )
    entries: list[Entry] = []
    for index, task in enumerate(tasks):
        heads = [a for a in reversed(task.ancestors())]
        path = tuple(_heading_text(h) for h in heads)
        measure = next((h for h in heads if h.kind == "measure"), None)
        lead = _inherited(task, "lead")
        units = [*lead, *_inherited(task, "units")]
        time_values = _inherited(task, "time")
        month = _month(task)
        notes: list[tuple[str, str]] = []
        time_limit: str | None = "；".join(time_values) if time_values else None
        text = re.sub(r"\s+", " ", task.whole).strip()
        pieces = [(text, "")] if units else _split_duties(text, vocabulary)
        for k, (piece, subject) in enumerate(pieces, start=1):
            piece_units = "、".join(units) or subject
            if not piece_units:
                piece_units = subject_units(piece)
                if piece_units:
                    notes_here = [*notes, ("units-from-text", piece_units)]
                else:
                    notes_here = list(notes)
            else:
                notes_here = list(notes)
                if subject:
                    notes_here.append(("units-from-text", subject))
            limit = time_limit
            if (
                limit is None
                and month is not None
                and not read_phrases(None, piece, vocabulary).rules
            ):
                limit = limits[id(month)]
                if limit != month.text:
                    notes_here.append(("next-year", f"{month.text} → {limit}"))
            entries.append(
                Entry(
                    line=task.line,
                    path=path,
                    path_numbers=tuple(h.number for h in heads),
                    section=" / ".join(_heading_text(h) for h in heads if h.kind != "measure"),
                    measure=_heading_text(measure) if measure else "",
                    measure_no=measure.number or 0 if measure else 0,
                    number=task.number,
                    text=piece,
                    units=piece_units,
                    partners="、".join(_inherited(task, "partners")),
                    leader=" ".join(_inherited(task, "leader")),
                    time_limit=limit,
                    notes=notes_here,
                    sub=k if len(pieces) > 1 else None,
                    parent=index if len(pieces) > 1 else None,
                )
            )
    try:
        rows = assign_ids(entries)
    except NumberingError as exc:
        raise TableFormatError(str(exc), exc.line) from None
    return Parsed(rows, _title(preamble), "notice")


def _heading_text(node: _Node) -> str:
    return re.sub(r"\s+", " ", node.full).strip()
