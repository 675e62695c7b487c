"""Deliver due reminders: claim in the ledger, render one digest per robot, send, mark.

Each channel runs in its own task with its own rate limiter, so a robot that
fails, times out or is blocked never delays the others. The unit of "sent" is
the message on the wire: a digest's parts are written to the ledger's outbox
before the first is sent and each is recorded as its robot takes it (see
outbox.py). A transient failure is retried inside the run with exponential
backoff and jitter (waits up to `max_wait_in_run`); after that the part and the
ones after it are left failed with a retry time, and a later run (the daemon's
next wake-up) sends them. A permanent failure marks the part's deliveries dead
with the robot's own code and message; the later parts are still tried.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ..channels.base import Answer, Channel, Clock, Outgoing
from ..core.model import DeliverySettings
from ..core.plan import Plan
from ..exceptions import DeliveryError
from ..ledger import Entry, Ledger, Message, Progress
from . import outbox
from .escalation import subject_for as escalation_subject
from .outbox import outgoing
from .plan import (
    Delivery,
    Reminder,
    deliveries,
    due_at,
    in_window,
    next_due_instant,
    next_opening,
    zone,
)
from .ratelimit import RateLimiter, Sleep, backoff
from .render import Renderer, duty_texts

logger = logging.getLogger("reminders.delivery")

# why a delivery was recorded as skipped (the ledger's last_error; rows written by an
# older version keep their English text, and nothing reads these back)
SUPERSEDED = "被后一步提醒取代 (superseded)"
TOO_OLD = "停机期间错过，已超过补发时限 (catch-up)"
_T = TypeVar("_T")


@dataclass
class ChannelOutcome:
    channel: str
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    messages: int = 0
    attempts: int = 0
    first_sent_at: float | None = None
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "sent": len(self.sent),
            "failed": len(self.failed),
            "dead": len(self.dead),
            "messages": self.messages,
            "attempts": self.attempts,
            "error": self.error,
        }


@dataclass
class DeliveryReport:
    """What one run did; the keys are ledger idempotency keys."""

    now: datetime
    outside_window: bool = False
    channels: dict[str, ChannelOutcome] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    already: int = 0
    waiting: int = 0
    busy: int = 0
    unconfigured: list[str] = field(default_factory=list)

    def _all(self, attr: str) -> list[str]:
        return [key for outcome in self.channels.values() for key in getattr(outcome, attr)]

    @property
    def sent(self) -> list[str]:
        return self._all("sent")

    @property
    def failed(self) -> list[str]:
        return self._all("failed")

    @property
    def dead(self) -> list[str]:
        return self._all("dead")

    @property
    def messages(self) -> int:
        return sum(outcome.messages for outcome in self.channels.values())

    def as_json(self) -> dict[str, object]:
        return {
            "now": self.now.isoformat(),
            "outside_window": self.outside_window,
            "sent": len(self.sent),
            "failed": len(self.failed),
            "dead": len(self.dead),
            "skipped": len(self.skipped),
            "already_done": self.already,
            "waiting_for_retry": self.waiting,
            "claimed_elsewhere": self.busy,
            "messages": self.messages,
            "unconfigured_channels": sorted(set(self.unconfigured)),
            "channels": [o.as_json() for o in self.channels.values()],
        }


@dataclass
class Selection:
    """Which of the due deliveries to send now, given what the ledger holds."""

    send: list[Delivery] = field(default_factory=list)
    superseded: list[Delivery] = field(default_factory=list)
    too_old: list[Delivery] = field(default_factory=list)
    already: int = 0
    busy: int = 0
    waiting: int = 0
    prior: dict[str, int] = field(default_factory=dict)


def select(
    wanted: Sequence[Delivery],
    existing: Mapping[str, Progress],
    now: datetime,
    wall: datetime,
    settings: DeliverySettings,
) -> Selection:
    """Pure: drop what is done, claimed elsewhere or waiting to retry; of a subject's steps
    on one channel only the newest is sent (catch-up), and ones older than the catch-up
    limit are only recorded."""
    latest: dict[tuple[str, str], Delivery] = {}
    for delivery in wanted:
        slot = (delivery.reminder.subject, delivery.channel)
        kept = latest.get(slot)
        if kept is None or delivery.reminder.instant > kept.reminder.instant:
            latest[slot] = delivery
    out = Selection()
    oldest = now - timedelta(hours=settings.catch_up_hours)
    for delivery in wanted:
        row = existing.get(delivery.key)
        if row is not None:
            out.prior[delivery.key] = row.attempts
            if row.status in ("sent", "dead", "skipped"):
                out.already += 1
                continue
            if row.status == "claimed" and row.lease_until and row.lease_until >= wall:
                out.busy += 1
                continue
        if latest[(delivery.reminder.subject, delivery.channel)] is not delivery:
            out.superseded.append(delivery)
            continue
        if (
            row is not None
            and row.status == "failed"
            and row.next_attempt_at is not None
            and row.next_attempt_at > wall
        ):
            out.waiting += 1
            continue
        if delivery.reminder.instant < oldest:
            out.too_old.append(delivery)
            continue
        out.send.append(delivery)
    return out


class Deliverer:
    """Long-lived: keep one per process so rate limits hold across runs.

    `channels` maps channel names (as units name them) to Channel objects; the
    daemon may replace the mapping on reload (`deliverer.channels = new`).
    """

    def __init__(
        self,
        ledger: Ledger,
        channels: Mapping[str, Channel],
        *,
        templates: Mapping[str, str] | None = None,
        link_template: str | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        max_wait_in_run: float = 120.0,
    ) -> None:
        self.ledger = ledger
        self.channels = dict(channels)
        self.templates = dict(templates or {})
        self.link_template = link_template
        self.action_link: Callable[[str], str] | None = None  # closed loop: set by the daemon
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        self.max_wait_in_run = max_wait_in_run
        self._client = client
        self._own_client = client is None
        self._limiters: dict[str, RateLimiter] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wire: asyncio.Semaphore | None = None
        self._wire_key: tuple[asyncio.AbstractEventLoop, int] | None = None

    async def __aenter__(self) -> Deliverer:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None and self._own_client:
            if self._loop is asyncio.get_running_loop():  # else its loop is gone, and its sockets
                await self._client.aclose()
            self._client = None

    def _http(self, settings: DeliverySettings) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is not None and self._own_client and self._loop is not loop:
            self._client = None  # made in an event loop that is gone (one asyncio.run per call)
        self._loop = loop
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=settings.timeout_seconds,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
            )
        return self._client

    async def _db(self, call: Callable[..., _T], *args: Any) -> _T:
        """Ledger calls run in a worker thread so one robot's bookkeeping never stalls the
        event loop (other robots' sends, the feed server)."""
        return await asyncio.to_thread(call, *args)

    def _wire_for(self, capacity: int) -> asyncio.Semaphore:
        """One semaphore per event loop and capacity (a semaphore is bound to its loop)."""
        key = (asyncio.get_running_loop(), capacity)
        if self._wire is None or self._wire_key != key:
            self._wire, self._wire_key = asyncio.Semaphore(capacity), key
        return self._wire

    def wall(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def limiter(self, channel: Channel, settings: DeliverySettings) -> RateLimiter:
        limiter = self._limiters.get(channel.name)
        if limiter is None:
            per_minute = channel.rate_limit_per_minute or settings.rate_limit_per_minute
            limiter = RateLimiter(per_minute, self.clock, self.sleep, channel.burst_per_second)
            self._limiters[channel.name] = limiter
        return limiter

    # -- planning ------------------------------------------------------------
    def next_wakeup(
        self, plan: Plan, completions: Collection[str], now: datetime
    ) -> datetime | None:
        """When the daemon should call `deliver_due` next: a new reminder or a retry.

        Call it after a run at `now`: retries already due were just tried, so only
        later ones count (a row whose reminder left the plan never causes a busy loop).
        """
        times = [t for t in (next_due_instant(plan, completions, now),) if t is not None]
        retry = self.ledger.next_retry_at(after=now)
        if retry is not None:
            times.append(retry)
        if not times:
            return None
        return next_opening(min(times), plan.settings, plan.calendar)

    # -- delivery ------------------------------------------------------------
    async def deliver_due(
        self, plan: Plan, now: datetime, completions: Collection[str] = ()
    ) -> DeliveryReport:
        """Send everything due by `now` that the ledger has not seen through; never twice."""
        if not in_window(now, plan.settings, plan.calendar):
            return DeliveryReport(now, outside_window=True)
        if completions:
            subjects = [*completions, *(escalation_subject(c) for c in completions)]
            await self._db(self.ledger.skip_done, subjects, self.wall())
        return await self.deliver(plan, due_at(plan, now, completions), now)

    async def deliver(
        self, plan: Plan, reminders: Sequence[Reminder], now: datetime
    ) -> DeliveryReport:
        settings = plan.settings.delivery
        report = DeliveryReport(now)
        wall = self.wall()
        wanted: list[Delivery] = []
        for delivery in deliveries(plan, reminders):
            if delivery.channel in self.channels:
                wanted.append(delivery)
            else:
                report.unconfigured.append(delivery.channel)
        if report.unconfigured:
            logger.warning(
                "单位用到的渠道未配置 (channels not configured)：%s",
                ", ".join(sorted(set(report.unconfigured))),
            )
        existing = await self._db(self.ledger.progress, [d.key for d in wanted])

        chosen = select(wanted, existing, now, wall, settings)
        report.already, report.busy, report.waiting = chosen.already, chosen.busy, chosen.waiting
        prior = chosen.prior
        candidates, superseded, too_old = chosen.send, chosen.superseded, chosen.too_old

        if superseded:
            report.skipped += await self._db(
                self.ledger.record_skipped,
                [_entry(d) for d in superseded],
                wall,
                SUPERSEDED,
            )
        if too_old:
            for delivery in too_old:
                logger.warning(
                    "未发送：早于补发时限 (catch-up limit) %s 小时：%s（%s）",
                    settings.catch_up_hours,
                    delivery.key,
                    delivery.reminder.instant.isoformat(),
                )
            report.skipped += await self._db(
                self.ledger.record_skipped,
                [_entry(d) for d in too_old],
                wall,
                TOO_OLD,
            )

        by_channel: dict[str, list[Delivery]] = {}
        for delivery in candidates:
            by_channel.setdefault(delivery.channel, []).append(delivery)
        renderer = Renderer(
            plan.calendar,
            self.templates,
            self.link_template,
            duty_texts(plan),
            action_link=self.action_link,
        )
        today = now.astimezone(zone(plan.settings)).date()
        tasks = []
        for name, items in by_channel.items():
            outcome = report.channels[name] = ChannelOutcome(name)
            tasks.append(
                self._channel_run(
                    plan, self.channels[name], items, prior, renderer, today, settings, outcome
                )
            )
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for name, result in zip(by_channel, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result
            if isinstance(result, Exception):
                detail = self.channels[name].redact(f"{type(result).__name__}: {result}")
                report.channels[name].error = detail
                logger.error("%s：推送任务出错 (delivery task failed)：%s", name, detail)
        return report

    async def _channel_run(
        self,
        plan: Plan,
        channel: Channel,
        items: list[Delivery],
        prior: Mapping[str, int],
        renderer: Renderer,
        today: date,
        settings: DeliverySettings,
        outcome: ChannelOutcome,
    ) -> None:
        won = await self.claim([_entry(d) for d in items], settings)
        items = [d for d in items if d.key in won]
        if not items:
            return
        attempts: dict[str, int] = {key: prior.get(key, 0) + 1 for key in won}

        def render(keys: Collection[str]) -> list[Outgoing]:
            chosen = [d for d in items if d.key in keys]
            return [part.outgoing() for part in renderer.digest(channel, chosen, today)]

        await self.send_batch(channel, won, render, today.isoformat(), settings, outcome, attempts)

    async def send_batch(
        self,
        channel: Channel,
        won: Collection[str],
        render: Callable[[Collection[str]], list[Outgoing]],
        day: str,
        settings: DeliverySettings,
        outcome: ChannelOutcome,
        attempts: dict[str, int],
    ) -> None:
        """Send what these claimed deliveries still need: the outbox's messages for them
        (left by a crash or a failure: sent again as written), then the rest rendered now
        (`render`) and written to the outbox before the first is sent. `day`: the local
        date the rendered text speaks of ("" if it never ages)."""
        stored = await self._db(self.ledger.messages, channel.name)

        def fits(message: Message) -> bool:
            return message.flavor == channel.flavor and channel.overflow(outgoing(message)) <= 0

        again = outbox.reuse(stored, won, day, fits)
        ours = set(won)
        others = [m for m in stored if m.id not in again.drop and not ours.intersection(m.keys)]
        drop = list(again.drop)
        if others:
            keys = list({k for m in others for k in m.keys})
            rows = await self._db(self.ledger.statuses, keys)
            drop += outbox.orphans(others, {k: row.status for k, row in rows.items()})
        if drop:
            await self._db(self.ledger.drop_messages, drop)
        rest = [key for key in won if key not in again.covered]
        fresh = (
            outbox.written(
                channel.name,
                channel.flavor,
                render(rest),
                day=day,
                digest=uuid.uuid4().hex,
                now=self.wall(),
            )
            if rest
            else []
        )
        await self._db(self.ledger.store_messages, fresh)
        if again.send:
            logger.info(
                "%s：%d 条消息此前已写好但未被机器人接收，按原文重发 (sent again as written)",
                channel.name,
                len(again.send),
            )
        await self._send_messages(channel, [*again.send, *fresh], settings, outcome, attempts)

    async def _send_messages(
        self,
        channel: Channel,
        messages: Sequence[Message],
        settings: DeliverySettings,
        outcome: ChannelOutcome,
        attempts: dict[str, int],
    ) -> None:
        """Send each message in order; each is recorded as its robot takes it. A message
        that fails permanently makes its deliveries dead and the next one is tried; a
        transient failure leaves it and the ones after it for a later run."""
        lease = timedelta(seconds=settings.lease_seconds)
        limiter = self.limiter(channel, settings)
        client = self._http(settings)
        settled: set[str] = set()  # deliveries sent or dead in this run
        extended = self.clock()
        for index, message in enumerate(messages):
            carried = [k for k in message.keys if k not in settled]
            if not carried:  # everything it carries died with an earlier message
                await self._db(self.ledger.drop_messages, [message.id])
                continue
            if self.clock() - extended > lease.total_seconds() / 3:
                await self._db(
                    self.ledger.extend, _open_keys(messages[index:], settled), self.wall(), lease
                )
                extended = self.clock()

            async def mark_sent(answer: Answer, sent: Message = message) -> None:
                done = [k for k in sent.completes if k not in settled]
                await self._db(self.ledger.message_sent, sent.id, done, self.wall())
                settled.update(done)
                outcome.sent.extend(done)
                logger.info(
                    "已推送 (sent) %d 条提醒到 %s（消息 %d/%d）：%s",
                    len(done),
                    channel.name,
                    sent.part,
                    sent.parts,
                    answer,
                )
                for key in done:
                    logger.info("已送达 (delivered) %s", key)

            result = await self._send(
                channel, client, limiter, outgoing(message), settings, outcome, attempts, mark_sent
            )
            if isinstance(result, Answer):
                continue
            if result.transient:
                left = _open_keys(messages[index:], settled)
                settled.update(
                    await self._record_failure(channel, left, result, attempts, settings, outcome)
                )
                gone = [m.id for m in messages[index:] if all(k in settled for k in m.keys)]
                await self._db(self.ledger.drop_messages, gone)
                return
            await self._record_failure(channel, carried, result, attempts, settings, outcome)
            settled.update(carried)
            await self._db(self.ledger.drop_messages, [message.id])

    async def _record_failure(
        self,
        channel: Channel,
        unsent: list[str],
        error: DeliveryError,
        attempts: Mapping[str, int],
        settings: DeliverySettings,
        outcome: ChannelOutcome,
    ) -> list[str]:
        """Keys a send gave up on: dead when the error is permanent or their attempts are
        spent, else failed with a retry time (backoff, or what the robot asked for).
        Returns the dead ones."""
        outcome.error = error.message
        if not unsent:
            return []
        now = self.wall()
        retry_in = max(
            error.retry_after or 0.0,
            backoff(
                max(attempts.get(k, 1) for k in unsent),
                settings.retry_base_seconds,
                settings.retry_max_seconds,
                self.rng,
            ),
        )
        exhausted = [k for k in unsent if attempts.get(k, 1) >= settings.max_attempts]
        dead: list[str] = []
        if not error.transient or exhausted:
            dead = unsent if not error.transient else exhausted
            await self._db(
                functools.partial(self.ledger.mark_dead, error=error.message, code=error.code),
                dead,
                now,
            )
            outcome.dead.extend(dead)
            logger.error(
                "%s：%d 条提醒放弃发送 (dead)：%s", channel.name, len(dead), _cause(channel, error)
            )
            unsent = [k for k in unsent if k not in dead]
        if unsent:
            await self._db(
                functools.partial(
                    self.ledger.mark_failed,
                    error=error.message,
                    code=error.code,
                    retry_at=now + timedelta(seconds=retry_in),
                ),
                unsent,
                now,
            )
            outcome.failed.extend(unsent)
            logger.warning(
                "%s：%d 条提醒发送失败 (failed)，%.0f 秒后重试：%s",
                channel.name,
                len(unsent),
                retry_in,
                _cause(channel, error),
            )
        return dead

    # -- one prepared message ---------------------------------------------------
    async def claim(self, entries: Sequence[Entry], settings: DeliverySettings) -> set[str]:
        """Claim these ledger keys now (see Ledger.claim); the ones won."""
        lease = timedelta(seconds=settings.lease_seconds)
        return set(await self._db(self.ledger.claim, list(entries), self.wall(), lease))

    async def _send(
        self,
        channel: Channel,
        client: httpx.AsyncClient,
        limiter: RateLimiter,
        message: Outgoing,
        settings: DeliverySettings,
        outcome: ChannelOutcome,
        attempts: dict[str, int],
        on_sent: Callable[[Answer], Awaitable[None]],
    ) -> Answer | DeliveryError:
        """Send one message (retrying transient errors) and record it as sent.

        The send and the record happen under the wire semaphore, so a crash can
        repeat at most `max_parallel_sends` messages: those sent, not yet recorded.
        """
        lease = timedelta(seconds=settings.lease_seconds)
        wire = self._wire_for(settings.max_parallel_sends)
        error: DeliveryError | None = None
        for attempt in range(1, settings.attempts_per_run + 1):
            blocked = limiter.blocked_for()
            if blocked > self.max_wait_in_run:
                return error or DeliveryError(
                    f"{channel.name}：机器人被限流，等待 {blocked:.0f} 秒 (robot blocked)",
                    transient=True,
                    retry_after=blocked,
                )
            stamp = await limiter.acquire()
            if attempt > 1:
                await self._db(self.ledger.renew, message.keys, self.wall(), lease)
                for key in message.keys:
                    attempts[key] = attempts.get(key, 0) + 1
            outcome.attempts += 1
            try:
                async with wire:
                    answer = await channel.send(client, message)
                    await on_sent(answer)
            except DeliveryError as exc:
                limiter.settle(stamp)
                error = exc
                if not exc.transient:
                    return exc
                if exc.retry_after:
                    limiter.block(self.clock() + exc.retry_after)
                delay = max(
                    exc.retry_after or 0.0,
                    backoff(
                        attempt, settings.retry_base_seconds, settings.retry_max_seconds, self.rng
                    ),
                )
                if attempt == settings.attempts_per_run or delay > self.max_wait_in_run:
                    return exc
                logger.info(
                    "%s：%s；%.1f 秒后重试 (retrying)", channel.name, _cause(channel, exc), delay
                )
                await self.sleep(delay)
                continue
            limiter.settle(stamp)
            outcome.messages += 1
            if outcome.first_sent_at is None:
                outcome.first_sent_at = self.clock()
            return answer
        assert error is not None
        return error


def _open_keys(messages: Sequence[Message], settled: Collection[str]) -> list[str]:
    """The deliveries these messages carry that have no outcome yet, each once, in order."""
    return list(dict.fromkeys(k for m in messages for k in m.keys if k not in settled))


def _entry(delivery: Delivery) -> Entry:
    reminder = delivery.reminder
    return Entry(
        delivery.key,
        reminder.subject,
        reminder.step,
        delivery.channel,
        reminder.unit,
        reminder.instant,
    )


def _cause(channel: Channel, error: DeliveryError) -> str:
    """The error's words for a log line that already names the channel: the message
    the ledger keeps starts with the channel's name too."""
    return error.message.removeprefix(f"{channel.name}：")
