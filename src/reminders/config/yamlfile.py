"""YAML files that remember where each value was written.

Read within the limits of `reminders.limits`: the file's size, how deep values
nest, how many aliases there are and how much they expand, how long one value is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, ScalarEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.scanner import RoundTripScanner

from ..exceptions import ConfigError, Problem, clipped
from ..limits import (
    CONFIG_FILE_MAX_BYTES,
    YAML_MAX_ALIAS_CHARS,
    YAML_MAX_ALIAS_NODES,
    YAML_MAX_ALIASES,
    YAML_MAX_DEPTH,
    YAML_MAX_NODES,
    YAML_MAX_SCALAR_CHARS,
)
from ..userfiles import read_user_file


class _Refused(MarkedYAMLError):
    """A file past one of the limits: its own message, not a syntax error's hints."""


class _Constructor(RoundTripConstructor):
    """Leaves dates as text, so the models validate them and errors get a line number."""

    def construct_yaml_int(self, node: Any) -> Any:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # more digits than Python converts (4,300)
            raise _Refused(None, None, "数字过长 (number too long)", node.start_mark) from None


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_str)
_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)


class _BoundedScanner(RoundTripScanner):
    """Refuses flow nesting (`[[[…`) deeper than YAML_MAX_DEPTH as it reads it: the
    scanner looks up to 1,024 characters ahead for a possible key, at a cost that
    grows with the nesting, before the composer ever sees the depth."""

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        if len(self.flow_context) >= YAML_MAX_DEPTH:
            mark = self.reader.get_mark()
            raise _Refused(None, None, f"嵌套超过 {YAML_MAX_DEPTH} 层 (nesting too deep)", mark)
        super().fetch_flow_collection_start(TokenClass, to_push)


class _BoundedComposer(Composer):
    """Refuses, at the line where it happens, more than YAML_MAX_NODES values (reading
    costs about 0.1 ms a value), nesting deeper than YAML_MAX_DEPTH, a value
    longer than YAML_MAX_SCALAR_CHARS, more aliases than YAML_MAX_ALIASES, aliases that
    would add more than YAML_MAX_ALIAS_NODES values or YAML_MAX_ALIAS_CHARS characters
    once expanded, and an alias inside the very value it names (a loop). Nothing is
    expanded to find out: each value's expanded size is counted once, as it is read."""

    def compose_document(self) -> Any:
        self._nesting = 0
        self._nodes = 0
        self._aliases = 0
        self._alias_nodes = 0
        self._alias_chars = 0
        self._open: dict[str, int] = {}  # anchors of the values being read, and how often
        self._sizes: dict[int, tuple[int, int]] = {}  # id(node) -> expanded (values, chars)
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            self._alias(event)
            return super().compose_node(parent, index)
        self._nesting += 1
        self._nodes += 1
        if self._nodes > YAML_MAX_NODES:
            self._refuse(f"超过 {YAML_MAX_NODES} 个值 (too many values in one file)", event)
        if self._nesting > YAML_MAX_DEPTH:
            self._refuse(f"嵌套超过 {YAML_MAX_DEPTH} 层 (nesting too deep)", event)
        if isinstance(event, ScalarEvent) and len(event.value) > YAML_MAX_SCALAR_CHARS:
            self._refuse(
                f"值长 {len(event.value)} 字符，超过 {YAML_MAX_SCALAR_CHARS} 字符上限 "
                "(value too long)",
                event,
            )
        if isinstance(event, ScalarEvent) and not _encodable(event.value):
            self._refuse("值中有无法编码的字符 (lone surrogate escape, e.g. \\ud800)", event)
        anchor = event.anchor
        if anchor is not None:
            self._open[anchor] = self._open.get(anchor, 0) + 1
        node = super().compose_node(parent, index)
        if anchor is not None:
            self._open[anchor] -= 1
        self._nesting -= 1
        values, chars = 1, len(node.value) if isinstance(node, ScalarNode) else 0
        for child in _children(node):
            child_values, child_chars = self._sizes.get(id(child), (1, 0))
            values += child_values
            chars += child_chars
        self._sizes[id(node)] = values, chars
        return node

    def _alias(self, event: AliasEvent) -> None:
        name = event.anchor
        if self._open.get(name):
            self._refuse(f"别名 *{clipped(name, 40)} 引用了包含它自身的值 (recursive alias)", event)
        target = self.anchors.get(name)
        if target is None:
            return  # ruamel reports the undefined alias
        values, chars = self._sizes.get(id(target), (1, 0))
        self._aliases += 1
        self._alias_nodes += values
        self._alias_chars += chars
        if self._aliases > YAML_MAX_ALIASES:
            self._refuse(f"别名 (alias) 超过 {YAML_MAX_ALIASES} 个", event)
        if self._alias_nodes > YAML_MAX_ALIAS_NODES or self._alias_chars > YAML_MAX_ALIAS_CHARS:
            self._refuse(
                f"别名 (alias) 展开后超过 {YAML_MAX_ALIAS_NODES} 个值或 "
                f"{YAML_MAX_ALIAS_CHARS} 个字符；"
                "请直接写出这些值，不要层层引用",
                event,
            )

    def _refuse(self, message: str, event: Any) -> None:
        raise _Refused(None, None, message, event.start_mark)


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def reader() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.Scanner = _BoundedScanner
    yaml.Composer = _BoundedComposer
    return yaml


class YamlFile:
    """A loaded YAML document plus a way to find the line of any field path."""

    def __init__(self, path: Path, data: Any) -> None:
        self.path = path
        self.data = data

    @classmethod
    def load(cls, path: Path) -> YamlFile:
        raw = read_user_file(path, CONFIG_FILE_MAX_BYTES, "配置文件")
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
            message = clipped(" ".join(str(part) for part in (exc.context, exc.problem) if part))
            if not isinstance(exc, _Refused):
                message = (
                    f"YAML 格式错误 (invalid YAML)：{message}；常见原因：缩进不齐、"
                    "冒号后少空格、引号不成对"
                )
            raise ConfigError([Problem(message, str(path), line)]) from None
        except (YAMLError, ValueError, RecursionError) as exc:
            raise ConfigError(
                [Problem(f"YAML 格式错误 (invalid YAML)：{clipped(str(exc))}", str(path))]
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
