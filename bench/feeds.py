"""Feed speed: each figure beside a baseline measured in the same run.

1. Build a 1,000-event feed (cold: every event rendered) against icalendar
   building and serialising the same events itself (target: no slower).
2. The shipped config with N schools (`--schools 100 2000`): what the service
   does before READY (take the plan: no feed rendered), every feed rendered
   cold as `feeds build` does (target < 3 s with 100 schools), against the
   naive way (expand, then icalendar for every feed; up to 200 schools); the
   size of the 各校 and all feeds (target: the same whatever the schools,
   < 1,000 events); a feed's first request, which renders it (target < 50 ms
   for a unit's).
3. Rebuild after one duty changes (target < 0.2 s): the service takes the new
   plan and renders the group feeds, the other feeds that show the duty wait
   for their next request; against the cold rebuild.
4. Requests/s for a cached ~500 kB feed, to clients that accept gzip (as
   calendar apps do) and to clients that do not, and for its 304, over
   loopback, against nginx (one worker) serving the same bytes from a file
   (gzip_static for the gzip clients) (target: >= 50% of nginx for full
   responses). Installs nginx and wrk with apt-get
   if missing; loopback only, fixed durations.

    .venv/bin/python bench/feeds.py [--schools N ...] [--seconds N] [--connections N] [--no-http]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar

from reminders.config import Config, load_config
from reminders.core.expand import expand
from reminders.core.model import Unit
from reminders.core.occurrence import KIND_LABELS, Occurrence
from reminders.core.plan import Plan, compile_plan
from reminders.feeds import FeedBuilder, FeedSpec, History, feed_specs, feed_window, render
from reminders.feeds.builder import Feed, compress, etag_of
from reminders.feeds.render import CALENDAR_TAIL, calendar_head, event_chunk, render_event

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
TOKEN = "benchbenchbenchbenchbenchbench01"
GZIP = "Accept-Encoding: gzip"


def best(runs: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def county(config: Config, schools: int) -> Plan:
    units = [config.units.units[0]] + [
        Unit(name=f"第{i}学校", groups=["各校"], supervisor="教育局") for i in range(1, schools + 1)
    ]
    return compile_plan(config.settings, units, config.calendar, config.duties.duties)


def row(label: str, ours: float, base: float, base_label: str, unit: str = "s") -> None:
    if unit == "s":
        print(f"  {label:<44} {ours:9.3f} s   {base_label:<34} {base:9.3f} s   x{base / ours:.1f}")
    else:
        print(
            f"  {label:<44} {ours:9.0f} {unit}   {base_label:<34} {base:9.0f} {unit}   "
            f"{100 * ours / base:.0f}%"
        )


# -- 1. one 1,000-event feed ----------------------------------------------------


def icalendar_feed(plan: Plan, spec: FeedSpec, occurrences: list[Occurrence]) -> bytes:
    """The same events through icalendar's object model."""
    settings = plan.settings
    duties = {c.duty.id: c.duty for c in plan.duties}
    cal = icalendar.Calendar()
    cal.add("prodid", "-//reminders//calendar feeds//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.calendar_name = spec.title
    cal.add("x-wr-timezone", settings.timezone)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    cal.add_component(icalendar.Timezone.from_tzid(settings.timezone))
    for o in occurrences:
        duty = duties[o.duty]
        event = icalendar.Event()
        event.add("uid", f"{o.id}@{settings.feeds.uid_domain}")
        event.add("dtstamp", NOW)
        event.add("last-modified", NOW)
        event.add("sequence", 0)
        event.add("dtstart", o.start or o.due)
        event.add("dtend", o.due + timedelta(days=1))
        event.add("summary", f"【{KIND_LABELS[o.kind]}】{o.unit}：{o.title}（{o.label}）")
        event.add("description", f"{duty.text}\n\n编号：{duty.id}\n措施：{duty.measure}")
        event.add("categories", [duty.section or "", KIND_LABELS[o.kind]])
        event.add("status", "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        for days in (7, 3, 0):
            alarm = icalendar.Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("trigger", timedelta(days=-days - 1, hours=9), parameters={"RELATED": "END"})
            alarm.add("description", "安全生产任务提醒")
            event.add_component(alarm)
        cal.add_component(event)
    return bytes(cal.to_ical())


def ours_feed(plan: Plan, spec: FeedSpec, occurrences: list[Occurrence]) -> bytes:
    render._ALARMS.clear()  # cold: nothing memoised from an earlier run
    duties = {c.duty.id: c.duty for c in plan.duties}
    chunks = [
        event_chunk(render_event(o, duties[o.duty], plan.settings, plan.calendar), 0, NOW)
        for o in occurrences
    ]
    return b"".join((calendar_head(spec, plan.settings), *chunks, CALENDAR_TAIL))


def bench_one_feed(plan: Plan, runs: int) -> None:
    window = feed_window(plan.settings, TODAY)
    occurrences = expand(plan, window)[:1000]
    spec = next(s for s in feed_specs(plan) if s.kind == "all")
    ours = ours_feed(plan, spec, occurrences)
    theirs = icalendar_feed(plan, spec, occurrences)
    assert len(icalendar.Calendar.from_ical(ours).walk("VEVENT")) == 1000
    t_ours = best(runs, lambda: ours_feed(plan, spec, occurrences))
    t_lib = best(runs, lambda: icalendar_feed(plan, spec, occurrences))
    print(f"1. one feed of 1,000 events (ours {len(ours)} B, icalendar {len(theirs)} B)")
    row("reminders render (cold, no cache)", t_ours, t_lib, "icalendar build + to_ical")


# -- 2./3. every feed of a county ---------------------------------------------------


def naive_rebuild(plan: Plan) -> int:
    window = feed_window(plan.settings, TODAY)
    size = 0
    for spec in feed_specs(plan):
        occurrences = expand(plan, window, set(spec.units))[:1000]
        size += len(icalendar_feed(plan, spec, occurrences))
    return size


def retitle(config: Config, plan: Plan, duty_id: str, title: str) -> Plan:
    duties = [
        d.model_copy(update={"title": title}) if d.id == duty_id else d
        for d in config.duties.duties
    ]
    return compile_plan(config.settings, list(plan.units), config.calendar, duties)


def bench_county(config: Config, schools: int, runs: int) -> None:
    plan = county(config, schools)
    holder: dict[str, Any] = {}

    def publish() -> None:
        render._ALARMS.clear()
        builder = FeedBuilder(History())
        builder.update(plan, TODAY, NOW)
        holder["builder"] = builder

    def cold() -> None:
        render._ALARMS.clear()
        holder["feeds"] = FeedBuilder(History()).build(plan, TODAY, NOW)

    t_publish = best(runs, publish)
    t_cold = best(runs, cold)
    feeds: dict[str, Feed] = holder["feeds"]
    events = sum(f.events for f in feeds.values())
    size = sum(f.size for f in feeds.values())
    held = sum(len(f.gzipped) for f in feeds.values())
    bodies = [f.body for f in feeds.values()]
    t_gzip = best(runs, lambda: [compress(body) for body in bodies])
    print(
        f"2. the shipped config with {schools} schools: {len(feeds)} feeds, "
        f"{events} events, {size / 1e6:.1f} MB, held as {held / 1e6:.2f} MB of gzip"
    )
    print(f"   take the plan (what the service does before READY): {t_publish:.3f} s")
    if schools <= 200:
        t_naive = best(1, lambda: naive_rebuild(plan))
        row(
            "every feed rendered, cold (target < 3 s)",
            t_cold,
            t_naive,
            "expand + icalendar per feed",
        )
    else:
        print(f"   every feed rendered, cold (`feeds build`): {t_cold:.3f} s")
    print(f"   of which gzip of every feed {t_gzip:.3f} s")
    small = FeedBuilder(History()).build(county(config, 3), TODAY, NOW)
    for slug in ("各校", "all"):
        feed = feeds[slug]
        print(
            f"   {slug}: {feed.events} events, {feed.size:,} bytes, {feed.dropped} left out "
            f"(3 schools: {small[slug].events} events, {small[slug].size:,} bytes); "
            "target < 1,000 events whatever the schools"
        )
    with tempfile.TemporaryDirectory() as tmp:
        history = History.load(Path(tmp))
        FeedBuilder(history).build(plan, TODAY, NOW)
        t_save = best(1, history.save)
        from reminders.feeds import write_feeds

        t_write = best(1, lambda: write_feeds(Path(tmp) / "cal", feeds))
        t_same = best(runs, lambda: write_feeds(Path(tmp) / "cal", feeds))
        history.close()
    print(
        f"   + save history {t_save:.3f} s; write all files {t_write:.3f} s "
        f"(unchanged: {t_same:.3f} s)"
    )
    bench_first_request(plan)

    print("3. rebuild after one duty changes")
    for duty_id, who in (("4.5", "教育局 only"), ("1.3", f"教育局 + {schools} schools")):
        lazy, eager = [], []
        for i in range(runs):
            builder = FeedBuilder(History())
            builder.build(plan, TODAY, NOW)
            changed = retitle(config, plan, duty_id, f"改过的标题{i}")
            start = time.perf_counter()
            builder.update(changed, TODAY, NOW + timedelta(hours=1))
            dropped = len(feeds) - len(builder.rendered())
            groups = [s.slug for s in builder.specs if s.kind != "unit"]
            for slug in groups:  # the service renders the group feeds at their next request
                builder.feed(slug, NOW + timedelta(hours=1))
            lazy.append(time.perf_counter() - start)
            builder.build(changed, TODAY, NOW + timedelta(hours=1))
            eager.append(time.perf_counter() - start)
        row(f"duty {duty_id} ({who}): the service", min(lazy), t_cold, "cold, every feed")
        print(
            f"     ({dropped} feeds to render again when asked; the group feeds rendered; "
            f"every one of them now, as `feeds build` does: {min(eager):.3f} s)"
        )


def bench_first_request(plan: Plan) -> None:
    """A feed's first request renders it: the time per unit feed, and per group feed."""
    builder = FeedBuilder(History())
    builder.update(plan, TODAY, NOW)
    units = [s.slug for s in builder.specs if s.kind == "unit"]
    sample = units[:: max(1, len(units) // 50)]
    times = []
    for slug in sample:
        start = time.perf_counter()
        builder.feed(slug, NOW)
        times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    groups = []
    for slug in ("各校", "all"):
        start = time.perf_counter()
        builder.feed(slug, NOW)
        groups.append(f"{slug} {(time.perf_counter() - start) * 1000:.0f} ms")
    print(
        f"   a unit feed's first request renders it: median {median * 1000:.1f} ms, "
        f"max {times[-1] * 1000:.1f} ms over {len(sample)} units (target < 50 ms); "
        f"{', '.join(groups)}"
    )


# -- 4. HTTP ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def ensure_tools() -> None:
    missing = [tool for tool in ("nginx", "wrk") if shutil.which(tool) is None]
    if missing and shutil.which("apt-get") and os.geteuid() == 0:
        print(f"   installing {' '.join(missing)} with apt-get …", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "install", "-y", "-q", *missing],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )


def nginx_conf(root: Path, port: int) -> Path:
    conf = root / "nginx.conf"
    user = "user root root;" if os.geteuid() == 0 else ""
    conf.write_text(
        f"""{user}
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    types {{ text/calendar ics; }}
    server {{
        listen 127.0.0.1:{port};
        location /feeds/{TOKEN}/ {{ alias {root}/www/; gzip_static on; gzip_vary on; }}
    }}
}}
"""
    )
    return conf


def wrk(url: str, seconds: int, connections: int, header: str | None) -> float:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if header:
        cmd += ["-H", header]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if errors:
        raise RuntimeError(f"wrk reported errors for {url}:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match[1])


async def _python_load(
    host: str, port: int, path: str, header: str | None, seconds: float, connections: int
) -> int:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
    request += (header + "\r\n" if header else "") + "\r\n"
    data = request.encode()
    stop = time.monotonic() + seconds
    done = 0

    async def client() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, port)
        while time.monotonic() < stop:
            writer.write(data)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.1 304")):
                raise RuntimeError(head[:100])
            match = re.search(rb"(?i)content-length: *(\d+)", head)
            if match and not head.startswith(b"HTTP/1.1 304"):
                await reader.readexactly(int(match[1]))
            done += 1
        writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    return done


def load(url: str, seconds: int, connections: int, header: str | None) -> float:
    if shutil.which("wrk"):
        return wrk(url, seconds, connections, header)
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert match
    count = asyncio.run(
        _python_load(match[1], int(match[2]), match[3], header, seconds, connections)
    )
    return count / seconds


def serve_child(port: int, path: str) -> None:
    """Child process: serve one feed file with the real server stack."""
    from reminders.feeds import EmbeddedServer, FeedApp, FeedStore, server_config

    body = Path(path).read_bytes()
    spec = FeedSpec("all", "all", "全部", "all", frozenset())
    feed = Feed(spec, compress(body), len(body), etag_of(body), NOW, 0, TODAY, TODAY)
    store = FeedStore()
    store.update({"all": feed}, {"all": TOKEN})
    server = EmbeddedServer(server_config(FeedApp(store), "127.0.0.1", port))
    asyncio.run(server.serve())


def head_etag(url: str) -> str:
    import httpx

    # the plain representation's: the 304 runs send no Accept-Encoding
    headers = {"Accept-Encoding": "identity"}
    return httpx.head(url, headers=headers).raise_for_status().headers["etag"]


def measure(
    port: int, server: subprocess.Popen[bytes], seconds: int, connections: int
) -> tuple[float, float, float]:
    """Requests/s for the feed in full, gzipped and as a 304, once the server is up."""
    wait_port(port, server)
    url = f"http://127.0.0.1:{port}/feeds/{TOKEN}/all.ics"
    etag = head_etag(url)
    load(url, 1, connections, None)  # warm up
    return (
        load(url, seconds, connections, None),
        load(url, seconds, connections, GZIP),
        load(url, seconds, connections, f"If-None-Match: {etag}"),
    )


def bench_http(config: Config, seconds: int, connections: int) -> None:
    # a feed of about 430 kB (what the all feed of ten schools was before group feeds
    # summarised): the first 313 events of ten schools
    plan = county(config, 10)
    spec = next(s for s in feed_specs(plan) if s.kind == "all")
    body = ours_feed(plan, spec, expand(plan, feed_window(plan.settings, TODAY))[:313])
    assert 400_000 < len(body) < 460_000, len(body)
    feed = Feed(spec, compress(body), len(body), etag_of(body), NOW, 313, TODAY, TODAY)
    ensure_tools()
    tool = "wrk (1 thread)" if shutil.which("wrk") else "a Python asyncio client"
    print(
        f"4. HTTP, loopback, {connections} connections, {seconds} s each, load from {tool}; "
        f"feed of {len(feed.body)} bytes"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "www").mkdir()
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (root / sub).mkdir()
        (root / "www" / "all.ics").write_bytes(feed.body)
        (root / "www" / "all.ics.gz").write_bytes(feed.gzipped)
        os.chmod(root, 0o755)
        results: dict[str, tuple[float, float, float]] = {}
        port = free_port()
        ours = subprocess.Popen(
            [sys.executable, __file__, "--serve-child", str(port), str(root / "www" / "all.ics")]
        )
        try:
            results["reminders (uvicorn+httptools, 1 process)"] = measure(
                port, ours, seconds, connections
            )
        finally:
            ours.terminate()
            ours.wait(10)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            print("   nginx not available: no baseline")
            for name, (full, gzipped, cond) in results.items():
                print(f"  {name}: {full:.0f} full/s, {gzipped:.0f} gzip/s, {cond:.0f} 304/s")
            return
        port = free_port()
        proc = subprocess.Popen(
            [nginx, "-c", str(nginx_conf(root, port))], stderr=subprocess.DEVNULL
        )
        try:
            base = measure(port, proc, seconds, connections)
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"   gzip: {len(feed.gzipped)} bytes on the wire instead of {len(feed.body)}")
    for name, (full, gzipped, cond) in results.items():
        row(f"{name}: full 200", full, base[0], "nginx 1 worker, sendfile", "req/s")
        row(f"{name}: gzip 200", gzipped, base[1], "nginx 1 worker, gzip_static", "req/s")
        row(f"{name}: 304", cond, base[2], "nginx 1 worker", "req/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--schools", type=int, nargs="+", default=[100])
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--serve-child", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_child:
        serve_child(int(args.serve_child[0]), args.serve_child[1])
        return
    import logging

    logging.getLogger("reminders.feeds").setLevel(logging.ERROR)  # cut warnings expected
    config = load_config(ROOT / "config")
    print(
        f"feeds bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}, icalendar {icalendar.__version__}"
    )
    print(f"  {'':<44} {'ours':>11}   {'baseline':<34} {'':>11}   ratio")
    bench_one_feed(county(config, 100), args.runs)
    for schools in args.schools:
        bench_county(config, schools, args.runs)
    if not args.no_http:
        bench_http(config, args.seconds, args.connections)


if __name__ == "__main__":
    main()
