"""Seeded synthetic street network shaped like an OpenStreetMap extract (SYNTHETIC roads).

No open road data for central Beijing could be obtained for the project, so the
sample workspace ships an invented network with the structure of an old Chinese
city centre: a slightly irregular grid of main roads about ``main_spacing_m``
apart (plus one diagonal avenue), secondary roads halfway between them (some
stretches missing, one curved street), branch roads inside the blocks, and
short east-west hutong alleys (胡同, many of them dead ends) in the blocks of a
few "old quarters".  Every name is obviously invented (``样例…``) and must never
be mistaken for a real road.

The output has the form of an OSM extract exported to GeoJSON: one LineString
per way, ``road_id`` (an integer like an OSM way id), ``name`` ("" when the way
has none), ``highway`` (OSM values) and our ``class``:

======== ==================== ============================================
class    highway              names
======== ==================== ============================================
main     primary              样例东西一路…, 样例南北一大街…, 样例斜大街
secondary secondary           样例横一街…, 样例纵一街…, 样例弯街
branch   tertiary/residential 样例支一路…
alley    service/footway      样例一胡同… (some alleys unnamed)
======== ==================== ============================================

As in OSM, ways that cross share a vertex at the crossing (all ways are noded
together on a ``grid_size`` lattice), and a road interrupted by a gap or by the
study-area border is split into several ways with the same name.

Examples
--------
>>> import shapely
>>> from geo.synthetic.roads import street_network
>>> roads = street_network(shapely.box(116.35, 39.90, 116.37, 39.92), seed=1)
>>> sorted(roads["class"].unique())
['alley', 'branch', 'main', 'secondary']
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.ops import split

from geo.grid.roads import node_lines
from geo.synthetic.grids import check_area, reproject

__all__ = ["ROAD_CLASSES", "street_network"]

#: Road classes, most important first (as used by :mod:`geo.grid.roads`).
ROAD_CLASSES: tuple[str, ...] = ("main", "secondary", "branch", "alley")

GeomArray = NDArray[np.object_]

_DIGITS = "零一二三四五六七八九"


def _cn_number(n: int) -> str:
    """Chinese numeral for 1 <= n <= 9999 (一, 十二, 二十, 一百零五, ...)."""
    if not 1 <= n <= 9999:
        raise ValueError(f"n must be in 1..9999, got {n}")
    units = ["", "十", "百", "千"]
    digits = [int(c) for c in str(n)]
    out = ""
    zero = False
    for i, d in enumerate(digits):
        p = len(digits) - 1 - i
        if d == 0:
            zero = True
            continue
        if zero and out:
            out += "零"
        zero = False
        out += _DIGITS[d] + units[p]
    if 10 <= n <= 19:
        out = out[1:]  # 十二, not 一十二
    return out


def _wobbly(p0: float, lo: float, hi: float, axis: int, amp: float, tilt: float,
            wavelength: float, phase: float, step: float = 200.0) -> shapely.LineString:
    """A long, slightly tilted and waving line at ``p0`` across [lo, hi] (axis 0 = east-west)."""
    t = np.arange(lo, hi + step, step)
    off = p0 + tilt * (t - t.mean()) + amp * np.sin(2 * np.pi * t / wavelength + phase)
    xy = np.column_stack([t, off]) if axis == 0 else np.column_stack([off, t])
    return shapely.LineString(xy)


def _positions(lo: float, hi: float, half_step: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Positions lo < p < hi about ``half_step`` apart (±15 %), random start."""
    n = int((hi - lo) / half_step) + 3
    steps = half_step * rng.uniform(0.85, 1.15, n)
    p = lo + rng.uniform(0.3, 1.0) * half_step + np.concatenate([[0.0], np.cumsum(steps[:-1])])
    return p[p < hi]


