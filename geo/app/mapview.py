"""The pages' main map: a base drawn once per workspace version, the analysis layers swapped inside it.

streamlit-folium re-creates its iframe — Leaflet, the street map, every layer — whenever the map's
script changes; the pages used to build, serialise and send the whole map (about 1 MB of script on
the sample) on every filter change.  Here:

- the **base** (paper, roads and their names, grid names, the study-area boundary; tiles when
  configured) is the map's script: the same text on every run for a workspace version, language and
  display CRS, assembled from JSON serialised once (:func:`base_map`), so the browser keeps the map
  open — with the user's zoom and position — across reruns;
- the **overlays** (cells, grid outlines, zones, posts, the grid choropleth) travel as
  streamlit-folium's ``feature_group_to_add``: a rerun replaces them inside the open map
  (:func:`show`);
- overlays that cost time to build are cached by what they show (:func:`cached_overlay`): the
  analysis's cache key (store stamp, filter, tier), the colour mode, language and display CRS, or
  the reference files' stamps for the static ones (:func:`outlines`), so a new ingest or a new grid
  file invalidates them;
- only clicks come back to Python; :func:`fresh_click` tells a new click from the one the open map
  still reports from before its overlays changed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import folium
import streamlit as st

from geo.app import data
from geo.app.lang import cat
from geo.maps import basemap, render
from geo.store.workspace import Workspace

MAP_HEIGHT = 640
"""Height in pixels of the main map of a page (map first: the full main width, most of a 1000-px screen)."""


def tile_source(ws: Workspace) -> Any:
    """The workspace's optional tile layer (``[settings.basemap]`` when the settings define it)."""
    return render.TileSource.from_config(getattr(ws.settings, "basemap", None))


def display_crs(ws: Workspace) -> str:
    """The CRS the overlays are drawn in: the tile layer's (GCJ-02 for Amap/Tencent), else WGS84."""
    return render.display_crs(tile_source(ws))


def asset_base() -> str:
    """URL of ``static/`` as served by this Streamlit (honours ``server.baseUrlPath``)."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/app/static" if base else "/app/static"


@st.cache_resource(show_spinner=False, max_entries=8)
def _base_json(ref: Any, crs: str, roads: bool, _ws: Workspace) -> str:
    return basemap.basemap_json(data.basemap(_ws, crs), roads=roads)


def base_map(ws: Workspace) -> tuple[folium.Map, str]:
    """The page's map with the offline street map and the study-area boundary; returns it and the display CRS.

    Cheap to call on every run: the street map's JSON is serialised once per workspace version
    (and display CRS), and the result renders to the same script every time.
    """
    lang = cat().lang
    tiles = tile_source(ws)
    crs = render.display_crs(tiles)
    m = render.base_map(ws.area.bounds, tiles=tiles, lang=lang)
    basemap.basemap_layer(_base_json(data.reference_key(ws), crs, tiles is None, ws)).add_to(m)
    render.area_layer(ws.area, lang=lang, crs=crs).add_to(m)
    return m, crs


def _freeze(built: Any) -> Any:
    for item in built if isinstance(built, tuple) else (built,):
        for el in _walk(item):
            if isinstance(el, render.GeoJsonLayer):
                el.freeze()
    return built


def _walk(element: Any) -> Any:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


@st.cache_resource(show_spinner=False, max_entries=64)
def _overlay(what: str, key: Any, _build: Callable[[], Any]) -> Any:
    return _freeze(_build())


def cached_overlay(what: str, key: Hashable, build: Callable[[], Any]) -> Any:
    """``build()`` (a folium layer, or a tuple whose first item is one) cached under ``(what, key)``.

    ``key`` must name everything the layer shows (analysis cache key, mode, language, CRS …).  The
    cache keeps the layer with its data serialised (:meth:`geo.maps.render.GeoJsonLayer.freeze`);
    each call returns a copy, which shares that text, so no two sessions draw the same object.
    """
    return copy.deepcopy(_overlay(what, key, build))


def outlines(ws: Workspace, tier: str, crs: str) -> Any:
    """The official grid outlines of one tier (:func:`geo.maps.render.grids_layer`), cached per grid file."""
    lang = cat().lang
    return cached_overlay("outlines", (data.reference_key(ws), tier, lang, crs),
                          lambda: render.grids_layer(ws.grids, tier, lang=lang, crs=crs, labels=False))


def _as_group(layer: Any) -> folium.FeatureGroup:
    """A layer as a feature group named like it (streamlit-folium swaps feature groups)."""
    if isinstance(layer, folium.FeatureGroup):
        return layer
    group = folium.FeatureGroup(name=layer.layer_name, show=layer.show, control=layer.control)
    layer.show, layer.control = True, False
    layer.add_to(group)
    return group


def show(ws: Workspace, m: folium.Map, overlays: Sequence[Any], *, key: str, height: int = MAP_HEIGHT,
         clicks: bool = True) -> dict[str, Any] | None:
    """Draw ``m`` (from :func:`base_map`) with ``overlays`` swapped into it; only clicks come back.

    ``key`` must not change with the overlays: the map stays open while they are replaced.
    """
    from streamlit_folium import st_folium

    render.finish(m, asset_base=asset_base(), layer_control=False)
    groups = [render.use_local_assets(_as_group(layer), asset_base()) for layer in overlays]
    return st_folium(m, key=key, height=height, use_container_width=True, feature_group_to_add=groups or None,
                     layer_control=folium.LayerControl(collapsed=True, position="topright"),
                     returned_objects=["last_object_clicked"] if clicks else [])


def fresh_click(out: dict[str, Any] | None, key: str, scope: Hashable) -> tuple[float, float] | None:
    """The map's last click (display lon, lat) when it was made on what the map shows now, else ``None``.

    The open map keeps reporting its last click after its overlays change; ``scope`` names what
    the overlays show (tier, filter, plan …): a click reported from before ``scope`` last changed
    belongs to the previous overlays and is ignored.
    """
    click = (out or {}).get("last_object_clicked")
    pos = (float(click["lng"]), float(click["lat"])) if click and click.get("lat") is not None else None
    state_key = f"{key}__click_scope"
    state = st.session_state.get(state_key)
    if state is None or state[0] != scope:
        st.session_state[state_key] = (scope, pos)
        return None
    return pos if pos is not None and pos != state[1] else None
