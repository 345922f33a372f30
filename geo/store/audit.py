"""The audit log: an append-only, hash-chained table ``audit`` in the workspace's store.

Every login (and failed login), ingest, export, settings change and user
change is one row::

    seq BIGINT PRIMARY KEY, "at" TIMESTAMPTZ, actor VARCHAR, role VARCHAR, action VARCHAR,
    target VARCHAR, details JSON, prev_hash VARCHAR, hash VARCHAR

``hash`` is the SHA-256 of ``prev_hash`` and the row's canonical content, so
editing or deleting a row breaks the chain from that row on and
:func:`verify_chain` names its ``seq``.  This module only ever inserts; there
is no update or delete function.  (Cutting rows off the *end* of the log
cannot be seen from the chain alone; keep copies of the store for that.)

``at`` is a reserved word in DuckDB's SQL: quote it (``"at"``) in raw queries.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

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
             details: str) -> str:
    """SHA-256 (hex) chaining one row to the previous row's hash.

    ``at_us`` is the time in microseconds since the Unix epoch (what DuckDB's
    ``epoch_us("at")`` returns), so the hash does not depend on time-zone or
    string formatting of timestamps.
    """
    payload = json.dumps([prev_hash, int(seq), int(at_us), actor, role, action, target, details],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _clip(text: Any) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= _MAX_TEXT else s[:_MAX_TEXT - 1] + "…"


def record_in(con: duckdb.DuckDBPyConnection, action: str, *, actor: str, role: str = "",
              target: str = "", details: Mapping[str, Any] | None = None) -> None:
    """Append one audit row on an open connection, inside the caller's transaction.

    Does not begin or commit: an ingest records its row in the same
    transaction as its events, so both land or neither does.

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
    digest = row_hash(prev, seq, at_us, actor_s, role_s, action, target_s, text)
    con.execute('INSERT INTO audit (seq, "at", actor, role, action, target, details, prev_hash, hash) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [seq, now, actor_s, role_s, action, target_s, text, prev, digest]).fetchall()


def record(ws: Any, action: str, *, actor: str, role: str = "", target: str = "",
           details: Mapping[str, Any] | None = None) -> None:
    """Append one audit row in its own connection and transaction.

    Retries for a few seconds when another process holds the store (an ingest
    running while someone logs in); raises :class:`~geo.errors.StoreError`
    if it stays busy, so a change is never silently left unaudited.
    """
    from geo.store.database import connect

    delay = 0.05
    for attempt in range(8):
        try:
            with connect(ws.store_path) as con:
                con.execute("BEGIN TRANSACTION").fetchall()
                try:
                    record_in(con, action, actor=actor, role=role, target=target, details=details)
                    con.execute("COMMIT").fetchall()
                except BaseException:
                    con.execute("ROLLBACK").fetchall()
                    raise
            return
        except (StoreError, duckdb.TransactionException, duckdb.ConstraintException,
                duckdb.ConnectionException) as exc:
            # Store locked by another process, a concurrent writer took the same seq, or this
            # process holds a short-lived read-only connection (another app session reading).
            if attempt == 7:
                if isinstance(exc, StoreError):
                    raise
                raise StoreError(f"cannot write the audit record ({action}) to {ws.store_path}: {exc}. "
                                 "Retry when the running ingest or query has finished.") from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


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


def verify_chain(ws: Any) -> tuple[bool, int | None]:
    """Recompute the hash chain: ``(True, None)`` if intact, else ``(False, seq of the first bad row)``.

    A row is bad when its content no longer matches its hash, its
    ``prev_hash`` is not the previous row's hash, or its ``seq`` does not
    follow the previous one (a deleted row).
    """
    from geo.store.database import connect

    with connect(ws.store_path, read_only=True) as con:
        if not _table_exists(con):
            return True, None
        rows = con.execute('SELECT seq, epoch_us("at"), actor, role, action, target, CAST(details AS VARCHAR), '
                           "prev_hash, hash FROM audit ORDER BY seq").fetchall()
    prev, expected_seq = GENESIS, 1
    # The chain is sequential by construction: each hash needs the one before.
    for seq, at_us, actor, role, action, target, details, prev_hash, digest in rows:
        if seq != expected_seq or prev_hash != prev:
            return False, int(seq)
        if row_hash(prev, seq, at_us, actor or "", role or "", action or "", target or "",
                    details or "") != digest:
            return False, int(seq)
        prev, expected_seq = digest, seq + 1
    return True, None
