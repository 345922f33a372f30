"""The synthetic reference geography: nested official grids, street network, shipped files."""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.synthetic.build_reference import main as build_main
from geo.synthetic.grids import nested_grids
from geo.synthetic.roads import _cn_number, street_network

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
REFERENCE = ROOT / "data" / "reference"
TARGET_KM2 = {"big": 2.05, "middle": 0.78, "small": 0.13}
METRIC = "EPSG:4548"

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(scope="module")
def area() -> shapely.Polygon:
    return gpd.read_file(SAMPLE / "area_xicheng.geojson").geometry.iloc[0]


@pytest.fixture(scope="module")
def grids() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE / "official_grids.geojson")


@pytest.fixture(scope="module")
def roads() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE / "roads.geojson")


@pytest.fixture(scope="module")
def small_area() -> shapely.Polygon:
    # a concave L-shaped area of ~4.7 km² (concavity exercises the fragment merging); vertices
    # every ~100 m, as in real boundaries, so "straight in degrees" and "straight in metres"
    # agree to millimetres
    return shapely.segmentize(shapely.Polygon([(116.35, 39.90), (116.38, 39.90), (116.38, 39.91),
                                               (116.36, 39.91), (116.36, 39.93), (116.35, 39.93)]),
                              0.001)


def _area_m2(geoms: np.ndarray) -> np.ndarray:
    return gpd.GeoSeries(geoms, crs=4326).to_crs(METRIC).area.to_numpy()


def check_partition(g: gpd.GeoDataFrame, area: shapely.Geometry, rel_tol: float) -> None:
    """Each tier tiles the area; every grid nests in exactly one parent, named by parent_id."""
    a = float(_area_m2(np.array([area]))[0])
    gm = g.to_crs(METRIC)
    assert (g.geom_type == "Polygon").all()
    assert gm.is_valid.all() and g.is_valid.all()
    for tier in ("big", "middle", "small"):
        t = g["tier"] == tier
        assert shapely.coverage_is_valid(g.geometry[t].to_numpy())
        assert shapely.coverage_is_valid(gm.geometry[t].to_numpy())
        # no gaps: the union has the area's area and no slivers (gap_width ~1 m)
        assert shapely.coverage_is_valid(g.geometry[t].to_numpy(), gap_width=1e-5)
        union = shapely.union_all(gm.geometry[t].to_numpy())
        assert abs(union.area - a) / a <= rel_tol
        assert shapely.get_num_interior_rings(shapely.get_parts(union)).sum() == 0
    assert g["grid_id"].is_unique
    by_id = g.set_index("grid_id")
    for child, parent in (("middle", "big"), ("small", "middle")):
        c = gm[g["tier"] == child]
        p = gm[g["tier"] == parent]
        # every child overlaps exactly one parent with positive area ...
        ci, pj = p.sindex.query(c.geometry, predicate="intersects")
        inter = shapely.area(shapely.intersection(c.geometry.to_numpy()[ci], p.geometry.to_numpy()[pj]))
        pos = inter > 1e-6 * c.area.to_numpy()[ci]
        assert np.bincount(ci[pos], minlength=len(c)).tolist() == [1] * len(c)
        # ... lies inside it (all of its area), and it is the parent it names
        np.testing.assert_allclose(inter[pos], c.area.to_numpy()[ci[pos]], rtol=1e-7)
        assert (p["grid_id"].to_numpy()[pj[pos]] == c["parent_id"].to_numpy()[ci[pos]]).all()
    small = g[g["tier"] == "small"]
    grand = by_id.loc[small["parent_id"], "parent_id"].to_numpy()
    assert (grand == small["grid_id"].str.slice(0, 3).to_numpy()).all()
    assert (g.loc[g["tier"] == "big", "parent_id"] == "").all()


# --- shipped grid file -----------------------------------------------------------
def test_shipped_grids_nest_and_tile(grids: gpd.GeoDataFrame, area: shapely.Polygon) -> None:
    check_partition(grids, area, rel_tol=1e-6)


