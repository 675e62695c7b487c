"""`overdue`, `report` and `history` only read: with no ledger they show an empty
state (everything open, nothing done) and create no file or directory; only
`done`, `undo` and `waive` create the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_loop_cli import run

AT = "2026-10-12T10:00"  # September's monthly check (4.5/教育局/2026-09) is overdue
READS = [
    ("overdue", "--unit", "教育局", "--at", AT),
    ("report", "--at", AT),
    ("history",),
]


@pytest.mark.parametrize("argv", READS, ids=[a[0] for a in READS])
@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_reading_commands_create_nothing(
    tracked_config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    json_output: bool,
) -> None:
    state = tmp_path / "no" / "state"
    code, out, err = run(capsys, tracked_config, state, *argv, *(["--json"] if json_output else []))
    assert code == 0, err
    assert not (tmp_path / "no").exists()
    where = state / "ledger.sqlite3"
    assert f"还没有台账 (no ledger yet)：{where}；尚无事项标记为完成或免除" in err
    if json_output:
        json.loads(out)
    elif argv[0] == "overdue":
        assert "4.5/教育局/2026-09" in out
    elif argv[0] == "report":
        assert "教育局" in out and "逾期最久" in out
    else:
        assert out == ""


def test_no_ledger_reads_as_an_empty_one(
    tracked_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_dir = tracked_config
    missing, empty = tmp_path / "missing", tmp_path / "empty"
    assert run(capsys, config_dir, empty, "waive", "4.5/教育局/2026-09", "--reason", "x")[0] == 0
    assert run(capsys, config_dir, empty, "undo", "4.5/教育局/2026-09")[0] == 0
    assert (empty / "ledger.sqlite3").exists()  # writers create it

    seen: dict[str, dict[str, list[dict[str, object]]]] = {}
    for argv in READS[:2]:
        code, without, err = run(capsys, config_dir, missing, *argv, "--json")
        assert code == 0 and "no ledger yet" in err
        code, reference, err = run(capsys, config_dir, empty, *argv, "--json")
        assert code == 0 and "no ledger yet" not in err
        assert json.loads(without) == json.loads(reference)
        seen[argv[0]] = json.loads(without)
    assert "4.5/教育局/2026-09" in {item["id"] for item in seen["overdue"]["overdue"]}
    bureau = next(u for u in seen["report"]["units"] if u["unit"] == "教育局")
    assert bureau["overdue"] and bureau["done_on_time"] == bureau["done_late"] == 0
    assert not missing.exists()
