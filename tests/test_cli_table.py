from __future__ import annotations

import unicodedata

from reminders.cli.table import Table, wrap


def width(text: str) -> int:
    """Terminal columns, computed here independently of the module under test."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def start_of(line: str, cell: str) -> int:
    """The display column at which `cell` starts in `line`."""
    return width(line[: line.index(cell)])


def column(lines: list[str], start: int, stop: int) -> list[str]:
    """The text between display columns `start` and `stop` of each line."""
    out = []
    for line in lines:
        taken, at = "", 0
        for char in line:
            if start <= at < stop:
                taken += char
            at += width(char)
        out.append(taken.strip())
    return out


def agenda_like() -> Table:
    table = Table("日程 2026-09-01 至 2026-09-30（3 项）")
    table.add_column("到期日")
    table.add_column("单位")
    table.add_column("任务", ratio=3)
    table.add_column("周期/说明", ratio=1)
    table.add_row("2026-09-30 周三", "教育局", "局党组、各校党支部必须高度重视", "9月底前完成")
    table.add_row("2026-09-01 周二", "县第一中学", "开学安全检查 check", "2026年9月")
    table.add_row("2026-09-15 周二", "ab", "x", "每月")
    return table


def test_cjk_cells_line_up_in_display_columns() -> None:
    lines = agenda_like().render(160).splitlines()
    assert lines[0] == "日程 2026-09-01 至 2026-09-30（3 项）"
    header, rule, *rows = lines[1:]
    assert set(rule) == {"─", " "}
    cells = [
        ("到期日", "单位", "任务", "周期/说明"),
        ("2026-09-30 周三", "教育局", "局党组、各校党支部必须高度重视", "9月底前完成"),
        ("2026-09-01 周二", "县第一中学", "开学安全检查 check", "2026年9月"),
        ("2026-09-15 周二", "ab", "x", "每月"),
    ]
    starts = [
        [start_of(line, cell) for cell in row]
        for line, row in zip([header, *rows], cells, strict=True)
    ]
    assert all(s == starts[0] for s in starts)
    # each column starts two spaces after the widest cell of the one before it
    assert starts[0] == [0, 17, 29, 61]
    assert [width(part) for part in rule.split("  ")] == [15, 10, 30, 11]
    assert all(width(line) <= 160 for line in lines)


def test_a_table_that_fits_is_not_wrapped() -> None:
    table = agenda_like()
    text = table.render(80)
    assert len(text.splitlines()) == 1 + 2 + 3
    assert "局党组、各校党支部必须高度重视" in text
    assert text == table.render(500)
    assert not any(line.endswith(" ") for line in text.splitlines())


def test_counts_are_right_justified() -> None:
    table = Table("推送状态")
    table.add_column("渠道 channel")
    table.add_column("sent", justify="right")
    table.add_column("failed", justify="right")
    table.add_row("教育局-钉钉", "7", "0")
    table.add_row("school-wecom", "1234", "56")
    header, _, *rows = table.render(160).splitlines()[1:]
    ends = [
        [start_of(line, cell) + width(cell) for cell in cells]
        for line, cells in zip(
            [header, *rows], [("sent", "failed"), ("7", "0"), ("1234", "56")], strict=True
        )
    ]
    assert all(e == ends[0] for e in ends)
    assert rows[0] == "教育局-钉钉      7       0"


def test_wrappable_columns_shrink_by_ratio_and_keep_every_character() -> None:
    task = "认真学习贯彻习近平总书记关于安全生产重要论述、安全生产法律法规和上级决策部署"
    label = "长期坚持自查·2026年第3季度"
    table = Table("日程")
    table.add_column("到期日")
    table.add_column("任务", ratio=3)
    table.add_column("周期/说明", ratio=1)
    table.add_column("类型")
    table.add_row("2026-09-30 周三", task, label, "长期坚持自查")
    lines = table.render(80).splitlines()
    assert all(width(line) <= 80 for line in lines)

    rule = lines[2]
    due, task_width, label_width, kind = (width(part) for part in rule.split("  "))
    assert (due, kind) == (15, 12)  # columns without a ratio keep their width
    assert 15 + task_width + label_width + 12 + 3 * 2 == 80
    assert abs(task_width - 3 * label_width) <= 3

    rows = lines[3:]
    assert len(rows) > 1
    assert rows[0].startswith("2026-09-30 周三  ")
    assert rows[0].endswith("  长期坚持自查")
    assert all(line.startswith(" " * 17) for line in rows[1:])
    task_start = 15 + 2
    label_start = task_start + task_width + 2
    assert "".join(column(rows, task_start, task_start + task_width)) == task
    assert "".join(column(rows, label_start, label_start + label_width)) == label


def test_columns_without_ratio_never_wrap_even_when_too_wide() -> None:
    table = Table("t")
    table.add_column("key")
    table.add_column("error", ratio=1)
    key = "4.5/县第一中学/2026-09/first|bureau-wecom"
    table.add_row(key, "HTTP 200, code 310000: keywords not in content")
    lines = table.render(40).splitlines()
    assert lines[1].startswith("key  ")  # the header wraps in its narrow column, not here
    rule = next(i for i, line in enumerate(lines) if line.startswith("─"))
    rows = lines[rule + 1 :]
    assert sum(key in line for line in rows) == 1
    error = "".join(column(rows, width(key) + 2, 10_000))
    assert error.replace(" ", "") == "HTTP200,code310000:keywordsnotincontent"


def test_markup_is_printed_literally() -> None:
    table = Table("[bold]标题[/]")
    table.add_column("[red]列[/red]")
    table.add_row("[bold]x[/]")
    table.add_row("[4.5] 任务 \\[y]")
    lines = table.render(160).splitlines()
    assert lines[0] == "[bold]标题[/]"
    assert lines[1] == "[red]列[/red]"
    assert lines[3:] == ["[bold]x[/]", "[4.5] 任务 \\[y]"]
    assert "\x1b" not in "".join(lines)


def test_wrap_keeps_text_and_never_splits_a_character() -> None:
    text = "开学前e\u0301安全 checklist, 第3次 HTTP 310000 全角ＡＢ完成"
    for limit in range(1, 20):
        lines = wrap(text, limit)
        assert "".join(lines) == text
        assert all(width(line) <= max(limit, 2) for line in lines)
        assert not any(line and unicodedata.combining(line[0]) for line in lines)


def test_wrap_breaks_latin_words_at_spaces() -> None:
    assert wrap("HTTP 200, code 310000: bad", 12) == ["HTTP 200, ", "code 310000:", " bad"]
    assert wrap("安全检查", 5) == ["安全", "检查"]
    assert wrap("安全检查；[5.1] 落实", 12) == ["安全检查；", "[5.1] 落实"]
    assert wrap("abcdefgh", 3) == ["abc", "def", "gh"]
    assert wrap("", 5) == [""]
