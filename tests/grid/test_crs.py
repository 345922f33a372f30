"""Tests for geo.grid.crs: GCJ-02/BD-09 formulas, exact inverses, pyproj systems, geometries.

Reference values come from the test suites of independent implementations
(cited next to each pair); the boundary test compares two independent Amap
copies of Xicheng/Dongcheng, one in GCJ-02 and one converted to WGS84 by
their packager (see tests/data and /work/shared/geodata/README.md).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from numpy.testing import assert_allclose, assert_array_equal
from pyproj import Geod

from geo.grid.crs import (
    BD09,
    CGCS2000,
    GCJ02,
    WGS84,
    CoordinateError,
    bd09_to_gcj02,
    bd09_to_wgs84,
    cgcs2000_to_wgs84,
    from_metric,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    geometry_from_wgs84,
    geometry_to_wgs84,
    in_china,
    normalize_crs_name,
    to_metric,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_cgcs2000,
    wgs84_to_gcj02,
)

pytestmark = pytest.mark.filterwarnings("error")

DATA = Path(__file__).resolve().parents[1] / "data"
GEOD = Geod(ellps="WGS84")


def geodesic_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in metres (WGS84 ellipsoid, GeographicLib via pyproj)."""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


# ---------------------------------------------------------------------------
# Published reference pairs.  All are (lon, lat); sources store some as (lat, lon).
# ---------------------------------------------------------------------------
# WGS84 -> GCJ-02 pairs given to full double precision: (wgs_lon, wgs_lat, gcj_lon, gcj_lat)
WGS_GCJ_FULL = [
    # wandergis/coordtransform, test/app.js ("wgs84togcj02: [116.41024449916938, 39.91640428150164]")
    pytest.param(116.404, 39.915, 116.41024449916938, 39.91640428150164, id="coordtransform-beijing"),
    # googollee/eviltransform, python/test.py and go/transform_test.go, TESTS (wgsLat, wgsLng, gcjLat, gcjLng)
    pytest.param(121.5272106, 31.1774276, 121.531541859215, 31.17530398364597, id="eviltransform-shanghai"),
    pytest.param(113.912316, 22.543847, 113.9171764808363, 22.540796131694766, id="eviltransform-shenzhen"),
    pytest.param(116.377817, 39.911954, 116.38404722455657, 39.91334545536069, id="eviltransform-beijing"),
]
# madlogos/asesgeo, tests/testthat/test_tranform_coord.R, "wgs 2 gcj" (printed to 8 decimals)
WGS_GCJ_8DP = (116.39089, 39.90734, 116.39713094, 39.90874107)


@pytest.mark.parametrize("wlon, wlat, glon, glat", WGS_GCJ_FULL)
def test_wgs84_to_gcj02_matches_published_pairs(wlon, wlat, glon, glat):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    # 1e-9° (0.1 mm): the pairs were computed with the same Krasovsky formula;
    # a variant using a = 6378137 would miss by ~1e-7°.
    assert_allclose([lon, lat], [glon, glat], rtol=0, atol=1e-9)


@pytest.mark.parametrize("wlon, wlat, glon, glat", WGS_GCJ_FULL)
def test_gcj02_to_wgs84_exactly_inverts_published_pairs(wlon, wlat, glon, glat):
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert_allclose([lon, lat], [wlon, wlat], rtol=0, atol=1e-9)


def test_asesgeo_pairs_to_8_decimals():
    wlon, wlat, glon, glat = WGS_GCJ_8DP
    assert_allclose(wgs84_to_gcj02(wlon, wlat), [glon, glat], rtol=0, atol=1e-8)
    # asesgeo "gcj 2 wgs": (39.908746, 116.397131) -> (39.90734493, 116.39089006)
    assert_allclose(gcj02_to_wgs84(116.397131, 39.908746), [116.39089006, 39.90734493], rtol=0, atol=1e-8)
    # asesgeo "gcj 2 bd": (39.908746, 116.397131) -> (39.91508839, 116.40350426)
    assert_allclose(gcj02_to_bd09(116.397131, 39.908746), [116.40350426, 39.91508839], rtol=0, atol=1e-8)


