"""Tests of geo.planning.mclp: coverage matrices, MCLP solvers, coverage curve, staffing helpers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
import shapely

from geo.errors import CoordinateError, InfeasibleError
from geo.planning.mclp import (
    PostPlanningError,
    allocate_staff,
    coverage_curve,
    coverage_from_distances,
    coverage_matrix,
    match_sites,
    network_coverage_matrix,
    posts_for_share,
    reduce_instance,
    solve_mclp,
    solve_mclp_exact,
    solve_mclp_greedy,
    split_lines,
)

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def brute_force(A: np.ndarray, w: np.ndarray, p: int, fixed: tuple[int, ...] = ()) -> float:
    """Best covered weight over all plans of p sites containing ``fixed``."""
    m = A.shape[1]
    free = [j for j in range(m) if j not in fixed]
    best = 0.0
    for comb in itertools.combinations(free, p - len(fixed)):
        cols = list(fixed) + list(comb)
        best = max(best, float(w[A[:, cols].any(axis=1)].sum()))
    return best


def random_instance(seed: int, n: int = 40, m: int = 9, radius: float = 250.0, dup: bool = False
                    ) -> tuple[sp.csr_matrix, np.ndarray]:
    """Clustered demand with integer weights; ``dup`` adds duplicate sites and demand points."""
    rng = np.random.default_rng(seed)
    sites = rng.uniform(0, 1000, (m, 2))
    centres = rng.uniform(0, 1000, (3, 2))
    demand = centres[rng.integers(0, 3, n)] + rng.normal(0, 200, (n, 2))
    if dup:
        sites[-2:] = sites[:2]  # identical candidates
        demand[-5:] = demand[:5]  # identical covering sets
    w = rng.integers(1, 10, n).astype(float)
    return coverage_matrix(sites, demand, radius), w


def covered_value(A: sp.csr_matrix, w: np.ndarray, sites: np.ndarray) -> float:
    return float(w[np.asarray(A[:, sites].sum(axis=1)).ravel() > 0].sum())


# ---------------------------------------------------------------------------
# coverage matrices
# ---------------------------------------------------------------------------


def test_coverage_matrix_matches_brute_force_distances_and_is_inclusive() -> None:
    rng = np.random.default_rng(0)
    sites = rng.uniform(0, 2000, (30, 2))
    demand = rng.uniform(0, 2000, (200, 2))
    demand[0] = sites[3] + [300.0, 0.0]  # exactly on the radius: covered
    demand[1] = sites[3]  # distance 0: covered
    A = coverage_matrix(sites, demand, 300.0)
    D = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    assert A.shape == (200, 30)
    assert A.dtype == np.int8
    np.testing.assert_array_equal(A.toarray(), (D <= 300.0).astype(np.int8))
    assert A[0, 3] == 1 and A[1, 3] == 1


def test_coverage_from_distances_dense_and_sparse_with_explicit_zero() -> None:
    D = np.array([[0.0, 500.0, np.inf], [299.0, np.nan, 301.0]])
    np.testing.assert_array_equal(coverage_from_distances(D, 300).toarray(), [[1, 0, 0], [1, 0, 0]])
    # sparse: a stored 0 is distance 0 (covered), a missing entry is unreachable
    S = sp.csr_matrix((np.array([0.0, 250.0, 400.0]), (np.array([0, 1, 1]), np.array([2, 0, 1]))),
                      shape=(2, 3))
    assert S.nnz == 3
    np.testing.assert_array_equal(coverage_from_distances(S, 300).toarray(), [[0, 0, 1], [1, 0, 0]])


def grid_graph(k: int, spacing: float, stretch: np.ndarray | None = None):
    """k×k street grid; edge lengths = straight-line length × stretch (>= 1)."""
    ii, jj = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    node_xy = np.c_[jj.ravel() * spacing, ii.ravel() * spacing].astype(float)
    ids = (ii * k + jj)
    u = np.r_[ids[:, :-1].ravel(), ids[:-1, :].ravel()]
    v = np.r_[ids[:, 1:].ravel(), ids[1:, :].ravel()]
    length = np.hypot(*(node_xy[u] - node_xy[v]).T)
    if stretch is not None:
        length = length * stretch
    return u, v, length, node_xy


def test_network_coverage_is_subset_of_euclidean_and_matches_manual_paths() -> None:
    rng = np.random.default_rng(1)
    u, v, length, node_xy = grid_graph(8, 100.0)
    length = length * rng.uniform(1.0, 1.4, length.size)  # winding roads: never shorter than straight
    N = node_xy.shape[0]
    site_nodes = rng.choice(N, 12, replace=False)
    # demand points near random nodes: snap distance = straight-line distance to the node
    dnodes = rng.integers(0, N, 150)
    dxy = node_xy[dnodes] + rng.normal(0, 20, (150, 2))
    snap = np.hypot(*(dxy - node_xy[dnodes]).T)
    for radius in (150.0, 300.0, 450.0):
        net = network_coverage_matrix(u, v, length, node_xy, site_nodes, dnodes, snap, radius)
        euc = coverage_matrix(node_xy[site_nodes], dxy, radius)
        assert net.shape == euc.shape
        assert (net.toarray() <= euc.toarray()).all()  # network coverage ⊆ Euclidean coverage
        assert net.nnz > 0
    # reference: dense all-pairs shortest paths
    from scipy.sparse.csgraph import shortest_path
    G = sp.coo_matrix((length, (u, v)), shape=(N, N))
    dist = shortest_path(G, directed=False)
    expect = (dist[site_nodes][:, dnodes].T + snap[:, None]) <= 300.0
    net = network_coverage_matrix(u, v, length, node_xy, site_nodes, dnodes, snap, 300.0)
    np.testing.assert_array_equal(net.toarray().astype(bool), expect)


def test_network_coverage_does_not_cross_a_barrier() -> None:
    # two east-west roads 100 m apart (y=0 and y=100) joined only far away at x=2000 (a river between)
    xs = np.arange(0, 2001, 100.0)
    south = np.c_[xs, np.zeros_like(xs)]
    north = np.c_[xs, np.full_like(xs, 100.0)]
    node_xy = np.vstack([south, north])
    k = xs.size
    u = np.r_[np.arange(k - 1), k + np.arange(k - 1), k - 1]
    v = np.r_[np.arange(1, k), k + np.arange(1, k), 2 * k - 1]  # the bridge at the far end
    length = np.hypot(*(node_xy[u] - node_xy[v]).T)
    site_nodes = np.array([0])  # a post at the south-west corner
    demand_nodes = np.array([1, k + 0, k + 1])  # 100 m east (same side); across the river; across
    demand_xy = node_xy[demand_nodes]
    net = network_coverage_matrix(u, v, length, node_xy, site_nodes, demand_nodes, np.zeros(3), 300.0)
    euc = coverage_matrix(node_xy[site_nodes], demand_xy, 300.0)
    np.testing.assert_array_equal(euc.toarray().ravel(), [1, 1, 1])
    np.testing.assert_array_equal(net.toarray().ravel(), [1, 0, 0])
    # a snap distance counts: 100 m along the road + 250 m off it > 300 m
    net2 = network_coverage_matrix(u, v, length, node_xy, site_nodes, np.array([1]), np.array([250.0]), 300.0)
    assert net2.nnz == 0
    # one-way street: site at node 1 pointing west reaches node 0 only against the traffic
    net3 = network_coverage_matrix(np.array([0]), np.array([1]), np.array([100.0]), node_xy[:2],
                                   np.array([1]), np.array([0]), np.zeros(1), 300.0, directed=True)
    assert net3.nnz == 0


def test_network_coverage_parallel_edges_keep_shortest() -> None:
    node_xy = np.array([[0.0, 0.0], [100.0, 0.0]])
    cov = network_coverage_matrix([0, 0], [1, 1], [500.0, 100.0], node_xy, [0], [1], [0.0], 150.0)
    assert cov.toarray().tolist() == [[1]]


def test_network_coverage_site_snaps_shared_nodes_and_unsnapped_demand() -> None:
    # path 0 - 1 - 2 (100 m each); sites 0 and 1 on node 0 (site 1 is 100 m off the road),
    # site 2 on node 2; demand on nodes 1, 2, unsnapped (-1), and on node 0 but 400 m away
    node_xy = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
    cov = network_coverage_matrix([0, 1], [1, 2], [100.0, 100.0], node_xy, [0, 0, 2],
                                  [1, 2, -1, 0], [10.0, 0.0, 0.0, 400.0], 220.0,
                                  site_snap_m=[0.0, 100.0, 0.0])
    np.testing.assert_array_equal(cov.toarray(), [[1, 1, 1], [1, 0, 1], [0, 0, 0], [0, 0, 0]])
    # no edges at all: only demand on the site's own node is covered
    lone = network_coverage_matrix([], [], [], node_xy, [1], [1, 2], [5.0, 0.0], 50.0)
    np.testing.assert_array_equal(lone.toarray().ravel(), [1, 0])
    with pytest.raises(PostPlanningError, match="edge_v refers to nodes outside"):
        network_coverage_matrix([0], [7], [1.0], node_xy, [0], [1], [0.0], 100.0)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def test_validation_errors_name_the_problem() -> None:
    A, w = random_instance(0)
    with pytest.raises(InfeasibleError, match="only 9 candidate"):
        solve_mclp(A, w, p=10)
    with pytest.raises(PostPlanningError, match="radius_m"):
        coverage_matrix([[0, 0]], [[1, 1]], 0)
    with pytest.raises(PostPlanningError, match="radius_m"):
        coverage_matrix([[0, 0]], [[1, 1]], -5)
    with pytest.raises(PostPlanningError, match="no demand"):
        coverage_matrix([[0, 0]], np.zeros((0, 2)), 300)
    with pytest.raises(PostPlanningError, match="no demand"):
        solve_mclp(sp.csr_matrix((0, 4)), np.zeros(0), p=1)
    with pytest.raises(PostPlanningError, match="not among the 9 candidates"):
        solve_mclp(A, w, p=3, fixed=[12])
    with pytest.raises(InfeasibleError, match="existing posts"):
        solve_mclp(A, w, p=1, fixed=[0, 1])
    with pytest.raises(PostPlanningError, match="weights"):
        solve_mclp(A, -w, p=2)
    with pytest.raises(PostPlanningError, match="weights has 3"):
        solve_mclp(A, w[:3], p=2)
    with pytest.raises(CoordinateError, match="NaN"):
        coverage_matrix([[0, np.nan]], [[1, 1]], 300)
    with pytest.raises(CoordinateError, match=r"\(n, 2\)"):
        coverage_matrix([0, 1, 2], [[1, 1]], 300)
    with pytest.raises(PostPlanningError, match="solver"):
        solve_mclp(A, w, p=2, solver="cplex")  # type: ignore[arg-type]


def test_match_sites_maps_existing_posts_and_rejects_strangers() -> None:
    sites = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
    np.testing.assert_array_equal(match_sites([[200.2, 0.0], [0.0, 0.3]], sites, tol_m=1.0), [2, 0])
    with pytest.raises(PostPlanningError, match="not among the candidates"):
        match_sites([[150.0, 0.0]], sites, tol_m=1.0)


# ---------------------------------------------------------------------------
# solvers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_exact_equals_brute_force_and_greedy_is_bounded(seed: int) -> None:
    A, w = random_instance(seed, dup=seed % 2 == 1)
    Ad = A.toarray().astype(bool)
    for p in (1, 2, 3, 4):
        opt = brute_force(Ad, w, p)
        ex = solve_mclp_exact(A, w, p)
        gr = solve_mclp_greedy(A, w, p)
        assert ex.objective == pytest.approx(opt)
        assert ex.status == "optimal" and ex.gap <= 1e-4
        assert ex.sites.size == p and np.unique(ex.sites).size == p
        assert covered_value(A, w, ex.sites) == pytest.approx(ex.objective)
        assert np.sum(ex.marginal_gain) == pytest.approx(ex.objective)
        assert gr.objective <= opt + 1e-9
        assert gr.objective >= (1 - 1 / math.e) * opt - 1e-9
        assert gr.upper_bound >= opt - 1e-9  # the greedy bound is a real bound
        assert 0 <= gr.gap <= 1


def test_greedy_trap_and_its_upper_bound_by_hand() -> None:
    # s0 = {e0..e3}, s1 = {e0, e1, e4}, s2 = {e2, e3, e5}; unit weights; p = 2.
    # Greedy takes s0 (4) then one more (+1) = 5; the optimum is s1 + s2 = 6.
    # Bound: min over greedy states of f(S) + two largest gains = min(4+3, 4+1+1, 5+1) = 6.
    A = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1], [1, 0, 1], [0, 1, 0], [0, 0, 1]]))
    w = np.ones(6)
    g = solve_mclp_greedy(A, w, 2)
    assert g.sites.tolist() == [0, 1] and g.objective == 5.0
    assert g.upper_bound == 6.0 and g.gap == pytest.approx(1 / 6)
    np.testing.assert_allclose(g.marginal_gain, [4, 1])
    ls = solve_mclp_greedy(A, w, 2, local_search=True)
    assert ls.objective == 6.0 and sorted(ls.sites.tolist()) == [1, 2]
    ex = solve_mclp_exact(A, w, 2)
    assert ex.objective == 6.0 and ex.gap == 0.0
    curve = coverage_curve(A, w, 3)
    np.testing.assert_allclose(curve["upper_bound"], [4, 6, 6])


@pytest.mark.parametrize("seed", range(4))
def test_existing_posts_always_in_solution_and_optimal_around_them(seed: int) -> None:
    A, w = random_instance(seed + 10)
    Ad = A.toarray().astype(bool)
    fixed = (seed % 9, (seed + 4) % 9)
    for p in (2, 3, 4):
        opt = brute_force(Ad, w, p, fixed)
        for res in (solve_mclp_exact(A, w, p, fixed=list(fixed)),
                    solve_mclp_greedy(A, w, p, fixed=list(fixed)),
                    solve_mclp_greedy(A, w, p, fixed=list(fixed), local_search=True),
                    solve_mclp(A, w, p, fixed=list(fixed))):
            assert set(fixed) <= set(res.sites.tolist())
            assert res.sites[:2].tolist() == list(fixed)  # existing first, in the given order
            assert res.is_fixed.tolist() == [True, True] + [False] * (p - 2)
            assert res.sites.size == p
            assert res.objective <= opt + 1e-9
        assert solve_mclp_exact(A, w, p, fixed=list(fixed)).objective == pytest.approx(opt)
    # a boolean mask works the same way
    mask = np.zeros(9, bool)
    mask[list(fixed)] = True
    assert set(fixed) <= set(solve_mclp(A, w, 3, fixed=mask).sites.tolist())


@pytest.mark.parametrize("seed", range(5))
def test_reductions_do_not_change_the_optimum(seed: int) -> None:
    A, w = random_instance(seed + 20, n=120, m=30, radius=300.0, dup=True)
    fixed = [3] if seed % 2 else None
    red = reduce_instance(A, w, 6, fixed)
    assert red.A.shape[0] <= A.shape[0] and red.A.shape[1] < A.shape[1]  # duplicate sites dropped
    for p in (2, 4, 6):
        a = solve_mclp_exact(A, w, p, fixed=fixed, reduce=True)
        b = solve_mclp_exact(A, w, p, fixed=fixed, reduce=False)
        assert a.objective == pytest.approx(b.objective)
        assert a.status == b.status == "optimal"
    # the reduced instance's optimum plus the constant is the original optimum
    r3 = reduce_instance(A, w, 3, fixed)
    Ad = r3.A.toarray().astype(bool)
    pn = r3.p_new
    best = max(
        float(r3.weights[Ad[:, list(c)].any(axis=1)].sum())
        for c in itertools.combinations(range(Ad.shape[1]), min(pn, Ad.shape[1]))
    ) if pn else 0.0
    assert r3.constant + best == pytest.approx(solve_mclp_exact(A, w, 3, fixed=fixed, reduce=False).objective)
    # weight is conserved: merged groups + dropped-uncoverable + fixed-covered = total
    n_cov = np.asarray(A.sum(axis=1)).ravel() > 0
    assert r3.weights.sum() + r3.constant == pytest.approx(w[n_cov].sum())


def plain_highs_optimum(A: sp.csr_matrix, w: np.ndarray, p: int) -> float:
    """The textbook MCLP MILP (no reduction, no fixing) solved by HiGHS to optimality."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    n, m = A.shape
    M = sp.hstack([-A.astype(float), sp.identity(n, format="csr")], format="csr")
    cons = [LinearConstraint(M, -np.inf, 0.0),
            LinearConstraint(sp.csr_matrix(np.r_[np.ones(m), np.zeros(n)][None, :]), 0, p)]
    res = milp(np.r_[np.zeros(m), -w], constraints=cons, integrality=np.r_[np.ones(m), np.zeros(n)],
               bounds=Bounds(0, 1), options={"mip_rel_gap": 0.0})
    assert res.status == 0
    return -float(res.fun)


