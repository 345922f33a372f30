"""Analyses over stored events: filters, hot spots, zones, trends, forecasts, gaps, reviews, profiles.

Reads events (a DataFrame from :mod:`geo.store`) and the grid system (:mod:`geo.grid`); writes
nothing.  Filters live here because every analysis (and planning, and the Dask path) selects
its events with them.

Public API (import from the module):

- :mod:`geo.analysis.filters` -- ``EventFilter``, ``apply_filter``, ``window_mask``, ``window_days``,
  ``window_hours_per_day``, ``date_span``.
- :mod:`geo.analysis.gistar` -- Getis-Ord Gi* with FDR: ``getis_ord_star``, ``kring_weights``,
  ``gi_bins``, ``fdr_bh``, ``GiStarResult``; the cell's own-count test ``cell_excess_test``, ``CellTest``.
- :mod:`geo.analysis.notes` -- words for thin and odd data: ``data_notes``, ``workspace_notes``, ``grid_note``,
  ``active_span``, ``Span``, ``empty_stretches``, ``NoEventsError``, ``LONG_GAP_DAYS``.
- :mod:`geo.analysis.hotcells` -- hot cells of a workspace: ``hotspot_cells``, ``hotspot_table``,
  ``hotspot_zones``, ``zone_min_samples``, ``area_cells``, ``tier_crosswalk``.
- :mod:`geo.analysis.zones` -- density clusters: ``cluster_labels``, ``hotspot_zones_from_events``.
- :mod:`geo.analysis.trends` -- emerging hot spots: ``emerging_hotspots``, ``build_cube``,
  ``mann_kendall``, ``classify_emerging``, ``spacetime_weights``, ``spacetime_gi``, ``emerging_from_cube``,
  ``CLASSES``.
- :mod:`geo.analysis.forecast` -- ``forecast``, ``backtest``, ``predict``, ``winner_margin``,
  ``plausible_total``, ``BASELINES``, ``LEARNED``.
- :mod:`geo.analysis.gaps` -- ``coverage_gaps``, ``gap_metrics``, ``GapError``.
- :mod:`geo.analysis.review` -- ``problem_list``, ``campaign_review``, ``parse_campaign``,
  ``work_orders``, ``ReviewError``.
- :mod:`geo.analysis.overview` -- KPIs and weekly trends: ``Period``, ``weekly_trend`` …
- :mod:`geo.analysis.profile` -- ``cell_profile``, ``official_grid_profile``, ``monthly_ranking``.
"""
