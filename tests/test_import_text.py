"""`reminders import` of the seed text table, and the shipped duties it must reproduce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reminders.cli.main import main
from reminders.config import load_config

from .conftest import SEED_TABLE, SHIPPED_CONFIG

BOTH = ("教育局", "各校")
BUREAU_ONLY = {"3.2", "3.3", "4.5", "7.1", "7.2", "12.1", "12.2", "14.6", "17.2"}
SCHOOLS_ONLY = {"5.2", "9.1", "9.2", "10.1", "12.3", "14.2", "14.3", "14.4", "14.5", "15.2"}
TASKS_PER_MEASURE = {
    1: 4,
    2: 2,
    3: 3,
    4: 5,
    5: 5,
    6: 2,
    7: 2,
    8: 2,
    9: 2,
    10: 2,
    11: 3,
    12: 3,
    14: 6,
    15: 3,
    16: 2,
    17: 2,
    18: 3,
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def expected_ids() -> list[str]:
    return [f"{m}.{t}" for m, n in TASKS_PER_MEASURE.items() for t in range(1, n + 1)]


def test_seed_gives_51_tasks_in_order_with_units_and_rules(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "duties.yaml"
    code, out, _ = run(
        capsys, "--config", str(config_dir), "import", str(SEED_TABLE), "--output", str(target)
    )
    assert code == 0, out
    (config_dir / "duties.yaml").write_bytes(target.read_bytes())
    config = load_config(config_dir, plan_year=2022)  # 7.1 has expired by the shipped year
    duties = config.duties.duties
    assert [d.id for d in duties] == expected_ids()
    assert len(duties) == 51
    for d in duties:
        if d.id in BUREAU_ONLY:
            assert d.units == ["教育局"], d.id
        elif d.id in SCHOOLS_ONLY:
            assert d.units == ["各校"], d.id
        else:
            assert tuple(d.units) == BOTH, d.id
        assert d.partners == []
    assert all(c.rules for c in config.plan.duties)
    assert "任务 (tasks) 51 项：读懂时限 (rule understood) 51 项" in out


def test_seed_report_as_json(capsys: pytest.CaptureFixture[str], config_dir: Path) -> None:
    code, out, _ = run(
        capsys, "--config", str(config_dir), "import", str(SEED_TABLE), "--dry-run", "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["tasks"] == 51
    assert report["understood"] == 51
    assert report["errors"] == 0
    assert [(a["id"], a["reason"]) for a in report["attention"]] == [("7.1", "conflict")]
    conflict = report["attention"][0]["detail"]
    assert "4月起" in conflict and "从5月起" in conflict
    assert report["written"] == [] and report["dry_run"] is True


def test_conflict_is_in_the_text_report(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    code, out, _ = run(capsys, "--config", str(config_dir), "import", str(SEED_TABLE), "--dry-run")
    assert code == 0
    lines = [line for line in out.splitlines() if "7.1" in line]
    assert len(lines) == 1 and "4月起" in lines[0] and "5月起" in lines[0]
    assert "试运行 (dry run)：没有写入任何文件" in out


def test_shipped_duties_are_what_import_makes_of_the_seed(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    """The one producer of config/duties.yaml is `reminders import` (byte for byte)."""
    (config_dir / "duties.yaml").unlink()
    source = config_dir / "source" / "task-table-2022.txt"
    code, out, _ = run(capsys, "--config", str(config_dir), "import", str(source), "--year", "2022")
    assert code == 0, out
    assert (config_dir / "duties.yaml").read_bytes() == (
        SHIPPED_CONFIG / "duties.yaml"
    ).read_bytes()


def test_reimporting_the_seed_into_the_shipped_config_changes_nothing(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    shipped = (config_dir / "duties.yaml").stat().st_mtime_ns
    source = config_dir / "source" / "task-table-2022.txt"
    code, out, _ = run(capsys, "--config", str(config_dir), "import", str(source), "--year", "2022")
    assert code == 0
    assert "新增 (added) 0 项，更新 (updated) 0 项，未变 (unchanged) 51 项" in out
    assert "无需写入：任务清单已是最新 (already up to date)" in out
    assert (config_dir / "duties.yaml").stat().st_mtime_ns == shipped


def test_config_option_after_the_command(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    (config_dir / "duties.yaml").unlink()
    code, _, _ = run(capsys, "import", str(SEED_TABLE), "--config", str(config_dir))
    assert code == 0
    assert (config_dir / "duties.yaml").exists()


def test_dry_run_writes_nothing(capsys: pytest.CaptureFixture[str], config_dir: Path) -> None:
    (config_dir / "duties.yaml").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in config_dir.iterdir()}
    code, _, _ = run(capsys, "--config", str(config_dir), "import", str(SEED_TABLE), "--dry-run")
    assert code == 0
    assert {p.name: p.stat().st_mtime_ns for p in config_dir.iterdir()} == before
