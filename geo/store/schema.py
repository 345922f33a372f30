"""The event schema: one table for every source, and its validator.

Every stored event, whatever it came from, has exactly these columns.  The
store (DuckDB), the exports and the analyses all read this one definition.

========================  ===========  ==================================================
column                    type         meaning
========================  ===========  ==================================================
event_id                  string       stable id: ``source:<source id>`` or ``source:h<hash>``
source                    string       patrol / hotline / violation / snapshot / grid_event
source_id                 string       the exporting system's own id, if it had one
category                  string       canonical category code (``other`` if unknown)
category_raw              string       the value as exported
occurred_at               timestamp    timezone-aware (stored as UTC instants)
lon, lat                  float64      WGS84 degrees
crs_in                    string       coordinate system the row arrived in (or ``geocoded``)
location_method           string       coordinates / swap_fixed / geocoded_exact / _normalized / _fuzzy
address                   string       address as exported (normalised text)
status                    string       status as exported
is_closed                 bool         status means closed (办结/已处置/已处理 …)
closed_at                 timestamp    close-out time, if any
text                      string       free text with phone/ID/plate patterns masked
phone_hash, phone_masked  string       salted hash (repeat detection) and display form
id_hash, id_masked        string       same for ID-card numbers
plate_hash, plate_masked  string       same for vehicle plates
vehicle_type, action,     string       source-specific details (may be empty)
reporter, patrol_mode
h3_big/middle/small       int64        H3 cell ids at the workspace's tier resolutions
grid_big/middle/small     string       official grid ids (empty outside every grid)
flags                     string       ``;``-separated notes (swap_fixed, text_truncated, near_duplicate)
content_hash              string       hash of the normalised row (detects id conflicts)
ingest_id                 string       the ingest that stored the row
source_file, source_row   string, int  where the row came from
========================  ===========  ==================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.errors import SchemaError
from geo.settings import SOURCES, TIERS

# column -> (pandas dtype, nullable)
EVENT_COLUMNS: dict[str, tuple[str, bool]] = {
    "event_id": ("string", False),
    "source": ("string", False),
    "source_id": ("string", True),
    "category": ("string", False),
    "category_raw": ("string", True),
    "occurred_at": ("datetime64[us, UTC]", False),
    "lon": ("float64", False),
    "lat": ("float64", False),
    "crs_in": ("string", False),
    "location_method": ("string", False),
    "address": ("string", True),
    "status": ("string", True),
    "is_closed": ("bool", False),
    "closed_at": ("datetime64[us, UTC]", True),
    "text": ("string", True),
    "phone_hash": ("string", True),
    "phone_masked": ("string", True),
    "id_hash": ("string", True),
    "id_masked": ("string", True),
    "plate_hash": ("string", True),
    "plate_masked": ("string", True),
    "vehicle_type": ("string", True),
    "action": ("string", True),
    "reporter": ("string", True),
    "patrol_mode": ("string", True),
    "h3_big": ("int64", False),
    "h3_middle": ("int64", False),
    "h3_small": ("int64", False),
    "grid_big": ("string", True),
    "grid_middle": ("string", True),
    "grid_small": ("string", True),
    "flags": ("string", True),
    "content_hash": ("string", False),
    "ingest_id": ("string", False),
    "source_file": ("string", False),
    "source_row": ("int64", False),
}

DUCKDB_TYPES = {
    "string": "VARCHAR", "float64": "DOUBLE", "int64": "BIGINT", "bool": "BOOLEAN",
    "datetime64[us, UTC]": "TIMESTAMPTZ",
}

PERSONAL_FIELDS = ("phone", "id", "plate")
"""Personal-data fields: only ``*_hash`` and ``*_masked`` forms are ever stored."""


def tier_cell_column(tier: str) -> str:
    """Column holding the H3 cell of a tier (``h3_small``)."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; use one of {', '.join(TIERS)}")
    return f"h3_{tier}"


def tier_grid_column(tier: str) -> str:
    """Column holding the official grid id of a tier (``grid_small``)."""
    tier_cell_column(tier)
    return f"grid_{tier}"


def empty_events() -> pd.DataFrame:
    """An empty events table with the schema's dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, (t, _) in EVENT_COLUMNS.items()})


def conform_events(df: pd.DataFrame) -> pd.DataFrame:
    """Reorder and cast a frame to the schema (missing optional columns become null)."""
    out = {}
    for col, (dtype, nullable) in EVENT_COLUMNS.items():
        if col in df.columns:
            s = df[col]
        elif nullable:
            s = pd.Series(pd.NA, index=df.index, dtype=dtype if dtype == "string" else "object")
        else:
            raise SchemaError(f"events table lacks required column {col!r}")
        if dtype.startswith("datetime64"):
            s = pd.to_datetime(s, utc=True).astype(dtype)
        else:
            s = s.astype(dtype)
        out[col] = s
    return pd.DataFrame(out, index=df.index)


def validate_events(df: pd.DataFrame, *, resolutions: dict[str, int] | None = None) -> None:
    """Check a frame against the event schema; raise :class:`SchemaError` naming the first problem.

    This is the one validator of the store: every ingest (single-machine or
    per partition) passes its frame through it before writing.
    """
    missing = [c for c in EVENT_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(f"events table lacks column(s) {missing}")
    extra = [c for c in df.columns if c not in EVENT_COLUMNS]
    if extra:
        raise SchemaError(f"events table has unknown column(s) {extra}")
    for col, (dtype, nullable) in EVENT_COLUMNS.items():
        s = df[col]
        if str(s.dtype) != dtype:
            raise SchemaError(f"column {col!r} has dtype {s.dtype}, expected {dtype}")
        if not nullable and s.isna().any():
            row = int(np.flatnonzero(s.isna().to_numpy())[0])
            raise SchemaError(f"column {col!r} is null in row {row} but is required")
    if df["event_id"].duplicated().any():
        dup = df.loc[df["event_id"].duplicated(), "event_id"].iloc[0]
        raise SchemaError(f"event_id {dup!r} appears twice")
    bad_source = ~df["source"].isin(SOURCES)
    if bad_source.any():
        raise SchemaError(f"unknown source {df.loc[bad_source, 'source'].iloc[0]!r}")
    lon, lat = df["lon"].to_numpy(), df["lat"].to_numpy()
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()
            and (np.abs(lon) <= 180).all() and (np.abs(lat) <= 90).all()):
        raise SchemaError("lon/lat must be finite WGS84 degrees")
    if resolutions:
        for tier, res in resolutions.items():
            cells = df[tier_cell_column(tier)].to_numpy()
            if len(cells) and not (((cells >> 52) & 0xF) == res).all():
                raise SchemaError(f"h3_{tier} holds cells that are not at resolution {res}")
    closed = df["closed_at"].notna()
    if (df.loc[closed, "closed_at"] < df.loc[closed, "occurred_at"]).any():
        raise SchemaError("closed_at before occurred_at")
