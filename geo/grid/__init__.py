"""The grid system and reference geography: coordinates, H3 cells, tiers, official grids, roads.

The lowest stage above the foundation modules (:mod:`geo.errors`, :mod:`geo.settings`,
:mod:`geo.i18n`, :mod:`geo.privacy`): everything else places points with it, and it imports
no other stage.  Roads live here rather than in :mod:`geo.planning` because ingestion needs
them too (street names for the geocoding fallback) and must not import planning.

Public API (import from the module):

- :mod:`geo.grid.crs` -- WGS84 / GCJ-02 / BD-09 / CGCS2000 / any pyproj CRS: ``to_wgs84``,
  ``from_wgs84``, ``to_metric``, ``from_metric``, ``geometry_to_wgs84``, ``geometry_from_wgs84``,
  ``normalize_crs_name``, ``in_china`` and the pairwise ``gcj02_to_wgs84`` … functions.
- :mod:`geo.grid.h3cells` -- the one wrapper around H3 (int64 cell ids): ``cells_for_points``,
  ``cells_to_hex`` and friends.
- :mod:`geo.grid.tiers` -- H3 tiers matched to the big/middle/small official grids: ``calibrate``,
  ``study_area_cells``, ``Crosswalk``, ``crosswalk``, ``crosswalk_for``, ``reconcile``,
  ``counts_by_cell``, ``estimate_grid_counts``.
- :mod:`geo.grid.officialgrids` -- official grid polygons: ``read_official_grids``,
  ``standardize_grids``, ``locate_points``.
- :mod:`geo.grid.roads` -- road networks: ``read_roads``, ``intersections``, ``road_graph``,
  ``node_lines``, ``HIGHWAY_CLASS``.
"""
