"""Turn every expected failure into a short message and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from ..exceptions import Problem, RemindersError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def print_problems(problems: list[Problem], stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    for problem in problems:
        label = "警告" if problem.severity == "warning" else "错误"
        print(f"{label}：{problem}", file=out)


def handle_cli_error(run: Callable[[], int]) -> int:
    try:
        return run()
    except RemindersError as exc:
        print_problems(exc.problems)
        errors = sum(1 for p in exc.problems if p.severity == "error")
        print(f"共 {errors} 个错误。", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
