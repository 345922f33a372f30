"""Coverage matrices: which candidate site can serve which demand point.

:func:`coverage_matrix` (straight-line, KD-tree), :func:`network_coverage_matrix`
(along the road graph) and :func:`coverage_from_distances` (any distance
matrix) all return the same thing: a sparse ``(n_demand, n_sites)`` 0/1 matrix
``A`` (CSR, ``int8``) that the solvers in :mod:`geo.planning.solvers` take.
:func:`match_sites` maps existing posts onto candidates so they can be kept.
All coordinates are metric (e.g. EPSG:4548): project before calling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo.errors import InfeasibleError
from geo.planning.problem import IntArray, PostPlanningError, as_xy, check_radius, gather_rows

__all__ = ["coverage_from_distances", "coverage_matrix", "match_sites", "network_coverage_matrix"]




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
    S = as_xy(site_xy, "site_xy")
    D = as_xy(demand_xy, "demand_xy")
    r = check_radius(radius_m)
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
    r = check_radius(radius_m)
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
    r = check_radius(radius_m)
    xy = as_xy(node_xy, "node_xy")
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
        dem, dlen = gather_rows(node_ptr, d_sorted, node)
        src, dval = np.repeat(src, dlen), np.repeat(dval, dlen) + dsnap[dem]
        # ... and to every site standing on the source node
        site, slen = gather_rows(site_ptr, site_sorted, src + b0)
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
    E = as_xy(existing_xy, "existing_xy")
    S = as_xy(site_xy, "site_xy")
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
