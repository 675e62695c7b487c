"""The web console (督办看板): the board, unit pages, history and the 台账 export,
with accounts (bureau / unit), sessions and evidence uploads. Served by `reminders run`
under /console/ on the feeds' listener.

The console (Starlette, Jinja2, argon2 and its templates) is built on its first
request, so a service whose console nobody opens keeps its memory for the feeds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    from ..closedloop.app import ASGIApp, Receive, Scope, Send
    from ..closedloop.loop import Loop


class LazyConsole:
    """An ASGI app that makes the console on its first request (in a worker thread)."""

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._app: ASGIApp | None = None
        self._lock = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app
        if app is None:
            async with self._lock:
                if self._app is None:
                    self._app = await asyncio.to_thread(self._build)
                app = self._app
        await app(scope, receive, send)


def build_console(
    loop: Loop,
    engine: Engine,
    state_dir: Path,
    action_key: bytes,
    clock: Callable[[], datetime],
    on_change: Callable[[], None] | None = None,
) -> ASGIApp:
    """The console for the service over its loop and ledger: made when it is first
    asked for."""

    def make() -> ASGIApp:
        from .accounts import Accounts
        from .auth import console_secret
        from .evidence import EvidenceStore
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

    return LazyConsole(make)