@pytest.mark.parametrize("seed", range(4))
def test_exact_matches_plain_highs_and_its_bound_holds(seed: int) -> None:
    # instances big enough for the Lagrangian steps, the heuristic and reduced-cost fixing to act
    A, w = random_instance(seed + 40, n=300, m=60, radius=180.0, dup=seed % 2 == 0)
    for p in (3, 8, 15):
        ref = plain_highs_optimum(A, w, p)
        ex = solve_mclp_exact(A, w, p, mip_rel_gap=0.0)
        assert ex.objective == pytest.approx(ref)
        assert ex.status == "optimal"
        assert ex.upper_bound >= ref - 1e-6 and ex.gap <= 1e-9
        assert ex.stats["bound_source"] in ("highs", "lagrangian", "greedy", "reduction")
        assert ex.stats["lagrangian_bound"] >= ref - 1e-6  # a real upper bound


@pytest.mark.parametrize("seed", range(6))
def test_swap_search_with_dirty_rows_matches_the_full_search(seed: int) -> None:
    # from a swap-optimal plan, perturbed: evaluating only exchanges near the change gives the same plan
    from geo.planning.heuristics import greedy_select, swap_improve

    rng = np.random.default_rng(seed)
    A, w = random_instance(seed + 120, n=400, m=90, radius=170.0, dup=seed % 2 == 0)
    At = A.T.tocsr()
    fixed = np.zeros(0, np.int64) if seed % 3 else np.array([1], np.int64)
    start = greedy_select(A, At, w, 12, fixed).picks
    opt, _ = swap_improve(A, At, w, fixed, start, deadline=math.inf)
    for _ in range(5):
        drop = rng.choice(opt.size, size=3, replace=False)
        refill = greedy_select(A, At, w, 3, np.r_[fixed, np.delete(opt, drop)].astype(np.int64),
                               allowed=~np.isin(np.arange(A.shape[1]), opt)).picks
        plan = np.r_[np.delete(opt, drop), refill].astype(np.int64)
        dirty = np.zeros(A.shape[0], dtype=bool)
        dirty[np.asarray(A[:, np.r_[opt[drop], refill]].sum(axis=1)).ravel() > 0] = True
        full, n_full = swap_improve(A, At, w, fixed, plan, deadline=math.inf)
        local, n_local = swap_improve(A, At, w, fixed, plan, deadline=math.inf, dirty=dirty)
        assert full.tolist() == local.tolist() and n_full == n_local


