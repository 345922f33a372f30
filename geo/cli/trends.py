"""Command-line handlers of the trend analyses: ``gridwatch trends | gaps | forecast | review``.

Kept apart from the library modules (:mod:`geo.analysis.trends`, :mod:`geo.analysis.gaps`, :mod:`geo.analysis.forecast`,
:mod:`geo.analysis.review`), which only compute; :func:`add_commands` registers the four commands on the
main parser of :mod:`geo.cli`.
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from geo.analysis.forecast import BASELINES, LEARNED, forecast
from geo.analysis.gaps import GapError, coverage_gaps
from geo.analysis.notes import workspace_notes
from geo.analysis.review import ReviewError, campaign_review, parse_campaign, problem_list
from geo.analysis.trends import emerging_hotspots


def _export(ws: Any, table: pd.DataFrame, out: str, command: str, flt: Any, **params: Any) -> str:
    """Write an export and record it in the audit log (who, what, filters)."""
    from geo.store.audit import record_export
    from geo.store.export import local_times, write_table

    path = write_table(local_times(table, ws.settings.timezone), out)
    record_export(ws, path, rows=len(table), command=command, filters=flt.describe(), **params)
    return str(path)


# --- trends ------------------------------------------------------------------------------------

def cmd_trends(args: argparse.Namespace) -> int:
    from geo.cli.common import filter_from_args, open_workspace, print_json
    from geo.store.database import read_events

    ws = open_workspace(args)
    flt = filter_from_args(args)
    period: str | int = int(args.period) if str(args.period).isdigit() else args.period
    result = emerging_hotspots(ws, read_events(ws.store_path), flt, tier=args.tier, period=period, k=args.k,
                               time_step=args.time_step, alpha=args.alpha, trend_alpha=args.trend_alpha,
                               min_slices=args.min_slices)
    table = result.cells.drop(columns=["cell"]).rename(columns={"h3": "cell"})
    doc = {"out": _export(ws, table, args.out, "trends", flt, tier=args.tier, period=args.period), **result.summary}
    if args.json:
        print_json(doc)
    else:
        s = result.summary
        print(f"{s['cells']} {args.tier} cells × {s['slices']} slices of {s['period_days']} days "
              f"({s['first_slice']} … {s['last_slice']}), {s['events']} events")
        for name, count in s["classes"].items():
            print(f"    {name:<26} {count}")
        for note in s["notes"]:
            print(f"note: {note}")
        print(f"→ {doc['out']}")
    return 0


def add_trends_command(subparsers: Any) -> None:
    """Register ``gridwatch trends`` on an argparse subparsers object."""
    from geo.cli.common import add_filter_flags, add_workspace
    from geo.settings import TIERS

    p = subparsers.add_parser("trends", help="emerging hot spots (space-time Gi* + Mann-Kendall)",
                              description="Space-time cube of events per cell and period, Gi* per bin with "
                                          "space-time neighbours, Mann-Kendall trend of each cell's z-scores and "
                                          "the ArcGIS emerging hot-spot classes (new, consecutive, intensifying, "
                                          "persistent, diminishing, sporadic, oscillating, historical; hot and "
                                          "cold).")
    p.add_argument("--tier", choices=TIERS, default="small")
    p.add_argument("--period", default="week", help="slice length: day, week, fortnight, 4weeks or N days")
    add_filter_flags(p)
    p.add_argument("--k", type=int, help="k-ring spatial neighbourhood (default from the workspace)")
    p.add_argument("--time-step", type=int, default=1, help="previous slices in a bin's neighbourhood")
    p.add_argument("--alpha", type=float, default=0.10, help="FDR level of a significant bin (default 0.10)")
    p.add_argument("--trend-alpha", type=float, default=0.05, help="Mann-Kendall level (default 0.05)")
    p.add_argument("--min-slices", type=int, default=10)
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_trends)


# --- gaps --------------------------------------------------------------------------------------

def cmd_gaps(args: argparse.Namespace) -> int:
    from geo.cli.common import filter_from_args, open_workspace, print_json
    from geo.store.database import read_events

    ws = open_workspace(args)
    flt = filter_from_args(args)
    tracks = None
    if args.tracks:
        tracks = pd.read_parquet(args.tracks) if args.tracks.endswith(".parquet") else pd.read_csv(args.tracks)
    windows = tuple(args.window_list.split(",")) if args.window_list else None
    res = coverage_gaps(ws, read_events(ws.store_path), flt, tier=args.tier, windows=windows, tracks=tracks,
                        track_weight=args.track_weight)
    table = res.grids if args.by == "grid" else res.cells.drop(columns=["cell"])
    if table is None:
        raise GapError(f"workspace {ws.root} has no official grids; use --by cell")
    doc: dict[str, Any] = dict(res.summary)
    if args.out:
        doc["out"] = _export(ws, table, args.out, "gaps", flt, tier=args.tier, by=args.by)
    if args.json:
        print_json(doc)
        return 0
    short = res.summary["cells_with_shortfall"]
    print(f"{res.summary['cells']} {args.tier} cells, windows {', '.join(res.summary['windows'])}: demand "
          f"{res.summary['demand']}, patrol {res.summary['patrol']:.0f}; "
          + (f"{short} cells under-patrolled somewhere" if short is not None else "coverage not measured"))
    for note in res.summary["notes"]:
        print(f"note: {note}")
    key = "grid_id" if args.by == "grid" else "h3"
    for r in table.head(10).itertuples(index=False):
        d = r._asdict()
        print(f"    {d['rank']:>3}. {d[key]:<16} shortfall {d['max_shortfall']:6.1f} in {d['worst_window']:<13} "
              f"(demand {d['worst_window_demand']:.0f}, patrol {d['worst_window_patrol']:.0f})")
    if args.out:
        print(f"→ {doc['out']}")
    return 0


def add_gaps_command(subparsers: Any) -> None:
    """Register ``gridwatch gaps`` on an argparse subparsers object."""
    from geo.cli.common import add_filter_flags, add_workspace
    from geo.settings import TIERS

    p = subparsers.add_parser("gaps", help="patrol coverage gaps (high demand, little patrol)",
                              description="Per cell and time window: demand (hotline + violation + snapshot) "
                                          "against patrol reports (and track points); cells and official grids "
                                          "ranked by patrol shortfall, with the window where it is largest.")
    p.add_argument("--tier", choices=TIERS, default="small")
    add_filter_flags(p)
    p.add_argument("--windows", dest="window_list", metavar="W1,W2", help="windows compared (default: all named)")
    p.add_argument("--tracks", metavar="FILE", help="patrol track points (CSV/Parquet with lon, lat, occurred_at)")
    p.add_argument("--track-weight", type=float, default=0.1, help="patrol reports one track point is worth")
    p.add_argument("--by", choices=("cell", "grid"), default="cell")
    p.add_argument("--out", "-o", metavar="FILE")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_gaps)


# --- forecast ----------------------------------------------------------------------------------

def cmd_forecast(args: argparse.Namespace) -> int:
    from geo.cli.common import filter_from_args, open_workspace, print_json
    from geo.store.database import read_events

    ws = open_workspace(args)
    flt = filter_from_args(args)
    res = forecast(ws, read_events(ws.store_path), flt, tier=args.tier, model=args.model,
                   run_backtest=args.backtest, folds=args.folds, seed=args.seed)
    doc: dict[str, Any] = dict(res.summary)
    if args.out:
        doc["out"] = _export(ws, res.cells.drop(columns=["cell"]).rename(columns={"h3": "cell"}), args.out, "forecast",
                             flt, tier=args.tier, model=args.model)
    if args.backtest_out and res.backtest is not None:
        doc["backtest_out"] = _export(ws, res.backtest.folds, args.backtest_out, "forecast backtest", flt)
    if args.json:
        print_json(doc)
        return 0
    s = res.summary
    print(f"forecast of week {s['forecast_week']} for {s['cells']} {args.tier} cells from {s['weeks']} weeks: "
          f"model {s['model']}, expected {s['expected_total']:.0f} events (last week {s['last_week_total']:.0f})")
    if res.backtest is not None:
        print(f"backtest ({s['backtest_folds']} rolling origins), mean over folds:")
        print(f"    {'model':<14}{'hit 1%':>8}{'hit 5%':>8}{'hit 10%':>9}{'PAI 1%':>8}{'PAI 5%':>8}{'PAI 10%':>9}"
              f"{'MAE':>10}")
        # to_dict, not itertuples: namedtuples rename the columns 'hit_1%' … to _1, _2 (the old KeyError)
        for d in res.backtest.table.to_dict(orient="records"):
            print(f"    {d['model']:<14}{d['hit_1%']:>8.3f}{d['hit_5%']:>8.3f}{d['hit_10%']:>9.3f}"
                  f"{d['pai_1%']:>8.2f}{d['pai_5%']:>8.2f}{d['pai_10%']:>9.2f}{d['mae']:>10.3g}"
                  + ("  ← default" if d["default"] else "") + (f"  ⚠ {d['flag']}" if d["flag"] else ""))
        if s.get("runner_up"):
            print(f"winner {s['winner']}: PAI 5% {s['winner_pai_5']:.2f} vs {s['runner_up_pai_5']:.2f} for "
                  f"{s['runner_up']} (by {s['margin_pai_5']:+.2f})")
        else:
            print(f"winner {s['winner']} (no other eligible model)")
    for note in s.get("notes", []):
        print(f"note: {note}")
    if args.out:
        print(f"→ {doc['out']}")
    return 0


def add_forecast_command(subparsers: Any) -> None:
    """Register ``gridwatch forecast`` on an argparse subparsers object."""
    from geo.cli.common import add_filter_flags, add_workspace
    from geo.settings import TIERS

    p = subparsers.add_parser("forecast", help="next-week expected events per cell (+ backtest)",
                              description="Expected events per cell next week from baselines and learned "
                                          "Poisson models; --backtest reports hit rate and PAI at 1/5/10 %% of "
                                          "the area for every model over rolling origins.")
    p.add_argument("--tier", choices=TIERS, default="small")
    add_filter_flags(p)
    p.add_argument("--model", default="auto", choices=("auto",) + BASELINES + LEARNED,
                   help="model (default: the backtest's winner; a learned model only if it beats the baselines)")
    p.add_argument("--backtest", action="store_true", help="print the rolling-origin backtest table")
    p.add_argument("--folds", type=int, default=8, help="rolling origins (weeks) in the backtest")
    p.add_argument("--backtest-out", metavar="FILE", help="write the per-fold backtest metrics")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", "-o", metavar="FILE", help="write the per-cell forecast")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_forecast)


# --- review ------------------------------------------------------------------------------------

def cmd_review(args: argparse.Namespace) -> int:
    from geo.cli.common import filter_from_args, open_workspace, print_json
    from geo.store.database import read_events

    ws = open_workspace(args)
    flt = filter_from_args(args)
    events = read_events(ws.store_path)
    doc: dict[str, Any] = {}
    if args.campaign:
        if not args.area:
            raise ReviewError("--campaign needs --area (comma-separated official grid ids or a polygon file)")
        start, end = parse_campaign(args.campaign)
        from pathlib import Path

        is_file = Path(args.area).exists()
        res = campaign_review(ws, events, start, end, grid_ids=None if is_file else tuple(args.area.split(",")),
                              polygon=args.area if is_file else None, flt=flt, seed=args.seed)
        doc["review"] = res.summary
        if args.out:
            doc["out"] = _export(ws, res.weekly, args.out, "review", flt, campaign=args.campaign)
    doc["notes"] = workspace_notes(ws, events, flt, tier=args.tier, method="the review")
    if args.problems or not args.campaign:
        plist = problem_list(ws, events, flt, tier=args.tier, cool_weeks=args.cool_weeks)
        doc["problems"] = {"work_orders": int((plist["kind"] == "work_order").sum()),
                           "overdue": int(plist["overdue"].fillna(False).astype(bool).sum()),
                           "hot_cells": int((plist["kind"] == "hot_cell").sum()),
                           "hot_cells_cleared": int(((plist["kind"] == "hot_cell") & plist["cleared"]).sum())}
        target = args.problems or (args.out if not args.campaign else None)
        if target:
            doc["problems_out"] = _export(ws, plist, target, "review problems", flt)
            doc.setdefault("out", doc["problems_out"])
    if args.json:
        print_json(doc)
        return 0
    if "review" in doc:
        s = doc["review"]
        print(f"campaign {s['start']} … {s['end']} in {s['area']}: inside {s['inside_before']} → "
              f"{s['inside_campaign']} events, comparison {s['comparison_before']} → {s['comparison_campaign']} "
              f"({s['weeks_before']} weeks before, {s['weeks_after']} during)")
        print(f"    difference-in-differences change {s['change']:+.1%} (95% CI {s['ci_low']:+.1%} … "
              f"{s['ci_high']:+.1%}; Welch log-ratio {s['welch_change']:+.1%}, {s['welch_ci_low']:+.1%} … "
              f"{s['welch_ci_high']:+.1%})")
        print(f"    hot cells in the area: {s['hot_before']} before, {s['hot_during']} during, "
              f"{s['came_back']} came back")
        for note in s["notes"]:
            print(f"    note: {note}")
    if "problems" in doc:
        p = doc["problems"]
        print(f"problem list: {p['work_orders']} work orders ({p['overdue']} overdue), {p['hot_cells']} hot cells "
              f"({p['hot_cells_cleared']} 销号)")
    for note in doc["notes"]:
        print(f"note: {note}")
    return 0


def add_review_command(subparsers: Any) -> None:
    """Register ``gridwatch review`` on an argparse subparsers object."""
    from geo.cli.common import add_filter_flags, add_workspace
    from geo.settings import TIERS

    p = subparsers.add_parser("review", help="problem list and 回头看 campaign evaluation",
                              description="Without --campaign: the problem list (work orders with age/overdue, "
                                          "hot cells with 销号). With --area and --campaign START:END: the "
                                          "before/after difference-in-differences inside the area against the rest "
                                          "of the study area, with a bootstrap interval, and the hot cells that "
                                          "came back.")
    p.add_argument("--area", help="official grid ids (comma-separated) or a polygon file")
    p.add_argument("--campaign", metavar="START:END", help="campaign dates YYYY-MM-DD:YYYY-MM-DD")
    p.add_argument("--tier", choices=TIERS, default="small")
    add_filter_flags(p)
    p.add_argument("--cool-weeks", type=int, default=4, help="weeks a hot cell must stay cool for 销号")
    p.add_argument("--problems", metavar="FILE", help="write the problem list")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", "-o", metavar="FILE", help="weekly before/after table (or the problem list)")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_review)


def add_commands(subparsers: Any) -> None:
    """Register the four trend commands on the ``gridwatch`` subparsers."""
    for add in (add_trends_command, add_gaps_command, add_forecast_command, add_review_command):
        add(subparsers)
