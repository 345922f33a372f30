"""Problem list (问题清单) and 回头看: before/after evaluation of an enforcement campaign.

Problem list
------------
:func:`problem_list` lists two kinds of problems as of a reference time ``as_of`` (default: the
newest event):

* hotline work orders: status, ``age_days`` (to close-out, or to ``as_of`` while open),
  ``overdue`` (open longer than ``settings.ingest.overdue_days``), ``closed_late``, responsible
  grid (the event's official grid of the tier), ``cleared`` (销号) when closed;
* hot cells: every cell that was a significant hot spot in some week of the space-time Gi* cube
  (:mod:`geo.analysis.trends`), with first/last hot week, ``weeks_cool`` since the last hot week, and
  ``cleared`` (销号) once it has stayed cool for ``cool_weeks`` weeks.

回头看 (campaign review)
-----------------------
:func:`campaign_review` compares events inside an area (official grid ids or a polygon) with the
rest of the study area, before the campaign start and during ``[start, end]``.  Weeks are counted
from ``start`` (complete 7-day weeks only).  The effect is the ratio of ratios

.. math:: R = \frac{I_{after}/I_{before}}{C_{after}/C_{before}},\\qquad \text{change} = R - 1,

(a difference-in-differences on the log scale; common shocks cancel).  Its 95 % interval comes from
a bootstrap that resamples whole weeks — (inside, comparison) pairs — with replacement within each
period, so week-to-week over-dispersion and the inside/outside correlation are kept.  A second
interval, the Welch (normal) interval of the difference of mean weekly log ratios
``log((I_w+½)/(C_w+½))`` after vs before, is reported alongside.

Hot cells that came back: cells inside the area that were hot (Gi*, all events of the period)
before, not hot during the campaign, and hot again after ``end`` (needs data after ``end``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy import special

from geo.analysis.filters import EventFilter, apply_filter
from geo.errors import GridwatchError
from geo.grid import h3cells


class ReviewError(GridwatchError, ValueError):
    """Bad parameters for a problem list or campaign review."""


# --------------------------------------------------------------------------- problem list

def work_orders(events: pd.DataFrame, settings: Any, *, as_of: pd.Timestamp | None = None,
                tier: str = "small") -> pd.DataFrame:
    """Hotline work orders with age, overdue and 销号 flags (one row per hotline event)."""
    wo = events[events["source"] == "hotline"]
    as_of = as_of if as_of is not None else events["occurred_at"].max()
    opened = wo["occurred_at"]
    end = wo["closed_at"].where(wo["is_closed"] & wo["closed_at"].notna(), as_of)
    age = (end - opened).dt.total_seconds().to_numpy() / 86400.0
    closed = wo["is_closed"].to_numpy()
    limit = settings.ingest.overdue_days
    return pd.DataFrame({
        "kind": "work_order", "id": wo["event_id"].to_numpy(), "category": wo["category"].to_numpy(),
        "grid_id": wo[f"grid_{tier}"].to_numpy(), "cell": wo[f"h3_{tier}"].to_numpy(),
        "opened": opened.to_numpy(), "status": wo["status"].to_numpy(), "closed": closed,
        "age_days": np.round(age, 2), "overdue": ~closed & (age > limit), "closed_late": closed & (age > limit),
        "cleared": closed,
    })


def hot_cell_problems(bins: np.ndarray, cells: np.ndarray, starts: list[date], *, cool_weeks: int = 4) -> pd.DataFrame:
    """Cells hot in some slice: first/last hot slice, slices cool since, 销号 after ``cool_weeks``."""
    hot = np.asarray(bins) > 0
    ever = hot.any(axis=1)
    t = hot.shape[1]
    idx = np.arange(t)
    last = np.where(hot, idx, -1).max(axis=1)
    first = np.where(hot, idx, t).min(axis=1)
    weeks_cool = t - 1 - last
    rows = np.flatnonzero(ever)
    status = np.where(weeks_cool[rows] == 0, "hot", np.where(weeks_cool[rows] >= cool_weeks, "cleared", "cooling"))
    return pd.DataFrame({
        "kind": "hot_cell", "id": h3cells.cells_to_hex(cells[rows]), "cell": cells[rows],
        "first_hot": [starts[i] for i in first[rows]], "last_hot": [starts[i] for i in last[rows]],
        "hot_weeks": hot[rows].sum(axis=1), "weeks_cool": weeks_cool[rows], "status": status,
        "cleared": weeks_cool[rows] >= cool_weeks,
    })


def problem_list(ws: Any, events: pd.DataFrame, flt: EventFilter = EventFilter(), *, tier: str = "small",
                 cool_weeks: int = 4, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Work orders and hot cells in one table (columns of both; ``kind`` tells them apart)."""
    from geo.analysis.hotcells import tier_crosswalk
    from geo.analysis.trends import emerging_hotspots

    if cool_weeks < 1:
        raise ReviewError(f"cool_weeks must be >= 1, got {cool_weeks}")
    sel = apply_filter(events, flt, ws.settings)
    wo = work_orders(sel, ws.settings, as_of=as_of, tier=tier)
    em = emerging_hotspots(ws, events, flt, tier=tier, min_slices=1)
    hc = hot_cell_problems(em.bins, em.cube.cells, em.cube.starts, cool_weeks=cool_weeks)
    cw = tier_crosswalk(ws, tier)
    hc["grid_id"] = cw.cells.set_index("cell")["grid_id"].reindex(hc["cell"]).to_numpy() if cw is not None else None
    return pd.concat([wo, hc], ignore_index=True)


