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

# -- importing a task table (reminders import) ---------------------------------------------
IMPORT_FILE_MAX_BYTES = 40 * 1024 * 1024
"""An import file of any kind, checked before it is read (a .docx or .xlsx may carry
images). Only regular files are read: a FIFO, a device or a symlink to one is refused."""

IMPORT_TEXT_MAX_BYTES = 4 * 1024 * 1024
"""A text or CSV table (a 2,000-task table is about 0.5 MB)."""

IMPORT_MAX_ROWS = 3000
"""Rows of a table (of each sheet, of each Word table), or paragraphs of a notice.
Reading the phrases and writing the duties takes about 1 ms a task, so this keeps an
import within a few seconds; a county's table has tens to hundreds of tasks."""

IMPORT_MAX_TASKS = 3000
"""Tasks found in one table (a calendar's cells may list several each)."""

IMPORT_MAX_COLUMNS = 50
"""Columns of a table: a cell past it with text is an error; spans (Word's gridSpan and
gridBefore, Excel's merged ranges) are clipped to the table's width."""

IMPORT_CELL_MAX_CHARS = 20_000
"""Characters of one cell, before the duty's own bounds (TEXT_MAX_CHARS, …) apply."""

IMPORT_CELL_MAX_LINES = 500
"""Lines of one cell: continuation lines in text flattened from Word, paragraphs of a
Word cell."""

IMPORT_MAX_MERGED_RANGES = 20_000
"""Merged ranges of one sheet; each is clipped to the cells in use."""

IMPORT_ZIP_MAX_MEMBERS = 1000
"""Files inside a .docx or .xlsx package."""

IMPORT_ZIP_MAX_BYTES = 200 * 1024 * 1024
"""What the files inside a package add up to once expanded, as the package declares it
(a ZIP reader never expands a member past its declared size): refuses zip bombs."""

IMPORT_XML_MAX_BYTES = 32 * 1024 * 1024
"""The XML of a package (document, sheets, shared strings, styles, …) once expanded."""

IMPORT_XML_MAX_TAGS = 1_000_000
"""Tags in the XML of a package (counted before it is parsed): bounds the parser's
memory (about 120 bytes an element) and time. A 2,000-row Word table written by Word
has about 300,000."""

# -- the HTTP listener (feeds, action links, the API, the console): httpguard.py -------------
MAX_REQUESTS = 64
"""Requests in progress at once (the app running); more wait their turn."""

QUEUE_SECONDS = 10.0
"""Longest a request waits for its turn before it is answered 503."""

MAX_CONNECTIONS = 4096
"""Open connections at once; past it, the longest-idle one is closed (4,096 idle
connections take about 25 MB)."""

BACKLOG = 2048
"""Connections the kernel queues for the listener before they are accepted."""

HTTP_HEAD_MAX_BYTES = 16 * 1024
"""A request's line and headers."""

HTTP_HEAD_SECONDS = 10.0
"""Time a connection has to send each request's line and headers (slowloris)."""

HTTP_RESPONSE_SECONDS = 60.0
"""Time a client has to take each response."""

HTTP_KEEP_ALIVE_SECONDS = 5
"""An idle keep-alive connection is closed after this."""

# -- the JSON API (closedloop/app.py) --------------------------------------------------------
API_BODY_MAX_BYTES = 16 * 1024
"""A request body (the API's bodies are small flat objects)."""

API_LISTING_MAX_DAYS = 800
"""Longest span of `GET /api/occurrences`. Its dates, like every date of the API, lie
within MIN_YEAR and MAX_YEAR."""

API_REPORT_MAX_DAYS = 3660
"""Longest span of `GET /api/report` (ten years; today stands in for a missing end)."""

API_JSON_MAX_DEPTH = 8
"""Nesting of a JSON request body (the API's bodies are flat objects: depth 1)."""

# -- the web console (console/) -----------------------------------------------------------------
CONSOLE_FORM_MAX_BYTES = 64 * 1024
"""Any request body but an upload."""

CONSOLE_UPLOAD_MAX_MB = 200
"""The most `console.max_upload_mb` may be set to (the largest evidence file; 20 by
default)."""

CONSOLE_UPLOAD_SLACK_BYTES = 256 * 1024
"""An upload request's other fields and multipart framing, beyond the file."""

CONSOLE_NOTE_MAX_CHARS = 500
"""A note typed in the console."""

LEDGER_TEXT_MAX_CHARS = 2000
"""A note or evidence text kept in the ledger (from any door: CLI, link, API, console)."""

ACCOUNT_NAME_MAX_CHARS = 50
"""A console account's name."""

PASSWORD_MIN_CHARS = 8
"""A console password, at least."""

PASSWORD_MAX_CHARS = 1024
"""A console password, at most (hashing a longer one costs for nothing)."""

# -- error messages -----------------------------------------------------------------------
SHOWN_VALUE_CHARS = 80
"""A value quoted in an error message is cut to this many characters."""

MESSAGE_MAX_CHARS = 1000
"""An error message (that may embed a library's words about a value) is cut to this."""
