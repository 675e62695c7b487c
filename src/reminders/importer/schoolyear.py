"""Month headings of a school-year calendar: which of them fall in the next year.

A calendar whose first month is the school year's first (September, or the month
the autumn semester starts in settings.yaml) or later runs on into the next year:
its months before that month, and any month after the list wraps past December,
are in the year after the plan year, written 次年一月 so the duty says so. A month
that names its year (一一年一月) is left as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from .words import month_of


def school_year(months: Sequence[str], start: int = 9) -> list[str]:
    """Each month heading as a time limit (次年… where it falls in the next year)."""
    out: list[str] = []
    first: int | None = None
    previous: int | None = None
    wrapped = False
    for text in months:
        found = month_of(text)
        if found is None:
            out.append(text)
            continue
        month, has_year = found
        first = month if first is None else first
        wrapped = wrapped or (previous is not None and month < previous)
        previous = month
        later = not has_year and (wrapped or (first >= start and month < start))
        out.append(f"次年{text.strip()}" if later else text)
    return out


def is_calendar(months: Sequence[str]) -> bool:
    """Do these time cells name consecutive months (九月, 十月, … 一月), a calendar's rows,
    rather than each row's own deadline?"""
    distinct: list[int] = []
    for text in months:
        if not text.strip():
            continue
        found = month_of(text)
        if found is None:
            return False
        if not distinct or distinct[-1] != found[0]:
            distinct.append(found[0])
    return len(distinct) >= 3 and all(b == a % 12 + 1 for a, b in pairwise(distinct))
