"""Map layers and colour scales for the app and the notebooks (folium / pydeck; never Streamlit).

What is drawn
-------------
- H3 cells coloured by Getis-Ord Gi* bin (the ArcGIS *Hot Spot Analysis*
  diverging palette: red hot, blue cold, pale yellow not significant) or by
  count / density (a sequential yellow-orange-red scale with quantile
  classes) or by emerging hot-spot class (:mod:`geo.analysis.trends`: hot classes in reds, cold in
  blues, no pattern light grey), each with a legend in the catalogue's language;
- hotspot zones, official grid outlines (with labels), roads, the study-area
  boundary, and enforcement posts with their coverage circles.

Offline maps
------------
folium links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs; without
internet the map is a blank frame.  :func:`use_local_assets` rewrites every
element's links to the copies served by the app (``static/leaflet``, see
``static/LICENSES.md``) and drops the ones the layers here do not use.  The
legend and tooltips are plain HTML, so nothing else is needed.

Coordinates on base maps
------------------------
Geometries are stored in WGS84.  There is no tile layer by default (no
internet); the base map is the workspace's own boundary, grids and roads.  A
tile layer is optional (:class:`TileSource`) and carries its CRS: on GCJ-02
tiles (Amap, Tencent) every overlay is shifted to GCJ-02 first
(:func:`to_display`) — WGS84 points on GCJ-02 tiles sit several hundred
metres off in Beijing.

Light layers
------------
The layers are :class:`GeoJsonLayer`: the FeatureCollection travels as compact JSON (UTF-8, each
distinct style listed once, :func:`layer_json`) that can be made once and cached as text; such a
layer, and the street map (:class:`geo.maps.basemap.BaseMap`), render without branca compiling
their data as a Jinja template (:func:`render_script`).

Large inputs
------------
folium embeds every feature in the page; beyond :data:`FOLIUM_MAX_CELLS`
drawn cells :func:`hotspot_deck` (deck.gl via pydeck, bundled with Streamlit)
draws the cells on the GPU instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.elements import ElementAddToElement
from folium.template import Template
from folium.utilities import JsCode

from geo.errors import CoordinateError
from geo.grid.crs import from_wgs84, geometry_from_wgs84, normalize_crs_name
from geo.i18n import Catalogue, catalogue

LEAFLET_VERSION = "1.9.4"
"""Version of the Leaflet copy in ``static/leaflet``."""

ASSET_BASE = "/app/static"
"""URL under which Streamlit serves ``./static`` (``server.enableStaticServing``)."""

LOCAL_ASSETS: dict[str, str] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
}
"""folium link name -> file under ``static/``."""

UNUSED_ASSETS = frozenset({
    "jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
    "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css",
})
"""folium defaults the layers of this module never need (markers use no icons)."""

FOLIUM_MAX_CELLS = 3000
"""Above this many drawn cells the app switches from folium (SVG) to deck.gl."""

Mode = Literal["gi", "count", "density", "emerging"]
MODES: tuple[str, ...] = ("gi", "count", "density", "emerging")

BIN_COLOURS: dict[int, str] = {
    -3: "#4575b5", -2: "#849eba", -1: "#c0ccbe", 0: "#ffffbf", 1: "#fab984", 2: "#ed7551", 3: "#d62f27",
}
"""Gi* bin -> fill colour: ArcGIS Hot Spot Analysis palette (cold 99/95/90 %, n.s., hot 90/95/99 %)."""

BIN_LEGEND_ORDER: tuple[int, ...] = (3, 2, 1, 0, -1, -2, -3)

EMERGING_COLOURS: dict[str, str] = {
    "new hot spot": "#fcbba1", "consecutive hot spot": "#fc9272", "intensifying hot spot": "#a50f15",
    "persistent hot spot": "#de2d26", "diminishing hot spot": "#fb6a4a", "sporadic hot spot": "#fdd0a2",
    "oscillating hot spot": "#fdae6b", "historical hot spot": "#d6604d",
    "new cold spot": "#c6dbef", "consecutive cold spot": "#9ecae1", "intensifying cold spot": "#08519c",
    "persistent cold spot": "#3182bd", "diminishing cold spot": "#6baed6", "sporadic cold spot": "#deebf7",
    "oscillating cold spot": "#b3cde3", "historical cold spot": "#4292c6",
    "no pattern": "#f2f2f2", "too few slices": "#ffffff",
}
"""Emerging hot-spot class (:data:`geo.analysis.trends.CLASSES`) -> fill: hot classes in reds, cold in blues,
no pattern light grey.  The order is the legend's."""

EMERGING_QUIET = ("no pattern", "too few slices")

SEQUENTIAL_COLOURS: tuple[str, ...] = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
"""Sequential classes for counts and densities (ColorBrewer YlOrRd 6)."""

GRID_STYLE: dict[str, dict[str, Any]] = {
    "big": {"color": "#222222", "weight": 2.5, "dashArray": None},
    "middle": {"color": "#555555", "weight": 1.5, "dashArray": "6 3"},
    "small": {"color": "#777777", "weight": 0.8, "dashArray": "2 3"},
}
ROAD_STYLE: dict[str, dict[str, Any]] = {
    "main": {"color": "#8c8c8c", "weight": 3.5},
    "secondary": {"color": "#a6a6a6", "weight": 2.2},
    "branch": {"color": "#bfbfbf", "weight": 1.2},
    "alley": {"color": "#d0d0d0", "weight": 0.8},
}
ZONE_COLOUR = "#6a3d9a"
POST_COLOUR = "#1f78b4"
EXISTING_POST_COLOUR = "#33a02c"

_COORD_DIGITS = 6  # ~0.1 m: enough for display, a third smaller pages


# --- base maps and coordinate systems ---------------------------------------------------------

