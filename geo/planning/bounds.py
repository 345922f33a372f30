"""Bounds and reductions for MCLP: a smaller instance with the same optimum, and proven upper bounds.

:func:`reduce_instance` removes what cannot change the optimum (demand the
fixed posts cover, demand nobody covers, identical demand rows, dominated
candidates); :func:`lagrangian_bound` relaxes the coverage constraints and
drives the multipliers by smoothed accelerated gradient steps to an upper
bound near the LP one; :func:`reduced_cost_fixing` uses its site values.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from geo.planning.problem import FloatArray, IntArray, check_problem, gather_rows

__all__ = ["LagrangianDual", "ReducedInstance", "lagrangian_bound", "lagrangian_dual", "reduce_instance",
           "reduced_cost_fixing"]

# Seeded once: the row hashes of the reduction must be the same run to run.
_HASH_SEED = 0x9E3779B9




@dataclass(frozen=True)
class ReducedInstance:
    """An MCLP instance reduced without changing its optimum.

    ``A`` is ``(n', m')`` over the remaining demand groups and candidates,
    ``weights`` the summed weights of each group, ``sites`` maps reduced
    columns to original candidate indices, ``constant`` is the demand covered by
    the fixed sites whatever else is chosen, and ``p_new`` the number of new
    sites to choose (``Σ x ≤ p_new``).
    """

    A: sp.csr_matrix
    weights: FloatArray
    sites: IntArray
    constant: float
    p_new: int
    stats: dict[str, int]


def _merge_identical_rows(A: sp.csr_matrix, w: FloatArray) -> tuple[sp.csr_matrix, FloatArray]:
    """Merge demand rows with identical covering sets, summing weights (exact, hash then verify)."""
    n, m = A.shape
    if n <= 1:
        return A, w
    rng = np.random.default_rng(_HASH_SEED)
    keys = rng.integers(0, np.iinfo(np.int64).max, size=(2, m), dtype=np.int64).view(np.uint64)
    lens = np.diff(A.indptr)
    nonempty = lens > 0
    h = np.zeros((2, n), dtype=np.uint64)
    starts = A.indptr[:-1][nonempty]
    for t in range(2):  # two 64-bit hashes (wrapping sums of random column keys)
        h[t, nonempty] = np.add.reduceat(keys[t][A.indices], starts)
    table = np.stack([h[0].view(np.int64), h[1].view(np.int64), lens.astype(np.int64)], axis=1)
    _, first, inv = np.unique(table, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    rep = first[inv]  # representative (lowest row index of the group)
    # verify: a hash collision must never merge different rows
    diff = (A - A[rep]).tocsr()
    diff.eliminate_zeros()
    bad = np.diff(diff.indptr) > 0
    group = inv.copy()
    if bad.any():  # pragma: no cover - 2^-128 collision odds
        group[bad] = inv.max() + 1 + np.arange(int(bad.sum()))
    uniq, rep_rows, group = np.unique(group, return_index=True, return_inverse=True)
    order = np.argsort(rep_rows, kind="stable")  # keep groups in order of first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    group = rank[group.ravel()]
    w2 = np.bincount(group, weights=w, minlength=uniq.size)
    return A[np.sort(rep_rows)], w2


def _dominated_columns(A: sp.csr_matrix) -> NDArray[np.bool_]:
    """Columns whose covered set is inside another's (equal sets: all but the lowest index)."""
    m = A.shape[1]
    B = A.astype(np.int32)
    size = np.asarray(B.sum(axis=0)).ravel()
    C = (B.T @ B).tocoo()
    j, k, c = C.row.astype(np.int64), C.col.astype(np.int64), C.data
    dom = (j != k) & (c == size[j]) & ((size[k] > size[j]) | (k < j))
    out = np.zeros(m, dtype=bool)
    out[j[dom]] = True
    out[size == 0] = True
    return out


