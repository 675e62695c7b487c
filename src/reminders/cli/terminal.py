"""What a command prints reaches the terminal without control characters.

A duty's title, a unit's name or a note may carry CR, ESC sequences, BEL or NUL
(from a table, a config, a posted note). `clean_output()` puts a filter over
stdout and stderr for the length of a command: every write goes through
`safetext.printable`, so tables, messages, errors and logs alike are shown as
text and never move the cursor, recolour, retitle or clear the terminal. (JSON
output escapes C0 controls itself; the filter drops the raw DEL and C1 ones.)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from ..safetext import printable


class CleanStream:
    """A text stream that writes `printable` text to the stream it wraps."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(printable(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, …
        return getattr(self.stream, name)


@contextmanager
def clean_output() -> Iterator[None]:
    """stdout and stderr filtered while the block runs (restored after)."""
    saved = sys.stdout, sys.stderr
    sys.stdout = CleanStream(sys.stdout)
    sys.stderr = CleanStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
