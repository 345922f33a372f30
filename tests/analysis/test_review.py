"""回头看 and the problem list: planted campaign effect, placebo, overdue and 销号 rules."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.analysis.review import campaign_review, did_ratio, hot_cell_problems, work_orders
from geo.settings import Settings
from tests.conftest import make_events


def _campaign_events(ws, effect=-0.4, seed=0):
    rng = np.random.default_rng(seed)
    n = 9000
    lon = rng.uniform(116.361, 116.404, n)
    lat = rng.uniform(39.891, 39.919, n)
    day = rng.integers(0, 140, n)  # 2024-03-04 … 2024-07-21 (20 weeks)
    t = pd.Timestamp("2024-03-04") + pd.to_timedelta(day, unit="D") + pd.to_timedelta(rng.integers(0, 86400, n), unit="s")
    area = shapely.box(116.361, 39.891, 116.375, 39.905)
    inside = shapely.contains_xy(area, lon, lat)
    after = t >= pd.Timestamp("2024-05-27")
    keep = ~(inside & after) | (rng.random(n) < 1 + effect)
    ev = make_events(lon[keep], lat[keep], t[keep].strftime("%Y-%m-%d %H:%M:%S"), settings=ws.settings)
    return ev, area


def test_planted_campaign_effect_within_interval_and_placebo_covers_zero(box_workspace):
    ev, area = _campaign_events(box_workspace)
    res = campaign_review(box_workspace, ev, date(2024, 5, 27), date(2024, 7, 21), polygon=area, n_boot=1000)
    s = res.summary
    assert s["ci_low"] < -0.4 < s["ci_high"]
    assert s["welch_ci_low"] < -0.4 < s["welch_ci_high"]
    assert s["ci_high"] < 0  # the effect is detected
    assert s["weeks_before"] == 12 and s["weeks_after"] == 8
    placebo = campaign_review(box_workspace, ev, date(2024, 4, 15), date(2024, 5, 26), polygon=area, n_boot=1000)
    assert placebo.summary["ci_low"] < 0 < placebo.summary["ci_high"]
    assert placebo.summary["welch_ci_low"] < 0 < placebo.summary["welch_ci_high"]


def test_did_ratio_known_answer_and_needs_weeks():
    inside = np.array([10, 10, 10, 6, 6, 6])
    comparison = np.array([100, 100, 100, 100, 100, 100])
    after = np.array([False, False, False, True, True, True])
    r = did_ratio(inside, comparison, after, n_boot=200)
    assert r["change"] == pytest.approx(-0.4)
    assert r["ci_low"] == pytest.approx(-0.4) and r["ci_high"] == pytest.approx(-0.4)  # no weekly noise
    with pytest.raises(ValueError, match="at least 2 complete weeks"):
        did_ratio(inside[:3], comparison[:3], after[:3])


def test_work_orders_overdue_and_closed_late():
    s = Settings()  # overdue after 7 days
    ev = make_events([116.37] * 3, [39.9] * 3, ["2024-05-01 10:00", "2024-05-09 10:00", "2024-05-01 10:00"],
                     source="hotline", settings=s)
    ev["is_closed"] = [False, False, True]
    ev["closed_at"] = pd.to_datetime([None, None, "2024-05-12 10:00"]).tz_localize("Asia/Shanghai").tz_convert("UTC")
    as_of = pd.Timestamp("2024-05-11 10:00", tz="Asia/Shanghai")
    wo = work_orders(ev, s, as_of=as_of)
    assert wo["age_days"].tolist() == [10.0, 2.0, 11.0]
    assert wo["overdue"].tolist() == [True, False, False]
    assert wo["closed_late"].tolist() == [False, False, True]
    assert wo["cleared"].tolist() == [False, False, True]


def test_hot_cell_cleared_after_cool_weeks():
    bins = np.array([[1, 1, 0, 0, 0, 0],   # cool 4 weeks: 销号
                     [0, 1, 0, 0, 1, 0],   # cool 1 week: cooling
                     [0, 0, 0, 0, 0, 1],   # hot now
                     [0, 0, -1, 0, 0, 0]])  # never hot: not a problem
    cells = np.array([617866866130419711, 617866866118098943, 617866865568382975, 617866866156371967])
    got = hot_cell_problems(bins, cells, [date(2024, 3, 4 + 7 * i) if i < 4 else date(2024, 4, 1 + 7 * (i - 4))
                                          for i in range(6)], cool_weeks=4)
    assert got["status"].tolist() == ["cleared", "cooling", "hot"]
    assert got["weeks_cool"].tolist() == [4, 1, 0]
    assert got["cleared"].tolist() == [True, False, False]