def reduce_instance(coverage: Any, weights: ArrayLike | None, p: int, fixed: ArrayLike | None = None
                    ) -> ReducedInstance:
    """Shrink an MCLP instance without changing its optimal value.

    Steps (each provably safe for the objective):

    1. demand covered by a fixed site is always covered → moved to ``constant``;
       fixed columns are removed and ``p_new = p − |fixed|``;
    2. demand with zero weight or covered by no candidate → dropped;
    3. demand rows with identical covering sets → merged, weights summed;
    4. dominated candidates (covered set ⊆ another's; among equal sets the
       lowest index stays) → dropped: swapping one for its dominator never
       loses coverage.  Steps 3-4 repeat until nothing changes.

    With ``Σ x ≤ p_new`` the reduced optimum plus ``constant`` equals the
    original optimum; leftover posts add nothing and are placed by padding.
    """
    A, w, p, f = check_problem(coverage, weights, p, fixed)
    n0, m0 = A.shape
    At = A.T.tocsr()
    covered = np.zeros(n0, dtype=bool)
    if f.size:
        rows, _ = gather_rows(At.indptr, At.indices, f)
        covered[rows] = True
    constant = float(w[covered].sum())
    free = np.ones(m0, dtype=bool)
    free[f] = False
    keep_rows = ~covered & (w > 0)
    R = A[np.flatnonzero(keep_rows)][:, np.flatnonzero(free)].tocsr()
    wr = w[keep_rows]
    site_map = np.flatnonzero(free).astype(np.int64)
    # rows nobody (free) covers
    nz = np.diff(R.indptr) > 0
    R, wr = R[np.flatnonzero(nz)], wr[nz]
    stats = {"n_demand": n0, "n_sites": m0, "nnz": int(A.nnz)}
    for _ in range(20):  # converges in 2-3 rounds
        n_before, m_before = R.shape
        R, wr = _merge_identical_rows(R, wr)
        dom = _dominated_columns(R) if R.shape[0] else np.ones(R.shape[1], bool)
        if dom.any():
            keep = np.flatnonzero(~dom)
            R = R[:, keep].tocsr()
            site_map = site_map[keep]
        if R.shape == (n_before, m_before):
            break
    R.sort_indices()
    R.indptr = R.indptr.astype(np.int64)
    R.indices = R.indices.astype(np.int64)
    stats.update({"n_demand_reduced": int(R.shape[0]), "n_sites_reduced": int(R.shape[1]),
                  "nnz_reduced": int(R.nnz)})
    return ReducedInstance(R, wr.astype(np.float64), site_map, constant, p - int(f.size), stats)



# ---------------------------------------------------------------------------
# bounds
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LagrangianDual:
    """The best Lagrangian bound found and what it was found with.

    Attributes
    ----------
    bound : float
        ``L(λ)``: an upper bound on the (reduced) instance's optimum.
    lam : (n,) float
        The multipliers that gave ``bound`` (``0 ≤ λ ≤ w``).
    site_value : (m,) float
        ``c_j = Σ_i a_ij λ_i``: what choosing site ``j`` earns in the relaxation.
    iterations : int
        Subgradient steps taken.
    """

    bound: float
    lam: FloatArray
    site_value: FloatArray
    iterations: int


def _lagrangian_value(At: sp.csr_matrix, w: FloatArray, lam: FloatArray, p_new: int
                      ) -> tuple[float, FloatArray, float]:
    """``L(λ)``, the site values ``c = Aᵀλ`` (``At`` float CSR) and the p-th largest of them."""
    c = At @ lam
    m = c.size
    top = np.partition(c, m - p_new)[m - p_new:] if p_new < m else c
    return float(w.sum() - lam.sum() + top.sum()), c, float(top.min())


