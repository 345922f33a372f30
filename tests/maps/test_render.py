"""Map layers (geo/maps/render.py): offline assets, colours and legends, GCJ-02 shifting, layer contents."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import CoordinateError
from geo.grid import h3cells
from geo.grid.crs import from_wgs84, wgs84_to_gcj02
from geo.maps import render

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cells() -> gpd.GeoDataFrame:
    """A 2-ring of res-9 cells in Xicheng with known counts and bins."""
    centre = h3cells.cells_for_points(np.array([116.366]), np.array([39.912]), 9)
    import h3

    ids = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(int(centre[0])), 2)), dtype=np.int64)
    n = len(ids)
    bins = np.array([3, 2, 1, 0, -1, -2, -3] * 3)[:n]
    count = np.arange(n) % 5  # zeros included
    return gpd.GeoDataFrame({
        "h3": h3cells.cells_to_hex(ids), "cell": ids, "count": count, "density": count / 0.075,
        "gi_z": bins * 1.2, "bin": bins, "grid_name": "样例<网格>", "street_name": "西长安街",
    }, geometry=h3cells.cell_polygons(ids), crs="EPSG:4326")


def _features(layer: folium.GeoJson) -> list[dict]:
    return layer.data["features"]


def test_vendored_leaflet_is_present_and_licensed() -> None:
    for rel in render.LOCAL_ASSETS.values():
        assert (ROOT / "static" / rel).is_file(), rel
    js = (ROOT / "static" / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    assert f"Leaflet {render.LEAFLET_VERSION}, a JS library" in js
    assert "BSD 2-Clause" in (ROOT / "static" / "leaflet" / "LICENSE").read_text(encoding="utf-8")
    assert "Leaflet" in (ROOT / "static" / "LICENSES.md").read_text(encoding="utf-8")
    for image in ("layers.png", "layers-2x.png"):  # the layer switcher's icon, referenced by leaflet.css
        assert (ROOT / "static" / "leaflet" / "images" / image).is_file()


def test_maps_use_only_local_assets(cells: gpd.GeoDataFrame) -> None:
    m = render.base_map(cells.total_bounds)
    layer, legend = render.cells_layer(cells, "gi")
    layer.add_to(m)
    legend.add_to(m)
    render.area_layer(shapely.union_all(cells.geometry.values)).add_to(m)
    posts = pd.DataFrame({"rank": [1], "name": ["甲路与乙街交叉口"], "lon": [116.366], "lat": [39.912],
                          "covered": [12.0], "existing": [False]})
    render.posts_layer(posts, 300).add_to(m)
    before = render.asset_links(m)
    assert any("cdn" in u for u in before["js"])  # folium's defaults point at CDNs
    render.finish(m, asset_base="/base/app/static")
    links = render.asset_links(m)
    assert links == {"js": ["/base/app/static/leaflet/leaflet.js"], "css": ["/base/app/static/leaflet/leaflet.css"]}
    html = m.get_root().render()
    assert not re.search(r"""(src|href)=["']https?://""", html), "a CDN link survived"


def test_unknown_assets_are_refused() -> None:
    from folium.plugins import MarkerCluster

    m = render.base_map((116.3, 39.9, 116.4, 40.0))
    MarkerCluster().add_to(m)
    with pytest.raises(ValueError, match="MarkerCluster needs the JavaScript asset 'markerclusterjs'"):
        render.use_local_assets(m)


def test_gi_colours_and_legend_follow_arcgis(cells: gpd.GeoDataFrame) -> None:
    assert list(render.bin_colours(np.arange(-3, 4))) == [
        "#4575b5", "#849eba", "#c0ccbe", "#ffffbf", "#fab984", "#ed7551", "#d62f27"]
    zh = render.legend("gi", lang="zh").html
    en = render.legend("gi", lang="en").html
    assert zh.count("<i ") == en.count("<i ") == 7
    assert "热点（99% 置信度）" in zh and "冷点（90% 置信度）" in zh and "不显著" in zh
    assert "Hot spot – 99% confidence" in en and "Cold spot – 95% confidence" in en
    # hot on top, cold at the bottom, as ArcGIS draws it
    assert zh.index("#d62f27") < zh.index("#ffffbf") < zh.index("#4575b5")


