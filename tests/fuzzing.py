"""A small fuzzing harness: hostile cases run through the real CLI within a budget.

A *class* of hostile input (an alias bomb, a FIFO for a config file, …) makes
`Case`s from a seeded random generator: files in a scratch directory, the
command lines to run on them, and what must hold. Every command runs in its own
process, so that a hang can be killed and memory measured:

- `run_forked` (the tests' default) forks this process and calls the CLI's
  `main(argv)` in the child: the same code path as the `reminders` script, minus
  interpreter start-up (0.4 s), so a few hundred cases fit in the suite. The
  child's peak resident memory is measured from the moment of the fork (its
  high-water mark reset through /proc/self/clear_refs), and its address space
  capped a little above the budget so that a blow-up ends in MemoryError
  rather than in a starved machine.
- `run_exec` starts the installed `reminders` script itself, as a user would,
  with the same cap; its peak is the new process's own (VmHWM, reported as it
  exits). `bench/fuzz.py --exec` uses it.

For every command: exit 0 or 1, no traceback, under `seconds` of CPU and
`megabytes` of memory; exit 1 comes with an error line naming one of the case's
files. The time budget is CPU time (user + system, from wait4): on a shared
2-core machine wall time doubles under others' load, which would measure the
machine rather than the program. A command that waits instead of computing
(reading a FIFO) is killed at WALL_FACTOR times the budget of wall time and
counts as a hang. Targets other than the config directory (tests/fuzz_config.py)
add their own classes to `CLASSES` with the same Case shape: import tables
(tests/fuzz_import.py), whose refusals must also fit a screen and write nothing.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import IO

SECONDS = 5.0  # CPU per command
MEGABYTES = 300
WALL_FACTOR = 4  # wall-clock seconds before a command is killed, in budgets
_CAP_SLACK_MB = 200  # the address-space cap sits this far above the budget
SCREEN_LINES = 24
SCREEN_CHARS = 2000


@dataclass
class Plan:
    """What a case runs once its files are in place."""

    commands: list[list[str]]
    names: tuple[str, ...]  # file names an error must mention (any of them)
    must_fail: bool = False  # the first command must exit 1 (a valid result would be a bug)
    consistent: bool = True  # the first command exiting 0 means every command must
    absent: tuple[Path, ...] = ()  # files a refusal (exit 1 with an error) must not write
    report_marker: str | None = None  # exit 1 without an error: stdout says what to fix
    one_screen: bool = False  # a refusal's message fits a screen (SCREEN_LINES, _CHARS)


@dataclass
class Case:
    cls: str
    label: str
    build: Callable[[Path], Plan]


@dataclass
class Outcome:
    argv: list[str]
    code: int | None  # None: killed at the wall-clock limit
    seconds: float  # CPU, user + system
    wall: float
    megabytes: float
    stdout: str
    stderr: str


@dataclass
class Verdict:
    case: Case
    outcomes: list[Outcome]
    failures: list[str]

    @property
    def rejected(self) -> bool:
        return bool(self.outcomes) and self.outcomes[0].code == 1


@dataclass
class ClassResult:
    cls: str
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.failures]

    def row(self) -> tuple[str, int, int, int, int, float, float, float]:
        seconds = max((o.seconds for v in self.verdicts for o in v.outcomes), default=0.0)
        wall = max((o.wall for v in self.verdicts for o in v.outcomes), default=0.0)
        megabytes = max((o.megabytes for v in self.verdicts for o in v.outcomes), default=0.0)
        rejected = sum(1 for v in self.verdicts if v.rejected and not v.failures)
        accepted = sum(1 for v in self.verdicts if not v.rejected and not v.failures)
        return (
            self.cls,
            len(self.verdicts),
            rejected,
            accepted,
            len(self.failures),
            seconds,
            wall,
            megabytes,
        )


Runner = Callable[[list[str], float, float], Outcome]
CLASSES: dict[str, Callable[[Random], Case]] = {}
TARGETS: dict[str, str] = {}  # class -> what it attacks: "config", "import"


def hostile(
    name: str, target: str = "config"
) -> Callable[[Callable[[Random], Case]], Callable[[Random], Case]]:
    """Register a class: a function from a seeded Random to one Case."""

    def register(make: Callable[[Random], Case]) -> Callable[[Random], Case]:
        CLASSES[name] = make
        TARGETS[name] = target
        return make

    return register


def mutate(data: bytes, rng: Random, operations: int, inserts: Sequence[bytes]) -> bytes:
    """`data` with `operations` random edits: bit flips, insertions (of `inserts` or
    random bytes), deletions, duplicated runs, sometimes a truncation."""
    out = bytearray(data)
    for _ in range(operations):
        at = rng.randrange(len(out) + 1)
        op = rng.choice(["flip", "insert", "delete", "duplicate", "truncate", "bytes"])
        if op == "flip" and at < len(out):
            out[at] ^= 1 << rng.randrange(8)
        elif op == "insert":
            out[at:at] = rng.choice(inserts)
        elif op == "delete":
            del out[at : at + rng.randint(1, 40)]
        elif op == "duplicate":
            out[at:at] = out[max(0, at - 200) : at]
        elif op == "truncate" and rng.random() < 0.3:
            del out[at:]
        else:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(out)


# -- running one command -----------------------------------------------------------


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _cap_address_space(megabytes: float) -> None:
    cap = _status_kb("VmSize") * 1024 + int((megabytes + _CAP_SLACK_MB) * 2**20)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def run_forked(argv: list[str], seconds: float = SECONDS, megabytes: float = MEGABYTES) -> Outcome:
    """`main(argv)` in a forked child; killed after WALL_FACTOR × `seconds` of wall time."""
    from reminders.cli.main import main

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        report_r, report_w = os.pipe()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 70
            try:
                os.close(report_r)
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                with contextlib.suppress(OSError):
                    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS
                base = _status_kb("VmRSS")
                _cap_address_space(megabytes)
                try:
                    code = main(argv)
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
                except BaseException:
                    traceback.print_exc()  # what the interpreter would print
                    code = 1
                sys.stdout.flush()
                sys.stderr.flush()
                os.write(report_w, str(max(0, _status_kb("VmHWM") - base)).encode())
            finally:
                os._exit(code)
        os.close(report_w)
        status, elapsed, cpu = _wait4(pid, started, seconds)  # RSS: measured in the child
        peak_kb = os.read(report_r, 64).decode() or "0"
        os.close(report_r)
        return Outcome(argv, status, cpu, elapsed, int(peak_kb) / 1024, _text(out), _text(err))


# The script run under an interpreter that reports the image's own peak RSS (VmHWM) on
# fd 3 as it exits: wait4's ru_maxrss of a child counts the memory of the process it
# was forked from (the bench, which made the hostile files) up to the exec.
_EXEC_WRAPPER = """
import atexit, os, runpy, sys
def report():
    with open('/proc/self/status') as status:
        peak = next(line.split()[1] for line in status if line.startswith('VmHWM:'))
    os.write(3, peak.encode())
atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


def run_exec(argv: list[str], seconds: float = SECONDS, megabytes: float = MEGABYTES) -> Outcome:
    """The installed `reminders` script in a new process; the peak RSS of that process."""
    script = Path(sys.executable).with_name("reminders")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        report_r, report_w = os.pipe()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                os.dup2(report_w, 3)
                cap = int((megabytes + _CAP_SLACK_MB) * 2**20) + 512 * 2**20  # + interpreter
                resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
                command = [sys.executable, "-c", _EXEC_WRAPPER, str(script), *argv]
                os.execv(sys.executable, command)
            finally:
                os._exit(127)
        os.close(report_w)
        code, elapsed, cpu = _wait4(pid, started, seconds)
        peak_kb = os.read(report_r, 64).decode() or "0"
        os.close(report_r)
        return Outcome(argv, code, cpu, elapsed, int(peak_kb) / 1024, _text(out), _text(err))


def _wait4(pid: int, started: float, seconds: float) -> tuple[int | None, float, float]:
    """(exit code or None when killed, wall seconds, CPU seconds)."""
    delay = 0.002
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        elapsed = time.monotonic() - started
        if not done and elapsed > seconds * WALL_FACTOR:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            return None, elapsed, usage.ru_utime + usage.ru_stime
        if done:
            return os.waitstatus_to_exitcode(status), elapsed, usage.ru_utime + usage.ru_stime
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _text(file: IO[bytes]) -> str:
    file.seek(0)
    return file.read().decode("utf-8", "replace")


# -- judging -----------------------------------------------------------------------


