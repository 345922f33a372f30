"""The fast paths of ingestion give exactly what the general code gives, on tricky inputs.

Each fast path (clean values skipped, work done on distinct values, one regex
pass before the rules, Arrow-built strings) is compared with the general path
or with a plain reference implementation of the same rule.
"""

import hashlib
import hmac
import re

import numpy as np
import pandas as pd
import pytest
import shapely

from geo import privacy
from geo.grid.officialgrids import locate_points, standardize_grids
from geo.ingest import pipeline as ingest
from geo.ingest import textnorm
from geo.settings import Settings

TRICKY_TEXT = [
    "违法停车", "  违法停车 ", "违法\u3000停车", "ＡＢＣ１２３", "a  b", "a\tb", "\u200b零宽", "x\u00a0y",
    "", "   ", None, "样例一路21号", "（括号）", "—·「」", "ﬁ ligature", "tail ", " lead", "①②", "abc",
    "电话：１３８１２３４５６７８", "\n", "Ⅻ",
]


def test_normalize_text_fast_path_equals_full_normalisation():
    import pyarrow as pa

    values = TRICKY_TEXT * 3
    arr = pa.array(values, type=pa.large_string())
    fast = textnorm._normalize_values(arr).to_pylist()
    full = textnorm._normalize_all(arr).to_pylist()
    assert fast == full
    assert fast[1] == "违法停车" and fast[8] is None and fast[3] == "ABC123"


def test_content_hashes_equal_two_pandas_row_hashes():
    parts = {
        "source": pd.Series(["patrol"] * 6, dtype="string"),
        "t": pd.Series([0, 1, 2, 3, 3, -5], dtype="int64"),
        "text": pd.Series(["a", None, "", "违法", "违法", "\x00"], dtype="string"),
        "other": pd.Series([None, None, "x", "y", "y", None], dtype="str"),
    }
    got = ingest.content_hashes(parts).tolist()
    frame = pd.DataFrame({k: (v.fillna("\x00") if isinstance(v.dtype, pd.StringDtype) else v)
                          for k, v in parts.items()})
    a = pd.util.hash_pandas_object(frame, index=False, hash_key="gridwatchevents1").to_numpy()
    b = pd.util.hash_pandas_object(frame, index=False, hash_key="gridwatchevents2").to_numpy()
    assert got == [f"{x:016x}{y:016x}" for x, y in zip(a, b, strict=True)]
    assert got[3] == got[4] and len(set(got)) == 5  # equal rows hash equal, the others differ
    assert list(ingest.hex64(np.array([0, 255, 2**64 - 1], dtype=np.uint64))) == [
        "0000000000000000", "00000000000000ff", "ffffffffffffffff"]


TEXTS = [
    "工单20240305123456，来电人电话138-1234-5678，车牌京A·12345", "身份证110105194912310021", "无数字的文本",
    "座机010-62345678 或 +86 10 6234 5678", "电话：62345678", "tel 6234 5678", "京AD12345停在门口",
    "订单号2024030512", "旧证110105491231002", "", None, "样例四百七十八胡同20号", "０１０－６２３４５６７８",
    "(+86)13812345678", "粤Z1234港车", "手机号是 13812345678", "京ABCDEFG", "dates 20240305 and 13812345678",
]


def test_scrub_prefilter_equals_rules_on_every_text():
    s = privacy._fold(privacy._as_text(pd.Series(TEXTS * 2, dtype="str"), "text"))
    fast, fast_hits = privacy._apply_rules(s, count=True)
    slow, slow_hits = privacy._apply_rules_all(s, count=True)
    pd.testing.assert_series_equal(fast, slow)
    assert fast_hits.tolist() == slow_hits.tolist()
    assert fast.iloc[0] == "工单20240305123456，来电人电话138****5678，车牌京A·***45"
    assert fast.iloc[2] == "无数字的文本"


PHONES = ["13812345678", "008613812345678", "8613812345678", "+86 138-1234-5678", "010-62345678",
          "01062345678", "12345", "", None, "１３８１２３４５６７８", "86", "00", "0", "0086", "62345678",
          "13812345678转123", "(010)6234-5678", "861", "+86 10 6234 5678", " 13812345678 "]


