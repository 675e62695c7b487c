from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = ROOT / "config"
SEED_TABLE = SHIPPED_CONFIG / "source" / "task-table-2022.txt"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped config that a test may edit."""
    target = tmp_path / "config"
    shutil.copytree(SHIPPED_CONFIG, target)
    return target


TRACK_ALL_YEAR = "\ntrack_from: 2026-01-01\n"


@pytest.fixture
def tracked_config(config_dir: Path) -> Path:
    """The shipped config tracked from 1 January (`track_from`), as for a bureau that has
    run it all year: occurrences earlier than the test's clock can be overdue."""
    with (config_dir / "settings.yaml").open("a", encoding="utf-8") as out:
        out.write(TRACK_ALL_YEAR)
    return config_dir
