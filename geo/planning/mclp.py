"""Enforcement-post planning: coverage matrices and maximal covering (MCLP).

The traffic brigade's question: at which intersections to put *p* posts so that
they cover the most (weighted) violations within a radius, and how many posts
are worth it.  Following spopt's design the pieces are separate:

1. **Coverage** — who can serve whom.  :func:`coverage_matrix` (straight-line,
   KD-tree), :func:`network_coverage_matrix` (along the road graph) and
   :func:`coverage_from_distances` (any distance matrix) all return the same
   thing: a sparse ``(n_demand, n_sites)`` 0/1 matrix ``A`` (CSR, ``int8``).
2. **Solvers** over ``(A, weights, p, fixed)``:

   - :func:`solve_mclp_exact` — the integer programme
     ``max Σ w_i y_i  s.t.  y_i ≤ Σ_{j∈N_i} x_j,  Σ x_j ≤ p,  x ∈ {0,1}, y ∈ [0,1]``
     solved by HiGHS through :func:`scipy.optimize.milp`, after a provably
     safe instance reduction (see :func:`reduce_instance`), with a time limit
     and a reported optimality gap.
   - :func:`solve_mclp_greedy` — the greedy heuristic with exact incremental
     marginal gains (ties → lowest index), an optional 1-swap local search,
     and a cheap submodularity upper bound so a gap can be reported.
   - :func:`solve_mclp` — picks one by size (``solver="auto"``).

   Existing (``fixed``) posts are always in the solution and count towards
   ``p``; new ones are chosen around them.  Every solver is deterministic.
3. **How many posts** — :func:`coverage_curve` (covered share for p = 1..P) and
   :func:`posts_for_share` (the set-covering view: posts needed for 80 %).
4. **Road-segment staffing** (按主次干路分段合理设置整治工作人员) —
   :func:`split_lines` cuts roads into ~500 m segments and
   :func:`allocate_staff` shares a staff total among them by the largest
   remainder method.

All coordinates are metric (e.g. EPSG:4548): project before calling.

Examples
--------
>>> import numpy as np
>>> sites = np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]])
>>> demand = np.array([[10.0, 0.0], [990.0, 0.0], [1010.0, 0.0], [2100.0, 0.0]])
>>> A = coverage_matrix(sites, demand, radius_m=300)
>>> A.toarray()
array([[1, 0, 0],
       [0, 1, 0],
       [0, 1, 0],
       [0, 0, 1]], dtype=int8)
>>> res = solve_mclp(A, np.array([1.0, 2.0, 2.0, 3.0]), p=2)
>>> res.sites.tolist(), res.objective, res.status
([1, 2], 7.0, 'optimal')
>>> allocate_staff(np.array([5.0, 3.0, 2.0]), 4).tolist()
[2, 1, 1]
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo.errors import CoordinateError, GridwatchError, InfeasibleError

__all__ = [
    "MCLPResult",
    "PostPlanningError",
    "ReducedInstance",
    "allocate_staff",
    "coverage_curve",
    "coverage_from_distances",
    "coverage_matrix",
    "match_sites",
    "network_coverage_matrix",
    "posts_for_share",
    "reduce_instance",
    "solve_mclp",
    "solve_mclp_exact",
    "solve_mclp_greedy",
    "split_lines",
]

Solver = Literal["auto", "exact", "greedy"]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

# Seeded once: the row hashes of the reduction must be the same run to run.
_HASH_SEED = 0x9E3779B9


class PostPlanningError(GridwatchError, ValueError):
    """Invalid input to post planning (radius, weights, demand, candidates)."""


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _as_xy(xy: ArrayLike, name: str) -> FloatArray:
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


def _check_radius(radius_m: float) -> float:
    r = float(radius_m)
    if not math.isfinite(r) or r <= 0:
        raise PostPlanningError(
            f"radius_m must be a positive number of metres, got {radius_m!r}; "
            "a typical post covers 200-500 m"
        )
    return r


def _as_coverage(coverage: Any) -> sp.csr_matrix:
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


def _as_weights(weights: ArrayLike | None, n: int) -> FloatArray:
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


def _as_fixed(fixed: ArrayLike | None, m: int, p: int) -> IntArray:
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


def _check_problem(coverage: Any, weights: ArrayLike | None, p: int, fixed: ArrayLike | None
                   ) -> tuple[sp.csr_matrix, FloatArray, int, IntArray]:
    A = _as_coverage(coverage)
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
    w = _as_weights(weights, n)
    f = _as_fixed(fixed, m, p)
    return A, w, p, f


# ---------------------------------------------------------------------------
# coverage matrices
# ---------------------------------------------------------------------------


def _csr_from_pairs(rows: IntArray, cols: IntArray, shape: tuple[int, int]) -> sp.csr_matrix:
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((np.ones(cols.size, dtype=np.int8), cols.astype(np.int64), indptr), shape=shape)


def coverage_matrix(site_xy: ArrayLike, demand_xy: ArrayLike, radius_m: float) -> sp.csr_matrix:
    """Straight-line coverage: demand ``i`` is covered by site ``j`` if ``dist ≤ radius_m``.

    Parameters
    ----------
    site_xy : (m, 2) array
        Candidate sites in a metric CRS (metres).
    demand_xy : (n, 2) array
        Demand points or cell centres in the same CRS.
    radius_m : float
        Service radius in metres (inclusive).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, m)`` int8 matrix of 0/1, sorted indices.

    Examples
    --------
    >>> coverage_matrix([[0, 0], [500, 0]], [[0, 300], [250, 0], [900, 0]], 300).toarray()
    array([[1, 0],
           [1, 1],
           [0, 0]], dtype=int8)
    """
    S = _as_xy(site_xy, "site_xy")
    D = _as_xy(demand_xy, "demand_xy")
    r = _check_radius(radius_m)
    if D.shape[0] == 0:
        raise PostPlanningError("demand_xy is empty: there is no demand to cover")
    if S.shape[0] == 0:
        raise InfeasibleError("site_xy is empty: there are no candidate sites")
    # sparse_distance_matrix is the fastest all-pairs-within-r query and keeps zero distances
    pairs = cKDTree(D).sparse_distance_matrix(cKDTree(S), r, output_type="ndarray")
    return _csr_from_pairs(pairs["i"].astype(np.int64), pairs["j"].astype(np.int64), (D.shape[0], S.shape[0]))


def coverage_from_distances(distances: Any, radius_m: float) -> sp.csr_matrix:
    """Coverage from any ``(n_demand, n_sites)`` distance matrix (network, travel time...).

    Parameters
    ----------
    distances : ndarray or scipy.sparse matrix
        Dense: ``inf``/``nan`` = unreachable.  Sparse: a *stored* entry is a
        distance (explicit zeros are distance 0, as in :mod:`scipy.sparse.csgraph`),
        a missing entry is unreachable.
    radius_m : float
        Covered when ``distance ≤ radius_m``.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n_demand, n_sites)`` int8 0/1.
    """
    r = _check_radius(radius_m)
    if sp.issparse(distances):
        coo = sp.coo_matrix(distances)
        keep = coo.data <= r
        rows, cols = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)
        shape = coo.shape
    else:
        D = np.asarray(distances, dtype=np.float64)
        if D.ndim != 2:
            raise PostPlanningError(f"distances must be 2-D (n_demand, n_sites), got shape {D.shape}")
        rows, cols = np.nonzero(D <= r)  # nan/inf compare False
        shape = D.shape
    if (rows < 0).any() or (cols < 0).any():  # pragma: no cover - coo never has negatives
        raise PostPlanningError("negative indices in distance matrix")
    return _csr_from_pairs(rows.astype(np.int64), cols.astype(np.int64), (int(shape[0]), int(shape[1])))


def network_coverage_matrix(
    edge_u: ArrayLike,
    edge_v: ArrayLike,
    edge_length_m: ArrayLike,
    node_xy: ArrayLike,
    site_nodes: ArrayLike,
    demand_nodes: ArrayLike,
    demand_snap_m: ArrayLike,
    radius_m: float,
    *,
    site_snap_m: ArrayLike | None = None,
    directed: bool = False,
    max_block_cells: int = 20_000_000,
) -> sp.csr_matrix:
    """Coverage along a road graph: covered if snap distances + shortest path ≤ radius.

    Demand ``i`` (snapped to node ``demand_nodes[i]`` at ``demand_snap_m[i]``
    metres) is covered by site ``j`` (at node ``site_nodes[j]``, optionally
    ``site_snap_m[j]`` off the graph) when
    ``site_snap_m[j] + d_graph(site_nodes[j], demand_nodes[i]) + demand_snap_m[i] ≤ radius_m``.
    Shortest paths run with :func:`scipy.sparse.csgraph.dijkstra` from the site
    nodes only, cut at the radius, in blocks of sites so memory stays bounded.

    With edge lengths at least the straight-line distance between their nodes
    (true of real roads) and snap distances measured in the same CRS as
    ``node_xy``, this coverage is a subset of :func:`coverage_matrix` with the
    same radius; a river or rail line without a crossing is not crossed.

    Parameters
    ----------
    edge_u, edge_v : (k,) int arrays
        Node indices of each road edge (0 .. len(node_xy) - 1).
    edge_length_m : (k,) float array
        Edge lengths in metres (>= 0).  Parallel edges keep the shortest.
    node_xy : (N, 2) array
        Metric node coordinates (their count defines the graph size).
    site_nodes : (m,) int array
        Graph node of each candidate site (an intersection).
    demand_nodes : (n,) int array
        Node each demand point is snapped to; ``-1`` = not snapped (never covered).
    demand_snap_m : (n,) float array
        Distance from each demand point to its node.
    radius_m : float
        Service radius along the network.
    site_snap_m : (m,) float array, optional
        Distance from each site to its node (0 for sites on intersections).
    directed : bool
        Treat edges as one-way ``u → v`` (paths from the site to the demand).
    max_block_cells : int
        Upper bound on ``sites_per_block × N`` (memory of one Dijkstra block).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, m)`` int8 0/1 matrix.
    """
    r = _check_radius(radius_m)
    xy = _as_xy(node_xy, "node_xy")
    N = xy.shape[0]
    u = np.asarray(edge_u).astype(np.int64, copy=False).ravel()
    v = np.asarray(edge_v).astype(np.int64, copy=False).ravel()
    length = np.asarray(edge_length_m, dtype=np.float64).ravel()
    if not (u.size == v.size == length.size):
        raise PostPlanningError(
            f"edge_u, edge_v and edge_length_m must have the same length, got {u.size}, {v.size}, {length.size}"
        )
    for name, a in (("edge_u", u), ("edge_v", v)):
        if a.size and (a.min() < 0 or a.max() >= N):
            raise PostPlanningError(f"{name} refers to nodes outside 0..{N - 1} (node_xy has {N} rows)")
    if (~np.isfinite(length)).any() or (length < 0).any():
        raise PostPlanningError("edge_length_m must be finite and >= 0 metres")
    sites = np.asarray(site_nodes).astype(np.int64, copy=False).ravel()
    dnode = np.asarray(demand_nodes).astype(np.int64, copy=False).ravel()
    dsnap = np.asarray(demand_snap_m, dtype=np.float64).ravel()
    if dnode.size == 0:
        raise PostPlanningError("demand_nodes is empty: there is no demand to cover")
    if sites.size == 0:
        raise InfeasibleError("site_nodes is empty: there are no candidate sites")
    if dsnap.size != dnode.size:
        raise PostPlanningError(
            f"demand_snap_m has {dsnap.size} values for {dnode.size} demand nodes; give one per demand"
        )
    if sites.min() < 0 or sites.max() >= N:
        raise PostPlanningError(f"site_nodes must be node indices 0..{N - 1}")
    if dnode.max() >= N or dnode.min() < -1:
        raise PostPlanningError(f"demand_nodes must be node indices 0..{N - 1} or -1 (not snapped)")
    if (dsnap < 0).any() or np.isnan(dsnap).any():
        raise PostPlanningError("demand_snap_m must be >= 0 metres (use inf for unsnapped demand)")
    ssnap = np.zeros(sites.size) if site_snap_m is None else np.asarray(site_snap_m, dtype=np.float64).ravel()
    if ssnap.size != sites.size or (ssnap < 0).any() or np.isnan(ssnap).any():
        raise PostPlanningError(f"site_snap_m must hold {sites.size} distances >= 0")

    # csgraph sums duplicate entries: keep the shortest of parallel edges instead.
    if directed:
        gu, gv, gl = u, v, length
    else:
        gu, gv, gl = np.r_[u, v], np.r_[v, u], np.r_[length, length]
    order = np.lexsort((gl, gv, gu))
    gu, gv, gl = gu[order], gv[order], gl[order]
    first = np.ones(gu.size, dtype=bool)
    first[1:] = (gu[1:] != gu[:-1]) | (gv[1:] != gv[:-1])
    # zero-length edges would vanish as implicit zeros: give them a negligible length
    G = sp.csr_matrix((np.maximum(gl[first], 1e-9), (gu[first], gv[first])), shape=(N, N))

    # demand grouped by node (CSR node -> demand rows); unsnapped or too far never covered
    usable = np.flatnonzero((dnode >= 0) & (dsnap <= r))
    d_sorted = usable[np.argsort(dnode[usable], kind="stable")]
    node_ptr = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(np.bincount(dnode[usable], minlength=N), out=node_ptr[1:])
    # sites grouped by node (CSR unique node -> sites) so one Dijkstra serves all sites on a node
    unique_sites, site_inv = np.unique(sites, return_inverse=True)
    site_sorted = np.argsort(site_inv, kind="stable")
    site_ptr = np.zeros(unique_sites.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(site_inv, minlength=unique_sites.size), out=site_ptr[1:])
    min_ssnap = np.full(unique_sites.size, np.inf)
    np.minimum.at(min_ssnap, site_inv, ssnap)
    block = max(1, int(max_block_cells // max(N, 1)))
    rows_out: list[IntArray] = []
    cols_out: list[IntArray] = []
    for b0 in range(0, unique_sites.size, block):  # blocks of sources: bounded memory
        b1 = min(b0 + block, unique_sites.size)
        limit = r - float(min_ssnap[b0:b1].min())
        if limit < 0:
            continue
        # the graph holds both directions already when undirected
        dist = dijkstra(G, directed=True, indices=unique_sites[b0:b1], limit=limit)
        src, node = np.nonzero(np.isfinite(dist))  # pairs within the limit only
        dval = dist[src, node]
        # expand each (source node, node) pair to the demand snapped there ...
        dem, dlen = _gather(node_ptr, d_sorted, node)
        src, dval = np.repeat(src, dlen), np.repeat(dval, dlen) + dsnap[dem]
        # ... and to every site standing on the source node
        site, slen = _gather(site_ptr, site_sorted, src + b0)
        dem, dval = np.repeat(dem, slen), np.repeat(dval, slen) + ssnap[site]
        ok = dval <= r
        rows_out.append(dem[ok])
        cols_out.append(site[ok])
    rows = np.concatenate(rows_out) if rows_out else np.zeros(0, np.int64)
    cols = np.concatenate(cols_out) if cols_out else np.zeros(0, np.int64)
    return _csr_from_pairs(rows, cols, (dnode.size, sites.size))


def match_sites(existing_xy: ArrayLike, site_xy: ArrayLike, tol_m: float = 1.0) -> IntArray:
    """Candidate index of each existing post (within ``tol_m`` metres).

    Raises
    ------
    PostPlanningError
        If an existing post has no candidate within ``tol_m``: existing posts
        must be among the candidates so they can be kept fixed.
    """
    E = _as_xy(existing_xy, "existing_xy")
    S = _as_xy(site_xy, "site_xy")
    if E.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if S.shape[0] == 0:
        raise PostPlanningError("site_xy is empty: existing posts cannot be matched to candidates")
    d, j = cKDTree(S).query(E)
    far = d > tol_m
    if far.any():
        k = int(np.flatnonzero(far)[0])
        raise PostPlanningError(
            f"{int(far.sum())} existing post(s) are not among the candidates (post {k} at "
            f"({E[k, 0]:.1f}, {E[k, 1]:.1f}) is {d[k]:.1f} m from the nearest candidate, tolerance "
            f"{tol_m} m); add existing posts to the candidate sites"
        )
    return j.astype(np.int64)


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
        Instance sizes before/after reduction and solver details.
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


# ---------------------------------------------------------------------------
# greedy machinery (shared by every solver)
# ---------------------------------------------------------------------------


def _gather(indptr: IntArray, indices: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
    """Concatenated ``indices`` of the given CSR rows (or CSC columns) and their lengths."""
    starts = indptr[rows]
    lens = indptr[rows + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), lens
    offs = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
    return indices[offs], lens


def _tol(w: FloatArray) -> float:
    # gains closer than this are ties (float drift of incremental updates is far smaller)
    return 1e-10 * max(float(w.sum()), 1.0)


@dataclass
class _Greedy:
    picks: IntArray
    gains: FloatArray
    covered: NDArray[np.bool_]
    value: float
    ub_by_budget: FloatArray | None  # ub_by_budget[r-1] bounds OPT with r new sites


def _greedy(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, k: int, fixed: IntArray,
            *, allowed: NDArray[np.bool_] | None = None, bound_budgets: int = 0,
            pad: bool = True) -> _Greedy:
    """Greedy selection of ``k`` new sites around ``fixed``.

    Marginal gains are kept exact: when a demand row becomes covered its weight
    is subtracted from every site covering it, so each row is touched once over
    the whole run (cost O(nnz + k·m)) and lazy evaluation (CELF) is unnecessary.
    Ties within :func:`_tol` are recomputed from scratch and go to the lowest index.

    The bound uses submodularity: for any greedy state S and any plan O with r
    new sites, ``f(O) ≤ f(S) + (sum of the r largest marginal gains at S)``.
    """
    n, m = A.shape
    covered = np.zeros(n, dtype=bool)
    if fixed.size:
        rows, _ = _gather(At.indptr, At.indices, fixed)
        covered[rows] = True
    uw = np.where(covered, 0.0, w)
    gains = np.bincount(A.indices, weights=np.repeat(uw, np.diff(A.indptr)), minlength=m)
    avail = np.ones(m, dtype=bool) if allowed is None else allowed.copy()
    avail[fixed] = False
    gains[~avail] = -np.inf
    value = float(w[covered].sum())
    tol = _tol(w)
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
        rows, _ = _gather(At.indptr, At.indices, np.array([best]))
        new = rows[~covered[rows]]
        g_exact = float(w[new].sum())
        covered[new] = True
        uw[new] = 0.0
        value += g_exact
        cols, lens = _gather(A.indptr, A.indices, new)
        gains -= np.bincount(cols, weights=np.repeat(w[new], lens), minlength=m)
        gains[best] = -np.inf
        avail[best] = False
        picks.append(best)
        marg.append(g_exact)
    _bound()
    p_arr = np.asarray(picks, dtype=np.int64)
    g_arr = np.asarray(marg, dtype=np.float64)
    if pad and p_arr.size < k:
        extra = _pad(A, w, avail, k - p_arr.size)
        p_arr = np.r_[p_arr, extra]
        g_arr = np.r_[g_arr, np.zeros(extra.size)]
    return _Greedy(p_arr, g_arr, covered, value, ub)


def _pad(A: sp.csr_matrix, w: FloatArray, avail: NDArray[np.bool_], k: int) -> IntArray:
    """Sites for posts that add no coverage: most demand in reach (backup), then lowest index."""
    reach = np.bincount(A.indices, weights=np.repeat(w, np.diff(A.indptr)), minlength=A.shape[1])
    idx = np.flatnonzero(avail)
    order = np.lexsort((idx, -reach[idx]))
    return idx[order[:k]].astype(np.int64)


def _evaluate(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, sites: IntArray) -> tuple[float, NDArray[np.bool_]]:
    covered = np.zeros(A.shape[0], dtype=bool)
    if sites.size:
        rows, _ = _gather(At.indptr, At.indices, sites)
        covered[rows] = True
    return float(w[covered].sum()), covered


def _result(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, fixed: IntArray, new_sites: IntArray,
            *, upper_bound: float, t0: float, solver: str, status: str, stats: dict[str, Any]) -> MCLPResult:
    """Order the plan (fixed first, new ones by marginal gain) and fill the per-site figures."""
    p_new = new_sites.size
    allowed = np.zeros(A.shape[1], dtype=bool)
    allowed[new_sites] = True
    g = _greedy(A, At, w, p_new, fixed, allowed=allowed, pad=True)
    # fixed ones: marginal gains in the order given
    fmarg = np.zeros(fixed.size)
    cov = np.zeros(A.shape[0], dtype=bool)
    for i, j in enumerate(fixed):  # loop over existing posts (few), vectorised inside
        rows, _ = _gather(At.indptr, At.indices, np.array([j]))
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


def _swap_improve(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, fixed: IntArray, new_sites: IntArray,
                  *, deadline: float, max_rounds: int = 1_000) -> tuple[IntArray, int]:
    """Best-improvement 1-swap local search (Teitz-Bart interchange) on the new sites.

    Each round evaluates every (chosen new site s, candidate j) exchange at once:
    ``Δ = gain_j + Q[s, j] − loss_s`` where ``gain_j`` is the uncovered demand in
    reach of j, ``loss_s`` the demand only s covers, and ``Q[s, j]`` the part of
    the latter j would take over.  Applies the best Δ > 0 (ties: lowest s, then j)
    and, in the same round, every other improving swap far enough from those
    already applied (disjoint neighbourhoods), so large plans converge in few rounds.
    """
    n, m = A.shape
    cur = new_sites.copy()
    tol = _tol(w)
    swaps = 0
    for _ in range(max_rounds):
        if time.perf_counter() >= deadline or cur.size == 0:
            break
        chosen = np.r_[fixed, cur]
        rows, lens = _gather(At.indptr, At.indices, chosen)
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
        # Q as sparse (new site × candidate): exclusive demand of s that j also reaches
        qc, ql = _gather(A.indptr, A.indices, ex_rows)
        Q = sp.csr_matrix((np.repeat(w[ex_rows], ql), (np.repeat(ex_owner, ql), qc)), shape=(cur.size, m))
        Q.sum_duplicates()
        Q.sort_indices()
        gbest = int(np.argmax(gain))
        best_delta = np.full(cur.size, gain[gbest])
        best_j = np.full(cur.size, gbest, dtype=np.int64)
        if Q.nnz:
            vals = gain[Q.indices] + Q.data
            rowid = np.repeat(np.arange(cur.size), np.diff(Q.indptr))
            # per row: max value, lowest column among maxima
            order = np.lexsort((Q.indices, -vals, rowid))
            first = np.r_[True, rowid[order][1:] != rowid[order][:-1]]
            r_ = rowid[order][first]
            v_ = vals[order][first]
            j_ = Q.indices[order][first].astype(np.int64)
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
            near, _ = _gather(At.indptr, At.indices, np.array([cur[s], j]))
            if touched[near].any():
                continue
            touched[near] = True
            taken.add(j)
            cur[s] = j
            swaps += 1
    return cur, swaps


def _local_search(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, fixed: IntArray, new_sites: IntArray,
                  *, deadline: float, seed: int, max_rounds: int = 400, stall_rounds: int = 60
                  ) -> tuple[IntArray, dict[str, int]]:
    """Swap local search, then iterated local search (ILS) around the best plan.

    A round drops ~10 % of the new sites at random (``seed``), refills them
    greedily (the dropped ones excluded), runs the swap search again and keeps
    the result if it covers strictly more.  Stops after ``stall_rounds``
    rounds without improvement, ``max_rounds`` rounds, or at ``deadline``
    (only the deadline can make a run machine-dependent).
    """
    cur, swaps = _swap_improve(A, At, w, fixed, new_sites, deadline=deadline)
    best_val = _evaluate(A, At, w, np.r_[fixed, cur].astype(np.int64))[0]
    info = {"swaps": swaps, "ils_rounds": 0, "ils_improvements": 0}
    r = cur.size
    if r < 2:
        return cur, info
    rng = np.random.default_rng(seed)
    k = max(2, int(math.ceil(0.1 * r)))
    tol = _tol(w)
    stall = 0
    for _ in range(max_rounds):
        if stall >= stall_rounds or time.perf_counter() >= deadline:
            break
        info["ils_rounds"] += 1
        drop = rng.choice(r, size=min(k, r), replace=False)
        keep = np.delete(cur, drop)
        allowed = np.ones(A.shape[1], dtype=bool)
        allowed[cur[drop]] = False  # force a different plan
        refill = _greedy(A, At, w, drop.size, np.r_[fixed, keep].astype(np.int64), allowed=allowed).picks
        cand, sw = _swap_improve(A, At, w, fixed, np.r_[keep, refill].astype(np.int64), deadline=deadline)
        info["swaps"] += sw
        val = _evaluate(A, At, w, np.r_[fixed, cand].astype(np.int64))[0]
        if val > best_val + tol:
            best_val, cur, stall = val, cand, 0
            info["ils_improvements"] += 1
        else:
            stall += 1
    return cur, info


def _lagrangian_bound(A: sp.csr_matrix, At: sp.csr_matrix, w: FloatArray, p_new: int, lower: float,
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
        rows, _ = _gather(At.indptr, At.indices, top)
        cnt = np.bincount(rows, minlength=n).astype(np.float64)
        g = cnt - 1.0  # dL/dλ_i
        g[((lam <= 0) & (g > 0)) | ((lam >= w) & (g < 0))] = 0.0
        nn = float(g @ g)
        if nn == 0:
            break
        lam = np.clip(lam - theta * (L - lower) / nn * g, 0.0, w)
    return best


# ---------------------------------------------------------------------------
# instance reduction
# ---------------------------------------------------------------------------


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
    A, w, p, f = _check_problem(coverage, weights, p, fixed)
    n0, m0 = A.shape
    At = A.T.tocsr()
    covered = np.zeros(n0, dtype=bool)
    if f.size:
        rows, _ = _gather(At.indptr, At.indices, f)
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
# solvers
# ---------------------------------------------------------------------------


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

    Returns
    -------
    MCLPResult
        ``status`` is ``"heuristic"``; ``gap`` is against ``upper_bound``.
    """
    t0 = time.perf_counter()
    A, w, p, f = _check_problem(coverage, weights, p, fixed)
    if bound not in ("greedy", "lagrangian"):
        raise PostPlanningError(f"bound must be 'greedy' or 'lagrangian', got {bound!r}")
    At = A.T.tocsr()
    k = p - f.size
    g = _greedy(A, At, w, k, f, bound_budgets=max(k, 1))
    ub = float(g.ub_by_budget[k - 1]) if (g.ub_by_budget is not None and k >= 1) else g.value
    new = g.picks
    stats: dict[str, Any] = {"n_demand": A.shape[0], "n_sites": A.shape[1], "nnz": int(A.nnz),
                             "greedy_objective": g.value, "greedy_bound": ub}
    solver = "greedy"
    deadline = t0 + time_limit
    if local_search and k >= 1:
        # the bound (if asked) keeps at least a quarter of the budget
        ls_deadline = t0 + (0.75 * time_limit if bound == "lagrangian" else time_limit)
        new, info = _local_search(A, At, w, f, new, deadline=ls_deadline, seed=seed)
        stats.update(info)
        solver = "greedy+swap"
    if bound == "lagrangian" and k >= 1:
        red = reduce_instance(A, w, p, f)
        lower = _evaluate(A, At, w, np.r_[f, new].astype(np.int64))[0] - red.constant
        lag = red.constant + _lagrangian_bound(red.A, red.A.T.tocsr(), red.weights, red.p_new, lower,
                                               deadline=deadline)
        stats["lagrangian_bound"] = lag
        stats.update(red.stats)
        ub = min(ub, lag)
    return _result(A, At, w, f, new, upper_bound=ub, t0=t0, solver=solver, status="heuristic", stats=stats)


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
    ls_first_nnz: int = 100_000,
) -> MCLPResult:
    """Maximal covering as an integer programme (HiGHS via :func:`scipy.optimize.milp`).

    The instance is first shrunk by :func:`reduce_instance` (``reduce=True``);
    demand covered by a single candidate is folded into that candidate's
    objective.  A greedy plan is computed too: it is returned if HiGHS runs
    out of time with a worse incumbent, and its value is a lower bound.

    Parameters
    ----------
    coverage, weights, p, fixed
        As in :func:`solve_mclp_greedy`.
    time_limit : float
        Seconds for HiGHS (reduction and greedy are extra, usually < 1 s).
    mip_rel_gap : float
        HiGHS stops once its relative gap is below this (1e-4 = 0.01 %).
    reduce : bool
        Apply the instance reduction (turn off only to compare).
    local_search : bool
        Guard against HiGHS being cut short.  On small reduced instances the
        last ``min(30 %, 10 s)`` of the budget is reserved: if HiGHS stops on
        the time limit, its incumbent is improved by the greedy's local search.
        On reduced instances with more than ``ls_first_nnz`` non-zeros the
        local search runs first (up to 30 % of the budget).  Either way a
        Lagrangian bound then tightens the reported gap.
    seed : int
        Seed of that local search.
    ls_first_nnz : int
        Size (non-zeros of the reduced coverage) above which local search runs first.

    Returns
    -------
    MCLPResult
        ``status`` is ``"optimal"`` when HiGHS proved the gap within
        ``mip_rel_gap`` and ``"time_limit"`` otherwise; ``gap`` and
        ``upper_bound`` come from HiGHS's dual bound.
    """
    t0 = time.perf_counter()
    A, w, p, f = _check_problem(coverage, weights, p, fixed)
    At = A.T.tocsr()
    k = p - f.size
    g = _greedy(A, At, w, k, f, bound_budgets=max(k, 1))
    greedy_ub = float(g.ub_by_budget[k - 1]) if (g.ub_by_budget is not None and k >= 1) else g.value
    stats: dict[str, Any] = {"n_demand": A.shape[0], "n_sites": A.shape[1], "nnz": int(A.nnz),
                             "greedy_objective": g.value}
    if k == 0:
        return _result(A, At, w, f, np.zeros(0, np.int64), upper_bound=g.value, t0=t0,
                       solver="exact", status="optimal", stats=stats)
    if reduce:
        red = reduce_instance(A, w, p, f)
        stats.update(red.stats)
    else:
        free = np.ones(A.shape[1], bool)
        free[f] = False
        cov_f = np.zeros(A.shape[0], bool)
        if f.size:
            rows, _ = _gather(At.indptr, At.indices, f)
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
    else:
        # Large reduced instances: HiGHS may not even finish its root LP, so secure a good plan
        # first (local search, up to 30 % of the budget).  Small ones: HiGHS usually proves
        # optimality fast; local search only runs in a reserve if it is cut short.
        ls_first = local_search and R.nnz > ls_first_nnz
        if ls_first:
            incumbent, info = _local_search(A, At, w, f, g.picks, deadline=t0 + 0.3 * time_limit, seed=seed)
            stats.update({f"ls_{key}": v for key, v in info.items()})
            inc_obj = _evaluate(A, At, w, np.r_[f, incumbent].astype(np.int64))[0]
        reserve = 0.0 if not local_search else (min(0.05 * time_limit, 3.0) if ls_first
                                                 else min(0.3 * time_limit, 10.0))
        remaining = end - time.perf_counter() - reserve
        mask, ub_r, st, info = _milp(R, red.weights, red.p_new, time_limit=remaining, mip_rel_gap=mip_rel_gap)
        stats.update(info)
        ub = red.constant + ub_r
        chosen = red.sites[mask] if mask is not None else incumbent
        if st != 0:
            status = "time_limit"
    obj, _ = _evaluate(A, At, w, np.r_[f, chosen].astype(np.int64))
    if obj < inc_obj:  # the MILP's incumbent (cut short) is worse than greedy / local search
        chosen, obj = incumbent, inc_obj
        stats["used_heuristic_incumbent"] = True
    chosen = np.asarray(chosen, dtype=np.int64)
    if chosen.size < k:
        avail = np.ones(A.shape[1], bool)
        avail[f] = False
        avail[chosen] = False
        chosen = np.r_[chosen, _pad(A, w, avail, k - chosen.size)]
    if status != "optimal" and local_search:
        if "ls_swaps" not in stats:  # reserve: two thirds to improve the plan, one third for the bound
            better, info = _local_search(A, At, w, f, chosen, deadline=end - (end - time.perf_counter()) / 3,
                                         seed=seed)
            stats.update({f"ls_{key}": v for key, v in info.items()})
            better_obj = _evaluate(A, At, w, np.r_[f, better].astype(np.int64))[0]
            if better_obj > obj:
                chosen, obj = better, better_obj
                stats["used_local_search"] = True
        # HiGHS cut short may have no useful dual bound: a Lagrangian one (allowed a little overrun)
        lag = red.constant + _lagrangian_bound(R, R.T.tocsr(), red.weights, red.p_new, obj - red.constant,
                                               deadline=max(end, time.perf_counter() + 0.05 * time_limit))
        stats["lagrangian_bound"] = lag
        ub = min(ub, lag)
    ub = min(ub, greedy_ub)
    return _result(A, At, w, f, chosen, upper_bound=ub, t0=t0, solver="exact", status=status, stats=stats)


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
        ``max_exact_pairs`` non-zeros, else greedy with local search and a
        Lagrangian bound.
    time_limit : float
        Seconds for the exact solver / the local search.
    mip_rel_gap : float
        Relative gap at which HiGHS may stop.
    max_exact_pairs : int
        Size threshold of ``"auto"`` (``settings.posts.max_exact_pairs``).
        Measured: 2,000 × 5,000 (~55,000 pairs) solves or nearly solves in
        10-60 s; at 20,000 × 60,000 (~690,000 pairs) HiGHS does not finish its
        root LP in a minute, while greedy + local search is within ~1.3 %.
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
        if nnz > max_exact_pairs:
            return solve_mclp_greedy(coverage, weights, p, fixed=fixed, local_search=True,
                                     bound="lagrangian", time_limit=time_limit, seed=seed)
        solver = "exact"
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
    A, w, p_max, f = _check_problem(coverage, weights, p_max, fixed)
    At = A.T.tocsr()
    total = float(w.sum())
    k_max = p_max - f.size
    g = _greedy(A, At, w, k_max, f, bound_budgets=max(k_max, 1))
    base = _evaluate(A, At, w, f)[0]
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
            ext = _greedy(A, At, w, 1, prev_sites, pad=True)
            ext_sites = np.r_[prev_sites, ext.picks]
            ext_obj = _evaluate(A, At, w, ext_sites)[0]
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