# --------------------------------------------------------------------------- campaign review

def did_ratio(inside: np.ndarray, comparison: np.ndarray, after: np.ndarray, *, n_boot: int = 2000,
              seed: int = 0, level: float = 0.95) -> dict[str, float]:
    """Ratio-of-ratios DiD of weekly counts with a week bootstrap and a Welch log-ratio interval.

    Parameters
    ----------
    inside, comparison : numpy.ndarray
        Weekly counts in the campaign area and in the comparison area.
    after : numpy.ndarray of bool
        Whether each week is in the campaign period (else before).
    """
    inside = np.asarray(inside, dtype=float)
    comparison = np.asarray(comparison, dtype=float)
    after = np.asarray(after, dtype=bool)
    pre, post = np.flatnonzero(~after), np.flatnonzero(after)
    if pre.size < 2 or post.size < 2:
        raise ReviewError(f"need at least 2 complete weeks before and after the start, got {pre.size} and "
                          f"{post.size}; widen the campaign dates or the data span")

    def ratio(ip: np.ndarray, cp: np.ndarray, ia: np.ndarray, ca: np.ndarray) -> np.ndarray:
        return (ia / ip) / (ca / cp)

    est = float(ratio(inside[pre].sum(), comparison[pre].sum(), inside[post].sum(), comparison[post].sum()))
    rng = np.random.default_rng(seed)
    bp = rng.choice(pre, size=(n_boot, pre.size))
    ba = rng.choice(post, size=(n_boot, post.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        boots = ratio(inside[bp].sum(1), comparison[bp].sum(1), inside[ba].sum(1), comparison[ba].sum(1))
    boots = boots[np.isfinite(boots)]
    q = (1 - level) / 2
    lo, hi = np.quantile(boots, [q, 1 - q])
    lr = np.log((inside + 0.5) / (comparison + 0.5))
    diff = lr[post].mean() - lr[pre].mean()
    se = np.sqrt(lr[post].var(ddof=1) / post.size + lr[pre].var(ddof=1) / pre.size)
    zq = -special.ndtri(q)
    return {"ratio": est, "change": est - 1, "ci_low": float(lo) - 1, "ci_high": float(hi) - 1,
            "welch_change": float(np.expm1(diff)), "welch_ci_low": float(np.expm1(diff - zq * se)),
            "welch_ci_high": float(np.expm1(diff + zq * se)), "weeks_before": int(pre.size),
            "weeks_after": int(post.size), "bootstrap": int(boots.size), "level": level}


def area_geometry(ws: Any, grid_ids: tuple[str, ...] | None = None, polygon: Any = None) -> shapely.Geometry:
    """The campaign area: union of official grids by id (any tier), or a polygon (geometry or file)."""
    if (grid_ids is None) == (polygon is None):
        raise ReviewError("give the campaign area either as official grid ids or as a polygon, not both")
    if polygon is not None:
        if isinstance(polygon, shapely.Geometry):
            return polygon
        import geopandas as gpd

        gdf = gpd.read_file(polygon)
        gdf = gdf.to_crs("EPSG:4326") if gdf.crs is not None else gdf
        return shapely.union_all(gdf.geometry.to_numpy())
    if ws.grids is None:
        raise ReviewError(f"workspace {ws.root} has no official grids; give the area as a polygon file")
    found = ws.grids[ws.grids["grid_id"].isin(grid_ids)]
    missing = sorted(set(grid_ids) - set(found["grid_id"]))
    if missing:
        raise ReviewError(f"unknown official grid id(s) {missing}; see `gridwatch grid crosswalk --grids-out`")
    return shapely.union_all(found.geometry.to_numpy())


@dataclass
class ReviewResult:
    estimate: dict[str, Any]
    weekly: pd.DataFrame
    came_back: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def campaign_review(ws: Any, events: pd.DataFrame, start: date, end: date, *,
                    grid_ids: tuple[str, ...] | None = None, polygon: Any = None,
                    flt: EventFilter = EventFilter(), before_weeks: int | None = None, n_boot: int = 2000,
                    seed: int = 0, tier: str = "small") -> ReviewResult:
    """Before/after (difference-in-differences) evaluation of a campaign in an area (module docstring)."""
    from geo.analysis.hotcells import area_cells, hotspot_cells

    if end < start:
        raise ReviewError(f"campaign end {end} is before its start {start}")
    geom = area_geometry(ws, grid_ids, polygon)
    sel = apply_filter(events, EventFilter(window=flt.window, sources=flt.sources, categories=flt.categories),
                       ws.settings)
    inside = shapely.contains_xy(geom, sel["lon"].to_numpy(), sel["lat"].to_numpy())
    local = sel["occurred_at"].dt.tz_convert(ws.settings.timezone).dt.tz_localize(None).dt.normalize()
    week = np.floor_divide((local - pd.Timestamp(start)).dt.days.to_numpy(), 7)
    last_day = min(local.max().date(), end)
    n_after = ((last_day - start).days + 1) // 7
    n_before = np.floor_divide((pd.Timestamp(start) - local.min()).days, 7)
    if before_weeks is not None:
        n_before = min(n_before, before_weeks)
    keep = (week >= -n_before) & (week < n_after)
    weeks = np.arange(-n_before, n_after)
    ins = pd.Series(week[keep & inside]).value_counts().reindex(weeks, fill_value=0).to_numpy()
    out = pd.Series(week[keep & ~inside]).value_counts().reindex(weeks, fill_value=0).to_numpy()
    est = did_ratio(ins, out, weeks >= 0, n_boot=n_boot, seed=seed)
    weekly = pd.DataFrame({"week_start": [start + timedelta(days=7 * int(w)) for w in weeks], "week": weeks,
                           "period": np.where(weeks >= 0, "campaign", "before"), "inside": ins, "comparison": out})

    # hot cells that came back: hot before, not hot during, hot after the end
    cells = area_cells(ws, tier)
    in_cells = cells["cell"].to_numpy()[shapely.contains_xy(geom, cells["lon"].to_numpy(), cells["lat"].to_numpy())]
    first_day = start - timedelta(days=7 * int(n_before))
    periods = {"before": (first_day, start - timedelta(days=1)), "during": (start, end)}
    data_end = local.max().date()
    if data_end > end:
        periods["after"] = (end + timedelta(days=1), data_end)
    bins = {}
    for name, (a, b) in periods.items():
        f = EventFilter(window=flt.window, sources=flt.sources, categories=flt.categories, since=a, until=b)
        r = hotspot_cells(ws, events, f, tier=tier, inference="analytic")
        bins[name] = r.cells.set_index("cell")["bin"].reindex(in_cells).to_numpy()
    if "after" in bins:
        back = (bins["before"] > 0) & (bins["during"] <= 0) & (bins["after"] > 0)
    else:
        back = np.zeros(in_cells.size, dtype=bool)
    came_back = pd.DataFrame({"h3": h3cells.cells_to_hex(in_cells[back]), "cell": in_cells[back],
                              "bin_before": bins["before"][back], "bin_during": bins["during"][back],
                              "bin_after": bins["after"][back] if "after" in bins else np.array([], dtype=int)})
    summary = {"start": start.isoformat(), "end": end.isoformat(), "area": list(grid_ids) if grid_ids else "polygon",
               "inside_before": int(ins[weeks < 0].sum()), "inside_campaign": int(ins[weeks >= 0].sum()),
               "comparison_before": int(out[weeks < 0].sum()), "comparison_campaign": int(out[weeks >= 0].sum()),
               **est, "cells_in_area": int(in_cells.size),
               "hot_before": int((bins["before"] > 0).sum()), "hot_during": int((bins["during"] > 0).sum()),
               "came_back": int(back.sum()),
               "notes": [] if "after" in bins else ["no data after the campaign end: 'came back' cannot be judged"]}
    return ReviewResult(estimate=est, weekly=weekly, came_back=came_back, summary=summary)


# --------------------------------------------------------------------------- CLI

def parse_campaign(text: str) -> tuple[date, date]:
    try:
        a, b = text.split(":")
        return date.fromisoformat(a), date.fromisoformat(b)
    except ValueError:
        raise ReviewError(f"--campaign {text!r} must be START:END as YYYY-MM-DD:YYYY-MM-DD") from None
