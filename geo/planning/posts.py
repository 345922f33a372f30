"""Post planning on a workspace: candidates, demand, coverage, solve, deployment table.

The brigade's question — where to stand N posts so they cover the most
(weighted) violations in a shift — is answered in four separate steps, as
spopt separates them:

1. **candidates**: the workspace's intersections (named by their crossing
   roads), a user's own list, or cell centres as a fallback;
2. **demand**: filtered events weighted by category (points, or small-tier
   cells for very large inputs);
3. **coverage**: a sparse matrix, Euclidean in the metric CRS or along the
   road network;
4. **solve**: exact MCLP (HiGHS) or greedy, :mod:`geo.planning.mclp`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.analysis.filters import EventFilter, apply_filter
from geo.errors import InputFileError
from geo.grid import h3cells
from geo.grid.crs import from_wgs84, to_metric, to_wgs84
from geo.grid.officialgrids import locate_points
from geo.planning.mclp import (
    PostPlanningError,
    allocate_staff,
    coverage_curve,
    coverage_matrix,
    network_coverage_matrix,
    posts_for_share,
    solve_mclp,
    split_lines,
)
from geo.store.workspace import Workspace

DEPLOYMENT_HEADERS_ZH = {
    "rank": "序号", "name": "岗位位置", "window": "时段", "existing": "既有岗位", "lon": "经度(WGS84)",
    "lat": "纬度(WGS84)", "lon_gcj": "经度(GCJ-02/高德)", "lat_gcj": "纬度(GCJ-02/高德)",
    "grid_id": "责任网格", "grid_name": "网格名称", "street_name": "街道", "covered": "覆盖需求",
    "marginal_gain": "新增覆盖", "cumulative_share": "累计覆盖率",
}
DEPLOYMENT_HEADERS_EN = {k: k.replace("_", " ") for k in DEPLOYMENT_HEADERS_ZH}


# --- candidates ------------------------------------------------------------------

def _points_file(path: str | Path, crs: str = "WGS84") -> pd.DataFrame:
    """lon/lat (WGS84) and name of points from a CSV (lon/lat columns) or GeoJSON/GeoParquet."""
    path = Path(path)
    if not path.exists():
        raise InputFileError("file not found", file=str(path))
    ext = path.suffix.lower()
    if ext in (".geojson", ".json", ".gpkg", ".parquet"):
        gdf = gpd.read_parquet(path) if ext == ".parquet" else gpd.read_file(path)
        if not gdf.geom_type.eq("Point").all():
            raise InputFileError("candidate/existing post files must hold points", file=str(path))
        if gdf.crs is not None and crs == "WGS84":
            gdf = gdf.to_crs("EPSG:4326")
        lon, lat = shapely.get_x(gdf.geometry.values), shapely.get_y(gdf.geometry.values)
        table = pd.DataFrame(gdf.drop(columns="geometry"))
    elif ext == ".csv":
        from geo.ingest.readers import read_raw

        table = read_raw(path).frame
        cols = {c.strip().lower(): c for c in table.columns}
        lon_col = next((cols[c] for c in ("lon", "lng", "longitude", "经度", "x") if c in cols), None)
        lat_col = next((cols[c] for c in ("lat", "latitude", "纬度", "y") if c in cols), None)
        if lon_col is None or lat_col is None:
            raise InputFileError(f"needs longitude and latitude columns (lon/lat or 经度/纬度); it has "
                                 f"{list(table.columns)}", file=str(path))
        lon = pd.to_numeric(table[lon_col], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(table[lat_col], errors="coerce").to_numpy(float)
        bad = ~(np.isfinite(lon) & np.isfinite(lat))
        if bad.any():
            row = int(table["_row"].iloc[int(np.flatnonzero(bad)[0])]) if "_row" in table else None
            raise InputFileError("longitude/latitude are not numbers", file=str(path), row=row, column=lon_col)
    else:
        raise InputFileError("use a CSV with lon/lat columns or a GeoJSON of points", file=str(path))
    lon, lat = to_wgs84(lon, lat, crs)
    names = None
    for col in ("name", "名称", "岗位名称", "位置"):
        if col in table.columns:
            names = table[col].astype(str).to_numpy()
            break
    if names is None:
        names = np.array([f"{path.stem}-{i + 1}" for i in range(len(lon))], dtype=object)
    return pd.DataFrame({"lon": lon, "lat": lat, "name": names})


@lru_cache(maxsize=4)
def _intersection_sites(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """``lon``, ``lat``, ``name`` of an intersections file (read once per file version: a plan is often
    recomputed with another p, radius or window, never with other intersections)."""
    gdf = gpd.read_file(path).to_crs("EPSG:4326")
    return pd.DataFrame({"lon": shapely.get_x(gdf.geometry.values), "lat": shapely.get_y(gdf.geometry.values),
                         "name": gdf["name"].astype(str).to_numpy() if "name" in gdf else ""})


def candidate_sites(ws: Workspace, candidates: str | Path | None = None, *,
                    candidates_crs: str = "WGS84") -> tuple[pd.DataFrame, str]:
    """Candidate post sites and where they came from.

    Returns
    -------
    (DataFrame, str)
        ``site_id``, ``name``, ``lon``, ``lat``; and the source:
        ``"file:<name>"``, ``"intersections"`` or ``"cell_centres"``.
    """
    if candidates is not None:
        table = _points_file(candidates, candidates_crs)
        source = f"file:{Path(candidates).name}"
    else:
        path = ws.paths.get("intersections")
        roads_path = ws.paths.get("roads")
        if path is not None and path.exists():
            stat = path.stat()
            table = _intersection_sites(str(path), stat.st_mtime_ns, stat.st_size).copy()
            source = "intersections"
        elif roads_path is not None and roads_path.exists():
            from geo.grid.roads import intersections, read_roads

            gdf = intersections(read_roads(roads_path), metric_crs=ws.settings.metric_crs)
            table = pd.DataFrame({"lon": gdf["lon"].to_numpy(), "lat": gdf["lat"].to_numpy(),
                                  "name": gdf["name"].astype(str).to_numpy()})
            source = "intersections"
        else:
            from geo.analysis.hotcells import area_cells

            cells = area_cells(ws, "small")
            cells = cells[cells["area_share"] > 0.5]
            table = pd.DataFrame({"lon": cells["lon"].to_numpy(), "lat": cells["lat"].to_numpy(),
                                  "name": h3cells.cells_to_hex(cells["cell"].to_numpy())})
            source = "cell_centres"
    from geo.store.workspace import area_contains

    inside = area_contains(ws, table["lon"].to_numpy(), table["lat"].to_numpy(),
                           ws.settings.ingest.area_buffer_m)
    if not inside.any():
        raise PostPlanningError(f"none of the {len(table)} candidate sites ({source}) lies in the study area; "
                                "check the file's coordinate system (--candidates-crs)")
    if not inside.all():
        warnings.warn(f"{int((~inside).sum())} candidate sites outside the study area were dropped",
                      stacklevel=2)
    table = table[inside].reset_index(drop=True)
    table.insert(0, "site_id", np.arange(len(table)))
    return table, source


# --- demand ------------------------------------------------------------------------

def demand_points(ws: Workspace, events: pd.DataFrame, flt: EventFilter, *,
                  aggregate: bool = False) -> pd.DataFrame:
    """Weighted demand: one row per event (or per small-tier cell when ``aggregate``).

    Weights come from the workspace's category table (``weight``).
    """
    selected = apply_filter(events, flt, ws.settings)
    weights = selected["category"].map(ws.settings.category_weights()).fillna(1.0).to_numpy(float)
    if not aggregate:
        return pd.DataFrame({"lon": selected["lon"].to_numpy(), "lat": selected["lat"].to_numpy(),
                             "weight": weights, "events": 1})
    frame = pd.DataFrame({"cell": selected["h3_small"].to_numpy(), "weight": weights})
    g = frame.groupby("cell").agg(weight=("weight", "sum"), events=("weight", "size")).reset_index()
    lon, lat = h3cells.cell_centers(g["cell"].to_numpy())
    return pd.DataFrame({"lon": lon, "lat": lat, "weight": g["weight"].to_numpy(),
                         "events": g["events"].to_numpy()})


# --- coverage ------------------------------------------------------------------------

def build_coverage(ws: Workspace, sites: pd.DataFrame, demand: pd.DataFrame, radius_m: float, *,
                   network: bool = False) -> Any:
    """Sparse demand × site coverage, Euclidean or along the road network."""
    crs = ws.settings.metric_crs
    sx, sy = to_metric(sites["lon"].to_numpy(), sites["lat"].to_numpy(), crs)
    dx, dy = to_metric(demand["lon"].to_numpy(), demand["lat"].to_numpy(), crs)
    if not network:
        return coverage_matrix(np.column_stack([sx, sy]), np.column_stack([dx, dy]), radius_m)
    roads_path = ws.paths.get("roads")
    if roads_path is None or not roads_path.exists():
        raise PostPlanningError("network coverage needs a road file: set [workspace] roads = FILE in "
                                "gridwatch.toml")
    from geo.grid.roads import read_roads, road_graph

    nodes, edges = road_graph(read_roads(roads_path), crs)
    node_xy = np.column_stack([nodes["x"].to_numpy(), nodes["y"].to_numpy()])
    tree = cKDTree(node_xy)
    site_snap, site_nodes = tree.query(np.column_stack([sx, sy]))
    demand_snap, demand_nodes = tree.query(np.column_stack([dx, dy]))
    return network_coverage_matrix(edges["u"].to_numpy(), edges["v"].to_numpy(), edges["length_m"].to_numpy(),
                                   node_xy, site_nodes, demand_nodes, demand_snap, radius_m,
                                   site_snap_m=site_snap)


# --- the plan -------------------------------------------------------------------------------

@dataclass
class PostPlan:
    """A post plan: ranked posts, the coverage curve and a summary."""

    posts: gpd.GeoDataFrame
    curve: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def plan_posts(ws: Workspace, events: pd.DataFrame, flt: EventFilter = EventFilter(), *, p: int | None = None,
               radius_m: float | None = None, candidates: str | Path | None = None,
               candidates_crs: str = "WGS84", existing: str | Path | pd.DataFrame | None = None,
               network: bool = False, solver: str | None = None, aggregate: bool = False,
               curve_max: int | None = None, time_limit: float | None = None) -> PostPlan:
    """Choose ``p`` posts covering the most weighted demand in the filter's window.

    Parameters
    ----------
    p : int
        Number of posts in the plan (existing posts included).
    radius_m : float
        Coverage radius in metres (default 300 m from the workspace).
    candidates : path, optional
        User's candidate sites (CSV lon/lat or GeoJSON points); default the
        workspace's intersections.
    existing : path or DataFrame (lon, lat), optional
        Posts that stay; matched to the nearest candidate within 15 m, or
        added as candidates (with a warning) when none is that close.
    network : bool
        Measure coverage along the road network.
    solver : {"auto", "exact", "greedy"}
    aggregate : bool
        Demand as small-tier cells instead of points (very large inputs).
    curve_max : int, optional
        Largest p of the coverage curve (default ``max(2p, 40)``, capped by the
        number of candidates).
    """
    ps = ws.settings.posts
    p = ps.p if p is None else int(p)
    radius_m = ps.radius_m if radius_m is None else float(radius_m)
    solver = solver or ps.solver
    if radius_m <= 0:
        raise PostPlanningError(f"radius must be a positive distance in metres, got {radius_m}")
    if p < 1:
        raise PostPlanningError(f"p must be at least 1 post, got {p}")
    sites, source = candidate_sites(ws, candidates, candidates_crs=candidates_crs)
    fixed = np.zeros(0, dtype=np.int64)
    warns: list[str] = []
    if existing is not None:
        ex = existing if isinstance(existing, pd.DataFrame) else _points_file(existing)
        crs = ws.settings.metric_crs
        ex_xy = np.column_stack(to_metric(ex["lon"].to_numpy(), ex["lat"].to_numpy(), crs))
        site_xy = np.column_stack(to_metric(sites["lon"].to_numpy(), sites["lat"].to_numpy(), crs))
        dist, idx = cKDTree(site_xy).query(ex_xy)
        far = dist > 15.0
        if far.any():
            msg = (f"{int(far.sum())} existing post(s) are not at a candidate site (nearest > 15 m); "
                   "they were added as sites of their own")
            warns.append(msg)
            warnings.warn(msg, stacklevel=2)
            extra = pd.DataFrame({"lon": ex["lon"].to_numpy()[far], "lat": ex["lat"].to_numpy()[far],
                                  "name": ex["name"].to_numpy()[far] if "name" in ex else "existing"})
            extra.insert(0, "site_id", np.arange(len(sites), len(sites) + len(extra)))
            idx = idx.copy()
            idx[far] = extra["site_id"].to_numpy()
            sites = pd.concat([sites, extra], ignore_index=True)
        fixed = np.unique(idx.astype(np.int64))
    if p > len(sites):
        raise PostPlanningError(f"p = {p} posts but only {len(sites)} candidate sites ({source}); lower p or "
                                "give more candidates")
    if len(fixed) > p:
        raise PostPlanningError(f"{len(fixed)} existing posts but p = {p}; p counts existing posts too")
    demand = demand_points(ws, events, flt, aggregate=aggregate)
    if demand.empty:
        raise PostPlanningError(f"no events in the window {flt.window!r} with these filters "
                                f"({flt.describe()}); widen the dates, window, sources or categories")
    cover = build_coverage(ws, sites, demand, radius_m, network=network)
    w = demand["weight"].to_numpy(float)
    result = solve_mclp(cover, w, p, fixed=fixed, solver=solver,  # type: ignore[arg-type]
                        time_limit=time_limit or ps.time_limit_s, max_exact_pairs=ps.max_exact_pairs)
    p_curve = min(curve_max or max(2 * p, 40), len(sites))
    curve = coverage_curve(cover, w, p_curve, fixed=fixed, solver="greedy")

    chosen = sites.iloc[result.sites].reset_index(drop=True)
    frame = result.to_frame()
    glon, glat = from_wgs84(chosen["lon"].to_numpy(), chosen["lat"].to_numpy(), "GCJ02")
    posts = pd.DataFrame({
        "rank": frame["rank"].to_numpy(), "site_id": chosen["site_id"].to_numpy(),
        "name": chosen["name"].to_numpy(), "window": flt.window, "existing": frame["fixed"].to_numpy(),
        "lon": chosen["lon"].round(6).to_numpy(), "lat": chosen["lat"].round(6).to_numpy(),
        "lon_gcj": np.round(glon, 6), "lat_gcj": np.round(glat, 6),
        "covered": frame["site_demand"].to_numpy(), "marginal_gain": frame["marginal_gain"].to_numpy(),
        "cumulative_share": frame["cumulative_share"].to_numpy(),
    })
    if ws.grids is not None:
        located = locate_points(ws.grids, posts["lon"].to_numpy(), posts["lat"].to_numpy())
        small = ws.grids[ws.grids["tier"] == "small"].set_index("grid_id")
        posts["grid_id"] = located["grid_small"].to_numpy()
        posts["grid_name"] = posts["grid_id"].map(small["name"])
        posts["street_name"] = posts["grid_id"].map(small["street_name"])
    gdf = gpd.GeoDataFrame(posts, geometry=shapely.points(posts["lon"], posts["lat"]), crs="EPSG:4326")
    summary = {
        "p": int(result.p), "solver": result.solver, "status": result.status,
        "objective": float(result.objective), "total_demand": float(result.total_demand),
        "coverage": float(result.coverage_share), "gap": float(result.gap), "seconds": float(result.seconds),
        "upper_bound": float(result.upper_bound), "bound_source": str(result.stats.get("bound_source", "greedy")),
        "radius_m": radius_m, "network": bool(network), "candidate_source": source,
        "candidates": int(len(sites)), "demand_rows": int(len(demand)), "events": int(demand["events"].sum()),
        "existing": int(len(fixed)), "posts_for_80pct": int(posts_for_share(curve, 0.8))
        if curve["share"].max() >= 0.8 - 1e-12 else None, "warnings": warns, **flt.describe(),
    }
    return PostPlan(posts=gdf, curve=curve, summary=summary)


def deployment_table(plan: PostPlan, lang: str = "zh") -> pd.DataFrame:
    """The deployment table (岗位部署表) with Chinese (``zh``) or English headers."""
    headers = DEPLOYMENT_HEADERS_ZH if lang == "zh" else DEPLOYMENT_HEADERS_EN
    cols = [c for c in headers if c in plan.posts.columns]
    table = pd.DataFrame(plan.posts[cols]).copy()
    table["cumulative_share"] = (table["cumulative_share"] * 100).round(1)
    table["covered"] = table["covered"].round(1)
    table["marginal_gain"] = table["marginal_gain"].round(1)
    if lang == "zh":
        table["existing"] = np.where(table["existing"], "是", "否")
    return table.rename(columns=headers)


# --- road-segment staffing ---------------------------------------------------------------------

def segment_staffing(ws: Workspace, events: pd.DataFrame, flt: EventFilter, n_staff: int, *,
                     windows: tuple[str, ...] | None = None, segment_length_m: float | None = None,
                     snap_m: float | None = None, classes: tuple[str, ...] = ("main", "secondary")
                     ) -> gpd.GeoDataFrame:
    """Split main and secondary roads into segments and allocate staff by demand, per window.

    按主次干路分段合理设置整治工作人员: each window's weighted demand is attached
    to the nearest segment within ``snap_m`` metres, segments are ranked, and
    ``n_staff`` people are shared in proportion with the largest-remainder
    rule (the total is kept exactly).
    """
    ps = ws.settings.posts
    segment_length_m = segment_length_m or ps.segment_length_m
    snap_m = snap_m or ps.snap_m
    if n_staff < 0:
        raise PostPlanningError(f"staff must be 0 or more people, got {n_staff}")
    roads_path = ws.paths.get("roads")
    if roads_path is None or not roads_path.exists():
        raise PostPlanningError("road segments need a road file: set [workspace] roads = FILE in gridwatch.toml")
    from geo.grid.roads import read_roads

    roads = read_roads(roads_path)
    roads = roads[roads["class"].isin(classes)].reset_index(drop=True)
    if roads.empty:
        raise PostPlanningError(f"the road file has no roads of class {', '.join(classes)}")
    crs = ws.settings.metric_crs
    segs = split_lines(roads.to_crs(crs), segment_length_m)
    segs["name"] = roads["name"].to_numpy()[segs["line"].to_numpy()]
    segs["class"] = roads["class"].to_numpy()[segs["line"].to_numpy()]
    tree = shapely.STRtree(segs.geometry.values)
    windows = windows or (flt.window,)
    out = []
    for window in windows:  # a few named windows, each vectorised
        wflt = EventFilter(window=window, sources=flt.sources, categories=flt.categories,
                           since=flt.since, until=flt.until)
        demand = demand_points(ws, events, wflt)
        x, y = to_metric(demand["lon"].to_numpy(), demand["lat"].to_numpy(), crs)
        pi, si = tree.query_nearest(shapely.points(x, y), max_distance=snap_m, all_matches=False)
        score = np.bincount(si, weights=demand["weight"].to_numpy()[pi], minlength=len(segs))
        count = np.bincount(si, minlength=len(segs))
        staff = allocate_staff(score, n_staff) if score.sum() > 0 else np.zeros(len(segs), dtype=np.int64)
        part = segs[["name", "class", "start_m", "end_m", "length_m", "geometry"]].copy()
        part["window"] = window
        part["events"] = count
        part["demand"] = score
        part["staff"] = staff
        part["rank"] = pd.Series(score).rank(method="min", ascending=False).astype(int).to_numpy()
        part["unsnapped_events"] = int(len(demand) - len(pi))
        out.append(part)
    table = pd.concat(out, ignore_index=True)
    gdf = gpd.GeoDataFrame(table, geometry="geometry", crs=crs).to_crs("EPSG:4326")
    return gdf.sort_values(["window", "rank"], kind="stable").reset_index(drop=True)
