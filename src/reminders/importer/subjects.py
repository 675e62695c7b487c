"""Units named as the subject of a task's sentence (学校总务处每月要对供电设施…).

Read only where the source gives a task no units at all: in the first or second
clause, the words before 要/每/须/随时/定期/负责… are the units when each of them
(split on 、) reads as an organisation or a leading role; a bare 学校 or 单位 is the
issuer itself, not a unit. Only the first 80 characters are looked at.
"""

from __future__ import annotations

import re

from .words import is_org

_TRIGGER = re.compile(r"要|应当|必须|须|每|两月|随时|定期|不定期|负责")
_CLAUSE = re.compile(r"[，,。；;：:]")
_ROLE_END = re.compile(r"领导(?:小组)?$")
_GENERIC = frozenset({"学校", "单位", "部门", "本单位", "本部门", "各单位", "全校", "我校"})
_HEAD = 80


def subject_units(text: str) -> str:
    """`学校政教处、保卫处` of `学校政教处、保卫处要随时检查…`, or ""."""
    head = text[:_HEAD]
    clauses = _CLAUSE.split(head)[:2]
    for clause in clauses:
        trigger = _TRIGGER.search(clause)
        if trigger is None or trigger.start() == 0:
            continue
        names = [n.strip() for n in clause[: trigger.start()].split("、")]
        if all(
            n and n not in _GENERIC and len(n) <= 20 and (is_org(n) or _ROLE_END.search(n))
            for n in names
        ):
            return "、".join(names)
        return ""
    return ""
