"""Gi* speed: gridwatch (h3ronpy + scipy.sparse) against libpysal + esda, same run.

Study area: all res-9 H3 cells of a disk around Xicheng (radius 230 -> 159,391 cells),
Poisson(5) counts.  Times, in seconds (best of ``--repeat``):

* weights: ``geo.analysis.gistar.kring_weights`` vs ``libpysal.graph.Graph.build_h3(hex ids, order=k,
  weight="binary")`` (the libpysal route needs hex strings; conversion not timed);
* compute: ``getis_ord_star(..., inference="analytic")`` vs
  ``esda.getisord.G_Local(y, w, transform="B", star=True, permutations=0)`` on the *same*
  weights, and the largest |z difference| (must be ~1e-12);
* for information: the simulation-based modes (``pooled``, ``csr``) at their defaults.

Run:  python benchmarks/bench_gistar.py [--radius 230] [--repeat 3] [--k 1 2] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import h3
import numpy as np
from _suite import add_json_out, result_row, write_rows

from geo.analysis.gistar import getis_ord_star, kring_weights

CENTRE = (39.915, 116.366)


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--radius", type=int, default=230)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--skip-esda", action="store_true")
    add_json_out(ap)
    args = ap.parse_args()
    rows: list[dict] = []

    import esda
    from libpysal.graph import Graph

    centre = h3.latlng_to_cell(*CENTRE, 9)
    hexes = list(h3.grid_disk(centre, args.radius))
    cells = np.array([h3.str_to_int(c) for c in hexes], dtype=np.int64)
    n = cells.size
    y = np.random.default_rng(0).poisson(5.0, n).astype(np.float64)
    print(f"# {n:,} res-9 cells, Poisson(5) counts, best of {args.repeat}")
    header = f"| {'k':>2} | {'step':<34} | {'gridwatch s':>11} | {'libpysal/esda s':>15} | {'speed-up':>8} |"
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")

    def row(k: int, step: str, ours: float, ref: float | None, note: str = "") -> None:
        ref_s = f"{ref:>15.3f}" if ref is not None else f"{'-':>15}"
        up = f"{ref / ours:>7.1f}x" if ref is not None else f"{'-':>8}"
        print(f"| {k:>2} | {step:<34} | {ours:>11.3f} | {ref_s} | {up} |", flush=True)
        case = f"{n:,} cells, k={k}, {step}"
        speed = f"{ref / ours:.1f}x faster than libpysal/esda" if ref is not None else ""
        rows.append(result_row("Gi* vs esda", f"{case}: gridwatch", "seconds", ours, "s",
                               "; ".join(x for x in (speed, note) if x),
                               ratio=ours / ref if ref else None, ratio_to="libpysal/esda"))
        if ref is not None:
            rows.append(result_row("Gi* vs esda", f"{case}: libpysal/esda", "seconds", ref, "s"))

    for k in args.k:
        t_w, w = best(lambda k=k: kring_weights(cells, k=k), args.repeat)
        t_gi, res = best(lambda w=w: getis_ord_star(y, w, inference="analytic"), args.repeat)
        t_ref_w = t_ref_gi = None
        if not args.skip_esda:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_ref_w, g = best(lambda k=k: Graph.build_h3(hexes, order=k, weight="binary"), 1)
                # same weights for the compute comparison (and a check that libpysal agrees)
                g_same = Graph.from_sparse(w)
                pos = {c: i for i, c in enumerate(hexes)}
                ids = np.array([pos[c] for c in g.unique_ids])
                same_edges = (g.n_edges + n) == w.nnz
                t_ref_gi, lg = best(lambda g_same=g_same: esda.getisord.G_Local(
                    y, g_same, transform="B", star=True, permutations=0), args.repeat)
                lg_h3 = esda.getisord.G_Local(y[ids], g, transform="B", star=True, permutations=0)
            dz = float(np.abs(lg.Zs - res.z).max())
            dz_h3 = float(np.abs(lg_h3.Zs - res.z[ids]).max())
        row(k, "weights (k-ring, self weight)", t_w, t_ref_w,
            "" if args.skip_esda else f"libpysal Graph.build_h3; edge count matches: {same_edges}")
        row(k, "Gi* analytic", t_gi, t_ref_gi,
            "" if args.skip_esda else f"esda G_Local on the same weights, max |dz| = {dz:.1e}")
        row(k, "weights + Gi* analytic", t_w + t_gi, None if t_ref_w is None else t_ref_w + t_ref_gi)
        for mode in ("pooled", "csr"):
            t_sim, _ = best(lambda w=w, mode=mode: getis_ord_star(y, w, inference=mode), 1)
            row(k, f"Gi* {mode} (499 null maps)", t_sim, None)
        if not args.skip_esda:
            print(f"#   k={k}: max |z - esda Zs| = {dz:.2e} (same weights), {dz_h3:.2e} "
                  f"(libpysal build_h3 weights); libpysal edge count matches: {same_edges}")
    write_rows(args.json_out, rows)


if __name__ == "__main__":
    main()
