"""The web console (督办看板): the board, unit pages, history and the 台账 export,
with accounts (bureau / unit), sessions and evidence uploads. Served by `reminders run`
under /console/ on the feeds' listener."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from ..closedloop.app import ASGIApp
from ..closedloop.loop import Loop
from .accounts import Accounts
from .auth import console_secret
from .evidence import EvidenceStore


def build_console(
    loop: Loop,
    engine: Engine,
    state_dir: Path,
    action_key: bytes,
    clock: Callable[[], datetime],
    on_change: Callable[[], None] | None = None,
) -> ASGIApp:
    """The console's ASGI app over the service's loop and ledger."""
    from .web import ConsoleDeps, console_app

    secret = console_secret(action_key)
    deps = ConsoleDeps(
        loop=loop,
        accounts=Accounts(engine, secret),
        evidence=EvidenceStore(engine, state_dir),
        engine=engine,
        clock=clock,
        on_change=on_change,
    )
    return console_app(deps, secret)
