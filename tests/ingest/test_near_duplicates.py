"""near_duplicate_mask against a plain double loop over every pair within the lag window."""

import numpy as np
import pandas as pd
import pytest

from geo.ingest.pipeline import near_duplicate_mask


def _reference(source, category, t, x, y, metres, seconds, lags=8):
    """Sort by (source, category, time); a row is a near duplicate if one of its previous ``lags`` rows
    has the same source and category, is at most ``seconds`` earlier and at most ``metres`` away."""
    ts = t.astype("int64").to_numpy() / 1e6
    order = sorted(range(len(t)), key=lambda i: (source.iloc[i], category.iloc[i], ts[i], i))
    out = np.zeros(len(t), dtype=bool)
    for pos, i in enumerate(order):
        for j in order[max(0, pos - lags):pos]:
            if (source.iloc[i], category.iloc[i]) == (source.iloc[j], category.iloc[j]) \
                    and ts[i] - ts[j] <= seconds and np.hypot(x[i] - x[j], y[i] - y[j]) <= metres:
                out[i] = True
    return out


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_pairwise_reference(seed):
    rng = np.random.default_rng(seed)
    n = 400
    source = pd.Series(rng.choice(["patrol", "hotline"], n), dtype="string")
    category = pd.Series(rng.choice(["a", "b", "c"], n), dtype="string")
    # bursts: many events within two minutes and a few metres, so several lags matter
    base = pd.Timestamp("2024-05-01", tz="UTC")
    t = pd.Series(base + pd.to_timedelta(np.sort(rng.integers(0, 3600, n)), "s")).astype("datetime64[us, UTC]")
    x, y = rng.uniform(0, 60, n), rng.uniform(0, 60, n)
    got = near_duplicate_mask(source, category, t, x, y, 20.0, 120.0)
    want = _reference(source, category, t, x, y, 20.0, 120.0)
    assert want.sum() > 20  # the case exercises the rule
    assert (got == want).all()