def lp_bound(A: sp.csr_matrix, w: np.ndarray, p: int) -> float:
    """The LP relaxation of the textbook MILP (HiGHS): the smallest value any Lagrangian λ can reach."""
    from scipy.optimize import linprog

    n, m = A.shape
    M = sp.vstack([sp.hstack([-A.astype(float), sp.identity(n)]),
                   sp.csr_matrix(np.r_[np.ones(m), np.zeros(n)][None, :])], format="csr")
    res = linprog(np.r_[np.zeros(m), -w], A_ub=M, b_ub=np.r_[np.zeros(n), p], bounds=(0, 1), method="highs")
    assert res.status == 0
    return -float(res.fun)


@pytest.mark.parametrize("seed", range(3))
def test_lagrangian_dual_reaches_the_lp_bound_from_above(seed: int) -> None:
    from geo.planning.bounds import lagrangian_dual

    A, w = random_instance(seed + 90, n=400, m=80, radius=180.0)
    At = A.T.tocsr()
    for p in (4, 10):
        lp = lp_bound(A, w, p)
        dual = lagrangian_dual(A, At, w, p, 0.0, iters=3000)
        # valid for its own multipliers, never below the LP bound, and close to it
        c = np.asarray(A.T @ dual.lam).ravel()
        assert (w - dual.lam).sum() + np.sort(c)[::-1][:p].sum() == pytest.approx(dual.bound)
        assert dual.bound >= lp - 1e-6 * lp
        assert dual.bound <= lp * 1.002


