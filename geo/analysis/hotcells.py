"""Analyses on a workspace's events: hotspot cells and zones.

These are the calls the CLI, the app and the notebooks share.  Each takes the
workspace, an events frame (from :func:`geo.store.database.read_events`) and an
:class:`~geo.analysis.filters.EventFilter`, and returns tables ready to draw or export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.analysis.filters import EventFilter, apply_filter, date_span, window_days
from geo.analysis.gistar import cell_excess_test, getis_ord_star, gi_bins, kring_weights
from geo.analysis.notes import Note, data_notes, grid_note
from geo.analysis.zones import hotspot_zones_from_events
from geo.grid import h3cells
from geo.grid.tiers import Crosswalk, crosswalk, study_area_cells
from geo.store.workspace import Workspace

BIN_LEVELS = (0.01, 0.05, 0.10)
"""Significance levels of the ±3/±2/±1 bins (99/95/90 % confidence)."""


@lru_cache(maxsize=32)
def _area_cells_cached(area_wkb: bytes, res: int, metric_crs: str) -> pd.DataFrame:
    return study_area_cells(shapely.from_wkb(area_wkb), res, metric_crs)


def area_cells(ws: Workspace, tier: str) -> pd.DataFrame:
    """Filled study-area cells of a tier (cached per area, resolution and CRS)."""
    return _area_cells_cached(shapely.to_wkb(ws.area), ws.settings.tiers.resolution(tier),
                              ws.settings.metric_crs).copy()


_CW_CACHE: dict[tuple[Any, ...], Crosswalk] = {}


def tier_crosswalk(ws: Workspace, tier: str) -> Crosswalk | None:
    """The crosswalk of a tier's cells to the official grids (``None`` without grids)."""
    if ws.grids is None:
        return None
    path = ws.paths.get("grids")
    key = (str(ws.root), str(path), path.stat().st_mtime if path else 0, tier,
           ws.settings.tiers.resolution(tier), ws.settings.metric_crs)
    if key not in _CW_CACHE:
        cells = area_cells(ws, tier)
        _CW_CACHE[key] = crosswalk(cells, ws.grids, tier, ws.settings.tiers.resolution(tier),
                                   ws.settings.metric_crs)
    return _CW_CACHE[key]


HOTSPOT_COLUMNS = ["h3", "cell", "res", "count", "density", "per_day", "gi_z", "p_value", "p_fdr", "bin",
                   "area_share", "cell_expected", "cell_ratio", "cell_p", "cell_q", "cell_hot", "hot_rank",
                   "grid_id", "grid_name", "unit", "street_name", "geometry"]
"""Columns of :attr:`HotspotResult.cells`, in order (exports keep it)."""


@dataclass
class HotspotResult:
    """Gi* hot spots of one tier: a row per cell of the filled study area."""

    cells: gpd.GeoDataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def cell_counts(ws: Workspace, counts: pd.Series, tier: str, days: int) -> gpd.GeoDataFrame:
    """Events per cell of the filled study area, with the responsible official grid, no statistics.

    Parameters
    ----------
    counts : Series
        Events per int64 H3 cell of ``tier`` (cells outside the study area are left out).
    days : int
        Days the counts cover (``per_day``).

    Returns
    -------
    GeoDataFrame
        ``h3``, ``cell``, ``res``, ``count``, ``density`` (per km² inside the area), ``per_day``,
        ``area_share``, ``grid_id``, ``grid_name``, ``unit``, ``street_name`` and the cell polygon (WGS84).
    """
    cells = area_cells(ws, tier)
    res = ws.settings.tiers.resolution(tier)
    cell_ids = cells["cell"].to_numpy()
    count = counts.reindex(cell_ids, fill_value=0).to_numpy().astype(np.int64)
    table = pd.DataFrame({
        "h3": h3cells.cells_to_hex(cell_ids), "cell": cell_ids, "res": res, "count": count,
        "density": count / cells["inside_km2"].to_numpy(), "per_day": count / max(days, 1),
        "area_share": cells["area_share"].to_numpy(),
    })
    cw = tier_crosswalk(ws, tier)
    resp = cw.cells.set_index("cell") if cw is not None else None
    for col, source in (("grid_id", "grid_id"), ("grid_name", "name"), ("unit", "unit"),
                        ("street_name", "street_name")):
        table[col] = resp[source].reindex(cell_ids).to_numpy() if resp is not None else None
    return gpd.GeoDataFrame(table, geometry=h3cells.cell_polygons(cell_ids), crs="EPSG:4326")


