"""Feeds built from the shipped config: parsed back with icalendar and ical.js,
compared with `reminders agenda --json`, byte-stable, and incremental."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from reminders.cli.main import main
from reminders.config import Config, load_config
from reminders.core.plan import Plan, compile_plan
from reminders.feeds import (
    Feed,
    FeedBuilder,
    History,
    load_tokens,
    occurrence_id_of,
    slug_for,
    write_feeds,
)
from reminders.feeds import __all__ as feeds_all
from reminders.feeds.ical import duration, escape_text, fold
from reminders.statedir import find_state_dir

from .conftest import ROOT, SHIPPED_CONFIG

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
LATER = NOW + timedelta(days=3, hours=5)
JS_DIR = ROOT / "tests" / "js"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(SHIPPED_CONFIG)


@pytest.fixture(scope="module")
def feeds(config: Config) -> dict[str, Feed]:
    return FeedBuilder().build(config.plan, TODAY, NOW)


def agenda_rows(
    capsys: pytest.CaptureFixture[str], start: date, end: date, unit: str | None
) -> list[dict]:
    argv = ["--config", str(SHIPPED_CONFIG), "agenda", "--json"]
    argv += ["--from", start.isoformat(), "--to", end.isoformat()]
    if unit is not None:
        argv += ["--unit", unit]
    assert main(argv) == 0
    rows: list[dict] = json.loads(capsys.readouterr().out)
    return rows


def as_events(rows: list[dict], group: str | None = None) -> list[tuple[str, str, str]]:
    """What a feed shows of agenda rows: (id, first day, due), with a unit's standing
    reviews of one period as one self-check event due on the earliest of their dates.
    A group's feed (`group`: its name, 全部 for the feed of everything) shows each
    occurrence of a duty once, whatever the number of its units."""
    out: dict[str, tuple[str, str]] = {}
    reviews: dict[str, str] = {}
    for row in rows:
        who = group or row["unit"]
        if row["kind"] == "standing-review":
            key = f"review/{who}/{row['period']}"
            reviews[key] = min(reviews.get(key, row["due"]), row["due"])
        else:
            out[f"{row['duty']}/{who}/{row['period']}"] = (row["start"] or row["due"], row["due"])
    return [(key, *dates) for key, dates in out.items()] + [
        (key, due, due) for key, due in reviews.items()
    ]


def expected_for(feed: Feed, capsys: pytest.CaptureFixture[str]) -> set[tuple[str, str, str]]:
    unit = None if feed.spec.kind == "all" else feed.spec.name
    rows = agenda_rows(capsys, feed.start, feed.end, unit)
    return set(as_events(rows, None if feed.spec.kind == "unit" else feed.spec.name))


def from_icalendar(body: bytes) -> set[tuple[str, str, str]]:
    calendar = icalendar.Calendar.from_ical(body)
    found = set()
    for event in calendar.walk("VEVENT"):
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert type(start) is date and type(end) is date, "all-day events are VALUE=DATE"
        due = end - timedelta(days=1)
        found.add((occurrence_id_of(str(event["UID"])), start.isoformat(), due.isoformat()))
    return found


def node_parse(paths: list[Path]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: run tests/setup.sh (it installs Debian's nodejs)")
    if not (JS_DIR / "node_modules" / "ical.js").is_dir():
        pytest.fail("ical.js is missing: run tests/setup.sh (it runs npm ci --prefix tests/js)")
    done = subprocess.run(
        [node, str(JS_DIR / "parse.mjs"), *map(str, paths)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    result: list[dict] = json.loads(done.stdout)
    return result


# -- the feeds of the shipped config ------------------------------------------


def test_one_feed_per_unit_group_and_all(feeds: dict[str, Feed], config: Config) -> None:
    units = config.plan.unit_names()
    assert [f.spec.name for f in feeds.values() if f.spec.kind == "unit"] == units
    assert [f.spec.name for f in feeds.values() if f.spec.kind == "group"] == ["各校"]
    assert [f.spec.slug for f in feeds.values() if f.spec.kind == "all"] == ["all"]
    assert all(f.start == TODAY - timedelta(days=90) for f in feeds.values())
    assert feeds["教育局"].end == TODAY + timedelta(days=400)


def test_feeds_parse_with_icalendar_and_match_the_agenda(
    feeds: dict[str, Feed], capsys: pytest.CaptureFixture[str]
) -> None:
    for feed in feeds.values():
        expected = expected_for(feed, capsys)
        assert expected, feed.spec.slug
        assert from_icalendar(feed.body) == expected, feed.spec.slug
        assert feed.events == len(expected)


def test_feeds_parse_with_ical_js_and_match_the_agenda(
    feeds: dict[str, Feed], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = write_feeds(tmp_path, feeds)
    assert len(report.written) == len(feeds)
    parsed = node_parse([tmp_path / f.spec.filename for f in feeds.values()])
    for feed, calendar in zip(feeds.values(), parsed, strict=True):
        assert calendar["name"] == feed.spec.title
        assert calendar["refresh"] == "PT1H"
        assert calendar["timezones"] == []  # no TZID is used: see test_no_timezone_is_missing
        found = set()
        for event in calendar["events"]:
            assert event["isDate"] and event["valueType"] == "date"
            due = date.fromisoformat(event["end"]) - timedelta(days=1)
            found.add((occurrence_id_of(event["uid"]), event["start"], due.isoformat()))
            assert event["sequence"] == 0
            assert event["dtstamp"] == "2026-11-28T02:30:00Z"
            assert event["alarms"] and all(a["related"] == "END" for a in event["alarms"])
        assert len(found) == len(calendar["events"]), "UIDs are unique"
        assert found == expected_for(feed, capsys), feed.spec.slug


def test_event_content(feeds: dict[str, Feed], config: Config) -> None:
    calendar = icalendar.Calendar.from_ical(feeds["教育局"].body)
    assert calendar["X-WR-CALNAME"] == "安全生产任务·教育局" == calendar["NAME"]
    assert calendar["X-WR-TIMEZONE"] == "Asia/Shanghai"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in feeds["教育局"].body.decode()
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    event = events["4.5/教育局/2026-12@reminders.local"]
    assert str(event["SUMMARY"]) == (
        "【周期任务】教育局：教育行政部门每月至少组织 1 次安全生产工作检查（2026年12月）"
    )
    duty = next(c.duty for c in config.plan.duties if c.duty.id == "4.5")
    text = str(event["DESCRIPTION"])
    assert duty.text in text and str(duty.measure) in text and str(duty.time_limit) in text
    assert event["CATEGORIES"].cats == [duty.section, "周期任务"]
    assert event.decoded("DTSTART") == date(2026, 12, 31)
    assert event.decoded("DTEND") == date(2027, 1, 1)
    assert str(event["STATUS"]) == "CONFIRMED"
    triggers = [a.decoded("TRIGGER") for a in event.walk("VALARM")]
    # 7d, 3wd (2026-12-28 is a Monday: three workdays before Thursday 31st), 0d; at 09:00
    assert triggers == [
        timedelta(days=-8, hours=9),
        timedelta(days=-4, hours=9),
        timedelta(days=-1, hours=9),
    ]


def test_no_timezone_is_missing(feeds: dict[str, Feed]) -> None:
    """All dates are all-day and alarms relative: no TZID, so no VTIMEZONE is owed."""
    for feed in feeds.values():
        calendar = icalendar.Calendar.from_ical(feed.body)
        assert calendar["X-WR-TIMEZONE"] == "Asia/Shanghai"
        assert b"TZID" not in feed.body and not calendar.walk("VTIMEZONE")
        calendar.add_missing_timezones()
        assert not calendar.walk("VTIMEZONE"), feed.spec.slug


def test_spans_run_from_start_to_due(feeds: dict[str, Feed]) -> None:
    calendar = icalendar.Calendar.from_ical(feeds["all"].body)
    spans = [
        (e.decoded("DTSTART"), e.decoded("DTEND"))
        for e in calendar.walk("VEVENT")
        if "敏感时期加密" in str(e["SUMMARY"])
    ]
    assert spans and all(start < end for start, end in spans)
    assert any(end - start > timedelta(days=1) for start, end in spans)


def test_limits_cut_the_far_end_on_a_day_boundary(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    feeds_settings = config.settings.feeds.model_copy(update={"max_events": 50})
    settings = config.settings.model_copy(update={"feeds": feeds_settings})
    plan = replace(config.plan, settings=settings)
    with caplog.at_level("WARNING", logger="reminders.feeds"):
        feeds = FeedBuilder().build(plan, TODAY, NOW)
    feed = feeds["教育局"]
    assert feed.events <= 50 and feed.dropped > 0 and feed.end < feed.start + timedelta(days=490)
    dues = {due for _, _, due in from_icalendar(feed.body)}
    assert max(dues) <= feed.end.isoformat()
    assert "订阅 教育局 超出上限 (over the limit)" in caplog.text and str(feed.end) in caplog.text


# -- byte stability and SEQUENCE ----------------------------------------------


def test_two_builds_are_byte_identical(config: Config, tmp_path: Path) -> None:
    history = History.load(tmp_path)
    first = FeedBuilder(history).build(config.plan, TODAY, NOW)
    history.save()
    history.close()
    # a fresh process: new builder, history from disk, a later clock
    second = FeedBuilder(History.load(tmp_path)).build(config.plan, TODAY, LATER)
    assert {s: f.body for s, f in first.items()} == {s: f.body for s, f in second.items()}
    assert {s: f.changed for s, f in first.items()} == {s: f.changed for s, f in second.items()}


def _with_title(config: Config, duty_id: str, title: str) -> Plan:
    duties = [
        d.model_copy(update={"title": title}) if d.id == duty_id else d
        for d in config.duties.duties
    ]
    return compile_plan(config.settings, config.units.units, config.calendar, duties)


def events_of(feed: Feed) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(feed.body).walk("VEVENT")}


def raw_events(feed: Feed) -> dict[str, bytes]:
    """UID → the VEVENT's bytes (cheaper than parsing when most are equal)."""
    out = {}
    for chunk in feed.body.split(b"BEGIN:VEVENT\r\n")[1:]:
        head = chunk.split(b"\r\nDTSTART", 1)[0]
        out[head.replace(b"\r\n ", b"").decode().removeprefix("UID:")] = chunk
    return out


