"""The MCLP solvers: exact (HiGHS on the reduced instance), greedy + local search, and the choice between them.

:func:`solve_mclp_exact` solves the integer programme
``max Σ w_i y_i  s.t.  y_i ≤ Σ_{j∈N_i} x_j,  Σ x_j ≤ p,  x ∈ {0,1}, y ∈ [0,1]``
by HiGHS through :func:`scipy.optimize.milp` after :func:`~geo.planning.bounds.reduce_instance`;
:func:`solve_mclp_greedy` is the greedy heuristic with optional local search and
a bound; :func:`solve_mclp` picks one by size.  :func:`coverage_curve` and
:func:`posts_for_share` answer "how many posts".
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

from geo.errors import InfeasibleError
from geo.planning.bounds import (
    ReducedInstance,
    lagrangian_dual,
    reduce_instance,
    reduced_cost_fixing,
)
from geo.planning.heuristics import (
    evaluate_plan,
    greedy_select,
    iterated_local_search,
    multistart_search,
    pad_sites,
    plan_result,
    swap_improve,
)
from geo.planning.problem import FloatArray, MCLPResult, PostPlanningError, check_problem, gather_rows

__all__ = ["Solver", "coverage_curve", "posts_for_share", "solve_mclp", "solve_mclp_exact", "solve_mclp_greedy"]

Solver = Literal["auto", "exact", "greedy"]




def _milp(R: sp.csr_matrix, wr: FloatArray, p_new: int, *, time_limit: float, mip_rel_gap: float
          ) -> tuple[NDArray[np.bool_] | None, float, int, dict[str, Any]]:
    """Solve the (reduced) MCLP with HiGHS. Returns chosen mask, upper bound, status, info.

    Demand covered by exactly one candidate needs no y variable: ``y_i = x_j``
    at the optimum, so its weight moves onto ``x_j``'s objective coefficient.
    """
    n, m = R.shape
    deg = np.diff(R.indptr)
    single = deg == 1
    cx = np.bincount(R.indices[R.indptr[:-1][single]], weights=wr[single], minlength=m)
    multi = np.flatnonzero(~single)
    M = R[multi]
    k = multi.size
    c = -np.r_[cx, wr[multi]]
    # rows: y_i - sum_j a_ij x_j <= 0 ; last row: sum x <= p_new
    Ay = sp.hstack([-M, sp.identity(k, format="csr")], format="csr")
    Ap = sp.csr_matrix(np.r_[np.ones(m), np.zeros(k)][None, :])
    cons = [LinearConstraint(Ay, -np.inf, 0.0), LinearConstraint(Ap, 0.0, float(p_new))]
    integrality = np.r_[np.ones(m), np.zeros(k)]
    res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(0.0, 1.0),
               options={"time_limit": max(float(time_limit), 0.01), "mip_rel_gap": float(mip_rel_gap),
                        "disp": False, "presolve": True})
    info = {"milp_status": int(res.status), "milp_message": str(res.message),
            "milp_nodes": int(getattr(res, "mip_node_count", 0) or 0),
            "milp_vars": int(m + k), "milp_rows": int(k + 1)}
    dual = getattr(res, "mip_dual_bound", None)
    ub = -float(dual) if dual is not None and np.isfinite(dual) else float(wr.sum())
    if res.x is None:
        return None, ub, int(res.status), info
    return res.x[:m] > 0.5, ub, int(res.status), info


def solve_mclp_greedy(
    coverage: Any,
    weights: ArrayLike | None,
    p: int,
    *,
    fixed: ArrayLike | None = None,
    local_search: bool = False,
    bound: Literal["greedy", "lagrangian"] = "greedy",
    time_limit: float = 60.0,
    seed: int = 0,
    reduced: ReducedInstance | None = None,
) -> MCLPResult:
    """Greedy maximal covering, optionally improved by local search.

    Chooses ``p − len(fixed)`` new sites one at a time by largest marginal gain
    (exact incremental gains; ties → lowest index).  Guarantees at least
    ``1 − 1/e ≈ 63 %`` of the optimum (in practice within a few per cent).
    Handles 20,000 candidates × 60,000 demand in about a second.

    Parameters
    ----------
    coverage : (n, m) sparse or dense 0/1 matrix
    weights : (n,) array or None
        Demand weights (None = 1 each).
    p : int
        Total number of posts, existing ones included.
    fixed : int array or bool mask, optional
        Existing posts (candidate indices), always kept.
    local_search : bool
        Improve the plan by best-improvement swaps, then by iterated local
        search (random partial restarts, ``seed``) until it stalls.
    bound : {"greedy", "lagrangian"}
        ``"greedy"``: the submodularity bound seen along the greedy run (free,
        loose: often 20-30 % above).  ``"lagrangian"``: subgradient Lagrangian
        bound on the reduced instance (near the LP bound; a second or more on
        large instances).
    time_limit : float
        Seconds allowed for local search and bound together (a safety net:
        both normally stop on their own, deterministically).
    seed : int
        Seed of the local search's random restarts.
    reduced : ReducedInstance, optional
        :func:`~geo.planning.bounds.reduce_instance` of this very instance, when the
        caller already has it (:func:`solve_mclp`); the Lagrangian bound uses it
        instead of reducing again.

    Returns
    -------
    MCLPResult
        ``status`` is ``"heuristic"``; ``gap`` is against ``upper_bound``.
    """
    t0 = time.perf_counter()
    A, w, p, f = check_problem(coverage, weights, p, fixed)
    if bound not in ("greedy", "lagrangian"):
        raise PostPlanningError(f"bound must be 'greedy' or 'lagrangian', got {bound!r}")
    At = A.T.tocsr()
    k = p - f.size
    g = greedy_select(A, At, w, k, f, bound_budgets=max(k, 1))
    ub = float(g.ub_by_budget[k - 1]) if (g.ub_by_budget is not None and k >= 1) else g.value
    new = g.picks
    stats: dict[str, Any] = {"n_demand": A.shape[0], "n_sites": A.shape[1], "nnz": int(A.nnz),
                             "greedy_objective": g.value, "greedy_bound": ub, "bound_source": "greedy"}
    solver = "greedy"
    deadline = t0 + time_limit
    if local_search and k >= 1:
        # the bound (if asked) and its Lagrangian heuristic keep half of the budget
        ls_deadline = t0 + (0.5 * time_limit if bound == "lagrangian" else time_limit)
        new, info = iterated_local_search(A, At, w, f, new, deadline=ls_deadline, seed=seed)
        stats.update(info)
        solver = "greedy+swap"
    if bound == "lagrangian" and k >= 1:
        red = reduced if reduced is not None else reduce_instance(A, w, p, f)
        lower = evaluate_plan(A, At, w, np.r_[f, new].astype(np.int64))[0] - red.constant
        dual = lagrangian_dual(red.A, red.A.T.tocsr(), red.weights, red.p_new, lower,
                               deadline=deadline - 0.15 * time_limit)
        lag = red.constant + dual.bound
        stats.update({"lagrangian_bound": lag, "lagrangian_iterations": dual.iterations})
        stats.update(red.stats)
        if local_search and red.A.shape[1] > red.p_new:
            # Lagrangian heuristic: the relaxation's p best sites, swap-improved (a second start)
            top = red.sites[np.argsort(-dual.site_value, kind="stable")[:red.p_new]]
            lag_plan, _ = swap_improve(A, At, w, f, top, deadline=max(deadline, time.perf_counter() + 1.0))
            lag_obj = evaluate_plan(A, At, w, np.r_[f, lag_plan].astype(np.int64))[0]
            stats["lagrangian_heuristic_objective"] = lag_obj
            if lag_obj > lower + red.constant:
                new = lag_plan
                stats["used_lagrangian_heuristic"] = True
            if time.perf_counter() < deadline:  # time left: iterated local search from the better plan
                more, info = iterated_local_search(A, At, w, f, new, deadline=deadline, seed=seed + 1)
                if evaluate_plan(A, At, w, np.r_[f, more].astype(np.int64))[0] > max(lag_obj, lower + red.constant):
                    new = more
                stats["late_ils_rounds"] = info["ils_rounds"]
        if lag < ub:
            ub, stats["bound_source"] = lag, "lagrangian"
    return plan_result(A, At, w, f, new, upper_bound=ub, t0=t0, solver=solver, status="heuristic", stats=stats)


def solve_mclp_exact(
    coverage: Any,
    weights: ArrayLike | None,
    p: int,
    *,
    fixed: ArrayLike | None = None,
    time_limit: float = 60.0,
    mip_rel_gap: float = 1e-4,
    reduce: bool = True,
    local_search: bool = True,
    seed: int = 0,
    ls_first_nnz: int = 20_000,
    lagrangian_iters: int = 3_000,
    highs_root_seconds_per_nnz: float = 2e-4,
    reduced: ReducedInstance | None = None,
) -> MCLPResult:
    """Maximal covering as an integer programme (HiGHS via :func:`scipy.optimize.milp`).

    Steps: the greedy plan; the instance shrunk by :func:`reduce_instance`
    (``reduce=True``); a warm start by swap local search (``local_search``);
    a Lagrangian dual (:func:`~geo.planning.bounds.lagrangian_dual`, smoothed
    accelerated gradient: within ~0.02 % of the LP bound) whose own choice of
    sites, swap-improved, is a second start (the Lagrangian heuristic).  If
    the Lagrangian bound is within ``mip_rel_gap`` of the best plan, that plan
    is proven and HiGHS is not run.  Otherwise reduced-cost fixing
    (:func:`~geo.planning.bounds.reduced_cost_fixing`) drops the candidates no
    better plan can use and fixes those every better plan uses, the rest is
    reduced again and HiGHS solves it (demand covered by a single candidate
    folded into that candidate's objective).  On large reduced instances
    whose root LP cannot fit in the budget HiGHS is skipped: the budget goes
    to multi-start iterated local search and the Lagrangian bound is the
    bound.  The best plan found by any step is returned;
    ``stats["bound_source"]`` names what proved the bound (``highs``,
    ``lagrangian``, ``greedy``, ``reduction``, ``fixed``).

    The bound is at best the LP bound plus what HiGHS's cuts and branching
    add in the time left.  Measured on the 2,000 × 5,000 cell layout at
    p = 60: LP bound 36,957, best plan known 36,723 (0.63 % apart), no
    candidate fixable by reduced costs (largest 202 < the 234 gap), HiGHS's
    cuts take the bound to 36,912 in ~55 s and 8 minutes of branching to
    36,891; so that instance is not proven within 0.1 % in 10 s.

    Parameters
    ----------
    coverage, weights, p, fixed
        As in :func:`solve_mclp_greedy`.
    time_limit : float
        Seconds for the whole solve (reduction and greedy are extra, usually < 1 s).
    mip_rel_gap : float
        HiGHS stops once its relative gap is below this (1e-4 = 0.01 %).
    reduce : bool
        Apply the instance reduction (turn off only to compare).
    local_search : bool
        Guard against HiGHS being cut short.  On small reduced instances the
        last ``min(30 %, 10 s)`` of the budget is reserved: if HiGHS stops on
        the time limit, its incumbent is improved by multi-start iterated
        local search.  On reduced instances with more than ``ls_first_nnz``
        non-zeros the local search runs first (30 % of the budget left after
        the Lagrangian steps, or all of it when HiGHS is skipped).
    seed : int
        Seed of that local search.
    ls_first_nnz : int
        Size (non-zeros of the reduced coverage) above which local search runs first.
    lagrangian_iters : int
        Most gradient steps of the Lagrangian dual (it also stops at 25 % of the budget).
    highs_root_seconds_per_nnz : float
        Expected seconds of HiGHS's root LP per non-zero of the reduced coverage
        (measured: 8.7 s for 44,000 on 2 shared cores); HiGHS is skipped on
        large instances when 60 % of the time left is less than that.
    reduced : ReducedInstance, optional
        :func:`~geo.planning.bounds.reduce_instance` of this very instance (same
        coverage, weights, p and fixed sites), when the caller already has it
        (:func:`solve_mclp` reduces first to choose the solver); used instead of
        reducing again when ``reduce`` is true.

    Returns
    -------
    MCLPResult
        ``status`` is ``"optimal"`` when HiGHS or the Lagrangian bound proved
        the gap within ``mip_rel_gap`` and ``"time_limit"`` otherwise;
        ``upper_bound`` is the best of HiGHS's dual bound, the Lagrangian bound
        and the greedy bound, and ``gap`` is measured against it.
    """
    t0 = time.perf_counter()
    A, w, p, f = check_problem(coverage, weights, p, fixed)
    At = A.T.tocsr()
    k = p - f.size
    g = greedy_select(A, At, w, k, f, bound_budgets=max(k, 1))
    greedy_ub = float(g.ub_by_budget[k - 1]) if (g.ub_by_budget is not None and k >= 1) else g.value
    stats: dict[str, Any] = {"n_demand": A.shape[0], "n_sites": A.shape[1], "nnz": int(A.nnz),
                             "greedy_objective": g.value}
    if k == 0:
        stats["bound_source"] = "fixed"  # every post is an existing one: nothing to choose
        return plan_result(A, At, w, f, np.zeros(0, np.int64), upper_bound=g.value, t0=t0,
                       solver="exact", status="optimal", stats=stats)
    if reduce:
        red = reduced if reduced is not None else reduce_instance(A, w, p, f)
        stats.update(red.stats)
    else:
        free = np.ones(A.shape[1], bool)
        free[f] = False
        cov_f = np.zeros(A.shape[0], bool)
        if f.size:
            rows, _ = gather_rows(At.indptr, At.indices, f)
            cov_f[rows] = True
        keep = np.flatnonzero(~cov_f)
        red = ReducedInstance(A[keep][:, np.flatnonzero(free)].tocsr(), w[keep], np.flatnonzero(free),
                              float(w[cov_f].sum()), k, {})
    stats["reduce_seconds"] = time.perf_counter() - t0
    status = "optimal"
    R = red.A
    end = t0 + time_limit
    incumbent, inc_obj = g.picks, g.value
    if R.shape[1] <= red.p_new or R.shape[0] == 0:
        chosen = red.sites  # every useful candidate fits
        ub = red.constant + float(red.weights.sum())
        bound_source = "reduction"
    else:
        # Warm start: the swap local search from the greedy plan (cheap) gives the lower bound
        # that the Lagrangian steps aim at and that reduced-cost fixing compares against.
        if local_search:
            incumbent, swaps = swap_improve(A, At, w, f, g.picks, deadline=t0 + 0.1 * time_limit)
            inc_obj = evaluate_plan(A, At, w, np.r_[f, incumbent].astype(np.int64))[0]
            stats["warm_start_swaps"] = swaps
            stats["warm_start_objective"] = inc_obj
        # Lagrangian bound first: it may prove the warm start optimal without HiGHS; else its site
        # values fix the candidates no better plan can take (or leave out) and HiGHS gets the rest.
        lower_r = inc_obj - red.constant
        dual = lagrangian_dual(R, R.T.tocsr(), red.weights, red.p_new, lower_r, iters=lagrangian_iters,
                               deadline=time.perf_counter() + 0.25 * time_limit)
        lag_ub = red.constant + dual.bound
        stats.update({"lagrangian_bound": lag_ub, "lagrangian_iterations": dual.iterations,
                      "lagrangian_seconds": time.perf_counter() - t0 - stats["reduce_seconds"]})
        lag_plan = None
        if local_search and R.shape[1] > red.p_new:
            # Lagrangian heuristic: the relaxation's own choice (the p best site values), swap-improved
            top = red.sites[np.argsort(-dual.site_value, kind="stable")[:red.p_new]]
            lag_plan, _ = swap_improve(A, At, w, f, top, deadline=t0 + 0.4 * time_limit)
            lag_obj = evaluate_plan(A, At, w, np.r_[f, lag_plan].astype(np.int64))[0]
            stats["lagrangian_heuristic_objective"] = lag_obj
            if lag_obj > inc_obj:
                incumbent, inc_obj = lag_plan, lag_obj
        # HiGHS needs about highs_root_seconds_per_nnz per non-zero for its root LP alone (dual
        # simplex; 2,000 x 5,000 cells: 8.7 s for 44,000).  When what reduced-cost fixing leaves
        # of a large instance cannot have its root LP solved in what is left, the whole budget
        # goes to local search instead, from several starts (the plans above) and seeds, and the
        # Lagrangian bound is the bound.  When it fits, large instances still get local search
        # first (30 % of what is left), so that HiGHS starts from a good plan to fix against and
        # a cut-short HiGHS leaves a good plan.
        proven = lag_ub - inc_obj <= mip_rel_gap * max(lag_ub, 1e-12)
        fix_out, _ = reduced_cost_fixing(dual, red.p_new, inc_obj - red.constant)
        size = int(np.bincount(R.indices, minlength=R.shape[1])[~fix_out].sum())
        left = end - time.perf_counter()
        ls_first = local_search and size > ls_first_nnz and not proven
        highs_fits = not (ls_first and left * 0.6 < highs_root_seconds_per_nnz * size)
        if ls_first:
            starts = [incumbent] + ([lag_plan] if lag_plan is not None and lag_plan is not incumbent else [])
            incumbent, info = multistart_search(A, At, w, f, starts, seed=seed,
                                                deadline=time.perf_counter() + 0.3 * left if highs_fits else end)
            stats.update({f"ls_{key}": v for key, v in info.items()})
            inc_obj = evaluate_plan(A, At, w, np.r_[f, incumbent].astype(np.int64))[0]
        lower_r = inc_obj - red.constant
        stats["highs_skipped"] = not highs_fits
        if lag_ub - inc_obj <= mip_rel_gap * max(lag_ub, 1e-12):
            chosen, ub, bound_source = incumbent, lag_ub, "lagrangian"
            stats["proved_by"] = "lagrangian"
        elif not highs_fits:  # the budget went to local search: the Lagrangian bound is the bound
            chosen, ub, bound_source = incumbent, lag_ub, "lagrangian"
            status = "time_limit"
        else:
            fix_out, fix_in = reduced_cost_fixing(dual, red.p_new, lower_r)
            stats.update({"fixed_out": int(fix_out.sum()), "fixed_in": int(fix_in.sum())})
            keep = np.flatnonzero(~fix_out)
            sub_into = np.flatnonzero(fix_in[keep])
            if keep.size <= red.p_new:  # every candidate left fits
                chosen = red.sites[keep]
                ub = max(inc_obj, red.constant + float(red.weights[np.asarray(R[:, keep].sum(axis=1)).ravel() > 0]
                                                        .sum()))
                bound_source = "lagrangian"
            else:
                sub = reduce_instance(R[:, keep], red.weights, red.p_new, sub_into)
                stats.update({"n_demand_fixed": int(sub.A.shape[0]), "n_sites_fixed": int(sub.A.shape[1])})
                base = red.sites[keep[sub_into]]  # fixed in: part of every better plan
                reserve = 0.0 if not local_search else (min(0.05 * time_limit, 3.0) if ls_first
                                                         else min(0.3 * time_limit, 10.0))
                remaining = end - time.perf_counter() - reserve
                if sub.p_new == 0:
                    mask, ub_r, st, info = np.zeros(sub.A.shape[1], bool), 0.0, 0, {}
                elif sub.A.shape[1] <= sub.p_new or sub.A.shape[0] == 0:
                    mask, ub_r, st, info = np.ones(sub.A.shape[1], bool), float(sub.weights.sum()), 0, {}
                else:
                    mask, ub_r, st, info = _milp(sub.A, sub.weights, sub.p_new, time_limit=remaining,
                                                 mip_rel_gap=mip_rel_gap)
                stats.update(info)
                # every plan better than the incumbent lies in the restricted instance
                ub = max(inc_obj, red.constant + sub.constant + ub_r)
                chosen = np.r_[base, red.sites[keep[sub.sites[mask]]]] if mask is not None else incumbent
                bound_source = "highs"
                if st != 0:
                    status = "time_limit"
            if lag_ub < ub:
                ub, bound_source = lag_ub, "lagrangian"
    obj, _ = evaluate_plan(A, At, w, np.r_[f, chosen].astype(np.int64))
    if obj < inc_obj:  # the MILP's incumbent (cut short) is worse than greedy / local search
        chosen, obj = incumbent, inc_obj
        stats["used_heuristic_incumbent"] = True
    chosen = np.asarray(chosen, dtype=np.int64)
    if chosen.size < k:
        avail = np.ones(A.shape[1], bool)
        avail[f] = False
        avail[chosen] = False
        chosen = np.r_[chosen, pad_sites(A, w, avail, k - chosen.size)]
    if status != "optimal" and local_search:
        if "ls_swaps" not in stats:  # the reserve: improve the plan HiGHS was cut short on
            better, info = multistart_search(A, At, w, f, [chosen], deadline=end, seed=seed)
            stats.update({f"ls_{key}": v for key, v in info.items()})
            better_obj = evaluate_plan(A, At, w, np.r_[f, better].astype(np.int64))[0]
            if better_obj > obj:
                chosen, obj = better, better_obj
                stats["used_local_search"] = True
    if greedy_ub < ub:
        ub, bound_source = greedy_ub, "greedy"
    stats["bound_source"] = bound_source
    return plan_result(A, At, w, f, chosen, upper_bound=ub, t0=t0, solver="exact", status=status, stats=stats)


def solve_mclp(
    coverage: Any,
    weights: ArrayLike | None,
    p: int,
    *,
    fixed: ArrayLike | None = None,
    solver: Solver = "auto",
    time_limit: float = 60.0,
    mip_rel_gap: float = 1e-4,
    max_exact_pairs: int = 250_000,
    seed: int = 0,
) -> MCLPResult:
    """Plan ``p`` posts (existing ones included) maximising covered demand.

    Parameters
    ----------
    coverage : (n, m) sparse or dense 0/1 matrix
        From :func:`coverage_matrix` or :func:`network_coverage_matrix`.
    weights : (n,) array or None
        Demand weights (violation counts, category-weighted).
    p : int
        Total number of posts, existing ones included.
    fixed : int array or bool mask, optional
        Existing posts (candidate indices) that stay.
    solver : {"auto", "exact", "greedy"}
        ``"exact"``: :func:`solve_mclp_exact` (HiGHS, time-limited, gap reported).
        ``"greedy"``: plain greedy (fastest, ≥ 63 % of optimum guaranteed).
        ``"auto"``: exact when the coverage matrix has at most
        ``max_exact_pairs`` non-zeros, or when its reduction
        (:func:`~geo.planning.bounds.reduce_instance`: demand rows with the same
        covering sites merged, dominated candidates dropped; the optimum is
        unchanged) has; else greedy with local search and a Lagrangian bound.
        Event points give many identical rows: a whole day of the sample
        (77,525 events × 1,112 sites, 611,065 non-zeros) reduces to 9,061 rows
        and 87,528 non-zeros, proven optimal at p = 20 in 0.5 s where greedy
        with local search took 5-7 s.
    time_limit : float
        Seconds for the exact solver / the local search.
    mip_rel_gap : float
        Relative gap at which HiGHS may stop.
    max_exact_pairs : int
        Size threshold of ``"auto"`` (``settings.posts.max_exact_pairs``).
        Measured (2 shared cores): at 2,000 × 5,000 (~55,000 pairs) the exact
        solver proves p = 20 and, on point demand, p = 60 within 10 s; on the
        clustered cell layout p = 60 ends 0.7-1.0 % from its bound after 10 s
        and 0.53-0.58 % after 60 s: the LP bound itself (36,957) is 0.63 %
        above the best plan known (36,723), so no LP-strength bound proves it.
        At 20,000 × 60,000 (~690,000 pairs) HiGHS does not finish its root LP
        in a minute; the exact solver then spends the minute on local search
        and reports a gap of ~0.6-0.8 % against the Lagrangian bound.
    seed : int
        Seed of the local search's random restarts.

    Returns
    -------
    MCLPResult
    """
    if solver not in ("auto", "exact", "greedy"):
        raise PostPlanningError(f"solver must be 'auto', 'exact' or 'greedy', got {solver!r}")
    if solver == "auto":
        nnz = coverage.nnz if sp.issparse(coverage) else int(np.count_nonzero(np.asarray(coverage)))
        if nnz <= max_exact_pairs:
            return solve_mclp_exact(coverage, weights, p, fixed=fixed, time_limit=time_limit,
                                    mip_rel_gap=mip_rel_gap, seed=seed)
        # the size that matters is the reduced instance's: the exact solver works on it (and the greedy
        # solver's bound), so it is reduced once here and handed on
        t0 = time.perf_counter()
        reduced = reduce_instance(coverage, weights, p, fixed)
        if reduced.A.nnz > max_exact_pairs:
            result = solve_mclp_greedy(coverage, weights, p, fixed=fixed, local_search=True, bound="lagrangian",
                                       time_limit=time_limit, seed=seed, reduced=reduced)
        else:
            result = solve_mclp_exact(coverage, weights, p, fixed=fixed, time_limit=time_limit,
                                      mip_rel_gap=mip_rel_gap, seed=seed, reduced=reduced)
        return dataclasses.replace(result, seconds=time.perf_counter() - t0)  # the reduction is part of it
    if solver == "exact":
        return solve_mclp_exact(coverage, weights, p, fixed=fixed, time_limit=time_limit,
                                mip_rel_gap=mip_rel_gap, seed=seed)
    return solve_mclp_greedy(coverage, weights, p, fixed=fixed)


# ---------------------------------------------------------------------------
# how many posts
# ---------------------------------------------------------------------------


def coverage_curve(
    coverage: Any,
    weights: ArrayLike | None,
    p_max: int,
    *,
    fixed: ArrayLike | None = None,
    solver: Solver = "greedy",
    time_limit: float = 10.0,
    mip_rel_gap: float = 1e-4,
) -> pd.DataFrame:
    """Covered share for p = 1 .. p_max posts (from ``len(fixed)`` when existing posts are kept).

    ``solver="greedy"`` (and ``"auto"``) needs one greedy run: the greedy plan
    for p is the first p picks of the plan for p_max, so the curve is exactly
    the greedy solution of every p.  ``"exact"`` solves each p (``time_limit`` each) and
    keeps the curve monotone by extending the previous plan when a time-limited
    solve comes out worse.  ``upper_share`` is a proven bound on the best
    possible share for each p.

    Returns
    -------
    pandas.DataFrame
        Columns ``p``, ``objective``, ``share``, ``marginal_share``,
        ``upper_bound``, ``upper_share``, ``solver``.
    """
    A, w, p_max, f = check_problem(coverage, weights, p_max, fixed)
    At = A.T.tocsr()
    total = float(w.sum())
    k_max = p_max - f.size
    g = greedy_select(A, At, w, k_max, f, bound_budgets=max(k_max, 1))
    base = evaluate_plan(A, At, w, f)[0]
    obj = base + np.r_[0.0, np.cumsum(g.gains)]  # index r = number of new sites
    ub = np.r_[base, g.ub_by_budget[:k_max]] if g.ub_by_budget is not None else obj.copy()
    # OPT is non-decreasing in p, so a bound for a larger p also bounds a smaller one
    ub = np.minimum.accumulate(ub[::-1])[::-1]
    p_vals = f.size + np.arange(k_max + 1)
    used = np.full(k_max + 1, "greedy", dtype=object)
    if solver not in ("greedy", "exact", "auto"):
        raise PostPlanningError(f"solver must be 'auto', 'exact' or 'greedy', got {solver!r}")
    if solver == "exact" and k_max >= 1:
        prev_sites = f
        prev_obj = base
        for r in range(1, k_max + 1):
            res = solve_mclp_exact(A, w, int(f.size + r), fixed=f, time_limit=time_limit,
                                   mip_rel_gap=mip_rel_gap)
            ext = greedy_select(A, At, w, 1, prev_sites, pad=True)
            ext_sites = np.r_[prev_sites, ext.picks]
            ext_obj = evaluate_plan(A, At, w, ext_sites)[0]
            if res.objective >= max(ext_obj, obj[r]):
                prev_sites, prev_obj, used[r] = res.sites, res.objective, "exact"
            elif ext_obj >= obj[r]:
                prev_sites, prev_obj, used[r] = ext_sites, ext_obj, "exact+extend"
            else:
                prev_sites, prev_obj = np.r_[f, g.picks[:r]], obj[r]
            obj[r] = prev_obj
            ub[r] = min(ub[r], res.upper_bound)
        ub = np.minimum.accumulate(ub[::-1])[::-1]
    # No plan covers more than all the demand: the bound is capped at the total.
    ub = np.minimum(np.maximum(ub, obj), total)
    df = pd.DataFrame({
        "p": p_vals.astype(np.int64),
        "objective": obj,
        "share": obj / total if total > 0 else np.zeros_like(obj),
        "upper_bound": ub,
        "upper_share": ub / total if total > 0 else np.zeros_like(ub),
        "solver": used,
    })
    df["marginal_share"] = df["share"].diff().fillna(df["share"])
    if f.size == 0:
        df = df[df["p"] >= 1]
    return df.reset_index(drop=True)[["p", "objective", "share", "marginal_share", "upper_bound",
                                       "upper_share", "solver"]]


def posts_for_share(curve: pd.DataFrame, share: float = 0.8) -> int:
    """Smallest number of posts whose plan covers at least ``share`` of demand (the LSCP view).

    With a greedy curve this is an upper bound on the true minimum; the
    ``upper_share`` column gives the lower bound (no plan with fewer posts than
    the first p where ``upper_share ≥ share`` can reach it).

    Raises
    ------
    InfeasibleError
        If the curve never reaches ``share``: compute it with a larger ``p_max``.
    """
    if not 0 < share <= 1:
        raise PostPlanningError(f"share must be in (0, 1], got {share!r}")
    for col in ("p", "share"):
        if col not in curve.columns:
            raise PostPlanningError(f"curve has no column {col!r}; build it with coverage_curve()")
    hit = curve["share"].to_numpy() >= share - 1e-12
    if not hit.any():
        best = float(curve["share"].max()) if len(curve) else 0.0
        raise InfeasibleError(
            f"{share:.0%} coverage is not reached with up to {int(curve['p'].max())} posts (best "
            f"{best:.1%}); recompute coverage_curve() with a larger p_max or lower the target"
        )
    return int(curve["p"].to_numpy()[np.flatnonzero(hit)[0]])

