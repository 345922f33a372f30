"""Next-period risk forecast per cell, and a rolling-origin backtest of every model side by side.

Data
----
A weekly cube (:func:`geo.analysis.trends.build_cube`, slices aligned to end on the last day analysed) of
filtered events per cell of the filled study area, plus companion cubes used as features: night
events, weekend events and events per source (the category mix at source level).

Models
------
Baselines (no fitting):

``last_week``     the cell's count in the last observed week;
``mean_4w``       the mean of the last four weeks;
``history_mean``  the mean of all observed weeks (a flat seasonal profile);
``seasonal``      the same week one year (52 weeks) earlier — only offered when the history holds
                  at least 52 weeks (the sample's six months do not).

Learned models, fitted on (cell, week) rows whose target week is in the history, each row's
features built **only from weeks before its target**: lags 1–4, means of the last 4/8/all weeks,
the k-ring neighbours' (cell excluded) last week and 4-week mean, the cell's night and weekend
shares and source shares over the last 8 weeks, and its area share:

``hgb_poisson``   ``HistGradientBoostingRegressor(loss="poisson")``;
``poisson_glm``   ``PoissonRegressor`` on standardised ``log1p`` features.

Backtest
--------
Rolling origin: for each of the last ``folds`` weeks ``o+1`` the models see only weeks ``0..o``
(the cube is physically truncated before anything is computed, and an assertion checks that every
fit's newest target week is ``<= o``) and forecast week ``o+1``.  Per fold and model: the *hit
rate* at a share ``a`` of the area is the share of week ``o+1``'s events falling in the cells
ranked highest by the forecast (taken until their area reaches ``a``; ties broken by a seeded
random order), and the Predictive Accuracy Index ``PAI = hit rate / area share actually taken``
(Chainey et al. 2008), at 1 %, 5 % and 10 %; also the mean absolute error.  A learned model becomes
the default only if its mean PAI at 5 % beats every baseline's; otherwise the best baseline is the
default.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from geo.analysis.filters import EventFilter, apply_filter, window_mask
from geo.analysis.gistar import kring_weights
from geo.analysis.notes import active_span, data_notes, grid_note
from geo.analysis.trends import build_cube
from geo.errors import GridwatchError
from geo.grid import h3cells
from geo.settings import SOURCES

AREA_LEVELS = (0.01, 0.05, 0.10)
BASELINES = ("last_week", "mean_4w", "history_mean", "seasonal")
LEARNED = ("hgb_poisson", "poisson_glm")
WARMUP = 4  # weeks of history before the first training target
SEASON = 52
PLAUSIBLE_RATIO = 3.0
PLAUSIBLE_FLOOR = 5.0
MIN_FOLDS = 2


class ForecastError(GridwatchError, ValueError):
    """Bad parameters or too little history for a forecast."""


@dataclass
class History:
    """Weekly cubes of one area: ``stack[f]`` is feature cube ``f`` (n × T); ``stack[0]`` the counts."""

    cells: np.ndarray
    stack: np.ndarray  # (F, n, T) float
    names: tuple[str, ...]
    neighbours: sp.csr_matrix  # k-ring without self
    area_share: np.ndarray
    area_km2: np.ndarray
    starts: list[Any]

    @property
    def counts(self) -> np.ndarray:
        return self.stack[0]

    def upto(self, o: int) -> History:
        """Only weeks ``0..o`` (the future is physically removed)."""
        return History(self.cells, self.stack[:, :, : o + 1].copy(), self.names, self.neighbours,
                       self.area_share, self.area_km2, self.starts[: o + 1])


def build_history(ws: Any, events: pd.DataFrame, flt: EventFilter = EventFilter(), *, tier: str = "small",
                  k: int = 1, notes: list[str] | None = None) -> History:
    """Weekly cubes of counts, night/weekend events and per-source events for the workspace's cells.

    The weeks cover the active span (:func:`geo.analysis.notes.active_span`); what was cut is
    appended to ``notes`` when given.
    """
    from geo.analysis.hotcells import area_cells

    sel = apply_filter(events, flt, ws.settings)
    span = active_span(sel, flt, ws.settings)
    since, until = span.since, span.until
    if notes is not None:
        notes.extend(span.notes)
    cells = area_cells(ws, tier)
    parts = {"count": sel,
             "night": sel[window_mask(sel["occurred_at"], ws.settings.window("night"), ws.settings.timezone)],
             "weekend": sel[window_mask(sel["occurred_at"], ws.settings.window("weekend"), ws.settings.timezone)]}
    for s in SOURCES:
        parts[f"src_{s}"] = sel[sel["source"] == s]
    cubes = [build_cube(p, cells, tier, ws.settings, period_days=7, since=since, until=until) for p in parts.values()]
    w = kring_weights(cubes[0].cells, k=k, self_weight=False)
    return History(cells=cubes[0].cells, stack=np.stack([c.counts for c in cubes]).astype(float),
                   names=tuple(parts), neighbours=w, area_share=cubes[0].area_share,
                   area_km2=cells["inside_km2"].to_numpy().astype(float), starts=cubes[0].starts)


# --------------------------------------------------------------------------- features and models

def features_at(h: History, s: int) -> np.ndarray:
    """Feature matrix (n × F) for target week ``s``, from weeks ``< s`` only."""
    past = h.stack[:, :, :s]
    c = past[0]
    n = c.shape[0]

    def lag(j: int) -> np.ndarray:
        return c[:, s - j] if s - j >= 0 else np.zeros(n)

    def mean_last(x: np.ndarray, j: int) -> np.ndarray:
        return x[:, max(s - j, 0):].mean(axis=1) if s > 0 else np.zeros(n)

    last8 = past[:, :, max(s - 8, 0):].sum(axis=2)
    tot8 = np.maximum(last8[0], 1.0)
    shares = (last8[1:] / tot8).T  # night, weekend, sources
    cols = [lag(1), lag(2), lag(3), lag(4), mean_last(c, 4), mean_last(c, 8), mean_last(c, s),
            h.neighbours @ lag(1), h.neighbours @ mean_last(c, 4), h.area_share]
    return np.column_stack(cols + [shares])


def _training_rows(h: History) -> tuple[np.ndarray, np.ndarray, int]:
    t = h.counts.shape[1]
    xs, ys = [], []
    for s in range(WARMUP, t):
        xs.append(features_at(h, s))
        ys.append(h.counts[:, s])
    if not xs:
        raise ForecastError(f"{t} weeks of history are too few to fit a model; at least {WARMUP + 1} are needed")
    return np.vstack(xs), np.concatenate(ys), t - 1


def baseline(h: History, name: str) -> np.ndarray:
    """A naive forecast of the week after the history."""
    c = h.counts
    t = c.shape[1]
    if name == "last_week":
        return c[:, -1].copy()
    if name == "mean_4w":
        return c[:, -4:].mean(axis=1)
    if name == "history_mean":
        return c.mean(axis=1)
    if name == "seasonal":
        if t < SEASON:
            raise ForecastError(f"the seasonal baseline needs {SEASON} weeks of history, got {t}")
        return c[:, t - SEASON].copy()
    raise ForecastError(f"unknown baseline {name!r}; use one of {', '.join(BASELINES)}")


def fit_predict(h: History, name: str, *, seed: int = 0) -> tuple[np.ndarray, int]:
    """Fit a learned model on the history and forecast the next week.

    Returns the forecast and the newest target week used in fitting (always the last history week).
    """
    x, y, newest = _training_rows(h)
    x_next = features_at(h, h.counts.shape[1])
    if name == "hgb_poisson":
        from sklearn.ensemble import HistGradientBoostingRegressor
        from threadpoolctl import threadpool_limits

        model = HistGradientBoostingRegressor(loss="poisson", max_iter=60, learning_rate=0.1, max_bins=64,
                                              max_leaf_nodes=15, min_samples_leaf=40, early_stopping=False,
                                              random_state=seed)
        # one OpenMP thread: on a shared 2-core machine more threads make the small fits many times slower
        with threadpool_limits(limits=1, user_api="openmp"):
            model.fit(x, y)
            return np.maximum(model.predict(x_next), 0.0), newest
    if name == "poisson_glm":
        from sklearn.linear_model import PoissonRegressor

        lx, lx_next = np.log1p(x), np.log1p(x_next)
        mu, sd = lx.mean(axis=0), lx.std(axis=0)
        sd[sd == 0] = 1.0
        from threadpoolctl import threadpool_limits

        model = PoissonRegressor(alpha=1e-4, max_iter=500)
        # one BLAS thread: the fit is small, and thread start-up dominates on a shared machine
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore")
            model.fit((lx - mu) / sd, y)
        return model.predict((lx_next - mu) / sd), newest
    raise ForecastError(f"unknown model {name!r}; use one of {', '.join(BASELINES + LEARNED)}")


def predict(h: History, name: str, *, seed: int = 0) -> np.ndarray:
    """Forecast of the week after ``h`` by any model (baseline or learned)."""
    if name in BASELINES:
        return baseline(h, name)
    return fit_predict(h, name, seed=seed)[0]


def available_models(n_weeks: int) -> tuple[str, ...]:
    """Models that can forecast from ``n_weeks`` of history."""
    return (tuple(m for m in BASELINES if m != "seasonal" or n_weeks >= SEASON)
            + (LEARNED if n_weeks > WARMUP else ()))


def plausible_total(pred: np.ndarray, recent: np.ndarray) -> bool:
    """Whether a forecast's total is plausible against the recent weekly totals (module docstring)."""
    total = float(np.sum(pred))
    if not np.isfinite(total) or not np.all(np.isfinite(pred)):
        return False
    ref = max(float(np.mean(recent)) if len(recent) else 0.0, PLAUSIBLE_FLOOR)
    return ref / PLAUSIBLE_RATIO <= max(total, 0.0) <= ref * PLAUSIBLE_RATIO