def judge(plan: Plan, outcomes: Sequence[Outcome], seconds: float, megabytes: float) -> list[str]:
    """What went wrong, in one line each; empty when the case held."""
    failures = []
    for outcome in outcomes:
        command = " ".join(outcome.argv[2:]) if outcome.argv[:1] == ["--config"] else outcome.argv
        if outcome.code is None:
            failures.append(f"{command}: no answer in {outcome.wall:.0f} s (hang)")
            continue
        if "Traceback" in outcome.stderr:
            last = outcome.stderr.strip().splitlines()[-1][:200]
            failures.append(f"{command}: traceback: {last}")
        if outcome.code not in (0, 1):
            failures.append(f"{command}: exit {outcome.code}")
        if outcome.seconds > seconds:
            failures.append(f"{command}: {outcome.seconds:.1f} s of CPU (budget {seconds:.0f} s)")
        if outcome.megabytes > megabytes:
            failures.append(f"{command}: {outcome.megabytes:.0f} MB (budget {megabytes:.0f} MB)")
        if outcome.code == 1:
            failures += _refusal(command, outcome, plan)
    first = outcomes[0] if outcomes else None
    if first is not None and plan.must_fail and first.code == 0:
        failures.append("accepted a config that must be refused")
    if first is not None and first.code == 0 and plan.consistent:
        for outcome in outcomes[1:]:
            if outcome.code not in (0, None):
                failures.append(f"validate passed but {' '.join(outcome.argv[2:])} failed")
    return failures


def _refusal(command: object, outcome: Outcome, plan: Plan) -> list[str]:
    """What is wrong with an exit 1: an error naming the file (one screen, nothing in
    `plan.absent` written), or, where the plan allows it, a report saying what to fix."""
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("错误")]
    if any(name in line for line in errors for name in plan.names):
        failures = [
            f"{command}: refused, but wrote {path}" for path in plan.absent if path.exists()
        ]
        lines = outcome.stderr.strip().splitlines()
        if plan.one_screen and (len(lines) > SCREEN_LINES or len(outcome.stderr) > SCREEN_CHARS):
            failures.append(
                f"{command}: a message of {len(lines)} lines, {len(outcome.stderr)} characters"
            )
        return failures
    if not errors and plan.report_marker and plan.report_marker in outcome.stdout:
        return []
    return [
        f"{command}: exit 1 without an error naming {' or '.join(plan.names)}: "
        f"{outcome.stderr.strip()[:200]!r}"
    ]


def run_case(
    case: Case,
    runner: Runner = run_forked,
    seconds: float = SECONDS,
    megabytes: float = MEGABYTES,
) -> Verdict:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as scratch:
        try:
            plan = case.build(Path(scratch))
        except Exception as exc:  # a bug in the generator, not in the program
            return Verdict(case, [], [f"could not build the case: {exc!r}"])
        outcomes = [runner(argv, seconds, megabytes) for argv in plan.commands]
        return Verdict(case, outcomes, judge(plan, outcomes, seconds, megabytes))


def run_class(
    cls: str,
    count: int,
    seed: int,
    runner: Runner = run_forked,
    seconds: float = SECONDS,
    megabytes: float = MEGABYTES,
) -> ClassResult:
    make = CLASSES[cls]
    rng = Random(f"{seed}:{cls}")
    result = ClassResult(cls)
    for _ in range(count):
        result.verdicts.append(run_case(make(rng), runner, seconds, megabytes))
    return result


def table(results: Sequence[ClassResult]) -> str:
    """Counts per class, one line each, and a total."""
    head = (
        f"{'class':<20} {'cases':>5} {'refused':>7} {'accepted':>8} {'FAILED':>6} "
        f"{'max CPU s':>9} {'max wall s':>10} {'max MB':>6}"
    )
    lines = [head, "-" * len(head)]
    total = [0, 0, 0, 0]
    worst = [0.0, 0.0, 0.0]
    for result in results:
        cls, cases, refused, accepted, failed, seconds, wall, megabytes = result.row()
        lines.append(
            f"{cls:<20} {cases:>5} {refused:>7} {accepted:>8} {failed:>6} "
            f"{seconds:>9.2f} {wall:>10.2f} {megabytes:>6.0f}"
        )
        for i, n in enumerate((cases, refused, accepted, failed)):
            total[i] += n
        for i, x in enumerate((seconds, wall, megabytes)):
            worst[i] = max(worst[i], x)
    lines.append("-" * len(head))
    lines.append(
        f"{'total':<20} {total[0]:>5} {total[1]:>7} {total[2]:>8} {total[3]:>6} "
        f"{worst[0]:>9.2f} {worst[1]:>10.2f} {worst[2]:>6.0f}"
    )
    return "\n".join(lines)


def describe_failures(results: Sequence[ClassResult], limit: int = 20) -> str:
    lines = []
    for result in results:
        for verdict in result.failures:
            lines.append(f"[{result.cls}] {verdict.case.label}")
            lines.extend(f"    {failure}" for failure in verdict.failures)
    return "\n".join(lines[: limit * 3])
