"""Road networks: read a user's road file, build a noded graph, find the intersections.

Traffic brigades place their posts at intersections (路口) and split main and
secondary roads into segments, so gridwatch needs a road layer.  It arrives as
a line file -- typically an OpenStreetMap extract exported to GeoJSON,
GeoPackage or GeoParquet, with the OSM ``highway`` tag -- in any CRS.

* :func:`read_roads` reads it into the standard form (WGS84 LineStrings with
  ``road_id``, ``name``, ``highway``, ``class``, ``layer``);
* :func:`road_graph` nodes every crossing and returns nodes and edges;
* :func:`intersections` keeps the nodes where three or more edge ends meet,
  merges those within ``merge_m`` metres (the nodes of one wide crossing, dual
  carriageways) and names them "A与B交叉口".

Nothing here assumes that crossing ways share a vertex (real files often do
not): all lines are noded together on a small lattice (``grid_size_m``).  Ways
on different OSM ``layer`` values (bridges, tunnels) are noded separately, so a
flyover does not create a junction with the road below; they still join where
they share an end point.

Road classes, most important first: ``main`` (主干路), ``secondary`` (次干路),
``branch`` (支路) and ``alley`` (胡同/小巷, service ways and footways).

Examples
--------
>>> import geopandas as gpd
>>> from shapely import LineString
>>> from geo.grid.roads import intersections
>>> roads = gpd.GeoDataFrame(
...     {"road_id": [1, 2], "name": ["甲路", "乙街"], "class": ["main", "branch"]},
...     geometry=[LineString([(116.36, 39.91), (116.38, 39.91)]),
...               LineString([(116.37, 39.90), (116.37, 39.92)])], crs="EPSG:4326")
>>> x = intersections(roads)
>>> x[["name", "roads", "classes", "degree"]].values.tolist()
[['甲路与乙街交叉口', '甲路、乙街', 'main,branch', 4]]
"""

from __future__ import annotations

import os
import warnings
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely import STRtree

from geo.errors import CoordinateError, InputFileError

__all__ = [
    "HIGHWAY_CLASS",
    "ROAD_CLASSES",
    "intersections",
    "node_lines",
    "read_roads",
    "road_graph",
]

#: Road classes, most important first.
ROAD_CLASSES: tuple[str, ...] = ("main", "secondary", "branch", "alley")

#: OSM ``highway`` value -> road class.  Values not listed (and a missing tag) give
#: ``branch``; values in :data:`NOT_ROADS` are dropped.
HIGHWAY_CLASS: dict[str, str] = {
    "motorway": "main", "motorway_link": "main", "trunk": "main", "trunk_link": "main",
    "primary": "main", "primary_link": "main",
    "secondary": "secondary", "secondary_link": "secondary", "busway": "secondary",
    "tertiary": "branch", "tertiary_link": "branch", "residential": "branch",
    "unclassified": "branch", "living_street": "branch", "road": "branch",
    "service": "alley", "footway": "alley", "pedestrian": "alley", "path": "alley",
    "cycleway": "alley", "track": "alley", "steps": "alley", "bridleway": "alley",
    "alley": "alley",
}
#: OSM ``highway`` values that are not usable roads (planned, closed, platforms...).
NOT_ROADS: frozenset[str] = frozenset({
    "proposed", "construction", "abandoned", "disused", "razed", "platform", "bus_stop",
    "elevator", "corridor", "rest_area", "services", "raceway", "emergency_bay", "escape",
})
# accepted spellings of a ``class`` column
_CLASS_ALIASES: dict[str, str] = {
    **{c: c for c in ROAD_CLASSES},
    "主干路": "main", "主干道": "main", "快速路": "main", "主路": "main",
    "次干路": "secondary", "次干道": "secondary",
    "支路": "branch",
    "胡同": "alley", "小巷": "alley", "巷": "alley", "街巷": "alley",
}
_CLASS_RANK = {c: i for i, c in enumerate(ROAD_CLASSES)}
_WGS84 = "EPSG:4326"

ROAD_COLUMNS = ("road_id", "name", "highway", "class", "layer")
INTERSECTION_COLUMNS = ("node_id", "name", "roads", "classes", "degree", "lon", "lat")