@dataclass(frozen=True)
class TileSource:
    """An optional raster tile layer and the coordinate system its tiles are drawn in.

    Parameters
    ----------
    url : str
        Tile URL template (``https://.../{z}/{x}/{y}.png``) — must be reachable
        from the user's browser.
    crs : str
        ``WGS84`` (OpenStreetMap-style tiles, CGCS2000 within centimetres) or
        ``GCJ02`` (Amap, Tencent).  Baidu's BD-09 tiles use their own tiling
        scheme and cannot be drawn by Leaflet's Web Mercator; they are refused.
    attribution : str
        Shown in the map corner (most providers require it).
    """

    url: str
    crs: str = "WGS84"
    attribution: str = ""
    max_zoom: int = 18
    subdomains: str = "abc"

    def __post_init__(self) -> None:
        if not self.url or "{z}" not in self.url:
            raise CoordinateError(f"tile URL {self.url!r} must be a template with {{z}}, {{x}} and {{y}}")
        crs = normalize_crs_name(self.crs)
        if crs in ("CGCS2000", "EPSG:4490"):
            crs = "WGS84"
        if crs not in ("WGS84", "GCJ02"):
            raise CoordinateError(
                f"tile layer CRS {self.crs!r} is not supported; use WGS84 (OpenStreetMap-style tiles) or "
                "GCJ02 (Amap/Tencent). BD-09 (Baidu) tiles use a different tiling scheme.")
        object.__setattr__(self, "crs", crs)

    @classmethod
    def from_config(cls, config: Any) -> TileSource | None:
        """A tile source from a mapping / settings object with ``url`` and ``crs`` (``None`` if no URL)."""
        if config is None:
            return None
        get = config.get if isinstance(config, dict) else (lambda k, d=None: getattr(config, k, d))
        url = get("url") or get("tiles")
        if not url:
            return None
        return cls(url=str(url), crs=str(get("crs") or "WGS84"), attribution=str(get("attribution") or ""),
                   max_zoom=int(get("max_zoom") or 18), subdomains=str(get("subdomains") or "abc"))


def display_crs(tiles: TileSource | None) -> str:
    """The CRS overlays must be drawn in: the tile layer's, else WGS84."""
    return "WGS84" if tiles is None else tiles.crs


def to_display(data: Any, crs: str = "WGS84") -> Any:
    """Shift WGS84 geometries (shapely, array, GeoSeries, GeoDataFrame) to the display CRS."""
    if normalize_crs_name(crs) == "WGS84":
        return data
    return geometry_from_wgs84(data, crs)


def points_to_display(lon: np.ndarray, lat: np.ndarray, crs: str = "WGS84") -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat arrays in the display CRS (used for click positions, centres)."""
    if normalize_crs_name(crs) == "WGS84":
        return np.asarray(lon, float), np.asarray(lat, float)
    return from_wgs84(lon, lat, crs)


def points_from_display(lon: np.ndarray, lat: np.ndarray, crs: str = "WGS84") -> tuple[np.ndarray, np.ndarray]:
    """A position read from the map (e.g. a click) back in WGS84."""
    from geo.grid.crs import to_wgs84

    if normalize_crs_name(crs) == "WGS84":
        return np.asarray(lon, float), np.asarray(lat, float)
    return to_wgs84(lon, lat, crs)


MAP_CSS = (
    ".leaflet-container{background:#f6f5f1;font:12px/1.4 'Noto Sans CJK SC','Microsoft YaHei',"
    "sans-serif}.gw-legend{background:rgba(255,255,255,.92);padding:6px 8px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.3);line-height:18px;color:#222}.gw-legend i{width:14px;height:14px;"
    "float:left;margin:2px 6px 0 0;border:1px solid #888}.gw-legend b{display:block;margin-bottom:2px}"
    ".leaflet-tooltip.gw-label,.leaflet-tooltip.gw-rank{background:transparent;border:0;box-shadow:none;"
    "padding:0;white-space:nowrap}.leaflet-tooltip.gw-label:before,.leaflet-tooltip.gw-rank:before"
    "{display:none}.gw-label{font-size:11px;color:#333;text-shadow:0 0 3px #fff,0 0 3px #fff}"
    ".gw-rank{font-size:10px;font-weight:700;color:#fff}"
    # metres only: the imperial line of Leaflet's scale bar ("1 mi") is neither language's unit here
    ".leaflet-control-scale-line:not(:first-child){display:none}"
)
"""The maps' own styles: paper background, legend box, label tooltips, metric scale bar."""


class _MapCss(Element):
    """:data:`MAP_CSS` in the page header (its template compiled once, not on every map)."""

    _template = Template("<style>" + MAP_CSS + "</style>")


def base_map(bounds: Sequence[float], *, tiles: TileSource | None = None, lang: str = "zh",
             height: str = "100%") -> folium.Map:
    """An empty map fitted to ``bounds`` (WGS84 ``minx, miny, maxx, maxy``).

    No tile layer unless ``tiles`` is given: the workspace's own layers are
    the base map, so it works offline.  Call :func:`use_local_assets` once
    all layers are added.
    """
    crs = display_crs(tiles)
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    (x0, x1), (y0, y1) = points_to_display(np.array([minx, maxx]), np.array([miny, maxy]), crs)
    # fractional zoom steps let a tall district fill a wide frame
    m = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=13, tiles=None, control_scale=True,
                   height=height, min_zoom=9, max_zoom=19, zoom_snap=0.25, zoom_delta=0.5)
    if tiles is not None:
        folium.TileLayer(tiles=tiles.url, attr=tiles.attribution or " ", max_zoom=tiles.max_zoom,
                         subdomains=tiles.subdomains, name=catalogue(lang).t("map.layer.tiles"),
                         control=True).add_to(m)
    m.fit_bounds([[y0, x0], [y1, x1]])
    # a light paper background instead of Leaflet's grey when there are no tiles
    m.get_root().header.add_child(_MapCss(), name="gridwatch_css")
    return m


