"""Users, roles, logins and the ``gridwatch users`` commands (issue 12)."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher, profiles

from geo.access import auth
from geo.cli import main
from geo.settings import AccessSettings
from geo.store import audit
from geo.store.workspace import load_workspace, update_settings

PW = "correct horse 42"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """Cheapest argon2id parameters: the tests check behaviour, not hashing cost."""
    monkeypatch.setenv(auth.HASHER_ENV, "test")


@pytest.fixture
def ws(box_workspace):
    return box_workspace


def _audit_text(ws) -> str:
    return audit.read_audit(ws).to_csv()


# --- hashes and the file ----------------------------------------------------------------------

def test_default_hasher_is_argon2ids_recommended_profile(ws, monkeypatch):
    monkeypatch.delenv(auth.HASHER_ENV)
    h = auth.password_hasher()
    assert (h.time_cost, h.memory_cost, h.parallelism) == (3, 65536, 4)  # RFC 9106 low-memory
    assert profiles.get_default_parameters() == profiles.RFC_9106_LOW_MEMORY
    auth.add_user(ws, "alice", "analyst", PW, actor="cli")
    digest = tomllib.loads(auth.users_path(ws).read_text("utf-8"))["users"]["alice"]["password_hash"]
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(digest, PW)


def test_password_file_holds_hashes_only_with_mode_0600(ws):
    secrets = {"alice": PW, "bob": "another secret 9", "张三": "长城长城长城长城长城"}
    for name, pw in secrets.items():
        auth.add_user(ws, name, "leader", pw, actor="cli")
    auth.set_password(ws, "bob", "changed secret 77", actor="cli")
    auth.authenticate(ws, "alice", PW)
    with pytest.raises(auth.AuthError):
        auth.authenticate(ws, "alice", "a wrong guess!")
    path = auth.users_path(ws)
    raw = path.read_bytes()
    for pw in [*secrets.values(), "changed secret 77", "a wrong guess!"]:
        assert pw.encode() not in raw
        assert pw not in _audit_text(ws)
    users = tomllib.loads(raw.decode())["users"]
    assert all(u["password_hash"].startswith("$argon2id$") for u in users.values())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # no temp file left behind


# --- authentication ---------------------------------------------------------------------------

def test_wrong_password_and_unknown_user_look_the_same(ws):
    auth.add_user(ws, "alice", "analyst", PW, display_name="Alice", actor="cli")
    user = auth.authenticate(ws, "alice", PW)
    assert (user.username, user.role, user.display_name) == ("alice", "analyst", "Alice")
    with pytest.raises(auth.AuthError) as wrong:
        auth.authenticate(ws, "alice", PW + "x")
    with pytest.raises(auth.AuthError) as unknown:
        auth.authenticate(ws, "mallory", PW)
    with pytest.raises(auth.AuthError) as invalid_name:
        auth.authenticate(ws, "../etc/passwd", PW)
    assert str(wrong.value) == str(unknown.value) == str(invalid_name.value)
    assert wrong.value.code == unknown.value.code == "bad_credentials"
    log = audit.read_audit(ws)
    assert log["action"].tolist() == ["user_add", "login", "login_failed", "login_failed", "login_failed"]
    unknown_row = json.loads(log["details"].iloc[3])
    assert unknown_row["reason"] == "unknown_user" and unknown_row["name_hash"] == auth.name_fingerprint(ws, "mallory")
    # The typed name of a non-account is never stored, only its salted hash.
    assert log["actor"].tolist()[2:] == ["alice", "?", "?"] and "mallory" not in _audit_text(ws)


def test_no_users_says_how_to_bootstrap(ws):
    with pytest.raises(auth.AuthError, match="gridwatch users bootstrap") as exc:
        auth.authenticate(ws, "admin", PW)
    assert exc.value.code == "no_users"


def test_lockout_after_n_failures_survives_restart_and_expires(ws):
    acc = ws.settings.access
    assert (acc.max_failed_logins, acc.lockout_minutes) == (5, 15.0)
    auth.add_user(ws, "bob", "brigade", PW, actor="cli")
    t0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    for i in range(4):
        with pytest.raises(auth.AuthError) as exc:
            auth.authenticate(ws, "bob", f"wrong password {i}", now=t0 + timedelta(seconds=i))
        assert exc.value.code == "bad_credentials"
    # The counter lives in the file: a fresh process (a reloaded workspace) sees it.
    ws2 = load_workspace(ws.root)
    assert tomllib.loads(auth.users_path(ws2).read_text("utf-8"))["users"]["bob"]["failed_logins"] == 4
    with pytest.raises(auth.AuthError) as exc:
        auth.authenticate(ws2, "bob", "wrong password 5", now=t0 + timedelta(seconds=5))
    assert exc.value.code == "bad_credentials"  # locked, but answered like any other refusal
    # Locked: even the right password is refused until lockout_minutes have passed.
    with pytest.raises(auth.AuthError) as exc:
        auth.authenticate(ws2, "bob", PW, now=t0 + timedelta(minutes=14))
    assert exc.value.code == "bad_credentials"
    assert auth.get_user(ws2, "bob").locked_until == "2025-03-01T09:15:05+00:00"
    user = auth.authenticate(ws2, "bob", PW, now=t0 + timedelta(minutes=15, seconds=6))
    assert user.username == "bob" and user.locked_until == ""
    rec = tomllib.loads(auth.users_path(ws2).read_text("utf-8"))["users"]["bob"]
    assert (rec["failed_logins"], rec["locked_until"], rec["lockouts"]) == (0, "", {})
    actions = audit.read_audit(ws2)["action"].tolist()
    assert actions == ["user_add"] + ["login_failed"] * 4 + ["login_locked", "login_locked", "login"]


def test_a_success_resets_the_failure_count(ws):
    auth.add_user(ws, "bob", "brigade", PW, actor="cli")
    t0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    for _round in range(2):  # 4 + 4 failures with a success between never lock
        for _ in range(4):
            with pytest.raises(auth.AuthError, match="wrong user name or password"):
                auth.authenticate(ws, "bob", "nope nope nope", now=t0)
        assert auth.authenticate(ws, "bob", PW, now=t0).username == "bob"


def test_unlock_clears_a_lockout(ws):
    ws = update_settings(ws, access=AccessSettings(max_failed_logins=2))
    auth.add_user(ws, "bob", "brigade", PW, actor="cli")
    for _ in range(2):
        with pytest.raises(auth.AuthError):
            auth.authenticate(ws, "bob", "nope nope nope")
    with pytest.raises(auth.AuthError, match="wrong user name or password"):
        auth.authenticate(ws, "bob", PW)
    assert auth.get_user(ws, "bob").locked_until
    auth.unlock_user(ws, "bob", actor="cli")
    assert auth.authenticate(ws, "bob", PW).username == "bob"


def test_disabled_user_is_refused_only_after_a_correct_password(ws):
    auth.add_user(ws, "carol", "leader", PW, actor="cli")
    auth.add_user(ws, "root", "admin", PW, actor="cli")
    auth.set_disabled(ws, "carol", True, actor="root")
    with pytest.raises(auth.AuthError) as exc:
        auth.authenticate(ws, "carol", PW)
    assert exc.value.code == "disabled"
    with pytest.raises(auth.AuthError) as exc:
        auth.authenticate(ws, "carol", "not her password")
    assert exc.value.code == "bad_credentials"  # no hint that the account exists
    auth.set_disabled(ws, "carol", False, actor="root")
    assert auth.authenticate(ws, "carol", PW).role == "leader"
    changes = audit.read_audit(ws, action="user_change")
    assert changes["actor"].tolist() == ["root", "root"] and changes["role"].tolist() == ["admin", "admin"]


def test_session_expires_after_the_idle_timeout(ws):
    assert ws.settings.access.session_timeout_minutes == 30
    assert not auth.session_expired(1000.0, 1000.0 + 29 * 60, ws)
    assert auth.session_expired(1000.0, 1000.0 + 30 * 60 + 1, ws)
    ws5 = update_settings(ws, access=AccessSettings(session_timeout_minutes=5))
    assert auth.session_expired(0.0, 5 * 60 + 1, ws5) and not auth.session_expired(0.0, 4 * 60, ws5)


# --- roles ------------------------------------------------------------------------------------

EXPECTED_PAGES = {
    "leader": ("overview", "hotspots"),
    "brigade": ("hotspots", "planner"),
    "analyst": ("overview", "hotspots", "planner", "events"),
    "admin": ("intake", "users", "settings", "audit"),
}
EXPECTED_PERMISSIONS = {
    "leader": {"view_overview", "view_maps", "export_aggregates"},
    "brigade": {"view_maps", "plan_posts", "export_deployment"},
    "analyst": {"view_overview", "view_maps", "plan_posts", "export_aggregates", "export_deployment",
                "view_events"},
    "admin": {"intake", "manage_users", "manage_settings", "view_audit"},
}


@pytest.mark.parametrize("role", auth.ROLES)
def test_permission_table_per_role(role):
    assert auth.pages_for(role) == EXPECTED_PAGES[role]
    assert {p for p in auth.PERMISSIONS if auth.can(role, p)} == EXPECTED_PERMISSIONS[role]


def test_unknown_role_has_no_pages_and_unknown_permission_raises():
    assert auth.pages_for("guest") == ()
    assert not auth.can("guest", "view_maps")
    with pytest.raises(auth.AuthError, match="unknown permission"):
        auth.can("admin", "fly")
    assert set(auth.PAGES.values()) <= set(auth.PERMISSIONS)


# --- user management --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", "a" * 33, "al ice", "../x", "a/b", "x\x00y", "ü"])
def test_invalid_user_names_are_refused(ws, name):
    with pytest.raises(auth.AuthError) as exc:
        auth.add_user(ws, name, "leader", PW, actor="cli")
    assert exc.value.code == "bad_name"


def test_user_name_and_password_rules(ws):
    assert auth.add_user(ws, "王小明", "brigade", PW, actor="cli").username == "王小明"
    assert auth.add_user(ws, "a.b-c_9", "brigade", PW, actor="cli").username == "a.b-c_9"
    assert auth.add_user(ws, "x" * 32, "brigade", PW, actor="cli")
    with pytest.raises(auth.AuthError) as exc:
        auth.add_user(ws, "short", "leader", "123456789", actor="cli")  # 9 < 10
    assert exc.value.code == "weak_password" and "10" in str(exc.value)
    with pytest.raises(auth.AuthError, match="differ from the user name"):
        auth.add_user(ws, "LongUserName", "leader", "longusername", actor="cli")
    with pytest.raises(auth.AuthError) as exc:
        auth.add_user(ws, "dave", "superuser", PW, actor="cli")
    assert exc.value.code == "bad_role"
    with pytest.raises(auth.AuthError) as exc:
        auth.add_user(ws, "A.B-C_9", "leader", PW, actor="cli")  # names are unique ignoring case
    assert exc.value.code == "exists"
    with pytest.raises(auth.AuthError) as exc:
        auth.set_password(ws, "nobody", PW, actor="cli")
    assert exc.value.code == "unknown_user"


def test_min_password_length_comes_from_settings(ws):
    ws = update_settings(ws, access=AccessSettings(min_password_length=16))
    with pytest.raises(auth.AuthError, match="16"):
        auth.add_user(ws, "eve", "leader", "fifteen chars!!", actor="cli")
    assert auth.add_user(ws, "eve", "leader", "sixteen chars!!!", actor="cli")


def test_the_last_enabled_admin_cannot_be_removed_demoted_or_disabled(ws):
    auth.add_user(ws, "root", "admin", PW, actor="cli")
    for call in (lambda: auth.set_role(ws, "root", "analyst", actor="cli"),
                 lambda: auth.set_disabled(ws, "root", True, actor="cli"),
                 lambda: auth.remove_user(ws, "root", actor="cli")):
        with pytest.raises(auth.AuthError) as exc:
            call()
        assert exc.value.code == "last_admin"
    assert [(u.username, u.role, u.disabled) for u in auth.list_users(ws)] == [("root", "admin", False)]
    auth.add_user(ws, "root2", "admin", PW, actor="cli")
    auth.remove_user(ws, "root", actor="root2")
    assert [u.username for u in auth.list_users(ws)] == ["root2"]


def test_user_for_email_maps_enabled_users_only(ws):
    auth.add_user(ws, "fay", "analyst", PW, email="Fay@Xicheng.gov.cn", actor="cli")
    auth.add_user(ws, "gus", "leader", PW, email="gus@xicheng.gov.cn", actor="cli")
    assert auth.user_for_email(ws, " FAY@xicheng.gov.cn ").username == "fay"
    assert auth.user_for_email(ws, "nobody@xicheng.gov.cn") is None
    assert auth.user_for_email(ws, "") is None
    auth.set_disabled(ws, "gus", True, actor="cli")
    assert auth.user_for_email(ws, "gus@xicheng.gov.cn") is None
    with pytest.raises(auth.AuthError) as exc:
        auth.add_user(ws, "fay2", "analyst", PW, email="fay@xicheng.gov.cn", actor="cli")
    assert exc.value.code == "exists"
    with pytest.raises(auth.AuthError, match="not an address"):
        auth.update_user(ws, "gus", email="gus at home", actor="cli")
    assert auth.update_user(ws, "gus", display_name="Gus", actor="cli").display_name == "Gus"


def test_bootstrap_creates_one_admin_only_when_empty(ws):
    password = auth.bootstrap_admin(ws)
    assert password and len(password) >= 20
    assert auth.authenticate(ws, "admin", password).role == "admin"
    assert auth.bootstrap_admin(ws) is None
    assert auth.bootstrap_admin(ws, "other") is None
    assert [u.username for u in auth.list_users(ws)] == ["admin"]
    assert password not in auth.users_path(ws).read_text("utf-8")


def test_concurrent_writers_lose_no_user(ws):
    names = [f"user{i}" for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: auth.add_user(ws, n, "leader", PW, actor="cli"), names))
    assert [u.username for u in auth.list_users(ws)] == names
    log = audit.read_audit(ws)
    assert sorted(log["target"]) == names and log["seq"].tolist() == list(range(1, 9))
    assert audit.verify_chain(ws) == (True, None)


# --- the CLI ----------------------------------------------------------------------------------

def _run(monkeypatch, capsys, argv, stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_user_round_trip(ws, monkeypatch, capsys):
    w = ["-w", str(ws.root)]
    code, out, _ = _run(monkeypatch, capsys, ["users", "add", "hank", "--role", "analyst", "--display-name",
                                              "Hank", "--email", "hank@x.cn", "--password-stdin", *w], PW + "\n")
    assert code == 0 and "hank" in out and PW not in out
    assert auth.authenticate(ws, "hank", PW).role == "analyst"

    code, out, _ = _run(monkeypatch, capsys, ["users", "list", "--json", *w])
    listed = json.loads(out)
    assert code == 0 and listed[0]["username"] == "hank" and listed[0]["email"] == "hank@x.cn"
    assert "password_hash" not in listed[0] and "$argon2" not in out

    assert _run(monkeypatch, capsys, ["users", "passwd", "hank", "--password-stdin", *w], "new secret 12345\n")[0] == 0
    assert auth.authenticate(ws, "hank", "new secret 12345").username == "hank"
    assert _run(monkeypatch, capsys, ["users", "role", "hank", "leader", *w])[0] == 0
    assert _run(monkeypatch, capsys, ["users", "disable", "hank", *w])[0] == 0
    assert auth.get_user(ws, "hank").disabled and auth.get_user(ws, "hank").role == "leader"
    assert _run(monkeypatch, capsys, ["users", "enable", "hank", *w])[0] == 0
    assert _run(monkeypatch, capsys, ["users", "remove", "hank", *w])[0] == 0
    assert auth.list_users(ws) == []

    log = audit.read_audit(ws)
    actor = audit.cli_actor()
    assert log["action"].tolist() == ["user_add", "login", "user_change", "login", "user_change",
                                      "user_change", "user_change", "user_remove"]
    cli_rows = log[log["action"] != "login"]
    assert (cli_rows["actor"] == actor).all() and (cli_rows["role"] == "admin").all()
    assert [{k: v for k, v in json.loads(d).items() if k != "users_file"} for d in log["details"].iloc[[2, 4, 5]]] == [
        {"password": "changed"}, {"role": ["analyst", "leader"]}, {"disabled": True}]


def test_cli_errors_exit_2_without_a_traceback(ws, monkeypatch, capsys):
    w = ["-w", str(ws.root)]
    code, _, err = _run(monkeypatch, capsys, ["users", "add", "ivy", "--role", "leader", "--password-stdin", *w],
                        "short\n")
    assert code == 2 and err.startswith("error:") and "at least 10" in err
    code, _, err = _run(monkeypatch, capsys, ["users", "passwd", "nobody", "--password-stdin", *w], PW + "\n")
    assert code == 2 and "no user 'nobody'" in err
    with pytest.raises(SystemExit):  # argparse refuses an unknown role
        main(["users", "add", "ivy", "--role", "boss", *w])
    with pytest.raises(SystemExit):  # there is no flag that takes the secret on the command line
        main(["users", "add", "ivy", "--role", "leader", "--password", PW, *w])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_prompts_twice_with_getpass(ws, monkeypatch, capsys):
    answers = iter([PW, PW, PW, PW + "typo"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr(sys, "stdin", _Terminal(""))  # a terminal to prompt on
    w = ["-w", str(ws.root)]
    assert _run(monkeypatch, capsys, ["users", "add", "jo", "--role", "brigade", *w])[0] == 0
    code, _, err = _run(monkeypatch, capsys, ["users", "passwd", "jo", *w])
    assert code == 2 and "differ" in err
    assert auth.authenticate(ws, "jo", PW).role == "brigade"


def test_cli_without_a_terminal_points_at_password_stdin(ws, monkeypatch, capsys):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("getpass must not run without a terminal"))
    code, _, err = _run(monkeypatch, capsys, ["users", "add", "kim", "--role", "brigade", "-w", str(ws.root)], "")
    assert code == 2 and "--password-stdin" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert auth.get_user(ws, "kim") is None


def test_cli_bootstrap_demo_creates_one_account_per_working_role(ws, monkeypatch, capsys):
    code, out, _ = _run(monkeypatch, capsys, ["users", "bootstrap", "--demo", "-w", str(ws.root)])
    assert code == 0
    rows = [line.split() for line in out.splitlines() if line.startswith("    ") and len(line.split()) == 3]
    assert [(name, role) for name, role, _ in rows] == [("leader", "leader"), ("brigade", "brigade"),
                                                        ("analyst", "analyst")]
    for name, role, password in rows:  # each printed password logs its account in
        assert auth.authenticate(ws, name, password).role == role


def test_cli_bootstrap_prints_the_password_once(ws, monkeypatch, capsys):
    w = ["-w", str(ws.root)]
    code, out, _ = _run(monkeypatch, capsys, ["users", "bootstrap", *w])
    assert code == 0
    password = next(line.strip() for line in out.splitlines() if line.startswith("    "))
    assert auth.authenticate(ws, "admin", password).role == "admin"
    code, out2, _ = _run(monkeypatch, capsys, ["users", "bootstrap", *w])
    assert code == 0 and password not in out2 and "already exist" in out2
    code, out3, _ = _run(monkeypatch, capsys, ["users", "bootstrap", "--json", *w])
    assert code == 0 and json.loads(out3) == {"created": False, "username": None, "password": None}
