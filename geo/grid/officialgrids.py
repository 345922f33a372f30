"""Official grids (大/中/小网格): reading, validating and locating points in them.

A user's official grid file arrives as one layer with a ``tier`` column
(``big``/``middle``/``small``, or 大/中/小网格) or as a GeoPackage with one
layer per tier.  Required columns: ``grid_id`` and the tier; optional
``name``, ``parent_id``, ``unit`` (the responsible unit), ``street_code``,
``street_name``.  Points are located with an exact point-in-polygon test;
a point on a border shared by two grids goes to the one with the smallest
``grid_id`` so every point belongs to at most one grid per tier.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputFileError
from geo.settings import TIERS

GRID_COLUMNS = ("grid_id", "tier", "name", "parent_id", "unit", "street_code", "street_name")

_TIER_ALIASES = {
    "big": "big", "大": "big", "大网格": "big", "large": "big",
    "middle": "middle", "中": "middle", "中网格": "middle", "medium": "middle", "mid": "middle",
    "small": "small", "小": "small", "小网格": "small",
}


def read_official_grids(path: str | os.PathLike[str], *, tier_column: str = "tier",
                        id_column: str = "grid_id") -> gpd.GeoDataFrame:
    """Read official grid polygons into the standard form (WGS84).

    Parameters
    ----------
    path : path-like
        GeoJSON, GeoPackage (a ``tier`` column or layers named big/middle/small)
        or GeoParquet.
    tier_column, id_column : str
        Column names in the user's file.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`GRID_COLUMNS` plus ``area_km2`` and ``geometry``.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError("official grid file not found", file=str(path))
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        gdf = gpd.read_parquet(path)
    elif suffix == ".gpkg":
        import pyogrio

        layers = [name for name, _ in pyogrio.list_layers(path)]
        tier_layers = [name for name in layers if _TIER_ALIASES.get(str(name).strip().lower())]
        if tier_layers and len(layers) > 1:
            parts = []
            for name in tier_layers:
                part = gpd.read_file(path, layer=name)
                part[tier_column] = _TIER_ALIASES[str(name).strip().lower()]
                parts.append(part.to_crs("EPSG:4326") if part.crs else part)
            gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
        else:
            gdf = gpd.read_file(path)
    else:
        gdf = gpd.read_file(path)
    return standardize_grids(gdf, source=str(path), tier_column=tier_column, id_column=id_column)


def standardize_grids(gdf: gpd.GeoDataFrame, *, source: str = "<grids>", tier_column: str = "tier",
                      id_column: str = "grid_id", metric_crs: str = "EPSG:4548") -> gpd.GeoDataFrame:
    """Validate a grid layer and bring it to the standard columns (WGS84)."""
    if gdf.crs is None:
        raise InputFileError("official grid file has no CRS; save it with one (GeoJSON is WGS84)",
                             file=source)
    for col in (id_column, tier_column):
        if col not in gdf.columns:
            raise InputFileError(
                f"official grid file needs a {col!r} column; it has {list(gdf.columns)}. "
                f"Rename the column or pass --{'tier' if col == tier_column else 'id'}-column",
                file=source, column=col)
    gdf = gdf.to_crs("EPSG:4326")
    tier_raw = gdf[tier_column].astype(str).str.strip().str.lower()
    tier = tier_raw.map(_TIER_ALIASES)
    bad = tier.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFileError(
            f"unknown tier {gdf[tier_column].iloc[i]!r}; use big/middle/small (or 大/中/小网格)",
            file=source, row=i + 1, column=tier_column)
    if not gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputFileError("official grids must be polygons", file=source)
    ids = gdf[id_column].astype(str).str.strip()
    dup = ids.duplicated()
    if dup.any():
        raise InputFileError(f"grid_id {ids[dup].iloc[0]!r} appears more than once; ids must be unique",
                             file=source, column=id_column)
    out = gpd.GeoDataFrame({"grid_id": ids.to_numpy(), "tier": tier.to_numpy()},
                           geometry=shapely.make_valid(gdf.geometry.values), crs="EPSG:4326")
    for col in GRID_COLUMNS[2:]:
        out[col] = gdf[col].astype("string").fillna("").to_numpy() if col in gdf.columns else ""
    out["area_km2"] = out.geometry.to_crs(metric_crs).area.to_numpy() / 1e6
    order = pd.Categorical(out["tier"], categories=list(TIERS), ordered=True)
    out = out.iloc[np.lexsort((out["grid_id"].to_numpy(), order.codes))].reset_index(drop=True)
    return out[[*GRID_COLUMNS, "area_km2", "geometry"]]


