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

The command line acts as the local administrator (``gridwatch users …``);
every change here is recorded in the audit log (:mod:`geo.store.audit`).
"""

from __future__ import annotations

import contextlib
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

MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; bound the work a login form can ask for
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{1,32}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BAD_CREDENTIALS = "wrong user name or password"

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
    """argon2id with argon2-cffi's recommended profile (cheap only if ``GRIDWATCH_ARGON2_PROFILE=test``)."""
    # Imported here so the CLI and the app's pages load even before argon2-cffi is installed.
    from argon2 import PasswordHasher, profiles

    if os.environ.get(HASHER_ENV, "").lower() == "test":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
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


def _save(ws: Any, users: dict[str, dict[str, Any]]) -> None:
    """Write the file atomically: a 0600 temporary file in the same folder, fsync, ``os.replace``."""
    path = users_path(ws)
    text = _HEADER + tomli_w.dumps({"users": users})
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


def _mutate(ws: Any, change: Callable[[dict[str, dict[str, Any]]], T]) -> T:
    """Read, change and write the users under the lock; ``change`` edits the dict in place."""
    with _locked(ws):
        users = _load(ws)
        result = change(users)
        _save(ws, users)
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


def _actor_role(ws: Any, actor: str) -> str:
    if actor == "cli" or actor.startswith("cli:"):
        return "admin"
    rec = _load(ws).get(actor)
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

    user = _mutate(ws, change)
    audit.record(ws, "user_add", actor=actor, role=_actor_role(ws, actor), target=name,
                 details={"role": role, "display_name": user.display_name, "email": email})
    return user


def set_password(ws: Any, username: str, password: str, *, actor: str) -> None:
    """Replace a user's password (and clear a lock-out)."""
    users = _load(ws)
    key = _require(users, username)
    check_password(ws, key, password)
    digest = password_hasher().hash(password)

    def change(users: dict[str, dict[str, Any]]) -> None:
        k = _require(users, key)
        users[k].update(password_hash=digest, failed_logins=0, locked_until="")

    _mutate(ws, change)
    audit.record(ws, "user_change", actor=actor, role=_actor_role(ws, actor), target=key,
                 details={"password": "changed"})


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

    key, old = _mutate(ws, change)
    audit.record(ws, "user_change", actor=actor, role=_actor_role(ws, actor), target=key,
                 details={"role": [old, role]})


def set_disabled(ws: Any, username: str, disabled: bool, *, actor: str) -> None:
    """Disable (no logins) or re-enable a user; enabling also clears a lock-out."""

    def change(users: dict[str, dict[str, Any]]) -> str:
        k = _require(users, username)
        users[k]["disabled"] = bool(disabled)
        if not disabled:
            users[k].update(failed_logins=0, locked_until="")
        elif _enabled_admins(users) == 0 and users[k].get("role") == "admin":
            raise AuthError("last_admin", f"{k!r} is the last enabled admin; make another user admin first")
        return k

    key = _mutate(ws, change)
    audit.record(ws, "user_change", actor=actor, role=_actor_role(ws, actor), target=key,
                 details={"disabled": bool(disabled)})


def unlock_user(ws: Any, username: str, *, actor: str) -> None:
    """Clear a user's failed-login count and lock-out."""

    def change(users: dict[str, dict[str, Any]]) -> str:
        k = _require(users, username)
        users[k].update(failed_logins=0, locked_until="")
        return k

    key = _mutate(ws, change)
    audit.record(ws, "user_change", actor=actor, role=_actor_role(ws, actor), target=key,
                 details={"unlocked": True})


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

    user, changed = _mutate(ws, change)
    audit.record(ws, "user_change", actor=actor, role=_actor_role(ws, actor), target=user.username,
                 details=changed)
    return user


def remove_user(ws: Any, username: str, *, actor: str) -> None:
    """Delete a user (refused for the last enabled admin)."""

    def change(users: dict[str, dict[str, Any]]) -> tuple[str, str]:
        k = _require(users, username)
        rec = users.pop(k)
        if rec.get("role") == "admin" and not rec.get("disabled", False) and _enabled_admins(users) == 0:
            raise AuthError("last_admin", f"{k!r} is the last enabled admin; make another user admin first")
        return k, str(rec.get("role", ""))

    role = _actor_role(ws, actor)  # before the change: an admin may remove themselves
    key, old_role = _mutate(ws, change)
    audit.record(ws, "user_remove", actor=actor, role=role, target=key, details={"role": old_role})


