"""The app in a real browser: time to first map, to a filter change, and what map interaction costs.

Starts ``streamlit run app.py`` on a free localhost port and drives it with
Playwright and Debian's Chromium (``/usr/bin/chromium``), every request
outside the app blocked (the maps must work offline).  Times, in seconds:

The app asks for a login: the run adds a throw-away analyst account to the
workspace (random password, removed at the end), and every page load — a new
session — logs in first, so the first-map times include one login.

* ``first map (cold)`` — a fresh server process: open the hotspot page until
  the Leaflet overlay holds the cells and the script has finished (reads the
  store, runs Gi*);
* ``first map (warm)`` — a new browser session on the same server (caches warm);
* ``filter: tier`` / ``filter: window`` — change the tier (small → middle) or
  the time window (all day → morning peak) until the new map is drawn;
* ``map click`` — click a cell until its detail shows (a rerun on cached analyses);
* ``pan/zoom reruns`` — script reruns caused by zooming and dragging the map
  (must be 0: only clicks come back to Python);
* ``planner: p`` — submit a new number of posts until the plan's map is drawn.

Baseline measured in the same run: the library calls alone, in-process
(``read_events`` + ``hotspot_cells`` for the same filters), so the UI's
overhead is the difference.

``--large`` adds a synthetic workspace of ~1.5e5 res-9 cells and 1e5 events
(beyond folium: drawn with deck.gl).

Run:  python benchmarks/bench_app.py [--workspace DIR] [--large] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.app.test_browser import (  # noqa: E402  (helpers shared with the end-to-end test)
    CHROMIUM,
    CHROMIUM_ARGS,
    as_number,
    free_port,
    login,
    map_frame,
    metric,
    settle,
    start_app,
    stop_app,
)

RUNS_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__gwRuns = 0;
  new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'running') { window.__gwRuns += 1; }
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def build_large(root: Path, n: int = 100_000, seed: int = 3,
                bbox: tuple[float, float, float, float] = (115.9, 39.5, 117.1, 40.5)) -> Path:
    """A ~11,000 km² workspace (≈1.5e5 res-9 cells) with ``n`` clustered events, no grids or roads."""
    import numpy as np
    import pandas as pd

    from geo.grid import h3cells
    from geo.settings import TIERS
    from geo.store.database import append_events, connect
    from geo.store.workspace import init_workspace

    ws = init_workspace(root, bbox=bbox, name="large benchmark")
    config = ws.root / "gridwatch.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[settings.hotspots]\ninference = "analytic"\n',
                      encoding="utf-8")
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 10, n)
    centres = rng.uniform([bbox[0], bbox[1]], [bbox[2], bbox[3]], (9, 2))
    c = centres[np.maximum(k - 1, 0)]
    lon = np.clip(np.where(k == 0, rng.uniform(bbox[0], bbox[2], n), c[:, 0] + rng.normal(0, 0.02, n)),
                  bbox[0] + 1e-3, bbox[2] - 1e-3)
    lat = np.clip(np.where(k == 0, rng.uniform(bbox[1], bbox[3], n), c[:, 1] + rng.normal(0, 0.015, n)),
                  bbox[1] + 1e-3, bbox[3] - 1e-3)
    ids = np.char.add("L", np.arange(n).astype(str))
    frame = pd.DataFrame({
        "event_id": np.char.add("patrol:", ids), "source": np.array(["patrol", "hotline", "violation"])[k % 3],
        "category": np.array(["red_light", "illegal_parking", "debris_pile"])[rng.integers(0, 3, n)],
        "occurred_at": (pd.Timestamp("2024-01-01", tz="Asia/Shanghai")
                        + pd.to_timedelta(rng.integers(0, 180 * 1440, n), "min")).tz_convert("UTC"),
        "lon": lon, "lat": lat, "crs_in": "WGS84", "location_method": "coordinates",
        "is_closed": rng.random(n) < 0.8, "content_hash": ids, "ingest_id": "bench", "source_file": "bench",
        "source_row": np.arange(n)})
    for tier in TIERS:
        frame[f"h3_{tier}"] = h3cells.cells_for_points(lon, lat, ws.settings.tiers.resolution(tier))
    with connect(ws.store_path) as con:
        con.execute("BEGIN")
        append_events(con, frame)
        con.execute("COMMIT")
    return ws.root


def library_baseline(workspace: Path) -> dict[str, float]:
    """The same analyses without the UI, in-process (first call each: nothing cached)."""
    from geo.analysis.filters import EventFilter
    from geo.analysis.hotcells import hotspot_cells
    from geo.store.database import read_events
    from geo.store.workspace import load_workspace

    ws = load_workspace(workspace)
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    ev = read_events(ws.store_path)
    out["read_events"] = time.perf_counter() - t0
    for label, flt, tier in (("hotspot_cells small/all", EventFilter(), "small"),
                             ("hotspot_cells middle/all", EventFilter(), "middle"),
                             ("hotspot_cells middle/morning", EventFilter(window="morning_peak"), "middle")):
        t0 = time.perf_counter()
        hotspot_cells(ws, ev, flt, tier=tier)
        out[label] = time.perf_counter() - t0
    out["events"] = float(len(ev))
    return out


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


BENCH_USER = "bench_ui"


@contextmanager
def bench_account(workspace: Path) -> Iterator[str]:
    """A throw-away analyst account (random password) for the browser run, removed afterwards."""
    import secrets

    from geo.access import auth
    from geo.store.workspace import load_workspace

    ws = load_workspace(workspace)
    if auth.get_user(ws, BENCH_USER) is not None:  # left by an interrupted run
        auth.remove_user(ws, BENCH_USER, actor="bench")
    password = secrets.token_urlsafe(16)
    auth.add_user(ws, BENCH_USER, "analyst", password, actor="bench")
    try:
        yield password
    finally:
        auth.remove_user(ws, BENCH_USER, actor="bench")


def browser_run(workspace: Path, log_dir: Path, *, planner: bool = True) -> dict[str, float]:
    """Timings of the app in Chromium; every page load is a new session, so each one logs in first."""
    with bench_account(workspace) as password:
        return _browser_run(workspace, log_dir, password, planner=planner)


def _browser_run(workspace: Path, log_dir: Path, password: str, *, planner: bool) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    results: dict[str, float] = {}
    with open(log_dir / f"streamlit_{port}.log", "wb") as log:
        proc = start_app(workspace, port, log)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                outside: list[str] = []

                def new_page() -> Any:
                    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})  # the screen
                    ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith((url, "data:", "blob:"))
                              else (outside.append(r.request.url), r.abort()))
                    pg = ctx.new_page()
                    pg.set_default_timeout(600_000)
                    return pg

                def open_map(pg: Any) -> None:
                    login(pg, f"{url}/hotspots", BENCH_USER, password=password)
                    settle(pg, 600)
                    if pg.locator('[data-testid="stDeckGlJsonChart"]').count() == 0:
                        map_frame(pg, min_paths=5, timeout_s=600)

                page = new_page()
                results["first map (cold)"] = timed(lambda: open_map(page))
                results["cells"] = as_number(metric(page, "单元数"))
                page = new_page()
                results["first map (warm)"] = timed(lambda: open_map(page))
                folium_map = page.locator('[data-testid="stDeckGlJsonChart"]').count() == 0
                if folium_map:
                    page.evaluate(RUNS_JS)
                    frame = map_frame(page)
                    frame.locator(".leaflet-control-zoom-in").click()
                    box = frame.locator(".leaflet-container").bounding_box()
                    page.mouse.move(box["x"] + 300, box["y"] + 300)
                    page.mouse.down()
                    page.mouse.move(box["x"] + 200, box["y"] + 250, steps=8)
                    page.mouse.up()
                    frame.locator(".leaflet-control-zoom-out").click()
                    page.wait_for_timeout(2000)
                    results["pan/zoom reruns"] = float(page.evaluate("window.__gwRuns"))
                    cell = frame.locator(".leaflet-overlay-pane path.leaflet-interactive").nth(5)
                    results["map click"] = timed(lambda: (cell.click(force=True), settle(page, 600)))

                def change_tier() -> None:
                    page.get_by_text("中网格", exact=True).first.click()
                    settle(page, 600)
                    if folium_map:
                        map_frame(page)

                results["filter: tier"] = timed(change_tier)

                def change_window() -> None:
                    page.get_by_role("combobox", name="时段").click()
                    page.get_by_role("option", name="早高峰").click()
                    settle(page, 600)

                results["filter: window"] = timed(change_window)
                if planner:
                    login(page, f"{url}/planner", BENCH_USER, password=password)
                    settle(page, 600)
                    map_frame(page)

                    def replan() -> None:
                        page.get_by_label("岗位数 p（含既有岗位）").fill("10")
                        page.get_by_role("button", name="计算岗位").click()
                        settle(page, 600)
                        map_frame(page)

                    results["planner: p"] = timed(replan)
                browser.close()
                if outside:
                    raise AssertionError(f"the app tried to reach the internet: {outside[:3]}")
        finally:
            stop_app(proc)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workspace", type=Path, default=None, help="default: GRIDWATCH_WORKSPACE or the sample")
    ap.add_argument("--large", action="store_true", help="also run the 1.5e5-cell / 1e5-event workspace")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tmp" / "bench_app.json")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"needs {CHROMIUM} (make browser)")

    from geo.store.workspace import resolve_workspace_dir

    workspace = resolve_workspace_dir(args.workspace)
    if workspace == resolve_workspace_dir(None) and not os.environ.get("GRIDWATCH_WORKSPACE"):
        from geo.synthetic.workspace import ensure_sample_workspace

        ensure_sample_workspace()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    scenarios = [("sample" if not args.workspace else workspace.name, workspace)]
    tmp = tempfile.TemporaryDirectory()
    if args.large:
        print("# building the large workspace …", flush=True)
        scenarios.append(("large", build_large(Path(tmp.name) / "large")))
    report: dict[str, Any] = {}
    for name, ws in scenarios:
        print(f"# {name}: {ws}", flush=True)
        base = library_baseline(ws)
        ui = browser_run(ws, args.out.parent, planner=name != "large")
        report[name] = {"library": base, "browser": ui}
        print(f"\n## {name}: {int(base['events']):,} events, {int(ui.get('cells', 0)):,} cells (small tier)\n")
        print("| step | seconds |")
        print("|---|---:|")
        for key, value in base.items():
            if key != "events":
                print(f"| library: {key} | {value:.2f} |")
        for key, value in ui.items():
            if key == "cells":
                continue
            print(f"| browser: {key} | {value:.0f} |" if key == "pan/zoom reruns" else
                  f"| browser: {key} | {value:.2f} |")
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nwritten {args.out}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