def test_gi_layer_draws_every_cell_with_its_bin_colour(cells: gpd.GeoDataFrame) -> None:
    layer, _ = render.cells_layer(cells, "gi", lang="en")
    feats = _features(layer)
    assert len(feats) == len(cells)
    by_hex = {f["properties"]["h3"]: f for f in feats}
    for _, row in cells.iterrows():
        style = by_hex[row["h3"]]["properties"]["style"]
        assert style["fillColor"] == render.BIN_COLOURS[row["bin"]]
    tip = by_hex[cells["h3"].iloc[0]]["properties"]["tip"]
    assert "Events: 0" in tip and "Hot spot – 99% confidence" in tip
    assert "样例&lt;网格&gt;" in tip  # names are HTML-escaped


def test_count_and_density_layers_skip_empty_cells_and_use_classes(cells: gpd.GeoDataFrame) -> None:
    layer, legend = render.cells_layer(cells, "count", lang="zh")
    feats = _features(layer)
    assert len(feats) == int((cells["count"] > 0).sum())
    darkest = render.SEQUENTIAL_COLOURS[-1]
    top = max(feats, key=lambda f: int(re.search(r"事件数: (\d+)", f["properties"]["tip"]).group(1)))
    assert top["properties"]["style"]["fillColor"] == darkest
    assert "事件数" in legend.html and "4" in legend.html
    _, dens_legend = render.cells_layer(cells, "density", lang="en")
    assert "Events per km²" in dens_legend.html and "53.3" in dens_legend.html  # 4 / 0.075, one decimal
    with pytest.raises(ValueError, match="unknown map mode 'heat'"):
        render.cells_layer(cells, "heat")  # type: ignore[arg-type]


def test_demand_layer_without_gi_columns_draws_counts_and_names_no_bin(cells: gpd.GeoDataFrame) -> None:
    """The planner's demand (counts only) draws like the count mode, its tooltips without a Gi* line."""
    demand = cells.drop(columns=["gi_z", "p_value", "bin"], errors="ignore")
    full = {f["properties"]["h3"]: f for f in _features(render.cells_layer(cells, "count", lang="en")[0])}
    feats = _features(render.cells_layer(demand, "count", lang="en")[0])
    assert {f["properties"]["h3"] for f in feats} == set(full)
    for f in feats:
        assert f["properties"]["style"] == full[f["properties"]["h3"]]["properties"]["style"]
        assert f["properties"]["tip"] == full[f["properties"]["h3"]]["properties"]["tip"].rsplit("<br>", 1)[0]
        assert "confidence" not in f["properties"]["tip"] and "Not significant" not in f["properties"]["tip"]


def test_class_breaks() -> None:
    breaks = render.class_breaks(np.array([0, 0, 1, 1, 2, 3, 5, 8, 13, 21.0]))
    assert np.all(np.diff(breaks) > 0) and breaks[-1] == 21
    colours = render.sequential_colours(np.array([0, 1, 21, np.nan]), breaks)
    assert colours[0] == "" and colours[3] == "" and colours[2] == render.SEQUENTIAL_COLOURS[-1]
    assert render.class_breaks(np.zeros(4)).size == 0
    # few distinct values: fewer classes, the top one still darkest
    b = render.class_breaks(np.array([2, 2, 2, 2.0]))
    assert list(b) == [2.0] and render.sequential_colours(np.array([2.0]), b)[0] == render.SEQUENTIAL_COLOURS[-1]


def test_gcj02_tiles_shift_every_overlay(cells: gpd.GeoDataFrame) -> None:
    tiles = render.TileSource(url="https://example.invalid/{z}/{x}/{y}.png", crs="gcj-02")
    crs = render.display_crs(tiles)
    assert crs == "GCJ02"
    wgs, _ = render.cells_layer(cells, "gi", crs="WGS84")
    gcj, _ = render.cells_layer(cells, "gi", crs=crs)
    a = np.array(wgs.data["features"][0]["geometry"]["coordinates"][0])
    b = np.array(gcj.data["features"][0]["geometry"]["coordinates"][0])
    ex, ey = wgs84_to_gcj02(a[:, 0], a[:, 1])
    np.testing.assert_allclose(b[:, 0], ex, atol=2e-6)
    np.testing.assert_allclose(b[:, 1], ey, atol=2e-6)
    assert np.abs(b - a).max() > 1e-3  # hundreds of metres in Beijing: never drawn unshifted
    posts = pd.DataFrame({"rank": [1], "name": ["p"], "lon": [116.366], "lat": [39.912], "covered": [1.0],
                          "existing": [True]})
    group = render.posts_layer(posts, 250, crs=crs)
    layers = [c for c in group._children.values() if isinstance(c, folium.GeoJson)]
    x, y = layers[0].data["features"][0]["geometry"]["coordinates"]
    gx, gy = from_wgs84(116.366, 39.912, "GCJ02")
    assert (x, y) == pytest.approx((float(gx), float(gy)), abs=2e-6)
    assert layers[0].marker.options["radius"] == 250  # coverage circle in metres
    assert layers[1].data["features"][0]["properties"]["style"]["fillColor"] == render.EXISTING_POST_COLOUR
    # a click read on GCJ-02 tiles goes back to WGS84
    lon, lat = render.points_from_display(np.array([x]), np.array([y]), crs)
    assert (lon[0], lat[0]) == pytest.approx((116.366, 39.912), abs=1e-6)


