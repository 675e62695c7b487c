"""Re-import: merge freshly imported duties into an existing duties document.

The existing document is edited in place (ruamel round-trip), so the user's
comments, key order and quoting survive. For a duty whose id already exists:

- the table's fields (section, measure, text, units, partners, time_limit) and
  the `# 读作:` comment are refreshed from the table;
- the user's `schedule`, `lead_times` and `overdue_steps` are kept, and so is a
  title the user rewrote (one that is not the importer's short title of the
  old text), unless `force`;

new tasks are inserted in id order, and duties whose task is gone from the
table are kept and reported, never deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from ..core.model import duty_sort_key
from .rows import short_title

TABLE_FIELDS = ("section", "measure", "text", "units", "partners", "leader", "time_limit")
USER_FIELDS = ("schedule", "lead_times", "overdue_steps")
READING = "# 读作:"


@dataclass(slots=True)
class Merged:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_edits: dict[str, list[str]] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return str(value) if isinstance(value, str) else value


def _reading_token(duty: CommentedMap) -> CommentToken | None:
    slot = duty.ca.items.get("time_limit")
    token = slot[2] if slot and len(slot) > 2 else None
    return token if isinstance(token, CommentToken) else None


def _set_reading(old: CommentedMap, new: CommentedMap, moved: bool) -> bool:
    """Give old's time_limit the reading comment of new; keep what follows it."""
    fresh = _reading_token(new)
    token = _reading_token(old)
    if fresh is None:
        if token is not None and token.value.lstrip(" ").startswith(READING):
            rest = token.value.partition("\n")[2]
            if rest.strip("\n"):
                token.value = rest
            else:
                old.ca.items["time_limit"][2] = None
            return True
        return False
    line = " " + fresh.value.strip()  # column 0 plus a leading space: two before the '#'

    if token is None:
        old.ca.items.setdefault("time_limit", [None, None, None, None])
        old.ca.items["time_limit"][2] = CommentToken(line + "\n", CommentMark(0), None)
        return True
    if token.value.startswith("\n"):  # no comment on the line, only blank lines after it
        old.ca.items["time_limit"][2] = CommentToken(line + token.value, CommentMark(0), None)
        return True
    if not token.value.lstrip(" ").startswith(READING):
        return False  # the user's own comment on that line: leave it alone
    first, newline, rest = token.value.partition("\n")
    if first.strip() == line.strip() and not moved:
        return False
    old.ca.items["time_limit"][2] = CommentToken(line + newline + rest, CommentMark(0), None)
    return True


def _refresh(old: CommentedMap, new: CommentedMap, force: bool) -> tuple[bool, list[str]]:
    """Update one existing duty in place; (changed, user fields kept)."""
    changed = False
    kept: list[str] = []
    moved = False
    title = old.get("title")
    user_title = title is not None and title != short_title(str(old.get("text", "")))
    for key in TABLE_FIELDS:
        if key not in new:
            if key in old:
                del old[key]
                changed = True
            continue
        if key in old:
            if _plain(old[key]) != _plain(new[key]):
                old[key] = new[key]
                changed = True
                moved = moved or key == "time_limit"
            continue
        keys = list(old.keys())
        position = len(keys)
        for later in TABLE_FIELDS[TABLE_FIELDS.index(key) + 1 :]:
            if later in old:
                position = keys.index(later)
                break
        old.insert(position, key, new[key])
        changed = True
    if "title" in new and _plain(title) != _plain(new["title"]):
        if user_title and not force:
            kept.append("title")
        else:
            old["title"] = new["title"]
            changed = True
    for key in USER_FIELDS:
        if key in old:
            if force:
                del old[key]
                changed = True
            else:
                kept.append(key)
    changed = _set_reading(old, new, moved) or changed
    return changed, kept


def trailing_token(node: Any) -> CommentToken | None:
    """The comment token printed after the last value of `node` (holds the blank line)."""
    if isinstance(node, CommentedMap) and node:
        key = list(node.keys())[-1]
        value = node[key]
        if isinstance(value, CommentedMap | CommentedSeq) and value and not value.fa.flow_style():
            return trailing_token(value)
        slot = node.ca.items.get(key)
    elif isinstance(node, CommentedSeq) and node:
        if isinstance(node[-1], CommentedMap | CommentedSeq):
            return trailing_token(node[-1])
        slot = node.ca.items.get(len(node) - 1)
    else:
        return None
    if not slot:
        return None
    token = slot[2] if len(slot) > 2 and slot[2] is not None else slot[0]
    return token if isinstance(token, CommentToken) else None


def blank_line_after(node: Any) -> None:
    """Make the YAML printed for `node` end with one blank line (between list items)."""
    token = trailing_token(node)
    if token is not None:
        token.value = token.value.rstrip("\n") + "\n\n"
    elif isinstance(node, CommentedMap) and node:
        slot = node.ca.items.setdefault(list(node.keys())[-1], [None, None, None, None])
        slot[2] = CommentToken("\n\n", CommentMark(0), None)


def _insert(duties: CommentedSeq, duty: CommentedMap) -> None:
    key = duty_sort_key(duty["id"])
    index = len(duties)
    for i, existing in enumerate(duties):
        if isinstance(existing, CommentedMap) and duty_sort_key(existing.get("id")) > key:
            index = i
            break
    if index == len(duties):
        if duties:
            blank_line_after(duties[-1])
    else:
        blank_line_after(duty)
    duties.insert(index, duty)


def merge(document: CommentedMap, fresh: Sequence[CommentedMap], force: bool) -> Merged:
    """Merge `fresh` duties into `document['duties']` in place."""
    result = Merged()
    if not isinstance(document.get("duties"), CommentedSeq):
        document["duties"] = CommentedSeq()
    duties: CommentedSeq = document["duties"]
    by_id = {
        str(d.get("id")): d
        for d in duties
        if isinstance(d, CommentedMap) and d.get("id") is not None
    }
    seen: set[str] = set()
    for duty in fresh:
        duty_id = str(duty["id"])
        seen.add(duty_id)
        old = by_id.get(duty_id)
        if old is None:
            _insert(duties, duty)
            result.added.append(duty_id)
            continue
        changed, kept = _refresh(old, duty, force)
        (result.updated if changed else result.unchanged).append(duty_id)
        if kept:
            result.kept_edits[duty_id] = kept
    result.gone = [duty_id for duty_id in by_id if duty_id not in seen]
    return result
