"""`reminders run`: plan, send and serve in one event loop, for years.

The rules are the source of truth: at every wake-up the service asks the pure
plan what is due by now, and the ledger what has already gone out. APScheduler
is only the clock: one job at the next due instant (re-planned after every run
and every reload), a periodic sweep that catches missed wake-ups and clock
jumps, and a nightly feed rebuild as the feed window rolls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ..closedloop.app import LoopApp, RootApp
from ..closedloop.keys import action_key, api_token
from ..closedloop.links import ActionLinks, link_base
from ..closedloop.loop import Loop
from ..closedloop.state import feed_marks
from ..closedloop.store import LoopStore
from ..closedloop.weekly import report_times, send_weekly_report
from ..config import Config, load_config
from ..config.loader import ConfigSignature, config_signature
from ..delivery.sender import Deliverer
from ..delivery.setup import channels_from_config, open_ledger
from ..exceptions import RemindersError
from ..feeds import EmbeddedServer, FeedApp, FeedPublisher, server_config
from ..ledger import Ledger
from ..listen import bind, configured_listen
from ..statedir import ensure_private_dir
from ..statelock import StateLock
from ..tracking import tracked
from . import stopsignal
from .clock import Clock
from .memory import release_free_memory
from .notify import Notifier
from .trial import check_service_start

log = logging.getLogger("reminders.daemon")

NEXT_JOB = "next-due"
REPORT_JOB = "weekly-report"
NIGHTLY_JOB = "feeds"
NIGHTLY = dtime(0, 5)
CHANGE_SETTLE_SECONDS = 0.25


@dataclass(frozen=True)
class RunOptions:
    config_dir: Path
    state_dir: Path
    listen: tuple[str, int] | None = None  # default: settings feeds.listen
    plan_year: int | None = None
    start: datetime | None = None  # testing aid: the clock starts here
    sweep_seconds: float = 300.0
    watch_seconds: float = 5.0  # how often to look for config changes; 0: only on SIGHUP
    stop_timeout: float = 20.0


class Service:
    def __init__(self, options: RunOptions, environ: Mapping[str, str] | None = None) -> None:
        self.options = options
        self.environ = environ
        self.notifier = Notifier(environ)
        self.stopping = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.config: Config
        self.clock: Clock
        self.ledger: Ledger
        self.deliverer: Deliverer
        self.publisher: FeedPublisher
        self.scheduler: AsyncIOScheduler
        self.next_due: datetime | None = None
        self.since: datetime | None = None  # when the ledger was made
        self._untracked_report: datetime | None = None
        self.sent_total = 0
        self.loop: Loop
        self.base_url = ""
        self._signature: ConfigSignature = ()
        self._changed = asyncio.Event()
        self._published_revision = -1
        self._scheduler_stopped = False
        self._reload_asked: list[int] = []

    # -- life cycle --------------------------------------------------------------
    async def run(self) -> int:
        """Start, serve until SIGTERM or SIGINT, stop: exit 0. A stop asked for at any
        moment of start-up closes what was opened so far and exits 0 too."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        # a SIGHUP during start-up (its default would kill us): reloaded once started
        loop.add_signal_handler(signal.SIGHUP, self._reload_asked.append, signal.SIGHUP)
        if stopsignal.received():
            self.stopping.set()
        try:
            async with contextlib.AsyncExitStack() as opened:
                await self._run(opened)
        except _Stopped:
            log.info("已停止 (stopped)：启动过程中收到停止信号")
            return 0
        log.info("已停止 (stopped)")
        return 0

    async def _checkpoint(self) -> None:
        """Between start-up steps: let a pending signal in, and stop if it asked to."""
        await asyncio.sleep(0)
        if self.stopping.is_set():
            raise _Stopped

    async def _run(self, opened: contextlib.AsyncExitStack) -> None:
        await self._checkpoint()
        self._signature = config_signature(self.options.config_dir)
        self.config = load_config(self.options.config_dir, self.options.plan_year)
        _log_warnings(self.config)
        zone = ZoneInfo(self.config.settings.timezone)
        self.clock = Clock.starting_at(zone, self.options.start)
        if self.clock.offset:
            log.warning(
                "时钟已为测试调整 (clock shifted)：现在读作 %s", self.clock.now().isoformat()
            )
        state_dir = ensure_private_dir(self.options.state_dir)
        opened.callback(self.notifier.close)
        await self._checkpoint()
        opened.enter_context(StateLock(state_dir))
        loop = asyncio.get_running_loop()
        offset = self.clock.offset.total_seconds()
        self.ledger = open_ledger(self.config, state_dir, self.clock.now())
        opened.callback(self.ledger.close)
        self.since = self.ledger.created_at()
        self.config = tracked(self.config, self.ledger, self.clock.now())
        log.info(
            "开始跟踪 (tracking from) %s（%s）：此前到期的事项只作记录，不提醒、不算逾期",
            self.config.plan.track_from,
            "settings.yaml 的 track_from"
            if self.config.settings.track_from
            else "台账建立之日；要改，设置 track_from",
        )
        self.deliverer = Deliverer(
            self.ledger,
            channels_from_config(self.config, self.environ),
            templates=self.config.channels.templates,
            link_template=self.config.channels.link_template,
            clock=lambda: time.time() + offset,
        )
        opened.push_async_callback(self.deliverer.aclose)
        self.loop = Loop(LoopStore.of(self.ledger), lambda: self.config.plan)
        key = action_key(state_dir, self.environ)
        self.publisher = FeedPublisher(state_dir, self.clock.now)
        await self._checkpoint()
        await self._publish()
        await self._checkpoint()

        sock = bind(*(self.options.listen or configured_listen(self.config.settings)))
        host, port = sock.getsockname()[:2]
        self.base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        self._set_links(key)
        loop_app = LoopApp(
            self.loop, key, api_token(state_dir, self.environ), self.clock.now, self.state_changed
        )
        console = None
        if self.config.settings.console.enabled:
            from ..console import build_console

            console = build_console(
                self.loop, self.ledger.engine, state_dir, key, self.clock.now, self.state_changed
            )
        app = RootApp(FeedApp(self.publisher.store), loop_app, console)
        server = EmbeddedServer(server_config(app, host, port))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        opened.callback(self._cancel_tasks)
        opened.push_async_callback(_stop_server, server, serving)
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
            await self._checkpoint()
        if serving.done():
            serving.result()
            raise RemindersError(f"订阅服务未能在 {host}:{port} 上启动 (feed server did not start)")
        log.info(
            "提供 %d 个日历订阅 (feeds)：http://%s:%d/feeds/（各订阅地址："
            "`reminders feeds urls --base-url http://%s:%d`）",
            len(self.publisher.specs),
            host,
            port,
            host,
            port,
        )
        if console is not None:
            log.info("督办看板 (console)：http://%s:%d/console/", host, port)
        silent = [u.name for u in self.config.plan.units if not u.channels]
        log.info(
            "配置 (config) %s：%d 项任务，%d 个单位；状态目录 (state) %s；%s",
            self.options.config_dir,
            len(self.config.plan.duties),
            len(self.config.plan.units),
            state_dir,
            f"{len(silent)} 个单位没有机器人，它们的提醒写在本日志里"
            if silent
            else "每个单位都有机器人",
        )

        self.scheduler = AsyncIOScheduler(
            timezone=zone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.scheduler.start()
        opened.callback(self._stop_scheduler)
        self.scheduler.add_job(
            self.wake,
            IntervalTrigger(seconds=self.options.sweep_seconds, timezone=zone),
            id="sweep",
        )
        self._schedule_nightly()
        self._schedule_report()
        if self.options.watch_seconds > 0:
            trigger = IntervalTrigger(seconds=self.options.watch_seconds, timezone=zone)
            self.scheduler.add_job(self._watch_config, trigger, id="watch-config")
        self._spawn(self._after_changes())
        loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self.reload()))
        if self._reload_asked:
            self._spawn(self.reload())
        if self.notifier.watchdog_interval:
            self._spawn(self._watchdog(self.notifier.watchdog_interval))

        # Ready once serving and planned; the catch-up run (whatever fell due while
        # we were stopped, and a weekly report still owed) may take minutes under
        # rate limits, so it runs after.
        self.next_due = self.deliverer.next_wakeup(
            self.config.plan, self.completions(), self.clock.now()
        )
        await self._checkpoint()
        self.notifier.ready(self.status_line())
        log.info("就绪 (ready)：%s", self.status_line())
        self._spawn(self.wake())

        await self.stopping.wait()
        log.info("正在停止 (stopping)")
        self.notifier.stopping()
        self._stop_scheduler()
        try:
            async with asyncio.timeout(self.options.stop_timeout):
                await self._lock.acquire()  # an in-flight run finishes first
        except TimeoutError:
            log.warning(
                "一轮推送 (delivery run) %.0f 秒内未完成，仍然停止", self.options.stop_timeout
            )
        # `opened` closes the rest: server, tasks, HTTP client, ledger, lock, notifier

    def _stop_scheduler(self) -> None:
        # AsyncIOScheduler.shutdown only schedules the shutdown: `running` stays True
        # until the loop runs it, so remember that it was asked
        if self.scheduler.running and not self._scheduler_stopped:
            self._scheduler_stopped = True
            self.scheduler.shutdown(wait=False)

    def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watchdog(self, interval: float) -> None:
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)

    # -- the closed loop ----------------------------------------------------------
    def _set_links(self, key: bytes | None = None) -> None:
        """Action links under each reminder, to loop.base_url, feeds.base_url or our address."""
        settings = self.config.settings
        base = link_base(settings)
        if base is None:
            base = self.base_url
            log.warning(
                "办结链接 (action links) 指向 %s：请把 loop.base_url（或 feeds.base_url）"
                "设为手机能访问的地址",
                base,
            )
        if key is None:
            current = self.deliverer.action_link
            assert isinstance(current, ActionLinks)
            key = current.key
        days = timedelta(days=settings.loop.link_days)
        self.deliverer.action_link = ActionLinks(
            key, base, days, self.clock.now, settings.console.enabled
        )

    def _schedule_nightly(self) -> None:
        """The feed window rolls at midnight on the service's clock: rebuild at 00:05."""
        now = self.clock.now()
        tonight = datetime.combine(now.date(), NIGHTLY, now.tzinfo)
        upcoming = tonight if tonight > now else tonight + timedelta(days=1)
        trigger = DateTrigger(run_date=self.clock.to_real(upcoming))
        self.scheduler.add_job(self._nightly, trigger, id=NIGHTLY_JOB, replace_existing=True)

    async def _nightly(self) -> None:
        try:
            await self.refresh_feeds()
        finally:
            if not self.stopping.is_set():
                self._schedule_nightly()

    def _schedule_report(self) -> None:
        """A wake-up at the next report time, on the service's clock."""
        if self.scheduler.get_job(REPORT_JOB) is not None:
            self.scheduler.remove_job(REPORT_JOB)
        _, upcoming = report_times(self.config.settings, self.clock.now())
        if upcoming is not None:
            trigger = DateTrigger(run_date=self.clock.to_real(upcoming))
            self.scheduler.add_job(self._report_time, trigger, id=REPORT_JOB)

    async def _report_time(self) -> None:
        try:
            await self.wake()
        finally:
            if not self.stopping.is_set():
                self._schedule_report()

    async def weekly_report(self, now: datetime) -> None:
        """The weekly report owed now (this week's once its time has come, or an earlier
        one failed or abandoned): every wake-up looks until it is sent or dead; the
        ledger keeps the claim, so a restart sends it late, never twice."""
        due, _ = report_times(self.config.settings, now, self.since)
        came, upcoming = report_times(self.config.settings, now)
        if due is None and came is not None and self._untracked_report != came:
            self._untracked_report = came  # said once, not at every wake-up
            log.info(
                "%s 的周报 (weekly report) 不补发：台账建立在它之后；第一份周报在 %s 发出",
                came.date(),
                upcoming.isoformat(timespec="minutes") if upcoming else "-",
            )
        try:
            sent = await send_weekly_report(self.deliverer, self.loop, now, self.since)
            if sent:
                late = due is None or now - due > timedelta(minutes=5)
                log.info(
                    "周报 (weekly report)：已发送 %d 条%s", sent, "，补发 (late)" if late else ""
                )
        except Exception:
            log.exception("周报 (weekly report) 发送出错，下次唤醒时重试")

    def state_changed(self) -> None:
        """An occurrence changed state (over HTTP): re-plan and refresh the feeds soon."""
        self._changed.set()

    async def _after_changes(self) -> None:
        """One refresh at a time; changes that arrive meanwhile are taken together."""
        while not self.stopping.is_set():
            await self._changed.wait()
            await asyncio.sleep(CHANGE_SETTLE_SECONDS)  # a burst of confirms: one refresh
            self._changed.clear()
            await self.refresh_feeds()
            await self.wake()

    # -- work --------------------------------------------------------------------
    def completions(self) -> set[str]:
        """Done and waived occurrences: their reminders are not sent."""
        return self.loop.store.closed_ids()

    async def wake(self) -> None:
        """Deliver what is due, then schedule the next wake-up."""
        if self.stopping.is_set():
            return
        async with self._lock:
            now = self.clock.now()
            plan = self.config.plan
            done = await asyncio.to_thread(self.completions)
            try:
                report = await self.deliverer.deliver_due(plan, now, done)
                self.sent_total += len(report.sent)
            except Exception:
                log.exception("推送出错 (delivery run failed)，定时巡检 (sweep) 会再试")
            await self.weekly_report(now)
            self.next_due = await asyncio.to_thread(
                self.deliverer.next_wakeup, plan, done, self.clock.now()
            )
            if self.next_due is not None and not self.stopping.is_set():
                self.scheduler.add_job(
                    self.wake,
                    DateTrigger(run_date=self.clock.to_real(self.next_due)),
                    id=NEXT_JOB,
                    replace_existing=True,
                )
            self.notifier.status(self.status_line())
            release_free_memory()
        # a change made by `reminders done` in another process shows in the feeds too
        revision = await asyncio.to_thread(self.loop.store.revision)
        if revision != self._published_revision:
            await self.refresh_feeds()

    async def _publish(self) -> None:
        await asyncio.to_thread(self._publish_now)

    def _publish_now(self) -> None:
        store = self.loop.store
        revision = store.revision()
        marks = feed_marks(store.closed())
        self.publisher.publish(self.config.plan, self.clock.now(), completed=marks)
        self._published_revision = revision
        release_free_memory()

    async def refresh_feeds(self) -> None:
        try:
            await self._publish()
        except Exception:
            log.exception("日历订阅重建失败 (feed rebuild failed)，继续提供上一版订阅")

    async def _watch_config(self) -> None:
        signature = await asyncio.to_thread(config_signature, self.options.config_dir)
        if signature != self._signature:
            log.info("配置文件已修改 (config files changed)")
            await self.reload(signature)

    async def reload(self, signature: ConfigSignature | None = None) -> None:
        """Re-read config; a broken config is logged and the last good one keeps running.

        `signature`: the config files' as the watcher just took it (SIGHUP: taken here)."""
        self.notifier.reloading(time.monotonic_ns() // 1000)
        log.info("重新加载配置 (reloading config)：%s", self.options.config_dir)
        # taken before reading: an edit made while we read is seen by the next look
        if signature is None:
            signature = await asyncio.to_thread(config_signature, self.options.config_dir)
        self._signature = signature
        try:
            config = await asyncio.to_thread(
                load_config, self.options.config_dir, self.options.plan_year
            )
            config = await asyncio.to_thread(tracked, config, self.ledger, self.clock.now())
            await asyncio.to_thread(check_service_start, config, self.clock.now())
            channels = channels_from_config(config, self.environ)
        except RemindersError as exc:
            for problem in exc.problems:
                if problem.severity == "error":
                    log.error("重新加载被拒绝 (reload rejected)：%s", problem)
            log.error(
                "继续使用上次的有效配置 (last good config)：%d 项任务", len(self.config.plan.duties)
            )
            self.notifier.ready(self.status_line())
            return
        async with self._lock:
            self.config = config
            self.deliverer.channels = channels
            self.deliverer.templates = dict(config.channels.templates)
            self.deliverer.link_template = config.channels.link_template
            self._set_links()
            self._schedule_report()
        _log_warnings(config)
        log.info(
            "配置已重新加载 (config reloaded)：%d 项任务，%d 个单位",
            len(config.plan.duties),
            len(config.plan.units),
        )
        await self.refresh_feeds()
        await self.wake()
        self.notifier.ready(self.status_line())

    def status_line(self) -> str:
        nxt = self.next_due.isoformat(timespec="minutes") if self.next_due else "无"
        duties = len(self.config.plan.duties)
        sent = self.sent_total
        return f"下一次提醒 (next reminder) {nxt}；启动以来已推送 {sent} 条；{duties} 项任务"


class _Stopped(Exception):
    """SIGTERM or SIGINT came during start-up."""


async def _stop_server(server: EmbeddedServer, serving: asyncio.Task[None]) -> None:
    server.should_exit = True
    if not serving.done():
        await serving


def _log_warnings(config: Config) -> None:
    for warning in config.plan.warnings:
        log.warning("%s", warning)


def run_service(options: RunOptions, environ: Mapping[str, str] | None = None) -> int:
    code = asyncio.run(Service(options, environ).run())
    # The loop restored the default handlers on close; a repeated SIGTERM now
    # would turn a clean exit into death by signal.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code
