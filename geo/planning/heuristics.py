"""The heuristic side of MCLP: greedy selection, swap and iterated local search.

:func:`greedy_select` keeps marginal gains exact incrementally (each demand row
is touched once per run) and records the submodularity bound on the way;
:func:`swap_improve` is a vectorised best-improvement 1-swap (Teitz-Bart)
search; :func:`iterated_local_search` restarts it from random partial drops.
:func:`plan_result` orders any plan (fixed posts first, new ones by marginal
gain) into an :class:`~geo.planning.problem.MCLPResult`.  These give every
exact solve its warm start and lower bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from geo.planning.problem import FloatArray, IntArray, MCLPResult, gather_rows, tie_tol

__all__ = ["GreedyRun", "evaluate_plan", "greedy_select", "iterated_local_search", "multistart_search",
           "pad_sites", "plan_result", "swap_improve"]


@dataclass
class GreedyRun:
    """One greedy run: new sites in pick order, their exact gains, covered rows, value, bound by budget."""

    picks: IntArray
    gains: FloatArray
    covered: NDArray[np.bool_]
    value: float
    ub_by_budget: FloatArray | None  # ub_by_budget[r-1] bounds OPT with r new sites


def greedy_select(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, k: int, fixed: IntArray,
                  *, allowed: NDArray[np.bool_] | None = None, bound_budgets: int = 0,
                  pad: bool = True) -> GreedyRun:
    """Greedy selection of ``k`` new sites around ``fixed``.

    Marginal gains are kept exact: when a demand row becomes covered its weight
    is subtracted from every site covering it, so each row is touched once over
    the whole run (cost O(nnz + k·m)) and lazy evaluation (CELF) is unnecessary.
    Ties within :func:`tie_tol` are recomputed from scratch and go to the lowest index.

    The bound uses submodularity: for any greedy state S and any plan O with r
    new sites, ``f(O) ≤ f(S) + (sum of the r largest marginal gains at S)``.
    """
    n, m = A.shape
    covered = np.zeros(n, dtype=bool)
    if fixed.size:
        rows, _ = gather_rows(At.indptr, At.indices, fixed)
        covered[rows] = True
    uw = np.where(covered, 0.0, w)
    gains = np.bincount(A.indices, weights=np.repeat(uw, np.diff(A.indptr)), minlength=m)
    avail = np.ones(m, dtype=bool) if allowed is None else allowed.copy()
    avail[fixed] = False
    gains[~avail] = -np.inf
    value = float(w[covered].sum())
    tol = tie_tol(w)
    R = min(bound_budgets, m)
    ub = np.full(R, np.inf) if R else None

    def _bound() -> None:
        if ub is None:
            return
        g = np.where(np.isfinite(gains), np.maximum(gains, 0.0), 0.0)
        top = -np.sort(-np.partition(g, m - R)[m - R:]) if R < m else -np.sort(-g)
        np.minimum(ub, value + np.cumsum(top), out=ub)

    picks: list[int] = []
    marg: list[float] = []
    for _ in range(k):
        _bound()
        gmax = gains.max()
        if not np.isfinite(gmax) or gmax <= tol:
            break
        cand = np.flatnonzero(gains >= gmax - tol)
        if cand.size > 1:
            exact = np.asarray(At[cand] @ uw).ravel()
            best = int(cand[np.flatnonzero(exact >= exact.max() - tol)[0]])
        else:
            best = int(cand[0])
        rows, _ = gather_rows(At.indptr, At.indices, np.array([best]))
        new = rows[~covered[rows]]
        g_exact = float(w[new].sum())
        covered[new] = True
        uw[new] = 0.0
        value += g_exact
        cols, lens = gather_rows(A.indptr, A.indices, new)
        gains -= np.bincount(cols, weights=np.repeat(w[new], lens), minlength=m)
        gains[best] = -np.inf
        avail[best] = False
        picks.append(best)
        marg.append(g_exact)
    _bound()
    p_arr = np.asarray(picks, dtype=np.int64)
    g_arr = np.asarray(marg, dtype=np.float64)
    if pad and p_arr.size < k:
        extra = pad_sites(A, w, avail, k - p_arr.size)
        p_arr = np.r_[p_arr, extra]
        g_arr = np.r_[g_arr, np.zeros(extra.size)]
    return GreedyRun(p_arr, g_arr, covered, value, ub)


def pad_sites(A: sp.csr_matrix, w: FloatArray, avail: NDArray[np.bool_], k: int) -> IntArray:
    """Sites for posts that add no coverage: most demand in reach (backup), then lowest index."""
    reach = np.bincount(A.indices, weights=np.repeat(w, np.diff(A.indptr)), minlength=A.shape[1])
    idx = np.flatnonzero(avail)
    order = np.lexsort((idx, -reach[idx]))
    return idx[order[:k]].astype(np.int64)


def evaluate_plan(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, sites: IntArray) -> tuple[float, NDArray[np.bool_]]:
    covered = np.zeros(A.shape[0], dtype=bool)
    if sites.size:
        rows, _ = gather_rows(At.indptr, At.indices, sites)
        covered[rows] = True
    return float(w[covered].sum()), covered


def plan_result(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, fixed: IntArray, new_sites: IntArray,
                *, upper_bound: float, t0: float, solver: str, status: str, stats: dict[str, Any]
                ) -> MCLPResult:
    """Order the plan (fixed first, new ones by marginal gain) and fill the per-site figures."""
    p_new = new_sites.size
    allowed = np.zeros(A.shape[1], dtype=bool)
    allowed[new_sites] = True
    g = greedy_select(A, At, w, p_new, fixed, allowed=allowed, pad=True)
    # fixed ones: marginal gains in the order given
    fmarg = np.zeros(fixed.size)
    cov = np.zeros(A.shape[0], dtype=bool)
    for i, j in enumerate(fixed):  # loop over existing posts (few), vectorised inside
        rows, _ = gather_rows(At.indptr, At.indices, np.array([j]))
        new = rows[~cov[rows]]
        fmarg[i] = w[new].sum()
        cov[new] = True
    sites = np.r_[fixed, g.picks].astype(np.int64)
    reach = np.bincount(A.indices, weights=np.repeat(w, np.diff(A.indptr)), minlength=A.shape[1])
    objective = float(w[g.covered].sum())
    total = float(w.sum())
    ubv = max(float(upper_bound), objective)
    gap = (ubv - objective) / ubv if ubv > 0 else 0.0
    return MCLPResult(
        sites=sites,
        is_fixed=np.r_[np.ones(fixed.size, bool), np.zeros(g.picks.size, bool)],
        marginal_gain=np.r_[fmarg, g.gains],
        site_demand=reach[sites],
        objective=objective,
        total_demand=total,
        coverage_share=objective / total if total > 0 else 0.0,
        upper_bound=ubv,
        gap=float(gap),
        seconds=time.perf_counter() - t0,
        solver=solver,
        status=status,
        covered=g.covered,
        stats=stats,
    )


def swap_improve(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, fixed: IntArray, new_sites: IntArray,
                  *, deadline: float, max_rounds: int = 1_000, dirty: NDArray[np.bool_] | None = None
                  ) -> tuple[IntArray, int]:
    """Best-improvement 1-swap local search (Teitz-Bart interchange) on the new sites.

    Each round evaluates every (chosen new site s, candidate j) exchange at once:
    ``Δ = gain_j + Q[s, j] − loss_s`` where ``gain_j`` is the uncovered demand in
    reach of j, ``loss_s`` the demand only s covers, and ``Q[s, j]`` the part of
    the latter j would take over.  Applies the best Δ > 0 (ties: lowest s, then j)
    and, in the same round, every other improving swap far enough from those
    already applied (disjoint neighbourhoods), so large plans converge in few rounds.

    ``dirty`` (a demand-row mask) says the plan differs from a swap-optimal one
    only on those rows (an iterated local search's perturbation): an exchange
    whose site and candidate touch no dirty row has the Δ it had there (≤ 0),
    so only exchanges touching dirty rows are evaluated (and the rows of every
    applied swap become dirty).  The result is the same; the cost is local.
    """
    n, m = A.shape
    cur = new_sites.copy()
    tol = tie_tol(w)
    swaps = 0
    if dirty is not None:
        dirty = dirty.copy()
    for _ in range(max_rounds):
        if time.perf_counter() >= deadline or cur.size == 0:
            break
        chosen = np.r_[fixed, cur]
        rows, lens = gather_rows(At.indptr, At.indices, chosen)
        owner = np.repeat(np.arange(chosen.size), lens)
        count = np.bincount(rows, minlength=n)
        uw = np.where(count == 0, w, 0.0)
        gain = np.bincount(A.indices, weights=np.repeat(uw, np.diff(A.indptr)), minlength=m)
        gain[chosen] = -np.inf
        ex = count[rows] == 1
        ex_rows, ex_owner = rows[ex], owner[ex] - fixed.size  # position among new sites
        keep = ex_owner >= 0
        ex_rows, ex_owner = ex_rows[keep], ex_owner[keep]
        loss = np.bincount(ex_owner, weights=w[ex_rows], minlength=cur.size)
        # Q (new site s × candidate j): exclusive demand of s that j also reaches, as the sums over
        # sorted keys s·m + j (one sort; cheaper than building a sparse matrix every round)
        if dirty is None:
            qc, ql = gather_rows(A.indptr, A.indices, ex_rows)
        else:
            # complete Q rows for the sites touching dirty rows; Q columns of the candidates
            # touching dirty rows for every other site; nothing else can have Δ > 0
            s_act = np.zeros(cur.size, dtype=bool)
            own_new = owner - fixed.size
            s_act[own_new[(own_new >= 0) & dirty[rows]]] = True
            j_cols, _ = gather_rows(A.indptr, A.indices, np.flatnonzero(dirty))
            j_act = np.zeros(m, dtype=bool)
            j_act[j_cols] = True
            j_rows, _ = gather_rows(At.indptr, At.indices, np.flatnonzero(j_act))
            near_j = np.zeros(n, dtype=bool)
            near_j[j_rows] = True
            full = s_act[ex_owner]
            part = ~full & near_j[ex_rows]
            qc_f, ql_f = gather_rows(A.indptr, A.indices, ex_rows[full])
            qc_p, ql_p = gather_rows(A.indptr, A.indices, ex_rows[part])
            keep_p = j_act[qc_p]
            ex_rows = np.r_[ex_rows[full], np.repeat(ex_rows[part], ql_p)[keep_p]]
            ex_owner = np.r_[ex_owner[full], np.repeat(ex_owner[part], ql_p)[keep_p]]
            qc = np.r_[qc_f, qc_p[keep_p]]
            ql = np.r_[ql_f, np.ones(int(keep_p.sum()), dtype=ql_f.dtype)]
        gbest = int(np.argmax(gain))
        best_delta = np.full(cur.size, gain[gbest])
        best_j = np.full(cur.size, gbest, dtype=np.int64)
        if qc.size:
            key = np.repeat(ex_owner, ql) * m + qc
            order = np.argsort(key, kind="stable")
            key = key[order]
            start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            qsum = np.add.reduceat(np.repeat(w[ex_rows], ql)[order], start)
            ukey = key[start]
            rowid, col = ukey // m, ukey % m
            vals = gain[col] + qsum
            # per row (keys are sorted by row, then column): max value, lowest column among the
            # values within the tie tolerance of it
            seg = np.flatnonzero(np.r_[True, rowid[1:] != rowid[:-1]])
            seg_max = np.maximum.reduceat(vals, seg)
            seg_id = np.repeat(np.arange(seg.size), np.diff(np.r_[seg, vals.size]))
            at_max = np.flatnonzero(vals >= seg_max[seg_id] - tol)
            _, first = np.unique(seg_id[at_max], return_index=True)
            pick = at_max[first]
            r_, v_, j_ = rowid[pick], vals[pick], col[pick]
            better = (v_ > best_delta[r_] + tol) | ((np.abs(v_ - best_delta[r_]) <= tol) & (j_ < best_j[r_]))
            best_delta[r_[better]] = v_[better]
            best_j[r_[better]] = j_[better]
        delta = best_delta - loss
        good = np.flatnonzero(np.isfinite(delta) & (delta > tol))
        if good.size == 0:
            break
        # apply the best swap and every further one whose neighbourhood (demand in reach of
        # s or j) is untouched this round: their gains are independent, so they add up
        good = good[np.lexsort((good, -delta[good]))]
        touched = np.zeros(n, dtype=bool)
        taken: set[int] = set()
        for s in good:  # loop over improving swaps (at most p), vectorised inside
            j = int(best_j[s])
            if j in taken:
                continue
            near, _ = gather_rows(At.indptr, At.indices, np.array([cur[s], j]))
            if touched[near].any():
                continue
            touched[near] = True
            taken.add(j)
            cur[s] = j
            swaps += 1
        if dirty is not None:
            dirty |= touched
    return cur, swaps


def iterated_local_search(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, fixed: IntArray,
                          new_sites: IntArray, *, deadline: float, seed: int, max_rounds: int = 400, stall_rounds: int = 60
                          ) -> tuple[IntArray, dict[str, int]]:
    """Swap local search, then iterated local search (ILS) around the best plan.

    A round drops ~10 % of the new sites at random (``seed``), refills them
    greedily (the dropped ones excluded), runs the swap search again and keeps
    the result if it covers strictly more.  Stops after ``stall_rounds``
    rounds without improvement, ``max_rounds`` rounds, or at ``deadline``
    (only the deadline can make a run machine-dependent).
    """
    cur, swaps = swap_improve(A, At, w, fixed, new_sites, deadline=deadline)
    best_val = evaluate_plan(A, At, w, np.r_[fixed, cur].astype(np.int64))[0]
    info = {"swaps": swaps, "ils_rounds": 0, "ils_improvements": 0}
    r = cur.size
    if r < 2:
        return cur, info
    rng = np.random.default_rng(seed)
    k = max(2, int(math.ceil(0.1 * r)))
    tol = tie_tol(w)
    stall = 0
    for _ in range(max_rounds):
        if stall >= stall_rounds or time.perf_counter() >= deadline:
            break
        info["ils_rounds"] += 1
        drop = rng.choice(r, size=min(k, r), replace=False)
        keep = np.delete(cur, drop)
        allowed = np.ones(A.shape[1], dtype=bool)
        allowed[cur[drop]] = False  # force a different plan
        refill = greedy_select(A, At, w, drop.size, np.r_[fixed, keep].astype(np.int64), allowed=allowed).picks
        # cur is swap-optimal: only the demand in reach of the dropped and refilled sites changed
        dirty = np.zeros(A.shape[0], dtype=bool)
        changed, _ = gather_rows(At.indptr, At.indices, np.r_[cur[drop], refill].astype(np.int64))
        dirty[changed] = True
        cand, sw = swap_improve(A, At, w, fixed, np.r_[keep, refill].astype(np.int64), deadline=deadline,
                                dirty=dirty)
        info["swaps"] += sw
        val = evaluate_plan(A, At, w, np.r_[fixed, cand].astype(np.int64))[0]
        if val > best_val + tol:
            best_val, cur, stall = val, cand, 0
            info["ils_improvements"] += 1
        else:
            stall += 1
    return cur, info


def multistart_search(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, fixed: IntArray,
                      starts: list[IntArray], *, deadline: float, seed: int, stall_rounds: int = 80
                      ) -> tuple[IntArray, dict[str, int]]:
    """Iterated local search from several starts in turn, then again from the best, until ``deadline``.

    One ILS run stalls in a local optimum that depends on its random drops
    (measured on 2,000 × 5,000 cells, p = 60: four seeds from the same start
    ended 36,475-36,723 after 6 s).  Runs of at most ``stall_rounds`` rounds
    without improvement, each with its own seed (``seed``, ``seed + 1``, ...),
    go from each start in ``starts`` and then from the best plan so far, so
    the budget buys diversity instead of one long stall.  Deterministic up to
    the deadline.
    """
    best = starts[0]
    best_val = evaluate_plan(A, At, w, np.r_[fixed, best].astype(np.int64))[0]
    info = {"swaps": 0, "ils_rounds": 0, "ils_improvements": 0, "ils_runs": 0}
    tol = tie_tol(w)
    k = 0
    while time.perf_counter() < deadline:
        start = starts[k] if k < len(starts) else best
        cur, run = iterated_local_search(A, At, w, fixed, start, deadline=deadline, seed=seed + k,
                                         max_rounds=100_000, stall_rounds=stall_rounds)
        info["ils_runs"] += 1
        for key in ("swaps", "ils_rounds", "ils_improvements"):
            info[key] += run[key]
        val = evaluate_plan(A, At, w, np.r_[fixed, cur].astype(np.int64))[0]
        if val > best_val + tol:
            best, best_val = cur, val
        k += 1
        if cur.size < 2 or (k >= len(starts) and run["ils_rounds"] == 0):
            break  # nothing to perturb, or no time for a round
    return best, info
