"""An offline base map drawn from the workspace: roads with their names and the official grids' names.

Without a network there are no map tiles, and a map of coloured cells over
grey outlines does not read as a city.  The workspace already holds what a
street map shows: the road file (class and name of every way) and the
official grids (name of every big, middle and small grid).  This module turns
them into a Leaflet base layer that needs nothing but the page itself:

- roads drawn like a street map (a light casing and a fill, width and colour
  by class: main roads wide and pale yellow, alleys thin and white) on a
  canvas in a pane *below* the analysis layers;
- road names along the roads (rotated with the road), one per named road, in
  a pane *above* the analysis layers; main-road names at every zoom, smaller
  roads' names as the map zooms in (:data:`ROAD_LABEL_MIN_ZOOM`);
- official grid names at every zoom: the big grids' names when the whole
  district is in view, middle grids' closer in, small grids' closest
  (:data:`GRID_LABEL_ZOOMS`).

With a tile layer configured (``[settings.basemap] url``) the tiles are the
base map and only the names of the official grids are added
(:func:`basemap_layer` with ``roads=False``).

:func:`basemap_data` is pure and cacheable (it depends only on the files);
:func:`basemap_layer` wraps its result in a folium element.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo.grid.crs import geometry_from_wgs84, normalize_crs_name
from geo.maps.render import render_script, to_json

ROAD_DRAW: dict[str, dict[str, Any]] = {
    "main": {"fill": "#fde6a3", "casing": "#d9b86a", "width": 6.0},
    "secondary": {"fill": "#ffffff", "casing": "#bdb6a8", "width": 4.5},
    "branch": {"fill": "#ffffff", "casing": "#cfc9be", "width": 3.0},
    "alley": {"fill": "#ffffff", "casing": "#dcd7cd", "width": 1.6},
}
"""Road class -> fill colour, casing colour and width in pixels at zoom 15 (the width scales with zoom)."""

ROAD_LABEL_MIN_ZOOM: dict[str, float] = {"main": 0.0, "secondary": 13.75, "branch": 15.0, "alley": 16.0}
"""Road class -> smallest zoom at which its names are drawn (main roads always)."""

GRID_LABEL_ZOOMS: dict[str, tuple[float, float]] = {"big": (0.0, 14.5), "middle": (14.5, 16.0),
                                                    "small": (16.0, 30.0)}
"""Grid tier -> [min, max) zoom at which its names are drawn: at every zoom one tier is named."""

PAPER_COLOUR = "#f2efe9"
"""Background of the map where there is no road (a street map's land colour)."""

_DIGITS = 6


def _display(geoms: np.ndarray, crs: str) -> np.ndarray:
    if normalize_crs_name(crs) == "WGS84":
        return geoms
    return np.asarray(geometry_from_wgs84(geoms, crs), dtype=object)


def _angles(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label point (midpoint) and on-screen angle in degrees (-90..90, clockwise) of each line."""
    mid = shapely.line_interpolate_point(lines, 0.5, normalized=True)
    a = shapely.get_coordinates(shapely.line_interpolate_point(lines, 0.4, normalized=True))
    b = shapely.get_coordinates(shapely.line_interpolate_point(lines, 0.6, normalized=True))
    lat = np.radians(shapely.get_coordinates(mid)[:, 1])
    dx = (b[:, 0] - a[:, 0]) * np.cos(lat)
    dy = b[:, 1] - a[:, 1]
    angle = -np.degrees(np.arctan2(dy, dx))  # screen y points down: a road rising to the east turns anticlockwise
    angle = np.where(angle > 90, angle - 180, np.where(angle < -90, angle + 180, angle))
    return mid, np.round(angle, 1)


def road_labels(roads: gpd.GeoDataFrame) -> pd.DataFrame:
    """One label per named road: at the middle of its longest way, turned along it.

    Parameters
    ----------
    roads : GeoDataFrame
        WGS84 lines with ``name`` and ``class`` (:func:`geo.grid.roads.read_roads`).

    Returns
    -------
    DataFrame
        ``name``, ``class``, ``lon``, ``lat``, ``angle`` (degrees, clockwise on
        screen), ``min_zoom``.  Unnamed ways get no label.
    """
    if roads is None or roads.empty or "name" not in roads:
        return pd.DataFrame(columns=["name", "class", "lon", "lat", "angle", "min_zoom"])
    lines = shapely.line_merge(np.asarray(roads.geometry.values, dtype=object))
    parts, idx = shapely.get_parts(lines, return_index=True)
    names = roads["name"].astype("string").fillna("").str.strip().to_numpy(dtype=object)[idx]
    cls = (roads["class"].astype("string").fillna("branch").to_numpy(dtype=object)[idx]
           if "class" in roads else np.full(len(idx), "branch", dtype=object))
    frame = pd.DataFrame({"name": names, "class": cls, "length": shapely.length(parts), "part": np.arange(len(parts))})
    frame = frame[(frame["name"] != "") & (shapely.get_type_id(parts) == 1)]
    if frame.empty:
        return pd.DataFrame(columns=["name", "class", "lon", "lat", "angle", "min_zoom"])
    longest = frame.loc[frame.groupby("name", sort=False)["length"].idxmax()]
    mid, angle = _angles(parts[longest["part"].to_numpy()])
    xy = shapely.get_coordinates(mid)
    return pd.DataFrame({
        "name": longest["name"].to_numpy(), "class": longest["class"].to_numpy(),
        "lon": xy[:, 0], "lat": xy[:, 1], "angle": angle,
        "min_zoom": longest["class"].map(ROAD_LABEL_MIN_ZOOM).fillna(ROAD_LABEL_MIN_ZOOM["branch"]).to_numpy(),
    })


def grid_labels(grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """The official grids' names at a point inside each grid, with the zooms at which each tier is named.

    Returns
    -------
    DataFrame
        ``name``, ``tier``, ``lon``, ``lat``, ``min_zoom``, ``max_zoom``.
    """
    if grids is None or grids.empty:
        return pd.DataFrame(columns=["name", "tier", "lon", "lat", "min_zoom", "max_zoom"])
    g = grids[grids["tier"].isin(list(GRID_LABEL_ZOOMS))]
    pts = shapely.get_coordinates(shapely.point_on_surface(np.asarray(g.geometry.values, dtype=object)))
    zooms = g["tier"].map(GRID_LABEL_ZOOMS)
    return pd.DataFrame({"name": g["name"].astype("string").fillna("").to_numpy(dtype=object),
                         "tier": g["tier"].to_numpy(dtype=object), "lon": pts[:, 0], "lat": pts[:, 1],
                         "min_zoom": zooms.str[0].to_numpy(float), "max_zoom": zooms.str[1].to_numpy(float)})


def basemap_data(roads: gpd.GeoDataFrame | None, grids: gpd.GeoDataFrame | None, crs: str = "WGS84"
                 ) -> dict[str, Any]:
    """Everything the browser needs to draw the base map, in the display CRS (plain JSON-able lists).

    Parameters
    ----------
    roads, grids : GeoDataFrame or None
        The workspace's road file and official grids (WGS84).
    crs : str
        Display CRS (``WGS84`` or ``GCJ02``: positions are shifted like every overlay).

    Returns
    -------
    dict
        ``roads``: ``[[class, [[lat, lon], ...]], ...]`` drawn minor classes first;
        ``labels``: ``[[lat, lon, text, kind, angle, min_zoom, max_zoom], ...]``
        (``kind`` is ``road-<class>`` or ``grid-<tier>``).
    """
    out: dict[str, Any] = {"roads": [], "labels": []}
    if roads is not None and not roads.empty:
        order = {c: i for i, c in enumerate(("alley", "branch", "secondary", "main"))}
        cls = (roads["class"].astype("string").fillna("branch") if "class" in roads
               else pd.Series("branch", index=roads.index))
        rank = cls.map(order).fillna(1).to_numpy()
        sorted_idx = np.argsort(rank, kind="stable")
        geoms = _display(np.asarray(roads.geometry.values, dtype=object)[sorted_idx], crs)
        parts, pidx = shapely.get_parts(geoms, return_index=True)
        coords, cidx = shapely.get_coordinates(parts, return_index=True)
        coords = np.round(coords[:, ::-1], _DIGITS)  # Leaflet wants lat, lon
        splits = np.flatnonzero(np.diff(cidx)) + 1
        part_cls = cls.to_numpy(dtype=object)[sorted_idx][pidx]
        out["roads"] = [[str(c), xy.tolist()] for c, xy in zip(part_cls, np.split(coords, splits), strict=True)]
        labels = road_labels(roads)
        if len(labels):
            x, y = _display_points(labels["lon"].to_numpy(), labels["lat"].to_numpy(), crs)
            out["labels"] += [[round(float(b), _DIGITS), round(float(a), _DIGITS), str(n), f"road-{c}", float(t),
                               float(z), 30.0]
                              for a, b, n, c, t, z in zip(x, y, labels["name"], labels["class"], labels["angle"],
                                                          labels["min_zoom"], strict=True)]
    if grids is not None and not grids.empty:
        labels = grid_labels(grids)
        x, y = _display_points(labels["lon"].to_numpy(), labels["lat"].to_numpy(), crs)
        out["labels"] += [[round(float(b), _DIGITS), round(float(a), _DIGITS), str(n), f"grid-{t}", 0.0,
                           float(z0), float(z1)]
                          for a, b, n, t, z0, z1 in zip(x, y, labels["name"], labels["tier"], labels["min_zoom"],
                                                        labels["max_zoom"], strict=True) if n]
    return out


def _display_points(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    if normalize_crs_name(crs) == "WGS84":
        return np.asarray(lon, float), np.asarray(lat, float)
    from geo.grid.crs import from_wgs84

    return from_wgs84(np.asarray(lon, float), np.asarray(lat, float), crs)


BASEMAP_CSS = (
    f".leaflet-container{{background:{PAPER_COLOUR}}}"
    ".gw-name{white-space:nowrap;pointer-events:none}"
    ".gw-name span{display:inline-block;transform-origin:center;position:relative;left:-50%;top:-0.7em;"
    "font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei','Microsoft YaHei',sans-serif;"
    "text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff,0 0 4px #fff}"
    ".gw-road-main span{font-size:11px;color:#6b5518;font-style:italic}"
    ".gw-road-secondary span{font-size:11px;color:#4a4a4a}"
    ".gw-road-branch span,.gw-road-alley span{font-size:10px;color:#666}"
    ".gw-grid-big span{font-size:12px;color:#3b2f6b;font-weight:600}"
    ".gw-grid-middle span{font-size:11px;color:#3b2f6b;font-weight:600}"
    ".gw-grid-small span{font-size:10px;color:#3b2f6b}"
)
"""Styles of the road and grid names (plain CSS, no web fonts: the page must work offline)."""


class BaseMap(MacroElement):
    """Roads (canvas, below the analysis) and names (above it), shown by zoom; see :func:`basemap_data`."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var data = {{ this.json }};
            var draw = {{ this.draw|tojson }};
            if (!map.getPane('gwBase')) { map.createPane('gwBase').style.zIndex = 250; }
            if (!map.getPane('gwNames')) {
                var np = map.createPane('gwNames'); np.style.zIndex = 640; np.style.pointerEvents = 'none';
            }
            if (!document.getElementById('gw-basemap-css')) {
                var st = document.createElement('style'); st.id = 'gw-basemap-css';
                st.textContent = {{ this.css|tojson }}; document.head.appendChild(st);
            }
            var renderer = L.canvas({pane: 'gwBase', padding: 0.3});
            var casings = [], fills = [];
            data.roads.forEach(function(r) {
                var d = draw[r[0]] || draw['branch'];
                casings.push([L.polyline(r[1], {renderer: renderer, color: d.casing, weight: d.width + 2,
                    interactive: false, lineCap: 'round', lineJoin: 'round'}), d.width]);
                fills.push([L.polyline(r[1], {renderer: renderer, color: d.fill, weight: d.width,
                    interactive: false, lineCap: 'round', lineJoin: 'round'}), d.width]);
            });
            casings.forEach(function(x) { x[0].addTo(map); });
            fills.forEach(function(x) { x[0].addTo(map); });
            var labels = data.labels.map(function(l) {
                var html = '<span style="transform:rotate(' + l[4] + 'deg)">' +
                    String(l[2]).replace(/&/g, '&amp;').replace(/</g, '&lt;') + '</span>';
                var m = L.marker([l[0], l[1]], {pane: 'gwNames', interactive: false, keyboard: false,
                    icon: L.divIcon({className: 'gw-name gw-' + l[3], html: html, iconSize: null})});
                return [m, l[5], l[6]];
            });
            function update() {
                var z = map.getZoom();
                var scale = Math.pow(2, (z - 15) * 0.5);
                casings.forEach(function(x) { x[0].setStyle({weight: Math.max(0.6, x[1] * scale) + 2}); });
                fills.forEach(function(x) { x[0].setStyle({weight: Math.max(0.6, x[1] * scale)}); });
                labels.forEach(function(x) {
                    var on = z >= x[1] && z < x[2];
                    if (on && !map.hasLayer(x[0])) { x[0].addTo(map); }
                    if (!on && map.hasLayer(x[0])) { map.removeLayer(x[0]); }
                });
            }
            map.on('zoomend', update);
            map.whenReady(update);
        })();
        {% endmacro %}
    """)

    def __init__(self, data: dict[str, Any] | str, *, roads: bool = True) -> None:
        super().__init__()
        self._name = "BaseMap"
        self.json = data if isinstance(data, str) else basemap_json(data, roads=roads)
        self.draw = ROAD_DRAW
        self.css = BASEMAP_CSS

    def render(self, **kwargs: Any) -> None:
        render_script(self, **kwargs)  # the roads' JSON goes into the page as text, not as a template


def basemap_json(data: dict[str, Any], *, roads: bool = True) -> str:
    """:func:`basemap_data`'s output as the JSON the page embeds (compact; grid names only with ``roads=False``).

    Serialised once per workspace version by the app, so drawing a map does not re-encode the roads.
    """
    return to_json({"roads": data.get("roads", []) if roads else [], "labels": [
        lab for lab in data.get("labels", []) if roads or str(lab[3]).startswith("grid-")]})


def basemap_layer(data: dict[str, Any] | str, *, roads: bool = True) -> BaseMap:
    """The base map element for :func:`basemap_data`'s output; ``roads=False`` keeps only grid names
    (for use over a tile layer, which draws its own streets).  ``data`` may also be :func:`basemap_json`'s
    string (then ``roads`` was applied when it was made)."""
    return BaseMap(data, roads=roads)


def road_catchments(roads: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray, radius_m: float,
                    metric_crs: str = "EPSG:4548") -> gpd.GeoDataFrame:
    """What each post reaches along the roads within ``radius_m``: the road pieces, for drawing.

    The same graph the network coverage is measured on (:func:`geo.grid.roads.road_graph`): each post
    is snapped to its nearest node, the shortest road distances from it are computed (Dijkstra, cut
    at ``radius_m`` minus the snap distance) and every edge whose both ends are within reach is kept,
    drawn as the straight piece between its nodes.

    Returns
    -------
    GeoDataFrame
        ``post`` (0-based position in ``lon``/``lat``), WGS84 LineStrings.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    from geo.grid.crs import from_wgs84
    from geo.grid.roads import road_graph

    nodes, edges = road_graph(roads, metric_crs)
    empty = gpd.GeoDataFrame({"post": np.zeros(0, dtype=np.int64)}, geometry=[], crs="EPSG:4326")
    if nodes.empty or len(lon) == 0:
        return empty
    n = len(nodes)
    u, v, w = edges["u"].to_numpy(), edges["v"].to_numpy(), edges["length_m"].to_numpy(float)
    graph = coo_matrix((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))),
                       shape=(n, n)).tocsr()
    px, py = from_wgs84(np.asarray(lon, float), np.asarray(lat, float), metric_crs)
    snap, start = cKDTree(np.column_stack([nodes["x"], nodes["y"]])).query(np.column_stack([px, py]))
    dist = dijkstra(graph, directed=False, indices=start, limit=float(radius_m))
    left = float(radius_m) - np.asarray(snap)[:, None] - dist  # metres still to walk at each node (-inf: none)
    a, b = left[:, u], left[:, v]
    post, edge = np.nonzero((a > 0) | (b > 0))
    a, b, length = np.maximum(a[post, edge], 0), np.maximum(b[post, edge], 0), w[edge]
    full = a + b >= length
    # an edge reached from both ends (or wholly) is drawn whole; otherwise the walked parts from each end
    fa = np.where(full, 1.0, np.minimum(a / np.maximum(length, 1e-9), 1.0))
    fb = np.where(full, 0.0, np.minimum(b / np.maximum(length, 1e-9), 1.0))
    nlon, nlat = nodes["lon"].to_numpy(), nodes["lat"].to_numpy()
    ulon, ulat, vlon, vlat = nlon[u[edge]], nlat[u[edge]], nlon[v[edge]], nlat[v[edge]]
    seg_post, coords = [], []
    for frac, (x0, y0, x1, y1) in ((fa, (ulon, ulat, vlon, vlat)), (fb, (vlon, vlat, ulon, ulat))):
        keep = frac > 0
        ends = np.column_stack([x0 + (x1 - x0) * frac, y0 + (y1 - y0) * frac])[keep]
        coords.append(np.stack([np.column_stack([x0, y0])[keep], ends], axis=1))
        seg_post.append(post[keep])
    lines = np.concatenate(coords) if coords else np.zeros((0, 2, 2))
    return gpd.GeoDataFrame({"post": np.concatenate(seg_post).astype(np.int64)},
                            geometry=shapely.linestrings(lines), crs="EPSG:4326")
