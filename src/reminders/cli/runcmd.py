"""`reminders run` (the service) and `reminders reload` (SIGHUP to it)."""

from __future__ import annotations

import argparse
import os
import signal

from ..config import find_config_dir
from ..exceptions import RemindersError
from ..logs import configure_logging
from ..statedir import find_state_dir
from .common import listen_address, parse_instant, state_dir_option
from .errors import EXIT_OK


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    state = state_dir_option("the ledger, feed tokens and feed history")
    run = commands.add_parser(
        "run",
        parents=[state],
        help="the service: push reminders, serve calendar feeds (foreground; for systemd)",
        description="Plan, push and serve in one foreground process. SIGTERM/SIGINT stop it "
        "cleanly; SIGHUP, `reminders reload` or an edited config file reloads the config (a "
        "broken config is logged and the last good one keeps running).",
    )
    run.add_argument(
        "--listen",
        metavar="HOST:PORT",
        type=listen_address,
        help="address to serve feeds and action links on (default: settings feeds.listen, "
        "127.0.0.1:8080; port 0 picks a free port)",
    )
    run.add_argument(
        "--sweep-seconds",
        type=float,
        default=300.0,
        metavar="N",
        help="safety sweep interval (default 300)",
    )
    run.add_argument(
        "--watch-seconds",
        type=float,
        default=5.0,
        metavar="N",
        help="look for changed config files every N seconds and reload (default 5; 0: off, "
        "reload only on SIGHUP or `reminders reload`)",
    )
    run.add_argument(
        "--now",
        type=parse_instant,
        metavar="DATETIME",
        help="testing aid: start the service's clock at this instant (it then runs on)",
    )
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(run=cmd_run)

    reload = commands.add_parser(
        "reload", parents=[state], help="tell the running service to re-read its config"
    )
    reload.set_defaults(run=cmd_reload)


def cmd_run(args: argparse.Namespace) -> int:
    from ..daemon import stopsignal

    stopsignal.catch()  # a SIGTERM during the imports and start-up below: a clean exit 0
    from ..daemon.service import RunOptions, run_service

    configure_logging(args.log_level)
    options = RunOptions(
        config_dir=find_config_dir(args.config),
        state_dir=find_state_dir(args.state_dir),
        listen=args.listen,
        plan_year=args.plan_year,
        start=args.now,
        sweep_seconds=args.sweep_seconds,
        watch_seconds=args.watch_seconds,
    )
    return run_service(options)


def cmd_reload(args: argparse.Namespace) -> int:
    from ..statelock import running_pid

    state_dir = find_state_dir(args.state_dir)
    pid = running_pid(state_dir)
    if pid is None:
        raise RemindersError(f"no running service holds {state_dir}")
    os.kill(pid, signal.SIGHUP)
    print(f"sent SIGHUP to {pid}")
    return EXIT_OK
