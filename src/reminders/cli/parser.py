"""argparse in the user's language: Chinese headings, help and usage errors, and the
options every command shares (`--config`, `--state-dir`, `--plan-year`), accepted
before or after the command name."""

from __future__ import annotations

import argparse
import re
import sys
from typing import IO, NoReturn

from .table import wrap

GUIDE = "docs/使用指南.md"

_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^the following arguments are required: (.*)$"), r"缺少参数：\1"),
    (re.compile(r"^unrecognized arguments: (.*)$"), r"无法识别的参数：\1"),
    (re.compile(r"^one of the arguments (.*) is required$"), r"需要以下参数之一：\1"),
    (re.compile(r"^ambiguous option: (\S+) could match (.*)$"), r"选项 \1 不明确，可能是：\2"),
    (re.compile(r"^argument (.*?): "), r"参数 \1："),
    (re.compile(r"invalid choice: (.*?) \(choose from (.*)\)$"), r"无效的选择 \1（可选：\2）"),
    (re.compile(r"expected one argument$"), "需要一个值"),
    (re.compile(r"expected at most one argument$"), "最多一个值"),
    (re.compile(r"expected at least one argument$"), "至少需要一个值"),
    (re.compile(r"invalid (\w+) value: (.*)$"), r"不是有效的值：\2"),
    (re.compile(r"not allowed with argument (.*)$"), r"不能与参数 \1 同时使用"),
    (re.compile(r"ignored explicit argument (.*)$"), r"此选项不带值：\1"),
]


def translate_error(message: str) -> str:
    """argparse's English usage errors, in Chinese (our own messages pass unchanged)."""
    for pattern, replacement in _ERRORS:
        message = pattern.sub(replacement, message)
    return message


class Formatter(argparse.HelpFormatter):
    """Wraps by display width (a Chinese character takes two columns), never at a hyphen."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return [line.strip() for line in wrap(" ".join(text.split()), max(width, 20))]

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = self._split_lines(text, width - len(indent))
        return "\n".join(indent + line for line in lines)

    def add_usage(
        self,
        usage: str | None,
        actions: object,
        groups: object,
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)  # type: ignore[arg-type]


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose own words are Chinese; subcommands are made of it too."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = "显示本帮助并退出 (help)"

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(
            2,
            f"{self.prog}: 错误：{translate_error(message)}\n（`{self.prog} --help` 查看用法）\n",
        )


def _add_if_missing(parser: argparse.ArgumentParser, *names: str, **kwargs: object) -> None:
    if not any(name in parser._option_string_actions for name in names):
        parser.add_argument(*names, **kwargs)  # type: ignore[arg-type]


def add_shared_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """`--config`, `--state-dir` and `--plan-year`. On a subcommand they default to
    nothing (SUPPRESS), so a value given before the command name is kept."""
    default: object = None if top else argparse.SUPPRESS
    from .common import parse_year

    _add_if_missing(
        parser,
        "--config",
        metavar="DIR",
        default=default,
        help="配置目录 (config directory)；默认 $REMINDERS_CONFIG，否则 ./config",
    )
    _add_if_missing(
        parser,
        "--state-dir",
        metavar="DIR",
        default=default,
        help="状态目录 (state directory)：台账、订阅令牌等；默认 $REMINDERS_STATE_DIR、"
        "$STATE_DIRECTORY，否则 ./var",
    )
    _add_if_missing(
        parser,
        "--plan-year",
        metavar="YYYY",
        type=parse_year,
        default=default,
        help="本次运行改用此计划年度 (plan year)，覆盖 settings.yaml 的 plan_year",
    )


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser, str]]:
    """(name, parser, one-line help) of each command, in the order they were added."""
    out: list[tuple[str, argparse.ArgumentParser, str]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                out.append((name, sub, helps.get(name, "")))
    return out


def finish(parser: argparse.ArgumentParser) -> None:
    """Give every (sub)command the shared options and a description (its one-line help
    when it has none), however its module built it."""
    for _, sub, help_text in subcommands(parser):
        add_shared_options(sub, top=False)
        if not sub.description:
            sub.description = help_text
        finish(sub)


def print_overview(parser: argparse.ArgumentParser, out: IO[str] | None = None) -> None:
    """`reminders` alone: what it is and each command on one line."""
    stream = out or sys.stdout
    commands = subcommands(parser)
    width = max(len(name) for name, _, _ in commands) + 2
    lines = [
        f"{parser.description}",
        "",
        f"用法：{parser.prog} 命令 [选项]   （`{parser.prog} 命令 --help` 查看每个命令的说明）",
        "",
        "命令：",
    ]
    lines += [f"  {name.ljust(width)}{help_text}" for name, _, help_text in commands]
    lines += [
        "",
        "每个命令都接受 --config DIR 与 --state-dir DIR（写在命令名之前或之后均可）。",
        f"使用指南：{GUIDE}",
    ]
    print("\n".join(lines), file=stream)
