import numpy as np
import pandas as pd
import pytest

from geo.analysis.filters import EventFilter
from geo.planning.mclp import PostPlanningError
from geo.planning.posts import deployment_table, plan_posts
from tests.conftest import make_events


def _events(seed=0):
    rng = np.random.default_rng(seed)
    spots = [(116.370, 39.900, 200), (116.395, 39.912, 120)]
    lon = [rng.uniform(116.361, 116.404, 300)]
    lat = [rng.uniform(39.891, 39.919, 300)]
    for x, y, n in spots:
        lon.append(x + rng.normal(0, 0.0004, n))
        lat.append(y + rng.normal(0, 0.0003, n))
    lon, lat = np.concatenate(lon), np.concatenate(lat)
    times = pd.Timestamp("2024-03-04 07:30") + pd.to_timedelta(rng.integers(0, 20, len(lon)), "D")
    return make_events(lon, lat, times, category="red_light")


def test_posts_go_to_the_planted_spots_with_cell_centre_fallback(box_workspace):
    plan = plan_posts(box_workspace, _events(), EventFilter(window="morning_peak"), p=2, radius_m=300)
    assert plan.summary["candidate_source"] == "cell_centres"
    assert plan.summary["p"] == 2
    lon, lat = plan.posts["lon"].to_numpy(), plan.posts["lat"].to_numpy()
    for x, y in [(116.370, 39.900), (116.395, 39.912)]:
        d = np.hypot((lon - x) * 85_000, (lat - y) * 111_000)
        assert d.min() < 300
    assert 0 < plan.summary["coverage"] <= 1
    assert plan.summary["coverage"] == pytest.approx(plan.summary["objective"] / plan.summary["total_demand"])
    curve = plan.curve
    assert (np.diff(curve["share"].to_numpy()) >= -1e-12).all()
    table = deployment_table(plan, "zh")
    assert "岗位位置" in table.columns and "经度(GCJ-02/高德)" in table.columns


def test_existing_posts_stay_and_bad_input_is_refused(box_workspace):
    events = _events()
    existing = pd.DataFrame({"lon": [116.39], "lat": [39.895], "name": ["老岗"]})
    with pytest.warns(UserWarning, match="not at a candidate site"):
        plan = plan_posts(box_workspace, events, EventFilter(window="morning_peak"), p=3, existing=existing)
    assert plan.posts["existing"].sum() == 1
    assert plan.posts.loc[plan.posts["existing"], "name"].item() == "老岗"
    with pytest.raises(PostPlanningError, match="radius"):
        plan_posts(box_workspace, events, EventFilter(), p=2, radius_m=0)
    with pytest.raises(PostPlanningError, match="no events in the window"):
        plan_posts(box_workspace, events, EventFilter(window="evening_peak"), p=2)
    with pytest.raises(PostPlanningError, match="candidate sites"):
        plan_posts(box_workspace, events, EventFilter(), p=100_000)
