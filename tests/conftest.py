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
