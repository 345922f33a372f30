"""Seeded, nested three-tier grid partition of a study area (SYNTHETIC official grids).

Real grid polygons of street offices (大/中/小网格) are not public, so the sample
workspace ships an invented partition with the same structure: every small grid
lies inside exactly one middle grid, every middle grid inside exactly one big grid,
and each tier tiles the study area with no gaps and no overlaps.  The mean areas
follow the figures of Guanyinsi street (观音寺街道, Daxing): 8 big, 21 middle and
125 small grids on 16.4 km², i.e. about 2.05 / 0.78 / 0.13 km² each.

Method
------
1. Big tier: ``round(area / mean_big)`` seeded random points inside the area,
   moved by Lloyd relaxation (each point to the centroid of its clipped Voronoi
   cell) so the cells come out compact and of similar size.
2. Middle tier: inside each big grid, a Voronoi partition of its own points, the
   number of points proportional to the big grid's area (largest remainder,
   at least one); small tier likewise inside each middle grid.  All parents are
   processed together by the vectorised ``shapely.voronoi_polygons``.
3. Pieces that clipping to a concave parent splits off a cell are merged into the
   neighbouring cell of the same parent with the longest shared border, so every
   grid is a single polygon.
4. The small grids are converted to WGS84, their borders and the area's border
   are noded on a ``grid_size`` lattice (1e-6°, ~0.1 m) and polygonised; the
   middle and big grids are unions of their small grids.  Neighbours therefore
   share identical vertices (``shapely.coverage_is_valid`` holds in every tier)
   and the coordinates survive a round trip through GeoJSON at 6 decimals.

Examples
--------
>>> import shapely
>>> from geo.synthetic.grids import nested_grids
>>> area = shapely.box(116.35, 39.90, 116.37, 39.92)        # ~3.8 km²
>>> g = nested_grids(area, seed=1)
>>> g.groupby("tier").size().to_dict()
{'big': 2, 'middle': 5, 'small': 29}
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from shapely import STRtree

__all__ = ["DEFAULT_MEAN_KM2", "GRID_TIERS", "nested_grids"]

#: Mean grid areas (km²) of the big, middle and small tiers at Guanyinsi street.
DEFAULT_MEAN_KM2: tuple[float, float, float] = (2.05, 0.78, 0.13)
#: Tier names, coarse to fine (as in :data:`geo.settings.TIERS`).
GRID_TIERS: tuple[str, str, str] = ("big", "middle", "small")

GeomArray = NDArray[np.object_]
IntArray = NDArray[np.int64]


# --- helpers -------------------------------------------------------------------
@lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)  # slow to build: cache


def reproject(geoms: GeomArray, src: str, dst: str) -> GeomArray:
    """Transform shapely geometries vertex by vertex with pyproj (lon/lat order)."""
    tr = _transformer(src, dst)

    def fn(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def check_area(area: object) -> shapely.Geometry:
    if not isinstance(area, (shapely.Polygon, shapely.MultiPolygon)):
        raise TypeError(
            f"area must be a shapely Polygon or MultiPolygon in WGS84, got {type(area).__name__}; "
            "pass e.g. geopandas.read_file('data/sample/area_xicheng.geojson').geometry.iloc[0]"
        )
    if area.is_empty or not area.is_valid:
        raise ValueError(
            f"area must be a non-empty valid polygon (is_empty={area.is_empty}, "
            f"is_valid={area.is_valid}); repair it first, e.g. with shapely.make_valid"
        )
    minx, miny, maxx, maxy = area.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError(
            f"area bounds {area.bounds} are not lon/lat degrees; the area must be in WGS84 "
            "(EPSG:4326) -- reproject it with geopandas .to_crs(4326)"
        )
    return area


def _allocate(total: int, weights: NDArray[np.float64], min_count: int = 1) -> IntArray:
    """Split ``total`` into integer counts proportional to ``weights`` (largest remainder)."""
    quota = total * weights / weights.sum()
    counts = np.maximum(np.floor(quota).astype(np.int64), min_count)
    short = total - int(counts.sum())
    if short > 0:
        rest = quota - counts
        top = np.argsort(-rest, kind="stable")[:short]
        counts[top] += 1
    return counts


def _sample_points(parents: GeomArray, counts: IntArray,
                   rng: np.random.Generator) -> tuple[NDArray[np.float64], IntArray]:
    """``counts[i]`` uniform random points inside ``parents[i]`` (rejection sampling)."""
    bounds = shapely.bounds(parents)
    need = counts.copy()
    xs: list[NDArray[np.float64]] = []
    ps: list[IntArray] = []
    while need.sum() > 0:
        active = np.flatnonzero(need > 0)
        k = need[active] * 4 + 16                     # over-draw: parents are not boxes
        pid = np.repeat(active, k)
        b = bounds[pid]
        u = rng.random((pid.size, 2))
        x = b[:, 0] + u[:, 0] * (b[:, 2] - b[:, 0])
        y = b[:, 1] + u[:, 1] * (b[:, 3] - b[:, 1])
        inside = shapely.contains_xy(parents[pid], x, y)
        # keep the first need[i] hits of each parent's block of candidates
        cum = np.cumsum(inside)
        block_start = np.concatenate([[0], np.cumsum(k)[:-1]])
        before = np.where(block_start > 0, cum[block_start - 1], 0)
        hit_rank = cum - np.repeat(before, k) - 1
        keep = inside & (hit_rank < need[pid])
        xs.append(np.column_stack([x[keep], y[keep]]))
        ps.append(pid[keep])
        need -= np.bincount(pid[keep], minlength=need.size)
    xy = np.concatenate(xs)
    pidx = np.concatenate(ps)
    order = np.argsort(pidx, kind="stable")
    return xy[order], pidx[order]


def _voronoi_cells(parents: GeomArray, xy: NDArray[np.float64], pidx: IntArray) -> GeomArray:
    """Voronoi cell of every point among the points of the same parent, clipped to it."""
    mp = shapely.multipoints(xy, indices=pidx)
    vor = shapely.voronoi_polygons(mp, extend_to=parents, ordered=True)
    cells = shapely.get_parts(vor)
    if cells.size != xy.shape[0]:  # pragma: no cover - only with duplicate points
        raise RuntimeError("Voronoi diagram lost cells (duplicate seed points); change the seed")
    return shapely.intersection(cells, parents[pidx])


def _lloyd_partition(parents: GeomArray, counts: IntArray, rng: np.random.Generator,
                     n_iter: int) -> tuple[GeomArray, IntArray]:
    """Partition each parent into ``counts[i]`` compact cells (clipped Lloyd-relaxed Voronoi)."""
    xy, pidx = _sample_points(parents, counts, rng)
    for _ in range(n_iter):
        cells = _voronoi_cells(parents, xy, pidx)
        cen = shapely.centroid(cells)
        # a centroid can fall outside a concave parent: use a point on the cell instead
        bad = ~shapely.contains(parents[pidx], cen)
        cen[bad] = shapely.point_on_surface(cells[bad])
        xy = shapely.get_coordinates(cen)
    return _voronoi_cells(parents, xy, pidx), pidx


def _polygon_parts(geoms: GeomArray) -> tuple[GeomArray, IntArray]:
    """Polygon parts of each geometry (lines/points from clipping dropped), with their index."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    # GeometryCollections from clipping: explode once more
    coll = shapely.get_type_id(parts) == 7
    if coll.any():
        sub, j = shapely.get_parts(parts[coll], return_index=True)
        parts = np.concatenate([parts[~coll], sub])
        idx = np.concatenate([idx[~coll], idx[coll][j]])
        sub2, k = shapely.get_parts(parts, return_index=True)
        parts, idx = sub2, idx[k]
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    order = np.argsort(idx[keep], kind="stable")
    return parts[keep][order], idx[keep][order]


