"""The address the service listens on: `feeds.listen` (or `--listen`), parsed and bound.

Kept apart from the HTTP server so `validate` can check it without loading uvicorn.
"""

from __future__ import annotations

import errno
import socket

from .core.model import Settings
from .exceptions import Problem, RemindersError

SETTING = "feeds.listen"


def parse_listen(text: str) -> tuple[str, int]:
    """'HOST:PORT' (IPv6 as '[::1]:8080') → (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise ValueError(f"应为 HOST:PORT（例如 127.0.0.1:8080），实际为 {text!r}")
    return host.strip("[]"), int(port)


def configured_listen(settings: Settings) -> tuple[str, int]:
    """The `feeds.listen` setting as (host, port)."""
    try:
        return parse_listen(settings.feeds.listen)
    except ValueError as exc:
        raise RemindersError([Problem(str(exc), "settings.yaml", field=SETTING)]) from None


class CannotListen(RemindersError):
    """The address cannot be bound; `in_use`: another process holds the port."""

    def __init__(self, problems: list[Problem], *, in_use: bool) -> None:
        super().__init__(problems)
        self.in_use = in_use


def cannot_listen(host: str, port: int, exc: OSError) -> CannotListen:
    """What to do when the address cannot be bound, naming the setting and the option."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        hint = (
            f"端口 {port} 已被占用 (address already in use)：另一个程序（或另一个 reminders）"
            f"在用它。改 settings.yaml 的 {SETTING}，或用 `reminders run --listen HOST:PORT`"
            f" 换一个端口；查看占用者：ss -ltnp 'sport = :{port}'"
        )
    elif exc.errno == errno.EADDRNOTAVAIL:
        hint = f"本机没有地址 {host}：改 settings.yaml 的 {SETTING}（例如 127.0.0.1:{port}）"
    elif exc.errno == errno.EACCES:
        hint = f"无权使用端口 {port}（1024 以下需要特权）：在 {SETTING} 中用 1024 以上的端口"
    else:
        hint = f"改 settings.yaml 的 {SETTING}，或用 --listen HOST:PORT"
    return CannotListen(
        [Problem(f"不能在 {where} 上监听：{exc.strerror}。{hint}", field=SETTING, value=where)],
        in_use=exc.errno == errno.EADDRINUSE,
    )


def probe(host: str, port: int) -> None:
    """Raise what `bind` would, without listening: a socket bound but not listening
    never stands in the way of a service binding the port at the same moment."""
    bind(host, port, listen=False).close()


def bind(host: str, port: int, *, listen: bool = True) -> socket.socket:
    """A listening, non-blocking socket on (host, port); a clear error when it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so; without it
    # a response's head and body wait on the client's delayed ACK (40 ms each)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise cannot_listen(host, port, exc) from None
    if listen:
        sock.listen(2048)
        sock.setblocking(False)
    return sock
