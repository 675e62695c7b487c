"""Give freed heap memory back to the system after a burst of work.

A feed rebuild allocates and frees tens of megabytes of small objects; glibc
keeps the freed pages mapped, so a daemon that idles for days would hold its
peak. `malloc_trim(0)` returns them. Elsewhere (musl, macOS) it is a no-op.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _load_trim() -> Callable[[int], int] | None:
    # An optimisation only: whatever a locked-down system says, the service runs on.
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim  # the process's own libc
    except Exception:
        return None
    return trim


_TRIM = _load_trim()


def release_free_memory() -> None:
    global _TRIM
    if _TRIM is not None:
        try:
            _TRIM(0)
        except Exception:
            _TRIM = None
