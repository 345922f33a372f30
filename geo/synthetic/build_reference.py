"""Rebuild the sample geography under ``data/sample/`` from ``data/reference/``.

Run ``python -m geo.synthetic.build_reference``; the output is byte-identical run
to run (fixed seeds, fixed coordinate precision, stable feature order).

Writes
------
``data/sample/area_xicheng.geojson``
    Xicheng district (西城区, 110102) alone: the geometry of
    ``data/reference/beijing_districts.geojson`` unchanged, properties ``code``,
    ``name``, ``name_en``, ``area_km2`` (EPSG:4548).
``data/sample/official_grids.geojson``
    SYNTHETIC nested big/middle/small grids (:func:`geo.synthetic.grids.nested_grids`).
``data/sample/roads.geojson``
    SYNTHETIC street network (:func:`geo.synthetic.roads.street_network`).
``data/sample/intersections.geojson``
    Intersections of that network (:func:`geo.grid.roads.intersections` on the written
    road file).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from geo.grid.roads import intersections, read_roads
from geo.synthetic.grids import nested_grids, reproject
from geo.synthetic.roads import street_network

__all__ = ["GRID_SEED", "ROAD_SEED", "STUDY_DISTRICT", "main", "write_geojson"]

ROOT = Path(__file__).resolve().parents[2]
#: District of the sample workspace (西城区).
STUDY_DISTRICT = "110102"
#: Seeds of the shipped sample layers.
GRID_SEED = 7
ROAD_SEED = 7
METRIC_CRS = "EPSG:4548"
GRID_DECIMALS = 7   # 1e-7° (~1 cm): keeps the grids' union within 1e-6 of the area (see data/README.md)
ROAD_DECIMALS = 6   # 1e-6° (~0.1 m)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    raise TypeError(f"cannot write {type(o).__name__} to GeoJSON")


def _geometry(g: shapely.Geometry, decimals: int) -> dict[str, Any]:
    """GeoJSON geometry with coordinates rounded to ``decimals`` (RFC 7946 ring order)."""
    def c(seq: Any) -> list[Any]:
        return np.round(np.asarray(seq)[:, :2], decimals).tolist()

    t = g.geom_type
    if t == "Point":
        return {"type": t, "coordinates": c([g.coords[0]])[0]}
    if t == "LineString":
        return {"type": t, "coordinates": c(g.coords)}
    if t == "MultiLineString":
        return {"type": t, "coordinates": [c(p.coords) for p in g.geoms]}
    if t == "Polygon":
        return {"type": t, "coordinates": [c(g.exterior.coords)] + [c(r.coords) for r in g.interiors]}
    if t == "MultiPolygon":
        return {"type": t, "coordinates": [[c(p.exterior.coords)] + [c(r.coords) for r in p.interiors]
                                           for p in g.geoms]}
    raise TypeError(f"unsupported geometry type {t}")


def write_geojson(gdf: gpd.GeoDataFrame, path: Path, name: str, decimals: int) -> None:
    """Write a WGS84 GeoDataFrame as compact, deterministic GeoJSON (one feature per line)."""
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        raise ValueError(f"{path}: write WGS84 only (got crs={gdf.crs}); use .to_crs(4326)")
    geoms = shapely.orient_polygons(gdf.geometry.to_numpy(), exterior_cw=False)
    props = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).to_dict("records")
    lines = [json.dumps({"type": "Feature", "properties": p, "geometry": _geometry(g, decimals)},
                        ensure_ascii=False, separators=(",", ":"), default=_json_default)
             for p, g in zip(props, geoms, strict=True)]
    head = json.dumps({"type": "FeatureCollection", "name": name}, ensure_ascii=False,
                      separators=(",", ":"))[:-1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head + ',"features":[\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")


def _area_feature(reference: Path, code: str) -> tuple[dict[str, Any], shapely.Geometry]:
    src = json.loads((reference / "beijing_districts.geojson").read_text(encoding="utf-8"))
    feats = [f for f in src["features"] if f["properties"]["code"] == code]
    if len(feats) != 1:
        raise ValueError(f"district {code!r} not found in {reference / 'beijing_districts.geojson'}")
    f = feats[0]
    geom = shape(f["geometry"])
    area_km2 = float(shapely.area(reproject(np.array([geom], dtype=object), "EPSG:4326", METRIC_CRS))[0]) / 1e6
    props = {"code": f["properties"]["code"], "name": f["properties"]["name"],
             "name_en": f["properties"]["name_en"], "area_km2": round(area_km2, 2)}
    return {"type": "Feature", "properties": props, "geometry": f["geometry"]}, geom


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild the four sample files; print a one-line summary per file."""
    ap = argparse.ArgumentParser(prog="python -m geo.synthetic.build_reference", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = ap.parse_args(argv)
    reference, sample = args.root / "data" / "reference", args.root / "data" / "sample"
    sample.mkdir(parents=True, exist_ok=True)

    feature, area = _area_feature(reference, STUDY_DISTRICT)
    area_path = sample / "area_xicheng.geojson"
    area_path.write_text(json.dumps({"type": "FeatureCollection", "name": "area_xicheng",
                                     "features": [feature]}, ensure_ascii=False,
                                    separators=(",", ":")) + "\n", encoding="utf-8")

    streets = pd.read_csv(reference / "beijing_streets.csv", dtype=str)
    streets = streets[streets["district_code"] == STUDY_DISTRICT].sort_values("street_code")
    grids = nested_grids(area, seed=GRID_SEED, metric_crs=METRIC_CRS, streets=streets,
                         grid_size=10.0 ** -GRID_DECIMALS)
    write_geojson(grids, sample / "official_grids.geojson", "official_grids", GRID_DECIMALS)

    roads = street_network(area, seed=ROAD_SEED, metric_crs=METRIC_CRS,
                           grid_size=10.0 ** -ROAD_DECIMALS)
    write_geojson(roads, sample / "roads.geojson", "roads", ROAD_DECIMALS)

    # from the file as written, exactly as a user's road file would be processed
    inter = intersections(read_roads(sample / "roads.geojson"), metric_crs=METRIC_CRS)
    inter["lon"] = inter["lon"].round(ROAD_DECIMALS)
    inter["lat"] = inter["lat"].round(ROAD_DECIMALS)
    write_geojson(inter, sample / "intersections.geojson", "intersections", ROAD_DECIMALS)

    for p, rows in [(area_path, 1), (sample / "official_grids.geojson", len(grids)),
                    (sample / "roads.geojson", len(roads)),
                    (sample / "intersections.geojson", len(inter))]:
        print(f"{p.relative_to(args.root)}: {rows} features, {p.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