@pytest.mark.parametrize("incremental", [True, False], ids=["same-builder", "fresh-builder"])
def test_changing_one_duty_changes_only_its_events(
    config: Config, tmp_path: Path, incremental: bool
) -> None:
    builder = FeedBuilder(History.load(tmp_path))
    before = builder.build(config.plan, TODAY, NOW)
    builder.history.save()
    if not incremental:
        builder.history.close()
        builder = FeedBuilder(History.load(tmp_path))
    after = builder.build(_with_title(config, "4.5", "每月安全生产工作检查"), TODAY, LATER)
    if incremental:
        assert builder.stats.duties_expanded == 1
        assert builder.stats.feeds_rendered == 2  # 教育局 and all: 4.5 is the bureau's
    for slug in before:
        old, new = raw_events(before[slug]), raw_events(after[slug])
        assert old.keys() == new.keys()
        changed = {uid for uid in old if old[uid] != new[uid]}
        assert all(uid.startswith("4.5/") for uid in changed)
        parsed_old = events_of(before[slug]) if changed else {}
        parsed_new = events_of(after[slug]) if changed else {}
        for uid in changed:
            assert parsed_new[uid]["SEQUENCE"] == parsed_old[uid]["SEQUENCE"] + 1 == 1
            assert parsed_new[uid].decoded("DTSTAMP") == LATER.replace(microsecond=0)
            assert "每月安全生产工作检查" in str(parsed_new[uid]["SUMMARY"])
        if slug in ("教育局", "all"):
            assert changed
            assert after[slug].etag != before[slug].etag
            assert after[slug].changed == LATER
        else:
            assert not changed
            assert after[slug].body == before[slug].body
            assert after[slug].changed == NOW


