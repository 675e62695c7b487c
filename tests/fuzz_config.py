"""Hostile and broken config directories: mutations of the shipped config.

Each class below makes one case per call from a seeded Random: a copy of the
shipped config with one thing changed, run through `validate` and then `agenda
--json` over the plan year. The classes are those found by hand (issue 16) plus
random byte, value and structure mutations.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from random import Random

from .conftest import SHIPPED_CONFIG
from .fuzzing import Case, Plan, hostile, mutate

FILES = ("settings.yaml", "units.yaml", "calendar.yaml", "duties.yaml", "channels.yaml")
REQUIRED = FILES[:4]
_VALUE_LINE = re.compile(r"^(\s*(?:- )?)([A-Za-z_]+): (?!\s*#)(\S.*?)(\s+#.*)?$")


def _config(scratch: Path) -> Path:
    target = scratch / "config"
    shutil.copytree(SHIPPED_CONFIG, target, ignore=shutil.ignore_patterns("source"))
    return target


def _commands(config: Path) -> list[list[str]]:
    return [
        ["--config", str(config), "validate"],
        ["--config", str(config), "agenda", "--json", "--from", "2026-01-01", "--to", "2026-12-31"],
    ]


def _plan(config: Path, *names: str, must_fail: bool = False) -> Plan:
    return Plan(_commands(config), names or FILES, must_fail=must_fail)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines), encoding="utf-8")


def _set(path: Path, key: str, value: str, rng: Random | None = None) -> None:
    """Give one `key: value` line of the file (a random one when there are several) a
    new value, written as YAML text."""
    lines = _lines(path)
    found = [i for i, line in enumerate(lines) if (m := _VALUE_LINE.match(line)) and m[2] == key]
    if not found:
        raise LookupError(f"{key} not in {path.name}")
    i = rng.choice(found) if rng else found[0]
    match = _VALUE_LINE.match(lines[i])
    assert match is not None
    lines[i] = f"{match[1]}{key}: {value}"
    _write(path, lines)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _add_rule(config: Path, rule: str, rng: Random) -> None:
    """A structured schedule, replacing the phrases, on a random duty."""
    path = config / "duties.yaml"
    lines = _lines(path)
    limits = [i for i, line in enumerate(lines) if line.startswith("    time_limit:")]
    i = rng.choice(limits)
    lines[i + 1 : i + 1] = ["    schedule:", f"      - {rule}"]
    _write(path, lines)


# -- the classes found by hand ------------------------------------------------------


@hostile("alias-bomb")
def alias_bomb(rng: Random) -> Case:
    name = rng.choice(REQUIRED)
    kind = rng.choice(["laughs", "laughs", "long-string", "recursive", "fair-use"])
    levels, width = rng.randint(4, 9), rng.randint(5, 10)

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        path = config / name
        text = path.read_text(encoding="utf-8")
        if kind == "fair-use":  # a few aliases, as people use them: accepted
            if name != "units.yaml":
                return _plan(config, name)
            text = text.replace("    groups: [各校]", "    groups: &g [各校]", 1)
            text = text.replace("    groups: [各校]", "    groups: *g")
            path.write_text(text, encoding="utf-8")
            return _plan(config, name)
        if kind == "laughs":
            bomb = ['x-a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
            for level in range(1, levels + 1):
                refs = ", ".join([f"*a{level - 1}"] * width)
                bomb.append(f"x-a{level}: &a{level} [{refs}]")
        elif kind == "long-string":
            bomb = [f'x-s0: &s0 "{"哈" * 5000}"']
            for level in range(1, levels + 1):
                refs = ", ".join([f"*s{level - 1}"] * width)
                bomb.append(f"x-s{level}: &s{level} [{refs}]")
        else:
            bomb = ["x-loop: &loop [1, [2, *loop]]"]
        path.write_text("\n".join(bomb) + "\n" + text, encoding="utf-8")
        return _plan(config, name, must_fail=kind != "laughs" or width**levels > 10_000)

    return Case("alias-bomb", f"{kind} {levels}x{width} in {name}", build)


@hostile("deep-nesting")
def deep_nesting(rng: Random) -> Case:
    name = rng.choice(REQUIRED)
    depth = rng.choice([51, 60, 500, 5_000, 50_000, rng.randint(51, 100_000)])
    kind = rng.choice(["flow-list", "flow-map", "block"])

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        path = config / name
        if kind == "flow-list":
            value = "[" * depth + "1" + "]" * depth
        elif kind == "flow-map":
            value = "{a: " * depth + "1" + "}" * depth
        else:
            value = "".join("\n" + "  " * (level + 1) + "a:" for level in range(min(depth, 3000)))
            value += " 1"
        text = path.read_text(encoding="utf-8")
        path.write_text(f"x-deep: {value}\n{text}", encoding="utf-8")
        return _plan(config, name, must_fail=True)

    return Case("deep-nesting", f"{kind} depth {depth} in {name}", build)


@hostile("special-file")
def special_file(rng: Random) -> Case:
    name = rng.choice(FILES)
    kind = rng.choice(
        ["fifo", "dev-zero", "dev-urandom", "directory", "dangling", "loop", "good-link"]
    )

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        path = config / name
        original = path.read_bytes()
        path.unlink()
        if kind == "fifo":
            os.mkfifo(path)
        elif kind.startswith("dev-"):
            path.symlink_to("/dev/" + kind.removeprefix("dev-"))
        elif kind == "directory":
            path.mkdir()
        elif kind == "dangling":
            path.symlink_to(scratch / "nowhere.yaml")
        elif kind == "loop":
            path.symlink_to(path)
        else:
            elsewhere = scratch / "elsewhere.yaml"
            elsewhere.write_bytes(original)
            path.symlink_to(elsewhere)
        return _plan(config, name, must_fail=kind != "good-link")

    return Case("special-file", f"{name} is {kind}", build)


_STRING_KEYS = {
    "settings.yaml": ["timezone", "plan_year", "plan_start"],
    "units.yaml": ["name", "supervisor"],
    "calendar.yaml": ["name", "key"],
    "duties.yaml": ["title", "text", "time_limit", "section", "measure", "id"],
}


@hostile("huge-value")
def huge_value(rng: Random) -> Case:
    name = rng.choice(REQUIRED)
    key = rng.choice(_STRING_KEYS[name])
    size = rng.choice([150, 600, 5_000, 25_000, 300_000, 1_500_000, 5_000_000])
    unit = rng.choice(["重", "a", "每月", "9"])

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        if key == "plan_start":
            (config / name).write_text(
                (config / name).read_text(encoding="utf-8") + "\nplan_start: 2026-01-01\n",
                encoding="utf-8",
            )
        _set(config / name, key, _quoted(unit * (size // len(unit))), rng)
        return _plan(config, name, must_fail=size > 5_000)

    return Case("huge-value", f"{key} of {size} × {unit!r} in {name}", build)


_YEARS = ["0001", "1999", "2000", "2100", "2101", "9999"]


@hostile("year-range")
def year_range(rng: Random) -> Case:
    where = rng.choice(
        ["plan_start", "event-end", "event-start", "holidays", "dates", "deadline", "years-key"]
    )
    first, last = sorted([rng.choice(_YEARS), rng.choice(_YEARS)])
    day = rng.choice(["01-01", "12-30", "12-31", "02-29"])

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        calendar = config / "calendar.yaml"
        if where == "plan_start":
            settings = config / "settings.yaml"
            text = settings.read_text(encoding="utf-8")
            settings.write_text(text + f"\nplan_start: {last}-{day}\n", encoding="utf-8")
            file = "settings.yaml"
        elif where == "event-end":
            _set(calendar, "end", f"{last}-{day}")
            file = "calendar.yaml"
        elif where == "event-start":
            _set(calendar, "start", f"{first}-{day}")
            file = "calendar.yaml"
        elif where == "holidays":
            _set(calendar, "years", f"{{2026: {{holidays: [{first}-01-01..{last}-12-31]}}}}")
            file = "calendar.yaml"
        elif where == "dates":
            _set(calendar, "dates", f"[{first}-01-01..{last}-{day}]")
            file = "calendar.yaml"
        elif where == "deadline":
            _add_rule(config, f"deadline: {last}-{day}", rng)
            file = "duties.yaml"
        else:
            _set(calendar, "years", f"{{{last}: {{holidays: [2026-10-09]}}}}")
            file = "calendar.yaml"
        bad = ("0001", "1999", "2101", "9999")
        used = {last} if where in ("plan_start", "event-end", "deadline", "years-key") else {first}
        if where in ("holidays", "dates"):
            used = {first, last}
        return _plan(config, file, must_fail=bool(used & set(bad)))

    return Case("year-range", f"{where} {first}..{last}-{day}", build)


_ZONES_BAD = [
    "America",
    "Asia",
    "Europe",
    "zone.tab",
    "tzdata.zi",
    "iso3166.tab",
    '""',
    "../etc/passwd",
    "/etc/localtime",
    "Asia/Shanghai/../Shanghai",
    "a" * 300,
    '"Asia/Shanghai\\0"',
    "Asia/Beijing",
    "[Asia/Shanghai]",
    "8",
]
_ZONES_GOOD = ["UTC", "Europe/Berlin", "Asia/Shanghai", "Etc/GMT-8", "Asia/Urumqi"]


@hostile("timezone")
def timezone(rng: Random) -> Case:
    good = rng.random() < 0.3
    zone = rng.choice(_ZONES_GOOD if good else _ZONES_BAD)

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        _set(config / "settings.yaml", "timezone", zone)
        return _plan(config, "settings.yaml", must_fail=not good)

    return Case("timezone", f"timezone: {zone[:40]}", build)


_FREQS = ["SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY", "FORTNIGHTLY"]
_BY = {
    "BYMONTH": ["1", "2", "12", "13", "0", "2,4"],
    "BYMONTHDAY": ["1", "15", "29", "30", "31", "-1", "32", "0"],
    "BYDAY": ["MO", "FR", "-1FR", "+2TU", "MO,WE", "XX", "+53MO"],
    "BYYEARDAY": ["1", "60", "366", "-1", "367"],
    "BYWEEKNO": ["1", "53", "60", "-1"],
    "BYSETPOS": ["1", "-1", "99"],
    "BYHOUR": ["9"],
    "WKST": ["MO", "SU"],
}


def random_rrule(rng: Random) -> str:
    parts = [f"FREQ={rng.choice(_FREQS)}"]
    if rng.random() < 0.4:
        parts.append(f"INTERVAL={rng.choice(['-1', '0', '1', '2', '7', '366', '367', '10**9'])}")
    for key in rng.sample(sorted(_BY), rng.randint(0, 3)):
        parts.append(f"{key}={rng.choice(_BY[key])}")
    if rng.random() < 0.2:
        parts.append(f"COUNT={rng.choice(['0', '1', '5', '1000000'])}")
    if rng.random() < 0.2:
        until = rng.choice(["20261231", "20200101", "99991231", "20261231T000000Z"])
        parts.append(f"UNTIL={until}")
    rng.shuffle(parts)
    text = ";".join(parts)
    if rng.random() < 0.1:
        text = "DTSTART;TZID=Asia/Shanghai:20260101T090000\nRRULE:" + text
    return text


@hostile("rrule")
def rrule(rng: Random) -> Case:
    text = rng.choice(
        [
            "FREQ=SECONDLY",
            "FREQ=MINUTELY",
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=WEEKLY;INTERVAL=0",
            "DTSTART;TZID=Asia/Shanghai:20260101T090000\nRRULE:FREQ=DAILY",
            "FREQ=MONTHLY;BYMONTHDAY=15",
            random_rrule(rng),
            random_rrule(rng),
            random_rrule(rng),
        ]
    )

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        _add_rule(config, f"rrule: {_quoted(text)}", rng)
        freq = re.search(r"FREQ=(\w+)", text)
        finer = freq is not None and freq[1] in ("SECONDLY", "MINUTELY", "HOURLY")
        return _plan(config, "duties.yaml", must_fail=finer or "DTSTART" in text)

    return Case("rrule", f"rrule: {text!r}", build)


@hostile("duty-id")
def duty_id(rng: Random) -> Case:
    value = rng.choice(
        [
            "1" * 30 + ".5",
            "1" * 30,
            ".".join(["1"] * rng.randint(5, 40)),
            "12345.1",
            "1." + "9" * rng.randint(5, 5000),
            "7",
            "2.3",
            "3.2.1",
            "4.5",
            "0.0",
            "1..2",
            "-1.2",
            "１.２",
            "",
        ]
    )

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        _set(config / "duties.yaml", "id", _quoted(value), rng)
        long = len(value) > 9 or value.count(".") > 3
        return _plan(config, "duties.yaml", must_fail=long)

    return Case("duty-id", f"id {value[:40]!r}", build)


@hostile("leap-day")
def leap_day(rng: Random) -> Case:
    kind = rng.choice(["each-year", "each-year-end", "observance", "campaign", "deadline"])
    year = rng.choice(["2026", "2027", "2028", "2100"])

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        calendar = config / "calendar.yaml"
        _set(config / "settings.yaml", "plan_year", year)
        if kind == "each-year":
            _set(calendar, "each_year", "[02-29..03-15]")
        elif kind == "each-year-end":
            _set(calendar, "each_year", "[12-20..02-29]")
        elif kind == "observance":
            _set(calendar, "day", "02-29")
        elif kind == "campaign":
            end = f"{year}-12-31"
            _set(calendar, "end", end)
            _add_rule(config, "campaign: {from: 02-29, until: cpc20}", rng)
        else:
            _add_rule(config, "deadline: 02-29", rng)
        return _plan(config, "calendar.yaml", "duties.yaml", "settings.yaml")

    return Case("leap-day", f"02-29 as {kind}, plan year {year}", build)


@hostile("bulk")
def bulk(rng: Random) -> Case:
    """Files near the size limits, in shapes that cost the YAML reader the most."""
    name = rng.choice(REQUIRED)
    shape = rng.choice(["list-items", "map-keys", "flow-list", "comments"])
    size = rng.choice([200_000, 600_000, 1_000_000])

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        path = config / name
        text = path.read_text(encoding="utf-8")
        if shape == "list-items":
            extra = "x-bulk:\n" + "- 1\n" * (size // 4)
        elif shape == "map-keys":
            extra = "x-bulk:\n" + "".join(f"  k{i}: 1\n" for i in range(size // 12))
        elif shape == "flow-list":
            extra = "x-bulk: [" + "1," * (size // 2) + "1]\n"
        else:
            extra = "# 注释\n" * (size // 12)
        path.write_text(extra + text, encoding="utf-8")
        return _plan(config, name)

    return Case("bulk", f"{shape} of {size:,} bytes in {name}", build)


# -- random mutations ----------------------------------------------------------------


@hostile("byte-noise")
def byte_noise(rng: Random) -> Case:
    name = rng.choice(FILES)
    operations = rng.randint(1, 12)
    seed = rng.random()

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        path = config / name
        inserts = [b"\x00", b"\xff", b"\x1b", b"\t", b"\r", b":", b"-", b"[", b"{", b"&a", b"*a"]
        path.write_bytes(mutate(path.read_bytes(), Random(seed), operations, inserts))
        return _plan(config)

    return Case("byte-noise", f"{operations} byte edits in {name} (seed {seed:.6f})", build)


_SCALARS = [
    "10000000000000000000000000000000000000000000000000000",
    "-1",
    "0",
    "1e309",
    ".nan",
    "-.inf",
    "~",
    "true",
    "[]",
    "{}",
    '"\\0"',
    '"\\e[31mred"',
    '"\\ud800"',
    '"\\U0001F600"',
    '"<@all> [点我](http://evil.example/login)"',
    "9" * 5000,
    "2026-02-30",
    "24:00",
    "!!binary aGVsbG8=",
    "!!python/object:os.system ls",
    "&x 1",
    "*nowhere",
    '"' + "x" * 30000 + '"',
    "[[[[[[[[[[1]]]]]]]]]]",
    "{a: {b: {c: {d: 1}}}}",
    "2026-01-01..2025-01-01",
    "12-31..01-01",
    "1wd",
    "999wd",
    "quarter",
    "FREQ=DAILY",
]


@hostile("hostile-scalar")
def hostile_scalar(rng: Random) -> Case:
    name = rng.choice(REQUIRED)
    value = rng.choice(_SCALARS)
    pick = rng.random()

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        path = config / name
        lines = _lines(path)
        candidates = [i for i, line in enumerate(lines) if _VALUE_LINE.match(line)]
        i = candidates[int(pick * len(candidates))]
        match = _VALUE_LINE.match(lines[i])
        assert match is not None
        lines[i] = f"{match[1]}{match[2]}: {value}"
        _write(path, lines)
        return _plan(config)

    return Case("hostile-scalar", f"{value[:30]!r} in {name} (at {pick:.3f})", build)


@hostile("structure")
def structure(rng: Random) -> Case:
    name = rng.choice(FILES)
    kind = rng.choice(
        ["drop-line", "dup-line", "indent", "empty", "only-marker", "two-docs", "list-root", "tag"]
    )
    pick = rng.random()

    def build(scratch: Path) -> Plan:
        config = _config(scratch)
        path = config / name
        lines = _lines(path)
        i = int(pick * len(lines))
        if kind == "drop-line":
            del lines[i]
        elif kind == "dup-line":
            lines.insert(i, lines[i])
        elif kind == "indent":
            lines[i] = "   " + lines[i]
        elif kind == "empty":
            lines = []
        elif kind == "only-marker":
            lines = ["---"]
        elif kind == "two-docs":
            lines = [*lines, "---", "plan_year: 2027"]
        elif kind == "list-root":
            lines = ["- " + line for line in lines if line.strip()]
        else:
            lines.insert(0, "--- !!python/object/apply:os.system ['true']")
        _write(path, lines)
        return _plan(config)

    return Case("structure", f"{kind} in {name} (at {pick:.3f})", build)
