"""Planning enforcement posts: coverage, the maximal-covering solvers, staffing, the deployment table.

Uses :mod:`geo.analysis` (study-area cells, filters) and :mod:`geo.grid` (roads, CRS).

Public API (import from the module):

- :mod:`geo.planning.posts` -- the workflow from events to a plan: ``plan_posts``,
  ``deployment_table``, ``segment_staffing``, ``build_coverage``, ``candidate_sites``,
  ``demand_points``, ``DEPLOYMENT_HEADERS_ZH`` / ``_EN``.
- :mod:`geo.planning.mclp` -- coverage matrices and the MCLP solvers: ``coverage_matrix``,
  ``network_coverage_matrix``, ``solve_mclp``, ``solve_mclp_exact``, ``solve_mclp_greedy``,
  ``coverage_curve``, ``posts_for_share``, ``allocate_staff``, ``PostPlanningError``.
"""
