"""Users, roles and logins of the app: a local password file with argon2id hashes.

Roles (the single source of truth for the app and its tests):

=========  ==================================================================
leader     overview, maps, aggregate downloads (cell / grid / problem-list)
brigade    maps, post planning, deployment downloads
analyst    everything analytical, including masked event-level detail
admin      intake, users, settings, audit log (no analysis pages)
=========  ==================================================================

The password file (``[access] users_file``, default ``users.toml`` in the
workspace) is TOML with one table per user.  It holds only argon2id hashes
(argon2-cffi's recommended RFC 9106 low-memory profile), never a password; it
is written atomically (temporary file + ``os.replace``) with mode 0600, under
a lock file so two processes never lose each other's changes.  Failed-login
counters and lock-outs live in the same file, so they survive restarts.

Every change and its audit row land together (issue 21): the new file is
first written beside the old one as ``<users file>.pending``, the audit row
(with the new file's fingerprint) is committed to the store, and only then
does the pending file replace the old one.  A crash in between is finished
(or undone) under the lock by the next change or login: the pending file is
kept exactly when its audit row is in the store.  A store busy beyond
``[store] busy_wait_seconds`` refuses the change with a message.

Logins (issue 21): a refused login always answers ``bad_credentials``, the
same for an unknown name, a wrong password and a locked account, and takes
as long (one argon2 verification each).  Failures are counted per account
*and* source address (hashed), with a lock-out that doubles at each further
failure; the user's own address keeps working while a stranger's is
locked.  Failed logins are audited with the name only when it is an
existing account; otherwise with a salted hash of what was typed (it could
be a phone number, or a password typed into the wrong field).

The command line acts as the local administrator (``gridwatch users …``);
every change here is recorded in the audit log (:mod:`geo.store.audit`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import tempfile
import tomllib
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import tomli_w

from geo.errors import GridwatchError
from geo.store import audit

if TYPE_CHECKING:
    from argon2 import PasswordHasher

ROLES = ("leader", "brigade", "analyst", "admin")

PERMISSIONS: dict[str, frozenset[str]] = {
    "view_overview": frozenset({"leader", "analyst"}),
    "view_maps": frozenset({"leader", "brigade", "analyst"}),
    "plan_posts": frozenset({"brigade", "analyst"}),
    "export_aggregates": frozenset({"leader", "analyst"}),
    "export_deployment": frozenset({"brigade", "analyst"}),
    "view_events": frozenset({"analyst"}),
    "intake": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
    "manage_settings": frozenset({"admin"}),
    "view_audit": frozenset({"admin"}),
}
"""Permission → the roles that hold it."""

PAGES: dict[str, str] = {
    "overview": "view_overview",
    "hotspots": "view_maps",
    "planner": "plan_posts",
    "events": "view_events",
    "intake": "intake",
    "users": "manage_users",
    "settings": "manage_settings",
    "audit": "view_audit",
}
"""App page key → the permission needed to see it (in menu order)."""

ROLE_LABELS = {"leader": "领导", "brigade": "执法队员", "analyst": "分析员", "admin": "管理员"}

HASHER_ENV = "GRIDWATCH_ARGON2_PROFILE"
"""Set to ``test`` to hash with argon2-cffi's cheapest parameters (test suites only)."""
TEST_PROCESS_ENV = "GRIDWATCH_TEST_PROCESS"
"""Set to ``1`` by ``tests/conftest.py``: only then is :data:`HASHER_ENV` honoured."""

MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; bound the work a login form can ask for
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{1,32}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BAD_CREDENTIALS = ("wrong user name or password (after several failures, logins from this address "
                    "wait a while; an administrator can unlock the account)")
_MAX_SOURCES = 64  # lock-out entries kept per account (the oldest go first)
PENDING_SUFFIX = ".pending"
"""The next users file, written before its audit row commits (see the module docstring)."""

T = TypeVar("T")


