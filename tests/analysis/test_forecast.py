"""Next-week forecast: metrics, no look-ahead in the backtest, models side by side."""

from __future__ import annotations

import h3.api.basic_int as h3
import numpy as np
import pytest

from geo.analysis.forecast import BASELINES, LEARNED, History, backtest, features_at, hit_rate_pai, predict
from geo.analysis.gistar import kring_weights


def _history(t: int = 18, seed: int = 0) -> History:
    rng = np.random.default_rng(seed)
    cells = np.array(sorted(h3.grid_disk(h3.latlng_to_cell(39.91, 116.37, 9), 6)), dtype=np.int64)
    n = cells.size
    rate = rng.lognormal(0.0, 1.0, n)
    rate[:5] *= np.linspace(1, 4, t)[None, :].mean()  # a few strong cells
    trend = np.linspace(0.7, 1.3, t)[None, :]
    counts = rng.poisson(rate[:, None] * trend)
    night = rng.binomial(counts, 0.3)
    weekend = rng.binomial(counts, 0.25)
    src = np.stack([rng.multinomial(c, [0.4, 0.3, 0.2, 0.1]) for c in counts.ravel()]).reshape(n, t, 4)
    stack = np.concatenate([np.stack([counts, night, weekend]), np.moveaxis(src, 2, 0)]).astype(float)
    return History(cells=cells, stack=stack, names=("count", "night", "weekend", "s1", "s2", "s3", "s4"),
                   neighbours=kring_weights(cells, 1, self_weight=False), area_share=np.ones(n),
                   area_km2=np.full(n, 0.1), starts=list(range(t)))


def test_hit_rate_and_pai_known_answer():
    forecast = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    actual = np.array([2.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    area = np.ones(10)
    got = hit_rate_pai(forecast, actual, area, (0.1, 0.3))
    assert got["hit_10%"] == pytest.approx(0.5)  # top cell holds 2 of 4 events
    assert got["pai_10%"] == pytest.approx(5.0)
    assert got["hit_30%"] == pytest.approx(0.75)
    assert got["pai_30%"] == pytest.approx(2.5)


def test_features_use_only_earlier_weeks():
    h = _history()
    s = 10
    poisoned = h.upto(h.counts.shape[1] - 1)
    poisoned.stack[:, :, s:] = 1e6
    assert np.array_equal(features_at(h, s), features_at(poisoned, s))


def test_backtest_never_uses_future_data():
    h = _history()
    t = h.counts.shape[1]
    bt = backtest(h, folds=3, seed=1)
    # every fit's newest training target precedes the week it forecasts
    assert bt.audit and all(a["newest_training_target"] < a["target"] for a in bt.audit)
    # changing the weeks after the first fold's target leaves that fold's results unchanged
    first_target = t - 3
    altered = h.upto(t - 1)
    altered.stack[:, :, first_target + 1:] = np.random.default_rng(9).poisson(50, altered.stack[:, :, first_target + 1:].shape)
    bt2 = backtest(altered, folds=3, seed=1)
    f1 = bt.folds[bt.folds["target_week"] == str(first_target)].reset_index(drop=True)
    f2 = bt2.folds[bt2.folds["target_week"] == str(first_target)].reset_index(drop=True)
    assert len(f1) == len(BASELINES) - 1 + len(LEARNED)
    assert f1.equals(f2)
    # while a later fold does change
    last = str(t - 1)
    assert not bt.folds[bt.folds["target_week"] == last]["mae"].reset_index(drop=True).equals(
        bt2.folds[bt2.folds["target_week"] == last]["mae"].reset_index(drop=True))


def test_backtest_table_reports_pai_beside_baselines_and_default_rule():
    h = _history(seed=2)
    bt = backtest(h, folds=3, seed=0)
    table = bt.table.set_index("model")
    assert set(table.index) == {"last_week", "mean_4w", "history_mean", "hgb_poisson", "poisson_glm"}
    for col in ("hit_1%", "hit_5%", "hit_10%", "pai_1%", "pai_5%", "pai_10%", "mae"):
        assert table[col].notna().all()
    # the default wins on PAI 5 % among eligible models; a flagged learned model is never the default
    assert table.loc[bt.default, "pai_5%"] == table.loc[table["eligible"], "pai_5%"].max()
    best_mae = table.loc[table["kind"] == "baseline", "mae"].min()
    for m in LEARNED:
        assert (table.loc[m, "flag"] != "") == (table.loc[m, "mae"] > best_mae or
                                                not bt.folds[bt.folds["model"] == m]["plausible"].all())
    assert (table.loc[table["flag"] != ""].index != bt.default).all()
    assert table["default"].sum() == 1


def test_baselines_known_values():
    h = _history(t=8)
    c = h.counts
    assert np.array_equal(predict(h, "last_week"), c[:, -1])
    assert np.allclose(predict(h, "mean_4w"), c[:, -4:].mean(axis=1))
    assert np.allclose(predict(h, "history_mean"), c.mean(axis=1))
    with pytest.raises(ValueError, match="52 weeks"):
        predict(h, "seasonal")


def test_learned_model_with_absurd_forecasts_is_flagged_and_never_default(monkeypatch):
    """A learned model that blows up (MAE 1e50, totals far from recent weeks) is flagged, a baseline wins."""
    import geo.analysis.forecast as fc

    real = fc.fit_predict

    def exploding(h, name, *, seed=0):
        pred, newest = real(h, name, seed=seed)
        return (pred * 1e50, newest) if name == "poisson_glm" else (pred, newest)

    monkeypatch.setattr(fc, "fit_predict", exploding)
    bt = backtest(_history(seed=2), folds=3, seed=0)
    table = bt.table.set_index("model")
    assert "worse than the best baseline" in table.loc["poisson_glm", "flag"]
    assert "implausible" in table.loc["poisson_glm", "flag"]
    assert bt.default != "poisson_glm" and not table.loc["poisson_glm", "eligible"]
    wm = fc.winner_margin(bt)
    assert wm["winner"] == bt.default and wm["margin_pai_5"] >= 0


def test_plausible_total_bounds():
    from geo.analysis.forecast import plausible_total

    recent = np.array([100.0, 110.0, 90.0, 100.0])
    assert plausible_total(np.full(10, 10.0), recent)
    assert not plausible_total(np.full(10, 100.0), recent)  # 1000 vs ~100
    assert not plausible_total(np.array([np.inf, 1.0]), recent)
    assert plausible_total(np.array([3.0]), np.zeros(4))  # near-empty weeks judged against the floor
