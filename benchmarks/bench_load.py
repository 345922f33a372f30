"""Many users at once: N browser sessions log in together and open the hotspot map (issue 21).

Starts ``streamlit run app.py`` on a free localhost port (the app tests' small
built workspace: 5.7 km², 2,400 events; one analyst account per session, random
passwords, the recommended argon2id profile) and drives it with Playwright and
Debian's Chromium (``/usr/bin/chromium``): one browser, one context (= one
Streamlit session) per user, all started at once.  Each session opens
``/hotspots``, logs in through the form (an argon2id check and an audit row:
a write to the store while the other sessions read it) and waits for the
Leaflet map's cells.  Every round uses a fresh server, so each starts cold.

Per round: sessions, errors (a timed-out session, or an error message on its
page: must be 0), time to the first map (median and slowest session, from
the start of the round) and the server's resident memory (peak, sampled
every 0.2 s, and at the end).

Run:  python benchmarks/bench_load.py [--sessions 1 4 8] [--timeout 180] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _suite import TreeRSS, add_json_out, result_row, tree_rss, write_rows  # noqa: E402

from tests.app.test_browser import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop_app  # noqa: E402

ERROR_SELECTOR = '[data-testid="stAlertContentError"], [data-testid="stException"]'


async def one_session(browser: Any, url: str, user: str, password: str, t0: float, timeout_s: float,
                      out: dict[str, Any]) -> None:
    """Log in at ``/hotspots`` and wait until the map holds cells; record the time or the error."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    await ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith((url, "data:", "blob:"))
                    else r.abort())
    page = await ctx.new_page()
    page.set_default_timeout(timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    try:
        await page.goto(f"{url}/hotspots")
        await page.get_by_role("heading", name="登录 gridwatch").wait_for()
        await page.get_by_label("用户名").fill(user)
        await page.get_by_label("密码", exact=True).fill(password)
        await page.get_by_role("button", name="登录").click()
        while True:
            if await page.locator(ERROR_SELECTOR).count():
                out["error"] = (await page.locator(ERROR_SELECTOR).first.inner_text())[:300]
                break
            found = False
            for frame in page.frames:
                try:
                    if await frame.locator(".leaflet-overlay-pane path").count() >= 5:
                        found = True
                        break
                except Exception:  # noqa: BLE001 - frames come and go while the app reruns
                    continue
            if found:
                out["seconds"] = time.perf_counter() - t0
                break
            if time.monotonic() > deadline:
                out["error"] = f"no map within {timeout_s:g} s"
                break
            await page.wait_for_timeout(250)
    except Exception as exc:  # noqa: BLE001 - a session that failed is counted, not fatal
        out["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        await ctx.close()


async def run_sessions(url: str, accounts: list[tuple[str, str]], timeout_s: float) -> list[dict[str, Any]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        results: list[dict[str, Any]] = [{} for _ in accounts]
        t0 = time.perf_counter()
        await asyncio.gather(*(one_session(browser, url, u, pw, t0, timeout_s, results[i])
                               for i, (u, pw) in enumerate(accounts)))
        await browser.close()
    return results


def run_round(workspace: Path, accounts: list[tuple[str, str]], timeout_s: float, log_dir: Path) -> dict[str, Any]:
    port = free_port()
    with open(log_dir / f"streamlit_{port}.log", "wb") as log:
        proc = start_app(workspace, port, log)
        try:
            with TreeRSS(proc.pid) as rss:
                results = asyncio.run(run_sessions(f"http://127.0.0.1:{port}", accounts, timeout_s))
                end_mb = tree_rss(proc.pid)[0] / 2**20
            peak_mb = rss.peak_bytes / 2**20
        finally:
            stop_app(proc, timeout_s=30)
    times = [r["seconds"] for r in results if "seconds" in r]
    errors = [r["error"] for r in results if "error" in r]
    return {"sessions": len(accounts), "errors": len(errors), "error_texts": sorted(set(errors))[:5],
            "median_s": statistics.median(times) if times else float("nan"),
            "max_s": max(times) if times else float("nan"), "end_mb": end_mb, "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds a session may take to its map")
    add_json_out(parser)
    args = parser.parse_args()

    from geo.access import auth
    from geo.store import audit
    from geo.store.workspace import load_workspace
    from tests.app.test_app import build_app_workspace

    with tempfile.TemporaryDirectory(prefix="gw_load_") as tmp:
        root = build_app_workspace(Path(tmp) / "ws")
        ws = load_workspace(root)
        accounts = []
        for i in range(max(args.sessions)):
            password = secrets.token_urlsafe(16)
            auth.add_user(ws, f"load{i}", "analyst", password, actor="bench")
            accounts.append((f"load{i}", password))
        rows, table = [], []
        for n in args.sessions:
            r = run_round(root, accounts[:n], args.timeout, Path(tmp))
            table.append(r)
            case = f"{n} sessions"
            rows += [result_row("load", case, "errors", r["errors"], "count"),
                     result_row("load", case, "first map (median)", r["median_s"], "s"),
                     result_row("load", case, "first map (slowest)", r["max_s"], "s"),
                     result_row("load", case, "server RSS at end", r["end_mb"], "MB", peak_rss_mb=r["peak_mb"])]
        check = audit.verify_audit(ws)
        logins = int(audit.read_audit(ws, action="login")["actor"].str.startswith("load").sum())

    print(f"{'sessions':>8}  {'errors':>6}  {'first map median':>16}  {'slowest':>8}  {'server RSS peak':>15}  "
          f"{'at end':>7}")
    for r in table:
        print(f"{r['sessions']:>8}  {r['errors']:>6}  {r['median_s']:>15.1f}s  {r['max_s']:>7.1f}s  "
              f"{r['peak_mb']:>13.0f}MB  {r['end_mb']:>5.0f}MB")
        for text in r["error_texts"]:
            print(f"          error: {text}")
    print(f"audit: {logins} logins recorded, chain {'intact' if check.ok else 'BROKEN: ' + check.problem}")
    write_rows(args.json_out, rows)


if __name__ == "__main__":
    main()
