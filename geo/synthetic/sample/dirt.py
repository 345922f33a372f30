"""Defects written into the raw rows (bad times, coordinates, duplicates…), counted for truth.json."""

from __future__ import annotations

import numpy as np

from geo.synthetic.sample.contract import DIRT_CODE, DIRT_KINDS
from geo.synthetic.sample.events import take_rows
from geo.synthetic.sample.geography import Prep


# --------------------------------------------------------------------------- #
# dirt
# --------------------------------------------------------------------------- #
def dirt_counts(rates: dict[str, float], n: int) -> dict[str, int]:
    """Rows per dirt kind: rate × n, at least one of each kind once the file is big enough for that
    to stay within ~2.5 % (40 rows per kind); tiny files may lack some kinds."""
    counts = {k: int(round(r * n)) for k, r in rates.items()}
    if n >= 40 * len(rates):
        counts = {k: max(1, v) for k, v in counts.items()}
    return counts


def near_duplicates(a: dict[str, np.ndarray], rng: np.random.Generator, k: int) -> dict[str, np.ndarray]:
    """Copies of ``k`` rows ~5 m and 30–90 s away (new ids are given later); marked dirt."""
    n = len(a["t"])
    src = np.sort(rng.choice(n, size=min(k, n), replace=False))
    b = take_rows(a, src)
    b["t"] = b["t"] + rng.integers(30, 91, len(src))
    ang = rng.uniform(0, 2 * np.pi, len(src))
    r = rng.uniform(3, 7, len(src))
    b["x"] = b["x"] + r * np.cos(ang)
    b["y"] = b["y"] + r * np.sin(ang)
    b["dirt"] = np.full(len(src), DIRT_CODE["near_duplicate"], np.int8)
    a = dict(a)
    a["dirt"] = np.zeros(n, np.int8)
    out = {kk: np.concatenate([a[kk], b[kk]]) for kk in a}
    order = np.argsort(out["t"], kind="stable")
    return take_rows(out, order)


def assign_dirt(a: dict[str, np.ndarray], rng: np.random.Generator, counts: dict[str, int],
                 eligible: dict[str, np.ndarray] | None = None) -> None:
    """Give disjoint clean rows one in-place dirt kind each (``a['dirt']``) and a variant (``a['dvar']``)."""
    n = len(a["t"])
    a["dvar"] = rng.integers(0, 1 << 30, n).astype(np.int64)
    free = a["dirt"] == 0
    for kind in DIRT_KINDS:
        if kind in ("exact_duplicate", "near_duplicate") or kind not in counts:
            continue
        ok = free.copy()
        if eligible and kind in eligible:
            ok &= eligible[kind]
        cand = np.flatnonzero(ok)
        pick = rng.choice(cand, size=min(counts[kind], len(cand)), replace=False) if len(cand) else cand
        a["dirt"][pick] = DIRT_CODE[kind]
        free[pick] = False


def exact_duplicates(a: dict[str, np.ndarray], rng: np.random.Generator, k: int) -> dict[str, np.ndarray]:
    clean = np.flatnonzero(a["dirt"] == 0)
    src = np.sort(rng.choice(clean, size=min(k, len(clean)), replace=False))
    order = np.sort(np.concatenate([np.arange(len(a["t"])), src]), kind="stable")
    out = take_rows(a, order)
    dup = np.r_[False, order[1:] == order[:-1]]
    out["dirt"] = np.where(dup, np.int8(DIRT_CODE["exact_duplicate"]), out["dirt"])
    return out


def _outside_points(p: Prep, rng: np.random.Generator, x: np.ndarray, y: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Move points radially beyond the area's farthest vertex plus 1–5 km."""
    cx, cy = p.centroid
    dx, dy = x - cx, y - cy
    r = np.maximum(np.hypot(dx, dy), 1.0)
    R = p.max_radius_m + rng.uniform(1000, 5000, len(x))
    return cx + dx / r * R, cy + dy / r * R


def dirty_coords(p: Prep, a: dict[str, np.ndarray], rng: np.random.Generator, crs: str,
                  zero_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Output coordinates in the source CRS with coordinate dirt applied (NaN = empty)."""
    from geo.grid.crs import from_wgs84

    x, y = a["x"].copy(), a["y"].copy()
    out = a["dirt"] == DIRT_CODE["outside_area"]
    x[out], y[out] = _outside_points(p, rng, x[out], y[out])
    lon, lat = p.loc.inv(x, y)
    if crs != "CGCS2000":  # CGCS2000 = WGS84 to the cm: the numbers are written as they are
        lon, lat = from_wgs84(lon, lat, crs)
    lon, lat = np.asarray(lon, float).copy(), np.asarray(lat, float).copy()
    sw = a["dirt"] == DIRT_CODE["swapped_latlon"]
    lon[sw], lat[sw] = lat[sw].copy(), lon[sw].copy()
    miss = a["dirt"] == DIRT_CODE["missing_coords"]
    zero = miss & ((a["dvar"] % 2 == 0) | zero_only)
    lon[zero], lat[zero] = 0.0, 0.0
    lon[miss & ~zero], lat[miss & ~zero] = np.nan, np.nan
    return lon, lat


def dirt_summary(a: dict[str, np.ndarray]) -> dict[str, int]:
    codes, cnt = np.unique(a["dirt"][a["dirt"] > 0], return_counts=True)
    inv = {v: k for k, v in DIRT_CODE.items()}
    return {inv[int(c)]: int(k) for c, k in zip(codes, cnt, strict=True)}
