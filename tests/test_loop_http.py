"""The action-link pages and the JSON API, in process (httpx over ASGI)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from reminders.closedloop import Loop, LoopStore, sign
from reminders.closedloop.app import LoopApp, RootApp
from reminders.config import Config, load_config
from reminders.ledger import Ledger

from .conftest import SHIPPED_CONFIG

KEY = b"0123456789abcdef0123456789abcdef"
API = "api-token-for-tests-0123456789"
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday
OCC = "4.5/教育局/2026-11"
OTHER = "4.5/教育局/2026-12"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(SHIPPED_CONFIG)


class Harness:
    def __init__(self, config: Config, tmp: Path) -> None:
        self.store = LoopStore.of(Ledger.open(f"sqlite:///{tmp / 'ledger.sqlite3'}"))
        self.loop = Loop(self.store, lambda: config.plan)
        self.now = NOW
        self.changes = 0
        self.app = LoopApp(self.loop, KEY, API, lambda: self.now, self._changed)

    def _changed(self) -> None:
        self.changes += 1

    def link(self, occurrence: str = OCC, action: str = "done", days: int = 30) -> str:
        return "/act/" + sign(KEY, occurrence, action, NOW + timedelta(days=days))  # type: ignore[arg-type]

    def request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await client.request(method, url, **kwargs)  # type: ignore[arg-type]

        return asyncio.run(go())


@pytest.fixture
def h(config: Config, tmp_path: Path) -> Iterator[Harness]:
    yield Harness(config, tmp_path)


def test_get_shows_the_task_and_changes_nothing(h: Harness) -> None:
    link = h.link()
    for method in ("GET", "HEAD", "GET"):
        page = h.request(method, link)
        assert page.status_code == 200
    page = h.request("GET", link)
    text = page.text
    assert "确认标记完成" in text and "教育局" in text and "未完成" in text
    assert "重点敏感时期要加密检查频次" in text  # the duty's full text, not only its title
    assert 'method="post"' in text and 'name="token"' in text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "width=device-width" in text
    assert h.store.history() == [] and h.store.get(OCC) is None and h.changes == 0


def test_confirm_marks_done_once_and_a_replay_is_harmless(h: Harness) -> None:
    link = h.link()
    token = link.rsplit("/", 1)[1]
    done = h.request("POST", link, data={"token": token, "by": "张三", "note": "已检查"})
    assert done.status_code == 200 and "已标记完成" in done.text
    assert h.store.get(OCC).state == "done" and h.changes == 1  # type: ignore[union-attr]
    replay = h.request("POST", link, data={"token": token, "by": "李四"})
    assert replay.status_code == 200 and "本次未作更改" in replay.text
    (change,) = h.store.history()
    assert (change.by, change.note, change.via) == ("张三", "已检查", "link") and h.changes == 1
    page = h.request("GET", link)
    assert "已完成" in page.text and "无需再次操作" in page.text and "<form" not in page.text


def test_forged_expired_swapped_and_malformed_tokens(h: Harness) -> None:
    genuine = h.link().rsplit("/", 1)[1]
    other = h.link(OTHER).rsplit("/", 1)[1]
    wrong_key = sign(b"k" * 32, OCC, "done", NOW + timedelta(days=3))
    swapped = genuine.split(".")[0] + "." + other.split(".")[1]
    expired = sign(KEY, OCC, "done", NOW - timedelta(seconds=1))
    cases = {wrong_key: 403, swapped: 403, expired: 410, "garbage": 400, genuine[:-3]: 400}
    for token, status in cases.items():
        for method in ("GET", "POST"):
            answer = h.request(method, f"/act/{token}", data={"token": token})
            assert answer.status_code == status, (token, method)
            assert "链接" in answer.text and "<form" not in answer.text
    assert h.store.history() == [] and h.changes == 0


def test_unknown_occurrence_and_other_methods(h: Harness) -> None:
    gone = h.link("4.5/教育局/2099-01")
    assert h.request("GET", gone).status_code == 404
    assert h.request("POST", gone).status_code == 404
    assert h.request("PUT", h.link()).status_code == 405
    assert h.request("DELETE", h.link()).status_code == 405


def test_form_token_must_match_and_body_is_bounded(h: Harness) -> None:
    link = h.link()
    assert (
        h.request("POST", link, data={"token": h.link(OTHER).rsplit("/", 1)[1]}).status_code == 400
    )
    form = {"content-type": "application/x-www-form-urlencoded"}
    big = h.request("POST", link, content=b"note=" + b"x" * 40_000, headers=form)
    assert big.status_code == 413
    assert (
        h.request(
            "POST", link, content=b"{}", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    assert h.store.history() == []


def test_an_undo_link_reopens(h: Harness) -> None:
    h.request("POST", h.link())
    answer = h.request("POST", h.link(action="undo"))
    assert answer.status_code == 200 and h.store.get(OCC).state == "open"  # type: ignore[union-attr]


def test_html_is_escaped(h: Harness) -> None:
    h.request("POST", h.link(), data={"by": "<script>alert(1)</script>"})
    page = h.request("GET", h.link()).text
    assert "<script>" not in page and "&lt;script&gt;" in page


# -- JSON API -------------------------------------------------------------------

AUTH = {"authorization": f"Bearer {API}"}


def test_api_needs_the_bearer_token(h: Harness) -> None:
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {API}"}):
        answer = h.request("GET", "/api/occurrences?unit=教育局", headers=headers)
        assert answer.status_code == 401 and "bearer" in answer.headers["www-authenticate"].lower()
    assert h.request("POST", f"/api/occurrences/{OCC}/done").status_code == 401
    assert h.store.history() == []


def test_api_list_done_undo_waive(h: Harness) -> None:
    listed = h.request(
        "GET", "/api/occurrences?unit=教育局&from=2026-11-01&to=2026-12-31", headers=AUTH
    )
    assert listed.status_code == 200
    states = {o["id"]: o["state"] for o in listed.json()["occurrences"]}
    assert states[OCC] == "open" and states[OTHER] == "open"

    body = {"by": "系统A", "note": "台账已上传", "evidence": "https://e.example/1"}
    done = h.request("POST", f"/api/occurrences/{OCC}/done", headers=AUTH, json=body)
    assert done.status_code == 200 and done.json()["changed"] and done.json()["state"] == "done"
    again = h.request("POST", f"/api/occurrences/{OCC}/done", headers=AUTH)
    assert again.status_code == 200 and not again.json()["changed"]
    waived = h.request(
        "POST", f"/api/occurrences/{OTHER}/waive", headers=AUTH, json={"note": "停课"}
    )
    assert waived.json()["state"] == "waived"
    listed = h.request(
        "GET", "/api/occurrences?unit=教育局&from=2026-11-01&to=2026-12-31", headers=AUTH
    )
    by_id = {o["id"]: o for o in listed.json()["occurrences"]}
    assert by_id[OCC]["state"] == "done" and by_id[OCC]["evidence"] == "https://e.example/1"
    assert by_id[OTHER]["state"] == "waived"
    undo = h.request("POST", f"/api/occurrences/{OCC}/undo", headers=AUTH)
    assert undo.json()["state"] == "open"
    assert [c.via for c in h.store.history()] == ["api", "api", "api"] and h.changes == 3

    overdue = h.request("GET", "/api/overdue?unit=教育局", headers=AUTH).json()["overdue"]
    assert OCC not in {o["id"] for o in overdue}  # due 2026-11-30: today, not overdue
    report = h.request("GET", "/api/report?from=2026-11-01", headers=AUTH).json()
    bureau = next(u for u in report["units"] if u["unit"] == "教育局")
    assert bureau["waived"] == 0  # OTHER is due in December, outside the span


def test_api_errors(h: Harness) -> None:
    assert h.request("GET", "/api/occurrences", headers=AUTH).status_code == 400
    assert h.request("GET", "/api/occurrences?unit=无此单位", headers=AUTH).status_code == 400
    assert h.request("GET", "/api/occurrences?unit=教育局&from=x", headers=AUTH).status_code == 400
    assert (
        h.request("POST", "/api/occurrences/4.5/教育局/2099-01/done", headers=AUTH).status_code
        == 404
    )
    assert h.request("POST", f"/api/occurrences/{OCC}/explode", headers=AUTH).status_code == 404
    bad = h.request("POST", f"/api/occurrences/{OCC}/done", headers=AUTH, content=b"[1")
    assert bad.status_code == 400
    assert (
        h.request("POST", f"/api/occurrences/{OCC}/done", headers=AUTH, json=[1]).status_code == 400
    )
    assert (
        h.request("POST", f"/api/occurrences/{OCC}/done", headers=AUTH, json={"by": 5}).status_code
        == 400
    )
    assert h.request("DELETE", "/api/occurrences", headers=AUTH).status_code == 405
    assert h.request("GET", "/api/nothing", headers=AUTH).status_code == 404
    assert h.store.history() == []


def test_root_app_routes(h: Harness) -> None:
    seen: list[str] = []

    async def feeds(scope: Any, receive: Any, send: Any) -> None:
        seen.append("feeds")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    root = RootApp(feeds, h.app)

    async def go() -> None:
        transport = httpx.ASGITransport(app=root)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get(h.link())).status_code == 200
            assert (await client.get("/api/overdue")).status_code == 401
            assert (await client.get("/feeds/x/y.ics")).status_code == 204

    asyncio.run(go())
    assert seen == ["feeds"]
