"""The event store: one DuckDB file per workspace.

Tables
------
``events``   the event schema of :mod:`geo.store.schema`, primary key ``event_id``.
``ingests``  one row per ingested file: hash, counts, reasons, time.

Every write is one transaction: an ingest either lands whole or not at all,
so a crash or a kill half-way leaves the store as it was (DuckDB's WAL rolls
back an uncommitted transaction on the next open).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from geo.errors import StoreError
from geo.store.files import make_private, private_umask
from geo.store.schema import DUCKDB_TYPES, EVENT_COLUMNS, conform_events

INGEST_COLUMNS = {
    "ingest_id": "VARCHAR PRIMARY KEY",
    "started_at": "TIMESTAMPTZ",
    "file": "VARCHAR",
    "file_sha256": "VARCHAR",
    "source": "VARCHAR",
    "crs": "VARCHAR",
    "read": "BIGINT",
    "stored": "BIGINT",
    "duplicates": "BIGINT",
    "quarantined": "BIGINT",
    "quarantine_file": "VARCHAR",
    "report": "VARCHAR",
}


def _events_ddl() -> str:
    cols = []
    for col, (dtype, nullable) in EVENT_COLUMNS.items():
        sql = f"{col} {DUCKDB_TYPES[dtype]}"
        # No PRIMARY KEY on event_id: its index tripled the insert time of a big file.  The ingest decides
        # uniqueness itself (inside the file, then against the store) under one writer per store.
        if not nullable:
            sql += " NOT NULL"
        cols.append(sql)
    return "CREATE TABLE IF NOT EXISTS events (" + ", ".join(cols) + ")"


def _ingests_ddl() -> str:
    return "CREATE TABLE IF NOT EXISTS ingests (" + ", ".join(
        f"{k} {v}" for k, v in INGEST_COLUMNS.items()) + ")"


class _Shared:
    """The one DuckDB database handle of a store file in this process (see :func:`connect`)."""

    def __init__(self) -> None:
        self.con: duckdb.DuckDBPyConnection | None = None
        self.read_only = True
        self.users = 0
        self.opening = False
        self.writers_waiting = 0


_SHARED: dict[str, _Shared] = {}
_COND = threading.Condition()
_log = logging.getLogger("gridwatch.store")

ProgressMessage = Callable[[str], None]
"""Receives the "store is busy, waiting" messages of :func:`connect`."""


def _open_with_retry(path: Path, read_only: bool, wait: float, every: float,
                     progress: ProgressMessage | None) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` retried while another process holds the file, for at most ``wait`` seconds."""
    t0 = time.monotonic()
    next_note = t0 + min(every, 0.5)
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            waited = time.monotonic() - t0
            if waited >= wait:
                raise StoreError(f"cannot open the event store {path}: another gridwatch process has held it "
                                 f"for {waited:.0f} s ({exc}). Nothing was changed; retry when it has finished "
                                 "(or raise [store] busy_wait_seconds).") from None
            now = time.monotonic()
            if now >= next_note:
                msg = (f"the event store is busy (another gridwatch process is using it); waited {waited:.0f} s "
                       f"of at most {wait:g} s")
                (progress or _log.warning)(msg)
                next_note = now + every
            time.sleep(min(delay, max(0.0, wait - waited)))
            delay = min(delay * 2, 0.5)


def _acquire(path: Path, read_only: bool, wait: float, every: float,
             progress: ProgressMessage | None) -> tuple[_Shared, duckdb.DuckDBPyConnection]:
    """A cursor on this process's shared handle of ``path``, opening (or reopening writable) as needed.

    Readers join whatever handle is open (a writable one reads too); a writer
    waits until the read-only handle's last user is done, then reopens it
    writable.  So every connection in the process has the same configuration
    and DuckDB never raises "different configuration than existing connections".
    """
    key = str(path.resolve())
    deadline = time.monotonic() + max(wait, 1.0)
    with _COND:
        shared = _SHARED.setdefault(key, _Shared())
        waiting = False
        try:
            while True:
                if shared.con is not None and not shared.opening and (
                        (read_only and not shared.writers_waiting) or not shared.read_only):
                    shared.users += 1
                    return shared, shared.con.cursor()
                if shared.con is None and not shared.opening:
                    break  # this thread opens it
                if shared.con is not None and not shared.opening and shared.users == 0:
                    shared.con.close()  # read-only and idle: reopen writable below
                    shared.con = None
                    break
                if not read_only and not waiting:
                    shared.writers_waiting += 1
                    waiting = True
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreError(f"the event store {path} stayed busy inside this process for {wait:g} s "
                                     "(a long query or ingest); retry when it has finished")
                _COND.wait(timeout=min(left, every))
            shared.opening = True
        finally:
            if waiting:
                shared.writers_waiting -= 1
    try:
        con = _open_with_retry(path, read_only, wait, every, progress)
        if not read_only:
            con.execute(_events_ddl())
            con.execute(_ingests_ddl())
    except BaseException:
        with _COND:
            shared.opening = False
            _COND.notify_all()
        raise
    with _COND:
        shared.con, shared.read_only, shared.opening = con, read_only, False
        shared.users += 1
        _COND.notify_all()
        return shared, con.cursor()