@pytest.mark.parametrize("seed", range(4))
def test_local_search_first_path_keeps_a_true_bound_and_highs_path_matches_plain_highs(seed: int) -> None:
    # force the path large instances take: local search first, HiGHS skipped, Lagrangian bound
    A, w = random_instance(seed + 70, n=300, m=60, radius=180.0, dup=seed % 2 == 1)
    for p in (4, 9):
        ref = plain_highs_optimum(A, w, p)
        ls = solve_mclp_exact(A, w, p, time_limit=1.0, ls_first_nnz=0, highs_root_seconds_per_nnz=1e6)
        assert ls.solver == "exact" and np.isfinite(ls.gap) and 0.0 <= ls.gap < 1.0
        assert ls.objective <= ref + 1e-9
        assert ls.objective == pytest.approx(covered_value(A, w, ls.sites))
        assert ls.upper_bound >= ref - 1e-6  # the reported bound is a real bound
        assert ls.stats["bound_source"] in ("lagrangian", "greedy")
        if ls.status == "optimal":
            assert ls.objective == pytest.approx(ref)
        # and with room for HiGHS (after the same Lagrangian steps) the optimum is proven
        ex = solve_mclp_exact(A, w, p, mip_rel_gap=0.0, ls_first_nnz=0)
        assert ex.objective == pytest.approx(ref)
        assert ex.status == "optimal" and ex.upper_bound >= ref - 1e-6


