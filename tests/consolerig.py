"""The console's test rig: a config and state directory with accounts made by the real
CLI, the real service on 127.0.0.1, and a small HTTP visitor that logs in like a browser."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from reminders.cli.main import main

from .conftest import SHIPPED_CONFIG, TRACK_ALL_YEAR
from .daemonproc import DaemonProcess

NOW = "2026-11-30T10:00"  # a Monday in Shanghai; January's 立即 item is long overdue
BUREAU = ("督办科", "bureau-pass-1")
SCHOOL = ("王老师", "school-pass-1")  # 县第一中学
OTHER = ("李老师", "other-pass-1")  # 县第二中学
SCHOOL_UNIT = "县第一中学"
OTHER_UNIT = "县第二中学"
# the only occurrence of 县第一中学 due in January 2026: its board cell is this one item
JANUARY_ITEM = "8.2/县第一中学/immediate"
MAX_UPLOAD_MB = 1

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)  # a real 1×1 image


def cli(config: Path, state: Path, *argv: str, stdin: str = "") -> tuple[int, str]:
    """Run `reminders <argv>` in process with --state-dir; (exit code, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), _stdin(stdin):
        code = main(["--config", str(config), *argv, "--state-dir", str(state)])
    return code, out.getvalue()


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


def prepare(root: Path) -> tuple[Path, Path]:
    """A copy of the shipped config (uploads limited to 1 MB) and a state directory with
    a bureau account and two school accounts, made with `reminders users add`."""
    config = root / "config"
    shutil.copytree(SHIPPED_CONFIG, config)
    with (config / "settings.yaml").open("a", encoding="utf-8") as out:
        out.write(f"\nconsole:\n  max_upload_mb: {MAX_UPLOAD_MB}\n")
        out.write(TRACK_ALL_YEAR)  # a bureau that has tracked the year: January can be overdue
    state = root / "state"
    for (name, password), role in (
        (BUREAU, ["--bureau"]),
        (SCHOOL, ["--unit", SCHOOL_UNIT]),
        (OTHER, ["--unit", OTHER_UNIT]),
    ):
        code, _ = cli(config, state, "users", "add", name, *role, "--password-stdin",
                      stdin=password + "\n")  # fmt: skip
        assert code == 0
    return config, state


def start_service(config: Path, state: Path) -> tuple[DaemonProcess, str]:
    daemon = DaemonProcess(config, state, now=NOW).start()
    return daemon, f"http://127.0.0.1:{daemon.port}"


class Visitor:
    """An HTTP client with a cookie jar, as a browser without JavaScript."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30)

    def csrf(self, path: str = "/console/login") -> str:
        page = self.http.get(path)
        match = CSRF.search(page.text)
        assert match, (path, page.status_code, page.text[:500])
        return match[1]

    def login(self, name: str, password: str) -> httpx.Response:
        token = self.csrf()
        return self.http.post(
            "/console/login", data={"name": name, "password": password, "csrf": token}
        )

    def close(self) -> None:
        self.http.close()