def test_incremental_equals_cold_build(config: Config) -> None:
    history = History()
    warm = FeedBuilder(history)
    warm.build(config.plan, TODAY, NOW)
    changed = _with_title(config, "1.1", "改过的标题")
    incremental = warm.build(changed, TODAY, LATER)
    snapshot = History.loads(history.dumps())
    cold = FeedBuilder(snapshot).build(changed, TODAY, LATER + timedelta(hours=1))
    assert {s: f.body for s, f in incremental.items()} == {s: f.body for s, f in cold.items()}


def test_incremental_builds_equal_cold_builds_through_cuts_and_marks(config: Config) -> None:
    """Unchanged events are read back out of the previous feeds: whatever the sequence
    of changes (marks, titles, a duty that grows a feed past its limit and shrinks it
    again), every build equals a cold build with the same history."""
    limits = config.settings.feeds.model_copy(update={"max_events": 60})
    settings = config.settings.model_copy(update={"feeds": limits})

    def plan_with(**changes: dict[str, str]) -> Plan:
        duties = [
            d.model_copy(update=changes[d.id]) if d.id in changes else d
            for d in config.duties.duties
        ]
        return compile_plan(settings, config.units.units, config.calendar, duties)

    base = plan_with()
    grown = plan_with(**{"12.1": {"time_limit": "每周至少1次"}})
    marks = {"4.5/教育局/2026-12": "张三", "1.1/县第一中学/2026-09-30": ("waived", "")}
    steps: list[tuple[Plan, dict]] = [
        (base, {}),
        (base, marks),
        (plan_with(**{"1.1": {"title": "改过的标题"}}), marks),
        (grown, marks),
        (grown, {}),
        (base, {}),
    ]
    history = History()
    warm = FeedBuilder(history)
    cuts = []
    for i, (plan, done) in enumerate(steps):
        now = NOW + timedelta(hours=i)
        built = warm.build(plan, TODAY, now, done)
        cold = FeedBuilder(History.loads(history.dumps())).build(plan, TODAY, now, done)
        assert {s: f.body for s, f in built.items()} == {s: f.body for s, f in cold.items()}, i
        assert {s: f.etag for s, f in built.items()} == {s: f.etag for s, f in cold.items()}
        cuts.append(built["教育局"].end)
    assert cuts[3] < cuts[0] == cuts[5], "the grown duty cut the bureau's feed, and it came back"


