"""Bounds and reductions for MCLP: a smaller instance with the same optimum, and proven upper bounds.

:func:`reduce_instance` removes what cannot change the optimum (demand the
fixed posts cover, demand nobody covers, identical demand rows, dominated
candidates); :func:`lagrangian_bound` relaxes the coverage constraints and
drives the multipliers by subgradient steps to an upper bound near the LP one.
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

__all__ = ["ReducedInstance", "lagrangian_bound", "reduce_instance"]

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


def lagrangian_bound(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, p_new: int, lower: float,
                      *, iters: int = 600, deadline: float = math.inf) -> float:
    """Upper bound on the best coverage by relaxing ``y_i ≤ Σ_j a_ij x_j`` (subgradient).

    For multipliers ``0 ≤ λ ≤ w`` the relaxation separates:
    ``L(λ) = Σ_i (w_i − λ_i) + (sum of the p largest  Σ_i a_ij λ_i)``, an upper
    bound for *any* λ; subgradient steps (Polyak, halving on stalls) drive it
    towards the LP bound.  ``lower`` (a known plan's value) sets the step size.
    Fixed iteration count: deterministic.
    """
    n, m = A.shape
    if p_new <= 0 or n == 0:
        return float(w.sum()) if p_new > 0 else 0.0
    p_new = min(p_new, m)
    lam = 0.5 * w
    best = math.inf
    theta, stall = 1.0, 0
    row_len = np.diff(A.indptr)
    for _ in range(iters):
        c = np.bincount(A.indices, weights=np.repeat(lam, row_len), minlength=m)
        top = np.argpartition(-c, p_new - 1)[:p_new] if p_new < m else np.arange(m)
        L = float((w - lam).sum() + c[top].sum())
        if not math.isfinite(best) or L < best - 1e-9 * max(best, 1.0):
            best, stall = L, 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta * 0.5, 0
        if (best - lower) <= 1e-6 * max(best, 1.0) or theta < 1e-4 or time.perf_counter() >= deadline:
            break
        rows, _ = gather_rows(At.indptr, At.indices, top)
        cnt = np.bincount(rows, minlength=n).astype(np.float64)
        g = cnt - 1.0  # dL/dλ_i
        g[((lam <= 0) & (g > 0)) | ((lam >= w) & (g < 0))] = 0.0
        nn = float(g @ g)
        if nn == 0:
            break
        lam = np.clip(lam - theta * (L - lower) / nn * g, 0.0, w)
    return best
