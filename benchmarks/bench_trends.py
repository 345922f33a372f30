"""City-wide emerging hot spots: time and peak memory of the trend analysis at scale.

Case: a filled res-9 H3 disk of >= 100,000 cells (radius 183 around Xicheng: 100,651 cells) ×
260 weekly slices (five years), 10^6 events (a lognormal rate per cell, a few cells with a rising
trend).  Steps timed: building the cube from event rows (:func:`geo.analysis.trends.build_cube`),
space-time Gi* with FDR (:func:`geo.analysis.trends.spacetime_gi`) and the Mann-Kendall + class
step (:func:`geo.analysis.trends.classify_emerging`).  Peak RSS is the process's ``ru_maxrss``
(one process, no workers); the target is < 3 GiB.  The issue it guards: the old implementation
built an (n, T²/2) pair array in Mann-Kendall and the (n·T)² Kronecker weights, 4.4 GiB on
21,671 cells × 234 slices.

Run:  python benchmarks/bench_trends.py [--radius 183] [--slices 260] [--events 1000000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import h3.api.basic_int as h3
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _suite import add_json_out, result_row, write_rows  # noqa: E402

from geo.analysis.trends import build_cube, classify_emerging, spacetime_gi  # noqa: E402
from geo.settings import Settings  # noqa: E402

CENTRE = (39.915, 116.366)
TARGET_GIB = 3.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--radius", type=int, default=183)
    ap.add_argument("--slices", type=int, default=260)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    add_json_out(ap)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    cells = np.array(sorted(h3.grid_disk(h3.latlng_to_cell(*CENTRE, 9), args.radius)), dtype=np.int64)
    n, t = cells.size, args.slices
    until = date(2026, 11, 29)
    first = until + timedelta(days=1) - timedelta(days=7 * t)
    rate = rng.lognormal(0.0, 1.5, n)
    rate /= rate.sum()
    cell_of = rng.choice(n, size=args.events, p=rate)
    day = rng.integers(0, 7 * t, args.events)
    rising = cell_of < n // 200  # 0.5 % of cells: events pushed towards the end
    day[rising] = np.maximum(day[rising], rng.integers(0, 7 * t, int(rising.sum())))
    when = pd.to_datetime(np.datetime64(first) + day.astype("timedelta64[D]")).tz_localize("Asia/Shanghai")
    events = pd.DataFrame({"occurred_at": when, "h3_small": cells[cell_of]})
    area = pd.DataFrame({"cell": cells, "area_share": np.ones(n)})
    settings = Settings()
    base = peak_rss_mib()

    t0 = time.perf_counter()
    cube = build_cube(events, area, "small", settings, period_days=7, since=first, until=until)
    t1 = time.perf_counter()
    z, _p, bins = spacetime_gi(cube, k=1, time_step=1)
    t2 = time.perf_counter()
    cls = classify_emerging(z, bins)
    t3 = time.perf_counter()
    peak = peak_rss_mib()

    case = f"{n:,} cells x {cube.n_slices} weeks, {int(cube.counts.sum()):,} events"
    steps = [("build_cube", t1 - t0), ("spacetime_gi", t2 - t1), ("classify", t3 - t2), ("total", t3 - t0)]
    print(f"trends at city scale: {case}")
    print(f"    {'step':<14}{'seconds':>10}")
    for name, sec in steps:
        print(f"    {name:<14}{sec:>10.1f}")
    print(f"    {'peak RSS':<14}{peak:>9.0f} MiB (inputs alone {base:.0f} MiB; target < {TARGET_GIB:.0f} GiB: "
          f"{'met' if peak < TARGET_GIB * 1024 else 'MISSED'})")
    top = cls["pattern"].value_counts().head(5)
    print("    classes: " + ", ".join(f"{k} {v}" for k, v in top.items()))
    rows = [result_row("trends", case, f"{name} time", sec, "s") for name, sec in steps]
    rows.append(result_row("trends", case, "peak RSS", peak, "MiB", f"target < {TARGET_GIB:.0f} GiB",
                           peak_rss_mb=peak))
    write_rows(args.json_out, rows)


if __name__ == "__main__":
    main()
