"""Layouts real task tables have (issue #11): flat tables, other headers, spans, merged
cells, several tasks in one cell, notices with no table, ids from the table's numbering."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import docx
import icalendar
import openpyxl  # type: ignore[import-untyped]
import pytest
from ruamel.yaml import YAML

from reminders.cli.main import main
from reminders.config import load_config
from reminders.core.model import Duty
from reminders.delivery.render import duty_texts
from reminders.feeds import FeedBuilder

from .helpers import duty, make_plan


def run(
    capsys: pytest.CaptureFixture[str], config_dir: Path, source: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    code = main(["--config", str(config_dir), "import", str(source), "--json", *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    return code, json.loads(captured.out)


def duties_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    return list(report["duties"])


def brief(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(id, text start, units, partners, leader, kind, deadline) of each duty read."""
    return [
        (
            d["id"],
            d["text"][:6],
            d["units"],
            d["partners"],
            d["leader"],
            d["reading"]["kind"],
            d["reading"]["deadline"],
        )
        for d in duties_of(report)
    ]


def picked(report: dict[str, Any], *keys: str) -> list[tuple[Any, ...]]:
    """Those fields of each duty read (`kind` and `deadline` from its reading)."""
    return [
        tuple(d["reading"][k] if k in ("kind", "deadline") else d[k] for k in keys)
        for d in duties_of(report)
    ]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def columns(report: dict[str, Any]) -> list[tuple[int, str | None]]:
    return [(c["column"], c["field"]) for c in report["columns"]]


# ---------------------------------------------------------------- tables


