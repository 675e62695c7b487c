"""Every schedule phrase form of the seed and of the design notes, read into rules."""

from __future__ import annotations

from typing import Any

import pytest

from reminders.core.grammar import Vocabulary, read_phrases

VOCAB = Vocabulary(
    observances={"安全生产月": "safety-month", "全国消防安全日": "fire-day"},
    events={"党的二十大": "cpc20", "二十大": "cpc20"},
)


def rules(cell: str | None, text: str = "") -> list[dict[str, Any]]:
    reading = read_phrases(cell, text, VOCAB)
    assert not reading.not_understood, reading.not_understood
    return [
        r.model_dump(exclude={"phrase"}, exclude_none=True, by_alias=True) for r in reading.rules
    ]


CELL_CASES = [
    ("9月底前完成", [{"deadline": "09"}]),
    ("11 月底前完成", [{"deadline": "11"}]),
    ("7月底前完成", [{"deadline": "07"}]),
    ("9月底前完成\n长期坚持", [{"deadline": "09"}, {"standing": True}]),
    ("9月底前完成长期坚持", [{"deadline": "09"}, {"standing": True}]),
    ("11月底前完\n成长期坚持", [{"deadline": "11"}, {"standing": True}]),
    ("11 月底前完成长期坚持", [{"deadline": "11"}, {"standing": True}]),
    ("长期坚持", [{"standing": True}]),
    ("持续推进", [{"standing": True}]),
    ("及时修订\n长期坚持", [{"as_needed": True}, {"standing": True}]),
    ("及时", [{"as_needed": True}]),
    ("立即整改\n长期坚持", [{"immediate": True}, {"standing": True}]),
    ("立即", [{"immediate": True}]),
    ("3月15日前", [{"deadline": "03-15"}]),
    ("2027年6月底前", [{"deadline": "2027-06"}]),
    ("年底前", [{"deadline": "12"}]),
    ("上半年", [{"deadline": "06"}]),
    ("下半年完成", [{"deadline": "12"}]),
    ("第一季度", [{"deadline": "03"}]),
    ("第三季度末前完成", [{"deadline": "09"}]),
    ("4月起至党的二十大结束", [{"campaign": {"from": "04-01", "until": "cpc20"}}]),
    ("每月至少组织 1 次", [{"every": "month", "count": 1}]),
    ("每季度至少集中学习 1 次", [{"every": "quarter", "count": 1}]),
    ("至少每季度组织召开 1 次", [{"every": "quarter", "count": 1}]),
    ("每半年", [{"every": "half-year", "count": 1}]),
    ("每年", [{"every": "year", "count": 1}]),
    ("每学期", [{"every": "semester", "count": 1}]),
    ("每周", [{"every": "week", "count": 1}]),
    ("每季度至少 3 次", [{"every": "quarter", "count": 3}]),
    ("每月至少两次", [{"every": "month", "count": 2}]),
    ("每年至少十二次", [{"every": "year", "count": 12}]),
    ("每月15日前", [{"every": "month", "count": 1, "day": 15}]),
    ("每周一", [{"every": "week", "count": 1, "day": 1}]),
    ("每周三前完成", [{"every": "week", "count": 1, "day": 3}]),
    ("每周1次", [{"every": "week", "count": 1}]),
    ("每周一次", [{"every": "week", "count": 1}]),
    ("每季度末", [{"every": "quarter", "count": 1}]),
    ("每月底前", [{"every": "month", "count": 1}]),
    ("每两周1次", [{"every": "week", "count": 1, "interval": 2}]),
    ("每2月至少1次", [{"every": "month", "count": 1, "interval": 2}]),
    ("重点敏感时期要加密检查频次", [{"densify": True}]),
    ("９月底前完成", [{"deadline": "09"}]),  # full-width digit
    ("9月底前完成。", [{"deadline": "09"}]),  # trailing punctuation
]


@pytest.mark.parametrize(("cell", "expected"), CELL_CASES, ids=[c for c, _ in CELL_CASES])
def test_time_limit_cell(cell: str, expected: list[dict[str, Any]]) -> None:
    assert rules(cell) == expected


