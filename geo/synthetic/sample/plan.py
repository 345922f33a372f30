"""Where and when the planted hotspots and the campaign are (the truth the analyses must find)."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from scipy.spatial import cKDTree

from geo.errors import SettingsError
from geo.settings import DEFAULT_WINDOWS
from geo.synthetic.sample.contract import FILES, random_streams
from geo.synthetic.sample.geography import Geography, Prep, locate, prepare
from geo.synthetic.sample.timing import Period, period
from geo.synthetic.sample.vocabulary import CLASS_W, CLASSES, NODE_POWER

# --------------------------------------------------------------------------- #
# hotspots and campaign
# --------------------------------------------------------------------------- #
_WINDOWS = {w.name: w for w in DEFAULT_WINDOWS}

# (id, kind, source, categories, window, planted hours, multiplier start/end, where, radius/sigma m, date span)
_HOTSPOT_PLAN: tuple[dict[str, Any], ...] = (
    dict(kind="steady", source="violation", categories={"red_light": .45, "wrong_way": .3, "motor_lane": .25},
         window="morning_peak", hours=(7, 9), mult=(7.0, 7.0), where="intersection", span=(0, 1)),
    dict(kind="steady", source="violation", categories={"red_light": .4, "wrong_way": .35, "motor_lane": .25},
         window="morning_peak", hours=(7, 9), mult=(6.0, 6.0), where="intersection", span=(0, 1)),
    dict(kind="steady", source="violation", categories={"wrong_way": .5, "motor_lane": .3, "red_light": .2},
         window="morning_peak", hours=(7, 9), mult=(7.0, 7.0), where="intersection", span=(0, 1)),
    dict(kind="emerging", source="violation", categories={"red_light": .5, "motor_lane": .5},
         window="evening_peak", hours=(17, 19), mult=(1.0, 8.0), where="intersection", span=(1 / 3, 1)),
    dict(kind="steady", source="patrol", categories={"etricycle": 1.0},
         window="night", hours=(19, 23), mult=(4.0, 4.0), where="alley", span=(0, 1)),
    dict(kind="emerging", source="patrol", categories={"etricycle": .7, "battery_charging": .3},
         window="night", hours=(19, 23), mult=(1.0, 7.0), where="alley", span=(1 / 3, 1)),
    dict(kind="fading", source="patrol", categories={"zombie_vehicle": .6, "debris_pile": .4},
         window="night", hours=(19, 23), mult=(6.0, 1.0), where="branch", span=(0, 2 / 3)),
    dict(kind="steady", source="hotline", categories={"unlicensed_vending": .6, "road_occupation": .4},
         window="day", hours=(9, 18), mult=(5.0, 5.0), where="branch", span=(0, 1)),
    dict(kind="fading", source="hotline", categories={"debris_pile": 1.0},
         window="day", hours=(8, 18), mult=(6.0, 1.0), where="alley", span=(0, 2 / 3)),
    dict(kind="steady", source="snapshot", categories={"garbage": .6, "debris_pile": .4},
         window="all", hours=(8, 21), mult=(5.0, 5.0), where="secondary", span=(0, 1)),
)
HOT_RADIUS_M = 300.0       # disc footprint of area hotspots
_HOT_NODE_RADIUS_M = 200.0  # intersection hotspots: the crossing and its approaches
HOT_NODE_SIGMA_M = 20.0    # scatter of the events in the crossing itself
_MIN_SEPARATION_M = 1200.0
_EDGE_MARGIN_M = 500.0


def plan_hotspots(geography: Geography, *, start: str = "2024-03-01", months: int = 6, seed: int = 1
                  ) -> list[dict[str, Any]]:
    """Choose where and when the hotspots are planted (no event counts yet).

    Intersection hotspots go to important crossings (main/secondary roads),
    area hotspots to points on roads of the planned class; all centres are at
    least 1.2 km apart and 500 m inside the area.

    Returns
    -------
    list of dict
        One dict per hotspot: ``id``, ``kind``, ``sources``, ``categories``,
        ``window``, ``hours``, ``days``, ``start``, ``end`` (exclusive),
        ``multiplier_start``, ``multiplier_end``, ``lon``, ``lat`` and, at
        intersections, ``node_id`` and ``intersection_name``.
    """
    p = prepare(geography)
    per = period(start, months)
    return plan_hotspots_prepared(p, per, random_streams(seed)["plan"])


def plan_hotspots_prepared(p: Prep, per: Period, rng: np.random.Generator) -> list[dict[str, Any]]:
    boundary = shapely.boundary(p.area_m)
    chosen: list[tuple[float, float]] = []

    def ok(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # a small area cannot hold ten centres 1.2 km apart and 500 m inside: relax step by step
        inside = shapely.contains_xy(p.area_m, x, y)
        edge = shapely.distance(boundary, shapely.points(x, y))
        for relax in (1.0, 0.5, 0.25, 0.0):
            good = inside & (edge >= _EDGE_MARGIN_M * max(relax, 0.25))
            for cx, cy in chosen:
                good &= np.hypot(x - cx, y - cy) >= _MIN_SEPARATION_M * relax
            if good.any():
                return good
        return inside

    out = []
    for i, spec in enumerate(_HOTSPOT_PLAN):
        if spec["where"] == "intersection":
            # busy crossings (top decile by road classes): where brigades post staff
            good = ok(p.nx, p.ny) & (p.nweight >= np.quantile(p.nweight, .9))
            # and among those the busiest tenth by expected background (node weights² within the footprint,
            # the same weights the background violations are drawn with)
            pairs = cKDTree(np.column_stack((p.nx, p.ny))).query_pairs(_HOT_NODE_RADIUS_M, output_type="ndarray")
            busy = p.nweight ** NODE_POWER
            np.add.at(busy, pairs[:, 0], p.nweight[pairs[:, 1]] ** NODE_POWER)
            np.add.at(busy, pairs[:, 1], p.nweight[pairs[:, 0]] ** NODE_POWER)
            if good.sum() >= 4:
                good &= busy >= np.quantile(busy[good], .9)
            if not good.any():
                good = ok(p.nx, p.ny)
            cand = np.flatnonzero(good)
            if not len(cand):
                raise SettingsError("no intersection far enough from the area edge for a planted hotspot; "
                                    "the area is too small for the sample")
            k = int(cand[rng.integers(len(cand))])
            x, y = float(p.nx[k]), float(p.ny[k])
            extra = {"node_id": str(p.nid[k]), "intersection_name": str(p.nname[k])}
        else:
            cls = CLASSES.index(spec["where"])
            mx, my = (p.sx0 + p.sx1) / 2, (p.sy0 + p.sy1) / 2
            good = ok(mx, my) & (p.sclass == cls)
            if not good.any():
                good = ok(mx, my)
            # in the busiest tenth of the source's background, so the excess stands out of real noise
            dens = _road_density(p, CLASS_W[spec["source"]], HOT_RADIUS_M)
            if good.sum() >= 4:
                good &= dens >= np.quantile(dens[good], .9)
            cand = np.flatnonzero(good)
            if not len(cand):
                raise SettingsError("no road far enough from the area edge for a planted hotspot; "
                                    "the area is too small for the sample")
            k = int(cand[rng.integers(len(cand))])
            x, y = float(mx[k]), float(my[k])
            extra = {"road": str(p.road_names[p.sroad[k]])}
        chosen.append((x, y))
        lon, lat = p.loc.inv(np.array([x]), np.array([y]))
        w = _WINDOWS[spec["window"]]
        d0 = int(round(spec["span"][0] * per.n_days))
        d1 = int(round(spec["span"][1] * per.n_days))
        out.append({
            "id": f"H{i + 1:02d}", "kind": spec["kind"], "sources": [spec["source"]],
            "files": [FILES[spec["source"]]],
            "categories": list(spec["categories"]),
            "category_shares": dict(spec["categories"]),
            "window": w.name, "window_hours": [w.start, w.end], "days": list(w.days),
            "hours": [f"{spec['hours'][0]:02d}:00", f"{spec['hours'][1]:02d}:00"],
            "start": per.date(d0), "end": per.date(d1),
            "multiplier_start": float(spec["mult"][0]), "multiplier_end": float(spec["mult"][1]),
            "multiplier": float(np.mean(spec["mult"])),
            "footprint": "intersection" if spec["where"] == "intersection" else "disc",
            "radius_m": _HOT_NODE_RADIUS_M if spec["where"] == "intersection" else HOT_RADIUS_M,
            "lon": round(float(lon[0]), 7), "lat": round(float(lat[0]), 7), **extra,
            "_x": x, "_y": y, "_d0": d0, "_d1": d1, "_hours": spec["hours"],
        })
    return out


def _road_density(p: Prep, class_w: tuple[float, ...], radius_m: float, x: np.ndarray | None = None,
                  y: np.ndarray | None = None, bin_m: float = 50.0) -> np.ndarray:
    """Class-weighted road length within ``radius_m`` of points (default: segment midpoints), on a raster."""
    mx, my = (p.sx0 + p.sx1) / 2, (p.sy0 + p.sy1) / 2
    x = mx if x is None else x
    y = my if y is None else y
    pad = radius_m + bin_m
    x0, y0 = min(mx.min(), x.min()) - pad, min(my.min(), y.min()) - pad
    nx = int((max(mx.max(), x.max()) + pad - x0) // bin_m) + 1
    ny = int((max(my.max(), y.max()) + pad - y0) // bin_m) + 1
    grid = np.zeros((nx, ny))
    np.add.at(grid, (((mx - x0) // bin_m).astype(np.int64), ((my - y0) // bin_m).astype(np.int64)),
              p.slen * np.asarray(class_w)[p.sclass])
    r = int(np.ceil(radius_m / bin_m))
    gx, gy = np.mgrid[-r:r + 1, -r:r + 1]
    kernel = ((gx * bin_m) ** 2 + (gy * bin_m) ** 2 <= radius_m ** 2).astype(float)
    # disc sums by FFT convolution (numpy only; scipy.signal takes seconds to import)
    shape = (nx + 2 * r, ny + 2 * r)
    full = np.fft.irfft2(np.fft.rfft2(grid, shape) * np.fft.rfft2(kernel, shape), shape)
    dens = full[r:r + nx, r:r + ny]
    return dens[((x - x0) // bin_m).astype(np.int64), ((y - y0) // bin_m).astype(np.int64)]


def plan_campaign(geography: Geography, hotspots: list[dict[str, Any]], *, start: str = "2024-03-01",
                  months: int = 6, seed: int = 1) -> dict[str, Any]:
    """Choose the middle grids and date of the campaign (40 % drop of all events).

    Grids holding or near a hotspot centre (within 600 m) are excluded; the
    date is the first Monday on or after 55 % of the period.
    """
    p = prepare(geography)
    per = period(start, months)
    return plan_campaign_prepared(p, per, hotspots, random_streams(seed)["campaign"])


def plan_campaign_prepared(p: Prep, per: Period, hotspots: list[dict[str, Any]], rng: np.random.Generator,
                   n_grids: int = 3, effect: float = -0.4) -> dict[str, Any]:
    mid_m = p.loc.geom_fwd(p.middle.geometry.values)
    road_len = np.zeros(len(mid_m))
    seg_mid = locate(p.middle.geometry.values, *p.loc.inv((p.sx0 + p.sx1) / 2, (p.sy0 + p.sy1) / 2),
                      nearest=False)
    np.add.at(road_len, seg_mid[seg_mid >= 0], p.slen[seg_mid >= 0])
    inside = shapely.area(shapely.intersection(mid_m, p.area_m)) >= 0.9 * shapely.area(mid_m)
    dmin = np.full(len(mid_m), np.inf)
    for h in hotspots:
        dmin = np.minimum(dmin, shapely.distance(mid_m, shapely.Point(h["_x"], h["_y"])))
    far = dmin > 600.0
    cand = np.flatnonzero(inside & far & (road_len >= np.median(road_len)))
    if len(cand) < n_grids:
        cand = np.flatnonzero(far & (road_len > 0))
    if len(cand) < n_grids:  # small areas: the grids farthest from any hotspot centre
        roads = np.flatnonzero(road_len > 0)
        cand = roads[np.argsort(-dmin[roads], kind="stable")[:max(n_grids, 2 * n_grids)]]
    if len(cand) < n_grids:
        raise SettingsError(f"the campaign needs {n_grids} official middle grids with roads; "
                            f"the geography has {len(cand)}")
    pick = np.sort(rng.choice(cand, size=n_grids, replace=False))
    day = int(round(0.55 * per.n_days))
    day += int((7 - per.dow[min(day, per.n_days - 1)]) % 7)
    day = min(day, per.n_days - 1)
    return {
        "grid_ids": [str(g) for g in p.middle["grid_id"].to_numpy()[pick]],
        "tier": "middle", "date": per.date(day), "effect": effect,
        "sources": ["patrol", "hotline", "violation", "snapshot"],
        "note": "background events of every source inside these grids are thinned to "
                f"{1 + effect:.0%} from the date on (planted hotspots are elsewhere)",
        "_idx": pick, "_day": day,
    }


def campaign_mask(p: Prep, camp: dict[str, Any], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    geom = shapely.union_all(p.loc.geom_fwd(p.middle.geometry.values[camp["_idx"]]))
    x0, y0, x1, y1 = shapely.bounds(geom)
    m = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    idx = np.flatnonzero(m)
    m[idx] = shapely.contains_xy(geom, x[idx], y[idx])
    return m
