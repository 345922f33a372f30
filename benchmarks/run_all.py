"""Run the benchmark suite of gridwatch in one go (``make bench``) and print ONE table.

    python benchmarks/run_all.py            # full: ~1.5 h on 2 cores (the 2e7-event scale part dominates)
    python benchmarks/run_all.py --quick    # smaller sizes, a few minutes
    python benchmarks/run_all.py --only ingest,gistar --extras

What is measured, in the same run on this machine:

* ``ingest``  — point→H3 rate of h3-py (Python loop) and of h3ronpy through
  ``geo.grid.h3cells.cells_for_points`` (1 thread, all threads), and the project's
  ingest end to end (``bench_ingest.py``);
* ``gistar``  — Gi* of gridwatch against libpysal + esda (``bench_gistar.py``);
* ``mclp``    — MCLP exact vs greedy vs spopt (``bench_mclp.py``);
* ``scale``   — ~2e7 synthetic events (``gridwatch sample --scale``): one
  process vs Dask threads / workers, indexing+counting and the ``geo.scale.engine``
  ingest, with the peak RSS of each mode's whole process tree, and the same ingest
  as a user runs it on a cluster (``dask scheduler`` + ``dask worker`` processes,
  ``gridwatch scale ingest --scheduler``; its stored events checked against the
  single process's) (``bench_scale.py``);
* ``trends``  — emerging hot spots at city scale: 100,651 cells × 260 weeks, 10⁶ events, time per step
  and peak RSS against the 3 GiB target (``bench_trends.py``).

Each script runs as its own child process with ``--json-out`` and writes
``{benchmark, case, metric, value, unit, note}`` rows; its peak RSS is the
child's ``ru_maxrss`` from ``os.wait4`` (the largest single process of it and
its waited-for descendants).  Rows that measured their own process tree
(``scale``) carry that figure instead.  Each script's own output goes to a log
(``--log-dir``); run a script alone to see its own table.

The combined table is printed and written, with the machine description and
the date, to ``benchmarks/results/suite.{md,csv,json}`` (``suite_quick.*`` for
``--quick``, so a quick run never overwrites the full figures).

``--extras`` also runs the separate extras afterwards, with their own output:
``bench_gistar_null.py`` (false discoveries of Gi* + BH on null maps); the
browser benchmark ``bench_app.py`` needs Chromium and is run on its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _suite import machine_description, now_iso, result_row, wait_with_rusage

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

FULL: list[tuple[str, list[str]]] = [
    ("ingest", ["bench_ingest.py"]),
    ("gistar", ["bench_gistar.py"]),
    ("mclp", ["bench_mclp.py"]),
    ("scale", ["bench_scale.py", "--events", "2e7", "--ingest-modes", "single,dask2x1,cluster"]),
    ("trends", ["bench_trends.py"]),
]
QUICK: list[tuple[str, list[str]]] = [
    ("ingest", ["bench_ingest.py", "--sizes", "100000", "--no-xlsx"]),
    ("gistar", ["bench_gistar.py", "--repeat", "1", "--k", "1"]),
    ("mclp", ["bench_mclp.py", "--quick"]),
    ("scale", ["bench_scale.py", "--events", "2e5", "--ingest-modes", "single,dask2x1,cluster"]),
    ("trends", ["bench_trends.py", "--radius", "60", "--slices", "104", "--events", "100000"]),
]
EXTRAS: list[tuple[str, list[str]]] = [
    ("gistar-null", ["bench_gistar_null.py"]),
]
EXTRAS_QUICK: list[tuple[str, list[str]]] = [
    ("gistar-null", ["bench_gistar_null.py", "--maps", "20", "--means", "2", "10"]),
]


def run_script(name: str, cmd: list[str], log_dir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run one benchmark script as a child; its rows and (exit code, seconds, peak RSS MB, log)."""
    log = log_dir / f"{name}.log"
    with tempfile.TemporaryDirectory() as tmp, log.open("w", encoding="utf-8") as out:
        json_out = Path(tmp) / "rows.json"
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(HERE / cmd[0]), *cmd[1:], "--json-out", str(json_out)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=HERE.parent)
        code, maxrss, cpu = wait_with_rusage(proc.pid)
        proc.returncode = code  # reaped by wait4: tell Popen not to wait again
        info = {"exit": code, "seconds": time.perf_counter() - t, "peak_rss_mb": maxrss, "cpu_s": cpu,
                "log": str(log)}
        rows = json.loads(json_out.read_text(encoding="utf-8")) if json_out.exists() else []
    if code != 0:
        rows.append(result_row(name, f"{cmd[0]} FAILED (exit {code})", "seconds", None, "s",
                               f"see {log}"))
    for r in rows:
        r["script"] = name
        r.setdefault("peak_rss_mb", maxrss)
    return rows, info