TEXT_CASES = [
    pytest.param(
        "11 月底前完成长期坚持",
        "教育行政部门每月至少组织 1 次安全生产工作检查。重点敏感时期要加密检查频次。",
        [{"deadline": "11"}, {"standing": True}, {"every": "month", "count": 1}, {"densify": True}],
        id="4.5-monthly-in-text-densified",
    ),
    pytest.param(
        "9月底前完成\n长期坚持",
        "县教育行政部门党组主要负责人每季度至少带队督促检查1次安全生产工作",
        [{"deadline": "09"}, {"standing": True}, {"every": "quarter", "count": 1}],
        id="3.2-quarterly-in-text",
    ),
    pytest.param(
        "9月底前完成\n长期坚持",
        "要把聘请专家参与安全风险防范工作作为重要举措，定期聘请专家开展风险隐患排查",
        [{"deadline": "09"}, {"standing": True}, {"periodic": True}],
        id="12.3-periodic",
    ),
    pytest.param(
        "11月底前完成",
        "深入开展“安全生产月”、“全国消防安全日”、“白山松水安全行”等主题宣传活动。",
        [{"deadline": "11"}, {"observance": "safety-month"}, {"observance": "fire-day"}],
        id="18.1-observances",
    ),
    pytest.param(
        "立即整改\n长期坚持",
        "对学校存在封闭安全出口的，要立即责令整改。要逐级报告政府部门，及时协调解决。",
        [{"immediate": True}, {"standing": True}],
        id="8.2-adverbs-in-text-not-read",
    ),
    pytest.param(
        None,
        "每月至少组织 1 次检查，及时消除隐患",
        [{"every": "month", "count": 1}],
        id="empty-cell-reads-cadence-not-promptly-in-text",
    ),
    pytest.param(
        None,
        "学校总务处要随时对校舍进行管理检查，及时报告",
        [{"as_needed": True}],
        id="empty-cell-reads-at-any-time-in-text",
    ),
    pytest.param(
        "长期坚持",
        "每季度至少1次，必要时定期加密",
        [{"standing": True}, {"every": "quarter", "count": 1}],
        id="explicit-cadence-beats-periodic",
    ),
]


@pytest.mark.parametrize(("cell", "text", "expected"), TEXT_CASES)
def test_cell_and_text(cell: str | None, text: str, expected: list[dict[str, Any]]) -> None:
    assert rules(cell, text) == expected


def test_cell_text_conflict_is_reported_and_cell_wins() -> None:
    reading = read_phrases(
        "4月起至党的二十大结束",
        "1.从5月起至党的二十大结束，在全县系统内开展安全生产大检查。",
        VOCAB,
    )
    assert [r.model_dump(by_alias=True, exclude={"phrase"}) for r in reading.rules] == [
        {"campaign": {"from": "04-01", "until": "cpc20"}}
    ]
    assert len(reading.conflicts) == 1
    assert "4月起" in reading.conflicts[0] and "5月起" in reading.conflicts[0]


def test_cell_and_text_deadlines_that_disagree_are_reported() -> None:
    reading = read_phrases("9月底前完成", "10月底前完成相关工作", VOCAB)
    assert [r.model_dump(exclude={"phrase"}, exclude_none=True) for r in reading.rules] == [
        {"deadline": "09"}
    ]
    assert len(reading.conflicts) == 1 and "10月底前完成" in reading.conflicts[0]


@pytest.mark.parametrize(
    ("cell", "leftover"),
    [
        pytest.param("下周二", "下周二", id="unknown-words"),
        pytest.param("9月底前完成，视情况而定", "视情况而定", id="partly-understood"),
        pytest.param("尽快", "尽快", id="vague"),
        pytest.param("9月中旬以后", "以后", id="time-words-after-a-month-are-not-swallowed"),
        pytest.param("9月某日", "某日", id="vague-day-after-a-month"),
        pytest.param("第二周", "第二周", id="a-week-with-no-month"),
    ],
)
def test_phrase_not_understood(cell: str, leftover: str) -> None:
    reading = read_phrases(cell, "", VOCAB)
    assert reading.not_understood == [leftover]


def test_campaign_with_unknown_event_keeps_the_name_for_the_error() -> None:
    reading = read_phrases("5月起至全运会结束", "", VOCAB)
    assert reading.rules[0].model_dump(by_alias=True, exclude={"phrase"}) == {
        "campaign": {"from": "05-01", "until": "全运会"}
    }


@pytest.mark.parametrize(
    "text", ["每月十十次", "每月一二次", "每季度至少一十十一次", "二三月底前", "十十月一二日前"]
)
def test_numbers_no_one_writes_are_not_read_as_numbers(text: str) -> None:
    """A run of numerals that is not a number (found by tests/fuzz_import.py: 十十 was a
    KeyError in the reader) is read around, never a crash."""
    reading = read_phrases(None, text, VOCAB)
    assert all(r.model_dump() for r in reading.rules)
    assert rules("每月十二次") == [{"every": "month", "count": 12}]
