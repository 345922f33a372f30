"""Issue 21: logins that reveal nothing, lock-outs a stranger cannot impose, changes never without their audit row."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from geo.access import auth
from geo.cli import main
from geo.errors import StoreError
from geo.settings import AccessSettings, StoreSettings
from geo.store import audit
from geo.store.workspace import update_settings

PW = "correct horse 42"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
STRANGER, OFFICE = "203.0.113.9", "10.1.2.3"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setenv(auth.HASHER_ENV, "test")


@pytest.fixture
def ws(box_workspace):
    auth.add_user(box_workspace, "bob", "brigade", PW, actor="cli")
    return box_workspace


def _fail(ws, name, password, *, at, source=STRANGER) -> auth.AuthError:
    with pytest.raises(auth.AuthError) as exc:
        auth.authenticate(ws, name, password, now=at, source=source)
    return exc.value


def test_unknown_wrong_and_locked_get_the_same_answer(ws):
    answers = [_fail(ws, "nobody", PW, at=T0), _fail(ws, "bob", "wrong password", at=T0)]
    for i in range(5):
        _fail(ws, "bob", f"wrong {i}", at=T0)
    answers.append(_fail(ws, "bob", PW, at=T0 + timedelta(minutes=1)))  # locked, right password
    assert {(a.code, str(a)) for a in answers} == {("bad_credentials", str(answers[0]))}
    assert audit.read_audit(ws)["action"].iloc[-1] == "login_locked"


def test_a_stranger_locks_only_their_own_address_out(ws):
    for i in range(5):
        _fail(ws, "bob", f"guess {i}", at=T0 + timedelta(seconds=i))
    _fail(ws, "bob", PW, at=T0 + timedelta(minutes=1))  # the stranger is locked out even with the password
    # Bob at his office PC logs in at once.
    assert auth.authenticate(ws, "bob", PW, now=T0 + timedelta(minutes=1), source=OFFICE).username == "bob"
    # ... which does not clear the stranger's lock-out.
    _fail(ws, "bob", PW, at=T0 + timedelta(minutes=2))
    rec = tomllib.loads(auth.users_path(ws).read_text("utf-8"))["users"]["bob"]
    stranger = auth.source_fingerprint(ws, STRANGER)
    assert list(rec["lockouts"]) == [stranger] and rec["lockouts"][stranger]["failures"] == 5
    # Addresses are stored only as salted hashes.
    assert STRANGER not in auth.users_path(ws).read_text("utf-8") and STRANGER not in audit.read_audit(ws).to_csv()


def test_the_lockout_doubles_with_each_further_failure_up_to_the_cap(ws):
    ws = update_settings(ws, access=AccessSettings(lockout_max_minutes=50))
    assert [auth.lockout_minutes(ws, n) for n in (4, 5, 6, 7, 8)] == [0.0, 15.0, 30.0, 50.0, 50.0]
    t = T0
    for i in range(5):
        _fail(ws, "bob", f"guess {i}", at=t)
    until = datetime.fromisoformat(auth.get_user(ws, "bob").locked_until)
    assert until == T0 + timedelta(minutes=15)
    t = until + timedelta(seconds=1)  # the lock-out is over; the next failure locks twice as long
    _fail(ws, "bob", "guess 5", at=t)
    assert datetime.fromisoformat(auth.get_user(ws, "bob").locked_until) == t + timedelta(minutes=30)
    row = json.loads(audit.read_audit(ws)["details"].iloc[-1])
    assert (row["reason"], row["failures"], row["minutes"]) == ("too_many_failures", 6, 30.0)
    # The right password after the lock-out clears this address's count.
    t += timedelta(minutes=31)
    assert auth.authenticate(ws, "bob", PW, now=t, source=STRANGER).username == "bob"
    assert auth.get_user(ws, "bob").locked_until == ""


def test_failed_logins_never_store_what_was_typed_as_a_name(ws):
    typed = ["13812345678", PW, "bob ", "BOB"]
    for name in typed[:2]:
        _fail(ws, name, "whatever 123", at=T0)
    log = audit.read_audit(ws)
    text = log.to_csv()
    assert "13812345678" not in text and PW not in text
    rows = [json.loads(d) for d in log["details"].iloc[-2:]]
    assert [r["name_hash"] for r in rows] == [auth.name_fingerprint(ws, n) for n in typed[:2]]
    assert log["actor"].iloc[-2:].tolist() == ["?", "?"]
    # A real account's name (any case) is logged by its stored name.
    _fail(ws, "BOB", "whatever 123", at=T0)
    assert audit.read_audit(ws)["actor"].iloc[-1] == "bob"
    # The fingerprint is keyed with the workspace salt: not a plain hash anyone can recompute.
    import hashlib
    assert auth.name_fingerprint(ws, "13812345678") not in hashlib.sha256(b"13812345678").hexdigest()


# --- changes and their audit rows commit together (another process holds the store) ------------------------

HOLDER = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(float(sys.argv[2]))"


@contextlib.contextmanager
def _hold_store(ws, seconds: float, *, kill: bool = True) -> Iterator[None]:
    """Another process holds the store read-write for ``seconds`` (killed on exit unless ``kill=False``)."""
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(ws.store_path), str(seconds)],
                          stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout.readline().strip() == "ready"
        try:
            yield
        finally:
            if kill:
                proc.kill()
            proc.wait()


def _pending(ws) -> Path:
    return Path(str(auth.users_path(ws)) + auth.PENDING_SUFFIX)


def test_a_busy_store_refuses_the_change_and_leaves_nothing_behind(ws):
    ws = update_settings(ws, store=StoreSettings(busy_wait_seconds=0.5))
    before_file = auth.users_path(ws).read_bytes()
    before_log = len(audit.read_audit(ws))
    with _hold_store(ws, 30):
        with pytest.raises(StoreError, match="another gridwatch process"):
            auth.add_user(ws, "newbie", "leader", PW, actor="cli")
        with pytest.raises(StoreError):
            auth.set_role(ws, "bob", "analyst", actor="cli")
        with pytest.raises(StoreError):  # a login is refused too, and its failure count is not kept unaudited
            auth.authenticate(ws, "bob", "wrong password", now=T0)
    assert auth.users_path(ws).read_bytes() == before_file and not _pending(ws).exists()
    assert len(audit.read_audit(ws)) == before_log
    auth.add_user(ws, "newbie", "leader", PW, actor="cli")  # free again: the change and its row land
    assert audit.read_audit(ws)["target"].iloc[-1] == "newbie" and audit.verify_audit(ws).ok


def test_a_briefly_busy_store_is_waited_for_with_progress_messages(ws, caplog):
    ws = update_settings(ws, store=StoreSettings(busy_wait_seconds=20, busy_progress_seconds=0.2))
    with _hold_store(ws, 1.5, kill=False), caplog.at_level(logging.WARNING, logger="gridwatch.store"):
        auth.add_user(ws, "patient", "leader", PW, actor="cli")
    assert any("event store is busy" in r.getMessage() for r in caplog.records)
    assert auth.get_user(ws, "patient") is not None
    assert audit.read_audit(ws)["target"].iloc[-1] == "patient"


def test_cli_user_change_on_a_busy_store_exits_2_with_nothing_changed(ws, monkeypatch, capsys):
    ws = update_settings(ws, store=StoreSettings(busy_wait_seconds=0.3))
    import io
    with _hold_store(ws, 30):
        monkeypatch.setattr("sys.stdin", io.StringIO(PW + "\n"))
        code = main(["users", "add", "late", "--role", "leader", "--password-stdin", "-w", str(ws.root)])
    assert code == 2 and "another gridwatch process" in capsys.readouterr().err
    assert auth.get_user(ws, "late") is None and "late" not in audit.read_audit(ws)["target"].tolist()


def test_a_crash_between_the_audit_commit_and_the_file_replace_is_finished_later(ws, monkeypatch):
    real_replace = auth.os.replace

    def killed(src, dst):
        if str(src).endswith(auth.PENDING_SUFFIX):
            raise KeyboardInterrupt  # the process dies right after the audit row committed
        return real_replace(src, dst)

    monkeypatch.setattr(auth.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        auth.set_role(ws, "bob", "analyst", actor="cli")
    monkeypatch.setattr(auth.os, "replace", real_replace)
    assert _pending(ws).exists() and auth.get_user(ws, "bob").role == "brigade"
    assert audit.read_audit(ws)["action"].iloc[-1] == "user_change"
    # The next change (or login) finishes it: the audited change is applied.
    auth.authenticate(ws, "bob", PW)
    assert auth.get_user(ws, "bob").role == "analyst" and not _pending(ws).exists()


def test_a_pending_file_without_its_audit_row_is_discarded(ws):
    users = tomllib.loads(auth.users_path(ws).read_text("utf-8"))["users"]
    users["bob"]["role"] = "admin"  # a change whose audit row never committed
    import tomli_w
    _pending(ws).write_text(tomli_w.dumps({"users": users}), encoding="utf-8")
    auth.authenticate(ws, "bob", PW)
    assert auth.get_user(ws, "bob").role == "brigade" and not _pending(ws).exists()


# --- hashing profile and the terminal -------------------------------------------------------------------------

def test_the_cheap_hash_profile_is_ignored_outside_test_processes(monkeypatch, caplog):
    from argon2 import profiles

    monkeypatch.setenv(auth.HASHER_ENV, "test")
    assert auth.password_hasher().memory_cost == profiles.CHEAPEST.memory_cost
    monkeypatch.delenv(auth.TEST_PROCESS_ENV)
    with caplog.at_level(logging.WARNING, logger="gridwatch.access"):
        h = auth.password_hasher()
    assert h.memory_cost == profiles.get_default_parameters().memory_cost
    assert "ignored outside the test suite" in caplog.text


def test_users_add_without_a_terminal_points_at_password_stdin(ws, tmp_path):
    import os
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for args in (["users", "add", "x1", "--role", "leader"], ["users", "passwd", "bob"]):
        proc = subprocess.run([sys.executable, "-m", "geo.cli", *args, "-w", str(ws.root)], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env=env, start_new_session=True, timeout=60)
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and "--password-stdin" in proc.stderr and "Traceback" not in proc.stderr