def _walk(element: Any) -> Any:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def use_local_assets(m: folium.Map, asset_base: str = ASSET_BASE) -> folium.Map:
    """Point every JS/CSS link of the map at the app's own copies; drop unused ones.

    Parameters
    ----------
    m : folium.Map
        A map with all its layers added.
    asset_base : str
        URL prefix under which ``static/`` is served (``/app/static``, or
        ``/<baseUrlPath>/app/static`` behind a path prefix).

    Raises
    ------
    ValueError
        An element needs an asset that is not vendored (a folium plugin, say):
        copy it into ``static/`` and add it to :data:`LOCAL_ASSETS`.
    """
    base = asset_base.rstrip("/")

    def localise(links: list[tuple[str, str]], what: str, owner: Any) -> list[tuple[str, str]]:
        out = []
        for name, url in links:
            if name in LOCAL_ASSETS:
                out.append((name, f"{base}/{LOCAL_ASSETS[name]}"))
            elif name in UNUSED_ASSETS:
                continue
            else:
                raise ValueError(
                    f"{type(owner).__name__} needs the {what} asset {name!r} ({url}), which is not served "
                    "locally; copy it into static/ and add it to geo.maps.render.LOCAL_ASSETS, or do not use "
                    "that element (maps must work offline)")
        return out

    for el in _walk(m):
        if hasattr(el, "default_js"):
            el.default_js = localise(list(el.default_js), "JavaScript", el)
        if hasattr(el, "default_css"):
            el.default_css = localise(list(el.default_css), "CSS", el)
    return m


def asset_links(m: folium.Map) -> dict[str, list[str]]:
    """The JS and CSS URLs the map's elements ask for (what the browser will load)."""
    js: list[str] = []
    css: list[str] = []
    for el in _walk(m):
        js += [u for _, u in getattr(el, "default_js", [])]
        css += [u for _, u in getattr(el, "default_css", [])]
    return {"js": list(dict.fromkeys(js)), "css": list(dict.fromkeys(css))}


# --- colour scales ------------------------------------------------------------------------------

def class_breaks(values: np.ndarray, k: int = len(SEQUENTIAL_COLOURS)) -> np.ndarray:
    """Upper bounds of at most ``k`` quantile classes of the positive values (zeros get no class).

    Returns a strictly increasing array whose last entry is the maximum; empty
    when no value is positive.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return np.zeros(0)
    qs = np.quantile(v, np.linspace(0, 1, k + 1)[1:])
    return np.unique(qs)


def sequential_colours(values: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Fill colour per value from :func:`class_breaks` (``""`` for zero / missing)."""
    v = np.asarray(values, dtype=float)
    idx = np.searchsorted(breaks, v, side="left")
    idx = np.clip(idx, 0, max(len(breaks) - 1, 0))
    palette = np.array(SEQUENTIAL_COLOURS[-len(breaks):] if len(breaks) else [""], dtype=object)
    out = palette[idx] if len(breaks) else np.full(len(v), "", dtype=object)
    return np.where(np.isfinite(v) & (v > 0), out, "")


def bin_colours(bins: np.ndarray) -> np.ndarray:
    b = np.clip(np.asarray(bins, dtype=np.int64), -3, 3)
    lut = np.array([BIN_COLOURS[i] for i in range(-3, 4)], dtype=object)
    return lut[b + 3]


def bin_labels(cat: Catalogue) -> dict[int, str]:
    """Gi* bin -> legend label (``热点 (99% 置信度)`` …)."""
    return {b: cat.t(f"legend.bin.{'hot' if b > 0 else 'cold' if b < 0 else 'ns'}{abs(b) if b else ''}")
            for b in BIN_LEGEND_ORDER}


def emerging_colours(patterns: np.ndarray) -> np.ndarray:
    """Fill colour per emerging hot-spot class (``""`` for a missing or unknown class)."""
    return pd.Series(patterns, dtype=object).map(EMERGING_COLOURS).fillna("").to_numpy(dtype=object)


def emerging_key(pattern: str) -> str:
    """Catalogue key of an emerging hot-spot class (``legend.emerging.new_hot_spot`` …)."""
    return "legend.emerging." + str(pattern).replace(" ", "_")


def emerging_labels(cat: Catalogue) -> dict[str, str]:
    """Emerging hot-spot class -> label in the catalogue's language."""
    return {p: cat.t(emerging_key(p)) for p in EMERGING_COLOURS}


def _hex_to_rgba(colours: np.ndarray, alpha: int) -> np.ndarray:
    """``#rrggbb`` strings -> (n, 4) uint8."""
    s = pd.Series(colours, dtype="string").fillna("#000000").str.lstrip("#")
    rgb = np.stack([s.str[i:i + 2].map(lambda h: int(h, 16)).to_numpy() for i in (0, 2, 4)], axis=1)
    return np.column_stack([rgb, np.full(len(s), alpha)]).astype(np.uint8)


# --- GeoJSON building ---------------------------------------------------------------------------

def _escape(s: pd.Series) -> pd.Series:
    return (s.astype("string").fillna("").str.replace("&", "&amp;", regex=False)
            .str.replace("<", "&lt;", regex=False).str.replace(">", "&gt;", regex=False))


def _round_geoms(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, _COORD_DIGITS))


def feature_collection(geoms: np.ndarray, properties: pd.DataFrame) -> dict[str, Any]:
    """A GeoJSON FeatureCollection dict (geometries already in the display CRS)."""
    geoms = _round_geoms(np.asarray(geoms, dtype=object))
    gj = json.loads(shapely.to_geojson(shapely.GeometryCollection(list(geoms)))) if len(geoms) else \
        {"geometries": []}
    props = properties.reset_index(drop=True)
    records = json.loads(props.to_json(orient="records", force_ascii=False)) if len(props) else []
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": str(i), "properties": p, "geometry": g}
        for i, (p, g) in enumerate(zip(records, gj["geometries"], strict=True))]}


_FEATURE_JS = JsCode("""
function(feature, layer) {
    var p = feature.properties;
    if (p.tip) { layer.bindTooltip(p.tip, {sticky: true}); }
    if (p.label) { layer.bindTooltip(p.label, {permanent: true, direction: 'center',
                                               className: p.label_class || 'gw-label'}); }
    if (p.hover && layer.setStyle) {
        layer.on('mouseover', function(e) { e.target.setStyle({weight: p.style.weight + 2, color: '#000'});
                                            if (e.target.bringToFront) { e.target.bringToFront(); } });
        layer.on('mouseout', function(e) { e.target.setStyle(p.style); });
    }
}
""")


