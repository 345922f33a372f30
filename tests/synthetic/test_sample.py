"""Tests of geo.synthetic.sample: the synthetic raw exports and their truth.

Most tests run on a small stand-in geography built here (a 4.5 × 4 km square
near Xicheng with a 300 m street grid, alleys and nested official grids), so
they do not depend on the shipped sample layers; one test runs on
``data/sample`` when it is there.
"""

from __future__ import annotations

import json
import re
import zipfile
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from geo.errors import SettingsError
from geo.grid.crs import to_wgs84
from geo.synthetic.sample import (
    DIRT_KINDS,
    FILES,
    HEADERS,
    Geography,
    build_gazetteer,
    load_sample_geography,
    simulate,
    write_sample,
)

REPO = Path(__file__).resolve().parents[2]
LON0, LAT0, LON1, LAT1 = 116.345, 39.890, 116.3975, 39.926   # ~4.5 km × 4 km
SCALE = 0.08   # big enough that every file holds every kind of dirt


# --------------------------------------------------------------------------- #
# stand-in geography
# --------------------------------------------------------------------------- #
def _cls(k: int) -> str:
    return "main" if k % 5 == 0 else "secondary" if k % 5 == 2 else "branch"


def stand_in_geography() -> Geography:
    area = shapely.box(LON0, LAT0, LON1, LAT1)
    lats = np.arange(LAT0 + 0.0012, LAT1, 0.0027)    # E-W roads ~300 m apart
    lons = np.arange(LON0 + 0.0015, LON1, 0.0035)    # N-S roads ~300 m apart
    rows = []
    for i, la in enumerate(lats):
        rows.append(dict(road_id=100 + i, name=f"测试东西{i + 1}路", cls=_cls(i),
                         geometry=shapely.LineString([(LON0 - 0.001, la), (LON1 + 0.001, la)])))
    for j, lo in enumerate(lons):
        rows.append(dict(road_id=200 + j, name=f"测试南北{j + 1}街", cls=_cls(j),
                         geometry=shapely.LineString([(lo, LAT0 - 0.001), (lo, LAT1 + 0.001)])))
    k = 0
    for i, la in enumerate(lats[:-1]):  # alleys half-way between E-W roads, every other block
        for j, lo in enumerate(lons[:-1]):
            if (i + j) % 2 == 0:
                k += 1
                rows.append(dict(road_id=1000 + k, name=f"测试{k}胡同" if k % 4 else "", cls="alley",
                                 geometry=shapely.LineString([(lo, la + 0.00135), (lo + 0.0035, la + 0.00135)])))
    roads = gpd.GeoDataFrame(rows, crs=4326).rename(columns={"cls": "class"})
    roads["geometry"] = shapely.intersection(roads.geometry.values, area)
    nodes = []
    for i, la in enumerate(lats):
        for j, lo in enumerate(lons):
            a, b = f"测试东西{i + 1}路", f"测试南北{j + 1}街"
            nodes.append(dict(node_id=len(nodes), name=f"{a}与{b}交叉口", roads=f"{a}、{b}",
                              classes=",".join(dict.fromkeys([_cls(i), _cls(j)])), degree=4,
                              lon=round(lo, 6), lat=round(la, 6), geometry=shapely.Point(lo, la)))
    inter = gpd.GeoDataFrame(nodes, crs=4326)
    grids = []
    bx = np.linspace(LON0, LON1, 3)
    by = np.linspace(LAT0, LAT1, 3)
    for bi in range(2):
        for bj in range(2):
            bid = f"B{bi * 2 + bj + 1}"
            grids.append(dict(grid_id=bid, tier="big", name=f"测试大网格{bid}", parent_id="", unit="单位",
                              street_code=f"11010200{bi * 2 + bj + 1}", street_name=f"测试{bi * 2 + bj + 1}街道",
                              geometry=shapely.box(bx[bi], by[bj], bx[bi + 1], by[bj + 1])))
            mx, my = np.linspace(bx[bi], bx[bi + 1], 3), np.linspace(by[bj], by[bj + 1], 3)
            for mi in range(2):
                for mj in range(2):
                    mid = f"{bid}-M{mi * 2 + mj + 1}"
                    grids.append(dict(grid_id=mid, tier="middle", name=mid, parent_id=bid, unit="单位",
                                      street_code=f"11010200{bi * 2 + bj + 1}",
                                      street_name=f"测试{bi * 2 + bj + 1}街道",
                                      geometry=shapely.box(mx[mi], my[mj], mx[mi + 1], my[mj + 1])))
                    sx, sy = np.linspace(mx[mi], mx[mi + 1], 3), np.linspace(my[mj], my[mj + 1], 3)
                    for si in range(2):
                        for sj in range(2):
                            sid = f"{mid}-S{si * 2 + sj + 1}"
                            grids.append(dict(grid_id=sid, tier="small", name=f"测试小网格{sid}", parent_id=mid,
                                              unit="单位", street_code=f"11010200{bi * 2 + bj + 1}",
                                              street_name=f"测试{bi * 2 + bj + 1}街道",
                                              geometry=shapely.box(sx[si], sy[sj], sx[si + 1], sy[sj + 1])))
    communities = pd.DataFrame({"community_code": [f"1101020010{i:02d}" for i in range(12)],
                                "community_name": [f"测试{i}社区居委会" for i in range(12)],
                                "street_code": "110102999", "district_code": "110102"})
    return Geography(area=area, roads=roads, intersections=inter, grids=gpd.GeoDataFrame(grids, crs=4326),
                     communities=communities)


