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
from collections.abc import Iterator, Sequence
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
        if col == "event_id":
            sql += " PRIMARY KEY"
        elif not nullable:
            sql += " NOT NULL"
        cols.append(sql)
    return "CREATE TABLE IF NOT EXISTS events (" + ", ".join(cols) + ")"


def _ingests_ddl() -> str:
    return "CREATE TABLE IF NOT EXISTS ingests (" + ", ".join(
        f"{k} {v}" for k, v in INGEST_COLUMNS.items()) + ")"


@contextmanager
def connect(path: str | Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store (creating its tables on first write) and close it afterwards."""
    path = Path(path)
    if read_only and not path.exists():
        # An empty in-memory store keeps read paths simple for a new workspace.
        con = duckdb.connect(":memory:")
    else:
        with private_umask():  # a new store (and its folder) is private
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                con = duckdb.connect(str(path), read_only=read_only)
            except duckdb.IOException as exc:
                raise StoreError(f"cannot open the event store {path}: {exc}. Is another gridwatch "
                                 "process writing to it? Wait for it to finish and retry.") from None
    try:
        if not read_only or not path.exists():
            con.execute(_events_ddl())
            con.execute(_ingests_ddl())
        con.execute("SET TimeZone = 'UTC'")
        if read_only:
            yield con
        else:
            make_private(path)  # also a store an older version left at 0644
            with private_umask():  # the write-ahead log and files written meanwhile (quarantine)
                yield con
    finally:
        con.close()


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


def store_counts(path: str | Path) -> dict[str, Any]:
    """Totals for ``gridwatch status``: events, by source, category, month, ingests."""
    with connect(path, read_only=True) as con:
        total = con.execute("SELECT count(*) FROM events").fetchone()[0]
        by_source = dict(con.execute(
            "SELECT source, count(*) FROM events GROUP BY 1 ORDER BY 1").fetchall())
        by_category = dict(con.execute(
            "SELECT category, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC, 1").fetchall())
        by_month = dict(con.execute(
            "SELECT strftime(occurred_at, '%Y-%m'), count(*) FROM events GROUP BY 1 ORDER BY 1"
        ).fetchall())
        span = con.execute("SELECT min(occurred_at), max(occurred_at) FROM events").fetchone()
        cells = {t: con.execute(f"SELECT count(DISTINCT h3_{t}) FROM events").fetchone()[0]
                 for t in ("big", "middle", "small")}
        ingests = con.execute(
            "SELECT count(*), coalesce(sum(read),0), coalesce(sum(stored),0), "
            "coalesce(sum(duplicates),0), coalesce(sum(quarantined),0) FROM ingests").fetchone()
    return {
        "events": int(total),
        "by_source": {k: int(v) for k, v in by_source.items()},
        "by_category": {k: int(v) for k, v in by_category.items()},
        "by_month": {k: int(v) for k, v in by_month.items()},
        "first": span[0].isoformat() if span[0] is not None else None,
        "last": span[1].isoformat() if span[1] is not None else None,
        "cells_with_events": {k: int(v) for k, v in cells.items()},
        "ingests": {"files": int(ingests[0]), "read": int(ingests[1]), "stored": int(ingests[2]),
                    "duplicates": int(ingests[3]), "quarantined": int(ingests[4])},
    }
