"""SIGTERM and SIGINT that come before the service's event loop takes them over.

`reminders run` calls `catch()` first thing, before its slow imports: a stop
asked for from then on is remembered instead of killing the process, and the
service, once its loop runs, stops cleanly (exit 0) instead of starting.
"""

from __future__ import annotations

import signal
from types import FrameType

_received: list[int] = []


def catch() -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _remember)


def _remember(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)


def received() -> bool:
    """Whether a stop was asked for before the event loop took the signals over."""
    return bool(_received)