def demand_cells(ws: Workspace, events: pd.DataFrame, flt: EventFilter = EventFilter(), *,
                 tier: str = "small") -> gpd.GeoDataFrame:
    """The filtered events counted per cell of a tier (:func:`cell_counts`): a demand layer, no Gi*.

    What the post planner draws under its posts: the counts of :func:`hotspot_cells` without its
    neighbourhood statistics (their null maps are most of its time).
    """
    selected = apply_filter(events, flt, ws.settings)
    since, until = date_span(events, flt, ws.settings)
    days = window_days(ws.settings.window(flt.window), since, until)
    return cell_counts(ws, selected.groupby(f"h3_{tier}").size(), tier, days)


def hotspot_cells(ws: Workspace, events: pd.DataFrame, flt: EventFilter = EventFilter(), *,
                  tier: str = "small", k: int | None = None, alpha: float | None = None,
                  fdr: bool | None = None, inference: str | None = None, permutations: int | None = None,
                  seed: int | None = None) -> HotspotResult:
    """Counts, densities and Getis-Ord Gi* bins for every cell of the study area.

    Parameters
    ----------
    ws : Workspace
    events : DataFrame
        Stored events (unfiltered: the filter is applied here).
    flt : EventFilter
        Window, sources, categories, dates.
    tier : {"big", "middle", "small"}
    k, alpha, fdr, inference, permutations, seed
        Default to the workspace's ``[settings.hotspots]``.

    Returns
    -------
    HotspotResult
        ``cells``: ``h3``, ``cell``, ``res``, ``count``, ``density`` (per km²
        of the cell's part inside the area), ``per_day`` (per day on which the
        window applies), ``gi_z``, ``p_value``, ``p_fdr``, ``bin`` (−3…+3),
        ``area_share``, the cell's own-count test against the area rate
        (``cell_expected``, ``cell_ratio``, ``cell_p``, ``cell_q``, ``cell_hot``; see
        :func:`geo.analysis.gistar.cell_excess_test`), ``hot_rank`` (hot by Gi* or by
        its own count first, then the own-count q, then Gi* z), responsible official
        grid (``grid_id``, ``grid_name``, ``unit``, ``street_name``) and the cell
        polygon.  ``summary``: cells, events counted, hot/cold cells per bin,
        ``cell_hot``, parameters and ``notes`` (thin or odd data).
    """
    selected = apply_filter(events, flt, ws.settings)
    counts = selected.groupby(f"h3_{tier}").size()
    since, until = date_span(events, flt, ws.settings)
    result = hotspot_table(ws, counts, flt, tier=tier, since=since, until=until, k=k, alpha=alpha, fdr=fdr,
                           inference=inference, permutations=permutations, seed=seed)
    result.summary["notes"] = data_notes(selected, ws.settings, cell_column=f"h3_{tier}", method="Gi*",
                                         flt=flt) + result.summary["notes"]
    return result


