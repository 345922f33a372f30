"""The offline street map: road names along the roads, grid names at every zoom, catchments along roads."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.maps import basemap


def cross_roads() -> gpd.GeoDataFrame:
    """A plus-shaped pair of roads 1 km long each, crossing at (116.40, 39.90), and an unnamed alley."""
    d = 0.0058  # ~500 m of longitude at 39.9° N; ~645 m of latitude
    return gpd.GeoDataFrame(
        {"name": ["东西大街", "南北路", ""], "class": ["main", "secondary", "alley"]},
        geometry=[shapely.LineString([(116.40 - d, 39.90), (116.40 + d, 39.90)]),
                  shapely.LineString([(116.40, 39.90 - d), (116.40, 39.90 + d)]),
                  shapely.LineString([(116.41, 39.91), (116.412, 39.911)])],
        crs="EPSG:4326")


def test_road_labels_one_per_named_road_at_the_middle_turned_along_it() -> None:
    labels = basemap.road_labels(cross_roads()).set_index("name")
    assert set(labels.index) == {"东西大街", "南北路"}  # the unnamed alley has no label
    assert labels.at["东西大街", "lon"] == pytest.approx(116.40) and labels.at["东西大街", "lat"] == pytest.approx(39.90)
    assert labels.at["东西大街", "angle"] == pytest.approx(0.0)  # horizontal text on an east-west road
    assert abs(labels.at["南北路", "angle"]) == pytest.approx(90.0)  # vertical on a north-south road
    assert labels.at["东西大街", "min_zoom"] == 0.0  # main roads named at every zoom
    assert labels.at["南北路", "min_zoom"] == basemap.ROAD_LABEL_MIN_ZOOM["secondary"]


def test_grid_names_cover_every_zoom_and_sit_inside_their_grid() -> None:
    square = shapely.box(116.39, 39.89, 116.41, 39.91)
    grids = gpd.GeoDataFrame({"name": ["大", "中", "小"], "tier": ["big", "middle", "small"]},
                             geometry=[square, square, square], crs="EPSG:4326")
    labels = basemap.grid_labels(grids)
    assert all(square.contains(shapely.Point(x, y)) for x, y in zip(labels["lon"], labels["lat"], strict=True))
    # at every zoom from 9 to 19 exactly one tier is named
    for z in np.arange(9, 19.5, 0.25):
        assert int(((labels["min_zoom"] <= z) & (z < labels["max_zoom"])).sum()) == 1, z


def test_basemap_data_shifts_to_gcj02_like_the_overlays() -> None:
    wgs = basemap.basemap_data(cross_roads(), None, "WGS84")
    gcj = basemap.basemap_data(cross_roads(), None, "GCJ02")
    assert [r[0] for r in wgs["roads"]] == ["alley", "secondary", "main"]  # main roads drawn last, on top
    (lat0, lon0), (lat1, lon1) = wgs["labels"][0][:2], gcj["labels"][0][:2]
    # GCJ-02 is a few hundred metres off WGS84 in Beijing
    assert 100 < np.hypot((lon1 - lon0) * 85_000, (lat1 - lat0) * 111_000) < 1000


def test_catchments_follow_the_roads_for_the_radius() -> None:
    roads = cross_roads()
    reach = basemap.road_catchments(roads, np.array([116.40]), np.array([39.90]), 200.0, "EPSG:4548")
    metres = reach.to_crs("EPSG:4548").length.sum()
    # 200 m in each of the four directions from the crossing
    assert metres == pytest.approx(800.0, rel=0.02)
    assert set(reach["post"]) == {0}
    # a post far from every road reaches less (its snap distance is walked first)
    far = basemap.road_catchments(roads, np.array([116.40 + 0.0012]), np.array([39.90 + 0.0012]), 200.0,
                                  "EPSG:4548")
    assert far.to_crs("EPSG:4548").length.sum() < metres