@pytest.fixture(scope="module")
def geo() -> Geography:
    return stand_in_geography()


@pytest.fixture(scope="module")
def sample(geo, tmp_path_factory):
    """The stand-in sample written once (seed 1) plus its in-memory simulation."""
    out = tmp_path_factory.mktemp("sample_a")
    summary = write_sample(out, seed=1, scale=SCALE, geography=geo)
    sim = simulate(geo, seed=1, scale=SCALE)
    return out, summary, sim


def _read_patrol(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "patrol.csv", dtype=str, keep_default_na=False, encoding="utf-8")


def _read_hotline(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "hotline_12345.csv", dtype=str, keep_default_na=False, encoding="gbk")


def _read_violations(out: Path) -> list[tuple]:
    wb = openpyxl.load_workbook(out / "violations.xlsx", read_only=True)
    return list(wb["违法记录"].iter_rows(values_only=True))


def _read_snapshots(out: Path) -> dict:
    return json.loads((out / "snapshots.geojson").read_text(encoding="utf-8"))


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


# --------------------------------------------------------------------------- #
# determinism
# --------------------------------------------------------------------------- #
def test_same_seed_gives_byte_identical_files(geo, sample, tmp_path):
    out, summary, _ = sample
    again = write_sample(tmp_path, seed=1, scale=SCALE, geography=geo)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(FILES.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    for name in names:
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert again["files"] == summary["files"]


def test_different_seed_gives_different_files(geo, sample, tmp_path):
    out, _, _ = sample
    write_sample(tmp_path, seed=2, scale=SCALE, geography=geo)
    for name in ("patrol.csv", "hotline_12345.csv", "violations.xlsx", "snapshots.geojson", "truth.json"):
        assert (out / name).read_bytes() != (tmp_path / name).read_bytes(), name


def test_xlsx_has_fixed_document_and_entry_times(sample):
    out, _, _ = sample
    with zipfile.ZipFile(out / "violations.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(2024, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]*)<", core) == ["2024-01-01T00:00:00Z"] * 2


# --------------------------------------------------------------------------- #
# formats
# --------------------------------------------------------------------------- #
def test_encodings(sample):
    out, _, _ = sample
    raw = (out / "hotline_12345.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gbk").startswith(",".join(HEADERS["hotline"]))
    for name in ("patrol.csv", "standard_addresses.csv", "snapshots.geojson"):
        b = (out / name).read_bytes()
        assert not b.startswith(b"\xef\xbb\xbf"), f"{name} must have no BOM"
        b.decode("utf-8")


def test_headers_exactly_as_contract(sample):
    out, _, _ = sample
    for source, name in (("patrol", "patrol.csv"), ("addresses", "standard_addresses.csv")):
        first = (out / name).read_text(encoding="utf-8").split("\n", 1)[0]
        assert tuple(first.split(",")) == HEADERS[source]
    first = (out / "hotline_12345.csv").read_bytes().decode("gbk").split("\n", 1)[0]
    assert tuple(first.split(",")) == HEADERS["hotline"]
    wb = openpyxl.load_workbook(out / "violations.xlsx", read_only=True)
    assert wb.sheetnames == ["违法记录", "说明"]
    assert next(wb["违法记录"].iter_rows(values_only=True)) == HEADERS["violation"]
    info = {r[0]: r[1] for r in wb["说明"].iter_rows(values_only=True)}
    assert info["坐标系"] == "CGCS2000"
    fc = _read_snapshots(out)
    assert fc["type"] == "FeatureCollection" and fc["coordinate_system"] == "BD-09"
    assert all(tuple(f["properties"]) == HEADERS["snapshot"] for f in fc["features"])


def test_status_and_mode_vocabularies(sample):
    out, _, _ = sample
    pat, hot = _read_patrol(out), _read_hotline(out)
    assert set(pat["处置状态"]) <= {"已处置", "处置中", "待处置"}
    assert set(pat["巡查方式"]) == {"每日一巡", "每周一查", "每月一罚"}
    assert set(hot["办理状态"]) <= {"已办结", "办理中", "待受理", "已退回"}
    assert {f["properties"]["处理状态"] for f in _read_snapshots(out)["features"]} <= {"已处理", "处理中", "未处理"}


def test_violation_times_are_date_cells_with_some_text(sample):
    out, _, _ = sample
    times = [r[1] for r in _read_violations(out)[1:]]
    kinds = pd.Series([type(t).__name__ for t in times]).value_counts()
    assert kinds["datetime"] / len(times) > 0.9
    assert kinds.get("str", 0) > 0


# --------------------------------------------------------------------------- #
# dirt
# --------------------------------------------------------------------------- #
def test_every_dirt_kind_present_and_total_share_1_to_3_percent(sample):
    _, summary, _ = sample
    expected = {
        "patrol.csv": set(DIRT_KINDS) - {"address_not_found"},
        "hotline_12345.csv": set(DIRT_KINDS),
        "violations.xlsx": set(DIRT_KINDS) - {"address_not_found"},
        "snapshots.geojson": set(DIRT_KINDS) - {"address_not_found"},
    }
    for name, kinds in expected.items():
        dirt = summary["dirt"][name]
        assert set(dirt) == kinds, name
        assert all(v >= 1 for v in dirt.values()), name
        share = sum(dirt.values()) / summary["files"][name]["rows"]
        assert 0.01 <= share <= 0.03, (name, share)


def _parses(s: str) -> bool:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y年%m月%d日 %H时%M分"):
        try:
            datetime.strptime(s, fmt)
            return True
        except ValueError:
            pass
    return False


def test_patrol_dirt_is_really_in_the_file(sample, geo):
    out, summary, _ = sample
    dirt = summary["dirt"]["patrol.csv"]
    df = _read_patrol(out)
    assert len(df) == summary["files"]["patrol.csv"]["rows"]
    assert df.duplicated().sum() == dirt["exact_duplicate"]
    t = df["巡查时间"]
    # after undoing whitespace and full-width digits exactly the bad times fail to parse
    fixed = t.str.strip().str.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    assert (~fixed.map(_parses)).sum() == dirt["bad_time"]
    assert ((t != t.str.strip()) & fixed.map(_parses)).sum() > 0
    lon, lat = df["经度"].map(_num), df["纬度"].map(_num)
    assert ((lon == 0) & (lat == 0)).sum() + (df["经度"] == "").sum() == dirt["missing_coords"]
    assert ((lon > 0) & (lon < 90)).sum() == dirt["swapped_latlon"]   # latitude in the longitude column
    fw = (df["巡查时间"] + df["经度"]).str.contains("[０-９]")
    assert fw.sum() == dirt["fullwidth_digits"]
    ws = np.zeros(len(df), bool)
    for col in ("巡查时间", "问题类型", "经度"):
        ws |= (df[col] != df[col].str.strip()).to_numpy()
    assert ws.sum() == dirt["whitespace"]
    ok = (lon > 90) & (lat > 0)
    inside = shapely.contains_xy(geo.area.buffer(0.002), lon[ok].to_numpy(), lat[ok].to_numpy())
    assert (~inside).sum() == dirt["outside_area"]


def test_hotline_content(sample):
    out, summary, sim = sample
    df = _read_hotline(out)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    # ~60 % with GCJ-02 coordinates, the rest address only
    has_xy = df["经度"].str.strip() != ""
    assert 0.5 < has_xy.mean() < 0.7
    assert truth["addresses"]["address_only"] == (~sim.tables["hotline"].a["has_xy"]).sum()
    # caller numbers and numbers inside the text are pattern-valid fake mobiles
    assert df["来电号码"].str.fullmatch(r"1[3-9][0-9]{9}").all()
    phone = r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])"
    assert df["诉求内容"].str.contains(phone).sum() == truth["pii"]["hotline_12345.csv"]["phone_in_text"]
    ids = df["诉求内容"].str.extract(r"(?<![0-9])([0-9]{17}[0-9X])(?![0-9])")[0].dropna()
    assert len(ids) == truth["pii"]["hotline_12345.csv"]["id_number_in_text"] > 0
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    assert all("10X98765432"[sum(int(c) * k for c, k in zip(s[:17], w, strict=True)) % 11] == s[17]
               for s in ids)
    # close-out after intake for closed orders; open orders have none
    fmt = {"-": "%Y-%m-%d %H:%M:%S", "/": "%Y/%m/%d %H:%M"}
    closed = df[(df["办理状态"] == "已办结") & df["受理时间"].map(_parses)]
    t0 = closed["受理时间"].map(lambda s: datetime.strptime(s, fmt["/" if "/" in s else "-"]))
    t1 = closed["办结时间"].map(lambda s: datetime.strptime(s, fmt["/" if "/" in s else "-"]))
    assert (t1 >= t0).all() and len(closed) > 0.8 * len(df)
    assert (df.loc[df["办理状态"] != "已办结", "办结时间"] == "").all()


