"""Background and planted events of each source, as arrays of times, places and categories."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from geo.synthetic.sample.contract import BASE_COUNTS
from geo.synthetic.sample.geography import Prep, nearest_seg, node_points, road_points
from geo.synthetic.sample.plan import HOT_NODE_SIGMA_M
from geo.synthetic.sample.timing import Period, draw_background, sample_hours
from geo.synthetic.sample.vocabulary import (
    CAT_INDEX,
    CLASS_W,
    DOW,
    H_HOTLINE_WD,
    H_HOTLINE_WE,
    H_MONTHLY,
    H_NIGHTLY,
    H_PARKING,
    H_SNAP_WD,
    H_SNAP_WE,
    H_VIOL_WD,
    H_VIOL_WE,
    H_WEEKLY,
    NODE_POWER,
    SHARES,
)


# --------------------------------------------------------------------------- #
# events
# --------------------------------------------------------------------------- #
def _empty_core() -> dict[str, np.ndarray]:
    return {"t": np.empty(0, np.int64), "x": np.empty(0), "y": np.empty(0), "cat": np.empty(0, np.int16),
            "seg": np.empty(0, np.int64), "node": np.empty(0, np.int64), "mode": np.empty(0, np.int8),
            "hot": np.empty(0, np.int16)}


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = [q for q in parts if len(q["t"])]
    if not parts:
        return _empty_core()
    return {k: np.concatenate([q[k] for q in parts]) for k in parts[0]}


def take_rows(a: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in a.items()}


def _core(t: np.ndarray, x: np.ndarray, y: np.ndarray, cat: np.ndarray, seg: np.ndarray | None = None,
          node: np.ndarray | None = None, mode: int | np.ndarray = 0, hot: int = -1) -> dict[str, np.ndarray]:
    n = len(t)
    return {"t": t.astype(np.int64), "x": x, "y": y, "cat": cat.astype(np.int16),
            "seg": seg.astype(np.int64) if seg is not None else np.full(n, -1, np.int64),
            "node": node.astype(np.int64) if node is not None else np.full(n, -1, np.int64),
            "mode": np.broadcast_to(np.asarray(mode, np.int8), (n,)).copy(),
            "hot": np.full(n, hot, np.int16)}


def event_count(source: str, per: Period, scale: float) -> int:
    return int(round(BASE_COUNTS[source] * scale * per.n_days / 184.0))


def background_patrol(p: Prep, per: Period, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    parts = []
    n_night, n_week = int(round(.7 * n)), int(round(.2 * n))
    n_month = n - n_night - n_week
    # 每日一巡: every night
    cat, day = draw_background(rng, per, n_night, SHARES["patrol_nightly"], DOW["patrol"])
    sod = sample_hours(rng, np.zeros(len(day), bool), H_NIGHTLY, H_NIGHTLY)
    x, y, seg = road_points(p, rng, len(day), CLASS_W["patrol"])
    parts.append(_core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg, mode=0))
    # 每周一查: one weekday (Tue–Thu) per week, daytime
    week = np.arange(per.n_days) // 7
    pick_dow = rng.integers(1, 4, week.max() + 1)
    mask = (per.dow == pick_dow[week]).astype(float)
    if mask.sum() == 0:
        mask = (per.dow < 5).astype(float)
    cat, day = draw_background(rng, per, n_week, SHARES["patrol_weekly"], DOW["patrol"], mask)
    sod = sample_hours(rng, np.zeros(len(day), bool), H_WEEKLY, H_WEEKLY)
    x, y, seg = road_points(p, rng, len(day), CLASS_W["patrol_weekly"])
    parts.append(_core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg, mode=1))
    # 每月一罚: one weekday in the middle of each month, 14:00–17:00
    mon = (per.start + np.arange(per.n_days)).astype("datetime64[M]").astype(np.int64)  # month key
    mkeys = np.unique(mon)
    mask = np.zeros(per.n_days)
    for mk in mkeys:  # loop over months (≤ a few dozen), not rows
        days = np.flatnonzero((mon == mk) & (per.dow < 5))
        if len(days):
            mask[days[min(len(days) - 1, 8 + int(rng.integers(0, 5)))]] = 1.0
    if mask.sum() == 0:
        mask[:] = 1.0
    cat, day = draw_background(rng, per, n_month, SHARES["patrol_monthly"], DOW["patrol"], mask)
    sod = sample_hours(rng, np.zeros(len(day), bool), H_MONTHLY, H_MONTHLY)
    x, y, seg = road_points(p, rng, len(day), CLASS_W["patrol"])
    parts.append(_core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg, mode=2))
    return concat(parts)


def background_simple(p: Prep, per: Period, rng: np.random.Generator, n: int, source: str
                       ) -> dict[str, np.ndarray]:
    cat, day = draw_background(rng, per, n, SHARES[source], DOW[source])
    weekend = per.dow[day] >= 5
    if source == "hotline":
        sod = sample_hours(rng, weekend, H_HOTLINE_WD, H_HOTLINE_WE)
        x, y, seg = road_points(p, rng, n, CLASS_W["hotline"])
        return _core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg)
    if source == "snapshot":
        sod = sample_hours(rng, weekend, H_SNAP_WD, H_SNAP_WE)
        x, y, seg = road_points(p, rng, n, CLASS_W["snapshot"])
        return _core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg)
    # violations: moving offences at intersections with peaks, parking along roads
    parking = cat == CAT_INDEX["illegal_parking"]
    sod = np.empty(n, np.int64)
    sod[~parking] = sample_hours(rng, weekend[~parking], H_VIOL_WD, H_VIOL_WE)
    sod[parking] = sample_hours(rng, weekend[parking], H_PARKING, H_PARKING)
    x, y = np.empty(n), np.empty(n)
    seg, node = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    at_node = ~parking & (rng.random(n) < .85)
    k = int(at_node.sum())
    # cameras and posts sit at the busy crossings: weight grows with the square of importance
    x[at_node], y[at_node], node[at_node] = node_points(p, rng, k, node_p=p.nweight ** NODE_POWER)
    on_road = ~at_node
    x[on_road], y[on_road], seg[on_road] = road_points(p, rng, int(on_road.sum()), CLASS_W["violation_road"])
    return _core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg, node=node)


def _window_mask(t: np.ndarray, per: Period, h: dict[str, Any], hours_only: bool = False) -> np.ndarray:
    """Events inside the hotspot's days, planted hours and date span."""
    day = (t - per.t0) // 86400
    sod = (t - per.t0) % 86400
    h0, h1 = h["_hours"]
    m = (sod >= h0 * 3600) & (sod < h1 * 3600) & (day >= h["_d0"]) & (day < h["_d1"])
    if not hours_only:
        m &= np.isin(per.dow[np.clip(day, 0, per.n_days - 1)], h["days"])
    return m


