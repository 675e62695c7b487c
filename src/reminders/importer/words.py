"""The words tables use: header names, numbering marks, unit names, people.

Every pattern here is linear in its input (no nested quantifiers), so a hostile
cell costs no more than its length.
"""

from __future__ import annotations

import re

from ..core.grammar import MONTH_WORDS, cn_number

# -- header vocabulary, matched after removing spaces and line breaks ------------------

FIELD_LABELS = {
    "number": "编号 number",
    "task": "任务 task",
    "units": "责任单位 units",
    "partners": "配合单位 partners",
    "leader": "责任人 leader",
    "time": "时限 time",
    "group": "分组 section",
    "ignore": "不读 ignored",
}
_EXACT: dict[str, tuple[str, ...]] = {
    "number": ("序号", "编号", "序", "号次"),
    "task": (
        *("工作任务", "重点任务", "主要任务", "具体工作", "工作内容", "目标任务", "整改任务"),
        *("主要内容", "事项", "项目", "任务", "内容", "具体任务", "具体内容", "任务目标"),
        *("工作措施", "具体措施", "主要措施", "措施", "工作重点", "重点工作", "具体要求"),
        *("工作要求", "任务清单", "工作事项", "建设任务", "问题", "存在问题", "问题清单"),
        *("整改措施", "细化分工", "任务分解", "工作目标", "工作主题", "重点事项"),
    ),
    "units": (
        *("牵头单位", "责任单位", "责任部门", "主办单位", "实施单位", "责任主体", "牵头部门"),
        *("责任科室", "责任处室", "责任股室", "单位", "部门", "负责单位", "承办单位"),
        *("责任清单", "责任单位及责任人", "牵头单位（部门）", "责任单位（部门）"),
    ),
    "partners": ("配合单位", "协办单位", "参与单位", "配合部门", "协同单位", "协助单位"),
    "leader": ("责任领导", "分管领导", "责任人", "包保领导", "牵头领导", "负责人", "分管负责人"),
    "time": (
        *("完成时限", "时间节点", "完成时间", "时间安排", "进度安排", "时限要求", "整改时限"),
        *("时间", "时限", "期限", "完成期限", "时限清单", "办结时限", "截止时间"),
        *("月份", "日期", "时段", "时间段", "周次"),
    ),
    "group": ("类别", "指标", "领域", "类型", "分类", "工作指标", "板块", "项目类别"),
    "ignore": ("备注", "说明", "完成情况", "进展情况", "落实情况", "工作进展", "进度"),
}
# A short header that contains one of these reads as the field (first match wins).
_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ignore", ("备注", "情况", "进展")),
    ("partners", ("配合", "协办", "协同", "参与")),
    ("leader", ("领导", "责任人", "负责人")),
    ("units", ("单位", "部门", "科室", "处室", "股室")),
    ("time", ("时限", "时间", "期限", "节点")),
    ("number", ("序号", "编号")),
    ("group", ("类别", "指标", "领域")),
    ("task", ("任务", "内容", "工作", "措施", "事项", "要求", "问题")),
)
_BY_WORD = {word: name for name, words in _EXACT.items() for word in words}
_SPACE = re.compile(r"\s+")
HEADER_MAX = 12


def key(cell: str) -> str:
    """A cell without spaces or line breaks (headers are matched this way)."""
    return _SPACE.sub("", cell)


def header_field(cell: str) -> str | None:
    """The field a header cell names, or None."""
    text = key(cell).strip("：:*")
    if not text or len(text) > HEADER_MAX:
        return None
    found = _BY_WORD.get(text)
    if found is not None:
        return found
    for name, parts in _PARTS:
        if any(part in text for part in parts):
            return name
    return None


# -- numbering marks -----------------------------------------------------------------

