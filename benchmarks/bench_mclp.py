"""Benchmark of the post planner's MCLP solvers (geo.planning.mclp).

One command, prints a table:

    python benchmarks/bench_mclp.py            # full run (~10-15 min on 2 cores)
    python benchmarks/bench_mclp.py --quick    # 2,000 x 5,000 only (p = 20, 60), short caps
    python benchmarks/bench_mclp.py --layouts cells --ps 60,200 --exact-only   # the issue-20 cases only

Instances (metres, radius 300 m), built in code with a seed: 500 × 1,250
(small enough for spopt), 2,000 candidates × 5,000 demand (p = 20, 60) in two
layouts, and 20,000 × 60,000 (p = 200):

- ``cells``: demand = hexagonal cells (spacing ~60 m, like H3 res 10) over a
  7 km × 7 km district whose counts come from ~40 clustered hot spots plus a
  thin background (the 5,000 busiest cells are kept); candidates = the
  intersections of an irregular street grid.  Many cells share almost the same
  covering sets, which makes the LP relaxation fractional: the hard case.
- ``points``: demand = violation points scattered along the streets around hot
  intersections (clustered); same kind of candidates.  The easy case.

Rows compare, on the same coverage matrix and in the same run:

- ``plain HiGHS``: the textbook MILP (``y_i ≤ Σ x_j``, ``Σ x = p``) with
  :func:`scipy.optimize.milp`, no reduction — the baseline;
- ``exact``: :func:`geo.planning.mclp.solve_mclp_exact` (reduction, single-cover
  folding, HiGHS, local search on the reserve) with a 10 s and a 60 s budget;
- ``greedy`` and ``greedy+LS`` (swap + iterated local search, Lagrangian bound);
- ``spopt``: ``spopt.locate.MCLP.from_cost_matrix`` solved by pulp's CBC in a
  child process, killed after ``--spopt-cap`` seconds (small instance only).

``gap*`` is measured against the best upper bound any method proved for that
instance; ``own gap`` is what the method itself could prove.  Times are wall
clock: on a shared machine they vary by 2-3×, compare within one run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _suite import add_json_out, result_row, write_rows  # noqa: E402

from geo.planning.mclp import coverage_matrix, solve_mclp_exact, solve_mclp_greedy  # noqa: E402

RADIUS_M = 300.0


# ---------------------------------------------------------------------------
# instances
# ---------------------------------------------------------------------------


def _street_grid(n_sites: int, side: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    k = int(np.ceil(np.sqrt(n_sites / 0.85)))
    gx = np.linspace(0, side, k) + rng.normal(0, 30, k)
    gy = np.linspace(0, side, k) + rng.normal(0, 30, k)
    X, Y = np.meshgrid(gx, gy)
    nodes = np.c_[X.ravel(), Y.ravel()]
    sites = nodes[np.sort(rng.choice(len(nodes), n_sites, replace=False))] + rng.normal(0, 20, (n_sites, 2))
    return sites, nodes


def make_instance(layout: str, n_sites: int, n_demand: int, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sites (m, 2), demand (n, 2) and integer weights (n,) in metres; area grows with n_sites."""
    rng = np.random.default_rng(seed)
    side = 7000.0 * np.sqrt(n_sites / 2000)
    sites, nodes = _street_grid(n_sites, side, rng)
    n_hot = max(10, int(40 * n_sites / 2000))
    if layout == "cells":
        ncell = int(n_demand * 2.5)
        s = np.sqrt(side**2 / (ncell * np.sqrt(3) / 2))
        ys = np.arange(0, side, s * np.sqrt(3) / 2)
        xs = np.arange(0, side, s)
        HX, HY = np.meshgrid(xs, ys)
        HX = HX + (np.arange(len(ys))[:, None] % 2) * s / 2
        cells = np.c_[HX.ravel(), HY.ravel()]
        centres = nodes[rng.choice(len(nodes), n_hot, replace=False)]
        spread = rng.uniform(100, 500, n_hot)
        amp = rng.lognormal(0, 1, n_hot)
        lam = np.full(len(cells), 0.05)
        for c0 in range(0, n_hot, 64):  # blocks of hot spots: bounded memory
            d2 = ((cells[:, None, :] - centres[None, c0:c0 + 64]) ** 2).sum(-1)
            lam += (amp[c0:c0 + 64] * np.exp(-d2 / (2 * spread[c0:c0 + 64] ** 2))).sum(1) * 6
        counts = rng.poisson(lam)
        keep = np.sort(np.argsort(-(counts + rng.random(len(counts)) * 0.5), kind="stable")[:n_demand])
        return sites, cells[keep], np.maximum(counts[keep], 1).astype(float)
    if layout == "points":
        hot = nodes[rng.choice(len(nodes), n_hot, replace=False)]
        spread = rng.uniform(100, 700, n_hot)
        lab = rng.integers(0, n_hot, n_demand)
        along = rng.normal(size=n_demand) * spread[lab]
        horiz = rng.random(n_demand) < 0.5
        off = np.where(horiz[:, None], np.c_[along, np.zeros(n_demand)], np.c_[np.zeros(n_demand), along])
        dem = np.clip(hot[lab] + off + rng.normal(0, 8, (n_demand, 2)), 0, side)
        return sites, dem, np.floor(rng.lognormal(0.7, 1.0, n_demand)) + 1
    raise ValueError(f"unknown layout {layout!r}")


