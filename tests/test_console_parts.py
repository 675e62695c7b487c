"""The console's parts without HTTP: accounts and login links, the login throttle, the
board's colours and counts, evidence checks, history search and the robots' health."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reminders.closedloop import Loop, LoopStore, build_report
from reminders.closedloop.lookup import between
from reminders.closedloop.state import Closure
from reminders.console.accounts import AccountError, Accounts, LinkRefused
from reminders.console.auth import LoginThrottle, console_secret, csrf_ok
from reminders.console.board import CLOSED, build_board, status
from reminders.console.evidence import Refused, clean_name, content_type
from reminders.console.health import channel_health
from reminders.console.views import Boards
from reminders.ledger import Entry, Ledger

from .helpers import duty, make_plan

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")
SECRET = console_secret(b"k" * 32)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")


@pytest.fixture
def accounts(ledger: Ledger) -> Accounts:
    return Accounts(ledger.engine, SECRET)


# -- accounts --------------------------------------------------------------------------


def test_accounts_roles_and_passwords(accounts: Accounts) -> None:
    bureau = accounts.add("督办科", "bureau", [], "bureau-pass", T0)
    school = accounts.add("王老师", "unit", ["一中", "二小"], "school-pass", T0)
    assert (
        bureau.bureau
        and bureau.may_see("一中")
        and bureau.visible(["教育局", "一中"])
        == [
            "教育局",
            "一中",
        ]
    )
    assert not school.bureau and school.may_see("二小") and not school.may_see("教育局")
    assert school.visible(["教育局", "二小", "一中"]) == ["二小", "一中"]
    assert [a.name for a in accounts.all()] == ["王老师", "督办科"]
    assert accounts.authenticate("王老师", "school-pass") == school
    assert accounts.authenticate("王老师", "bureau-pass") is None
    assert accounts.authenticate("无此人", "school-pass") is None
    with pytest.raises(AccountError, match="账号已存在"):
        accounts.add("王老师", "unit", ["一中"], "another-pass", T0)
    with pytest.raises(AccountError, match="至少要有一个单位"):
        accounts.add("空", "unit", [], "another-pass", T0)
    with pytest.raises(AccountError, match="至少 8 个字符"):
        accounts.add("短", "bureau", [], "short", T0)
    with pytest.raises(AccountError, match="1–50 个可见字符"):
        accounts.add(" \t", "bureau", [], "long-enough", T0)


def test_passwords_are_argon2_hashes_and_a_new_one_ends_sessions(
    accounts: Accounts, ledger: Ledger
) -> None:
    accounts.add("王老师", "unit", ["一中"], "school-pass", T0)
    with ledger.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM console_users").scalar()
    assert str(stored).startswith("$argon2id$") and "school-pass" not in str(stored)
    changed = accounts.set_password("王老师", "fresh-pass-2", T0 + timedelta(hours=1))
    assert changed.epoch == 2 and accounts.authenticate("王老师", "school-pass") is None
    assert accounts.authenticate("王老师", "fresh-pass-2") is not None
    links_only = accounts.set_password("王老师", None, T0)
    assert not links_only.has_password and links_only.epoch == 3
    assert accounts.authenticate("王老师", "fresh-pass-2") is None
    accounts.remove("王老师")
    assert accounts.get("王老师") is None
    with pytest.raises(AccountError, match="没有这个账号"):
        accounts.remove("王老师")
    with pytest.raises(AccountError, match="没有这个账号"):
        accounts.set_password("王老师", "whatever-1", T0)


def test_a_login_link_is_signed_expires_and_works_once(accounts: Accounts) -> None:
    accounts.add("王老师", "unit", ["一中"], None, T0)
    token = accounts.issue_link("王老师", T0, timedelta(minutes=30))
    assert accounts.peek_link(token, T0).name == "王老师"
    assert accounts.peek_link(token, T0).name == "王老师"  # looking does not use it
    assert accounts.redeem_link(token, T0 + timedelta(minutes=1)).name == "王老师"
    for look in (accounts.peek_link, accounts.redeem_link):
        with pytest.raises(LinkRefused) as refused:
            look(token, T0 + timedelta(minutes=2))
        assert refused.value.reason == "used"

    late = accounts.issue_link("王老师", T0, timedelta(minutes=30))
    with pytest.raises(LinkRefused) as refused:
        accounts.redeem_link(late, T0 + timedelta(minutes=30))
    assert refused.value.reason == "expired"

    other_key = Accounts(accounts.engine, console_secret(b"o" * 32))
    genuine = accounts.issue_link("王老师", T0, timedelta(minutes=30))
    for forged in (genuine[:-2] + "xx", "garbage", other_key._links.dumps({"n": "abc"})):
        with pytest.raises(LinkRefused) as refused:
            accounts.redeem_link(forged, T0)
        assert refused.value.reason == "forged"
    made_up = accounts._links.dumps({"n": "never-issued"})  # signed, but not in the table
    with pytest.raises(LinkRefused) as refused:
        accounts.redeem_link(made_up, T0)
    assert refused.value.reason == "unknown"
    accounts.remove("王老师")
    with pytest.raises(LinkRefused) as refused:
        accounts.redeem_link(genuine, T0)
    assert refused.value.reason == "unknown"
    with pytest.raises(AccountError):
        accounts.issue_link("王老师", T0, timedelta(minutes=5))


def test_a_login_link_redeemed_by_two_threads_logs_in_one(accounts: Accounts) -> None:
    accounts.add("王老师", "unit", ["一中"], None, T0)

    def redeem(link: str, gate: threading.Barrier, outcomes: list[str]) -> None:
        gate.wait()
        try:
            accounts.redeem_link(link, T0)
            outcomes.append("in")
        except LinkRefused as exc:
            outcomes.append(exc.reason)

    for _ in range(5):
        token = accounts.issue_link("王老师", T0, timedelta(minutes=30))
        outcomes: list[str] = []
        gate = threading.Barrier(4)
        threads = [threading.Thread(target=redeem, args=(token, gate, outcomes)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["in", "used", "used", "used"]


def test_login_throttle_per_name_and_per_address() -> None:
    throttle = LoginThrottle(per_name=3, per_address=5, window=60)
    for second in range(3):
        assert throttle.wait("王老师", "10.0.0.1", second) == 0
        throttle.failed("王老师", "10.0.0.1", second)
    assert throttle.wait("王老师", "10.0.0.9", 3) == pytest.approx(57)
    assert throttle.wait("李老师", "10.0.0.1", 3) == 0
    assert throttle.wait("王老师", "10.0.0.1", 60.5) == 0  # the first failure left the window
    for second, name in enumerate(("李老师", "张老师", "赵老师", "钱老师"), start=61):
        assert throttle.wait(name, "10.0.0.1", second) == 0  # each name once
        throttle.failed(name, "10.0.0.1", second)
    throttle.failed("孙老师", "10.0.0.1", 65)  # the 5th from this address within the window
    assert throttle.wait("周老师", "10.0.0.1", 66) == pytest.approx(55)
    assert throttle.wait("周老师", "10.0.0.2", 66) == 0
    throttle.succeeded("王老师")
    assert throttle.wait("王老师", "10.0.0.2", 64) == 0


def test_csrf_tokens_must_match_the_session() -> None:
    assert csrf_ok({"csrf": "abc"}, "abc")
    for session, given in (({"csrf": "abc"}, "abd"), ({}, "abc"), ({"csrf": "abc"}, None)):
        assert not csrf_ok(session, given)
    assert not csrf_ok({"csrf": ""}, "")


# -- the board ------------------------------------------------------------------------------


def test_the_board_colours_counts_and_ranks() -> None:
    plan = make_plan(
        [duty("1.1", "每月", units=["各校"]), duty("2.1", "9月底前完成", units=["一中", "教育局"])]
    )
    today = date(2026, 10, 20)
    occurrences = between(plan, plan.settings.start, date(2026, 12, 31))
    by_id = {o.id: o for o in occurrences}

    def closed(occurrence_id: str, state: str, on: date) -> Closure:
        moment = datetime(on.year, on.month, on.day, 10, tzinfo=ZONE)
        o = by_id[occurrence_id]
        return Closure(occurrence_id, o.unit, state, "张三", None, None, moment, 1)  # type: ignore[arg-type]

    closures = {
        c.occurrence_id: c
        for c in (
            closed("1.1/一中/2026-08", "done", date(2026, 8, 20)),  # on time
            closed("1.1/一中/2026-09", "done", date(2026, 10, 9)),  # late
            closed("2.1/一中/2026-09-30", "waived", date(2026, 9, 1)),
            closed("1.1/二小/2026-08", "done", date(2026, 8, 31)),
        )
    }
    board = build_board(
        occurrences,
        closures,
        units=plan.unit_names(),
        today=today,
        zone=ZONE,
        year=2026,
        grain="month",
        semesters=(plan.settings.semesters.spring, plan.settings.semesters.autumn),
    )
    rows = {row.unit: row for row in board.rows}
    one, two = rows["一中"], rows["二小"]
    assert [c.status for c in one.cells[7:12]] == [
        "done_on_time",  # August
        "done_late",  # September: the monthly one late, the deadline waived → the worse
        "due_soon",  # October: due 10-30, within two weeks of 10-20
        "pending",  # November
        "pending",
    ]
    assert one.cells[8].text == "2/2" and one.cells[6].status == "overdue"
    assert rows["教育局"].cells[8].status == "overdue"  # 2.1, never closed
    assert two.cells[8].status == "overdue" and two.cells[7].status == "done_on_time"
    assert board.overdue_total == sum(row.overdue for row in board.rows)
    # ranked by overdue count, then by the oldest
    assert [r.unit for r in board.ranking] == sorted(
        (r.unit for r in board.rows if r.overdue),
        key=lambda u: (-rows[u].overdue, -rows[u].oldest, plan.unit_names().index(u)),
    )
    assert board.current.label == "10月" and board.current.due == 2
    # the grid counts what the weekly report counts, column for column
    report = build_report(
        occurrences,
        closures,
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        today=today,
        calendar=plan.calendar,
        zone=ZONE,
        units=plan.unit_names(),
    )
    for counts in report.units:
        cells = rows[counts.unit].cells
        tally = {key: sum(c.counts[key] for c in cells) for key in CLOSED | {"overdue"}}
        assert tally["done_on_time"] == counts.done_on_time
        assert tally["done_late"] == counts.done_late
        assert tally["waived"] == counts.waived
        assert tally["overdue"] == counts.overdue
        open_later = sum(c.counts["pending"] + c.counts["due_soon"] for c in cells)
        assert open_later == counts.pending


def test_status_refines_the_report_classification() -> None:
    plan = make_plan([duty("1.1", "每月", units=["一中"])])
    (october,) = [o for o in between(plan, date(2026, 10, 1), date(2026, 10, 31))]
    assert status(october, None, date(2026, 10, 1), ZONE) == "pending"
    assert status(october, None, date(2026, 10, 17), ZONE) == "due_soon"
    assert status(october, None, october.due, ZONE) == "due_soon"
    assert status(october, None, october.due + timedelta(days=1), ZONE) == "overdue"


# -- evidence ---------------------------------------------------------------------------------


def test_evidence_kinds_are_checked_by_name_and_bytes() -> None:
    accepted = {
        "现场.JPG": b"\xff\xd8\xff\xe0rest",
        "a.png": b"\x89PNG\r\n\x1a\nrest",
        "a.pdf": b"%PDF-1.7",
        "a.docx": b"PK\x03\x04rest",
        "a.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest",
        "a.webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        "a.heic": b"\x00\x00\x00\x18ftypheic\x00\x00",
    }
    for name, head in accepted.items():
        assert content_type(name, head)
    assert content_type("a.pdf", b"%PDF-1.7") == "application/pdf"
    refused = {
        "a.exe": b"MZ",
        "a.html": b"<html>",
        "a.svg": b"<svg",
        "a.pdf": b"<html>",
        "a.webp": b"RIFF\x00\x00\x00\x00AVI ",
        "a.heic": b"\x00\x00\x00\x18ftypisom",
        "a": b"%PDF-",
    }
    for name, head in refused.items():
        with pytest.raises(Refused):
            content_type(name, head)


def test_uploaded_names_are_kept_for_display_only() -> None:
    assert clean_name("../../etc/passwd.pdf") == "passwd.pdf"
    assert clean_name("..\\..\\Windows\\evil.png") == "evil.png"
    assert clean_name("/abs/path/记录.docx") == "记录.docx"
    assert clean_name("..") == "附件" and clean_name("") == "附件"
    assert clean_name("a\x00b\nc.pdf") == "abc.pdf"
    assert clean_name(".hidden.png") == "hidden.png"
    long = clean_name("长" * 300 + ".pdf")
    assert len(long) <= 120 and long.endswith(".pdf")


# -- the ledger: history search, robots' health ------------------------------------------------


def test_history_search_filters(ledger: Ledger) -> None:
    store = LoopStore.of(ledger)
    store.apply("1.1/一中/2026-09", "一中", "done", T0, by="王老师")
    store.apply("1.1/二小/2026-09", "二小", "done", T0 + timedelta(days=1), by="李老师")
    store.apply(
        "2.1/一中/2026-09-30", "一中", "waive", T0 + timedelta(days=2), by="王老师（督办科）"
    )
    store.apply("11.1/一中/2026-09", "一中", "done", T0 + timedelta(days=3), by="张三")

    def ids(**filters: object) -> list[str]:
        return [c.occurrence_id for c in store.search(**filters)]  # type: ignore[arg-type]

    assert ids() == [
        "11.1/一中/2026-09",
        "2.1/一中/2026-09-30",
        "1.1/二小/2026-09",
        "1.1/一中/2026-09",
    ]
    assert ids(units=["一中"]) == ["11.1/一中/2026-09", "2.1/一中/2026-09-30", "1.1/一中/2026-09"]
    assert ids(duty="1.1") == ["1.1/二小/2026-09", "1.1/一中/2026-09"]  # not 11.1
    assert ids(person="王老师") == ["2.1/一中/2026-09-30", "1.1/一中/2026-09"]
    assert ids(person="%") == [] and ids(duty="1_1") == []  # LIKE wildcards are literal
    assert ids(since=T0 + timedelta(days=1), before=T0 + timedelta(days=3)) == [
        "2.1/一中/2026-09-30",
        "1.1/二小/2026-09",
    ]
    assert ids(limit=2, offset=1) == ["2.1/一中/2026-09-30", "1.1/二小/2026-09"]


def test_robot_health_from_the_ledger(ledger: Ledger) -> None:
    def entry(key: str, channel: str) -> Entry:
        return Entry(key, key, "0d", channel, "一中", T0)

    lease = timedelta(minutes=5)
    ledger.claim([entry("a", "wecom"), entry("b", "wecom"), entry("c", "ding")], T0, lease)
    ledger.mark_sent(["a"], T0 + timedelta(minutes=1))
    ledger.mark_failed(["b"], T0, error="HTTP 502", code=502, retry_at=T0 + lease)
    ledger.mark_dead(
        ["c"], T0 + timedelta(minutes=2), error="errcode 310000: 签名不匹配", code=310000
    )
    found = {h.channel: h for h in channel_health(ledger.engine, ["wecom", "ding", "feishu"], T0)}
    assert (found["wecom"].sent, found["wecom"].failed, found["wecom"].dead) == (1, 1, 0)
    assert found["wecom"].last_error == "HTTP 502" and not found["wecom"].ok
    assert found["ding"].dead == 1 and "签名不匹配" in (found["ding"].last_error or "")
    assert found["feishu"].ok and found["feishu"].last_sent is None
    ordered = [h.channel for h in channel_health(ledger.engine, ["wecom", "ding", "feishu"], T0)]
    assert ordered == ["ding", "wecom", "feishu"]  # failing ones first
    later = channel_health(ledger.engine, ["wecom"], T0 + timedelta(days=40))
    assert later[0].sent == 0 and later[0].last_sent == T0 + timedelta(minutes=1)


def test_the_board_is_reused_until_the_plan_the_day_or_a_state_changes(ledger: Ledger) -> None:
    plan = make_plan([duty("1.1", "每月", units=["各校"])])
    plans = [plan]
    loop = Loop(LoopStore.of(ledger), lambda: plans[-1])
    boards = Boards()
    now = datetime(2026, 10, 20, 10, tzinfo=ZONE)
    first = boards.board(loop, now, 2026, "month")
    assert boards.board(loop, now + timedelta(hours=1), 2026, "month") is first
    assert first.rows[1].cells[8].status == "overdue"  # 一中, September
    # a change from another process (the CLI) shows at once
    other = LoopStore.of(Ledger.open(str(ledger.engine.url)))
    other.apply("1.1/一中/2026-09", "一中", "done", now, by="张三")
    changed = boards.board(loop, now, 2026, "month")
    assert changed is not first and changed.rows[1].cells[8].status == "done_late"
    assert boards.board(loop, now + timedelta(days=1), 2026, "month") is not changed  # a new day
    plans.append(make_plan([duty("1.1", "每季度", units=["各校"])]))  # a reload
    reloaded = boards.board(loop, now + timedelta(days=1), 2026, "month")
    assert reloaded.rows[1].cells[8].status == "overdue"  # 1.1/一中/2026-Q3, open
    assert boards.board(loop, now, 2026, "quarter").grain == "quarter"