def test_phone_fast_path_equals_rules():
    s = pd.Series(PHONES, dtype="str")
    pd.testing.assert_series_equal(privacy.normalize_phone(s), privacy._normalize_phone_rules(s))
    assert privacy.normalize_phone(s).iloc[1] == "13812345678"


PLATES = ["京A12345", "京AD12345", "粤Z·1234港", "AB 1234", "?", "京a·12345", None, "", "京A1234学",
          "京I12345", "使014578", "京A123456", "京A1234", "沪B-12345", "MA-12-34", "京AO1234"]


def test_mask_plate_equals_group_extraction():
    s = pd.Series(PLATES, dtype="str")
    canon = privacy.normalize_plate(s)
    parts = canon.str.extract(f"^{privacy._PLATE_FULL}$")
    mainland = parts[0].notna()
    masked = (parts[0] + parts[1] + "·***" + parts[2].str.slice(-2)).where(mainland)
    other = ~mainland & canon.str.fullmatch(rf"[A-Z0-9{privacy._PROVINCES}使领]{{5,10}}").fillna(False)
    masked = masked.where(~other, canon.str.slice(0, 1) + privacy.GENERIC_MASK + canon.str.slice(-2))
    expected = privacy._finish_mask(masked, privacy._as_text(s))
    pd.testing.assert_series_equal(privacy.mask_plate(s), expected)


def test_hashes_on_distinct_values_equal_hmac_per_row():
    salt = "a-very-secret-salt-0001"
    s = pd.Series(["13812345678", "+86 138-1234-5678", None, "", "010-62345678", "13812345678"], dtype="str")
    got = privacy.hash_values(s, salt, kind="phone")
    norm = privacy.normalize_phone(s)
    want = [None if pd.isna(v) or v == "" else
            hmac.new(salt.encode(), v.encode(), hashlib.sha256).hexdigest()[:32] for v in norm]
    assert [None if pd.isna(v) else v for v in got] == want
    assert str(got.dtype) == "str"


def test_coordinates_parse_like_normalised_text():
    raw = pd.Series(["116.3", " 116.3 ", "１１６.３", "", None, "abc", "NaN", "1e2", "116,3",
                     "\u00a0116.3", "116.3\u200b", "-0", "  "], dtype="str")
    number, has_text = ingest._coordinate(raw)
    norm = textnorm.normalize_text(raw.astype("string"))
    np.testing.assert_array_equal(number, ingest._to_float(norm))
    assert has_text.tolist() == norm.notna().tolist()


def _old_map_categories(raw, settings):
    table = ingest.category_lookup(settings)
    uniques = pd.Series(raw.dropna().unique(), dtype="string")
    lowered = uniques.str.lower()
    codes = uniques.map(table).fillna(lowered.map(table))
    unmatched = codes.isna()
    best_len = pd.Series(0, index=uniques.index)
    for key in sorted(table, key=len, reverse=True):
        hit = unmatched & (best_len < len(key)) & lowered.str.contains(key.lower(), regex=False)
        codes[hit] = table[key]
        best_len[hit] = len(key)
    # no match: the workspace's own category, coded from the value (before: "other")
    from geo.store.categories import category_code
    codes = codes.fillna(uniques.map(category_code))
    return raw.map(dict(zip(uniques, codes, strict=True))).astype("string")


@pytest.mark.parametrize("n_unknown", [3, 400])  # per-value loop / per-key vectorised pass
def test_map_categories_equals_reference(n_unknown):
    settings = Settings()
    known = [c.label_zh for c in settings.categories][:5]
    values = known + ["违法停车（电动自行车）", "ILLEGAL_PARKING", None, "占道经营和违法停车"] + \
        [f"未知{i}" for i in range(n_unknown)]
    raw = pd.Series(values * 2, dtype="str")
    pd.testing.assert_series_equal(ingest.map_categories(raw, settings), _old_map_categories(raw, settings))