def test_lagrangian_dual_bounds_the_optimum_and_fixing_keeps_every_better_plan() -> None:
    from geo.planning.bounds import lagrangian_dual, reduced_cost_fixing

    for seed in range(6):
        A, w = random_instance(seed + 60, n=60, m=10, radius=300.0)
        Ad = A.toarray().astype(bool)
        At = A.T.tocsr()
        for p in (2, 3):
            plans = {c: float(w[Ad[:, list(c)].any(axis=1)].sum()) for c in itertools.combinations(range(10), p)}
            opt = max(plans.values())
            # a weak lower bound: the median plan
            lower = float(np.median(list(plans.values())))
            dual = lagrangian_dual(A, At, w, p, lower)
            assert dual.bound >= opt - 1e-9
            # the bound holds for the multipliers it reports
            c = np.asarray(A.T @ dual.lam).ravel()
            np.testing.assert_allclose(c, dual.site_value)
            assert (w - dual.lam).sum() + np.sort(c)[::-1][:p].sum() == pytest.approx(dual.bound)
            fix_out, fix_in = reduced_cost_fixing(dual, p, lower)
            for plan, value in plans.items():
                if value > lower + 1e-9:  # every strictly better plan respects the fixing
                    assert not fix_out[list(plan)].any()
                    assert set(np.flatnonzero(fix_in)) <= set(plan)
            # with the optimum as the lower bound, fixing leaves the optimum's value reachable
            d2 = lagrangian_dual(A, At, w, p, opt)
            out2, _ = reduced_cost_fixing(d2, p, opt - 1e-6)
            assert any(v >= opt - 1e-9 and not out2[list(c)].any() for c, v in plans.items())


def test_reduced_cost_fixing_by_hand() -> None:
    from geo.planning.bounds import LagrangianDual, reduced_cost_fixing

    # L = 100, site values 50, 40, 10, 1 and p = 2: c_(p) = 40, c_(p+1) = 10.
    dual = LagrangianDual(100.0, np.zeros(3), np.array([50.0, 40.0, 10.0, 1.0]), 1)
    out, into = reduced_cost_fixing(dual, 2, 75.0)
    # taking site 2 bounds a plan by 100 - 40 + 10 = 70 < 75; site 3: 61 < 75 -> out
    assert out.tolist() == [False, False, True, True]
    # leaving site 0 out: 100 - 50 + 10 = 60 < 75 -> in; site 1: 100 - 40 + 10 = 70 < 75 -> in
    assert into.tolist() == [True, True, False, False]
    out, into = reduced_cost_fixing(dual, 2, 65.0)
    assert out.tolist() == [False, False, False, True] and into.tolist() == [True, False, False, False]