def _geojson_layer(geoms: np.ndarray, props: pd.DataFrame, styles: list[dict[str, Any]] | dict[str, Any], *,
                   name: str, show: bool = True, hover: bool = False, marker: Any = None,
                   interactive: bool = True, control: bool = True) -> GeoJsonLayer:
    """A GeoJSON layer whose per-feature style, tooltip and label travel in the properties."""
    props = props.reset_index(drop=True).copy()
    props["style"] = styles if isinstance(styles, list) else [styles] * len(props)
    props["hover"] = hover
    data = feature_collection(geoms, props)
    return GeoJsonLayer(data, name=name, show=show, marker=marker, interactive=interactive, control=control)


def to_json(data: Any) -> str:
    """Compact JSON to embed in a page's script: UTF-8 text, ``<``, ``>``, ``&`` and line separators escaped.

    Half the size of folium's ASCII-escaped JSON for Chinese text, and safe inside ``<script>``.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def layer_json(data: dict[str, Any]) -> str:
    """A FeatureCollection of :func:`feature_collection` as the JSON :class:`GeoJsonLayer` sends to the browser.

    The per-feature ``style`` dicts are listed once (``styles``) and each feature names its style by
    position: a layer of 750 cells in seven colours carries seven style objects, not 750.
    """
    styles: dict[str, int] = {}
    table: list[Any] = []
    features = []
    for f in data.get("features", []):
        props = f.get("properties") or {}
        style = props.get("style")
        if isinstance(style, dict):
            k = json.dumps(style, sort_keys=True)
            if k not in styles:
                styles[k] = len(table)
                table.append(style)
            props = {**props, "style": styles[k]}
        features.append({**f, "properties": props})
    return to_json({"type": "FeatureCollection", "styles": table, "features": features})


class GeoJsonLayer(folium.GeoJson):
    """A GeoJSON layer sent as compact, pre-serialised JSON (see :func:`layer_json`).

    Behaves like ``folium.GeoJson`` with ``on_each_feature=_FEATURE_JS`` and each feature's
    ``properties.style`` as its style, but renders without re-encoding its data: ``data`` is a
    FeatureCollection dict or the string :func:`layer_json` made of one (what the app caches, so a
    rerun only pastes it into the page).  ``.data`` is the FeatureCollection either way.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {
            onEachFeature: {{ this.on_each_feature }},
            {%- if this.marker %}
            pointToLayer: function(feature, latlng) {
                return new L.{{ this.marker._name }}(latlng, {{ this.marker.options|tojavascript }});
            },
            {%- endif %}
            style: function(feature) { return feature.properties.style; },
            ...{{ this.options|tojavascript }}
        });
        (function(data) {
            data.features.forEach(function(f) {
                if (typeof f.properties.style === 'number') { f.properties.style = data.styles[f.properties.style]; }
            });
            {{ this.get_name() }}.addData(data);
        })({{ this.json }});
        {% endmacro %}
    """)

    def __init__(self, data: dict[str, Any] | str, *, name: str | None = None, show: bool = True,
                 control: bool = True, marker: Any = None, interactive: bool = True) -> None:
        # folium.GeoJson.__init__ would parse and re-encode the data: only the Layer part is wanted
        folium.map.Layer.__init__(self, name=name, overlay=True, control=control, show=show)
        self._name = "GeoJson"
        self._json = data if isinstance(data, str) else None
        self._data = data if isinstance(data, dict) else None
        self.embed = True
        self.embed_link = None
        self.parent_map = None
        self.style = self.highlight = False
        self.marker = marker
        self.on_each_feature = _FEATURE_JS
        self.options = {} if interactive else {"interactive": False}

    @property
    def data(self) -> dict[str, Any]:  # type: ignore[override]
        if self._data is None:
            parsed = json.loads(self._json or "{}")
            for f in parsed.get("features", []):
                if isinstance(f["properties"].get("style"), int):
                    f["properties"]["style"] = parsed["styles"][f["properties"]["style"]]
            parsed.pop("styles", None)
            self._data = parsed
        return self._data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data, self._json = value, None

    @property
    def json(self) -> str:  # type: ignore[override]
        if self._json is None:
            self._json = layer_json(self._data or {"type": "FeatureCollection", "features": []})
        return self._json

    @json.setter
    def json(self, value: Any) -> None:
        pass  # folium.GeoJson keeps a ``json`` attribute of its own; this class derives it from the data

    def freeze(self) -> GeoJsonLayer:
        """Serialise the data now and keep only the text (what a cache holds; ``.data`` parses it back)."""
        _ = self.json
        self._data = None
        return self

    def render(self, **kwargs: Any) -> None:
        if self.show:  # what folium.map.Layer.render adds
            self.add_child(ElementAddToElement(element_name=self.get_name(),
                                               element_parent_name=self._parent.get_name()),
                           name=self.get_name() + "_add")
        render_script(self, **kwargs)


class _Text(Element):
    """Text already rendered: put into the page as it is."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


def render_script(element: MacroElement, **kwargs: Any) -> None:
    """``MacroElement.render`` for an element whose ``script`` macro embeds a lot of data.

    branca wraps each macro's output in a new ``Element``, i.e. compiles it as a Jinja template
    again: a tenth of a second per render for a layer of 300 kB, and a map is rendered several times
    per page run.  Here the output goes into the page as plain text.
    """
    figure = element.get_root()
    if not isinstance(figure, Figure):
        raise AssertionError("You cannot render this Element if it is not in a Figure.")
    figure.script.add_child(_Text(element._template.module.script(element, kwargs)), name=element.get_name())
    for child in element._children.values():
        child.render(**kwargs)


# --- layers -----------------------------------------------------------------------------------------

def cell_fill(cells: pd.DataFrame, mode: Mode) -> tuple[np.ndarray, np.ndarray]:
    """Fill colours of the cells in a mode, and the class breaks (empty for ``gi``)."""
    if mode not in MODES:
        raise ValueError(f"unknown map mode {mode!r}; use one of {', '.join(MODES)}")
    if mode == "gi":
        return bin_colours(cells["bin"].to_numpy()), np.zeros(0)
    if mode == "emerging":
        return emerging_colours(cells["pattern"].to_numpy()), np.zeros(0)
    values = cells[mode].to_numpy(dtype=float)
    breaks = class_breaks(values)
    return sequential_colours(values, breaks), breaks


