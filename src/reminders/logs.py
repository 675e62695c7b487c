"""Logging for commands and the daemon: stderr, journald-friendly, no secrets.

What a log line quotes (a duty's title, a unit, a robot's answer) is data: the
formatter drops its control characters and escape sequences (`safetext.printable`)
and indents every continuation line, so quoted text can neither drive the
terminal that shows the log nor pass for a record of its own.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from .safetext import printable

# Loggers that would print URLs with robot keys or feed tokens in them, and
# APScheduler's per-job chatter (the service logs what it does itself).
_QUIET = ("httpx", "httpcore", "uvicorn.access", "apscheduler")

CONTINUATION = "\n    "


class SafeFormatter(logging.Formatter):
    """A formatter whose output holds no control character and whose records each
    start one line: the lines after a record's first are indented."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record)).replace("\n", CONTINUATION)


def configure_logging(level: str = "INFO", environ: Mapping[str, str] | None = None) -> None:
    env = os.environ if environ is None else environ
    journald = bool(env.get("JOURNAL_STREAM"))
    fmt = (
        "%(levelname)s %(name)s: %(message)s"
        if journald
        else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
