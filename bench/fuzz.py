"""Fuzzing: hostile inputs through the real CLI, each within a time and memory budget.

Runs every registered class of hostile input (today: config directories, see
tests/fuzz_config.py; import tables and HTTP requests register their own classes
with a `target`), N seeded cases each, and prints per class how many were
refused with a clean error, accepted, or FAILED (traceback, hang, over budget,
an error not naming the file, a config validate passes that a command then
fails on), with the largest CPU time, wall time and memory peak of one command.
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
import contextlib
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import fuzz_config
from tests.conftest import SHIPPED_CONFIG
from tests.fuzzing import (
    CLASSES,
    TARGETS,
    describe_failures,
    run_class,
    run_exec,
    run_forked,
    table,
)

from reminders.cli.main import main as cli


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--target", default="config", choices=sorted(set(TARGETS.values())))
    parser.add_argument("--only", nargs="*", choices=sorted(CLASSES), default=None)
    parser.add_argument("--exec", action="store_true", help="run the reminders script itself")
    parser.add_argument("--seconds", type=float, default=5.0, help="CPU budget per command")
    parser.add_argument("--megabytes", type=float, default=300.0)
    args = parser.parse_args()
    assert fuzz_config.FILES
    classes = args.only or sorted(c for c, target in TARGETS.items() if target == args.target)
    runner = run_exec if args.exec else run_forked
    if not args.exec:  # import what the commands import lazily before forking
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            cli(["--config", str(SHIPPED_CONFIG), "validate"])
            cli(["--config", str(SHIPPED_CONFIG), "agenda", "--json"])
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
    failures = describe_failures(results, limit=50)
    if failures:
        print("\nFAILED:\n" + failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