def drawn_cells(cells: pd.DataFrame, mode: Mode, max_cells: int | None = None) -> pd.DataFrame:
    """The cells worth drawing in a mode: all (Gi*, small areas) or only those with events.

    In Gi* mode every cell is drawn while the study area has at most
    ``max_cells`` cells (the pale n.s. background is part of the ArcGIS
    reading); beyond that only significant cells are.  The emerging mode does the same
    with cells that have a pattern.
    """
    if mode == "emerging":
        if max_cells is None or len(cells) <= max_cells:
            return cells
        return cells[~cells["pattern"].isin(EMERGING_QUIET).to_numpy()]
    if mode == "gi":
        if max_cells is None or len(cells) <= max_cells:
            return cells
        return cells[cells["bin"].to_numpy() != 0]
    return cells[cells["count"].to_numpy() > 0]


def cells_layer(cells: gpd.GeoDataFrame, mode: Mode = "gi", *, lang: str = "zh", crs: str = "WGS84",
                name: str | None = None, opacity: float = 0.7, max_cells: int | None = FOLIUM_MAX_CELLS
                ) -> tuple[folium.GeoJson, MacroElement]:
    """H3 cells coloured by Gi* bin, count or density, and the matching legend.

    Parameters
    ----------
    cells : GeoDataFrame
        ``HotspotResult.cells`` (``h3``, ``count``, ``density``, ``gi_z``,
        ``bin``, ``grid_name``, ``street_name``, WGS84 polygons); in the ``count`` and
        ``density`` modes the Gi* columns may be missing (a demand layer).
    mode : {"gi", "count", "density", "emerging"}
        ``emerging`` needs a ``pattern`` column (:func:`geo.analysis.trends.emerging_hotspots`).
    crs : str
        Display CRS (:func:`display_crs`).

    Returns
    -------
    (folium.GeoJson, legend)
    """
    cat = catalogue(lang)
    shown = drawn_cells(cells, mode, max_cells)
    fill, breaks = cell_fill(cells, mode)
    fill = pd.Series(fill, index=cells.index).loc[shown.index].to_numpy()
    labels = bin_labels(cat)
    # a leader reads a place, not a hex id: the cell is named by its official grid and street
    if "grid_name" in shown.columns:
        place = _escape(shown["grid_name"]).where(shown["grid_name"].notna(), cat.t("mapview.outside_grids"))
        street = _escape(shown["street_name"]).fillna("")
        head = place + pd.Series(np.where(street != "", " · " + street, ""), index=shown.index)
    else:
        head = cat.t("map.tip.cell") + " " + _escape(shown["h3"])
    tip = ("<b>" + head + "</b><br>"
           + cat.t("map.tip.count") + ": " + shown["count"].map(cat.fmt_int)
           + "<br>" + cat.t("map.tip.density") + ": " + shown["density"].map(lambda v: cat.fmt_num(v, 1)))
    if "bin" in shown.columns:  # a demand layer (counts only, :func:`geo.analysis.hotcells.demand_cells`) has none
        tip = tip + "<br>" + pd.Series(shown["bin"].map(labels).to_numpy(), index=shown.index)
    if "pattern" in shown.columns:
        tip = tip + "<br>" + cat.t("map.tip.pattern") + ": " + shown["pattern"].map(
            lambda p: cat.t(emerging_key(p)) if isinstance(p, str) else cat.t("format.missing"))
    props = pd.DataFrame({"h3": shown["h3"].to_numpy(), "tip": tip.to_numpy()})
    # not-significant cells stay faint so the street map under them reads (the ArcGIS look over a base map)
    quiet = (shown["bin"].to_numpy() == 0) if mode == "gi" else np.zeros(len(shown), dtype=bool)
    styles = [{"fillColor": c or "#ffffff", "fillOpacity": (0.25 if q else opacity) if c else 0.0,
               "color": "#7f7f7f", "weight": 0.3, "opacity": 0.5} for c, q in zip(fill, quiet, strict=True)]
    geoms = to_display(np.asarray(shown.geometry.values, dtype=object), crs)
    layer = _geojson_layer(geoms, props, styles, name=name or cat.t(f"map.layer.cells_{mode}"), hover=True)
    present = shown["pattern"].dropna().unique() if mode == "emerging" else None
    return layer, legend(mode, lang=lang, breaks=breaks, classes=present)


def _legend_rows(mode: Mode, cat: Catalogue, breaks: np.ndarray | None, digits: int | None,
                 classes: Sequence[str] | None = None) -> tuple[str, list[tuple[str, str]]]:
    rows: list[tuple[str, str]] = []
    if mode == "emerging":
        # only the classes on the map (18 rows would bury it); all when not told
        keep = set(EMERGING_COLOURS) if classes is None else set(classes)
        rows = [(colour, cat.t(emerging_key(p))) for p, colour in EMERGING_COLOURS.items() if p in keep]
    elif mode == "gi":
        labels = bin_labels(cat)
        rows = [(BIN_COLOURS[b], labels[b]) for b in BIN_LEGEND_ORDER]
    else:
        b = np.asarray(breaks if breaks is not None else [], dtype=float)
        d = (0 if mode == "count" else 1) if digits is None else digits
        colours = SEQUENTIAL_COLOURS[-len(b):] if len(b) else ()
        lower = 0.0
        for colour, upper in zip(colours, b, strict=True):
            rows.append((colour, f"{cat.fmt_num(lower, d)} – {cat.fmt_num(upper, d)}"))
            lower = upper
        if not rows:
            rows = [("#ffffff", cat.t("legend.no_events"))]
    return cat.t(f"legend.title.{mode}"), rows


def legend(mode: Mode, *, lang: str = "zh", breaks: np.ndarray | None = None, digits: int | None = None,
           classes: Sequence[str] | None = None) -> MacroElement:
    """A Leaflet control with the legend of a cell mode (plain HTML, no external assets).

    ``classes`` limits an ``emerging`` legend to the classes shown (default all).
    """
    title, rows = _legend_rows(mode, catalogue(lang), breaks, digits, classes)
    body = "".join(f"<div><i style='background:{c}'></i>{_html(text)}</div>" for c, text in rows)
    return _Legend(f"<b>{_html(title)}</b>{body}")


