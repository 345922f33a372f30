"""Issue 21: a kill between the quarantine write and the commit leaves no orphan quarantine file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import geo.ingest.pipeline as pipeline
from geo.ingest.pipeline import PENDING_QUARANTINE, ingest_file, recover_pending_quarantine
from geo.store.database import connect, store_counts

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def _files(ws) -> list[str]:
    return sorted(p.name for p in ws.quarantine_dir.iterdir()) if ws.quarantine_dir.exists() else []


def test_a_committed_ingest_names_its_quarantine_file_and_leaves_no_pending_file(xicheng_ws):
    r = ingest_file(BAD / "bad_coordinates.csv", "patrol", xicheng_ws, crs="WGS84")
    assert r.quarantined > 0 and Path(r.quarantine_file).exists()
    assert _files(xicheng_ws) == [Path(r.quarantine_file).name]


def test_a_failed_commit_removes_its_quarantine_file(xicheng_ws, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "record_ingest", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(BAD / "bad_coordinates.csv", "patrol", xicheng_ws, crs="WGS84")
    assert _files(xicheng_ws) == [] and store_counts(xicheng_ws.store_path)["events"] == 0


def test_leftovers_of_killed_ingests_are_completed_or_removed_by_the_next_ingest(xicheng_ws):
    ws = xicheng_ws
    r = ingest_file(BAD / "bad_coordinates.csv", "patrol", ws, crs="WGS84")
    done = Path(r.quarantine_file)
    # Killed after the commit, before the rename: the recorded file is still pending.
    os.replace(done, done.with_name(done.name + PENDING_QUARANTINE))
    # Killed before the commit: a pending file no ingest recorded (and a half-written temporary one).
    orphan = ws.quarantine_dir / f"20250101T000000-deadbeef_x.csv{PENDING_QUARANTINE}"
    orphan.write_text("raw\n", encoding="utf-8")
    half = ws.quarantine_dir / f"20250101T000001-deadbeef_y.csv{PENDING_QUARANTINE}.tmp"
    half.write_text("ra", encoding="utf-8")
    # The Dask engine's quarantine files (never pending) are not touched.
    other = ws.quarantine_dir / "scale_ingest_z.csv"
    other.write_text("raw\n", encoding="utf-8")
    with connect(ws.store_path) as con:
        lines = recover_pending_quarantine(con, ws.quarantine_dir)
    assert len(lines) == 3 and any("completed" in x for x in lines)
    assert _files(ws) == sorted([done.name, other.name])


KILLER = """
import os, signal, sys
import geo.ingest.pipeline as p
from geo.store.workspace import load_workspace
real = p.record_ingest
def die(con, row):
    real(con, row)
    os.kill(os.getpid(), signal.SIGKILL)  # after the quarantine file is written, before the commit
p.record_ingest = die
p.ingest_file(sys.argv[2], "patrol", load_workspace(sys.argv[1]), crs="WGS84")
"""


def test_sigkill_between_the_quarantine_write_and_the_commit(xicheng_ws):
    ws = xicheng_ws
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-c", KILLER, str(ws.root), str(BAD / "bad_coordinates.csv")],
                          env=env, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    pending = [n for n in _files(ws) if PENDING_QUARANTINE in n]
    assert pending  # what the kill left
    assert store_counts(ws.store_path)["events"] == 0  # rolled back
    r = ingest_file(BAD / "bad_coordinates.csv", "patrol", ws, crs="WGS84")  # the retry cleans up
    assert _files(ws) == [Path(r.quarantine_file).name]


# --- an ingest that meets a store another process holds waits, saying so ---------------------------------

def _settings(ws, **store):
    from geo.settings import StoreSettings
    from geo.store.workspace import update_settings

    return update_settings(ws, store=StoreSettings(**store))


def test_an_ingest_waits_for_a_busy_store_with_progress_lines(xicheng_ws, monkeypatch):
    from tests.access.test_login_abuse import HOLDER

    ws = _settings(xicheng_ws, busy_wait_seconds=30, busy_progress_seconds=0.2)
    procs = []
    real_sha = pipeline.file_sha256

    def sha_then_someone_takes_the_store(path):  # runs right before the ingest opens the store
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(ws.store_path), "2"], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout.readline().strip() == "ready"
        procs.append(proc)
        return real_sha(path)

    monkeypatch.setattr(pipeline, "file_sha256", sha_then_someone_takes_the_store)
    lines: list[tuple[str, float]] = []
    try:
        r = ingest_file(BAD / "bad_coordinates.csv", "patrol", ws, crs="WGS84",
                        progress=lambda stage, f: lines.append((stage, f)))
    finally:
        for proc in procs:
            proc.wait()
            proc.stdout.close()
    assert r.reconciles and r.stored + r.quarantined == r.read
    assert any("event store is busy" in stage for stage, _ in lines), lines


def test_an_ingest_gives_up_on_a_store_held_too_long_and_leaves_nothing(xicheng_ws):
    from geo.errors import StoreError
    from tests.access.test_login_abuse import _hold_store

    ws = _settings(xicheng_ws, busy_wait_seconds=0.5)
    with _hold_store(ws, 30), pytest.raises(StoreError, match="busy_wait_seconds"):
        ingest_file(BAD / "bad_coordinates.csv", "patrol", ws, crs="WGS84")
    assert _files(ws) == [] and store_counts(ws.store_path)["events"] == 0


def test_an_audit_row_committed_during_the_ingest_makes_it_redo_not_fail(xicheng_ws, monkeypatch):
    """A login audited while the ingest's transaction is open takes the seq its snapshot would use."""
    from geo.store import audit

    ws = xicheng_ws
    real = pipeline.record_ingest
    calls = []

    def with_a_login_in_between(con, row):
        calls.append(1)
        if len(calls) == 1:
            audit.record(ws, "login", actor="someone")  # another session, same process, commits first
        return real(con, row)

    monkeypatch.setattr(pipeline, "record_ingest", with_a_login_in_between)
    r = ingest_file(BAD / "bad_coordinates.csv", "patrol", ws, crs="WGS84")
    assert len(calls) == 2 and r.reconciles  # redone once
    log = audit.read_audit(ws)
    assert log["action"].tolist()[-2:] == ["login", "ingest"] and audit.verify_audit(ws).ok
    assert store_counts(ws.store_path)["events"] == r.stored
    assert _files(ws) == ([Path(r.quarantine_file).name] if r.quarantined else [])
