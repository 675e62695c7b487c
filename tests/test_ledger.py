"""The ledger on SQLite: claims, outcomes, two processes on one file, reads beside a
writer. Lease take-over, migrations and the cases by URL run on SQLite and
PostgreSQL in test_ledger_backends.py."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reminders.closedloop import LoopStore
from reminders.exceptions import ConfigError
from reminders.ledger import LATEST, Entry, Ledger, Message

T0 = datetime(2026, 9, 23, 1, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def entries(n: int, prefix: str = "k") -> list[Entry]:
    return [Entry(f"{prefix}{i}", f"s{i}", "due", "wecom", "教育局", T0) for i in range(n)]


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(f"sqlite:///{tmp_path / 'state' / 'ledger.sqlite3'}", owner="me")


def test_claim_is_insert_if_absent(ledger: Ledger) -> None:
    assert ledger.claim(entries(3), T0, LEASE) == ["k0", "k1", "k2"]
    assert ledger.claim(entries(3), T0, LEASE) == []
    row = ledger.statuses(["k0"])["k0"]
    assert (row.status, row.attempts, row.lease_owner) == ("claimed", 1, "me")
    assert row.lease_until == T0 + LEASE


def test_outcomes_and_retry(ledger: Ledger) -> None:
    ledger.claim(entries(3), T0, LEASE)
    ledger.mark_sent(["k0"], T0)
    ledger.mark_failed(
        ["k1"],
        T0,
        error="wecom: robot error 45009: api freq out of limit",
        code=45009,
        retry_at=T0 + timedelta(minutes=1),
    )
    ledger.mark_dead(["k2"], T0, error="wecom: robot error 93000: invalid", code=93000)
    later = T0 + timedelta(seconds=30)
    assert ledger.claim(entries(3), later, LEASE) == []  # k1 not yet due for retry
    assert ledger.next_retry_at() == T0 + timedelta(minutes=1)
    assert ledger.claim(entries(3), T0 + timedelta(minutes=2), LEASE) == ["k1"]
    rows = ledger.statuses(["k0", "k1", "k2"])
    assert rows["k0"].status == "sent" and rows["k0"].sent_at == T0
    assert rows["k1"].attempts == 2 and rows["k1"].last_code == 45009
    assert rows["k2"].status == "dead" and "93000" in (rows["k2"].last_error or "")
    assert ledger.summary() == {"wecom": {"sent": 1, "claimed": 1, "dead": 1}}


def test_the_outbox_holds_a_message_until_its_robot_took_it(ledger: Ledger) -> None:
    """Written before sending; deleted, and the deliveries it completes marked sent, in
    one transaction; only the sender holding the claims records them."""
    ledger.claim(entries(3), T0, LEASE)
    text = '- [1.1] 安全"检查"\\ 🚒\n  截止：2026-09-30'
    written = [
        Message(
            "d/1",
            "d",
            "wecom",
            1,
            2,
            "2026-09-23",
            "markdown",
            "教育局",
            "标题（1/2）",
            text,
            ("k0", "k1"),
            ("k0",),
            (),
            T0,
        ),
        Message(
            "d/2",
            "d",
            "wecom",
            2,
            2,
            "2026-09-23",
            "markdown",
            "教育局",
            "标题（2/2）",
            "x",
            ("k1", "k2"),
            ("k1", "k2"),
            ("k1",),
            T0,
        ),
    ]
    ledger.store_messages(written)
    assert ledger.messages("wecom") == written and ledger.messages("other") == []
    other = Ledger(ledger.engine, owner="someone-else")
    other.message_sent("d/1", ["k0"], T0)  # not its claim: the message goes, k0 stays
    assert ledger.statuses(["k0"])["k0"].status == "claimed"
    ledger.store_messages(written[:1])
    ledger.message_sent("d/1", ["k0"], T0)
    assert [m.id for m in ledger.messages("wecom")] == ["d/2"]
    rows = ledger.statuses(["k0", "k1", "k2"])
    assert (rows["k0"].status, rows["k0"].sent_at, rows["k0"].lease_until) == ("sent", T0, None)
    assert rows["k1"].status == rows["k2"].status == "claimed"  # k1 continues in d/2
    ledger.mark_dead(["k1", "k2"], T0, error="x", code=1)
    ledger.message_sent("d/2", ["k1", "k2"], T0)  # a dead delivery is not made sent
    assert {r.status for r in ledger.statuses(["k1", "k2"]).values()} == {"dead"}
    ledger.store_messages(written)
    ledger.drop_messages(["d/1", "d/2", "no-such"])
    assert ledger.messages("wecom") == []


def test_skipped_is_recorded_once_and_overrides_failed(ledger: Ledger) -> None:
    ledger.claim(entries(1), T0, LEASE)
    ledger.mark_failed(["k0"], T0, error="x", code=None, retry_at=T0)
    assert ledger.record_skipped(entries(2), T0, "superseded") == ["k0", "k1"]
    assert ledger.record_skipped(entries(2), T0, "superseded") == []
    assert {r.status for r in ledger.rows()} == {"skipped"}


def test_memory_url_and_bad_url() -> None:
    assert Ledger.open("sqlite://").version == LATEST
    with pytest.raises(ConfigError, match="打不开台账"):
        Ledger.open("nosuchdb://x")


def _claimer(url: str, owner: str, keys: int, out: multiprocessing.Queue[list[str]]) -> None:
    ledger = Ledger.open(url, owner=owner)
    won: list[str] = []
    for start in range(0, keys, 10):
        batch = [Entry(f"k{i}", "s", "due", "c", "u", T0) for i in range(start, start + 10)]
        won.extend(ledger.claim(batch, T0, LEASE))
    out.put(won)


def claims_in_two_processes(url: str, timeout: float) -> list[str]:
    """Two processes claim the same 300 keys on one ledger; every key either won."""
    Ledger.open(url).close()
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[str]] = context.Queue()
    workers = [context.Process(target=_claimer, args=(url, f"p{n}", 300, queue)) for n in range(2)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=timeout) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    return [key for won in results for key in won]


def test_two_processes_never_claim_the_same_key(tmp_path: Path) -> None:
    everything = claims_in_two_processes(f"sqlite:///{tmp_path / 'shared.sqlite3'}", 60)
    assert len(everything) == len(set(everything)) == 300


def test_reads_do_not_wait_for_a_writer_and_writes_queue(tmp_path: Path) -> None:
    """Another process holds the write lock (a long claim): status pages and the
    planner still read the last commit at once; a second writer waits its turn."""
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger.open(f"sqlite:///{path}", owner="reader")
    ledger.claim(entries(2), T0, LEASE)
    writer = sqlite3.connect(path, isolation_level=None, timeout=30)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE deliveries SET status = 'sent' WHERE key = 'k0'")
    store = LoopStore.of(ledger)
    results: dict[str, object] = {}

    def read() -> None:
        results["rows"] = [r.status for r in ledger.rows()]
        results["summary"] = ledger.summary()
        results["closed"] = store.closed_ids()
        results["revision"] = store.revision()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=5)
    blocked = reader.is_alive()

    claimed: list[str] = []
    second = threading.Thread(target=lambda: claimed.extend(ledger.claim(entries(3), T0, LEASE)))
    second.start()
    second.join(timeout=0.5)
    waiting = second.is_alive()
    writer.execute("COMMIT")
    writer.close()
    second.join(timeout=30)
    reader.join(timeout=30)
    assert not blocked, "a read waited for the writer"
    assert results["rows"] == ["claimed", "claimed"]  # the last commit, not the open write
    assert results["summary"] == {"wecom": {"claimed": 2}}
    assert waiting, "a claim must wait for the other writer"
    assert claimed == ["k2"]
    ledger.close()


def test_an_outcome_for_no_keys_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    """A message part that completes no key marks none sent: no write lock is taken."""
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger.open(f"sqlite:///{path}", owner="me")
    writer = sqlite3.connect(path, isolation_level=None, timeout=30)
    writer.execute("BEGIN IMMEDIATE")
    marker = threading.Thread(target=lambda: ledger.mark_sent([], T0))
    marker.start()
    marker.join(timeout=5)
    waited = marker.is_alive()
    writer.execute("COMMIT")
    writer.close()
    marker.join(timeout=30)
    ledger.close()
    assert not waited, "marking no keys waited for the writer"