def test_dominated_and_identical_sites_are_dropped_keeping_lowest_index() -> None:
    # site 0 covers {0,1}; site 1 covers {0} (dominated); site 2 == site 0 (identical, higher index)
    A = sp.csr_matrix(np.array([[1, 1, 1], [1, 0, 1], [0, 0, 0]]))
    red = reduce_instance(A, np.array([1.0, 2.0, 5.0]), 1)
    assert red.sites.tolist() == [0]
    assert red.A.shape == (1, 1)  # rows {0,1} merged (same covering set), row 2 uncoverable
    assert red.weights.tolist() == [3.0]
    res = solve_mclp(A, np.array([1.0, 2.0, 5.0]), 1)
    assert res.sites.tolist() == [0] and res.objective == 3.0


def test_cross_check_with_spopt_mclp() -> None:
    pulp = pytest.importorskip("pulp")
    locate = pytest.importorskip("spopt.locate")
    # one CBC run costs ~1 s (a subprocess each): three cases
    for seed, p, fixed in ((30, 3, None), (31, 5, [2, 7]), (32, 4, None)):
        A, w = random_instance(seed, n=60, m=15, radius=260.0)
        cost = np.where(A.toarray() > 0, 0.0, 1.0)  # spopt covers when cost <= radius
        pre = None
        if fixed is not None:
            pre = np.zeros(15, dtype=int)
            pre[fixed] = 1
        model = locate.MCLP.from_cost_matrix(cost, w, service_radius=0.5, p_facilities=p,
                                             predefined_facilities_arr=pre)
        model = model.solve(pulp.PULP_CBC_CMD(msg=False), results=False)
        spopt_obj = float(pulp.value(model.problem.objective))
        ours = solve_mclp_exact(A, w, p, fixed=fixed)
        assert ours.objective == pytest.approx(spopt_obj)
        chosen = np.array([j for j, v in enumerate(model.fac_vars) if v.value() > 0.5])
        assert covered_value(A, w, chosen) == pytest.approx(ours.objective)


def test_raising_p_never_lowers_the_objective_and_curve_is_monotone() -> None:
    A, w = random_instance(3, n=80, m=12, radius=280.0)
    Ad = A.toarray().astype(bool)
    objs = [solve_mclp_exact(A, w, p).objective for p in range(1, 8)]
    assert all(b >= a for a, b in zip(objs, objs[1:], strict=False))
    assert objs == pytest.approx([brute_force(Ad, w, p) for p in range(1, 8)])
    exact = coverage_curve(A, w, 7, solver="exact")
    np.testing.assert_allclose(exact["objective"], objs)
    greedy = coverage_curve(A, w, 7)
    assert greedy["p"].tolist() == list(range(1, 8))
    assert (np.diff(greedy["share"]) >= 0).all() and (np.diff(exact["share"]) >= 0).all()
    assert (greedy["upper_bound"] >= np.array(objs) - 1e-9).all()  # greedy bound bounds the optimum
    assert (greedy["objective"] <= np.array(objs) + 1e-9).all()
    np.testing.assert_allclose(greedy["marginal_share"].sum(), greedy["share"].iloc[-1])
    # the greedy curve is the greedy plan of every p
    for p in (1, 4, 7):
        assert greedy["objective"].iloc[p - 1] == pytest.approx(solve_mclp_greedy(A, w, p).objective)


def test_curve_with_existing_posts_starts_at_them() -> None:
    A, w = random_instance(5, n=80, m=12, radius=280.0)
    curve = coverage_curve(A, w, 6, fixed=[4, 9])
    assert curve["p"].tolist() == [2, 3, 4, 5, 6]
    assert curve["objective"].iloc[0] == pytest.approx(covered_value(A, w, np.array([4, 9])))


def test_posts_for_share() -> None:
    # demand 50/30/20 at three separate sites: 80 % needs 2 posts, 100 % needs 3
    A = sp.identity(3, format="csr")
    curve = coverage_curve(A, np.array([50.0, 30.0, 20.0]), 3)
    np.testing.assert_allclose(curve["share"], [0.5, 0.8, 1.0])
    assert posts_for_share(curve, 0.8) == 2
    assert posts_for_share(curve, 0.81) == 3
    with pytest.raises(InfeasibleError, match="larger p_max"):
        posts_for_share(coverage_curve(A, np.array([50.0, 30.0, 20.0]), 1), 0.8)


