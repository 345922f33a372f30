"""Many users at once: N sessions log in together and open the hotspot map (issue 21).

Each session is a Streamlit ``AppTest`` of ``app.py`` running in its own
thread of *this* process, so the sessions share what a real server process
shares: the store's DuckDB handle, Streamlit's caches and the GIL.  A session
logs in through the form (an argon2id check with the recommended profile and
an audit row: a write to the store) and then opens the hotspot page (reads
the store, runs Gi*, draws the map).  Before each round the caches are
cleared, so every round starts cold.

Per round it prints: sessions, errors (exceptions or error messages on the
page; must be 0), time to the first map (median and slowest session, from
the start of the round), the process's resident memory after the round and
its peak so far.

The workspace is the app tests' small built one (5.7 km², 2,400 events) in a
temporary folder, with one analyst per session (random passwords).

Run:  python benchmarks/bench_load.py [--sessions 1 4 8] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import resource
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _suite import add_json_out, result_row, write_rows  # noqa: E402


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_session(app: str, user: str, password: str, t0: float, out: dict[str, Any]) -> None:
    """Log in through the form, open the hotspot page; record errors and the time the map was there."""
    from streamlit.testing.v1 import AppTest

    errors: list[str] = []
    try:
        at = AppTest.from_file(app, default_timeout=600)
        at.run()
        at.text_input(key="login_username").input(user)
        at.text_input(key="login_password").input(password)
        at.button(key="login_submit").click().run()
        errors += [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]
        if any(t.key == "login_username" for t in at.text_input):
            errors.append("still on the login form")
        else:
            at.switch_page("app_pages/hotspots.py").run()
            errors += [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]
            if not at.title or at.title[0].value not in ("热点地图", "Hotspot map"):
                errors.append("the hotspot page did not open")
    except Exception as exc:  # noqa: BLE001 - counted as the session's error
        errors.append(f"{type(exc).__name__}: {exc}")
    out["seconds"] = time.perf_counter() - t0
    out["errors"] = errors


def run_round(app: str, accounts: list[tuple[str, str]]) -> dict[str, Any]:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    results: list[dict[str, Any]] = [{} for _ in accounts]
    start = threading.Barrier(len(accounts) + 1)

    def worker(i: int) -> None:
        start.wait()
        one_session(app, accounts[i][0], accounts[i][1], t0, results[i])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(accounts))]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    times = [r["seconds"] for r in results]
    errors = [e for r in results for e in r["errors"]]
    return {"sessions": len(accounts), "errors": len(errors), "error_texts": sorted(set(errors))[:5],
            "median_s": statistics.median(times), "max_s": max(times), "rss_mb": _rss_mb(), "peak_mb": _peak_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8])
    add_json_out(parser)
    args = parser.parse_args()

    import os

    from geo.access import auth
    from geo.store import audit
    from geo.store.workspace import load_workspace
    from tests.app.test_app import APP, build_app_workspace

    with tempfile.TemporaryDirectory(prefix="gw_load_") as tmp:
        root = build_app_workspace(Path(tmp) / "ws")
        os.environ["GRIDWATCH_WORKSPACE"] = str(root)
        ws = load_workspace(root)
        accounts = []
        for i in range(max(args.sessions)):
            password = secrets.token_urlsafe(16)
            auth.add_user(ws, f"load{i}", "analyst", password, actor="bench")
            accounts.append((f"load{i}", password))
        rows, table = [], []
        for n in args.sessions:
            r = run_round(APP, accounts[:n])
            table.append(r)
            case = f"{n} sessions"
            rows += [result_row("load", case, "errors", r["errors"], "count"),
                     result_row("load", case, "first map (median)", r["median_s"], "s"),
                     result_row("load", case, "first map (slowest)", r["max_s"], "s"),
                     result_row("load", case, "server RSS after", r["rss_mb"], "MB", peak_rss_mb=r["peak_mb"])]
        check = audit.verify_audit(ws)
        logins = int((audit.read_audit(ws, action="login")["actor"].str.startswith("load")).sum())

    print(f"{'sessions':>8}  {'errors':>6}  {'first map median':>16}  {'slowest':>8}  {'RSS after':>9}  {'peak RSS':>8}")
    for r in table:
        print(f"{r['sessions']:>8}  {r['errors']:>6}  {r['median_s']:>15.1f}s  {r['max_s']:>7.1f}s  "
              f"{r['rss_mb']:>7.0f}MB  {r['peak_mb']:>6.0f}MB")
        for text in r["error_texts"]:
            print(f"          error: {text[:200]}")
    print(f"audit: {logins} logins recorded, chain {'intact' if check.ok else 'BROKEN: ' + check.problem}")
    write_rows(args.json_out, rows)


if __name__ == "__main__":
    main()
