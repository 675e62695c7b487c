"""The few RFC 5545 primitives the feeds need: escaping, folding, dates, durations.

Feeds are written with these rather than through icalendar's object model: a
feed is thousands of events of one fixed shape, and rendering each event once
as bytes (then reusing them across builds and feeds) is what keeps a rebuild
cheap. The tests parse every feed back with icalendar and with ical.js.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from ..safetext import printable

CRLF = b"\r\n"
_FOLD = 75  # octets per line, CRLF excluded (RFC 5545 §3.1)


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newline escaped; CR and every other
    control character (NUL, BEL, ESC, …: RFC 5545 allows none but tab) dropped."""
    value = printable(value)
    # chained str.replace: much faster than str.translate on CJK text
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if ";" in value:
        value = value.replace(";", "\\;")
    if "," in value:
        value = value.replace(",", "\\,")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    return value


def fold(line: bytes) -> bytes:
    """Fold one content line at 75 octets without splitting a UTF-8 character."""
    if len(line) <= _FOLD:
        return line + CRLF
    parts = []
    start, limit = 0, _FOLD
    while len(line) - start > limit:
        cut = start + limit
        while line[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: back off
            cut -= 1
        parts.append(line[start:cut])
        start, limit = cut, _FOLD - 1  # continuation lines start with a space
    parts.append(line[start:])
    return b"\r\n ".join(parts) + CRLF


def line(name: str, value: str) -> bytes:
    """`NAME:value` (value already escaped or not TEXT), folded, with CRLF."""
    return fold(f"{name}:{value}".encode())


def text(name: str, value: str) -> bytes:
    return line(name, escape_text(value))


def ical_date(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def ical_utc(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{ical_date(moment.date())}T{moment.hour:02d}{moment.minute:02d}{moment.second:02d}Z"


def duration(seconds: int) -> str:
    """Seconds as an RFC 5545 DURATION: -529200 → '-P6DT3H'."""
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = f"{sign}P"
    if days:
        out += f"{days}D"
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    clock += f"{secs}S" if secs else ""
    if clock:
        out += "T" + clock
    if out.endswith("P"):
        out += "T0S"
    return out
