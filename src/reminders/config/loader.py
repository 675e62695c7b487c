"""Load and validate the config directory into a compiled plan.

The directory holds four YAML files; every problem in them is reported at once,
each naming file, line, field and value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from ..core.model import CalendarData, DutiesFile, Settings, UnitsFile
from ..core.plan import FieldPath, Plan, TablePlan, compile_plan, dotted
from ..exceptions import ConfigError, Problem, clipped, shown
from ..limits import SHOWN_VALUE_CHARS
from .channels import ChannelsFile
from .messages import chinese
from .planfiles import ignored_files, key_problems, plan_files
from .yamlfile import YamlFile

DEFAULT_FILES = {
    "settings": "settings.yaml",
    "units": "units.yaml",
    "calendar": "calendar.yaml",
    "duties": "duties.yaml",
}
OPTIONAL_FILES = {"channels": "channels.yaml"}

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class DutyPlace:
    file: Path
    index: int  # its place in the file's `duties:` list
    line: int | None


@dataclass(frozen=True)
class Config:
    directory: Path
    settings: Settings
    units: UnitsFile
    calendar: CalendarData
    duties: DutiesFile  # the first plan's file (duties.yaml when there is one)
    plan: Plan
    channels: ChannelsFile = field(default_factory=ChannelsFile)
    duty_places: dict[str, DutyPlace] = field(default_factory=dict)
    """Where each duty (by its id in the plan) is written, for problems found after loading."""


def find_config_dir(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """--config DIR, else $REMINDERS_CONFIG, else ./config."""
    env = os.environ if environ is None else environ
    return Path(explicit or env.get("REMINDERS_CONFIG") or "config")


def validate_file(
    model: type[M], yaml: YamlFile, problems: list[Problem], overrides: dict[str, Any] | None = None
) -> M | None:
    """Validate one loaded file against its model; append located problems, return None."""
    data = yaml.data if yaml.data is not None else {}
    if not isinstance(data, dict):
        problems.append(Problem("文件内容应为映射 (mapping)：每行一个 “键: 值”", str(yaml.path), 1))
        return None
    if overrides:
        data = {**data, **overrides}
    try:
        return model.model_validate(data)
    except (TypeError, ArithmeticError) as exc:  # a check that met a value it did not expect
        problems.append(
            Problem(f"无法检查的值 (unexpected value): {clipped(str(exc), 200)}", str(yaml.path))
        )
        return None
    except ValidationError as exc:
        for error in exc.errors():
            loc = _clean_loc(error["loc"])
            problems.append(
                Problem(
                    chinese(error),
                    str(yaml.path),
                    yaml.line_of(loc),
                    dotted(loc) or None,
                    _shown_value(error.get("input"), error["type"]),
                )
            )
        return None


def _clean_loc(loc: tuple[int | str, ...]) -> FieldPath:
    out: list[str | int] = []
    for part in loc:
        if out and out[-1] == part:
            continue
        out.append(part)
    return tuple(out)


def _shown_value(value: Any, kind: str) -> Any:
    if kind == "missing":
        return None
    if isinstance(value, dict | list) and len(shown(value)) >= SHOWN_VALUE_CHARS:
        return f"{type(value).__name__} of {len(value)}"
    return value


ConfigSignature = tuple[tuple[str, int, int], ...]


def config_signature(directory: Path) -> ConfigSignature:
    """(name, mtime, size) of each config file the loader reads: a change of any
    means reload. Other files (an editor's swap file) are not looked at."""
    out = []
    names = [*DEFAULT_FILES.values(), *OPTIONAL_FILES.values()]
    names += [f.name for f in plan_files(directory) if f.prefixed]
    for name in names:
        try:
            st = (directory / name).stat()
        except OSError:
            continue
        out.append((name, st.st_mtime_ns, st.st_size))
    return tuple(out)


def load_config(directory: Path, plan_year: int | None = None) -> Config:
    """Read, validate and compile; raise ConfigError with every problem found."""
    if not directory.is_dir():
        raise ConfigError(
            [
                Problem(
                    "找不到配置目录 (config directory)：用 --config DIR 或环境变量 "
                    "REMINDERS_CONFIG 指定",
                    str(directory),
                )
            ]
        )
    files: dict[str, YamlFile] = {}
    problems: list[Problem] = []
    plans = plan_files(directory)
    for key, name in DEFAULT_FILES.items():
        path = directory / name
        if key == "duties" and plans:
            continue  # the plans are read below: duties.yaml and/or duties/*.yaml
        if not os.path.lexists(path):
            problems.append(
                Problem(
                    f"缺少文件 (missing file)；配置目录需要 {'、'.join(DEFAULT_FILES.values())}"
                    + ("（任务也可分计划放在 duties/*.yaml）" if key == "duties" else ""),
                    str(path),
                )
            )
            continue
        try:
            files[key] = YamlFile.load(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
    for plan_file in plans:
        try:
            files[plan_file.name] = YamlFile.load(plan_file.path)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)

    overrides = {"plan_year": plan_year} if plan_year is not None else None
    settings = validate_file(Settings, files["settings"], problems, overrides)
    units = validate_file(UnitsFile, files["units"], problems)
    calendar = validate_file(CalendarData, files["calendar"], problems)
    read = [(f, validate_file(DutiesFile, files[f.name], problems)) for f in plans]
    for plan_file in plans:
        yaml = files[plan_file.name]
        problems.extend(key_problems(plan_file, yaml.data, yaml.line_of(("key",))))
    if problems or settings is None or units is None or calendar is None:
        raise ConfigError(problems)
    tables = [
        (TablePlan.of(settings, f.key(files[f.name].data), f.name, d, prefixed=f.prefixed), d)
        for f, d in read
        if d is not None
    ]

    def locate(file: str, path: FieldPath) -> tuple[str, int | None]:
        yaml = files[file]
        return str(yaml.path), yaml.line_of(path)

    channels: ChannelsFile | None = ChannelsFile()
    channels_path = directory / OPTIONAL_FILES["channels"]
    if os.path.lexists(channels_path):  # a broken link is an error, not a missing file
        files["channels"] = YamlFile.load(channels_path)
        channels = validate_file(ChannelsFile, files["channels"], problems)
    if channels is not None:
        _check_channel_names(units, channels, files["units"], problems)
    if problems or channels is None:
        raise ConfigError(problems)

    plan = compile_plan(
        settings,
        units.units,
        calendar,
        [],
        locate,
        declared_groups=units.groups,
        tables=[(table, data.duties) for table, data in tables],
    )
    secret = _password_in_ledger_url(settings, files["settings"])
    ignored = [
        Problem("不会读取：计划文件须以 .yaml 结尾", str(path), severity="warning")
        for path in ignored_files(directory)
    ]
    if secret is not None or ignored:
        extra = (*ignored, *([secret] if secret is not None else []))
        plan = replace(plan, warnings=(*plan.warnings, *extra))
    places = {
        table.duty_id(duty.id): DutyPlace(
            files[table.file].path, i, files[table.file].line_of(("duties", i))
        )
        for table, data in tables
        for i, duty in enumerate(data.duties)
    }
    return Config(directory, settings, units, calendar, tables[0][1], plan, channels, places)


def _password_in_ledger_url(settings: Settings, yaml: YamlFile) -> Problem | None:
    """A password written into settings is a secret in a config file: say so (and
    never show it)."""
    url = settings.delivery.ledger_url
    if not url or urlsplit(url).password is None:
        return None
    path: FieldPath = ("delivery", "ledger_url")
    return Problem(
        "台账地址 (ledger URL) 中含密码：设置文件里不应写密码；"
        "改用环境变量 PGPASSWORD 或密码文件（~/.pgpass、PGPASSFILE）",
        str(yaml.path),
        yaml.line_of(path),
        dotted(path),
        severity="warning",
    )


def _check_channel_names(
    units: UnitsFile, channels: ChannelsFile, yaml: YamlFile, problems: list[Problem]
) -> None:
    known = channels.names()
    for i, unit in enumerate(units.units):
        for j, name in enumerate(unit.channels):
            if name not in known:
                path: FieldPath = ("units", i, "channels", j)
                problems.append(
                    Problem(
                        f"没有这个渠道 (channel)：先在 channels.yaml 中定义"
                        f"（已有：{'、'.join(known)}）",
                        str(yaml.path),
                        yaml.line_of(path),
                        dotted(path),
                        name,
                    )
                )
