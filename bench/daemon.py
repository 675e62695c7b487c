"""Daemon footprint: start to READY and idle RSS, shipped config + N schools.

For each number of schools (`--schools 100 2000`): the real service on the
shipped table with the bureau and N schools (no robots: reminders go to the
log), started `--runs` times on one state directory (the first start is cold:
no ledger, feed history or tokens yet, and it computes the week's report).
Figures: time from exec to READY=1 on a real NOTIFY_SOCKET; RSS once the
service is idle (its CPU time stopped growing: the first delivery run and the
week's report are done) plus `--idle` seconds; RSS after every feed was fetched
once by a calendar app (gzip) and once by a plain client, and how long the
first request of each took (it renders the feed). Baseline in the same run: a
bare `python -c "import <dependencies>"` (time and RSS). With two or more
numbers of schools, the cost per school between the smallest and the largest.

Targets: 100 schools no worse than before (1.1 s, 74 MB; idle < 80 MB);
2,000 schools READY < 5 s, idle RSS < 150 MB, < 250 MB after every feed was
fetched.

    .venv/bin/python bench/daemon.py [--schools 100 2000] [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from ruamel.yaml import YAML

from reminders.config import load_config
from reminders.feeds import feed_specs, load_tokens

ROOT = Path(__file__).resolve().parent.parent
DEPENDENCIES = "pydantic, sqlalchemy, httpx, uvicorn, apscheduler, ruamel.yaml, " + (
    "chinese_calendar, dateutil"
)
TICKS = os.sysconf("SC_CLK_TCK")


def county_config(target: Path, schools: int) -> Path:
    shutil.copytree(ROOT / "config", target)
    units = [{"name": "教育局", "channels": []}]
    units += [
        {"name": f"第{i:03d}学校", "groups": ["各校"], "supervisor": "教育局", "channels": []}
        for i in range(1, schools + 1)
    ]
    with (target / "units.yaml").open("w", encoding="utf-8") as out:
        YAML().dump({"units": units}, out)
    return target


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def wait_idle(pid: int, limit: float = 300.0) -> float:
    """Wait until the process used < 2% of a CPU for 2 s; return how long that took."""
    start = time.perf_counter()
    used = cpu_seconds(pid)
    while time.perf_counter() - start < limit:
        time.sleep(2)
        now = cpu_seconds(pid)
        if now - used < 0.04:
            break
        used = now
    return time.perf_counter() - start


def bare_imports() -> tuple[float, int]:
    peak = "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss"
    code = f"import resource, {DEPENDENCIES}; print({peak})"
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return time.perf_counter() - start, int(out.stdout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch_every_feed(config: Path, state: Path, port: int) -> list[float]:
    """GET each feed as a calendar app does (gzip) and as a plain client does; the
    seconds each first request took."""
    specs = feed_specs(load_config(config).plan)
    tokens = load_tokens(state, [spec.key for spec in specs])
    first: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for spec in specs:
            path = f"/feeds/{tokens[spec.key]}/{quote(spec.filename)}"
            for encoding in ("gzip", "identity"):
                start = time.perf_counter()
                client.get(path, headers={"Accept-Encoding": encoding}).raise_for_status()
                if encoding == "gzip":
                    first.append(time.perf_counter() - start)
    return first


@dataclass
class Run:
    ready: float
    ready_cpu: float  # CPU seconds the service used until READY (less at the mercy of load)
    settle: float  # seconds from READY until idle
    idle_kb: int
    served_kb: int
    peak_kb: int
    first_requests: list[float]


def daemon_run(config: Path, state: Path, idle: float) -> Run:
    sock_path = state.parent / "notify.sock"
    sock_path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(120)
    env = {**os.environ, "NOTIFY_SOCKET": str(sock_path)}
    argv = [sys.executable, "-m", "reminders", "--config", str(config), "run"]
    port = free_port()
    argv += ["--state-dir", str(state), "--listen", f"127.0.0.1:{port}", "--log-level", "WARNING"]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while b"READY=1" not in sock.recv(65536):
            pass
        ready = time.perf_counter() - start
        ready_cpu = cpu_seconds(proc.pid)
        settle = wait_idle(proc.pid)
        time.sleep(idle)
        rss = status_kb(proc.pid, "VmRSS")
        first = fetch_every_feed(config, state, port)
        time.sleep(idle)
        served = status_kb(proc.pid, "VmRSS")
        peak = status_kb(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        proc.wait(30)
        sock.close()
    return Run(ready, ready_cpu, settle, rss, served, peak, first)


@dataclass
class Result:
    schools: int
    units: int
    feeds: int
    cold: Run
    ready: float
    ready_cpu: float
    idle: float  # MB
    served: float  # MB
    first_median: float
    first_max: float


def measure(schools: int, runs: int, idle: float) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        config = county_config(Path(tmp) / "config", schools)
        plan = load_config(config).plan
        done = [daemon_run(config, Path(tmp) / "state", idle) for _ in range(runs)]
    warm = done[1:] or done
    first = [t for run in warm for t in run.first_requests]
    return Result(
        schools,
        len(plan.units),
        len(feed_specs(plan)),
        done[0],
        statistics.median(r.ready for r in warm),
        statistics.median(r.ready_cpu for r in warm),
        statistics.median(r.idle_kb for r in warm) / 1024,
        statistics.median(r.served_kb for r in warm) / 1024,
        statistics.median(first),
        max(first),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, nargs="+", default=[100])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before reading RSS")
    args = parser.parse_args()
    imports = [bare_imports() for _ in range(3)]
    import_time = statistics.median(t for t, _ in imports)
    import_rss = statistics.median(r for _, r in imports) / 1024
    print(
        f"daemon bench, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
        f"bare import of the dependencies: {import_time:.2f} s, {import_rss:.0f} MB RSS"
    )
    results = [measure(n, args.runs, args.idle) for n in sorted(args.schools)]
    print(
        f"  {'schools':>7} {'units':>5} {'feeds':>5} | {'READY':>7} {'CPU':>7} {'cold':>7} | "
        f"{'idle RSS':>8} {'cold':>8} {'settled':>7} | {'fetched':>8} {'peak':>7} | "
        "first request median / max"
    )
    for r in results:
        c = r.cold
        print(
            f"  {r.schools:>7} {r.units:>5} {r.feeds:>5} | {r.ready:>5.2f} s {r.ready_cpu:>5.2f} s "
            f"{c.ready:>5.2f} s | "
            f"{r.idle:>5.1f} MB {c.idle_kb / 1024:>5.1f} MB {c.settle:>5.0f} s | "
            f"{r.served:>5.1f} MB {c.peak_kb / 1024:>4.0f} MB | "
            f"{r.first_median * 1000:.0f} / {r.first_max * 1000:.0f} ms"
        )
    print("  (READY, idle and fetched: warm starts, median; CPU: the CPU time the service used")
    print("  until READY; cold: the first start, on an empty state directory; settled: READY")
    print("  until the first delivery run and report were done; peak: the cold start's VmHWM)")
    if len(results) > 1:
        small, large = results[0], results[-1]
        span = large.schools - small.schools
        print(
            f"  per school ({small.schools} -> {large.schools}): "
            f"READY {(large.ready - small.ready) / span * 1000:.2f} ms "
            f"({(large.ready_cpu - small.ready_cpu) / span * 1000:.2f} ms of CPU), "
            f"idle RSS {(large.idle - small.idle) / span * 1024:.1f} kB, "
            f"after every feed was fetched {(large.served - small.served) / span * 1024:.1f} kB"
        )
    for r in results:
        if r.schools >= 2000:
            ok = r.ready < 5 and r.idle < 150 and r.served < 250
            targets = "READY < 5 s, idle < 150 MB, fetched < 250 MB"
        else:
            ok = r.ready < 1.2 and r.idle < 80 and r.served < 80
            targets = "no worse than before: READY ~1.1 s, idle < 80 MB"
        print(f"  {r.schools} schools: {targets}: {'met' if ok else 'MISSED'}")
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
