"""Coordinate reference systems used in China, vectorised over numpy arrays.

gridwatch stores every point in **WGS84** (EPSG:4326, lon/lat order) and measures
distances in a metric CRS (default EPSG:4548, CGCS2000 3-degree Gauss-Kruger CM
117°E, the zone for Beijing).  Sources arrive in other systems:

* **GCJ-02** ("Mars coordinates", 国测局): Amap/Gaode, Tencent, Apple maps in China
  and the 12345 platform.  WGS84 shifted by a non-linear, deliberately obscure
  offset (~550 m in Beijing).  The forward formula is public (Krasovsky
  ellipsoid a = 6378245.0, e² = 0.00669342162296594323); it has no closed-form
  inverse, so :func:`gcj02_to_wgs84` solves it by fixed-point iteration to
  ~1e-12° (sub-micrometre), not with the usual one-step approximation (~1 m
  error).
* **BD-09** (Baidu): GCJ-02 with a further polar twist and a (0.0065°, 0.006°)
  shift; inverted iteratively as well.
* **CGCS2000** (EPSG:4490): the national geodetic datum.  Converted through
  pyproj, which uses a null ("ballpark") transformation: the datums agree to
  well under a metre (CGCS2000 is ITRF97 at epoch 2000.0; WGS84 follows the
  current ITRF, so the Eurasian plate's ~3 cm/yr drift since 2000 is ignored).
* Any other CRS pyproj understands (``"EPSG:4548"``, ``"EPSG:32650"``, PROJ
  strings), geographic or projected in metres.

**Outside China the GCJ-02 and BD-09 offsets are not applied** (the conversion is
the identity), as in every public implementation.  "Inside China" is the usual
rough bounding box lon 72.004–137.8347, lat 0.8293–55.8271 (inclusive), tested on
the *input* coordinates of each function.  The box is larger than China (it
holds Korea, Japan's west, much of South-East Asia): points there are shifted too,
which is what Chinese map providers do.  Within ~1 km of the box edges a
forward/inverse pair may disagree on which side a point lies; no city is near.

All functions take array-likes of any (broadcastable) shape, return float64
arrays of the broadcast shape, propagate NaN (a NaN in either coordinate gives
NaN in both outputs) and loop only over solver iterations, never over points.
Argument order is always ``(lon, lat)`` / ``(x, y)``.

Examples
--------
>>> import numpy as np
>>> from geo.grid.crs import wgs84_to_gcj02, gcj02_to_wgs84, to_wgs84
>>> glon, glat = wgs84_to_gcj02(116.404, 39.915)
>>> print(f"{float(glon):.6f} {float(glat):.6f}")
116.410244 39.916404
>>> wlon, wlat = gcj02_to_wgs84(glon, glat)
>>> print(f"{float(wlon):.9f} {float(wlat):.9f}")
116.404000000 39.915000000
>>> x, y = to_metric([116.397], [39.909])
>>> bool(400_000 < x[0] < 500_000)
True
>>> to_wgs84([200.0], [39.9], "gcj02")[0]  # outside China: identity
array([200.])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj.exceptions import CRSError

from geo.errors import CoordinateError

__all__ = [
    "BD09",
    "CGCS2000",
    "DEFAULT_METRIC_CRS",
    "GCJ02",
    "WGS84",
    "CoordinateError",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "cgcs2000_to_wgs84",
    "from_metric",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geometry_from_wgs84",
    "geometry_to_wgs84",
    "in_china",
    "normalize_crs_name",
    "to_metric",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_cgcs2000",
    "wgs84_to_gcj02",
]

FloatArray = NDArray[np.float64]
CRSLike = str | int | pyproj.CRS
G = TypeVar("G")

# Canonical names of the systems handled here (pyproj CRSs are named by their
# authority string, e.g. "EPSG:4548").
WGS84 = "WGS84"
GCJ02 = "GCJ02"
BD09 = "BD09"
CGCS2000 = "CGCS2000"
DEFAULT_METRIC_CRS = "EPSG:4548"

# Keys are upper-cased with spaces, '-' and '_' removed (see _alias_key).
_ALIASES: dict[str, str] = {
    "WGS84": WGS84, "EPSG:4326": WGS84, "4326": WGS84, "OGC:CRS84": WGS84, "CRS84": WGS84,
    "GCJ02": GCJ02,
    "BD09": BD09,
    "CGCS2000": CGCS2000, "EPSG:4490": CGCS2000, "4490": CGCS2000,
}
_ACCEPTED = (
    "'WGS84' (or 'EPSG:4326', '4326'), 'GCJ02' (or 'GCJ-02'), 'BD09' (or 'BD-09'), "
    "'CGCS2000' (or 'EPSG:4490'), or any CRS pyproj understands, e.g. 'EPSG:4548' "
    "(metres) or 'EPSG:32650'; names are case-insensitive"
)

# --- GCJ-02 / BD-09 constants (public formula) -------------------------------
_GCJ_A = 6378245.0                  # Krasovsky 1940 semi-major axis, m
_GCJ_EE = 0.00669342162296594323    # Krasovsky 1940 first eccentricity squared
_BD_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006
# Rough "inside China" box used by all public implementations.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

_DEFAULT_TOL_DEG = 1e-12   # inverse stops when max |forward(x) - target| <= this (~0.1 µm)
_DEFAULT_MAX_ITER = 30     # typical: 3-5 iterations (the offsets change slowly)


# --- helpers -----------------------------------------------------------------
def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Broadcast ``lon, lat`` to float64 arrays of one shape (copies, never views)."""
    try:
        a = np.asarray(lon, dtype=np.float64)
        b = np.asarray(lat, dtype=np.float64)
        a, b = np.broadcast_arrays(a, b)
    except (TypeError, ValueError) as exc:
        raise CoordinateError(
            f"coordinates must be numeric arrays of broadcastable shapes, got {exc}; "
            "pass two numbers or two equal-length arrays (lon, lat)"
        ) from exc
    a = np.array(a, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    # A point with one missing coordinate is a missing point.
    missing = np.isnan(a) | np.isnan(b)
    if missing.any():
        a[missing] = np.nan
        b[missing] = np.nan
    return a, b


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Rough "inside China" test used to decide whether GCJ-02/BD-09 offsets apply.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees (any of WGS84, GCJ-02, BD-09: the box
        is far coarser than the offsets).

    Returns
    -------
    numpy.ndarray of bool
        True inside the box lon 72.004–137.8347, lat 0.8293–55.8271 (inclusive);
        False outside and for NaN.
    """
    x, y = _as_arrays(lon, lat)
    return (
        (x >= _CHINA_LON[0]) & (x <= _CHINA_LON[1]) & (y >= _CHINA_LAT[0]) & (y <= _CHINA_LAT[1])
    )


def _apply_inside(
    fn: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    lon: ArrayLike,
    lat: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Apply ``fn`` (an offset formula) to points inside China; identity elsewhere."""
    x, y = _as_arrays(lon, lat)
    inside = in_china(x, y)
    if inside.any():
        x[inside], y[inside] = fn(x[inside], y[inside])
    return x, y


def _gcj_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """WGS84 -> GCJ-02 offset formula, applied unconditionally (1-D arrays)."""
    x = lon - 105.0
    y = lat - 35.0
    # Distortions in metres of arc, then turned into degrees on the Krasovsky
    # ellipsoid (the published formula mixes ellipsoids; we reproduce it exactly).
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(radlat) * np.pi)
    return lon + dlon, lat + dlat


