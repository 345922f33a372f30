"""gridwatch: grid-based urban enforcement analytics on H3 grids.

The library behind the ``gridwatch`` command, the Streamlit app and the
analyst notebooks.  Modules, one concept each:

- :mod:`geo.settings`   typed defaults (tiers, windows, categories, radii)
- :mod:`geo.store.workspace`  workspace folders and ``gridwatch.toml``
- :mod:`geo.store.schema`     the event schema and its validator
- :mod:`geo.ingest`         readers of raw exports and header mapping
- :mod:`geo.ingest.timeparse`  vectorised parsing of the time formats found in exports
- :mod:`geo.grid.crs`        WGS84 / GCJ-02 / BD-09 / CGCS2000 / metric conversions
- :mod:`geo.privacy`    hashing, masking and scrubbing of personal data
- :mod:`geo.ingest.geocode`    offline address matching against a gazetteer
- :mod:`geo.ingest.pipeline`     raw file → event store, every row accounted for
- :mod:`geo.store.database`      the DuckDB event store
- :mod:`geo.grid.h3cells`    the one wrapper around H3
- :mod:`geo.grid.officialgrids`  official grid polygons and point location
- :mod:`geo.grid.roads`      road networks, intersections
- :mod:`geo.analysis.gistar`    Getis-Ord Gi* with FDR
- :mod:`geo.planning.mclp`      coverage matrices and maximal-covering post planning
- :mod:`geo.synthetic.sample`     synthetic raw exports of the sample district
"""

__version__ = "0.1.0"
