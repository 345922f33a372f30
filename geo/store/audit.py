"""The audit log: an append-only, hash-chained table ``audit`` in the workspace's store.

Every login (and failed login), ingest, export, settings change and user
change is one row::

    seq BIGINT PRIMARY KEY, "at" TIMESTAMPTZ, actor VARCHAR, role VARCHAR, action VARCHAR,
    target VARCHAR, details JSON, prev_hash VARCHAR, hash VARCHAR

``hash`` is the HMAC-SHA-256, keyed with a secret kept *outside* the store
(``.audit_key`` beside the store file and the workspace's ``.salt``, mode
0600), of ``prev_hash`` and the row's canonical content.  Editing or deleting
a row breaks the chain from that row on, and someone who can run SQL on the
store but cannot read the key cannot recompute ("re-chain") it.

After every commit the head of the chain (``seq`` and ``hash``, with an HMAC
of both) is appended to ``audit.anchor`` beside the store: a file opened
only for appending.  :func:`verify_audit` checks every anchor line against
the table, so cutting rows off the end, ``DELETE FROM audit``, ``DROP TABLE
audit`` and a re-chained edit are all reported (``gridwatch audit --verify``).
Rows written before the key existed (plain SHA-256, older stores) are
accepted only as a prefix of the chain and counted as ``legacy_rows``.
This module only ever inserts; there is no update or delete function.

``at`` is a reserved word in DuckDB's SQL: quote it (``"at"``) in raw queries.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from geo.errors import GridwatchError, StoreError

ACTIONS = ("login", "login_failed", "login_locked", "logout", "ingest", "export", "settings_change",
           "user_add", "user_change", "user_remove", "download", "categories_merge", "categories_rename")

COLUMNS = ("seq", "at", "actor", "role", "action", "target", "details", "prev_hash", "hash")
GENESIS = "0" * 64
"""``prev_hash`` of the first row."""

_DDL = ('CREATE TABLE IF NOT EXISTS audit (seq BIGINT PRIMARY KEY, "at" TIMESTAMPTZ NOT NULL, '
        "actor VARCHAR NOT NULL, role VARCHAR, action VARCHAR NOT NULL, target VARCHAR, details JSON, "
        "prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TEXT = 512  # actor/target are user-controlled (a typed user name): keep rows bounded
KEY_FILE = ".audit_key"
"""The chain's HMAC key, beside the store file (mode 0600; never inside the store)."""
ANCHOR_FILE = "audit.anchor"
"""Append-only file of chain heads, beside the store file."""
T = TypeVar("T")
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCK_GUARD = threading.Lock()


class AuditError(GridwatchError, ValueError):
    """An audit record is invalid (unknown action, missing actor)."""


