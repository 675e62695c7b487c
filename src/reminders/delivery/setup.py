"""Wire delivery from a loaded config: the ledger, the channels, the deliverer."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from ..channels.base import Channel, Clock
from ..channels.registry import build_channels
from ..config import Config
from ..ledger import Ledger, default_url
from ..statedir import ensure_private_dir
from .sender import Deliverer


def ledger_url(config: Config, state_dir: Path) -> str:
    return config.settings.delivery.ledger_url or default_url(state_dir)


def open_ledger(config: Config, state_dir: Path) -> Ledger:
    """The ledger named in settings (`delivery.ledger_url`), else ledger.sqlite3 in state_dir."""
    if config.settings.delivery.ledger_url is None:
        ensure_private_dir(state_dir)
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
