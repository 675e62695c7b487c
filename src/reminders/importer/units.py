"""`--add-units`: append the units a table names to units.yaml, comments kept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..config.yamlfile import YamlFile
from ..exceptions import ConfigError, Problem
from .emit import dump_document
from .merge import blank_line_after


def units_with(path: Path, names: Sequence[str]) -> str:
    """The text of units.yaml with one `- name:` entry (no channels) per new name."""
    yaml = YamlFile.load(path)
    document = yaml.data
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap) or not isinstance(
        document.get("units", CommentedSeq()), CommentedSeq
    ):
        raise ConfigError([Problem("expected a mapping with a `units:` list", str(path), 1)])
    units = document.setdefault("units", CommentedSeq())
    for name in names:
        if units:
            blank_line_after(units[-1])
        entry = CommentedMap()
        entry["name"] = name
        entry["channels"] = CommentedSeq()
        entry["channels"].fa.set_flow_style()
        units.append(entry)
    return dump_document(document)
