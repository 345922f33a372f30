"""Ingest benchmark: end-to-end events/s beside the raw H3 indexing rate, in one run.

    python benchmarks/bench_ingest.py              # 1e5 and 1e6 events (CSV, Parquet), XLSX at 1e5
    python benchmarks/bench_ingest.py --sizes 100000 --no-xlsx

For each size, synthetic patrol-like events inside the Xicheng sample area are
written as CSV (UTF-8), Parquet and (1e5 only) XLSX, then ingested into a fresh
workspace with :func:`geo.ingest.pipeline.ingest_file` (read → validate → convert →
index → grids → store).  Beside it, for CSV and Parquet, the floor of the same file in the same run:
polars reads it, h3ronpy indexes it, polars writes Parquet (no checks); the
end-to-end row states its time as a ratio of that floor, and of the same floor that inserts into a
DuckDB file instead (gridwatch's store is DuckDB: that insert alone costs a multiple of the Parquet write).  On the same points: h3-py in a Python loop,
and :func:`geo.grid.h3cells.cells_for_points` (h3ronpy) on one thread and on all
threads — each thread count in a fresh interpreter, because h3ronpy's thread
pool is sized once per process from ``RAYON_NUM_THREADS``.  The table also says
where the time goes (the ingest report's stage timings).  Results are printed
and written to ``benchmarks/results/ingest.md`` and ``.csv``; with
``--json-out FILE`` (``run_all.py``) they go to FILE as suite rows instead.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _suite import add_json_out, result_row, write_rows

from geo.grid.officialgrids import interior_lookup
from geo.ingest.pipeline import ingest_file
from geo.store.workspace import SAMPLE_WORKSPACE, load_workspace

RESULTS = Path(__file__).parent / "results"


def make_events(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 180 * 86400, n), "s")
    cats = np.array(["占道经营", "违规电动三四轮车", "僵尸车", "飞线充电", "堆物堆料", "违法停车"])
    return pd.DataFrame({
        "记录编号": np.char.add("B", np.arange(n).astype(str)),
        "巡查时间": t.strftime("%Y-%m-%d %H:%M:%S"),
        "经度": rng.uniform(116.33, 116.39, n).round(6),
        "纬度": rng.uniform(39.89, 39.94, n).round(6),
        "问题类型": cats[rng.integers(0, len(cats), n)],
        "问题描述": "巡查发现问题",
        "处置状态": "已处置",
    })


def fresh_workspace(tmp: Path) -> object:
    root = tmp / f"ws{time.perf_counter_ns()}"
    root.mkdir()
    for name in ("gridwatch.toml", "area_xicheng.geojson", "official_grids.geojson", "roads.geojson",
                 "intersections.geojson"):
        shutil.copy(SAMPLE_WORKSPACE / name, root / name)
    ws = load_workspace(root)
    # what `gridwatch init --grids` does once per grid file (a few seconds), not part of an ingest
    interior_lookup(ws.grids, ws.cache_dir)
    return ws


_RATE_CHILD = """
import sys, time
import numpy as np
from geo.grid.h3cells import cells_for_points
lon, lat = np.load(sys.argv[1]), np.load(sys.argv[2])
cells_for_points(lon[:1000], lat[:1000], 9)  # h3ronpy's thread pool starts here, outside the timing
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    cells_for_points(lon, lat, 9)
    best = min(best, time.perf_counter() - t)
print(len(lon) / best)
"""


def h3_rates(lon: np.ndarray, lat: np.ndarray, tmp: Path) -> dict[str, float]:
    """Points per second: h3-py in a Python loop, and ``geo.grid.h3cells.cells_for_points`` (h3ronpy).

    h3ronpy sizes its (rayon) thread pool once per process from ``RAYON_NUM_THREADS``,
    so each thread count runs in a fresh interpreter (best of 3).
    """
    import h3

    out = {}
    k = min(len(lon), 200_000)
    t = time.perf_counter()
    for a, b in zip(lat[:k].tolist(), lon[:k].tolist(), strict=True):
        h3.latlng_to_cell(a, b, 9)
    out["h3-py loop"] = k / (time.perf_counter() - t)
    np.save(tmp / "lon.npy", lon)
    np.save(tmp / "lat.npy", lat)
    for threads in sorted({1, os.cpu_count() or 1}):
        res = subprocess.run([sys.executable, "-c", _RATE_CHILD, str(tmp / "lon.npy"), str(tmp / "lat.npy")],
                             env={**os.environ, "RAYON_NUM_THREADS": str(threads)}, capture_output=True,
                             text=True, check=True)
        out[f"h3ronpy ({threads} thread{'s' if threads > 1 else ''})"] = float(res.stdout.split()[-1])
    return out


FLOOR = "floor (polars read -> h3ronpy -> Parquet write)"


def _read_and_index(path: Path, fmt: str) -> Any:
    """The floor's first half: polars reads the file, h3ronpy indexes every point at res 9 (a new column)."""
    import polars as pl

    from geo.grid.h3cells import cells_for_points

    df = pl.read_csv(path) if fmt == "csv" else pl.read_parquet(path)
    cells = cells_for_points(df["经度"].to_numpy(), df["纬度"].to_numpy(), 9)
    return df.with_columns(pl.Series("h3_res9", cells))


