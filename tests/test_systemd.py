"""The shipped systemd units verify and score as hardened (systemd-analyze)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT


@pytest.fixture(autouse=True)
def _systemd_analyze() -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: run tests/setup.sh (it installs Debian's systemd)")


BIN = Path(sys.executable).parent / "reminders"
UNITS = {
    "reminders.service": ("/opt/reminders/.venv/bin/reminders", []),
    "reminders-user.service": ("%h/.local/share/reminders/.venv/bin/reminders", ["--user"]),
}


def installed(name: str, tmp_path: Path) -> tuple[Path, list[str], dict[str, str]]:
    """The unit as installed here: its ExecStart points at this checkout's console script."""
    placeholder, mode = UNITS[name]
    text = (ROOT / "systemd" / name).read_text(encoding="utf-8")
    assert placeholder in text
    target = tmp_path / name
    target.write_text(text.replace(placeholder, str(BIN)), encoding="utf-8")
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    return target, mode, env


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_verifies(name: str, tmp_path: Path) -> None:
    unit, mode, env = installed(name, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", *mode, "verify", str(unit)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_exposure_at_most_2(name: str, tmp_path: Path) -> None:
    unit, mode, env = installed(name, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", *mode, "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    exposure = float(match[1])
    print(f"{name}: exposure {exposure}")
    assert exposure <= 2.0


def test_system_unit_shape() -> None:
    text = (ROOT / "systemd" / "reminders.service").read_text(encoding="utf-8")
    for line in (
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "StateDirectory=reminders",
        "ConfigurationDirectory=reminders",
        "DynamicUser=yes",
    ):
        assert line in text.splitlines(), line
    assert re.search(r"^ExecStartPre=.* validate$", text, re.M)
    assert re.search(r"^WatchdogSec=\d+", text, re.M)