# --- reading -------------------------------------------------------------------
def _first_column(df: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((c for c in names if c in df.columns), None)


def _standardise(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """Lines only, one row per LineString, standard columns (CRS untouched)."""
    geoms = gdf.geometry.to_numpy()
    tid = shapely.get_type_id(geoms)
    is_line = np.isin(tid, (1, 5)) & ~shapely.is_empty(geoms)  # (Multi)LineString
    if not is_line.any():
        raise InputFileError(
            "no LineString geometries found; a road file must contain the roads as lines "
            f"(found geometry types {sorted(set(shapely.get_type_id(geoms).tolist()))})",
            file=source,
        )
    if (~is_line).any():
        warnings.warn(f"{source}: ignored {int((~is_line).sum())} features that are not lines "
                      "(points, polygons or empty geometries)", UserWarning, stacklevel=3)
    gdf = gdf.loc[is_line]
    out = pd.DataFrame(index=gdf.index)
    id_col = _first_column(gdf, ("road_id", "osm_id", "@id", "id"))
    out["road_id"] = gdf[id_col] if id_col else np.arange(1, len(gdf) + 1, dtype=np.int64)
    name_col = _first_column(gdf, ("name", "name:zh", "名称", "道路名称"))
    out["name"] = (gdf[name_col].astype(object).where(gdf[name_col].notna(), "").astype(str).str.strip()
                   if name_col else "")
    hw_col = _first_column(gdf, ("highway", "fclass"))  # fclass: Geofabrik shapefiles
    out["highway"] = (gdf[hw_col].astype(object).where(gdf[hw_col].notna(), "").astype(str).str.strip()
                      if hw_col else "")
    from_highway = out["highway"].map(HIGHWAY_CLASS).fillna("branch")
    if "class" in gdf.columns:
        raw = gdf["class"].astype(object).where(gdf["class"].notna(), "").astype(str).str.strip()
        cls = raw.str.lower().map(_CLASS_ALIASES)
        bad = sorted(set(raw[cls.isna() & (raw != "")]))
        if bad:
            raise InputFileError(
                f"unknown road class values {bad[:10]}; use one of {', '.join(ROAD_CLASSES)} "
                "(or 主干路/次干路/支路/胡同), or drop the column to derive it from 'highway'",
                file=source, column="class",
            )
        out["class"] = cls.where(raw != "", from_highway)  # blank class: from highway
    else:
        drop = out["highway"].isin(NOT_ROADS).to_numpy()
        out["class"] = from_highway
        if drop.any():
            out, gdf = out.loc[~drop], gdf.loc[~drop]
    layer = gdf["layer"] if "layer" in gdf.columns else pd.Series(0, index=gdf.index)
    out["layer"] = pd.to_numeric(layer, errors="coerce").fillna(0).astype(np.int64)
    res = gpd.GeoDataFrame(out, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    return res.explode(index_parts=False).reset_index(drop=True)


def read_roads(path: str | os.PathLike[str], crs: object | None = None, *,
               layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a road file into the standard form, in WGS84.

    Parameters
    ----------
    path : path-like
        GeoJSON, GeoPackage, shapefile (anything pyogrio reads) or GeoParquet
        (``.parquet``/``.geoparquet``) with line geometries.
    crs : str, int or pyproj.CRS, optional
        The system the coordinates are *actually* in: any pyproj CRS or
        ``"GCJ02"``/``"BD09"`` (see :func:`geo.grid.crs.geometry_to_wgs84`).  Overrides
        the file's own label (GCJ-02 data is routinely labelled EPSG:4326).
        By default the file's CRS is used, or WGS84 when it has none.
    layer : str, optional
        Layer of a multi-layer file (GeoPackage).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, one row per LineString (MultiLineStrings are split), columns
        ``road_id`` (from ``road_id``/``osm_id``/``@id``/``id``, else 1..n),
        ``name`` (from ``name``/``name:zh``; missing names are ""), ``highway``
        (from ``highway`` or Geofabrik's ``fclass``; "" if absent), ``class``
        (main/secondary/branch/alley: the file's ``class`` column, else mapped
        from ``highway`` by :data:`HIGHWAY_CLASS`, unknown values -> branch,
        :data:`NOT_ROADS` dropped), ``layer`` (OSM layer, default 0), ``geometry``.

    Raises
    ------
    InputFileError
        Missing/unreadable file, no line geometries, or unknown ``class`` values.
    CoordinateError
        Unknown ``crs``, or coordinates that are not lon/lat while the file
        declares no CRS.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError("road file not found", file=str(path))
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            gdf = gpd.read_parquet(path)
        else:
            gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a file problem
        raise InputFileError(f"cannot read road file: {exc}", file=str(path)) from exc
    if len(gdf) == 0:
        raise InputFileError("the road file has no features", file=str(path))
    roads = _standardise(gdf, str(path))
    if crs is not None:
        from geo.grid.crs import geometry_to_wgs84

        return geometry_to_wgs84(roads, crs)
    if roads.crs is None:
        minx, miny, maxx, maxy = roads.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise CoordinateError(
                f"{path}: the file declares no CRS and its coordinates {roads.total_bounds.round(1)} "
                "are not lon/lat; pass crs=..., e.g. read_roads(path, crs='EPSG:4548')"
            )
        return roads.set_crs(_WGS84)
    return roads.to_crs(_WGS84)


# --- graph ---------------------------------------------------------------------
def node_lines(lines: NDArray[np.object_], grid_size: float) -> tuple[NDArray[np.object_], NDArray[np.int64]]:
    """Node lines together; return the pieces between nodes and the line each lies on.

    Parameters
    ----------
    lines : array of shapely LineString
        In a CRS where ``grid_size`` makes sense (metres, usually).
    grid_size : float
        Snap-rounding lattice: crossings and end points closer than about this
        become one node; makes noding robust to floating-point noise.

    Returns
    -------
    pieces : array of LineString
        Every crossing and every end point is an end of a piece.  Overlapping
        stretches of two lines come out once.
    source : int64 array
        Index into ``lines`` of the line each piece lies on (on a tie, the lowest).
    """
    if lines.size == 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    pieces = shapely.get_parts(shapely.union_all(lines, grid_size=grid_size))
    pieces = pieces[(shapely.get_type_id(pieces) == 1) & (shapely.length(pieces) > 0)]
    pi, sj = STRtree(lines).query(pieces, predicate="dwithin", distance=2 * grid_size)
    probe = np.stack([shapely.get_point(pieces[pi], 0), shapely.get_point(pieces[pi], -1),
                      shapely.line_interpolate_point(pieces[pi], 0.5, normalized=True)], axis=1)
    # the source a piece lies on has all three probes on it; a crossing road only one
    score = shapely.distance(probe, lines[sj][:, None]).max(axis=1)
    best = (pd.DataFrame({"p": pi, "s": sj, "d": score})
            .sort_values(["p", "d", "s"], kind="stable").drop_duplicates("p"))
    source = np.full(pieces.size, -1, dtype=np.int64)
    source[best["p"].to_numpy()] = best["s"].to_numpy()
    ok = source >= 0
    return pieces[ok], source[ok]


def _check_roads(roads: object) -> gpd.GeoDataFrame:
    if not isinstance(roads, gpd.GeoDataFrame):
        raise TypeError(f"roads must be a GeoDataFrame (see read_roads), got {type(roads).__name__}")
    if roads.crs is None:
        raise CoordinateError("roads has no CRS; set it (roads.set_crs(...)) or read it with read_roads")
    return roads


@lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


@lru_cache(maxsize=16)
def _metric_transformer(metric_crs: str) -> pyproj.Transformer:
    """metric CRS -> WGS84 (lon/lat order); cached, building one takes ~0.3 s."""
    crs = pyproj.CRS.from_user_input(metric_crs)
    if not crs.is_projected:
        raise CoordinateError(
            f"metric_crs must be a projected CRS in metres, got {metric_crs!r}; "
            "use e.g. 'EPSG:4548' (Beijing) or a UTM zone such as 'EPSG:32650'"
        )
    return _transformer(crs.to_wkt(), _WGS84)


def road_graph(roads: gpd.GeoDataFrame, metric_crs: str = "EPSG:4548", *,
               grid_size_m: float = 0.01) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Noded road graph: a node at every crossing and end point, an edge between.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        Line geometries in any CRS (e.g. from :func:`read_roads`); optional columns
        ``road_id``, ``name``, ``class``, ``layer`` (missing ones get the row
        number, "", "branch", 0).
    metric_crs : str, default "EPSG:4548"
        Projected CRS in metres for noding and lengths.
    grid_size_m : float, default 0.01
        Snap-rounding lattice in metres: crossings are found even when the ways
        share no vertex, and points closer than ~1 cm are one node.

    Returns
    -------
    nodes : geopandas.GeoDataFrame
        ``node_id`` (0..n-1), ``x``, ``y`` (metric), ``lon``, ``lat``, ``degree``
        (number of edge ends at the node; a loop counts twice), Point geometry in
        EPSG:4326.
    edges : pandas.DataFrame
        ``u``, ``v`` (node ids), ``length_m``, ``road_id``, ``name``, ``class`` of
        the road the edge lies on.  The edge lengths add up to the total road
        length (less any stretch where two roads overlap, counted once).
    """
    roads = _check_roads(roads)
    to_wgs = _metric_transformer(metric_crs)
    # project with the cached transformer (vertex-wise, like GeoDataFrame.to_crs)
    to_metric = _transformer(roads.crs.to_wkt(), metric_crs)
    geoms = shapely.transform(roads.geometry.to_numpy(),
                              lambda c: np.column_stack(to_metric.transform(c[:, 0], c[:, 1])))
    r = roads
    n = len(r)
    road_id = r["road_id"].to_numpy() if "road_id" in r.columns else np.arange(n)
    name = (r["name"].astype(object).where(r["name"].notna(), "").astype(str).to_numpy(dtype=object)
            if "name" in r.columns else np.full(n, "", dtype=object))
    cls = r["class"].to_numpy(dtype=object) if "class" in r.columns else np.full(n, "branch", dtype=object)
    layer = (pd.to_numeric(r["layer"], errors="coerce").fillna(0).to_numpy()
             if "layer" in r.columns else np.zeros(n))
    parts, row = shapely.get_parts(geoms, return_index=True)
    is_line = (shapely.get_type_id(parts) == 1) & ~shapely.is_empty(parts)
    parts, row = parts[is_line], row[is_line]

    piece_list, src_list = [], []
    for lv in np.unique(layer[row]):  # a handful of OSM layers, usually just 0
        sel = np.flatnonzero(layer[row] == lv)
        pieces, src = node_lines(parts[sel], grid_size_m)
        piece_list.append(pieces)
        src_list.append(row[sel][src])
    pieces = np.concatenate(piece_list) if piece_list else np.zeros(0, dtype=object)
    src = np.concatenate(src_list) if src_list else np.zeros(0, dtype=np.int64)

    # nodes = distinct piece ends (exact: all ends lie on the snap-rounding lattice)
    ends = np.concatenate([shapely.get_coordinates(shapely.get_point(pieces, 0)),
                           shapely.get_coordinates(shapely.get_point(pieces, -1))])
    if ends.size:
        xy, inv = np.unique(ends, axis=0, return_inverse=True)
        inv = inv.ravel()
    else:
        xy, inv = np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    k = pieces.size
    u, v = inv[:k].astype(np.int64), inv[k:].astype(np.int64)
    lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1]) if len(xy) else (np.zeros(0), np.zeros(0))
    degree = np.bincount(np.concatenate([u, v]), minlength=len(xy)).astype(np.int64)
    nodes = gpd.GeoDataFrame(
        {"node_id": np.arange(len(xy), dtype=np.int64), "x": xy[:, 0], "y": xy[:, 1],
         "lon": np.asarray(lon, dtype=float), "lat": np.asarray(lat, dtype=float), "degree": degree},
        geometry=shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)),
        crs=_WGS84,
    )
    edges = pd.DataFrame({"u": u, "v": v, "length_m": shapely.length(pieces),
                          "road_id": road_id[src], "name": name[src], "class": cls[src]})
    return nodes, edges


# --- intersections ---------------------------------------------------------------
def _empty_intersections() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"node_id": pd.Series(dtype=np.int64), "name": pd.Series(dtype=object),
         "roads": pd.Series(dtype=object), "classes": pd.Series(dtype=object),
         "degree": pd.Series(dtype=np.int64), "lon": pd.Series(dtype=float),
         "lat": pd.Series(dtype=float)},
        geometry=gpd.GeoSeries([], crs=_WGS84), crs=_WGS84)


def _join_groups(keys: NDArray[np.int64], values: NDArray[np.object_], sep: str,
                 n: int) -> NDArray[np.object_]:
    """Join string ``values`` with ``sep`` per key 0..n-1 (``keys`` sorted); "" for absent keys."""
    out = np.full(n, "", dtype=object)
    if keys.size == 0:
        return out
    first = np.r_[True, keys[1:] != keys[:-1]]
    vals = np.where(first, values, sep + values.astype(str).astype(object))
    starts = np.flatnonzero(first)
    out[keys[starts]] = np.add.reduceat(vals.astype(object), starts)
    return out


def intersections(roads: gpd.GeoDataFrame, merge_m: float = 15.0,
                  metric_crs: str = "EPSG:4548", *, grid_size_m: float = 0.01) -> gpd.GeoDataFrame:
    """Road intersections: nodes where three or more edge ends meet, merged within ``merge_m``.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        Line geometries in any CRS, columns as for :func:`road_graph`.
    merge_m : float, default 15
        Junction nodes closer than this (single linkage: chains merge) are one
        intersection -- the several nodes of a wide crossing or of dual
        carriageways.  0 disables merging.
    metric_crs : str, default "EPSG:4548"
        Projected CRS in metres.
    grid_size_m : float, default 0.01
        Noding lattice, see :func:`road_graph`.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points, columns ``node_id`` (0..n-1, west to east by the first
        merged node), ``name`` ("A与B交叉口": the distinct non-empty names of the
        roads meeting there, main roads first, then by name; "A与无名路交叉口"
        when the others are unnamed, "无名路交叉口" when none is named),
        ``roads`` (the names joined by "、"), ``classes`` (distinct classes, main
        first, joined by ","), ``degree`` (edge ends leaving the intersection;
        an edge between two merged nodes is inside it), ``lon``, ``lat`` (mean
        position of the merged nodes), ``geometry``.
    """
    if not merge_m >= 0:
        raise ValueError(f"merge_m must be >= 0 metres, got {merge_m!r}")
    nodes, edges = road_graph(roads, metric_crs, grid_size_m=grid_size_m)
    junction = np.flatnonzero(nodes["degree"].to_numpy() >= 3)
    if junction.size == 0:
        return _empty_intersections()
    xy = nodes[["x", "y"]].to_numpy()[junction]
    pairs = (cKDTree(xy).query_pairs(merge_m, output_type="ndarray") if merge_m > 0
             else np.zeros((0, 2), dtype=np.int64))
    m = junction.size
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    _, label = connected_components(adj, directed=False)
    cluster = np.full(len(nodes), -1, dtype=np.int64)
    cluster[junction] = label

    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    cu, cv = cluster[u], cluster[v]
    internal = (cu == cv) & (cu >= 0)
    e = np.arange(len(edges))
    ends = pd.DataFrame({"c": np.concatenate([cu, cv]), "e": np.concatenate([e, e]),
                         "internal": np.concatenate([internal, internal])})
    ends = ends[ends["c"] >= 0]
    degree = ends.loc[~ends["internal"]].groupby("c").size().reindex(
        np.arange(label.max() + 1), fill_value=0)

    ends = ends.assign(name=edges["name"].to_numpy()[ends["e"]],
                       cls=edges["class"].to_numpy()[ends["e"]])
    ends["rank"] = ends["cls"].map(_CLASS_RANK).fillna(len(ROAD_CLASSES)).astype(np.int64)
    named = (ends[ends["name"] != ""].groupby(["c", "name"], as_index=False)["rank"].min()
             .sort_values(["c", "rank", "name"], kind="stable"))
    n_clusters = int(label.max()) + 1
    road_names = _join_groups(named["c"].to_numpy(), named["name"].to_numpy(dtype=object), "、", n_clusters)
    joined = _join_groups(named["c"].to_numpy(), named["name"].to_numpy(dtype=object), "与", n_clusters)
    n_named = np.bincount(named["c"].to_numpy(), minlength=n_clusters)
    unnamed = np.bincount(ends["c"].to_numpy(), weights=(ends["name"] == "").to_numpy(),
                          minlength=n_clusters) > 0
    cl = ends.drop_duplicates(["c", "cls"]).sort_values(["c", "rank", "cls"], kind="stable")
    classes = _join_groups(cl["c"].to_numpy(), cl["cls"].astype(str).to_numpy(dtype=object), ",", n_clusters)
    name = np.where(n_named == 0, "无名路",
                    np.where((n_named == 1) & unnamed, joined + "与无名路", joined)) + "交叉口"

    cx = np.bincount(label, weights=xy[:, 0]) / np.bincount(label)
    cy = np.bincount(label, weights=xy[:, 1]) / np.bincount(label)
    lon, lat = _metric_transformer(metric_crs).transform(cx, cy)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return gpd.GeoDataFrame(
        {"node_id": np.arange(n_clusters, dtype=np.int64), "name": name.astype(object),
         "roads": road_names, "classes": classes,
         "degree": degree.to_numpy(dtype=np.int64), "lon": lon, "lat": lat},
        geometry=shapely.points(lon, lat), crs=_WGS84)
