"""The console in a real Chromium (Debian's, driven by Playwright) against the real
service on 127.0.0.1: a school reports its work, the bureau sees it.

Each step is photographed 390 px wide (a phone) and 1280 px wide (a desktop) into
var/screenshots/ for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from .conftest import ROOT
from .consolerig import (
    BUREAU,
    JANUARY_ITEM,
    PNG,
    SCHOOL,
    SCHOOL_UNIT,
    prepare,
    start_service,
)
from .daemonproc import DaemonProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "var" / "screenshots"
WIDTHS = (390, 1280)
NOTE = "已排查安全出口 3 处，疏散通道畅通"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    config, state = prepare(tmp_path_factory.mktemp("browser"))
    daemon: DaemonProcess
    daemon, base = start_service(config, state)
    yield base, state
    assert daemon.stop() == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    for old in SHOTS.glob("*.png"):  # a step renamed or gone leaves no stale picture
        old.unlink()
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run tests/setup.sh (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        # Chromium on Linux takes its own strings' language (the file picker's button)
        # from the environment, as a Chinese desktop's browser would
        chinese = {**os.environ, "LANGUAGE": "zh_CN"}
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=chinese
        )
        yield launched
        launched.close()


def context(browser: Browser, base: str, width: int) -> BrowserContext:
    return browser.new_context(
        base_url=base,
        viewport={"width": width, "height": 900},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
    )


def shoot(page: Page, name: str) -> None:
    """The page as it is now, at both widths (then back to the page's own width)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    own = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
    if own is not None:
        page.set_viewport_size(own)


def log_in(page: Page, name: str, password: str) -> None:
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.get_by_label("账号").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/console/login"))
    page.wait_for_load_state()


def january_cell(page: Page) -> Locator:
    return page.locator(f'table.grid tr[data-unit="{SCHOOL_UNIT}"] td').first


def test_a_school_reports_and_the_bureau_sees_it(
    service: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    base, _ = service
    bureau = context(browser, base, 1280).new_page()
    log_in(bureau, *BUREAU)
    expect(bureau.get_by_role("heading", name=re.compile("总览"))).to_be_visible()
    expect(january_cell(bureau)).to_have_class("s-overdue")
    shoot(bureau, "01-bureau-board-before")

    school = context(browser, base, 390).new_page()
    log_in(school, *SCHOOL)
    expect(school).to_have_url(f"{base}/console/unit/{quote(SCHOOL_UNIT)}")
    expect(school.get_by_role("heading", name=SCHOOL_UNIT)).to_be_visible()
    shoot(school, "02-school-unit-page")
    school.get_by_role("link", name=re.compile(r"^\[8\.2\]")).click()
    expect(school.locator(".item-page .badge")).to_have_text("逾期未完成")
    evidence = tmp_path / "安全出口检查记录.png"
    evidence.write_bytes(PNG)
    school.get_by_label("说明").fill(NOTE)
    school.get_by_label("佐证材料").set_input_files(evidence)
    expect(school.locator(".file-msg")).to_contain_text("安全出口检查记录.png")
    shoot(school, "03-school-item-filled")
    school.get_by_role("button", name="完成", exact=True).click()
    expect(school.locator(".flash.ok")).to_contain_text("已标记完成")
    expect(school.locator(".item-page .state")).to_have_text("已完成")
    expect(school.locator(".item-page .badge")).to_have_text("逾期完成")
    expect(school.locator(".item-page")).to_contain_text(NOTE)
    expect(school.get_by_role("link", name="安全出口检查记录.png")).to_be_visible()
    expect(school.locator(".history")).to_contain_text("王老师")
    shoot(school, "04-school-item-done")

    bureau.reload()
    expect(january_cell(bureau)).to_have_class("s-done_late")  # red before, done late now
    shoot(bureau, "05-bureau-board-after")
    january_cell(bureau).get_by_role("link").click()
    expect(bureau).to_have_url(re.compile(r"from=2026-01-01&to=2026-01-31"))
    bureau.get_by_role("link", name=re.compile(r"^\[8\.2\]")).click()
    expect(bureau.locator(".item-page")).to_contain_text("王老师")
    attachment = bureau.get_by_role("link", name="安全出口检查记录.png")
    href = attachment.get_attribute("href")
    assert href is not None and re.fullmatch(r"/console/evidence/[0-9a-f]{32}", href)
    with bureau.expect_popup() as opened:
        attachment.click()
    image = opened.value
    image.wait_for_load_state()
    assert image.url.endswith(href)
    fetched = bureau.request.get(href)
    assert fetched.status == 200 and fetched.body() == PNG
    assert fetched.headers["content-type"] == "image/png"
    shoot(image, "06-bureau-evidence")
    image.close()
    shoot(bureau, "07-bureau-item")

    bureau.get_by_role("link", name="导出").click()
    bureau.get_by_label("从").fill("2026-01-01")
    bureau.get_by_label("到").fill("2026-11-30")
    shoot(bureau, "08-bureau-export")
    with bureau.expect_download() as waiting:
        bureau.get_by_role("button", name="下载 .xlsx").click()
    download = waiting.value
    saved = tmp_path / "台账.xlsx"
    download.save_as(saved)
    assert download.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(saved, read_only=True)
    assert book.sheetnames[:2] == ["汇总", "周报统计"] and SCHOOL_UNIT in book.sheetnames
    rows = [list(r) for r in book[SCHOOL_UNIT].iter_rows(values_only=True)]
    assert rows[0][:5] == ["任务编号", "任务", "本次", "截止日期", "状态"]
    (found,) = [r for r in rows[1:] if r[9] == JANUARY_ITEM]
    assert found[4] == "逾期完成" and found[6] == "王老师" and found[7] == NOTE
    assert found[8] == href
    summary = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
    assert [SCHOOL_UNIT, "8.2", "逾期完成"] in [[r[0], r[1], r[5]] for r in summary]
    weekly = [list(r) for r in book["周报统计"].iter_rows(values_only=True)]
    school_counts = next(r for r in weekly if r[0] == SCHOOL_UNIT)
    assert school_counts[2] >= 1  # 逾期完成
    book.close()
    copy = SHOTS / "台账-browser-test.xlsx"
    shutil.copyfile(saved, copy)  # for people to open beside the screenshots


def test_pages_fit_a_phone(service: tuple[str, Path], browser: Browser) -> None:
    """No page of the school's is wider than a 390 px phone (the board's grid scrolls
    inside its own box), and the login page works without JavaScript's help."""
    base, _ = service
    page = context(browser, base, 390).new_page()
    log_in(page, *SCHOOL)
    for path, name in (
        (f"/console/unit/{quote(SCHOOL_UNIT)}", None),
        (f"/console/item/{quote(JANUARY_ITEM)}", None),
        ("/console/history", "09-school-history"),
        ("/console/export", None),
        (f"/console/review/review/{quote(SCHOOL_UNIT)}/review-2026-Q4", "10-school-self-check"),
        ("/console/duty/4.4", "11-school-duty"),
    ):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        if name:
            shoot(page, name)
    bureau = context(browser, base, 390).new_page()
    log_in(bureau, *BUREAU)
    assert bureau.evaluate("document.documentElement.scrollWidth") <= 390
    bureau.goto("/console/history")
    shoot(bureau, "12-bureau-history")
