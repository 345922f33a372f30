"""Road files, the noded road graph and intersections (geo/grid/roads.py)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, MultiLineString

from geo.errors import CoordinateError, InputFileError
from geo.grid.crs import wgs84_to_gcj02
from geo.grid.roads import HIGHWAY_CLASS, intersections, read_roads, road_graph

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_ROADS = ROOT / "data" / "sample" / "roads.geojson"
SAMPLE_INTERSECTIONS = ROOT / "data" / "sample" / "intersections.geojson"
METRIC = "EPSG:4548"
X0, Y0 = 445_000.0, 4_418_000.0   # a spot in Xicheng, EPSG:4548 metres

pytestmark = pytest.mark.filterwarnings("error")


def metric_roads(lines: list[list[tuple[float, float]]], names: list[str],
                 classes: list[str] | None = None) -> gpd.GeoDataFrame:
    """Roads given in metres relative to (X0, Y0), in EPSG:4548."""
    geoms = [LineString([(X0 + x, Y0 + y) for x, y in line]) for line in lines]
    return gpd.GeoDataFrame({"road_id": np.arange(1, len(lines) + 1), "name": names,
                             "class": classes or ["branch"] * len(lines)},
                            geometry=geoms, crs=METRIC)


def lonlat(x: float, y: float) -> tuple[float, float]:
    p = gpd.GeoSeries([shapely.Point(X0 + x, Y0 + y)], crs=METRIC).to_crs(4326).iloc[0]
    return p.x, p.y


# --- intersections on hand-made networks --------------------------------------------
def test_cross_without_shared_vertex_is_one_intersection() -> None:
    # the two ways cross at (3, 7): neither has a vertex there
    roads = metric_roads([[(-100, 7), (200, 7)], [(3, -150), (3, 100)]], ["b路", "a街"],
                         ["main", "secondary"])
    x = intersections(roads)
    assert len(x) == 1
    row = x.iloc[0]
    assert row["name"] == "b路与a街交叉口"            # main road first, although "a" < "b"
    assert row["roads"] == "b路、a街"
    assert row["classes"] == "main,secondary"
    assert row["degree"] == 4
    lon, lat = lonlat(3, 7)
    assert row["lon"] == pytest.approx(lon, abs=1e-7) and row["lat"] == pytest.approx(lat, abs=1e-7)


def test_same_class_names_sorted_and_t_junction() -> None:
    # T: the stem ends on the bar, at a point that is not a vertex of the bar
    roads = metric_roads([[(0, 0), (300, 0)], [(120.5, 0), (120.5, 250)]], ["乙路", "甲路"])
    x = intersections(roads)
    assert len(x) == 1
    assert x.iloc[0]["degree"] == 3
    assert x.iloc[0]["name"] == "乙路与甲路交叉口"         # same class: by name (乙 < 甲 in Unicode)


def test_nodes_10m_apart_merge() -> None:
    # two branch roads leave the main road on opposite sides, 10 m apart (a staggered crossing)
    roads = metric_roads([[(0, 0), (400, 0)], [(200, 0), (200, 150)], [(210, 0), (210, -150)]],
                         ["主路", "北支路", "南支路"], ["main", "branch", "branch"])
    x = intersections(roads, merge_m=15.0)
    assert len(x) == 1
    assert x.iloc[0]["degree"] == 4                        # 3 + 3 ends, less the 10 m edge inside
    assert x.iloc[0]["name"] == "主路与北支路与南支路交叉口"
    lon, lat = lonlat(205, 0)
    assert x.iloc[0]["lon"] == pytest.approx(lon, abs=1e-7)
    assert x.iloc[0]["lat"] == pytest.approx(lat, abs=1e-7)
    assert len(intersections(roads, merge_m=5.0)) == 2
    assert len(intersections(roads, merge_m=0.0)) == 2


def test_bend_and_way_split_are_not_intersections() -> None:
    bend = metric_roads([[(0, 0), (100, 0), (150, 80), (150, 300)]], ["弯路"])
    assert len(intersections(bend)) == 0
    # one street split into two ways end to end (as in OSM): degree 2
    split = metric_roads([[(0, 0), (100, 0)], [(100, 0), (250, 10)]], ["长街", "长街"])
    assert len(intersections(split)) == 0
    nodes, edges = road_graph(split)
    assert sorted(nodes["degree"]) == [1, 1, 2]


def test_unnamed_roads_in_names() -> None:
    roads = metric_roads([[(0, 0), (300, 0)], [(100, 0), (100, 200)], [(200, -50), (200, 50)]],
                         ["东街", "", ""], ["secondary", "alley", "alley"])
    x = intersections(roads).sort_values("lon")
    assert x["name"].tolist() == ["东街与无名路交叉口", "东街与无名路交叉口"]
    assert x["roads"].tolist() == ["东街", "东街"]
    only_unnamed = metric_roads([[(0, 0), (300, 0)], [(100, -50), (100, 50)]], ["", ""])
    assert intersections(only_unnamed)["name"].tolist() == ["无名路交叉口"]


def test_bridge_on_another_layer_does_not_cross() -> None:
    roads = metric_roads([[(0, 0), (300, 0)], [(150, -200), (150, 200)]], ["地面路", "高架桥"])
    roads["layer"] = [0, 1]
    assert len(intersections(roads)) == 0
    roads["layer"] = [0, 0]
    assert len(intersections(roads)) == 1


def test_empty_result_has_columns() -> None:
    x = intersections(metric_roads([[(0, 0), (10, 0)]], ["短路"]))
    assert len(x) == 0
    assert list(x.columns) == ["node_id", "name", "roads", "classes", "degree", "lon", "lat", "geometry"]


# --- graph ----------------------------------------------------------------------------
def test_road_graph_lengths_and_nodes() -> None:
    roads = metric_roads([[(0, 0), (300, 0)], [(100, -100), (100, 100)], [(0, 50), (300, 50)]],
                         ["甲", "乙", "丙"])
    nodes, edges = road_graph(roads)
    # 6 ends + 2 crossings of 乙 with 甲 and 丙
    assert len(nodes) == 8
    assert sorted(nodes["degree"].tolist()) == [1] * 6 + [4, 4]
    assert len(edges) == 2 + 3 + 2
    assert edges["length_m"].sum() == pytest.approx(roads.length.sum(), rel=1e-9)
    assert set(edges.loc[edges["name"] == "乙", "length_m"].round(6)) == {50.0, 100.0}
    np.testing.assert_allclose(edges.groupby("road_id")["length_m"].sum().to_numpy(),
                               roads.length.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(nodes[["lon", "lat"]].to_numpy(),
                               shapely.get_coordinates(nodes.geometry.to_numpy()))


def test_sample_graph_length_matches_roads() -> None:
    roads = read_roads(SAMPLE_ROADS)
    nodes, edges = road_graph(roads)
    total = roads.to_crs(METRIC).length.sum()
    assert edges["length_m"].sum() == pytest.approx(total, rel=1e-6)
    per_road = edges.groupby("road_id")["length_m"].sum()
    # noding snaps vertices to a 1 cm lattice: each way's length moves by millimetres
    np.testing.assert_allclose(per_road.sort_index().to_numpy(),
                               roads.set_index("road_id").to_crs(METRIC).length.sort_index().to_numpy(),
                               rtol=0, atol=0.05)
    assert nodes["node_id"].is_unique and len(nodes) == nodes["degree"].size


def test_sample_intersections_are_at_road_crossings() -> None:
    roads = read_roads(SAMPLE_ROADS).to_crs(METRIC)
    x = gpd.read_file(SAMPLE_INTERSECTIONS).to_crs(METRIC)
    assert len(x) > 500
    xi, rj = roads.sindex.query(x.geometry, predicate="dwithin", distance=15.0)
    n_roads = pd.Series(roads["road_id"].to_numpy()[rj]).groupby(xi).nunique()
    assert len(n_roads) == len(x) and (n_roads >= 2).all()
    assert (x["degree"] >= 3).all()
    assert x["name"].str.endswith("交叉口").all()
    # main roads first in every name
    main_names = set(roads.loc[roads["class"] == "main", "name"])
    first = x["roads"].str.split("、").str[0]
    has_main = x["classes"].str.startswith("main")
    assert first[has_main].isin(main_names).all()
    # every crossing of two main roads is an intersection
    m = roads[roads["class"] == "main"].geometry.to_numpy()
    i, j = shapely.STRtree(m).query(m, predicate="crosses")
    pts = shapely.get_parts(shapely.intersection(m[i[i < j]], m[j[i < j]]))
    assert len(pts) > 50
    d = shapely.distance(pts[:, None], x.geometry.to_numpy()[None, :]).min(axis=1)
    assert d.max() < 15.0


def test_sample_intersections_file_matches_recomputation() -> None:
    x = intersections(read_roads(SAMPLE_ROADS))
    shipped = gpd.read_file(SAMPLE_INTERSECTIONS)
    assert len(x) == len(shipped)
    assert x["name"].tolist() == shipped["name"].tolist()
    np.testing.assert_allclose(x[["lon", "lat"]].to_numpy(), shipped[["lon", "lat"]].to_numpy(), atol=6e-7)


# --- reading ----------------------------------------------------------------------------
def _write_geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    fc: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        fc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return path


def _feature(props: dict, coords: list) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "LineString", "coordinates": coords}}


def test_highway_to_class_mapping(tmp_path: Path) -> None:
    values = ["trunk", "primary", "primary_link", "secondary", "tertiary", "residential",
              "unclassified", "living_street", "service", "footway", "pedestrian", "steps",
              "bogus_value", None, "proposed", "construction"]
    feats = [_feature({"osm_id": 10 + k, "highway": v, "name": f"路{k}" if k % 3 else None},
                      [[116.36, 39.90 + k * 1e-3], [116.37, 39.90 + k * 1e-3]])
             for k, v in enumerate(values)]
    roads = read_roads(_write_geojson(tmp_path / "osm.geojson", feats))
    expected = ["main", "main", "main", "secondary", "branch", "branch", "branch", "branch",
                "alley", "alley", "alley", "alley", "branch", "branch"]   # proposed/construction dropped
    assert roads["class"].tolist() == expected
    assert roads["road_id"].tolist() == list(range(10, 24))
    assert roads["name"].tolist()[:4] == ["", "路1", "路2", ""]
    assert roads["highway"].tolist()[13] == ""
    assert roads.crs.to_epsg() == 4326
    assert list(roads.columns) == ["road_id", "name", "highway", "class", "layer", "geometry"]
    assert HIGHWAY_CLASS["motorway"] == "main" and HIGHWAY_CLASS["secondary_link"] == "secondary"


def test_class_column_and_fclass(tmp_path: Path) -> None:
    feats = [_feature({"class": c, "fclass": "primary"}, [[116.36, 39.90 + k * 1e-3], [116.37, 39.90 + k * 1e-3]])
             for k, c in enumerate(["主干路", "Secondary", "支路", "胡同", ""])]
    roads = read_roads(_write_geojson(tmp_path / "cls.geojson", feats))
    assert roads["class"].tolist() == ["main", "secondary", "branch", "alley", "main"]
    assert (roads["highway"] == "primary").all()
    bad = [_feature({"class": "快车道"}, [[116.36, 39.90], [116.37, 39.90]])]
    with pytest.raises(InputFileError, match="快车道"):
        read_roads(_write_geojson(tmp_path / "bad.geojson", bad))


def test_read_roads_crs_and_multilines(tmp_path: Path) -> None:
    lon = np.array([116.360, 116.370, 116.365])
    lat = np.array([39.900, 39.900, 39.910])
    metric = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(METRIC)
    mx, my = metric.x.to_numpy(), metric.y.to_numpy()
    gdf = gpd.GeoDataFrame({"name": ["双线路"], "highway": ["secondary"]},
                           geometry=[MultiLineString([[(mx[0], my[0]), (mx[1], my[1])],
                                                      [(mx[1], my[1]), (mx[2], my[2])]])], crs=METRIC)
    path = tmp_path / "roads.gpkg"
    gdf.to_file(path)
    roads = read_roads(path)
    assert len(roads) == 2 and roads["name"].tolist() == ["双线路", "双线路"]
    np.testing.assert_allclose(shapely.get_coordinates(roads.geometry.to_numpy()),
                               [[lon[0], lat[0]], [lon[1], lat[1]], [lon[1], lat[1]], [lon[2], lat[2]]],
                               atol=1e-9)
    # GCJ-02 coordinates, mislabelled as WGS84: crs= says what they really are
    glon, glat = wgs84_to_gcj02(lon[:2], lat[:2])
    p = _write_geojson(tmp_path / "gcj.geojson", [_feature({"name": "甲"}, np.column_stack([glon, glat]).tolist())])
    fixed = read_roads(p, crs="GCJ02")
    np.testing.assert_allclose(shapely.get_coordinates(fixed.geometry.to_numpy()),
                               np.column_stack([lon[:2], lat[:2]]), atol=1e-8)
    # metres without a declared CRS must be rejected with advice
    raw = tmp_path / "nocrs.parquet"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[LineString([(mx[0], my[0]), (mx[1], my[1])])]).to_parquet(raw)
    with pytest.raises(CoordinateError, match="crs="):
        read_roads(raw)
    assert read_roads(raw, crs=METRIC).total_bounds == pytest.approx([lon[0], lat[0], lon[1], lat[1]], abs=1e-8)


def test_read_roads_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        read_roads(tmp_path / "missing.geojson")
    pts = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [116.3, 39.9]}}]}
    (tmp_path / "pts.geojson").write_text(json.dumps(pts))
    with pytest.raises(InputFileError, match="LineString"):
        read_roads(tmp_path / "pts.geojson")
    with pytest.raises(TypeError, match="GeoDataFrame"):
        road_graph(pd.DataFrame({"a": [1]}))  # type: ignore[arg-type]
    with pytest.raises(CoordinateError, match="projected"):
        road_graph(metric_roads([[(0, 0), (1, 0)]], ["a"]), metric_crs="EPSG:4326")
