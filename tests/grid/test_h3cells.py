import h3
import numpy as np
import pytest

from geo.grid import h3cells


def test_cells_match_h3_py_and_missing_points_give_zero():
    rng = np.random.default_rng(0)
    lon = rng.uniform(116.3, 116.45, 500)
    lat = rng.uniform(39.85, 39.97, 500)
    lon[3] = np.nan
    cells = h3cells.cells_for_points(lon, lat, 9)
    assert cells.dtype == np.int64
    assert cells[3] == 0
    ok = np.isfinite(lon)
    expected = [h3.latlng_to_cell(a, o, 9) for o, a in zip(lon[ok], lat[ok], strict=True)]
    assert [format(int(c), "x") for c in cells[ok]] == expected


def test_hex_round_trip_and_bad_hex():
    cells = h3cells.cells_for_points([116.4, 116.41], [39.9, 39.91], 8)
    assert (h3cells.hex_to_cells(h3cells.cells_to_hex(cells)) == cells).all()
    with pytest.raises(ValueError, match="not an H3 cell"):
        h3cells.hex_to_cells(["zzz"])


def test_parents_and_resolution():
    cells = h3cells.cells_for_points([116.4], [39.9], 9)
    parent = h3cells.cell_parents(cells, 7)
    assert format(int(parent[0]), "x") == h3.cell_to_parent(format(int(cells[0]), "x"), 7)
    assert h3cells.cell_resolution(parent)[0] == 7


def test_bit_arithmetic_parents_match_h3_at_every_resolution_worldwide():
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(-180, 180, 300), rng.uniform(-89, 89, 300)  # pentagon-free but every base cell mix
    for fine in (15, 12, 9):
        cells = h3cells.cells_for_points(lon, lat, fine)
        cells[5] = 0
        for res in range(0, fine + 1):
            got = h3cells.cell_parents(cells, res)
            assert got[5] == 0
            want = [h3.cell_to_parent(format(int(c), "x"), res) for c in np.delete(cells, 5)]
            assert [format(int(c), "x") for c in np.delete(got, 5)] == want, (fine, res)
    # a coarser cell asked for a finer "parent" stays itself, as h3ronpy's change_resolution would not do
    coarse = h3cells.cells_for_points([116.4], [39.9], 7)
    assert (h3cells.cell_parents(coarse, 9) == coarse).all()


def test_centres_lie_in_their_polygons_and_area_near_40N():
    cells = h3cells.cells_for_points([116.4, 116.5], [39.9, 39.95], 9)
    lon, lat = h3cells.cell_centers(cells)
    import shapely
    polys = h3cells.cell_polygons(cells)
    assert shapely.contains_xy(polys, lon, lat).all()
    # res-9 cells near Beijing are ~0.075 km², not the global mean 0.105
    assert np.allclose(h3cells.cell_areas_km2(cells), 0.075, rtol=0.1)


def test_neighbour_pairs_are_closed_over_the_set():
    centre = h3.latlng_to_cell(39.9, 116.4, 9)
    disk = np.array([int(c, 16) for c in h3.grid_disk(centre, 1)], dtype=np.int64)
    i, j = h3cells.neighbour_pairs(disk, k=1)
    pairs = set(zip(i.tolist(), j.tolist(), strict=True))
    centre_idx = int(np.flatnonzero(disk == int(centre, 16))[0])
    # the centre touches all 7 (itself included); every ring cell touches itself, the centre, 2 ring cells
    assert sum(1 for a, _ in pairs if a == centre_idx) == 7
    assert all(sum(1 for a, _ in pairs if a == k) == 4 for k in range(7) if k != centre_idx)
    assert all((b, a) in pairs for a, b in pairs)