def test_shipped_grid_counts_and_mean_areas(grids: gpd.GeoDataFrame) -> None:
    counts = grids["tier"].value_counts()
    assert 22 <= counts["big"] <= 28 and 58 <= counts["middle"] <= 72 and 350 <= counts["small"] <= 430
    gm = grids.to_crs(METRIC)
    for tier, target in TARGET_KM2.items():
        measured = gm.area[grids["tier"] == tier].mean() / 1e6
        assert abs(measured - target) / target <= 0.25, (tier, measured)
    # the area_km2 column is the EPSG:4548 area
    np.testing.assert_allclose(grids["area_km2"], gm.area / 1e6, atol=6e-5)


def test_shipped_grid_attributes(grids: gpd.GeoDataFrame) -> None:
    streets = pd.read_csv(REFERENCE / "beijing_streets.csv", dtype=str)
    xicheng = streets[streets["district_code"] == "110102"]
    assert set(grids["street_code"]) <= set(xicheng["street_code"])
    assert grids["street_code"].nunique() == 15          # every street gets a big grid
    code_to_name = dict(zip(xicheng["street_code"], xicheng["street_name"], strict=True))
    assert (grids["street_name"] == grids["street_code"].map(code_to_name)).all()
    by_id = grids.set_index("grid_id")
    child = grids[grids["tier"] != "big"]
    assert (by_id.loc[child["parent_id"], "street_code"].to_numpy() == child["street_code"].to_numpy()).all()
    big = grids[grids["tier"] == "big"]
    assert big["grid_id"].str.fullmatch(r"B\d{2}").all()
    assert grids.loc[grids["tier"] == "middle", "grid_id"].str.fullmatch(r"B\d{2}-M\d").all()
    assert grids.loc[grids["tier"] == "small", "grid_id"].str.fullmatch(r"B\d{2}-M\d-S\d{2}").all()
    num = grids["grid_id"].str.replace(r"[BMS]", "", regex=True)
    label = grids["tier"].map({"big": "大", "middle": "中", "small": "小"})
    assert (grids["name"] == "样例" + label + "网格" + num).all()
    assert (grids["unit"] == "样例责任单位" + num).all()
    # grids sharing a street are contiguous (runs along a serpentine walk)
    gm = big.to_crs(METRIC)
    for code, grp in gm.groupby("street_code"):
        if len(grp) > 1:
            assert shapely.union_all(grp.geometry.buffer(1.0).to_numpy()).geom_type == "Polygon", code


def test_area_file_is_the_district(area: shapely.Polygon) -> None:
    ref = gpd.read_file(REFERENCE / "beijing_districts.geojson")
    x = ref[ref["code"] == "110102"].geometry.iloc[0]
    assert x.equals_exact(area, 0.0)
    props = json.loads((SAMPLE / "area_xicheng.geojson").read_text(encoding="utf-8"))["features"][0]["properties"]
    assert props == {"code": "110102", "name": "西城区", "name_en": "Xicheng",
                     "area_km2": pytest.approx(_area_m2(np.array([x]))[0] / 1e6, abs=0.005)}


# --- nested_grids on a small area --------------------------------------------------
def test_nested_grids_small_area(small_area: shapely.Polygon) -> None:
    g = nested_grids(small_area, seed=3)
    check_partition(g, small_area, rel_tol=1e-5)   # 1e-6° lattice: borders move <= ~7 cm
    exact = nested_grids(small_area, seed=3, grid_size=None)
    check_partition(exact, small_area, rel_tol=1e-9)
    a_km2 = _area_m2(np.array([small_area]))[0] / 1e6
    counts = g["tier"].value_counts()
    assert counts["big"] == round(a_km2 / TARGET_KM2["big"])
    # proportional split, at least one child per parent
    assert round(a_km2 / 0.78) <= counts["middle"] <= round(a_km2 / 0.78) + counts["big"]
    assert round(a_km2 / 0.13) <= counts["small"] <= round(a_km2 / 0.13) + counts["middle"]
    assert (g["street_code"] == "").all()


def test_nested_grids_deterministic(small_area: shapely.Polygon) -> None:
    a = nested_grids(small_area, seed=11)
    b = nested_grids(small_area, seed=11)
    c = nested_grids(small_area, seed=12)
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert shapely.equals_exact(a.geometry.to_numpy(), b.geometry.to_numpy(), 0.0).all()
    assert not (len(a) == len(c) and shapely.equals_exact(a.geometry.to_numpy(),
                                                          c.geometry.to_numpy(), 0.0).all())


