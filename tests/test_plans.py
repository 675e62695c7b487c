"""Several plans (计划) in one service: duties.yaml and/or duties/<key>.yaml, each with its
own key, names and plan year; ids that never clash; retiring a plan; import --plan."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from reminders.cli.main import main
from reminders.closedloop import Loop, LoopStore, render_report
from reminders.config import Config, load_config
from reminders.config.loader import config_signature
from reminders.core.expand import Window, expand
from reminders.core.model import duty_sort_key
from reminders.delivery.plan import deliveries, reminders_between
from reminders.feeds import FeedBuilder
from reminders.ledger import Ledger

from .conftest import SEED_TABLE

TZ = ZoneInfo("Asia/Shanghai")
NOV = (datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 31, 23, 0, tzinfo=TZ))
SCHOOL = "县第一中学"

MONTHLY = """  - id: "4.5"
    title: {title}
    units: [各校]
    time_limit: 每月至少组织 1 次
"""
DEADLINE = """  - id: "1.1"
    title: 制定方案
    units: [教育局, 各校]
    time_limit: 9月底前完成
"""


def plan_file(config_dir: Path, name: str, head: str = "", *duties: str) -> Path:
    """Write duties/<name> (or duties.yaml for name 'duties.yaml') with these duties."""
    path = config_dir / name if name == "duties.yaml" else config_dir / "duties" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"{head}duties:\n{''.join(duties)}", encoding="utf-8")
    return path


def ids(config: Config, start: date, end: date, unit: str = SCHOOL) -> set[str]:
    return {o.id for o in expand(config.plan, Window(start, end), {unit})}


def keys(config: Config) -> set[str]:
    return {d.key for d in deliveries(config.plan, reminders_between(config.plan, *NOV))}


def feed_events(config: Config, unit: str = SCHOOL) -> dict[str, str]:
    """UID → SUMMARY of the unit's (or group's) feed, read back with icalendar."""
    feeds = FeedBuilder().build(config.plan, date(2026, 11, 20), NOV[0])
    feed = next(f for f in feeds.values() if f.spec.name == unit)
    calendar = icalendar.Calendar.from_ical(feed.body)
    return {str(e["UID"]): str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}


def test_two_plans_with_the_same_numbers_give_distinct_ids_keys_and_uids(
    config_dir: Path, tmp_path: Path
) -> None:
    (config_dir / "duties.yaml").unlink()
    plan_file(config_dir, "a.yaml", "short: 甲表\n", MONTHLY.format(title="检查"))
    plan_file(config_dir, "b.yaml", "", MONTHLY.format(title="检查"))
    config = load_config(config_dir)
    assert [t.key for t in config.plan.tables] == ["a", "b"]

    found = ids(config, date(2026, 11, 1), date(2026, 11, 30))
    assert found == {f"a:4.5/{SCHOOL}/2026-11", f"b:4.5/{SCHOOL}/2026-11"}
    titles = {
        o.duty: o.title for o in expand(config.plan, Window(date(2026, 11, 1), NOV[1].date()))
    }
    assert titles == {"a:4.5": "〔甲表〕检查", "b:4.5": "〔b〕检查"}

    planned = keys(config)
    for plan in ("a", "b"):
        assert f"{plan}:4.5/{SCHOOL}/2026-11@due>log" in planned
    assert not any(k.startswith("4.5/") for k in planned)

    events = feed_events(config)
    assert events[f"a:4.5/{SCHOOL}/2026-11@reminders.local"].count("〔甲表〕") == 1
    assert "〔b〕" in events[f"b:4.5/{SCHOOL}/2026-11@reminders.local"]
    group = feed_events(config, "各校")  # one event per duty and period for the group
    assert "〔甲表〕" in group["a:4.5/各校/2026-11@reminders.local"]
    assert "〔b〕" in group["b:4.5/各校/2026-11@reminders.local"]

    # closing one plan's occurrence leaves the other's open
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    loop = Loop(LoopStore.of(ledger), lambda: config.plan)
    loop.act(f"a:4.5/{SCHOOL}/2026-11", "done", NOV[0], by="王老师")
    closed = set(loop.store.closed())
    assert closed == {f"a:4.5/{SCHOOL}/2026-11"}
    still = {r.subject for r in reminders_between(config.plan, *NOV, completions=closed)}
    assert f"b:4.5/{SCHOOL}/2026-11" in still and f"a:4.5/{SCHOOL}/2026-11" not in still


def test_duties_yaml_keeps_its_ids_when_a_plan_joins_it(config_dir: Path) -> None:
    alone = load_config(config_dir)
    before_ids = ids(alone, date(2026, 1, 1), date(2026, 12, 31))
    before_keys = keys(alone)
    before_uids = set(feed_events(alone))

    plan_file(config_dir, "2025.yaml", "plan_year: 2025\n", MONTHLY.format(title="检查"))
    both = load_config(config_dir)
    assert both.plan.several and both.duties.duties == alone.duties.duties
    after = ids(both, date(2026, 1, 1), date(2026, 12, 31))
    assert {i for i in after if not i.startswith("2025:")} == before_ids
    assert f"2025:4.5/{SCHOOL}/2026-11" in after  # last year's table, still monthly
    assert f"1.1/{SCHOOL}/2026-09-30" in after  # the shipped table's, as before
    assert {k for k in keys(both) if "2025:" not in k} == before_keys
    assert {u for u in feed_events(both) if not u.startswith("2025:")} == before_uids
    # with several plans each duty names its plan (the shipped table's key is `duties`)
    titles = {o.title for o in expand(both.plan, Window(date(2026, 11, 1), date(2026, 11, 30)))}
    assert all(t.startswith(("〔duties〕", "〔2025〕")) for t in titles)


def test_each_plan_uses_its_own_plan_year(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config_dir / "duties.yaml").unlink()
    plan_file(config_dir, "last.yaml", "plan_year: 2025\n", DEADLINE)
    plan_file(config_dir, "this.yaml", "", DEADLINE)  # settings.yaml: plan_year 2026
    plan_file(
        config_dir,
        "spring.yaml",
        "plan_year: 2027\nplan_start: 2027-03-01\n",
        '  - id: "1"\n    title: 整改\n    units: [教育局]\n    time_limit: 立即整改\n',
    )
    config = load_config(config_dir)
    found = expand(config.plan, Window(date(2025, 1, 1), date(2027, 12, 31)), {"教育局"})
    dues = {o.duty: o.due for o in found}
    assert dues["last:1.1"] == date(2025, 9, 30)
    assert dues["this:1.1"] == date(2026, 9, 30)
    assert dues["spring:1"] == config.plan.calendar.add_workdays(date(2027, 3, 1), 5)
    assert config.plan.start == date(2025, 1, 1)

    # --plan-year moves the plans that follow settings.yaml, not those with a year of their own
    moved = load_config(config_dir, plan_year=2028)
    found = expand(moved.plan, Window(date(2025, 1, 1), date(2028, 12, 31)), {"教育局"})
    dues = {o.duty: o.due for o in found}
    assert dues["last:1.1"] == date(2025, 9, 30) and dues["this:1.1"] == date(2028, 9, 29)

    assert main(["--config", str(config_dir), "validate"]) == 0
    out = capsys.readouterr().out
    assert "3 个计划" in out and "last：1 项，计划年度 2025" in out


def test_retiring_a_plan_stops_its_reminders_and_keeps_its_history(
    tracked_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_dir = tracked_config
    old = plan_file(config_dir, "old.yaml", "", MONTHLY.format(title="老检查"), DEADLINE)
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    running = load_config(config_dir)
    plan = running.plan
    loop = Loop(LoopStore.of(ledger), lambda: plan)
    done_id = f"old:4.5/{SCHOOL}/2026-09"
    loop.act(done_id, "done", datetime(2026, 9, 20, 10, tzinfo=TZ), by="王老师", note="已查")
    today = datetime(2026, 11, 20, 10, tzinfo=TZ)
    # while it runs, it reminds, escalates and is overdue like any plan
    assert any(k.startswith("old:") for k in keys(running))
    assert any(k.startswith("escalate/old:") for k in keys(running))
    assert any(i.occurrence.duty == "old:4.5" for i in loop.overdue(today))

    old.write_text("active: false\n" + old.read_text(encoding="utf-8"), encoding="utf-8")
    retired = load_config(config_dir)
    plan = retired.plan
    assert [t.key for t in plan.tables if not t.active] == ["old"]
    assert not any("old:" in k for k in keys(retired))  # no reminders, no escalations
    assert not any(i.occurrence.duty.startswith("old:") for i in loop.overdue(today))
    assert not any(u.startswith("old:") for u in feed_events(retired))
    assert not any(
        o.duty.startswith("old:")
        for o in expand(plan, Window(date(2026, 1, 1), date(2026, 12, 31)))
    )
    report = loop.report(today)
    _, text = render_report(report)
    assert "老检查" not in text  # nothing of it among the worst overdue
    # its history stays: the state, the rows, the occurrence by id, what it counted as done
    assert loop.store.get(done_id) is not None and loop.store.get(done_id).state == "done"
    assert [c.action for c in loop.store.history(done_id)] == ["done"]
    found = loop.find(done_id, today)
    assert found is not None and not found.tracked and found.title == "〔old〕老检查"
    assert report.unit(SCHOOL).done_on_time == 1  # the one closure in the ledger
    listed = loop.listing(SCHOOL, date(2026, 9, 1), date(2026, 9, 30))
    assert done_id not in {item.occurrence.id for item in listed}  # the unit's to-do list

    from reminders.console.export import ledger_rows

    rows = ledger_rows(loop, today, date(2026, 1, 1), date(2026, 11, 30), [SCHOOL])
    old_rows = [r.occurrence.id for r in rows if r.occurrence.duty.startswith("old:")]
    assert old_rows == [done_id]  # the 台账 keeps what was done under it, nothing else

    from reminders.console import views

    sections = views.unit_sections(loop, SCHOOL, today, date(2026, 9, 1), date(2026, 12, 31), {})
    shown = [e for s in sections for e in s.entries if isinstance(e, views.Item)]
    assert shown and all(e.occurrence.title.startswith("〔duties〕") for e in shown)
    task = views.duty_view(loop, "old:4.5", "2026-09", today, [SCHOOL])
    assert task is not None and [i.state for i in task.items] == ["done"]  # its page stays

    argv = ["--config", str(config_dir), "--state-dir", str(tmp_path / "none"), "agenda"]
    assert main([*argv, "--from", "2026-11-01", "--to", "2026-11-30", "--unit", SCHOOL]) == 0
    out = capsys.readouterr().out
    assert "old:" not in out.split("已停用的计划不列出")[0] and "已停用的计划不列出：old" in out
    assert main([*argv, "--from", "2026-11-01", "--to", "2026-11-30", "--plan", "old"]) == 0
    out = capsys.readouterr().out
    assert f"old:4.5/{SCHOOL}/2026-11" in out and "已停用" in out and "未跟踪" not in out
    assert main([*argv, "--plan", "nope"]) == 1
    assert "没有这个计划" in capsys.readouterr().err


def test_import_plan_creates_then_merges_its_own_file(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top = config_dir / "duties.yaml"
    original = top.read_bytes()
    argv = ["--config", str(config_dir), "import", str(SEED_TABLE)]

    assert main([*argv, "--plan", "y2025", "--year", "2025", "--dry-run"]) == 0
    assert not (config_dir / "duties").exists()
    capsys.readouterr()

    assert main([*argv, "--plan", "y2025", "--year", "2025"]) == 0
    out = capsys.readouterr().out
    written = config_dir / "duties" / "y2025.yaml"
    assert f"已写入 (written)：{written}" in out
    assert "duties.yaml 原样保留" in out and "请勿把 duties.yaml 移进 duties/" in out
    assert top.read_bytes() == original  # the user's file is not touched
    text = written.read_text(encoding="utf-8")
    assert "\nsource_year: 2025\nplan_year: 2025\nduties:\n" in text
    config = load_config(config_dir)
    assert [t.key for t in config.plan.tables] == ["duties", "y2025"]
    assert config.plan.table("y2025").plan_year == 2025  # type: ignore[union-attr]
    assert f"y2025:1.1/{SCHOOL}/2025-09-30" in ids(config, date(2025, 9, 1), date(2025, 9, 30))

    # a person's edits are kept on the next import into the same plan
    edited = text.replace("title: 局党组、各校党支部必须高度重视", "title: 党支部高度重视")
    written.write_text("short: 去年表\n" + edited, encoding="utf-8")
    assert main([*argv, "--plan", "y2025", "--plan-year", "2026"]) == 0
    out = capsys.readouterr().out
    assert f"计划 (plan) y2025：合并进 {written}" in out and "新计划" not in out
    merged = written.read_text(encoding="utf-8")
    assert "title: 党支部高度重视" in merged and merged.startswith("short: 去年表\n")
    assert "plan_year: 2026" in merged and "plan_year: 2025" not in merged
    assert top.read_bytes() == original

    # duties.yaml is the plan `duties` (or what its key: says)
    assert main([*argv, "--plan", "duties", "--year", "2022"]) == 0
    assert "无需写入" in capsys.readouterr().out and top.read_bytes() == original

    assert main([*argv, "--plan", "Bad_Key"]) == 2
    assert "不是计划键" in capsys.readouterr().err


def test_import_without_plan_asks_which_when_plans_are_in_duties_folder(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config_dir / "duties.yaml").unlink()
    plan_file(config_dir, "a.yaml", "", DEADLINE)
    assert main(["--config", str(config_dir), "import", str(SEED_TABLE)]) == 1
    err = capsys.readouterr().err
    assert "用 --plan KEY 指定" in err and "已有：a" in err
    assert not (config_dir / "duties.yaml").exists()


def test_import_into_a_plan_named_by_its_key_line(config_dir: Path) -> None:
    top = config_dir / "duties.yaml"
    top.write_text("key: main\n" + top.read_text(encoding="utf-8"), encoding="utf-8")
    before = top.read_bytes()
    assert main(["--config", str(config_dir), "import", str(SEED_TABLE), "--plan", "main"]) == 0
    assert top.read_bytes() == before and not (config_dir / "duties").exists()


@pytest.mark.parametrize(
    ("files", "message", "where"),
    [
        ({"duties/Bad.yaml": ""}, "计划文件名即计划键", "duties/Bad.yaml:1"),
        ({"duties/x.yaml": "key: y\n"}, "计划键与文件名不一致", "duties/x.yaml:1: key"),
        ({"duties.yaml+": "key: x\n", "duties/x.yaml": ""}, "计划键重复", "duties/x.yaml:"),
        ({"duties.yaml+": "key: Upper\n"}, "key", "duties.yaml:1"),
        ({"duties/x.yaml": "active: maybe\n"}, "active", "duties/x.yaml:1"),
    ],
)
def test_validate_checks_plan_keys_and_files(
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    message: str,
    where: str,
) -> None:
    for name, head in files.items():
        if name.endswith("+"):  # prepend to the existing file
            path = config_dir / name[:-1]
            path.write_text(head + path.read_text(encoding="utf-8"), encoding="utf-8")
        else:
            plan_file(config_dir, name.removeprefix("duties/"), head, DEADLINE)
    assert main(["--config", str(config_dir), "validate"]) == 1
    err = capsys.readouterr().err
    assert message in err and where in err, err
    assert "Traceback" not in err


def test_a_yml_file_in_the_duties_folder_is_named_and_not_read(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file(config_dir, "x.yml", "", DEADLINE)
    config = load_config(config_dir)
    assert not config.plan.several
    assert any("须以 .yaml 结尾" in str(w) and "x.yml" in str(w) for w in config.plan.warnings)


def test_messages_overdue_and_report_name_the_plan(
    tracked_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_dir = tracked_config
    plan_file(config_dir, "drown.yaml", "short: 防溺水\n", MONTHLY.format(title="巡查河道"))
    base = ["--config", str(config_dir), "--state-dir", str(tmp_path / "state")]
    assert main([*base, "due", "--at", "2026-11-30T09:30", "--render"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\[drown:4\.5\] 〔防溺水〕巡查河道", out), out
    assert re.search(r"\[4\.5\] 〔duties〕", out), out
    assert main([*base, "overdue", "--at", "2026-12-10T09:30", "--unit", SCHOOL]) == 0
    out = capsys.readouterr().out
    assert f"drown:4.5/{SCHOOL}/2026-11" in out and "〔防溺水〕巡查河道" in out


def test_reload_sees_plan_files_come_and_go(config_dir: Path) -> None:
    before = config_signature(config_dir)
    path = plan_file(config_dir, "new.yaml", "", DEADLINE)
    added = config_signature(config_dir)
    assert added != before
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert config_signature(config_dir) != added
    path.unlink()
    assert config_signature(config_dir) == before


def test_duty_ids_sort_by_plan_then_number() -> None:
    found = ["b:1", "a:10", "10", "x", "a:2", "2", "2.3", "ab:1", "a:2.1"]
    assert sorted(found, key=duty_sort_key) == [
        "2",
        "2.3",
        "10",
        "a:2",
        "a:2.1",
        "a:10",
        "ab:1",
        "b:1",
        "x",
    ]


def test_a_retired_plan_counts_only_its_closed_work(config_dir: Path, tmp_path: Path) -> None:
    plan_file(config_dir, "old.yaml", "active: false\n", MONTHLY.format(title="老检查"))
    config = load_config(config_dir)
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    loop = Loop(LoopStore.of(ledger), lambda: config.plan)
    now = datetime(2026, 12, 15, 10, tzinfo=TZ)
    # a retired plan's occurrence can still be closed (a late record), and is then counted
    loop.act(f"old:4.5/{SCHOOL}/2026-10", "waive", now - timedelta(days=3), note="停课")
    report = loop.report(now, date(2026, 10, 1), date(2026, 11, 30))
    assert report.unit(SCHOOL).waived == 1
    assert report.unit("县第二中学").untracked == 0  # its open ones are not counted at all


def test_the_trial_names_the_plan_file_of_a_duty_that_would_fail(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reminders.core import expand as expansion
    from reminders.daemon.trial import check_service_start
    from reminders.exceptions import ConfigError

    plan_file(config_dir, "b.yaml", "", DEADLINE, MONTHLY.format(title="检查"))
    config = load_config(config_dir)
    original = expansion._Expander.slots_for

    def failing(self: expansion._Expander, compiled: expansion.CompiledDuty) -> object:
        if compiled.duty.id == "b:4.5":
            raise OverflowError("date value out of range")
        return original(self, compiled)

    monkeypatch.setattr(expansion._Expander, "slots_for", failing)
    with pytest.raises(ConfigError) as caught:
        check_service_start(config, datetime(2026, 11, 30, 9, 30, tzinfo=TZ))
    (problem,) = caught.value.problems  # not duties.yaml's own 4.5
    assert problem.file == str(config_dir / "duties" / "b.yaml")
    assert (problem.line, problem.field) == (6, "duties[1].time_limit")
    assert "任务 b:4.5" in problem.message
