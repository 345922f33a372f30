import numpy as np
import pandas as pd
import pytest

from geo.analysis.filters import EventFilter
from geo.analysis.hotcells import HOTSPOT_COLUMNS, demand_cells, hotspot_cells, hotspot_zones
from geo.grid import h3cells
from tests.conftest import make_events


def _field(seed=0, n_background=3000, planted=((116.375, 39.905, 300),), hour=8):
    rng = np.random.default_rng(seed)
    lon = [rng.uniform(116.361, 116.404, n_background)]
    lat = [rng.uniform(39.891, 39.919, n_background)]
    for clon, clat, n in planted:
        lon.append(clon + rng.normal(0, 0.0008, n))
        lat.append(clat + rng.normal(0, 0.0006, n))
    lon, lat = np.concatenate(lon), np.concatenate(lat)
    days = rng.integers(0, 60, len(lon))
    hours = np.where(np.arange(len(lon)) >= n_background, hour, rng.integers(0, 24, len(lon)))
    times = pd.Timestamp("2024-03-04") + pd.to_timedelta(days, "D") + pd.to_timedelta(hours, "h") \
        + pd.to_timedelta(rng.integers(0, 60, len(lon)), "min")
    return lon, lat, times


def test_planted_hotspot_is_found_hot_with_zeros_kept(box_workspace):
    lon, lat, times = _field()
    events = make_events(lon, lat, times)
    res = hotspot_cells(box_workspace, events, EventFilter(), tier="small")
    cells = res.cells
    assert (cells["count"] == 0).any()  # filled area: empty cells are rows
    assert cells["count"].sum() == len(events) - res.summary["events_outside_cells"]
    centre = h3cells.cells_for_points([116.375], [39.905], 9)[0]
    assert cells.loc[cells["cell"] == centre, "bin"].item() == 3
    assert res.summary["hot"]["3"] >= 1
    far = h3cells.cells_for_points([116.40], [39.918], 9)[0]
    assert cells.loc[cells["cell"] == far, "bin"].item() <= 0


def test_window_filter_changes_the_answer(box_workspace):
    lon, lat, times = _field(hour=8)
    events = make_events(lon, lat, times)
    centre = h3cells.cells_for_points([116.375], [39.905], 9)[0]
    morning = hotspot_cells(box_workspace, events, EventFilter(window="morning_peak")).cells
    evening = hotspot_cells(box_workspace, events, EventFilter(window="evening_peak")).cells
    assert morning.loc[morning["cell"] == centre, "bin"].item() == 3
    assert evening.loc[evening["cell"] == centre, "bin"].item() < 3
    # per_day uses the days on which the window applies (weekdays only for peaks)
    assert morning["per_day"].sum() * 1 == pytest.approx(morning["count"].sum() / 44, rel=0.05)


def test_demand_cells_are_the_hotspot_counts_without_the_statistics(box_workspace):
    """The planner's demand layer: the same cells, counts, densities and grids as the Gi* table, no Gi*."""
    lon, lat, times = _field(hour=8)
    events = make_events(lon, lat, times)
    for flt, tier in ((EventFilter(), "small"), (EventFilter(window="morning_peak"), "middle")):
        full = hotspot_cells(box_workspace, events, flt, tier=tier).cells
        demand = demand_cells(box_workspace, events, flt, tier=tier)
        assert list(full.columns) == HOTSPOT_COLUMNS
        assert not {"gi_z", "bin", "p_value"} & set(demand.columns)
        shared = [c for c in demand.columns if c != "geometry"]
        pd.testing.assert_frame_equal(pd.DataFrame(demand[shared]), pd.DataFrame(full[shared]))
        assert demand.geometry.geom_equals(full.geometry).all()
    # counted by hand: the morning peak's events per middle cell
    morning = events[(events["occurred_at"].dt.tz_convert("Asia/Shanghai").dt.hour.isin([7, 8]))
                     & (events["occurred_at"].dt.tz_convert("Asia/Shanghai").dt.dayofweek < 5)]
    by_hand = morning.groupby("h3_middle").size()
    got = demand.set_index("cell")["count"]
    inside = by_hand[by_hand.index.isin(got.index)]
    assert (got.reindex(inside.index) == inside).all() and got.sum() == inside.sum()


def test_zones_in_metres_keep_two_clusters_500m_apart(box_workspace):
    rng = np.random.default_rng(1)
    # two tight clusters ~500 m apart east-west (0.00585° lon ≈ 500 m at 39.9°N)
    lon = np.concatenate([116.375 + rng.normal(0, 0.0002, 80), 116.38085 + rng.normal(0, 0.0002, 80),
                          rng.uniform(116.361, 116.404, 200)])
    lat = np.concatenate([39.905 + rng.normal(0, 0.00015, 80), 39.905 + rng.normal(0, 0.00015, 80),
                          rng.uniform(39.891, 39.919, 200)])
    times = pd.Timestamp("2024-03-05 08:10") + pd.to_timedelta(rng.integers(0, 600, len(lon)), "min")
    events = make_events(lon, lat, times)
    zones = hotspot_zones(box_workspace, events, EventFilter(), eps_m=100, min_samples=10)
    assert len(zones) == 2
    assert sorted(zones["events"].tolist()) == [80, 80] or min(zones["events"]) >= 75
    assert zones["area_km2"].max() < 0.1
    # eps of 700 m merges them
    merged = hotspot_zones(box_workspace, events, EventFilter(), eps_m=700, min_samples=10)
    assert merged["events"].max() >= 160


def test_default_zone_density_scales_with_the_events(box_workspace):
    # a dense uniform background must not melt into one zone: core points need 4x the average density
    lon, lat, times = _field(n_background=20000, planted=((116.375, 39.905, 600),))
    events = make_events(lon, lat, times)
    zones = hotspot_zones(box_workspace, events, EventFilter())
    assert 1 <= len(zones) <= 3
    assert zones["area_km2"].max() < 0.5  # the box is ~13 km²
    assert zones.iloc[0].geometry.contains(__import__("shapely").Point(116.375, 39.905))