def _trim_between_crossings(line: shapely.LineString, others: shapely.Geometry,
                            length: float, rng: np.random.Generator | None) -> shapely.LineString | None:
    """A stretch of ``line`` about ``length`` long that starts and ends at crossings.

    Starts at a random crossing, or at the first one when ``rng`` is None.
    """
    pts = shapely.get_parts(shapely.intersection(line, others))
    pts = pts[shapely.get_type_id(pts) == 0]
    if pts.size < 2:
        return None
    d = np.sort(shapely.line_locate_point(line, pts))
    i = 0 if rng is None else int(rng.integers(0, max(1, d.size - 1)))
    j = int(np.searchsorted(d, d[i] + length))
    j = min(max(j, i + 1), d.size - 1)
    return shapely.ops.substring(line, d[i], d[j])


def _blocks(lines: GeomArray, area: shapely.Geometry, min_m2: float) -> GeomArray:
    """Faces of the road network inside the area (the city blocks)."""
    noded = shapely.union_all(np.append(lines, np.array([area.boundary], dtype=object)))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    inside = shapely.contains(area, shapely.point_on_surface(faces))
    faces = faces[inside & (shapely.area(faces) >= min_m2)]
    return faces


def _part_nearest(lines: GeomArray, anchors: GeomArray, min_len: float) -> tuple[GeomArray, NDArray[np.int64]]:
    """For each clipped line keep its part nearest the anchor point (if long enough)."""
    parts, idx = shapely.get_parts(lines, return_index=True)
    ok = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) >= min_len)
    parts, idx = parts[ok], idx[ok]
    d = shapely.distance(parts, anchors[idx])
    order = np.lexsort((d, idx))
    first = np.ones(order.size, dtype=bool)
    first[1:] = idx[order][1:] != idx[order][:-1]
    sel = order[first]
    return parts[sel], idx[sel]


def _skeleton(area_m: shapely.Geometry, rng: np.random.Generator,
              spacing: float) -> tuple[list[shapely.Geometry], list[str], list[str]]:
    """Main and secondary roads (long lines, not yet clipped)."""
    minx, miny, maxx, maxy = area_m.bounds
    pad = 400.0
    geoms: list[shapely.Geometry] = []
    names: list[str] = []
    classes: list[str] = []
    mains: list[shapely.Geometry] = []
    for axis, (lo, hi, across_lo, across_hi) in enumerate(
            [(miny, maxy, minx - pad, maxx + pad), (minx, maxx, miny - pad, maxy + pad)]):
        pos = _positions(lo - spacing / 2, hi + spacing / 2, spacing / 2, rng)
        if axis == 0:
            pos = pos[::-1]  # east-west roads numbered north to south
        is_main = (np.arange(pos.size) % 2) == int(rng.integers(0, 2))
        for p, m in zip(pos, is_main, strict=True):
            amp = rng.uniform(0, 30 if m else 18)
            line = _wobbly(p, across_lo, across_hi, axis, amp, rng.uniform(-0.008, 0.008),
                           rng.uniform(2500, 6000), rng.uniform(0, 2 * np.pi))
            # "{}" is numbered later, counting only the roads that reach the area
            if m:
                name = "样例东西{}路" if axis == 0 else "样例南北{}大街"
                mains.append(line)
            else:
                name = "样例横{}街" if axis == 0 else "样例纵{}街"
            geoms.append(line)
            names.append(name)
            classes.append("main" if m else "secondary")
    # secondary roads are interrupted between some main-road crossings
    main_union = shapely.union_all(mains)
    kept_geoms: list[shapely.Geometry] = []
    kept_names: list[str] = []
    kept_classes: list[str] = []
    names = [f"{n}#{i:04d}" for i, n in enumerate(names)]  # keep each line's identity
    for g, n, c in zip(geoms, names, classes, strict=True):
        if c == "main":
            kept_geoms.append(g)
            kept_names.append(n)
            kept_classes.append(c)
            continue
        pieces = list(split(g, main_union).geoms)
        keep = rng.random(len(pieces)) >= 0.25
        # runs of kept pieces become one way each
        run_id = np.cumsum(np.concatenate([[True], keep[1:] != keep[:-1]]))
        for r in np.unique(run_id[keep]):
            merged = shapely.line_merge(shapely.MultiLineString(
                [pieces[i] for i in np.flatnonzero(run_id == r)]))
            kept_geoms.append(merged)
            kept_names.append(n)
            kept_classes.append(c)
    # one diagonal avenue and one curved street, each ending at crossings
    cx, cy = area_m.centroid.x, area_m.centroid.y
    ang = np.deg2rad(rng.choice([-1, 1]) * rng.uniform(28, 42))
    ox, oy = cx + rng.uniform(-800, 800), cy + rng.uniform(-1500, 1500)
    r = 1.5 * max(maxx - minx, maxy - miny)
    diag = shapely.LineString([(ox - r * np.cos(ang), oy - r * np.sin(ang)),
                               (ox + r * np.cos(ang), oy + r * np.sin(ang))])
    grid_union = shapely.union_all(kept_geoms)
    diag = _trim_between_crossings(diag, main_union, rng.uniform(2500, 3500), rng)
    if diag is not None:
        kept_geoms.append(diag)
        kept_names.append("样例斜大街")
        kept_classes.append("main")
    acx, acy = cx + rng.uniform(-1500, 1500), cy + rng.uniform(-2500, 2500)
    rad = rng.uniform(300, 450)
    th = np.deg2rad(rng.uniform(0, 360) + np.linspace(0, 220, 45))
    arc = shapely.LineString(np.column_stack([acx + rad * np.cos(th), acy + rad * np.sin(th)]))
    arc = _trim_between_crossings(arc, grid_union, 2 * np.pi * rad, None)
    if arc is not None:
        kept_geoms.append(arc)
        kept_names.append("样例弯街")
        kept_classes.append("secondary")
    return kept_geoms, kept_names, kept_classes


