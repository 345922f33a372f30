"""Hot spots: ``hotspots`` (Gi* per cell) and ``zones`` (density clusters)."""

from __future__ import annotations

import argparse
from typing import Any

from geo.cli.common import (
    add_filter_flags,
    add_workspace,
    collected_warnings,
    filter_from_args,
    open_workspace,
    print_json,
)
from geo.settings import TIERS


def cmd_hotspots(args: argparse.Namespace) -> int:
    from geo.analysis.hotcells import hotspot_cells
    from geo.store.audit import record_export
    from geo.store.database import read_events
    from geo.store.export import write_table

    ws = open_workspace(args)
    events = read_events(ws.store_path)
    flt = filter_from_args(args)
    inference = args.inference
    if args.permutations:
        inference = "permutation"
    with collected_warnings() as caught:
        result = hotspot_cells(ws, events, flt, tier=args.tier, k=args.k, alpha=args.alpha,
                               fdr=False if args.no_fdr else None, inference=inference,
                               permutations=args.permutations or None, seed=args.seed)
    table = result.cells.drop(columns=["cell"]).rename(columns={"h3": "cell"})
    out = write_table(table, args.out)
    record_export(ws, out, rows=len(table), command="hotspots", filters=flt.describe(), tier=args.tier,
                  k=args.k, alpha=args.alpha, inference=inference, permutations=args.permutations,
                  fdr=not args.no_fdr, seed=args.seed)
    doc = {"out": str(out), **result.summary, "warnings": caught}
    if args.json:
        print_json(doc)
    else:
        s = result.summary
        print(f"{s['cells']} {args.tier} cells (res {s['res']}), {s['events']} events, window {flt.window}, "
              f"k={s['parameters']['k']}, inference {s['parameters']['inference']}, "
              f"FDR {'on' if s['parameters']['fdr'] else 'off'}")
        print("hot  99/95/90%: " + " / ".join(str(s["hot"][b]) for b in ("3", "2", "1")))
        print("cold 99/95/90%: " + " / ".join(str(s["cold"][b]) for b in ("3", "2", "1")))
        print(f"cells above the area rate on their own count (FDR): {s['cell_hot']}")
        for note in s["notes"]:
            print(f"note: {note}")
        print(f"→ {out}")
    return 0


def cmd_zones(args: argparse.Namespace) -> int:
    from geo.analysis.filters import apply_filter
    from geo.analysis.hotcells import hotspot_cells, hotspot_zones, zone_min_samples
    from geo.analysis.notes import workspace_notes
    from geo.store.audit import record_export
    from geo.store.database import read_events
    from geo.store.export import write_table

    ws = open_workspace(args)
    events = read_events(ws.store_path)
    flt = filter_from_args(args)
    hot = hotspot_cells(ws, events, flt, tier="small")
    zones = hotspot_zones(ws, events, flt, algorithm=args.algorithm, eps_m=args.eps, min_samples=args.min_samples,
                          hotspots=hot)
    out = write_table(zones, args.out)
    record_export(ws, out, rows=len(zones), command="zones", filters=flt.describe(), algorithm=args.algorithm,
                  eps_m=args.eps, min_samples=args.min_samples)
    doc = {"out": str(out), "zones": len(zones), "events_in_zones": int(zones["events"].sum()) if len(zones) else 0,
           "algorithm": args.algorithm or ws.settings.zones.algorithm,
           "eps_m": args.eps or ws.settings.zones.eps_m,
           "min_samples": args.min_samples or zone_min_samples(ws, len(apply_filter(events, flt, ws.settings)),
                                                               args.eps or ws.settings.zones.eps_m),
           **flt.describe()}
    notes = workspace_notes(ws, events, flt, method="density clustering")
    if not len(zones):
        n_sel = len(apply_filter(events, flt, ws.settings))
        notes.append(f"no zone: no {doc['min_samples']} of the {n_sel} filtered events lie within "
                     f"{doc['eps_m']:g} m of one another (too few or too spread out events, not proof of no "
                     "concentration)")
    doc["notes"] = notes
    if args.json:
        print_json(doc)
    else:
        print(f"{doc['zones']} zones holding {doc['events_in_zones']} events → {out}")
        for note in notes:
            print(f"note: {note}")
        for z in zones.head(10).itertuples():
            print(f"    zone {z.zone_id:>3}: {z.events:>5} events, {z.top_categories}, peak {z.peak_hour:02d}h, "
                  f"max bin {z.max_bin:+d}")
    return 0



def add_commands(sub: Any) -> None:
    """Add this group's commands to the ``gridwatch`` sub-parser."""
    p = sub.add_parser("hotspots", help="Getis-Ord Gi* hot and cold spots per cell",
                       description="Counts, densities and Gi* (k-ring, FDR by default) for every cell of the filled "
                                   "study area; writes GeoJSON/CSV/Parquet by extension.")
    p.add_argument("--tier", choices=TIERS, default="small")
    add_filter_flags(p)
    p.add_argument("--k", type=int, help="k-ring neighbourhood (default from the workspace: 1)")
    p.add_argument("--inference", choices=("csr", "analytic", "pooled", "permutation"),
                   help="how p-values are obtained (default: csr, calibrated by simulation; see geo/analysis/gistar.py)")
    p.add_argument("--permutations", type=int, help="use conditional permutation inference with N permutations")
    p.add_argument("--alpha", type=float, help="FDR level for the significance summary (default 0.05)")
    p.add_argument("--no-fdr", action="store_true", help="judge bins on raw p-values (no Benjamini–Hochberg)")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_hotspots)

    p = sub.add_parser("zones", help="density clusters of events as hotspot zones",
                       description="DBSCAN/HDBSCAN on event points projected to the metric CRS; each zone a polygon "
                                   "with counts, top categories, peak hour/weekday, grids and Gi* bins.")
    add_filter_flags(p)
    p.add_argument("--algorithm", choices=("dbscan", "hdbscan"))
    p.add_argument("--eps", type=float, metavar="METRES", help="DBSCAN radius in metres (default 100)")
    p.add_argument("--min-samples", type=int)
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_zones)
