"""Tests of geo.analysis.gistar: k-ring weights, Gi* against esda, inference modes, BH, bins."""

from __future__ import annotations

import warnings

import h3.api.basic_int as h3
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from geo.analysis.gistar import GiStarResult, fdr_bh, getis_ord_star, gi_bins, kring_weights

CENTRE = h3.latlng_to_cell(39.915, 116.366, 9)  # Xicheng, res 9


def disk(radius: int, seed: int | None = 0) -> np.ndarray:
    """Filled res-9 disk, shuffled so row order is not H3's order."""
    cells = np.array(h3.grid_disk(CENTRE, radius), dtype=np.int64)
    if seed is not None:
        np.random.default_rng(seed).shuffle(cells)
    return cells


def esda_zs(y: np.ndarray, w: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    import esda
    from libpysal.graph import Graph

    with warnings.catch_warnings():
        # libpysal/esda internals (e.g. pandas/numba notices) are not under test here
        warnings.simplefilter("ignore")
        lg = esda.getisord.G_Local(y, Graph.from_sparse(w), transform="B", star=True, permutations=0)
    return lg.Zs, lg.p_norm


# ----------------------------------------------------------------------------- weights


@pytest.mark.parametrize("k", [0, 1, 2])
def test_kring_weights_are_h3_grid_distance_within_the_set(k: int) -> None:
    cells = disk(4)
    w = kring_weights(cells, k=k)
    n = cells.size
    dist = np.array([[h3.grid_distance(int(a), int(b)) for b in cells] for a in cells])
    assert_array_equal(w.toarray(), (dist <= k).astype(float))
    assert w.shape == (n, n) and w.dtype == np.float64
    # boundary cells lose their outside neighbours: row sums are 7 inside, 4 or 3 on the edge (k=1)
    if k == 1:
        assert set(np.asarray(w.sum(axis=1)).ravel().astype(int)) == {4, 5, 7}  # corner, edge, inside


def test_kring_weights_row_sums_and_no_self_weight() -> None:
    cells = disk(6)
    w = kring_weights(cells, k=1)
    w0 = kring_weights(cells, k=1, self_weight=False)
    assert_array_equal(w.diagonal(), 1.0)
    assert_array_equal(w0.diagonal(), 0.0)
    assert (w - w0 - sp.identity(cells.size)).count_nonzero() == 0
    assert (w - w.T).count_nonzero() == 0
    # interior cells have 7 cells in the 1-ring (with self), the ring-6 boundary fewer
    ring6 = np.isin(cells, np.array(h3.grid_ring(CENTRE, 6), dtype=np.int64))
    rs = np.asarray(w.sum(axis=1)).ravel()
    assert np.all(rs[~ring6] == 7) and np.all(rs[ring6] < 7)


def test_kring_weights_rejects_bad_cells() -> None:
    cells = disk(2)
    with pytest.raises(ValueError, match="duplicates"):
        kring_weights(np.r_[cells, cells[:1]])
    with pytest.raises(ValueError, match="invalid H3"):
        kring_weights(np.r_[cells, np.int64(0)])
    with pytest.raises(ValueError, match="resolutions"):
        kring_weights(np.r_[cells, np.int64(h3.cell_to_parent(int(cells[0]), 8))])
    with pytest.raises(ValueError, match="k must be >= 0"):
        kring_weights(cells, k=-1)
    with pytest.raises(TypeError, match="int64 H3 ids"):
        kring_weights(cells.astype(float))
    assert kring_weights(np.array([], dtype=np.int64)).shape == (0, 0)


# ----------------------------------------------------------------------------- Gi* vs esda


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("field", ["poisson", "sparse_zeros", "few_active_cells", "normal"])
def test_gi_star_z_equals_esda_zs(k: int, field: str) -> None:
    cells = disk(9, seed=k)
    n = cells.size
    rng = np.random.default_rng(hash((k, field)) % 2**32)
    if field == "poisson":
        y = rng.poisson(5.0, n).astype(float)
    elif field == "sparse_zeros":
        y = rng.poisson(0.3, n).astype(float)  # ~74 % zeros
    elif field == "few_active_cells":
        y = np.zeros(n)  # filled area: events in 15 cells only, every other cell counts 0
        y[rng.choice(n, 15, replace=False)] = rng.integers(1, 20, 15)
    else:
        y = rng.normal(10.0, 3.0, n)
    w = kring_weights(cells, k=k)
    res = getis_ord_star(y, w, inference="analytic")
    zs, p_norm_one_sided = esda_zs(y, w)
    assert_allclose(res.z, zs, rtol=0, atol=1e-9)
    assert_allclose(res.p_value, 2 * p_norm_one_sided, rtol=0, atol=1e-12)
    # the same with weights passed to esda without the diagonal (esda then sets self weight 1)
    zs0, _ = esda_zs(y, kring_weights(cells, k=k, self_weight=False))
    assert_allclose(res.z, zs0, rtol=0, atol=1e-9)


def test_gi_star_matches_textbook_formula_for_general_weights() -> None:
    rng = np.random.default_rng(4)
    n = 40
    dense = rng.uniform(0, 1, (n, n)) * (rng.uniform(size=(n, n)) < 0.2)
    np.fill_diagonal(dense, 1.0)
    x = rng.gamma(2.0, 3.0, n)
    xbar, s = x.mean(), x.std()
    wi, w2 = dense.sum(1), (dense**2).sum(1)
    z = (dense @ x - xbar * wi) / (s * np.sqrt((n * w2 - wi**2) / (n - 1)))
    res = getis_ord_star(x, sp.csr_matrix(dense), inference="analytic")
    assert_allclose(res.z, z, rtol=1e-12)
    assert_allclose(res.local_sum, dense @ x, rtol=1e-12)
    assert_allclose(res.expected, xbar * wi, rtol=1e-12)


# ----------------------------------------------------------------------------- area share


def test_area_share_of_one_is_the_standard_statistic() -> None:
    cells = disk(8)
    w = kring_weights(cells)
    y = np.random.default_rng(1).poisson(4, cells.size)
    a = getis_ord_star(y, w, inference="analytic")
    b = getis_ord_star(y, w, area_share=np.ones(cells.size), inference="analytic")
    assert_allclose(a.z, b.z, rtol=0, atol=1e-13)


def test_area_share_formula_and_density_invariance() -> None:
    cells = disk(5)
    n = cells.size
    w = kring_weights(cells)
    rng = np.random.default_rng(7)
    a = np.where(rng.uniform(size=n) < 0.3, rng.uniform(0.1, 1.0, n), 1.0)
    c = rng.poisson(6 * a).astype(float)
    # independent dense implementation of the documented formula
    wd = w.toarray()
    big_a = a.sum()
    xbar = c.sum() / big_a
    lam = ((c - a * xbar) ** 2).sum() / (big_a - (a**2).sum() / big_a)  # CSR-unbiased rate
    wi, w2 = wd @ a, (wd**2) @ a
    z = (wd @ c - xbar * wi) / np.sqrt(lam * (big_a * w2 - wi**2) / big_a)
    res = getis_ord_star(c, w, area_share=a, inference="analytic")
    assert_allclose(res.z, z, rtol=1e-12)
    assert_allclose(res.local_sum, wd @ c, rtol=1e-12)
    # a field of constant density (counts proportional to share) has no hot spot at all
    flat = getis_ord_star(3.0 * a, w, area_share=a, inference="analytic")
    assert flat.constant and np.all(flat.z == 0) and np.all(flat.p_value == 1)


def test_area_share_variance_is_unbiased_under_csr() -> None:
    # E[sum (c - aX)^2] = lambda (A - sum a^2 / A) under the multinomial: z has variance ~1
    cells = disk(6, seed=None)
    a = np.where(np.isin(cells, np.array(h3.grid_ring(CENTRE, 6), dtype=np.int64)), 0.25, 1.0)
    w = kring_weights(cells)
    rng = np.random.default_rng(0)
    zs = np.array([getis_ord_star(rng.multinomial(int(4 * a.sum()), a / a.sum()), w, area_share=a,
                                  inference="analytic").z for _ in range(400)])
    assert abs(zs.mean()) < 0.02
    assert abs(zs.var() - 1.0) < 0.05
    assert abs(zs[:, a < 1].var() - 1.0) < 0.1  # partial cells too


def test_a_sliver_with_one_event_does_not_mask_a_hotspot() -> None:
    # a cell with 1e-6 of its area inside holding one event: as a rate (1e6 events per cell)
    # it would dominate S and flatten every z; as a count with area-scaled expectation it is
    # just one more event
    cells = disk(10, seed=None)
    n = cells.size
    rng = np.random.default_rng(5)
    a = np.ones(n)
    edge = np.flatnonzero(np.isin(cells, np.array(h3.grid_ring(CENTRE, 10), dtype=np.int64)))
    a[edge[0]] = 1e-6
    y = rng.poisson(4.0 * a)
    y[edge[0]] = 1
    hot = np.isin(cells, np.array(h3.grid_disk(CENTRE, 1), dtype=np.int64))
    y[hot] += 12
    res = getis_ord_star(y, kring_weights(cells), area_share=a, seed=0)
    assert gi_bins(res.z, res.p_value).bins[cells == CENTRE] == 3
    assert res.z[edge[0]] < 3


def test_area_share_rejects_out_of_range() -> None:
    cells = disk(2)
    w = kring_weights(cells)
    y = np.ones(cells.size)
    for bad in (0.0, 1.5, np.nan):
        a = np.ones(cells.size)
        a[3] = bad
        with pytest.raises(ValueError, match=r"area_share must lie in \(0, 1\]"):
            getis_ord_star(y, w, area_share=a)


# ----------------------------------------------------------------------------- degenerate input


@pytest.mark.parametrize("inference", ["analytic", "csr", "pooled", "permutation"])
@pytest.mark.parametrize("value", [0.0, 3.0, 0.1])
def test_constant_field_gives_zero_z_and_p_one(inference: str, value: float) -> None:
    cells = disk(4)
    w = kring_weights(cells)
    y = np.full(cells.size, value)
    if inference == "csr" and value == 0.1:
        y = np.full(cells.size, 2.0)
    res = getis_ord_star(y, w, inference=inference)
    assert isinstance(res, GiStarResult) and res.constant
    assert_array_equal(res.z, 0.0)
    assert_array_equal(res.p_value, 1.0)
    assert_array_equal(gi_bins(res.z, res.p_value).bins, 0)


def test_cell_whose_neighbourhood_is_the_whole_area_gets_z_zero() -> None:
    cells = disk(1)  # 7 cells: the centre's 1-ring is the whole area
    w = kring_weights(cells)
    y = np.array([5.0, 1, 2, 3, 4, 0, 9])
    res = getis_ord_star(y, w, inference="analytic")
    centre = int(np.flatnonzero(cells == CENTRE)[0])
    assert res.z[centre] == 0 and res.p_value[centre] == 1
    assert np.all(np.isfinite(res.z)) and np.any(res.z != 0)


def test_bad_inputs_raise_with_a_useful_message() -> None:
    cells = disk(3)
    w = kring_weights(cells)
    y = np.random.default_rng(0).poisson(3, cells.size).astype(float)
    with pytest.raises(ValueError, match="weights have shape"):
        getis_ord_star(y[:-1], w)
    with pytest.raises(ValueError, match="finite"):
        getis_ord_star(np.r_[y[:-1], np.nan], w)
    with pytest.raises(ValueError, match="inference must be one of"):
        getis_ord_star(y, w, inference="bootstrap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="integer counts"):
        getis_ord_star(y + 0.5, w, inference="csr")
    with pytest.raises(ValueError, match="assumes exchangeable cells"):
        getis_ord_star(y, w, area_share=np.full(y.size, 0.5), inference="permutation")
    with pytest.raises(TypeError, match="scipy.sparse"):
        getis_ord_star(y, [[1.0]])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- hot spots found


@pytest.mark.parametrize("inference", ["pooled", "csr", "analytic"])
def test_planted_hotspot_is_recovered_as_bin_plus_3(inference: str) -> None:
    cells = disk(15, seed=3)  # 721 cells
    rng = np.random.default_rng(11)
    y = rng.poisson(5.0, cells.size)
    hot = np.isin(cells, np.array(h3.grid_disk(CENTRE, 1), dtype=np.int64))
    y[hot] += rng.poisson(10.0, hot.sum())  # 3x the background in a 7-cell patch
    w = kring_weights(cells, k=1)
    res = getis_ord_star(y, w, inference=inference, seed=5)
    b = gi_bins(res.z, res.p_value)
    centre = cells == CENTRE
    assert b.bins[centre] == 3
    assert np.all(b.bins[hot] >= 2)
    far = ~np.isin(cells, np.array(h3.grid_disk(CENTRE, 3), dtype=np.int64))
    assert np.all(b.bins[far] <= 0)  # nothing hot away from the patch
    assert np.all(b.p_fdr >= res.p_value)


def test_planted_cold_spot_gets_negative_bins() -> None:
    cells = disk(15, seed=3)
    rng = np.random.default_rng(12)
    y = rng.poisson(20.0, cells.size)
    cold = np.isin(cells, np.array(h3.grid_disk(CENTRE, 2), dtype=np.int64))
    y[cold] = rng.poisson(2.0, cold.sum())
    res = getis_ord_star(y, kring_weights(cells), seed=1)
    assert gi_bins(res.z, res.p_value).bins[cells == CENTRE] == -3


# ----------------------------------------------------------------------------- null calibration


def test_poisson_null_maps_rarely_give_fdr_discoveries() -> None:
    """60 CSR null maps at 2 events/cell: BH at q=0.10 may flag something in <= 10 % of maps.

    The bound 12/60 is the 99.5 % quantile of Binomial(60, 0.10); analytic p-values exceed it
    at low counts (benchmarks/bench_gistar_null.py), the calibrated modes must not.
    """
    cells = disk(12, seed=None)  # 469 cells
    w = kring_weights(cells)
    hits = {"pooled": 0, "csr": 0, "analytic": 0}
    for seed in range(60):
        y = np.random.default_rng(seed).poisson(2.0, cells.size)
        for mode in hits:
            r = getis_ord_star(y, w, inference=mode, simulations=99, seed=seed)
            hits[mode] += bool(np.any(gi_bins(r.z, r.p_value).bins != 0))
    assert hits["pooled"] <= 12, hits
    assert hits["csr"] <= 12, hits
    assert hits["analytic"] > hits["pooled"], hits  # the reason for the simulated modes


def test_pooled_p_values_converge_to_analytic_on_a_continuous_field() -> None:
    # for a large, near-normal field the pooled permutation null is the normal null
    cells = disk(20)
    y = np.random.default_rng(3).normal(50.0, 5.0, cells.size)
    w = kring_weights(cells, k=2)
    a = getis_ord_star(y, w, inference="analytic")
    p = getis_ord_star(y, w, inference="pooled", simulations=400, seed=2)
    # Monte Carlo error is shared by all cells (one pooled null): a few 1e-3 at 400 maps
    assert np.corrcoef(np.log(p.p_value), np.log(a.p_value))[0, 1] > 0.999
    assert np.max(np.abs(p.p_value - a.p_value)) < 0.01
    assert_array_equal(p.z, a.z)


def test_conditional_permutation_matches_the_exact_conditional_null() -> None:
    """On 19 cells the conditional null (own value held, neighbours a random subset of the
    other 18 values) can be enumerated; the Monte Carlo p must match it.  One huge value makes
    the exclusion of the cell's own value matter (a plain permutation would reuse it)."""
    from itertools import combinations

    cells = disk(2)
    n = cells.size
    rng = np.random.default_rng(8)
    y = rng.poisson(4.0, n).astype(float)
    y[0] = 60.0
    w = kring_weights(cells, k=1)
    draws = 20_000
    res = getis_ord_star(y, w, inference="permutation", permutations=draws, seed=3, alpha=0.9)
    exact = np.empty(n)
    for i in range(n):
        nbrs = np.setdiff1d(w[i].indices, [i])
        others = np.delete(y, i)
        sums = others[np.array(list(combinations(range(n - 1), nbrs.size)))].sum(axis=1) + y[i]
        obs = y[i] + y[nbrs].sum()
        exact[i] = min(1.0, 2 * min(np.mean(sums >= obs - 1e-9), np.mean(sums <= obs + 1e-9)))
    tol = 4 * np.sqrt(exact * (2 - exact) / draws) + 3 / draws  # sd of 2 x a tail share
    assert np.all(np.abs(res.p_value - exact) <= tol), np.c_[res.p_value, exact][
        np.abs(res.p_value - exact) > tol]
    assert res.p_min == pytest.approx(2 / (draws + 1))


def test_conditional_permutation_converges_to_its_normal_approximation() -> None:
    """Large near-normal field: the conditional permutation p converges to the normal p of
    the conditional null (cell value held; k neighbours drawn without replacement from the
    other n-1 values).  It differs from the unconditional analytic p, by design."""
    cells = disk(20)  # 1,261 cells
    n = cells.size
    y = np.random.default_rng(8).normal(10.0, 2.0, n)
    w = kring_weights(cells, k=2)
    with pytest.warns(UserWarning, match="smallest attainable"):
        res = getis_ord_star(y, w, inference="permutation", permutations=2000, seed=1)
    k = np.asarray(w.sum(axis=1)).ravel() - 1
    m = (y.sum() - y) / (n - 1)
    var = ((y**2).sum() - y**2) / (n - 1) - m**2
    z_cond = (res.local_sum - y - k * m) / np.sqrt(var * k * (n - 1 - k) / (n - 2))
    p_cond = 2 * stats.norm.sf(np.abs(z_cond))
    assert np.corrcoef(res.p_value, p_cond)[0, 1] > 0.99
    assert np.median(np.abs(res.p_value - p_cond)) < 0.015
    # and it follows, without matching, the unconditional analytic p
    assert stats.spearmanr(res.p_value, res.p_norm)[0] > 0.85


def test_simulated_inference_is_reproducible_by_seed() -> None:
    cells = disk(6)
    w = kring_weights(cells)
    y = np.random.default_rng(0).poisson(3, cells.size)
    for mode in ("csr", "pooled", "permutation"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # too few permutations, on purpose
            a = getis_ord_star(y, w, inference=mode, seed=4, permutations=99, simulations=50)
            b = getis_ord_star(y, w, inference=mode, seed=4, permutations=99, simulations=50)
            c = getis_ord_star(y, w, inference=mode, seed=5, permutations=99, simulations=50)
        assert_array_equal(a.p_value, b.p_value)
        assert not np.array_equal(a.p_value, c.p_value)


def test_csr_with_area_share_is_calibrated_on_partial_cells() -> None:
    # boundary cells only partly inside: under CSR their counts are lower, not "cold spots"
    cells = disk(12, seed=None)
    ring = np.isin(cells, np.array(h3.grid_ring(CENTRE, 12), dtype=np.int64))
    a = np.where(ring, 0.3, 1.0)
    w = kring_weights(cells)
    flagged = 0
    for seed in range(20):
        y = np.random.default_rng(100 + seed).poisson(3.0 * a)
        r = getis_ord_star(y, w, area_share=a, inference="csr", simulations=99, seed=seed)
        flagged += int(np.any(gi_bins(r.z, r.p_value).bins != 0))
    assert flagged <= 5
    # ignoring the shares makes the thinned boundary look cold
    y = np.random.default_rng(1).poisson(3.0 * a)
    naive = getis_ord_star(y, w, inference="analytic")
    fair = getis_ord_star(y, w, area_share=a, inference="analytic")
    assert naive.z[ring].mean() < -1.0 < fair.z[ring].mean()


# ----------------------------------------------------------------------------- warnings


def test_warns_when_permutations_cannot_reach_the_bh_threshold() -> None:
    cells = disk(8)  # 217 cells: BH needs p <= 0.05/217 = 2.3e-4 for one discovery
    w = kring_weights(cells)
    y = np.random.default_rng(0).poisson(3, cells.size)
    with pytest.warns(UserWarning, match=r"permutations=99.*smallest attainable p-value is 0.02"):
        getis_ord_star(y, w, inference="permutation", permutations=99)
    with pytest.warns(UserWarning, match="simulations=20"):
        getis_ord_star(y, w, inference="pooled", simulations=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getis_ord_star(y, w, inference="permutation", permutations=9999)  # 2/10000 < 2.3e-4
        getis_ord_star(y, w, inference="pooled")  # pooled: 2/(217*499+1)
        getis_ord_star(y, w, inference="analytic")


# ----------------------------------------------------------------------------- BH and bins


@pytest.mark.parametrize("m", [1, 2, 10, 1000])
def test_fdr_bh_matches_scipy_and_the_step_up_definition(m: int) -> None:
    rng = np.random.default_rng(m)
    p = np.r_[rng.uniform(0, 1, m - m // 5), rng.uniform(0, 1e-3, m // 5)]
    p[: m // 10] = p[m // 10 : 2 * (m // 10)]  # ties
    rng.shuffle(p)
    res = fdr_bh(p, alpha=0.05)
    assert_allclose(res.p_adjusted, stats.false_discovery_control(p, method="bh"), rtol=1e-12)
    # step-up: reject the k smallest, k = max{k : p_(k) <= k alpha / m}
    ps = np.sort(p)
    ok = np.flatnonzero(ps <= 0.05 * np.arange(1, m + 1) / m)
    k = ok[-1] + 1 if ok.size else 0
    assert res.reject.sum() == k
    assert np.all(p[res.reject] <= (ps[k - 1] if k else -1))


def test_fdr_bh_rejects_invalid_p() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fdr_bh(np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fdr_bh(np.array([0.1, 1.2]))


def test_gi_bins_follow_arcgis_thresholds_without_fdr() -> None:
    z = np.array([3.0, 2.0, 1.7, 1.0, -1.7, -2.0, -3.0, 0.0])
    p = 2 * stats.norm.sf(np.abs(z))  # 0.0027, 0.046, 0.089, 0.32, ...
    res = gi_bins(z, p, fdr=False)
    assert res.bins.tolist() == [3, 2, 1, 0, -1, -2, -3, 0]
    assert res.bins.dtype == np.int8
    assert_array_equal(res.p_fdr, p)


def test_gi_bins_with_fdr_judge_each_level_by_bh() -> None:
    rng = np.random.default_rng(9)
    z = rng.normal(0, 2.2, 500)
    p = 2 * stats.norm.sf(np.abs(z))
    res = gi_bins(z, p, alpha_levels=(0.10, 0.01, 0.05), fdr=True)  # order does not matter
    level = sum(fdr_bh(p, a).reject.astype(int) for a in (0.01, 0.05, 0.10))
    assert_array_equal(res.bins, np.sign(z) * level)
    assert_allclose(res.p_fdr, stats.false_discovery_control(p))
    assert (res.bins != 0).sum() < (gi_bins(z, p, fdr=False).bins != 0).sum()


def test_cell_excess_test_flags_the_one_cell_spike_not_its_quiet_neighbour():
    """A compact hot spot (one cell ~6x background) is flagged in that cell by its own count."""
    import h3.api.basic_int as h3

    from geo.analysis.gistar import cell_excess_test

    rng = np.random.default_rng(8)
    centre = h3.latlng_to_cell(39.915, 116.366, 9)
    cells = np.array(sorted(h3.grid_disk(centre, 12)), dtype=np.int64)
    counts = rng.poisson(3.0, cells.size)
    spike = int(np.flatnonzero(cells == centre)[0])
    counts[spike] = 18
    neighbour = int(np.flatnonzero(cells == h3.grid_ring(centre, 1)[0])[0])
    counts[neighbour] = 9
    t = cell_excess_test(counts, alpha=0.05)
    assert t.significant[spike] and not t.significant[neighbour]
    assert t.expected[spike] == pytest.approx(counts.sum() / cells.size)
    from scipy import stats
    assert t.p_value[spike] == pytest.approx(stats.poisson.sf(17, counts.sum() / cells.size))


def test_cell_excess_test_holds_fdr_on_null_maps():
    """Poisson null maps (no hot spot): maps with any discovery at q <= 0.10 stay near or below 0.10."""
    from geo.analysis.gistar import cell_excess_test

    rng = np.random.default_rng(0)
    share = np.ones(1500)
    share[:100] = rng.uniform(0.2, 1.0, 100)  # partial boundary cells: mean proportional to the share
    for mean in (1.0, 5.0):
        any_hit = np.mean([cell_excess_test(rng.poisson(mean * share), share, alpha=0.10).significant.any()
                           for _ in range(150)])
        assert any_hit <= 0.16, (mean, any_hit)  # nominal 0.10, binomial noise ±0.025 at 150 maps
