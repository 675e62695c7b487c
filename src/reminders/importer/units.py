"""`--add-units`: append the units a table names to units.yaml, comments kept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..config.yamlfile import YamlFile
from ..exceptions import ConfigError, Problem
from .emit import dump_document
from .merge import trailing_token


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
        before = trailing_token(units[-1]) if units else None
        if before is not None and not before.value.endswith("\n\n"):
            before.value += "\n"
        entry = CommentedMap()
        entry["name"] = name
        entry["channels"] = CommentedSeq()
        entry["channels"].fa.set_flow_style()
        units.append(entry)
    return dump_document(document)