class AuthError(GridwatchError, ValueError):
    """A login or user change was refused.

    ``code`` is one of ``bad_credentials``, ``locked``, ``disabled``,
    ``no_users``, ``weak_password``, ``exists``, ``unknown_user``,
    ``bad_role``, ``bad_name`` (an invalid user name or e-mail) or
    ``last_admin`` (the change would leave no enabled administrator).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class User:
    """A user as the app sees it (never the hash)."""

    username: str
    role: str
    display_name: str
    disabled: bool
    created_at: str
    email: str = ""
    last_login: str = ""
    """ISO time (UTC) of the last successful login, or ``""``."""
    locked_until: str = ""
    """ISO time (UTC) until which logins are refused after too many failures, or ``""``."""


# --- roles ------------------------------------------------------------------------------------

def can(role: str, permission: str) -> bool:
    """Whether ``role`` holds ``permission`` (unknown roles hold nothing; unknown permissions raise)."""
    if permission not in PERMISSIONS:
        raise AuthError("bad_role", f"unknown permission {permission!r}; known: {', '.join(PERMISSIONS)}")
    return role in PERMISSIONS[permission]


def pages_for(role: str) -> tuple[str, ...]:
    """The app pages ``role`` may open, in menu order."""
    return tuple(page for page, perm in PAGES.items() if role in PERMISSIONS[perm])


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AuthError("bad_role", f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def _check_username(username: str) -> str:
    name = unicodedata.normalize("NFC", str(username))
    if not _USERNAME_RE.match(name):
        raise AuthError("bad_name", f"user name {username!r} is invalid: use 1–32 letters, digits, '_', '.', "
                                    "'-' or Chinese characters")
    return name


def _check_email(email: str) -> str:
    email = (email or "").strip().lower()
    if email and (len(email) > 254 or not _EMAIL_RE.match(email)):
        raise AuthError("bad_name", f"e-mail {email!r} is not an address like name@example.gov.cn")
    return email


def check_password(ws: Any, username: str, password: str) -> None:
    """Raise ``AuthError('weak_password')`` unless ``password`` is acceptable for ``username``."""
    minimum = ws.settings.access.min_password_length
    if not isinstance(password, str) or len(password) < minimum:
        raise AuthError("weak_password", f"the password must have at least {minimum} characters "
                                          "([access] min_password_length)")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AuthError("weak_password", f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise AuthError("weak_password", "the password must not be only spaces")
    if password.casefold() == str(username).casefold():
        raise AuthError("weak_password", "the password must differ from the user name")


# --- hashing ----------------------------------------------------------------------------------

def password_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's recommended profile.

    Cheap only if ``GRIDWATCH_ARGON2_PROFILE=test`` *and* ``GRIDWATCH_TEST_PROCESS=1`` (set by the
    test suite); a stray profile variable in production is ignored with a warning.
    """
    # Imported here so the CLI and the app's pages load even before argon2-cffi is installed.
    from argon2 import PasswordHasher, profiles

    if os.environ.get(HASHER_ENV, "").lower() == "test":
        if os.environ.get(TEST_PROCESS_ENV) == "1":
            return PasswordHasher.from_parameters(profiles.CHEAPEST)
        logging.getLogger("gridwatch.access").warning(
            "%s=test is ignored outside the test suite (%s=1 is not set): passwords are hashed with the "
            "recommended profile", HASHER_ENV, TEST_PROCESS_ENV)
    return PasswordHasher.from_parameters(profiles.get_default_parameters())


