"""Console speed: the board and a unit page for the shipped config with 100 schools
(targets: board < 200 ms, unit page < 50 ms), and the feeds' request rate through the
service's dispatcher before and after the console was added, in the same run.

1. Pages: the console's ASGI app in process (session, database reads, the board's
   computation, the template), logged in as a bureau account, over a ledger where
   60 % of what fell due before today is done (half of it late) and 5 % waived.
   Each page is asked for `--runs` times; the median and the fastest are printed.
2./3. Feeds: the same feed (a school's, ~85 kB, 8 kB gzipped) and its 304 through
   (a) the dispatcher as it was before the console (`RootApp` of the loop's
   feature: /act/ and /api/ tried first), (b) today's without a console and
   (c) today's with the console, each in its own uvicorn process, loaded by wrk
   (1 thread) in turn, `--rounds` times over (a b c a b c) to even out drift; and
   first, called in process (no sockets), where the dispatch's own cost shows.
4. Memory: the real service's RSS when idle, then after the board, a unit page and
   an export were viewed (the console is built on its first request).

    .venv/bin/python bench/console.py [--schools N] [--runs N] [--seconds N] [--rounds N]
                                      [--no-http]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from daemon import county_config, status_kb
from feeds import ensure_tools, free_port, load, wait_port
from reminders.closedloop import Loop, LoopStore, feed_marks, lookup
from reminders.closedloop.app import LoopApp, RootApp
from reminders.closedloop.keys import action_key, api_token
from reminders.config import load_config
from reminders.console import build_console
from reminders.console.accounts import Accounts
from reminders.console.auth import console_secret
from reminders.feeds import EmbeddedServer, FeedApp, FeedPublisher, feed_specs, server_config
from reminders.ledger import Ledger

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=ZONE)
PASSWORD = "bench-password-1"
GZIP = "Accept-Encoding: gzip"


def close_some(loop: Loop) -> int:
    """60 % of what fell due before today done (every other one late), 5 % waived."""
    plan = loop.plan
    today = NOW.date()
    changed = 0
    for i, o in enumerate(lookup.between(plan, plan.settings.start, today - timedelta(days=1))):
        bucket = i % 20
        if bucket < 12:
            late = bucket % 2
            when = datetime.combine(o.due + timedelta(days=3 * late), NOW.timetz())
            loop.store.apply(o.id, o.unit, "done", when, by="某老师", note="已完成", via="cli")
        elif bucket == 12:
            loop.store.apply(o.id, o.unit, "waive", NOW, by="督办科", note="停课", via="cli")
        else:
            continue
        changed += 1
    return changed


async def time_pages(
    app: Any, runs: int, school: str, change: Callable[[int], None], reload: Callable[[], None]
) -> dict[str, tuple[float, list[float], list[float]]]:
    """label → (the first request's time, the next requests' wall and CPU times)."""
    transport = httpx.ASGITransport(app=app)
    timings: dict[str, tuple[float, list[float], list[float]]] = {}
    cpu_times: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        page = await client.get("/console/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = {"name": "督办科", "password": PASSWORD, "csrf": csrf}
        assert (await client.post("/console/login", data=form)).status_code == 303

        async def timed(path: str) -> tuple[float, int]:
            start, cpu = time.perf_counter(), time.process_time()
            answer = await client.get(path)
            took = time.perf_counter() - start
            cpu_times.append(time.process_time() - cpu)  # every thread of this process
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
            return took, len(answer.content)

        paths = {
            "board (by month)": "/console/",
            "board (by quarter)": "/console/?by=quarter",
            f"unit page ({school})": f"/console/unit/{quote(school)}",
            "one occurrence": f"/console/item/{quote(f'4.4/{school}/2026-Q4')}",
            "history (first 100)": "/console/history",
        }
        for label, path in paths.items():
            first, size = await timed(path)
            cpu_times.clear()
            times = [(await timed(path))[0] for _ in range(runs)]
            timings[f"{label}, {size // 1024} kB"] = (first, times, list(cpu_times))
        changed = []
        cpu_times.clear()
        for i in range(5):
            change(i)  # a school marks something done: the states are read again
            changed.append((await timed("/console/"))[0])
        timings["board, first view after a state change"] = (changed[0], changed, list(cpu_times))
        reloaded = []
        cpu_times.clear()
        for _ in range(5):
            reload()  # a new plan object, as after a config reload: the board expands again
            reloaded.append((await timed("/console/"))[0])
        timings["board, first view after a config reload"] = (
            reloaded[0],
            reloaded,
            list(cpu_times),
        )
    return timings


def bench_pages(config_dir: Path, state: Path, runs: int) -> None:
    config = load_config(config_dir)
    plan = config.plan
    ledger = Ledger.open(f"sqlite:///{state / 'ledger.sqlite3'}")
    plans = [plan]
    loop = Loop(LoopStore.of(ledger), lambda: plans[-1])
    start = time.perf_counter()
    closed = close_some(loop)
    print(
        f"1. pages, shipped config + {len(plan.units) - 1} schools ({len(plan.duties)} duties), "
        f"{closed} occurrences closed ({time.perf_counter() - start:.1f} s to record), "
        f"today {NOW.date()}"
    )
    Accounts(ledger.engine, console_secret(action_key(state))).add(
        "督办科", "bureau", [], PASSWORD, NOW
    )
    app = build_console(loop, ledger.engine, state, action_key(state), lambda: NOW)
    school = plan.unit_names()[1]
    school_items = lookup.between(plan, NOW.date(), NOW.date() + timedelta(days=60), {school})

    def change(i: int) -> None:
        o = school_items[i]
        loop.store.apply(o.id, o.unit, "done", NOW, by="某老师", via="console")

    def reload() -> None:
        plans.append(load_config(config_dir).plan)

    timings = asyncio.run(time_pages(app, runs, school, change, reload))
    targets = {"board": 0.200, "unit page": 0.050}
    print(
        f"   {'':<42} {'first':>8} {'median':>8} {'fastest':>8} {'CPU':>8}   (first: in a "
        f"fresh process, templates compiled; then {runs} more (5 after a change/reload); "
        "CPU: median CPU time of the process, unaffected by other processes' load)"
    )
    for label, (first, times, cpus) in timings.items():
        target = next((t for k, t in targets.items() if label.startswith(k)), None)
        verdict = ""
        if target is not None:
            ok = statistics.median(times) < target
            verdict = f"   target < {target * 1000:.0f} ms: {'met' if ok else 'MISSED'}"
        print(
            f"   {label:<42} {first * 1000:5.1f} ms {statistics.median(times) * 1000:5.1f} ms "
            f"{min(times) * 1000:5.1f} ms {statistics.median(cpus) * 1000:5.1f} ms{verdict}"
        )
    ledger.close()


# -- 2. feeds through the dispatcher --------------------------------------------------------


class RootBefore:
    """The service's dispatcher before the console: /act/ and /api/ tried first, then the
    feeds (as on main before this change)."""

    def __init__(self, feeds: Any, loop: LoopApp) -> None:
        self.feeds = feeds
        self.loop = loop

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if LoopApp.handles(scope):
            await self.loop(scope, receive, send)
            return
        await self.feeds(scope, receive, send)


def serve_child(variant: str, port: int, config_dir: Path, state: Path) -> None:
    config = load_config(config_dir)
    plan = config.plan
    ledger = Ledger.open(f"sqlite:///{state / 'ledger.sqlite3'}")
    loop = Loop(LoopStore.of(ledger), lambda: plan)
    publisher = FeedPublisher(state)
    publisher.publish(plan, NOW, completed=feed_marks(loop.store.closed()), render_all=True)
    key = action_key(state)
    loop_app = LoopApp(loop, key, api_token(state), lambda: NOW)
    feeds = FeedApp(publisher.store)
    app: Callable[..., Any]
    if variant == "before":
        app = RootBefore(feeds, loop_app)
    elif variant == "no-console":
        app = RootApp(feeds, loop_app)
    else:
        app = RootApp(feeds, loop_app, build_console(loop, ledger.engine, state, key, lambda: NOW))
    server = EmbeddedServer(server_config(app, "127.0.0.1", port))
    asyncio.run(server.serve())


def dispatch_in_process(config_dir: Path, state: Path, path: str, calls: int = 100_000) -> None:
    """µs per feed request through each dispatcher, called directly (no sockets): the
    dispatch's own cost, without the load generator's noise."""
    plan = load_config(config_dir).plan
    ledger = Ledger.open(f"sqlite:///{state / 'ledger.sqlite3'}")
    loop = Loop(LoopStore.of(ledger), lambda: plan)
    publisher = FeedPublisher(state)
    publisher.publish(plan, NOW, render_all=True)  # every request below a cache hit
    key = action_key(state)
    loop_app = LoopApp(loop, key, api_token(state), lambda: NOW)
    feeds = FeedApp(publisher.store)
    apps: dict[str, Any] = {
        "the feed app alone (no dispatcher)": feeds,
        VARIANTS["before"]: RootBefore(feeds, loop_app),
        VARIANTS["no-console"]: RootApp(feeds, loop_app),
        VARIANTS["console"]: RootApp(
            feeds, loop_app, build_console(loop, ledger.engine, state, key, lambda: NOW)
        ),
    }
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "headers": [(b"accept-encoding", b"gzip")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    async def run(app: Any, count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            await app(scope, receive, send)
        return (time.perf_counter() - start) / count

    async def rounds() -> dict[str, float]:
        best = dict.fromkeys(apps, float("inf"))
        for _ in range(10):  # interleaved, so drift and others' load hit every variant alike
            for label, app in apps.items():
                best[label] = min(best[label], await run(app, calls // 10))
        return best

    print(f"2. a feed request (gzip 200) dispatched in process, {calls:,} calls each, best of 10:")
    best = asyncio.run(rounds())
    base = best["the feed app alone (no dispatcher)"]
    for label, took in best.items():
        print(f"   {label:<44} {took * 1e6:6.2f} µs ({100 * took / base:.0f}%)")
    ledger.close()


VARIANTS = {
    "before": "before: /act/ and /api/ first, no console",
    "no-console": "now, console off (console.enabled: false)",
    "console": "now, with the console",
}


def bench_feeds(config_dir: Path, state: Path, seconds: int, connections: int, rounds: int) -> None:
    ensure_tools()
    plan = load_config(config_dir).plan
    spec = next(s for s in feed_specs(plan) if s.kind == "unit" and s.name != "教育局")
    publisher = FeedPublisher(state)
    feed = publisher.publish(plan, NOW, render_all=True)[spec.slug]
    path = f"/feeds/{publisher.tokens[spec.key]}/{quote(spec.filename)}"
    dispatch_in_process(config_dir, state, path)
    tool = "wrk (1 thread)" if os.path.exists("/usr/bin/wrk") else "a Python asyncio client"
    print(
        f"3. feed requests/s, loopback, {connections} connections, {seconds} s each, "
        f"load from {tool}; feed {spec.name}: {feed.size // 1024} kB, "
        f"{len(feed.gzipped) // 1024} kB gzipped"
    )
    results: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for variant in VARIANTS:
            port = free_port()
            child = subprocess.Popen(
                [sys.executable, __file__, "--serve-child", variant, str(port),
                 str(config_dir), str(state)],
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                wait_port(port, child)
                url = f"http://127.0.0.1:{port}{path}"
                etag = httpx.get(url, headers={"Accept-Encoding": "identity"}).headers["etag"]
                load(url, 1, connections, GZIP)  # warm up
                full = load(url, seconds, connections, GZIP)
                cond = load(url, seconds, connections, f"If-None-Match: {etag}")
                results[variant].append((full, cond))
            finally:
                child.terminate()
                child.wait(10)
    base_full = statistics.mean(r[0] for r in results["before"])
    base_304 = statistics.mean(r[1] for r in results["before"])
    for variant, label in VARIANTS.items():
        full = statistics.mean(r[0] for r in results[variant])
        cond = statistics.mean(r[1] for r in results[variant])
        print(
            f"   {label:<44} gzip 200: {full:8.0f}/s ({100 * full / base_full:3.0f}%)   "
            f"304: {cond:8.0f}/s ({100 * cond / base_304:3.0f}%)"
        )


def bench_memory(config_dir: Path, state: Path, idle: float) -> None:
    import socket

    port = free_port()
    notify = state.parent / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    sock.settimeout(120)
    argv = [sys.executable, "-m", "reminders", "--config", str(config_dir), "run",
            "--state-dir", str(state), "--listen", f"127.0.0.1:{port}",
            "--log-level", "WARNING", "--now", NOW.strftime("%Y-%m-%dT%H:%M")]  # fmt: skip
    env = {**os.environ, "NOTIFY_SOCKET": str(notify)}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while b"READY=1" not in sock.recv(65536):
            pass
        time.sleep(idle)
        before = status_kb(proc.pid, "VmRSS")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            page = client.get("/console/login")
            csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            form = {"name": "督办科", "password": PASSWORD, "csrf": csrf}
            assert client.post("/console/login", data=form).status_code == 303
            school = load_config(config_dir).plan.unit_names()[1]
            steps = []
            for label, path in (
                ("the board", "/console/"),
                ("a unit page", f"/console/unit/{quote(school)}"),
                ("an export of the year", "/console/export.xlsx"),
            ):
                assert client.get(path).status_code == 200, path
                time.sleep(idle)
                steps.append(f"{label} {status_kb(proc.pid, 'VmRSS') / 1024:.1f} MB")
    finally:
        proc.terminate()
        proc.wait(30)
        sock.close()
    print(
        f"4. the service's RSS: idle {before / 1024:.1f} MB (console not yet built); "
        f"then after {', '.join(steps)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="a b c, this many times over")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before RSS")
    parser.add_argument("--only-memory", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_child:
        variant, port, config_dir, state = args.serve_child
        serve_child(variant, int(port), Path(config_dir), Path(state))
        return
    import logging

    logging.getLogger("reminders.feeds").setLevel(logging.ERROR)
    load_avg = os.getloadavg()[0]
    print(
        f"console bench, {os.cpu_count()} CPUs, load average {load_avg:.2f} at start, "
        f"Python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = county_config(Path(tmp) / "config", args.schools)
        state = Path(tmp) / "state"
        if args.only_memory:
            loop = Loop(LoopStore.of(Ledger.open(f"sqlite:///{state / 'ledger.sqlite3'}")),
                        lambda: load_config(config_dir).plan)  # fmt: skip
            close_some(loop)
            Accounts(loop.store.engine, console_secret(action_key(state))).add(
                "督办科", "bureau", [], PASSWORD, NOW
            )
            bench_memory(config_dir, state, args.idle)
            return
        bench_pages(config_dir, state, args.runs)
        if not args.no_http:
            bench_feeds(config_dir, state, args.seconds, args.connections, args.rounds)
        bench_memory(config_dir, state, args.idle)


if __name__ == "__main__":
    main()