SECTION = re.compile(r"^\s*([一二三四五六七八九十]+)、")
MEASURE = re.compile(r"[（(]([一二三四五六七八九十]+)[）)]")
MEASURE_AT_START = re.compile(r"^\s*[（(]([一二三四五六七八九十]+)[）)]")
# 1. 1、 1． — and 2.11月9日… (an item that starts with a date), but not 12.4全国…
TASK = re.compile(r"^\s*(\d{1,4})\s*(?:[.．、](?!\d)|[.．](?=\d{1,2}月))\s*")
SUB_ITEM = re.compile(r"^\s*[（(](\d{1,2})[）)]\s*")
ORDINAL = re.compile(r"^\s*([一二三四五六七八九十]+)是")
LETTER = re.compile(r"^\s*[A-Za-z][、.．]")
_CN_INT = re.compile(r"[一二三四五六七八九]|[一二三四五六七八九]?十[一二三四五六七八九]?")


def cn_int(text: str) -> int:
    """一 … 九十九; ValueError for anything else (一一, 十十)."""
    if not _CN_INT.fullmatch(text):
        raise ValueError(f"不是中文数字 (not a Chinese numeral)：{text}")
    return cn_number(text)


_MONTH_HEADING = re.compile(
    rf"(\d{{4}}年|[〇零一二三四五六七八九]{{2}}年|次年|明年)?({MONTH_WORDS})月份?"
)


def month_of(heading: str) -> tuple[int, bool] | None:
    """(month, names a year) of a month heading such as 九月份 or 一一年一月, else None."""
    found = _MONTH_HEADING.fullmatch(key(heading))
    if found is None:
        return None
    return cn_number(found[2]), found[1] is not None


# -- units and people -----------------------------------------------------------------

_ORG_END = re.compile(
    r"(?:局|委|办|院|校|所|站|中心|政府|科|股|室|处|队|组|部|会|馆|厅|街道|乡镇|镇|乡|场"
    r"|社区|村|园|公司|集团|媒体|单位|部门|专班|指挥部|支部|党组|党委|机关|中学|小学|大学|学校)$"
)
_TRAILING_NOTE = re.compile(r"[（(][^（）()]{1,12}[）)]$")
NAME_MAX = 24  # a unit's name is never longer


def is_group(name: str) -> bool:
    """各校, 各乡镇, 区直各部门, 各有关单位: a name that stands for every member of a kind."""
    bare = _TRAILING_NOTE.sub("", name.strip())
    if len(bare) > NAME_MAX or not _ORG_END.search(bare):
        return False
    at = bare.rfind("各")
    return (0 <= at < len(bare) - 1 and len(bare) - at <= 12) or bare.startswith(("全体", "所有"))


def is_org(name: str) -> bool:
    """Does `name` read as an organisation (ends 局/委/办/…, or is a group)?"""
    if len(name) > NAME_MAX + 14:
        return False
    bare = _TRAILING_NOTE.sub("", name.strip())
    return bool(bare) and len(bare) <= NAME_MAX and bool(_ORG_END.search(bare))


_ROLE = re.compile(r"(?:负责人|主任|书记|局长|校长|组长|领导|同志|主席|县长|市长|区长|乡长|镇长)$")
_CJK = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
_TOKENS = re.compile(r"[\s、，,；;/]+")


def person_like(cell: str) -> bool:
    """A cell of names (刘 云 王武周, 谭书宝 阮英波) or roles (片区负责人), not units."""
    tokens = [t for t in _TOKENS.split(cell.strip()) if t]
    if not tokens:
        return False
    joined: list[str] = []
    for token in tokens:  # 刘 云: a two-character name padded to three
        if len(token) == 1 and joined and len(joined[-1]) == 1:
            joined[-1] += token
        else:
            joined.append(token)
    people = sum(
        1 for t in joined if _ROLE.search(t) or (_CJK.match(t) and not is_org(t) and len(t) <= 3)
    )
    return people * 2 > len(joined) and not any(is_org(t) and not _ROLE.search(t) for t in joined)
