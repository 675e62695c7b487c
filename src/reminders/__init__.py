"""reminders: a task table (任务分工表) → dated duties, calendar feeds and robot reminders."""

from .config import Config, load_config
from .core.expand import Window, expand
from .core.occurrence import Occurrence
from .core.plan import Plan, compile_plan
from .exceptions import ConfigError, Problem, RemindersError, ScheduleError

__version__ = "0.1.0"

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
