"""Planning enforcement posts: coverage, the maximal-covering solvers, staffing, the deployment table.

Uses :mod:`geo.analysis` (study-area cells, filters) and :mod:`geo.grid` (roads, CRS).

The maximal covering location problem (MCLP) is cut by idea, data flowing down the list:
problem (input checks, result type) < coverage (who can serve whom) < heuristics (greedy,
local search) < bounds (instance reduction, Lagrangian bound) < solvers (exact, greedy,
auto, how many posts); staffing stands apart; posts is the workflow on top; mclp re-exports
the public names so callers import from one place.

Public API (import from the module):

- :mod:`geo.planning.posts` -- the workflow from events to a plan: ``plan_posts``,
  ``deployment_table``, ``segment_staffing``, ``build_coverage``, ``candidate_sites``,
  ``demand_points``, ``DEPLOYMENT_HEADERS_ZH`` / ``_EN``.
- :mod:`geo.planning.mclp` -- every public MCLP name below in one import (callers use this).
- :mod:`geo.planning.problem` -- ``MCLPResult``, ``PostPlanningError``, ``check_problem``,
  ``as_coverage``, ``as_xy``, ``check_radius``, ``gather_rows``, ``tie_tol``.
- :mod:`geo.planning.coverage` -- ``coverage_matrix``, ``network_coverage_matrix``,
  ``coverage_from_distances``, ``match_sites``.
- :mod:`geo.planning.heuristics` -- ``greedy_select``, ``swap_improve``,
  ``iterated_local_search``, ``evaluate_plan``, ``pad_sites``, ``plan_result``, ``GreedyRun``.
- :mod:`geo.planning.bounds` -- ``reduce_instance``, ``ReducedInstance``, ``lagrangian_bound``.
- :mod:`geo.planning.solvers` -- ``solve_mclp``, ``solve_mclp_exact``, ``solve_mclp_greedy``,
  ``coverage_curve``, ``posts_for_share``.
- :mod:`geo.planning.staffing` -- ``split_lines``, ``allocate_staff``.
"""
