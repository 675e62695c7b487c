"""SIGTERM and SIGINT that come before the service's event loop takes them over.

`reminders run` must exit 0 when stopped at any moment of its start-up, also
during the imports that come before any of its code runs. So the command line
calls `catch()` first thing when the command is `run`, before importing the
commands: a stop asked for from then on is remembered instead of killing the
process, and the service, once its loop runs, stops cleanly instead of
starting. Any other command calls `release()` once parsed: the default
actions are back, and a signal that came meanwhile is acted on at once.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_OPTIONS_WITH_VALUE = ("--config", "--plan-year")
_received: list[int] = []
_caught = False


def wanted(argv: Sequence[str]) -> bool:
    """Whether this command line (`sys.argv`) is `reminders run` (or `python -m reminders
    run`), the service."""
    if not argv:
        return False
    program = Path(argv[0])
    if "reminders" not in (program.name, program.parent.name):
        return False  # imported by another program (a test runner)
    skip = False
    for token in argv[1:]:
        if skip:
            skip = False
        elif token in _OPTIONS_WITH_VALUE:
            skip = True
        elif not token.startswith("-"):
            return token == "run"
    return False


def catch() -> None:
    global _caught
    _caught = True
    for signum in _SIGNALS:
        signal.signal(signum, _remember)


def release() -> None:
    """Default actions again; a signal remembered meanwhile is delivered now."""
    global _caught
    if not _caught:
        return
    _caught = False
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in _received:
        signal.raise_signal(signum)


def _remember(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)


def received() -> bool:
    """Whether a stop was asked for before the event loop took the signals over."""
    return bool(_received)
