"""What an import needs from the config directory: calendar names, unit names and
the month the school year starts (for school calendars: 九月 … 次年一月).

Only calendar.yaml, units.yaml and settings.yaml are read (not the whole config),
so a broken or missing duties.yaml can be repaired by importing again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from ..config.loader import DEFAULT_FILES, validate_file
from ..config.yamlfile import YamlFile
from ..core.grammar import Vocabulary
from ..core.model import CalendarData, Settings, UnitsFile
from ..core.plan import vocabulary_of
from ..exceptions import ConfigError, Problem

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ImportContext:
    vocabulary: Vocabulary
    units_path: Path
    known_units: frozenset[str] | None  # None: no units file to check against
    warnings: list[Problem] = field(default_factory=list)
    school_year_start: int = 9  # the month settings.semesters.autumn starts in


def _load(model: type[M], path: Path) -> M:
    """`path` validated as `model`, its problems located as `reminders validate` does."""
    problems: list[Problem] = []
    data = validate_file(model, YamlFile.load(path), problems)
    if data is None:
        raise ConfigError(problems)
    return data


def load_context(directory: Path) -> ImportContext:
    warnings: list[Problem] = []
    calendar_path = directory / DEFAULT_FILES["calendar"]
    units_path = directory / DEFAULT_FILES["units"]
    if calendar_path.exists():
        data = _load(CalendarData, calendar_path)
        vocabulary = vocabulary_of(data)
    else:
        vocabulary = Vocabulary()
        warnings.append(
            Problem(
                "没有日历文件 (no calendar file)：节日、纪念日和命名的活动不会被识别",
                str(calendar_path),
                severity="warning",
            )
        )
    known: frozenset[str] | None = None
    if units_path.exists():
        units_file = _load(UnitsFile, units_path)
        units = units_file.units
        known = frozenset(
            {u.name for u in units} | {g for u in units for g in u.groups} | set(units_file.groups)
        )
    else:
        warnings.append(
            Problem(
                "没有单位文件 (no units file)：不检查单位名称", str(units_path), severity="warning"
            )
        )
    start = 9
    settings_path = directory / DEFAULT_FILES["settings"]
    if settings_path.exists():
        start = _load(Settings, settings_path).semesters.autumn[0][0]
    return ImportContext(vocabulary, units_path, known, warnings, start)