def fmt_value(v: float | None) -> str:
    if v is None or v != v:  # None or NaN
        return "-"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def fmt_ratio(r: dict[str, Any]) -> str:
    """``"1.85x floor"``: the case's time over its floor's or peer's, measured in the same run."""
    if r.get("ratio") is None:
        return "-"
    return f"{r['ratio']:.3g}x {r['ratio_to']}"


def table_lines(rows: list[dict[str, Any]], *, markdown: bool) -> list[str]:
    head = ["benchmark", "case", "result", "unit", "time vs floor/peer", "peak RSS", "note"]
    body = [[r["benchmark"], r["case"], fmt_value(r["value"]), r["unit"], fmt_ratio(r),
             f"{r['peak_rss_mb']:,.0f} MB" if r.get("peak_rss_mb") is not None else "-", r["note"]]
            for r in rows]
    if markdown:
        esc = [[c.replace("|", "\\|") for c in line] for line in body]
        return (["| " + " | ".join(head) + " |",
                 "|" + "|".join(["---", "---", "---:", "---", "---:", "---:", "---"]) + "|"]
                + ["| " + " | ".join(line) + " |" for line in esc])
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(6)]
    right = {2, 4, 5}

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=False))]
        return " | ".join(parts + [cells[6]])

    return [line(head), "-+-".join("-" * w for w in widths) + "-+-" + "-" * 4] + [line(b) for b in body]


def machine_lines(machine: dict[str, Any]) -> list[str]:
    libs = ", ".join(f"{k} {v}" for k, v in machine["libraries"].items() if v != "-")
    return [f"- CPU: {machine['cpu']}, {machine['cores']}", f"- RAM: {machine['ram']}", f"- OS: {machine['os']}",
            f"- Python: {machine['python']}", f"- libraries: {libs}"]


def write_results(rows: list[dict[str, Any]], machine: dict[str, Any], meta: dict[str, Any], stem: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    md = [f"# gridwatch benchmark suite ({'quick' if meta['quick'] else 'full'})", "",
          f"Run {meta['date']} with `{meta['command']}` ({meta['seconds'] / 60:.0f} min).", "",
          *machine_lines(machine), "",
          *table_lines(rows, markdown=True), "",
          "time vs floor/peer: the case's wall time divided by that of its reference in the same run "
          "(ingest: the floor, polars/pyarrow read -> h3ronpy index -> Parquet write of the same file; MCLP: "
          "plain HiGHS on the same matrix; Gi*: libpysal/esda; scale: the single process); below 1 is faster.", "",
          "peak RSS: for `scale` rows, the largest sum of RSS over the mode's whole process tree (driver, "
          "Dask nanny and workers; for the cluster row the scheduler, the `dask worker` command with its "
          "nannies and workers, and the CLI commands; sampled every 0.2 s); for the other rows, the largest single process of "
          "the script's run (`ru_maxrss` of the child from `os.wait4`), the same for every row of a script.", ""]
    (RESULTS / f"{stem}.md").write_text("\n".join(md), encoding="utf-8")
    keys = ["benchmark", "case", "metric", "value", "unit", "ratio", "ratio_to", "peak_rss_mb", "note", "script"]
    with (RESULTS / f"{stem}.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    (RESULTS / f"{stem}.json").write_text(json.dumps({**meta, "machine": machine, "rows": rows},
                                                     ensure_ascii=False, indent=1), encoding="utf-8")