def cli_actor() -> str:
    """The actor of command-line changes: ``cli:<OS user>`` (the CLI acts as local admin)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}"


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``audit`` table if the store has none (safe inside a transaction)."""
    con.execute(_DDL).fetchall()


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """The JSON text stored (and hashed) for ``details``: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(dict(details or {}), sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def row_hash(prev_hash: str, seq: int, at_us: int, actor: str, role: str, action: str, target: str,
             details: str, key: bytes | None = None) -> str:
    """HMAC-SHA-256 (hex) with ``key`` chaining one row to the previous row's hash.

    Without a key: plain SHA-256 of the same payload (rows of stores older
    than the key, accepted by :func:`verify_audit` only as a legacy prefix).
    ``at_us`` is the time in microseconds since the Unix epoch (what DuckDB's
    ``epoch_us("at")`` returns), so the hash does not depend on time-zone or
    string formatting of timestamps.
    """
    payload = json.dumps([prev_hash, int(seq), int(at_us), actor, role, action, target, details],
                         ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def key_path(store_path: str | Path) -> Path:
    """Where the chain key of the store ``store_path`` lives (:data:`KEY_FILE` beside it)."""
    return Path(store_path).parent / KEY_FILE


def anchor_path(store_path: str | Path) -> Path:
    """Where the anchor of the store ``store_path`` lives (:data:`ANCHOR_FILE` beside it)."""
    return Path(store_path).parent / ANCHOR_FILE


def _read_key(store_path: str | Path) -> bytes | None:
    path = key_path(store_path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return bytes.fromhex(text) if text else None


def audit_key(store_path: str | Path) -> bytes:
    """The store's chain key, created (32 random bytes, file mode 0600) on first use.

    Created as a temporary file linked into place, so two processes starting
    at once end with one key.
    """
    key = _read_key(store_path)
    if key is not None:
        return key
    path = key_path(store_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    key = _read_key(store_path)
    if key is None:  # pragma: no cover - the file was emptied between link and read
        raise StoreError(f"the audit key {path} is empty; restore it from a backup")
    return key


def _store_file(con: duckdb.DuckDBPyConnection) -> Path:
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    if not rows or not rows[0][0]:
        raise AuditError("the audit log needs a store file (an in-memory database has no key beside it)")
    return Path(rows[0][0])


def _anchor_mac(key: bytes, seq: int, digest: str) -> str:
    return hmac.new(key, f"anchor:{int(seq)}:{digest}".encode("ascii"), hashlib.sha256).hexdigest()


def write_anchor(con: duckdb.DuckDBPyConnection) -> None:
    """Append the chain's committed head (seq, hash, HMAC of both) to the anchor file.

    Call after the transaction that added audit rows has committed (an
    uncommitted head would be reported as missing if it rolled back).
    :func:`record` and :func:`write` do it themselves.
    """
    store = _store_file(con)
    if not _table_exists(con):
        return
    rows = con.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchall()
    if not rows:
        return
    seq, digest = int(rows[0][0]), str(rows[0][1])
    key = audit_key(store)
    line = json.dumps({"seq": seq, "hash": digest, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                       "mac": _anchor_mac(key, seq, digest)}, separators=(",", ":")) + "\n"
    # O_APPEND: each line lands whole at the end, whichever process writes it.
    fd = os.open(anchor_path(store), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _clip(text: Any) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= _MAX_TEXT else s[:_MAX_TEXT - 1] + "…"


def record_in(con: duckdb.DuckDBPyConnection, action: str, *, actor: str, role: str = "",
              target: str = "", details: Mapping[str, Any] | None = None) -> None:
    """Append one audit row on an open connection, inside the caller's transaction.

    Does not begin or commit: an ingest records its row in the same
    transaction as its events, so both land or neither does.  After the
    commit, call :func:`write_anchor` on the same connection.

    Parameters
    ----------
    con : duckdb connection
        An open, writable connection to the store (``geo.store.database.connect``).
    action : str
        One of :data:`ACTIONS`.
    actor : str
        Who did it: a user name, or :func:`cli_actor` for the command line.
    role, target : str
        The actor's role; what was acted on (a file name, a user name, …).
    details : dict, optional
        JSON-serialisable parameters (filters, counts, changed keys).  Never
        put secrets here.
    """
    if action not in ACTIONS:
        raise AuditError(f"unknown audit action {action!r}; use one of {', '.join(ACTIONS)}")
    if not actor:
        raise AuditError("an audit record needs an actor (a user name, or audit.cli_actor() for the CLI)")
    ensure_table(con)
    # DuckDB 2.x: fetch every result fully, or the caller's next query on this connection fails.
    rows = con.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchall()
    seq, prev = (int(rows[0][0]) + 1, str(rows[0][1])) if rows else (1, GENESIS)
    now = datetime.now(UTC)
    at_us = (now - _EPOCH) // timedelta(microseconds=1)
    now = _EPOCH + timedelta(microseconds=at_us)
    actor_s, role_s, target_s = _clip(actor), _clip(role), _clip(target)
    text = canonical_details(details)
    digest = row_hash(prev, seq, at_us, actor_s, role_s, action, target_s, text, audit_key(_store_file(con)))
    con.execute('INSERT INTO audit (seq, "at", actor, role, action, target, details, prev_hash, hash) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [seq, now, actor_s, role_s, action, target_s, text, prev, digest]).fetchall()


def write_lock(store: str | Path) -> threading.Lock:
    """The lock every audit append to ``store`` in this process takes (:func:`write`).

    A longer transaction that appends its own audit row (an ingest) holds it to commit for sure: sessions
    of this process then wait for that commit instead of taking its ``seq`` first.
    """
    with _WRITE_LOCK_GUARD:
        return _WRITE_LOCKS.setdefault(str(Path(store).resolve()), threading.Lock())


def write(ws: Any, body: Callable[[duckdb.DuckDBPyConnection], T], *,
          progress: Callable[[str], None] | None = None, undo: Callable[[], None] | None = None) -> T:
    """Run ``body(con)`` (which calls :func:`record_in`) in one store transaction, then anchor it.

    Retried from the start when another thread of this process took the same
    ``seq`` (``body`` must be repeatable); waits up to ``[store]
    busy_wait_seconds`` with ``progress`` messages while another process holds
    the store.  If it cannot commit, ``undo`` is called and
    :class:`~geo.errors.StoreError` raised: a change is never left unaudited.
    """
    from geo.store.database import connect

    delay = 0.02
    attempts = 12
    lock = write_lock(ws.store_path)
    try:
        for attempt in range(attempts):
            try:
                # One audit append at a time per store in this process: sessions never race for a seq
                # (an ingest's long transaction can still conflict; it redoes its own store step).
                with lock, connect(ws.store_path, wait=ws.settings.store.busy_wait_seconds,
                                   progress=progress) as con:
                    con.execute("BEGIN TRANSACTION").fetchall()
                    try:
                        result = body(con)
                        con.execute("COMMIT").fetchall()
                    except BaseException:
                        with contextlib.suppress(duckdb.Error):
                            con.execute("ROLLBACK").fetchall()
                        raise
                    write_anchor(con)
                return result
            except (duckdb.TransactionException, duckdb.ConstraintException) as exc:
                # Another session of this process committed the same seq first: redo with the next one.
                if attempt == attempts - 1:
                    raise StoreError(f"cannot write the audit record to {ws.store_path}: {exc}. Nothing was "
                                     "changed; retry.") from None
                time.sleep(delay * (1 + secrets.randbelow(4)))
                delay = min(delay * 2, 0.5)
    except BaseException:
        if undo is not None:
            undo()
        raise
    raise AssertionError("unreachable")  # pragma: no cover


def record(ws: Any, action: str, *, actor: str, role: str = "", target: str = "",
           details: Mapping[str, Any] | None = None, progress: Callable[[str], None] | None = None) -> None:
    """Append one audit row in its own transaction (see :func:`write` for waits and retries).

    Raises :class:`~geo.errors.StoreError` if the store stays busy, so a
    change is never silently left unaudited.
    """
    write(ws, lambda con: record_in(con, action, actor=actor, role=role, target=target, details=details),
          progress=progress)


def record_export(ws: Any, out: str | Path, *, rows: int, command: str,
                  filters: Mapping[str, Any] | None = None, actor: str | None = None, role: str = "admin",
                  **params: Any) -> None:
    """Audit one written export: target = the file name; details = command, filters, parameters, rows.

    ``actor`` defaults to :func:`cli_actor` (the command line).
    """
    details: dict[str, Any] = {"command": command, "rows": int(rows), "out": str(out)}
    if filters is not None:
        details["filters"] = dict(filters)
    params = {k: v for k, v in params.items() if v is not None}
    if params:
        details["params"] = params
    record(ws, "export", actor=actor or cli_actor(), role=role, target=Path(out).name, details=details)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({
        "seq": pd.Series(dtype="int64"), "at": pd.Series(dtype="datetime64[us, UTC]"),
        **{c: pd.Series(dtype="string") for c in COLUMNS[2:]}})


def _table_exists(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'audit'").fetchall()[0][0])


def _since_ts(since: date | datetime | str, timezone: str) -> datetime:
    """``since`` as an aware instant; a date (or ``YYYY-MM-DD``) is local midnight in the workspace zone."""
    from zoneinfo import ZoneInfo

    if isinstance(since, str):
        try:
            since = datetime.fromisoformat(since) if ("T" in since or " " in since) else date.fromisoformat(since)
        except ValueError:
            raise AuditError(f"since {since!r} is not a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM") from None
    if not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day)
    if since.tzinfo is None:
        since = since.replace(tzinfo=ZoneInfo(timezone))
    return since


def read_audit(ws: Any, *, since: date | datetime | str | None = None, action: str | None = None,
               actor: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """Audit rows, oldest first (``at`` in UTC; ``details`` as JSON text).

    Parameters
    ----------
    since : date, datetime or str, optional
        Only rows at or after this instant; a date is local midnight in the
        workspace's time zone.
    action, actor : str, optional
        Only this action / this actor (exact match).
    limit : int, optional
        Only the most recent ``limit`` rows (still returned oldest first).
    """
    from geo.store.database import connect, query_arrow

    if action is not None and action not in ACTIONS:
        raise AuditError(f"unknown audit action {action!r}; use one of {', '.join(ACTIONS)}")
    if limit is not None and limit < 0:
        raise AuditError(f"limit {limit} must be 0 or more")
    where, params = [], []
    if since is not None:
        where.append('"at" >= ?')
        params.append(_since_ts(since, ws.settings.timezone))
    if action is not None:
        where.append("action = ?")
        params.append(action)
    if actor is not None:
        where.append("actor = ?")
        params.append(actor)
    sql = "SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + " FROM audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC" + (f" LIMIT {int(limit)}" if limit is not None else "")
    with connect(ws.store_path, read_only=True) as con:
        if not _table_exists(con):
            return _empty()
        df = query_arrow(con, sql, params).to_pandas()
    df = df.iloc[::-1].reset_index(drop=True)
    for c in COLUMNS[2:]:
        df[c] = df[c].astype("string")
    df["seq"] = df["seq"].astype("int64")
    return df


@dataclass(frozen=True)
class AuditCheck:
    """The result of :func:`verify_audit` (``gridwatch audit --verify --json`` prints it)."""

    ok: bool
    rows: int
    """Rows in the audit table."""
    first_bad_seq: int | None
    """The first row that fails (changed, missing, or the first missing one after the end); ``None`` if ok."""
    problem: str
    """What is wrong, in words (``""`` when ok)."""
    anchored_seq: int
    """The highest ``seq`` the anchor file vouches for (0: no anchor yet)."""
    legacy_rows: int
    """Leading rows hashed before the store had a key (plain SHA-256)."""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": self.rows, "first_bad_seq": self.first_bad_seq, "problem": self.problem,
                "anchored_seq": self.anchored_seq, "legacy_rows": self.legacy_rows}


def _read_anchor(store: Path, key: bytes | None) -> tuple[list[tuple[int, str]], str]:
    """Valid anchor entries ``(seq, hash)`` and a problem text if a line is damaged or forged."""
    path = anchor_path(store)
    if not path.exists():
        return [], ""
    entries = []
    for n, line in enumerate(path.read_text(encoding="ascii", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            seq, digest, mac = int(doc["seq"]), str(doc["hash"]), str(doc["mac"])
        except (ValueError, KeyError, TypeError):
            return entries, f"line {n} of the anchor file {path.name} is damaged"
        if key is None or not hmac.compare_digest(mac, _anchor_mac(key, seq, digest)):
            return entries, f"line {n} of the anchor file {path.name} was not written with this store's key"
        entries.append((seq, digest))
    return entries, ""


def verify_audit(ws: Any) -> AuditCheck:
    """Check the chain (keyed hashes, ``prev_hash`` links, consecutive ``seq``) and the anchor.

    Detects an edited row (its hash no longer matches), a deleted row (a gap
    in ``seq``), an edited row whose chain was recomputed without the key
    (hash mismatch) or with it (the anchor's hash for that ``seq`` differs),
    rows cut off the end and an emptied or dropped table (the anchor vouches
    for rows that are gone), and a deleted anchor file (keyed rows but no
    anchor).
    """
    from geo.store.database import connect

    store = Path(ws.store_path)
    key = _read_key(store)
    with connect(store, read_only=True) as con:
        rows = con.execute('SELECT seq, epoch_us("at"), actor, role, action, target, CAST(details AS VARCHAR), '
                           "prev_hash, hash FROM audit ORDER BY seq").fetchall() if _table_exists(con) else []
    anchors, anchor_problem = _read_anchor(store, key)
    anchored = max((s for s, _ in anchors), default=0)

    def result(bad: int | None, problem: str, legacy: int) -> AuditCheck:
        return AuditCheck(ok=bad is None and not problem, rows=len(rows), first_bad_seq=bad, problem=problem,
                          anchored_seq=anchored, legacy_rows=legacy)

    prev, expected_seq, legacy, keyed = GENESIS, 1, 0, False
    hashes: dict[int, str] = {}
    # The chain is sequential by construction: each hash needs the one before.
    for seq, at_us, actor, role, action, target, details, prev_hash, digest in rows:
        if seq != expected_seq:
            return result(expected_seq, f"row {expected_seq} is missing (deleted)", legacy)
        if prev_hash != prev:
            return result(int(seq), f"row {seq} does not link to row {seq - 1} (a row was changed or removed)",
                          legacy)
        fields = (prev, seq, at_us, actor or "", role or "", action or "", target or "", details or "")
        if key is not None and hmac.compare_digest(row_hash(*fields, key), digest):
            keyed = True
        elif not keyed and row_hash(*fields) == digest:
            legacy += 1
        else:
            why = "was changed" if key is not None else "cannot be checked: the key file is missing"
            return result(int(seq), f"row {seq} {why}", legacy)
        hashes[int(seq)] = digest
        prev, expected_seq = digest, seq + 1
    if anchor_problem:
        return result(None, anchor_problem, legacy)
    for seq, digest in anchors:
        if seq not in hashes:
            what = "the audit table is gone or empty" if not rows else f"the log ends at row {len(rows)}"
            return result(len(rows) + 1, f"the anchor vouches for {anchored} rows but {what} "
                                         "(rows were cut off, deleted or the table dropped)", legacy)
        if hashes[seq] != digest:
            return result(seq, f"row {seq} differs from the anchor: the chain was recomputed after an edit",
                          legacy)
    if keyed and not anchors:
        return result(None, f"the anchor file {anchor_path(store).name} is missing although keyed rows exist",
                      legacy)
    return result(None, "", legacy)


def verify_chain(ws: Any) -> tuple[bool, int | None]:
    """``(True, None)`` if :func:`verify_audit` finds nothing wrong, else ``(False, first bad seq)``.

    The seq is ``None`` when only the anchor file is damaged or missing.
    """
    check = verify_audit(ws)
    return check.ok, check.first_bad_seq