def test_tile_sources_are_validated() -> None:
    assert render.display_crs(None) == "WGS84"
    assert render.TileSource(url="https://t/{z}/{x}/{y}.png", crs="CGCS2000").crs == "WGS84"
    with pytest.raises(CoordinateError, match="BD-09"):
        render.TileSource(url="https://t/{z}/{x}/{y}.png", crs="BD09")
    with pytest.raises(CoordinateError, match="template"):
        render.TileSource(url="https://t/tiles.png")
    assert render.TileSource.from_config(None) is None
    assert render.TileSource.from_config({"url": ""}) is None
    assert render.TileSource.from_config({"url": "https://t/{z}/{x}/{y}.png", "crs": "GCJ02"}).crs == "GCJ02"


def test_base_map_has_no_tiles_by_default() -> None:
    m = render.base_map((116.3, 39.9, 116.4, 40.0))
    assert not [c for c in m._children.values() if isinstance(c, folium.TileLayer)]
    with_tiles = render.base_map((116.3, 39.9, 116.4, 40.0),
                                 tiles=render.TileSource(url="https://t/{z}/{x}/{y}.png"))
    assert len([c for c in with_tiles._children.values() if isinstance(c, folium.TileLayer)]) == 1


def test_grids_roads_and_zones_layers() -> None:
    box = shapely.box(116.36, 39.90, 116.37, 39.91)
    grids = gpd.GeoDataFrame({"grid_id": ["B01", "B01-M1"], "tier": ["big", "middle"], "name": ["大网格01", "中网格"],
                              "unit": ["单位", "单位"], "street_name": ["西长安街", "西长安街"], "area_km2": [1.2, 0.6]},
                             geometry=[box, box], crs="EPSG:4326")
    group = render.grids_layer(grids, "big", lang="en")
    outlines, labels = [c for c in group._children.values() if isinstance(c, folium.GeoJson)]
    assert len(outlines.data["features"]) == 1 and outlines.data["features"][0]["geometry"]["type"] == "LineString"
    assert labels.data["features"][0]["properties"]["label"] == "大网格01"
    assert group.layer_name == "Big grid outlines"
    roads = gpd.GeoDataFrame({"name": ["甲路", "乙胡同"], "class": ["main", "alley"]},
                             geometry=[shapely.LineString([(116.36, 39.90), (116.37, 39.91)])] * 2, crs="EPSG:4326")
    assert len(render.roads_layer(roads).data["features"]) == 1  # alleys are left out by default
    zones = gpd.GeoDataFrame({"zone_id": [0], "events": [120], "top_categories": ["red_light:80; wrong_way:40"],
                              "peak_hour": [8], "streets": ["西长安街"]}, geometry=[box], crs="EPSG:4326")
    tip = render.zones_layer(zones, lang="en").data["features"][0]["properties"]["tip"]
    assert "Zone 0" in tip and "120" in tip and "8:00" in tip


def test_feature_collection_rounds_coordinates() -> None:
    fc = render.feature_collection(np.array([shapely.Point(116.123456789, 39.987654321)]),
                                   pd.DataFrame({"a": [1]}))
    assert fc["features"][0]["geometry"]["coordinates"] == [116.123457, 39.987654]
    assert json.loads(json.dumps(fc))["features"][0]["properties"] == {"a": 1}


