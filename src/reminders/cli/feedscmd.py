"""`reminders feeds build|urls|serve`: calendar feeds as files, as URLs, over HTTP.

The feed builder and server (icalendar, uvicorn) are imported by these commands
only, not when the parser is built for every command.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

from ..config import find_config_dir, load_config
from ..config.loader import config_signature
from ..exceptions import ConfigError, Problem
from ..statedir import find_state_dir
from ..statelock import StateDirBusy, StateLock
from .common import listen_address, load, parse_date, state_dir_option
from .errors import EXIT_OK

if TYPE_CHECKING:
    from ..core.plan import Plan
    from ..feeds.builder import Feed

log = logging.getLogger("reminders.feeds")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feeds = commands.add_parser("feeds", help="calendar feeds: build files, print URLs, serve")
    sub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    state = argparse.ArgumentParser(
        add_help=False, parents=[state_dir_option("the feed tokens and history")]
    )
    state.add_argument(
        "--today", metavar="DATE", type=parse_date, help="centre the window on this date"
    )

    build = sub.add_parser("build", parents=[state], help="write calendars/*.ics")
    build.add_argument(
        "--output", metavar="DIR", default="calendars", help="directory (default: ./calendars)"
    )
    build.set_defaults(run=cmd_build)

    urls = sub.add_parser("urls", parents=[state], help="print each feed's https and webcal URL")
    urls.add_argument("--base-url", metavar="URL", help="public base URL (default: feeds.base_url)")
    urls.set_defaults(run=cmd_urls)

    serve = sub.add_parser("serve", parents=[state], help="serve the feeds over HTTP")
    serve.add_argument(
        "--listen", metavar="HOST:PORT", type=listen_address, help="default: feeds.listen"
    )
    serve.add_argument(
        "--check-every",
        metavar="SECONDS",
        type=float,
        default=5.0,
        help="how often to look for config changes (default: 5)",
    )
    serve.set_defaults(run=cmd_serve)


def _summary(feed: Feed) -> str:
    cut = f", {feed.dropped} cut after {feed.end}" if feed.dropped else ""
    return f"{feed.spec.filename}: {feed.events} events, {feed.size} bytes{cut}"


SERVICE_ADVICE = (
    "it already serves and rebuilds the feeds: use `reminders feeds urls` for the links"
)


@contextmanager
def holding_state(state_dir: Path) -> Iterator[None]:
    """The lock `reminders run` holds: one process at a time saves the feed history."""
    lock = StateLock(state_dir, service=False)
    try:
        lock.acquire()
    except StateDirBusy as exc:
        if exc.pid is None:
            raise
        raise StateDirBusy(exc.state_dir, exc.pid, SERVICE_ADVICE) from None
    try:
        yield
    finally:
        lock.release()


def cmd_build(args: argparse.Namespace) -> int:
    state_dir = find_state_dir(args.state_dir)
    with holding_state(state_dir):
        return _build(args, state_dir)


def _build(args: argparse.Namespace, state_dir: Path) -> int:
    from ..feeds.files import write_feeds
    from ..feeds.publisher import FeedPublisher

    config = load(args)
    publisher = FeedPublisher(state_dir)
    feeds = publisher.publish(config.plan, datetime.now(UTC), args.today, render_all=True)
    report = write_feeds(Path(args.output), feeds)
    for feed in feeds.values():
        print(_summary(feed))
    print(
        f"{args.output}: {len(report.written)} written, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed"
    )
    return EXIT_OK


def feed_urls(base_url: str, tokens: dict[str, str], key: str, filename: str) -> tuple[str, str]:
    url = f"{base_url.rstrip('/')}/feeds/{tokens[key]}/{quote(filename)}"
    return url, "webcal://" + url.split("://", 1)[1]


def cmd_urls(args: argparse.Namespace) -> int:
    from ..feeds.specs import feed_specs
    from ..feeds.tokens import load_tokens

    config = load(args)
    base = args.base_url or config.settings.feeds.base_url
    if not base or not base.startswith(("http://", "https://")):
        raise ConfigError(
            [
                Problem(
                    "no public base URL: set feeds.base_url in settings.yaml or pass --base-url",
                    str(config.directory / "settings.yaml"),
                    field="feeds.base_url",
                    value=base,
                )
            ]
        )
    specs = feed_specs(config.plan)
    tokens = load_tokens(find_state_dir(args.state_dir), [s.key for s in specs])
    for spec in specs:
        https, webcal = feed_urls(base, tokens, spec.key, spec.filename)
        print(f"{spec.title}\n  {https}\n  {webcal}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    state_dir = find_state_dir(args.state_dir)
    with holding_state(state_dir):
        return _serve(args, state_dir)


def _serve(args: argparse.Namespace, state_dir: Path) -> int:
    from ..feeds.publisher import FeedPublisher
    from ..feeds.server import EmbeddedServer, FeedApp, configured_listen, server_config

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    directory = find_config_dir(args.config)
    signature = config_signature(directory)  # before reading: an edit made meanwhile is seen
    config = load(args)
    host, port = args.listen or configured_listen(config.settings)
    publisher = FeedPublisher(state_dir)
    started = datetime.now(UTC)
    publisher.publish(config.plan, started, args.today)

    def day_of(now: datetime, plan: Plan) -> date:
        return args.today or now.astimezone(ZoneInfo(plan.settings.timezone)).date()

    async def watch() -> None:
        """Rebuild when a config file changes or the day turns; keep the last good feeds."""
        nonlocal signature
        plan = config.plan
        day = day_of(started, plan)
        while True:
            await asyncio.sleep(args.check_every)
            now = datetime.now(UTC)
            current = config_signature(directory)
            today = day_of(now, plan)
            if current == signature and today == day:
                continue
            try:
                if current != signature:
                    signature = current
                    loaded = await asyncio.to_thread(load_config, directory, args.plan_year)
                    plan = loaded.plan
                    log.info("config changed: rebuilding feeds")
                day = today
                await asyncio.to_thread(publisher.publish, plan, now, args.today)
            except ConfigError as exc:
                log.error("config invalid; still serving the last good feeds:\n%s", exc)

    async def main() -> None:
        server = EmbeddedServer(server_config(FeedApp(publisher.store), host, port))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, setattr, server, "should_exit", True)
        watcher = asyncio.create_task(watch())
        try:
            await server.serve()
        finally:
            watcher.cancel()

    log.info("serving %d feeds on http://%s:%d/feeds/<token>/…", len(publisher.specs), host, port)
    asyncio.run(main())
    return EXIT_OK
