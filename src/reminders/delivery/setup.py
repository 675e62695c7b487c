"""Wire delivery from a loaded config: the ledger, the channels, the deliverer."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..channels.base import Channel, Clock
from ..channels.registry import build_channels
from ..config import Config
from ..ledger import Ledger, default_url
from ..statedir import ensure_private_dir
from .sender import Deliverer


def ledger_url(config: Config, state_dir: Path) -> str:
    return config.settings.delivery.ledger_url or default_url(state_dir)


def ledger_file(config: Config, state_dir: Path) -> Path | None:
    """The ledger's file when it is an SQLite file (it may not exist yet), else None."""
    try:
        url = make_url(ledger_url(config, state_dir))
    except ArgumentError:
        return None  # Ledger.open reports it
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def open_ledger(config: Config, state_dir: Path, now: datetime | None = None) -> Ledger:
    """The ledger named in settings (`delivery.ledger_url`), else ledger.sqlite3 in state_dir.

    Creates it (and the state directory) when missing: for commands that write.
    `now`: the caller's clock, the ledger's time of making when it is new.
    """
    if config.settings.delivery.ledger_url is None:
        ensure_private_dir(state_dir)
    return Ledger.open(ledger_url(config, state_dir), now=now)


def existing_ledger(config: Config, state_dir: Path) -> Ledger | None:
    """The ledger if there is one, else None: never creates a file or directory.

    For commands that only read (opening an older ledger still applies its
    pending schema migrations).
    """
    path = ledger_file(config, state_dir)
    if path is not None and not path.exists():
        return None
    return Ledger.open(ledger_url(config, state_dir))


def channels_from_config(
    config: Config,
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock = time.time,
    only: set[str] | None = None,
) -> dict[str, Channel]:
    """Every channel in channels.yaml plus `log`; secrets read from the environment now."""
    return build_channels(
        config.channels,
        config_dir=config.directory,
        environ=os.environ if environ is None else environ,
        clock=clock,
        only=only,
    )


def deliverer_from_config(
    config: Config, ledger: Ledger, environ: Mapping[str, str] | None = None
) -> Deliverer:
    return Deliverer(
        ledger,
        channels_from_config(config, environ),
        templates=config.channels.templates,
        link_template=config.channels.link_template,
    )