def test_deck_for_large_inputs(cells: gpd.GeoDataFrame) -> None:
    deck = render.hotspot_deck(cells, "count", lang="en", area=shapely.union_all(cells.geometry.values))
    spec = json.loads(deck.to_json())
    hexes = next(layer for layer in spec["layers"] if layer["@@type"] == "H3HexagonLayer")
    assert len(hexes["data"]) == int((cells["count"] > 0).sum())
    # no base map: Streamlit fetches a Carto style from the internet unless the provider is None
    assert spec.get("mapProvider") is None and "cartocdn" not in json.dumps(spec)
    assert "Events" in deck._tooltip["html"]
    html = render.legend_html("gi", lang="en")
    assert html.count("<i ") == 7 and "Hot spot – 99% confidence" in html and "#d62f27" in html
    assert 8 < spec["initialViewState"]["zoom"] < 17


def test_emerging_layer_colours_cells_by_class_with_a_legend_in_both_languages(cells: gpd.GeoDataFrame) -> None:
    from geo.analysis.trends import CLASSES

    assert set(render.EMERGING_COLOURS) == set(CLASSES)  # every class the analysis gives has a colour

    def rgb(colour: str) -> tuple[int, int, int]:
        return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)

    for name, colour in render.EMERGING_COLOURS.items():
        r, g, b = rgb(colour)
        if name.endswith("hot spot"):
            assert r > b, name  # reds
        elif name.endswith("cold spot"):
            assert b > r, name  # blues
        else:
            assert min(r, g, b) >= 0xF0, name  # light
    patterns = np.array(["persistent hot spot", "new cold spot", "no pattern"] * 7, dtype=object)[:len(cells)]
    em = cells.assign(pattern=patterns)
    layer, leg = render.cells_layer(em, "emerging", lang="en")
    feats = _features(layer)
    assert len(feats) == len(em)  # a small area: every cell drawn, like Gi*
    assert [f["properties"]["style"]["fillColor"] for f in feats] == [render.EMERGING_COLOURS[p] for p in patterns]
    assert "Emerging pattern: Persistent hot spot" in feats[0]["properties"]["tip"]
    # the legend lists the classes on the map, in the catalogue's language
    assert "Emerging hot spot analysis" in leg.html and "Persistent hot spot" in leg.html
    assert "New cold spot" in leg.html and "No pattern" in leg.html and "Sporadic hot spot" not in leg.html
    zh = render.legend_html("emerging", lang="zh", classes=["intensifying hot spot"])
    assert "新兴热点分析" in zh and "加强热点" in zh and render.EMERGING_COLOURS["intensifying hot spot"] in zh
    assert render.legend("emerging", lang="zh").html.count("<i ") == len(CLASSES)  # all when not told
    # beyond the folium limit only cells with a pattern are drawn
    assert len(render.drawn_cells(em, "emerging", max_cells=5)) == int((patterns != "no pattern").sum())
    assert render.emerging_colours(np.array(["nonsense", None], dtype=object)).tolist() == ["", ""]


def test_layers_travel_as_compact_json_with_their_styles_listed_once(cells: gpd.GeoDataFrame) -> None:
    layer, _ = render.cells_layer(cells, "gi", lang="zh")
    data = layer.data
    text = layer.json
    sent = json.loads(text)
    # each distinct style once, each feature naming its style by position; the data reads back unchanged
    assert len(sent["styles"]) == len({json.dumps(f["properties"]["style"], sort_keys=True) for f in data["features"]})
    assert all(isinstance(f["properties"]["style"], int) for f in sent["features"])
    assert render.GeoJsonLayer(text).data == data
    # UTF-8 text (not \uXXXX), and nothing that could end a <script> element
    assert "不显著" in text and "<" not in text and ">" not in text and "\\u003cb\\u003e" in text
    assert render.to_json({"a": "</script>&\u2028"}) == '{"a":"\\u003c/script\\u003e\\u0026\\u2028"}'
    # a layer made from the cached text draws the same map as one made from the data
    maps = []
    for source in (data, text):
        m = render.base_map(cells.total_bounds)
        render.GeoJsonLayer(source, name="cells").add_to(m)
        maps.append(m.get_root().render())
    strip = re.compile(r"_[0-9a-f]{32}")
    assert strip.sub("", maps[0]) == strip.sub("", maps[1])
    assert "addData" in maps[0] and "样例&lt;网格&gt;" in json.loads(text)["features"][0]["properties"]["tip"]