# ---------------------------------------------------------------------------
# baselines
# ---------------------------------------------------------------------------


def plain_highs(A: sp.csr_matrix, w: np.ndarray, p: int, time_limit: float) -> dict:
    """The textbook MCLP MILP, no reduction (the baseline of issue 7)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    n, m = A.shape
    c = np.r_[np.zeros(m), -w]
    M = sp.hstack([-A.astype(float), sp.identity(n, format="csr")], format="csr")
    cons = [LinearConstraint(M, -np.inf, 0.0),
            LinearConstraint(sp.csr_matrix(np.r_[np.ones(m), np.zeros(n)][None, :]), p, p)]
    t = time.perf_counter()
    res = milp(c, constraints=cons, integrality=np.r_[np.ones(m), np.zeros(n)], bounds=Bounds(0, 1),
               options={"time_limit": time_limit, "disp": False})
    sec = time.perf_counter() - t
    obj = -float(res.fun) if res.x is not None else float("nan")
    ub = -float(res.mip_dual_bound) if getattr(res, "mip_dual_bound", None) is not None else float("nan")
    return {"seconds": sec, "objective": obj, "upper": ub,
            "status": "optimal" if res.status == 0 else "time_limit"}


def _spopt_worker(npz: str, p: int, cap: float) -> None:  # runs in a child process
    import pulp
    from spopt.locate import MCLP

    d = np.load(npz)
    A = sp.csr_matrix((d["data"], d["indices"], d["indptr"]), shape=tuple(d["shape"]))
    w = d["w"]
    t = time.perf_counter()
    cost = np.where(A.toarray() > 0, 0.0, 1.0)
    model = MCLP.from_cost_matrix(cost, w, service_radius=0.5, p_facilities=p)
    print(f"BUILD {time.perf_counter() - t:.1f}", flush=True)
    left = max(1.0, cap - (time.perf_counter() - t))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.problem.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=left))
    print(f"DONE {time.perf_counter() - t:.1f} {pulp.value(model.problem.objective)} "
          f"{pulp.LpStatus[model.problem.status]}", flush=True)


def spopt_run(A: sp.csr_matrix, w: np.ndarray, p: int, cap: float) -> dict:
    """spopt's MCLP in a child process group, killed after ``cap`` seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        npz = os.path.join(tmp, "inst.npz")
        np.savez(npz, data=A.data, indices=A.indices, indptr=A.indptr, shape=np.array(A.shape), w=w)
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, "--spopt-worker", npz, str(p), str(cap)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=cap + 15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker and its CBC child, by our own group id
            out, err = proc.communicate()
        sec = time.perf_counter() - t
    build = next((ln.split()[1] for ln in out.splitlines() if ln.startswith("BUILD")), None)
    done = next((ln.split() for ln in out.splitlines() if ln.startswith("DONE")), None)
    if done is None:
        phase = "model building" if build is None else f"CBC (model built in {build} s)"
        return {"seconds": sec, "objective": float("nan"), "upper": float("nan"),
                "status": f"killed at {cap:.0f} s in {phase}"}
    obj = float(done[2]) if done[2] != "None" else float("nan")
    return {"seconds": sec, "objective": obj, "upper": float("nan"),
            "status": f"{done[3].lower()} (build {build} s)"}


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------