def test_nested_grids_rejects_bad_input(small_area: shapely.Polygon) -> None:
    with pytest.raises(TypeError, match="Polygon"):
        nested_grids(shapely.Point(116.3, 39.9))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="decreasing"):
        nested_grids(small_area, mean_km2=(0.13, 0.78, 2.05))
    with pytest.raises(ValueError, match="WGS84"):
        nested_grids(shapely.box(440_000, 4_410_000, 442_000, 4_412_000))


# --- street network ----------------------------------------------------------------
def test_shipped_roads_form(roads: gpd.GeoDataFrame) -> None:
    assert list(roads.columns) == ["road_id", "name", "highway", "class", "geometry"]
    assert (roads.geom_type == "LineString").all() and roads["road_id"].is_unique
    allowed = {"main": {"primary"}, "secondary": {"secondary"}, "branch": {"tertiary", "residential"},
               "alley": {"service", "footway"}}
    for cls, grp in roads.groupby("class"):
        assert set(grp["highway"]) <= allowed[cls]
    assert set(roads["class"]) == set(allowed)
    named = roads["name"][roads["name"] != ""]
    assert named.str.startswith("样例").all()                 # obviously synthetic
    assert (roads.loc[roads["name"] == "", "class"] == "alley").all()
    assert roads.loc[(roads["class"] == "alley") & (roads["name"] != ""), "name"].str.endswith("胡同").all()


def test_shipped_roads_share_vertices_at_crossings(roads: gpd.GeoDataFrame, area: shapely.Polygon) -> None:
    g = roads.geometry.to_numpy()
    i, j = shapely.STRtree(g).query(g, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    inter = shapely.intersection(g[i], g[j])
    assert np.isin(shapely.get_type_id(inter), (0, 4)).all()   # ways only touch at points
    pts, k = shapely.get_parts(inter, return_index=True)
    xy = shapely.get_coordinates(pts)
    vxy, vidx = shapely.get_coordinates(g, return_index=True)
    vertices = pd.MultiIndex.from_arrays([vidx, vxy[:, 0], vxy[:, 1]])
    # each crossing point is a vertex of both ways
    for side in (i, j):
        assert pd.MultiIndex.from_arrays([side[k], xy[:, 0], xy[:, 1]]).isin(vertices).all()
    assert len(k) > 1000
    # and the network stays inside the study area (~0.1 m rounding)
    assert shapely.contains(shapely.buffer(area, 2e-6), g).all()


def test_street_network_deterministic_and_seeded(small_area: shapely.Polygon) -> None:
    a = street_network(small_area, seed=5)
    b = street_network(small_area, seed=5)
    c = street_network(small_area, seed=6)
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert shapely.equals_exact(a.geometry.to_numpy(), b.geometry.to_numpy(), 0.0).all()
    assert not (len(a) == len(c) and shapely.equals_exact(a.geometry.to_numpy(),
                                                          c.geometry.to_numpy(), 0.0).all())
    none = street_network(small_area, seed=5, hutong_share=0.0)
    assert "alley" not in set(none["class"])


def test_cn_number() -> None:
    assert [_cn_number(n) for n in (1, 10, 12, 20, 105, 110, 154, 1001)] == [
        "一", "十", "十二", "二十", "一百零五", "一百一十", "一百五十四", "一千零一"]


# --- rebuild is byte-identical ------------------------------------------------------
def test_build_reference_reproduces_shipped_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(REFERENCE, tmp_path / "data" / "reference")
    assert build_main(["--root", str(tmp_path)]) == 0
    names = ["area_xicheng.geojson", "official_grids.geojson", "roads.geojson", "intersections.geojson"]
    for name in names:
        assert filecmp.cmp(tmp_path / "data" / "sample" / name, SAMPLE / name, shallow=False), name
        assert (SAMPLE / name).stat().st_size < 400 * 1024
    assert "official_grids.geojson" in capsys.readouterr().out
