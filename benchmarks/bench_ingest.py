"""Ingest benchmark: end-to-end events/s beside the raw H3 indexing rate, in one run.

    python benchmarks/bench_ingest.py              # 1e5 and 1e6 events (CSV, Parquet), XLSX at 1e5
    python benchmarks/bench_ingest.py --sizes 100000 --no-xlsx

For each size, synthetic patrol-like events inside the Xicheng sample area are
written as CSV (UTF-8), Parquet and (1e5 only) XLSX, then ingested into a fresh
workspace with :func:`geo.ingest.ingest_file` (read → validate → convert →
index → grids → store).  Beside it, on the same points: h3-py in a Python loop,
h3ronpy on one thread and on all threads.  The table also says where the time
goes (the ingest report's stage timings).  Results are printed and written to
``benchmarks/results/ingest.md`` and ``.csv``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from geo.ingest import ingest_file
from geo.workspace import SAMPLE_WORKSPACE, load_workspace

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
    return load_workspace(root)


def h3_rates(lon: np.ndarray, lat: np.ndarray) -> dict[str, float]:
    import h3
    import pyarrow as pa
    from h3ronpy import vector

    out = {}
    k = min(len(lon), 200_000)
    t = time.perf_counter()
    for a, b in zip(lat[:k].tolist(), lon[:k].tolist(), strict=True):
        h3.latlng_to_cell(a, b, 9)
    out["h3-py loop"] = k / (time.perf_counter() - t)
    for threads in (1, os.cpu_count() or 1):
        os.environ["RAYON_NUM_THREADS"] = str(threads)
        t = time.perf_counter()
        pa.array(vector.coordinates_to_cells(lat, lon, 9))
        out[f"h3ronpy ({threads} thread{'s' if threads > 1 else ''})"] = len(lon) / (time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--no-xlsx", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for n in args.sizes:
            df = make_events(n)
            rates = h3_rates(df["经度"].to_numpy(), df["纬度"].to_numpy())
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
                ws = fresh_workspace(tmp)
                t = time.perf_counter()
                report = ingest_file(path, "patrol", ws, crs="WGS84")
                seconds = time.perf_counter() - t
                assert report.read == report.stored + report.duplicates + report.quarantined
                top = sorted(report.timings.items(), key=lambda kv: -kv[1])[:5]
                rows.append({"events": n, "what": f"ingest end to end ({fmt})", "events_per_s": n / seconds,
                             "seconds": seconds, "stages": ", ".join(f"{k} {v:.2f}s" for k, v in top)})
    table = pd.DataFrame(rows)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"# ingest benchmark ({machine})\n")
    print(table.to_markdown(index=False, floatfmt=",.0f") if _has_tabulate() else table.to_string(index=False))
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / "ingest.csv", index=False)
    (RESULTS / "ingest.md").write_text(f"# ingest benchmark\n\nmachine: {machine}\n\n"
                                       + table.to_string(index=False) + "\n", encoding="utf-8")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
