"""Workspace and event commands: ``init``, ``ingest``, ``status``, ``export``, ``sample``, ``setup-sample``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geo.cli.common import (
    add_filter_flags,
    add_workspace,
    events_for,
    open_workspace,
    print_json,
    stderr_progress,
)
from geo.errors import GridwatchError
from geo.settings import SOURCES


def cmd_init(args: argparse.Namespace) -> int:
    from geo.store.workspace import init_workspace, place_defaults

    bbox = None
    if args.bbox:
        try:
            bbox = tuple(float(v) for v in args.bbox.split(","))
        except ValueError:
            bbox = ()
        if len(bbox) != 4:
            raise GridwatchError(f"--bbox {args.bbox!r} must be four numbers minlon,minlat,maxlon,maxlat, "
                                 "e.g. --bbox=-74.26,40.49,-73.70,40.92")
    ws = init_workspace(args.directory, area=args.area, bbox=bbox, grids=args.grids,  # type: ignore[arg-type]
                        timezone=args.timezone, name=args.name, metric_crs=args.metric_crs)
    place = place_defaults(ws.area, args.timezone)
    doc = {"workspace": str(ws.root), "metric_crs": ws.settings.metric_crs,
           "timezone": ws.settings.timezone, "grids": bool(ws.paths.get("grids")),
           "timezone_how": place.timezone_how, "in_china": place.in_china,
           "source_crs": dict(ws.settings.source_crs), "crs_how": place.crs_how}
    if args.json:
        print_json(doc)
    else:
        print(f"created workspace {ws.root}")
        print(f"    time zone   {ws.settings.timezone} ({place.timezone_how})")
        print(f"    source CRS  {', '.join(f'{k} {v}' for k, v in ws.settings.source_crs.items())}")
        print(f"                ({place.crs_how})")
        print(f"    metric CRS  {ws.settings.metric_crs} (for distances and areas)")
        print(f"next: gridwatch ingest FILE --source S --workspace {ws.root}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from geo.ingest.pipeline import ingest_file

    ws = open_workspace(args)
    reports = []
    for file in args.files:
        progress = None if args.quiet else stderr_progress(Path(file).name)
        report = ingest_file(file, args.source, ws, crs=args.crs, mapping_file=args.mapping,
                             encoding=args.encoding, sheet=args.sheet, progress=progress,
                             dry_run=args.dry_run)
        reports.append(report.to_dict())
        if not args.json:
            r = report
            print(f"{r.file}: mapping (crs {r.crs}):")
            for line in r.mapping_lines:
                print(f"    {line}")
            verb = "would store" if r.dry_run else "stored"
            print(f"{r.file}: read {r.read}, {verb} {r.stored}, duplicates {r.duplicates}, "
                  f"quarantined {r.quarantined}" + (f" → {r.quarantine_file}" if r.quarantine_file else "")
                  + (" (dry run: nothing written)" if r.dry_run else ""))
            by_coords = sum(v for k, v in r.located_by.items() if k in ("coordinates", "swap_fixed"))
            print(f"    coordinates read as {r.crs} (from {r.crs_from}; {by_coords} rows placed by them)")
            for row in r.preview:
                print("    row: " + ", ".join(f"{k}={v}" for k, v in row.items() if v is not None))
            for reason, count in sorted(r.by_reason.items()):
                print(f"    {reason}: {count}")
            if r.file_records is not None:
                print(f"    file: {r.file_records} data record(s)"
                      + (f" on {r.file_lines} line(s)" if r.file_lines is not None else "")
                      + (f", {r.blank_rows} blank" if r.blank_rows else "")
                      + ("; every record accounted for" if r.matches_file else
                         f"; MISMATCH: read {r.read} + blank {r.blank_rows} != {r.file_records}"))
            if r.own_categories:
                new = ", ".join(list(r.new_categories)[:5]) + (" …" if len(r.new_categories) > 5 else "")
                print(f"    workspace categories (no match in the category table): "
                      f"{sum(r.own_categories.values())} events in {len(r.own_categories)} categories"
                      + (f"; new: {new}" if r.new_categories else "")
                      + " (see `gridwatch categories list`)")
            if r.other_categories:
                print(f"    kept as 'other' category: {sum(r.other_categories.values())} "
                      f"({', '.join(list(r.other_categories)[:5])})")
            if r.duplicates_by_rule:
                print("    exact duplicates dropped: " + ", ".join(f"{k} {v}" for k, v in r.duplicates_by_rule.items()))
            if r.near_duplicates:
                print(f"    near duplicates flagged (stored, not dropped): {r.near_duplicates}")
            for w in r.warnings:
                print(f"    warning: {w}")
    if args.json:
        print_json(reports[0] if len(reports) == 1 else reports)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from geo.store.database import store_counts

    ws = open_workspace(args)
    counts = store_counts(ws.store_path, ws.settings.timezone)
    doc = {"workspace": str(ws.root), "store": str(ws.store_path), **counts}
    if args.json:
        print_json(doc)
        return 0
    print(f"workspace {ws.root}\nstore     {ws.store_path}\nevents    {counts['events']}"
          f" ({counts['first']} … {counts['last']}, months in {counts['timezone']})")
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
    from geo.store.audit import record_export
    from geo.store.export import local_times, write_table

    ws = open_workspace(args)
    events, flt = events_for(ws, args)
    events = events.drop(columns=[c for c in events.columns if c.endswith("_hash")])
    events = local_times(events, ws.settings.timezone)  # occurred_at local with offset, occurred_at_utc beside
    path = write_table(events, args.out)
    record_export(ws, path, rows=len(events), command="export", filters=flt.describe())
    doc = {"out": str(path), "events": len(events)}
    if args.json:
        print_json(doc)
    else:
        print(f"wrote {len(events)} events to {path}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from geo.synthetic.sample import write_sample

    summary = write_sample(args.out, seed=args.seed, months=args.months, scale=args.scale)
    if args.json:
        print_json(summary)
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
    from geo.synthetic.workspace import ensure_sample_workspace, report_table

    ws, reports = ensure_sample_workspace(args.workspace,
                                          progress=None if args.quiet else stderr_progress("sample"))
    rows = report_table(reports)
    if args.json:
        print_json({"workspace": str(ws.root), "ingested": rows})
    elif rows:
        for r in rows:
            print(f"{r['file']:<20} read {r['read']:>6}  stored {r['stored']:>6}  "
                  f"duplicates {r['duplicates']:>4}  quarantined {r['quarantined']:>5}")
    else:
        print(f"sample workspace {ws.root} is ready (store already filled)")
    return 0



def add_commands(sub: Any) -> None:
    """Add this group's commands to the ``gridwatch`` sub-parser."""
    p = sub.add_parser("init", help="create a workspace from a study area",
                       description="Create a workspace folder from a study-area polygon file or a bbox.")
    p.add_argument("directory", metavar="DIR")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--area", metavar="FILE", help="study area polygon(s): GeoJSON, GeoPackage, GeoParquet")
    g.add_argument("--bbox", metavar="MINLON,MINLAT,MAXLON,MAXLAT", help="study area as a WGS84 box")
    p.add_argument("--grids", metavar="FILE", help="official grid polygons (tier column or one layer per tier)")
    p.add_argument("--timezone", help="IANA time zone of the exports' local times "
                                      "(default: inferred offline from the area)")
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
    p.add_argument("--dry-run", action="store_true",
                   help="show the mapping, a few parsed rows and the counts an ingest would produce; write nothing")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    add_workspace(p)
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("status", help="what the store holds",
                       description="Counts of stored events by source, category, month and tier.")
    p.add_argument("--json", action="store_true", help="print JSON (total as \"events\")")
    add_workspace(p)
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("export", help="export events to GeoParquet/GeoJSON/CSV/XLSX",
                       description="Export stored events (personal data masked; hashes omitted).")
    p.add_argument("--out", "-o", required=True, metavar="FILE", help="output file; format by extension")
    add_filter_flags(p)
    p.add_argument("--json", action="store_true")
    add_workspace(p)
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


def add_setup_command(sub: Any) -> None:
    """Add ``setup-sample`` (listed last in ``gridwatch --help``)."""
    p = sub.add_parser("setup-sample", help="generate and ingest the Xicheng sample (idempotent)",
                       description="Make the sample workspace ready: write its raw exports (seed 1) if missing "
                                   "and ingest them into an empty store.")
    p.add_argument("--workspace", "-w", metavar="DIR", help="sample workspace folder (default: data/sample)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(handler=cmd_setup_sample)
