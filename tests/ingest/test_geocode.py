"""Tests of geo.ingest.geocode: address normalisation, gazetteer validation and offline matching.

The fixture ``tests/data/geocode/standard_addresses.csv`` (27 entries) has, on
purpose: roads differing only by a numeral (样例一路/样例二路), a 甲 number, two
buildings in one compound (样例一路29号院1号楼/2号楼), the same 安德路5号 in two
streets, 西二环路 (alias 西二环), 东四十条 (a numeral inside a road name) and a
number-less entry (样例公园).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rapidfuzz import fuzz

from geo.errors import CoordinateError, InputFileError
from geo.ingest.geocode import (
    GEOCODE_COLUMNS,
    METHODS,
    MISMATCH_SCORE_CAP,
    AddressRules,
    Gazetteer,
    geocode,
    normalize_address,
    parse_address,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "geocode"
ALIASES = {"西二环": "西二环路"}


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.from_csv(DATA / "standard_addresses.csv", aliases=ALIASES)


@pytest.fixture(scope="module")
def raw_gaz() -> pd.DataFrame:
    return pd.read_csv(DATA / "standard_addresses.csv", dtype=str)


def _code(raw_gaz: pd.DataFrame, address: str, street: str | None = None) -> str:
    m = raw_gaz["标准地址"].eq(address)
    if street:
        m &= raw_gaz["街道"].eq(street)
    return raw_gaz.loc[m, "地址编码"].min()


# --------------------------------------------------------------------------- normalisation
@pytest.mark.parametrize("raw,norm", [
    ("样例一路21号", "样例一路21号"),
    ("样例一路２１号", "样例一路21号"),               # full-width digits
    ("样例一路 21 号", "样例一路21号"),               # spaces
    ("样例一路21号院", "样例一路21号"),
    ("样例一路21号楼", "样例一路21号"),
    ("样例一路21号门", "样例一路21号"),
    ("样例一路21#", "样例一路21号"),
    ("北京市西城区样例一路21号", "样例一路21号"),
    ("北京西城区新街口街道样例一路21号", "样例一路21号"),
    ("西城区西里二区社区样例一路21号", "样例一路21号"),
    ("样例一路二十三号", "样例一路23号"),
    ("样例一路一百零五号", "样例一路105号"),
    ("样例一路十号院", "样例一路10号"),
    ("东四十条12号", "东四十条12号"),                 # 四十 in a road name stays
    ("样例一路21号院3号楼2单元", "样例一路21号3号楼2单元"),
    ("样例一路21-1号", "样例一路21-1号"),
    ("样例一路21之1号", "样例一路21-1号"),
    ("样例一路甲21号", "样例一路甲21号"),
    ("样例一路21", "样例一路21号"),
    ("西二环9号", "西二环路9号"),                     # explicit alias
    ("西二环路9号", "西二环路9号"),                   # canonical name untouched
    ("新街口外大街3号", "新街口外大街3号"),           # 大街 not rewritten without an alias
    ("（样例一路）21号。", "样例一路21号"),
])
def test_normalize_address(raw, norm):
    assert normalize_address(pd.Series([raw]), aliases=ALIASES).iloc[0] == norm


def test_normalize_keeps_index_name_and_nulls():
    s = pd.Series(["样例一路21号", None, "   "], index=[7, 8, 9], name="诉求地址")
    out = normalize_address(s)
    assert list(out.index) == [7, 8, 9] and out.name == "诉求地址"
    assert out.iloc[0] == "样例一路21号" and out.iloc[1:].isna().all()


def test_parse_address_keeps_prefixes_and_detail():
    p = parse_address(pd.Series(["北京市西城区新街口街道西里二区社区样例一路２３号院3号楼东门"]))
    row = p.iloc[0]
    assert (row["district"], row["street"], row["community"]) == ("西城区", "新街口街道", "西里二区社区")
    assert (row["road"], row["house_number"], row["detail"]) == ("样例一路", "23", "3号楼东门")
    assert row["key"] == "样例一路23号"


def test_unknown_district_like_words_are_not_stripped():
    # 小区 ends in 区 but is no district; a road is not a street office
    out = normalize_address(pd.Series(["小区北门", "样例镇路5号", "样例一路社区服务站", "永安社区样例一路5号"]))
    assert out.tolist() == ["小区北门", "样例镇路5号", "样例一路社区服务站", "样例一路5号"]


def test_rules_validate_aliases():
    with pytest.raises(ValueError, match="maps to itself"):
        AddressRules(aliases={"西二环路": "西二环路"})


# --------------------------------------------------------------------------- gazetteer validation
def test_gazetteer_loads_and_sorts_by_code(gaz, raw_gaz):
    assert len(gaz) == len(raw_gaz)
    codes = gaz.frame["address_code"].tolist()
    assert codes == sorted(codes)
    assert {"样例一路", "西二环路", "东四十条"} <= gaz.roads
    assert gaz.frame["lon"].dtype == np.float64


def test_gazetteer_accepts_english_headers(raw_gaz):
    eng = raw_gaz.rename(columns={"地址编码": "address_code", "标准地址": "address", "道路": "road",
                                  "门牌号": "house_number", "经度": "lon", "纬度": "lat",
                                  "街道": "street", "社区": "community"})
    g = Gazetteer.from_frame(eng)
    assert geocode(pd.Series(["样例一路21号"]), g)["method"].iloc[0] == "exact"


def test_gazetteer_missing_column(raw_gaz):
    with pytest.raises(InputFileError, match="纬度"):
        Gazetteer.from_frame(raw_gaz.drop(columns="纬度"))


def test_gazetteer_bad_coordinates(raw_gaz):
    bad = raw_gaz.copy()
    bad.loc[3, "经度"] = "116,37"
    with pytest.raises(CoordinateError, match=r"经度.*line\(s\) \[5\]"):
        Gazetteer.from_frame(bad)
    swapped = raw_gaz.rename(columns={"经度": "纬度", "纬度": "经度"})
    with pytest.raises(CoordinateError, match="swapped"):
        Gazetteer.from_frame(swapped)
    far = raw_gaz.copy()
    far.loc[0, "经度"] = "16.37"
    with pytest.raises(CoordinateError, match="out of range"):
        Gazetteer.from_frame(far)


def test_gazetteer_empty_address_and_empty_table(raw_gaz):
    bad = raw_gaz.copy()
    bad.loc[0, "标准地址"] = " "
    with pytest.raises(InputFileError, match="标准地址 is empty"):
        Gazetteer.from_frame(bad)
    with pytest.raises(InputFileError, match="no rows"):
        Gazetteer.from_frame(raw_gaz.iloc[:0])
    with pytest.raises(TypeError, match="DataFrame"):
        Gazetteer.from_frame([1, 2])  # type: ignore[arg-type]


def test_gazetteer_file_errors(tmp_path, raw_gaz):
    with pytest.raises(InputFileError, match="not found"):
        Gazetteer.from_csv(tmp_path / "nope.csv")
    gbk = tmp_path / "gbk.csv"
    raw_gaz.to_csv(gbk, index=False, encoding="gbk")
    with pytest.raises(InputFileError, match="UTF-8"):
        Gazetteer.from_csv(gbk)
    bom = tmp_path / "bom.csv"
    raw_gaz.to_csv(bom, index=False, encoding="utf-8-sig")
    assert len(Gazetteer.from_csv(bom)) == len(raw_gaz)


# --------------------------------------------------------------------------- geocoding
def test_result_shape_and_types(gaz):
    s = pd.Series(["样例一路21号", "样例一路23号", None], index=["a", "b", "c"])
    r = geocode(s, gaz)
    assert tuple(r.columns) == GEOCODE_COLUMNS
    assert list(r.index) == ["a", "b", "c"]
    assert set(r["method"]) <= set(METHODS)
    assert r["lon"].dtype == np.float64 and r["score"].dtype == np.float64


def test_exact_match_returns_gazetteer_point(gaz, raw_gaz):
    r = geocode(pd.Series(["北京市西城区新街口外大街1号", "样例一路21号"]), gaz)
    assert r["method"].tolist() == ["exact", "exact"]
    assert r["score"].tolist() == [100.0, 100.0]
    row = raw_gaz[raw_gaz["标准地址"] == "样例一路21号"].iloc[0]
    assert r["lon"].iloc[1] == float(row["经度"]) and r["lat"].iloc[1] == float(row["纬度"])
    assert (r["street"].iloc[1], r["community"].iloc[1]) == (row["街道"], row["社区"])
    assert r["candidates"].isna().all()


@pytest.mark.parametrize("raw,standard", [
    ("新街口外大街１号", "北京市西城区新街口外大街1号"),          # full-width digit
    ("新街口外大街1号院", "北京市西城区新街口外大街1号"),         # 号院
    ("北京市西城区 新街口外大街 3 号", "北京市西城区新街口外大街3号"),
    ("西城区新街口外大街5号", "北京市西城区新街口外大街5号"),
    ("新街口街道新街口外大街8号", "北京市西城区新街口外大街8号"),  # street-office prefix
    ("新街口外大街十号", "北京市西城区新街口外大街10号"),
    ("新街口外大街1号东侧50米", "北京市西城区新街口外大街1号"),  # detail after the number
    ("西二环9号", "西二环路9号"),                                 # alias
    ("东四十条十二号", "东城区东四十条12号"),
    ("样例小区样例一路25号", "样例一路25号"),                     # known road after a prefix
    ("赵登禹路甲102号院", "赵登禹路甲102号"),
])
def test_normalized_matches(gaz, raw, standard):
    r = geocode(pd.Series([raw]), gaz)
    assert r["method"].iloc[0] == "normalized"
    assert r["matched_address"].iloc[0] == standard
    assert r["score"].iloc[0] == 100.0


def test_same_key_prefers_named_street_then_lowest_code(gaz, raw_gaz):
    r = geocode(pd.Series(["德胜街道安德路5号", "新街口街道安德路5号", "西城区安德路5号"]), gaz)
    assert r["street"].tolist() == ["德胜街道", "新街口街道", "新街口街道"]
    assert r["address_code"].iloc[2] == _code(raw_gaz, "安德路5号")  # lowest code


def test_same_key_prefers_matching_building(gaz):
    r = geocode(pd.Series(["样例一路29号院2号楼", "样例一路29号2号楼3单元", "样例一路29号"]), gaz)
    assert r["matched_address"].tolist() == ["样例一路29号院2号楼", "样例一路29号院2号楼", "样例一路29号院1号楼"]
    assert r["method"].tolist() == ["exact", "normalized", "normalized"]


@pytest.mark.parametrize("raw,standard", [
    ("样列一路21号", "样例一路21号"),                       # confusable character
    ("新街口外大衔8号", "北京市西城区新街口外大街8号"),
    ("新街口外大8号", "北京市西城区新街口外大街8号"),       # dropped character
    ("样例1路25号", "样例一路25号"),                        # digit for Chinese numeral
    ("冬四十条12号", "东城区东四十条12号"),                 # direction lost to a homophone
    ("西直们内大街4号", "西直门内大街4号"),
])
def test_fuzzy_matches_typos(gaz, raw, standard):
    r = geocode(pd.Series([raw]), gaz)
    assert r["method"].iloc[0] == "fuzzy"
    assert r["matched_address"].iloc[0] == standard
    key = parse_address(pd.Series([raw]))["key"].iloc[0]
    std_key = normalize_address(pd.Series([standard]))
    expected = fuzz.ratio(key, std_key.iloc[0])
    assert r["score"].iloc[0] == pytest.approx(expected, abs=0.01)
    assert 85.0 <= r["score"].iloc[0] < 100.0


def test_wrong_house_number_is_not_matched(gaz):
    r = geocode(pd.Series(["样例一路23号", "新街口外大街9号", "赵登禹路乙102号", "样例一路21-1号"]), gaz,
                min_score=1.0)  # even a permissive threshold never takes another door
    assert (r["method"] == "none").all()
    assert r["lon"].isna().all() and r["matched_address"].isna().all()
    assert (r["score"] <= MISMATCH_SCORE_CAP).all()
    # candidates: the nearest doors of the same road first
    assert r["candidates"].iloc[0] == "样例一路21号 (50); 样例一路25号 (50); 样例一路27号 (50)"
    assert r["candidates"].iloc[1].startswith("北京市西城区新街口外大街8号 (50); 北京市西城区新街口外大街10号 (50)")


def test_other_road_with_same_number_is_not_matched(gaz):
    # 样例三路 is not in the gazetteer; 样例一路21号 and 样例二路21号 are one character away
    r = geocode(pd.Series(["样例三路21号", "建设东路5号"]), gaz, min_score=1.0)
    assert r["method"].tolist() == ["none", "none"]
    assert r["candidates"].iloc[0] == "样例一路21号 (50); 样例二路21号 (50)"


def test_ambiguous_fuzzy_is_not_matched(gaz):
    # 样例路21号 is as close to 样例一路21号 as to 样例二路21号
    r = geocode(pd.Series(["样例路21号"]), gaz)
    assert r["method"].iloc[0] == "none"
    assert r["score"].iloc[0] >= 85.0
    assert r["candidates"].iloc[0].startswith("样例一路21号 (92); 样例二路21号 (92)")


def test_fuzzy_tie_within_one_key_goes_to_lowest_code(gaz, raw_gaz):
    # 样例一路29号 has two entries (buildings 1 and 2): one door, not an ambiguity
    r = geocode(pd.Series(["样列一路29号"]), gaz)
    assert r["method"].iloc[0] == "fuzzy"
    assert r["address_code"].iloc[0] == _code(raw_gaz, "样例一路29号院1号楼")


def test_min_score_threshold(gaz):
    s = pd.Series(["样列一路21号"])  # ratio 85.7
    assert geocode(s, gaz, min_score=85)["method"].iloc[0] == "fuzzy"
    r = geocode(s, gaz, min_score=90)
    assert r["method"].iloc[0] == "none"
    assert r["candidates"].iloc[0].startswith("样例一路21号 (86)")
    for bad in (0, -5, 101, "85", True):
        with pytest.raises((ValueError, TypeError), match="min_score"):
            geocode(s, gaz, min_score=bad)


def test_unmatched_without_anything_close(gaz):
    r = geocode(pd.Series(["完全不相干的地方", "", None, "   "]), gaz)
    assert (r["method"] == "none").all()
    assert r["candidates"].isna().all()
    assert (r["score"] == 0.0).all()


def test_numberless_entry_and_road_only_address(gaz):
    r = geocode(pd.Series(["样例公园", "样例一路", "样例公园东门"]), gaz)
    assert r["method"].tolist() == ["exact", "none", "none"]
    assert r["candidates"].iloc[1].startswith("样例一路21号")  # a road is not a door
    assert r["candidates"].iloc[2].startswith("样例公园 (")


def test_results_do_not_depend_on_order_or_repeats(gaz):
    s = pd.Series(["样列一路21号", "样例一路23号", "西二环9号", "样例路21号", "新街口外大衔8号",
                   "安德路5号", "样例一路29号", "完全不相干的地方"] * 3)
    r = geocode(s, gaz)
    perm = np.random.default_rng(1).permutation(len(s))
    r2 = geocode(s.iloc[perm], gaz).loc[s.index]
    pd.testing.assert_frame_equal(r, r2)
    assert (r.iloc[:8].to_numpy() == r.iloc[8:16].to_numpy())[~r.iloc[:8].isna().to_numpy()].all()


def test_accepts_a_list_and_rejects_other_inputs(gaz):
    assert geocode(["样例一路21号"], gaz)["method"].tolist() == ["exact"]
    with pytest.raises(TypeError, match="Gazetteer"):
        geocode(pd.Series(["x"]), pd.DataFrame())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="addresses"):
        geocode("样例一路21号", gaz)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- blocking == brute force
def _brute_force(addresses: pd.Series, g: Gazetteer, min_score: float) -> pd.Series:
    """Matched 地址编码 by the documented rule, one query at a time, no blocking."""
    p = g.parse(addresses)
    fr = g.frame
    keys, codes = fr["key"].tolist(), fr["address_code"].tolist()
    addr, road, number = fr["address"].tolist(), fr["road_key"].tolist(), fr["number"].tolist()
    distinct = "东西南北中内外前后上下左右零〇一二两三四五六七八九十百千0123456789"
    fold = str.maketrans("零〇一二两三四五六七八九", "001223456789")

    def sig(r: str) -> str:
        return "".join(c for c in r if c in distinct).translate(fold)

    def subseq(a: str, b: str) -> bool:  # equal, or a = b with one character dropped
        return a == b or any(b[:i] + b[i + 1:] == a for i in range(len(b)))

    out: list[str | None] = []
    for raw, row in zip(addresses, p.itertuples(), strict=True):
        if raw.strip() in addr:
            out.append(codes[addr.index(raw.strip())])
            continue
        if row.key in keys:
            out.append(codes[keys.index(row.key)])
            continue
        best = sorted(
            (fuzz.ratio(row.key, keys[j]), j) for j in range(len(keys))
            if (not row.road_known or road[j] == row.road)
            and number[j] == row.house_number and subseq(sig(row.road), sig(road[j])))
        best.sort(key=lambda t: (-t[0], t[1]))
        ok = best and best[0][0] >= min_score and not any(
            sc == best[0][0] and keys[j] != keys[best[0][1]] for sc, j in best[1:])
        out.append(codes[best[0][1]] if ok else None)
    return pd.Series(out, index=addresses.index, dtype="str")


def test_blocked_matching_equals_brute_force():
    rng = np.random.default_rng(11)
    stems = ["安德", "德胜", "新街", "西直", "赵登", "样例", "光明", "和平", "幸福", "长春"]
    kinds = ["一路", "二路", "东路", "西路", "大街", "北街", "胡同"]
    roads = [s + k for s in stems for k in kinds]
    rows = [(r, n) for r in roads for n in rng.choice(np.arange(1, 40), 6, replace=False)]
    g = Gazetteer.from_frame(pd.DataFrame({
        "地址编码": [f"C{i:04d}" for i in range(len(rows))],
        "标准地址": [f"{r}{n}号" for r, n in rows], "道路": [r for r, _ in rows],
        "门牌号": [f"{n}号" for _, n in rows],
        "经度": 116.3 + rng.random(len(rows)) * 0.1, "纬度": 39.9 + rng.random(len(rows)) * 0.1,
        "街道": "新街口街道", "社区": "西里一区社区居委会"}))
    swaps = {"路": "璐", "街": "接", "东": "冬", "西": "希", "一": "1", "德": "得", "新": "心"}
    queries = []
    for r, n in (rows[i] for i in rng.integers(0, len(rows), 250)):
        u = rng.random()
        if u < 0.4:
            j = int(rng.integers(0, len(r)))
            r = r[:j] + swaps.get(r[j], r[j]) + r[j + 1:]
        elif u < 0.6:
            n = n + int(rng.integers(1, 3))
        elif u < 0.7:
            r = r[:-1]
        queries.append(f"{r}{n}号")
    s = pd.Series(queries)
    got = geocode(s, g)
    want = _brute_force(s, g, 85.0)
    pd.testing.assert_series_equal(got["address_code"], want, check_names=False)
    assert set(got["method"]) >= {"exact", "fuzzy", "none"}


def test_remembered_results_equal_a_fresh_geocode(raw_gaz):
    """Batches that repeat addresses (chunk after chunk of one file) give what a fresh gazetteer gives."""
    std = raw_gaz["标准地址"].tolist()
    typed = [f"西城区{a}" for a in std[:8]] + [a.replace("号", "号院") for a in std[5:12]] + ["不存在路99号", ""]
    batch1 = pd.Series(typed[:12] + [None], dtype="object")
    batch2 = pd.Series(list(reversed(typed)) + typed[3:6], dtype="object")
    warm = Gazetteer.from_frame(raw_gaz)
    geocode(batch1, warm)
    assert len(warm._memo[85.0]) > 0
    got = geocode(batch2, warm)
    want = geocode(batch2, Gazetteer.from_frame(raw_gaz))
    pd.testing.assert_frame_equal(got, want)
    assert (got["method"] != "none").sum() >= 8
    # a different threshold is remembered apart
    strict = geocode(batch2, warm, min_score=99.0)
    pd.testing.assert_frame_equal(strict, geocode(batch2, Gazetteer.from_frame(raw_gaz), min_score=99.0))
