"""Patrol coverage gaps: known shortfalls on a hand-made workspace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.analysis.gaps import coverage_gaps, gap_metrics
from tests.conftest import make_events


def test_gap_metrics_known_answer():
    demand = np.array([[6.0], [2.0], [2.0]])
    patrol = np.array([[0.0], [5.0], [5.0]])
    m = gap_metrics(demand, patrol)
    # 10 patrol reports spread 6:2:2 would give 6, 2, 2
    assert np.allclose(m["expected"].ravel(), [6.0, 2.0, 2.0])
    assert np.allclose(m["shortfall"].ravel(), [6.0, -3.0, -3.0])
    assert np.allclose(m["coverage"].ravel(), [1 / 7, 2.0, 2.0])


def test_under_patrolled_cell_ranks_first_in_its_window(box_workspace):
    ws = box_workspace
    # cell A: 20 night violations, no patrol; cell B: 5 night violations and 25 night patrols
    a, b = (116.37, 39.90), (116.39, 39.91)
    lon = [a[0]] * 20 + [b[0]] * 30
    lat = [a[1]] * 20 + [b[1]] * 30
    times = ["2024-05-06 23:00"] * 50
    sources = ["violation"] * 20 + ["violation"] * 5 + ["patrol"] * 25
    ev = make_events(lon, lat, times, source=sources, settings=ws.settings)
    res = coverage_gaps(ws, ev, windows=("night", "day"))
    top = res.cells.iloc[0]
    assert top["cell"] == ev["h3_small"].iloc[0]
    assert top["worst_window"] == "night"
    # night: 25 patrols split 20:5 → A expects 20, has 0
    assert top["max_shortfall"] == pytest.approx(20.0)
    assert top["demand"] == 20 and top["patrol"] == 0
    assert top["gap_windows"] == "night"
    assert res.summary["demand"] == 25 and res.summary["patrol"] == 25


def test_tracks_count_as_patrol(box_workspace):
    ws = box_workspace
    a = (116.37, 39.90)
    ev = make_events([a[0]] * 10 + [116.39] * 10, [a[1]] * 10 + [39.91] * 10, ["2024-05-06 23:00"] * 20,
                     source=["violation"] * 10 + ["patrol"] * 10, settings=ws.settings)
    tracks = pd.DataFrame({"lon": [a[0]] * 40, "lat": [a[1]] * 40,
                           "occurred_at": pd.Timestamp("2024-05-06 23:30", tz="Asia/Shanghai")})
    without = coverage_gaps(ws, ev, windows=("night",)).cells.set_index("cell")
    with_tracks = coverage_gaps(ws, ev, windows=("night",), tracks=tracks, track_weight=0.25).cells.set_index("cell")
    c = ev["h3_small"].iloc[0]
    assert without.loc[c, "max_shortfall"] == pytest.approx(10.0)
    # 40 points × 0.25 = 10 reports in A; total 20 all expected in A → shortfall 10
    assert with_tracks.loc[c, "worst_window_patrol"] == pytest.approx(10.0)
    assert with_tracks.loc[c, "max_shortfall"] == pytest.approx(10.0)
    assert with_tracks.loc[c, "worst_window_coverage"] == pytest.approx(11 / 21)


def test_no_patrol_in_a_window_is_unknown_not_covered():
    from geo.analysis.gaps import gap_metrics

    demand = np.array([[5.0, 3.0], [1.0, 0.0]])
    patrol = np.array([[0.0, 2.0], [0.0, 1.0]])  # window 0 has no patrol data at all
    m = gap_metrics(demand, patrol)
    assert np.isnan(m["coverage"][:, 0]).all() and np.isnan(m["shortfall"][:, 0]).all()
    assert m["coverage"][0, 1] == pytest.approx((2 + 1) / (3 + 1))
