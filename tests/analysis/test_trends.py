"""Emerging hot spots: Mann-Kendall, space-time weights, the cube and each ArcGIS class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from geo.analysis.trends import CLASSES, build_cube, classify_emerging, mann_kendall, spacetime_weights
from geo.settings import Settings

T = 20
UP = np.linspace(-1, 1, T) + 3.0  # increasing z: a significant upward trend
FLAT = 3.0 + 0.2 * np.tile([1.0, -1.0], T // 2)  # no trend


def _row(bins, z=None):
    bins = np.asarray(bins)
    if z is None:
        z = np.where(bins != 0, 3.0 * np.sign(bins), 0.0) + 0.01 * np.tile([1.0, -1.0], T // 2)
    return np.asarray(z, dtype=float), bins


def _series():
    """One hand-made (z, bins) series per class."""
    h, c, o = 1, -1, 0
    out = {}
    out["new hot spot"] = _row([o] * (T - 1) + [h])
    out["consecutive hot spot"] = _row([o] * (T - 3) + [h] * 3)
    out["intensifying hot spot"] = _row([h] * T, UP)
    out["persistent hot spot"] = _row([h] * T, FLAT)
    out["diminishing hot spot"] = _row([h] * T, UP[::-1])
    out["sporadic hot spot"] = _row([o, h] * (T // 2 - 1) + [o, h])
    out["oscillating hot spot"] = _row([c, o] * (T // 2 - 1) + [o, h])
    out["historical hot spot"] = _row([h] * (T - 1) + [o])
    for name, (z, b) in list(out.items()):
        cold = name.replace("hot", "cold")
        out[cold] = (-z, -b)
    out["no pattern"] = _row([o] * T)
    return out


def test_each_class_from_a_series_built_for_it():
    series = _series()
    names = list(series)
    z = np.vstack([series[n][0] for n in names])
    b = np.vstack([series[n][1] for n in names])
    got = classify_emerging(z, b)
    assert got["pattern"].tolist() == names
    assert set(names) == set(CLASSES) - {"too few slices"}


def test_consecutive_needs_no_earlier_hot_and_oscillating_needs_cold():
    b1 = np.array([1] + [0] * (T - 4) + [1, 1, 1])  # hot once before the final run: sporadic
    b2 = np.array([-1] + [0] * (T - 4) + [1, 1, 1])  # cold before the final run: oscillating
    got = classify_emerging(np.vstack([_row(b1)[0], _row(b2)[0]]), np.vstack([b1, b2]))
    assert got["pattern"].tolist() == ["sporadic hot spot", "oscillating hot spot"]


def test_too_few_slices_reported():
    z, b = _row([1] * T, UP)
    z_short = z.copy()
    z_short[:12] = np.nan  # only 8 slices with data
    got = classify_emerging(np.vstack([z, z_short]), np.vstack([b, b]), min_slices=10)
    assert got["pattern"].tolist() == ["intensifying hot spot", "too few slices"]
    assert got["n_slices"].tolist() == [T, 8]


def test_mann_kendall_matches_kendall_tau_b_with_ties():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, size=(30, 15)).astype(float)  # many ties
    x[:5] += np.arange(15)  # some trending rows
    s, var, z, p = mann_kendall(x, continuity=False)
    t = np.arange(15)
    for row, _zi, pi, si in zip(x, z, p, s, strict=True):
        ref = stats.kendalltau(t, row, method="asymptotic")
        assert pi == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)
        assert si == sum(np.sign(row[j] - row[i]) for i in range(15) for j in range(i + 1, 15))
    # continuity correction pulls z towards 0 by 1/sd
    _, _, zc, _ = mann_kendall(x)
    nz = s != 0
    assert np.allclose(np.abs(zc[nz]), (np.abs(s[nz]) - 1) / np.sqrt(var[nz]))


def test_spacetime_weights_hold_same_slice_and_previous_slice():
    w = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=float)
    st = spacetime_weights(w, n_slices=3, time_step=1).toarray()
    assert st.shape == (9, 9)
    # bin (cell 0, slice 2) = row 6: cells 0,1 in slices 1 and 2
    assert np.flatnonzero(st[6]).tolist() == [3, 4, 6, 7]
    # the first slice has no previous slice
    assert np.flatnonzero(st[0]).tolist() == [0, 1]


def test_build_cube_aligns_slices_to_the_end_and_counts():
    from geo.grid import h3cells
    from tests.conftest import make_events

    s = Settings()
    times = ["2024-03-01 10:00", "2024-03-04 10:00", "2024-03-10 23:00", "2024-03-11 08:00", "2024-03-17 12:00"]
    ev = make_events([116.37] * 5, [39.90] * 5, times, settings=s)
    cell = int(ev["h3_small"].iloc[0])
    other = int(h3cells.cells_for_points(np.array([116.40]), np.array([39.91]), 9)[0])
    cells = pd.DataFrame({"cell": [other, cell], "area_share": [1.0, 1.0]})
    cube = build_cube(ev, cells, "small", s, period_days=7)
    # span 03-01 … 03-17 = 17 days: 2 weeks ending 03-17, first one starts 03-04
    assert [d.isoformat() for d in cube.starts] == ["2024-03-04", "2024-03-11"]
    assert cube.counts.tolist() == [[0, 0], [2, 2]]
    assert cube.dropped == 1


def test_spacetime_gi_equals_gistar_on_the_kron_weights():
    """The kron-free space-time Gi* gives the z of getis_ord_star on L ⊗ W (area shares, time lags)."""
    import h3.api.basic_int as h3

    from geo.analysis.gistar import getis_ord_star, gi_bins, kring_weights
    from geo.analysis.trends import Cube, spacetime_gi

    rng = np.random.default_rng(3)
    cells = np.array(sorted(h3.grid_disk(h3.latlng_to_cell(39.91, 116.37, 9), 4)), dtype=np.int64)
    n, t = cells.size, 12
    counts = rng.poisson(1.5, (n, t))
    counts[:3, 6:] += 9
    share = rng.uniform(0.3, 1.0, n)
    cube = Cube(cells=cells, counts=counts, starts=list(range(t)), period_days=7, area_share=share)
    for ts in (0, 1, 2):
        z, p, bins = spacetime_gi(cube, k=1, time_step=ts)
        ref = getis_ord_star(counts.T.ravel().astype(float), spacetime_weights(kring_weights(cells, 1), t, ts),
                             area_share=np.tile(share, t), inference="analytic")
        np.testing.assert_allclose(z, ref.z.reshape(t, n).T, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(p, ref.p_value.reshape(t, n).T, rtol=1e-9, atol=1e-12)
        ref_bins = gi_bins(ref.z, ref.p_value, alpha_levels=(0.10,), fdr=True).bins.reshape(t, n).T
        np.testing.assert_array_equal(bins, ref_bins)
        assert (bins[:3, 8:] > 0).sum() >= 6  # the boosted cells are hot late in the series


def test_mann_kendall_lag_loop_equals_pairwise_sum_with_nan():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(40, 30)).round(1)
    x[rng.random(x.shape) < 0.1] = np.nan
    s, _, _, _ = mann_kendall(x)
    i, j = np.triu_indices(30, 1)
    ref = np.nansum(np.sign(x[:, j] - x[:, i]), axis=1)
    np.testing.assert_array_equal(s, ref)


def test_classify_in_blocks_equals_one_block(monkeypatch):
    import geo.analysis.trends as tr

    rng = np.random.default_rng(5)
    z = rng.normal(0, 2, (300, 15))
    bins = np.sign(z) * (np.abs(z) > 2)
    whole = classify_emerging(z, bins)
    monkeypatch.setattr(tr, "CLASSIFY_BLOCK_CELLS", 7)
    pd.testing.assert_frame_equal(classify_emerging(z, bins), whole)
