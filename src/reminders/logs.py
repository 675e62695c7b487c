"""Logging for commands and the daemon: stderr, journald-friendly, no secrets."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

# Loggers that would print URLs with robot keys or feed tokens in them, and
# APScheduler's per-job chatter (the service logs what it does itself).
_QUIET = ("httpx", "httpcore", "uvicorn.access", "apscheduler")


def configure_logging(level: str = "INFO", environ: Mapping[str, str] | None = None) -> None:
    env = os.environ if environ is None else environ
    journald = bool(env.get("JOURNAL_STREAM"))
    fmt = (
        "%(levelname)s %(name)s: %(message)s"
        if journald
        else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
