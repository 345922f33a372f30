"""gridwatch: grid-based urban enforcement analytics on H3 grids.

The library behind the ``gridwatch`` command, the Streamlit app and the
analyst notebooks.  Modules, one concept each:

- :mod:`geo.settings`   typed defaults (tiers, windows, categories, radii)
- :mod:`geo.workspace`  workspace folders and ``gridwatch.toml``
- :mod:`geo.schema`     the event schema and its validator
- :mod:`geo.io`         readers of raw exports and header mapping
- :mod:`geo.timeparse`  vectorised parsing of the time formats found in exports
- :mod:`geo.crs`        WGS84 / GCJ-02 / BD-09 / CGCS2000 / metric conversions
- :mod:`geo.privacy`    hashing, masking and scrubbing of personal data
- :mod:`geo.geocode`    offline address matching against a gazetteer
- :mod:`geo.ingest`     raw file → event store, every row accounted for
- :mod:`geo.store`      the DuckDB event store
- :mod:`geo.h3cells`    the one wrapper around H3
- :mod:`geo.officialgrids`  official grid polygons and point location
- :mod:`geo.roads`      road networks, intersections
- :mod:`geo.hotspot`    Getis-Ord Gi* with FDR
- :mod:`geo.posts`      coverage matrices and maximal-covering post planning
- :mod:`geo.sample`     synthetic raw exports of the sample district
"""

__version__ = "0.1.0"