def run_case(label: str, A: sp.csr_matrix, w: np.ndarray, p: int, *, plain_cap: float,
             exact_budgets: tuple[float, ...], spopt_cap: float | None, baselines: bool = True) -> list[dict]:
    rows: list[dict] = []

    def add(method: str, r: dict) -> None:
        rows.append({"instance": label, "p": p, "method": method, **r})
        print(f"  {method:<22} {r['seconds']:8.2f} s  obj {r['objective']:.0f}  {r['status']}", flush=True)

    if plain_cap > 0:
        add("plain HiGHS", plain_highs(A, w, p, plain_cap))
    for budget in exact_budgets:
        r = solve_mclp_exact(A, w, p, time_limit=budget)
        add(f"exact (reduced) {budget:.0f}s", {"seconds": r.seconds, "objective": r.objective,
                                                "upper": r.upper_bound, "status": r.status,
                                                "note": f"{r.stats.get('n_sites_reduced')}x"
                                                        f"{r.stats.get('n_demand_reduced')}, bound "
                                                        f"{r.stats.get('bound_source')}, fixed out/in "
                                                        f"{r.stats.get('fixed_out', 0)}/{r.stats.get('fixed_in', 0)}"})
    if baselines:
        g = solve_mclp_greedy(A, w, p)
        add("greedy", {"seconds": g.seconds, "objective": g.objective, "upper": g.upper_bound,
                       "status": "heuristic"})
        ls = solve_mclp_greedy(A, w, p, local_search=True, bound="lagrangian")
        add("greedy+LS (+Lagr.)", {"seconds": ls.seconds, "objective": ls.objective, "upper": ls.upper_bound,
                                   "status": "heuristic"})
    if spopt_cap:
        add("spopt (pulp CBC)", spopt_run(A, w, p, spopt_cap))
    best_ub = min((r["upper"] for r in rows if np.isfinite(r.get("upper", np.nan))), default=np.nan)
    for r in rows:
        r["best_ub"] = best_ub
    return rows


def _gaps(r: dict) -> tuple[float, float]:
    obj, ub, best = r["objective"], r.get("upper", np.nan), r["best_ub"]
    gap = (best - obj) / best if np.isfinite(obj) and np.isfinite(best) else np.nan
    own = (ub - obj) / ub if np.isfinite(obj) and np.isfinite(ub) and ub > 0 else np.nan
    return gap, own


def suite_rows(rows: list[dict]) -> list[dict]:
    """The table's rows as run_all.py's {benchmark, case, metric, value, unit, note}: seconds, gaps in the note."""
    out = []
    plain = {(r["instance"], r["p"]): r["seconds"] for r in rows if r["method"] == "plain HiGHS"}
    for r in rows:
        gap, own = _gaps(r)
        pct = (lambda x: f"{100 * x:.2f}%" if np.isfinite(x) else "-")  # noqa: E731
        status = r["status"] + (f" [{r['note']}]" if r.get("note") else "")
        note = f"objective {r['objective']:.0f}, gap* {pct(gap)}, own gap {pct(own)}, {status}"
        ref = plain.get((r["instance"], r["p"]))
        ratio = r["seconds"] / ref if ref and r["method"] != "plain HiGHS" else None
        out.append(result_row("MCLP", f"{r['instance']} p={r['p']}: {r['method']}", "seconds", r["seconds"], "s",
                              note, ratio=ratio, ratio_to="plain HiGHS"))
    return out


