"""Every script in bench/ still runs, on a tiny input.

The benches are run by hand for their figures, not by the suite, so a change that
breaks one (a helper renamed in a module it imports, a method added to the
ledger that a bench's stand-in lacks) would otherwise go unnoticed until the
next measurement. Here each runs at the smallest size its options allow; the
figures it prints are not checked, only that it ends cleanly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

TINY = {
    "console.py": ["--schools", "3", "--runs", "1", "--no-http", "--rounds", "1", "--idle", "0"],
    "daemon.py": ["--schools", "3", "--runs", "1", "--idle", "0"],
    "deliver.py": ["--robots", "2", "--per-robot", "3"],
    "expand.py": ["--duties", "20", "--years", "1"],
    "feeds.py": ["--schools", "3", "--runs", "1", "--no-http"],
    "fuzz.py": ["--per-class", "1", "--only", "rrule", "import-wide"],
    "import_table.py": ["--rows", "20"],
    "sweep.py": ["--schools", "3", "--runs", "1"],
}


def test_every_bench_script_has_a_tiny_run() -> None:
    assert sorted(TINY) == sorted(p.name for p in BENCH.glob("*.py"))


@pytest.mark.parametrize("script", sorted(TINY))
def test_bench_script_runs(script: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *TINY[script]],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCH.parent,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
