"""Which feeds exist: one per unit, one per group (各校), one for everything.

A group's feed and the feed of everything summarise: one event per occurrence of
a duty, with how many of the units have done it (see builder.py).

Each feed has a stable key (which its token is bound to) and a slug that is
its file name and URL segment. A slug is the unit's own name when that is a
safe file name (Chinese included); any other name is cleaned and suffixed with
a hash of the exact name, so two names never share a file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from ..core.plan import Plan
from ..exceptions import ConfigError, Problem

FeedKind = Literal["unit", "group", "all"]

ALL_KEY = "all"
ALL_SLUG = "all"
_SAFE = re.compile(r"^[^\W_][\w-]{0,59}$")  # \w is Unicode: letters and digits of any script
_UNSAFE_RUN = re.compile(r"[^\w-]+|_+")
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
}
_RESERVED |= {ALL_SLUG.upper()}
CALENDAR_PREFIX = "安全生产任务"


@dataclass(frozen=True, slots=True)
class FeedSpec:
    key: str
    kind: FeedKind
    name: str
    slug: str
    units: frozenset[str]

    @property
    def filename(self) -> str:
        return f"{self.slug}.ics"

    @property
    def title(self) -> str:
        if self.kind == "all":
            return f"{CALENDAR_PREFIX}·全部单位（汇总）"
        if self.kind == "group":
            return f"{CALENDAR_PREFIX}·{self.name}（汇总）"
        return f"{CALENDAR_PREFIX}·{self.name}"


def slug_for(name: str) -> str:
    """A file-name-safe, URL-segment-safe stem for any unit or group name."""
    normal = unicodedata.normalize("NFC", name)
    if normal == name and _SAFE.match(name) and name.upper() not in _RESERVED:
        return name
    cleaned = _UNSAFE_RUN.sub("-", normal).strip("-")[:40] or "feed"
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{cleaned}-{digest}"


def feed_specs(plan: Plan) -> list[FeedSpec]:
    """Units in config order, then groups, then the feed of everything."""
    specs = [
        FeedSpec(f"unit:{name}", "unit", name, slug_for(name), frozenset([name]))
        for name in plan.unit_names()
    ]
    for group, members in plan.groups().items():
        specs.append(
            FeedSpec(f"group:{group}", "group", group, slug_for(group), frozenset(members))
        )
    specs.append(FeedSpec(ALL_KEY, "all", "全部", ALL_SLUG, frozenset(plan.unit_names())))
    seen: dict[str, str] = {}
    problems = []
    for spec in specs:
        other = seen.setdefault(spec.slug.casefold(), spec.name)
        if other != spec.name:
            problems.append(Problem(f"订阅文件名 {spec.slug!r} 与 {other!r} 重复", value=spec.name))
    if problems:
        raise ConfigError(problems)
    return specs