def _number_names(keys: NDArray[np.object_]) -> NDArray[np.object_]:
    """Turn "template#line" keys into names, numbering each template's lines 1, 2, ... in order."""
    k = pd.Series(keys, dtype=object)
    parts = k.str.split("#", n=1, expand=True)
    template = parts[0]
    line = parts[1].fillna("")
    rank = (pd.DataFrame({"t": template, "l": line}).drop_duplicates()
            .assign(r=lambda d: d.groupby("t").cumcount() + 1))
    r = pd.merge(pd.DataFrame({"t": template, "l": line}), rank, on=["t", "l"], how="left")["r"]
    out = [t.format(_cn_number(int(n))) if "{}" in t else t for t, n in zip(template, r, strict=True)]
    return np.array(out, dtype=object)


def _branches(blocks: GeomArray, rng: np.random.Generator, spacing: float) -> GeomArray:
    """Branch roads across blocks, perpendicular to each block's longer side."""
    b = shapely.bounds(blocks)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    k = np.clip(np.rint(np.maximum(w, h) / (spacing / 4)) - 1, 0, 3).astype(np.int64)
    k[rng.random(blocks.size) < 0.2] = 0
    bi = np.repeat(np.arange(blocks.size), k)
    j = np.concatenate([np.arange(n) for n in k]) if bi.size else np.zeros(0, dtype=np.int64)
    t = (j + 1) / (k[bi] + 1) + rng.uniform(-0.08, 0.08, bi.size)
    tilt = rng.uniform(-0.06, 0.06, bi.size)
    ns = w[bi] >= h[bi]                               # wide block: branch runs north-south
    x0, y0, x1, y1 = b[bi, 0], b[bi, 1], b[bi, 2], b[bi, 3]
    px = np.where(ns, x0 + t * w[bi], (x0 + x1) / 2)
    py = np.where(ns, (y0 + y1) / 2, y0 + t * h[bi])
    half = np.maximum(w[bi], h[bi])
    dx = np.where(ns, tilt * half, half)
    dy = np.where(ns, half, tilt * half)
    coords = np.stack([np.column_stack([px - dx, py - dy]), np.column_stack([px + dx, py + dy])], axis=1)
    lines = shapely.linestrings(coords)
    clipped = shapely.intersection(lines, blocks[bi])
    parts, _ = _part_nearest(clipped, shapely.points(px, py), min_len=80.0)
    return parts


