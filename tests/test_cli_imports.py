"""Building the parser (every command, `--help`, `import`, `agenda`) loads no database,
HTTP client or server: those are imported by the commands that use them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "httpx", "uvicorn", "icalendar")


def test_the_command_line_imports_no_heavy_module_until_a_command_needs_it() -> None:
    code = (
        "import sys\n"
        "from reminders.cli.main import build_parser\n"
        "build_parser()\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
