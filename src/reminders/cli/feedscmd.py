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
from ..listen import bind, configured_listen
from ..logs import configure_logging
from ..statedir import find_state_dir
from ..statelock import StateDirBusy, StateLock
from ..tracking import tracked
from .common import at_option, at_or_now, listen_address, load, state_dir_option
from .errors import EXIT_OK

if TYPE_CHECKING:
    from ..config import Config
    from ..core.plan import Plan
    from ..feeds.builder import Feed
    from ..ledger import Ledger

log = logging.getLogger("reminders.feeds")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feeds = commands.add_parser(
        "feeds",
        help="日历订阅 (feeds)：生成 .ics 文件、显示订阅地址、单独提供订阅",
        description="日历订阅 (calendar feeds)：每个单位、每个分组和全部各一个 iCalendar 订阅。"
        "build 写出 .ics 文件，urls 显示订阅地址，serve 单独提供订阅（reminders run 已包含）。",
    )
    sub = feeds.add_subparsers(dest="feeds_command", metavar="动作", required=True)
    state = argparse.ArgumentParser(
        add_help=False, parents=[state_dir_option("订阅令牌和订阅历史")]
    )
    at_option(state, "订阅窗口以这一时刻所在的日期为中心", "--today")

    build = sub.add_parser(
        "build",
        parents=[state],
        help="写出每个订阅的 .ics 文件 (build)",
        description="把每个订阅写成 .ics 文件（只在内容变化时改写）。",
    )
    build.add_argument(
        "--output", metavar="DIR", default="calendars", help="输出目录（默认 ./calendars）"
    )
    build.set_defaults(run=cmd_build)

    urls = sub.add_parser(
        "urls",
        parents=[state],
        help="显示每个订阅的 https 与 webcal 地址 (urls)",
        description="显示每个订阅的地址：https:// 用于 Outlook、安卓等，webcal:// 是同一地址"
        "的链接形式（iPhone、Mac 点开即订阅）。地址中含每个订阅自己的密钥，请只发给该单位。",
    )
    urls.add_argument(
        "--base-url", metavar="URL", help="对外地址（默认：settings.yaml 的 feeds.base_url）"
    )
    urls.set_defaults(run=cmd_urls)

    serve = sub.add_parser(
        "serve",
        parents=[state],
        help="单独通过 HTTP 提供订阅 (serve)，不推送提醒",
        description="只提供日历订阅（不推送提醒）；配置修改后自动重建。"
        "reminders run 已包含此功能。",
    )
    serve.add_argument(
        "--listen", metavar="HOST:PORT", type=listen_address, help="监听地址（默认：feeds.listen）"
    )
    serve.add_argument(
        "--check-every",
        metavar="SECONDS",
        type=float,
        default=5.0,
        help="每隔几秒检查一次配置是否修改（默认 5）",
    )
    serve.set_defaults(run=cmd_serve)


def _summary(feed: Feed) -> str:
    cut = f"，{feed.end} 之后截去 {feed.dropped} 个" if feed.dropped else ""
    return f"{feed.spec.filename}：{feed.events} 个事件，{feed.size} 字节{cut}"


SERVICE_ADVICE = "它已在提供并重建订阅：用 `reminders feeds urls` 查看订阅地址"


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
    now = datetime.now(UTC)
    config = tracked(config, _existing_ledger(config, state_dir), now)
    publisher = FeedPublisher(state_dir)
    feeds = publisher.publish(config.plan, now, _day(args, config), render_all=True)
    report = write_feeds(Path(args.output), feeds)
    for feed in feeds.values():
        print(_summary(feed))
    print(
        f"{args.output}：写入 {len(report.written)} 个，未变 {len(report.unchanged)} 个，"
        f"删除 {len(report.removed)} 个"
    )
    return EXIT_OK


def _day(args: argparse.Namespace, config: Config) -> date | None:
    """The day --at names, in the configured zone; None: each build's own today."""
    if args.at is None:
        return None
    return at_or_now(args.at, config).astimezone(ZoneInfo(config.settings.timezone)).date()


def _existing_ledger(config: Config, state_dir: Path) -> Ledger | None:
    from ..delivery.setup import existing_ledger

    return existing_ledger(config, state_dir)


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
                    "没有对外地址 (base URL)：在 settings.yaml 设置 feeds.base_url，"
                    "或用 --base-url",
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
    from ..feeds.server import EmbeddedServer, FeedApp, server_config

    configure_logging("INFO")
    directory = find_config_dir(args.config)
    signature = config_signature(directory)  # before reading: an edit made meanwhile is seen
    config = load(args)
    sock = bind(*(args.listen or configured_listen(config.settings)))
    host, port = sock.getsockname()[:2]
    publisher = FeedPublisher(state_dir)
    started = datetime.now(UTC)
    ledger = _existing_ledger(config, state_dir)
    config = tracked(config, ledger, started)
    fixed_day = _day(args, config)
    publisher.publish(config.plan, started, fixed_day)

    def day_of(now: datetime, plan: Plan) -> date:
        return fixed_day or now.astimezone(ZoneInfo(plan.settings.timezone)).date()

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
                    plan = tracked(loaded, ledger, now).plan
                    log.info("配置已修改 (config changed)：重建日历订阅")
                day = today
                await asyncio.to_thread(publisher.publish, plan, now, fixed_day)
            except ConfigError as exc:
                log.error("配置有误 (config invalid)，继续提供上一版有效的订阅：\n%s", exc)

    async def main() -> None:
        server = EmbeddedServer(server_config(FeedApp(publisher.store), host, port))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, setattr, server, "should_exit", True)
        watcher = asyncio.create_task(watch())
        try:
            await server.serve(sockets=[sock])
        finally:
            watcher.cancel()

    log.info(
        "提供 %d 个日历订阅 (feeds)：http://%s:%d/feeds/<令牌>/…", len(publisher.specs), host, port
    )
    asyncio.run(main())
    return EXIT_OK