def test_gcj02_to_bd09_matches_published_pairs():
    # wandergis/coordtransform, test/app.js ("gcj02tobd09: [116.41036949371029, 39.92133699351021]")
    assert_allclose(
        gcj02_to_bd09(116.404, 39.915), [116.41036949371029, 39.92133699351021], rtol=0, atol=1e-9
    )
    # hujiulong/gcoord, test/unit/crs/GCJ02.spec.js, GCJ02 -> BD09 of [123, 45] (8 decimals, truncated)
    assert_allclose(gcj02_to_bd09(123.0, 45.0), [123.00636499, 45.00636899], rtol=0, atol=2e-8)


def test_gcoord_gcj02_to_wgs84():
    # hujiulong/gcoord, test/unit/crs/GCJ02.spec.js: GCJ02 -> WGS84 of [123, 45]
    # = [122.99395597, 44.99804071] (gcoord iterates to ~1e-7°).
    assert_allclose(gcj02_to_wgs84(123.0, 45.0), [122.99395597, 44.99804071], rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "forward, inverse, given, published",
    [
        # wandergis/coordtransform test/app.js: one-step gcj02towgs84(116.404, 39.915)
        pytest.param(wgs84_to_gcj02, gcj02_to_wgs84, (116.404, 39.915),
                     (116.39775550083061, 39.91359571849836), id="coordtransform-gcj02towgs84"),
        # wandergis/coordtransform test/app.js: one-step bd09togcj02(116.404, 39.915)
        pytest.param(gcj02_to_bd09, bd09_to_gcj02, (116.404, 39.915),
                     (116.39762729119315, 39.90865673957631), id="coordtransform-bd09togcj02"),
        # madlogos/asesgeo "bd 2 gcj": (39.91509, 116.40350) -> (39.90874808, 116.39712692)
        pytest.param(gcj02_to_bd09, bd09_to_gcj02, (116.40350, 39.91509),
                     (116.39712692, 39.90874808), id="asesgeo-bd2gcj"),
    ],
)
def test_exact_inverse_improves_on_published_one_step_inverse(forward, inverse, given, published):
    lon, lat = inverse(*given)
    # Agrees with the published one-step answer to ~1e-6° ...
    assert_allclose([lon, lat], published, rtol=0, atol=1e-6)
    # ... but only ours maps back onto the input exactly.
    assert_allclose(forward(lon, lat), given, rtol=0, atol=1e-12)
    miss = np.max(np.abs(np.subtract(forward(*published), given)))
    assert miss > 1e-8


# ---------------------------------------------------------------------------
# Round trips over China
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def china_points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240611)
    n = 100_000
    # Mainland China's extent, well inside the 72.004-137.8347 / 0.8293-55.8271 box.
    return rng.uniform(73.5, 135.0, n), rng.uniform(18.0, 53.5, n)


@pytest.mark.parametrize(
    "forward, inverse",
    [
        pytest.param(wgs84_to_gcj02, gcj02_to_wgs84, id="WGS84->GCJ02->WGS84"),
        pytest.param(wgs84_to_bd09, bd09_to_wgs84, id="WGS84->BD09->WGS84"),
        pytest.param(gcj02_to_bd09, bd09_to_gcj02, id="GCJ02->BD09->GCJ02"),
    ],
)
def test_round_trip_over_china_is_exact(china_points, forward, inverse):
    lon, lat = china_points
    flon, flat = forward(lon, lat)
    # The offsets are real (hundreds of metres), so the round trip is not trivial.
    assert np.median(geodesic_m(lon, lat, flon, flat)) > 100.0
    blon, blat = inverse(flon, flat)
    err = geodesic_m(lon, lat, blon, blat)
    # Required: < 1 cm.  Achieved: ~1e-8 m (float64 rounding); the one-step
    # inverses published elsewhere err by up to 4.7 m (GCJ) / 0.2 m (BD).
    assert err.max() < 1e-6, f"mean {err.mean():.3g} m, max {err.max():.3g} m"


