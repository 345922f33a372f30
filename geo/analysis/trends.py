r"""Emerging hot spots: a space-time cube, space-time Gi*, Mann-Kendall trends and the ArcGIS classes.

The cube
--------
:func:`build_cube` counts events per cell of the *filled* study area and per time slice
(``period_days`` long, 7 = weeks).  Slices are aligned to the **end** of the analysed span
so that the final slice is the most recent complete period; a partial period at the start
is dropped (its events are reported as ``events_before_first_slice``).

Space-time Gi*
--------------
The neighbourhood of bin ``(cell i, slice t)`` holds the k-ring neighbours of ``i`` (the cell
included) in slice ``t`` and in the ``time_step`` previous slices (ArcGIS's *neighborhood time
step*).  The weights are the block matrix ``L ⊗ W`` (``scipy.sparse.kron``) with ``L[t, s] = 1``
for ``0 <= t - s <= time_step``; **one** Gi* is computed over the whole cube (global mean and
standard deviation over all ``n·T`` bins, area shares tiled over slices), as ArcGIS does.
Inference defaults to ``"analytic"`` (normal p-values; with few events per bin the normal tail is
thin, so bins are judged with Benjamini-Hochberg FDR over the whole cube, as ArcGIS Pro's
Emerging Hot Spot Analysis applies an FDR correction).  A bin is a significant hot (cold) spot
when its FDR-adjusted p is at most ``alpha`` (default 0.10, ArcGIS's 90 % level) and ``z > 0``
(``z < 0``).

Trend
-----
Mann-Kendall on each cell's series of Gi* z-scores: :math:`S = \sum_{i<j} \operatorname{sign}(x_j - x_i)`,
:math:`\operatorname{Var} S = [m(m-1)(2m+5) - \sum_g t_g(t_g-1)(2t_g+5)]/18` (``t_g`` sizes of tied
groups), :math:`Z = (S - \operatorname{sign} S)/\sqrt{\operatorname{Var} S}` (continuity
correction), two-sided normal p.  Vectorised over cells; NaN slices are skipped per cell.
Without continuity correction Z equals the asymptotic tau-b test of
``scipy.stats.kendalltau(time, x)`` (time has no ties), which the tests check.

The classes (ArcGIS Pro, *How Emerging Hot Spot Analysis works*)
---------------------------------------------------------------
With ``m`` slices, ``hot`` the significant-hot flags, ``final`` the last slice and
``share = sum(hot)/m``:

============  ==========================================================================
new           hot in the final slice only (never hot before).
consecutive   a single uninterrupted run of >= 2 hot slices ending at the final slice, never
              hot before the run, and ``share < 0.9``.
intensifying  ``share >= 0.9``, hot in the final slice, significant upward MK trend of z.
persistent    ``share >= 0.9``, hot in the final slice, no significant MK trend.
diminishing   ``share >= 0.9``, hot in the final slice, significant downward MK trend.
sporadic      hot in the final slice, ``share < 0.9``, hot on and off before (not new, not
              consecutive), never a significant cold spot.
oscillating   hot in the final slice, ``share < 0.9``, a significant cold spot in some earlier
              slice.
historical    not hot in the final slice, ``share >= 0.9``.
============  ==========================================================================

Cold spots mirror these rules with ``cold``/``hot`` swapped and "upward" meaning *more*
negative z (``intensifying cold``: the MK trend of z is significantly downward).  Hot rules
are tried first; a cell matching none is ``no pattern``.  (ArcGIS leaves "persistent" and
"historical" silent about the final slice; we split them on it, as the sfdep package does,
so the classes are a partition.)  Series with fewer than ``min_slices`` finite slices
(default 10: ArcGIS requires ten time steps for the trend test) are ``too few slices``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import special

from geo.analysis.filters import EventFilter, apply_filter
from geo.analysis.gistar import gi_bins, kring_weights
from geo.analysis.notes import active_span, data_notes, grid_note
from geo.errors import GridwatchError
from geo.grid import h3cells

HOT_CLASSES = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
               "oscillating", "historical")
CLASSES = tuple(f"{c} hot spot" for c in HOT_CLASSES) + tuple(f"{c} cold spot" for c in HOT_CLASSES) + (
    "no pattern", "too few slices")
"""Every class a cell can get (ArcGIS's 17 plus ``too few slices``)."""

PERIODS = {"day": 1, "week": 7, "fortnight": 14, "4weeks": 28}
MK_BLOCK_ELEMENTS = 1 << 20
"""Cells × slices handled at once by the Mann-Kendall loop (bounds its temporaries)."""
CLASSIFY_BLOCK_CELLS = 16_384
"""Cells classified at once (bounds the temporaries of :func:`classify_emerging` to O(block × slices))."""


class TrendError(GridwatchError, ValueError):
    """Bad parameters for a trend analysis."""


# --------------------------------------------------------------------------- the cube

@dataclass
class Cube:
    """Counts per cell (rows) and time slice (columns) of the filled study area."""

    cells: np.ndarray  # int64 H3 ids, shape (n,)
    counts: np.ndarray  # int64, shape (n, T)
    starts: list[date]  # local first day of each slice
    period_days: int
    area_share: np.ndarray  # shape (n,)
    dropped: int = 0  # events before the first complete slice

    @property
    def n_slices(self) -> int:
        return int(self.counts.shape[1])


def slice_index(local_dates: pd.Series | np.ndarray, first: date, period_days: int) -> np.ndarray:
    """Slice number of each local date (negative before ``first``)."""
    days = (pd.to_datetime(np.asarray(local_dates)) - pd.Timestamp(first)).days
    return np.floor_divide(np.asarray(days, dtype=np.int64), period_days)


def build_cube(events: pd.DataFrame, cells: pd.DataFrame, tier: str, settings: Any, *,
               period_days: int = 7, since: date | None = None, until: date | None = None) -> Cube:
    """Count events per cell and ``period_days`` slice, aligned to end on ``until``.

    Parameters
    ----------
    events : DataFrame
        Already filtered events (``occurred_at`` tz-aware, ``h3_<tier>``).
    cells : DataFrame
        Filled study-area cells (``cell``, ``area_share``), e.g. :func:`geo.analysis.hotcells.area_cells`.
    tier : str
    settings : Settings
        For the time zone.
    period_days : int
        Slice length in days.
    since, until : date, optional
        Local dates (inclusive); default the events' span.

    Returns
    -------
    Cube
    """
    if period_days < 1:
        raise TrendError(f"period_days must be >= 1, got {period_days}")
    local = events["occurred_at"].dt.tz_convert(settings.timezone).dt.tz_localize(None).dt.normalize()
    if until is None:
        until = local.max().date() if len(local) else date.today()
    if since is None:
        since = local.min().date() if len(local) else until
    n_slices = ((until - since).days + 1) // period_days
    if n_slices < 1:
        raise TrendError(f"the span {since} … {until} is shorter than one period of {period_days} days; "
                         "widen --since/--until or choose a shorter --period")
    first = until + timedelta(days=1) - timedelta(days=n_slices * period_days)
    cell_ids = cells["cell"].to_numpy()
    t = slice_index(local, first, period_days)
    order = np.argsort(cell_ids)
    pos = np.searchsorted(cell_ids[order], events[f"h3_{tier}"].to_numpy())
    pos = np.minimum(pos, len(cell_ids) - 1)
    inside = cell_ids[order][pos] == events[f"h3_{tier}"].to_numpy()
    ok = inside & (t >= 0) & (t < n_slices)
    row = order[pos[ok]]
    counts = np.bincount(row * n_slices + t[ok], minlength=len(cell_ids) * n_slices).reshape(len(cell_ids), n_slices)
    starts = [first + timedelta(days=i * period_days) for i in range(n_slices)]
    return Cube(cells=cell_ids, counts=counts, starts=starts, period_days=period_days,
                area_share=cells["area_share"].to_numpy().astype(float), dropped=int((inside & (t < 0)).sum()))


def spacetime_weights(spatial: sp.spmatrix, n_slices: int, time_step: int = 1) -> sp.csr_matrix:
    """Space-time weights ``L ⊗ W`` for a cube flattened slice-major (index ``t*n + i``).

    ``L[t, s] = 1`` when ``0 <= t - s <= time_step``: a bin's neighbours are its spatial
    neighbours in the same slice and in the ``time_step`` slices before it.
    """
    if time_step < 0:
        raise TrendError(f"time_step must be >= 0, got {time_step}")
    lag = sp.diags([np.ones(n_slices - d) for d in range(min(time_step, n_slices - 1) + 1)],
                   [-d for d in range(min(time_step, n_slices - 1) + 1)], shape=(n_slices, n_slices))
    return sp.kron(lag, sp.csr_matrix(spatial), format="csr")


# --------------------------------------------------------------------------- Mann-Kendall

def mann_kendall(x: np.ndarray, *, continuity: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mann-Kendall trend test of each row of ``x`` (time along axis 1), ties corrected.

    NaN entries are skipped per row.

    Returns
    -------
    s, var_s, z, p : numpy.ndarray, shape (n,)
        S statistic, its tie-corrected variance, the normal score and the two-sided p
        (``z = 0``, ``p = 1`` where the variance is 0, e.g. fewer than 2 values).
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    n, t = x.shape
    finite = np.isfinite(x)
    # S by lag: sign(x_j - x_i) = [x_j > x_i] - [x_j < x_i]; comparisons with NaN are False, so
    # NaN pairs drop out.  Memory O(n·t) (no (n, t²) pair array), rows in blocks for locality.
    s = np.zeros(n, dtype=np.float64)
    block = max(1, MK_BLOCK_ELEMENTS // max(t, 1))
    for r0 in range(0, n, block):
        xb = x[r0:r0 + block]
        acc = np.zeros(xb.shape[0], dtype=np.int64)
        for d in range(1, t):
            later, earlier = xb[:, d:], xb[:, :-d]
            acc += np.count_nonzero(later > earlier, axis=1)
            acc -= np.count_nonzero(later < earlier, axis=1)
        s[r0:r0 + block] = acc
    m = finite.sum(axis=1).astype(np.float64)
    # tie groups: sort each row (NaN last), count runs of equal finite values
    xs = np.sort(x, axis=1)
    fs = np.isfinite(xs)
    new = np.ones_like(fs)
    new[:, 1:] = ~((xs[:, 1:] == xs[:, :-1]) & fs[:, 1:])
    gid = np.cumsum(new.ravel()) - 1
    sizes = np.bincount(gid, weights=fs.ravel().astype(float))
    row_of_group = np.repeat(np.arange(n), new.sum(axis=1))
    tie_term = np.bincount(row_of_group, weights=sizes * (sizes - 1) * (2 * sizes + 5), minlength=n)
    var = (m * (m - 1) * (2 * m + 5) - tie_term) / 18.0
    num = s - np.sign(s) if continuity else s
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(var > 0, num / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    p = np.where(var > 0, 2.0 * special.ndtr(-np.abs(z)), 1.0)
    return s, var, z, p


# --------------------------------------------------------------------------- classes

def _classify_side(hot: np.ndarray, cold: np.ndarray, up: np.ndarray, down: np.ndarray,
                   m: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Hot-side class index (0..7 into HOT_CLASSES) or -1, for flags already compacted per row."""
    n, t = hot.shape
    idx = np.arange(t)[None, :]
    valid = idx < m[:, None]
    hot = hot & valid
    cold = cold & valid
    n_hot = hot.sum(axis=1)
    share = n_hot / np.maximum(m, 1)
    final_hot = hot[np.arange(n), np.maximum(last, 0)] & (m > 0)
    # length of the run of hot slices ending at the final one
    not_hot_pos = np.where(valid & ~hot, idx, -1).max(axis=1)
    run = np.where(final_hot, last - not_hot_pos, 0)
    cold_before = (cold & (idx < last[:, None])).any(axis=1)
    out = np.full(n, -1, dtype=np.int64)
    hi = share >= 0.9
    out[final_hot & hi & up] = 2
    out[final_hot & hi & down] = 4
    out[final_hot & hi & ~up & ~down] = 3
    lo = final_hot & ~hi
    out[lo & cold_before] = 6
    rest = lo & ~cold_before
    out[rest & (n_hot == 1)] = 0
    out[rest & (n_hot > 1) & (run == n_hot)] = 1
    out[rest & (n_hot > 1) & (run < n_hot)] = 5
    out[~final_hot & hi] = 7
    return out


def classify_emerging(z: np.ndarray, bins: np.ndarray, *, trend_alpha: float = 0.05,
                      min_slices: int = 10) -> pd.DataFrame:
    """Emerging hot-spot class of each row (cell) from its per-slice Gi* z-scores and bins.

    Parameters
    ----------
    z : numpy.ndarray, shape (n, T)
        Gi* z-score per cell and slice; NaN marks a slice without data for that cell
        (skipped: the remaining slices are compacted in order).
    bins : numpy.ndarray, shape (n, T)
        Significance bins (non-zero = significant; sign = hot/cold), e.g. :func:`gi_bins`.
    trend_alpha : float
        Level of the two-sided Mann-Kendall test that makes a trend significant.
    min_slices : int
        Rows with fewer finite slices get ``too few slices``.

    Returns
    -------
    DataFrame
        ``pattern`` (one of :data:`CLASSES`), ``n_slices``, ``n_hot``, ``n_cold``,
        ``final_bin``, ``mk_s``, ``trend_z``, ``trend_p``.
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    bins = np.atleast_2d(np.asarray(bins))
    if z.shape != bins.shape:
        raise TrendError(f"z and bins must have the same shape, got {z.shape} and {bins.shape}")
    if z.shape[0] > CLASSIFY_BLOCK_CELLS:
        parts = [classify_emerging(z[i:i + CLASSIFY_BLOCK_CELLS], bins[i:i + CLASSIFY_BLOCK_CELLS],
                                   trend_alpha=trend_alpha, min_slices=min_slices)
                 for i in range(0, z.shape[0], CLASSIFY_BLOCK_CELLS)]
        return pd.concat(parts, ignore_index=True)
    n, t = z.shape
    finite = np.isfinite(z)
    # compact each row: finite slices first, in time order (stable sort on ~finite)
    order = np.argsort(~finite, axis=1, kind="stable")
    zc = np.take_along_axis(z, order, axis=1)
    bc = np.take_along_axis(np.where(finite, bins, 0), order, axis=1)
    m = finite.sum(axis=1)
    last = m - 1
    s, _, tz, tp = mann_kendall(zc)
    sig = tp <= trend_alpha
    hot, cold = bc > 0, bc < 0
    hot_cls = _classify_side(hot, cold, sig & (tz > 0), sig & (tz < 0), m, last)
    cold_cls = _classify_side(cold, hot, sig & (tz < 0), sig & (tz > 0), m, last)
    names = np.array(CLASSES, dtype=object)
    pattern = np.full(n, "no pattern", dtype=object)
    use_cold = (hot_cls < 0) & (cold_cls >= 0)
    pattern[use_cold] = names[len(HOT_CLASSES) + cold_cls[use_cold]]
    pattern[hot_cls >= 0] = names[hot_cls[hot_cls >= 0]]
    pattern[m < min_slices] = "too few slices"
    final_bin = np.where(m > 0, bc[np.arange(n), np.maximum(last, 0)], 0)
    return pd.DataFrame({"pattern": pattern, "n_slices": m, "n_hot": hot.sum(axis=1), "n_cold": cold.sum(axis=1),
                         "final_bin": final_bin.astype(np.int64), "mk_s": s, "trend_z": tz, "trend_p": tp})


# --------------------------------------------------------------------------- the analysis

@dataclass
class EmergingResult:
    """Emerging hot spots of one tier: a row per cell, plus the cube of bins."""

    cells: gpd.GeoDataFrame
    z: np.ndarray  # (n, T)
    bins: np.ndarray  # (n, T)
    cube: Cube
    summary: dict[str, Any] = field(default_factory=dict)


def spacetime_gi(cube: Cube, *, k: int = 1, time_step: int = 1, alpha: float = 0.10, fdr: bool = True,
                 inference: str = "analytic", seed: int | None = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Space-time Gi* of a cube: z, p and bins (sign × significance at ``alpha``), each (n, T).

    Equal to :func:`geo.analysis.gistar.getis_ord_star` on the flattened cube with the weights
    :func:`spacetime_weights` (the tests check it), but computed without forming ``L ⊗ W``: the
    local sums are ``W @ counts`` summed over the ``time_step`` previous slices, and the design
    terms (``W_i``, the variance factor, ``S``) are the spatial ones scaled by the number of slices
    in each bin's neighbourhood.  Memory O(n × T).  Only ``inference="analytic"`` is offered (the
    simulated modes would need the whole cube's weights); the p-values are normal tails.
    """
    if inference != "analytic":
        raise TrendError(f"space-time Gi* supports inference='analytic' only, got {inference!r}")
    if time_step < 0:
        raise TrendError(f"time_step must be >= 0, got {time_step}")
    n, t = cube.counts.shape
    if n < 2:
        raise TrendError(f"the study area has {n} cell at this tier; Gi* needs at least 2 (use a finer tier)")
    w = sp.csr_matrix(kring_weights(cube.cells, k=k), dtype=np.float64)
    a = np.asarray(cube.area_share, dtype=np.float64)
    c = cube.counts.astype(np.float64)
    big_n = n * t
    a_total = float(a.sum()) * t
    xbar = float(c.sum()) / a_total
    # S from the residuals c - a·xbar over every bin (gistar's _field_sd)
    resid_ss = 0.0
    max_resid = 0.0
    for j in range(t):
        r = c[:, j] - a * xbar
        resid_ss += float(r @ r)
        max_resid = max(max_resid, float(np.abs(r).max()))
    s2_factor = (big_n - 1) / (a_total * a_total - float(a @ a) * t)
    s_field = float(np.sqrt(resid_ss * s2_factor))
    if max_resid <= 1e-12 * float(np.abs(c).max(initial=0.0)):
        s_field = 0.0
    # neighbourhood slices of slice j: min(j, time_step) + 1
    n_lag = np.minimum(np.arange(t), time_step) + 1.0
    wa = w @ a
    binary = bool(np.all(w.data == 1.0))
    w2a = wa if binary else w.power(2) @ a
    local = np.asarray(w @ c)  # spatial local sums per slice
    if time_step > 0:
        spatial = local.copy()
        for d in range(1, min(time_step, t - 1) + 1):
            local[:, d:] += spatial[:, :-d]
        del spatial
    w_sum = np.multiply.outer(wa, n_lag)  # (n, T)
    var_factor = (a_total * np.multiply.outer(w2a, n_lag) - w_sum ** 2) / (big_n - 1)
    var_factor[var_factor <= 1e-12 * a_total * np.multiply.outer(np.maximum(w2a, 1e-300), n_lag)] = 0.0
    z = local
    z -= w_sum * xbar
    del w_sum
    pos = var_factor > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        z *= np.where(pos, 1.0 / np.sqrt(np.where(pos, var_factor, 1.0)), 0.0)
    z *= (1.0 / s_field) if s_field > 0 else 0.0
    sd_pos = pos & (s_field > 0)
    del var_factor, pos
    p = np.where(sd_pos, 2.0 * special.ndtr(-np.abs(z)), 1.0)
    b = gi_bins(z.T.ravel(), p.T.ravel(), alpha_levels=(alpha,), fdr=fdr).bins
    return z, p, b.reshape(t, n).T.astype(np.int8)


def emerging_from_cube(cube: Cube, *, k: int = 1, time_step: int = 1, alpha: float = 0.10, fdr: bool = True,
                       trend_alpha: float = 0.05, min_slices: int = 10,
                       inference: str = "analytic") -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Space-time Gi* and the emerging classes of a cube: ``z``, ``bins`` (n × T) and the class table."""
    z, _, bins = spacetime_gi(cube, k=k, time_step=time_step, alpha=alpha, fdr=fdr, inference=inference)
    cls = classify_emerging(z, bins, trend_alpha=trend_alpha, min_slices=min_slices)
    return z, bins, cls


def emerging_hotspots(ws: Any, events: pd.DataFrame, flt: EventFilter = EventFilter(), *, tier: str = "small",
                      period: str | int = "week", k: int | None = None, time_step: int = 1, alpha: float = 0.10,
                      fdr: bool = True, trend_alpha: float = 0.05, min_slices: int = 10,
                      inference: str = "analytic", seed: int | None = 0) -> EmergingResult:
    """Emerging hot-spot analysis of the filtered events over the filled study area.

    Parameters
    ----------
    ws : Workspace
    events : DataFrame
        Stored events (unfiltered; ``flt`` is applied here).
    flt : EventFilter
    tier : {"big", "middle", "small"}
    period : {"day", "week", "fortnight", "4weeks"} or int
        Slice length (an int is days).
    k : int, optional
        k-ring of the spatial neighbourhood (default the workspace's hotspot k).
    time_step : int
        Previous slices in a bin's neighbourhood.
    alpha : float
        Level at which a bin is a significant hot/cold spot (FDR-adjusted if ``fdr``).
    trend_alpha, min_slices
        See :func:`classify_emerging`.
    inference : str
        Passed to :func:`geo.analysis.gistar.getis_ord_star` (``"analytic"`` default).

    Returns
    -------
    EmergingResult
        ``cells``: ``h3``, ``cell``, ``pattern``, ``n_slices``, ``n_hot``, ``n_cold``,
        ``final_bin``, ``trend_z``, ``trend_p``, ``count`` (events in the cube),
        ``last_count``, ``grid_id`` and the polygon.  ``summary``: class counts, slices, parameters.
    """
    from geo.analysis.hotcells import area_cells, tier_crosswalk

    period_days = PERIODS.get(period) if isinstance(period, str) else int(period)
    if not period_days or period_days < 1:
        raise TrendError(f"unknown period {period!r}; use one of {', '.join(PERIODS)} or a number of days")
    k = ws.settings.hotspots.k if k is None else k
    selected = apply_filter(events, flt, ws.settings)
    span = active_span(selected, flt, ws.settings)  # NoEventsError on zero events without dates
    since, until = span.since, span.until
    cells = area_cells(ws, tier)
    local_day = selected["occurred_at"].dt.tz_convert(ws.settings.timezone).dt.date
    in_span = selected[(local_day >= since) & (local_day <= until)]
    cube = build_cube(in_span, cells, tier, ws.settings, period_days=period_days, since=since, until=until)
    z, bins, cls = emerging_from_cube(cube, k=k, time_step=time_step, alpha=alpha, fdr=fdr,
                                      trend_alpha=trend_alpha, min_slices=min_slices, inference=inference)
    table = pd.DataFrame({"h3": h3cells.cells_to_hex(cube.cells), "cell": cube.cells})
    table = pd.concat([table, cls], axis=1)
    table["count"] = cube.counts.sum(axis=1)
    table["last_count"] = cube.counts[:, -1]
    cw = tier_crosswalk(ws, tier)
    table["grid_id"] = (cw.cells.set_index("cell")["grid_id"].reindex(cube.cells).to_numpy()
                        if cw is not None else None)
    gdf = gpd.GeoDataFrame(table, geometry=h3cells.cell_polygons(cube.cells), crs="EPSG:4326")
    counts = gdf["pattern"].value_counts()
    notes = list(span.notes)
    notes += [n for n in data_notes(in_span, ws.settings, cell_column=f"h3_{tier}", method="the trend test",
                                    flt=flt) if not n.startswith("no events at all from")]
    if cube.n_slices < min_slices:
        notes.append(f"only {cube.n_slices} slices of {period_days} days: the trend test needs at least "
                     f"{min_slices}, so every cell is 'too few slices'; analyse a longer span or a shorter period")
    if cube.dropped:
        notes.append(f"{cube.dropped} events before the first complete {period_days}-day slice "
                     f"({cube.starts[0]}) are not in the cube")
    if int(cube.counts.sum()) and not (gdf["pattern"] != "no pattern").any():
        notes.append("no cell has an emerging pattern: with these events no bin is significant at the FDR level")
    notes += grid_note(cw is not None)
    summary = {"tier": tier, "cells": int(len(gdf)), "slices": cube.n_slices, "period_days": period_days,
               "first_slice": cube.starts[0].isoformat(), "last_slice": cube.starts[-1].isoformat(),
               "events": int(cube.counts.sum()), "events_before_first_slice": cube.dropped,
               "span": {"since": since.isoformat(), "until": until.isoformat(), "events_cut": span.cut_events},
               "classes": {c: int(counts.get(c, 0)) for c in CLASSES if counts.get(c, 0)},
               "parameters": {"k": k, "time_step": time_step, "alpha": alpha, "fdr": fdr,
                              "trend_alpha": trend_alpha, "min_slices": min_slices, "inference": inference,
                              **flt.describe()},
               "notes": notes}
    return EmergingResult(cells=gdf, z=z, bins=bins, cube=cube, summary=summary)


# --------------------------------------------------------------------------- CLI
