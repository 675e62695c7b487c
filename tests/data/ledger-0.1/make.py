"""Make `ledger.sqlite3` and `expected.json` here with the release's code (0.1.0, main at
c2fbae9, before several plans), for tests/test_plans_ledger.py. Kept to show how they
were made; running it again with later code would make the fixture from that code,
which is not what the test is for.

    .venv/bin/python tests/data/ledger-0.1/make.py

The shipped config (one plan, config/duties.yaml), a ledger made on 2026-09-01, the
service's deliveries at two instants (log channel), three state changes, the feed UIDs
of one school and a signed action link (made-up key).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from reminders.closedloop.loop import Loop
from reminders.closedloop.signing import sign
from reminders.closedloop.store import LoopStore
from reminders.config import load_config
from reminders.delivery.setup import deliverer_from_config
from reminders.feeds.builder import FeedBuilder
from reminders.ledger import Ledger
from reminders.tracking import tracked

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parents[2] / "config"
ZONE = ZoneInfo("Asia/Shanghai")
MADE = datetime(2026, 9, 1, 8, 0, tzinfo=ZONE)
RUNS = [datetime(2026, 9, 24, 9, 30, tzinfo=ZONE), datetime(2026, 9, 30, 9, 30, tzinfo=ZONE)]
ACTION_KEY = b"made-up-action-key-for-the-fixture-0001"
DONE = "1.1/县第一中学/2026-09-30"
WAIVED = "4.4/县第二中学/2026-Q3"
UNDONE = "2.1/县第一中学/2026-09-30"


async def deliver(config, ledger: Ledger, loop: Loop) -> list[str]:  # type: ignore[no-untyped-def]
    sent: list[str] = []
    async with deliverer_from_config(config, ledger, environ={}) as deliverer:
        for when in RUNS:
            done = set(loop.store.closed())
            report = await deliverer.deliver_due(config.plan, when, done)
            sent.extend(report.sent)
    return sent


def main() -> None:
    target = HERE / "ledger.sqlite3"
    target.unlink(missing_ok=True)
    ledger = Ledger.open(f"sqlite:///{target}", now=MADE)
    config = tracked(load_config(CONFIG), ledger, MADE)
    store = LoopStore.of(ledger)
    loop = Loop(store, lambda: config.plan)
    loop.act(DONE, "done", datetime(2026, 9, 20, 10, 0, tzinfo=ZONE), by="王老师", note="已学习")
    loop.act(WAIVED, "waive", datetime(2026, 9, 21, 10, 0, tzinfo=ZONE), note="学校停课")
    loop.act(UNDONE, "done", datetime(2026, 9, 22, 10, 0, tzinfo=ZONE), by="李老师")
    loop.act(UNDONE, "undo", datetime(2026, 9, 23, 10, 0, tzinfo=ZONE), note="检查未完成")
    sent = asyncio.run(deliver(config, ledger, loop))
    feeds = FeedBuilder().build(config.plan, RUNS[1].date(), RUNS[1], {})
    body = next(f.body for f in feeds.values() if f.spec.name == "县第一中学").decode()
    uids = sorted(re.findall(r"^UID:(.*?)\r$", body, flags=re.M))
    token = sign(ACTION_KEY, WAIVED, "done", datetime(2036, 1, 1, tzinfo=ZONE))
    expected = {
        "made": MADE.isoformat(),
        "runs": [r.isoformat() for r in RUNS],
        "sent": sorted(sent),
        "states": {DONE: "done", WAIVED: "waived", UNDONE: "open"},
        "feed_unit": "县第一中学",
        "feed_today": RUNS[1].date().isoformat(),
        "uids": uids,
        "action_key": ACTION_KEY.decode(),
        "token": token,
    }
    ledger.close()
    (HERE / "expected.json").write_text(
        json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"{len(sent)} deliveries sent, {len(uids)} UIDs")


if __name__ == "__main__":
    main()
