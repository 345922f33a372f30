"""Issue 21: many users at once on one store, and the idle timeout that acts without a click."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from geo.access import auth
from geo.store import audit
from geo.store.database import append_events, connect, read_events, store_counts
from tests.conftest import make_events

PW = "correct horse 42"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setenv(auth.HASHER_ENV, "test")


def _patrol_csv(path: Path, n: int) -> Path:
    rows = [{"编号": f"R{i:04d}", "巡查时间": f"2024-03-05 08:{i % 60:02d}:00", "经度": 116.36 + 0.0002 * i,
             "纬度": 39.905 + 0.0001 * i, "问题类型": "占道经营", "问题描述": "路口占道", "处置状态": "已处置"}
            for i in range(n)]
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")
    return path


def test_reads_during_logins_and_an_ingest_never_collide(xicheng_ws, tmp_path):
    """Threads of one process (the app's sessions) read read-only while others write audit rows and ingest."""
    from geo.ingest.pipeline import ingest_file

    ws = xicheng_ws
    events = make_events([116.37, 116.38, 116.375], [39.90, 39.91, 39.905],
                         ["2025-03-01 08:00", "2025-03-01 09:00", "2025-03-02 10:00"])
    with connect(ws.store_path) as con:
        con.execute("BEGIN")
        append_events(con, events)
        con.execute("COMMIT")
    for i in range(3):
        auth.add_user(ws, f"user{i}", "analyst", PW, actor="cli")
    csv = _patrol_csv(tmp_path / "patrol.csv", 120)
    errors: list[BaseException] = []
    done = threading.Event()
    counts = {"reads": 0, "logins": 0}
    lock = threading.Lock()

    def guarded(fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
        return run

    def reader():
        while not done.is_set():
            assert len(read_events(ws.store_path)) >= 3
            assert store_counts(ws.store_path)["events"] >= 3
            audit.read_audit(ws, limit=5)
            with lock:
                counts["reads"] += 1
            time.sleep(0.01)

    def logger_in(i):
        def run():
            for k in range(6):
                assert auth.authenticate(ws, f"user{i}", PW, source=f"10.0.0.{i}").username == f"user{i}"
                with pytest.raises(auth.AuthError):
                    auth.authenticate(ws, f"user{i}", "wrong password", source=f"10.0.1.{k}")
                with lock:
                    counts["logins"] += 1
        return run

    reports = []

    def ingester():
        reports.append(ingest_file(csv, "patrol", ws, crs="WGS84"))

    readers = [threading.Thread(target=guarded(reader)) for _ in range(4)]
    writers = [threading.Thread(target=guarded(logger_in(i))) for i in range(3)]
    writers.append(threading.Thread(target=guarded(ingester)))
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(timeout=240)
    done.set()
    for t in readers:
        t.join(timeout=60)
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    assert counts["logins"] == 18 and counts["reads"] > 0
    (report,) = reports
    assert report.read == 120 and report.stored > 0 and report.reconciles
    assert store_counts(ws.store_path)["events"] == 3 + report.stored
    log = audit.read_audit(ws)
    assert (log["action"] == "login").sum() == 18 and (log["action"] == "login_failed").sum() == 18
    assert (log["action"] == "ingest").sum() == 1
    check = audit.verify_audit(ws)
    assert check.ok and check.anchored_seq == check.rows, check


def test_an_ingest_outlasts_sessions_that_take_its_audit_seq(xicheng_ws, tmp_path, monkeypatch):
    """A session commits an audit row while every store attempt of an ingest is open (a login each time):
    the lock-free attempts conflict and are redone, the last one holds the audit lock and commits; the
    session's row follows it, and the chain stays whole."""
    from geo.ingest import pipeline

    ws = xicheng_ws
    sessions: list[threading.Thread] = []
    real_compare = pipeline._compare_with_store

    def compare_while_a_session_writes(con, events):  # inside the ingest's open transaction
        out = real_compare(con, events)
        login = threading.Thread(target=audit.record, args=(ws, "login"), kwargs={"actor": f"s{len(sessions)}"})
        sessions.append(login)
        login.start()
        login.join(timeout=1.0)  # committed at once, unless the ingest holds the audit lock
        return out

    monkeypatch.setattr(pipeline, "_compare_with_store", compare_while_a_session_writes)
    report = pipeline.ingest_file(_patrol_csv(tmp_path / "patrol.csv", 40), "patrol", ws, crs="WGS84")
    for login in sessions:
        login.join(timeout=60)
    assert report.stored == 40
    assert len(sessions) == pipeline._COMMIT_ATTEMPTS  # every lock-free attempt lost its seq to the session
    log = audit.read_audit(ws).sort_values("seq")
    assert log["action"].tolist()[-2:] == ["ingest", "login"]  # the last session waited for the commit
    assert (log["action"] == "login").sum() == len(sessions) and audit.verify_audit(ws).ok


def test_downloads_audited_from_many_threads_keep_one_unbroken_chain(box_workspace):
    ws = box_workspace
    errors: list[BaseException] = []

    def worker(i):
        try:
            for k in range(10):
                audit.record(ws, "download", actor=f"u{i}", target=f"f{k}.csv")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    log = audit.read_audit(ws)
    assert log["seq"].tolist() == list(range(1, 81)) and audit.verify_audit(ws).ok


# --- the idle timeout acts from the browser's timer, not on the next click ----------------------------------

def _idle_page() -> None:
    import os

    import streamlit as st

    from geo.app import session
    from geo.store.workspace import load_workspace

    ws = load_workspace(os.environ["GRIDWATCH_WORKSPACE"])
    if session.current_user() is not None:
        st.markdown("events on screen")
    session.idle_watch(ws)


@pytest.mark.parametrize("idle_s, ends", [(60, False), (31 * 60, True)])
def test_the_idle_watch_ends_an_idle_session_and_clears_the_page(box_workspace, monkeypatch, idle_s, ends):
    from streamlit.testing.v1 import AppTest

    from geo.app import session

    ws = box_workspace
    auth.add_user(ws, "ann", "analyst", PW, actor="cli")
    monkeypatch.setenv("GRIDWATCH_WORKSPACE", str(ws.root))
    at = AppTest.from_function(_idle_page, default_timeout=60)
    at.session_state[session.USER_KEY] = {"username": "ann", "role": "analyst", "display_name": ""}
    at.session_state[session.LAST_SEEN_KEY] = time.time() - idle_s
    at.run()
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert ("events on screen" in shown) is not ends
    logouts = audit.read_audit(ws, action="logout")
    assert len(logouts) == int(ends)
    if ends:
        assert '"timeout"' in logouts["details"].iloc[0] and session.USER_KEY not in at.session_state


def test_the_idle_watch_polls_a_quarter_of_the_timeout_within_bounds(box_workspace):
    from geo.app import session
    from geo.settings import AccessSettings
    from geo.store.workspace import update_settings

    assert session.idle_check_seconds(box_workspace) == 60.0  # 30 min timeout
    ws = update_settings(box_workspace, access=AccessSettings(session_timeout_minutes=1))
    assert session.idle_check_seconds(ws) == 15.0
