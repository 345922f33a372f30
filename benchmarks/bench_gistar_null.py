"""False discoveries of Gi* + Benjamini–Hochberg on null maps (no hot spots at all).

Null maps: every cell of a filled res-9 H3 disk (radius 30 around Xicheng, 2,791 cells) gets
an independent Poisson count with the same mean (complete spatial randomness); optional rows
use over-dispersed counts (negative binomial, variance = mean + mean^2/2, still no spatial
structure) and partial boundary cells (``area_share`` ~ U(0.2, 1) on the outer ring, mean
proportional to the share).  Any FDR-significant hot cell is false.

For each setting and inference mode it reports, over ``--maps`` maps, the share of maps with
at least one hot cell significant after BH at the 90 % level (bin >= +1, q <= 0.10) and at
the 95 % level (bin >= +2, q <= 0.05), the share with any hot *or* cold cell at 90 %, and the
mean number of false hot cells (q <= 0.10).  Under the complete null BH's FDR equals the
chance of any discovery, so the 90 % columns should stay at or below 0.10 and the 95 % one
at or below 0.05 (binomial noise: with 100 maps, 0.10 +- 0.03).

Run:  python benchmarks/bench_gistar_null.py [--maps 100] [--radius 30] [--simulations 499]
"""

from __future__ import annotations

import argparse
import time

import h3.api.basic_int as h3
import numpy as np

from geo.analysis.gistar import getis_ord_star, gi_bins, kring_weights

CENTRE = (39.915, 116.366)  # Xicheng (lat, lng)


def null_counts(rng: np.random.Generator, mean: float, n: int, kind: str, a: np.ndarray) -> np.ndarray:
    mu = mean * a
    if kind == "nb":  # gamma-Poisson, shape 2: var = mu + mu^2 / 2
        return rng.poisson(rng.gamma(2.0, mu / 2.0))
    return rng.poisson(mu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--maps", type=int, default=100)
    ap.add_argument("--radius", type=int, default=30)
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--simulations", type=int, default=499)
    ap.add_argument("--means", type=float, nargs="+", default=[1, 2, 5, 10, 50])
    args = ap.parse_args()

    centre = h3.latlng_to_cell(*CENTRE, 9)
    cells = np.array(h3.grid_disk(centre, args.radius), dtype=np.int64)
    n = cells.size
    w = kring_weights(cells, k=args.k)
    ring = np.isin(cells, np.array(h3.grid_ring(centre, args.radius), dtype=np.int64))
    partial = np.ones(n)
    partial[ring] = np.random.default_rng(123).uniform(0.2, 1.0, ring.sum())

    settings = [(m, "poisson", False) for m in args.means]
    settings += [(5.0, "nb", False), (5.0, "poisson", True), (5.0, "nb", True)]
    print(f"# {n} res-9 cells (disk radius {args.radius}), k={args.k}, {args.maps} null maps per row, "
          f"{args.simulations} simulated maps per csr/pooled run")
    header = (f"| {'mean':>5} | {'null':<13} | {'inference':<9} | {'P(hot,q<=.10)':>13} | "
              f"{'P(hot,q<=.05)':>13} | {'P(any,q<=.10)':>13} | {'false hot/map':>13} | {'s/map':>6} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for mean, kind, use_share in settings:
        a = partial if use_share else np.ones(n)
        label = kind + (" +share" if use_share else "")
        modes = ["analytic", "csr", "pooled"]
        stats = {m: np.zeros((args.maps, 4)) for m in modes}
        times = dict.fromkeys(modes, 0.0)
        for s in range(args.maps):
            rng = np.random.default_rng(10_000 + s)
            y = null_counts(rng, mean, n, kind, a)
            for mode in modes:
                t0 = time.perf_counter()
                r = getis_ord_star(y, w, area_share=a if use_share else None, inference=mode,
                                   simulations=args.simulations, seed=s)
                times[mode] += time.perf_counter() - t0
                bins = gi_bins(r.z, r.p_value).bins
                stats[mode][s] = [(bins >= 1).any(), (bins >= 2).any(), (bins != 0).any(), (bins >= 1).sum()]
        for mode in modes:
            m = stats[mode].mean(axis=0)
            print(f"| {mean:>5g} | {label:<13} | {mode:<9} | {m[0]:>13.3f} | {m[1]:>13.3f} | "
                  f"{m[2]:>13.3f} | {m[3]:>13.2f} | {times[mode] / args.maps:>6.3f} |", flush=True)


if __name__ == "__main__":
    main()
