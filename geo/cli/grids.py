"""The grid system: ``grid calibrate | crosswalk | reconcile | profile``."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from geo.cli.common import (
    add_filter_flags,
    add_workspace,
    events_for,
    open_workspace,
    print_json,
)
from geo.errors import GridwatchError
from geo.settings import TIERS


def require_grids(ws: Any) -> Any:
    if ws.grids is None:
        raise GridwatchError(f"workspace {ws.root} has no official grids; add them with "
                             "[workspace] grids = FILE in gridwatch.toml or `gridwatch init --grids FILE`")
    return ws.grids


def _default_tiers(ws: Any, args: argparse.Namespace) -> int:
    """``grid calibrate`` on a workspace without official grids: the default tiers' cell sizes."""
    import shapely

    from geo.grid.tiers import local_cell_km2

    if args.write:
        raise GridwatchError(f"workspace {ws.root} has no official grids, so there is nothing to calibrate "
                             "against; give them with --grids FILE (or [workspace] grids in gridwatch.toml)")
    point = shapely.point_on_surface(ws.area)
    res = {tier: ws.settings.tiers.resolution(tier) for tier in TIERS}
    km2 = local_cell_km2(np.array([point.x]), np.array([point.y]), tuple(sorted(set(res.values()))),
                         ws.settings.metric_crs)
    rows = [{"tier": t, "resolution": r, "cell_km2": round(km2[r], 4),
             "cell_edge_m": round(float(np.sqrt(km2[r] * 1e6 / (1.5 * np.sqrt(3)))), 1)} for t, r in res.items()]
    message = (f"no official grids are loaded in workspace {ws.root}: the tiers are the defaults of "
               "gridwatch.toml [settings.tiers]; give official grids with --grids FILE to calibrate them")
    if args.json:
        print_json({"tiers": rows, "written": False, "official_grids": False, "message": message})
    else:
        print(message)
        print(f"{'tier':<8}{'H3 res':>8}{'cell km²':>10}{'edge m':>9}")
        for r in rows:
            print(f"{r['tier']:<8}{r['resolution']:>8}{r['cell_km2']:>10.3f}{r['cell_edge_m']:>9.0f}")
    return 0


def cmd_grid_calibrate(args: argparse.Namespace) -> int:
    from geo.grid.officialgrids import read_official_grids
    from geo.grid.tiers import calibrate
    from geo.settings import Tiers
    from geo.store.workspace import update_settings

    ws = open_workspace(args)
    if not args.grids and ws.grids is None:
        return _default_tiers(ws, args)
    grids = read_official_grids(args.grids, tier_column=args.tier_column, id_column=args.id_column) \
        if args.grids else require_grids(ws)
    table = calibrate(grids, ws.settings.metric_crs)
    if args.write:
        res = {row.tier: int(row.resolution) for row in table.itertuples()}
        current = ws.settings.tiers
        ws = update_settings(ws, tiers=Tiers(big=res.get("big", current.big),
                                             middle=res.get("middle", current.middle),
                                             small=res.get("small", current.small)))
    if args.json:
        print_json({"tiers": table.to_dict(orient="records"), "written": bool(args.write),
                    "official_grids": True})
    else:
        print(f"{'tier':<8}{'count':>7}{'mean km²':>11}{'median km²':>12}{'H3 res':>8}{'cell km²':>10}"
              f"{'ratio':>8}")
        for r in table.itertuples():
            print(f"{r.tier:<8}{r.count:>7}{r.mean_km2:>11.3f}{r.median_km2:>12.3f}{r.resolution:>8}"
                  f"{r.cell_km2:>10.3f}{r.ratio:>8.2f}")
        if args.write:
            print(f"wrote the resolutions to {ws.root / 'gridwatch.toml'}")
    return 0


def cmd_grid_crosswalk(args: argparse.Namespace) -> int:
    from geo.grid import h3cells
    from geo.grid.tiers import crosswalk_for
    from geo.store.audit import record_export
    from geo.store.export import write_table

    ws = open_workspace(args)
    grids = require_grids(ws)
    cells, cw = crosswalk_for(ws.area, grids, ws.settings, args.tier)
    table = cw.cells.merge(cells[["cell", "lon", "lat", "area_share", "inside_km2"]], on="cell")
    shares = cw.pairs.assign(hex=h3cells.cells_to_hex(cw.pairs["cell"].to_numpy()))
    shares["part"] = shares["grid_id"] + ":" + shares["share"].round(4).astype(str)
    table["grids"] = table["cell"].map(shares.groupby("cell")["part"].agg(";".join))
    table.insert(0, "h3", h3cells.cells_to_hex(table["cell"].to_numpy()))
    table["res"] = cw.res
    out = write_table(table.drop(columns=["cell"]), args.out)
    record_export(ws, out, rows=len(table), command="grid crosswalk", tier=args.tier, res=cw.res)
    doc = {"out": str(out), "tier": args.tier, "res": cw.res, "cells": len(table),
           "grids": int(cw.pairs["grid_id"].nunique()), "cells_on_borders": int((table["n_grids"] > 1).sum())}
    if args.grids_out:
        grid_cells = cw.grid_cells()
        doc["grids_out"] = str(write_table(grid_cells, args.grids_out))
        record_export(ws, doc["grids_out"], rows=len(grid_cells), command="grid crosswalk --grids-out",
                      tier=args.tier, res=cw.res)
    if args.json:
        print_json(doc)
    else:
        print(f"crosswalk of {doc['cells']} {args.tier} cells (res {cw.res}) to {doc['grids']} official grids "
              f"({doc['cells_on_borders']} cells on grid borders) → {out}")
    return 0


