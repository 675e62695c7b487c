"""SIGTERM or SIGINT at any moment of the real service's start-up: exit 0, no traceback,
what was opened closed (the next start on the same state directory gets its lock).

"Start-up" begins when the process's own code first runs: from then on it catches
SIGTERM (bit 15 of SigCgt in /proc/PID/status). Before that the interpreter itself is
starting (some 20 ms), and a signal has the default action."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from .daemonproc import DaemonProcess

MOMENTS = 8


def catches_sigterm(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def started(daemon: DaemonProcess) -> float:
    """Start the process; return the monotonic time its own code first caught SIGTERM."""
    daemon.start(wait_ready=False)
    assert daemon.proc is not None
    while not catches_sigterm(daemon.proc.pid):
        assert daemon.proc.poll() is None, daemon.log()
        time.sleep(0.001)
    return time.monotonic()


def test_a_stop_at_any_moment_of_start_up_exits_0(config_dir: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    timing = DaemonProcess(config_dir, state)
    began = started(timing)
    timing.wait_for("READY=1")  # how long a start takes here, now
    ready_after = time.monotonic() - began
    assert timing.stop() == 0
    outcomes = []
    for index in range(MOMENTS + 2):
        signum = signal.SIGINT if index % 3 == 2 else signal.SIGTERM
        delay = ready_after * min(index, MOMENTS) / MOMENTS  # from the first instant to READY
        daemon = DaemonProcess(config_dir, state)
        began = started(daemon)
        time.sleep(max(0.0, began + delay - time.monotonic()))
        daemon.signal(signum)
        assert daemon.proc is not None
        code = daemon.proc.wait(30)
        daemon.close()
        log = daemon.log()
        daemon.log_path.unlink(missing_ok=True)  # the next run's object may reuse the name
        last = log.strip().splitlines()[-1] if log.strip() else "(nothing logged yet)"
        outcomes.append((round(delay, 2), signum.name, code, last[-40:]))
        assert code == 0, (delay, signum.name, log[-3000:])
        assert "Traceback" not in log, log[-3000:]
    print("\n" + "\n".join(str(o) for o in outcomes))
    assert any("启动过程中收到停止信号" in o[3] for o in outcomes)
    again = DaemonProcess(config_dir, state).start()  # lock released, ledger fine
    assert again.stop() == 0