def _release(path: Path, shared: _Shared, cursor: duckdb.DuckDBPyConnection) -> None:
    cursor.close()
    with _COND:
        shared.users -= 1
        if shared.users == 0 and shared.con is not None and not shared.opening:
            # Closed when idle: another process (an ingest from the command line) may then take the file.
            shared.con.close()
            shared.con = None
        _COND.notify_all()


@contextmanager
def connect(path: str | Path, *, read_only: bool = False, wait: float | None = None,
            progress: ProgressMessage | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store (creating its tables on first write) and close it afterwards.

    One process holds one DuckDB handle per store file, shared by its threads:
    each ``with connect(...)`` gets its own cursor (its own transactions) on
    it, so the app's many sessions can read while others log in and write
    audit rows without DuckDB refusing a second configuration of the same file.

    Parameters
    ----------
    path : str or Path
        The store file (``ws.store_path``).
    read_only : bool
        Only read.  A missing store then reads as an empty one (in memory).
    wait : float, optional
        Seconds to wait while another process holds the store (default
        ``[store] busy_wait_seconds``); then :class:`~geo.errors.StoreError`.
    progress : callable, optional
        Receives a "store is busy, waiting" message every
        ``[store] busy_progress_seconds`` while waiting; default the
        ``gridwatch.store`` logger.
    """
    from geo.settings import StoreSettings

    defaults = StoreSettings()
    wait = defaults.busy_wait_seconds if wait is None else wait
    path = Path(path)
    if read_only and not path.exists():
        # An empty in-memory store keeps read paths simple for a new workspace.
        con = duckdb.connect(":memory:")
        try:
            con.execute(_events_ddl())
            con.execute(_ingests_ddl())
            con.execute("SET TimeZone = 'UTC'")
            yield con
        finally:
            con.close()
        return
    with private_umask():  # a new store (and its folder) is private
        path.parent.mkdir(parents=True, exist_ok=True)
        shared, cur = _acquire(path, read_only, wait, defaults.busy_progress_seconds, progress)
    try:
        cur.execute("SET TimeZone = 'UTC'")
        if read_only:
            yield cur
        else:
            make_private(path)  # also a store an older version left at 0644
            with private_umask():  # the write-ahead log and files written meanwhile (quarantine)
                yield cur
    finally:
        _release(path, shared, cur)


def existing_hashes(con: duckdb.DuckDBPyConnection, event_ids: Sequence[str]) -> pd.DataFrame:
    """``event_id`` and ``content_hash`` of the given ids already in the store."""
    if len(event_ids) == 0:
        return pd.DataFrame({"event_id": pd.Series(dtype="string"),
                             "content_hash": pd.Series(dtype="string")})
    ids = pa.table({"event_id": pa.array(list(event_ids), type=pa.string())})
    con.register("_candidate_ids", ids)
    try:
        return con.execute(
            "SELECT e.event_id, e.content_hash FROM events e JOIN _candidate_ids c USING (event_id)"
        ).df()
    finally:
        con.unregister("_candidate_ids")


def append_events(con: duckdb.DuckDBPyConnection, events: pd.DataFrame) -> int:
    """Insert conformed events (inside the caller's transaction); returns the count."""
    if events.empty:
        return 0
    table = pa.Table.from_pandas(conform_events(events), preserve_index=False)
    con.register("_new_events", table)
    try:
        con.execute(f"INSERT INTO events SELECT {', '.join(EVENT_COLUMNS)} FROM _new_events")
    finally:
        con.unregister("_new_events")
    return len(events)


def record_ingest(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
    """Insert one ``ingests`` row (inside the caller's transaction)."""
    values = {k: row.get(k) for k in INGEST_COLUMNS}
    if isinstance(values["report"], dict):
        values["report"] = json.dumps(values["report"], ensure_ascii=False, sort_keys=True)
    con.execute(f"INSERT INTO ingests VALUES ({', '.join('?' for _ in values)})", list(values.values()))


def read_events(path: str | Path, *, where: str | None = None, params: Sequence[Any] = (),
                columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read events (optionally filtered by a SQL ``where`` with ``?`` params) in schema dtypes."""
    cols = ", ".join(columns) if columns else ", ".join(EVENT_COLUMNS)
    sql = f"SELECT {cols} FROM events"
    if where:
        sql += f" WHERE {where}"
    sql += " ORDER BY event_id"
    with connect(path, read_only=True) as con:
        df = query_arrow(con, sql, params).to_pandas(types_mapper=arrow_types_mapper)
    if columns is None:
        return conform_events(df)
    return df


def query_arrow(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> pa.Table:
    """Run a query into an Arrow table (DuckDB ≥ 1.4 and 2.x spell this differently)."""
    rel = con.sql(sql, params=list(params)) if params else con.sql(sql)
    return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()


def arrow_types_mapper(t: pa.DataType) -> Any:
    """``to_pandas`` mapping of Arrow text to pandas' string dtype (the event schema's)."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype()
    return None


def events_version(path: str | Path) -> tuple[int, int]:
    """The number of stored events and a checksum of all their rows.

    Changes whenever an event is stored, changed (a category merge) or removed, and only then: the
    audit rows a login or a download appends to the same file leave it alone.  The app keys its
    caches on it, so a login does not throw away every analysis.  One scan of the table (a tenth of
    a second for 1e5 events).
    """
    with connect(path, read_only=True) as con:
        n, checksum = con.execute("SELECT count(*), coalesce(bit_xor(hash(e)), 0) FROM events e").fetchone()
    return int(n), int(checksum)


def store_counts(path: str | Path, timezone: str = "UTC") -> dict[str, Any]:
    """Totals for ``gridwatch status``: events, by source, category, month, ingests.

    Parameters
    ----------
    path : path-like
        The store.
    timezone : str
        IANA zone of the months and of ``first``/``last`` (the workspace's, for people: a
        dataset that ends on a local 31 August has no September bucket).  Default UTC.
    """
    with connect(path, read_only=True) as con:
        total = con.execute("SELECT count(*) FROM events").fetchone()[0]
        by_source = dict(con.execute(
            "SELECT source, count(*) FROM events GROUP BY 1 ORDER BY 1").fetchall())
        by_category = dict(con.execute(
            "SELECT category, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC, 1").fetchall())
        # counts per UTC quarter hour (every zone's offset is a multiple of 15 min), months taken locally
        quarters = con.execute(
            "SELECT (epoch(occurred_at) // 900)::BIGINT, count(*) FROM events GROUP BY 1").fetchall()
        span = con.execute("SELECT epoch(min(occurred_at)), epoch(max(occurred_at)) FROM events").fetchone()
        cells = {t: con.execute(f"SELECT count(DISTINCT h3_{t}) FROM events").fetchone()[0]
                 for t in ("big", "middle", "small")}
        ingests = con.execute(
            "SELECT count(*), coalesce(sum(read),0), coalesce(sum(stored),0), "
            "coalesce(sum(duplicates),0), coalesce(sum(quarantined),0) FROM ingests").fetchone()
    by_month: dict[str, int] = {}
    if quarters:
        q = pd.DataFrame(quarters, columns=["q", "n"])
        local = pd.to_datetime(q["q"] * 900, unit="s", utc=True).dt.tz_convert(timezone)
        by_month = {str(k): int(v) for k, v in q["n"].groupby(local.dt.strftime("%Y-%m")).sum().sort_index().items()}

    def _local(epoch: float | None) -> str | None:
        return None if epoch is None else pd.Timestamp(epoch, unit="s", tz="UTC").tz_convert(timezone).isoformat()

    return {
        "events": int(total),
        "timezone": timezone,
        "by_source": {k: int(v) for k, v in by_source.items()},
        "by_category": {k: int(v) for k, v in by_category.items()},
        "by_month": {k: int(v) for k, v in by_month.items()},
        "first": _local(span[0]),
        "last": _local(span[1]),
        "cells_with_events": {k: int(v) for k, v in cells.items()},
        "ingests": {"files": int(ingests[0]), "read": int(ingests[1]), "stored": int(ingests[2]),
                    "duplicates": int(ingests[3]), "quarantined": int(ingests[4])},
    }