def test_address_only_rows_use_gazetteer_addresses(sample):
    out, _, sim = sample
    df = _read_hotline(out)
    gaz = pd.read_csv(out / "standard_addresses.csv", dtype=str, keep_default_na=False)
    std = set(gaz["标准地址"])
    a = sim.tables["hotline"].a
    addr_only = ~a["has_xy"]
    exact = df["诉求地址"].isin(std).to_numpy()
    assert exact[addr_only].mean() > 0.45           # most address-only rows are standard addresses …
    assert exact[addr_only].mean() < 0.9            # … the rest are variants or unknown addresses
    nf = a["dirt"] == DIRT_KINDS.index("address_not_found") + 1
    assert nf.sum() >= 1 and not exact[nf].any()


def test_gazetteer(geo, sample):
    out, _, _ = sample
    gaz = pd.read_csv(out / "standard_addresses.csv", dtype=str, keep_default_na=False)
    assert gaz["地址编码"].is_unique and gaz["标准地址"].is_unique
    assert (gaz["标准地址"] == gaz["道路"] + gaz["门牌号"]).all()
    no = gaz["门牌号"].str.rstrip("号").astype(int)
    assert (no % 2 == 1).any() and (no % 2 == 0).any()
    assert shapely.contains_xy(geo.area, gaz["经度"].astype(float), gaz["纬度"].astype(float)).all()
    assert (gaz["街道"].str.endswith("街道")).all() and (gaz["社区"] != "").all()
    # odd numbers on one side of a road, even ones on the other (the E-W roads are parallels)
    road_lat = LAT0 + 0.0012 + 0.0027
    one = gaz[gaz["道路"] == "测试东西2路"]
    side = np.sign(one["纬度"].astype(float) - road_lat)
    odd = one["门牌号"].str.rstrip("号").astype(int) % 2 == 1
    assert side[odd].nunique() == 1 and side[~odd].nunique() == 1 and side[odd].iloc[0] != side[~odd].iloc[0]
    again = build_gazetteer(geo, seed=1)   # the building block gives the sample's gazetteer
    assert again["标准地址"].tolist() == gaz["标准地址"].tolist()