def test_round_trip_the_other_way(china_points):
    glon, glat = china_points  # treat as GCJ-02 input
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    assert_allclose(wgs84_to_gcj02(wlon, wlat), [glon, glat], rtol=0, atol=1e-11)
    blon, blat = china_points  # treat as BD-09 input
    wlon, wlat = bd09_to_wgs84(blon, blat)
    assert_allclose(wgs84_to_bd09(wlon, wlat), [blon, blat], rtol=0, atol=1e-11)


def test_beijing_offset_is_about_550_m():
    lon, lat = wgs84_to_gcj02(116.397, 39.909)  # Tiananmen
    d = geodesic_m(116.397, 39.909, lon, lat)
    assert 450 < d < 650
    assert lon > 116.397 and lat > 39.909  # GCJ-02 lies east-north-east of WGS84 here


# ---------------------------------------------------------------------------
# The GCJ-02 boundary of Xicheng/Dongcheng, converted, lies on the WGS84 one
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def districts() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    gcj = gpd.read_file(DATA / "xicheng_dongcheng_gcj02.geojson")
    wgs = gpd.read_file(DATA / "xicheng_dongcheng_wgs84.geojson")
    gcj = gcj.sort_values("code").reset_index(drop=True)
    wgs = wgs.sort_values("code").reset_index(drop=True)
    assert gcj["code"].tolist() == wgs["code"].tolist() == ["110101", "110102"]
    return gcj, wgs


def test_converted_gcj02_boundary_matches_wgs84_boundary(districts):
    gcj, wgs = districts
    converted = geometry_to_wgs84(gcj.geometry, "GCJ-02")
    assert converted.crs == "EPSG:4326"
    assert_array_equal(converted.index, gcj.index)

    truth = wgs.geometry.to_crs("EPSG:4548").values
    conv_m = converted.to_crs("EPSG:4548").values
    # Unconverted: the GCJ-02 numbers read as if they were WGS84.
    raw_m = gcj.geometry.set_crs("EPSG:4326", allow_override=True).to_crs("EPSG:4548").values

    for i, code in enumerate(wgs["code"]):
        vertices = shapely.points(shapely.get_coordinates(truth[i]))
        dist = shapely.distance(vertices, conv_m[i].boundary)
        # README: medians 0.06 m (Dongcheng) / 0.05 m (Xicheng); a one-step
        # inverse (metre-level error) would fail this.
        assert np.median(dist) < 0.5, code

        iou = truth[i].intersection(conv_m[i]).area / truth[i].union(conv_m[i]).area
        iou_raw = truth[i].intersection(raw_m[i]).area / truth[i].union(raw_m[i]).area
        assert iou >= 0.99, code
        assert iou_raw < 0.8, code

        raw_offset = truth[i].centroid.distance(raw_m[i].centroid)
        conv_offset = truth[i].centroid.distance(conv_m[i].centroid)
        assert 500 < raw_offset < 600, code
        assert conv_offset < 20, code


def test_geometry_round_trip_and_containers(districts):
    gcj, wgs = districts
    # GeoDataFrame in, GeoDataFrame out, attributes kept; GCJ-02 output has no pyproj CRS.
    as_gcj = geometry_from_wgs84(wgs, "gcj02")
    assert isinstance(as_gcj, gpd.GeoDataFrame)
    assert as_gcj.crs is None
    assert as_gcj["name_en"].tolist() == wgs["name_en"].tolist()
    back = geometry_to_wgs84(as_gcj, "GCJ02")
    assert back.crs == "EPSG:4326"
    assert shapely.equals_exact(back.geometry.values, wgs.geometry.values, tolerance=1e-10).all()
    # The input frame is not modified.
    assert wgs.crs == "EPSG:4326"

    # Plain arrays with missing geometries, and single geometries.
    pts = np.array([shapely.Point(116.41024449916938, 39.91640428150164), None], dtype=object)
    out = geometry_to_wgs84(pts, "GCJ-02")
    assert out[1] is None
    assert_allclose([out[0].x, out[0].y], [116.404, 39.915], rtol=0, atol=1e-9)
    single = geometry_to_wgs84(pts[0], "gcj02")
    assert single.equals_exact(out[0], tolerance=0)

    # Metric output through the same helper matches geopandas' own projection.
    metric = geometry_from_wgs84(wgs.geometry, "EPSG:4548")
    assert metric.crs == "EPSG:4548"
    assert shapely.equals_exact(metric.values, wgs.geometry.to_crs(4548).values, tolerance=1e-6).all()

    with pytest.raises(TypeError, match="shapely geometries"):
        geometry_to_wgs84([1, 2], "gcj02")


