"""The one place where gridwatch talks to H3.

Decided here once: argument order is ``(lon, lat)`` like every other ``geo``
function (H3 itself takes ``lat, lng``), cell ids are ``int64`` numpy arrays
(H3's 64-bit ids never set the top bit, so they fit), ``0`` means "no cell"
(a missing or invalid coordinate), and hex strings exist only at the edges
(GeoJSON, display).  Bulk work goes through h3ronpy's vectorised Rust core,
which releases the GIL; single values through h3-py.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely
from h3ronpy import cells_area_km2, vector

NO_CELL = np.int64(0)


def _to_numpy_uint64(arr: object) -> np.ndarray:
    # h3ronpy returns arro3 arrays; pyarrow reads them through the C data interface.
    return pa.array(arr).to_numpy(zero_copy_only=False)


def _as_u64(cells: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(cells, dtype=np.int64).view(np.uint64), type=pa.uint64())


def cells_for_points(lon: np.ndarray, lat: np.ndarray, res: int) -> np.ndarray:
    """H3 cell of each point at resolution ``res``.

    Parameters
    ----------
    lon, lat : array_like of float
        WGS84 degrees.  Non-finite or out-of-range values give ``0``.
    res : int
        H3 resolution 0–15.

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> cells_to_hex(cells_for_points([116.4], [39.9], 9))[0]
    '8931aa42867ffff'
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if lon.shape != lat.shape:
        raise ValueError(f"lon and lat must have the same shape, got {lon.shape} and {lat.shape}")
    if not 0 <= int(res) <= 15:
        raise ValueError(f"H3 resolution must be 0–15, got {res}")
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    out = np.zeros(lon.shape, dtype=np.int64)
    if ok.any():
        cells = vector.coordinates_to_cells(lat[ok], lon[ok], int(res))
        out[ok] = _to_numpy_uint64(cells).astype(np.int64)
    return out


def cells_to_hex(cells: np.ndarray) -> np.ndarray:
    """Hex strings of int64 cell ids (``0`` → empty string)."""
    cells = np.asarray(cells, dtype=np.int64)
    hexes = np.char.mod("%x", cells)
    return np.where(cells == 0, "", hexes).astype(object)


def hex_to_cells(hexes: object) -> np.ndarray:
    """int64 cell ids of hex strings; raises ``ValueError`` naming a bad one."""
    from h3ronpy import cells_valid

    values = np.asarray(hexes, dtype=object).ravel()
    out = np.empty(values.shape, dtype=np.int64)
    for i, h in enumerate(values):
        try:
            out[i] = int(str(h), 16)
        except ValueError:
            raise ValueError(f"{h!r} is not an H3 cell id (hex string like '8931aa42867ffff')") from None
    valid = pa.array(cells_valid(_as_u64(out), booleanarray=True)).to_numpy(zero_copy_only=False)
    if not valid.all():
        raise ValueError(f"{values[np.flatnonzero(~valid)[0]]!r} is not a valid H3 cell id")
    return out.reshape(np.shape(hexes))


def cell_resolution(cells: np.ndarray) -> np.ndarray:
    """Resolution of each cell id."""
    cells = np.asarray(cells, dtype=np.int64)
    return ((cells >> 52) & 0xF).astype(np.int8)


def cell_parents(cells: np.ndarray, res: int) -> np.ndarray:
    """Parent (or the cell itself) at a coarser resolution ``res``; ``0`` stays ``0``.

    Pure bit arithmetic on the H3 index layout (resolution in bits 52–55, one
    3-bit digit per finer resolution, unused digits all ones), so a million
    parents cost a few milliseconds: the ingest indexes once at the finest tier
    and derives the others here.  A ``res`` finer than a cell's own leaves it as is.
    """
    cells = np.asarray(cells, dtype=np.int64)
    res = int(res)
    if not 0 <= res <= 15:
        raise ValueError(f"H3 resolution must be 0–15, got {res}")
    own = (cells >> 52) & 0xF
    below = np.int64((1 << ((15 - res) * 3)) - 1)  # the digits of resolutions res+1 … 15
    parent = (cells & ~np.int64(0xF << 52)) | np.int64(res << 52) | below
    return np.where((cells == 0) | (own <= res), cells, parent)


def cell_centers(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre ``(lon, lat)`` of each cell."""
    cells = np.asarray(cells, dtype=np.int64)
    table = vector.cells_to_coordinates(_as_u64(cells))
    tbl = pa.table(table)
    return tbl.column("lng").to_numpy(), tbl.column("lat").to_numpy()


def cell_polygons(cells: np.ndarray) -> np.ndarray:
    """Shapely polygons (WGS84 lon/lat) of the cells."""
    cells = np.asarray(cells, dtype=np.int64)
    wkb = pa.array(vector.cells_to_wkb_polygons(_as_u64(cells))).to_numpy(zero_copy_only=False)
    return shapely.from_wkb(wkb)


def cell_areas_km2(cells: np.ndarray) -> np.ndarray:
    """Exact (spherical) area of each cell in km²."""
    cells = np.asarray(cells, dtype=np.int64)
    return pa.array(cells_area_km2(_as_u64(cells))).to_numpy(zero_copy_only=False)


def neighbour_pairs(cells: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)`` with ``cells[j]`` within grid distance ``k`` of ``cells[i]``.

    Only cells present in ``cells`` are returned (the study area is closed),
    the pair ``(i, i)`` included.  ``cells`` must be unique.
    """
    from h3ronpy import grid_disk

    cells = np.asarray(cells, dtype=np.int64)
    if len(np.unique(cells)) != len(cells):
        raise ValueError("cells must be unique to build neighbour pairs")
    disks = grid_disk(_as_u64(cells), int(k), flatten=False)
    lists = pa.array(disks)
    lengths = np.diff(lists.offsets.to_numpy())
    flat = lists.values.to_numpy(zero_copy_only=False).astype(np.int64)
    origin = np.repeat(np.arange(len(cells)), lengths)
    order = np.argsort(cells, kind="stable")
    pos = np.searchsorted(cells[order], flat)
    pos = np.clip(pos, 0, len(cells) - 1)
    found = cells[order][pos] == flat
    return origin[found], order[pos[found]]