# --------------------------------------------------------------------------- #
# coordinates
# --------------------------------------------------------------------------- #
def test_clean_rows_convert_back_to_the_truth_inside_the_area(sample, geo):
    out, _, sim = sample
    area = geo.area.buffer(0.0005)   # points lie a few metres off roads that end at the border

    def check(source: str, lon: np.ndarray, lat: np.ndarray, crs: str) -> None:
        a = sim.tables[source].a
        m = (a["dirt"] == 0) & np.isfinite(lon)
        wl, wa = to_wgs84(lon[m], lat[m], crs)
        assert shapely.contains_xy(area, wl, wa).all(), source
        # written to 1e-6 (1e-7 for violations): back to the truth within ~0.2 m
        assert np.abs(wl - a["lon"][m]).max() < 2e-6 and np.abs(wa - a["lat"][m]).max() < 2e-6, source

    pat = _read_patrol(out)
    check("patrol", pat["经度"].map(_num).to_numpy(), pat["纬度"].map(_num).to_numpy(), "WGS84")
    hot = _read_hotline(out)
    check("hotline", hot["经度"].map(_num).to_numpy(), hot["纬度"].map(_num).to_numpy(), "GCJ02")
    rows = _read_violations(out)[1:]
    check("violation", np.array([_num(r[3]) for r in rows]), np.array([_num(r[4]) for r in rows]), "CGCS2000")
    feats = _read_snapshots(out)["features"]
    xy = np.array([f["geometry"]["coordinates"] if f["geometry"] else [np.nan, np.nan] for f in feats])
    check("snapshot", xy[:, 0], xy[:, 1], "BD09")
    # the BD-09 and GCJ-02 files are really shifted from WGS84 (hundreds of metres)
    m = (sim.tables["snapshot"].a["dirt"] == 0) & np.isfinite(xy[:, 0])
    assert np.median(np.abs(xy[m, 0] - sim.tables["snapshot"].a["lon"][m])) > 0.005


