"""Command-line handlers of the Dask engine: ``gridwatch scale ingest | status | counts | hotspots``.

The library is :mod:`geo.scale.engine`; :func:`add_commands` registers ``gridwatch scale`` on the main
parser of :mod:`geo.cli`.  Every command takes ``--scheduler tcp://host:8786`` (default
``GRIDWATCH_SCHEDULER``, else a local cluster) and prints a ``--json`` summary.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from geo.errors import InputFileError
from geo.settings import SOURCES, TIERS


def _inputs(args: argparse.Namespace) -> list[tuple[Path, str]]:
    """``SOURCE=PATH`` arguments, or plain paths with ``--source``."""
    out = []
    for item in args.inputs:
        source, sep, path = item.partition("=")
        if sep and source in SOURCES:
            out.append((Path(path), source))
        elif args.source:
            out.append((Path(item), args.source))
        else:
            raise InputFileError(f"which source is {item!r}? write SOURCE=PATH (sources: {', '.join(SOURCES)}) "
                                 "or give --source for all files")
    return out


@contextmanager
def _client(args: argparse.Namespace, ws: Any) -> Any:
    from geo.scale.engine import close_client, start_client

    if args.scheduler == "none":
        yield None
        return
    client = start_client(args.scheduler, workers=args.workers, threads_per_worker=args.threads,
                          settings=ws.settings)
    try:
        yield client
    finally:
        close_client(client)


def cmd_scale_ingest(args: argparse.Namespace) -> int:
    from geo.cli.common import open_workspace, print_json, stderr_progress
    from geo.scale.engine import ingest_partitioned
    from geo.store.audit import cli_actor, record

    ws = open_workspace(args)
    inputs = _inputs(args)
    with _client(args, ws) as client:
        report = ingest_partitioned(inputs, ws, client=client, out_dir=args.out_store, chunk_mb=args.chunk_mb,
                                    crs=args.crs, mapping_file=args.mapping, encoding=args.encoding,
                                    progress=None if args.json or args.quiet else stderr_progress("scale"))
    doc = report.to_dict()
    record(ws, "ingest", actor=cli_actor(), role="admin", target=report.store,
           details={"engine": "dask", "ingest_id": report.ingest_id,
                    "files": [{k: f[k] for k in ("file", "source", "read", "stored", "duplicates", "quarantined")}
                              for f in report.files]})
    if args.json:
        print_json(doc)
    else:
        for f in report.files:
            print(f"{Path(f['file']).name}: read {f['read']:,}, stored {f['stored']:,}, duplicates "
                  f"{f['duplicates']:,}, quarantined {f['quarantined']:,} ({f['chunks']} task(s))")
            for w in f["warnings"]:
                print(f"  warning: {w}")
            if f["quarantine_file"]:
                print(f"  quarantine → {f['quarantine_file']}")
        print(f"{doc['stored']:,} events in {report.partitions} source-month partition(s) of {report.store}, "
              f"{report.chunks} task(s) on {report.workers} worker(s), {report.seconds:.1f} s")
    return 0


def cmd_scale_status(args: argparse.Namespace) -> int:
    from geo.cli.common import open_workspace, print_json
    from geo.scale.engine import store_summary

    ws = open_workspace(args)
    doc = store_summary(ws, args.out)
    if args.json:
        print_json(doc)
    else:
        print(f"{doc['store']}: {doc['events']:,} events in {doc['files']} file(s) from {doc['ingests']} ingest(s)")
        for source, months in doc["by_month"].items():
            print(f"  {source:<10} " + ", ".join(f"{m} {n:,}" for m, n in months.items()))
    return 0


def cmd_scale_counts(args: argparse.Namespace) -> int:
    import pandas as pd

    from geo.cli.common import filter_from_args, open_workspace, print_json
    from geo.grid import h3cells
    from geo.scale.engine import cell_counts
    from geo.store.audit import record_export
    from geo.store.export import write_table

    ws = open_workspace(args)
    flt = filter_from_args(args)
    with _client(args, ws) as client:
        counts, first, last = cell_counts(ws, args.tier, flt, client=client, out_dir=args.out_store)
    table = pd.DataFrame({"cell": h3cells.cells_to_hex(counts.index.to_numpy()), "count": counts.to_numpy()})
    out = write_table(table, args.out)
    record_export(ws, out, rows=len(table), command="scale counts", filters=flt.describe(), tier=args.tier)
    doc = {"out": str(out), "cells": int(len(table)), "events": int(counts.sum()),
           "first": None if first is None else str(first), "last": None if last is None else str(last)}
    if args.json:
        print_json(doc)
    else:
        print(f"{doc['events']:,} events in {doc['cells']:,} {args.tier} cells → {out}")
    return 0


def cmd_scale_hotspots(args: argparse.Namespace) -> int:
    from geo.cli.common import collected_warnings, filter_from_args, open_workspace, print_json
    from geo.scale.engine import scale_hotspots
    from geo.store.audit import record_export
    from geo.store.export import write_table

    ws = open_workspace(args)
    flt = filter_from_args(args)
    with _client(args, ws) as client, collected_warnings() as caught:
        result = scale_hotspots(ws, flt, tier=args.tier, client=client, out_dir=args.out_store, k=args.k,
                                alpha=args.alpha, inference=args.inference, seed=args.seed)
    table = result.cells.drop(columns=["cell"]).rename(columns={"h3": "cell"})
    out = write_table(table, args.out)
    record_export(ws, out, rows=len(table), command="scale hotspots", filters=flt.describe(), tier=args.tier,
                  k=args.k, alpha=args.alpha, inference=args.inference, seed=args.seed)
    doc = {"out": str(out), **result.summary, "warnings": caught}
    if args.json:
        print_json(doc)
    else:
        s = result.summary
        print(f"{s['cells']} {args.tier} cells, {s['events']:,} events; hot 99/95/90%: "
              + " / ".join(str(s["hot"][b]) for b in ("3", "2", "1")) + f" → {out}")
    return 0


def _add_engine(p: argparse.ArgumentParser) -> None:
    from geo.cli.common import add_workspace

    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler (tcp://host:8786); default $GRIDWATCH_SCHEDULER, else a local cluster; "
                        "'none' runs every task in this process")
    p.add_argument("--workers", type=int, help="local cluster: worker processes (default: one per core)")
    p.add_argument("--threads", type=int, help="local cluster: threads per worker (default 1)")
    p.add_argument("--out-store", dest="out_store", metavar="DIR",
                   help="the partitioned store (default <workspace>/events_parquet)")
    p.add_argument("--json", action="store_true")
    add_workspace(p)


def add_commands(subparsers: Any) -> None:
    """Register ``gridwatch scale …`` on an argparse subparsers object."""
    from geo.cli.common import add_filter_flags, add_workspace

    scale = subparsers.add_parser(
        "scale", help="city-scale ingest and counts on Dask (partitioned GeoParquet store)",
        description="The same ingest and analyses on a Dask cluster: inputs read in chunks, a GeoParquet store "
                    "partitioned by source and month, counts as distributed group-bys. See docs/scale.md.")
    ssub = scale.add_subparsers(dest="scale_command", metavar="SUBCOMMAND", required=True)

    p = ssub.add_parser("ingest", help="ingest many/large files into the partitioned store",
                        description="Every row ends stored or quarantined (read = stored + duplicates + "
                                    "quarantined per file); nothing is visible until the ingest commits.")
    p.add_argument("inputs", nargs="+", metavar="[SOURCE=]PATH",
                   help=f"input files; SOURCE is one of {', '.join(SOURCES)} (or use --source)")
    p.add_argument("--source", choices=SOURCES, help="source of every PATH given without SOURCE=")
    p.add_argument("--crs", help="coordinate system of the files (default: declared, else the source's default)")
    p.add_argument("--mapping", metavar="TOML", help="column mapping file")
    p.add_argument("--encoding", help="text encoding of CSV files (default: detected)")
    p.add_argument("--chunk-mb", dest="chunk_mb", type=float, help="raw MB per CSV task (default 64)")
    p.add_argument("--quiet", "-q", action="store_true")
    _add_engine(p)
    p.set_defaults(handler=cmd_scale_ingest)

    p = ssub.add_parser("status", help="what the partitioned store holds")
    p.add_argument("--out-store", dest="out", metavar="DIR")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_scale_status)

    p = ssub.add_parser("counts", help="events per H3 cell (distributed group-by)")
    p.add_argument("--tier", choices=TIERS, default="small")
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    add_filter_flags(p)
    _add_engine(p)
    p.set_defaults(handler=cmd_scale_counts)

    p = ssub.add_parser("hotspots", help="Gi* hot spots from the partitioned store",
                        description="Counts per cell on Dask, then Getis-Ord Gi* on the aggregated cells: the "
                                    "same table as `gridwatch hotspots` on the same events.")
    p.add_argument("--tier", choices=TIERS, default="small")
    p.add_argument("--k", type=int)
    p.add_argument("--alpha", type=float)
    p.add_argument("--inference", choices=("analytic", "csr", "pooled"))
    p.add_argument("--seed", type=int)
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    add_filter_flags(p)
    _add_engine(p)
    p.set_defaults(handler=cmd_scale_hotspots)