# --------------------------------------------------------------------------- metrics

def hit_rate_pai(forecast: np.ndarray, actual: np.ndarray, area: np.ndarray, levels: tuple[float, ...] = AREA_LEVELS,
                 *, seed: int = 0) -> dict[str, float]:
    """Hit rate and PAI at each area share: cells taken by forecast rank until their area reaches the share."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.permutation(forecast.size), -forecast))
    cum_area = np.cumsum(area[order]) / area.sum()
    cum_hits = np.cumsum(actual[order]) / max(actual.sum(), 1e-12)
    out: dict[str, float] = {}
    for a in levels:
        i = int(np.searchsorted(cum_area, a - 1e-12))
        i = min(i, forecast.size - 1)
        hit = float(cum_hits[i]) if actual.sum() > 0 else np.nan
        out[f"hit_{a:.0%}"] = hit
        out[f"pai_{a:.0%}"] = hit / float(cum_area[i]) if actual.sum() > 0 else np.nan
    return out


@dataclass
class Backtest:
    """Per fold and model metrics, their means and the chosen default model."""

    folds: pd.DataFrame
    table: pd.DataFrame
    default: str
    audit: list[dict[str, Any]] = field(default_factory=list)


def backtest(h: History, *, folds: int = 8, models: tuple[str, ...] | None = None, seed: int = 0) -> Backtest:
    """Rolling-origin backtest over the last ``folds`` weeks (see the module docstring)."""
    t = h.counts.shape[1]
    models = models or available_models(t - folds)
    first_origin = t - 1 - folds
    if first_origin < WARMUP:
        raise ForecastError(f"{t} weeks are too few for a {folds}-fold backtest; need at least "
                            f"{folds + WARMUP + 1} (use fewer --folds or a longer span)")
    rows, audit = [], []
    for o in range(first_origin, t - 1):
        past = h.upto(o)
        assert past.counts.shape[1] == o + 1, "the backtest history must end at the origin"
        actual = h.counts[:, o + 1]
        for m in models:
            if m in LEARNED:
                pred, newest = fit_predict(past, m, seed=seed)
                assert newest <= o < o + 1, f"model {m} was fitted on week {newest}, not before target {o + 1}"
                audit.append({"model": m, "origin": o, "newest_training_target": newest, "target": o + 1})
            else:
                pred = baseline(past, m)
            recent = past.counts[:, -4:].sum(axis=0)
            row = {"model": m, "origin_week": str(h.starts[o]), "target_week": str(h.starts[o + 1]),
                   "mae": float(np.abs(pred - actual).mean()), "events": float(actual.sum()),
                   "forecast_total": float(np.sum(pred)), "plausible": plausible_total(pred, recent)}
            row.update(hit_rate_pai(pred, actual, h.area_km2, seed=seed + o))
            rows.append(row)
    per_fold = pd.DataFrame(rows)
    metric_cols = [c for c in per_fold.columns if c.startswith(("hit_", "pai_"))] + ["mae"]
    table = per_fold.groupby("model", sort=False)[metric_cols].mean().reset_index()
    table["kind"] = np.where(table["model"].isin(LEARNED), "learned", "baseline")
    implausible = (~per_fold.groupby("model", sort=False)["plausible"].all()).reindex(table["model"]).to_numpy()
    base = table[table["kind"] == "baseline"]
    best_mae = float(base["mae"].min())
    flags = []
    for r, bad_total in zip(table.itertuples(index=False), implausible, strict=True):
        f = []
        if r.kind == "learned":
            if not np.isfinite(r.mae) or r.mae > best_mae:
                f.append(f"MAE {r.mae:.3g} worse than the best baseline's {best_mae:.3g}")
            if bad_total:
                f.append("forecast total implausible against recent weeks in some fold")
        flags.append("; ".join(f))
    table["flag"] = flags
    table["eligible"] = table["flag"] == ""
    ranked = table[table["eligible"]].sort_values(["pai_5%", "mae"], ascending=[False, True], na_position="last")
    default = str(ranked["model"].iloc[0])
    table["default"] = table["model"] == default
    return Backtest(folds=per_fold, table=table, default=default, audit=audit)


def winner_margin(bt: Backtest) -> dict[str, Any]:
    """The backtest's winner, the runner-up among eligible models and the margin in mean PAI at 5 %."""
    ranked = bt.table[bt.table["eligible"]].sort_values("pai_5%", ascending=False, na_position="last")
    win = ranked.iloc[0]
    out: dict[str, Any] = {"winner": str(win["model"]), "winner_pai_5": float(win["pai_5%"]),
                           "winner_mae": float(win["mae"]), "runner_up": None, "margin_pai_5": None}
    if len(ranked) > 1:
        run = ranked.iloc[1]
        out.update(runner_up=str(run["model"]), runner_up_pai_5=float(run["pai_5%"]),
                   margin_pai_5=float(win["pai_5%"] - run["pai_5%"]))
    return out



