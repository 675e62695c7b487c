"""What an import found, for a person (text) and for tools (JSON).

`attention` lists each task that needs a person's eye and why:

- ``not-understood``: a phrase in the time-limit cell the grammar cannot read;
- ``no-time-limit``: the time-limit cell is empty (the text may still give a rule);
- ``no-rule``: the time-limit cell is empty (or says no date) and the text gives none;
- ``no-schedule``: the table gives the task no time limit at all (a target such as
  增长6.2%左右): kept, with no occurrences — not an error;
- ``conflict``: the cell and the text disagree (the cell wins);
- ``no-unit``: the responsible-unit cell is empty;
- ``unknown-unit``: a unit that is not in units.yaml (nor a group there);
- ``inherited``: a blank cell of text or CSV read as merged with the cell above;
- ``units-from-text``: no units column or line; the units are the sentence's subject;
- ``next-year``: a school-year calendar's month before September (次年一月);
- ``gone``: a duty in duties.yaml whose task is no longer in the table (kept).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .words import FIELD_LABELS

REASON_LABELS = {
    "not-understood": "时限未识别 phrase not understood",
    "no-time-limit": "完成时限为空 empty time limit",
    "no-rule": "无到期规则 no rule gives a due date",
    "conflict": "时限冲突 cell and text disagree",
    "no-unit": "无责任单位 no responsible unit",
    "unknown-unit": "单位未配置 unit not in units.yaml",
    "gone": "表中已无 gone from the table (kept in duties)",
    "no-schedule": "无时限 no time limit (no occurrences)",
    "inherited": "沿用上一行 inherited",
    "units-from-text": "单位取自句子 units from the sentence",
    "next-year": "次年 next year",
}
KIND_LABELS = {"text": "文本 text", "csv": "CSV", "xlsx": "Excel .xlsx", "docx": "Word .docx"}
ERROR_REASONS = frozenset({"not-understood", "no-rule", "no-unit", "unknown-unit"})


@dataclass(frozen=True, slots=True)
class Attention:
    id: str
    reason: str
    detail: str
    line: int | None = None

    @property
    def is_error(self) -> bool:
        return self.reason in ERROR_REASONS


@dataclass(slots=True)
class Report:
    source: str
    kind: str
    target: str
    tasks: int = 0
    understood: int = 0
    encoding: str | None = None
    attention: list[Attention] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_edits: dict[str, list[str]] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)
    unknown_units: list[str] = field(default_factory=list)
    units_added: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    layout: str = "table"
    columns: list[dict[str, Any]] = field(default_factory=list)
    duties: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # which plan it went to, and how

    @property
    def place(self) -> str:
        """What `line` counts: lines of a text file, rows of a sheet or Word table,
        paragraphs of a Word document with no table."""
        if self.kind == "docx" and self.layout == "notice":
            return "paragraph"
        return "row" if self.kind in ("xlsx", "docx") else "line"

    def where(self, line: int) -> str:
        """`第 12 行 (line)`: a line, row or paragraph of the table, for a person."""
        unit = {"paragraph": "段", "row": "行"}.get(self.place, "行")
        return f"第 {line} {unit} ({self.place})"

    @property
    def errors(self) -> int:
        return sum(1 for item in self.attention if item.is_error)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["attention"] = [
            {k: v for k, v in asdict(item).items() if v is not None} for item in self.attention
        ]
        data["errors"] = self.errors
        return data

    def to_json(self) -> str:
        return json.dumps(self.as_json(), ensure_ascii=False, indent=2) + "\n"

    def reading_lines(self) -> list[str]:
        """How the table was read: its layout and which column is which."""
        if self.layout == "notice":
            return [
                "版式 (layout)：通知正文，编号段落 (numbered paragraphs)，无表格；责任单位取自"
                "“牵头单位/责任单位”行、（责任单位：…）或句子主语"
            ]
        lines = ["版式 (layout)：表格 (table)；列 (columns)："]
        for column in self.columns:
            label = FIELD_LABELS.get(column["field"] or "", "未用 unused")
            header = f"“{column['header']}”" if column["header"] else "（无表头 no header）"
            lines.append(f"  第{column['column']}列 {header} → {label}：{column['reason']}")
        return lines

    def to_text(self) -> str:
        kind = KIND_LABELS.get(self.kind, self.kind)
        lines = [f"导入 (import)：{self.source}（{kind}）→ {self.target}"]
        lines += self.reading_lines()
        lines.append(
            f"任务 (tasks) {self.tasks} 项：读懂时限 (rule understood) {self.understood} 项，"
            f"未读懂 {self.tasks - self.understood} 项"
        )
        if self.updated or self.unchanged or self.gone or self.kept_edits:
            lines.append(
                f"新增 (added) {len(self.added)} 项，更新 (updated) {len(self.updated)} 项，"
                f"未变 (unchanged) {len(self.unchanged)} 项，表中已无 (gone) {len(self.gone)} 项"
            )
        for duty, fields in self.kept_edits.items():
            lines.append(f"  {duty}：保留了你改过的 {', '.join(fields)}（用 --force 覆盖）")
        listed = [item for item in self.attention if item.reason != "gone"]
        if listed:
            lines.append(f"需要人工核对 (needs attention)：{len(listed)} 处")
            for item in listed:
                label = REASON_LABELS.get(item.reason, item.reason)
                where = f"［{self.where(item.line)}］" if item.line else ""
                lines.append(f"  {item.id:>6}  {label}：{item.detail}{where}")
        if self.gone:
            lines.append(
                f"{REASON_LABELS['gone']}：{', '.join(self.gone)}（已办完的请从任务清单文件中删除）"
            )
        if self.units_added:
            lines.append(
                f"已加入 units.yaml（尚无机器人渠道 no channels）：{'、'.join(self.units_added)}"
            )
        elif self.unknown_units:
            lines.append(
                "units.yaml 中没有的单位 (units not in units.yaml)："
                f"{'、'.join(self.unknown_units)}"
                "（在 units.yaml 中加上，或加 --add-units 重新导入）"
            )
        lines += self.notes
        if self.dry_run:
            lines.append("试运行 (dry run)：没有写入任何文件")
        elif self.written:
            lines.append(f"已写入 (written)：{', '.join(self.written)}")
        else:
            lines.append("无需写入：任务清单已是最新 (already up to date)")
        if self.errors:
            lines.append(
                f"有 {self.errors} 处问题须在任务清单（或单位）文件中改正，"
                "`reminders validate` 才能通过 (problems to fix)"
            )
        return "\n".join(lines) + "\n"
