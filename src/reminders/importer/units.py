"""`--add-units`: append the units a table names to units.yaml, comments kept.

A name that stands for many (各科室, 各乡镇, 区直各部门) is added to the `groups:` list, a
group no unit has joined yet; a unit joins it with `groups: [各科室]`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..config.yamlfile import YamlFile
from ..exceptions import ConfigError, Problem
from .emit import dump_document
from .merge import blank_line_after
from .words import is_group


def units_with(path: Path, names: Sequence[str]) -> str:
    """The text of units.yaml with one `- name:` entry (no channels) per new name."""
    yaml = YamlFile.load(path)
    document = yaml.data
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap) or not isinstance(
        document.get("units", CommentedSeq()), CommentedSeq
    ):
        raise ConfigError(
            [Problem("应为含 `units:` 列表的映射 (expected a `units:` list)", str(path), 1)]
        )
    units = document.setdefault("units", CommentedSeq())
    groups = [n for n in names if is_group(n)]
    for name in names:
        if name in groups:
            continue
        if units:
            blank_line_after(units[-1])
        entry = CommentedMap()
        entry["name"] = name
        entry["channels"] = CommentedSeq()
        entry["channels"].fa.set_flow_style()
        units.append(entry)
    if groups:
        declared = document.get("groups")
        if not isinstance(declared, CommentedSeq):
            declared = CommentedSeq()
            declared.fa.set_flow_style()
            document["groups"] = declared
        declared.extend(g for g in groups if g not in declared)
    return dump_document(document)
