"""The ledger and the closed-loop store on SQLite and on PostgreSQL, held to the same cases.

One real PostgreSQL server (from the `pgserver` wheel, see pgcluster.py) serves the
module; each test gets a database of its own. The `url` fixture runs each case on
both backends; the SQLite modules' cases that take only a `ledger` or a `store` run
here unchanged, against this module's fixtures.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import create_engine, insert, inspect, text

from reminders.cli.main import main
from reminders.closedloop import LoopStore
from reminders.config import load_config
from reminders.delivery import open_ledger
from reminders.exceptions import ConfigError
from reminders.ledger import LATEST, Entry, Ledger, schema
from reminders.ledger.schema import schema_version

from . import test_ledger, test_loop_store
from .pgcluster import PostgresServer, ServerError, start_server
from .robotconfig import set_delivery
from .test_ledger import LEASE, T0, entries
from .test_loop_store import OCC

OpenLedger = Callable[..., Ledger]

# A role with a password, for the secrets policy: it must never show in an error or log.
ROLE = "reminders_app"
PASSWORD = "Zq7-秘密@pw/x"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    try:
        server = start_server()
    except ServerError as exc:
        reason = str(exc)
    else:
        reason = ""
    if reason:  # CI must run these: fail, never skip
        pytest.fail(f"cannot start the PostgreSQL test server: {reason}", pytrace=False)
    server.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    return postgres.url(postgres.create_database())


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'ledger.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def open_at(url: str) -> Iterator[OpenLedger]:
    """Ledger.open on the test's database; every ledger opened is closed afterwards."""
    opened: list[Ledger] = []

    def open_ledger_(owner: str | None = None, now: datetime | None = None) -> Ledger:
        opened.append(Ledger.open(url, owner=owner, now=now))
        return opened[-1]

    yield open_ledger_
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(open_at: OpenLedger) -> Ledger:
    return open_at("me")


@pytest.fixture
def store(open_at: OpenLedger) -> LoopStore:
    return LoopStore.of(open_at())


# -- the SQLite modules' cases, unchanged ---------------------------------------
test_claim_is_insert_if_absent = test_ledger.test_claim_is_insert_if_absent
test_outcomes_and_retry = test_ledger.test_outcomes_and_retry
test_the_outbox_holds_a_message_until_its_robot_took_it = (
    test_ledger.test_the_outbox_holds_a_message_until_its_robot_took_it
)
test_skipped_is_recorded_once_and_overrides_failed = (
    test_ledger.test_skipped_is_recorded_once_and_overrides_failed
)
test_done_undo_waive_with_history = test_loop_store.test_done_undo_waive_with_history
test_undo_of_an_open_occurrence_changes_nothing = (
    test_loop_store.test_undo_of_an_open_occurrence_changes_nothing
)
test_threads_closing_many_occurrences_all_land = (
    test_loop_store.test_threads_closing_many_occurrences_all_land
)
test_long_texts_are_clipped = test_loop_store.test_long_texts_are_clipped


# -- the SQLite modules' cases that open the ledger by URL ----------------------
def test_expired_lease_is_taken_over(open_at: OpenLedger) -> None:
    crashed, other = open_at("crashed"), open_at("other")
    assert crashed.claim(entries(1), T0, LEASE) == ["k0"]
    assert other.claim(entries(1), T0 + LEASE - timedelta(seconds=1), LEASE) == []
    assert other.claim(entries(1), T0 + LEASE + timedelta(seconds=1), LEASE) == ["k0"]
    crashed.mark_sent(["k0"], T0)  # the old owner's late mark does not clobber the new claim
    assert other.statuses(["k0"])["k0"].status == "claimed"
    other.mark_sent(["k0"], T0 + LEASE)
    assert other.statuses(["k0"])["k0"].status == "sent"


def test_extend_keeps_the_lease_without_counting_an_attempt(open_at: OpenLedger) -> None:
    slow, other = open_at("slow"), open_at("other")
    slow.claim(entries(1), T0, LEASE)
    slow.extend(["k0"], T0 + LEASE - timedelta(seconds=1), LEASE)
    assert other.claim(entries(1), T0 + LEASE + timedelta(seconds=1), LEASE) == []
    assert slow.statuses(["k0"])["k0"].attempts == 1


