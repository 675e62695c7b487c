"""The outbox: messages written before they are sent, and which of them to send again. Pure.

The unit of "sent" is the message on the wire. A digest's messages are written
to the ledger's outbox before the first goes out, and each leaves it when its
robot has taken it. Messages still there when a later run claims their
deliveries again (after a crash, or a failure) are sent again as written, so a
crash repeats only the messages that were on the wire, each as itself, never
re-cut into different parts.

A message is written afresh instead when its text has aged (it speaks of "还有
3 天" on another day) — unless it continues a reminder whose earlier part was
already taken, which writing afresh would repeat — or when the channel changed
so that it no longer fits. Messages that share a delivery (the parts of one
self-check list) are kept or written afresh together.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..channels.base import Outgoing
from ..ledger import Message

TERMINAL = frozenset({"sent", "dead", "skipped"})


def outgoing(message: Message) -> Outgoing:
    return Outgoing(
        message.title, message.text, message.unit, message.keys, message.part, message.parts
    )


def written(
    channel: str,
    flavor: str,
    parts: Sequence[Outgoing],
    *,
    day: str,
    digest: str,
    now: datetime,
) -> list[Message]:
    """The parts of one render as outbox messages: which deliveries each completes (its
    last message) and which it continues (begun in an earlier one)."""
    last = {key: index for index, part in enumerate(parts) for key in part.keys}
    seen: set[str] = set()
    out: list[Message] = []
    for index, part in enumerate(parts):
        out.append(
            Message(
                id=f"{digest}/{index + 1}",
                digest=digest,
                channel=channel,
                part=part.part,
                parts=part.parts,
                day=day,
                flavor=flavor,
                unit=part.unit,
                title=part.title,
                text=part.text,
                keys=part.keys,
                completes=tuple(k for k in part.keys if last[k] == index),
                continues=tuple(k for k in part.keys if k in seen),
                created_at=now,
            )
        )
        seen.update(part.keys)
    return out


@dataclass
class Reuse:
    send: list[Message] = field(default_factory=list)  # again, as written, in order
    covered: set[str] = field(default_factory=set)  # the deliveries those carry
    drop: list[str] = field(default_factory=list)  # ids to delete: written afresh instead


def reuse(
    stored: Sequence[Message],
    won: Collection[str],
    day: str,
    fits: Callable[[Message], bool],
) -> Reuse:
    """Of the outbox's messages for one channel, those to send again for the deliveries
    just claimed (`won`), on local date `day`."""
    mine = [m for m in stored if any(k in won for k in m.keys)]
    out = Reuse()
    for group in _linked(mine):
        keys = {k for m in group for k in m.keys}
        first: dict[str, Message] = {}
        for message in group:
            for key in message.keys:
                first.setdefault(key, message)
        # a delivery whose first message here continues it: its earlier part was taken
        begun = any(key in first[key].continues for key in keys)
        fresh = all(m.day in ("", day) for m in group)
        if all(k in won for k in keys) and (fresh or begun) and all(fits(m) for m in group):
            out.send.extend(group)
            out.covered |= keys
        else:
            out.drop.extend(m.id for m in group)
    return out


def orphans(stored: Sequence[Message], statuses: dict[str, str]) -> list[str]:
    """Messages no sender will need: every delivery they carry is settled (sent, dead,
    skipped) or gone from the ledger."""
    return [m.id for m in stored if all(statuses.get(k, "sent") in TERMINAL for k in m.keys)]


def _linked(messages: Sequence[Message]) -> list[list[Message]]:
    """Messages grouped by shared deliveries (transitively), each group in outbox order."""
    parent = list(range(len(messages)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, message in enumerate(messages):
        for key in message.keys:
            if key in owner:
                parent[root(index)] = root(owner[key])
            else:
                owner[key] = index
    groups: dict[int, list[Message]] = {}
    for index, message in enumerate(messages):
        groups.setdefault(root(index), []).append(message)
    return list(groups.values())