README = HERE.parent / "README.md"
README_START = "<!-- bench-quick table: generated by `make bench-quick` (benchmarks/run_all.py --quick --readme) -->"
README_END = "<!-- end of bench-quick table -->"


def readme_table(rows: list[dict[str, Any]], meta: dict[str, Any], machine: dict[str, Any]) -> list[str]:
    """The README's copy of a run: case, result, the time against the floor or peer, the note's start."""
    lines = [f"Quick run of {meta['date']} ({machine['cpu']}, {machine['cores']}; shared machine, so compare "
             "within the run):", "",
             "| benchmark | case | result | time vs floor/peer | note (cut at 100 characters) |",
             "|---|---|---:|---:|---|"]
    for r in rows:
        note = r["note"] if len(r["note"]) <= 100 else r["note"][:99] + "…"
        cells = [r["benchmark"], r["case"], f"{fmt_value(r['value'])} {r['unit']}", fmt_ratio(r), note]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def write_readme(rows: list[dict[str, Any]], meta: dict[str, Any], machine: dict[str, Any]) -> None:
    """Replace the README's bench-quick table (between its two marker comments) with this run's."""
    text = README.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md has no bench-quick markers ({README_START!r} ... {README_END!r}); "
                         "put them where the table belongs")
    body = "\n".join([README_START, *readme_table(rows, meta, machine), README_END])
    README.write_text(text[:start] + body + text[end + len(README_END):], encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    ap.add_argument("--only", default="", help="comma-separated subset: ingest, gistar, mclp, scale")
    ap.add_argument("--extras", action="store_true", help="then run the extras (bench_gistar_null.py)")
    ap.add_argument("--log-dir", type=Path, default=Path(tempfile.gettempdir()) / "gridwatch-bench" / "logs")
    ap.add_argument("--no-save", action="store_true", help="print only, write nothing under results/")
    ap.add_argument("--readme", action="store_true",
                    help="also rewrite the README's bench-quick table (between its marker comments)")
    args = ap.parse_args()
    plan = QUICK if args.quick else FULL
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {name for name, _ in plan}
        if unknown:
            ap.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {[n for n, _ in plan]}")
        plan = [p for p in plan if p[0] in wanted]
    args.log_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_description()
    date = now_iso()
    print(f"gridwatch benchmark suite ({'quick' if args.quick else 'full'}), {date}")
    print("\n".join(machine_lines(machine)), flush=True)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    failed = 0
    for name, cmd in plan:
        print(f"running {name}: {' '.join(cmd)} ...", end=" ", flush=True)
        got, info = run_script(name, cmd, args.log_dir)
        rows += got
        failed += info["exit"] != 0
        print(f"{info['seconds']:.0f} s (CPU {info['cpu_s']:.0f} s), exit {info['exit']}, "
              f"peak RSS {info['peak_rss_mb']:,.0f} MB, "
              f"{len(got)} rows (log: {info['log']})", flush=True)
    print()
    print("\n".join(table_lines(rows, markdown=False)))
    seconds = time.perf_counter() - t0
    if not args.no_save and not args.only:
        stem = "suite_quick" if args.quick else "suite"
        meta = {"date": date, "quick": args.quick, "seconds": seconds,
                "command": "python benchmarks/run_all.py" + (" --quick" if args.quick else "")}
        write_results(rows, machine, meta, stem)
        print(f"\nwritten: {RESULTS / stem}.md, .csv, .json ({seconds / 60:.1f} min)")
        if args.readme:
            write_readme(rows, meta, machine)
            print(f"README table rewritten: {README}")
    if args.extras:
        for name, cmd in (EXTRAS_QUICK if args.quick else EXTRAS):
            print(f"\n=== extra {name}: {' '.join(cmd)}", flush=True)
            res = subprocess.run([sys.executable, str(HERE / cmd[0]), *cmd[1:]], cwd=HERE.parent)
            failed += res.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")  # children's logs stay readable while they run
    sys.exit(main())