def test_a_flat_csv_with_number_task_units_and_time(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(
        tmp_path,
        "flat.csv",
        "序号,具体工作,责任单位,完成时限\n"
        "1,开展校园安全大检查,教育局,9月底前完成\n"
        "2,每月组织一次消防演练,各校,每月\n"
        "3,修订应急预案,教育局、各校,年底前\n",
    )
    code, report = run(capsys, config_dir, source, "--dry-run")
    assert code == 0, report["attention"]
    assert columns(report) == [(1, "number"), (2, "task"), (3, "units"), (4, "time")]
    assert brief(report) == [
        ("1", "开展校园安全", ["教育局"], [], None, "deadline", "09-30"),
        ("2", "每月组织一次", ["各校"], [], None, "recurring", None),
        ("3", "修订应急预案", ["教育局", "各校"], [], None, "deadline", "12-31"),
    ]


def test_other_headers_a_number_after_the_task_partners_leader_and_remarks(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(
        tmp_path,
        "t.csv",
        "重点任务,编号,牵头单位,配合单位,责任领导,时间节点,备注\n"
        "完善校舍安全档案,1,教育局,县第一中学,张 华 李明,2026年6月底前,已启动\n"
        "开展防溺水专题教育,2,县第二中学,,王强,每学期,\n",
    )
    code, report = run(capsys, config_dir, source, "--dry-run")
    assert columns(report) == [
        (1, "task"),
        (2, "number"),
        (3, "units"),
        (4, "partners"),
        (5, "leader"),
        (6, "time"),
        (7, "ignore"),
    ]
    assert brief(report) == [
        ("1", "完善校舍安全", ["教育局"], ["县第一中学"], "张 华 李明", "deadline", "2026-06-30"),
        ("2", "开展防溺水专", ["县第二中学"], [], "王强", "recurring", None),
    ]
    assert code == 0


def test_no_header_row_the_content_decides(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(
        tmp_path,
        "bare.csv",
        "1,各校要组织开展一次安全隐患大排查,各校,9月底前\n"
        "2,教育局督导检查各校整改落实情况,教育局,11月底前\n"
        "3,总结全年安全工作形成书面报告,教育局,年底前\n",
    )
    code, report = run(capsys, config_dir, source, "--dry-run")
    assert code == 0
    assert columns(report) == [(1, "number"), (2, "task"), (3, "units"), (4, "time")]
    reasons = [c["reason"] for c in report["columns"]]
    assert all("内容 content" in r for r in reasons), reasons
    assert [d["id"] for d in duties_of(report)] == ["1", "2", "3"]


def test_a_spanning_header_in_word_text_is_laid_over_the_columns_that_fit(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Word text keeps a spanning header cell once: 4 header cells over 5 columns."""
    text = "\t工作任务\n\t具体要求\n\t责任科室\n\t时限要求\n\n"
    rows = [
        ("规范公开", "1", "全面清理规范性文件并公布目录", "办公室", "年底前"),
        ("", "2", "规范办理政府信息公开申请", "各科室", "持续推进"),
        ("加强宣传", "3", "积极参加政务公开交流活动", "各科室", "持续推进"),
    ]
    for row in rows:
        text += "".join(f"\t{cell}\n" for cell in row) + "\n"
    code, report = run(capsys, config_dir, write(tmp_path, "t.txt", text), "--dry-run")
    assert columns(report) == [(1, "group"), (2, "number"), (3, "task"), (4, "units"), (5, "time")]
    assert [(d["id"], d["section"]) for d in duties_of(report)] == [
        ("1", "规范公开"),
        ("2", "规范公开"),  # the merged section cell
        ("3", "加强宣传"),
    ]
    assert code == 1  # 办公室 and 各科室 are not in units.yaml


def test_a_title_row_and_repeated_spanning_header_in_word_text_stay_rows_of_their_own(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A one-cell title row and a header of 4 cells over 5 columns together fit the width,
    but are no row cut in two: the header stays the header, and so is it when repeated."""
    header = "\t工作任务\n\t具体要求\n\t责任科室\n\t时限要求\n\n"
    text = "\t2024年政务公开重点任务清单\n\n" + header
    rows = [
        ("规范公开", "1", "全面清理规范性文件并公布目录", "办公室", "年底前"),
        ("", "2", "规范办理政府信息公开申请", "各科室", "持续推进"),
        ("加强宣传", "3", "积极参加政务公开交流活动", "各科室", "持续推进"),
    ]
    for n, row in enumerate(rows):
        text += (header if n == 2 else "") + "".join(f"\t{cell}\n" for cell in row) + "\n"
    _, report = run(capsys, config_dir, write(tmp_path, "t.txt", text), "--dry-run")
    assert columns(report) == [(1, "group"), (2, "number"), (3, "task"), (4, "units"), (5, "time")]
    assert picked(report, "id", "section", "units", "deadline") == [
        ("1", "规范公开", ["办公室"], "12-31"),
        ("2", "规范公开", ["各科室"], None),
        ("3", "加强宣传", ["各科室"], None),
    ]


def _docx(tmp_path: Path, rows: list[list[str]], merges: list[tuple[int, int, int]]) -> Path:
    """A Word table of `rows`; `merges` are (column, first row, last row) merged down."""
    document = docx.Document()
    document.add_paragraph("某县教育局安全工作任务分工表")
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            if text:
                table.cell(r, c).text = text
    for column, first, last in merges:
        table.cell(first, column).merge(table.cell(last, column))
    path = tmp_path / "t.docx"
    document.save(str(path))
    return path


def test_word_merged_cells_repeated_header_title_and_section_rows(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["序号", "工作任务", "责任单位", "完成时限"]
    rows = [
        ["2026年安全工作任务台账"] * 4,  # a title row inside the table
        header,
        ["一、隐患排查"] * 4,  # a section row
        ["1", "开展校舍安全排查", "教育局", "6月底前"],
        ["2", "建立隐患整改台账", "", ""],  # units and time merged from the row above
        header,  # the header again on the next page
        ["二、宣传教育"] * 4,
        ["3", "开展安全生产月活动", "各校", ""],  # a blank time cell in Word is blank
    ]
    source = _docx(tmp_path, rows, merges=[(2, 3, 4), (3, 3, 4)])
    code, report = run(capsys, config_dir, source, "--dry-run")
    assert [(d["id"], d["section"], d["units"], d["time_limit"]) for d in duties_of(report)] == [
        ("1", "一、隐患排查", ["教育局"], "6月底前"),
        ("2", "一、隐患排查", ["教育局"], "6月底前"),
        ("3", "二、宣传教育", ["各校"], ""),
    ]
    reasons = {(a["id"], a["reason"]) for a in report["attention"]}
    assert ("2", "inherited") not in reasons  # Word says it is merged: nothing to check
    assert ("3", "no-time-limit") in reasons  # 安全生产月 in the text: June, from calendar.yaml
    assert code == 0


def test_blank_cells_in_text_or_csv_are_merged_only_inside_their_section(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(
        tmp_path,
        "t.csv",
        "类别,工作任务,责任单位,完成时限\n"
        "组织领导,成立安全工作领导小组,教育局,3月底前\n"
        ",制定年度安全工作方案,,\n"  # same section: read as merged (and said so)
        "宣传教育,开展安全宣传进校园活动,各校,\n",  # a new section: blank stays blank
    )
    code, report = run(capsys, config_dir, source, "--dry-run")
    assert picked(report, "id", "units", "time_limit") == [
        ("1", ["教育局"], "3月底前"),
        ("2", ["教育局"], "3月底前"),
        ("3", ["各校"], ""),
    ]
    inherited = [a for a in report["attention"] if a["reason"] == "inherited"]
    assert [a["id"] for a in inherited] == ["2", "2"]
    assert any(a["id"] == "3" and a["reason"] == "no-rule" for a in report["attention"])
    assert code == 1


def test_a_task_carried_over_to_the_next_row(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(
        tmp_path,
        "t.csv",
        "序号,工作任务,责任单位,完成时限\n"
        "1,加强校园周边治安综合治理，,教育局,长期坚持\n"
        ",联合公安部门开展巡查,,\n"  # a page break inside the cell
        "2,完善校园视频监控系统,各校,9月底前\n",
    )
    code, report = run(capsys, config_dir, source, "--dry-run")
    assert [(d["id"], d["text"]) for d in duties_of(report)] == [
        ("1", "加强校园周边治安综合治理，联合公安部门开展巡查"),
        ("2", "完善校园视频监控系统"),
    ]
    assert code == 0


def test_a_calendar_lists_several_tasks_per_month(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(
        tmp_path,
        "t.csv",
        "月份,具体措施\n"
        '九月,"1.开学安全检查；\n2.新生安全教育。"\n'
        '十月,"1.消防演练；\n2.11月9日前完成消防器材检查；"\n'
        "十一月,3.开展安全教育月活动\n"
        '十二月,"1.期末安全检查；\n2.寒假安全教育。"\n'
        '一月,"1.安全工作总结；\n2.评比表彰。"\n',
    )
    code, report = run(capsys, config_dir, source, "--dry-run")
    assert columns(report) == [(1, "time"), (2, "task")]
    assert picked(report, "id", "time_limit", "deadline") == [
        ("1.1", "九月", "09-30"),
        ("1.2", "九月", "09-30"),
        ("2.1", "十月", "10-31"),
        ("2.2", "十月", "10-31"),
        ("3.3", "十一月", "11-30"),  # a row of one task keeps its own number
        ("4.1", "十二月", "12-31"),
        ("4.2", "十二月", "12-31"),
        ("5.1", "次年一月", "01-31"),  # the school year runs on into the next year
        ("5.2", "次年一月", "01-31"),
    ]
    conflict = [a["reason"] for a in report["attention"] if a["id"] == "2.2"]
    assert "conflict" in conflict  # 11月9日 is not in 十月
    assert [a["reason"] for a in report["attention"] if a["id"] == "5.1"] == [
        "no-unit",
        "next-year",
    ]
    assert code == 1  # no units column: a person fills them in


def test_numbered_items_with_their_own_units_and_times_are_sub_tasks(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(
        tmp_path,
        "t.csv",
        "序号,工作任务,责任单位,完成时限\n"
        '1,"1.修订校舍安全管理制度（责任单位：教育局）6月底前完成；\n'
        '2.开展校舍安全自查（责任单位：各校）每季度一次。",教育局,\n'
        "2,落实安全工作责任制,教育局,长期坚持\n"
        '3,"1.组织安全演练；\n2.总结演练情况。",各校,每学期\n',
    )
    code, report = run(capsys, config_dir, source, "--dry-run")
    assert picked(report, "id", "units", "kind") == [
        ("1.1", ["教育局"], "deadline"),
        ("1.2", ["各校"], "recurring"),
        ("2", ["教育局"], "standing"),
        ("3", ["各校"], "recurring"),  # items without units or times of their own: one task
    ]
    assert code == 0


def test_units_cells_as_offices_write_them(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(
        tmp_path,
        "t.csv",
        "工作任务,责任单位,完成时限\n"
        "更新政务公开专栏,办公室牵头，各科室配合,长期坚持\n"
        "发布疫情防控信息,应急处、疾控处、基层处等按职责分工落实,长期推进\n"
        "规范信息发布,宣传处会办公室,2021年8月前\n"
        "做好爱国卫生运动宣传,规划信息处（爱卫办）,常态化\n"
        "开展防汛巡查,农村办 国土所 村（社区）,4月\n"
        '做好健康教育宣传,"规划信息处(爱卫办),村(社区)",长期推进\n',  # ASCII, as web copies
    )
    code, report = run(capsys, config_dir, source, "--dry-run")
    assert [(d["units"], d["partners"]) for d in duties_of(report)] == [
        (["办公室"], ["各科室"]),
        (["应急处", "疾控处", "基层处"], []),
        (["宣传处"], ["办公室"]),
        (["规划信息处（爱卫办）"], []),
        (["农村办", "国土所", "村（社区）"], []),
        (["规划信息处（爱卫办）", "村（社区）"], []),  # the same units as written full-width
    ]
    assert code == 1  # none of them is in units.yaml


def test_group_words_are_kept_as_groups_that_add_units_creates(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(
        tmp_path,
        "t.csv",
        "工作任务,责任单位,完成时限\n"
        "做好信息公开,办公室牵头，各科室配合,年底前\n"
        "落实防汛责任,各乡镇、区直各部门,4月\n",
    )
    (config_dir / "duties.yaml").unlink()
    code, report = run(capsys, config_dir, source, "--add-units")
    assert code == 0
    assert report["units_added"] == ["办公室", "各科室", "各乡镇", "区直各部门"]
    units = YAML(typ="safe").load((config_dir / "units.yaml").read_text(encoding="utf-8"))
    assert units["groups"] == ["各科室", "各乡镇", "区直各部门"]
    assert {"name": "办公室", "channels": []} in units["units"]
    assert not any(u["name"].startswith("各") for u in units["units"])
    assert main(["--config", str(config_dir), "validate"]) == 0
    err = capsys.readouterr().err
    assert "各乡镇" in err and "group has no units yet" in err  # a warning, not an error
    plan = load_config(config_dir).plan
    assert next(c for c in plan.duties if c.duty.id == "2").units == ()  # nobody yet


def test_a_person_column_is_the_leader_shown_in_messages_and_feeds(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["序号", "时 间", "内 容", "责任单位", "责任人"])
    sheet.append([1, "2026年 5月 -10月", "迎接国家卫生城市复审宣传", "教育局", "刘 云 王武周"])
    sheet.append([2, None, "组织开展秋季绿化宣传", None, None])
    sheet.merge_cells("D2:D3")
    sheet.merge_cells("E2:E3")
    source = tmp_path / "t.xlsx"
    book.save(source)
    code, report = run(capsys, config_dir, source)
    assert code == 1  # row 2 has no time limit
    assert columns(report) == [(1, "number"), (2, "time"), (3, "task"), (4, "units"), (5, "leader")]
    assert [(d["units"], d["leader"]) for d in duties_of(report)] == [
        (["教育局"], "刘 云 王武周"),
        (["教育局"], "刘 云 王武周"),
    ]
    written = YAML(typ="safe").load((config_dir / "duties.yaml").read_text(encoding="utf-8"))
    first = written["duties"][0]
    assert first["leader"] == "刘 云 王武周" and first["units"] == ["教育局"]
    assert first["time_limit"] == "2026年 5月 -10月"
    plan = make_plan([Duty.model_validate({**first, "id": "1"})])
    assert duty_texts(plan)["1"].endswith("（责任人：刘 云 王武周）")
    feeds = FeedBuilder().build(plan, date(2026, 5, 1), datetime(2026, 5, 1, tzinfo=UTC))
    calendar = icalendar.Calendar.from_ical(feeds["教育局"].body)
    descriptions = [str(e["DESCRIPTION"]) for e in calendar.walk("VEVENT")]
    assert descriptions and all("责任人：刘 云 王武周" in d for d in descriptions)


# ---------------------------------------------------------------- notices


NOTICE = """关于印发2026年安全工作要点的通知
各学校：
现将有关事项通知如下。
一、重点工作
1.开展校园安全隐患排查整治，2026年6月底前完成。
牵头单位：教育局
责任单位：县第一中学、县第二中学
2.加强学生防溺水教育。
责任单位：各校
配合单位：县实验小学
3.全面落实校园安全责任制。（责任单位：教育局；责任人：张华）
二、工作要求
1.各单位要高度重视，于7月17日前报送落实情况。
2.要加强宣传引导。
"""


def test_a_notice_with_unit_lines_and_a_units_note(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run(capsys, config_dir, write(tmp_path, "n.txt", NOTICE), "--dry-run")
    assert report["layout"] == "notice" and report["columns"] == []
    assert brief(report) == [
        (
            "1",
            "开展校园安全",
            ["教育局", "县第一中学", "县第二中学"],
            [],
            None,
            "deadline",
            "2026-06-30",
        ),
        ("2", "加强学生防溺", ["各校"], ["县实验小学"], None, "none", None),
        ("3", "全面落实校园", ["教育局"], [], "张华", "none", None),
    ]  # 二、工作要求 carries no units: not duties
    assert [d["line"] for d in duties_of(report)] == [5, 8, 11]
    no_schedule = [a["id"] for a in report["attention"] if a["reason"] == "no-schedule"]
    assert no_schedule == ["2", "3"]
    assert code == 0  # a duty with no time limit is listed, not an error


def test_a_docx_with_paragraphs_and_a_table_uses_the_table(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = docx.Document()
    for line in NOTICE.splitlines()[:6]:
        document.add_paragraph(line)
    table = document.add_table(rows=2, cols=3)
    for c, text in enumerate(["工作任务", "责任单位", "完成时限"]):
        table.cell(0, c).text = text
    for c, text in enumerate(["1.开展消防安全检查", "各校", "每季度"]):
        table.cell(1, c).text = text
    source = tmp_path / "mixed.docx"
    document.save(str(source))
    code, report = run(capsys, config_dir, source, "--dry-run")
    assert report["layout"] == "table"
    assert brief(report) == [("1", "开展消防安全", ["各校"], [], None, "recurring", None)]
    assert code == 0


def test_a_rectification_list_sites_problems_and_one_line_per_site(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "督查发现问题清单\n"
        "1. 县第一中学\n（1）消防通道堵塞；\n（2）灭火器过期。\n"
        "问题整改责任单位：县第一中学 整改时限：3天\n"
        "2. 县实验小学\n（1）围墙破损；\n"
        "问题整改责任单位：县实验小学 整改时限：5个工作日内\n"
    )
    code, report = run(capsys, config_dir, write(tmp_path, "list.txt", text), "--dry-run")
    assert picked(report, "id", "units", "time_limit", "kind") == [
        ("1.1", ["县第一中学"], "3天", "immediate"),
        ("1.2", ["县第一中学"], "3天", "immediate"),
        ("2.1", ["县实验小学"], "5个工作日内", "immediate"),
    ]
    assert code == 0


def test_a_school_calendar_notice_with_units_from_the_sentence(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "2026学年后勤工作行事历\n九月份\n1、统计征订校服人数。\n"
        "2、随时做好教学设备维修。\n十二月份\n1、学校总务处每月要检查供电线路；\n"
        "一月份\n1、做好寒假安全检查。\n"
    )
    code, report = run(capsys, config_dir, write(tmp_path, "cal.txt", text), "--dry-run")
    assert picked(report, "id", "units", "time_limit", "kind") == [
        ("1.1", [], "九月份", "deadline"),
        ("1.2", [], None, "as-needed"),  # 随时 in the sentence, not the month
        ("2.1", ["学校总务处"], None, "recurring"),
        ("3.1", [], "次年一月份", "deadline"),
    ]
    notes = {(a["id"], a["reason"]) for a in report["attention"]}
    assert {("2.1", "units-from-text"), ("3.1", "next-year")} <= notes
    assert code == 1  # tasks without units


def test_the_school_year_start_comes_from_the_autumn_semester(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace(
            "autumn: 09-01..01-15", "autumn: 08-20..01-15"
        ),
        encoding="utf-8",
    )
    text = "行事历\n八月份\n1、做好开学准备。\n三月份\n1、开学检查。\n"
    code, report = run(capsys, config_dir, write(tmp_path, "cal.txt", text), "--dry-run")
    assert [d["time_limit"] for d in duties_of(report)] == ["八月份", "次年三月份"]
    assert code == 1  # no units


# ---------------------------------------------------------------- ids


def test_ids_restart_per_section_and_reimport_keeps_them(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(
        tmp_path,
        "t.txt",
        "清单\n一、安全检查\n1.检查校舍。\n责任单位：教育局\n完成时限：6月底前\n"
        "2.检查食堂。\n责任单位：教育局\n完成时限：每月\n"
        "二、宣传教育\n1.开展安全教育。\n责任单位：教育局\n完成时限：每学期\n",
    )
    target = tmp_path / "duties.yaml"
    code, report = run(capsys, config_dir, source, "--output", str(target))
    assert code == 0
    assert report["added"] == ["1.1", "1.2", "2.1"]
    code, report = run(capsys, config_dir, source, "--output", str(target))
    assert (report["added"], report["unchanged"]) == ([], ["1.1", "1.2", "2.1"])
    assert "id (the table's own numbering)" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("good", ["7", "2.3", "3.2.1", "12.1", "1.2.3.4"])
def test_duty_ids_in_a_tables_own_numbering_are_valid(good: str) -> None:
    assert duty(id=good).id == good


@pytest.mark.parametrize("bad", ["", "1.", ".1", "1.a", "1..2", "一", "12345", "1.2.3.4.5"])
def test_other_duty_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="id"):
        duty(id=bad)


def test_duty_ids_sort_as_numbers() -> None:
    ids = ["10", "2.3", "2", "3.2.1", "2.10", "3.2"]
    plan = make_plan([duty(id=i, time_limit="年底前") for i in ids])
    assert [c.duty.id for c in plan.duties] == ["2", "2.3", "2.10", "3.2", "3.2.1", "10"]


def test_a_duty_without_a_time_limit_is_valid_and_has_no_occurrences() -> None:
    plan = make_plan([duty(id="1", text="地区生产总值增长6.2%左右")])
    assert plan.duties[0].rules == ()
    assert any("no time limit" in p.message for p in plan.warnings)


def _paragraphs_docx(tmp_path: Path, text: str) -> Path:
    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    source = tmp_path / "n.docx"
    document.save(str(source))
    return source


def test_notice_paragraphs_numbered_as_measures(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "关于做好汛期安全工作的通知\n"
        "（一）全面排查校舍隐患，5月底前完成。\n责任单位：教育局\n"
        "（二）加强值班值守。\n责任单位：各校\n"
    )
    code, report = run(capsys, config_dir, _paragraphs_docx(tmp_path, text), "--dry-run")
    assert brief(report) == [
        ("1", "全面排查校舍", ["教育局"], [], None, "deadline", "05-31"),
        ("2", "加强值班值守", ["各校"], [], None, "none", None),
    ]
    assert [d["line"] for d in duties_of(report)] == [2, 4]  # paragraph numbers
    assert "［第 4 段 (paragraph)］" in _text_report(
        config_dir, _paragraphs_docx(tmp_path, text), capsys
    )
    assert code == 0


def test_notice_items_yishi_under_measures(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "2026年校园安全工作要点\n"
        "（一）强化安全教育\n一是开展防溺水教育，每周一次。\n二是组织应急疏散演练，每学期一次。\n"
        "责任单位：各校\n"
        "（二）完善制度\n一是修订应急预案，年底前完成。\n责任单位：教育局\n"
    )
    code, report = run(capsys, config_dir, write(tmp_path, "n.txt", text), "--dry-run")
    assert brief(report) == [
        ("1.1", "开展防溺水教", ["各校"], [], None, "recurring", None),
        ("1.2", "组织应急疏散", ["各校"], [], None, "recurring", None),
        ("2.1", "修订应急预案", ["教育局"], [], None, "deadline", "12-31"),
    ]
    assert [d["section"] for d in duties_of(report)] == [None, None, None]
    assert code == 0


def _text_report(config_dir: Path, source: Path, capsys: pytest.CaptureFixture[str]) -> str:
    main(["--config", str(config_dir), "import", str(source), "--dry-run"])
    return capsys.readouterr().out


def test_a_header_over_two_rows_milestone_columns_and_date_cells(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["序号", "重点工作", "责任单位", None, "一季度", "二季度", "完成时限"])
    sheet.append([None, None, "牵头单位", "配合单位", None, None, None])
    sheet.merge_cells("A1:A2")
    sheet.merge_cells("B1:B2")
    sheet.merge_cells("C1:D1")
    sheet.merge_cells("E1:E2")
    sheet.merge_cells("F1:F2")
    sheet.merge_cells("G1:G2")
    long = "完成校舍安全鉴定并建立档案，逐校逐栋核查登记，形成鉴定报告并报送主管部门审核备案"
    sheet.append([1, "校舍安全鉴定", "教育局", "各校", long, long, datetime(2026, 6, 30)])
    sheet.append([2, "消防设施检修", "各校", None, long, long, "2026/9/30前"])
    source = tmp_path / "t.xlsx"
    book.save(source)
    code, report = run(capsys, config_dir, source, "--dry-run")
    assert columns(report) == [
        (1, "number"),
        (2, "task"),
        (3, "units"),
        (4, "partners"),
        (5, "ignore"),
        (6, "ignore"),
        (7, "time"),
    ]
    assert brief(report) == [
        ("1", "校舍安全鉴定", ["教育局"], ["各校"], None, "deadline", "2026-06-30"),
        ("2", "消防设施检修", ["各校"], [], None, "deadline", "2026-09-30"),
    ]
    assert code == 0


def test_a_unit_and_its_person_in_one_cell_or_line(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = write(
        tmp_path,
        "t.csv",
        "工作任务,责任单位及责任人,完成时限\n加强校园安全管理,县教育局局长,年底前\n",
    )
    notice = write(
        tmp_path, "n.txt", "通知\n1.加强校园安全管理。\n责任单位及责任人：教育局主要领导\n"
    )
    _, report = run(capsys, config_dir, table, "--dry-run")
    assert [(d["units"], d["leader"]) for d in duties_of(report)] == [(["县教育局"], "局长")]
    _, report = run(capsys, config_dir, notice, "--dry-run")
    assert [(d["units"], d["leader"]) for d in duties_of(report)] == [(["教育局"], "主要领导")]
