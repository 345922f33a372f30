"""The standard-address gazetteer (标准地址库) of the sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo.errors import SettingsError
from geo.synthetic.sample.contract import random_streams
from geo.synthetic.sample.geography import Geography, Prep, locate, prepare


# --------------------------------------------------------------------------- #
# gazetteer
# --------------------------------------------------------------------------- #
def build_gazetteer(geography: Geography, *, seed: int = 1, spacing_m: tuple[float, float] = (30.0, 60.0),
                    setback_m: float = 12.0) -> pd.DataFrame:
    """The standard-address gazetteer (标准地址库) of the named roads.

    House numbers run along each named road from the end nearer the city
    centre (Tiananmen), odd numbers on the left, even on the right, one every
    ``spacing_m`` metres, each ``setback_m`` from the centre line.

    Returns
    -------
    pandas.DataFrame
        The contract columns (地址编码 … 社区, coordinates as floats) plus
        ``number`` (int) and ``x``/``y`` (local metres, internal).
    """
    return gazetteer(prepare(geography), random_streams(seed)["gaz"],
                      spacing_m, setback_m)


def gazetteer(p: Prep, rng: np.random.Generator, spacing_m: tuple[float, float] = (30.0, 60.0),
               setback_m: float = 12.0) -> pd.DataFrame:
    geo = p.geo
    roads = geo.roads
    names = roads["name"].fillna("").astype(str).to_numpy() if "name" in roads.columns else \
        np.full(len(roads), "")
    lines_m = p.loc.geom_fwd(roads.geometry.values)
    ref = np.array(p.loc.fwd(116.3975, 39.9087))  # Tiananmen: numbering starts at the nearer end
    rows_x, rows_y, rows_road, rows_no = [], [], [], []
    for name in sorted(set(names) - {""}):  # loop over road names (hundreds), vectorised along each
        merged = shapely.line_merge(shapely.union_all(lines_m[names == name]))
        parts = list(shapely.get_parts(merged))
        parts = [shapely.reverse(g) if np.hypot(*(np.array(g.coords[0]) - ref)) >
                 np.hypot(*(np.array(g.coords[-1]) - ref)) else g for g in parts]
        parts.sort(key=lambda g: float(np.hypot(*(np.array(g.coords[0]) - ref))))
        nos = [1, 2]
        for g in parts:
            L = g.length
            for side, sign in ((0, 1.0), (1, -1.0)):
                k = int(L / spacing_m[0]) + 2
                pos = rng.uniform(8, 25) + np.cumsum(np.r_[0, rng.uniform(*spacing_m, k)])
                pos = pos[pos < L - 5]
                if not len(pos):
                    continue
                pa = shapely.get_coordinates(shapely.line_interpolate_point(g, np.maximum(pos - 1, 0)))
                pb = shapely.get_coordinates(shapely.line_interpolate_point(g, np.minimum(pos + 1, L)))
                pt = shapely.get_coordinates(shapely.line_interpolate_point(g, pos))
                d = pb - pa
                d /= np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
                rows_x.append(pt[:, 0] - sign * setback_m * d[:, 1])
                rows_y.append(pt[:, 1] + sign * setback_m * d[:, 0])
                rows_road.append(np.full(len(pos), name, dtype=object))
                rows_no.append(nos[side] + 2 * np.arange(len(pos)))
                nos[side] += 2 * len(pos)
    if not rows_x:
        raise SettingsError("roads have no names: the gazetteer needs named roads (column 'name')")
    x, y = np.concatenate(rows_x), np.concatenate(rows_y)
    road = np.concatenate(rows_road)
    no = np.concatenate(rows_no).astype(np.int64)
    inside = shapely.contains_xy(p.area_m, x, y)
    x, y, road, no = x[inside], y[inside], road[inside], no[inside]
    lon, lat = p.loc.inv(x, y)
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    sm = locate(p.small.geometry.values, lon, lat)
    order = np.lexsort((no, road))
    x, y, road, no, lon, lat, sm = (a[order] for a in (x, y, road, no, lon, lat, sm))
    street_code = p.small_street_code[sm]
    seq = _group_seq(street_code)
    df = pd.DataFrame({
        "地址编码": [f"{s}{q:06d}" for s, q in zip(street_code, seq, strict=True)],
        "标准地址": road + pd.Series(no).astype(str).to_numpy(dtype=object) + "号",
        "道路": road,
        "门牌号": pd.Series(no).astype(str).to_numpy(dtype=object) + "号",
        "经度": lon, "纬度": lat,
        "街道": p.small_street[sm], "社区": p.small_community[sm],
        "number": no, "x": x, "y": y,
    })
    return df


def _group_seq(keys: np.ndarray) -> np.ndarray:
    """1-based running number of each row within its key (rows in their current order)."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    start = np.r_[True, k[1:] != k[:-1]]
    grp_start = np.maximum.accumulate(np.where(start, np.arange(len(k)), 0))
    seq = np.empty(len(k), np.int64)
    seq[order] = np.arange(len(k)) - grp_start + 1
    return seq
