"""A ledger written by the 0.1.0 release, before several plans, read and continued by this
code on the same single-plan config: states kept, nothing sent again, the same ids, ledger
keys, calendar UIDs and action links. The fixture was made by tests/data/ledger-0.1/make.py
with that release's code (see there)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from reminders.closedloop import Loop, LoopStore
from reminders.closedloop.signing import verify
from reminders.config import Config, load_config
from reminders.delivery import deliverer_from_config
from reminders.delivery.plan import deliveries, due_at
from reminders.feeds import FeedBuilder
from reminders.ledger import Ledger
from reminders.tracking import tracked

from .conftest import ROOT, SHIPPED_CONFIG

FIXTURE = ROOT / "tests" / "data" / "ledger-0.1"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
RUNS = [datetime.fromisoformat(r) for r in EXPECTED["runs"]]


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    path = tmp_path / "ledger.sqlite3"
    shutil.copyfile(FIXTURE / "ledger.sqlite3", path)
    return Ledger.open(f"sqlite:///{path}")  # applies any migration added since


def continued(ledger: Ledger) -> tuple[Config, Loop]:
    config = tracked(load_config(SHIPPED_CONFIG), ledger, RUNS[0])
    return config, Loop(LoopStore.of(ledger), lambda: config.plan)


def test_the_release_ledger_keeps_its_states_and_history(ledger: Ledger) -> None:
    config, loop = continued(ledger)
    assert ledger.created_at() == datetime.fromisoformat(EXPECTED["made"])
    assert config.plan.track_from is not None and config.plan.track_from.isoformat() == "2026-09-01"
    for occurrence_id, state in EXPECTED["states"].items():
        closure = loop.store.get(occurrence_id)
        assert closure is not None and closure.state == state
        assert loop.find(occurrence_id, RUNS[1]) is not None  # the id still names it
    done = next(k for k, v in EXPECTED["states"].items() if v == "done")
    outcome = loop.act(done, "done", RUNS[1], by="王老师")
    assert not outcome.changed  # the same action again changes nothing
    assert [c.action for c in loop.store.history(done)] == ["done"]


def test_the_release_ledger_is_continued_without_sending_again(ledger: Ledger) -> None:
    config, loop = continued(ledger)
    sent = set(EXPECTED["sent"])
    closed = set(loop.store.closed())
    planned = {
        d.key for run in RUNS for d in deliveries(config.plan, due_at(config.plan, run, closed))
    }
    assert sent <= planned  # this code plans exactly the keys the release sent under
    old = {r.key: r.last_error for r in ledger.rows(status="skipped")}
    assert old and set(old.values()) == {"superseded by a later step"}  # the release's words

    async def deliver(when: datetime) -> list[str]:
        async with deliverer_from_config(config, ledger, environ={}) as deliverer:
            report = await deliverer.deliver_due(config.plan, when, set(loop.store.closed()))
            return report.sent

    assert [asyncio.run(deliver(run)) for run in RUNS] == [[], []]  # nothing sent twice
    later = asyncio.run(deliver(datetime.fromisoformat("2026-10-09T09:30:00+08:00")))
    assert later and not set(later) & sent  # it goes on: new reminders, none repeated
    assert all(re.fullmatch(r"[\d.]+/[^/]+/[^@]+@[^>]+>log", k) for k in later), later
    now = {r.key: r.last_error for r in ledger.rows(status="skipped")}
    assert {k: now[k] for k in old} == old  # stored rows keep their text, never rewritten


def test_the_release_feed_uids_and_links_are_unchanged(ledger: Ledger) -> None:
    config, loop = continued(ledger)
    today = datetime.fromisoformat(EXPECTED["feed_today"]).date()
    feeds = FeedBuilder().build(config.plan, today, RUNS[1], {})
    feed = next(f for f in feeds.values() if f.spec.name == EXPECTED["feed_unit"])
    uids = sorted(re.findall(r"^UID:(.*?)\r$", feed.body.decode(), flags=re.M))
    assert uids == EXPECTED["uids"]

    claim = verify(EXPECTED["action_key"].encode(), EXPECTED["token"], RUNS[1])
    found = loop.find(claim.occurrence_id, RUNS[1])
    assert found is not None and found.id == claim.occurrence_id
