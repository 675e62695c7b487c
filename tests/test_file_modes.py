"""State files are the owner's alone (0600, directories 0700) whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reminders.closedloop.keys import action_key, api_token
from reminders.feeds.tokens import load_tokens
from reminders.ledger import Entry, Ledger, default_url
from reminders.statedir import ensure_private_dir, private_file, write_private
from reminders.statelock import PID_FILE, StateLock


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def claim_one(ledger: Ledger) -> None:
    now = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)
    entry = Entry("4.5/教育局/2026-11@due>log", "4.5/教育局/2026-11", "due", "log", "教育局", now)
    assert ledger.claim([entry], now, timedelta(minutes=5))


def test_a_fresh_ledger_and_its_wal_and_shm_are_0600_under_umask_022(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with umask(0o022):
        ledger = Ledger.open(default_url(state))
        try:
            claim_one(ledger)  # a write: WAL mode makes the -wal and -shm files
            files = sorted(state.glob("ledger.sqlite3*"))
            assert [f.name for f in files] == [
                "ledger.sqlite3",
                "ledger.sqlite3-shm",
                "ledger.sqlite3-wal",
            ]
            assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
            assert mode(state) == 0o700
        finally:
            ledger.close()


def test_an_old_ledger_readable_by_others_is_made_private_when_opened(tmp_path: Path) -> None:
    state = ensure_private_dir(tmp_path / "state")
    ledger = Ledger.open(default_url(state))
    claim_one(ledger)
    ledger.close()
    for path in state.glob("ledger.sqlite3*"):
        path.chmod(0o644)
    Ledger.open(default_url(state)).close()
    assert {mode(p) for p in state.glob("ledger.sqlite3*")} == {0o600}


def test_pid_file_tokens_and_keys_are_0600_in_0700_folders(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with umask(0o022):
        with StateLock(state, service=True):
            assert mode(state / PID_FILE) == 0o600
            assert (state / PID_FILE).read_text() == f"{os.getpid()}\n"
        action_key(state, environ={})
        api_token(state, environ={})
        load_tokens(state, ["unit:教育局"])
    assert mode(state / "loop") == 0o700 and mode(state / "feeds") == 0o700
    for name in ("loop/action.key", "loop/api.token", "feeds/tokens.json"):
        assert mode(state / name) == 0o600, name


def test_directories_are_usable_and_private_under_a_harsh_umask(tmp_path: Path) -> None:
    """A umask that takes the owner's write bit (0277) still gives 0700 folders."""
    state = tmp_path / "deep" / "state"
    with umask(0o277):
        write_private(state / "feeds" / "history.json", b"{}")
    assert mode(tmp_path / "deep") == 0o700
    assert mode(state) == 0o700 and mode(state / "feeds") == 0o700
    assert mode(state / "feeds" / "history.json") == 0o600


def test_a_state_directory_readable_by_others_is_tightened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="reminders.state"), StateLock(state):
        pass
    assert mode(state) == 0o700
    assert any("0755" in r.getMessage() and "0700" in r.getMessage() for r in caplog.records)


def test_private_file_keeps_content_and_ignores_the_umask(tmp_path: Path) -> None:
    with umask(0):
        fresh = private_file(tmp_path / "upload.bin")
    assert mode(fresh) == 0o600 and fresh.read_bytes() == b""
    old = tmp_path / "old.bin"
    old.write_bytes(b"evidence")
    old.chmod(0o664)
    private_file(old)
    assert mode(old) == 0o600 and old.read_bytes() == b"evidence"
