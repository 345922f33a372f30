"""The grid system: H3 tiers, the filled study area and the crosswalk to official grids.

Analyses run on H3 cells; leaders think in official grids (大/中/小网格).
This module makes the two speak to each other exactly:

- :func:`calibrate` — which H3 resolution matches each official tier, with
  areas measured in a metric CRS (never degrees);
- :func:`study_area_cells` — every cell of a resolution that overlaps the
  study area (cells cut by the boundary included), with the share of its area
  inside; cells with zero events are rows too;
- :func:`crosswalk` — for every cell the official grids it overlaps and the
  share of each, and its *responsible* grid (largest share; ties go to the
  smallest ``grid_id``);
- :func:`reconcile` — events per official grid counted exactly (from the
  events' own grid ids) beside the area-weighted estimate from cell counts.

Why not ``cell_to_parent``: an H3 parent is not nested in official grids (a
small cell's parent can straddle two big grids), so each tier is crosswalked
on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from h3ronpy import ContainmentMode
from h3ronpy import vector as h3vector

from geo.errors import InputFileError
from geo.grid import h3cells
from geo.settings import TIERS, Settings

CALIBRATION_RESOLUTIONS = tuple(range(4, 13))


# --- cells of the study area ---------------------------------------------------

def _to_metric(geoms: np.ndarray | shapely.Geometry, crs: str) -> np.ndarray:
    return gpd.GeoSeries(np.atleast_1d(geoms), crs="EPSG:4326").to_crs(crs).to_numpy()


def study_area_cells(area: shapely.Geometry, res: int, metric_crs: str = "EPSG:4548") -> pd.DataFrame:
    """All H3 cells at ``res`` that overlap the study area.

    Parameters
    ----------
    area : shapely (Multi)Polygon
        Study area in WGS84.
    res : int
        H3 resolution.
    metric_crs : str
        Projected CRS in which areas are measured.

    Returns
    -------
    pandas.DataFrame
        ``cell`` (int64, sorted), ``lon``/``lat`` (centre), ``cell_km2``
        (whole cell), ``inside_km2`` and ``area_share`` (share of the cell
        inside the area, in (0, 1]).
    """
    # Cells touching the boundary are found by the "covers" mode, then the
    # exact overlap is measured; slivers below 1e-9 of a cell are dropped.
    parts = shapely.get_parts(shapely.make_valid(area))
    polys = [p for p in parts if p.geom_type == "Polygon"]
    if not polys:
        raise InputFileError("the study area has no polygon to fill with cells")
    wkb = shapely.to_wkb(np.array(polys, dtype=object))
    import pyarrow as pa

    found = h3vector.wkb_to_cells(pa.array(wkb, type=pa.binary()), int(res),
                                  containment_mode=ContainmentMode.Covers, flatten=True)
    cells = np.unique(pa.array(found).to_numpy(zero_copy_only=False).astype(np.int64))
    # "covers" can miss a cell whose only overlap is a thin sliver near an edge:
    # add the ring around the found cells and keep what truly intersects.
    from h3ronpy import grid_disk

    disk = pa.array(grid_disk(h3cells._as_u64(cells), 1, flatten=True)).to_numpy(
        zero_copy_only=False).astype(np.int64)
    cells = np.unique(np.concatenate([cells, disk]))
    polys_wgs = h3cells.cell_polygons(cells)
    cell_m = _to_metric(polys_wgs, metric_crs)
    area_m = _to_metric(area, metric_crs)[0]
    shapely.prepare(area_m)
    hit = shapely.intersects(area_m, cell_m)
    cells, cell_m = cells[hit], cell_m[hit]
    cell_area = shapely.area(cell_m)
    inside = shapely.area(shapely.intersection(cell_m, area_m))
    share = inside / cell_area
    keep = share > 1e-9
    cells, cell_area, inside, share = cells[keep], cell_area[keep], inside[keep], share[keep]
    lon, lat = h3cells.cell_centers(cells)
    return pd.DataFrame({
        "cell": cells, "lon": lon, "lat": lat, "cell_km2": cell_area / 1e6,
        "inside_km2": inside / 1e6, "area_share": np.minimum(share, 1.0),
    })


# --- calibration -----------------------------------------------------------------

def local_cell_km2(lon: np.ndarray, lat: np.ndarray, resolutions: tuple[int, ...] = CALIBRATION_RESOLUTIONS,
                   metric_crs: str = "EPSG:4548") -> dict[int, float]:
    """Mean area (km², metric CRS) of the H3 cells containing the given points, per resolution."""
    out = {}
    for res in resolutions:
        cells = np.unique(h3cells.cells_for_points(lon, lat, res))
        cells = cells[cells != 0]
        out[res] = float(shapely.area(_to_metric(h3cells.cell_polygons(cells), metric_crs)).mean() / 1e6)
    return out


def calibrate(grids: gpd.GeoDataFrame, metric_crs: str = "EPSG:4548") -> pd.DataFrame:
    """The H3 resolution matching each official tier.

    Returns
    -------
    pandas.DataFrame
        One row per tier present: ``tier``, ``count``, ``mean_km2``,
        ``median_km2``, ``resolution`` (closest mean cell area, judged on the
        log ratio), ``cell_km2`` (mean area of that resolution's cells here)
        and ``ratio`` (= mean_km2 / cell_km2).
    """
    areas = shapely.area(_to_metric(grids.geometry.values, metric_crs)) / 1e6
    centres = shapely.point_on_surface(grids.geometry.values)
    cell_km2 = local_cell_km2(shapely.get_x(centres), shapely.get_y(centres), metric_crs=metric_crs)
    res_arr = np.array(list(cell_km2))
    km2_arr = np.array(list(cell_km2.values()))
    rows = []
    for tier in TIERS:
        sel = (grids["tier"] == tier).to_numpy()
        if not sel.any():
            continue
        mean = float(areas[sel].mean())
        best = int(np.argmin(np.abs(np.log(mean / km2_arr))))
        rows.append({"tier": tier, "count": int(sel.sum()), "mean_km2": mean,
                     "median_km2": float(np.median(areas[sel])), "resolution": int(res_arr[best]),
                     "cell_km2": float(km2_arr[best]), "ratio": mean / float(km2_arr[best])})
    return pd.DataFrame(rows)


# --- crosswalk ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Crosswalk:
    """Cells ↔ official grids of one tier.

    Attributes
    ----------
    pairs : DataFrame
        ``cell``, ``grid_id``, ``share`` (of the cell's area inside the area;
        sums to 1 per cell), ``overlap_km2``.
    cells : DataFrame
        One row per cell: ``cell``, ``grid_id`` (responsible), ``share``,
        ``n_grids``, ``name``, ``unit``, ``street_code``, ``street_name``.
    """

    tier: str
    res: int
    pairs: pd.DataFrame
    cells: pd.DataFrame

    def grid_cells(self) -> pd.DataFrame:
        """Every official grid with the cells it overlaps (hex ids) and those it is responsible for."""
        hexes = self.pairs.assign(hex=h3cells.cells_to_hex(self.pairs["cell"].to_numpy()))
        listed = hexes.groupby("grid_id", sort=True).agg(
            cells=("hex", lambda s: ",".join(sorted(s))), n_cells=("hex", "size"),
            overlap_km2=("overlap_km2", "sum"))
        responsible = self.cells.groupby("grid_id").size().rename("n_responsible")
        return listed.join(responsible).fillna({"n_responsible": 0}).astype(
            {"n_responsible": "int64"}).reset_index()


def crosswalk(area_cells: pd.DataFrame, grids: gpd.GeoDataFrame, tier: str, res: int,
              metric_crs: str = "EPSG:4548") -> Crosswalk:
    """Crosswalk the study-area cells of one tier to the official grids of that tier.

    Parameters
    ----------
    area_cells : DataFrame
        From :func:`study_area_cells` (column ``cell``).
    grids : GeoDataFrame
        Standard official grids (:func:`geo.grid.officialgrids.read_official_grids`).
    tier : str
        ``big``, ``middle`` or ``small``.
    """
    layer = grids[grids["tier"] == tier].reset_index(drop=True)
    if layer.empty:
        raise InputFileError(f"the official grids have no {tier!r} tier; tiers present: "
                             f"{sorted(grids['tier'].unique())}")
    cells = area_cells["cell"].to_numpy()
    cell_m = _to_metric(h3cells.cell_polygons(cells), metric_crs)
    grid_m = _to_metric(layer.geometry.values, metric_crs)
    tree = shapely.STRtree(grid_m)
    ci, gi = tree.query(cell_m, predicate="intersects")
    overlap = shapely.area(shapely.intersection(cell_m[ci], grid_m[gi]))
    keep = overlap > 1e-6  # m²: drop touching-only pairs
    ci, gi, overlap = ci[keep], gi[keep], overlap[keep]
    pairs = pd.DataFrame({"cell": cells[ci], "grid_id": layer["grid_id"].to_numpy()[gi],
                          "overlap_km2": overlap / 1e6})
    pairs["share"] = pairs["overlap_km2"] / pairs.groupby("cell")["overlap_km2"].transform("sum")
    pairs = pairs.sort_values(["cell", "share", "grid_id"], ascending=[True, False, True],
                              kind="stable").reset_index(drop=True)
    # Responsible grid: the largest share; exact ties go to the smallest grid_id (sorted above).
    first = pairs.drop_duplicates("cell", keep="first")
    n_grids = pairs.groupby("cell").size()
    info = layer.set_index("grid_id")[["name", "unit", "street_code", "street_name"]]
    resp = first[["cell", "grid_id", "share"]].merge(info, left_on="grid_id", right_index=True, how="left")
    resp["n_grids"] = resp["cell"].map(n_grids).to_numpy()
    return Crosswalk(tier=tier, res=res, pairs=pairs[["cell", "grid_id", "share", "overlap_km2"]],
                     cells=resp.reset_index(drop=True))


def crosswalk_for(ws_area: shapely.Geometry, grids: gpd.GeoDataFrame, settings: Settings,
                  tier: str) -> tuple[pd.DataFrame, Crosswalk]:
    """Study-area cells and crosswalk of one tier at the workspace's resolution."""
    res = settings.tiers.resolution(tier)
    cells = study_area_cells(ws_area, res, settings.metric_crs)
    return cells, crosswalk(cells, grids, tier, res, settings.metric_crs)


# --- aggregations both ways ----------------------------------------------------------------

def counts_by_cell(events: pd.DataFrame, tier: str) -> pd.Series:
    """Event count per cell of a tier (a group-by on the int64 ids)."""
    return events.groupby(f"h3_{tier}").size().rename("count")


def estimate_grid_counts(cell_counts: pd.Series, cw: Crosswalk) -> pd.Series:
    """Area-weighted events per official grid from counts per cell (for data that only has cells)."""
    pairs = cw.pairs
    weighted = pairs["share"].to_numpy() * cell_counts.reindex(pairs["cell"]).fillna(0).to_numpy()
    return pd.Series(weighted, index=pairs["grid_id"].to_numpy()).groupby(level=0).sum().rename("estimated")


def reconcile(events: pd.DataFrame, cw: Crosswalk) -> tuple[pd.DataFrame, dict[str, float]]:
    """Exact vs area-weighted events per official grid, and the totals.

    Returns
    -------
    table : DataFrame
        ``grid_id``, ``exact`` (from the events' own grid ids), ``estimated``
        (from cell counts × shares), ``difference``, ``relative``.
    totals : dict
        ``exact_total``, ``estimated_total``, ``cell_total`` (events in
        crosswalked cells), ``events``, ``without_grid``, ``outside_cells``;
        ``estimated_total == cell_total`` up to float rounding proves that the
        crosswalk preserves totals.
    """
    tier = cw.tier
    exact = events[f"grid_{tier}"].dropna().value_counts().rename("exact")
    cell_counts = counts_by_cell(events, tier)
    estimated = estimate_grid_counts(cell_counts, cw)
    grid_ids = sorted(set(cw.pairs["grid_id"]) | set(exact.index))
    table = pd.DataFrame(index=pd.Index(grid_ids, name="grid_id"))
    table["exact"] = exact.reindex(table.index).fillna(0).astype("int64")
    table["estimated"] = estimated.reindex(table.index).fillna(0.0)
    table["difference"] = table["estimated"] - table["exact"]
    table["relative"] = table["difference"] / table["exact"].where(table["exact"] > 0)
    in_cells = cell_counts.reindex(cw.cells["cell"]).fillna(0).sum()
    totals = {
        "events": int(len(events)),
        "exact_total": int(table["exact"].sum()),
        "estimated_total": float(table["estimated"].sum()),
        "cell_total": float(in_cells),
        "without_grid": int(events[f"grid_{tier}"].isna().sum()),
        "outside_cells": int(len(events) - in_cells),
        "mean_abs_difference": float(table["difference"].abs().mean()) if len(table) else 0.0,
    }
    return table.reset_index(), totals