def _verify(hasher: PasswordHasher, digest: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return hasher.verify(digest, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: dict[str, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of a random secret, verified for unknown users so their replies take as long."""
    key = f"{hasher.time_cost}:{hasher.memory_cost}:{hasher.parallelism}"
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH[key]


# --- the password file ------------------------------------------------------------------------

def users_path(ws: Any) -> Path:
    """The password file: ``ws.root / [access] users_file``."""
    return Path(ws.root) / ws.settings.access.users_file


@contextlib.contextmanager
def _locked(ws: Any) -> Iterator[None]:
    """Hold an exclusive lock on ``<users file>.lock`` (processes and threads)."""
    path = users_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: msvcrt locks one byte
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            _recover_pending(ws)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _load(ws: Any) -> dict[str, dict[str, Any]]:
    path = users_path(ws)
    if not path.exists():
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AuthError("no_users", f"the password file {path} is not valid TOML ({exc}); restore it from "
                                    "a backup or move it away and run `gridwatch users bootstrap`") from None
    users = doc.get("users", {})
    return {str(k): dict(v) for k, v in users.items()}


_HEADER = ("# gridwatch users (issue 12). argon2id hashes only, never passwords.\n"
           "# Edit with `gridwatch users ...`, not by hand; keep this file private (mode 0600).\n")


def _text(users: dict[str, dict[str, Any]]) -> str:
    return _HEADER + tomli_w.dumps({"users": users})


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600 (temporary file, fsync, ``os.replace``)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file with mode 0600 (owner only) already.
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _recover_pending(ws: Any) -> None:
    """Finish or undo a change a crash left between its audit commit and the file replace (under the lock)."""
    pending = Path(str(users_path(ws)) + PENDING_SUFFIX)
    if not pending.exists():
        return
    from geo.store.database import connect

    mark = _fingerprint(pending.read_text(encoding="utf-8"))
    with connect(ws.store_path, read_only=True, wait=ws.settings.store.busy_wait_seconds) as con:
        has_table = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'audit'").fetchall()[0][0]
        audited = bool(has_table) and bool(con.execute(
            "SELECT count(*) FROM audit WHERE json_extract_string(details, '$.users_file') = ?",
            [mark]).fetchall()[0][0])
    if audited:
        os.replace(pending, users_path(ws))
    else:
        pending.unlink()


def _commit(ws: Any, users: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Write the users file and its audit rows together, or neither (call under :func:`_locked`).

    ``rows`` are :func:`geo.store.audit.record_in` keyword arguments (``action``, ``actor``, …);
    each row's details get ``users_file``, the new file's fingerprint, which
    :func:`_recover_pending` looks for after a crash.
    """
    path = users_path(ws)
    text = _text(users)
    mark = _fingerprint(text)
    pending = Path(str(path) + PENDING_SUFFIX)
    _write_private(pending, text)

    def body(con: Any) -> None:
        for row in rows:
            audit.record_in(con, row["action"], actor=row["actor"] or "?", role=row.get("role", ""),
                            target=row.get("target", ""),
                            details={**row.get("details", {}), "users_file": mark})

    def undo() -> None:
        with contextlib.suppress(FileNotFoundError):
            pending.unlink()

    audit.write(ws, body, undo=undo)
    os.replace(pending, path)


def _mutate(ws: Any, change: Callable[[dict[str, dict[str, Any]]], T], action: str, actor: str,
            audited: Callable[[T], tuple[str, dict[str, Any]]]) -> T:
    """Change the users under the lock and commit the file with its audit row (both or neither).

    ``audited(result)`` gives the audit row's target and details.  The
    actor's role is taken before the change (an admin may remove themselves).
    """
    with _locked(ws):
        users = _load(ws)
        role = _role_in(users, actor)
        result = change(users)
        target, details = audited(result)
        _commit(ws, users, [{"action": action, "actor": actor, "role": role, "target": target,
                             "details": details}])
        return result


def _find(users: dict[str, dict[str, Any]], username: str) -> str | None:
    """The stored key of ``username`` (case-insensitive), or ``None``."""
    name = unicodedata.normalize("NFC", str(username))
    if name in users:
        return name
    folded = name.casefold()
    return next((k for k in users if k.casefold() == folded), None)


def _require(users: dict[str, dict[str, Any]], username: str) -> str:
    key = _find(users, username)
    if key is None:
        raise AuthError("unknown_user", f"no user {username!r}; list users with `gridwatch users list`")
    return key


def _to_user(key: str, rec: dict[str, Any]) -> User:
    return User(username=key, role=str(rec.get("role", "")), display_name=str(rec.get("display_name", "")),
                disabled=bool(rec.get("disabled", False)), created_at=str(rec.get("created_at", "")),
                email=str(rec.get("email", "")), last_login=str(rec.get("last_login", "")),
                locked_until=str(rec.get("locked_until", "")))


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds")


def _enabled_admins(users: dict[str, dict[str, Any]]) -> int:
    return sum(1 for r in users.values() if r.get("role") == "admin" and not r.get("disabled", False))


def _role_in(users: dict[str, dict[str, Any]], actor: str) -> str:
    if actor == "cli" or actor.startswith("cli:"):
        return "admin"
    rec = users.get(actor)
    return str(rec.get("role", "")) if rec else ""


# --- public API -------------------------------------------------------------------------------

def has_users(ws: Any) -> bool:
    """Whether the password file holds at least one user."""
    return bool(_load(ws))


def list_users(ws: Any) -> list[User]:
    """All users, sorted by name."""
    users = _load(ws)
    return [_to_user(k, users[k]) for k in sorted(users)]


def get_user(ws: Any, username: str) -> User | None:
    """One user by name (case-insensitive), or ``None``."""
    users = _load(ws)
    key = _find(users, username)
    return _to_user(key, users[key]) if key is not None else None


def add_user(ws: Any, username: str, role: str, password: str, *, display_name: str = "", email: str = "",
             actor: str = "cli") -> User:
    """Create a user; raises ``AuthError`` (``exists``, ``bad_role``, ``bad_name``, ``weak_password``)."""
    name = _check_username(username)
    _check_role(role)
    email = _check_email(email)
    check_password(ws, name, password)
    digest = password_hasher().hash(password)  # before the lock: hashing is the slow part
    created = _iso(datetime.now(UTC))

    def change(users: dict[str, dict[str, Any]]) -> User:
        if _find(users, name) is not None:
            raise AuthError("exists", f"user {name!r} already exists; change it with `gridwatch users role/passwd`")
        if email and any(r.get("email", "") == email for r in users.values()):
            raise AuthError("exists", f"another user already has the e-mail {email!r}")
        users[name] = {"role": role, "display_name": str(display_name or ""), "email": email,
                       "disabled": False, "created_at": created, "password_hash": digest,
                       "failed_logins": 0, "locked_until": "", "last_login": ""}
        return _to_user(name, users[name])

    return _mutate(ws, change, "user_add", actor, lambda u: (
        name, {"role": role, "display_name": u.display_name, "email": email}))


def set_password(ws: Any, username: str, password: str, *, actor: str) -> None:
    """Replace a user's password (and clear a lock-out)."""
    users = _load(ws)
    key = _require(users, username)
    check_password(ws, key, password)
    digest = password_hasher().hash(password)

    def change(users: dict[str, dict[str, Any]]) -> None:
        k = _require(users, key)
        users[k].update(password_hash=digest, failed_logins=0, locked_until="", lockouts={})

    _mutate(ws, change, "user_change", actor, lambda _: (key, {"password": "changed"}))


def set_role(ws: Any, username: str, role: str, *, actor: str) -> None:
    """Change a user's role (refused if it would leave no enabled admin)."""
    _check_role(role)

    def change(users: dict[str, dict[str, Any]]) -> tuple[str, str]:
        k = _require(users, username)
        old = str(users[k].get("role", ""))
        users[k]["role"] = role
        if old == "admin" and role != "admin" and _enabled_admins(users) == 0:
            raise AuthError("last_admin", f"{k!r} is the last enabled admin; make another user admin first")
        return k, old

    _mutate(ws, change, "user_change", actor, lambda r: (r[0], {"role": [r[1], role]}))


def set_disabled(ws: Any, username: str, disabled: bool, *, actor: str) -> None:
    """Disable (no logins) or re-enable a user; enabling also clears a lock-out."""

    def change(users: dict[str, dict[str, Any]]) -> str:
        k = _require(users, username)
        users[k]["disabled"] = bool(disabled)
        if not disabled:
            users[k].update(failed_logins=0, locked_until="", lockouts={})
        elif _enabled_admins(users) == 0 and users[k].get("role") == "admin":
            raise AuthError("last_admin", f"{k!r} is the last enabled admin; make another user admin first")
        return k

    _mutate(ws, change, "user_change", actor, lambda k: (k, {"disabled": bool(disabled)}))


def unlock_user(ws: Any, username: str, *, actor: str) -> None:
    """Clear a user's failed-login count and lock-out."""

    def change(users: dict[str, dict[str, Any]]) -> str:
        k = _require(users, username)
        users[k].update(failed_logins=0, locked_until="", lockouts={})
        return k

    _mutate(ws, change, "user_change", actor, lambda k: (k, {"unlocked": True}))


def update_user(ws: Any, username: str, *, display_name: str | None = None, email: str | None = None,
                actor: str) -> User:
    """Change a user's display name and/or e-mail (the OIDC mapping key)."""
    new_email = _check_email(email) if email is not None else None

    def change(users: dict[str, dict[str, Any]]) -> tuple[User, dict[str, Any]]:
        k = _require(users, username)
        changed: dict[str, Any] = {}
        if display_name is not None:
            users[k]["display_name"] = str(display_name)
            changed["display_name"] = str(display_name)
        if new_email is not None:
            if new_email and any(r.get("email", "") == new_email for n, r in users.items() if n != k):
                raise AuthError("exists", f"another user already has the e-mail {new_email!r}")
            users[k]["email"] = new_email
            changed["email"] = new_email
        return _to_user(k, users[k]), changed

    user, _ = _mutate(ws, change, "user_change", actor, lambda r: (r[0].username, r[1]))
    return user


def remove_user(ws: Any, username: str, *, actor: str) -> None:
    """Delete a user (refused for the last enabled admin)."""

    def change(users: dict[str, dict[str, Any]]) -> tuple[str, str]:
        k = _require(users, username)
        rec = users.pop(k)
        if rec.get("role") == "admin" and not rec.get("disabled", False) and _enabled_admins(users) == 0:
            raise AuthError("last_admin", f"{k!r} is the last enabled admin; make another user admin first")
        return k, str(rec.get("role", ""))

    _mutate(ws, change, "user_remove", actor, lambda r: (r[0], {"role": r[1]}))


def name_fingerprint(ws: Any, typed: str) -> str:
    """A salted hash (16 hex) of a typed user name, for auditing names that are not accounts.

    Keyed with the workspace's secret salt, so a log reader cannot test
    guesses (a phone number, a password typed into the name field) against
    it; the same typed name always gives the same fingerprint, so repeated
    attempts can still be grouped.
    """
    folded = unicodedata.normalize("NFC", str(typed)).strip().casefold()
    return hmac.new(ws.salt.encode("utf-8"), b"login-name:" + folded.encode("utf-8"),
                    hashlib.sha256).hexdigest()[:16]


def source_fingerprint(ws: Any, source: str) -> str:
    """The key of a login's source address in lock-out counters and the audit log (salted hash, 16 hex).

    ``""`` (unknown: the command line, or a server that cannot see the
    address) is one shared source, ``"unknown"``.
    """
    if not source:
        return "unknown"
    return hmac.new(ws.salt.encode("utf-8"), b"login-source:" + str(source).encode("utf-8"),
                    hashlib.sha256).hexdigest()[:16]


def lockout_minutes(ws: Any, failures: int) -> float:
    """Lock-out after ``failures`` failures in a row from one source: 0 below the threshold, then doubling.

    ``lockout_minutes`` at ``max_failed_logins`` failures, twice that at one
    more, … capped at ``lockout_max_minutes``.
    """
    acc = ws.settings.access
    if failures < acc.max_failed_logins:
        return 0.0
    return float(min(acc.lockout_max_minutes, acc.lockout_minutes * 2.0 ** (failures - acc.max_failed_logins)))


def authenticate(ws: Any, username: str, password: str, *, now: datetime | None = None,
                 source: str = "") -> User:
    """Check a login; return the user or raise :class:`AuthError`.

    Every refusal is ``bad_credentials`` with the same message, whether the
    name is unknown, the password wrong or the account locked for this
    source, and takes as long (one argon2 verification: against a dummy hash
    when the name is unknown or locked).  Failures are counted per account
    and source (``source``: the client's address, hashed before it is
    stored); ``max_failed_logins`` of them in a row lock that account *for
    that source* for ``lockout_minutes``, doubling at each further failure up
    to ``lockout_max_minutes``.  A success from a source clears its count.
    A disabled account is reported (``disabled``) only after a correct password.

    Every outcome is audited (``login``, ``login_failed``, ``login_locked``)
    in the same commit as the counters: the actor is the account's name, or
    ``"?"`` with ``details.name_hash`` (:func:`name_fingerprint`) when the
    typed name is not an account.  A store that stays busy raises
    :class:`~geo.errors.StoreError` and nothing is changed.

    Parameters
    ----------
    now : datetime, optional
        The current time (tests); default the clock.  Naive means UTC.
    source : str, optional
        Where the login comes from (the browser's IP address); ``""`` unknown.
    """
    t = _now(now)
    hasher = password_hasher()
    src = source_fingerprint(ws, source)
    refused = AuthError("bad_credentials", _BAD_CREDENTIALS)

    with _locked(ws):
        users = _load(ws)
        if not users:
            raise AuthError("no_users", "no users yet: an administrator creates the first one with "
                                        "`gridwatch users bootstrap` (see README, Access)")
        key = _find(users, username) if _USERNAME_RE.match(unicodedata.normalize("NFC", str(username))) else None
        if key is None:
            _verify(hasher, _dummy_hash(hasher), str(password))
            row = {"action": "login_failed", "actor": "?", "role": "", "target": "?",
                   "details": {"reason": "unknown_user", "name_hash": name_fingerprint(ws, username),
                               "source": src}}
            _commit(ws, users, [row])
            raise refused
        rec = users[key]
        lockouts: dict[str, dict[str, Any]] = {k: dict(v) for k, v in dict(rec.get("lockouts", {})).items()}
        entry = lockouts.get(src, {"failures": 0, "until": ""})
        base = {"actor": key, "role": str(rec.get("role", "")), "target": key}
        if entry.get("until") and datetime.fromisoformat(str(entry["until"])) > t:
            _verify(hasher, _dummy_hash(hasher), str(password))  # as long as any other refusal
            _commit(ws, users, [{**base, "action": "login_locked",
                                 "details": {"reason": "locked", "locked_until": entry["until"], "source": src}}])
            raise refused
        error: AuthError | None = None
        if _verify(hasher, str(rec.get("password_hash", "")), str(password)):
            if rec.get("disabled", False):
                row = {**base, "action": "login_failed", "details": {"reason": "disabled", "source": src}}
                error = AuthError("disabled", f"the account {key!r} is disabled; ask an administrator")
            else:
                lockouts.pop(src, None)
                rec.update(failed_logins=0, last_login=_iso(t))
                if hasher.check_needs_rehash(str(rec["password_hash"])):
                    rec["password_hash"] = hasher.hash(str(password))
                row = {**base, "action": "login", "details": {"source": src}}
        else:
            failures = int(entry.get("failures", 0)) + 1
            minutes = lockout_minutes(ws, failures)
            entry = {"failures": failures, "until": _iso(t + timedelta(minutes=minutes)) if minutes else "",
                     "last": _iso(t)}
            lockouts[src] = entry
            rec["failed_logins"] = int(rec.get("failed_logins", 0)) + 1
            details: dict[str, Any] = {"reason": "bad_password", "failures": failures, "source": src}
            if minutes:
                row = {**base, "action": "login_locked",
                       "details": {**details, "reason": "too_many_failures", "locked_until": entry["until"],
                                   "minutes": minutes}}
            else:
                row = {**base, "action": "login_failed", "details": details}
            error = refused
        if len(lockouts) > _MAX_SOURCES:  # bounded: the least recently failed sources go first
            keep = sorted(lockouts, key=lambda k: str(lockouts[k].get("last", "")))[-_MAX_SOURCES:]
            lockouts = {k: lockouts[k] for k in keep}
        rec["lockouts"] = lockouts
        rec["locked_until"] = max((str(v.get("until", "")) for v in lockouts.values()), default="")
        _commit(ws, users, [row])
    if error is not None:
        raise error
    return _to_user(key, users[key])


def user_for_email(ws: Any, email: str) -> User | None:
    """The enabled local user whose e-mail matches (case-insensitive), for OIDC logins; else ``None``.

    The identity provider proves who someone is; the local file still decides
    their role, and a disabled (or unknown) user gets ``None``.
    """
    target = (email or "").strip().lower()
    if not target:
        return None
    for key, rec in _load(ws).items():
        if rec.get("email", "") == target and not rec.get("disabled", False):
            return _to_user(key, rec)
    return None


def bootstrap_admin(ws: Any, username: str = "admin") -> str | None:
    """Create the first admin with a random password and return it, if there are no users; else ``None``.

    The password (20 URL-safe characters, ~120 bits) is shown once by the
    caller and never stored; change it with ``gridwatch users passwd``.
    """
    name = _check_username(username)
    if has_users(ws):  # cheap early exit; checked again under the lock
        return None
    length = max(20, ws.settings.access.min_password_length)
    password = secrets.token_urlsafe(length)[:length]
    digest = password_hasher().hash(password)
    created = _iso(datetime.now(UTC))

    with _locked(ws):  # check and create under one lock: two bootstraps never make two admins
        users = _load(ws)
        if users:
            return None
        users[name] = {"role": "admin", "display_name": "", "email": "", "disabled": False,
                       "created_at": created, "password_hash": digest, "failed_logins": 0,
                       "locked_until": "", "last_login": ""}
        _commit(ws, users, [{"action": "user_add", "actor": audit.cli_actor(), "role": "admin", "target": name,
                             "details": {"role": "admin", "bootstrap": True}}])
    return password


def session_expired(last_seen: float, now: float, ws: Any) -> bool:
    """Whether a session idle since ``last_seen`` (epoch seconds) has timed out at ``now``."""
    return (now - last_seen) > ws.settings.access.session_timeout_minutes * 60.0