# --------------------------------------------------------------------------- #
# truth
# --------------------------------------------------------------------------- #
def test_truth_schema(sample, geo):
    out, summary, _ = sample
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    for key in ("seed", "scale", "months", "start", "end", "hotspots", "campaign", "dirt", "rows",
                "time_formats", "addresses", "pii", "crs", "files"):
        assert key in truth, key
    assert truth["crs"] == {"patrol.csv": "WGS84", "hotline_12345.csv": "GCJ02", "violations.xlsx": "CGCS2000",
                            "snapshots.geojson": "BD09", "standard_addresses.csv": "WGS84"}
    assert truth["dirt"] == summary["dirt"]
    assert len(truth["hotspots"]) == 10
    kinds = {h["kind"] for h in truth["hotspots"]}
    assert kinds == {"steady", "emerging", "fading"}
    for h in truth["hotspots"]:
        assert h["sources"][0] in ("patrol", "hotline", "violation", "snapshot")
        assert h["files"] == [FILES[h["sources"][0]]]
        assert h["cells"] and all(h3.is_valid_cell(c) and h3.get_resolution(c) == 9 for c in h["cells"])
        assert h3.latlng_to_cell(h["lat"], h["lon"], 9) in h["cells"] or h["footprint"] == "disc"
        assert 1.0 <= min(h["multiplier_start"], h["multiplier_end"])
        assert 3.0 <= max(h["multiplier_start"], h["multiplier_end"]) <= 8.0
        assert truth["start"] <= h["start"] < h["end"] <= truth["end"]
        assert h["planted"] > 0 and h["window"] in ("morning_peak", "evening_peak", "day", "night", "all")
        if h["footprint"] == "intersection":
            node = geo.intersections[geo.intersections["node_id"].astype(str) == h["node_id"]]
            assert node["name"].iloc[0] == h["intersection_name"]
    camp = truth["campaign"]
    middle = set(geo.grids.loc[geo.grids["tier"] == "middle", "grid_id"])
    assert camp["grid_ids"] and set(camp["grid_ids"]) <= middle
    assert camp["effect"] == -0.4 and datetime.strptime(camp["date"], "%Y-%m-%d").weekday() == 0


def _window_mask(times: pd.Series, h: dict) -> np.ndarray:
    t = pd.DatetimeIndex(times)
    h0, h1 = (int(x[:2]) for x in h["hours"])
    return np.asarray((t >= pd.Timestamp(h["start"])) & (t < pd.Timestamp(h["end"]))
                      & (t.hour >= h0) & (t.hour < h1) & np.isin(t.day_of_week, h["days"]))


