"""The MCLP problem shared by every solver: input checks, the result type, CSR helpers.

A maximal-covering instance is ``(A, weights, p, fixed)``: ``A`` a sparse
``(n_demand, n_sites)`` 0/1 coverage matrix (CSR, ``int8``), one weight per
demand row, ``p`` posts in total and the existing (``fixed``) posts among the
candidates.  :func:`check_problem` turns any caller's input into that canonical
form (or stops with a :class:`PostPlanningError` / :class:`~geo.errors.InfeasibleError`
that says how to fix it); :class:`MCLPResult` is what every solver returns.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from geo.errors import CoordinateError, GridwatchError, InfeasibleError

__all__ = [
    "FloatArray",
    "IntArray",
    "MCLPResult",
    "PostPlanningError",
    "as_coverage",
    "as_xy",
    "check_problem",
    "check_radius",
    "elapsed",
    "gather_rows",
    "tie_tol",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


class PostPlanningError(GridwatchError, ValueError):
    """Invalid input to post planning (radius, weights, demand, candidates)."""


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def as_xy(xy: ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise CoordinateError(
            f"{name} must be an (n, 2) array of metric x, y coordinates, got shape {arr.shape}; "
            "stack them with np.column_stack([x, y])"
        )
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise CoordinateError(
            f"{name} has {int(bad.sum())} rows with NaN/inf coordinates (first at row "
            f"{int(np.flatnonzero(bad)[0])}); drop or geocode them before planning posts"
        )
    return arr


def check_radius(radius_m: float) -> float:
    r = float(radius_m)
    if not math.isfinite(r) or r <= 0:
        raise PostPlanningError(
            f"radius_m must be a positive number of metres, got {radius_m!r}; "
            "a typical post covers 200-500 m"
        )
    return r


def as_coverage(coverage: Any) -> sp.csr_matrix:
    """Coerce a 0/1 coverage matrix (sparse or dense) to canonical CSR int8."""
    if sp.issparse(coverage):
        A = sp.csr_matrix(coverage, copy=True)
    else:
        arr = np.asarray(coverage)
        if arr.ndim != 2:
            raise PostPlanningError(
                f"coverage must be a 2-D (n_demand, n_sites) matrix, got {arr.ndim} dimensions"
            )
        A = sp.csr_matrix(arr)
    A.data = (A.data != 0).astype(np.int8)
    A.eliminate_zeros()
    A.sum_duplicates()
    A.sort_indices()
    A.indptr = A.indptr.astype(np.int64)
    A.indices = A.indices.astype(np.int64)
    return A


def as_weights(weights: ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape[0] != n:
        raise PostPlanningError(
            f"weights has {w.shape[0]} values but the coverage matrix has {n} demand rows; "
            "pass one weight per demand point/cell"
        )
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise PostPlanningError(
            f"weights must be finite and >= 0; {int(bad.sum())} are not (first at index "
            f"{int(np.flatnonzero(bad)[0])}, value {w[bad][0]!r})"
        )
    return w


def as_fixed(fixed: ArrayLike | None, m: int, p: int) -> IntArray:
    if fixed is None:
        f = np.zeros(0, dtype=np.int64)
    else:
        raw = np.asarray(fixed).ravel()
        if raw.dtype == bool:
            if raw.shape[0] != m:
                raise PostPlanningError(
                    f"a boolean fixed mask must have one value per candidate ({m}), got {raw.shape[0]}"
                )
            f = np.flatnonzero(raw).astype(np.int64)
        else:
            if raw.size and not np.issubdtype(raw.dtype, np.integer):
                raise PostPlanningError(
                    f"fixed must hold candidate indices (integers), got dtype {raw.dtype}; "
                    "map existing posts to candidates with match_sites()"
                )
            f = raw.astype(np.int64)
    out = (f < 0) | (f >= m)
    if out.any():
        raise PostPlanningError(
            f"existing post index {int(f[out][0])} is not among the {m} candidates (valid 0..{m - 1}); "
            "add existing posts to the candidate list and map them with match_sites()"
        )
    if np.unique(f).size != f.size:
        raise PostPlanningError(f"fixed lists a candidate more than once: {f.tolist()}")
    if f.size > p:
        raise InfeasibleError(
            f"p={p} is smaller than the {f.size} existing posts; p counts existing posts too, "
            f"so use p >= {f.size}"
        )
    return f


def check_problem(coverage: Any, weights: ArrayLike | None, p: int, fixed: ArrayLike | None
                   ) -> tuple[sp.csr_matrix, FloatArray, int, IntArray]:
    A = as_coverage(coverage)
    n, m = A.shape
    if n == 0:
        raise PostPlanningError("no demand: the coverage matrix has 0 rows; check the event filter")
    if m == 0:
        raise InfeasibleError("no candidate sites: the coverage matrix has 0 columns")
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise PostPlanningError(f"p must be an integer number of posts, got {p!r}")
    p = int(p)
    if p < 1:
        raise PostPlanningError(f"p must be at least 1, got {p}")
    if p > m:
        raise InfeasibleError(
            f"p={p} posts requested but there are only {m} candidate sites; lower p or add candidates"
        )
    w = as_weights(weights, n)
    f = as_fixed(fixed, m, p)
    return A, w, p, f


def gather_rows(indptr: IntArray, indices: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
    """Concatenated ``indices`` of the given CSR rows (or CSC columns) and their lengths."""
    starts = indptr[rows]
    lens = indptr[rows + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), lens
    offs = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
    return indices[offs], lens


def tie_tol(w: FloatArray) -> float:
    # gains closer than this are ties (float drift of incremental updates is far smaller)
    return 1e-10 * max(float(w.sum()), 1.0)


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MCLPResult:
    """A post plan.

    Attributes
    ----------
    sites : (p,) int64
        Chosen candidate indices: existing posts first (in the order given),
        then new posts in greedy order of marginal gain.
    is_fixed : (p,) bool
        Which of ``sites`` were existing posts.
    marginal_gain : (p,) float
        Demand each site adds to the ones before it in ``sites``; sums to ``objective``.
    site_demand : (p,) float
        Demand within reach of each site (overlaps counted for every site).
    objective : float
        Covered demand.
    total_demand : float
        Sum of all weights.
    coverage_share : float
        ``objective / total_demand``.
    upper_bound : float
        Proven upper bound on the best achievable covered demand.
    gap : float
        ``(upper_bound - objective) / upper_bound`` (0 = proven optimal).
    seconds : float
        Wall time of the solve.
    solver : str
        ``"exact"`` or ``"greedy"`` (``"greedy+swap"`` with local search).
    status : str
        ``"optimal"`` (gap within the MIP tolerance), ``"time_limit"`` or ``"heuristic"``.
    covered : (n_demand,) bool
        Demand covered by the plan.
    stats : dict
        Instance sizes before/after reduction and solver details;
        ``stats["bound_source"]`` names what proved ``upper_bound`` (``highs``,
        ``lagrangian``, ``greedy``, ``reduction`` or ``fixed``).
    """

    sites: IntArray
    is_fixed: NDArray[np.bool_]
    marginal_gain: FloatArray
    site_demand: FloatArray
    objective: float
    total_demand: float
    coverage_share: float
    upper_bound: float
    gap: float
    seconds: float
    solver: str
    status: str
    covered: NDArray[np.bool_]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def p(self) -> int:
        """Number of posts in the plan."""
        return int(self.sites.size)

    def to_frame(self) -> pd.DataFrame:
        """One row per chosen site: rank, site, fixed, marginal gain, demand in reach, cumulative share."""
        cum = np.cumsum(self.marginal_gain)
        share = cum / self.total_demand if self.total_demand > 0 else np.zeros_like(cum)
        return pd.DataFrame({
            "rank": np.arange(1, self.sites.size + 1),
            "site": self.sites,
            "fixed": self.is_fixed,
            "marginal_gain": self.marginal_gain,
            "site_demand": self.site_demand,
            "cumulative_share": share,
        })


def elapsed(t0: float) -> float:
    """Seconds since ``t0`` (a :func:`time.perf_counter` reading)."""
    return time.perf_counter() - t0