# ---------------------------------------------------------------------------
# Outside China, NaN, shapes
# ---------------------------------------------------------------------------
ALL_CONVERSIONS = [
    wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84,
]


@pytest.mark.parametrize("fn", ALL_CONVERSIONS, ids=lambda f: f.__name__)
def test_identity_outside_china(fn):
    # Greenwich, New York, Sydney, Tokyo (lon > 137.8347), Moscow, just west of the box
    lon = np.array([0.0, -74.006, 151.209, 139.692, 37.618, 72.003])
    lat = np.array([51.48, 40.713, -33.868, 35.690, 55.756, 30.0])
    out_lon, out_lat = fn(lon, lat)
    assert_array_equal(out_lon, lon)
    assert_array_equal(out_lat, lat)


@pytest.mark.parametrize("fn", ALL_CONVERSIONS, ids=lambda f: f.__name__)
def test_box_is_rough_and_inclusive(fn):
    # Seoul lies inside the rough box, so it is shifted (as Chinese map providers do);
    # the box edge itself counts as inside.
    lon = np.array([126.978, 72.004])
    lat = np.array([37.566, 30.0])
    assert_array_equal(in_china(lon, lat), [True, True])
    out_lon, _ = fn(lon, lat)
    assert np.all(out_lon != lon)
    assert not in_china(72.003, 30.0)
    assert not in_china(116.0, 55.8272)


@pytest.mark.parametrize("fn", ALL_CONVERSIONS, ids=lambda f: f.__name__)
def test_nan_propagates_and_shape_is_kept(fn):
    lon = np.array([[116.40, np.nan, 116.41], [np.nan, 121.47, 116.42]])
    lat = np.array([[39.90, 39.90, np.nan], [np.nan, 31.23, 39.92]])
    out_lon, out_lat = fn(lon, lat)
    assert out_lon.shape == out_lat.shape == (2, 3)
    assert out_lon.dtype == out_lat.dtype == np.float64
    missing = np.isnan(lon) | np.isnan(lat)
    assert_array_equal(np.isnan(out_lon), missing)
    assert_array_equal(np.isnan(out_lat), missing)
    # Valid points are converted as if alone.
    one_lon, one_lat = fn(116.42, 39.92)
    assert out_lon[1, 2] == one_lon and out_lat[1, 2] == one_lat


def test_scalars_broadcasting_and_empty_input():
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon.shape == () and lat.shape == ()
    lon, lat = wgs84_to_gcj02([116.0, 117.0, 118.0], 39.9)
    assert lon.shape == lat.shape == (3,)
    lon, lat = gcj02_to_wgs84([], [])
    assert lon.shape == lat.shape == (0,)
    lon, lat = to_metric(np.empty((0, 2)), np.empty((0, 2)))
    assert lon.shape == (0, 2)


def test_inputs_are_not_modified():
    lon = np.array([116.404, 121.47])
    lat = np.array([39.915, 31.23])
    keep = lon.copy(), lat.copy()
    for fn in ALL_CONVERSIONS:
        fn(lon, lat)
    to_wgs84(lon, lat, "EPSG:4326")[0][:] = 0.0  # identity path returns a copy
    assert_array_equal(lon, keep[0])
    assert_array_equal(lat, keep[1])


def test_bad_numeric_arguments():
    with pytest.raises(CoordinateError, match="broadcastable"):
        wgs84_to_gcj02([116.0, 117.0], [39.0, 40.0, 41.0])
    with pytest.raises(CoordinateError, match="numeric"):
        wgs84_to_gcj02(["a"], [39.0])
    with pytest.raises(CoordinateError, match="tol_deg"):
        gcj02_to_wgs84(116.4, 39.9, tol_deg=0.0)
    with pytest.raises(CoordinateError, match="max_iter"):
        bd09_to_wgs84(116.4, 39.9, max_iter=0)


