"""The time-limit phrases of real task tables (beyond the seed): read, then expanded."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest

from reminders.cli.main import main
from reminders.core.grammar import Vocabulary, read_phrases
from reminders.core.rules import DeadlineRule, ImmediateRule, WindowRule

from .helpers import duty, make_plan, occurrences

VOCAB = Vocabulary()


def read(cell: str | None, text: str = "") -> list[dict[str, Any]]:
    reading = read_phrases(cell, text, VOCAB)
    assert not reading.not_understood and not reading.invalid, reading
    return [
        r.model_dump(exclude={"phrase"}, exclude_none=True, by_alias=True) for r in reading.rules
    ]


# (cell, text, rules): every phrase issue #11 lists, as real tables write them
CASES: list[tuple[str | None, str, list[dict[str, Any]]]] = [
    ("12月底前", "", [{"deadline": "12"}]),
    ("年底前", "", [{"deadline": "12"}]),
    ("2023年6月底前", "", [{"deadline": "2023-06"}]),
    ("2021年8月前", "", [{"deadline": "2021-07"}]),  # before August: by the end of July
    ("1月前", "", [{"deadline": "12", "year_offset": -1}]),
    ("9月投入使用", "", [{"deadline": "09"}]),
    (
        "2021年2月公布预算信息，2021年8月公布上年度决算信息",
        "",
        [{"deadline": "2021-02"}, {"deadline": "2021-08"}],
    ),
    ("1月份", "", [{"deadline": "01"}]),
    ("4月", "", [{"deadline": "04"}]),
    ("2014 年 4 月", "", [{"deadline": "2014-04"}]),
    ("4-12月份", "", [{"window": {"from": "04", "to": "12"}}]),
    ("5月-10月", "", [{"window": {"from": "05", "to": "10"}}]),
    ("2014年 1月 2月", "", [{"window": {"from": "2014-01", "to": "2014-02"}}]),  # dash lost
    ("2014年 5月 -10月", "", [{"window": {"from": "2014-05", "to": "2014-10"}}]),
    ("九月份", "", [{"deadline": "09"}]),
    ("十一月", "", [{"deadline": "11"}]),
    ("一一年一月", "", [{"deadline": "2011-01"}]),
    ("次年一月", "", [{"deadline": "01", "year_offset": 1}]),
    ("9月上旬", "", [{"deadline": "09-10"}]),
    ("2024-06-30", "", [{"deadline": "2024-06-30"}]),  # a spreadsheet's date cell
    ("2024/6/30前", "", [{"deadline": "2024-06-30"}]),
    ("6.30前", "", [{"deadline": "06-30"}]),
    ("十一月第二周", "", [{"window": {"from": "11-08", "to": "11-14"}}]),
    (
        "每学期开学前、期中、期末",
        "",
        [{"every": "semester", "count": 1, "at": ["start", "middle", "end"]}],
    ),
    ("每学期期末", "", [{"every": "semester", "count": 1, "at": ["end"]}]),
    ("两月一次", "", [{"every": "month", "count": 1, "interval": 2}]),
    ("三个月一次", "", [{"every": "month", "count": 1, "interval": 3}]),
    ("每周", "", [{"every": "week", "count": 1}]),
    ("3天", "", [{"immediate": 3, "calendar_days": True}]),
    ("5个工作日内", "", [{"immediate": 5}]),
    ("随时", "", [{"as_needed": True}]),
    ("适时", "", [{"as_needed": True}]),
    ("不定期", "", [{"as_needed": True}]),
    ("持续推进", "", [{"standing": True}]),
    ("长期推进", "", [{"standing": True}]),
    ("常态化", "", [{"standing": True}]),
    ("常年", "", [{"standing": True}]),
    ("2014 年 全年", "每季度更换一次内容", [{"standing": True}, {"every": "quarter", "count": 1}]),
    # in the sentence, the cell empty
    (None, "2009年底前，完成校舍改造", [{"deadline": "2009-12"}]),
    (None, "各校于6月底前完成自查", [{"deadline": "06"}]),
    (None, "新校区9月投入使用", [{"deadline": "09"}]),
    (None, "问题要在5个工作日内整改到位", [{"immediate": 5}]),
    (
        None,
        "学校安全工作领导小组两月对全校的安全工作作一次全面检查",
        [{"every": "month", "count": 1, "interval": 2}],
    ),
    (
        None,
        "每学期开学前、期中、期末，学校要组织人员对安全工作进行全面检查",
        [{"every": "semester", "count": 1, "at": ["start", "middle", "end"]}],
    ),
    (None, "学校总务处要随时对校舍进行管理检查，发现险情要立即停止使用", [{"as_needed": True}]),
    (None, "要常态化开展校园安全巡查", [{"standing": True}]),
    # a month in the cell (a calendar's row) narrowed by the sentence
    ("十一月", "11月9日为全国消防日，组织开展消防安全教育", [{"deadline": "11-09"}]),
    ("十二月", "开展“12.4全国法制宣传日”活动", [{"deadline": "12-04"}]),
    ("十一月", "第二周为“中小学生应急演练周”", [{"window": {"from": "11-08", "to": "11-14"}}]),
    ("一一年一月", "第二周开展考评", [{"window": {"from": "2011-01-08", "to": "2011-01-14"}}]),
]


@pytest.mark.parametrize(("cell", "text", "expected"), CASES, ids=[f"{c}|{t}" for c, t, _ in CASES])
def test_real_table_phrase(cell: str | None, text: str, expected: list[dict[str, Any]]) -> None:
    assert read(cell, text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("努力实现地区生产总值增长6.2%左右。", "a target"),
        ("院内消防设施6月、7月、8月没有检查记录", "months named in a problem"),
        ("及时更新网站频道的各类型概况信息。", "及时 in running text is manner, not a schedule"),
        ("检查食堂卫生，发现不妥之处立即纠正。", "立即 about what is found"),
        ("培训时长3天", "a length, not a limit"),
        ("增长1.5万元，节能减排", "a decimal is not a date"),
    ],
)
def test_running_text_without_a_schedule(text: str, why: str) -> None:
    assert read(None, text) == [], why


def test_a_date_in_the_text_outside_the_cells_month_is_a_conflict() -> None:
    reading = read_phrases("十一月", "12月9日前完成总结", VOCAB)
    assert [r.model_dump(exclude={"phrase"}, exclude_none=True) for r in reading.rules] == [
        {"deadline": "11"}
    ]
    assert len(reading.conflicts) == 1


def _dues(time_limit: str, text: str = "", **settings: Any) -> list[tuple[str, str, str]]:
    plan = make_plan([duty(time_limit=time_limit, text=text)], **settings)
    found = occurrences(plan, date(2026, 1, 1), date(2027, 12, 31))
    return [(o.period, o.due.isoformat(), o.kind) for o in found]


def test_window_has_monthly_checks_and_is_due_at_its_end() -> None:
    found = occurrences(make_plan([duty(time_limit="4-12月份")]))
    assert [o.period for o in found] == [
        *(f"window-2026-{m:02d}" for m in range(4, 12)),
        "window-2026-12-31",
    ]
    assert found[-1].due == date(2026, 12, 31)
    assert found[0].due == date(2026, 4, 30) and found[0].start == date(2026, 4, 1)
    assert found[-1].start == date(2026, 4, 1) and found[-1].kind == "campaign"
    assert found[-1].label == "4-12月份"


def test_window_of_one_week_is_one_occurrence_with_a_start() -> None:
    (only,) = occurrences(make_plan([duty(time_limit="十一月", text="第二周为应急演练周")]))
    assert (only.start, only.due, only.kind) == (date(2026, 11, 8), date(2026, 11, 13), "campaign")


def test_window_with_years_and_one_crossing_the_new_year() -> None:
    assert [p for p, _, _ in _dues("2026年11月-2027年1月")][-1] == "window-2027-01-31"
    assert _dues("12月-2月")[-1][:2] == ("window-2027-02-28", "2027-02-26")


def test_next_year_month_of_a_school_year_calendar() -> None:
    assert _dues("次年一月") == [("2027-01-31", "2027-01-29", "deadline")]


def test_relative_limits_count_from_the_plan_start() -> None:
    start = {"plan_start": "2026-09-01"}
    assert _dues("3天", **start) == [("immediate", "2026-09-04", "immediate")]
    assert _dues("5个工作日内", **start) == [("immediate", "2026-09-08", "immediate")]


def test_three_points_in_every_semester() -> None:
    found = _dues("每学期开学前、期中、期末")
    assert found[:5] == [
        # the autumn 2025 start and middle are before the plan starts
        ("2025-autumn.end", "2026-01-15", "recurring"),
        ("2026-spring.start", "2026-02-28", "recurring"),  # 1 March is a Sunday; 28 Feb works
        ("2026-spring.middle", "2026-04-30", "recurring"),
        ("2026-spring.end", "2026-07-10", "recurring"),
        ("2026-autumn.start", "2026-09-01", "recurring"),
    ]


def test_every_two_months_from_two_months_once() -> None:
    assert _dues("", "领导小组两月对全校作一次全面检查")[:3] == [
        ("2026-01", "2026-02-28", "recurring"),
        ("2026-03", "2026-04-30", "recurring"),
        ("2026-05", "2026-06-30", "recurring"),
    ]


def test_new_rules_in_structured_form() -> None:
    plan = make_plan(
        [
            duty(id="1", schedule=[{"window": {"from": "04", "to": "12"}}]),
            duty(id="2", schedule=[{"deadline": "01", "year_offset": 1}]),
            duty(id="3", schedule=[{"immediate": 3, "calendar_days": True}]),
            duty(id="2.1", schedule=[{"every": "semester", "at": ["end"]}]),
        ]
    )
    rules = [c.duty.schedule[0] for c in plan.duties]  # type: ignore[index]
    assert [c.duty.id for c in plan.duties] == ["1", "2", "2.1", "3"]
    assert isinstance(rules[0], WindowRule) and isinstance(rules[1], DeadlineRule)
    assert isinstance(rules[3], ImmediateRule) and rules[3].calendar_days


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"deadline": "2026-01", "year_offset": 1}, "year_offset"),
        ({"every": "week", "at": ["end"]}, "at 用于月及更长的周期"),
        ({"every": "semester", "at": []}, "at 列出"),
        ({"window": {"from": "13", "to": "12"}}, "没有 13 月"),
    ],
)
def test_bad_structured_rules_are_refused(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        duty(schedule=[rule])


def test_a_window_ending_before_it_starts_is_a_config_error() -> None:
    from reminders.exceptions import ConfigError

    with pytest.raises(ConfigError, match="window ends before it starts"):
        make_plan([duty(schedule=[{"window": {"from": "2026-05", "to": "2026-04"}}])])


# (time-limit cell, task text, kind, period, deadline): each phrase as a row of a table
TABLE_ROWS = [
    ("12月底前", "", "deadline", None, "12-31"),
    ("年底前", "", "deadline", None, "12-31"),
    ("2023年6月底前", "", "deadline", None, "2023-06-30"),
    ("2021年8月前", "", "deadline", None, "2021-07-31"),
    ("9月投入使用", "", "deadline", None, "09-30"),
    ("1月份", "", "deadline", None, "01-31"),
    ("4-12月份", "", "campaign", None, "12-31"),
    ("每学期开学前、期中、期末", "", "recurring", "semester", None),
    ("两月一次", "", "recurring", "month", None),
    ("每周", "", "recurring", "week", None),
    ("3天", "", "immediate", None, None),
    ("5个工作日内", "", "immediate", None, None),
    ("随时", "", "as-needed", None, None),
    ("适时", "", "as-needed", None, None),
    ("持续推进", "", "standing", None, None),
    ("长期推进", "", "standing", None, None),
    ("常态化", "", "standing", None, None),
    ("", "2009年底前，完成校舍加固", "deadline", None, "2009-12-31"),
    ("", "各校于6月底前完成自查", "deadline", None, "06-30"),
    ("十一月", "第二周为应急演练周", "campaign", "week", "11-14"),
    ("", "地区生产总值增长6.2%左右", "none", None, None),
]


def test_each_phrase_read_from_a_table(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.Workbook()  # a spreadsheet: a blank cell is blank, not merged
    book.active.append(["序号", "具体工作", "责任单位", "完成时限"])
    for n, (cell, text, *_) in enumerate(TABLE_ROWS, start=1):
        book.active.append([n, text or "开展安全工作", "教育局", cell or None])
    source = tmp_path / "phrases.xlsx"
    book.save(source)
    main(["--config", str(config_dir), "import", str(source), "--dry-run", "--json"])
    duties = json.loads(capsys.readouterr().out)["duties"]
    got = [(d["reading"]["kind"], d["reading"]["period"], d["reading"]["deadline"]) for d in duties]
    assert got == [(kind, period, deadline) for _, _, kind, period, deadline in TABLE_ROWS]
