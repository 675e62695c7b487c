"""YAML files that remember where each value was written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..exceptions import ConfigError, Problem

MAX_BYTES = 20 * 1024 * 1024


class _Constructor(RoundTripConstructor):
    """Leaves dates as text, so the models validate them and errors get a line number."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_str)


def reader() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    return yaml


class YamlFile:
    """A loaded YAML document plus a way to find the line of any field path."""

    def __init__(self, path: Path, data: Any) -> None:
        self.path = path
        self.data = data

    @classmethod
    def load(cls, path: Path) -> YamlFile:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                [Problem(f"读不了文件 (cannot read)：{exc.strerror}", str(path))]
            ) from None
        if len(raw) > MAX_BYTES:
            raise ConfigError(
                [Problem(f"文件太大：超过 {MAX_BYTES // 2**20} MB (file too large)", str(path))]
            )
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad_line = raw[: exc.start].count(b"\n") + 1
            message = "不是 UTF-8 文本：请把文件另存为 UTF-8 编码 (not UTF-8)"
            raise ConfigError([Problem(message, str(path), bad_line)]) from None
        try:
            data = reader().load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line: int | None = mark.line + 1 if mark is not None else None
            message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
            raise ConfigError(
                [
                    Problem(
                        f"YAML 格式错误 (invalid YAML)：{message}；常见原因：缩进不齐、"
                        "冒号后少空格、引号不成对",
                        str(path),
                        line,
                    )
                ]
            ) from None
        except YAMLError as exc:
            raise ConfigError(
                [Problem(f"YAML 格式错误 (invalid YAML)：{exc}", str(path))]
            ) from None
        return cls(path, data)

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        """1-based line of the deepest node along `path` that exists."""
        node = self.data
        line: int | None = None
        for part in path:
            if isinstance(node, CommentedMap) and part in node:
                line = node.lc.key(part)[0] + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        if (
            line is None
            and isinstance(node, CommentedMap | CommentedSeq)
            and node.lc.line is not None
        ):
            line = node.lc.line + 1
        return line
