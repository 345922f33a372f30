"""End to end in a real browser: `streamlit run app.py` driven by Playwright with Debian's Chromium.

Every request that does not go to the app itself is blocked and recorded, so
the test also proves that the maps work offline (Leaflet is served from
``static/``).  Screenshots land in ``tests/output/`` (git-ignored).

Needs ``/usr/bin/chromium`` (``make browser`` installs it); skipped without it.

One browser session per role (leader, brigade, analyst, admin) against one
server: each logs in through the form, checks its page list and a download,
moves between pages through the sidebar (a reload would start a new,
logged-out session) and logs out.
"""

from __future__ import annotations

import json
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

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "output"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_S = 120  # a cold analysis on a busy 2-core machine
VIEWPORT = {"width": 1600, "height": 1000}  # the screen the issue measured the app on
MIN_MAP_SHARE = 0.6  # map first: the main map is at least 60 % of the viewport wide ...
MIN_MAP_HEIGHT = 600  # ... and 600 px high

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (run `make browser`)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(workspace: Path, port: int, log: Any) -> subprocess.Popen[bytes]:
    """``streamlit run app.py`` on 127.0.0.1:port for a workspace; returns once it answers."""
    env = {**os.environ, "GRIDWATCH_WORKSPACE": str(workspace), "GRIDWATCH_ARGON2_PROFILE": "test"}
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


def stop_app(proc: subprocess.Popen[bytes], timeout_s: float = 15) -> None:
    """Stop a server :func:`start_app` started: terminate, then kill if it does not exit in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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


def map_box(page) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Position and size (px) of the page's main map (the st_folium iframe)."""
    frame = page.locator('iframe[title*="st_folium"]').first
    frame.wait_for()
    box = frame.bounding_box()
    assert box is not None
    return box


def assert_map_first(page) -> None:  # type: ignore[no-untyped-def]
    """The map takes the main width (>= 60 % of the viewport) and >= 600 px of height, and draws street
    names (main roads) and official grid names from the workspace (the offline street map)."""
    box = map_box(page)
    assert box["width"] >= MIN_MAP_SHARE * VIEWPORT["width"], box
    assert box["height"] >= MIN_MAP_HEIGHT, box
    frame = map_frame(page)
    names = frame.locator(".gw-name.gw-road-main")
    deadline = time.monotonic() + 20
    while names.count() == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    roads = [t.strip() for t in names.all_inner_texts()]
    assert roads and all(re.search(r"[路街]", t) for t in roads), roads[:5]  # road names, drawn as text
    # official grid names at every zoom: big grids for a district, middle/small ones closer in
    assert frame.locator(".gw-name.gw-grid-big, .gw-name.gw-grid-middle, .gw-name.gw-grid-small").count() > 0


ASCII_ALLOWED = {"gridwatch", "English", "Language", "test", "leader", "brigade", "analyst", "admin", "CSV", "XLSX",
                 "GeoJSON", "GCJ", "WGS", "TOML", "toml", "EPSG", "YYYY", "yyyy"}
"""Latin words a Chinese page may show: the product name, the language switch (语言 · Language), the test workspace's and
users' names (data), file formats (gridwatch.toml), coordinate-system names and the
ISO date pattern of an empty date field (YYYY-MM-DD)."""

VISIBLE_TEXT_JS = """() => {
    const out = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
        const node = walk.currentNode, el = node.parentElement;
        if (!el || !node.textContent.trim()) continue;
        if (el.closest('[data-testid="stIconMaterial"], script, style, noscript, iframe')) continue;
        const shut = el.closest('details:not([open])');  // a closed expander shows its title only
        if (shut && !el.closest('summary')) continue;
        const cs = getComputedStyle(el);
        if (cs.display === 'none' || cs.visibility === 'hidden' || parseFloat(cs.fontSize) === 0) continue;
        if (/Material/i.test(cs.fontFamily)) continue;  // icon ligatures ("person_add") draw an icon, not words
        const r = el.getBoundingClientRect();
        // drawn text only: Streamlit's visually hidden skip link (1 px, for screen readers) is not on screen
        if (!el.getClientRects().length || r.width <= 1 || r.height <= 1) continue;
        out.push(node.textContent);
    }
    // placeholders and generated texts (the uploader's) are read too
    document.querySelectorAll('input[placeholder], textarea[placeholder]').forEach(
        (e) => { if (e.getClientRects().length && !e.value) out.push(e.placeholder); });
    return out.join(' \\n ');
}"""


