"""reminders: a task table (任务分工表) → dated duties, calendar feeds and robot reminders.

The names below are imported on first use, so that `reminders run` starts with
nothing but its command line loaded (see daemon/stopsignal.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config, load_config
    from .core.expand import Window, expand
    from .core.occurrence import Occurrence
    from .core.plan import Plan, compile_plan
    from .exceptions import ConfigError, Problem, RemindersError, ScheduleError

__version__ = "0.1.0"

_WHERE = {
    "Config": ".config",
    "load_config": ".config",
    "Window": ".core.expand",
    "expand": ".core.expand",
    "Occurrence": ".core.occurrence",
    "Plan": ".core.plan",
    "compile_plan": ".core.plan",
    "ConfigError": ".exceptions",
    "Problem": ".exceptions",
    "RemindersError": ".exceptions",
    "ScheduleError": ".exceptions",
}

__all__ = [
    "Config",
    "ConfigError",
    "Occurrence",
    "Plan",
    "Problem",
    "RemindersError",
    "ScheduleError",
    "Window",
    "__version__",
    "compile_plan",
    "expand",
    "load_config",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value
    return value
