"""The ``gridwatch`` command line.

Each command parses its flags, calls one library function and prints a short
human summary (or, with ``--json``, one JSON document on stdout).  Errors a
user can fix print ``error: …`` on stderr and exit with status 2; the store
is never left half-written.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from geo.errors import GridwatchError
from geo.settings import SOURCES, TIERS

Handler = Callable[[argparse.Namespace], int]


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


def _stderr_progress(label: str) -> Callable[[str, float], None]:
    def progress(stage: str, fraction: float) -> None:
        print(f"[{label}] {stage:<12} {fraction:6.0%}", file=sys.stderr, flush=True)
    return progress


@contextmanager
def _collected_warnings() -> Iterator[list[str]]:
    """Collect library warnings; print them on stderr when the block ends (and let --json carry them)."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
        messages.extend(str(w.message) for w in caught)
    for m in messages:
        print(f"warning: {m}", file=sys.stderr)


def _workspace(args: argparse.Namespace) -> Any:
    from geo.workspace import load_workspace

    return load_workspace(getattr(args, "workspace", None))


# --- commands --------------------------------------------------------------------

def cmd_init(args: argparse.Namespace) -> int:
    from geo.workspace import init_workspace

    bbox = None
    if args.bbox:
        try:
            bbox = tuple(float(v) for v in args.bbox.split(","))
        except ValueError:
            bbox = ()
        if len(bbox) != 4:
            raise GridwatchError(f"--bbox {args.bbox!r} must be four numbers minlon,minlat,maxlon,maxlat")
    ws = init_workspace(args.directory, area=args.area, bbox=bbox, grids=args.grids,  # type: ignore[arg-type]
                        timezone=args.timezone, name=args.name, metric_crs=args.metric_crs)
    doc = {"workspace": str(ws.root), "metric_crs": ws.settings.metric_crs,
           "timezone": ws.settings.timezone, "grids": bool(ws.paths.get("grids"))}
    if args.json:
        _print_json(doc)
    else:
        print(f"created workspace {ws.root} (metric CRS {ws.settings.metric_crs}, "
              f"time zone {ws.settings.timezone}); next: gridwatch ingest FILE --source S "
              f"--workspace {ws.root}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from geo.ingest import ingest_file

    ws = _workspace(args)
    reports = []
    for file in args.files:
        progress = None if args.quiet else _stderr_progress(Path(file).name)
        report = ingest_file(file, args.source, ws, crs=args.crs, mapping_file=args.mapping,
                             encoding=args.encoding, sheet=args.sheet, progress=progress)
        reports.append(report.to_dict())
        if not args.json:
            r = report
            print(f"{r.file}: read {r.read}, stored {r.stored}, duplicates {r.duplicates}, "
                  f"quarantined {r.quarantined}" + (f" → {r.quarantine_file}" if r.quarantine_file else ""))
            for reason, count in sorted(r.by_reason.items()):
                print(f"    {reason}: {count}")
            if r.other_categories:
                print(f"    kept as 'other' category: {sum(r.other_categories.values())} "
                      f"({', '.join(list(r.other_categories)[:5])})")
            if r.near_duplicates:
                print(f"    near duplicates flagged: {r.near_duplicates}")
            for w in r.warnings:
                print(f"    warning: {w}")
    if args.json:
        _print_json(reports[0] if len(reports) == 1 else reports)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from geo.store import store_counts

    ws = _workspace(args)
    counts = store_counts(ws.store_path)
    doc = {"workspace": str(ws.root), "store": str(ws.store_path), **counts}
    if args.json:
        _print_json(doc)
        return 0
    print(f"workspace {ws.root}\nstore     {ws.store_path}\nevents    {counts['events']}"
          f" ({counts['first']} … {counts['last']})")
    for title, key in (("by source", "by_source"), ("by month", "by_month"),
                       ("by category", "by_category"), ("cells with events", "cells_with_events")):
        print(f"{title}:")
        for k, v in counts[key].items():
            print(f"    {k:<24} {v}")
    ing = counts["ingests"]
    print(f"ingests: {ing['files']} files, read {ing['read']}, stored {ing['stored']}, "
          f"duplicates {ing['duplicates']}, quarantined {ing['quarantined']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from geo.audit import record_export
    from geo.export import write_table

    ws = _workspace(args)
    events, flt = _events_for(ws, args)
    events = events.drop(columns=[c for c in events.columns if c.endswith("_hash")])
    path = write_table(events, args.out)
    record_export(ws, path, rows=len(events), command="export", filters=flt.describe())
    doc = {"out": str(path), "events": len(events)}
    if args.json:
        _print_json(doc)
    else:
        print(f"wrote {len(events)} events to {path}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from geo.sample import write_sample

    summary = write_sample(args.out, seed=args.seed, months=args.months, scale=args.scale)
    if args.json:
        _print_json(summary)
    else:
        print(f"wrote sample exports to {args.out} ({summary['events']} events, {summary['seconds']:.1f} s):")
        for name, info in summary["files"].items():
            dirt = sum(summary["dirt"].get(name, {}).values())
            print(f"    {name:<24} {info['rows']:>8} rows  {info['bytes'] / 1e6:6.2f} MB"
                  + (f"  dirt {dirt} ({dirt / max(info['rows'], 1):.1%})" if dirt else ""))
        for w in summary.get("warnings", []):
            print(f"    warning: {w}")
    return 0


def cmd_setup_sample(args: argparse.Namespace) -> int:
    from geo.pipeline import ensure_sample_workspace, report_table

    ws, reports = ensure_sample_workspace(args.workspace,
                                          progress=None if args.quiet else _stderr_progress("sample"))
    rows = report_table(reports)
    if args.json:
        _print_json({"workspace": str(ws.root), "ingested": rows})
    elif rows:
        for r in rows:
            print(f"{r['file']:<20} read {r['read']:>6}  stored {r['stored']:>6}  "
                  f"duplicates {r['duplicates']:>4}  quarantined {r['quarantined']:>5}")
    else:
        print(f"sample workspace {ws.root} is ready (store already filled)")
    return 0


def _events_for(ws: Any, args: argparse.Namespace) -> Any:
    """Stored events passing the command's filter flags."""
    from geo.filters import apply_filter
    from geo.store import read_events

    flt = _filter_from_args(args)
    return apply_filter(read_events(ws.store_path), flt, ws.settings), flt


def _date(value: str | None) -> Any:
    from datetime import date

    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GridwatchError(f"date {value!r} is not YYYY-MM-DD") from None


def _require_grids(ws: Any) -> Any:
    if ws.grids is None:
        raise GridwatchError(f"workspace {ws.root} has no official grids; add them with "
                             "[workspace] grids = FILE in gridwatch.toml or `gridwatch init --grids FILE`")
    return ws.grids


def cmd_grid_calibrate(args: argparse.Namespace) -> int:
    from geo.grid import calibrate
    from geo.officialgrids import read_official_grids
    from geo.settings import Tiers
    from geo.workspace import update_settings

    ws = _workspace(args)
    grids = read_official_grids(args.grids, tier_column=args.tier_column, id_column=args.id_column) \
        if args.grids else _require_grids(ws)
    table = calibrate(grids, ws.settings.metric_crs)
    if args.write:
        res = {row.tier: int(row.resolution) for row in table.itertuples()}
        current = ws.settings.tiers
        ws = update_settings(ws, tiers=Tiers(big=res.get("big", current.big),
                                             middle=res.get("middle", current.middle),
                                             small=res.get("small", current.small)))
    if args.json:
        _print_json({"tiers": table.to_dict(orient="records"), "written": bool(args.write)})
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
    from geo import h3cells
    from geo.audit import record_export
    from geo.export import write_table
    from geo.grid import crosswalk_for

    ws = _workspace(args)
    grids = _require_grids(ws)
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
        _print_json(doc)
    else:
        print(f"crosswalk of {doc['cells']} {args.tier} cells (res {cw.res}) to {doc['grids']} official grids "
              f"({doc['cells_on_borders']} cells on grid borders) → {out}")
    return 0


def cmd_grid_reconcile(args: argparse.Namespace) -> int:
    from geo.audit import record_export
    from geo.export import write_table
    from geo.grid import crosswalk_for, reconcile

    ws = _workspace(args)
    grids = _require_grids(ws)
    events, flt = _events_for(ws, args)
    _, cw = crosswalk_for(ws.area, grids, ws.settings, args.tier)
    table, totals = reconcile(events, cw)
    preserved = abs(totals["estimated_total"] - totals["cell_total"]) < 1e-6
    doc = {"tier": args.tier, **totals, "totals_preserved": preserved}
    if args.out:
        doc["out"] = str(write_table(table, args.out))
        record_export(ws, doc["out"], rows=len(table), command="grid reconcile", filters=flt.describe(),
                      tier=args.tier)
    if args.json:
        _print_json(doc)
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
    from geo.audit import record_export
    from geo.export import write_table
    from geo.grid import crosswalk_for, study_area_cells
    from geo.profile import cell_profile, monthly_ranking, official_grid_profile

    ws = _workspace(args)
    events, flt = _events_for(ws, args)
    if args.by == "cell":
        if ws.grids is not None:
            cells, cw = crosswalk_for(ws.area, ws.grids, ws.settings, args.tier)
            table = cell_profile(events, cells, args.tier, ws.settings, cw.cells)
        else:
            cells = study_area_cells(ws.area, ws.settings.tiers.resolution(args.tier), ws.settings.metric_crs)
            table = cell_profile(events, cells, args.tier, ws.settings)
        from geo import h3cells

        table.insert(0, "h3", h3cells.cells_to_hex(table["cell"].to_numpy()))
        table = table.drop(columns=["cell"])
    elif args.by == "grid":
        table = official_grid_profile(events, _require_grids(ws), args.tier, ws.settings)
    else:
        table = monthly_ranking(events, _require_grids(ws), args.tier, ws.settings, args.month)
    out = write_table(table, args.out)
    record_export(ws, out, rows=len(table), command="grid profile", filters=flt.describe(), by=args.by,
                  tier=args.tier, month=args.month)
    if args.json:
        _print_json({"out": str(out), "rows": len(table), "by": args.by, "tier": args.tier})
    else:
        print(f"wrote {len(table)} rows ({args.by}, {args.tier}) to {out}")
        print(table.head(10).to_string(index=False, max_colwidth=20))
    return 0


def cmd_hotspots(args: argparse.Namespace) -> int:
    from geo.analysis import hotspot_cells
    from geo.audit import record_export
    from geo.export import write_table
    from geo.store import read_events

    ws = _workspace(args)
    events = read_events(ws.store_path)
    flt = _filter_from_args(args)
    inference = args.inference
    if args.permutations:
        inference = "permutation"
    with _collected_warnings() as caught:
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
        _print_json(doc)
    else:
        s = result.summary
        print(f"{s['cells']} {args.tier} cells (res {s['res']}), {s['events']} events, window {flt.window}, "
              f"k={s['parameters']['k']}, inference {s['parameters']['inference']}, "
              f"FDR {'on' if s['parameters']['fdr'] else 'off'}")
        print("hot  99/95/90%: " + " / ".join(str(s["hot"][b]) for b in ("3", "2", "1")))
        print("cold 99/95/90%: " + " / ".join(str(s["cold"][b]) for b in ("3", "2", "1")))
        print(f"→ {out}")
    return 0


def _filter_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~geo.filters.EventFilter` given by the shared filter flags."""
    from geo.filters import EventFilter

    return EventFilter(window=getattr(args, "window", None) or "all",
                             sources=tuple(getattr(args, "source", None) or ()),
                             categories=tuple(getattr(args, "category", None) or ()),
                             since=_date(getattr(args, "since", None)), until=_date(getattr(args, "until", None)))


def cmd_zones(args: argparse.Namespace) -> int:
    from geo.analysis import hotspot_cells, hotspot_zones, zone_min_samples
    from geo.audit import record_export
    from geo.export import write_table
    from geo.filters import apply_filter
    from geo.store import read_events

    ws = _workspace(args)
    events = read_events(ws.store_path)
    flt = _filter_from_args(args)
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
    if args.json:
        _print_json(doc)
    else:
        print(f"{doc['zones']} zones holding {doc['events_in_zones']} events → {out}")
        for z in zones.head(10).itertuples():
            print(f"    zone {z.zone_id:>3}: {z.events:>5} events, {z.top_categories}, peak {z.peak_hour:02d}h, "
                  f"max bin {z.max_bin:+d}")
    return 0


def cmd_posts(args: argparse.Namespace) -> int:
    from geo.audit import record_export
    from geo.export import write_table
    from geo.planning import deployment_table, plan_posts
    from geo.store import read_events

    ws = _workspace(args)
    flt = _filter_from_args(args)
    with _collected_warnings():
        plan = plan_posts(ws, read_events(ws.store_path), flt, p=args.p, radius_m=args.radius,
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
    if args.curve:
        doc["curve"] = str(write_table(plan.curve, args.curve))
        record_export(ws, doc["curve"], rows=len(plan.curve), command="posts --curve", filters=flt.describe(),
                      p=args.p, curve_max=args.curve_max)
    if args.json:
        _print_json(doc)
    else:
        s = plan.summary
        print(f"{s['p']} posts ({s['solver']}, {s['status']}, gap {s['gap']:.3%}) cover {s['coverage']:.1%} of "
              f"the weighted demand in window {flt.window} (radius {s['radius_m']:g} m"
              f"{', along roads' if s['network'] else ''}); candidates: {s['candidate_source']} ({s['candidates']})")
        for r in plan.posts.head(args.p).itertuples():
            print(f"    {r.rank:>3}. {r.name:<36} +{r.marginal_gain:8.1f}  cum {r.cumulative_share:6.1%}"
                  + ("  (existing)" if r.existing else ""))
        if s.get("posts_for_80pct"):
            print(f"80% coverage needs {s['posts_for_80pct']} posts (greedy curve)")
        print(f"→ {out}")
    return 0


def cmd_segments(args: argparse.Namespace) -> int:
    from geo.audit import record_export
    from geo.export import write_table
    from geo.planning import segment_staffing
    from geo.store import read_events

    ws = _workspace(args)
    flt = _filter_from_args(args)
    windows = tuple(args.window_list.split(",")) if args.window_list else None
    table = segment_staffing(ws, read_events(ws.store_path), flt, args.staff, windows=windows,
                             segment_length_m=args.length, snap_m=args.snap)
    out = write_table(table, args.out)
    record_export(ws, out, rows=len(table), command="segments", filters=flt.describe(), staff=args.staff,
                  windows=list(windows) if windows else None, length_m=args.length, snap_m=args.snap)
    staffed = table[table["staff"] > 0]
    doc = {"out": str(out), "segments": int(table.groupby("window").size().iloc[0]),
           "windows": sorted(table["window"].unique().tolist()), "staff": args.staff,
           "staffed_segments": int(len(staffed))}
    if args.json:
        _print_json(doc)
    else:
        print(f"{doc['segments']} road segments; {args.staff} staff per window → {out}")
        for r in staffed.sort_values(["window", "rank"]).head(15).itertuples():
            print(f"    {r.window:<14} {r.name:<20} {r.start_m:>6.0f}–{r.end_m:<6.0f}m  events {r.events:>5}  "
                  f"staff {r.staff}")
    return 0


# --- parser ----------------------------------------------------------------------------

def _add_workspace(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", "-w", metavar="DIR",
                   help="workspace folder (default: $GRIDWATCH_WORKSPACE, else the shipped Xicheng sample)")


def _add_filter_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window", help="named time window (all, morning_peak, evening_peak, day, night, "
                                    "weekday, weekend, or the workspace's own)")
    p.add_argument("--source", action="append", choices=SOURCES, help="only these sources (repeatable)")
    p.add_argument("--category", action="append", help="only these category codes (repeatable)")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="first local date (inclusive)")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="last local date (inclusive)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridwatch",
        description="Grid-based urban enforcement analytics: ingest patrol / 12345 hotline / violation "
                    "exports, index them on H3 grids, find hotspots and plan enforcement posts.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", help="create a workspace from a study area",
                       description="Create a workspace folder from a study-area polygon file or a bbox.")
    p.add_argument("directory", metavar="DIR")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--area", metavar="FILE", help="study area polygon(s): GeoJSON, GeoPackage, GeoParquet")
    g.add_argument("--bbox", metavar="MINLON,MINLAT,MAXLON,MAXLAT", help="study area as a WGS84 box")
    p.add_argument("--grids", metavar="FILE", help="official grid polygons (tier column or one layer per tier)")
    p.add_argument("--timezone", default="Asia/Shanghai", help="IANA time zone of the exports' local times")
    p.add_argument("--name", help="display name of the workspace")
    p.add_argument("--metric-crs", help="projected CRS for distances (default: chosen from the area)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("ingest", help="ingest raw exports into the event store",
                       description="Ingest files (CSV in UTF-8/GBK, XLSX, GeoJSON, GeoParquet). Every row is "
                                   "stored, counted as a duplicate or quarantined with its reason; one file is "
                                   "one transaction.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--source", "-s", required=True, choices=SOURCES)
    p.add_argument("--crs", help="coordinate system of the file: WGS84, GCJ02, BD09, CGCS2000 or EPSG:xxxx "
                                 "(default: the file's declaration, else the workspace's default for the source)")
    p.add_argument("--mapping", metavar="FILE", help="TOML column mapping for unrecognised headers")
    p.add_argument("--encoding", help="force a text encoding (normally detected)")
    p.add_argument("--sheet", help="XLSX sheet name (default: the first)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    _add_workspace(p)
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("status", help="what the store holds",
                       description="Counts of stored events by source, category, month and tier.")
    p.add_argument("--json", action="store_true", help="print JSON (total as \"events\")")
    _add_workspace(p)
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("export", help="export events to GeoParquet/GeoJSON/CSV/XLSX",
                       description="Export stored events (personal data masked; hashes omitted).")
    p.add_argument("--out", "-o", required=True, metavar="FILE", help="output file; format by extension")
    _add_filter_flags(p)
    p.add_argument("--json", action="store_true")
    _add_workspace(p)
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("sample", help="write synthetic raw exports of the sample district",
                       description="Write realistic raw exports (patrol CSV, GBK 12345 CSV, violations XLSX, "
                                   "snapshots GeoJSON, gazetteer, truth.json) for the Xicheng sample.")
    p.add_argument("--out", "-o", required=True, metavar="DIR")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--months", type=int, default=6)
    p.add_argument("--scale", type=float, default=1.0, help="multiply the number of events")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_sample)

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
    _add_workspace(p)
    p.set_defaults(handler=cmd_grid_calibrate)

    p = gsub.add_parser("crosswalk", help="cells ↔ official grids with area shares",
                        description="For every study-area cell of a tier: the official grids it overlaps with "
                                    "the share of each, its responsible grid, unit and street.")
    p.add_argument("--tier", choices=TIERS, default="small")
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    p.add_argument("--grids-out", metavar="FILE", help="also write every official grid with its cells")
    p.add_argument("--json", action="store_true")
    _add_workspace(p)
    p.set_defaults(handler=cmd_grid_crosswalk)

    for name, handler, helptext in (
            ("reconcile", cmd_grid_reconcile, "exact vs area-weighted events per official grid"),
            ("profile", cmd_grid_profile, "per-cell / per-grid profile and monthly ranking (月度排名)")):
        p = gsub.add_parser(name, help=helptext, description=helptext + ".")
        p.add_argument("--tier", choices=TIERS, default="small")
        _add_filter_flags(p)
        if name == "profile":
            p.add_argument("--by", choices=("cell", "grid", "ranking"), default="grid")
            p.add_argument("--month", metavar="YYYY-MM", help="ranking month (default: the latest)")
            p.add_argument("--out", "-o", required=True, metavar="FILE")
        else:
            p.add_argument("--out", "-o", metavar="FILE", help="write the per-grid table")
        p.add_argument("--json", action="store_true")
        _add_workspace(p)
        p.set_defaults(handler=handler)

    p = sub.add_parser("hotspots", help="Getis-Ord Gi* hot and cold spots per cell",
                       description="Counts, densities and Gi* (k-ring, FDR by default) for every cell of the filled "
                                   "study area; writes GeoJSON/CSV/Parquet by extension.")
    p.add_argument("--tier", choices=TIERS, default="small")
    _add_filter_flags(p)
    p.add_argument("--k", type=int, help="k-ring neighbourhood (default from the workspace: 1)")
    p.add_argument("--inference", choices=("csr", "analytic", "pooled", "permutation"),
                   help="how p-values are obtained (default: csr, calibrated by simulation; see geo/hotspot.py)")
    p.add_argument("--permutations", type=int, help="use conditional permutation inference with N permutations")
    p.add_argument("--alpha", type=float, help="FDR level for the significance summary (default 0.05)")
    p.add_argument("--no-fdr", action="store_true", help="judge bins on raw p-values (no Benjamini–Hochberg)")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    p.add_argument("--json", action="store_true")
    _add_workspace(p)
    p.set_defaults(handler=cmd_hotspots)

    p = sub.add_parser("zones", help="density clusters of events as hotspot zones",
                       description="DBSCAN/HDBSCAN on event points projected to the metric CRS; each zone a polygon "
                                   "with counts, top categories, peak hour/weekday, grids and Gi* bins.")
    _add_filter_flags(p)
    p.add_argument("--algorithm", choices=("dbscan", "hdbscan"))
    p.add_argument("--eps", type=float, metavar="METRES", help="DBSCAN radius in metres (default 100)")
    p.add_argument("--min-samples", type=int)
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    p.add_argument("--json", action="store_true")
    _add_workspace(p)
    p.set_defaults(handler=cmd_zones)

    p = sub.add_parser("posts", help="plan enforcement posts (maximal covering)",
                       description="Choose p posts at candidate sites (the workspace's intersections by default) "
                                   "covering the most category-weighted events in a window; exact MILP (HiGHS) or "
                                   "greedy; writes the deployment table (XLSX/CSV with Chinese headers, or "
                                   "GeoJSON/Parquet).")
    p.add_argument("--p", type=int, required=True, help="number of posts (existing ones included)")
    p.add_argument("--radius", type=float, metavar="METRES", help="coverage radius (default 300 m)")
    _add_filter_flags(p)
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
    _add_workspace(p)
    p.set_defaults(handler=cmd_posts)

    p = sub.add_parser("segments", help="staff road segments in proportion to demand",
                       description="Split main and secondary roads into segments, attach each window's demand to "
                                   "the nearest segment and allocate N staff (largest remainder).")
    p.add_argument("--staff", type=int, required=True)
    _add_filter_flags(p)
    p.add_argument("--windows", dest="window_list", metavar="W1,W2",
                   help="several windows at once (e.g. morning_peak,evening_peak)")
    p.add_argument("--length", type=float, metavar="METRES", help="segment length (default 500 m)")
    p.add_argument("--snap", type=float, metavar="METRES", help="snapping distance (default 50 m)")
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    p.add_argument("--json", action="store_true")
    _add_workspace(p)
    p.set_defaults(handler=cmd_segments)

    # Trends and accountability (emerging hot spots, patrol gaps, forecast, problem list / 回头看)
    from geo.cli_trends import add_commands

    add_commands(sub)

    # City scale on Dask (issue 11) and access/audit administration (issue 12)
    from geo.cli_admin import add_commands as add_admin_commands
    from geo.cli_scale import add_commands as add_scale_commands

    add_scale_commands(sub)
    add_admin_commands(sub)

    p = sub.add_parser("setup-sample", help="generate and ingest the Xicheng sample (idempotent)",
                       description="Make the sample workspace ready: write its raw exports (seed 1) if missing "
                                   "and ingest them into an empty store.")
    p.add_argument("--workspace", "-w", metavar="DIR", help="sample workspace folder (default: data/sample)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(handler=cmd_setup_sample)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except GridwatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