def _gcj_inverse_guess(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """One-step approximate GCJ-02 -> WGS84 (error ~1e-5°): the solver's start."""
    flon, flat = _gcj_forward(lon, lat)
    return 2.0 * lon - flon, 2.0 * lat - flat


def _bd_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 -> BD-09 formula, applied unconditionally."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_inverse_guess(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The published one-step BD-09 -> GCJ-02 formula (error ~5e-7°): the solver's start."""
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    guess: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    tol_deg: float,
    max_iter: int,
    name: str,
) -> Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]:
    """Build an exact inverse of ``forward`` by fixed-point iteration.

    ``x <- x - (forward(x) - target)`` converges because both offsets are nearly
    constant: their Jacobian differs from the identity by ~1e-3, so each step
    gains ~3 digits; 3-5 steps reach 1e-12° from the one-step guess.
    """
    if not (tol_deg > 0.0):
        raise CoordinateError(f"tol_deg must be > 0 degrees, got {tol_deg!r}; e.g. 1e-12")
    if int(max_iter) < 1:
        raise CoordinateError(f"max_iter must be >= 1, got {max_iter!r}; e.g. 30")

    def solve(tlon: FloatArray, tlat: FloatArray) -> tuple[FloatArray, FloatArray]:
        lon, lat = guess(tlon, tlat)
        for _ in range(int(max_iter)):
            flon, flat = forward(lon, lat)
            rlon = flon - tlon
            rlat = flat - tlat
            lon = lon - rlon
            lat = lat - rlat
            # NaN residuals compare False: NaN points never block convergence.
            if not ((np.abs(rlon) > tol_deg).any() or (np.abs(rlat) > tol_deg).any()):
                break
        else:
            flon, flat = forward(lon, lat)
            worst = float(np.nanmax(np.maximum(np.abs(flon - tlon), np.abs(flat - tlat))))
            if worst > tol_deg:
                warnings.warn(
                    f"{name}: not converged after {max_iter} iterations "
                    f"(max residual {worst:.3g}° > tol_deg={tol_deg:g}); "
                    "raise max_iter or tol_deg",
                    RuntimeWarning,
                    stacklevel=3,
                )
        return lon, lat

    return solve


