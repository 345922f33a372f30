"""Enforcement posts: ``posts`` (maximal covering) and ``segments`` (staff per road segment)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geo.cli.common import (
    add_filter_flags,
    add_workspace,
    collected_warnings,
    filter_from_args,
    open_workspace,
    print_json,
)


def cmd_posts(args: argparse.Namespace) -> int:
    from geo.analysis.notes import workspace_notes
    from geo.planning.posts import deployment_table, plan_posts
    from geo.store.audit import record_export
    from geo.store.database import read_events
    from geo.store.export import write_table

    ws = open_workspace(args)
    flt = filter_from_args(args)
    events = read_events(ws.store_path)
    with collected_warnings():
        plan = plan_posts(ws, events, flt, p=args.p, radius_m=args.radius,
                          candidates=args.candidates, candidates_crs=args.candidates_crs, existing=args.existing,
                          network=args.network, solver=args.solver, aggregate=args.aggregate,
                          curve_max=args.curve_max, time_limit=args.time_limit)
    out = Path(args.out)
    if out.suffix.lower() in (".xlsx", ".csv"):
        write_table(deployment_table(plan, args.lang), out, sheet_name="岗位部署表" if args.lang == "zh" else "posts")
    else:
        write_table(plan.posts, out)
    record_export(ws, out, rows=len(plan.posts), command="posts", filters=flt.describe(), p=args.p,
                  radius_m=args.radius, network=bool(args.network), solver=args.solver,
                  candidates=args.candidates, existing=args.existing)
    doc = {k: plan.summary[k] for k in ("p", "solver", "objective", "total_demand", "coverage", "gap", "seconds")}
    doc.update({k: v for k, v in plan.summary.items() if k not in doc})
    doc["out"] = str(out)
    notes = workspace_notes(ws, events, flt, method="post planning")
    if not plan.summary.get("total_demand"):
        notes.append("no demand in the filtered events: the posts cover nothing; their positions are arbitrary")
    doc["notes"] = notes
    if args.curve:
        doc["curve"] = str(write_table(plan.curve, args.curve))
        record_export(ws, doc["curve"], rows=len(plan.curve), command="posts --curve", filters=flt.describe(),
                      p=args.p, curve_max=args.curve_max)
    if args.json:
        print_json(doc)
    else:
        s = plan.summary
        print(f"{s['p']} posts ({s['solver']}, {s['status']}, gap {s['gap']:.3%} to the bound {s['upper_bound']:.1f}) cover {s['coverage']:.1%} of "
              f"the weighted demand in window {flt.window} (radius {s['radius_m']:g} m"
              f"{', along roads' if s['network'] else ''}); candidates: {s['candidate_source']} ({s['candidates']})")
        for r in plan.posts.head(args.p).itertuples():
            print(f"    {r.rank:>3}. {r.name:<36} +{r.marginal_gain:8.1f}  cum {r.cumulative_share:6.1%}"
                  + ("  (existing)" if r.existing else ""))
        if s.get("posts_for_80pct"):
            print(f"80% coverage needs {s['posts_for_80pct']} posts (greedy curve)")
        for note in notes:
            print(f"note: {note}")
        print(f"→ {out}")
    return 0


def cmd_segments(args: argparse.Namespace) -> int:
    from geo.analysis.notes import workspace_notes
    from geo.planning.posts import segment_staffing
    from geo.store.audit import record_export
    from geo.store.database import read_events
    from geo.store.export import write_table

    ws = open_workspace(args)
    flt = filter_from_args(args)
    windows = tuple(args.window_list.split(",")) if args.window_list else None
    events = read_events(ws.store_path)
    table = segment_staffing(ws, events, flt, args.staff, windows=windows,
                             segment_length_m=args.length, snap_m=args.snap)
    out = write_table(table, args.out)
    record_export(ws, out, rows=len(table), command="segments", filters=flt.describe(), staff=args.staff,
                  windows=list(windows) if windows else None, length_m=args.length, snap_m=args.snap)
    staffed = table[table["staff"] > 0]
    doc = {"out": str(out), "segments": int(table.groupby("window").size().iloc[0]),
           "windows": sorted(table["window"].unique().tolist()), "staff": args.staff,
           "staffed_segments": int(len(staffed))}
    notes = workspace_notes(ws, events, flt, method="segment staffing")
    if not int(table["events"].sum()):
        notes.append("no events on the road segments: no segment can be staffed in proportion to demand")
    doc["notes"] = notes
    if args.json:
        print_json(doc)
    else:
        print(f"{doc['segments']} road segments; {args.staff} staff per window → {out}")
        for note in notes:
            print(f"note: {note}")
        for r in staffed.sort_values(["window", "rank"]).head(15).itertuples():
            print(f"    {r.window:<14} {r.name:<20} {r.start_m:>6.0f}–{r.end_m:<6.0f}m  events {r.events:>5}  "
                  f"staff {r.staff}")
    return 0



def add_commands(sub: Any) -> None:
    """Add this group's commands to the ``gridwatch`` sub-parser."""
    p = sub.add_parser("posts", help="plan enforcement posts (maximal covering)",
                       description="Choose p posts at candidate sites (the workspace's intersections by default) "
                                   "covering the most category-weighted events in a window; exact MILP (HiGHS) or "
                                   "greedy; writes the deployment table (XLSX/CSV with Chinese headers, or "
                                   "GeoJSON/Parquet).")
    p.add_argument("--p", type=int, required=True, help="number of posts (existing ones included)")
    p.add_argument("--radius", type=float, metavar="METRES", help="coverage radius (default 300 m)")
    add_filter_flags(p)
    p.add_argument("--candidates", metavar="FILE", help="candidate sites: CSV with lon/lat or GeoJSON points")
    p.add_argument("--candidates-crs", default="WGS84", help="CRS of the candidate file's coordinates")
    p.add_argument("--existing", metavar="FILE", help="existing posts kept in the plan (CSV lon/lat or GeoJSON)")
    p.add_argument("--network", action="store_true", help="coverage along the road network")
    p.add_argument("--solver", choices=("auto", "exact", "greedy"))
    p.add_argument("--aggregate", action="store_true", help="demand as small-tier cells (very large inputs)")
    p.add_argument("--time-limit", type=float, metavar="SECONDS")
    p.add_argument("--curve", metavar="FILE", help="write the coverage curve (p = 1 … P)")
    p.add_argument("--curve-max", type=int, metavar="P")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="headers of XLSX/CSV output")
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_posts)

    p = sub.add_parser("segments", help="staff road segments in proportion to demand",
                       description="Split main and secondary roads into segments, attach each window's demand to "
                                   "the nearest segment and allocate N staff (largest remainder).")
    p.add_argument("--staff", type=int, required=True)
    add_filter_flags(p)
    p.add_argument("--windows", dest="window_list", metavar="W1,W2",
                   help="several windows at once (e.g. morning_peak,evening_peak)")
    p.add_argument("--length", type=float, metavar="METRES", help="segment length (default 500 m)")
    p.add_argument("--snap", type=float, metavar="METRES", help="snapping distance (default 50 m)")
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_segments)
