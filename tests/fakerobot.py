"""A fake WeCom / DingTalk / Feishu / webhook robot server on 127.0.0.1 (real HTTP).

It behaves as the robots' documented protocols do (the README's "Chat robot
reminders" and docs/使用指南.md list their error codes): signatures and timestamps checked,
20 messages per minute per robot with the real errcodes (DingTalk blocks the
robot for 10 minutes), over-long messages rejected with the real errcode, and
failures answered HTTP 200 with an errcode in the body. Byte limits are
measured as the strictest robot measures them: the whole request body (WeCom
markdown 4,096 bytes, text 2,048; DingTalk 20,000; Feishu 20 KB; webhook 60 KB).
A robot given a `keyword` (keyword security) refuses messages without it
(DingTalk 310000 "keywords not in content", Feishu 19024). The clock, the rate
windows and the block length are injectable so tests never wait in real time.

Each robot can be told to misbehave (`robot.fail(...)`): answer 502, hang
(the client times out), drop the connection, or answer an errcode.

Standalone: `python -m tests.fakerobot --port 8099 --auto --secret SEC...` serves
every key it is sent (auto-registering robots), printing one line per message.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextvars
import hashlib
import hmac
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Clock = Callable[[], float]

WECOM_MARKDOWN_LIMIT = 4096
WECOM_TEXT_LIMIT = 2048
DINGTALK_LIMIT = 20000
FEISHU_BODY_LIMIT = 20 * 1024
WEBHOOK_BODY_LIMIT = 60 * 1024


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default of 5 drops bursts of concurrent connections
    allow_reuse_address = True


@dataclass
class Robot:
    kind: str  # wecom | dingtalk | feishu | webhook
    key: str
    secret: str | None = None
    keyword: str | None = None
    per_minute: int = 20
    messages: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[int] = field(default_factory=list)
    sent_times: deque[float] = field(default_factory=deque)
    second_times: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0
    failure: str | None = None  # "502" | "hang" | "drop" | "errcode"
    failure_code: int = 0
    failure_message: str = ""

    def fail(self, mode: str | None, code: int = 0, message: str = "") -> None:
        """Misbehave until `fail(None)`: '502', 'hang', 'drop' or 'errcode' (with code)."""
        self.failure, self.failure_code, self.failure_message = mode, code, message

    def texts(self) -> list[str]:
        return [m["_text"] for m in self.messages]


class FakeRobots:
    """The server; `start()` it, register robots, read what they received."""

    def __init__(
        self,
        port: int = 0,
        *,
        clock: Clock = time.time,
        window: float = 60.0,
        block: float = 600.0,
        auto: bool = False,
        default_secret: str | None = None,
        hang: float = 5.0,
        verbose: bool = False,
    ) -> None:
        self.clock = clock
        self.window = window
        self.block = block
        self.auto = auto
        self.default_secret = default_secret
        self.hang = hang
        self.verbose = verbose
        self.robots: dict[tuple[str, str], Robot] = {}
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.requests = 0
        self.httpd = _Server(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.port = self.httpd.server_address[1]
        self.thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> FakeRobots:
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeRobots:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- robots ------------------------------------------------------------
    def add(self, kind: str, key: str, secret: str | None = None, **options: Any) -> Robot:
        robot = Robot(kind, key, secret, **options)
        self.robots[(kind, key)] = robot
        return robot

    def url(self, kind: str, key: str) -> str:
        """The full webhook URL a channel is given (the bare key works with the real hosts)."""
        if kind == "wecom":
            return f"{self.base}/cgi-bin/webhook/send?key={key}"
        if kind == "dingtalk":
            return f"{self.base}/robot/send?access_token={key}"
        if kind == "feishu":
            return f"{self.base}/open-apis/bot/v2/hook/{key}"
        return f"{self.base}/hook/{key}"

    def robot(self, kind: str, key: str) -> Robot | None:
        with self.lock:
            robot = self.robots.get((kind, key))
            if robot is None and self.auto:
                robot = self.robots[(kind, key)] = Robot(kind, key, self.default_secret)
            return robot

    def total_messages(self) -> int:
        return sum(len(r.messages) for r in self.robots.values())

    def total_rejections(self) -> int:
        return sum(len(r.rejections) for r in self.robots.values())

    # -- protocol ----------------------------------------------------------
    def _rate(self, robot: Robot) -> bool:
        """Count one message; False when over the robot's limit."""
        now = self.clock()
        with self.lock:
            times = robot.sent_times
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= robot.per_minute:
                return False
            if robot.kind == "feishu":
                seconds = robot.second_times
                while seconds and seconds[0] <= now - 1.0:
                    seconds.popleft()
                if len(seconds) >= 5:
                    return False
                seconds.append(now)
            times.append(now)
            return True

    def handle(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        """(HTTP status, JSON answer); None answer means: drop the connection."""
        self.requests += 1
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            payload = None
        if path == "/cgi-bin/webhook/send":
            return self._wecom(query.get("key", [""])[0], payload, len(body))
        if path == "/robot/send":
            return self._dingtalk(query, payload, len(body))
        if path.startswith("/open-apis/bot/v2/hook/"):
            return self._feishu(path.rsplit("/", 1)[1], payload, len(body))
        if path.startswith("/hook/"):
            return self._webhook(path.rsplit("/", 1)[1], headers, body, payload)
        return 404, {"error": "not found"}

    def _misbehave(
        self, robot: Robot, errcode_key: str
    ) -> tuple[int, dict[str, Any] | None] | None:
        if robot.failure is None:
            return None
        if robot.failure == "502":
            return 502, {"error": "bad gateway"}
        if robot.failure == "hang":
            self.release.wait(self.hang)
            return 504, {"error": "gateway timeout"}
        if robot.failure == "drop":
            return 0, None
        robot.rejections.append(robot.failure_code)
        return 200, {errcode_key: robot.failure_code, _msg_key(errcode_key): robot.failure_message}

    def _accept(self, robot: Robot, payload: dict[str, Any], text: str) -> None:
        with self.lock:
            robot.messages.append({**payload, "_text": text, "_at": self.clock()})
        if self.verbose:
            first = text.split("\n", 1)[0]
            print(f"{robot.kind} {robot.key[:6]}…: {first}", flush=True)

    def _wecom(self, key: str, payload: Any, size: int) -> tuple[int, dict[str, Any] | None]:
        robot = self.robot("wecom", key)
        if robot is None:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [x]"}
        bad = self._misbehave(robot, "errcode")
        if bad is not None:
            return bad
        if not isinstance(payload, dict) or "msgtype" not in payload:
            return _reject(robot, "errcode", 44004, "empty content or invalid json")
        kind = payload["msgtype"]
        if kind not in ("text", "markdown"):
            return _reject(robot, "errcode", 40008, "invalid message type")
        content = str(payload.get(kind, {}).get("content", ""))
        if not content:
            return _reject(robot, "errcode", 44004, "empty content")
        limit = WECOM_MARKDOWN_LIMIT if kind == "markdown" else WECOM_TEXT_LIMIT
        if size > limit:
            return _reject(robot, "errcode", 40058, f"content exceed max length {limit}")
        if not self._rate(robot):
            return _reject(robot, "errcode", 45009, "api freq out of limit")
        self._accept(robot, payload, content)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _dingtalk(
        self, query: dict[str, list[str]], payload: Any, size: int
    ) -> tuple[int, dict[str, Any] | None]:
        token = query.get("access_token", [""])[0]
        robot = self.robot("dingtalk", token)
        if robot is None:
            return 200, {"errcode": 300005, "errmsg": "token is not exist"}
        now = self.clock()
        if robot.blocked_until > now:
            return _reject(robot, "errcode", 130101, "send too fast, exceed 20 times per minute")
        bad = self._misbehave(robot, "errcode")
        if bad is not None:
            return bad
        if robot.secret:
            ts = query.get("timestamp", [""])[0]
            sign = query.get("sign", [""])[0]
            if not ts.isdigit() or abs(int(ts) - now * 1000) > 3600 * 1000:
                return _reject(robot, "errcode", 310000, "timestamp is not within one hour")
            expected = base64.b64encode(
                hmac.new(
                    robot.secret.encode(), f"{ts}\n{robot.secret}".encode(), hashlib.sha256
                ).digest()
            ).decode()
            if not hmac.compare_digest(sign, expected):
                return _reject(robot, "errcode", 310000, "sign not match")
        if not isinstance(payload, dict) or payload.get("msgtype") not in ("text", "markdown"):
            return _reject(robot, "errcode", 40035, "缺少参数 json")
        kind = payload["msgtype"]
        text = str(
            payload["text"]["content"]
            if kind == "text"
            else payload["markdown"]["title"] + "\n" + payload["markdown"]["text"]
        )
        if robot.keyword and robot.keyword not in text:
            return _reject(robot, "errcode", 310000, "keywords not in content")
        if size > DINGTALK_LIMIT:
            return _reject(robot, "errcode", 460101, "message too long, exceed 20000 bytes")
        if not self._rate(robot):
            robot.blocked_until = now + self.block
            return _reject(robot, "errcode", 130101, "send too fast, exceed 20 times per minute")
        self._accept(robot, payload, text)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _feishu(self, token: str, payload: Any, size: int) -> tuple[int, dict[str, Any] | None]:
        robot = self.robot("feishu", token)
        if robot is None:
            message = "param invalid: incoming webhook access token invalid"
            return 200, {"code": 19001, "msg": message}
        bad = self._misbehave(robot, "code")
        if bad is not None:
            return bad
        if size > FEISHU_BODY_LIMIT:
            return _reject(robot, "code", 9499, "Bad Request: request body too large", 400)
        if not isinstance(payload, dict):
            return _reject(robot, "code", 9499, "Bad Request", 400)
        if robot.secret:
            ts = str(payload.get("timestamp", ""))
            key = f"{ts}\n{robot.secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            fresh = ts.isdigit() and abs(int(ts) - self.clock()) <= 3600
            if not fresh or not hmac.compare_digest(str(payload.get("sign", "")), expected):
                message = "sign match fail or timestamp is not within one hour from current time"
                return _reject(robot, "code", 19021, message)
        if payload.get("msg_type") == "text":
            text = str(payload.get("content", {}).get("text", ""))
        elif payload.get("msg_type") == "post":
            post = payload["content"]["post"]["zh_cn"]
            lines = ["".join(item.get("text", "") for item in line) for line in post["content"]]
            text = post.get("title", "") + "\n" + "\n".join(lines)
        else:
            return _reject(robot, "code", 19002, "params error, msg_type need")
        if robot.keyword and robot.keyword not in text:
            return _reject(robot, "code", 19024, "Key Words Not Found")
        if not self._rate(robot):
            return _reject(robot, "code", 9499, "too many request", 400)
        self._accept(robot, payload, text)
        return 200, {"code": 0, "data": {}, "msg": "success"}

    def _webhook(
        self, name: str, headers: dict[str, str], body: bytes, payload: Any
    ) -> tuple[int, dict[str, Any] | None]:
        robot = self.robot("webhook", name)
        if robot is None:
            return 404, {"error": "no such hook"}
        bad = self._misbehave(robot, "errcode")
        if bad is not None:
            return bad
        if robot.secret:
            expected = "sha256=" + hmac.new(robot.secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(headers.get("x-reminders-signature", ""), expected):
                robot.rejections.append(401)
                return 401, {"error": "bad signature"}
        if not isinstance(payload, dict):
            return 400, {"error": "not json"}
        if len(body) > WEBHOOK_BODY_LIMIT:
            robot.rejections.append(413)
            return 413, {"error": "body too large"}
        if not self._rate(robot):
            robot.rejections.append(429)
            return 429, {"error": "slow down"}
        self._accept(robot, payload, str(payload.get("text", "")))
        return 200, {"ok": True}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: nothing to answer
                    self.close_connection = True
                    return
                url = urlsplit(self.path)
                query = parse_qs(url.query, keep_blank_values=True)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = server.handle(url.path, query, headers, body)
                if answer is None:
                    self.close_connection = True
                    self.connection.close()
                    return
                data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _msg_key(code_key: str) -> str:
    return "errmsg" if code_key == "errcode" else "msg"


def _reject(
    robot: Robot, code_key: str, code: int, message: str, status: int = 200
) -> tuple[int, dict[str, Any]]:
    robot.rejections.append(code)
    return status, {code_key: code, _msg_key(code_key): message}


class VirtualClock:
    """Virtual time for the sender: sleeping advances only the sleeping task's clock.

    Every asyncio task carries its own offset (a context variable), so one
    robot's backoff never makes another robot look late. `peak` (the furthest
    any task got) is the fake server's clock.
    """

    def __init__(self, start: float) -> None:
        self.base = start
        self.peak = start
        self._offset: contextvars.ContextVar[float] = contextvars.ContextVar(
            f"offset{id(self)}", default=0.0
        )
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.base + self._offset.get()

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._offset.set(self._offset.get() + max(0.0, seconds))
        self.peak = max(self.peak, self())
        await asyncio.sleep(0)

    def server(self) -> float:
        return self.peak

    def set(self, when: float) -> None:
        self.base = when
        self.peak = max(self.peak, when)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakerobot", description=__doc__)
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--auto", action="store_true", help="accept any key (auto-register)")
    parser.add_argument("--secret", help="signing secret of auto-registered robots")
    parser.add_argument("--window", type=float, default=60.0, help="rate window, seconds")
    parser.add_argument("--block", type=float, default=600.0, help="DingTalk block, seconds")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    server = FakeRobots(
        args.port,
        window=args.window,
        block=args.block,
        auto=args.auto,
        default_secret=args.secret,
        verbose=not args.quiet,
    )
    print(f"fake robots listening on {server.base}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