def _smoothed_choice(c: FloatArray, cp: float, p_new: int, mu: float) -> FloatArray:
    """``argmax_x c·x − (μ/2)‖x‖²`` over ``0 ≤ x ≤ 1, Σx ≤ p``: ``x = clip((c − τ)/μ, 0, 1)``.

    ``cp`` is the p-th largest value of ``c``.
    """
    m = c.size
    if cp <= mu and np.clip(c / mu, 0.0, 1.0).sum() <= p_new:  # τ = 0
        return np.clip(c / mu, 0.0, 1.0)
    # τ lies in [c_(p) − μ, c_(p)]: only sites above c_(p) − μ can take a share
    act = np.flatnonzero(c > cp - mu)
    ca = c[act]
    # F(τ) = Σ clip((c − τ)/μ, 0, 1) is piecewise linear, decreasing, with breakpoints at c and
    # c − μ: evaluate it there (a handful of sites) and interpolate where it crosses p.
    bp = np.unique(np.r_[ca, ca - mu, max(cp - mu, 0.0)])
    bp = bp[bp >= 0.0]
    # F at every breakpoint in O(k log k): sites with c − μ ≥ τ give 1, those with c > τ > c − μ
    # give (c − τ)/μ (suffix sums of the sorted values)
    cs = np.sort(ca)
    suffix = np.r_[np.cumsum(cs[::-1])[::-1], 0.0]
    i_gt = np.searchsorted(cs, bp, side="right")
    i_full = np.searchsorted(cs - mu, bp, side="left")
    n_part = i_full - i_gt  # sites strictly between: indices i_gt .. i_full - 1
    F = (cs.size - i_full) + ((suffix[i_gt] - suffix[i_full]) - bp * n_part) / mu
    k = int(np.searchsorted(-F, -p_new, side="right"))  # first breakpoint with F <= p
    if k == 0:
        tau = float(bp[0])
    elif k >= bp.size:
        tau = float(bp[-1])
    else:
        lo, hi, f_lo, f_hi = bp[k - 1], bp[k], F[k - 1], F[k]
        tau = float(lo + (hi - lo) * (f_lo - p_new) / (f_lo - f_hi)) if f_lo > f_hi else float(hi)
    x = np.zeros(m)
    x[act] = np.clip((ca - tau) / mu, 0.0, 1.0)
    return x


def lagrangian_dual(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, p_new: int, lower: float,
                    *, iters: int = 2_000, deadline: float = math.inf, smoothing: float = 2e-3) -> LagrangianDual:
    """Upper bound on the best coverage by relaxing ``y_i ≤ Σ_j a_ij x_j``.

    For multipliers ``0 ≤ λ ≤ w`` the relaxation separates:
    ``L(λ) = Σ_i (w_i − λ_i) + (sum of the p largest  Σ_i a_ij λ_i)``, an upper
    bound for *any* λ; its minimum over λ is the LP bound.  ``L`` is
    piecewise linear, so plain subgradient steps crawl near the minimum;
    instead the top-p term is smoothed (Nesterov 2005: ``max_x c·x − (μ/2)‖x‖²``
    over ``0 ≤ x ≤ 1, Σx ≤ p``, off by at most ``μp/2``) and minimised by
    accelerated projected gradient steps (FISTA, restarted when the momentum
    points uphill) from the best uniform scaling ``λ = θw``.  Every iterate's
    exact ``L(λ)`` is a valid bound; the smallest is kept.  Measured on
    2,000 × 5,000 cells (p = 60, LP bound 36,957): 36,981 after 1,000 steps,
    36,967 after 2,000 (~1-2 s), where the subgradient steps stopped at
    37,095; on 20,000 × 60,000 (p = 200, LP 323,274): 323,380 after 2,800
    steps, where 1,700 subgradient steps (25 s) reached 323,743.  Fixed
    iteration count: deterministic unless ``deadline`` cuts it short.

    Parameters
    ----------
    A, At : scipy.sparse.csr_matrix
        Coverage ``(n, m)`` and its transpose.
    w : (n,) float
        Demand weights.
    p_new : int
        Sites to choose.
    lower : float
        Value of a known plan (on this instance): stop once the bound is within 1e-6 of it.
    iters : int
        Maximum gradient steps.
    deadline : float
        :func:`time.perf_counter` time after which to stop.
    smoothing : float
        Smoothing error allowed, relative to the bound (sets ``μ``).

    Returns
    -------
    LagrangianDual
    """
    n, m = A.shape
    if p_new <= 0 or n == 0:
        b = float(w.sum()) if p_new > 0 else 0.0
        return LagrangianDual(b, np.zeros(n), np.zeros(m), 0)
    p_new = min(p_new, m)
    Af = sp.csr_matrix((A.data.astype(np.float64), A.indices, A.indptr), shape=A.shape)
    At_f = sp.csr_matrix((At.data.astype(np.float64), At.indices, At.indptr), shape=At.shape)
    # start: the best λ = θw on a grid (L is convex in θ)
    starts = [(t * w, _lagrangian_value(At_f, w, t * w, p_new)) for t in np.linspace(0.0, 1.0, 21)]
    lam, (best, best_c, _) = min(starts, key=lambda s: s[1][0])  # the first of equal values, as argmin
    best_lam, it = lam, 0
    if best - lower <= 1e-6 * max(best, 1.0):
        return LagrangianDual(best, best_lam, best_c, 0)
    # step 1/Lipschitz: ‖A‖² by power iteration (the gradient of the smoothed term is A·x(Aᵀλ))
    v = np.ones(m) / math.sqrt(m)
    norm2 = 1.0
    for _ in range(20):
        v = At_f @ (Af @ v)
        norm2 = float(np.linalg.norm(v))
        if norm2 == 0:
            break
        v /= norm2
    mu_end = max(smoothing * best / p_new, 1e-12)
    mu = mu_end * 32.0  # continuation: coarse smoothing first (long steps), halved every 100 steps
    step = mu / max(norm2 * 1.05, 1e-12)
    z, prev, t = lam.copy(), lam.copy(), 1.0
    stall, last_best = 0, best
    for _ in range(iters):
        it += 1
        val, c, cp = _lagrangian_value(At_f, w, z, p_new)
        if val < best:
            best, best_lam, best_c = val, z.copy(), c
        if (best - lower) <= 1e-6 * max(best, 1.0) or time.perf_counter() >= deadline:
            break
        if it % 100 == 0:
            if mu > mu_end:
                mu = max(mu * 0.5, mu_end)
                step, t = mu / max(norm2 * 1.05, 1e-12), 1.0
            else:  # no progress worth a step for 300 steps: converged
                stall = stall + 1 if last_best - best <= 1e-6 * best else 0
                if stall >= 3:
                    break
            last_best = best
        # gradient of the smoothed L at z: A·x − 1, x nonzero on a few hundred sites only
        x = _smoothed_choice(c, cp, p_new, mu)
        act = np.flatnonzero(x)
        rows, lens = gather_rows(At.indptr, At.indices, act)
        g = np.bincount(rows, weights=np.repeat(x[act], lens), minlength=n) - 1.0
        new = np.clip(z - step * g, 0.0, w)
        if float((z - new) @ (new - prev)) > 0:  # momentum uphill: restart it
            t = 1.0
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        z = new + ((t - 1.0) / t_next) * (new - prev)
        np.clip(z, 0.0, w, out=z)
        prev, t = new, t_next
    return LagrangianDual(float(best), best_lam, best_c, it)


