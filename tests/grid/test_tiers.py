import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.grid import h3cells
from geo.grid.officialgrids import locate_points, standardize_grids
from geo.grid.tiers import (
    calibrate,
    counts_by_cell,
    crosswalk,
    estimate_grid_counts,
    reconcile,
    study_area_cells,
)

METRIC = "EPSG:4548"
AREA = shapely.box(116.36, 39.89, 116.40, 39.92)


def _quadrant_grids():
    """Four small grids tiling AREA, two middle grids (west/east), one big grid."""
    x0, y0, x1, y1 = AREA.bounds
    xm, ym = 116.3813, 39.9071  # off-centre, so borders cut cells unevenly
    small = [shapely.box(x0, y0, xm, ym), shapely.box(x0, ym, xm, y1),
             shapely.box(xm, y0, x1, ym), shapely.box(xm, ym, x1, y1)]
    geoms = small + [shapely.box(x0, y0, xm, y1), shapely.box(xm, y0, x1, y1), AREA]
    gdf = gpd.GeoDataFrame({
        "grid_id": ["S1", "S2", "S3", "S4", "M1", "M2", "B1"],
        "tier": ["small"] * 4 + ["middle"] * 2 + ["big"],
        "unit": ["u1", "u2", "u3", "u4", "m1", "m2", "b1"],
    }, geometry=geoms, crs="EPSG:4326")
    return standardize_grids(gdf)


def test_study_area_cells_cover_the_area_including_cut_cells():
    cells = study_area_cells(AREA, 9, METRIC)
    polys = h3cells.cell_polygons(cells["cell"].to_numpy())
    union = shapely.union_all(polys)
    area_m = gpd.GeoSeries([AREA], crs=4326).to_crs(METRIC).iloc[0]
    union_m = gpd.GeoSeries([union], crs=4326).to_crs(METRIC).iloc[0]
    assert union_m.area >= area_m.area * (1 - 1e-9)
    assert shapely.difference(area_m, union_m).area < 1e-3  # m²: nothing left uncovered
    # no cell lies outside the area (each overlaps it), cut cells are rows with share < 1
    assert (cells["area_share"] > 0).all() and (cells["area_share"] <= 1).all()
    assert (cells["area_share"] < 0.999).sum() > 10
    assert cells["inside_km2"].sum() == pytest.approx(area_m.area / 1e6, rel=1e-9)
    # centre-in-polygon filling would miss cut cells
    centre_inside = shapely.contains_xy(AREA, cells["lon"], cells["lat"])
    assert (~centre_inside).sum() > 0


def test_calibration_on_grids_built_from_known_h3_cells():
    rows = []
    for tier, res in (("big", 7), ("middle", 8), ("small", 9)):
        centre = h3.latlng_to_cell(39.9, 116.4, res)
        for i, c in enumerate(h3.grid_disk(centre, 2)):
            rows.append({"grid_id": f"{tier}{i}", "tier": tier,
                         "geometry": h3cells.cell_polygons(np.array([int(c, 16)]))[0]})
    grids = standardize_grids(gpd.GeoDataFrame(rows, crs="EPSG:4326"))
    table = calibrate(grids, METRIC).set_index("tier")
    assert table.loc["big", "resolution"] == 7
    assert table.loc["middle", "resolution"] == 8
    assert table.loc["small", "resolution"] == 9
    assert np.allclose(table["ratio"], 1.0, atol=0.02)
    assert table.loc["small", "count"] == 19


def test_crosswalk_shares_sum_to_one_and_responsible_is_largest():
    grids = _quadrant_grids()
    cells = study_area_cells(AREA, 9, METRIC)
    cw = crosswalk(cells, grids, "small", 9, METRIC)
    sums = cw.pairs.groupby("cell")["share"].sum()
    assert np.allclose(sums, 1.0, atol=1e-9)
    assert set(cw.cells["cell"]) == set(cells["cell"])
    max_share = cw.pairs.groupby("cell")["share"].max()
    assert np.allclose(cw.cells.set_index("cell")["share"].reindex(max_share.index), max_share)
    assert (cw.cells["n_grids"] > 1).sum() > 0  # border cells overlap two or more grids
    listed = cw.grid_cells()
    assert set(listed["grid_id"]) == {"S1", "S2", "S3", "S4"}
    assert listed["n_responsible"].sum() == len(cells)
    assert cw.cells.loc[cw.cells["grid_id"] == "S1", "unit"].eq("u1").all()