def test_feeds_are_stored_and_served_gzipped(feeds: dict[str, Feed]) -> None:
    for feed in feeds.values():
        assert gzip.decompress(feed.gzipped) == feed.body and len(feed.body) == feed.size
        assert len(feed.gzipped) < feed.size / 5


def test_completed_occurrence_shows_as_done(config: Config) -> None:
    builder = FeedBuilder()
    before = events_of(builder.build(config.plan, TODAY, NOW)["教育局"])
    uid = "4.5/教育局/2026-12@reminders.local"
    after = events_of(
        builder.build(config.plan, TODAY, LATER, completed={"4.5/教育局/2026-12": "张三 已检查"})[
            "教育局"
        ]
    )
    assert str(after[uid]["SUMMARY"]).startswith("✓已完成")
    assert "张三 已检查" in str(after[uid]["DESCRIPTION"])
    assert not after[uid].walk("VALARM") and after[uid]["SEQUENCE"] == 1
    assert {u for u in before if before[u].to_ical() != after[u].to_ical()} == {uid}


# -- what earlier releases wrote ----------------------------------------------------

V1 = ROOT / "tests" / "data" / "feeds-v1"
V1_MARKS = {"4.5/教育局/2026-12": "张三 已检查", "1.1/县第一中学/review-2026-Q4": ("waived", "")}


def test_unit_feeds_are_byte_for_byte_those_of_the_release_before(tmp_path: Path) -> None:
    """tests/data/feeds-v1: a state directory written by the release before group feeds
    summarised (commit a923760): two builds of its config at 2026-11-28 02:30 and 03:30
    UTC, the second with V1_MARKS, and the sha256, ETag and Last-Modified of each unit
    feed. Its history (one JSON file) is moved into the new one, and every unit feed
    comes out as it was: the same bytes (UIDs, SEQUENCE, DTSTAMP), the same ETag and
    Last-Modified."""
    shutil.copytree(V1 / "state", tmp_path / "state")
    expected = json.loads((V1 / "expected.json").read_text(encoding="utf-8"))
    config = load_config(V1 / "config")
    history = History.load(tmp_path / "state")
    assert not (tmp_path / "state" / "feeds" / "history.json").exists()
    feeds = FeedBuilder(history).build(config.plan, TODAY, LATER, V1_MARKS)
    units = {slug: f for slug, f in feeds.items() if f.spec.kind == "unit"}
    assert units.keys() == expected.keys()
    for slug, feed in units.items():
        assert hashlib.sha256(feed.body).hexdigest() == expected[slug]["sha256"], slug
        assert feed.etag == expected[slug]["etag"] and feed.events == expected[slug]["events"]
        assert feed.changed.isoformat() == expected[slug]["changed"]
    # the moved history goes on from there: an undone mark raises SEQUENCE once more
    again = FeedBuilder(history).build(config.plan, TODAY, LATER, {})["教育局"]
    event = events_of(again)["4.5/教育局/2026-12@reminders.local"]
    assert event["SEQUENCE"] == 2 and event.decoded("DTSTAMP") == LATER.replace(microsecond=0)


