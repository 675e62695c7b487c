"""Fuzzing: hostile inputs through the real CLI, each within a time and memory budget.

Runs every registered class of hostile input of one target — config directories
(tests/fuzz_config.py) or import tables and special files (tests/fuzz_import.py,
`--target import`) — N seeded cases each, and prints per class how many were
refused with a clean error, accepted, or FAILED (traceback, hang, over budget,
an error not naming the file, a config validate passes that a command then
fails on, an import refused with more than a screen of message or with something
written), with the largest CPU time, wall time and memory peak of one command.
The budget is CPU time (wall time on a shared machine measures the others' load
too); a command still running at 4 × the budget of wall time is killed as a hang.

    .venv/bin/python bench/fuzz.py [--per-class 100] [--seed 16] [--target config]
                                   [--only CLASS ...] [--exec] [--seconds 5] [--megabytes 300]

By default each command runs in a child forked from this process (the CLI's
`main`, its peak RSS counted from the fork). `--exec` starts the installed
`reminders` script for every command instead, as a user would (0.4 s more per
command; its peak RSS is the whole process's). Exit status 1 when a case failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import fuzz_config, fuzz_import
from tests.fuzzing import (
    CLASSES,
    MEGABYTES,
    SECONDS,
    TARGETS,
    describe_failures,
    run_class,
    run_exec,
    run_forked,
    table,
)
from tests.test_fuzz_config import warm_config
from tests.test_fuzz_import import warm_import

from reminders.core.grammar import Vocabulary, read_phrases

PHRASE_CASES = (  # issue 16: a time cell of 每月 × 10,000, a task cell of 加密 × 20,000
    ("每月", "time cell"),
    ("9月底前", "time cell"),
    ("每月至少1次", "time cell"),
    ("加密", "task text"),
    ("从5月起至年底", "task text"),
    ("续\n", "task text"),
)


def phrase_reader_figures() -> str:
    """CPU seconds of the schedule-phrase reader on repeated phrase words, doubling the
    length: linear when each doubling about doubles the time (the issue saw hangs)."""
    vocabulary = Vocabulary()
    lines = [f"{'phrase reader':<34} {'10,000':>8} {'20,000':>8} {'40,000':>8}  (× repeats)"]
    for unit, where in PHRASE_CASES:
        seconds = []
        for repeats in (10_000, 20_000, 40_000):
            text = unit * repeats
            started = time.process_time()
            if where == "time cell":
                read_phrases(text, "检查", vocabulary)
            else:
                read_phrases("9月底前", text, vocabulary)
            seconds.append(time.process_time() - started)
        label = f"{unit!r} in the {where}"
        lines.append(f"{label:<34} " + " ".join(f"{s:>7.2f}s" for s in seconds))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--target", default="config", choices=sorted(set(TARGETS.values())))
    parser.add_argument("--only", nargs="*", choices=sorted(CLASSES), default=None)
    parser.add_argument("--exec", action="store_true", help="run the reminders script itself")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="CPU budget per command")
    parser.add_argument("--megabytes", type=float, default=MEGABYTES)
    args = parser.parse_args()
    assert fuzz_config.FILES and fuzz_import.FORMATS
    classes = args.only or sorted(c for c, target in TARGETS.items() if target == args.target)
    runner = run_exec if args.exec else run_forked
    if not args.exec:  # import what the commands import lazily before forking
        warm_config()
        with tempfile.TemporaryDirectory() as warm:
            warm_import(Path(warm))
    mode = "exec" if args.exec else "fork"
    print(
        f"{args.per_class} cases per class, seed {args.seed}, {mode}, "
        f"budget {args.seconds:.0f} s of CPU and {args.megabytes:.0f} MB per command"
    )
    results = []
    started = time.monotonic()
    for cls in classes:
        results.append(
            run_class(cls, args.per_class, args.seed, runner, args.seconds, args.megabytes)
        )
        print(f"  {cls}: done ({time.monotonic() - started:.0f} s)", flush=True)
    print(table(results))
    if args.target == "import":
        print("\n" + phrase_reader_figures())
    failures = describe_failures(results, limit=50)
    if failures:
        print("\nFAILED:\n" + failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
