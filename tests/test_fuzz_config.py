"""Fuzzing the config: a few hundred hostile config directories through the CLI.

Every class of tests/fuzz_config.py, CASES_PER_CLASS seeded cases each, each run as
`validate` then `agenda --json` in a forked child (tests/fuzzing.py): exit 0 or 1,
no traceback, under 5 s of CPU and 300 MB, an error naming the file. `pytest -s` prints
the counts per class; `bench/fuzz.py` runs more.
"""

from __future__ import annotations

import contextlib
import io

import pytest

from reminders.cli.main import main

from . import fuzz_config
from .conftest import SHIPPED_CONFIG
from .fuzzing import TARGETS, describe_failures, run_class, table

CASES_PER_CLASS = 25
FEWER = {"bulk": 6}  # near the size limits: seconds each
SEED = 16

CONFIG_CLASSES = sorted(name for name, target in TARGETS.items() if target == "config")
assert fuzz_config.FILES and CONFIG_CLASSES


def warm_config() -> None:
    """Import what the commands import lazily, before the children are forked."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["--config", str(SHIPPED_CONFIG), "validate"]) == 0
        assert main(["--config", str(SHIPPED_CONFIG), "agenda", "--json"]) == 0


@pytest.fixture(scope="module")
def warm() -> None:
    warm_config()


@pytest.mark.parametrize("cls", CONFIG_CLASSES)
def test_hostile_configs_end_in_a_clean_error_within_budget(warm: None, cls: str) -> None:
    result = run_class(cls, FEWER.get(cls, CASES_PER_CLASS), SEED)
    print("\n" + table([result]))
    assert not result.failures, describe_failures([result])
