"""Re-import merges: the user's edits and comments survive, new tasks arrive, gone ones stay."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from reminders.cli.main import main
from reminders.config import load_config
from reminders.importer.rows import Row
from reminders.importer.source import read_table
from reminders.importer.writers import to_csv, to_text

from .conftest import SEED_TABLE, SHIPPED_CONFIG

SHIPPED = (SHIPPED_CONFIG / "duties.yaml").read_text(encoding="utf-8")


def seed_rows() -> tuple[str, list[Row]]:
    table = read_table(SEED_TABLE)
    return table.title, table.rows


def import_json(
    capsys: pytest.CaptureFixture[str], config_dir: Path, source: Path, *extra: str
) -> tuple[int, dict[str, object]]:
    code = main(["--config", str(config_dir), "import", str(source), "--json", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def duties_of(config_dir: Path) -> dict[str, dict[str, object]]:
    data = YAML(typ="safe").load((config_dir / "duties.yaml").read_text(encoding="utf-8"))
    return {d["id"]: d for d in data["duties"]}


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_missing_duties_are_added_in_place_byte_for_byte(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    blocks = SHIPPED.split("\n\n  - id: ")
    keep = [b for b in blocks if not b.startswith(('"4.2"', '"18.3"'))]
    head, first = keep[0].split("\nduties:\n  - id: ")
    assert first.startswith('"1.1"')
    text = head + "\nduties:\n  - id: " + "\n\n  - id: ".join(keep[1:]) + "\n"
    (config_dir / "duties.yaml").write_text(text, encoding="utf-8")
    code, report = import_json(capsys, config_dir, SEED_TABLE)
    assert code == 0
    assert report["added"] == ["1.1", "4.2", "18.3"]
    assert report["updated"] == [] and report["gone"] == []
    assert (config_dir / "duties.yaml").read_text(encoding="utf-8") == SHIPPED


@pytest.fixture
def edited(config_dir: Path) -> Path:
    """The shipped duties with a user's edits: rules, reminders, a title, comments."""
    text = SHIPPED
    text = edit(text, '  - id: "1.3"', '  # 备注: 1.3 由办公室负责\n  - id: "1.3"')
    text = edit(
        text,
        "    title: 集中组织党员干部观看学习《生命重于泰山--学习习近平总书记…",
        "    title: 观看专题片  # 我改的标题",
    )
    line_1_2 = (
        "    time_limit: 11月底前完成  # 读作: “11月底前完成” → deadline: 11; “每季度至少集中"
    )
    text = edit(text, line_1_2, "    lead_times: [14d, 1d]\n" + line_1_2)
    text = edit(
        text,
        '    time_limit: 9月底前完成  # 读作: “9月底前完成” → deadline: 09\n\n  - id: "2.1"',
        "    time_limit: 9月底前完成  # 读作: “9月底前完成” → deadline: 09\n"
        "    schedule:\n"
        "      - deadline: 10-15  # 延期到10月15日\n"
        "    overdue_steps: [1wd]\n\n"
        '  - id: "2.1"',
    )
    (config_dir / "duties.yaml").write_text(text, encoding="utf-8")
    return config_dir


def changed_table(tmp_path: Path) -> Path:
    """The seed with 1.2's time limit changed, 1.1 dropped and a new task 1.5."""
    title, rows = seed_rows()
    by_id = {r.id: r for r in rows}
    new = dataclasses.replace(
        by_id["1.4"], task_no=5, text="新增任务。", time_limit="每月至少组织1次"
    )
    rows = [
        dataclasses.replace(r, time_limit="10月底前完成") if r.id == "1.2" else r
        for r in rows
        if r.id != "1.1"
    ]
    rows.insert(3, new)
    source = tmp_path / "table-v2.txt"
    source.write_text(to_text(title, rows), encoding="utf-8")
    return source