def test_deterministic_ties_go_to_lowest_index() -> None:
    # four identical sites: every solver picks the lowest ones
    A = sp.csr_matrix(np.ones((5, 4), dtype=np.int8))
    w = np.ones(5)
    for solve in (solve_mclp_exact, solve_mclp_greedy):
        res = solve(A, w, 1)
        assert res.sites.tolist() == [0]
    # symmetric pair of clusters: same answer every run
    A2, w2 = random_instance(7, n=60, m=9)
    runs = [solve_mclp(A2, w2, 3).sites.tolist() for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    g1 = solve_mclp_greedy(A2, w2, 4, local_search=True)
    g2 = solve_mclp_greedy(A2, w2, 4, local_search=True)
    assert g1.sites.tolist() == g2.sites.tolist()


def test_plan_pads_with_zero_gain_posts_when_demand_runs_out() -> None:
    # only two sites reach any demand; p = 4 still returns 4 distinct posts
    A = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]]))
    w = np.array([2.0, 1.0])
    for res in (solve_mclp_exact(A, w, 4), solve_mclp_greedy(A, w, 4)):
        assert res.sites.size == 4 and np.unique(res.sites).size == 4
        assert res.sites[:2].tolist() == [0, 1]
        np.testing.assert_allclose(res.marginal_gain, [2, 1, 0, 0])
        assert res.objective == 3.0 and res.coverage_share == 1.0 and res.gap == 0.0


def test_result_fields_and_frame() -> None:
    A, w = random_instance(2, n=60, m=9)
    res = solve_mclp(A, w, 3)
    assert res.solver == "exact" and res.p == 3
    assert res.total_demand == pytest.approx(w.sum())
    assert res.coverage_share == pytest.approx(res.objective / w.sum())
    assert res.covered.shape == (60,) and w[res.covered].sum() == pytest.approx(res.objective)
    reach = np.asarray(A.T @ w).ravel()
    np.testing.assert_allclose(res.site_demand, reach[res.sites])
    assert (np.diff(res.marginal_gain[: res.p]) <= 1e-9).all()  # greedy order of marginal gain
    df = res.to_frame()
    assert df["cumulative_share"].iloc[-1] == pytest.approx(res.coverage_share)
    assert res.upper_bound >= res.objective


@pytest.mark.parametrize("seed", range(4))
def test_local_search_returns_a_swap_local_optimum(seed: int) -> None:
    # brute force: no exchange of one new post for an unused candidate covers more
    A, w = random_instance(seed + 40, n=150, m=25, radius=260.0)
    fixed = [5] if seed % 2 else []
    res = solve_mclp_greedy(A, w, 6, fixed=fixed, local_search=True)
    assert res.objective >= solve_mclp_greedy(A, w, 6, fixed=fixed).objective
    # the swap search alone, from a poor start (the first candidates), also ends at a local optimum
    from geo.planning.heuristics import swap_improve

    start = np.array([j for j in range(25) if j not in fixed][: 6 - len(fixed)])
    new, swaps = swap_improve(A, A.T.tocsr(), w, np.array(fixed, dtype=np.int64), start, deadline=math.inf)
    assert swaps > 0
    for plan, value in ((res.sites.tolist(), res.objective),
                        (fixed + new.tolist(), covered_value(A, w, np.r_[fixed, new].astype(int)))):
        assert value >= covered_value(A, w, np.r_[fixed, start].astype(int))
        for pos in range(len(fixed), len(plan)):
            for j in set(range(25)) - set(plan):
                trial = np.array(plan[:pos] + [j] + plan[pos + 1:])
                assert covered_value(A, w, trial) <= value + 1e-9


def test_greedy_local_search_never_worse_and_auto_switches_to_greedy() -> None:
    rng = np.random.default_rng(11)
    sites = rng.uniform(0, 3000, (150, 2))
    demand = rng.uniform(0, 3000, (600, 2))
    A = coverage_matrix(sites, demand, 300.0)
    w = rng.integers(1, 20, 600).astype(float)
    g = solve_mclp_greedy(A, w, 12)
    ls = solve_mclp_greedy(A, w, 12, local_search=True)
    assert ls.objective >= g.objective
    assert ls.upper_bound == pytest.approx(g.upper_bound)
    auto = solve_mclp(A, w, 12, max_exact_pairs=10)
    assert auto.solver == "greedy+swap" and auto.objective == pytest.approx(ls.objective)
    ex = solve_mclp(A, w, 12)
    assert ex.solver == "exact" and ex.objective >= ls.objective - 1e-9
    # the Lagrangian bound is a real bound (>= the optimum) and tighter than the greedy one
    assert ex.objective <= auto.upper_bound + 1e-6
    assert auto.upper_bound < g.upper_bound
    assert auto.stats["lagrangian_bound"] >= ex.objective - 1e-6
    # a budget too short for HiGHS: the plan is still at least greedy and the bound still valid
    cut = solve_mclp_exact(A, w, 12, time_limit=0.05)
    assert cut.status in ("time_limit", "optimal")
    assert g.objective - 1e-9 <= cut.objective <= ex.objective + 1e-9
    assert cut.upper_bound >= ex.objective - 1e-6
    assert cut.sites.size == 12 and np.unique(cut.sites).size == 12
    assert ex.objective <= g.upper_bound + 1e-9


