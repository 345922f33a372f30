"""The (Geo)Parquet reader: typed columns as text, WKB or GeoArrow point geometry, the declared CRS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from geo.errors import InputFileError
from geo.ingest.cells import arrow_column_to_text
from geo.ingest.rawtable import GEOM_LAT, GEOM_LON, RawTable, dedupe_names, frame_from_arrow
from geo.ingest.textnorm import normalize_scalar

__all__ = ["read_parquet", "wkb_points"]


def wkb_points(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """x, y of WKB points (NaN for nulls, empties and other geometry types), vectorised."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    arr = arr.cast(pa.large_binary())
    n = len(arr)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if n == 0:
        return x, y
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    length = np.diff(offsets)
    start = offsets[:-1]
    ok = valid & (length >= 21)
    idx = np.flatnonzero(ok)
    if idx.size:
        s = start[idx]
        little = data[s] == 1
        tb = data[s[:, None] + np.arange(1, 5)]
        gtype = np.where(little, tb.view("<u4").ravel(), tb.view(">u4").ravel())
        # 2D point (1), ISO Z/M/ZM points (1001/2001/3001), EWKB points (flag bits).
        base = gtype & 0x0FFFFFFF
        has_srid = (gtype & 0x20000000) != 0
        off = np.where(has_srid, 9, 5)
        is_point = ((base % 1000) == 1) & (length[idx] >= off + 16)
        last = max(len(data) - 1, 0)
        xb = data[np.minimum((s + off)[:, None] + np.arange(8), last)]
        yb = data[np.minimum((s + off + 8)[:, None] + np.arange(8), last)]
        xv = np.where(little, xb.copy().view("<f8").ravel(), xb.copy().view(">f8").ravel())
        yv = np.where(little, yb.copy().view("<f8").ravel(), yb.copy().view(">f8").ravel())
        x[idx[is_point]] = xv[is_point]
        y[idx[is_point]] = yv[is_point]
        rest = idx[~is_point]
    else:
        rest = idx
    if rest.size:
        import shapely

        geoms = shapely.from_wkb(pc.take(arr, pa.array(rest)).to_numpy(zero_copy_only=False),
                                 on_invalid="ignore")
        # Points (empty ones give NaN) and, as for GeoJSON, single-point MultiPoints.
        kind = shapely.get_type_id(geoms)
        single = (kind == 4) & (shapely.get_num_geometries(geoms) == 1)
        geoms = np.where(single, shapely.get_geometry(geoms, 0), geoms)
        pts = (kind == 0) | single
        x[rest[pts]] = shapely.get_x(geoms[pts])
        y[rest[pts]] = shapely.get_y(geoms[pts])
    return x, y


def _crs_from_projjson(crs: Any) -> str | None:
    if crs is None:
        return None
    if isinstance(crs, str):
        return normalize_scalar(crs)
    if isinstance(crs, dict):
        ident = crs.get("id")
        if isinstance(ident, dict) and ident.get("authority") and ident.get("code") is not None:
            return f"{ident['authority']}:{ident['code']}"
        try:
            import pyproj

            c = pyproj.CRS.from_json_dict(crs)
            auth = c.to_authority()
            return f"{auth[0]}:{auth[1]}" if auth else c.name
        except Exception:  # any unreadable PROJJSON: report its name
            return normalize_scalar(crs.get("name"))
    return None


def read_parquet(path: Path) -> RawTable:
    import pyarrow.parquet as pq

    name = str(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"not a readable Parquet file ({exc}); export it again as Parquet "
                             "or CSV UTF-8", file=name) from None
    meta = table.schema.metadata or {}
    geo = None
    if b"geo" in meta:
        try:
            geo = json.loads(meta[b"geo"])
        except json.JSONDecodeError:
            geo = None
    geom_cols: dict[str, dict] = {}
    declared = None
    if isinstance(geo, dict) and isinstance(geo.get("columns"), dict):
        geom_cols = {k: v for k, v in geo["columns"].items() if k in table.column_names}
        primary = geo.get("primary_column") if geo.get("primary_column") in geom_cols else \
            next(iter(geom_cols), None)
        if primary is not None:
            info = geom_cols[primary]
            # GeoParquet: an absent "crs" means OGC:CRS84; an explicit null means unknown.
            declared = _crs_from_projjson(info["crs"]) if "crs" in info else "OGC:CRS84"
    else:
        primary = None
    names = dedupe_names([c for c in table.column_names if c not in geom_cols])
    cols = {nm: arrow_column_to_text(table.column(c))
            for nm, c in zip(names, [c for c in table.column_names if c not in geom_cols],
                             strict=True)}
    frame = frame_from_arrow(cols, np.arange(1, table.num_rows + 1, dtype=np.int64))
    if primary is not None:
        g = table.column(primary)
        if pa.types.is_struct(g.type):  # GeoArrow native "point" encoding
            g = g.combine_chunks()
            valid = g.is_valid().to_numpy(zero_copy_only=False)
            for col, fld in ((GEOM_LON, "x"), (GEOM_LAT, "y")):
                v = pc.fill_null(pc.cast(g.field(fld), pa.float64()), np.nan)
                frame[col] = np.where(valid, v.to_numpy(zero_copy_only=False), np.nan)
        else:
            x, y = wkb_points(g)
            frame[GEOM_LON] = x
            frame[GEOM_LAT] = y
    try:
        footer_rows = pq.ParquetFile(path).metadata.num_rows   # the footer's count, not the decoded table
    except (pa.ArrowInvalid, OSError):
        footer_rows = None
    return RawTable(frame=frame, path=path, format="geoparquet" if primary is not None else "parquet",
                    encoding=None, declared_crs=declared, file_records=footer_rows)


