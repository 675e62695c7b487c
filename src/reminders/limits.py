"""Every bound `reminders` puts on what it is given, in one place.

A config is written by people and a table arrives by e-mail: a typo or a hostile
file must end in a clear error within a fixed time and memory, never in a hang,
a traceback or a machine out of memory. Each limit is named here, used where it
applies, and listed in the README ("Limits").
"""

from __future__ import annotations

# -- files a user hands us -------------------------------------------------------
CONFIG_FILE_MAX_BYTES = 1024 * 1024
"""One config file (settings.yaml, units.yaml, …): 1 MiB (the shipped 51 duties take
28 kB). Checked before the file is read; YAML_MAX_NODES usually binds first."""

SECRET_FILE_MAX_BYTES = 64 * 1024
"""A credentials file, a systemd credential, a key or token file in the state dir."""

STATE_FILE_MAX_BYTES = 16 * 1024 * 1024
"""A file the program wrote into its state directory and reads back (feed tokens)."""

# -- YAML --------------------------------------------------------------------------
YAML_MAX_NODES = 40_000
"""Values (keys, strings, lists, …) in one YAML file: about 4,400 units or 2,400
duties. The reader that keeps line numbers and comments takes up to 0.1 ms a
value, so this bounds the time one file can take, whatever its shape."""

YAML_MAX_DEPTH = 50
"""Nesting of mappings and lists; the config needs about 8 levels."""

YAML_MAX_ALIASES = 1000
"""Aliases (`*name`) in one file."""

YAML_MAX_ALIAS_NODES = 10_000
"""Values that aliases may add in one file, counted after expansion: a "billion
laughs" file is refused at the alias that crosses it, before anything expands."""

YAML_MAX_ALIAS_CHARS = 200_000
"""Characters that aliases may add in one file, counted after expansion."""

YAML_MAX_SCALAR_CHARS = 20_000
"""One value (a string or number) in a YAML file, before the models' own bounds."""

# -- values in the models ------------------------------------------------------------
NAME_MAX_CHARS = 100
"""Unit, group, channel, event, observance and sensitive-period names, aliases."""

TITLE_MAX_CHARS = 500
"""A duty's title, section and measure; the duties file's title."""

TEXT_MAX_CHARS = 4000
"""A duty's task text (searched for schedule phrases)."""

PHRASE_MAX_CHARS = 200
"""A time-limit cell, a rule's phrase, an `rrule:`, a deadline and other short codes."""

SETTING_MAX_CHARS = 2000
"""URLs, templates and the other free-form strings in settings and channels."""

DUTY_ID_MAX_LEVELS = 4
"""Numeric levels of a duty id: `1.2.3.4` at most."""

DUTY_ID_LEVEL_MAX_DIGITS = 4
"""Digits of one level of a duty id."""

PLAN_KEY_MAX_CHARS = 40
"""A plan's key: its file's name in duties/ and the prefix of its duties' ids."""

PLAN_SHORT_MAX_CHARS = 20
"""A plan's short name (`short:`), shown beside each of its duties."""

MIN_YEAR = 2000
"""Earliest year of any date in the config (plan year, plan start, events, holidays,
deadlines, `rrule` UNTIL) and of dates given on the command line."""

MAX_YEAR = 2100
"""Latest such year."""

TIMEZONE_MAX_CHARS = 64
"""An IANA time zone name."""

# -- rrule -----------------------------------------------------------------------------
RRULE_MAX_INTERVAL = 366
"""INTERVAL of an `rrule:` (1 to this)."""

RRULE_SEARCH_YEARS = 400
"""How far an `rrule:` is followed when looking for its next date: one full cycle
of the Gregorian calendar, so a rule that matches at all matches within it. This
caps the candidate dates one expansion may look at per rule and window at
400 × 366 (146,400) days, whatever the rule."""

# -- error messages -----------------------------------------------------------------------
SHOWN_VALUE_CHARS = 80
"""A value quoted in an error message is cut to this many characters."""

MESSAGE_MAX_CHARS = 1000
"""An error message (that may embed a library's words about a value) is cut to this."""
