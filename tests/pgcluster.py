"""A throwaway PostgreSQL server for tests, run from the binaries in the `pgserver` wheel.

PostgreSQL refuses to run as root. pgserver's own `PostgresServer` then `useradd`s a
`pgserver` account and opens every folder above its data and binaries to all users;
a test must not change the machine like that. Here, as root, initdb and the server run
as the existing unprivileged `nobody`, with their data in a fresh folder under the
temporary directory, and from a private copy of the binaries when `nobody` cannot
reach the installed ones (a checkout under /root). As any other user they simply run
as that user. The server listens on 127.0.0.1 only (no Unix socket), without fsync.
"""

from __future__ import annotations

import ctypes
import importlib.util
import itertools
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import URL

SUPERUSER = "postgres"
START_TIMEOUT = 60.0
_PR_SET_PDEATHSIG = 1


class ServerError(RuntimeError):
    """The test server could not be set up: the message says why."""


@dataclass
class PostgresServer:
    base: Path
    port: int
    process: subprocess.Popen[bytes]
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str, user: str = SUPERUSER, password: str | None = None) -> str:
        url = URL.create("postgresql+psycopg", user, password, "127.0.0.1", self.port, database)
        return url.render_as_string(hide_password=False)

    def execute(self, *statements: str, database: str = "postgres") -> None:
        """Run statements as the superuser, each in its own transaction (autocommit)."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, autocommit=True
        ) as conn:
            for statement in statements:
                conn.execute(statement.encode())

    def create_database(self, owner: str = SUPERUSER) -> str:
        """A new empty database; its name."""
        name = f"test_{next(self._names)}"
        self.execute(f'CREATE DATABASE {name} OWNER "{owner}"')
        return name

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: ends open sessions
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def start_server() -> PostgresServer:
    """initdb and start a server; raise ServerError with the reason when that fails."""
    runner = _Runner.current()
    base = Path(tempfile.mkdtemp(prefix="reminders-pg-"))
    try:
        base.chmod(0o755)
        runner.check_reachable(base)
        install = runner.usable_install(_installed(), base)
        data = base / "data"
        data.mkdir(mode=0o700)
        runner.give(data)
        runner.run([str(install / "bin" / "initdb"), *_INITDB, "-D", str(data)], base)
        (data / "pg_hba.conf").write_text(_HBA, encoding="utf-8")
        return _start(runner, install, base, data)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


_INITDB = ["-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]

# The superuser connects without a password; every other role needs its password.
_HBA = f"host all {SUPERUSER} 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"

_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "deadlock_timeout": "200ms",
}


def _installed() -> Path:
    spec = importlib.util.find_spec("pgserver")  # not imported: its import has side effects
    if spec is None or not spec.submodule_search_locations:
        raise ServerError(
            "the PostgreSQL tests need the `pgserver` package: pip install -e '.[test]'"
        )
    install = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if not (install / "bin" / "postgres").exists():
        raise ServerError(f"pgserver has no PostgreSQL binaries in {install}")
    return install


def _start(runner: _Runner, install: Path, base: Path, data: Path) -> PostgresServer:
    last = ""
    for _ in range(3):  # a free port may be taken before the server binds it
        port = _free_port()
        options = [f"-c{name}={value}" for name, value in {**_SETTINGS, "port": port}.items()]
        with (base / "server.log").open("ab") as log:
            process = runner.spawn(
                [str(install / "bin" / "postgres"), "-D", str(data), *options], base, log
            )
        server = PostgresServer(base, port, process)
        if _wait_ready(server):
            return server
        last = server.log.read_text(encoding="utf-8", errors="replace")
        if "could not bind" not in last:
            break
    raise ServerError(f"PostgreSQL did not start; its log ({base / 'server.log'}):\n{last}")


def _wait_ready(server: PostgresServer) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            server.execute("SELECT 1")
        except psycopg.OperationalError:
            time.sleep(0.05)
            continue
        return True
    server.process.kill()
    server.process.wait()
    return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class _Runner:
    """Runs PostgreSQL's programs as this user, or as `nobody` when this user is root."""

    account: pwd.struct_passwd | None

    @classmethod
    def current(cls) -> _Runner:
        if os.geteuid() != 0:
            return cls(None)
        try:
            return cls(pwd.getpwnam("nobody"))
        except KeyError:
            raise ServerError(
                "running as root, and PostgreSQL refuses root: the tests run it as the "
                "user `nobody`, which this machine does not have"
            ) from None

    def give(self, path: Path) -> None:
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def check_reachable(self, path: Path) -> None:
        if self.account is not None and not _open_to_others(path):
            raise ServerError(
                f"the temporary directory {path.parent} is closed to other users, so "
                "PostgreSQL cannot run there as `nobody`; set TMPDIR to an open one"
            )

    def usable_install(self, install: Path, base: Path) -> Path:
        """The installed binaries, or a copy in `base` when `nobody` cannot reach them."""
        if self.account is None or _open_to_others(install / "bin" / "postgres"):
            return install
        # The wheel's binaries find their libraries at $ORIGIN/../../../pgserver.libs.
        site = install.parent.parent
        copy = base / "site" / "pgserver" / "pginstall"
        for part in ("bin", "lib", "share"):
            shutil.copytree(install / part, copy / part, symlinks=True)
        if (site / "pgserver.libs").is_dir():
            shutil.copytree(site / "pgserver.libs", base / "site" / "pgserver.libs")
        return copy

    def run(self, command: list[str], cwd: Path) -> None:
        done = subprocess.run(command, cwd=cwd, capture_output=True, **self._as_account())
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode(errors="replace")
            raise ServerError(f"{Path(command[0]).name} failed ({done.returncode}):\n{output}")

    def spawn(self, command: list[str], cwd: Path, log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            **self._as_account(),
        )

    def _as_account(self) -> dict[str, Any]:
        if self.account is None:
            return {}
        return {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}


def _open_to_others(path: Path) -> bool:
    """Every folder above `path` may be traversed, and `path` read, by any user."""
    if not path.stat().st_mode & stat.S_IROTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.resolve().parents)


def _die_with_parent() -> None:
    """An interrupted test run leaves no server behind: SIGQUIT (immediate shutdown)
    when the process that started it dies (Linux's prctl). Runs in the child, after
    it changed user (a change of user would clear it)."""
    libc: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    libc(_PR_SET_PDEATHSIG, signal.SIGQUIT)
