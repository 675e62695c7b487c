"""Where the plans (计划) are: `duties.yaml`, and/or one file per plan in `duties/`.

`duties.yaml` is the plan a config has always had: its key is `duties` unless it
says `key:`, and its duties keep the table's own ids (`4.5`), so the ledgers, links
and calendar UIDs made from it stay valid when other plans join it. A file
`duties/<key>.yaml` is the plan `<key>`, and its duties' ids are `<key>:<id>`
(`2025:4.5`), whether or not other plans exist, so no id changes when a plan is
added or retired.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.model import PLAN_KEY
from ..exceptions import ConfigError, Problem
from .yamlfile import YamlFile

TOP = "duties.yaml"
FOLDER = "duties"
TOP_KEY = "duties"
_KEY = re.compile(PLAN_KEY)


@dataclass(frozen=True, slots=True)
class PlanFile:
    path: Path
    name: str  # the loader's name for the file: "duties", or "duties/<file name>"
    prefixed: bool  # in duties/: its duties' ids are '<key>:<id>'

    @property
    def default_key(self) -> str:
        return self.path.stem if self.prefixed else TOP_KEY

    def key(self, data: Any) -> str:
        """Its key: `key:` in the file, else its default (a file in duties/: its name)."""
        written = data.get("key") if isinstance(data, dict) else None
        return written if isinstance(written, str) and written else self.default_key


def plan_files(directory: Path) -> list[PlanFile]:
    """`duties.yaml` when it exists, then `duties/*.yaml` by name (hidden files and
    editors' back-ups left alone)."""
    found: list[PlanFile] = []
    top = directory / TOP
    if os.path.lexists(top):  # a broken link or a special file is the loader's error
        found.append(PlanFile(top, "duties", prefixed=False))
    folder = directory / FOLDER
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            hidden = path.name.startswith((".", "#"))
            if path.suffix == ".yaml" and not hidden and not path.is_dir():
                found.append(PlanFile(path, f"{FOLDER}/{path.name}", prefixed=True))
    return found


def ignored_files(directory: Path) -> list[Path]:
    """Files in duties/ that look like plans but are not read (`.yml`)."""
    folder = directory / FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".yml" and p.is_file())


def key_problems(file: PlanFile, data: Any, line: int | None) -> list[Problem]:
    """A file in duties/ is named by its key: a name that is no key, or a `key:` that is
    not its name, would let two files claim one plan (and `import --plan` write the
    wrong one)."""
    if not file.prefixed:
        return []
    stem = file.path.stem
    if not _KEY.match(stem):
        return [
            Problem(
                "计划文件名即计划键 (plan key)：只用小写字母、数字和连字符，如 "
                "duties/2025.yaml、duties/drowning-2026.yaml",
                str(file.path),
                1,
                value=file.path.name,
            )
        ]
    written = data.get("key") if isinstance(data, dict) else None
    if isinstance(written, str) and written != stem:
        return [
            Problem(
                f"计划键与文件名不一致：duties/ 下的文件名就是计划键；删去 key: 一行，"
                f"或把文件改名为 duties/{written}.yaml",
                str(file.path),
                line,
                "key",
                written,
            )
        ]
    return []


def written_key(file: PlanFile) -> str:
    """The file's key as written (`key:`), else its default; a file that does not read
    as YAML has its default (the loader reports it)."""
    try:
        data = YamlFile.load(file.path).data
    except ConfigError:
        data = None
    return file.key(data)


def find_plan(directory: Path, key: str) -> PlanFile | None:
    """The file holding plan `key`, if one does."""
    return next((f for f in plan_files(directory) if written_key(f) == key), None)


def new_plan_path(directory: Path, key: str) -> Path:
    return directory / FOLDER / f"{key}.yaml"