def _merge_fragments(cells: GeomArray, group: IntArray) -> GeomArray:
    """Make each cell one polygon: minor parts go to the same-group neighbour sharing most border."""
    n = cells.size
    parts, idx = _polygon_parts(cells)
    area = shapely.area(parts)
    order = np.lexsort((-area, idx))
    first = np.ones(order.size, dtype=bool)
    first[1:] = idx[order][1:] != idx[order][:-1]
    is_main = np.zeros(parts.size, dtype=bool)
    is_main[order[first]] = True
    owner = idx.copy()
    frag = np.flatnonzero(~is_main)
    if frag.size:
        main = np.flatnonzero(is_main)
        fi, mj = STRtree(parts[main]).query(parts[frag], predicate="intersects")
        f, m = frag[fi], main[mj]
        ok = (group[idx[f]] == group[idx[m]]) & (idx[f] != idx[m])
        f, m = f[ok], m[ok]
        shared = shapely.length(shapely.intersection(shapely.boundary(parts[f]),
                                                     shapely.boundary(parts[m])))
        best = (pd.DataFrame({"f": f, "m": m, "s": shared})
                .query("s > 0")
                .sort_values(["f", "s"], ascending=[True, False], kind="stable")
                .drop_duplicates("f"))
        owner[best["f"].to_numpy()] = idx[best["m"].to_numpy()]
    out = np.empty(n, dtype=object)
    per = np.bincount(owner, minlength=n)
    single = per[owner] == 1
    out[owner[single]] = parts[single]
    for c in np.flatnonzero(per > 1):  # a handful of cells: the ones that received pieces
        out[c] = shapely.union_all(parts[owner == c])
    missing = per == 0
    if missing.any():  # pragma: no cover - a cell clipped away entirely
        out[missing] = shapely.Polygon()
    return out


