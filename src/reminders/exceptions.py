"""Every error `reminders` raises on purpose.

Hierarchy::

    RemindersError
    ├── ConfigError       one or more problems in the config directory
    ├── ScheduleError     a schedule phrase or rule that cannot be read
    └── DeliveryError     a chat robot or webhook did not take a message

Each carries `Problem`s that name the file, line, field and value, so the CLI
can print them without a traceback.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass

from .limits import MESSAGE_MAX_CHARS, SHOWN_VALUE_CHARS

_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxstring = _REPR.maxother = SHOWN_VALUE_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def shown(value: object) -> str:
    """`value` as an error message quotes it: its repr, cut to a short length (a
    huge or deeply nested value costs no more to show than a small one)."""
    text = _REPR.repr(value)
    if len(text) > SHOWN_VALUE_CHARS:
        text = text[: SHOWN_VALUE_CHARS - 1] + "…"
    if isinstance(value, str) and len(value) > SHOWN_VALUE_CHARS:
        text += f"（共 {len(value)} 字符）"
    return text


def clipped(text: str, limit: int = MESSAGE_MAX_CHARS) -> str:
    """`text` cut to `limit` characters, marked with … when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the user's input, located as precisely as known."""

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    value: object = None
    severity: str = "error"

    def __str__(self) -> str:
        """`file:line: field: message（当前值：value）`, each part when known."""
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.field:
            parts.append(self.field)
        text = ": ".join([*parts, clipped(self.message)])
        if self.value is not None:
            text += f"（当前值：{shown(self.value)}）"
        return text


class RemindersError(Exception):
    """Base class of the errors that `reminders` reports to the user."""

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigError(RemindersError):
    """The config directory has one or more problems."""


class ScheduleError(RemindersError):
    """A schedule phrase or structured rule cannot be understood."""


class DeliveryError(RemindersError):
    """A channel did not deliver a message: the robot's own code and message, never its key.

    `transient` errors (network, HTTP 5xx, rate limits) are retried with backoff;
    the others are permanent. `retry_after` is the least wait the robot asks for.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.code = code
        self.retry_after = retry_after