def test_non_convergence_warns():
    with pytest.warns(RuntimeWarning, match="not converged"):
        gcj02_to_wgs84(116.4, 39.9, max_iter=1)


# ---------------------------------------------------------------------------
# Names, dispatch and pyproj systems
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, canonical",
    [
        ("WGS84", WGS84), ("wgs-84", WGS84), ("EPSG:4326", WGS84), ("epsg:4326", WGS84),
        ("4326", WGS84), (4326, WGS84), ("OGC:CRS84", WGS84),
        ("+proj=longlat +datum=WGS84 +no_defs", WGS84),
        ("GCJ02", GCJ02), ("gcj-02", GCJ02), (" Gcj02 ", GCJ02),
        ("BD09", BD09), ("bd-09", BD09),
        ("CGCS2000", CGCS2000), ("epsg:4490", CGCS2000), ("4490", CGCS2000),
        ("EPSG:4548", "EPSG:4548"), ("epsg:32650", "EPSG:32650"), (4548, "EPSG:4548"),
    ],
)
def test_normalize_crs_name(name, canonical):
    assert normalize_crs_name(name) == canonical


def test_normalize_accepts_pyproj_crs():
    from pyproj import CRS

    assert normalize_crs_name(CRS.from_epsg(4548)) == "EPSG:4548"
    assert normalize_crs_name(CRS.from_epsg(4490)) == CGCS2000


@pytest.mark.parametrize("bad", ["GCJ03", "baidu-ish", "EPSG:999999", ""])
def test_unknown_crs_name_lists_accepted_names(bad):
    with pytest.raises(CoordinateError) as info:
        to_wgs84([116.4], [39.9], bad)
    msg = str(info.value)
    assert repr(bad) in msg
    for accepted in ("WGS84", "GCJ02", "GCJ-02", "BD09", "CGCS2000", "EPSG:4490", "EPSG:4548"):
        assert accepted in msg
    assert isinstance(info.value, ValueError)