def _best_of_two(run: Callable[[int], None]) -> float:
    best = float("inf")
    for i in range(2):
        t = time.perf_counter()
        run(i)
        best = min(best, time.perf_counter() - t)
    return best


def floor_seconds(path: Path, fmt: str, out: Path) -> float:
    """The bare floor of ingesting ``path``: read it, index every point at H3 res 9, write Parquet.

    polars reads the file (CSV or Parquet), :func:`geo.grid.h3cells.cells_for_points`
    (h3ronpy, all threads) indexes it, polars writes the table with the cell
    column as Parquet: no checks, no grids, no store.  Best of two runs.
    """
    return _best_of_two(lambda _: _read_and_index(path, fmt).write_parquet(out))


FLOOR_DB = "floor into DuckDB (polars read -> h3ronpy -> DuckDB insert)"


def duckdb_floor_seconds(path: Path, fmt: str, out: Path) -> float:
    """The floor with gridwatch's store instead of a Parquet file: the same read and index, then one
    transaction that inserts the table (its columns plus the cell) into a new DuckDB file.  Best of two."""
    import duckdb

    dbs = [out.with_name(f"{out.stem}{i}.duckdb") for i in range(2)]
    for db in dbs:
        db.unlink(missing_ok=True)

    def run(i: int) -> None:
        table = _read_and_index(path, fmt).to_arrow()
        con = duckdb.connect(str(dbs[i]))
        con.register("t", table)
        con.execute("BEGIN")
        con.execute("CREATE TABLE events AS SELECT * FROM t")
        con.execute("COMMIT")
        con.close()

    seconds = _best_of_two(run)
    for db in dbs:
        db.unlink(missing_ok=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--no-xlsx", action="store_true")
    add_json_out(parser)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for n in args.sizes:
            df = make_events(n)
            rates = h3_rates(df["经度"].to_numpy(), df["纬度"].to_numpy(), tmp)
            for name, rate in rates.items():
                rows.append({"events": n, "what": name, "events_per_s": rate, "seconds": n / rate,
                             "stages": ""})
            files = {"csv": tmp / f"e{n}.csv", "parquet": tmp / f"e{n}.parquet"}
            df.to_csv(files["csv"], index=False)
            df.to_parquet(files["parquet"], index=False)
            if n <= 100_000 and not args.no_xlsx:
                files["xlsx"] = tmp / f"e{n}.xlsx"
                df.to_excel(files["xlsx"], index=False)
            for fmt, path in files.items():
                floor = floor_seconds(path, fmt, tmp / f"floor{n}.parquet") if fmt != "xlsx" else None
                floor_db = duckdb_floor_seconds(path, fmt, tmp / f"floor{n}") if fmt != "xlsx" else None
                if floor is not None:
                    rows.append({"events": n, "what": f"{FLOOR} ({fmt})", "events_per_s": n / floor,
                                 "seconds": floor, "stages": "", "floor_s": floor})
                    rows.append({"events": n, "what": f"{FLOOR_DB} ({fmt})", "events_per_s": n / floor_db,
                                 "seconds": floor_db, "stages": "", "floor_s": floor})
                ws = fresh_workspace(tmp)
                t = time.perf_counter()
                report = ingest_file(path, "patrol", ws, crs="WGS84")
                seconds = time.perf_counter() - t
                assert report.read == report.stored + report.duplicates + report.quarantined
                top = sorted(report.timings.items(), key=lambda kv: -kv[1])[:5]
                rows.append({"events": n, "what": f"ingest end to end ({fmt})", "events_per_s": n / seconds,
                             "seconds": seconds, "stages": ", ".join(f"{k} {v:.2f}s" for k, v in top),
                             "floor_s": floor, "floor_db_s": floor_db})
    table = pd.DataFrame(rows)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"# ingest benchmark ({machine})\n")
    print(table.to_markdown(index=False, floatfmt=",.0f") if _has_tabulate() else table.to_string(index=False))
    if args.json_out is not None:  # run by run_all.py: the suite's files are the record
        write_rows(args.json_out, suite_rows(rows))
        return
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / "ingest.csv", index=False)
    (RESULTS / "ingest.md").write_text(f"# ingest benchmark\n\nmachine: {machine}\n\n"
                                       + table.to_string(index=False) + "\n", encoding="utf-8")


def suite_rows(rows: list[dict]) -> list[dict]:
    """The table's rows as run_all.py's {benchmark, case, metric, value, unit, note}."""
    out = []
    for r in rows:
        what = r["what"]
        if what.startswith("h3ronpy"):
            what = what.replace("h3ronpy", "h3ronpy via cells_for_points")
        note = f"{r['seconds']:.2f} s" + (f"; slowest stages: {r['stages']}" if r["stages"] else "")
        if what == "h3-py loop":
            note = f"first {min(r['events'], 200_000):,} points, {note}"
        is_ingest = what.startswith("ingest end to end") or what.startswith(FLOOR_DB)
        ratio = r["seconds"] / r["floor_s"] if is_ingest and r.get("floor_s") else None
        if what.startswith("ingest end to end") and r.get("floor_db_s"):
            note += f"; {r['seconds'] / r['floor_db_s']:.1f}x the floor into DuckDB"
        out.append(result_row("point->H3 / ingest", f"{what}, {r['events']:,} events", "rate",
                              r["events_per_s"], "events/s", note, ratio=ratio, ratio_to="floor"))
    return out


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
