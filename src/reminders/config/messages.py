"""Pydantic's validation messages in Chinese, by error type (the English kept where
Chinese adds nothing, e.g. an unknown type's own words)."""

from __future__ import annotations

from typing import Any

_DATE = "应为日期 (date) YYYY-MM-DD"
_TIME = '应为时间 (time) HH:MM，如 "09:00"'
_INT = "应为整数 (integer)"
_MAPPING = "应为映射 (mapping)：每行一个 “键: 值”"

_BY_TYPE: dict[str, str] = {
    "missing": "缺少必填项 (required)",
    "extra_forbidden": "不认识的设置项 (unknown key)：检查拼写，或删去这一行",
    "int_parsing": _INT,
    "int_type": _INT,
    "int_from_float": _INT,
    "float_parsing": "应为数字 (number)",
    "float_type": "应为数字 (number)",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本 (text)",
    "list_type": "应为列表 (list)：[a, b]，或每行一个 “- 项”",
    "tuple_type": "应为列表 (list)",
    "dict_type": _MAPPING,
    "model_type": _MAPPING,
    "model_attributes_type": _MAPPING,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "time_type": _TIME,
    "time_parsing": _TIME,
    "literal_error": "应为以下之一：{expected}",
    "greater_than_equal": "应不小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "应不大于 {le}",
    "less_than": "应小于 {lt}",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "string_too_short": "不能为空",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不对（应符合 {pattern}）",
    "rule_kind": "每条规则是一个映射，恰好含以下一项：{kinds}",
}


def chinese(error: Any) -> str:
    """The Chinese message of one pydantic error (an `ErrorDetails` mapping)."""
    kind = str(error.get("type", ""))
    ctx = dict(error.get("ctx") or {})
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    template = _BY_TYPE.get(kind)
    if template is None:
        return str(error["msg"])
    if kind == "rule_kind":
        ctx["kinds"] = str(error["msg"]).rpartition(": ")[2]
    if kind == "string_too_short" and ctx.get("min_length", 1) != 1:
        template = "至少 {min_length} 个字符"
    detail = ctx.get("error")
    text = template.format_map(_Defaulting(ctx))
    if isinstance(detail, str) and detail:
        text += f"（{detail}）"
    return text


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"