def plant(p: Prep, per: Period, rng: np.random.Generator, h: dict[str, Any], hi: int,
           bg: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Planted events of one hotspot; records counts and cells in ``h``."""
    from geo.grid.h3cells import cells_for_points, cells_to_hex

    inwin = _window_mask(bg["t"], per, h)
    bx, by = bg["x"][inwin], bg["y"][inwin]
    R = float(h["radius_m"])
    base = float(np.sum(np.hypot(bx - h["_x"], by - h["_y"]) <= R))
    # floor: half the district's mean density over the footprint, so a quiet spot still shows
    floor = 0.5 * inwin.sum() / p.area_km2 * math.pi * R * R / 1e6
    base = max(base, floor, 1.0)
    days = np.arange(h["_d0"], h["_d1"])
    days = days[np.isin(per.dow[days], h["days"])]
    m0, m1 = h["multiplier_start"], h["multiplier_end"]
    frac = (days - h["_d0"] + .5) / max(h["_d1"] - h["_d0"], 1)
    excess = np.maximum(m0 + (m1 - m0) * frac - 1.0, 0.0)
    n = int(round(base * excess.mean())) if len(days) else 0
    h["background_in_window"] = int(round(base))
    h["planted"] = n
    if n == 0:
        h["cells"], h["cell_shares"] = [], []
        return _empty_core()
    day = rng.choice(days, size=n, p=excess / excess.sum())
    h0, h1 = h["_hours"]
    sod = rng.integers(h0 * 3600, h1 * 3600, n)
    cats = list(h["category_shares"])
    pr = np.array([h["category_shares"][c] for c in cats])
    cat = np.array([CAT_INDEX[c] for c in cats], np.int16)[rng.choice(len(cats), size=n, p=pr / pr.sum())]
    at_node = np.zeros(n, bool)
    if h["footprint"] == "intersection":  # half in the crossing itself, half on its approaches
        at_node[: n // 2] = True
        class_w = CLASS_W["violation_road"]
    else:
        class_w = (1.0, 1.0, 1.0, 1.0)
    k_road = int((~at_node).sum())
    mx, my = (p.sx0 + p.sx1) / 2, (p.sy0 + p.sy1) / 2
    segmask = np.hypot(mx - h["_x"], my - h["_y"]) <= R + 100
    xs, ys, ss = [], [], []
    got = 0
    for _ in range(50):  # rejection sampling to the disc; a few rounds
        if got >= k_road:
            break
        x_, y_, s_ = road_points(p, rng, max(2 * (k_road - got), 16), class_w, segmask)
        keep = np.hypot(x_ - h["_x"], y_ - h["_y"]) <= R
        xs.append(x_[keep]), ys.append(y_[keep]), ss.append(s_[keep])
        got += int(keep.sum())
    xr = np.concatenate(xs)[:k_road] if xs else np.empty(0)
    yr = np.concatenate(ys)[:k_road] if ys else np.empty(0)
    sr = np.concatenate(ss)[:k_road] if ss else np.empty(0, np.int64)
    if len(xr) < k_road:  # pathological geometry: scatter round the centre
        k = k_road - len(xr)
        xr = np.r_[xr, h["_x"] + rng.normal(0, R / 2, k)]
        yr = np.r_[yr, h["_y"] + rng.normal(0, R / 2, k)]
        sr = np.r_[sr, nearest_seg(p, xr[-k:], yr[-k:])]
    x, y = np.empty(n), np.empty(n)
    seg, node = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    x[~at_node], y[~at_node], seg[~at_node] = xr, yr, sr
    k_node = int(at_node.sum())
    if k_node:
        x[at_node] = h["_x"] + rng.normal(0, HOT_NODE_SIGMA_M, k_node)
        y[at_node] = h["_y"] + rng.normal(0, HOT_NODE_SIGMA_M, k_node)
        node[at_node] = int(np.flatnonzero(p.nid == h["node_id"])[0])
    cells = cells_for_points(*p.loc.inv(x, y), 9)
    uniq, cnt = np.unique(cells, return_counts=True)
    order = np.argsort(-cnt, kind="stable")
    uniq, cnt = uniq[order], cnt[order]
    share = cnt / cnt.sum()
    keep = share >= 0.05
    h["cells"] = [str(c) for c in cells_to_hex(uniq[keep])]
    h["cell_shares"] = [round(float(s), 3) for s in share[keep]]
    order = rng.permutation(n)  # no link between the day drawn and the place
    return _core(per.t0 + day * 86400 + sod, x[order], y[order], cat, seg=seg[order], node=node[order],
                 mode=0, hot=hi)
