"""What `reminders run` needs from its surroundings, checked by `reminders validate`.

Each check calls what `run` calls, so both fail on the same thing with the same
message: the robots' keys and secrets (by variable or credential name, never
the value), a state directory it can write, a database ledger that answers, an
address it can listen on.
systemd's `ExecStartPre=reminders validate` then stops a start that would fail.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from .config import Config
from .exceptions import Problem, RemindersError
from .listen import CannotListen, configured_listen, probe
from .statedir import check_state_dir
from .statelock import running_pid


def environment_problems(
    config: Config, state_dir: Path, environ: Mapping[str, str] | None = None
) -> list[Problem]:
    """Errors `run` would stop on; warnings for what may change before it starts."""
    from .delivery.setup import channels_from_config  # loads httpx: only when validating

    problems: list[Problem] = []
    try:
        channels_from_config(config, os.environ if environ is None else environ)
    except RemindersError as exc:
        problems.extend(exc.problems)
    unusable = check_state_dir(state_dir)
    if unusable is not None:
        problems.extend(unusable.problems)
    problems.extend(_ledger_problems(config, state_dir))
    try:
        host, port = configured_listen(config.settings)
    except RemindersError as exc:
        problems.extend(exc.problems)
    else:
        problems.extend(_listen_problems(host, port, state_dir))
    return problems


def _ledger_problems(config: Config, state_dir: Path) -> list[Problem]:
    """A database ledger (`delivery.ledger_url`, PostgreSQL) must answer now; an SQLite
    file is the state directory's, checked above."""
    from .delivery.setup import ledger_file, ledger_url
    from .ledger import Ledger

    if config.settings.delivery.ledger_url is None or ledger_file(config, state_dir):
        return []
    try:
        Ledger.check_reachable(ledger_url(config, state_dir))
    except RemindersError as exc:
        return list(exc.problems)
    return []


def _listen_problems(host: str, port: int, state_dir: Path) -> list[Problem]:
    """An address this machine does not have is an error; a port someone else holds
    now is a warning (it may be free when the service starts; a running service on
    this state directory holds its own port, which is fine)."""
    if running_pid(state_dir) is not None:
        return []
    try:
        probe(host, port)
    except CannotListen as exc:
        if not exc.in_use:
            return list(exc.problems)
        return [replace(p, severity="warning") for p in exc.problems]
    return []