@dataclass
class ForecastResult:
    cells: gpd.GeoDataFrame
    summary: dict[str, Any]
    backtest: Backtest | None = None


def forecast(ws: Any, events: pd.DataFrame, flt: EventFilter = EventFilter(), *, tier: str = "small",
             model: str = "auto", run_backtest: bool = True, folds: int = 8, k: int = 1,
             seed: int = 0) -> ForecastResult:
    """Expected events per cell in the week after the history, by every model and the default one.

    ``model="auto"`` takes the backtest's default (a learned model only if it beats the
    baselines); naming a model uses it (and still backtests when ``run_backtest``).

    Returns
    -------
    ForecastResult
        ``cells``: ``h3``, ``cell``, ``expected`` (default model), ``rank``, one ``pred_<model>``
        column per model, ``last_week``, ``grid_id`` and the polygon.
    """
    from geo.analysis.hotcells import tier_crosswalk

    notes: list[str] = []
    h = build_history(ws, events, flt, tier=tier, k=k, notes=notes)
    t = h.counts.shape[1]
    models = available_models(t)
    if model != "auto" and model not in models:
        raise ForecastError(f"unknown or unavailable model {model!r} with {t} weeks of history; "
                            f"available: {', '.join(models)}")
    if t <= WARMUP:
        notes.append(f"only {t} weeks of history: the learned models need at least {WARMUP + 1}, "
                     "only the naive baselines are offered")
    bt = None
    if run_backtest or model == "auto":
        usable = min(folds, t - 1 - WARMUP)
        if usable >= MIN_FOLDS:
            if usable < folds:
                notes.append(f"only {t} weeks of history: the backtest uses {usable} folds instead of {folds}")
            bt = backtest(h, folds=usable, seed=seed)
        else:
            notes.append(f"only {t} weeks of history: too few for a backtest (needs {MIN_FOLDS + WARMUP + 1}); "
                         "the default is the 4-week mean, untested")
    chosen = model if model != "auto" else (bt.default if bt is not None else "mean_4w")
    preds = {m: predict(h, m, seed=seed) for m in models}
    recent = h.counts[:, -4:].sum(axis=0)
    for m in LEARNED:
        if m in preds and not plausible_total(preds[m], recent):
            notes.append(f"{m} forecasts {float(np.sum(preds[m])):.3g} events against a recent weekly mean of "
                         f"{float(np.mean(recent)):.1f}: implausible, not used as the default")
            if model == "auto" and chosen == m:
                ranked = bt.table[bt.table["eligible"] & (bt.table["model"] != m)] if bt is not None else None
                chosen = (str(ranked.sort_values("pai_5%", ascending=False)["model"].iloc[0])
                          if ranked is not None and len(ranked) else "mean_4w")
                if bt is not None:
                    bt.table["default"] = bt.table["model"] == chosen
                    bt.default = chosen
    if bt is not None:
        for r in bt.table[bt.table["flag"] != ""].itertuples(index=False):
            notes.append(f"{r.model} is flagged and never the default: {r.flag}")
    table = pd.DataFrame({"h3": h3cells.cells_to_hex(h.cells), "cell": h.cells, "expected": preds[chosen]})
    table["rank"] = table["expected"].rank(ascending=False, method="first").astype(np.int64)
    for m, p in preds.items():
        table[f"pred_{m}"] = p
    table["last_week"] = h.counts[:, -1]
    cw = tier_crosswalk(ws, tier)
    table["grid_id"] = cw.cells.set_index("cell")["grid_id"].reindex(h.cells).to_numpy() if cw is not None else None
    gdf = gpd.GeoDataFrame(table, geometry=h3cells.cell_polygons(h.cells), crs="EPSG:4326")
    next_start = h.starts[-1] + pd.Timedelta(days=7)
    if t < SEASON:
        notes.append(f"seasonal baseline skipped: {t} weeks of history < {SEASON}")
    sel = apply_filter(events, flt, ws.settings)
    notes += [n for n in data_notes(sel, ws.settings, cell_column=f"h3_{tier}", method="a forecast", flt=flt)
              if not n.startswith("no events at all from")]
    if float(h.counts.sum()) == 0:
        notes.append("no events in the analysed weeks: every forecast is zero")
    notes += grid_note(cw is not None)
    summary = {"tier": tier, "cells": int(len(gdf)), "weeks": t, "model": chosen,
               "forecast_week": str(pd.Timestamp(next_start).date()),
               "expected_total": float(preds[chosen].sum()), "last_week_total": float(h.counts[:, -1].sum()),
               "recent_weekly_mean": float(np.mean(recent)),
               **flt.describe()}
    if bt is not None:
        summary["backtest"] = bt.table.to_dict(orient="records")
        summary["backtest_folds"] = int(bt.folds["origin_week"].nunique())
        summary.update(winner_margin(bt))
    summary["notes"] = notes
    return ForecastResult(cells=gdf, summary=summary, backtest=bt)


# --------------------------------------------------------------------------- CLI
