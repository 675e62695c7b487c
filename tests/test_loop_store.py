"""Occurrence states in the ledger: transitions, history, idempotence, concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from reminders.closedloop import LoopStore, feed_marks
from reminders.ledger import LATEST, Ledger

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
OCC = "4.5/教育局/2026-11"


@pytest.fixture
def store(tmp_path: Path) -> LoopStore:
    return LoopStore.of(Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"))


def test_done_undo_waive_with_history(store: LoopStore) -> None:
    assert store.get(OCC) is None and store.closed_ids() == set()
    first = store.apply(OCC, "教育局", "done", T0, by="张三", note="已检查", evidence="https://x/1")
    assert first.changed and first.closure.state == "done" and first.closure.by == "张三"
    assert store.closed_ids() == {OCC}
    again = store.apply(OCC, "教育局", "done", T0 + timedelta(hours=1), by="李四")
    assert not again.changed and again.closure.by == "张三"  # a replay changes nothing
    store.apply(OCC, "教育局", "undo", T0 + timedelta(hours=2), by="王五", note="未查完")
    assert store.closed_ids() == set() and store.get(OCC).state == "open"  # type: ignore[union-attr]
    store.apply(OCC, "教育局", "waive", T0 + timedelta(hours=3), by="局长", note="停课")
    history = store.history(OCC)
    assert [(c.action, c.before, c.after, c.by) for c in history] == [
        ("done", "open", "done", "张三"),
        ("undo", "done", "open", "王五"),
        ("waive", "open", "waived", "局长"),
    ]
    assert history[0].evidence == "https://x/1" and history[0].at == T0
    assert store.revision() == history[-1].id
    assert feed_marks(store.closed()) == {OCC: ("waived", "局长 停课")}


def test_undo_of_an_open_occurrence_changes_nothing(store: LoopStore) -> None:
    outcome = store.apply(OCC, "教育局", "undo", T0)
    assert not outcome.changed and store.history() == []


def test_state_survives_reopening_and_the_schema_is_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    LoopStore.of(Ledger.open(url)).apply(OCC, "教育局", "done", T0, by="张三")
    ledger = Ledger.open(url)
    assert ledger.version == LATEST >= 2
    assert LoopStore.of(ledger).get(OCC).state == "done"  # type: ignore[union-attr]


def test_v1_ledger_is_migrated_in_place_keeping_its_rows(tmp_path: Path) -> None:
    from reminders.ledger import schema

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    saved = schema.MIGRATIONS[:]
    try:
        schema.MIGRATIONS[:] = saved[:1]
        schema.LATEST = 1
        old = Ledger.open(url)
        assert old.version == 1
        with old.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO deliveries (key, subject, step, channel, unit, due_at, status,"
                    " attempts, created_at, updated_at) VALUES ('k', 's', 'due', 'log', 'u',"
                    " '2026-01-01 00:00:00', 'sent', 1, '2026-01-01 00:00:00',"
                    " '2026-01-01 00:00:00')"
                )
            )
        old.close()
    finally:
        schema.MIGRATIONS[:] = saved
        schema.LATEST = saved[-1][0]
    new = Ledger.open(url)
    assert new.version == LATEST
    assert new.statuses(["k"])["k"].status == "sent"
    assert LoopStore.of(new).apply(OCC, "教育局", "done", T0).changed


def test_threads_closing_many_occurrences_all_land(store: LoopStore) -> None:
    ids = [f"4.5/县第{i}中学/2026-11" for i in range(40)]
    barrier = threading.Barrier(len(ids))

    def close(occurrence_id: str) -> None:
        barrier.wait()
        store.apply(occurrence_id, occurrence_id.split("/")[1], "done", T0, by="t")

    threads = [threading.Thread(target=close, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.closed_ids() == set(ids)
    assert sorted(c.occurrence_id for c in store.history()) == sorted(ids)


def test_long_texts_are_clipped(store: LoopStore) -> None:
    outcome = store.apply(OCC, "教育局", "done", T0, by="名" * 500, note="字" * 5000)
    assert len(outcome.closure.by or "") == 200 and len(outcome.closure.note or "") == 2000


def test_public_names_are_sorted_and_exist() -> None:
    import reminders.closedloop as package

    assert package.__all__ == sorted(package.__all__)
    assert all(hasattr(package, name) for name in package.__all__)