def _alleys(subblocks: GeomArray, area_m: shapely.Geometry, rng: np.random.Generator,
            hutong_share: float) -> GeomArray:
    """East-west hutong alleys in the sub-blocks of a few old quarters; many are dead ends."""
    if subblocks.size == 0:
        return np.zeros(0, dtype=object)
    minx, miny, maxx, maxy = area_m.bounds
    # old quarters: a few random centres; alleys are likely near them, rare elsewhere
    centres = np.column_stack([rng.uniform(minx, maxx, 3), rng.uniform(miny, maxy, 3)])
    c = shapely.get_coordinates(shapely.centroid(subblocks))
    near = np.min(np.hypot(c[:, None, 0] - centres[:, 0], c[:, None, 1] - centres[:, 1]), axis=1)
    p = np.where(near < 1800, hutong_share * 2.0, hutong_share * 0.3)
    b = shapely.bounds(subblocks)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    chosen = np.flatnonzero((rng.random(subblocks.size) < p) & (w >= 120) & (h >= 120))
    n = np.floor((h[chosen] - 70) / 70).astype(np.int64) + 1
    si = np.repeat(chosen, n)
    j = np.concatenate([np.arange(m) for m in n]) if si.size else np.zeros(0, dtype=np.int64)
    gap = (h[si] - 70) / np.maximum(n[np.searchsorted(chosen, si)], 1)
    y = b[si, 1] + 35 + (j + 0.5) * gap + rng.uniform(-8, 8, si.size)
    x0, x1 = b[si, 0] - 10, b[si, 2] + 10
    lines = shapely.linestrings(np.stack([np.column_stack([x0, y]), np.column_stack([x1, y])], axis=1))
    clipped = shapely.intersection(lines, subblocks[si])
    parts, idx = _part_nearest(clipped, shapely.centroid(subblocks[si]), min_len=60.0)
    a = shapely.get_coordinates(shapely.get_point(parts, 0))    # straight lines: ends suffice
    z = shapely.get_coordinates(shapely.get_point(parts, -1))
    # dead ends: keep 40-80 % from the west or from the east end
    dead = rng.random(parts.size) < 0.55
    f = rng.uniform(0.4, 0.8, parts.size)
    from_east = rng.random(parts.size) < 0.5
    start = np.where(from_east[:, None], z, a)
    end = np.where(from_east[:, None], a, z)
    end = np.where(dead[:, None], start + f[:, None] * (end - start), end)
    # a slight kink in some alleys (a vertex moved a few metres north or south)
    mid = (start + end) / 2
    mid[:, 1] += np.where(rng.random(parts.size) < 0.35, rng.uniform(-6, 6, parts.size), 0.0)
    return shapely.linestrings(np.stack([start, mid, end], axis=1))


def _node_and_attribute(geoms: GeomArray, grid_size: float) -> tuple[GeomArray, NDArray[np.int64]]:
    """Node all ways together (snap-rounded to ``grid_size``); return the ways and their source.

    The noded pieces of one source line are merged back into ways, which now
    carry a vertex at every crossing.
    """
    pieces, owner = node_lines(geoms, grid_size)
    order = np.argsort(owner, kind="stable")
    pieces, owner = pieces[order], owner[order]
    uniq = np.unique(owner)
    merged = shapely.line_merge(shapely.multilinestrings(pieces, indices=np.searchsorted(uniq, owner)))
    parts, k = shapely.get_parts(merged, return_index=True)
    return parts, uniq[k]