def hotspot_table(ws: Workspace, counts: pd.Series, flt: EventFilter = EventFilter(), *, tier: str = "small",
                  since: date, until: date, k: int | None = None, alpha: float | None = None,
                  fdr: bool | None = None, inference: str | None = None, permutations: int | None = None,
                  seed: int | None = None) -> HotspotResult:
    """Gi* hot spots from events already counted per cell (the aggregated input of the Dask path).

    Parameters
    ----------
    counts : Series
        Events per int64 H3 cell of ``tier`` that passed ``flt`` (cells outside
        the study area are reported as ``events_outside_cells``).
    since, until : date
        The local dates the counts cover (per-day rates).

    See :func:`hotspot_cells` for the rest and for the result.
    """
    hs = ws.settings.hotspots
    k = hs.k if k is None else k
    alpha = hs.alpha if alpha is None else alpha
    fdr = hs.fdr if fdr is None else fdr
    inference = inference or hs.inference
    permutations = hs.permutations if permutations is None else permutations
    seed = hs.seed if seed is None else seed
    if k < 1:
        raise ValueError(f"k must be at least 1 (k-ring neighbourhood), got {k}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")

    res = ws.settings.tiers.resolution(tier)
    days = max(window_days(ws.settings.window(flt.window), since, until), 1)
    base = cell_counts(ws, counts, tier, days)
    cell_ids = base["cell"].to_numpy()
    count = base["count"].to_numpy()
    outside = int(counts.sum() - count.sum())
    weights = kring_weights(cell_ids, k=k)
    share = base["area_share"].to_numpy()
    notes = []
    if inference == "permutation" and (share < 1).any():
        # Conditional permutation needs exchangeable cells: boundary cells count as whole cells here.
        notes.append("permutation inference treats the study area's boundary cells as whole cells")
        share = None
    result = getis_ord_star(count, weights, area_share=share, inference=inference,  # type: ignore[arg-type]
                            simulations=hs.simulations, permutations=permutations, seed=seed, alpha=alpha)
    binned = gi_bins(result.z, result.p_value, alpha_levels=BIN_LEVELS, fdr=fdr)
    own = cell_excess_test(count, base["area_share"].to_numpy(), alpha=alpha)

    table = base.assign(gi_z=result.z, p_value=result.p_value, p_fdr=binned.p_fdr,
                        bin=binned.bins.astype(np.int64), cell_expected=own.expected, cell_ratio=own.ratio,
                        cell_p=own.p_value, cell_q=own.p_fdr, cell_hot=own.significant)
    # ranking of hot cells: hot by either test first; among them the cell's own evidence (which corner),
    # then Gi*'s neighbourhood evidence
    hot_any = (table["bin"] > 0) | table["cell_hot"]
    order = np.lexsort((-table["gi_z"].to_numpy(), table["cell_q"].to_numpy(), ~hot_any.to_numpy()))
    rank = np.empty(len(table), dtype=np.int64)
    rank[order] = np.arange(1, len(table) + 1)
    table["hot_rank"] = rank
    gdf = table[HOTSPOT_COLUMNS]
    significant = binned.p_fdr <= alpha
    summary = {
        "tier": tier, "res": res, "cells": int(len(gdf)), "events": int(count.sum()),
        "events_outside_cells": outside, "days": days,
        "hot": {str(b): int((gdf["bin"] == b).sum()) for b in (3, 2, 1)},
        "cold": {str(b): int((gdf["bin"] == -b).sum()) for b in (3, 2, 1)},
        "hot_significant": int((significant & (result.z > 0)).sum()),
        "cold_significant": int((significant & (result.z < 0)).sum()),
        "cell_hot": int(own.significant.sum()),
        "parameters": {"k": k, "alpha": alpha, "fdr": fdr, "inference": result.inference,
                       "draws": result.draws, "seed": seed, **flt.describe()},
        "notes": notes,
    }
    if count.sum() and not (gdf["bin"] > 0).any() and not own.significant.any():
        notes.append(Note(f"no hot cell: with {int(count.sum())} events no cell is significant by Gi* or by its "
                          "own count at the FDR level", "no_hot_cell", n=int(count.sum())))
    spikes = int((own.significant & ~(binned.bins > 0)).sum())
    if spikes:
        notes.append(Note(f"{spikes} cell(s) hold significantly more events than the area rate on their own but "
                          "are not Gi* hot spots (a one-cell spike among quieter neighbours): see cell_hot / hot_rank",
                          "spikes", n=spikes))
    notes += grid_note(ws.grids is not None)
    return HotspotResult(cells=gdf, summary=summary)


def zone_min_samples(ws: Workspace, n_events: int, eps_m: float) -> int:
    """Core-point size: the configured minimum, raised to ``min_density_ratio`` × the average disc count."""
    import math

    from geo.store.workspace import metric_study_area

    zs = ws.settings.zones
    area_m2 = metric_study_area(shapely.to_wkb(ws.area), ws.settings.metric_crs, 0.0).area
    expected = n_events * math.pi * eps_m**2 / area_m2 if area_m2 > 0 else 0.0
    return max(zs.min_samples, math.ceil(zs.min_density_ratio * expected))


def hotspot_zones(ws: Workspace, events: pd.DataFrame, flt: EventFilter = EventFilter(), *,
                  algorithm: str | None = None, eps_m: float | None = None, min_samples: int | None = None,
                  hotspots: HotspotResult | None = None) -> gpd.GeoDataFrame:
    """Density-cluster zones of the filtered events (DBSCAN/HDBSCAN in metres).

    ``hotspots`` (small-tier) adds each zone's Gi* bins.
    """
    zs = ws.settings.zones
    selected = apply_filter(events, flt, ws.settings)
    eps = eps_m or zs.eps_m
    if min_samples is None:
        min_samples = zone_min_samples(ws, len(selected), eps)
    bins = None
    tier_column = "h3_small"
    if hotspots is not None:
        bins = hotspots.cells.set_index("cell")["bin"]
        tier_column = f"h3_{hotspots.summary['tier']}"
    return hotspot_zones_from_events(
        selected, metric_crs=ws.settings.metric_crs, timezone=ws.settings.timezone,
        algorithm=(algorithm or zs.algorithm),  # type: ignore[arg-type]
        eps_m=eps, min_samples=min_samples, buffer_m=zs.buffer_m,
        grids=ws.grids, cell_bins=bins, tier_column=tier_column)