def lagrangian_bound(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, p_new: int, lower: float,
                     *, iters: int = 2_000, deadline: float = math.inf) -> float:
    """The bound of :func:`lagrangian_dual` alone (same arguments)."""
    return lagrangian_dual(A, At, w, p_new, lower, iters=iters, deadline=deadline).bound


def reduced_cost_fixing(dual: LagrangianDual, p_new: int, lower: float
                        ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Sites that no plan better than ``lower`` can leave out or take in.

    With ``c_j`` the site values at the dual's multipliers and ``c_(p)``,
    ``c_(p+1)`` the p-th and (p+1)-th largest, forcing ``x_j = 1`` for a site
    outside the top ``p`` bounds every such plan by ``L − c_(p) + c_j``, and
    forcing ``x_j = 0`` for a site inside by ``L − c_j + c_(p+1)``.  When that
    bound is ``≤ lower`` no plan strictly better than ``lower`` has that value
    of ``x_j``: the site is fixed.  Fixing never loses the optimum when
    ``lower`` is the value of a plan in hand (keep that plan as the fallback).

    Parameters
    ----------
    dual : LagrangianDual
        From :func:`lagrangian_dual` on the same instance.
    p_new : int
        Sites to choose.
    lower : float
        Value of a known plan on the same instance.

    Returns
    -------
    (fix_out, fix_in) : two (m,) bool arrays
        Sites to drop, and sites every better plan contains.
    """
    c = dual.site_value
    m = c.size
    out = np.zeros(m, dtype=bool)
    into = np.zeros(m, dtype=bool)
    if p_new <= 0 or p_new >= m:
        return out, into
    order = np.argsort(-c, kind="stable")
    top = np.zeros(m, dtype=bool)
    top[order[:p_new]] = True
    cp, cp1 = float(c[order[p_new - 1]]), float(c[order[p_new]])
    slack = 1e-9 * max(abs(dual.bound), 1.0)  # float safety: fix only clear cases
    out[~top] = dual.bound - cp + c[~top] < lower - slack
    into[top] = dual.bound - c[top] + cp1 < lower - slack
    return out, into
