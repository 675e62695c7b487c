"""Daemon footprint: time from start to READY and idle RSS, shipped config + 100 schools.

Baselines measured in the same run: a bare `python -c "import <dependencies>"`
(time and RSS). Target: idle RSS < 80 MB, read after start-up and again after
every feed has been fetched once with gzip and once without.

    .venv/bin/python bench/daemon.py [--schools N] [--runs N]
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


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


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


def fetch_every_feed(config: Path, state: Path, port: int) -> None:
    """GET each feed as a calendar app does (gzip) and as a plain client does."""
    specs = feed_specs(load_config(config).plan)
    tokens = load_tokens(state, [spec.key for spec in specs])
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for spec in specs:
            path = f"/feeds/{tokens[spec.key]}/{quote(spec.filename)}"
            for encoding in ("gzip", "identity"):
                client.get(path, headers={"Accept-Encoding": encoding}).raise_for_status()


def daemon_run(config: Path, state: Path, idle: float) -> tuple[float, int, int]:
    sock_path = state.parent / "notify.sock"
    sock_path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(60)
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
        time.sleep(idle)
        rss = rss_kb(proc.pid)
        fetch_every_feed(config, state, port)
        time.sleep(idle)
        served = rss_kb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
        sock.close()
    return ready, rss, served


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before reading RSS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = county_config(Path(tmp) / "config", args.schools)
        plan = load_config(config).plan
        imports = [bare_imports() for _ in range(args.runs)]
        runs = []
        for _ in range(args.runs):
            # the first run builds the feeds' history and the ledger: a cold start
            runs.append(daemon_run(config, Path(tmp) / "state", args.idle))
    import_time = statistics.median(t for t, _ in imports)
    import_rss = statistics.median(r for _, r in imports)
    cold_ready, cold_rss, _ = runs[0]
    warm = runs[1:] or runs
    ready = statistics.median(t for t, _, _ in warm)
    rss = statistics.median(r for _, r, _ in warm)
    served = statistics.median(s for _, _, s in warm)
    print(
        f"shipped config + {args.schools} schools "
        f"({len(plan.units)} units, {len(plan.duties)} duties, {len(feed_specs(plan))} feeds)"
    )
    print(f"bare import of the dependencies: {import_time:.2f} s, {import_rss / 1024:.0f} MB RSS")
    print(
        f"start to READY: cold {cold_ready:.2f} s, warm {ready:.2f} s "
        f"({ready / import_time:.1f}x the bare import)"
    )
    verdict = "met" if max(rss, served) < 80 * 1024 else "MISSED"
    print(
        f"idle RSS after {args.idle:.0f} s: {rss / 1024:.1f} MB "
        f"(cold run {cold_rss / 1024:.1f} MB); "
        f"after serving every feed twice (gzip, plain): {served / 1024:.1f} MB"
    )
    print(f"target < 80 MB: {verdict}")
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