# -- a bigger county ------------------------------------------------------------


def test_a_groups_feed_does_not_grow_with_its_schools(
    config_dir: Path, feeds: dict[str, Feed], capsys: pytest.CaptureFixture[str]
) -> None:
    """A hundred schools instead of three: the unit feeds are as before, and 各校 and all
    hold the same duty occurrences over the whole window (one event each)."""
    lines = ["units:", "  - name: 教育局"]
    lines += [f"  - {{name: 第{i}小学, groups: [各校], supervisor: 教育局}}" for i in range(1, 101)]
    (config_dir / "units.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = load_config(config_dir)
    county = FeedBuilder().build(config.plan, TODAY, NOW)
    assert len(county) == 103
    limits = config.settings.feeds
    for feed in county.values():
        assert feed.events <= limits.max_events and len(feed.body) <= limits.max_bytes
        assert feed.dropped == 0 and feed.start == TODAY - timedelta(days=90)
    for slug in ("各校", "all"):
        assert county[slug].events == feeds[slug].events
        argv = ["--config", str(config_dir), "agenda", "--json"]
        argv += ["--from", county[slug].start.isoformat(), "--to", county[slug].end.isoformat()]
        assert main(argv + (["--unit", "各校"] if slug == "各校" else [])) == 0
        rows = json.loads(capsys.readouterr().out)
        expected = set(as_events(rows, "各校" if slug == "各校" else "全部"))
        assert from_icalendar(county[slug].body) == expected
    assert abs(county["各校"].size - feeds["各校"].size) < feeds["各校"].size / 5


# -- files ----------------------------------------------------------------------


def test_files_are_rewritten_only_when_bytes_change(
    feeds: dict[str, Feed], config: Config, tmp_path: Path
) -> None:
    out = tmp_path / "calendars"
    write_feeds(out, feeds)
    names = sorted(f.spec.filename for f in feeds.values())
    assert sorted(p.name for p in out.glob("*.ics")) == names
    for feed in feeds.values():
        assert (out / feed.spec.filename).read_bytes() == feed.body
    os.utime(out / "县第一中学.ics", (1, 1))
    report = write_feeds(out, feeds)
    assert report.written == [] and len(report.unchanged) == len(feeds)
    assert (out / "县第一中学.ics").stat().st_mtime == 1
    # a unit that disappears takes its file with it; other files are left alone
    (out / "notes.txt").write_text("mine")
    fewer = {slug: f for slug, f in feeds.items() if slug != "县实验小学"}
    report = write_feeds(out, fewer)
    assert report.removed == ["县实验小学.ics"]
    assert (out / "notes.txt").read_text() == "mine"
    assert not list(out.glob(".*.tmp"))


def test_cli_build_writes_files_twice_identically(tmp_path: Path) -> None:
    argv = ["--config", str(SHIPPED_CONFIG), "feeds", "build", "--today", "2026-11-28"]
    argv += ["--state-dir", str(tmp_path / "state"), "--output", str(tmp_path / "cal")]
    assert main(argv) == 0
    first = {p.name: p.read_bytes() for p in (tmp_path / "cal").glob("*.ics")}
    assert main(argv) == 0
    second = {p.name: p.read_bytes() for p in (tmp_path / "cal").glob("*.ics")}
    assert first == second and "教育局.ics" in first


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("state-dir-is-a-file", "状态目录 (state directory) 不是目录"),
        ("output-is-a-file", "写不了订阅文件"),
        ("damaged-history", "订阅历史已损坏"),
        ("damaged-history-db", "订阅历史已损坏"),
        ("damaged-tokens", "订阅令牌文件已损坏"),
        ("short-token", "订阅令牌太短或格式不对"),
    ],
)
def test_state_and_output_problems_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, message: str
) -> None:
    state, output = tmp_path / "state", tmp_path / "cal"
    (state / "feeds").mkdir(parents=True)
    if case == "state-dir-is-a-file":
        state = tmp_path / "file"
        state.write_text("x")
    elif case == "output-is-a-file":
        output.write_text("x")
    elif case == "damaged-history":
        (state / "feeds" / "history.json").write_text('{"version": 1, "events": [')
    elif case == "damaged-history-db":
        (state / "feeds" / "history.sqlite3").write_bytes(b"not a database" * 100)
    elif case == "damaged-tokens":
        (state / "feeds" / "tokens.json").write_text("[1, 2]")
    elif case == "short-token":
        (state / "feeds" / "tokens.json").write_text('{"all": "abc"}')
    argv = ["--config", str(SHIPPED_CONFIG), "feeds", "build"]
    code = main([*argv, "--state-dir", str(state), "--output", str(output)])
    err = capsys.readouterr().err
    assert code == 1
    assert message in err and "Traceback" not in err


