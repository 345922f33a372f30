r"""Getis-Ord Gi* hot spots on a filled H3 study area, with honest multiple testing.

The statistic
-------------
For values :math:`x_j` on the ``n`` cells of a *filled* study area (every cell, including
those with zero events) and binary k-ring weights :math:`w_{ij}` that include the cell
itself (the "star"),

.. math::

    z_i = \frac{\sum_j w_{ij} x_j - \bar X W_i}
               {S \sqrt{(n W^{(2)}_i - W_i^2)/(n-1)}},\qquad
    W_i = \sum_j w_{ij},\; W^{(2)}_i = \sum_j w_{ij}^2,

with :math:`\bar X` and the population standard deviation :math:`S` taken over all ``n``
cells (Getis & Ord 1992; Ord & Getis 1995; ArcGIS *Hot Spot Analysis*).  It equals
``esda.getisord.G_Local(y, w, transform="B", star=True).Zs`` for binary weights and a
positive mean (esda writes the same z through :math:`G_i^* = \sum_j w_{ij}y_j/\sum_j y_j`;
its form divides by :math:`\bar y`, so it flips sign for a negative mean and is undefined
for a zero mean, ours is not).

Inference
---------
The z-score is always the one above; the modes differ only in the p-value (two-sided).

``"pooled"``
    Null calibrated by simulation: ``simulations`` null maps are random permutations of the
    observed values over the cells (the very null under which Gi*'s moments are derived),
    Gi* is recomputed for a block of maps as one sparse product, and the simulated z's of
    all cells and maps are pooled into one empirical null distribution.  Pooled p-values
    reach ``2/(n*simulations+1)``, far below the BH threshold ``alpha/n``.  Exact for any
    value distribution without spatial structure: low counts, over-dispersed counts,
    non-count values.  With ``area_share``, values are permuted only among cells of similar
    share (full cells; partial cells in share classes of width 0.1).
``"csr"`` (default)
    Same pooling, but the null maps re-scatter the observed total of events under complete
    spatial randomness (multinomial, cell probability proportional to ``area_share``).
    Tests the stronger null "events are a Poisson process"; needs non-negative integer
    counts.  Calibrated for Poisson data, anti-conservative for over-dispersed counts.
``"analytic"``
    Normal p-value.  The moments are exact, but the normal *shape* is too thin in the hot
    tail for sums of few skewed values, exactly where Benjamini–Hochberg looks.
``"permutation"``
    Conditional permutation per cell (esda's ``p_sim`` scheme, made two-sided): the cell's
    own value is held and its neighbours are drawn from the other ``n-1`` values.  A
    per-cell p cannot go below ``2/(permutations+1)``, so BH over thousands of cells needs
    impractically many permutations; a warning says so.

Which default: ``benchmarks/bench_gistar_null.py`` scatters events over a filled area of
2,791 res-9 cells (k=1, 100 null maps per setting, no hot spot anywhere) and counts the maps
with at least one BH-significant hot cell at q <= 0.10 (nominal ceiling 0.10, binomial noise
+-0.03).  At mean counts of 1 / 2 / 5 / 10 / 50 events per cell:

==========  ====  ====  ====  ====  ====  ===========================
inference     1     2     5    10    50   over-dispersed (NB, mean 5)
==========  ====  ====  ====  ====  ====  ===========================
analytic    0.46  0.32  0.23  0.12  0.06  0.84
csr         0.08  0.04  0.06  0.06  0.04  0.43
pooled      0.05  0.02  0.04  0.04  0.06  0.02
cell test   0.04  0.03  0.07  0.07  0.05  1.00
==========  ====  ====  ====  ====  ====  ===========================

``cell test`` is :func:`cell_excess_test` (the cell's own count against the area rate, Poisson,
BH at q <= 0.10; 200 null maps per column, same area): it holds the FDR on Poisson maps at every
count level and, like ``"csr"``, flags over-dispersed counts -- by design, since it asks whether a
cell holds more events than the area's rate, and heterogeneity is what a hot-spot map shows.

Analytic p-values break FDR control below ~10 events per cell.  Both simulated nulls hold it
at every count level on Poisson maps; only ``"pooled"`` holds it on over-dispersed counts
*without* spatial structure.  But ``"pooled"`` tests whether the observed values are
arranged in clusters, so a compact hot spot of one or two very busy cells is no surprise
under it (the same large values shuffled anywhere give the same z): on the Xicheng sample
the three planted morning-peak intersection hot spots (2 cells each, 6-7x background) get
no significant cell at all under ``"pooled"`` and bin +3 under ``"csr"``.  Intersection hot
spots are what a traffic brigade needs found, and over-dispersion in real data is mostly
the spatial heterogeneity a hot-spot map is meant to show, so ``"csr"`` is the default
(``[settings.hotspots] inference``); ``"pooled"`` is there for value fields and for
analysts who want the stricter null.  Cost: ~499 sparse products, ~0.2 s for 3e3 cells and
~10-20 s for 1.6e5 cells (``benchmarks/bench_gistar.py``); ``"analytic"`` for quick looks at
high counts.

Cells partly outside the study area (``area_share``)
----------------------------------------------------
Values are then *counts* per cell, and a cell with share :math:`a_j \in (0, 1]` inside the
area is expected to hold :math:`a_j` times the events of a full cell.  With
:math:`A = \sum_j a_j`, :math:`\bar X = \sum_j c_j / A` (events per full cell) and the
residuals :math:`r_j = c_j - a_j \bar X`:

.. math::

    z_i = \frac{\sum_j w_{ij} r_j}{\sqrt{\hat\lambda\,(A W^{(2)}_i - W_i^2)/A}},\qquad
    \hat\lambda = \frac{\sum_j r_j^2}{A - \sum_j a_j^2 / A},\qquad
    W_i = \sum_j w_{ij} a_j,\; W^{(2)}_i = \sum_j w_{ij}^2 a_j .

The numerator is the neighbourhood count minus its area-proportional expectation
(:math:`L_i - \bar X W_i`).  Why this denominator: under complete spatial randomness with
the total fixed (multinomial, probabilities :math:`a_j/A`), :math:`\operatorname{Var} L_i
= \lambda (A W^{(2)}_i - W_i^2)/A` and :math:`E[\sum_j r_j^2] = \lambda (A - \sum_j a_j^2/A)`,
so :math:`\hat\lambda` is unbiased and the z has variance 1 at every share; extra variance
in real data inflates :math:`\hat\lambda` exactly as it inflates ``S`` in the standard
statistic.  With all shares 1, :math:`\hat\lambda = n S^2/(n-1)` and this *is* the
standard formula above (``S`` in the code and ``GiStarResult`` follows
:math:`S^2 = \hat\lambda (n-1)/A`).  The alternative of analysing rates ``c/a`` is not
safe: a boundary sliver with ``a = 1e-6`` holding one event has the rate 1e6, inflates
the rate S ~20-fold on a 331-cell map and flattens every z (a test pins this).  The
``"csr"`` mode simulates with the same cell probabilities and ``"pooled"`` permutes counts
only among cells of similar share.

Degenerate fields
-----------------
A constant field (``S = 0``, e.g. no events at all) has no hot or cold spot: ``z = 0``,
``p = 1`` everywhere and ``GiStarResult.constant`` is ``True``.  A cell whose neighbourhood
is the whole area (zero variance) also gets ``z = 0``, ``p = 1``.  Nothing raises.

Examples
--------
>>> import numpy as np
>>> import h3.api.basic_int as h3
>>> centre = h3.latlng_to_cell(39.91, 116.37, 9)
>>> cells = np.array(h3.grid_disk(centre, 6), dtype=np.int64)    # filled study area
>>> w = kring_weights(cells, k=1)
>>> counts = np.random.default_rng(0).poisson(5.0, cells.size)
>>> counts[np.isin(cells, h3.grid_disk(centre, 1))] += 20         # a hot patch of 7 cells
>>> res = getis_ord_star(counts, w, seed=1)                       # pooled null, 499 maps
>>> bins = gi_bins(res.z, res.p_value).bins
>>> int(bins[cells == centre][0]), int((bins == 3).sum())
(3, 6)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import scipy.sparse as sp
from arro3.core import list_flatten, list_offsets
from h3ronpy import cells_resolution
from h3ronpy import grid_disk as _h3_grid_disk
from scipy import special

__all__ = [
    "BHResult",
    "GiBins",
    "GiStarResult",
    "Inference",
    "fdr_bh",
    "getis_ord_star",
    "gi_bins",
    "kring_weights",
]

Inference = Literal["analytic", "csr", "pooled", "permutation"]
_INFERENCES = ("analytic", "csr", "pooled", "permutation")

# Simulated maps held in memory at once: block columns x n cells stays below this many floats.
_BLOCK_FLOATS = 4_000_000
# Relative tolerance under which a field counts as constant / a z as tied with a simulated one.
_REL_TOL = 1e-12
_Z_TIE = 1e-9


# --------------------------------------------------------------------------- weights


def kring_weights(cells: np.ndarray, k: int = 1, self_weight: bool = True) -> sp.csr_matrix:
    """Binary k-ring neighbourhood weights over exactly the given cells.

    Parameters
    ----------
    cells : numpy.ndarray of int64
        H3 cells of the (filled) study area, one resolution, no duplicates.  Row ``i`` of
        the result belongs to ``cells[i]``.
    k : int, default 1
        Grid distance: cells within ``k`` steps are neighbours (``k=1``: the 6 touching cells).
    self_weight : bool, default True
        Put 1 on the diagonal (the cell is its own neighbour), as Gi* needs.

    Returns
    -------
    scipy.sparse.csr_matrix of float64, shape (n, n)
        ``w[i, j] = 1`` when ``cells[j]`` is within ``k`` of ``cells[i]``; neighbours outside
        ``cells`` are dropped (the area must be filled first, or zero-count cells vanish).
        Symmetric, sorted indices.

    Raises
    ------
    ValueError
        Duplicate or invalid cells, mixed resolutions, negative ``k``.
    TypeError
        ``cells`` not integer, ``k`` not an integer.

    Examples
    --------
    >>> import h3.api.basic_int as h3
    >>> c = h3.latlng_to_cell(39.91, 116.37, 9)
    >>> cells = np.array(h3.grid_disk(c, 2), dtype=np.int64)
    >>> w = kring_weights(cells, k=1)
    >>> w.shape, int(w.sum(axis=1).max()), int(w.sum(axis=1).min())
    ((19, 19), 7, 4)
    """
    cells = _as_cells(cells)
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k must be an int (grid distance), got {type(k).__name__} {k!r}")
    if k < 0:
        raise ValueError(f"k must be >= 0 (grid distance), got {k}")
    n = cells.size
    if n == 0:
        return sp.csr_matrix((0, 0), dtype=np.float64)

    order = np.argsort(cells, kind="stable")
    sorted_cells = cells[order]
    dup = sorted_cells[1:] == sorted_cells[:-1]
    if dup.any():
        raise ValueError(
            f"cells contain duplicates (e.g. {int(sorted_cells[1:][dup][0]):x}); "
            "pass each study-area cell once (np.unique)"
        )
    # Work in id-sorted order: neighbour ids of consecutive cells are then nearly sorted too,
    # which makes the id -> row lookup (searchsorted) several times faster.
    u64 = sorted_cells.view(np.uint64)
    try:
        res = np.asarray(cells_resolution(u64).to_numpy())
        disks = _h3_grid_disk(u64, int(k))
    except ValueError as exc:
        raise ValueError(f"cells contain an invalid H3 id ({exc}); drop 0 / invalid ids first") from None
    if res[0] != res[-1] or res.min() != res.max():
        raise ValueError(
            f"cells mix H3 resolutions {sorted(set(res.tolist()))}; build weights per resolution"
        )

    offsets = np.asarray(list_offsets(disks).to_numpy(), dtype=np.int64)
    neighbours = np.asarray(list_flatten(disks).to_numpy()).view(np.int64)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    # Map neighbour ids to positions; ids outside the study area are dropped.
    cols = np.minimum(np.searchsorted(sorted_cells, neighbours), n - 1)
    inside = sorted_cells[cols] == neighbours
    rows, cols = rows[inside], cols[inside]
    if not self_weight:
        off_diag = rows != cols
        rows, cols = rows[off_diag], cols[off_diag]
    # rows are already grouped and ascending: build CSR directly.
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    w = sp.csr_matrix((np.ones(rows.size), cols, indptr), shape=(n, n))
    if np.any(order != np.arange(n)):
        # back to the caller's row order: gather rows, relabel columns
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        w = w[rank]
        w.indices = order[w.indices].astype(w.indices.dtype, copy=False)
        w.has_sorted_indices = False
    w.sort_indices()
    return w


def _as_cells(cells: np.ndarray) -> np.ndarray:
    arr = np.asarray(cells)
    if arr.ndim != 1:
        raise ValueError(f"cells must be a 1-D array of H3 ids, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"cells must be int64 H3 ids, got dtype {arr.dtype}; convert hex strings at the edge"
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


# --------------------------------------------------------------------------- Gi*


@dataclass(frozen=True)
class GiStarResult:
    """Gi* z-scores and p-values for every cell (same order as the input).

    Attributes
    ----------
    z : numpy.ndarray
        Gi* z-score (positive = hot, negative = cold); 0 for degenerate cells.
    p_value : numpy.ndarray
        Two-sided p-value from the chosen ``inference``.
    p_norm : numpy.ndarray
        Two-sided normal (analytic) p-value, always computed, for comparison.
    local_sum : numpy.ndarray
        :math:`\\sum_j w_{ij} c_j` (neighbourhood total of the counts/values).
    expected : numpy.ndarray
        :math:`\\bar X W_i`, the local sum expected without clustering.
    sd : numpy.ndarray
        Denominator of ``z`` (standard deviation of ``local_sum`` under the null).
    inference : str
        ``"analytic"``, ``"csr"``, ``"pooled"`` or ``"permutation"``.
    draws : int
        Simulated maps / permutations used (0 for analytic).
    p_min : float
        Smallest p-value the inference can produce (0 for analytic).
    constant : bool
        The field has no variance: no hot or cold spots, ``z = 0``, ``p = 1``.
    """

    z: np.ndarray
    p_value: np.ndarray
    p_norm: np.ndarray
    local_sum: np.ndarray
    expected: np.ndarray
    sd: np.ndarray
    inference: str
    draws: int
    p_min: float
    constant: bool


class _Design(NamedTuple):
    w: sp.csr_matrix  # weights, float64
    a: np.ndarray  # area shares (ones when not given)
    unit: bool  # all shares are 1: skip the density algebra on hot paths
    a_total: float  # A = sum(a)
    w_sum: np.ndarray  # W_i = sum_j w_ij a_j
    var_factor: np.ndarray  # (A W2_i - W_i^2) / (n - 1); 0 marks a degenerate cell
    inv_sd_factor: np.ndarray  # 1 / sqrt(var_factor), 0 where var_factor is 0
    s2_factor: float  # S^2 = s2_factor * sum_j (c_j - a_j X)^2; 1/n for equal cells
    n: int


def _design(weights: sp.spmatrix, n: int, area_share: np.ndarray | None) -> _Design:
    if not sp.issparse(weights):
        raise TypeError(
            f"weights must be a scipy.sparse matrix (e.g. from kring_weights), got {type(weights).__name__}"
        )
    if weights.format == "csr" and weights.dtype == np.float64:
        w = weights  # read only: never modified
    else:
        w = sp.csr_matrix(weights, dtype=np.float64)
    if w.shape != (n, n):
        raise ValueError(
            f"weights have shape {w.shape} but there are {n} values; "
            "build weights over the same cells in the same order"
        )
    if n < 2:
        raise ValueError(f"Gi* needs at least 2 cells, got {n}")
    data = w.data
    binary = bool(np.all(data == 1.0))
    if not binary and (not np.all(np.isfinite(data)) or data.min() < 0):
        raise ValueError("weights must be finite and non-negative")
    if area_share is None:
        a = np.ones(n)
    else:
        a = np.asarray(area_share, dtype=np.float64)
        if a.shape != (n,):
            raise ValueError(f"area_share has shape {a.shape}, expected ({n},) like values")
        bad = ~((a > 0) & (a <= 1))
        if bad.any():
            raise ValueError(
                f"area_share must lie in (0, 1], got {a[bad][0]!r} at position {int(np.flatnonzero(bad)[0])}; "
                "drop cells with no area inside the study area"
            )
    unit = bool(np.all(a == 1.0))
    a_total = float(a.sum())
    if binary and unit and w.has_canonical_format:
        w_sum = np.diff(w.indptr).astype(np.float64)  # row sums of a 0/1 matrix, no product needed
    else:
        w_sum = w @ a
    w2_sum = w_sum if binary else w.power(2) @ a
    var_factor = (a_total * w2_sum - w_sum**2) / (n - 1)
    # A neighbourhood covering the whole area has (numerically) zero variance.
    var_factor[var_factor <= _REL_TOL * a_total * np.maximum(w2_sum, 1e-300)] = 0.0
    inv_sd_factor = np.zeros(n)
    pos = var_factor > 0
    inv_sd_factor[pos] = 1.0 / np.sqrt(var_factor[pos])
    s2_factor = (n - 1) / (a_total * a_total - float(a @ a))
    return _Design(w, a, unit, a_total, w_sum, var_factor, inv_sd_factor, s2_factor, n)


def _field_sd(counts: np.ndarray, d: _Design) -> np.ndarray:
    """S per map (axis 0) from the residuals c_j - a_j X (module docstring); 0 for a constant map."""
    xbar = counts.sum(axis=0) / d.a_total
    if d.unit:
        resid = counts - xbar
    else:
        resid = counts - (np.multiply.outer(d.a, xbar) if counts.ndim == 2 else d.a * xbar)
    s = np.sqrt(np.einsum("i...,i...->...", resid, resid) * d.s2_factor)
    # residuals that are rounding noise of the counts mean a constant (density) field
    noise = _REL_TOL * np.abs(counts).max(axis=0)
    return np.where(np.abs(resid).max(axis=0) <= noise, 0.0, s)


def _gi_z_block(counts: np.ndarray, d: _Design) -> np.ndarray:
    """Gi* z of a block of maps (n, B), computed in place on the local sums."""
    z = np.asarray(d.w @ counts)
    xbar = counts.sum(axis=0) / d.a_total
    s = _field_sd(counts, d)
    inv_s = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
    z -= d.w_sum[:, None] * xbar
    z *= d.inv_sd_factor[:, None]
    z *= inv_s
    return z


def getis_ord_star(
    values: np.ndarray,
    weights: sp.spmatrix,
    *,
    area_share: np.ndarray | None = None,
    inference: Inference = "csr",
    simulations: int = 499,
    permutations: int = 999,
    seed: int | None = 0,
    alpha: float = 0.05,
) -> GiStarResult:
    """Getis-Ord Gi* (cell included) with analytic, simulated or permutation p-values.

    Parameters
    ----------
    values : numpy.ndarray, shape (n,)
        Value per cell of the filled study area, zeros included (event counts for
        ``"csr"`` and whenever ``area_share`` is given).  Rows match ``weights``.
    weights : scipy.sparse matrix, shape (n, n)
        Spatial weights in the order of ``values`` *with* the self weight on the diagonal,
        normally ``kring_weights(cells, k)``.  Non-binary weights use the general formula
        (esda's ``G_Local`` only handles binary ones).
    area_share : numpy.ndarray, shape (n,), optional
        Share (0, 1] of each cell inside the study area; a cell's expected count is
        proportional to it (module docstring).  ``None`` means all 1.
    inference : {"csr", "pooled", "analytic", "permutation"}, default "csr"
        How p-values are obtained (module docstring).  ``z`` does not depend on it.
    simulations : int, default 499
        Simulated null maps for ``"csr"`` and ``"pooled"`` (pooled over all cells, so the
        smallest p is ``2/(n*simulations+1)``; 499 lets even a single cell reach the BH
        threshold ``0.01/n`` of the 99 % bin).
    permutations : int, default 999
        Conditional permutations for ``"permutation"`` (smallest p ``2/(permutations+1)``).
    seed : int or None, default 0
        Seed of the random generator (simulation modes); results are reproducible.
    alpha : float, default 0.05
        FDR level used only to warn when the inference cannot reach the Benjamini–Hochberg
        threshold ``alpha/n`` for a single discovery.

    Returns
    -------
    GiStarResult

    Raises
    ------
    ValueError
        Shapes disagree, non-finite values, ``area_share`` outside (0, 1], non-integer or
        negative counts with ``"csr"``, ``area_share`` with ``"permutation"``.

    Warns
    -----
    UserWarning
        When ``2/(draws+1)`` (per cell) or ``2/(n*draws+1)`` (pooled) exceeds ``alpha/n``.

    Examples
    --------
    >>> import h3.api.basic_int as h3
    >>> cells = np.array(h3.grid_disk(h3.latlng_to_cell(39.91, 116.37, 9), 3), dtype=np.int64)
    >>> w = kring_weights(cells)
    >>> y = np.arange(cells.size, dtype=float)   # the centre cell and its ring hold the lowest values
    >>> r = getis_ord_star(y, w, inference="analytic")
    >>> round(float(r.z[0]), 2), f"{r.p_value[0]:.1e}"
    (-4.07, '4.7e-05')
    """
    if inference not in _INFERENCES:
        raise ValueError(f"inference must be one of {_INFERENCES}, got {inference!r}")
    x = np.asarray(values)
    if x.ndim != 1:
        raise ValueError(f"values must be 1-D (one value per cell), got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"values must be numeric, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        i = int(np.flatnonzero(~np.isfinite(x))[0])
        raise ValueError(f"values must be finite, got {x[i]} at position {i}; fill missing cells with 0")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    d = _design(weights, x.size, area_share)
    if area_share is not None and x.min() < 0:
        raise ValueError("with area_share, values must be non-negative counts per cell")

    local_sum = d.w @ x
    expected = d.w_sum * (x.sum() / d.a_total)
    s = float(_field_sd(x, d))
    constant = s == 0
    sd = s * np.sqrt(d.var_factor)
    z = (local_sum - expected) * d.inv_sd_factor * (1.0 / s if s > 0 else 0.0)
    p_norm = np.where(sd > 0, 2.0 * special.ndtr(-np.abs(z)), 1.0)

    draws, p_min = 0, 0.0
    if inference == "permutation":
        draws = _check_count(permutations, "permutations")
        p_min = 2.0 / (draws + 1)
        if not d.unit:
            raise ValueError(
                "inference='permutation' assumes exchangeable cells; with area_share use 'pooled' or 'csr'"
            )
    elif inference in ("pooled", "csr"):
        draws = _check_count(simulations, "simulations")
        p_min = 2.0 / (d.n * draws + 1)
        if inference == "csr" and (x.min() < 0 or np.any(x != np.round(x))):
            raise ValueError(
                "inference='csr' simulates events, so values must be non-negative integer counts; "
                "use inference='pooled' or 'analytic' for other values"
            )
    if inference == "analytic" or constant:
        p = p_norm
        draws = 0 if constant else draws
    else:
        rng = np.random.default_rng(seed)
        if inference == "permutation":
            p = _p_conditional(x, d, local_sum, draws, rng)
        else:
            p = _p_pooled(x, d, z, draws, rng, csr=inference == "csr")
        p = np.where(sd > 0, p, 1.0)
        if p_min > alpha / d.n:
            knob = "permutations" if inference == "permutation" else "simulations"
            need = math.ceil(2 * d.n / alpha) if inference == "permutation" else math.ceil(2 / alpha)
            warnings.warn(
                f"inference={inference!r} with {knob}={draws}: the smallest attainable p-value is "
                f"{p_min:.3g}, above the Benjamini-Hochberg threshold alpha/n = {alpha}/{d.n} = "
                f"{alpha / d.n:.3g} for a single discovery, so FDR control can only flag clusters of "
                f"at least {math.ceil(p_min * d.n / alpha)} cells. Use {knob} >= {need}"
                + (" or inference='csr'/'pooled' (pooled nulls reach 2/(n*simulations+1))."
                   if inference == "permutation" else "."),
                UserWarning,
                stacklevel=2,
            )
    return GiStarResult(
        z=z, p_value=p, p_norm=p_norm, local_sum=local_sum, expected=expected, sd=sd,
        inference=inference, draws=draws, p_min=p_min, constant=constant,
    )


def _check_count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _blocks(total: int, n: int) -> list[int]:
    size = max(1, min(total, _BLOCK_FLOATS // max(n, 1)))
    return [min(size, total - start) for start in range(0, total, size)]


def _p_pooled(
    x: np.ndarray, d: _Design, z_obs: np.ndarray, draws: int, rng: np.random.Generator, *, csr: bool
) -> np.ndarray:
    """Two-sided p of each observed z against the z's of all cells of ``draws`` null maps."""
    n = d.n
    # queries in sorted order keep searchsorted cache-friendly; results are unsorted at the end
    order = np.argsort(z_obs)
    z_lo = z_obs[order] - _Z_TIE  # ties within _Z_TIE count as extreme (conservative)
    z_hi = z_obs[order] + _Z_TIE
    n_ge = np.zeros(n, dtype=np.int64)
    n_le = np.zeros(n, dtype=np.int64)
    strata = grouped = None
    if not csr and not d.unit:
        # full cells form one class, partial ones classes of width 0.1 in share
        strata = np.where(d.a >= 1 - 1e-9, 11.0, np.ceil(d.a * 10))
        grouped = np.argsort(strata, kind="stable")
    for b in _blocks(draws, n):
        if csr:
            maps = _csr_maps(rng, int(round(x.sum())), d, b)
        elif strata is None:
            maps = rng.permuted(np.broadcast_to(x, (b, n)), axis=1)
        else:
            # permute within share classes: sorting random keys offset by class puts a random
            # member of the same class at each class-grouped position
            perm = np.empty((b, n), dtype=np.int64)
            perm[:, grouped] = np.argsort(strata + rng.random((b, n)), axis=1)
            maps = x[perm]
        z_sim = _gi_z_block(np.ascontiguousarray(maps.T), d).ravel()
        z_sim.sort()
        n_ge += z_sim.size - np.searchsorted(z_sim, z_lo, side="left")
        n_le += np.searchsorted(z_sim, z_hi, side="right")
    p = np.empty(n)
    p[order] = np.minimum(1.0, 2.0 * (np.minimum(n_ge, n_le) + 1.0) / (n * draws + 1.0))
    return p


def _csr_maps(rng: np.random.Generator, total: int, d: _Design, b: int) -> np.ndarray:
    """``b`` maps (b, n) of ``total`` events scattered independently, P(cell j) = a_j / A."""
    n = d.n
    if total > 20 * n:  # many events: one binomial per cell is cheaper than one draw per event
        return rng.multinomial(total, d.a / d.a_total, size=b).astype(np.float64)
    maps = np.empty((b, n))
    keep_rate = d.a_total / n
    for j in range(b):  # loop over simulated maps, each fully vectorised
        ev = rng.integers(0, n, total)
        if not d.unit:  # thinning: accept an event in cell j with probability a_j
            ev = ev[rng.random(total) < d.a[ev]]
            while ev.size < total:
                extra = rng.integers(0, n, int((total - ev.size) / keep_rate * 1.2) + 16)
                ev = np.concatenate([ev, extra[rng.random(extra.size) < d.a[extra]]])
            ev = ev[:total]
        maps[j] = np.bincount(ev, minlength=n)
    return maps


def _p_conditional(
    x: np.ndarray, d: _Design, local_sum: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Conditional permutation p: cell i keeps x_i, neighbours drawn from the other n-1 values.

    A block of full permutations is one sparse product with the off-diagonal weights.  When
    x_i itself lands in i's neighbourhood, it is swapped with the value that landed on i; this
    makes each cell's neighbour set an exactly uniform draw from the other n-1 values.
    """
    n = d.n
    w = d.w
    diag = w.diagonal()
    w_off = (w - sp.diags(diag)).tocsr()
    w_off.eliminate_zeros()
    w_off.sort_indices()
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(w_off.indptr))
    keys = rows * n + w_off.indices  # sorted: row-major, sorted columns
    fixed = diag * x
    arange = np.arange(n)
    n_ge = np.zeros(n, dtype=np.int64)
    n_le = np.zeros(n, dtype=np.int64)
    tol = _Z_TIE * max(1.0, float(np.abs(local_sum).max()))
    for b in _blocks(draws, n):
        perm = rng.permuted(np.broadcast_to(arange, (b, n)), axis=1)  # perm[b, j]: value placed at j
        sims = np.asarray(w_off @ x[perm].T) + fixed[:, None]
        where = np.empty_like(perm)  # where[b, i]: position that received x_i
        np.put_along_axis(where, perm, np.broadcast_to(arange, (b, n)), axis=1)
        q = arange * n + where  # (b, n) lookup keys (i, where x_i landed)
        k = np.minimum(np.searchsorted(keys, q), max(keys.size - 1, 0))
        if keys.size:
            hit = keys[k] == q
            wt = np.where(hit, w_off.data[k], 0.0)
            # swap: the slot holding x_i gets the value that landed on i instead
            sims += (wt * (x[perm] - x)).T
        n_ge += (sims >= local_sum[:, None] - tol).sum(axis=1)
        n_le += (sims <= local_sum[:, None] + tol).sum(axis=1)
    return np.minimum(1.0, 2.0 * (np.minimum(n_ge, n_le) + 1.0) / (draws + 1.0))


# --------------------------------------------------------------------------- the cell's own count

class CellTest(NamedTuple):
    """Per-cell test of a cell's own count against its area-rate expectation (:func:`cell_excess_test`)."""

    expected: np.ndarray  # events expected in the cell at the area's rate, same window
    ratio: np.ndarray  # count / expected (NaN where expected is 0)
    p_value: np.ndarray  # one-sided Poisson upper tail P(X >= count)
    p_fdr: np.ndarray  # Benjamini-Hochberg adjusted
    significant: np.ndarray  # p_fdr <= alpha and count > expected


def cell_excess_test(counts: np.ndarray, area_share: np.ndarray | None = None,
                     alpha: float = 0.05) -> CellTest:
    r"""Which corner: is *this cell's own* count above what the area's rate predicts?

    Gi* is a neighbourhood statistic: a single busy cell at an intersection among quiet
    neighbours can score lower than a quiet cell next to it.  This test looks at the cell alone:
    with :math:`N` events in the area (same filter and window), :math:`A = \sum_j a_j` and the
    cell's share :math:`a_i` inside the area, the expected count is :math:`E_i = N a_i / A` and
    the one-sided p-value is the Poisson upper tail :math:`P(X \ge c_i \mid X \sim
    \mathrm{Poisson}(E_i))` (conservative for discrete counts), Benjamini-Hochberg adjusted over
    all cells.  A cell is significant when its adjusted p is at most ``alpha``.  Its FDR on null
    maps is in the module docstring's table (row ``cell test``) and checked in the tests.

    Examples
    --------
    >>> c = np.array([1, 0, 2, 1, 1, 0, 12, 1, 0, 2])
    >>> t = cell_excess_test(c, alpha=0.05)
    >>> np.flatnonzero(t.significant).tolist(), round(float(t.expected[6]), 1)
    ([6], 2.0)
    """
    from scipy import stats

    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1:
        raise ValueError(f"counts must be 1-D, got shape {c.shape}")
    if c.size and (c.min() < 0 or np.any(c != np.round(c))):
        raise ValueError("counts must be non-negative integers")
    a = np.ones(c.size) if area_share is None else np.asarray(area_share, dtype=np.float64)
    if a.shape != c.shape:
        raise ValueError(f"area_share has shape {a.shape}, expected {c.shape}")
    total, a_total = float(c.sum()), float(a.sum())
    expected = total * a / a_total if a_total > 0 else np.zeros(c.size)
    p = np.where(expected > 0, stats.poisson.sf(c - 1, np.where(expected > 0, expected, 1.0)), 1.0)
    p = np.where(c > 0, p, 1.0)
    adj = fdr_bh(p, alpha).p_adjusted if c.size else p
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(expected > 0, c / np.where(expected > 0, expected, 1.0), np.nan)
    return CellTest(expected, ratio, p, adj, (adj <= alpha) & (c > expected))


# --------------------------------------------------------------------------- multiple testing


class BHResult(NamedTuple):
    """Benjamini–Hochberg outcome: ``reject`` at ``alpha`` and the adjusted p-values."""

    reject: np.ndarray
    p_adjusted: np.ndarray


def fdr_bh(p: np.ndarray, alpha: float = 0.05) -> BHResult:
    """Benjamini–Hochberg step-up procedure (false discovery rate ``alpha``).

    Parameters
    ----------
    p : array_like of float in [0, 1]
        p-values of all tests (here: all cells of the study area).
    alpha : float, default 0.05
        Target FDR.

    Returns
    -------
    BHResult
        ``reject``: bool per test; ``p_adjusted``: BH-adjusted p-values (q-values), equal to
        ``scipy.stats.false_discovery_control(p, method="bh")``; ``reject == (p_adjusted <= alpha)``.

    Examples
    --------
    >>> fdr_bh([0.001, 0.02, 0.03, 0.5], alpha=0.05).reject.tolist()
    [True, True, True, False]
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p must be 1-D, got shape {p.shape}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if p.size and not (np.all(p >= 0) and np.all(p <= 1)):  # also rejects NaN
        bad = ~((p >= 0) & (p <= 1))
        raise ValueError(f"p-values must lie in [0, 1], got {p[bad][0]} at position {int(np.flatnonzero(bad)[0])}")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adj_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    adj = np.empty(m)
    adj[order] = np.minimum(adj_sorted, 1.0)
    return BHResult(reject=adj <= alpha, p_adjusted=adj)


class GiBins(NamedTuple):
    """Confidence bins (-3..+3 for three levels) and the p-values they were judged on."""

    bins: np.ndarray
    p_fdr: np.ndarray


def gi_bins(
    z: np.ndarray,
    p: np.ndarray,
    alpha_levels: tuple[float, ...] = (0.01, 0.05, 0.10),
    fdr: bool = True,
) -> GiBins:
    """ArcGIS-style Gi* bins: ±3/±2/±1 = hot/cold spot at 99/95/90 % confidence, 0 = not significant.

    Parameters
    ----------
    z : numpy.ndarray
        Gi* z-scores (sign gives hot/cold).
    p : numpy.ndarray
        Two-sided p-values (``GiStarResult.p_value``).
    alpha_levels : tuple of float, default (0.01, 0.05, 0.10)
        Significance levels, strictest first or in any order; the strictest gives the
        largest bin (``len(alpha_levels)``).
    fdr : bool, default True
        Judge each level on Benjamini–Hochberg-adjusted p-values over all cells (equivalent
        to running BH at each level, as ArcGIS's FDR correction), else on raw ``p``.

    Returns
    -------
    GiBins
        ``bins`` (int8, sign of ``z`` times the number of levels met) and ``p_fdr`` (the
        p-values judged: BH-adjusted when ``fdr`` else ``p``).

    Examples
    --------
    >>> gi_bins(np.array([4.0, -2.2, 1.8, 0.3]), np.array([6e-5, 0.028, 0.072, 0.76]), fdr=False).bins.tolist()
    [3, -2, 1, 0]
    """
    z = np.asarray(z, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if z.shape != p.shape or z.ndim != 1:
        raise ValueError(f"z and p must be 1-D of the same length, got shapes {z.shape} and {p.shape}")
    levels = np.sort(np.asarray(alpha_levels, dtype=np.float64))
    if levels.size == 0 or levels.size > 127 or not np.all((levels > 0) & (levels < 1)):
        raise ValueError(f"alpha_levels must be 1+ levels in (0, 1), got {alpha_levels!r}")
    p_judged = fdr_bh(p, float(levels[0])).p_adjusted if fdr else p
    if not fdr and p.size and not np.all((p >= 0) & (p <= 1)):
        raise ValueError("p-values must lie in [0, 1]")
    met = (p_judged[:, None] <= levels[None, :]).sum(axis=1)
    bins = (np.sign(z) * met).astype(np.int8)
    return GiBins(bins=bins, p_fdr=p_judged)
