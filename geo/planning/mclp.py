"""Enforcement-post planning: coverage matrices and maximal covering (MCLP) -- the one import for callers.

The traffic brigade's question: at which intersections to put *p* posts so that
they cover the most (weighted) violations within a radius, and how many posts
are worth it.  Following spopt's design the pieces are separate:

1. **Coverage** — who can serve whom.  :func:`coverage_matrix` (straight-line,
   KD-tree), :func:`network_coverage_matrix` (along the road graph) and
   :func:`coverage_from_distances` (any distance matrix) all return the same
   thing: a sparse ``(n_demand, n_sites)`` 0/1 matrix ``A`` (CSR, ``int8``).
2. **Solvers** over ``(A, weights, p, fixed)``:

   - :func:`solve_mclp_exact` — the integer programme
     ``max Σ w_i y_i  s.t.  y_i ≤ Σ_{j∈N_i} x_j,  Σ x_j ≤ p,  x ∈ {0,1}, y ∈ [0,1]``
     solved by HiGHS through :func:`scipy.optimize.milp`, after a provably
     safe instance reduction (see :func:`reduce_instance`), with a time limit
     and a reported optimality gap.
   - :func:`solve_mclp_greedy` — the greedy heuristic with exact incremental
     marginal gains (ties → lowest index), an optional 1-swap local search,
     and a cheap submodularity upper bound so a gap can be reported.
   - :func:`solve_mclp` — picks one by size (``solver="auto"``).

   Existing (``fixed``) posts are always in the solution and count towards
   ``p``; new ones are chosen around them.  Every solver is deterministic.
3. **How many posts** — :func:`coverage_curve` (covered share for p = 1..P) and
   :func:`posts_for_share` (the set-covering view: posts needed for 80 %).
4. **Road-segment staffing** (按主次干路分段合理设置整治工作人员) —
   :func:`split_lines` cuts roads into ~500 m segments and
   :func:`allocate_staff` shares a staff total among them by the largest
   remainder method.

All coordinates are metric (e.g. EPSG:4548): project before calling.

The code lives in one module per idea; this module re-exports their public
names so ``from geo.planning.mclp import ...`` keeps working:

- :mod:`geo.planning.problem` -- input checks, :class:`MCLPResult`, :class:`PostPlanningError`;
- :mod:`geo.planning.coverage` -- the coverage matrices (1) and :func:`match_sites`;
- :mod:`geo.planning.heuristics` -- greedy, swap and iterated local search;
- :mod:`geo.planning.bounds` -- :func:`reduce_instance` and the Lagrangian bound;
- :mod:`geo.planning.solvers` -- the solvers (2) and "how many posts" (3);
- :mod:`geo.planning.staffing` -- road-segment staffing (4).

Examples
--------
>>> import numpy as np
>>> sites = np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]])
>>> demand = np.array([[10.0, 0.0], [990.0, 0.0], [1010.0, 0.0], [2100.0, 0.0]])
>>> A = coverage_matrix(sites, demand, radius_m=300)
>>> A.toarray()
array([[1, 0, 0],
       [0, 1, 0],
       [0, 1, 0],
       [0, 0, 1]], dtype=int8)
>>> res = solve_mclp(A, np.array([1.0, 2.0, 2.0, 3.0]), p=2)
>>> res.sites.tolist(), res.objective, res.status
([1, 2], 7.0, 'optimal')
>>> allocate_staff(np.array([5.0, 3.0, 2.0]), 4).tolist()
[2, 1, 1]
"""

from __future__ import annotations

from geo.planning.bounds import ReducedInstance, reduce_instance
from geo.planning.coverage import (
    coverage_from_distances,
    coverage_matrix,
    match_sites,
    network_coverage_matrix,
)
from geo.planning.problem import MCLPResult, PostPlanningError
from geo.planning.solvers import (
    Solver,
    coverage_curve,
    posts_for_share,
    solve_mclp,
    solve_mclp_exact,
    solve_mclp_greedy,
)
from geo.planning.staffing import allocate_staff, split_lines

__all__ = [
    "MCLPResult",
    "PostPlanningError",
    "ReducedInstance",
    "Solver",
    "allocate_staff",
    "coverage_curve",
    "coverage_from_distances",
    "coverage_matrix",
    "match_sites",
    "network_coverage_matrix",
    "posts_for_share",
    "reduce_instance",
    "solve_mclp",
    "solve_mclp_exact",
    "solve_mclp_greedy",
    "split_lines",
]
