"""Road-segment staffing (按主次干路分段合理设置整治工作人员).

:func:`split_lines` cuts roads into ~500 m segments and :func:`allocate_staff`
shares a staff total among them by the largest remainder method.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from geo.errors import CoordinateError
from geo.planning.problem import IntArray, PostPlanningError

__all__ = ["allocate_staff", "split_lines"]


def split_lines(lines: Any, segment_length_m: float = 500.0) -> Any:
    """Cut road lines into equal pieces no longer than ``segment_length_m``.

    A line of length L becomes ``ceil(L / segment_length_m)`` pieces of equal
    length (no short stubs); MultiLineStrings are split part by part.  Fully
    vectorised: vertices and cut points of all lines are interpolated and
    assembled with shapely 2's ufuncs, no loop over lines.

    Parameters
    ----------
    lines : GeoSeries, GeoDataFrame or array of shapely (Multi)LineStrings
        In a metric CRS (a geographic CRS raises :class:`CoordinateError`).
    segment_length_m : float
        Maximum segment length in metres.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per segment: ``line`` (position of the source line),
        ``part`` (part of a multi-line), ``segment`` (0-based along the part),
        ``start_m``, ``end_m``, ``length_m``, ``geometry``; CRS kept.

    Examples
    --------
    >>> import shapely
    >>> segs = split_lines([shapely.LineString([(0, 0), (1200, 0)])], 500)
    >>> segs[["segment", "start_m", "end_m"]].to_numpy().tolist()
    [[0.0, 0.0, 400.0], [1.0, 400.0, 800.0], [2.0, 800.0, 1200.0]]
    """
    import geopandas as gpd
    import shapely

    seg_len = float(segment_length_m)
    if not math.isfinite(seg_len) or seg_len <= 0:
        raise PostPlanningError(f"segment_length_m must be a positive number of metres, got {segment_length_m!r}")
    crs = None
    if isinstance(lines, (gpd.GeoDataFrame, gpd.GeoSeries)):
        crs = lines.crs
        if crs is not None and crs.is_geographic:
            raise CoordinateError(
                f"lines are in a geographic CRS ({crs.to_string()}); project them to a metric CRS "
                "first, e.g. lines.to_crs('EPSG:4548')"
            )
        geoms = np.asarray(lines.geometry.values, dtype=object)
    else:
        geoms = np.asarray(lines, dtype=object).ravel()
    cols = ["line", "part", "segment", "start_m", "end_m", "length_m"]
    empty = gpd.GeoDataFrame({c: np.zeros(0, np.int64 if c in cols[:3] else np.float64) for c in cols},
                             geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    if geoms.size == 0:
        return empty
    types = shapely.get_type_id(geoms)
    ok = np.isin(types, (1, 5)) | shapely.is_missing(geoms)  # LineString, MultiLineString
    if not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        raise PostPlanningError(
            f"line {k} is a {shapely.get_type_id(geoms[k])} geometry, not a (Multi)LineString; "
            "pass road centre lines"
        )
    parts, src = shapely.get_parts(geoms, return_index=True)
    if parts.size == 0:
        return empty
    part_no = np.arange(src.size) - np.searchsorted(src, src)  # rank of each part within its line
    xy, pid = shapely.get_coordinates(parts, return_index=True)
    # drop repeated vertices so the per-part distance is strictly increasing
    step = np.r_[np.inf, np.hypot(*np.diff(xy, axis=0).T)]
    newpart = np.r_[True, pid[1:] != pid[:-1]]
    keep = newpart | (step > 0)
    xy, pid, step, newpart = xy[keep], pid[keep], step[keep], newpart[keep]
    step[newpart] = 0.0
    cum = np.cumsum(step)
    part_start = np.searchsorted(pid, np.arange(parts.size))
    nverts = np.bincount(pid, minlength=parts.size)
    valid = nverts >= 2
    d = cum - cum[part_start][pid]  # distance along its part
    L = np.zeros(parts.size)
    L[valid] = d[part_start[valid] + nverts[valid] - 1]
    valid &= L > 0
    nseg = np.where(valid, np.maximum(1, np.ceil(L / seg_len - 1e-9)).astype(np.int64), 0)
    # global monotone axis: part i occupies [off_i, off_i + L_i], gaps between parts
    off = np.r_[0.0, np.cumsum(L + 1.0)[:-1]]
    D = d + off[pid]
    vmask = valid[pid]
    Dv, xv, yv, pv = D[vmask], xy[vmask, 0], xy[vmask, 1], pid[vmask]
    seg_part = np.repeat(np.arange(parts.size), nseg)
    seg_k = np.arange(seg_part.size) - np.repeat(np.cumsum(nseg) - nseg, nseg)
    piece = L[seg_part] / nseg[seg_part]
    s0 = seg_k * piece
    s1 = np.where(seg_k == nseg[seg_part] - 1, L[seg_part], (seg_k + 1) * piece)
    T0, T1 = s0 + off[seg_part], s1 + off[seg_part]
    sid = np.arange(seg_part.size)
    # interior vertices: strictly inside a segment
    pn = nseg[pv]
    k_v = np.minimum(np.floor((Dv - off[pv]) / (L[pv] / pn)).astype(np.int64), pn - 1)
    first_seg = np.cumsum(nseg) - nseg
    v_sid = first_seg[pv] + k_v
    inner = (Dv > T0[v_sid] + 1e-9) & (Dv < T1[v_sid] - 1e-9)
    keys = np.r_[T0, Dv[inner], T1]
    ids = np.r_[sid, v_sid[inner], sid]
    rank = np.r_[np.zeros(sid.size), np.ones(int(inner.sum())), np.full(sid.size, 2.0)]
    px = np.r_[np.interp(T0, Dv, xv), xv[inner], np.interp(T1, Dv, xv)]
    py = np.r_[np.interp(T0, Dv, yv), yv[inner], np.interp(T1, Dv, yv)]
    order = np.lexsort((keys, rank, ids))
    segs = shapely.linestrings(px[order], py[order], indices=ids[order])
    return gpd.GeoDataFrame({
        "line": src[seg_part].astype(np.int64),
        "part": part_no[seg_part].astype(np.int64),
        "segment": seg_k.astype(np.int64),
        "start_m": s0,
        "end_m": s1,
        "length_m": s1 - s0,
    }, geometry=gpd.GeoSeries(segs, crs=crs), crs=crs)


def allocate_staff(scores: ArrayLike, n_staff: int) -> IntArray:
    """Share ``n_staff`` people among segments in proportion to ``scores`` (largest remainder).

    Each segment gets the integer part of its quota ``n_staff · s_i / Σ s``;
    the people left go to the largest fractional parts, ties to the lowest
    index.  The total is always exactly ``n_staff``.

    Parameters
    ----------
    scores : (k,) array of float >= 0
        Demand per segment (e.g. weighted violations).
    n_staff : int
        People to allocate.

    Returns
    -------
    (k,) int64 array summing to ``n_staff``.

    Examples
    --------
    >>> allocate_staff([10, 10, 10], 4).tolist()
    [2, 1, 1]
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    if isinstance(n_staff, bool) or not isinstance(n_staff, (int, np.integer)) or n_staff < 0:
        raise PostPlanningError(f"n_staff must be an integer >= 0, got {n_staff!r}")
    n = int(n_staff)
    if s.size == 0:
        if n:
            raise PostPlanningError(f"cannot allocate {n} staff to zero segments")
        return np.zeros(0, dtype=np.int64)
    bad = ~np.isfinite(s) | (s < 0)
    if bad.any():
        raise PostPlanningError(
            f"scores must be finite and >= 0; {int(bad.sum())} are not (first at index {int(np.flatnonzero(bad)[0])})"
        )
    total = s.sum()
    if n == 0:
        return np.zeros(s.size, dtype=np.int64)
    if total <= 0:
        raise PostPlanningError("all scores are 0: there is nothing to allocate staff by")
    quota = s * (n / total)
    base = np.floor(quota).astype(np.int64)
    base = np.minimum(base, n)
    left = n - int(base.sum())
    if left < 0:  # float rounding can only overshoot by a hair: take back from the smallest remainders
        frac = quota - base
        order = np.lexsort((-np.arange(s.size), frac))
        take = order[base[order] > 0][:-left]
        base[take] -= 1
        left = n - int(base.sum())
    frac = quota - base
    order = np.lexsort((np.arange(s.size), -frac))
    base[order[:left]] += 1
    return base
