"""The sample's geography (area, roads, grids, communities) prepared for sampling, and spatial samplers."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.errors import InputFileError, SettingsError
from geo.synthetic.sample.vocabulary import CLASSES, NODE_CLASS_W


# --------------------------------------------------------------------------- #
# geography
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Geography:
    """The reference layers the sample is drawn on (all WGS84).

    Attributes
    ----------
    area : shapely Polygon or MultiPolygon
        The study area (a district).
    roads : GeoDataFrame
        LineStrings with ``road_id``, ``name``, ``class`` ∈ main/secondary/branch/alley.
    intersections : GeoDataFrame
        Points with ``node_id``, ``name``, ``classes`` (classes of the crossing roads), ``degree``.
    grids : GeoDataFrame
        Official grids with ``grid_id``, ``tier`` ∈ big/middle/small, ``street_code``, ``street_name``
        (and optionally ``community``).
    communities : DataFrame or None
        ``community_name``, ``street_code``, ``district_code``: text labels given to small grids.
    district_name, district_code, city_name : str
        Used in address prefixes and codes.
    """

    area: Any
    roads: gpd.GeoDataFrame
    intersections: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    communities: pd.DataFrame | None = None
    district_name: str = "西城区"
    district_code: str = "110102"
    city_name: str = "北京市"


def _default_data_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "data" / "sample"


def load_sample_geography(data_dir: str | Path | None = None) -> Geography:
    """Read the sample reference geography from ``data/sample/``.

    Parameters
    ----------
    data_dir : path-like, optional
        Folder holding ``area_xicheng.geojson``, ``roads.geojson``,
        ``intersections.geojson`` and ``official_grids.geojson`` (default: the
        repository's ``data/sample``).  Community names are read from
        ``../reference/xicheng_dongcheng_communities.csv`` when present.

    Returns
    -------
    Geography
    """
    d = Path(data_dir) if data_dir is not None else _default_data_dir()
    names = {"area": "area_xicheng.geojson", "roads": "roads.geojson",
             "intersections": "intersections.geojson", "grids": "official_grids.geojson"}
    layers = {}
    for key, name in names.items():
        path = d / name
        if not path.exists():
            raise InputFileError(
                "sample geography file not found; build it with `python -m geo.synthetic.build_reference` "
                "or pass geography=Geography(...)", file=str(path))
        layers[key] = gpd.read_file(path).to_crs(4326) if key != "area" else gpd.read_file(path)
    area_gdf = layers["area"]
    if area_gdf.crs is not None:
        area_gdf = area_gdf.to_crs(4326)
    area = shapely.union_all(area_gdf.geometry.values)
    props = area_gdf.iloc[0].to_dict()
    kw: dict[str, str] = {}
    for col, key in (("name", "district_name"), ("code", "district_code")):
        v = props.get(col)
        if isinstance(v, str) and v:
            kw[key] = v
    comm_path = d.parent / "reference" / "xicheng_dongcheng_communities.csv"
    communities = pd.read_csv(comm_path, dtype=str) if comm_path.exists() else None
    return Geography(area=area, roads=layers["roads"], intersections=layers["intersections"],
                     grids=layers["grids"], communities=communities, **kw)


class _Local:
    """Equirectangular metres around a reference point (errors < 0.1 % across a district)."""

    def __init__(self, lon0: float, lat0: float) -> None:
        phi = math.radians(lat0)
        self.lon0, self.lat0 = lon0, lat0
        self.ky = 111132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
        self.kx = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)

    def fwd(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * self.ky

    def inv(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(x) / self.kx + self.lon0, np.asarray(y) / self.ky + self.lat0

    def geom_fwd(self, geoms: Any) -> Any:
        return shapely.transform(geoms, lambda c: np.column_stack(self.fwd(c[:, 0], c[:, 1])))

    def geom_inv(self, geoms: Any) -> Any:
        return shapely.transform(geoms, lambda c: np.column_stack(self.inv(c[:, 0], c[:, 1])))


def _as_list(v: Any) -> list[str]:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    if isinstance(v, (list, tuple, np.ndarray)):
        return [str(x) for x in v]
    s = str(v).strip()
    if s.startswith("["):
        try:
            return [str(x) for x in json.loads(s)]
        except json.JSONDecodeError:
            pass
    return [p for p in re.split(r"[,;|、/]\s*", s) if p]


def locate(polys: np.ndarray, lon: np.ndarray, lat: np.ndarray, nearest: bool = True) -> np.ndarray:
    """Index of the polygon containing each point (first by position; nearest if none, else -1)."""
    out = np.full(len(lon), -1, dtype=np.int64)
    if len(lon) == 0 or len(polys) == 0:
        return out
    pts = shapely.points(lon, lat)
    tree = shapely.STRtree(polys)
    pi, gi = tree.query(pts, predicate="intersects")
    if len(pi):
        order = np.lexsort((gi, pi))
        pi, gi = pi[order], gi[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        out[pi[first]] = gi[first]
    miss = np.flatnonzero(out < 0)
    if nearest and len(miss):
        qi, gi = tree.query_nearest(pts[miss], all_matches=False)
        out[miss[qi]] = gi
    return out


@dataclass
class Prep:
    """Arrays derived once from a Geography."""

    geo: Geography
    loc: _Local
    area_m: Any
    area_km2: float
    # road segments in local metres
    sx0: np.ndarray
    sy0: np.ndarray
    sx1: np.ndarray
    sy1: np.ndarray
    slen: np.ndarray
    sclass: np.ndarray
    sroad: np.ndarray       # road-name index of each segment
    sbig: np.ndarray        # big-grid index of each segment's midpoint
    road_names: np.ndarray  # object array
    # intersections
    nx: np.ndarray
    ny: np.ndarray
    nweight: np.ndarray
    nid: np.ndarray
    nname: np.ndarray
    # grids
    big_ids: np.ndarray
    middle: gpd.GeoDataFrame
    small: gpd.GeoDataFrame
    small_street: np.ndarray
    small_community: np.ndarray
    small_street_code: np.ndarray
    centroid: tuple[float, float]
    max_radius_m: float


def _class_code(values: pd.Series) -> np.ndarray:
    m = {c: i for i, c in enumerate(CLASSES)}
    return np.array([m.get(str(v).strip().lower(), 2) for v in values], dtype=np.int8)


def _community_labels(small: gpd.GeoDataFrame, communities: pd.DataFrame | None,
                      district_code: str) -> np.ndarray:
    """A community name per small grid: real names as text labels, in contiguous blocks per street."""
    if "community" in small.columns and small["community"].notna().all():
        return small["community"].astype(str).to_numpy(dtype=object)
    fallback = small["name"].astype(str).to_numpy(dtype=object) if "name" in small.columns else \
        small["grid_id"].astype(str).to_numpy(dtype=object)
    if communities is None or not len(communities):
        return fallback
    c = communities
    if "district_code" in c.columns:
        c = c[c["district_code"].astype(str) == str(district_code)]
    if not len(c):
        return fallback
    c = c.sort_values("community_code" if "community_code" in c.columns else "community_name")
    names = c["community_name"].astype(str).str.replace("社区居委会", "社区", regex=False) \
        .str.replace("居委会", "社区", regex=False).to_numpy(dtype=object)
    codes = c["street_code"].astype(str).to_numpy() if "street_code" in c.columns else np.full(len(c), "")
    out = fallback.copy()
    street = small["street_code"].astype(str).to_numpy() if "street_code" in small.columns else \
        np.full(len(small), "")
    order = np.lexsort((small["grid_id"].astype(str).to_numpy(), street))
    for sc in sorted(set(street)):
        idx = order[street[order] == sc]
        pool = names[codes == sc]
        if not len(pool):  # synthetic street codes: spread the whole district's list
            k = sorted(set(street)).index(sc)
            n_st = len(set(street))
            lo, hi = len(names) * k // n_st, max(len(names) * (k + 1) // n_st, len(names) * k // n_st + 1)
            pool = names[lo:hi]
        out[idx] = pool[(np.arange(len(idx)) * len(pool)) // max(len(idx), 1)]
    return out


def prepare(geo: Geography) -> Prep:
    area = geo.area
    if area is None or shapely.is_empty(area):
        raise SettingsError("geography.area is empty; pass the study-area polygon (WGS84)")
    c = shapely.centroid(area)
    loc = _Local(float(c.x), float(c.y))
    area_m = loc.geom_fwd(area)
    roads = geo.roads
    for col in ("geometry", "class"):
        if col not in roads.columns:
            raise SettingsError(f"roads need a {col!r} column (LineStrings with class main/secondary/branch/alley)")
    names = roads["name"].fillna("").astype(str).to_numpy() if "name" in roads.columns else \
        np.full(len(roads), "", dtype=object)
    road_names, road_idx = np.unique(np.where(names == "", "附近道路", names), return_inverse=True)
    lines_m = loc.geom_fwd(roads.geometry.values)
    parts, part_of = shapely.get_parts(lines_m, return_index=True)
    coords, cidx = shapely.get_coordinates(parts, return_index=True)
    same = cidx[1:] == cidx[:-1]
    p0, p1 = coords[:-1][same], coords[1:][same]
    seg_part = cidx[:-1][same]
    seg_road_row = part_of[seg_part]
    slen = np.hypot(p1[:, 0] - p0[:, 0], p1[:, 1] - p0[:, 1])
    keep = slen > 0.5
    p0, p1, seg_road_row, slen = p0[keep], p1[keep], seg_road_row[keep], slen[keep]
    sclass = _class_code(roads["class"])[seg_road_row]
    grids = geo.grids
    if "tier" not in grids.columns or "grid_id" not in grids.columns:
        raise SettingsError("official grids need 'grid_id' and 'tier' columns")
    big = grids[grids["tier"] == "big"].sort_values("grid_id")
    middle = grids[grids["tier"] == "middle"].sort_values("grid_id").reset_index(drop=True)
    small = grids[grids["tier"] == "small"].sort_values("grid_id").reset_index(drop=True)
    if not len(big) or not len(middle) or not len(small):
        raise SettingsError("official grids need big, middle and small tiers")
    mid_lon, mid_lat = loc.inv((p0[:, 0] + p1[:, 0]) / 2, (p0[:, 1] + p1[:, 1]) / 2)
    sbig = locate(big.geometry.values, mid_lon, mid_lat)
    inter = geo.intersections
    nlon = inter["lon"].to_numpy(float) if "lon" in inter.columns else inter.geometry.x.to_numpy()
    nlat = inter["lat"].to_numpy(float) if "lat" in inter.columns else inter.geometry.y.to_numpy()
    nx, ny = loc.fwd(nlon, nlat)
    cls_lists = [_as_list(v) for v in (inter["classes"] if "classes" in inter.columns else [None] * len(inter))]
    cmap = {c: i for i, c in enumerate(CLASSES)}
    # a crossing matters by its most important road, then by the other one (main×main > main×branch)
    nweight = np.array([2 * max(NODE_CLASS_W[cmap.get(c, 2)] for c in cl) + min(NODE_CLASS_W[cmap.get(c, 2)]
                                                                               for c in cl)
                        if cl else 3.0 for cl in cls_lists])
    inside = shapely.contains_xy(area_m, nx, ny)
    nx, ny, nweight = nx[inside], ny[inside], nweight[inside]
    nid = inter["node_id"].astype(str).to_numpy(dtype=object)[inside]
    nname = inter["name"].astype(str).to_numpy(dtype=object)[inside] if "name" in inter.columns else nid
    sroad = road_idx[seg_road_row]
    unnamed = road_names[sroad] == "附近道路"
    if unnamed.any() and not unnamed.all():  # an unnamed alley is described by the nearest named road
        mxy = np.column_stack(((p0[:, 0] + p1[:, 0]) / 2, (p0[:, 1] + p1[:, 1]) / 2))
        near = cKDTree(mxy[~unnamed]).query(mxy[unnamed])[1]
        sroad[unnamed] = sroad[~unnamed][near]
    ext = shapely.get_coordinates(area_m)
    cx, cy = loc.fwd(float(c.x), float(c.y))
    return Prep(
        geo=geo, loc=loc, area_m=area_m, area_km2=float(shapely.area(area_m)) / 1e6,
        sx0=p0[:, 0], sy0=p0[:, 1], sx1=p1[:, 0], sy1=p1[:, 1], slen=slen, sclass=sclass,
        sroad=sroad, sbig=sbig, road_names=road_names.astype(object),
        nx=nx, ny=ny, nweight=nweight, nid=nid, nname=nname,
        big_ids=big["grid_id"].astype(str).to_numpy(dtype=object), middle=middle, small=small,
        small_street=small["street_name"].astype(str).to_numpy(dtype=object)
        if "street_name" in small.columns else np.full(len(small), "", dtype=object),
        small_community=_community_labels(small, geo.communities, geo.district_code),
        small_street_code=small["street_code"].astype(str).to_numpy(dtype=object)
        if "street_code" in small.columns else np.full(len(small), geo.district_code + "000", dtype=object),
        centroid=(float(cx), float(cy)),
        max_radius_m=float(np.max(np.hypot(ext[:, 0] - cx, ext[:, 1] - cy))),
    )


# --------------------------------------------------------------------------- #
# spatial samplers (local metres)
# --------------------------------------------------------------------------- #
def road_points(p: Prep, rng: np.random.Generator, n: int, class_w: tuple[float, ...],
                 seg_mask: np.ndarray | None = None, sigma_m: float = 5.0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w = p.slen * np.asarray(class_w)[p.sclass]
    if seg_mask is not None:
        w = np.where(seg_mask, w, 0.0)
    if n == 0 or w.sum() <= 0:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    seg = rng.choice(len(w), size=n, p=w / w.sum())
    u = rng.random(n)
    off = rng.normal(0.0, sigma_m, n)
    dx, dy = p.sx1[seg] - p.sx0[seg], p.sy1[seg] - p.sy0[seg]
    ln = p.slen[seg]
    x = p.sx0[seg] + u * dx - off * dy / ln
    y = p.sy0[seg] + u * dy + off * dx / ln
    return x, y, seg


def node_points(p: Prep, rng: np.random.Generator, n: int, sigma_m: float = 15.0,
                 node_p: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w = p.nweight if node_p is None else node_p
    node = rng.choice(len(w), size=n, p=w / w.sum())
    x = p.nx[node] + rng.normal(0, sigma_m, n)
    y = p.ny[node] + rng.normal(0, sigma_m, n)
    return x, y, node


def nearest_seg(p: Prep, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Segment index nearest to each point (via a KD-tree on segment midpoints)."""
    tree = cKDTree(np.column_stack(((p.sx0 + p.sx1) / 2, (p.sy0 + p.sy1) / 2)))
    return tree.query(np.column_stack((x, y)))[1].astype(np.int64)
