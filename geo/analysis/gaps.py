"""Patrol coverage gaps: where and when demand is high and patrol presence low.

For each time window ``w`` (the workspace's named windows, ``all`` excluded by default) and cell
``c`` of the filled study area:

* demand ``D[c, w]`` = hotline + violation + snapshot events (``demand_sources``);
* patrol ``P[c, w]`` = patrol reports, plus ``track_weight`` × patrol track points when a track
  table (``lon``, ``lat``, ``occurred_at``) is supplied — track points are dense, so each counts
  for a fraction of a report (default 0.1);
* the patrol a cell would get if the window's patrol were spread in proportion to demand,
  ``E[c, w] = P_total[w] · D[c, w] / D_total[w]``;
* ``shortfall = E − P`` (patrol reports missing against proportional allocation) and
  ``coverage = (P + 1) / (E + 1)`` (1 = as much patrol as demand warrants, < 1 under-patrolled).

Cells are ranked by their largest shortfall over the windows; each row names the window where the
gap is largest and the windows with a positive shortfall.  The same is done for official grids
(events summed by their responsible cell's grid, so totals are preserved).

Without patrol data in a window (no patrol report and no track point in it), patrol cannot be
compared with demand there: ``expected``, ``shortfall`` and ``coverage`` are NaN (never a coverage
of 1.0 or a shortfall of 0), cells are ranked by demand instead, ``cells_with_shortfall`` is
``None`` when no window has patrol data, and the summary's ``notes`` say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geo.analysis.filters import EventFilter, apply_filter, window_mask
from geo.analysis.notes import data_notes, grid_note
from geo.errors import GridwatchError
from geo.grid import h3cells

DEMAND_SOURCES = ("hotline", "violation", "snapshot")
PATROL_SOURCES = ("patrol",)


class GapError(GridwatchError, ValueError):
    """Bad parameters for a coverage-gap analysis."""


def gap_metrics(demand: np.ndarray, patrol: np.ndarray) -> dict[str, np.ndarray]:
    """Expected patrol under demand-proportional allocation, shortfall and coverage (column = window)."""
    demand = np.asarray(demand, dtype=float)
    patrol = np.asarray(patrol, dtype=float)
    d_tot = demand.sum(axis=0, keepdims=True)
    p_tot = patrol.sum(axis=0, keepdims=True)
    expected = np.where(d_tot > 0, p_tot * demand / np.where(d_tot > 0, d_tot, 1), 0.0)
    # no patrol data in a window: the comparison is undefined there, not "fully covered"
    expected = np.where(p_tot > 0, expected, np.nan)
    return {"expected": expected, "shortfall": expected - patrol, "coverage": (patrol + 1.0) / (expected + 1.0)}


@dataclass
class GapResult:
    cells: pd.DataFrame  # one row per cell (ranked)
    by_window: pd.DataFrame  # one row per cell and window
    grids: pd.DataFrame | None
    summary: dict[str, Any] = field(default_factory=dict)


def _rank(long: pd.DataFrame, key: str) -> pd.DataFrame:
    long = long.assign(_rank_key=long["shortfall"].fillna(-np.inf))
    g = long.groupby(key, sort=False)
    worst = long.loc[g["_rank_key"].idxmax()].set_index(key)
    gap_windows = (long[long["shortfall"] > 0].sort_values("shortfall", ascending=False)
                   .groupby(key, sort=False)["window"].agg(lambda s: ",".join(s)))
    out = pd.DataFrame({
        "max_shortfall": worst["shortfall"], "worst_window": worst["window"],
        "worst_window_demand": worst["demand"], "worst_window_patrol": worst["patrol"],
        "worst_window_coverage": worst["coverage"], "gap_windows": gap_windows,
    }).fillna({"gap_windows": ""})
    out = out.sort_values(["max_shortfall", "worst_window_demand"], ascending=False, na_position="last")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.reset_index()


def coverage_gaps(ws: Any, events: pd.DataFrame, flt: EventFilter = EventFilter(), *, tier: str = "small",
                  windows: tuple[str, ...] | None = None, tracks: pd.DataFrame | None = None,
                  track_weight: float = 0.1, demand_sources: tuple[str, ...] = DEMAND_SOURCES,
                  patrol_sources: tuple[str, ...] = PATROL_SOURCES) -> GapResult:
    """Rank cells and official grids by patrol shortfall against demand, per time window.

    Parameters
    ----------
    ws : Workspace
    events : DataFrame
        Stored events; ``flt`` applies (its ``window`` is ignored: every window is analysed,
        and its ``sources`` are ignored: demand and patrol sources are given here).
    tier : str
    windows : tuple of str, optional
        Window names (default every workspace window but ``all``).
    tracks : DataFrame, optional
        Patrol track points (``lon``, ``lat``, tz-aware ``occurred_at``).
    track_weight : float
        Patrol reports one track point is worth.

    Returns
    -------
    GapResult
    """
    from geo.analysis.hotcells import area_cells, tier_crosswalk

    if track_weight < 0:
        raise GapError(f"track_weight must be >= 0, got {track_weight}")
    flt = EventFilter(window="all", categories=flt.categories, since=flt.since, until=flt.until)
    windows = windows or tuple(w.name for w in ws.settings.windows if w.name != "all")
    sel = apply_filter(events, flt, ws.settings)
    cells = area_cells(ws, tier)
    cell_ids = cells["cell"].to_numpy()
    col = f"h3_{tier}"
    is_demand = sel["source"].isin(demand_sources).to_numpy()
    is_patrol = sel["source"].isin(patrol_sources).to_numpy()
    if tracks is not None and len(tracks):
        missing = {"lon", "lat", "occurred_at"} - set(tracks.columns)
        if missing:
            raise GapError(f"the track table lacks column(s) {sorted(missing)}; it needs lon, lat, occurred_at")
        tr = pd.DataFrame({col: h3cells.cells_for_points(tracks["lon"].to_numpy(float), tracks["lat"].to_numpy(float),
                                                         ws.settings.tiers.resolution(tier)),
                           "occurred_at": pd.to_datetime(tracks["occurred_at"], utc=True)})
    else:
        tr = pd.DataFrame({col: np.array([], dtype=np.int64), "occurred_at": pd.to_datetime([], utc=True)})
    rows = []
    for name in windows:  # a handful of windows, each vectorised
        w = ws.settings.window(name)
        in_w = window_mask(sel["occurred_at"], w, ws.settings.timezone)
        d = sel.loc[in_w & is_demand, col].value_counts().reindex(cell_ids, fill_value=0).to_numpy()
        p = sel.loc[in_w & is_patrol, col].value_counts().reindex(cell_ids, fill_value=0).to_numpy().astype(float)
        if len(tr):
            p = p + track_weight * tr.loc[window_mask(tr["occurred_at"], w, ws.settings.timezone), col] \
                .value_counts().reindex(cell_ids, fill_value=0).to_numpy()
        rows.append(pd.DataFrame({"cell": cell_ids, "window": name, "demand": d, "patrol": p}))
    long = pd.concat(rows, ignore_index=True)
    cw = tier_crosswalk(ws, tier)
    long["grid_id"] = (cw.cells.set_index("cell")["grid_id"].reindex(long["cell"]).to_numpy()
                       if cw is not None else None)

    def _with_metrics(frame: pd.DataFrame, key: str) -> pd.DataFrame:
        wide_d = frame.pivot_table(index=key, columns="window", values="demand", aggfunc="sum", sort=False)
        wide_p = frame.pivot_table(index=key, columns="window", values="patrol", aggfunc="sum", sort=False)
        m = gap_metrics(wide_d.to_numpy(), wide_p.to_numpy())
        out = pd.DataFrame({key: np.repeat(wide_d.index.to_numpy(), wide_d.shape[1]),
                            "window": np.tile(wide_d.columns.to_numpy(), wide_d.shape[0]),
                            "demand": wide_d.to_numpy().ravel(), "patrol": wide_p.to_numpy().ravel()})
        for k, v in m.items():
            out[k] = v.ravel()
        return out

    by_cell = _with_metrics(long, "cell")
    ranked = _rank(by_cell, "cell")
    ranked.insert(1, "h3", h3cells.cells_to_hex(ranked["cell"].to_numpy()))
    # totals over the whole period (windows overlap, so they are not the sum over windows)
    total_d = sel.loc[is_demand, col].value_counts()
    total_p = sel.loc[is_patrol, col].value_counts()
    ranked.insert(3, "demand", total_d.reindex(ranked["cell"], fill_value=0).to_numpy())
    ranked.insert(4, "patrol", total_p.reindex(ranked["cell"], fill_value=0).to_numpy())
    if cw is not None:
        ranked["grid_id"] = cw.cells.set_index("cell")["grid_id"].reindex(ranked["cell"]).to_numpy()
        grids = _rank(_with_metrics(long.dropna(subset=["grid_id"]), "grid_id"), "grid_id")
        per_grid = ranked.groupby("grid_id")[["demand", "patrol"]].sum()
        grids.insert(2, "demand", per_grid["demand"].reindex(grids["grid_id"]).to_numpy())
        grids.insert(3, "patrol", per_grid["patrol"].reindex(grids["grid_id"]).to_numpy())
    else:
        grids = None
    no_patrol = [w for w in windows if not by_cell.loc[by_cell["window"] == w, "patrol"].sum() > 0]
    measured = len(no_patrol) < len(windows)
    notes = data_notes(sel, ws.settings, cell_column=col, method="the gap analysis", flt=flt)
    if not measured:
        notes.append(f"no patrol data ({', '.join(patrol_sources)} events or track points) in any window: patrol "
                     "coverage cannot be measured, so no shortfall is reported and cells are ranked by demand; "
                     "ingest patrol reports or pass --tracks")
    elif no_patrol:
        notes.append(f"no patrol data in window(s) {', '.join(no_patrol)}: coverage there is unknown (NaN)")
    if int(is_demand.sum()) == 0:
        notes.append(f"no demand events ({', '.join(demand_sources)}) after filtering: there is nothing to cover")
    notes += grid_note(cw is not None)
    summary = {"tier": tier, "cells": int(len(ranked)), "windows": list(windows),
               "demand": int(ranked["demand"].sum()), "patrol": int(ranked["patrol"].sum()),
               "track_points": int(len(tr)),
               "cells_with_shortfall": int((ranked["max_shortfall"] > 0).sum()) if measured else None,
               "coverage_measured": measured, "windows_without_patrol": no_patrol, "notes": notes,
               "demand_sources": list(demand_sources), "patrol_sources": list(patrol_sources), **flt.describe()}
    return GapResult(cells=ranked, by_window=by_cell, grids=grids, summary=summary)