def english_words(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Latin words (3+ letters) visible on the page outside :data:`ASCII_ALLOWED` (icon ligatures excluded)."""
    text = page.evaluate(VISIBLE_TEXT_JS)
    return sorted({w for w in re.findall(r"[A-Za-z][A-Za-z*]{2,}", text) if w not in ASCII_ALLOWED})


def assert_chinese_only(page, where: str) -> None:  # type: ignore[no-untyped-def]
    words = english_words(page)
    assert not words, f"English text on the Chinese {where} page: {words[:20]}"


def metric(page, label: str) -> str:  # type: ignore[no-untyped-def]
    box = page.locator('[data-testid="stMetric"]', has=page.get_by_text(label, exact=True)).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def as_number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.app.test_app import add_test_users, build_app_workspace

    root = build_app_workspace(tmp_path_factory.mktemp("browserws"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRIDWATCH_ARGON2_PROFILE", "test")
        add_test_users(root)
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with open(OUT / "streamlit.log", "wb") as log:
        proc = start_app(root, port, log)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_app(proc)


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, app_url: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
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


PAGE_TITLES = {"overview": "总览", "hotspots": "热点地图", "planner": "岗位规划", "events": "事件明细",
               "intake": "数据导入", "users": "用户管理", "settings": "设置", "audit": "审计日志"}


def login(page, app_url: str, username: str, *, screenshot: str | None = None,  # type: ignore[no-untyped-def]
          password: str | None = None) -> None:
    """Open the app at ``app_url`` (a new session shows the login form there) and log in."""
    from tests.app.test_app import PASSWORD

    page.goto(app_url)
    settle(page)
    page.get_by_role("heading", name="登录 gridwatch").wait_for()
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0  # no page list before login
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password or PASSWORD)
    page.get_by_role("button", name="登录").click()
    settle(page)
    page.get_by_role("button", name="退出登录").wait_for()


def nav_pages(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Titles of the sidebar's page list, in order."""
    links = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')
    titles = {v: k for k, v in PAGE_TITLES.items()}
    found = []
    for text in links.all_inner_texts():
        match = [title for title in titles if title in text.split("\n")]
        assert len(match) == 1, text
        found.append(titles[match[0]])
    return found


def go(page, key: str) -> None:  # type: ignore[no-untyped-def]
    """Open a page through the sidebar's page list (same session)."""
    page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]').filter(
        has_text=PAGE_TITLES[key]).first.click()
    settle(page)
    page.get_by_role("heading", name=PAGE_TITLES[key]).first.wait_for()


def download(page, label: str, suffix: str) -> None:  # type: ignore[no-untyped-def]
    """Click a download button, as a user does on a page that has finished drawing, and check the browser
    receives a non-empty file (a click while the page reruns races the rerun's new file)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    settle(page)
    try:
        with page.expect_download(timeout=60_000) as info:
            page.locator('[data-testid="stDownloadButton"]').get_by_role("button", name=label).first.click()
    except PlaywrightTimeout:
        shown = page.locator('[data-testid="stDownloadButtonError"]').all_inner_texts()
        raise AssertionError(f"no file after a click on {label!r}; the button says {shown}") from None
    dl = info.value
    assert dl.suggested_filename.endswith(suffix), dl.suggested_filename
    assert Path(dl.path()).stat().st_size > 0
    settle(page)


def download_labels(page) -> list[str]:  # type: ignore[no-untyped-def]
    # the material icon's name is text too ("download\n\n下载 CSV"): the label is the last line
    return [t.strip().split("\n")[-1] for t in page.locator('[data-testid="stDownloadButton"] button').all_inner_texts()]


def logout(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="退出登录").click()
    settle(page)
    page.get_by_text("已退出登录。").wait_for()
    page.get_by_role("heading", name="登录 gridwatch").wait_for()
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0


DEMAND_UNDER_POSTS_JS = """() => {
    const paths = Array.from(document.querySelectorAll('.leaflet-overlay-pane path'));
    const fill = (p) => (p.getAttribute('fill') || '').toLowerCase();
    const shown = (p) => parseFloat(p.getAttribute('fill-opacity') || '0') > 0;
    const demand = %s;
    const cells = paths.filter((p) => demand.includes(fill(p)) && shown(p)).map((p) => p.getBoundingClientRect());
    const posts = paths.filter((p) => ['#1f78b4', '#33a02c'].includes(fill(p))
                                      && p.getAttribute('fill-opacity') === '1').map((p) => p.getBoundingClientRect());
    const under = posts.filter((b) => {
        const x = b.x + b.width / 2, y = b.y + b.height / 2;
        return cells.some((c) => x >= c.x && x <= c.x + c.width && y >= c.y && y <= c.y + c.height);
    });
    return {cells: cells.length, posts: posts.length, under: under.length};
}"""


def demand_under_posts(frame) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Demand cells drawn on the planner's map, post markers, and markers sitting on a demand cell."""
    from geo.maps.render import SEQUENTIAL_COLOURS

    return frame.evaluate(DEMAND_UNDER_POSTS_JS % json.dumps([c.lower() for c in SEQUENTIAL_COLOURS]))