def test_planted_hotspots_are_elevated_in_their_window(geo):
    sim = simulate(geo, seed=3, scale=0.3)
    for h in sim.truth["hotspots"]:
        ev = sim.events(h["sources"][0])
        ev = ev[ev["dirt"] == ""]
        m = _window_mask(ev["time"], h)
        cells = np.array([h3.latlng_to_cell(la, lo, 9)
                          for lo, la in zip(ev["lon"][m], ev["lat"][m], strict=True)])
        counts = pd.Series(cells).value_counts()
        hot = counts.reindex(h["cells"]).fillna(0)
        # the hotspot's cells hold far more than a typical occupied cell in the same window
        assert hot.mean() >= 2.0 * counts.mean(), h["id"]
        if h["kind"] != "steady":   # growth or decline within its dates
            t = pd.DatetimeIndex(ev["time"][m][np.isin(cells, h["cells"])])
            mid = pd.Timestamp(h["start"]) + (pd.Timestamp(h["end"]) - pd.Timestamp(h["start"])) / 2
            early, late = (t < mid).sum(), (t >= mid).sum()
            assert (late > 1.3 * early) if h["kind"] == "emerging" else (early > 1.3 * late), h["id"]
    # the campaign: events in its grids fall by ~40 % relative to the rest of the area
    c = sim.truth["campaign"]["counts"]
    tot = {k: sum(v[k] for v in c.values()) for k in ("campaign_before", "campaign_after", "rest_before",
                                                        "rest_after")}
    ratio = (tot["campaign_after"] / tot["campaign_before"]) / (tot["rest_after"] / tot["rest_before"])
    assert 0.45 < ratio < 0.75


def test_violations_peak_in_the_morning_and_evening_on_weekdays(sample):
    _, _, sim = sample
    ev = sim.events("violation")
    t = pd.DatetimeIndex(ev["time"])
    wd = t.day_of_week < 5
    hours = pd.Series(t.hour[wd]).value_counts(normalize=True)
    assert hours.reindex([7, 8, 17, 18]).sum() > 0.4          # 4 of 24 hours hold > 40 %
    hot = pd.DatetimeIndex(pd.Series(_read_hotline(sample[0])["受理时间"]).pipe(
        lambda s: pd.to_datetime(s[s.map(_parses) & s.str.contains("-")], format="%Y-%m-%d %H:%M:%S")))
    by_hour = pd.Series(hot.hour).value_counts()
    assert by_hour[12] < by_hour[10] and by_hour[3] < by_hour[10] / 5   # lunchtime dip, quiet nights


# --------------------------------------------------------------------------- #
# options and errors
# --------------------------------------------------------------------------- #
def test_csv_instead_of_xlsx(geo, tmp_path):
    with pytest.warns(UserWarning, match="violations.csv"):
        s = write_sample(tmp_path, seed=1, scale=0.02, geography=geo, xlsx=False)
    assert (tmp_path / "violations.csv").exists() and not (tmp_path / "violations.xlsx").exists()
    first = (tmp_path / "violations.csv").read_text(encoding="utf-8").split("\n", 1)[0]
    assert tuple(first.split(",")) == HEADERS["violation"]
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert "violations.csv" in truth["dirt"] and s["files"]["violations.csv"]["rows"] > 0


@pytest.mark.parametrize("kw", [dict(months=0), dict(scale=0), dict(scale=-1.0), dict(seed=-1),
                                dict(start="not a date")])
def test_bad_arguments_raise(geo, tmp_path, kw):
    with pytest.raises(SettingsError):
        write_sample(tmp_path, geography=geo, **{"scale": 0.01, **kw})


def test_scale_multiplies_counts(geo, sample):
    small = simulate(geo, seed=1, scale=SCALE / 4).truth["background_events"]
    big = sample[2].truth["background_events"]
    for k in small:
        assert 3.0 < big[k] / small[k] < 5.0


@pytest.mark.skipif(not (REPO / "data" / "sample" / "roads.geojson").exists(), reason="no shipped sample geography")
def test_shipped_geography(tmp_path):
    g = load_sample_geography()
    s = write_sample(tmp_path, seed=1, scale=0.01, geography=g)
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert truth["area"]["code"] == "110102" and len(truth["hotspots"]) == 10
    gaz = pd.read_csv(tmp_path / "standard_addresses.csv", dtype=str)
    assert gaz["社区"].str.endswith("社区").all()   # real Xicheng community names as labels
    assert s["files"]["standard_addresses.csv"]["rows"] > 5000
    names = set(g.intersections["name"])
    assert all(h["intersection_name"] in names for h in truth["hotspots"] if h["footprint"] == "intersection")