# ---------------------------------------------------------------------------
# road-segment staffing
# ---------------------------------------------------------------------------


def split_lines(lines: Any, segment_length_m: float = 500.0) -> Any:
    """Cut road lines into equal pieces no longer than ``segment_length_m``.

    A line of length L becomes ``ceil(L / segment_length_m)`` pieces of equal
    length (no short stubs); MultiLineStrings are split part by part.  Fully
    vectorised: vertices and cut points of all lines are interpolated and
    assembled with shapely 2's ufuncs, no loop over lines.

    Parameters
    ----------
    lines : GeoSeries, GeoDataFrame or array of shapely (Multi)LineStrings
        In a metric CRS (a geographic CRS raises :class:`CoordinateError`).
    segment_length_m : float
        Maximum segment length in metres.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per segment: ``line`` (position of the source line),
        ``part`` (part of a multi-line), ``segment`` (0-based along the part),
        ``start_m``, ``end_m``, ``length_m``, ``geometry``; CRS kept.

    Examples
    --------
    >>> import shapely
    >>> segs = split_lines([shapely.LineString([(0, 0), (1200, 0)])], 500)
    >>> segs[["segment", "start_m", "end_m"]].to_numpy().tolist()
    [[0.0, 0.0, 400.0], [1.0, 400.0, 800.0], [2.0, 800.0, 1200.0]]
    """
    import geopandas as gpd
    import shapely

    seg_len = float(segment_length_m)
    if not math.isfinite(seg_len) or seg_len <= 0:
        raise PostPlanningError(f"segment_length_m must be a positive number of metres, got {segment_length_m!r}")
    crs = None
    if isinstance(lines, (gpd.GeoDataFrame, gpd.GeoSeries)):
        crs = lines.crs
        if crs is not None and crs.is_geographic:
            raise CoordinateError(
                f"lines are in a geographic CRS ({crs.to_string()}); project them to a metric CRS "
                "first, e.g. lines.to_crs('EPSG:4548')"
            )
        geoms = np.asarray(lines.geometry.values, dtype=object)
    else:
        geoms = np.asarray(lines, dtype=object).ravel()
    cols = ["line", "part", "segment", "start_m", "end_m", "length_m"]
    empty = gpd.GeoDataFrame({c: np.zeros(0, np.int64 if c in cols[:3] else np.float64) for c in cols},
                             geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    if geoms.size == 0:
        return empty
    types = shapely.get_type_id(geoms)
    ok = np.isin(types, (1, 5)) | shapely.is_missing(geoms)  # LineString, MultiLineString
    if not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        raise PostPlanningError(
            f"line {k} is a {shapely.get_type_id(geoms[k])} geometry, not a (Multi)LineString; "
            "pass road centre lines"
        )
    parts, src = shapely.get_parts(geoms, return_index=True)
    if parts.size == 0:
        return empty
    part_no = np.arange(src.size) - np.searchsorted(src, src)  # rank of each part within its line
    xy, pid = shapely.get_coordinates(parts, return_index=True)
    # drop repeated vertices so the per-part distance is strictly increasing
    step = np.r_[np.inf, np.hypot(*np.diff(xy, axis=0).T)]
    newpart = np.r_[True, pid[1:] != pid[:-1]]
    keep = newpart | (step > 0)
    xy, pid, step, newpart = xy[keep], pid[keep], step[keep], newpart[keep]
    step[newpart] = 0.0
    cum = np.cumsum(step)
    part_start = np.searchsorted(pid, np.arange(parts.size))
    nverts = np.bincount(pid, minlength=parts.size)
    valid = nverts >= 2
    d = cum - cum[part_start][pid]  # distance along its part
    L = np.zeros(parts.size)
    L[valid] = d[part_start[valid] + nverts[valid] - 1]
    valid &= L > 0
    nseg = np.where(valid, np.maximum(1, np.ceil(L / seg_len - 1e-9)).astype(np.int64), 0)
    # global monotone axis: part i occupies [off_i, off_i + L_i], gaps between parts
    off = np.r_[0.0, np.cumsum(L + 1.0)[:-1]]
    D = d + off[pid]
    vmask = valid[pid]
    Dv, xv, yv, pv = D[vmask], xy[vmask, 0], xy[vmask, 1], pid[vmask]
    seg_part = np.repeat(np.arange(parts.size), nseg)
    seg_k = np.arange(seg_part.size) - np.repeat(np.cumsum(nseg) - nseg, nseg)
    piece = L[seg_part] / nseg[seg_part]
    s0 = seg_k * piece
    s1 = np.where(seg_k == nseg[seg_part] - 1, L[seg_part], (seg_k + 1) * piece)
    T0, T1 = s0 + off[seg_part], s1 + off[seg_part]
    sid = np.arange(seg_part.size)
    # interior vertices: strictly inside a segment
    pn = nseg[pv]
    k_v = np.minimum(np.floor((Dv - off[pv]) / (L[pv] / pn)).astype(np.int64), pn - 1)
    first_seg = np.cumsum(nseg) - nseg
    v_sid = first_seg[pv] + k_v
    inner = (Dv > T0[v_sid] + 1e-9) & (Dv < T1[v_sid] - 1e-9)
    keys = np.r_[T0, Dv[inner], T1]
    ids = np.r_[sid, v_sid[inner], sid]
    rank = np.r_[np.zeros(sid.size), np.ones(int(inner.sum())), np.full(sid.size, 2.0)]
    px = np.r_[np.interp(T0, Dv, xv), xv[inner], np.interp(T1, Dv, xv)]
    py = np.r_[np.interp(T0, Dv, yv), yv[inner], np.interp(T1, Dv, yv)]
    order = np.lexsort((keys, rank, ids))
    segs = shapely.linestrings(px[order], py[order], indices=ids[order])
    return gpd.GeoDataFrame({
        "line": src[seg_part].astype(np.int64),
        "part": part_no[seg_part].astype(np.int64),
        "segment": seg_k.astype(np.int64),
        "start_m": s0,
        "end_m": s1,
        "length_m": s1 - s0,
    }, geometry=gpd.GeoSeries(segs, crs=crs), crs=crs)


def allocate_staff(scores: ArrayLike, n_staff: int) -> IntArray:
    """Share ``n_staff`` people among segments in proportion to ``scores`` (largest remainder).

    Each segment gets the integer part of its quota ``n_staff · s_i / Σ s``;
    the people left go to the largest fractional parts, ties to the lowest
    index.  The total is always exactly ``n_staff``.

    Parameters
    ----------
    scores : (k,) array of float >= 0
        Demand per segment (e.g. weighted violations).
    n_staff : int
        People to allocate.

    Returns
    -------
    (k,) int64 array summing to ``n_staff``.

    Examples
    --------
    >>> allocate_staff([10, 10, 10], 4).tolist()
    [2, 1, 1]
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    if isinstance(n_staff, bool) or not isinstance(n_staff, (int, np.integer)) or n_staff < 0:
        raise PostPlanningError(f"n_staff must be an integer >= 0, got {n_staff!r}")
    n = int(n_staff)
    if s.size == 0:
        if n:
            raise PostPlanningError(f"cannot allocate {n} staff to zero segments")
        return np.zeros(0, dtype=np.int64)
    bad = ~np.isfinite(s) | (s < 0)
    if bad.any():
        raise PostPlanningError(
            f"scores must be finite and >= 0; {int(bad.sum())} are not (first at index {int(np.flatnonzero(bad)[0])})"
        )
    total = s.sum()
    if n == 0:
        return np.zeros(s.size, dtype=np.int64)
    if total <= 0:
        raise PostPlanningError("all scores are 0: there is nothing to allocate staff by")
    quota = s * (n / total)
    base = np.floor(quota).astype(np.int64)
    base = np.minimum(base, n)
    left = n - int(base.sum())
    if left < 0:  # float rounding can only overshoot by a hair: take back from the smallest remainders
        frac = quota - base
        order = np.lexsort((-np.arange(s.size), frac))
        take = order[base[order] > 0][:-left]
        base[take] -= 1
        left = n - int(base.sum())
    frac = quota - base
    order = np.lexsort((np.arange(s.size), -frac))
    base[order[:left]] += 1
    return base