# --- GCJ-02 / BD-09 ----------------------------------------------------------
def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 lon/lat to GCJ-02 (Amap/Gaode, Tencent).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude in degrees, any broadcastable shapes.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude (float64, broadcast shape).  Points
        outside the China box (see :func:`in_china`) are returned unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([116.404, 0.0], [39.915, 0.0])
    >>> np.round(lon, 6).tolist(), np.round(lat, 6).tolist()
    ([116.410244, 0.0], [39.916404, 0.0])
    """
    return _apply_inside(_gcj_forward, lon, lat)


def gcj02_to_wgs84(
    lon: ArrayLike,
    lat: ArrayLike,
    tol_deg: float = _DEFAULT_TOL_DEG,
    max_iter: int = _DEFAULT_MAX_ITER,
) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 lon/lat to WGS84 with an iterative, exact inverse.

    Solves ``wgs84_to_gcj02(w) == g`` for ``w`` by fixed-point iteration,
    starting from the one-step approximation ``2g - wgs84_to_gcj02(g)``.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.
    tol_deg : float, default 1e-12
        Stop when every point's forward residual is at most this many degrees
        (1e-12° ≈ 0.1 µm).  A RuntimeWarning is issued if ``max_iter`` is hit first.
    max_iter : int, default 30
        Iteration cap (3–5 are needed in practice).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS84 longitude and latitude.  Points outside the China box are unchanged.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(116.41024449916938, 39.91640428150164)
    >>> print(f"{float(lon):.9f} {float(lat):.9f}")
    116.404000000 39.915000000
    """
    solve = _invert(_gcj_forward, _gcj_inverse_guess, tol_deg, max_iter, "gcj02_to_wgs84")
    return _apply_inside(solve, lon, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 lon/lat to BD-09 (Baidu).

    Outside the China box the point is returned unchanged (all three systems
    coincide there in this module).

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)
    >>> print(f"{float(lon):.8f} {float(lat):.8f}")
    116.41036949 39.92133699
    """
    return _apply_inside(_bd_forward, lon, lat)


def bd09_to_gcj02(
    lon: ArrayLike,
    lat: ArrayLike,
    tol_deg: float = _DEFAULT_TOL_DEG,
    max_iter: int = _DEFAULT_MAX_ITER,
) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 lon/lat to GCJ-02 with an iterative, exact inverse.

    Starts from the published one-step formula (error up to ~5e-7°, ~5 cm) and
    iterates on :func:`gcj02_to_bd09` until the residual is below ``tol_deg``.
    Parameters and returns as in :func:`gcj02_to_wgs84`.
    """
    solve = _invert(_bd_forward, _bd_inverse_guess, tol_deg, max_iter, "bd09_to_gcj02")
    return _apply_inside(solve, lon, lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 lon/lat to BD-09 (via GCJ-02).

    The China-box test is made once, on the WGS84 input, so a point is either
    shifted by both offsets or by neither.
    """
    def both(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        return _bd_forward(*_gcj_forward(x, y))

    return _apply_inside(both, lon, lat)


def bd09_to_wgs84(
    lon: ArrayLike,
    lat: ArrayLike,
    tol_deg: float = _DEFAULT_TOL_DEG,
    max_iter: int = _DEFAULT_MAX_ITER,
) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 lon/lat to WGS84 (exact BD-09 -> GCJ-02, then exact GCJ-02 -> WGS84).

    The China-box test is made once, on the BD-09 input.  Parameters as in
    :func:`gcj02_to_wgs84`.
    """
    to_gcj = _invert(_bd_forward, _bd_inverse_guess, tol_deg, max_iter, "bd09_to_wgs84")
    to_wgs = _invert(_gcj_forward, _gcj_inverse_guess, tol_deg, max_iter, "bd09_to_wgs84")

    def both(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        return to_wgs(*to_gcj(x, y))

    return _apply_inside(both, lon, lat)


# --- pyproj-backed systems ---------------------------------------------------
def _alias_key(name: str) -> str:
    return "".join(name.split()).upper().replace("-", "").replace("_", "")


@lru_cache(maxsize=256)
def _normalize_str(name: str) -> str:
    alias = _ALIASES.get(_alias_key(name))
    if alias is not None:
        return alias
    try:
        crs = pyproj.CRS.from_user_input(name.strip())
    except CRSError as exc:
        raise CoordinateError(
            f"unknown coordinate system {name!r}; accepted: {_ACCEPTED}"
        ) from exc
    return _canonical_from_crs(crs, name)


def _canonical_from_crs(crs: pyproj.CRS, shown: object) -> str:
    if not (crs.is_geographic or crs.is_projected):
        raise CoordinateError(
            f"coordinate system {shown!r} ({crs.name}) is neither geographic nor projected; "
            f"accepted: {_ACCEPTED}"
        )
    auth = crs.to_authority()
    canonical = f"{auth[0]}:{auth[1]}" if auth else crs.to_wkt()
    return _ALIASES.get(_alias_key(canonical), canonical)


def normalize_crs_name(name: CRSLike) -> str:
    """Return the canonical name of a coordinate system.

    Parameters
    ----------
    name : str, int or pyproj.CRS
        ``"WGS84"``/``"EPSG:4326"``/``"4326"``, ``"GCJ02"``/``"GCJ-02"``,
        ``"BD09"``/``"BD-09"``, ``"CGCS2000"``/``"EPSG:4490"`` (case-insensitive,
        spaces, '-' and '_' ignored), or anything ``pyproj.CRS.from_user_input``
        accepts (EPSG code, "EPSG:xxxx", PROJ string, WKT).

    Returns
    -------
    str
        ``"WGS84"``, ``"GCJ02"``, ``"BD09"``, ``"CGCS2000"``, or the authority
        string of a pyproj CRS (``"EPSG:4548"``; the WKT if it has no authority).

    Raises
    ------
    CoordinateError
        Unknown name, or a CRS that is neither geographic nor projected.

    Examples
    --------
    >>> normalize_crs_name("gcj-02"), normalize_crs_name("epsg:4326"), normalize_crs_name(4548)
    ('GCJ02', 'WGS84', 'EPSG:4548')
    """
    if isinstance(name, pyproj.CRS):
        return _canonical_from_crs(name, name.name)
    if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
        return _normalize_str(f"EPSG:{int(name)}")
    if not isinstance(name, str):
        raise CoordinateError(
            f"coordinate system must be a string, an EPSG code or a pyproj.CRS, got "
            f"{type(name).__name__} {name!r}; accepted: {_ACCEPTED}"
        )
    return _normalize_str(name)


def _pyproj_input(canonical: str) -> str:
    """What to hand to pyproj for a canonical name."""
    if canonical == WGS84:
        return "EPSG:4326"
    if canonical == CGCS2000:
        return "EPSG:4490"
    if canonical in (GCJ02, BD09):  # pragma: no cover - guarded by callers
        raise CoordinateError(f"{canonical} is not a pyproj CRS")
    return canonical


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    """Cached transformer between two canonical names (pyproj >= 3.1 is thread-safe).

    pyproj re-creates a transformer in every thread that uses it; one made by ``from_crs`` searches
    PROJ's database again each time (0.2 s — and the app runs each page in a new thread).  When PROJ
    knows exactly one operation between the two systems, the transformer is made from that
    operation's pipeline instead (re-created in microseconds), after checking that it gives the same
    numbers as ``from_crs`` on points across the target system's area of use.
    """
    a, b = _pyproj_input(src), _pyproj_input(dst)
    full = pyproj.Transformer.from_crs(a, b, always_xy=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "best transformation not available": then there is no single one
            group = pyproj.transformer.TransformerGroup(a, b, always_xy=True)
        if len(group.transformers) != 1 or group.unavailable_operations:
            return full
        quick = pyproj.Transformer.from_pipeline(group.transformers[0].definition)
        x, y = _probe_points(a, b)
        same = [np.array_equal(np.asarray(u), np.asarray(v), equal_nan=True)
                for u, v in zip(full.transform(x, y), quick.transform(x, y), strict=True)]
    except pyproj.exceptions.ProjError:
        return full
    return quick if all(same) else full


def _probe_points(src: str, dst: str) -> tuple[FloatArray, FloatArray]:
    """A grid of points in the source system over the area where both systems are used."""
    crs = pyproj.CRS.from_user_input(src)
    area = crs.area_of_use or pyproj.CRS.from_user_input(dst).area_of_use
    west, south, east, north = area.bounds if area is not None else (-180.0, -80.0, 180.0, 80.0)
    lon, lat = np.meshgrid(np.linspace(west, east, 25), np.linspace(south, north, 25))
    if crs.is_geographic:
        return lon.ravel(), lat.ravel()
    to_src = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_src.transform(lon.ravel(), lat.ravel())
    return np.asarray(x), np.asarray(y)


def _pyproj_transform(src: str, dst: str, x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    a, b = _as_arrays(x, y)
    if src == dst or a.size == 0:
        return a, b
    out_x, out_y = _transformer(src, dst).transform(a, b)
    out_x = np.asarray(out_x, dtype=np.float64).reshape(a.shape)
    out_y = np.asarray(out_y, dtype=np.float64).reshape(a.shape)
    # PROJ reports failed points as inf; NaN is this module's single "no value".
    bad = ~(np.isfinite(out_x) & np.isfinite(out_y))
    if bad.any():
        out_x[bad] = np.nan
        out_y[bad] = np.nan
    return out_x, out_y


def cgcs2000_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert CGCS2000 (EPSG:4490) lon/lat to WGS84 through pyproj.

    PROJ uses a null transformation between the two datums (they differ by
    well under a metre), so values come back unchanged; going through pyproj
    keeps the assumption explicit and replaceable.
    """
    return _pyproj_transform(CGCS2000, WGS84, lon, lat)


def wgs84_to_cgcs2000(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 lon/lat to CGCS2000 (EPSG:4490) through pyproj (see :func:`cgcs2000_to_wgs84`)."""
    return _pyproj_transform(WGS84, CGCS2000, lon, lat)


def _metric_name(crs: CRSLike) -> str:
    canonical = normalize_crs_name(crs)
    if canonical in (WGS84, GCJ02, BD09, CGCS2000):
        raise CoordinateError(
            f"metric CRS must be projected in metres, got {crs!r} (geographic degrees); "
            f"use e.g. {DEFAULT_METRIC_CRS!r} (Beijing) or a UTM zone such as 'EPSG:32650'"
        )
    pcrs = pyproj.CRS.from_user_input(canonical)
    units = {ax.unit_name for ax in pcrs.axis_info}
    if not pcrs.is_projected or not units <= {"metre", "meter"}:
        raise CoordinateError(
            f"metric CRS must be projected in metres, got {crs!r} ({pcrs.name}, units "
            f"{sorted(units)}); use e.g. {DEFAULT_METRIC_CRS!r} or 'EPSG:32650'"
        )
    return canonical


def to_metric(
    lon: ArrayLike, lat: ArrayLike, crs: CRSLike = DEFAULT_METRIC_CRS
) -> tuple[FloatArray, FloatArray]:
    """Project WGS84 lon/lat to a metric CRS.

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees.
    crs : str, int or pyproj.CRS, default "EPSG:4548"
        A projected CRS in metres (CGCS2000 GK CM 117°E by default).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``x`` (easting) and ``y`` (northing) in metres (``always_xy`` order,
        whatever the CRS's own axis order).  NaN where the input is NaN or the
        projection fails.
    """
    return _pyproj_transform(WGS84, _metric_name(crs), lon, lat)


def from_metric(
    x: ArrayLike, y: ArrayLike, crs: CRSLike = DEFAULT_METRIC_CRS
) -> tuple[FloatArray, FloatArray]:
    """Inverse of :func:`to_metric`: metric easting/northing to WGS84 lon/lat."""
    return _pyproj_transform(_metric_name(crs), WGS84, x, y)


# --- one entry point ---------------------------------------------------------
def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: CRSLike) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates in any supported system to WGS84 lon/lat.

    Parameters
    ----------
    lon, lat : array_like
        Coordinates in ``crs``: degrees for geographic systems, easting/northing
        (x, y, in the CRS's units) for projected ones, always in x/lon-first order.
    crs : str, int or pyproj.CRS
        See :func:`normalize_crs_name`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS84 longitude and latitude (float64).

    Raises
    ------
    CoordinateError
        If ``crs`` is not recognised; the message lists the accepted names.

    Examples
    --------
    >>> lon, lat = to_wgs84([116.41024449916938], [39.91640428150164], "gcj-02")
    >>> print(f"{lon[0]:.9f} {lat[0]:.9f}")
    116.404000000 39.915000000
    """
    canonical = normalize_crs_name(crs)
    if canonical == WGS84:
        return _as_arrays(lon, lat)
    if canonical == GCJ02:
        return gcj02_to_wgs84(lon, lat)
    if canonical == BD09:
        return bd09_to_wgs84(lon, lat)
    return _pyproj_transform(canonical, WGS84, lon, lat)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: CRSLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 lon/lat to any supported system (inverse of :func:`to_wgs84`).

    Used to draw on GCJ-02 map tiles (Amap) and to hand GCJ-02 coordinates to
    phones running Amap.
    """
    canonical = normalize_crs_name(crs)
    if canonical == WGS84:
        return _as_arrays(lon, lat)
    if canonical == GCJ02:
        return wgs84_to_gcj02(lon, lat)
    if canonical == BD09:
        return wgs84_to_bd09(lon, lat)
    return _pyproj_transform(WGS84, canonical, lon, lat)


# --- geometries --------------------------------------------------------------
def _transform_geoms(
    geoms: Any,
    convert: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    out_crs: str | None,
) -> Any:
    """Apply a vertex-wise lon/lat conversion to shapely geometries of any container."""

    def coords_fn(xy: FloatArray) -> FloatArray:
        x, y = convert(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    try:
        import geopandas as gpd
    except ImportError:  # pragma: no cover - geopandas is a dependency
        gpd = None

    def transform(arr: Any) -> Any:
        try:
            return shapely.transform(arr, coords_fn)
        except TypeError as exc:
            raise TypeError(
                "geoms must be shapely geometries (a geometry, an array of them, a GeoSeries "
                f"or a GeoDataFrame), got {type(geoms).__name__}: {exc}"
            ) from exc

    if gpd is not None and isinstance(geoms, gpd.GeoDataFrame):
        out = geoms.copy()
        col = geoms.geometry.name
        new = transform(np.asarray(geoms.geometry.values, dtype=object))
        out[col] = gpd.GeoSeries(new, index=geoms.index, crs=out_crs)
        # Also clears the CRS for GCJ-02/BD-09 output, which pyproj cannot name.
        return out.set_crs(out_crs, allow_override=True)
    if gpd is not None and isinstance(geoms, gpd.GeoSeries):
        new = transform(np.asarray(geoms.values, dtype=object))
        return gpd.GeoSeries(new, index=geoms.index, crs=out_crs, name=geoms.name)
    if isinstance(geoms, shapely.Geometry):
        return transform(geoms)
    return transform(np.asarray(geoms, dtype=object))


def geometry_to_wgs84(geoms: G, crs: CRSLike) -> G:
    """Convert geometries vertex by vertex from ``crs`` to WGS84.

    Parameters
    ----------
    geoms : shapely.Geometry, array of geometries, GeoSeries or GeoDataFrame
        Points, lines, polygons (multi-part too); 2-D (a Z coordinate is dropped).
    crs : str, int or pyproj.CRS
        The system the coordinates are *actually* in (a GeoSeries' own ``crs``
        attribute is ignored: GCJ-02 data is routinely mislabelled EPSG:4326).

    Returns
    -------
    Same container type.  GeoSeries/GeoDataFrame results carry ``crs="EPSG:4326"``.

    Notes
    -----
    Only vertices move; edges stay straight lines in lon/lat.  The GCJ-02
    offset changes by millimetres per kilometre, so this is exact for practical
    purposes; densify long edges first if projecting to a strongly curved CRS.

    Examples
    --------
    >>> from shapely import Point
    >>> p = geometry_to_wgs84(Point(116.41024449916938, 39.91640428150164), "GCJ02")
    >>> print(f"{p.x:.9f} {p.y:.9f}")
    116.404000000 39.915000000
    """
    canonical = normalize_crs_name(crs)
    return _transform_geoms(geoms, lambda x, y: to_wgs84(x, y, canonical), "EPSG:4326")


def geometry_from_wgs84(geoms: G, crs: CRSLike) -> G:
    """Convert WGS84 geometries vertex by vertex to ``crs`` (inverse of :func:`geometry_to_wgs84`).

    GeoSeries/GeoDataFrame results carry the pyproj CRS when ``crs`` is one, and
    ``crs=None`` for GCJ-02 and BD-09 (which pyproj cannot represent).
    """
    canonical = normalize_crs_name(crs)
    if canonical in (GCJ02, BD09):
        out_crs = None
    else:
        out_crs = _pyproj_input(canonical)
    return _transform_geoms(geoms, lambda x, y: from_wgs84(x, y, canonical), out_crs)
