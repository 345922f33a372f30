"""Maps: Folium (Leaflet) and pydeck layers, legends, tile sources and offline assets.

Used by the app and the notebooks; imports Folium, never Streamlit.

Public API: :mod:`geo.maps.render` -- ``base_map``, ``cells_layer``, ``legend``, ``TileSource``, ``finish``,
``use_local_assets``, ``MODES``, ``grids_choropleth``, ``change_classes``, the colour helpers (``class_breaks``,
``bin_colours`` …) and the light layer plumbing (``GeoJsonLayer``: compact pre-serialised JSON, ``layer_json``,
``to_json``, ``render_script``); :mod:`geo.maps.basemap` -- the offline street map: ``basemap_data``,
``basemap_json``, ``basemap_layer``, ``road_labels``, ``grid_labels``, ``road_catchments``.
"""