def test_an_abandoned_claim_can_be_skipped(open_at: OpenLedger) -> None:
    crashed, later = open_at("crashed"), open_at("later")
    crashed.claim(entries(1), T0, LEASE)
    assert later.record_skipped(entries(1), T0 + LEASE / 2, "too old") == []  # still leased
    assert later.record_skipped(entries(1), T0 + LEASE * 2, "too old") == ["k0"]


def test_schema_version_and_migrations(url: str, open_at: OpenLedger) -> None:
    assert open_at().version == LATEST  # an empty database gets every table
    assert open_at().version == LATEST  # reopening applies nothing twice
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = set(inspect(conn).get_table_names())
            assert tables >= {"schema_version", "deliveries", "occurrence_states"}
            versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
            assert sorted(versions) == list(range(1, LATEST + 1))
            conn.execute(
                insert(schema_version).values(version=99, description="future", applied_at=T0)
            )
    finally:
        engine.dispose()
    with pytest.raises(ConfigError, match=f"比本程序的 {LATEST} 新"):
        open_at()


def test_the_ledger_remembers_when_it_was_made(open_at: OpenLedger) -> None:
    """Tracking starts the day the ledger was made: the first opener's clock, kept."""
    made = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
    assert open_at(now=made).created_at() == made
    assert open_at(now=made + timedelta(days=40)).created_at() == made  # opening again: kept
    assert open_at().created_at() == made