def test_join_flags_and_closed_status():
    flags = {"a": np.array([1, 0, 1, 0], bool), "b": np.array([0, 0, 1, 0], bool),
             "c": np.zeros(4, bool), "d": np.array([0, 0, 0, 1], bool)}
    got = ingest._join_flags(flags, pd.RangeIndex(4))
    assert [None if pd.isna(v) else v for v in got] == ["a", None, "a;b", "d"]
    status = pd.Series(["已办结", "未办结", None, "closed", "处理中"], dtype="str")
    assert ingest.closed_status(status).tolist() == [True, False, False, True, False]


@pytest.mark.parametrize("lookup", [True, False])
def test_locate_points_equals_exact_point_in_polygon(lookup, monkeypatch):
    """Both paths: the H3 interior lookup (forced on 805 points) and the exact test alone (few points)."""
    import geopandas as gpd

    from geo.grid import officialgrids

    monkeypatch.setattr(officialgrids, "LOOKUP_MIN_POINTS", 0 if lookup else 10_000)

    boxes, ids, tiers = [], [], []
    for tier, step in (("big", 0.02), ("middle", 0.01), ("small", 0.005)):
        for i, x in enumerate(np.arange(116.36, 116.40, step)):
            for j, y in enumerate(np.arange(39.90, 39.92, step)):
                boxes.append(shapely.box(x, y, x + step, y + step))
                ids.append(f"{tier[0]}{i:02d}{j:02d}")
                tiers.append(tier)
    grids = standardize_grids(gpd.GeoDataFrame({"grid_id": ids, "tier": tiers}, geometry=boxes,
                                               crs="EPSG:4326"))
    rng = np.random.default_rng(0)
    lon = np.r_[rng.uniform(116.355, 116.405, 800), 116.37, 116.38, 116.36, 116.5, np.nan]
    lat = np.r_[rng.uniform(39.895, 39.925, 800), 39.905, 39.91, 39.90, 39.91, 39.91]
    got = locate_points(grids, lon, lat)
    for tier in ("big", "middle", "small"):
        layer = grids[grids["tier"] == tier]
        want = []
        for x, y in zip(lon, lat, strict=True):
            hits = [g for g, geom in zip(layer["grid_id"], layer.geometry, strict=True)
                    if np.isfinite(x) and shapely.intersects(geom, shapely.Point(x, y))]
            want.append(min(hits) if hits else None)
        assert [None if pd.isna(v) else v for v in got[f"grid_{tier}"]] == want
        assert str(got[f"grid_{tier}"].dtype) == "string"


def test_event_ids_without_source_id_use_the_content_hash(box_workspace):
    from geo.ingest.readers import RawTable

    frame = pd.DataFrame({"巡查时间": ["2024-03-05 08:30:00"] * 3, "经度": ["116.40", "116.40", "116.38"],
                          "纬度": ["39.91", "39.91", "39.90"], "问题类型": ["违法停车"] * 3,
                          "_row": np.arange(2, 5)}).astype({c: "str" for c in ["巡查时间", "经度", "纬度", "问题类型"]})
    events, _, report = ingest.prepare_events(RawTable(frame=frame, path="x.csv", format="csv"),
                                              "patrol", box_workspace)
    assert report.duplicates == 1 and len(events) == 2
    for eid, h in zip(events["event_id"], events["content_hash"], strict=True):
        assert re.fullmatch(r"patrol:h[0-9a-f]{20}", eid) and eid == "patrol:h" + h[:20]


def test_plate_and_id_normalisation_skip_only_values_without_separators():
    plates = pd.Series(PLATES + ["京a 12345", "京Ａ·１２３４５", "京A\u00a012345", "京A\t12345", "京A_123.45"],
                       dtype="str")
    ids = pd.Series(["11010519491231002x", "110105 1949 1231 002X", "110105-19491231-002x", None, "",
                     "１１０１０５１９４９１２３１００２ｘ", "11010519491231002\u2003X"], dtype="str")
    for values, fn, pattern in ((plates, privacy.normalize_plate, r"[\s·•.\-_]"),
                                (ids, privacy.normalize_id_number, r"[\s\-]")):
        s = privacy._fold(privacy._as_text(values)).str.upper()
        pd.testing.assert_series_equal(fn(values), s.str.replace(pattern, "", regex=True))
