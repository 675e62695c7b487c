"""Fuzzing the importer: hostile tables and special files through `reminders import`.

Every class of tests/fuzz_import.py, a few seeded cases each (bench/fuzz.py --target
import runs more), each run in a forked child (tests/fuzzing.py): exit 0 or 1, no
traceback, under 5 s of CPU and 300 MB, a refusal on one screen naming the file with
nothing written (or, exit 1, a report of what to fix). `pytest -s` prints the counts.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from random import Random

import pytest

from reminders.cli.main import main

from . import fuzz_import
from .conftest import SHIPPED_CONFIG
from .fuzzing import TARGETS, describe_failures, run_class, table

CASES_PER_CLASS = 6
FEWER = {"import-many-rows": 3, "import-package": 5}  # seconds each to generate
SEED = 16

IMPORT_CLASSES = sorted(name for name, target in TARGETS.items() if target == fuzz_import.TARGET)


def warm_import(directory: Path) -> None:
    """Import what the import command imports lazily (every format), before forking."""
    rows = fuzz_import.task_rows(Random(1), 2)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for fmt in fuzz_import.FORMATS:
            source = fuzz_import.write_table(directory, fmt, fuzz_import.Table(rows))
            argv = ["--config", str(SHIPPED_CONFIG), "import", str(source), "--dry-run"]
            assert main(argv) == 0, fmt


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    warm_import(tmp_path_factory.mktemp("warm"))


@pytest.mark.parametrize("cls", IMPORT_CLASSES)
def test_hostile_tables_end_in_a_clean_error_within_budget(warm: None, cls: str) -> None:
    result = run_class(cls, FEWER.get(cls, CASES_PER_CLASS), SEED)
    print("\n" + table([result]))
    assert not result.failures, describe_failures([result])