@pytest.mark.parametrize("fixed", [None, [4]])
def test_auto_judges_size_on_the_reduced_instance(fixed) -> None:
    """Event points repeat covering sets: 1,800 rows that merge into at most 60 are solved exactly, and
    the plan is the brute-force optimum (with an existing post too)."""
    rng = np.random.default_rng(5)
    sites = rng.uniform(0, 2000, (15, 2))
    demand = np.repeat(rng.uniform(0, 2000, (60, 2)), 30, axis=0) + rng.uniform(-1, 1, (1800, 2))
    A = coverage_matrix(sites, demand, 500.0)
    w = rng.integers(1, 9, 1800).astype(float)
    reduced_nnz = reduce_instance(A, w, 3, fixed).A.nnz
    assert reduced_nnz < A.nnz // 10
    auto = solve_mclp(A, w, 3, fixed=fixed, max_exact_pairs=reduced_nnz)
    assert auto.solver == "exact" and auto.status == "optimal"
    assert auto.stats["nnz_reduced"] == reduced_nnz
    must = set(fixed or [])
    best = max(covered_value(A, w, np.array(c)) for c in itertools.combinations(range(15), 3) if must <= set(c))
    assert auto.objective == pytest.approx(best) and must <= set(auto.sites.tolist())
    # one pair fewer allowed than the reduction needs: greedy with local search, as before
    assert solve_mclp(A, w, 3, fixed=fixed, max_exact_pairs=reduced_nnz - 1).solver == "greedy+swap"


# ---------------------------------------------------------------------------
# staffing helpers
# ---------------------------------------------------------------------------


def test_allocate_staff_largest_remainder() -> None:
    # Hamilton's method, classic example: quotas 4.5, 3.3, 2.2 -> 4+3+2 = 9, one left to the 0.5
    np.testing.assert_array_equal(allocate_staff([45, 33, 22], 10), [5, 3, 2])
    np.testing.assert_array_equal(allocate_staff([1, 1, 1], 2), [1, 1, 0])  # ties: lowest index
    np.testing.assert_array_equal(allocate_staff([0, 5, 0], 3), [0, 3, 0])
    np.testing.assert_array_equal(allocate_staff([3, 1], 0), [0, 0])
    rng = np.random.default_rng(0)
    for _ in range(50):
        s = rng.exponential(1.0, rng.integers(1, 40)) * rng.integers(0, 2, 1)[0] + rng.random() * 1e-3
        n = int(rng.integers(0, 200))
        a = allocate_staff(s, n)
        assert a.sum() == n and (a >= 0).all()
        quota = s / s.sum() * n
        assert (np.abs(a - quota) < 1).all()  # quota rule
    with pytest.raises(PostPlanningError, match="all scores are 0"):
        allocate_staff([0, 0], 3)
    with pytest.raises(PostPlanningError, match="n_staff"):
        allocate_staff([1, 2], -1)
    with pytest.raises(PostPlanningError, match="finite"):
        allocate_staff([1, np.nan], 2)


def test_split_lines_equal_pieces_cover_each_line() -> None:
    import geopandas as gpd

    lines = gpd.GeoSeries([
        shapely.LineString([(0, 0), (1200, 0)]),
        shapely.LineString([(0, 0), (300, 0), (300, 400), (1000, 400)]),  # 1400 m with bends
        shapely.MultiLineString([[(0, 0), (0, 100)], [(10, 0), (10, 600)]]),
        shapely.LineString([(5, 5), (5, 5)]),  # zero length: no segment
    ], crs="EPSG:4548")
    segs = split_lines(lines, 500)
    assert segs.crs == lines.crs
    assert segs.groupby("line").size().to_dict() == {0: 3, 1: 3, 2: 3}
    assert (segs["length_m"] <= 500 + 1e-9).all()
    np.testing.assert_allclose(segs["length_m"], segs.geometry.length)
    np.testing.assert_allclose(segs.groupby("line")["length_m"].sum().to_numpy(), [1200, 1400, 700])
    for i in range(3):
        union = shapely.union_all(segs.geometry[segs["line"] == i].to_numpy())
        assert shapely.hausdorff_distance(union, lines.iloc[i]) < 1e-6
    # consecutive pieces join end to start
    line1 = segs[segs["line"] == 1].geometry.to_numpy()
    ends = shapely.get_point(line1[:-1], -1)
    starts = shapely.get_point(line1[1:], 0)
    assert shapely.equals(ends, starts).all()
    # the bend at (300, 400) lies inside the second piece (467..933 m): kept as a vertex
    assert [300.0, 400.0] in shapely.get_coordinates(line1[1]).tolist()
    with pytest.raises(CoordinateError, match="metric CRS"):
        split_lines(lines.set_crs("EPSG:4326", allow_override=True), 500)
    with pytest.raises(PostPlanningError, match="segment_length_m"):
        split_lines(lines, 0)
    with pytest.raises(PostPlanningError, match="LineString"):
        split_lines([shapely.Point(0, 0)], 500)
    assert len(split_lines([], 500)) == 0