def _dissolve(geoms: GeomArray, labels: IntArray, n: int) -> GeomArray:
    """Union of ``geoms`` per label 0..n-1; the inputs must form a valid coverage."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n + 1))
    return np.array([shapely.coverage_union_all(geoms[order[bounds[i]:bounds[i + 1]]])
                     for i in range(n)], dtype=object)


def _snap_coverage(small: GeomArray, area: shapely.Geometry | None,
                   grid_size: float | None) -> GeomArray:
    """Rebuild ``small`` from one noded linework so neighbours share identical vertices.

    Clipping children to their parent puts vertices on a parent's border that the
    neighbouring parent's children lack (T-vertices); noding all borders together
    (snap-rounded to ``grid_size`` if given) and polygonising fixes that.
    """
    rings = small if area is None else np.append(small, np.array([area], dtype=object))
    lines = shapely.boundary(rings)
    noded = shapely.union_all(lines, grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 0]
    rep = shapely.point_on_surface(faces)
    owner = np.full(faces.size, np.iinfo(np.int64).max)
    tree = STRtree(small)
    fi, sj = tree.query(rep, predicate="within")
    np.minimum.at(owner, fi, sj)
    lost = np.flatnonzero(owner == np.iinfo(np.int64).max)
    if lost.size:  # slivers created by rounding: give them to the nearest cell
        li, lj = tree.query_nearest(rep[lost])
        _, first = np.unique(li, return_index=True)  # ties: the first match wins
        owner[lost[li[first]]] = lj[first]
    # only keep faces inside the (rounded) area: polygonize closes nothing outside it
    return _dissolve(faces, owner, small.size)


def _serpentine_rank(x: NDArray[np.float64], y: NDArray[np.float64], group: IntArray) -> IntArray:
    """Rank within ``group`` in rows north to south, alternating west→east and east→west."""
    df = pd.DataFrame({"y": y, "g": group})
    g = df.groupby("g")["y"]
    n = g.transform("size").to_numpy()
    ymax = g.transform("max").to_numpy()
    ymin = g.transform("min").to_numpy()
    nb = np.maximum(1, np.rint(np.sqrt(n))).astype(np.int64)
    h = (ymax - ymin) / nb
    band = np.where(h > 0, np.floor((ymax - y) / np.where(h > 0, h, 1.0)), 0.0)
    band = np.clip(band, 0, nb - 1)
    key = np.where(band % 2 == 0, x, -x)
    order = np.lexsort((key, band, group))
    rank = np.empty(x.size, dtype=np.int64)
    rank[order] = pd.Series(group[order]).groupby(group[order]).cumcount().to_numpy()
    return rank


def _street_runs(cells_m: GeomArray, rank: IntArray, n_streets: int) -> IntArray:
    """Street index (0..n_streets-1) of each big grid: contiguous runs along a walk.

    The walk starts at the first grid in serpentine order and steps to the
    unvisited neighbour (sharing > 1 m of border) that comes first in that order,
    jumping only when stuck.  The walk is then cut into ``n_streets`` runs of
    near-equal size, placing the cuts (by dynamic programming) so that as few
    runs as possible contain a jump, i.e. each street's grids are contiguous.
    """
    n = cells_m.size
    if n <= n_streets:
        return np.argsort(np.argsort(rank))
    i, j = STRtree(cells_m).query(cells_m, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    shared = shapely.length(shapely.intersection(shapely.boundary(cells_m[i]),
                                                 shapely.boundary(cells_m[j])))
    adj = np.zeros((n, n), dtype=bool)
    adj[i[shared > 1.0], j[shared > 1.0]] = True
    adj |= adj.T
    visited = np.zeros(n, dtype=bool)
    cur = int(np.argmin(rank))
    path = [cur]
    visited[cur] = True
    for _ in range(n - 1):  # n big grids: a few dozen steps
        cand = np.flatnonzero(adj[cur] & ~visited)
        if cand.size == 0:
            cand = np.flatnonzero(~visited)
        cur = int(cand[np.argmin(rank[cand])])
        path.append(cur)
        visited[cur] = True
    walk = np.array(path)
    jump = ~adj[walk[:-1], walk[1:]]                  # jump[t]: step t -> t+1 is not adjacent
    jumps_before = np.concatenate([[0], np.cumsum(jump)])
    q, big_runs = divmod(n, n_streets)
    # dp[r, b]: fewest broken runs covering the first r*q + b grids with r runs, b of size q+1
    inf = n + 1
    dp = np.full((n_streets + 1, big_runs + 1), inf, dtype=np.int64)
    choice = np.zeros((n_streets + 1, big_runs + 1), dtype=np.int64)
    dp[0, 0] = 0
    for r in range(1, n_streets + 1):
        for b in range(0, min(r, big_runs) + 1):
            end = r * q + b
            for extra in (0, 1):
                pb = b - extra
                if pb < 0 or pb > r - 1 or dp[r - 1, pb] >= inf:
                    continue
                start = end - q - extra
                broken = int(jumps_before[end - 1] - jumps_before[start] > 0)
                if dp[r - 1, pb] + broken < dp[r, b]:
                    dp[r, b] = dp[r - 1, pb] + broken
                    choice[r, b] = extra
    sizes = []
    b = big_runs
    for r in range(n_streets, 0, -1):
        sizes.append(q + int(choice[r, b]))
        b -= int(choice[r, b])
    run_of_step = np.repeat(np.arange(n_streets), sizes[::-1])
    street = np.empty(n, dtype=np.int64)
    street[walk] = run_of_step
    return street


def _digits(n: int, minimum: int) -> int:
    return max(minimum, len(str(max(n, 1))))


# --- public --------------------------------------------------------------------
def nested_grids(
    area: shapely.Polygon | shapely.MultiPolygon,
    mean_km2: Sequence[float] = DEFAULT_MEAN_KM2,
    seed: int = 20240101,
    metric_crs: str = "EPSG:4548",
    *,
    streets: pd.DataFrame | None = None,
    lloyd_iterations: int = 20,
    grid_size: float | None = 1e-6,
) -> gpd.GeoDataFrame:
    """Seeded nested big ⊃ middle ⊃ small partition of a study area (synthetic grids).

    Parameters
    ----------
    area : shapely.Polygon or MultiPolygon
        Study area in WGS84 lon/lat.
    mean_km2 : sequence of 3 floats, default (2.05, 0.78, 0.13)
        Target mean area of a big, middle and small grid in km² (measured in
        ``metric_crs``).  The number of grids of a tier is ``round(area / mean)``
        (at least one per parent).
    seed : int
        Seed of the random points; same seed, same output.
    metric_crs : str, default "EPSG:4548"
        Projected CRS in metres for construction and ``area_km2``.
    streets : pandas.DataFrame, optional
        Columns ``street_code`` and ``street_name``.  Big grids are given to the
        streets in this order, in runs of neighbouring grids along a walk that
        starts in the north-west (see :func:`_street_runs`), so each street gets
        one or a few adjacent big grids; children inherit.  This is a SYNTHETIC
        assignment, not the real street boundaries.  Without it both columns are
        empty strings.
    lloyd_iterations : int, default 20
        Lloyd relaxation steps per tier (0 = plain random Voronoi).
    grid_size : float or None, default 1e-6
        Lattice (degrees) the output vertices are snapped to (1e-6° ≈ 0.1 m), so
        the coverage survives writing coordinates with 6 decimals.  Snapping moves
        borders by at most ~0.07 m, which changes the union's area by a few
        millionths; ``None`` keeps full precision (union == area to ~1e-12).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per grid, big then middle then small, EPSG:4326, columns
        ``grid_id`` ("B03", "B03-M2", "B03-M2-S05"), ``tier`` (big/middle/small),
        ``name`` ("样例大网格03", "样例中网格03-2", "样例小网格03-2-05"), ``parent_id``
        ("" for big grids), ``unit`` ("样例责任单位03", ...), ``street_code``,
        ``street_name``, ``area_km2`` (in ``metric_crs``, 4 decimals), ``geometry``.

    Raises
    ------
    TypeError
        ``area`` is not a polygon.
    ValueError
        Bad ``mean_km2`` (not three positive, decreasing numbers), an area not in
        lon/lat, or ``streets`` without the two columns.
    """
    area = check_area(area)
    means = np.asarray(mean_km2, dtype=float)
    if means.shape != (3,) or not np.all(means > 0) or not np.all(np.diff(means) < 0):
        raise ValueError(
            f"mean_km2 must be three positive, decreasing areas (big, middle, small), got "
            f"{tuple(mean_km2)!r}; e.g. (2.05, 0.78, 0.13)"
        )
    if streets is not None and not {"street_code", "street_name"} <= set(streets.columns):
        raise ValueError(
            f"streets needs columns 'street_code' and 'street_name', got {list(streets.columns)}"
        )
    rng = np.random.default_rng(seed)
    area_m = reproject(np.array([area], dtype=object), "EPSG:4326", metric_crs)
    total_km2 = float(shapely.area(area_m[0])) / 1e6

    # 1-3. top-down partition in metres
    parents = area_m
    parent_of: list[IntArray] = []
    tiers: list[GeomArray] = []
    for mean in means:
        total = max(1, int(round(total_km2 / mean)))
        counts = _allocate(total, shapely.area(parents), min_count=1)
        cells, pidx = _lloyd_partition(parents, counts, rng, lloyd_iterations)
        cells = _merge_fragments(cells, pidx)
        keep = ~shapely.is_empty(cells)
        cells, pidx = cells[keep], pidx[keep]
        tiers.append(cells)
        parent_of.append(pidx)
        parents = cells
    big_of_mid = parent_of[1]
    mid_of_small = parent_of[2]
    big_of_small = big_of_mid[mid_of_small]
    n_big, n_mid, n_small = (t.size for t in tiers)

    # 4. exact shared borders: node in metres (removes T-vertices) so the projection maps
    # shared vertices identically, then snap to the output lattice in degrees; the
    # coarse tiers are unions of small grids
    small_m = _merge_fragments(_snap_coverage(tiers[2], area_m[0], None), mid_of_small)
    small_w = reproject(small_m, metric_crs, "EPSG:4326")
    if grid_size is not None:
        # not the WGS84 area itself: its edges are straight in degrees, the cells' in metres
        small_w = _snap_coverage(small_w, None, grid_size)
        small_w = _merge_fragments(small_w, mid_of_small)
    mid_w = _dissolve(small_w, mid_of_small, n_mid)
    big_w = _dissolve(mid_w, big_of_mid, n_big)

    # stable ids: serpentine order of centroids, per parent
    def centroids(g: GeomArray) -> NDArray[np.float64]:
        return shapely.get_coordinates(shapely.centroid(reproject(g, "EPSG:4326", metric_crs)))

    cb, cm, cs = centroids(big_w), centroids(mid_w), centroids(small_w)
    rb = _serpentine_rank(cb[:, 0], cb[:, 1], np.zeros(n_big, dtype=np.int64)) + 1
    rm = _serpentine_rank(cm[:, 0], cm[:, 1], big_of_mid) + 1
    rs = _serpentine_rank(cs[:, 0], cs[:, 1], mid_of_small) + 1
    wb = _digits(n_big, 2)
    wm = _digits(int(rm.max()), 1)
    ws = _digits(int(rs.max()), 2)
    big_num = pd.Series(rb).astype(str).str.zfill(wb).to_numpy(dtype=object)
    mid_num = big_num[big_of_mid] + "-" + pd.Series(rm).astype(str).str.zfill(wm).to_numpy(dtype=object)
    small_num = mid_num[mid_of_small] + "-" + pd.Series(rs).astype(str).str.zfill(ws).to_numpy(dtype=object)
    big_id = "B" + big_num
    mid_id = big_id[big_of_mid] + "-M" + pd.Series(rm).astype(str).str.zfill(wm).to_numpy(dtype=object)
    small_id = mid_id[mid_of_small] + "-S" + pd.Series(rs).astype(str).str.zfill(ws).to_numpy(dtype=object)

    # synthetic street of each big grid: consecutive runs along the serpentine walk
    if streets is not None and len(streets):
        codes = streets["street_code"].astype(str).to_numpy(dtype=object)
        names = streets["street_name"].astype(str).to_numpy(dtype=object)
        street_of_big = _street_runs(reproject(big_w, "EPSG:4326", metric_crs), rb, len(codes))
        b_code, b_name = codes[street_of_big], names[street_of_big]
    else:
        b_code = b_name = np.full(n_big, "", dtype=object)

    def layer(tier: str, ids: np.ndarray, num: np.ndarray, label: str, parent: np.ndarray,
              big_idx: IntArray, geoms: GeomArray) -> pd.DataFrame:
        return pd.DataFrame({
            "grid_id": ids, "tier": tier, "name": f"样例{label}网格" + num, "parent_id": parent,
            "unit": "样例责任单位" + num, "street_code": b_code[big_idx],
            "street_name": b_name[big_idx], "geometry": geoms,
        })

    df = pd.concat([
        layer("big", big_id, big_num, "大", np.full(n_big, "", dtype=object),
              np.arange(n_big), big_w),
        layer("middle", mid_id, mid_num, "中", big_id[big_of_mid], big_of_mid, mid_w),
        layer("small", small_id, small_num, "小", mid_id[mid_of_small], big_of_small, small_w),
    ], ignore_index=True)
    tier_rank = df["tier"].map({t: i for i, t in enumerate(GRID_TIERS)})
    df = df.assign(_t=tier_rank).sort_values(["_t", "grid_id"], kind="stable").drop(columns="_t")
    df = df.reset_index(drop=True)
    geoms = df["geometry"].to_numpy(dtype=object)
    df["area_km2"] = np.round(shapely.area(reproject(geoms, "EPSG:4326", metric_crs)) / 1e6, 4)
    cols = ["grid_id", "tier", "name", "parent_id", "unit", "street_code", "street_name",
            "area_km2", "geometry"]
    return gpd.GeoDataFrame(df[cols], geometry="geometry", crs="EPSG:4326")
