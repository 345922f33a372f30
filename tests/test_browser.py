"""End to end in a real browser: `streamlit run app.py` driven by Playwright with Debian's Chromium.

Every request that does not go to the app itself is blocked and recorded, so
the test also proves that the maps work offline (Leaflet is served from
``static/``).  Screenshots land in ``tests/output/`` (git-ignored).

Needs ``/usr/bin/chromium`` (``make browser`` installs it); skipped without it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "output"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_S = 120  # a cold analysis on a busy 2-core machine

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (run `make browser`)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(workspace: Path, port: int, log: Any) -> subprocess.Popen[bytes]:
    """``streamlit run app.py`` on 127.0.0.1:port for a workspace; returns once it answers."""
    env = {**os.environ, "GRIDWATCH_WORKSPACE": str(workspace)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"streamlit did not answer on port {port} within 60 s; see {log.name}")


def settle(page, timeout_s: float = TIMEOUT_S) -> None:  # type: ignore[no-untyped-def]
    """Wait until the script has finished and every element is drawn (no spinner, no skeleton)."""
    busy = ('[data-test-script-state="running"], [data-test-script-state="initial"], '
            '[data-testid="stSpinner"], [data-testid="stSkeleton"]')
    deadline = time.monotonic() + timeout_s
    page.wait_for_timeout(400)
    quiet = 0
    while time.monotonic() < deadline:
        quiet = quiet + 1 if page.locator(busy).count() == 0 else 0
        if quiet >= 3:  # quiet for three polls in a row: a rerun may start right after another
            return
        page.wait_for_timeout(200)
    raise AssertionError("the app did not settle in time")


def map_frame(page, min_paths: int = 1, timeout_s: float = TIMEOUT_S):  # type: ignore[no-untyped-def]
    """The st_folium iframe whose Leaflet overlay pane holds at least ``min_paths`` SVG paths."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                if frame.locator(".leaflet-overlay-pane path").count() >= min_paths:
                    return frame
            except Exception:  # noqa: BLE001 - frames come and go while the app reruns
                continue
        page.wait_for_timeout(250)
    raise AssertionError(f"no Leaflet map with {min_paths}+ paths appeared")


def metric(page, label: str) -> str:  # type: ignore[no-untyped-def]
    box = page.locator('[data-testid="stMetric"]', has=page.get_by_text(label, exact=True)).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def as_number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from test_app import build_app_workspace

    root = build_app_workspace(tmp_path_factory.mktemp("browserws"))
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with open(OUT / "streamlit.log", "wb") as log:
        proc = start_app(root, port, log)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, app_url: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, locale="zh-CN")
    outside: list[str] = []

    def only_the_app(route) -> None:  # type: ignore[no-untyped-def]
        url = route.request.url
        if url.startswith(app_url) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", only_the_app)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_S * 1000)
    yield pg
    context.close()
    assert not outside, f"the app tried to reach the internet: {outside[:5]}"


def test_overview(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url)
    settle(page)
    page.get_by_role("heading", name="总览").wait_for()
    assert as_number(metric(page, "事件总数")) > 0
    assert page.get_by_text("问题清单（销号管理）").is_visible()
    # grid ranking, problem list and the patrol-gap table of the trends section
    assert page.locator('[data-testid="stDataFrame"]').count() == 3
    assert page.get_by_text("趋势与回头看").first.is_visible()
    page.screenshot(path=str(OUT / "overview.png"), full_page=True)


def test_hotspot_map_filter_and_click(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/hotspots")
    settle(page)
    frame = map_frame(page, min_paths=50)
    cells = as_number(metric(page, "单元数"))
    # every cell of the small tier is an SVG path (plus outlines, roads and the boundary)
    paths_small = frame.locator(".leaflet-overlay-pane path").count()
    assert paths_small > cells
    assert frame.get_by_text("热点（99% 置信度）").is_visible()  # the legend
    assert frame.locator(".leaflet-tile").count() == 0  # no tile layer by default
    page.screenshot(path=str(OUT / "hotspots_small.png"), full_page=True)

    chosen = page.get_by_role("combobox", name="选择单元（或在地图上点击）")
    before = chosen.input_value()  # the hottest cell, selected by default
    # click a cell near the map's corner (not a hot spot): it becomes the selected cell
    frame.locator(".leaflet-overlay-pane path.leaflet-interactive").nth(3).click(force=True)
    settle(page)
    after = chosen.input_value()
    assert after != before, "a click on the map did not select its cell"
    assert re.match(r"89[0-9a-f]{13} · ", after)  # a res-9 hex id, then its count and bin
    hex_id = after.split(" · ")[0]
    assert page.locator('[data-testid="stMarkdownContainer"]', has_text=hex_id).count() == 1  # its detail

    page.get_by_text("中网格", exact=True).first.click()  # tier switch in the sidebar
    settle(page)
    assert as_number(metric(page, "单元数")) < cells
    frame = map_frame(page, min_paths=5)
    assert frame.locator(".leaflet-overlay-pane path").count() < paths_small
    page.screenshot(path=str(OUT / "hotspots_middle.png"), full_page=True)


def test_planner(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/planner")
    settle(page)
    map_frame(page)
    assert as_number(metric(page, "岗位数")) == 20
    box = page.get_by_label("岗位数 p（含既有岗位）")
    box.fill("5")
    page.get_by_role("button", name="计算岗位").click()
    settle(page)
    assert as_number(metric(page, "岗位数")) == 5
    frame = map_frame(page)
    # five coverage circles and five markers on the map, five rows in the deployment table
    assert frame.locator(".leaflet-overlay-pane path").count() >= 10
    assert frame.locator(".gw-rank").count() == 5
    page.get_by_text("岗位部署表").wait_for()
    page.screenshot(path=str(OUT / "planner.png"), full_page=True)


def test_intake_and_language(page, app_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/intake")
    settle(page)
    csv = tmp_path / "patrol_browser.csv"
    csv.write_text("巡查编号,巡查时间,问题类型,经度,纬度\nB1,2024-03-20 08:10:00,逆行,116.3631,39.9102\n"
                   "B2,2024-03-20 08:20:00,闯红灯,116.3702,39.9135\nB3,2024-03-20 08:25:00,闯红灯,0,0\n",
                   encoding="utf-8")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(csv))
    settle(page)
    page.get_by_text("识别出的列映射").wait_for()
    page.get_by_role("button", name="导入").click()
    settle(page)
    page.get_by_text("核对一致").wait_for()
    assert as_number(metric(page, "读取")) == 3
    assert as_number(metric(page, "入库")) == 2 and as_number(metric(page, "隔离")) == 1
    page.get_by_text("下载隔离文件").wait_for()
    page.screenshot(path=str(OUT / "intake.png"), full_page=True)

    page.get_by_text("English", exact=True).click()
    settle(page)
    page.get_by_role("heading", name="Data intake").wait_for()
    assert page.get_by_text("Hotspot map").first.is_visible()  # the page list is translated too