def street_network(
    area: shapely.Polygon | shapely.MultiPolygon,
    seed: int = 20240101,
    metric_crs: str = "EPSG:4548",
    *,
    main_spacing_m: float = 1000.0,
    hutong_share: float = 0.3,
    grid_size: float = 1e-6,
) -> gpd.GeoDataFrame:
    """Seeded synthetic street network inside a study area, in OSM-extract form.

    Parameters
    ----------
    area : shapely.Polygon or MultiPolygon
        Study area in WGS84 lon/lat; roads are clipped to it.
    seed : int
        Seed; same seed, same network.
    metric_crs : str, default "EPSG:4548"
        Projected CRS in metres the network is laid out in.
    main_spacing_m : float, default 1000
        Typical distance between parallel main roads; secondary roads run
        halfway, branch roads split blocks about a quarter of it wide.
    hutong_share : float, default 0.3
        Rough share of small blocks with alleys near the "old quarters"
        (0 = no alleys).
    grid_size : float, default 1e-6
        Lattice (degrees) the output vertices are rounded to (after noding on a
        1 cm lattice in ``metric_crs``).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 LineStrings, columns ``road_id`` (int64, 100001...), ``name``,
        ``highway``, ``class``, ``geometry``; sorted by class (main first), name,
        then position.  Ways that cross share a vertex at the crossing.
    """
    area = check_area(area)
    if not main_spacing_m > 0:
        raise ValueError(f"main_spacing_m must be > 0 metres, got {main_spacing_m!r}")
    if not 0 <= hutong_share <= 0.5:
        raise ValueError(f"hutong_share must be between 0 and 0.5, got {hutong_share!r}")
    rng = np.random.default_rng(seed)
    area_m = reproject(np.array([area], dtype=object), "EPSG:4326", metric_crs)[0]

    geoms, names, classes = _skeleton(area_m, rng, main_spacing_m)
    skel = np.array(geoms, dtype=object)
    clipped = shapely.intersection(skel, area_m)
    parts, idx = shapely.get_parts(clipped, return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 1.0)
    parts, idx = parts[keep], idx[keep]
    name_arr = _number_names(np.array(names, dtype=object)[idx])
    class_arr = np.array(classes, dtype=object)[idx]

    blocks = _blocks(parts, area_m, min_m2=20_000)
    branch = _branches(blocks, rng, main_spacing_m)
    sub = _blocks(np.concatenate([parts, branch]), area_m, min_m2=14_000)
    alley = _alleys(sub, area_m, rng, hutong_share)

    n_b, n_a = branch.size, alley.size
    branch_names = np.array([f"样例支{_cn_number(i + 1)}路" for i in range(n_b)], dtype=object)
    alley_named = rng.random(n_a) >= 0.15
    alley_names = np.array([f"样例{_cn_number(i + 1)}胡同" for i in range(n_a)], dtype=object)
    alley_names[~alley_named] = ""
    all_geoms = np.concatenate([parts, branch, alley])
    all_names = np.concatenate([name_arr, branch_names, alley_names])
    all_class = np.concatenate([class_arr, np.full(n_b, "branch", dtype=object),
                                np.full(n_a, "alley", dtype=object)])
    highway = np.select(
        [all_class == "main", all_class == "secondary", all_class == "branch"],
        ["primary", "secondary", "residential"], default="service").astype(object)
    highway[(all_class == "branch") & (shapely.length(all_geoms) > 600)] = "tertiary"
    foot = (all_class == "alley") & (rng.random(all_geoms.size) < 0.4)
    highway[foot] = "footway"

    # node in metres (1 cm lattice): crossings become shared vertices; projecting and
    # rounding then map a shared vertex to the same lon/lat in every way
    ways_m, src = _node_and_attribute(all_geoms, 0.01)
    ways = reproject(ways_m, metric_crs, "EPSG:4326")
    ways = shapely.remove_repeated_points(shapely.set_precision(ways, grid_size, mode="pointwise"))
    ok = shapely.get_num_coordinates(ways) >= 2
    ways, src = ways[ok], src[ok]
    start = shapely.get_coordinates(shapely.get_point(ways, 0))
    df = pd.DataFrame({
        "name": all_names[src], "highway": highway[src], "class": all_class[src],
        "_rank": pd.Categorical(all_class[src], categories=ROAD_CLASSES).codes, "_src": src,
        "_y": -start[:, 1], "_x": start[:, 0], "geometry": ways,
    })
    # class, then the order roads were laid out (numbered names stay in order), then position
    df = df.sort_values(["_rank", "_src", "_y", "_x"], kind="stable").reset_index(drop=True)
    df.insert(0, "road_id", np.arange(100001, 100001 + len(df), dtype=np.int64))
    return gpd.GeoDataFrame(df.drop(columns=["_rank", "_src", "_y", "_x"]), geometry="geometry",
                            crs="EPSG:4326")