def test_reimport_keeps_user_edits_and_comments(
    capsys: pytest.CaptureFixture[str], edited: Path, tmp_path: Path
) -> None:
    code, report = import_json(capsys, edited, changed_table(tmp_path))
    assert code == 0
    assert report["added"] == ["1.5"]
    assert report["updated"] == ["1.2"]
    assert report["gone"] == ["1.1"]
    assert {"id": "1.1", "reason": "gone"}.items() <= report["attention"][-1].items()  # type: ignore[index]
    assert report["kept_edits"] == {
        "1.2": ["lead_times"],
        "1.3": ["title"],
        "1.4": ["schedule", "overdue_steps"],
    }
    text = (edited / "duties.yaml").read_text(encoding="utf-8")
    assert "# 备注: 1.3 由办公室负责" in text
    assert "title: 观看专题片  # 我改的标题" in text
    assert "- deadline: 10-15  # 延期到10月15日" in text
    assert "time_limit: 10月底前完成  # 读作: “10月底前完成” → deadline: 10;" in text
    duties = duties_of(edited)
    assert list(duties)[:6] == ["1.1", "1.2", "1.3", "1.4", "1.5", "2.1"]
    assert duties["1.2"]["lead_times"] == ["14d", "1d"]
    assert duties["1.4"]["schedule"] == [{"deadline": "10-15"}]
    assert duties["1.5"]["units"] == ["教育局", "各校"]
    load_config(edited, plan_year=2022)  # still a valid config


def test_force_replaces_user_edits_but_keeps_gone_duties(
    capsys: pytest.CaptureFixture[str], edited: Path, tmp_path: Path
) -> None:
    code, report = import_json(capsys, edited, changed_table(tmp_path), "--force")
    assert code == 0
    assert report["kept_edits"] == {}
    duties = duties_of(edited)
    assert "schedule" not in duties["1.4"] and "overdue_steps" not in duties["1.4"]
    assert "lead_times" not in duties["1.2"]
    assert duties["1.3"]["title"].startswith("集中组织党员干部观看学习")
    assert "1.1" in duties