def authenticate(ws: Any, username: str, password: str, *, now: datetime | None = None) -> User:
    """Check a login; return the user or raise :class:`AuthError`.

    Wrong passwords and unknown users get the same ``bad_credentials`` error
    (and take as long: an unknown user's password is checked against a dummy
    hash).  ``max_failed_logins`` failures in a row lock the account for
    ``lockout_minutes`` (code ``locked``; the password is not even checked
    while locked).  A disabled account is reported only after a correct
    password.  Every outcome is audited (``login``, ``login_failed``,
    ``login_locked``).

    Parameters
    ----------
    now : datetime, optional
        The current time (tests); default the clock.  Naive means UTC.
    """
    acc = ws.settings.access
    t = _now(now)
    hasher = password_hasher()
    outcome: dict[str, Any] = {}

    with _locked(ws):
        users = _load(ws)
        if not users:
            raise AuthError("no_users", "no users yet: an administrator creates the first one with "
                                        "`gridwatch users bootstrap` (see README, Access)")
        key = _find(users, username) if _USERNAME_RE.match(unicodedata.normalize("NFC", str(username))) else None
        if key is None:
            _verify(hasher, _dummy_hash(hasher), str(password))
            outcome = {"action": "login_failed", "actor": str(username), "role": "",
                       "details": {"reason": "unknown_user"}, "error": ("bad_credentials", _BAD_CREDENTIALS)}
        else:
            rec = users[key]
            locked_until = rec.get("locked_until", "")
            if locked_until and datetime.fromisoformat(locked_until) > t:
                outcome = {"action": "login_locked", "actor": key, "role": rec.get("role", ""),
                           "details": {"reason": "locked", "locked_until": locked_until},
                           "error": ("locked", _locked_message(locked_until, ws))}
            else:
                if locked_until:  # the lock-out is over: a fresh count
                    rec.update(failed_logins=0, locked_until="")
                if _verify(hasher, str(rec.get("password_hash", "")), str(password)):
                    if rec.get("disabled", False):
                        outcome = {"action": "login_failed", "actor": key, "role": rec.get("role", ""),
                                   "details": {"reason": "disabled"},
                                   "error": ("disabled", f"the account {key!r} is disabled; ask an administrator")}
                    else:
                        rec.update(failed_logins=0, locked_until="", last_login=_iso(t))
                        if hasher.check_needs_rehash(str(rec["password_hash"])):
                            rec["password_hash"] = hasher.hash(str(password))
                        outcome = {"action": "login", "actor": key, "role": rec.get("role", ""), "details": {}}
                else:
                    failures = int(rec.get("failed_logins", 0)) + 1
                    rec["failed_logins"] = failures
                    if failures >= acc.max_failed_logins:
                        until = _iso(t + timedelta(minutes=acc.lockout_minutes))
                        rec["locked_until"] = until
                        outcome = {"action": "login_locked", "actor": key, "role": rec.get("role", ""),
                                   "details": {"reason": "too_many_failures", "failures": failures,
                                               "locked_until": until},
                                   "error": ("locked", _locked_message(until, ws))}
                    else:
                        outcome = {"action": "login_failed", "actor": key, "role": rec.get("role", ""),
                                   "details": {"reason": "bad_password", "failures": failures},
                                   "error": ("bad_credentials", _BAD_CREDENTIALS)}
            _save(ws, users)

    audit.record(ws, outcome["action"], actor=outcome["actor"] or "?", role=outcome["role"],
                 target=outcome["actor"] or "?", details=outcome["details"])
    if "error" in outcome:
        raise AuthError(*outcome["error"])
    return _to_user(key, users[key])  # type: ignore[index]


def _locked_message(until_iso: str, ws: Any) -> str:
    from zoneinfo import ZoneInfo

    local = datetime.fromisoformat(until_iso).astimezone(ZoneInfo(ws.settings.timezone))
    return (f"too many failed logins: the account is locked until {local:%H:%M} "
            f"({ws.settings.access.lockout_minutes:g} minutes); an administrator can unlock it")


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
        _save(ws, users)
    actor = audit.cli_actor()
    audit.record(ws, "user_add", actor=actor, role="admin", target=name,
                 details={"role": "admin", "bootstrap": True})
    return password


def session_expired(last_seen: float, now: float, ws: Any) -> bool:
    """Whether a session idle since ``last_seen`` (epoch seconds) has timed out at ``now``."""
    return (now - last_seen) > ws.settings.access.session_timeout_minutes * 60.0