def test_v1_ledger_is_migrated_in_place_keeping_its_rows(
    open_at: OpenLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
    monkeypatch.setattr(schema, "LATEST", 1)
    old = open_at()
    assert old.version == 1
    old.claim(entries(1), T0, LEASE)
    old.mark_sent(["k0"], T0)
    monkeypatch.undo()
    new = open_at()
    assert new.version == LATEST
    assert new.statuses(["k0"])["k0"].status == "sent"
    assert LoopStore.of(new).apply(OCC, "教育局", "done", T0).changed


def test_state_survives_reopening(open_at: OpenLedger) -> None:
    LoopStore.of(open_at()).apply(OCC, "教育局", "done", T0, by="张三")
    assert LoopStore.of(open_at()).get(OCC).state == "done"  # type: ignore[union-attr]


# -- concurrency ----------------------------------------------------------------
def _together(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released at once; their results, or the first error."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # re-raised in the test's thread
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def test_first_opens_at_once_migrate_once(url: str) -> None:
    """Services started together on an empty database: each opens it, none fails."""
    ledgers = _together(*[lambda: Ledger.open(url) for _ in range(4)])
    opened = [ledger for ledger in ledgers if isinstance(ledger, Ledger)]
    assert [ledger.version for ledger in opened] == [LATEST] * 4
    with opened[0].engine.connect() as conn:
        versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
    for ledger in opened:
        ledger.close()
    assert sorted(versions) == list(range(1, LATEST + 1))


def test_claims_in_opposite_orders_never_both_win(open_at: OpenLedger) -> None:
    """Two senders claiming the same keys in opposite orders in one transaction each."""
    keys = entries(200)
    first, second = open_at("first"), open_at("second")
    won = _together(
        lambda: first.claim(keys, T0, LEASE), lambda: second.claim(keys[::-1], T0, LEASE)
    )
    everything = [key for keys_won in won for key in cast(list[str], keys_won)]
    assert len(everything) == len(set(everything)) == 200


def test_two_processes_never_claim_the_same_key(pg_url: str) -> None:
    everything = test_ledger.claims_in_two_processes(pg_url, 120)
    assert len(everything) == len(set(everything)) == 300


# -- values SQLite keeps whatever their size ------------------------------------
def test_robot_answers_are_kept_whatever_they_hold(ledger: Ledger) -> None:
    """A robot's error text and code come from its answer: a NUL, a huge code."""
    ledger.claim(entries(2), T0, LEASE)
    ledger.mark_dead(["k0"], T0, error="webhook: robot error: bad\x00byte", code=10**12)
    ledger.mark_failed(["k1"], T0, error="x" * 10_000, code=-(2**40), retry_at=T0)
    rows = ledger.statuses(["k0", "k1"])
    assert (rows["k0"].status, rows["k0"].last_error) == ("dead", "webhook: robot error: badbyte")
    assert (rows["k1"].status, rows["k1"].last_code) == ("failed", None)  # the text has it
    assert ledger.record_skipped(entries(1, "s"), T0, "too\x00 old") == ["s0"]
    assert ledger.statuses(["s0"])["s0"].last_error == "too old"


def test_a_note_with_a_nul_is_kept(store: LoopStore) -> None:
    outcome = store.apply(OCC, "教育局", "done", T0, by="张\x00三", note="a\x00b", evidence="e\x00")
    assert outcome.changed and (outcome.closure.by, outcome.closure.note) == ("张三", "ab")
    assert store.get(OCC) == outcome.closure
    assert store.history(OCC)[0].evidence == "e"


def test_long_names_are_kept(ledger: Ledger) -> None:
    unit = "县" * 300
    channel = "c" * 150
    entry = Entry(
        f"4.5/{unit}/2026-11@due>{channel}", f"4.5/{unit}/2026-11", "due", channel, unit, T0
    )
    assert ledger.claim([entry], T0, LEASE) == [entry.key]
    assert ledger.statuses([entry.key])[entry.key].unit == unit


# -- opening from settings, and the password --------------------------------------
def _role_database(postgres: PostgresServer) -> str:
    return postgres.create_database(owner=ROLE)


def test_open_ledger_from_settings(
    postgres: PostgresServer, config_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = postgres.url(_role_database(postgres), user=ROLE, password=PASSWORD)
    set_delivery(config_dir, ledger_url=url)
    state = tmp_path / "state"
    caplog.set_level(logging.DEBUG)
    ledger = open_ledger(load_config(config_dir), state)
    assert PASSWORD not in caplog.text + repr(ledger.engine)
    try:
        assert ledger.engine.dialect.name == "postgresql" and ledger.version == LATEST
        assert ledger.claim(entries(1), T0, LEASE) == ["k0"]
    finally:
        ledger.close()
    assert not state.exists()  # nothing is created in the state directory


def test_password_from_the_environment(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the README advises: no password in settings.yaml; libpq reads PGPASSWORD."""
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    ledger = Ledger.open(postgres.url(_role_database(postgres), user=ROLE))
    assert ledger.version == LATEST
    ledger.close()


def _everything_said(error: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join([str(error), repr(error), *traceback.format_exception(error), caplog.text])


def _url_for(case: str, postgres: PostgresServer) -> str:
    """The role's URL to a database of its own, spoilt as `case` says."""
    database = _role_database(postgres)
    if case == "wrong password":
        return postgres.url(database, user=ROLE, password=PASSWORD + "-wrong")
    url = postgres.url(database, user=ROLE, password=PASSWORD)
    if case == "no server":
        return url.replace(f":{postgres.port}/", ":1/")
    if case == "no such database":
        return postgres.url("nosuchdb", user=ROLE, password=PASSWORD)
    return url


@pytest.mark.parametrize("case", ["wrong password", "no server", "no such database", "no driver"])
def test_a_failed_open_never_shows_the_password(
    case: str,
    postgres: PostgresServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = _url_for(case, postgres)
    if case == "no driver":
        monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg: ImportError
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError, match="打不开台账") as caught:
        Ledger.open(url)
    said = _everything_said(caught.value, caplog)
    assert PASSWORD not in said
    assert PASSWORD.split("@")[0] not in said  # nor its first part, nor its URL encoding
    assert "%E7%A7%98" not in said.upper()


@pytest.mark.parametrize("case", ["answers", "wrong password", "no server", "no such database"])
def test_validate_checks_that_a_database_ledger_answers(
    case: str,
    postgres: PostgresServer,
    config_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`validate` fails where `run` would not reach its ledger, never showing the
    password, and changes nothing in a database that answers (no migration)."""
    url = _url_for(case, postgres)
    set_delivery(config_dir, ledger_url=url)
    argv = ["--config", str(config_dir), "validate", "--state-dir", str(tmp_path / "s")]
    code = main(argv)
    out, err = capsys.readouterr()
    assert PASSWORD.split("@")[0] not in out + err
    if case == "answers":
        assert code == 0 and "配置有效" in out
        database = url.rsplit("/", 1)[1]
        tables = inspect(create_engine(postgres.url(database))).get_table_names()
        assert tables == []  # validate made no ledger there
    else:
        assert code == 1
        (line,) = [line for line in err.splitlines() if "打不开台账" in line]
        assert "delivery.ledger_url" in line
