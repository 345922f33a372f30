"""Hotspot zones: density clusters of event points, in metres, as polygons.

Points are projected to the workspace's metric CRS (EPSG:4548 for Beijing)
before clustering, so ``eps`` is metres everywhere — never degrees, whose
east-west length shrinks with latitude.  DBSCAN comes from scikit-learn;
HDBSCAN from ``fast_hdbscan`` (~20× faster than scikit-learn's on 1e5 points,
same algorithm; a test checks they agree on a small case).
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.grid.crs import to_metric

Algorithm = Literal["dbscan", "hdbscan"]


def cluster_labels(x: np.ndarray, y: np.ndarray, *, algorithm: Algorithm = "dbscan", eps_m: float = 100.0,
                   min_samples: int = 15, min_cluster_size: int | None = None) -> np.ndarray:
    """Cluster label of each metric point (``-1`` = noise).

    Parameters
    ----------
    x, y : numpy.ndarray
        Projected coordinates in metres.
    algorithm : {"dbscan", "hdbscan"}
    eps_m : float
        DBSCAN neighbourhood radius in metres.
    min_samples : int
        Core-point neighbourhood size (both algorithms).
    min_cluster_size : int, optional
        HDBSCAN's smallest cluster (default ``min_samples``).

    Labels are renumbered by decreasing cluster size (ties: smallest x, then
    y of the cluster's first point), so they are deterministic.
    """
    if eps_m <= 0:
        raise ValueError(f"eps_m must be a positive distance in metres, got {eps_m}")
    if min_samples < 2:
        raise ValueError(f"min_samples must be at least 2, got {min_samples}")
    xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    if len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    if algorithm == "dbscan":
        from sklearn.cluster import DBSCAN

        labels = DBSCAN(eps=eps_m, min_samples=min_samples).fit_predict(xy)
    elif algorithm == "hdbscan":
        if len(xy) <= (min_cluster_size or min_samples):
            return np.full(len(xy), -1, dtype=np.int64)
        from fast_hdbscan import HDBSCAN

        labels = HDBSCAN(min_cluster_size=min_cluster_size or min_samples,
                         min_samples=min_samples).fit_predict(xy)
    else:
        raise ValueError(f"unknown algorithm {algorithm!r}; use 'dbscan' or 'hdbscan'")
    return _renumber(np.asarray(labels, dtype=np.int64), xy)


def _renumber(labels: np.ndarray, xy: np.ndarray) -> np.ndarray:
    found = labels >= 0
    if not found.any():
        return labels
    frame = pd.DataFrame({"label": labels[found], "x": xy[found, 0], "y": xy[found, 1]})
    stats = frame.groupby("label").agg(size=("x", "size"), x=("x", "min"), y=("y", "min"))
    stats = stats.sort_values(["size", "x", "y"], ascending=[False, True, True])
    mapping = pd.Series(np.arange(len(stats)), index=stats.index)
    out = np.full(len(labels), -1, dtype=np.int64)
    out[found] = mapping.reindex(labels[found]).to_numpy()
    return out


def zone_polygons(x: np.ndarray, y: np.ndarray, labels: np.ndarray, *, buffer_m: float = 25.0,
                  concave_ratio: float = 0.3) -> np.ndarray:
    """A (concave) hull per cluster, buffered by ``buffer_m``, in the metric CRS."""
    ids = np.unique(labels[labels >= 0])
    points = shapely.points(x, y)
    out = np.empty(len(ids), dtype=object)
    for i, label in enumerate(ids):  # one hull per zone: a handful of clusters, not per point
        members = shapely.multipoints(points[labels == label])
        hull = shapely.concave_hull(members, ratio=concave_ratio)
        out[i] = shapely.buffer(hull, buffer_m)
    return out


def hotspot_zones_from_events(events: pd.DataFrame, *, metric_crs: str, timezone: str,
                              algorithm: Algorithm = "dbscan", eps_m: float = 100.0, min_samples: int = 15,
                              buffer_m: float = 25.0, grids: gpd.GeoDataFrame | None = None,
                              cell_bins: pd.Series | None = None, tier_column: str = "h3_small") -> gpd.GeoDataFrame:
    """Cluster events into hotspot zones and describe each zone.

    Returns
    -------
    GeoDataFrame (WGS84)
        ``zone_id``, ``events``, ``top_categories`` ("code:n; …"), ``peak_hour``
        (local), ``peak_weekday`` (0 = Monday), ``grids`` and ``streets`` it
        touches (small grids), ``max_bin`` / ``hot_cells`` (Gi* bins of its
        cells, when ``cell_bins`` is given), ``area_km2``.
    """
    columns = ["zone_id", "events", "top_categories", "peak_hour", "peak_weekday", "grids", "streets",
               "max_bin", "hot_cells", "area_km2"]
    if events.empty:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:4326")
    x, y = to_metric(events["lon"].to_numpy(), events["lat"].to_numpy(), metric_crs)
    labels = cluster_labels(x, y, algorithm=algorithm, eps_m=eps_m, min_samples=min_samples)
    if not (labels >= 0).any():
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:4326")
    polys_m = zone_polygons(x, y, labels, buffer_m=buffer_m)
    member = events.assign(zone_id=labels)[labels >= 0]
    local = member["occurred_at"].dt.tz_convert(timezone)
    member = member.assign(hour=local.dt.hour.to_numpy(), weekday=local.dt.day_of_week.to_numpy())
    g = member.groupby("zone_id")
    cats = member.groupby(["zone_id", "category"]).size().rename("n").reset_index()
    cats = cats.sort_values(["zone_id", "n", "category"], ascending=[True, False, True])
    top = cats.groupby("zone_id").head(3).assign(txt=lambda d: d["category"] + ":" + d["n"].astype(str))
    table = pd.DataFrame({
        "zone_id": np.arange(len(polys_m)),
        "events": g.size().to_numpy(),
        "top_categories": top.groupby("zone_id")["txt"].agg("; ".join).to_numpy(),
        "peak_hour": g["hour"].agg(lambda s: int(s.value_counts().sort_index().idxmax())).to_numpy(),
        "peak_weekday": g["weekday"].agg(lambda s: int(s.value_counts().sort_index().idxmax())).to_numpy(),
    })
    zones = gpd.GeoDataFrame(table, geometry=list(polys_m), crs=metric_crs)
    zones["area_km2"] = zones.geometry.area / 1e6
    zones = zones.to_crs("EPSG:4326")
    if grids is not None:
        small = grids[grids["tier"] == "small"]
        if len(small):
            hits = gpd.sjoin(zones[["zone_id", "geometry"]], small[["grid_id", "street_name", "geometry"]],
                             predicate="intersects")
            zones["grids"] = zones["zone_id"].map(hits.groupby("zone_id")["grid_id"].agg(
                lambda s: ",".join(sorted(set(s))))).fillna("")
            zones["streets"] = zones["zone_id"].map(hits.groupby("zone_id")["street_name"].agg(
                lambda s: ",".join(sorted(set(v for v in s if v))))).fillna("")
    for col in ("grids", "streets"):
        if col not in zones:
            zones[col] = ""
    if cell_bins is not None:
        cell_bin = member[tier_column].map(cell_bins).fillna(0)
        by_zone = pd.DataFrame({"zone_id": member["zone_id"], "cell": member[tier_column], "bin": cell_bin})
        per_cell = by_zone.drop_duplicates(["zone_id", "cell"])
        zones["max_bin"] = zones["zone_id"].map(per_cell.groupby("zone_id")["bin"].max()).astype("int64")
        zones["hot_cells"] = zones["zone_id"].map(
            per_cell[per_cell["bin"] > 0].groupby("zone_id").size()).fillna(0).astype("int64")
    else:
        zones["max_bin"] = 0
        zones["hot_cells"] = 0
    return zones[[*columns, "geometry"]]
