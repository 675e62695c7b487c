"""`reminders run`: plan, send and serve in one event loop, for years.

The rules are the source of truth: at every wake-up the service asks the pure
plan what is due by now, and the ledger what has already gone out. APScheduler
is only the clock: one job at the next due instant (re-planned after every run
and every reload), a periodic sweep that catches missed wake-ups and clock
jumps, and a nightly feed rebuild as the feed window rolls.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
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
from ..closedloop.links import ActionLinks
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
from ..feeds.server import configured_listen
from ..ledger import Ledger
from ..statedir import ensure_private_dir
from ..statelock import StateLock
from .clock import Clock
from .memory import release_free_memory
from .notify import Notifier

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
        self.sent_total = 0
        self.loop: Loop
        self.base_url = ""
        self._signature: ConfigSignature = ()
        self._changed = asyncio.Event()
        self._published_revision = -1

    # -- life cycle --------------------------------------------------------------
    async def run(self) -> int:
        self._signature = config_signature(self.options.config_dir)
        self.config = load_config(self.options.config_dir, self.options.plan_year)
        _log_warnings(self.config)
        zone = ZoneInfo(self.config.settings.timezone)
        self.clock = Clock.starting_at(zone, self.options.start)
        if self.clock.offset:
            log.warning("clock shifted for testing: it reads %s", self.clock.now().isoformat())
        state_dir = ensure_private_dir(self.options.state_dir)
        with StateLock(state_dir):
            return await self._run(state_dir, zone)

    async def _run(self, state_dir: Path, zone: ZoneInfo) -> int:
        loop = asyncio.get_running_loop()
        offset = self.clock.offset.total_seconds()
        self.ledger = open_ledger(self.config, state_dir)
        self.deliverer = Deliverer(
            self.ledger,
            channels_from_config(self.config, self.environ),
            templates=self.config.channels.templates,
            link_template=self.config.channels.link_template,
            clock=lambda: time.time() + offset,
        )
        self.loop = Loop(LoopStore.of(self.ledger), lambda: self.config.plan)
        key = action_key(state_dir, self.environ)
        self.publisher = FeedPublisher(state_dir, self.clock.now)
        await self._publish()

        sock = _bind(*(self.options.listen or configured_listen(self.config.settings)))
        host, port = sock.getsockname()[:2]
        self.base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        self._set_links(key)
        loop_app = LoopApp(
            self.loop, key, api_token(state_dir, self.environ), self.clock.now, self.state_changed
        )
        app = RootApp(FeedApp(self.publisher.store), loop_app)
        server = EmbeddedServer(server_config(app, host, port))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if serving.done():
            serving.result()
            raise RemindersError(f"the feed server did not start on {host}:{port}")
        log.info(
            "serving %d feeds on http://%s:%d/feeds/ (addresses: `reminders feeds urls "
            "--base-url http://%s:%d`)",
            len(self.publisher.specs),
            host,
            port,
            host,
            port,
        )
        silent = [u.name for u in self.config.plan.units if not u.channels]
        log.info(
            "config %s: %d duties, %d units; state %s; %s",
            self.options.config_dir,
            len(self.config.plan.duties),
            len(self.config.plan.units),
            state_dir,
            f"{len(silent)} unit(s) without a robot: their reminders are written to this log"
            if silent
            else "every unit has a robot",
        )

        self.scheduler = AsyncIOScheduler(
            timezone=zone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.scheduler.start()
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
        for signum, handler in (
            (signal.SIGTERM, self.stopping.set),
            (signal.SIGINT, self.stopping.set),
            (signal.SIGHUP, lambda: self._spawn(self.reload())),
        ):
            loop.add_signal_handler(signum, handler)
        if self.notifier.watchdog_interval:
            self._spawn(self._watchdog(self.notifier.watchdog_interval))

        # Ready once serving and planned; the catch-up run (whatever fell due while
        # we were stopped) may take minutes under rate limits, so it runs after.
        self.next_due = self.deliverer.next_wakeup(
            self.config.plan, self.completions(), self.clock.now()
        )
        self.notifier.ready(self.status_line())
        log.info("ready: %s", self.status_line())
        self._spawn(self.wake())
        self._spawn(self.weekly_report())  # this week's, if it came while we were stopped

        await self.stopping.wait()
        log.info("stopping")
        self.notifier.stopping()
        self.scheduler.shutdown(wait=False)
        try:
            async with asyncio.timeout(self.options.stop_timeout):
                await self._lock.acquire()  # an in-flight run finishes first
        except TimeoutError:
            log.warning(
                "a delivery run did not finish in %.0fs; stopping anyway", self.options.stop_timeout
            )
        server.should_exit = True
        await serving
        for task in list(self._tasks):
            task.cancel()
        await self.deliverer.aclose()
        self.ledger.close()
        self.notifier.close()
        log.info("stopped")
        return 0

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
        base = settings.loop.base_url or settings.feeds.base_url
        if base is None:
            base = self.base_url
            log.warning(
                "action links point at %s: set loop.base_url (or feeds.base_url) to the "
                "address phones reach",
                base,
            )
        if key is None:
            current = self.deliverer.action_link
            assert isinstance(current, ActionLinks)
            key = current.key
        days = timedelta(days=settings.loop.link_days)
        self.deliverer.action_link = ActionLinks(key, base, days, self.clock.now)

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
        """A job at the next report time, on the service's clock."""
        if self.scheduler.get_job(REPORT_JOB) is not None:
            self.scheduler.remove_job(REPORT_JOB)
        _, upcoming = report_times(self.config.settings, self.clock.now())
        if upcoming is not None:
            trigger = DateTrigger(run_date=self.clock.to_real(upcoming))
            self.scheduler.add_job(self.weekly_report, trigger, id=REPORT_JOB)

    async def weekly_report(self) -> None:
        """This week's report, if its time has come (once per week: the ledger
        keeps the claim, so a start after the time sends it late, not twice)."""
        now = self.clock.now()
        due, _ = report_times(self.config.settings, now)
        try:
            if due is not None:
                sent = await send_weekly_report(self.deliverer, self.loop, now)
                late = " (late)" if now - due > timedelta(minutes=5) else ""
                if sent:
                    log.info("weekly report: %d message(s) sent%s", sent, late)
                else:
                    log.info(
                        "weekly report of %s: nothing to send (sent before, or no robot)",
                        due.date(),
                    )
        except Exception:
            log.exception("weekly report failed")
        finally:
            release_free_memory()
            if not self.stopping.is_set():
                self._schedule_report()

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
                log.exception("delivery run failed; the sweep will try again")
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
            log.exception("feed rebuild failed; serving the previous feeds")

    async def _watch_config(self) -> None:
        signature = await asyncio.to_thread(config_signature, self.options.config_dir)
        if signature != self._signature:
            log.info("config files changed")
            await self.reload(signature)

    async def reload(self, signature: ConfigSignature | None = None) -> None:
        """Re-read config; a broken config is logged and the last good one keeps running.

        `signature`: the config files' as the watcher just took it (SIGHUP: taken here)."""
        self.notifier.reloading(time.monotonic_ns() // 1000)
        log.info("reloading config from %s", self.options.config_dir)
        # taken before reading: an edit made while we read is seen by the next look
        if signature is None:
            signature = await asyncio.to_thread(config_signature, self.options.config_dir)
        self._signature = signature
        try:
            config = await asyncio.to_thread(
                load_config, self.options.config_dir, self.options.plan_year
            )
            channels = channels_from_config(config, self.environ)
        except RemindersError as exc:
            for problem in exc.problems:
                if problem.severity == "error":
                    log.error("reload rejected: %s", problem)
            log.error("keeping the last good config (%d duties)", len(self.config.plan.duties))
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
            "config reloaded: %d duties, %d units", len(config.plan.duties), len(config.plan.units)
        )
        await self.refresh_feeds()
        await self.wake()
        self.notifier.ready(self.status_line())

    def status_line(self) -> str:
        nxt = self.next_due.isoformat(timespec="minutes") if self.next_due else "none"
        duties = len(self.config.plan.duties)
        return f"next reminder {nxt}; sent {self.sent_total} since start; {duties} duties"


def _log_warnings(config: Config) -> None:
    for warning in config.plan.warnings:
        log.warning("%s", warning)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so; without it
    # a response's head and body wait on the client's delayed ACK (40 ms each)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RemindersError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def run_service(options: RunOptions, environ: Mapping[str, str] | None = None) -> int:
    code = asyncio.run(Service(options, environ).run())
    # The loop restored the default handlers on close; a repeated SIGTERM now
    # would turn a clean exit into death by signal.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code