def cmd_grid_reconcile(args: argparse.Namespace) -> int:
    from geo.grid.tiers import crosswalk_for, reconcile
    from geo.store.audit import record_export
    from geo.store.export import write_table

    ws = open_workspace(args)
    grids = require_grids(ws)
    events, flt = events_for(ws, args)
    _, cw = crosswalk_for(ws.area, grids, ws.settings, args.tier)
    table, totals = reconcile(events, cw)
    preserved = abs(totals["estimated_total"] - totals["cell_total"]) < 1e-6
    doc = {"tier": args.tier, **totals, "totals_preserved": preserved}
    if args.out:
        doc["out"] = str(write_table(table, args.out))
        record_export(ws, doc["out"], rows=len(table), command="grid reconcile", filters=flt.describe(),
                      tier=args.tier)
    if args.json:
        print_json(doc)
    else:
        print(f"{args.tier}: {totals['events']} events; exact per grid total {totals['exact_total']}, "
              f"area-weighted total {totals['estimated_total']:.6f} from {totals['cell_total']:.0f} events in "
              f"cells → totals preserved: {'yes' if preserved else 'NO'}")
        print(f"mean |estimated − exact| per grid: {totals['mean_abs_difference']:.2f}; "
              f"events without a grid: {totals['without_grid']}, outside the study cells: "
              f"{totals['outside_cells']}")
        worst = table.reindex(table["difference"].abs().sort_values(ascending=False).index).head(5)
        for r in worst.itertuples():
            print(f"    {r.grid_id:<16} exact {r.exact:>6}  estimated {r.estimated:>9.1f}  diff {r.difference:+.1f}")
    return 0 if preserved else 1


def cmd_grid_profile(args: argparse.Namespace) -> int:
    from geo.analysis.profile import cell_profile, monthly_ranking, official_grid_profile
    from geo.grid.tiers import crosswalk_for, study_area_cells
    from geo.store.audit import record_export
    from geo.store.export import write_table

    ws = open_workspace(args)
    events, flt = events_for(ws, args)
    if args.by == "cell":
        if ws.grids is not None:
            cells, cw = crosswalk_for(ws.area, ws.grids, ws.settings, args.tier)
            table = cell_profile(events, cells, args.tier, ws.settings, cw.cells)
        else:
            cells = study_area_cells(ws.area, ws.settings.tiers.resolution(args.tier), ws.settings.metric_crs)
            table = cell_profile(events, cells, args.tier, ws.settings)
        from geo.grid import h3cells

        table.insert(0, "h3", h3cells.cells_to_hex(table["cell"].to_numpy()))
        table = table.drop(columns=["cell"])
    elif args.by == "grid":
        table = official_grid_profile(events, require_grids(ws), args.tier, ws.settings)
    else:
        table = monthly_ranking(events, require_grids(ws), args.tier, ws.settings, args.month)
    out = write_table(table, args.out)
    record_export(ws, out, rows=len(table), command="grid profile", filters=flt.describe(), by=args.by,
                  tier=args.tier, month=args.month)
    from geo.analysis.notes import data_notes, grid_note

    notes = data_notes(events, ws.settings, cell_column=f"h3_{args.tier}", method="a profile", flt=flt)
    notes += grid_note(ws.grids is not None)
    if args.json:
        print_json({"out": str(out), "rows": len(table), "by": args.by, "tier": args.tier, "notes": notes})
    else:
        print(f"wrote {len(table)} rows ({args.by}, {args.tier}) to {out}")
        for note in notes:
            print(f"note: {note}")
        print(table.head(10).to_string(index=False, max_colwidth=20))
    return 0



def add_commands(sub: Any) -> None:
    """Add this group's commands to the ``gridwatch`` sub-parser."""
    grid = sub.add_parser("grid", help="H3 tiers, crosswalk and reconciliation with the official grids",
                          description="The grid system: calibrate tiers, crosswalk cells to official grids, "
                                      "reconcile counts, profile and rank grids.")
    gsub = grid.add_subparsers(dest="grid_command", metavar="SUBCOMMAND", required=True)
    p = gsub.add_parser("calibrate", help="H3 resolution matching each official tier",
                        description="Report per tier the count and mean/median area (metric CRS) of the official "
                                    "grids and the H3 resolution whose mean cell area here is closest.")
    p.add_argument("--grids", metavar="FILE", help="official grid file (default: the workspace's)")
    p.add_argument("--tier-column", default="tier")
    p.add_argument("--id-column", default="grid_id")
    p.add_argument("--write", action="store_true", help="write the chosen resolutions to gridwatch.toml")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_grid_calibrate)

    p = gsub.add_parser("crosswalk", help="cells ↔ official grids with area shares",
                        description="For every study-area cell of a tier: the official grids it overlaps with "
                                    "the share of each, its responsible grid, unit and street.")
    p.add_argument("--tier", choices=TIERS, default="small")
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    p.add_argument("--grids-out", metavar="FILE", help="also write every official grid with its cells")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_grid_crosswalk)

    for name, handler, helptext in (
            ("reconcile", cmd_grid_reconcile, "exact vs area-weighted events per official grid"),
            ("profile", cmd_grid_profile, "per-cell / per-grid profile and monthly ranking (月度排名)")):
        p = gsub.add_parser(name, help=helptext, description=helptext + ".")
        p.add_argument("--tier", choices=TIERS, default="small")
        add_filter_flags(p)
        if name == "profile":
            p.add_argument("--by", choices=("cell", "grid", "ranking"), default="grid")
            p.add_argument("--month", metavar="YYYY-MM", help="ranking month (default: the latest)")
            p.add_argument("--out", "-o", required=True, metavar="FILE")
        else:
            p.add_argument("--out", "-o", metavar="FILE", help="write the per-grid table")
        p.add_argument("--json", action="store_true")
        add_workspace(p)
        p.set_defaults(handler=handler)