def legend_html(mode: Mode, *, lang: str = "zh", breaks: np.ndarray | None = None, digits: int | None = None,
                classes: Sequence[str] | None = None) -> str:
    """The same legend as self-contained HTML (inline styles), for maps drawn without Leaflet."""
    title, rows = _legend_rows(mode, catalogue(lang), breaks, digits, classes)
    swatch = "display:inline-block;width:14px;height:14px;margin:0 6px -2px 0;border:1px solid #888"
    body = "".join(f"<span style='margin-right:14px;white-space:nowrap'><i style='{swatch};background:{c}'></i>"
                   f"{_html(text)}</span> " for c, text in rows)
    return f"<div style='font-size:13px;line-height:22px'><b>{_html(title)}</b>&nbsp; {body}</div>"


def _html(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Legend(MacroElement):
    """A bottom-right Leaflet control holding an HTML legend."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: 'bottomright'});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create('div', 'gw-legend');
            div.innerHTML = {{ this.html|tojson }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html


def area_layer(area: shapely.Geometry, *, lang: str = "zh", crs: str = "WGS84") -> folium.GeoJson:
    """The study-area boundary (thick outline, no fill, not clickable)."""
    cat = catalogue(lang)
    geom = to_display(np.array([shapely.boundary(area)], dtype=object), crs)
    return _geojson_layer(geom, pd.DataFrame({"tip": [""]}),
                          {"color": "#111111", "weight": 3, "opacity": 0.9, "fill": False},
                          name=cat.t("map.layer.area"), interactive=False)


def grids_layer(grids: gpd.GeoDataFrame, tier: str = "big", *, lang: str = "zh", crs: str = "WGS84",
                labels: bool = True, show: bool = True) -> folium.FeatureGroup:
    """Outlines of the official grids of one tier, with name/unit tooltips and optional name labels."""
    cat = catalogue(lang)
    layer = grids[grids["tier"] == tier]
    style = {k: v for k, v in GRID_STYLE.get(tier, GRID_STYLE["small"]).items() if v is not None}
    tip = ("<b>" + _escape(layer["name"]) + "</b> (" + _escape(layer["grid_id"]) + ")<br>"
           + cat.t("map.tip.unit") + ": " + _escape(layer["unit"]) + "<br>"
           + cat.t("map.tip.street") + ": " + _escape(layer["street_name"]) + "<br>"
           + cat.t("map.tip.area") + ": " + layer["area_km2"].map(lambda v: cat.fmt_num(v, 2)) + " km²")
    group = folium.FeatureGroup(name=cat.t("map.layer.grids", tier=cat.t(f"tier.{tier}")), show=show)
    geoms = to_display(np.asarray(shapely.boundary(layer.geometry.values), dtype=object), crs)
    _geojson_layer(geoms, pd.DataFrame({"tip": tip.to_numpy()}), {**style, "opacity": 0.9, "fill": False},
                   name="outlines", control=False).add_to(group)
    if labels:
        pts = to_display(shapely.point_on_surface(layer.geometry.values), crs)
        lab = pd.DataFrame({"label": _escape(layer["name"]).to_numpy()})
        _geojson_layer(np.asarray(pts, dtype=object), lab, {}, name="labels", control=False,
                       marker=folium.CircleMarker(radius=0, stroke=False, fill=False)).add_to(group)
    return group


def roads_layer(roads: gpd.GeoDataFrame, *, lang: str = "zh", crs: str = "WGS84",
                classes: Sequence[str] = ("main", "secondary"), show: bool = True) -> folium.GeoJson:
    """Roads of the given classes (grey, width by class; named tooltips)."""
    cat = catalogue(lang)
    layer = roads[roads["class"].isin(list(classes))] if "class" in roads else roads
    cls = layer["class"].astype("string").fillna("branch") if "class" in layer else \
        pd.Series("branch", index=layer.index)
    styles = [{**ROAD_STYLE.get(c, ROAD_STYLE["branch"]), "opacity": 0.9} for c in cls]
    names = _escape(layer["name"]) if "name" in layer else pd.Series("", index=layer.index)
    props = pd.DataFrame({"tip": names.to_numpy()})
    geoms = to_display(np.asarray(layer.geometry.values, dtype=object), crs)
    return _geojson_layer(geoms, props, styles, name=cat.t("map.layer.roads"), show=show)


def zones_layer(zones: gpd.GeoDataFrame, *, lang: str = "zh", crs: str = "WGS84",
                category_labels: dict[str, str] | None = None, show: bool = True) -> folium.GeoJson:
    """Hotspot zones (DBSCAN/HDBSCAN) as dashed purple outlines with their profile as tooltip."""
    cat = catalogue(lang)
    z = zones.reset_index(drop=True)
    tops = z["top_categories"].astype("string").fillna("") if "top_categories" in z else \
        pd.Series("", index=z.index)
    if category_labels:
        tops = tops.map(lambda s: "、".join(category_labels.get(c.strip(), c.strip())
                                           for c in str(s).split(",") if c.strip()))
    tip = ("<b>" + cat.t("map.tip.zone") + " " + z["zone_id"].astype(str) + "</b><br>"
           + cat.t("map.tip.count") + ": " + z["events"].map(cat.fmt_int) + "<br>"
           + cat.t("map.tip.top_categories") + ": " + _escape(tops))
    if "peak_hour" in z:
        tip = tip + "<br>" + cat.t("map.tip.peak_hour") + ": " + z["peak_hour"].astype(str) + ":00"
    if "streets" in z:
        tip = tip + "<br>" + cat.t("map.tip.street") + ": " + _escape(z["streets"])
    props = pd.DataFrame({"tip": tip.to_numpy()})
    geoms = to_display(np.asarray(z.geometry.values, dtype=object), crs)
    style = {"color": ZONE_COLOUR, "weight": 2.5, "dashArray": "8 4", "fillColor": ZONE_COLOUR,
             "fillOpacity": 0.08, "opacity": 0.95}
    return _geojson_layer(geoms, props, style, name=cat.t("map.layer.zones"), show=show, hover=True)


def posts_layer(posts: pd.DataFrame, radius_m: float, *, lang: str = "zh", crs: str = "WGS84",
                catchments: gpd.GeoDataFrame | None = None, tips: Sequence[str] | None = None
                ) -> folium.FeatureGroup:
    """Posts (rank labels) with what they cover; existing posts in green.

    Coverage is drawn as circles of ``radius_m``, or, in road-distance mode, as the road pieces each
    post reaches (``catchments``: ``post`` position and WGS84 lines, from
    :func:`geo.maps.basemap.road_catchments`).  ``tips`` replaces the default tooltip of each post.
    """
    cat = catalogue(lang)
    p = posts.reset_index(drop=True)
    existing = p["existing"].astype(bool).to_numpy() if "existing" in p else np.zeros(len(p), bool)
    colour = np.where(existing, EXISTING_POST_COLOUR, POST_COLOUR)
    x, y = points_to_display(p["lon"].to_numpy(float), p["lat"].to_numpy(float), crs)
    pts = shapely.points(x, y)
    group = folium.FeatureGroup(name=cat.t("map.layer.posts"))
    circles = pd.DataFrame({"tip": [""] * len(p)})
    circle_styles = [{"color": c, "weight": 1, "fill": True, "fillColor": c, "fillOpacity": 0.08, "opacity": 0.6}
                     for c in colour]
    if catchments is None:
        folium.GeoJson(feature_collection(pts, circles.assign(style=circle_styles, hover=False)),
                       marker=folium.Circle(radius=float(radius_m)), on_each_feature=_FEATURE_JS,
                       interactive=False, control=False).add_to(group)
    elif len(catchments):
        which = catchments["post"].to_numpy()
        reach_styles = [{"color": colour[i], "weight": 5, "opacity": 0.55, "lineCap": "round"} for i in which]
        folium.GeoJson(feature_collection(to_display(np.asarray(catchments.geometry.values, dtype=object), crs),
                                          pd.DataFrame({"style": reach_styles, "hover": False})),
                       on_each_feature=_FEATURE_JS, interactive=False, control=False).add_to(group)
    kind = np.where(existing, cat.t("planner.existing_post"), cat.t("planner.new_post"))
    tip = ("<b>#" + p["rank"].astype(str) + " " + _escape(p["name"]) + "</b><br>"
           + pd.Series(kind) + "<br>" + cat.t("map.tip.covered") + ": "
           + p["covered"].map(lambda v: cat.fmt_num(v, 1)))
    if "grid_id" in p:
        tip = tip + "<br>" + cat.t("map.tip.grid") + ": " + _escape(p["grid_id"])
    if tips is not None:
        tip = pd.Series(list(tips), index=p.index, dtype=object)
    marker_styles = [{"color": "#ffffff", "weight": 1.5, "fill": True, "fillColor": c, "fillOpacity": 1.0,
                      "opacity": 1.0, "radius": 8} for c in colour]
    folium.GeoJson(feature_collection(pts, pd.DataFrame({"tip": tip.to_numpy(), "style": marker_styles,
                                                         "hover": False})),
                   marker=folium.CircleMarker(radius=8), on_each_feature=_FEATURE_JS, control=False
                   ).add_to(group)
    # rank numbers beside the markers, so a printed map still says which post is which
    ranks = pd.DataFrame({"label": p["rank"].astype(str).to_numpy(), "label_class": "gw-rank",
                          "style": [{}] * len(p), "hover": False})
    folium.GeoJson(feature_collection(pts, ranks), marker=folium.CircleMarker(radius=0, stroke=False, fill=False),
                   on_each_feature=_FEATURE_JS, control=False, interactive=False).add_to(group)
    return group


def finish(m: folium.Map, *, asset_base: str | None = ASSET_BASE, layer_control: bool = True) -> folium.Map:
    """Add the layer switcher and serve assets locally (``asset_base=None`` keeps folium's CDN links)."""
    if layer_control:
        folium.LayerControl(collapsed=True, position="topright").add_to(m)
    if asset_base is not None:
        use_local_assets(m, asset_base)
    return m


# --- deck.gl for large inputs -------------------------------------------------------------------

def hotspot_deck(cells: pd.DataFrame, mode: Mode = "gi", *, lang: str = "zh", area: Any = None,
                 opacity: float = 0.75, max_cells: int | None = None) -> Any:
    """A pydeck map of the cells (H3HexagonLayer), for more cells than folium handles.

    deck.gl ships with Streamlit, so this works offline too; there is no base
    map (``map_provider=None``) — the study area is drawn as a path.  Tooltips
    show the hex id, count, density and the bin label.
    """
    import pydeck as pdk

    cat = catalogue(lang)
    shown = drawn_cells(cells, mode, max_cells)
    fill, _ = cell_fill(cells, mode)
    fill = pd.Series(fill, index=cells.index).loc[shown.index].to_numpy()
    rgba = _hex_to_rgba(np.where(fill == "", "#ffffff", fill), int(255 * opacity))
    labels = bin_labels(cat)
    label = (shown["pattern"].map(emerging_labels(cat)) if mode == "emerging" and "pattern" in shown
             else shown["bin"].map(labels))
    data = pd.DataFrame({
        "h3": shown["h3"].to_numpy(), "r": rgba[:, 0], "g": rgba[:, 1], "b": rgba[:, 2], "a": rgba[:, 3],
        "count": shown["count"].to_numpy(), "density": shown["density"].round(1).to_numpy(),
        "label": label.to_numpy(),
    })
    layers = [pdk.Layer("H3HexagonLayer", data=data, get_hexagon="h3", get_fill_color="[r, g, b, a]",
                        get_line_color=[120, 120, 120, 120], line_width_min_pixels=0.3, extruded=False,
                        pickable=True, auto_highlight=True, id="cells")]
    bounds = cells.total_bounds if hasattr(cells, "total_bounds") else None
    if area is not None:
        parts = shapely.get_parts(shapely.boundary(area))
        paths = [np.round(shapely.get_coordinates(pt), 6).tolist() for pt in parts]
        layers.append(pdk.Layer("PathLayer", data=pd.DataFrame({"path": paths}), get_path="path",
                                get_color=[20, 20, 20], width_min_pixels=2, id="area"))
        bounds = shapely.bounds(area)
    lon = float((bounds[0] + bounds[2]) / 2) if bounds is not None else 116.4
    lat = float((bounds[1] + bounds[3]) / 2) if bounds is not None else 39.9
    # deck.gl zoom (512-px world at zoom 0) that fits the larger side of the bounds in ~480 px
    span = max(float(bounds[2] - bounds[0]), float(bounds[3] - bounds[1]) / np.cos(np.radians(lat)), 1e-4) \
        if bounds is not None else 0.1
    zoom = float(np.clip(np.log2(360.0 * 480 / 512 / span), 3, 16))
    tooltip = {"html": f"<b>{{h3}}</b><br>{cat.t('map.tip.count')}: {{count}}<br>"
                       f"{cat.t('map.tip.density')}: {{density}}<br>{{label}}"}
    # map_provider=None: no base map at all (Streamlit would otherwise fetch a Carto style from the internet)
    return pdk.Deck(layers=layers, initial_view_state=pdk.ViewState(longitude=lon, latitude=lat, zoom=zoom),
                    map_provider=None, tooltip=tooltip)


# --- official grids coloured by a number (the leaders' overview) ------------------------------------

CHANGE_CLASSES: tuple[tuple[str, str], ...] = (
    ("up_big", "#d73027"), ("up", "#fc8d59"), ("down", "#91cf60"), ("down_big", "#1a9850"), ("new", "#bdbdbd"))
"""Change on the previous period -> class and colour (rises in reds: more events is worse)."""

CHANGE_STEP = 0.2
"""Relative change separating a small rise/fall from a large one."""


def change_classes(change: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Class of each relative change: ``up_big``, ``up``, ``down``, ``down_big``, ``new`` (none before), or
    ``""`` (no events in either period)."""
    ch = np.asarray(change, dtype=float)
    cur = np.asarray(current, dtype=float)
    return np.select([~np.isfinite(ch) & (cur > 0), ~np.isfinite(ch), ch > CHANGE_STEP, ch >= 0,
                      ch >= -CHANGE_STEP], ["new", "", "up_big", "up", "down"], "down_big").astype(object)


def grids_choropleth(grids: gpd.GeoDataFrame, by: Literal["density", "change"] = "density", *, lang: str = "zh",
                     crs: str = "WGS84", opacity: float = 0.6) -> tuple[folium.GeoJson, str]:
    """Official grids filled by events per km² (quantile classes) or by the change on the previous period.

    Parameters
    ----------
    grids : GeoDataFrame
        One tier's grids joined with :func:`geo.analysis.overview.grid_ranking` (``grid_id``, ``name``,
        ``street_name``, ``events``, ``per_km2``, ``previous``, ``change``, ``closed_share``, and
        ``top_label``: the main problem already in the page's language).

    Returns
    -------
    (folium.GeoJson, str)
        The clickable layer (tooltips with the numbers) and its legend as HTML for under the map.
    """
    cat = catalogue(lang)
    g = grids.reset_index(drop=True)
    if by == "density":
        breaks = class_breaks(g["per_km2"].to_numpy(float))
        fill = sequential_colours(g["per_km2"].to_numpy(float), breaks)
        title, rows = cat.t("mapview.legend_density"), []
        lower = 0.0
        for colour, upper in zip(SEQUENTIAL_COLOURS[-len(breaks):] if len(breaks) else (), breaks, strict=True):
            rows.append((colour, f"{cat.fmt_num(lower, 0)} – {cat.fmt_num(upper, 0)}"))
            lower = upper
    else:
        cls = change_classes(g["change"].to_numpy(float), g["events"].to_numpy(float))
        lut = dict(CHANGE_CLASSES)
        fill = np.array([lut.get(k, "") for k in cls], dtype=object)
        title = cat.t("mapview.legend_change")
        rows = [(colour, cat.t(f"mapview.change_{k}")) for k, colour in CHANGE_CLASSES]
    if not rows:
        rows = [("#ffffff", cat.t("legend.no_events"))]
    change_text = g["change"].map(lambda v: cat.fmt_change(v) if pd.notna(v) else cat.t("format.missing"))
    tip = ("<b>" + _escape(g["name"]) + "</b>" + pd.Series(
        np.where(g["street_name"].notna(), " · " + _escape(g["street_name"]), ""), index=g.index)
           + "<br>" + cat.t("ranking.events") + ": " + g["events"].map(cat.fmt_int)
           + "<br>" + cat.t("ranking.per_km2") + ": " + g["per_km2"].map(lambda v: cat.fmt_num(v, 0))
           + "<br>" + cat.t("ranking.previous") + ": " + g["previous"].map(cat.fmt_int)
           + "<br>" + cat.t("ranking.change") + ": " + change_text
           + "<br>" + cat.t("ranking.top_category") + ": " + _escape(g["top_label"].fillna(""))
           + "<br>" + cat.t("ranking.closed_share") + ": " + g["closed_share"].map(lambda v: cat.fmt_pct(v, 0)))
    styles = [{"fillColor": c or "#ffffff", "fillOpacity": opacity if c else 0.05, "color": "#4a3f7a",
               "weight": 1.2, "opacity": 0.8} for c in fill]
    props = pd.DataFrame({"grid_id": g["grid_id"].astype(str).to_numpy(), "tip": tip.to_numpy()})
    geoms = to_display(np.asarray(g.geometry.values, dtype=object), crs)
    layer = _geojson_layer(geoms, props, styles, name=title, hover=True)
    swatch = "display:inline-block;width:14px;height:14px;margin:0 6px -2px 0;border:1px solid #888"
    body = "".join(f"<span style='margin-right:14px;white-space:nowrap'><i style='{swatch};background:{c}'></i>"
                   f"{_html(text)}</span> " for c, text in rows)
    return layer, f"<div style='font-size:13px;line-height:22px'><b>{_html(title)}</b>&nbsp; {body}</div>"