LOOKUP_RES = 12
"""H3 resolution of the interior lookup (cells of ~300 m², edge ~10 m)."""

LOOKUP_MIN_POINTS = 5_000
"""Fewer points than this are located by the exact polygon test alone: building the interior lookup takes
seconds (3.3 s for the sample's 478 grids) and loading it tens of milliseconds, testing 5,000 points a few."""

_LOOKUPS: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}


def _lookup_key(grids: gpd.GeoDataFrame) -> str:
    import hashlib

    return hashlib.sha1(b"".join(shapely.to_wkb(grids.geometry.values)) +
                        "|".join(grids["grid_id"]).encode()).hexdigest()


def _build_lookup(grids: gpd.GeoDataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    import pyarrow as pa
    from h3ronpy import ContainmentMode
    from h3ronpy import vector as h3vector

    tables = {}
    for tier in TIERS:
        layer = grids[grids["tier"] == tier]
        cells, owner = [], []
        for i, geom in enumerate(layer.geometry.values):  # one polyfill per grid polygon
            found = h3vector.geometry_to_cells(geom, LOOKUP_RES, containment_mode=ContainmentMode.ContainsBoundary)
            arr = pa.array(found).to_numpy(zero_copy_only=False).astype(np.int64)
            cells.append(arr)
            owner.append(np.full(len(arr), i, dtype=np.int64))
        c = np.concatenate(cells) if cells else np.zeros(0, np.int64)
        o = np.concatenate(owner) if owner else np.zeros(0, np.int64)
        # a cell claimed by two grids (touching borders) is not interior: drop both claims
        uniq, counts = np.unique(c, return_counts=True)
        single = np.isin(c, uniq[counts == 1])
        order = np.argsort(c[single], kind="stable")
        tables[tier] = (c[single][order], o[single][order])
    return tables


def interior_lookup(grids: gpd.GeoDataFrame, cache_dir: Path | None = None
                     ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per tier: sorted res-12 cells lying wholly inside one grid, and that grid's row in the tier.

    Built once per grid layer (keyed by its geometry and ids), so locating a
    million points is a binary search for most of them; only points in cells
    that straddle a border get the exact polygon test.  Building takes seconds
    (one polygon fill per grid), so with ``cache_dir`` the tables are also kept
    on disk under the same key and a new process (each CLI ingest, each Dask
    worker) loads them in milliseconds; a changed grid file has another key.
    """
    key = _lookup_key(grids)
    if key in _LOOKUPS:
        return _LOOKUPS[key]
    cached = cache_dir / f"grid_lookup_{key[:20]}_r{LOOKUP_RES}.npz" if cache_dir is not None else None
    tables = None
    if cached is not None and cached.exists():
        try:
            with np.load(cached) as z:
                tables = {t: (z[f"{t}_cells"], z[f"{t}_owner"]) for t in TIERS}
        except (OSError, ValueError, KeyError):  # a torn or foreign file: build it again
            tables = None
    if tables is None:
        tables = _build_lookup(grids)
        if cached is not None:
            _save_lookup(cached, tables)
    _LOOKUPS.clear()
    _LOOKUPS[key] = tables
    return tables


def _save_lookup(path: Path, tables: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    import uuid

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{uuid.uuid4().hex[:8]}.tmp.npz")
        np.savez(tmp, **{f"{t}_cells": c for t, (c, _) in tables.items()},
                 **{f"{t}_owner": o for t, (_, o) in tables.items()})
        os.replace(tmp, path)  # readers see the old file or the whole new one
    except OSError:  # a read-only workspace still works, only slower
        pass


def locate_points(grids: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray, *,
                  cells: np.ndarray | None = None, cache_dir: Path | None = None) -> pd.DataFrame:
    """The official grid of each point in each tier.

    Parameters
    ----------
    grids : GeoDataFrame
        Standard grids from :func:`read_official_grids`.
    lon, lat : array_like
        WGS84 points.
    cells : numpy.ndarray, optional
        The points' H3 cells at :data:`LOOKUP_RES` or finer, when the caller has
        them already (the ingest indexes once); computed here otherwise.
    cache_dir : Path, optional
        Folder that keeps the interior lookup between processes.

    Returns
    -------
    pandas.DataFrame
        Columns ``grid_big``, ``grid_middle``, ``grid_small`` (string, ``<NA>``
        outside every grid of that tier), one row per point.

    Notes
    -----
    Most points are placed by an H3 lookup of cells wholly inside one grid
    (:func:`interior_lookup`); the rest by an exact point-in-polygon test
    where a point on a border shared by two grids goes to the smaller
    ``grid_id``.  Fewer than :data:`LOOKUP_MIN_POINTS` points (a plan's
    posts) all take the exact test, which gives the same answer.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from geo.grid.h3cells import cell_parents, cell_resolution, cells_for_points

    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if cells is not None:
        cells = np.asarray(cells, dtype=np.int64)
        if len(cells) != len(lon) or (cell_resolution(cells[cells != 0]) < LOOKUP_RES).any():
            raise ValueError(f"cells must be one H3 cell per point at resolution {LOOKUP_RES} or finer")
    lookup = None  # fewer points: every one takes the exact test
    if len(lon) >= LOOKUP_MIN_POINTS:
        lookup = interior_lookup(grids, cache_dir)
        fine = cells_for_points(lon, lat, LOOKUP_RES) if cells is None else cell_parents(cells, LOOKUP_RES)
        # Searching sorted needles walks the table in order (cache-friendly): sort once.
        order = np.argsort(fine, kind="stable")
        fine_sorted = fine[order]
    out = {}
    for tier in TIERS:
        code = np.full(len(lon), -1, dtype=np.int64)  # row of the grid in the tier's layer
        layer = grids[grids["tier"] == tier]
        ids = layer["grid_id"].to_numpy()
        if len(layer):
            hit = np.zeros(len(lon), dtype=bool)
            if lookup is not None and len(lookup[tier][0]):
                interior, owner = lookup[tier]
                pos = np.empty(len(fine), dtype=np.int64)
                pos[order] = np.minimum(np.searchsorted(interior, fine_sorted), len(interior) - 1)
                hit = interior[pos] == fine
                code[hit] = owner[pos[hit]]
            rest = np.flatnonzero(~hit)
            if len(rest):
                # Sorted by grid_id, so the first hit of a point is the smallest id.
                tree = shapely.STRtree(layer.geometry.values)
                pt_idx, poly_idx = tree.query(shapely.points(lon[rest], lat[rest]), predicate="intersects")
                if len(pt_idx):
                    order_hits = np.lexsort((poly_idx, pt_idx))
                    pt_idx, poly_idx = pt_idx[order_hits], poly_idx[order_hits]
                    first = np.r_[True, pt_idx[1:] != pt_idx[:-1]]
                    code[rest[pt_idx[first]]] = poly_idx[first]
        # grid ids by code, in Arrow (no per-point Python strings)
        names = pa.array([str(i) for i in ids], type=pa.large_string())
        out[f"grid_{tier}"] = pd.array(pc.take(names, pa.array(code, mask=code < 0)), dtype="string")
    return pd.DataFrame(out)