def test_analyst_overview_map_planner_events(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    login(page, app_url, "analyst", screenshot=str(OUT / "login.png"))
    assert nav_pages(page) == ["overview", "hotspots", "planner", "events"]
    assert page.get_by_text("分析员").first.is_visible()  # who is logged in, with the role
    assert_chinese_only(page, "login")

    # 总览: opens on the grid map
    page.get_by_role("heading", name="总览").wait_for()
    assert_map_first(page)
    assert as_number(metric(page, "事件总数")) > 0
    assert page.get_by_text("问题清单（销号管理）").is_visible()
    # the picked grid's problems, the ranking, the problem list and the patrol-gap table
    assert page.locator('[data-testid="stDataFrame"]').count() >= 3
    assert page.get_by_text("趋势与回头看").first.is_visible()
    assert_chinese_only(page, "overview")
    page.screenshot(path=str(OUT / "overview.png"), full_page=True)

    # 热点地图
    go(page, "hotspots")
    assert_map_first(page)
    frame = map_frame(page, min_paths=50)
    cells = as_number(metric(page, "单元数"))
    # every cell of the small tier is an SVG path (plus outlines and the boundary)
    paths_small = frame.locator(".leaflet-overlay-pane path").count()
    assert paths_small > cells
    assert page.get_by_text("热点（99% 置信度）").first.is_visible()  # the legend, under the map
    assert frame.locator(".leaflet-tile").count() == 0  # no tile layer by default: the street map is drawn
    assert_chinese_only(page, "hotspots")
    page.screenshot(path=str(OUT / "hotspots_small.png"), full_page=True)

    chosen = page.get_by_role("combobox", name="选择单元（或在地图上点击）")
    before = chosen.input_value()  # the hottest cell, selected by default
    assert before.startswith("第1位 · ")
    # click a cell near the map's corner (not a hot spot): it becomes the selected cell
    frame.locator(".leaflet-overlay-pane path.leaflet-interactive").nth(3).click(force=True)
    settle(page)
    after = chosen.input_value()
    assert after != before, "a click on the map did not select its cell"
    assert not re.search(r"8[89][0-9a-f]{13}", after)  # named by its grid, never by an H3 id
    grid = after.split(" · ")[1]
    assert page.locator('[data-testid="stMarkdownContainer"]', has_text=grid).count() >= 1  # its detail

    page.get_by_text("中网格", exact=True).first.click()  # tier switch in the sidebar
    settle(page)
    assert as_number(metric(page, "单元数")) < cells
    frame = map_frame(page, min_paths=5)
    assert frame.locator(".leaflet-overlay-pane path").count() < paths_small
    page.screenshot(path=str(OUT / "hotspots_middle.png"), full_page=True)

    # 岗位规划: the window's demand under the posts
    go(page, "planner")
    assert_map_first(page)
    assert as_number(metric(page, "岗位数")) == 20
    box = page.get_by_label("岗位数 p（含既有岗位）")
    box.fill("5")
    page.get_by_role("button", name="计算岗位").click()
    settle(page)
    assert as_number(metric(page, "岗位数")) == 5
    frame = map_frame(page)
    seen = demand_under_posts(frame)
    assert seen["posts"] == 5 and seen["cells"] > 20, seen
    assert seen["under"] >= 4, seen  # posts stand where the demand is
    assert frame.locator(".gw-rank").count() == 5
    page.get_by_text("岗位部署表").wait_for()
    assert download_labels(page) == ["下载 XLSX", "下载 CSV", "下载 GeoJSON"]
    assert_chinese_only(page, "planner")
    page.screenshot(path=str(OUT / "planner.png"), full_page=True)

    # 事件明细: masked fields only, a CSV download
    go(page, "events")
    page.get_by_text("重复来电", exact=True).wait_for()
    assert download_labels(page) == ["下载 CSV"]
    assert_chinese_only(page, "events")
    download(page, "下载 CSV", ".csv")
    page.screenshot(path=str(OUT / "events.png"), full_page=True)
    logout(page)


def test_leader_overview_and_map_only(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    login(page, app_url, "leader")
    assert nav_pages(page) == ["overview", "hotspots"]
    page.get_by_role("heading", name="总览").wait_for()
    assert_map_first(page)  # the leader lands on the grid map
    assert_chinese_only(page, "overview")
    assert download_labels(page) == ["下载 XLSX", "下载 CSV"]  # the problem list
    download(page, "下载 XLSX", ".xlsx")
    go(page, "hotspots")
    assert_map_first(page)
    map_frame(page, min_paths=50)
    assert_chinese_only(page, "hotspots")
    logout(page)


def test_brigade_map_and_planner_only(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    login(page, app_url, "brigade")
    assert nav_pages(page) == ["hotspots", "planner"]
    page.get_by_role("heading", name="热点地图").wait_for()
    assert_map_first(page)
    map_frame(page, min_paths=50)
    assert download_labels(page) == []  # no aggregate exports for the brigade
    assert_chinese_only(page, "hotspots")
    go(page, "planner")
    assert_map_first(page)
    seen = demand_under_posts(map_frame(page))
    assert seen["posts"] == 20 and seen["cells"] > 20 and seen["under"] >= 15, seen
    # the uploader of existing posts speaks Chinese, with the real size limit
    dropzone = page.locator('[data-testid="stFileUploaderDropzoneInstructions"] > div').first
    before = dropzone.evaluate("e => getComputedStyle(e, '::before').content")
    after = dropzone.evaluate("e => getComputedStyle(e, '::after').content")
    assert "将文件拖放到此处" in before and "50 MB" in after, (before, after)
    assert_chinese_only(page, "planner")
    assert download_labels(page) == ["下载 XLSX", "下载 CSV", "下载 GeoJSON"]
    download(page, "下载 GeoJSON", ".geojson")
    logout(page)


def test_admin_intake_users_audit_and_language(page, app_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    login(page, app_url, "admin")
    assert nav_pages(page) == ["intake", "users", "settings", "audit"]
    page.get_by_role("heading", name="数据导入").wait_for()
    assert_chinese_only(page, "intake")  # the uploaders included
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

    go(page, "users")
    users = page.locator('[data-testid="stDataFrame"]').first
    users.wait_for()
    assert_chinese_only(page, "users")
    page.screenshot(path=str(OUT / "users.png"), full_page=True)
    go(page, "settings")
    assert_chinese_only(page, "settings")

    go(page, "audit")
    page.get_by_text("锚定记录校验通过", exact=False).wait_for()
    assert_chinese_only(page, "audit")
    assert download_labels(page) == ["下载 CSV"]
    download(page, "下载 CSV", ".csv")
    page.screenshot(path=str(OUT / "audit.png"), full_page=True)

    page.get_by_text("English", exact=True).click()
    settle(page)
    page.get_by_role("heading", name="Audit log").wait_for()
    assert page.get_by_text("Users").first.is_visible()  # the page list is translated too
    page.get_by_role("button", name="Log out").click()
    settle(page)
    page.get_by_role("heading", name="Log in to gridwatch").wait_for()