def test_generated_title_follows_the_text(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    title, rows = seed_rows()
    rows = [dataclasses.replace(r, text="改写后的任务。") if r.id == "1.1" else r for r in rows]
    source = tmp_path / "t.txt"
    source.write_text(to_text(title, rows), encoding="utf-8")
    code, report = import_json(capsys, config_dir, source)
    assert code == 0 and report["updated"] == ["1.1"] and report["kept_edits"] == {}
    assert duties_of(config_dir)["1.1"]["title"] == "改写后的任务"


def test_dry_run_merge_writes_nothing(
    capsys: pytest.CaptureFixture[str], edited: Path, tmp_path: Path
) -> None:
    before = (edited / "duties.yaml").read_bytes()
    code, report = import_json(capsys, edited, changed_table(tmp_path), "--dry-run")
    assert code == 0
    assert report["added"] == ["1.5"] and report["written"] == []
    assert (edited / "duties.yaml").read_bytes() == before


def unknown_unit_table(tmp_path: Path) -> Path:
    source = tmp_path / "t.csv"
    source.write_text(
        "措施,具体工作,责任单位,完成时限\n（一）甲,1.每月至少组织1次检查,县第九中学、各校,长期坚持\n",
        encoding="utf-8",
    )
    return source


def test_unknown_unit_is_reported_and_units_file_untouched(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    units_before = (config_dir / "units.yaml").read_bytes()
    code, report = import_json(
        capsys, config_dir, unknown_unit_table(tmp_path), "--output", str(tmp_path / "d.yaml")
    )
    assert code == 1  # written, but `validate` would fail until the unit exists
    assert report["unknown_units"] == ["县第九中学"]
    assert [(a["id"], a["reason"]) for a in report["attention"]] == [("1.1", "unknown-unit")]  # type: ignore[union-attr]
    assert (config_dir / "units.yaml").read_bytes() == units_before


def test_add_units_appends_them_without_channels(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    code, report = import_json(capsys, config_dir, unknown_unit_table(tmp_path), "--add-units")
    assert code == 0
    assert report["units_added"] == ["县第九中学"]
    text = (config_dir / "units.yaml").read_text(encoding="utf-8")
    assert text.startswith("# 责任单位 (units).")  # the comments survive
    assert text.endswith("  - name: 县第九中学\n    channels: []\n")
    config = load_config(config_dir)
    assert "县第九中学" in config.plan.unit_names()


def test_unmergeable_duties_file_is_left_alone(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    broken = "duties: [\n  - id: oops\n"
    (config_dir / "duties.yaml").write_text(broken, encoding="utf-8")
    code = main(["--config", str(config_dir), "import", str(SEED_TABLE)])
    err = capsys.readouterr().err
    assert code == 1
    assert "duties.yaml" in err and "--force" in err and "Traceback" not in err
    assert (config_dir / "duties.yaml").read_text(encoding="utf-8") == broken
    assert main(["--config", str(config_dir), "import", str(SEED_TABLE), "--force"]) == 0
    assert len(duties_of(config_dir)) == 51


def test_csv_reimport_of_the_seed_is_a_no_op(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    title, rows = seed_rows()
    source = tmp_path / "t.csv"
    source.write_text(to_csv(title, rows), encoding="utf-8")
    code, report = import_json(capsys, config_dir, source)
    assert code == 0
    assert report["written"] == [] and len(report["unchanged"]) == 51  # type: ignore[arg-type]


def test_reading_comment_restored_but_the_users_own_comment_kept(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    text = edit(
        SHIPPED,
        '    time_limit: 9月底前完成  # 读作: “9月底前完成” → deadline: 09\n\n  - id: "1.4"',
        '    time_limit: 9月底前完成\n\n  - id: "1.4"',
    )
    mine = '    time_limit: 9月底前完成 长期坚持  # 我的注释\n\n  - id: "1.2"'
    text = edit(
        text,
        "    time_limit: 9月底前完成 长期坚持  # 读作: “9月底前完成” → deadline: 09; “长期坚持” → "
        'standing: true\n\n  - id: "1.2"',
        mine,
    )
    (config_dir / "duties.yaml").write_text(text, encoding="utf-8")
    code, report = import_json(capsys, config_dir, SEED_TABLE)
    assert code == 0 and report["updated"] == ["1.3"]
    assert (config_dir / "duties.yaml").read_text(encoding="utf-8") == edit(
        SHIPPED,
        "    time_limit: 9月底前完成 长期坚持  # 读作: “9月底前完成” → deadline: 09; “长期坚持” → "
        'standing: true\n\n  - id: "1.2"',
        mine,
    )


def test_partners_column_arrives_and_leaves(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "t.csv"
    target = tmp_path / "d.yaml"
    header = "措施,具体工作,牵头单位,配合单位,完成时限\n（一）甲,1.组织检查,教育局,"
    for partner in ("", "各校", ""):
        source.write_text(f"{header}{partner},长期坚持\n", encoding="utf-8")
        code, _ = import_json(capsys, config_dir, source, "--output", str(target))
        assert code == 0
        lines = target.read_text(encoding="utf-8").splitlines()
        keys = [line.split(":")[0].strip() for line in lines if line.startswith("    ")]
        expected = ["title", "text", "units", "time_limit"]
        if partner:
            expected.insert(3, "partners")
        assert [k for k in keys if k in (*expected, "partners")] == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("plan_year: 2026\ntimezone: Asia/Shanghai\n", "not a duties file"),
        ("- just\n- a list\n", "not a duties file"),
        ("duties: {a: 1}\n", "not a duties file"),
        ("duties:\n  - id: 1\n bad: indent\n", "invalid YAML"),
        ("\xff\xfe", "not UTF-8"),
    ],
    ids=["settings-file-by-mistake", "a-list", "duties-not-a-list", "bad-yaml", "not-utf8"],
)
def test_output_that_is_not_a_duties_file_is_refused(
    content: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
    config_dir: Path,
    tmp_path: Path,
) -> None:
    target = tmp_path / "target.yaml"
    target.write_bytes(content.encode("latin-1") if message == "not UTF-8" else content.encode())
    before = target.read_bytes()
    code = main(["--config", str(config_dir), "import", str(SEED_TABLE), "--output", str(target)])
    err = capsys.readouterr().err
    assert code == 1
    assert message in err and "--force" in err and str(target) in err
    assert target.read_bytes() == before


def test_a_duties_file_with_an_empty_list_is_filled(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    (config_dir / "duties.yaml").write_text(
        "# 我的任务\ntitle: 我的表\nduties:\n", encoding="utf-8"
    )
    code, report = import_json(capsys, config_dir, SEED_TABLE)
    assert code == 0 and len(report["added"]) == 51  # type: ignore[arg-type]
    text = (config_dir / "duties.yaml").read_text(encoding="utf-8")
    assert text.startswith("# 我的任务\ntitle: 我的表\n")
    load_config(config_dir, plan_year=2022)