def print_table(rows: list[dict]) -> None:
    head = (f"| {'instance':<24} | {'p':>3} | {'method':<22} | {'seconds':>8} | {'objective':>10} | "
            f"{'gap*':>7} | {'own gap':>7} | status")
    print()
    print(head)
    print("|" + "|".join("-" * len(c) for c in head.split("|")[1:]))
    for r in rows:
        obj = r["objective"]
        gap, own = _gaps(r)
        fmt = (lambda x: f"{100 * x:6.2f}%" if np.isfinite(x) else "      -")  # noqa: E731
        status = r["status"] + (f" [{r['note']}]" if r.get("note") else "")
        print(f"| {r['instance']:<24} | {r['p']:>3} | {r['method']:<22} | {r['seconds']:8.2f} | "
              f"{obj:10.0f} | {fmt(gap)} | {fmt(own)} | {status}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 x 5,000 only, short caps")
    ap.add_argument("--plain-cap", type=float, default=120.0, help="time cap of the plain HiGHS baseline (s)")
    ap.add_argument("--spopt-cap", type=float, default=120.0, help="time cap of spopt, 0 = skip (s)")
    ap.add_argument("--layouts", default="cells,points", help="comma-separated: cells, points")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--large-only", action="store_true", help="only the 20,000 x 60,000 instance")
    ap.add_argument("--ps", default="", help="comma-separated p values to run (default: every case's)")
    ap.add_argument("--exact-only", action="store_true",
                    help="only the exact solver's rows (no plain HiGHS, greedy or spopt baselines)")
    add_json_out(ap)
    args = ap.parse_args()
    all_rows: list[dict] = []
    cases: list[tuple[str, int, int, tuple[int, ...]]] = []
    if not args.quick and not args.large_only:
        cases.append(("cells", 500, 1250, (10,)))  # small enough for spopt to finish
    if not args.large_only:
        for layout in args.layouts.split(","):
            cases.append((layout, 2000, 5000, (20, 60)))
    if not args.quick:
        cases.append(("cells", 20000, 60000, (200,)))
    for layout, m, n, ps in cases:
        t = time.perf_counter()
        sites, demand, w = make_instance(layout, m, n, seed=args.seed)
        t_cov = time.perf_counter()
        A = coverage_matrix(sites, demand, RADIUS_M)
        t_cov = time.perf_counter() - t_cov
        label = f"{layout} {m}x{n}"
        print(f"{label}: instance {t_cov and time.perf_counter() - t:.1f} s, coverage_matrix {t_cov:.2f} s, "
              f"nnz {A.nnz:,} ({A.nnz / n:.1f} sites per demand)", flush=True)
        big = m > 5000
        wanted = {int(v) for v in args.ps.split(",") if v.strip()}
        for p in ps:
            if wanted and p not in wanted:
                continue
            all_rows += run_case(
                label, A, w, p,
                plain_cap=0.0 if big or args.exact_only else (20.0 if args.quick else args.plain_cap),
                exact_budgets=(60.0,) if big else ((10.0,) if args.quick else (10.0, 60.0)),
                baselines=not args.exact_only,
                spopt_cap=None if (big or args.exact_only or not args.spopt_cap or layout != "cells" or p != ps[0])
                else (30.0 if args.quick else args.spopt_cap),
            )
    print_table(all_rows)
    print("\ngap* = (best upper bound proved by any method - objective) / best upper bound; "
          "own gap = against the method's own bound.")
    write_rows(args.json_out, suite_rows(all_rows))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--spopt-worker":
        _spopt_worker(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        main()
