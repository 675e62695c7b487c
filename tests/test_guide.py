"""docs/使用指南.md: every shell block it tells the reader to type is either run here,
in order, against a temporary copy of the shipped config, or carries the reason it
cannot be (listed as a skip with that reason).

Markers, on the line before a fenced block:
  <!-- run -->                  a ```sh block run as written
  <!-- norun: 原因 -->            a ```sh block that needs what a test cannot have
  <!-- apply: settings.yaml -->   a ```yaml block appended to that config file, as the
                                  reader is told to, before the blocks after it run
The guide's server paths stand for the test's: /etc/reminders → the temporary config,
/var/lib/reminders → the temporary state directory, /opt/reminders → this checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from .conftest import ROOT, SHIPPED_CONFIG

GUIDE = ROOT / "docs" / "使用指南.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.DOTALL | re.MULTILINE)
_MARKER = re.compile(r"<!--\s*(run|norun|apply)\s*:?\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    body: str
    marker: str | None  # run, norun, apply
    detail: str  # norun: the reason; apply: the file

    @property
    def label(self) -> str:
        return f"line {self.line}: {self.marker or 'unmarked'} {self.lang}"


def _blocks(text: str) -> list[Block]:
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        found.append(
            Block(
                text.count("\n", 0, match.start()) + 1,
                match[1],
                match[2],
                marker[1] if marker else None,
                marker[2] if marker else "",
            )
        )
    return found


BLOCKS = _blocks(GUIDE.read_text(encoding="utf-8"))


def test_every_shell_block_is_marked_run_or_says_why_not() -> None:
    shells = [b for b in BLOCKS if b.lang == "sh"]
    assert len([b for b in shells if b.marker == "run"]) >= 10
    for block in shells:
        assert block.marker in ("run", "norun"), f"{block.label}: mark it <!-- run -->"
        if block.marker == "norun":
            assert block.detail, f"{block.label}: <!-- norun: say why -->"
    for block in BLOCKS:
        if block.marker == "apply":
            assert block.lang == "yaml" and (SHIPPED_CONFIG / block.detail).exists(), block.label


def test_the_guide_gives_the_readmes_two_commands_as_they_are() -> None:
    """Its first two commands are the README's (which .ci/run runs on a fresh clone)."""
    readme = [b.body for b in _blocks((ROOT / "README.md").read_text(encoding="utf-8"))]
    guide = [b.body for b in BLOCKS if b.lang == "sh"]
    assert guide[:2] == readme[:2]


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "yaml"], ids=lambda b: b.label)
def test_yaml_examples_are_yaml(block: Block) -> None:
    YAML(typ="safe").load(block.body)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A server as the guide's section 3 leaves it: config, an empty credentials file."""
    root = tmp_path_factory.mktemp("guide")
    config = root / "config"
    shutil.copytree(SHIPPED_CONFIG, config)
    (config / "credentials.env").touch(mode=0o600)
    return {"config": config, "state": root / "state", "home": root}


def _as_on_the_server(body: str, server: dict[str, Path]) -> str:
    return (
        body.replace("/etc/reminders", str(server["config"]))
        .replace("/var/lib/reminders", str(server["state"]))
        .replace("/opt/reminders", str(ROOT))
    )


STEPS = [b for b in BLOCKS if b.marker in ("run", "norun", "apply")]


@pytest.mark.parametrize("block", STEPS, ids=lambda b: b.label)
def test_guide_step(block: Block, server: dict[str, Path]) -> None:
    """One step of the guide, in the guide's order, on the same server."""
    if block.marker == "norun":
        pytest.skip(f"使用指南 {block.label}: {block.detail}")
    if block.marker == "apply":
        with (server["config"] / block.detail).open("a", encoding="utf-8") as out:
            out.write("\n" + block.body)
        return
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "REMINDERS_CONFIG": str(server["config"]),
        "REMINDERS_STATE_DIR": str(server["state"]),
        "HOME": str(server["home"]),
    }
    env.pop("STATE_DIRECTORY", None)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _as_on_the_server(block.body, server)],
        cwd=server["home"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, f"{block.label} failed:\n{block.body}\n{said}"
    assert "Traceback" not in said