def test_reconcile_preserves_totals_and_counts_exactly():
    grids = _quadrant_grids()
    rng = np.random.default_rng(3)
    lon = rng.uniform(116.361, 116.399, 4000)
    lat = rng.uniform(39.891, 39.919, 4000)
    located = locate_points(grids, lon, lat)
    events = pd.DataFrame({"h3_small": h3cells.cells_for_points(lon, lat, 9), **located})
    cells = study_area_cells(AREA, 9, METRIC)
    cw = crosswalk(cells, grids, "small", 9, METRIC)
    table, totals = reconcile(events, cw)
    assert totals["exact_total"] == 4000
    assert totals["estimated_total"] == pytest.approx(totals["cell_total"], abs=1e-9)
    assert totals["cell_total"] == 4000
    exact = table.set_index("grid_id")["exact"]
    expected = pd.Series(located["grid_small"]).value_counts()
    assert (exact.reindex(expected.index) == expected).all()
    # area weighting is an estimate: close to the truth for uniform points, not equal
    assert (table["relative"].abs() < 0.15).all()
    est = estimate_grid_counts(counts_by_cell(events, "small"), cw)
    assert est.sum() == pytest.approx(4000)


@pytest.mark.parametrize("lookup", [True, False])
def test_point_on_a_shared_border_goes_to_exactly_one_grid(lookup, monkeypatch):
    from geo.grid import officialgrids

    monkeypatch.setattr(officialgrids, "LOOKUP_MIN_POINTS", 0 if lookup else 10_000)
    grids = _quadrant_grids()
    located = locate_points(grids, np.array([116.3813, 116.3813]), np.array([39.895, 39.9071]))
    # on the S1|S3 border → S1 (smallest id); on the four-way corner → S1 as well
    assert located["grid_small"].tolist() == ["S1", "S1"]
    assert located["grid_middle"].tolist() == ["M1", "M1"]


def test_crosswalk_refuses_a_missing_tier():
    grids = _quadrant_grids()
    grids = grids[grids["tier"] != "middle"]
    cells = study_area_cells(AREA, 8, METRIC)
    with pytest.raises(ValueError, match="no 'middle' tier"):
        crosswalk(cells, grids, "middle", 8, METRIC)


def test_fast_point_location_equals_the_exact_polygon_test():
    """The H3 interior lookup must give exactly what a point-in-polygon test gives."""
    from geo.store.workspace import load_workspace
    grids = load_workspace().grids
    rng = np.random.default_rng(5)
    lon = rng.uniform(116.30, 116.40, 20000)
    lat = rng.uniform(39.87, 39.97, 20000)
    got = locate_points(grids, lon, lat)
    pts = shapely.points(lon, lat)
    for tier in ("big", "middle", "small"):
        layer = grids[grids["tier"] == tier]
        pi, gi = shapely.STRtree(layer.geometry.values).query(pts, predicate="intersects")
        order = np.lexsort((gi, pi))
        pi, gi = pi[order], gi[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        ref = np.full(len(lon), None, dtype=object)
        ref[pi[first]] = layer["grid_id"].to_numpy()[gi[first]]
        assert (got[f"grid_{tier}"].to_numpy(dtype=object, na_value=None) == ref).all()


def test_h3_parents_are_not_nested_in_official_grids_but_the_crosswalk_is():
    """A small cell's H3 parent can sit in another big grid than the cell itself: crosswalk each tier."""
    from geo.store.workspace import load_workspace
    ws = load_workspace()
    grids = ws.grids
    small_cells = study_area_cells(ws.area, 9, METRIC)
    cw_small = crosswalk(small_cells, grids, "small", 9, METRIC)
    big_cells = study_area_cells(ws.area, 7, METRIC)
    cw_big = crosswalk(big_cells, grids, "big", 7, METRIC)
    parent_of = grids.set_index("grid_id")["parent_id"]
    # official nesting: small grid -> middle -> big
    nested_big = cw_small.cells["grid_id"].map(parent_of).map(parent_of)
    # H3 shortcut: the responsible big grid of the cell's res-7 parent
    parents = h3cells.cell_parents(cw_small.cells["cell"].to_numpy(), 7)
    via_parent = pd.Series(parents).map(cw_big.cells.set_index("cell")["grid_id"])
    wrong = (via_parent.to_numpy() != nested_big.to_numpy()).mean()
    assert wrong > 0.2  # res-7 cells (~3.7 km²) straddle big grids (~2 km²) all the time
    # crosswalking the small cells against the big tier directly agrees with the nesting
    direct = crosswalk(small_cells, grids, "big", 9, METRIC).cells.set_index("cell")["grid_id"]
    inside_one = cw_small.cells["n_grids"].to_numpy() == 1
    agree = direct.reindex(cw_small.cells["cell"]).to_numpy()[inside_one] == nested_big.to_numpy()[inside_one]
    assert agree.all()