def test_crs_that_is_not_horizontal_is_rejected():
    with pytest.raises(CoordinateError, match="neither geographic nor projected"):
        normalize_crs_name("EPSG:5773")  # EGM96 height
    with pytest.raises(CoordinateError, match="string"):
        normalize_crs_name(4326.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("crs", ["WGS84", "GCJ-02", "BD-09", "CGCS2000", "EPSG:4548", "EPSG:32650"])
def test_from_wgs84_then_to_wgs84_round_trip(crs):
    lon = np.array([116.397, 116.30, 116.45])
    lat = np.array([39.909, 39.95, 39.87])
    x, y = from_wgs84(lon, lat, crs)
    back_lon, back_lat = to_wgs84(x, y, crs)
    assert_allclose(back_lon, lon, rtol=0, atol=1e-10)
    assert_allclose(back_lat, lat, rtol=0, atol=1e-10)


def test_to_wgs84_dispatches_to_the_named_conversion():
    glon, glat = np.array([116.41024449916938]), np.array([39.91640428150164])
    assert_array_equal(to_wgs84(glon, glat, "gcj-02"), gcj02_to_wgs84(glon, glat))
    assert_array_equal(to_wgs84(glon, glat, "Bd-09"), bd09_to_wgs84(glon, glat))
    assert_array_equal(from_wgs84(glon, glat, "GCJ02"), wgs84_to_gcj02(glon, glat))
    assert_array_equal(from_wgs84(glon, glat, "BD09"), wgs84_to_bd09(glon, glat))
    assert_array_equal(to_wgs84(glon, glat, "WGS84"), (glon, glat))


def test_cgcs2000_is_a_null_transformation_through_pyproj():
    lon = np.array([116.397, 115.5, 117.4])
    lat = np.array([39.909, 40.9, 39.5])
    for out in (cgcs2000_to_wgs84(lon, lat), wgs84_to_cgcs2000(lon, lat),
                to_wgs84(lon, lat, "EPSG:4490"), from_wgs84(lon, lat, "cgcs2000")):
        assert_allclose(out, (lon, lat), rtol=0, atol=1e-12)


def test_epsg4548_against_geodesy_and_round_trip():
    # On the central meridian (117°E) a Gauss-Kruger easting is the false easting
    # and the northing is the meridian arc from the equator (scale factor 1).
    x, y = to_metric(117.0, 39.9)
    arc = Geod(ellps="GRS80").inv(117.0, 0.0, 117.0, 39.9)[2]
    assert_allclose(x, 500_000.0, rtol=0, atol=1e-6)
    assert_allclose(y, arc, rtol=0, atol=1e-3)

    # Tiananmen is ~51 km west of 117°E; short distances agree with geodesics to 1e-4.
    lon = np.array([116.397, 116.407])
    lat = np.array([39.909, 39.915])
    x, y = to_metric(lon, lat)
    assert 440_000 < x[0] < 460_000 and 4_410_000 < y[0] < 4_430_000
    planar = np.hypot(np.diff(x), np.diff(y))[0]
    assert_allclose(planar, geodesic_m(lon[0], lat[0], lon[1], lat[1]), rtol=1e-4)

    # Round trip through metres, and the to_wgs84 route agrees with from_metric.
    rng = np.random.default_rng(7)
    lon = rng.uniform(115.4, 117.5, 10_000)
    lat = rng.uniform(39.4, 41.1, 10_000)
    x, y = to_metric(lon, lat, "EPSG:4548")
    back = from_metric(x, y, "EPSG:4548")
    assert_allclose(back, (lon, lat), rtol=0, atol=1e-9)
    assert_array_equal(to_wgs84(x, y, "EPSG:4548"), back)


def test_metric_crs_must_be_projected_in_metres():
    for bad in ("WGS84", "GCJ02", "EPSG:4490", "EPSG:2263"):  # 2263: NY State Plane, US feet
        with pytest.raises(CoordinateError, match="projected in metres"):
            to_metric([116.4], [39.9], bad)
    x, y = to_metric([116.4], [39.9], "EPSG:32650")  # UTM 50N is fine
    assert 400_000 < x[0] < 500_000


def test_pyproj_path_propagates_nan():
    x, y = to_metric(np.array([116.4, np.nan, 116.5]), np.array([39.9, 39.9, np.nan]))
    assert_array_equal(np.isnan(x), [False, True, True])
    assert_array_equal(np.isnan(y), [False, True, True])


@pytest.mark.parametrize("src,dst", [("EPSG:4326", "EPSG:4548"), ("EPSG:4548", "EPSG:4326"), ("EPSG:4326", "EPSG:32650"),
                                     ("EPSG:4490", "EPSG:4326"), ("EPSG:4326", "EPSG:3857")])
def test_transformers_give_pyproj_from_crs_numbers_in_every_thread(src, dst):
    """The cached transformers are rebuilt cheaply in a new thread (every page run of the app does that) and
    give exactly what ``pyproj.Transformer.from_crs`` gives."""
    import threading

    import pyproj

    from geo.grid.crs import cgcs2000_to_wgs84, from_metric, to_metric

    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(115.4, 117.6, 500), rng.uniform(39.4, 41.1, 500)
    if src == "EPSG:4548":
        lon, lat = pyproj.Transformer.from_crs("EPSG:4326", src, always_xy=True).transform(lon, lat)
    expected = pyproj.Transformer.from_crs(src, dst, always_xy=True).transform(lon, lat)

    def ours() -> tuple[np.ndarray, np.ndarray]:
        if src == "EPSG:4490":
            return cgcs2000_to_wgs84(lon, lat)
        return from_metric(lon, lat, src) if dst == "EPSG:4326" else to_metric(lon, lat, dst)

    got: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(2):  # a fresh thread each time, like Streamlit's script runs
        t = threading.Thread(target=lambda: got.append(ours()))
        t.start()
        t.join()
    assert len(got) == 2
    for x, y in got:
        assert_array_equal(x, np.asarray(expected[0]))
        assert_array_equal(y, np.asarray(expected[1]))