def test_urls_need_a_base_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--config", str(SHIPPED_CONFIG), "feeds", "urls", "--state-dir", str(tmp_path)]
    assert main(argv) == 1
    assert "feeds.base_url" in capsys.readouterr().err


# -- names, tokens, state dir -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("教育局", "教育局"),
        ("县第一中学", "县第一中学"),
        ("School-2", "School-2"),
        ("all", "all-"),
        ("CON", "CON-"),
        ("../etc/passwd", "etc-passwd-"),
        ("a/b", "a-b-"),
        ("一中 (东校区)", "一中-东校区-"),
        (".hidden", "hidden-"),
        ("x" * 200, "x" * 40 + "-"),
        ("///", "feed-"),
    ],
)
def test_slugs_are_safe_file_names(name: str, slug: str) -> None:
    got = slug_for(name)
    assert got.startswith(slug)
    assert "/" not in got and not got.startswith(".") and len(got.encode()) < 200
    if got != name:
        assert len(got) == len(slug) + 8 if slug.endswith("-") else got == slug


def test_similar_names_get_different_slugs() -> None:
    assert len({slug_for(n) for n in ["a/b", "a-b", "a b", "a\\b", "a_b"]}) == 5


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        ("/x", {"REMINDERS_STATE_DIR": "/y", "STATE_DIRECTORY": "/z"}, "/x"),
        (None, {"REMINDERS_STATE_DIR": "/y", "STATE_DIRECTORY": "/z"}, "/y"),
        (None, {"STATE_DIRECTORY": "/z:/w"}, "/z"),
        (None, {}, "var"),
    ],
)
def test_state_dir_resolution(explicit: str | None, env: dict[str, str], expected: str) -> None:
    assert find_state_dir(explicit, env) == Path(expected)


def test_tokens_are_made_once_private_and_long(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = load_tokens(state, ["unit:教育局", "all"])
    again = load_tokens(state, ["unit:教育局", "all", "unit:新学校"])
    assert again["unit:教育局"] == first["unit:教育局"] and again["all"] == first["all"]
    assert len(set(again.values())) == 3
    assert all(len(t) * 6 >= 128 for t in again.values())
    path = state / "feeds" / "tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


# -- primitives -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "PT0S"), (-54000, "-PT15H"), (-(7 * 86400 + 54000), "-P7DT15H"), (90061, "P1DT1H1M1S")],
)
def test_duration(seconds: int, text: str) -> None:
    assert duration(seconds) == text


def test_escape_text() -> None:
    assert escape_text("a,b;c\\d\r\ne") == "a\\,b\\;c\\\\d\\ne"


@pytest.mark.parametrize("text", ["x" * 200, "安全" * 100, "a" + "教" * 80, "ab" * 37 + "安"])
def test_fold_keeps_lines_short_and_characters_whole(text: str) -> None:
    folded = fold(f"SUMMARY:{text}".encode())
    lines = folded.split(b"\r\n")
    assert lines[-1] == b""
    for raw in lines[:-1]:
        assert len(raw) <= 75
        raw.decode()  # no line ends inside a UTF-8 character
    assert folded.replace(b"\r\n ", b"").decode() == f"SUMMARY:{text}\r\n"


def test_public_api_is_sorted() -> None:
    assert feeds_all == sorted(feeds_all)


def iter_lines(body: bytes) -> Iterator[bytes]:
    yield from body.split(b"\r\n")


def test_every_line_is_crlf_and_short(feeds: dict[str, Feed]) -> None:
    body = feeds["all"].body
    assert body.endswith(b"END:VCALENDAR\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    assert max(len(line) for line in iter_lines(body)) <= 75
