"""City scale on Dask: chunked ingest into a partitioned GeoParquet store, distributed counts and Gi*.

A stage of its own, above :mod:`geo.ingest` and :mod:`geo.analysis`: each Dask task runs the
single-machine ingest unit (``geo.ingest.pipeline.prepare_events``) and the hot-spot table
(``geo.analysis.hotcells.hotspot_table``), so there is no second implementation to drift.  The
only package that imports Dask.

Public API: :mod:`geo.scale.engine` -- ``start_client``, ``close_client``, ``ingest_partitioned``,
``store_summary``, ``cell_counts``, ``scale_hotspots``, ``committed_files``.
"""
