"""The feed server over real sockets on 127.0.0.1: headers, conditional
requests, HEAD, tokens, path tricks, methods, hostile clients, concurrency."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn

from reminders.config import load_config
from reminders.feeds import Feed, FeedApp, FeedBuilder, FeedPublisher, server_config
from reminders.feeds.server import FeedStore, GuardedHttpTools

from .conftest import SHIPPED_CONFIG
from .test_feeds_build import NOW, TODAY, expected_for, from_icalendar


@dataclass
class Served:
    base: str
    port: int
    feeds: dict[str, Feed]
    tokens: dict[str, str]
    state_dir: Path

    def url(self, slug: str, token: str | None = None) -> str:
        feed = self.feeds[slug]
        token = token or self.tokens[feed.spec.key]
        return f"{self.base}/feeds/{token}/{quote(feed.spec.filename)}"

    def path(self, slug: str) -> str:
        return self.url(slug).removeprefix(self.base)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    state = tmp_path_factory.mktemp("state")
    publisher = FeedPublisher(state, lambda: NOW)
    plan = load_config(SHIPPED_CONFIG).plan
    assert publisher.publish(plan, NOW, TODAY) == {}  # each feed is rendered when first asked
    feeds = FeedBuilder().build(plan, TODAY, NOW)  # what each must then be
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(FeedApp(publisher.store), "127.0.0.1", port))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    yield Served(f"http://127.0.0.1:{port}", port, feeds, dict(publisher.tokens), state)
    server.should_exit = True
    thread.join(10)
    sock.close()


def raw(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes as they are (no client-side path normalising); read until close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(request)
        chunks = []
        while True:
            try:
                data = conn.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", response)
    assert match, response[:200]
    return int(match[1])


def get_raw(port: int, target: bytes, method: bytes = b"GET") -> bytes:
    return raw(port, method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")


# -- the happy path -----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_get_serves_the_feed_with_headers(served: Served, encoding: str) -> None:
    response = httpx.get(served.url("教育局"), headers={"Accept-Encoding": encoding})
    feed = served.feeds["教育局"]
    assert response.status_code == 200
    assert response.content == feed.body  # httpx decodes gzip
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["vary"] == "accept-encoding"
    if encoding == "gzip":
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["content-length"] == str(len(feed.gzipped)) != str(feed.size)
        assert response.headers["etag"] == "W/" + feed.etag  # same content, other bytes
    else:
        assert "content-encoding" not in response.headers
        assert response.headers["content-length"] == str(len(feed.body))
        assert response.headers["etag"] == feed.etag and feed.etag.startswith('"')
    assert response.headers["last-modified"] == format_datetime(feed.changed, usegmt=True)
    assert response.headers["cache-control"] == "private, no-cache"
    assert "server" not in response.headers


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        (None, False),
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("*;q=0", False),
        ("*, gzip;q=0", False),
        ("identity", False),
        ("deflate, br", False),
        ("gzip;q=bogus", False),
    ],
)
def test_accept_encoding_decides_the_encoding(
    served: Served, accept: str | None, gzipped: bool
) -> None:
    head = b"Accept-Encoding: " + accept.encode() + b"\r\n" if accept is not None else b""
    request = b"GET " + served.path("县第二中学").encode() + b" HTTP/1.1\r\nHost: x\r\n"
    wire = raw(served.port, request + head + b"Connection: close\r\n\r\n")
    head_bytes, _, body = wire.partition(b"\r\n\r\n")
    assert status_of(head_bytes) == 200
    feed = served.feeds["县第二中学"]
    assert (b"content-encoding: gzip" in head_bytes.lower()) is gzipped
    assert body == (feed.gzipped if gzipped else feed.body)


def test_clients_without_gzip_get_every_feed_right_past_the_cache(served: Served) -> None:
    """Decompressed feeds are cached up to a budget; evictions never mix feeds up."""
    app = FeedApp(_store_of(served), identity_cache=3 * served.feeds["县第一中学"].size)
    slugs = ["县第一中学", "all", "县第二中学", "教育局", "县第一中学", "all"] * 2
    for slug in slugs:
        status, headers, body = asyncio.run(_call(app, served.path(slug)))
        assert status == 200 and body == served.feeds[slug].body, slug
        assert dict(headers)[b"etag"] == served.feeds[slug].etag.encode()


def _store_of(served: Served) -> FeedStore:
    store = FeedStore()
    store.update(served.feeds, served.tokens)
    return store


async def _call(
    app: FeedApp, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    raw_path = path.encode()
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": raw_path}
    await app({**scope, "headers": headers or []}, receive, send)
    return sent[0]["status"], sent[0]["headers"], sent[1]["body"]


def test_a_feed_that_cannot_be_rendered_is_a_503(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(name: str) -> None:
        raise OSError("disk full")

    store = FeedStore(broken)
    store.update({}, served.tokens, [f.spec for f in served.feeds.values()])
    with caplog.at_level(logging.ERROR, logger="reminders.feeds"):
        status, headers, _ = asyncio.run(_call(FeedApp(store), served.path("教育局")))
    assert status == 503 and dict(headers)[b"retry-after"] == b"60"
    assert "教育局.ics" in caplog.text and "disk full" in caplog.text
    assert all(token not in caplog.text for token in served.tokens.values())


def test_a_feed_is_rendered_on_its_first_request_and_again_only_once_it_changed(
    tmp_path: Path,
) -> None:
    clock = [NOW]
    publisher = FeedPublisher(tmp_path, lambda: clock[0])
    plan = load_config(SHIPPED_CONFIG).plan
    publisher.publish(plan, NOW, TODAY)
    app = FeedApp(publisher.store)

    def get(slug: str, token: str | None = None, etag: bytes | None = None) -> tuple:
        name = quote(f"{slug}.ics")
        key = "all" if slug == "all" else f"unit:{slug}" if slug != "各校" else "group:各校"
        path = f"/feeds/{token or publisher.tokens[key]}/{name}"
        headers = [(b"if-none-match", etag)] if etag else []
        status, sent, body = asyncio.run(_call(app, path, headers))
        return status, dict(sent), body

    assert get("县第一中学", token="A" * 32)[0] == 404
    assert publisher.builder.rendered() == {}, "a wrong token renders nothing"
    status, first, body = get("县第一中学")
    assert status == 200 and body == FeedBuilder().build(plan, TODAY, NOW)["县第一中学"].body
    assert get("县第一中学", etag=first[b"etag"])[0] == 304
    school, group = get("县第二中学")[1], get("各校")[1]
    assert set(publisher.builder.rendered()) == {"县第一中学", "县第二中学", "各校"}
    # a mark an hour later: its school's feed and the group's change, the other school's not
    clock[0] = NOW + timedelta(hours=1)
    publisher.publish(plan, clock[0], TODAY, {"4.4/县第一中学/2026-Q4": "张三"})
    assert set(publisher.builder.rendered()) == {"县第二中学"}
    status, after, body = get("县第一中学", etag=first[b"etag"])
    assert status == 200 and "✓已完成" in body.decode()
    assert after[b"last-modified"] == format_datetime(clock[0], usegmt=True).encode()
    assert after[b"etag"] != first[b"etag"]
    assert get("县第二中学", etag=school[b"etag"])[0] == 304
    assert get("各校")[1][b"etag"] != group[b"etag"]
    # the same again (a restart reads the history back): same bytes, same Last-Modified
    clock[0] = NOW + timedelta(hours=2)
    again = FeedPublisher(tmp_path, lambda: clock[0])
    again.publish(plan, clock[0], TODAY, {"4.4/县第一中学/2026-Q4": "张三"})
    app = FeedApp(again.store)
    publisher = again
    assert get("县第一中学", etag=after[b"etag"])[0] == 304
    assert get("县第一中学")[1][b"last-modified"] == after[b"last-modified"]


def test_every_served_feed_matches_the_agenda(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    with httpx.Client() as client:
        for slug, feed in served.feeds.items():
            body = client.get(served.url(slug)).raise_for_status().content
            assert from_icalendar(body) == expected_for(feed, capsys)


def test_head_has_the_headers_and_no_body(served: Served) -> None:
    response = httpx.head(served.url("all"))
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(len(served.feeds["all"].gzipped))
    # on the wire: the response ends right after the head
    wire = get_raw(served.port, served.path("all").encode(), b"HEAD")
    head, _, rest = wire.partition(b"\r\n\r\n")
    assert status_of(head) == 200 and rest == b""


# -- conditional requests -------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"If-None-Match": "{etag}"}, 304),
        ({"If-None-Match": "W/{etag}"}, 304),
        ({"If-None-Match": '"other", {etag}'}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": "{modified}"}, 304),
        ({"If-Modified-Since": "Sun, 06 Nov 2050 08:49:37 GMT"}, 304),
        ({"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"}, 200),
        ({"If-Modified-Since": "not a date"}, 200),
        # If-None-Match decides when both are present (RFC 9110 §13.1.3)
        ({"If-None-Match": '"other"', "If-Modified-Since": "{modified}"}, 200),
    ],
)
def test_conditional_requests(served: Served, headers: dict[str, str], status: int) -> None:
    feed = served.feeds["县第一中学"]
    modified = format_datetime(feed.changed, usegmt=True)
    sent = {k: v.format(etag=feed.etag, modified=modified) for k, v in headers.items()}
    response = httpx.get(served.url("县第一中学"), headers=sent)
    assert response.status_code == status
    if status == 304:
        assert response.content == b""
        assert response.headers["etag"] == "W/" + feed.etag  # httpx accepts gzip
        assert response.headers["last-modified"] == modified
    else:
        assert response.content == feed.body


# -- what must be a 404 or a 405 ------------------------------------------------------


def test_wrong_token_is_404(served: Served) -> None:
    other = served.tokens["unit:县第二中学"]
    good = served.url("教育局")
    for url in [
        served.url("教育局", token=other),  # a real token of another feed
        served.url("教育局", token="A" * 32),
        served.url("教育局", token=served.tokens["unit:教育局"][:-1]),
        good.replace("/feeds/", "/feeds//"),
        f"{served.base}/feeds/{quote(served.feeds['教育局'].spec.filename)}",
        f"{served.base}/",
        good + "x",
    ]:
        response = httpx.get(url)
        assert response.status_code == 404, url
        assert response.content == b"not found\n"
        assert "etag" not in response.headers


@pytest.mark.parametrize(
    "target",
    [
        "/feeds/{token}/../../feeds/tokens.json",
        "/feeds/{token}/..%2F..%2Ffeeds%2Ftokens.json",
        "/feeds/{token}/%2e%2e/tokens.json",
        "/feeds/{token}%2F{name}",
        "/feeds/{token}/.%2F{name}",
        "/feeds/{token}/%2F{name}",
        "/feeds/{token}/{name}%00",
        "/feeds/{token}/{name}/",
        "/feeds/../feeds/{token}/{name}",
        "/feeds/./{token}/{name}",
        "//feeds/{token}/{name}",
        "/feeds/{token}/..\\{name}",
        "/feeds/{token}/%C0%AE%C0%AE%2F{name}",
        "/feeds/{token}/%ff.ics",
        "http://evil/feeds/{token}/{name}x",
    ],
)
def test_path_tricks_are_404(served: Served, target: str) -> None:
    name = quote(served.feeds["教育局"].spec.filename)
    token = served.tokens["unit:教育局"]
    response = get_raw(served.port, target.format(token=token, name=name).encode())
    assert status_of(response) in (400, 404), response[:200]


def test_the_plain_path_works_on_the_raw_socket_too(served: Served) -> None:
    response = get_raw(served.port, served.path("教育局").encode())
    assert status_of(response) == 200
    assert response.endswith(served.feeds["教育局"].body)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_other_methods_are_405(served: Served, method: str) -> None:
    response = httpx.request(method, served.url("教育局"), content=b"x" * 100)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


# -- hostile clients ------------------------------------------------------------------


def test_garbage_is_400(served: Served) -> None:
    assert status_of(raw(served.port, b"\x16\x03\x01\x00garbage\r\n\r\n")) == 400


@pytest.mark.parametrize("pieces", [1, 40], ids=["whole", "in-pieces"])
def test_oversized_head_is_refused(served: Served, pieces: int) -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 40_000 + b"\r\n\r\n"
    step = len(head) // pieces + 1
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as conn:
        try:
            for i in range(0, len(head), step):
                conn.sendall(head[i : i + step])
                time.sleep(0.01 if pieces > 1 else 0)
        except OSError:
            pass  # closed on us mid-way: refused too
        try:
            response = conn.recv(200)
        except ConnectionResetError:
            response = b""
    assert response == b"" or status_of(response) == 400


def test_a_large_body_gets_its_405(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as conn:
        conn.sendall(b"POST " + served.path("all").encode() + b" HTTP/1.1\r\nHost: x\r\n")
        conn.sendall(b"Content-Length: 1000000\r\n\r\n" + b"x" * 200_000)
        assert status_of(conn.recv(200)) == 405


def test_slow_head_is_cut_off(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GuardedHttpTools, "head_timeout", 0.5)
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as conn:
        conn.sendall(b"GET /feeds/")
        for _ in range(20):  # a byte at a time, for longer than the deadline allows
            time.sleep(0.1)
            try:
                conn.sendall(b"a")
            except OSError:
                break
        conn.settimeout(3)
        try:
            data = conn.recv(100)
        except ConnectionResetError:
            data = b""
        assert data == b"", "the server closed the connection without answering"


def test_idle_connection_is_closed(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GuardedHttpTools, "head_timeout", 0.3)
    with socket.create_connection(("127.0.0.1", served.port), timeout=3) as conn:
        assert conn.recv(100) == b""


def test_200_concurrent_clients(served: Served) -> None:
    feed = served.feeds["all"]
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)

    async def run() -> tuple[list[int], int]:
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            start = asyncio.Event()
            peers: set[int] = set()

            async def one(i: int) -> int:
                await start.wait()
                headers = {"If-None-Match": feed.etag} if i % 4 == 0 else {}
                async with client.stream("GET", served.url("all"), headers=headers) as response:
                    stream = response.extensions["network_stream"]
                    peers.add(stream.get_extra_info("client_addr")[1])
                    body = await response.aread()
                if response.status_code == 200:
                    assert body == feed.body
                return response.status_code

            tasks = [asyncio.create_task(one(i)) for i in range(200)]
            await asyncio.sleep(0)
            start.set()
            return list(await asyncio.gather(*tasks)), len(peers)

    statuses, connections = asyncio.run(run())
    assert statuses.count(304) == 50 and statuses.count(200) == 150
    assert connections == 200, "each client had its own connection"


# -- secrets ---------------------------------------------------------------------------


def test_tokens_stay_out_of_logs(
    served: Served, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG):
        httpx.get(served.url("教育局"))
        httpx.get(served.url("教育局", token="B" * 32))
        raw(served.port, b"nonsense\r\n\r\n")
        FeedPublisher(served.state_dir).publish(load_config(SHIPPED_CONFIG).plan, NOW, TODAY)
    out, err = capfd.readouterr()
    # the test's own client (httpx) logs the URLs it asks for; the service must not
    logged = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    for token in served.tokens.values():
        assert token not in logged and token not in out and token not in err
    files = [p for p in served.state_dir.rglob("*") if p.is_file()]
    names = {p.name for p in files} - {"history.sqlite3-wal", "history.sqlite3-shm"}
    assert names == {"tokens.json", "history.sqlite3"}
    assert all(p.stat().st_mode & 0o077 == 0 for p in files)


# -- the command -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_cli_serve_and_urls(tmp_path: Path) -> None:
    port = free_port()
    state = tmp_path / "state"
    base = ["--config", str(SHIPPED_CONFIG), "feeds"]
    env = {**os.environ, "REMINDERS_STATE_DIR": str(state)}
    command = [sys.executable, "-m", "reminders", *base, "serve", "--listen", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        urls = subprocess.run(
            [sys.executable, "-m", "reminders", *base, "urls", "--base-url", "https://cal.test"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        https = re.findall(r"https://cal\.test(/feeds/\S+\.ics)", urls)
        webcal = re.findall(r"webcal://cal\.test(/feeds/\S+\.ics)", urls)
        assert len(https) == 6 and https == webcal
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}{https[0]}")
                break
            except httpx.ConnectError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert response.status_code == 200
        assert b"X-WR-CALNAME:" in response.content
        missing = httpx.get(f"http://127.0.0.1:{port}/feeds/{'C' * 32}/all.ics")
        assert missing.status_code == 404
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    assert server.returncode == 0, err
    token = https[0].split("/")[2]
    assert token not in err and "提供 6 个日历订阅 (feeds)" in err


def test_cli_serve_rebuilds_when_the_config_changes(config_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "REMINDERS_STATE_DIR": str(tmp_path / "state")}
    base = [sys.executable, "-m", "reminders", "--config", str(config_dir), "feeds"]
    listen = ["--listen", f"127.0.0.1:{port}", "--check-every", "0.2"]
    server = subprocess.Popen([*base, "serve", *listen], env=env, stderr=subprocess.PIPE)
    try:
        urls = subprocess.run(
            [*base, "urls", "--base-url", "http://127.0.0.1"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        path = re.findall(r"http://127\.0\.0\.1(/feeds/\S+\.ics)", urls)[0]  # 教育局
        url = f"http://127.0.0.1:{port}{path}"
        deadline = time.monotonic() + 20
        while True:
            try:
                first = httpx.get(url)
                break
            except httpx.ConnectError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        again = httpx.get(url)
        assert first.status_code == again.status_code == 200
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["last-modified"] == first.headers["last-modified"]
        duties = config_dir / "duties.yaml"
        text = duties.read_text(encoding="utf-8")
        old_title = "title: 教育行政部门每月至少组织 1 次安全生产工作检查"
        assert old_title in text
        duties.write_text(text.replace(old_title, "title: 每月安全生产工作检查"), "utf-8")
        deadline = time.monotonic() + 20
        while True:
            changed = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
            if changed.status_code == 200:
                break
            assert changed.status_code == 304 and time.monotonic() < deadline
            time.sleep(0.2)
        assert "【周期任务】教育局：每月安全生产工作检查" in changed.content.decode()
        assert b"SEQUENCE:1\r\n" in changed.content
        # a broken config keeps the last good feeds
        duties.write_text("duties: [", "utf-8")
        time.sleep(1)
        assert httpx.get(url).content == changed.content
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    assert server.returncode == 0
    assert "继续提供上一版有效的订阅" in err.decode()


def test_cli_serve_refuses_a_bad_address(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reminders.cli.main import main

    argv = ["--config", str(config_dir), "feeds", "serve", "--state-dir", str(tmp_path)]
    assert main([*argv, "--listen", "no-port"]) == 2
    assert "应为 HOST:PORT" in capsys.readouterr().err
    settings = config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + "\nfeeds:\n  listen: 127.0.0.1:99999\n", "utf-8"
    )
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "feeds.listen" in err and "Traceback" not in err


def test_deleting_a_token_revokes_it_at_the_next_build(tmp_path: Path) -> None:
    publisher = FeedPublisher(tmp_path)
    plan = load_config(SHIPPED_CONFIG).plan
    publisher.publish(plan, NOW, TODAY)
    old = publisher.tokens["unit:教育局"]
    assert asyncio.run(publisher.store.render(old, "教育局.ics")) is not None
    path = tmp_path / "feeds" / "tokens.json"
    tokens = json.loads(path.read_text(encoding="utf-8"))
    del tokens["unit:教育局"]
    path.write_text(json.dumps(tokens), encoding="utf-8")
    publisher.publish(plan, NOW, TODAY)
    new = publisher.tokens["unit:教育局"]
    assert new != old and publisher.store.lookup(new, "教育局.ics") is not None
    assert publisher.store.lookup(old, "教育局.ics") is None
    assert asyncio.run(publisher.store.render(old, "教育局.ics")) is None
    assert publisher.tokens["all"] == tokens["all"]  # the others are kept


def test_cli_serve_builds_once_when_nothing_changes(tmp_path: Path) -> None:
    """Watching the config and the day: no rebuild while neither changes."""
    argv = [sys.executable, "-m", "reminders", "--config", str(SHIPPED_CONFIG), "feeds", "serve"]
    argv += ["--state-dir", str(tmp_path / "state"), "--listen", "127.0.0.1:0"]
    server = subprocess.Popen([*argv, "--check-every", "0.1"], stderr=subprocess.PIPE)
    try:
        time.sleep(3)  # start-up, then about twenty looks at the config and the clock
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    log = err.decode()
    assert "提供 6 个日历订阅 (feeds)" in log, log
    assert len(re.findall(r"日历订阅已生成 \(feeds built\)：\d+ 个", log)) == 1, log
