"""Regenerate ``docs/screenshots/`` at 1600×1000: every page of the app, each seen by the role that uses it.

Runs ``streamlit run app.py`` on a copy of a prepared workspace (default: the shipped sample,
``data/sample`` after ``make run`` or ``gridwatch setup-sample``), adds one throw-away account per role
to the copy, and drives Debian's Chromium (``/usr/bin/chromium``) with Playwright, every request outside
the app blocked (the screenshots show what an offline machine shows).

Run:  .venv/bin/python docs/make_screenshots.py [--workspace DIR] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.app.test_browser import (  # noqa: E402  (helpers shared with the end-to-end test)
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_TITLES,
    free_port,
    go,
    login,
    logout,
    map_frame,
    settle,
    start_app,
    stop_app,
)

VIEWPORT = {"width": 1600, "height": 1000}
SHOTS: dict[str, list[str]] = {
    "leader": ["overview", "hotspots"],
    "brigade": ["hotspots", "planner"],
    "analyst": ["events"],
    "admin": ["intake", "users", "settings", "audit"],
}
"""Role -> pages it is photographed on (its landing page first); every page appears at least once."""
MAP_PAGES = {"overview", "hotspots", "planner"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, default=ROOT / "data" / "sample")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args()
    if not (args.workspace / "store.duckdb").exists():
        print(f"{args.workspace} has no store: run `make run` (or `gridwatch setup-sample`) first", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from geo.access import auth
    from tests.app.test_app import add_test_users

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        shutil.copytree(args.workspace, ws, ignore=shutil.ignore_patterns("users.toml*", "uploads", "exports"))
        os.environ["GRIDWATCH_ARGON2_PROFILE"] = "test"
        add_test_users(ws)
        port = free_port()
        with open(Path(tmp) / "streamlit.log", "wb") as log:
            proc = start_app(ws, port, log)
            url = f"http://127.0.0.1:{port}"
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    for role, pages in SHOTS.items():
                        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
                        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
                            (url, "data:", "blob:", "about:")) else route.abort())
                        page = context.new_page()
                        page.set_default_timeout(180_000)
                        if role == "leader":
                            page.goto(url)
                            settle(page)
                            page.screenshot(path=str(args.out / "login_zh.png"))
                        login(page, url, role)
                        landing = auth.pages_for(role)[0]
                        for key in pages:
                            if key != landing:
                                go(page, key)
                            page.get_by_role("heading", name=PAGE_TITLES[key]).first.wait_for()
                            if key in MAP_PAGES:
                                map_frame(page)
                                page.wait_for_timeout(1500)  # Leaflet finishes drawing names
                            page.screenshot(path=str(args.out / f"{key}_zh.png"))
                            print(f"{role}: {key}_zh.png")
                        if role == "brigade":  # the same map in English
                            page.get_by_text("English", exact=True).click()
                            settle(page)
                            go_en = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')
                            go_en.filter(has_text="Hotspot map").first.click()
                            settle(page)
                            map_frame(page)
                            page.wait_for_timeout(1500)
                            page.screenshot(path=str(args.out / "hotspots_en.png"))
                            print("brigade: hotspots_en.png")
                            page.get_by_text("中文", exact=True).click()
                            settle(page)
                        logout(page)
                        context.close()
                    browser.close()
            finally:
                stop_app(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
