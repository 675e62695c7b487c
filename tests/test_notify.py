"""sd_notify never blocks the service: a socket nobody reads costs dropped lines only."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from reminders.daemon.notify import Notifier


def test_a_notify_socket_nobody_reads_never_blocks(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    reader = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    reader.bind(str(path))  # bound, never read: its queue fills up
    try:
        notifier = Notifier({"NOTIFY_SOCKET": str(path)})
        finished = threading.Event()

        def ping() -> None:
            for _ in range(5000):  # far more than the socket's queue holds
                notifier.watchdog()
            finished.set()

        thread = threading.Thread(target=ping, daemon=True)
        thread.start()
        thread.join(timeout=20)
        assert finished.is_set(), "sd_notify blocked on a full socket"
        first = reader.recv(4096)
        assert first == b"WATCHDOG=1"
        notifier.close()
    finally:
        reader.close()
