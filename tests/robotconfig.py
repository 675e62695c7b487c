"""Point the shipped config's units at robots of the fake server (made-up keys)."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from .fakerobot import FakeRobots

UNITS = ["教育局", "县第一中学", "县第二中学", "县实验小学"]
SECRET = "SECtest0000000000000000000000000000000000000000000000000000000000"


def wire_dingtalk(config_dir: Path, robots: FakeRobots, units: list[str] = UNITS) -> dict[str, str]:
    """One DingTalk robot per unit; returns the environment that holds their tokens."""
    yaml = YAML()
    units_file = config_dir / "units.yaml"
    data = yaml.load(units_file)
    env: dict[str, str] = {}
    channels: dict[str, dict[str, str]] = {}
    for i, unit in enumerate(units):
        token = f"tok{i:02d}madeup"
        robots.add("dingtalk", token, SECRET)
        name = f"ding-{i:02d}"
        channels[name] = {
            "type": "dingtalk",
            "key_env": f"TEST_DING_{i:02d}_URL",
            "secret_env": "TEST_DING_SECRET",
        }
        env[f"TEST_DING_{i:02d}_URL"] = robots.url("dingtalk", token)
        for entry in data["units"]:
            if entry["name"] == unit:
                entry["channels"] = [name]
    env["TEST_DING_SECRET"] = SECRET
    yaml.dump(data, units_file)
    with (config_dir / "channels.yaml").open("w", encoding="utf-8") as out:
        yaml.dump({"channels": channels}, out)
    return env


def set_delivery(config_dir: Path, **values: object) -> None:
    path = config_dir / "settings.yaml"
    yaml = YAML()
    data = yaml.load(path)
    data.setdefault("delivery", {}).update(values)
    yaml.dump(data, path)
