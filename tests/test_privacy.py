"""Tests of geo.privacy: keyed hashes, masks, free-text scrubbing and the leak scanner."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from geo.errors import SettingsError
from geo.privacy import (
    GENERIC_MASK,
    count_personal_data,
    find_personal_data,
    hash_values,
    mask_id_number,
    mask_phone,
    mask_plate,
    new_salt,
    normalize_phone,
    personal_data_report,
    scrub_text,
)

SALT = "test-salt-0123456789abcdef"
OTHER_SALT = "another-salt-9876543210fedcba"


def _ref_hmac(salt: str, value: str) -> str:
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def _checksum_id(body17: str) -> str:
    """Valid 18-char ID number from its first 17 digits (GB 11643 check character)."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body17 + "10X98765432"[sum(int(c) * w for c, w in zip(body17, weights, strict=True)) % 11]


# --------------------------------------------------------------------------- salts and hashes
def test_new_salt_is_64_hex_chars_and_random():
    a, b = new_salt(), new_salt()
    assert len(a) == 64 and int(a, 16) >= 0
    assert a != b


def test_hash_is_hmac_sha256_of_normalised_value():
    got = hash_values(pd.Series(["+86 138-1234-5678", "京a·12345", "11010519491231002x"]), SALT)
    assert got.tolist() == [_ref_hmac(SALT, "13812345678"), _ref_hmac(SALT, "京A12345"),
                            _ref_hmac(SALT, "11010519491231002X")]


def test_hash_with_long_salt_matches_hmac():
    salt = "k" * 100  # longer than the SHA-256 block: HMAC hashes the key first
    assert hash_values(pd.Series(["13812345678"]), salt).iloc[0] == _ref_hmac(salt, "13812345678")


@pytest.mark.parametrize("variants", [
    ["13812345678", "+86 138-1234-5678", "+8613812345678", "0086 138 1234 5678", "8613812345678",
     "(+86)138 1234 5678", "１３８１２３４５６７８", " 138-1234-5678 "],
    ["010-62345678", "(010)6234 5678", "+86 10 6234 5678", "0086-10-62345678", "01062345678"],
    ["京A12345", "京a12345", "京A·12345", "京 A 12345", "京A.12345", "京A-12345"],
    ["11010519491231002X", "11010519491231002x", "110105 19491231 002X"],
])
def test_hash_same_across_formats(variants):
    hashed = hash_values(pd.Series(variants), SALT)
    assert hashed.nunique() == 1
    assert hashed.str.fullmatch("[0-9a-f]{32}").all()


def test_hash_distinguishes_values_and_salts():
    s = pd.Series(["13812345678", "13812345679", "京A12345", "京A12346"])
    h = hash_values(s, SALT)
    assert h.nunique() == 4
    h2 = hash_values(s, OTHER_SALT)
    assert not (h == h2).any()
    # stable run to run
    assert hash_values(s, SALT).equals(h)


def test_hash_keeps_nulls_index_and_accepts_integers():
    s = pd.Series(["13812345678", None, "", np.nan], index=[10, 11, 12, 13], name="来电号码")
    h = hash_values(s, SALT)
    assert list(h.index) == [10, 11, 12, 13] and h.name == "来电号码"
    assert h.isna().tolist() == [False, True, True, True]
    as_int = hash_values(pd.Series([13812345678]), SALT)
    as_float = hash_values(pd.Series([13812345678.0, np.nan]), SALT)
    assert as_int.iloc[0] == h.iloc[0] == as_float.iloc[0]


def test_hash_explicit_kind_phone():
    h = hash_values(pd.Series(["138 1234 5678", "13812345678"]), SALT, kind="phone")
    assert h.iloc[0] == h.iloc[1] == _ref_hmac(SALT, "13812345678")


@pytest.mark.parametrize("salt,err", [("short", SettingsError), ("", SettingsError), (12345678901234567, TypeError)])
def test_hash_rejects_weak_or_bad_salt(salt, err):
    with pytest.raises(err, match="salt"):
        hash_values(pd.Series(["13812345678"]), salt)


def test_hash_rejects_non_series_and_bad_kind():
    with pytest.raises(TypeError, match="pandas Series"):
        hash_values(["13812345678"], SALT)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind"):
        hash_values(pd.Series(["1"]), SALT, kind="email")  # type: ignore[arg-type]


def test_normalize_phone_restores_trunk_zero_after_country_code():
    got = normalize_phone(pd.Series(["+86 10 6234 5678", "+86 311 8765 4321", "+86 138 1234 5678"]))
    assert got.tolist() == ["01062345678", "031187654321", "13812345678"]


# --------------------------------------------------------------------------- masks
@pytest.mark.parametrize("raw,masked", [
    ("13812345678", "138****5678"),
    ("+86 138-1234-5678", "138****5678"),
    ("0086 19912345678", "199****5678"),
    ("８６１３８１２３４５６７８", "138****5678"),
    ("010-62345678", "010-****5678"),
    ("(010) 6234-5678", "010-****5678"),
    ("+86 10 62345678", "010-****5678"),
    ("021-6234567", "021-****4567"),
    ("0311-87654321", "0311-****4321"),
    ("010-62345678转123", "010-****5678"),
    ("62345678", "****5678"),
    ("12345", GENERIC_MASK),         # service number: not a person's
    ("1381234567", GENERIC_MASK),    # 10 digits
    ("138123456789", GENERIC_MASK),  # 12 digits
    ("12812345678", GENERIC_MASK),   # 1[3-9] required
    ("无", GENERIC_MASK),
])
def test_mask_phone(raw, masked):
    assert mask_phone(pd.Series([raw])).iloc[0] == masked


@pytest.mark.parametrize("raw,masked", [
    ("11010519491231002X", "110105********002X"),
    ("11010519491231002x", "110105********002X"),
    ("110105194912310021", "110105********0021"),
    ("110105 19491231 0021", "110105********0021"),
    ("110105491231002", "110105********1002"),  # 15-digit old ID: same star width
    ("1101051949123100", GENERIC_MASK),        # 16 digits
    ("11010519491231002Y", GENERIC_MASK),
    ("身份证", GENERIC_MASK),
])
def test_mask_id_number(raw, masked):
    assert mask_id_number(pd.Series([raw])).iloc[0] == masked


@pytest.mark.parametrize("raw,masked", [
    ("京A12345", "京A·***45"),
    ("京a·12345", "京A·***45"),
    ("京 A 1B2C3", "京A·***C3"),
    ("京AD12345", "京A·***45"),    # new energy, small car
    ("京A12345F", "京A·***5F"),    # new energy, large vehicle
    ("冀B9X8Y7", "冀B·***Y7"),
    ("粤Z·1234港", "粤Z·***4港"),  # cross-border
    ("京A1234学", "京A·***4学"),
    ("AB 1234", "A***34"),         # Hong Kong
    ("MA-12-34", "M***34"),        # Macau
    ("使014578", "使***78"),       # embassy
    ("京", GENERIC_MASK),
    ("无牌", GENERIC_MASK),
    ("ABCDEFGHIJKLMNOP", GENERIC_MASK),
])
def test_mask_plate(raw, masked):
    assert mask_plate(pd.Series([raw])).iloc[0] == masked


@pytest.mark.parametrize("masker", [mask_phone, mask_id_number, mask_plate])
def test_masks_never_return_raw_and_keep_nulls(masker):
    raw = pd.Series(["n/a!", "?", "13", "京", None, "  ", "一二三"], index=list("abcdefg"))
    out = masker(raw)
    assert list(out.index) == list("abcdefg")
    assert out.isna().tolist() == [False, False, False, False, True, True, False]
    kept = out.dropna()
    assert (kept == GENERIC_MASK).all()


def test_masked_values_are_not_personal_data():
    phones = mask_phone(pd.Series(["13812345678", "010-62345678"]))
    ids = mask_id_number(pd.Series([_checksum_id("11010519800101123")]))
    plates = mask_plate(pd.Series(["京A12345", "京AD12345"]))
    assert not find_personal_data(pd.concat([phones, ids, plates])).any()


# --------------------------------------------------------------------------- scrub_text
@pytest.mark.parametrize("raw,clean", [
    ("来电人13812345678反映楼下有人占道经营", "来电人138****5678反映楼下有人占道经营"),
    ("联系电话：138-1234-5678，请尽快处理", "联系电话：138****5678，请尽快处理"),
    ("手机 138 1234 5678。", "手机 138****5678。"),
    ("请回电+86 139 0000 1111谢谢", "请回电139****1111谢谢"),
    ("来电(+86)13912345678，备用0086-13812345678", "来电139****5678，备用138****5678"),
    ("座机010-62345678或(010)62345679", "座机010-****5678或010-****5679"),
    ("电话+86 10 6234 5678", "电话010-****5678"),
    ("联系电话 62345678 谢谢", "联系电话 ****5678 谢谢"),
    ("来电人身份证号110105199003071234。", "来电人身份证号110105********1234。"),
    ("身份证号码11010519491231002x，住3号楼", "身份证号码110105********002x，住3号楼"),
    ("老身份证110105491231002", "老身份证110105********1002"),
    ("车牌京A12345的车长期占用消防通道", "车牌京A·***45的车长期占用消防通道"),
    ("京A·12345和京AD12345两辆车", "京A·***45和京A·***45两辆车"),
    ("冀B 9X8Y7逆行", "冀B·***Y7逆行"),
    ("手机１３８１２３４５６７８", "手机138****5678"),
])
def test_scrub_text_masks_personal_data(raw, clean):
    out = scrub_text(pd.Series([raw]))
    assert out.iloc[0] == clean
    assert not find_personal_data(out).iloc[0]


@pytest.mark.parametrize("text", [
    "工单编号 20240305123456 已转办",              # 14-digit order number
    "工单20240305123456，请处理",
    "订单号1381234567890",                          # 13 digits starting like a mobile
    "流水号2013812345678",                          # 13 digits ending like a mobile
    "单号2024031391234567801",                      # a mobile-like run inside 21 digits
    "2024年3月5日 20240305 夜间施工",                 # dates
    "时间2024-03-05 08:30:00，地点样例一路21号",
    "金额123456789012元",
    "电话12345热线转来",                             # 12345 itself
    "京东快递员在小区门口堆放包裹",                    # 京 + not a letter
    "沪深300指数",
    "编号110105199013401234",                       # 18 digits, month 13: not an ID
])
def test_scrub_text_leaves_other_numbers_alone(text):
    assert scrub_text(pd.Series([text])).iloc[0] == text
    assert not find_personal_data(pd.Series([text])).iloc[0]


def test_scrub_text_keeps_index_and_nulls():
    s = pd.Series(["电话13812345678", None, "无"], index=[5, 6, 7])
    out = scrub_text(s)
    assert list(out.index) == [5, 6, 7]
    assert out.iloc[0] == "电话138****5678" and pd.isna(out.iloc[1]) and out.iloc[2] == "无"


def test_scrub_generated_complaints_leaves_nothing():
    """Sample-generator-like texts: random phones and checksum-valid IDs (1950–2000 births)."""
    rng = np.random.default_rng(3)
    n = 300
    phones = [f"1{rng.integers(3, 10)}{rng.integers(0, 10**9):09d}" for _ in range(n)]
    births = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 50, n), unit="D")
    regions = rng.choice(["110102", "110101", "130102", "370102"], n)
    ids = [_checksum_id(f"{r}{b:%Y%m%d}{rng.integers(0, 1000):03d}") for r, b in zip(regions, births, strict=True)]
    plates = [f"京{'ABCDEFGHJKLMNPQRSTUVWXYZ'[rng.integers(0, 24)]}{rng.integers(0, 10**5):05d}"
              for _ in range(n)]
    texts = pd.Series([f"工单GD20240305{i:05d}：样例一路{i % 90 + 1}号占道经营。联系电话{p}。"
                       f"来电人身份证号{d}。涉事车辆{pl}" for i, (p, d, pl) in enumerate(zip(phones, ids, plates, strict=True))])
    assert count_personal_data(texts).tolist() == [3] * n
    clean = scrub_text(texts)
    assert count_personal_data(clean).sum() == 0
    for raw in (phones[0], ids[0], plates[0]):
        assert not clean.str.contains(raw, regex=False).any()
    # the rest of the text survives
    assert clean.str.contains("样例一路").all() and clean.str.contains("GD20240305", regex=False).all()


# --------------------------------------------------------------------------- scanner
def test_find_personal_data_catches_raw_not_masked():
    s = pd.Series(["13812345678", "138****5678", "110105199003071234", "110105********1234",
                   "京A12345", "京A·***45", "010-62345678", "010-****5678", "无", None])
    assert find_personal_data(s).tolist() == [True, False, True, False, True, False, True, False,
                                              False, False]


def test_count_personal_data_counts_each_hit_once():
    s = pd.Series(["13812345678和13912345678，京A12345，110105199003071234", "无"])
    assert count_personal_data(s).tolist() == [4, 0]


def test_personal_data_report_per_column():
    frame = pd.DataFrame({
        "来电号码": mask_phone(pd.Series(["13812345678", "13912345678"])),
        "诉求内容": ["电话13812345678", "无"],
        "经度": [116.3, 116.4],
    })
    report = personal_data_report(frame)
    assert report.to_dict() == {"来电号码": 0, "诉求内容": 1}


def test_decimals_of_a_coordinate_are_not_an_id_number():
    from geo.privacy import find_personal_data, scrub_text

    text = pd.Series(["位置 39.949536100625295,116.380102030405060", "身份证 110105491231002",
                      "经纬度116.3801020304050，身份证110105194912310021"], dtype="string")
    assert find_personal_data(text).tolist() == [False, True, True]
    assert scrub_text(text).iloc[0] == text.iloc[0]


# --------------------------------------------------------------------------- dotted/spaced forms (issue 21)
@pytest.mark.parametrize("raw,clean", [
    ("回访138.1234.5678", "回访138****5678"),
    ("电话 138 1234 5678 谢谢", "电话 138****5678 谢谢"),
    ("+86 138-1234-5678", "138****5678"),
    ("座机010.6234.5678", "座机010-****5678"),
    ("身份证110105 19491231 0021，", "身份证110105********0021，"),
    ("身份证 110105 1949 1231 0021", "身份证 110105********0021"),
    ("身份证1101 0519 4912 3100 21", "身份证110105********0021"),
    ("身份证110-105-1949-1231-002x", "身份证110105********002X"),
    ("旧证110105 491231 002", "旧证110105********1002"),
    ("旧证110105-49-1231-002", "旧证110105********1002"),
    ("车牌京A 12345", "车牌京A·***45"),
    ("车牌京 A·12345", "车牌京A·***45"),
])
def test_scrub_text_masks_dotted_and_spaced_forms(raw, clean):
    out = scrub_text(pd.Series([raw]))
    assert out.iloc[0] == clean
    assert not find_personal_data(out).iloc[0]
    assert find_personal_data(pd.Series([raw])).iloc[0]


@pytest.mark.parametrize("text", [
    "2024.03.05 上报",                          # dotted date
    "金额1234.5678元",                           # amount with 4 decimals
    "坐标116.3790,39.9450",                      # coordinates
    "经度116.13812345678",                       # long decimals that hold a mobile-like run
    "距离138.12345678米",                        # one dot only
    "h3 8831aa5a1dfffff 与 8a31aa5a1d07fff",     # H3 ids
    "单号 123456789012 与 1234567890123456",     # order numbers of other lengths
    "单号 20240305 123456",                      # spaced order number (14 digits, 8-6)
    "批次 110105 19491331 0021",                 # 6-8-4 with month 13: not an ID
    "2024-03-05 08:30:00",
])
def test_scrub_text_leaves_dotted_and_spaced_look_alikes(text):
    assert scrub_text(pd.Series([text])).iloc[0] == text


def test_scrub_frame_scrubs_every_text_column_and_keeps_the_rest():
    from geo.privacy import scrub_frame

    df = pd.DataFrame({
        "address": ["西城区1号 138.1234.5678", None, "东城区2号"],
        "status": pd.Series(["回访13612345678", "办结", pd.NA], dtype="string", index=[10, 11, 12]),
        "category_raw": ["违法停放 京A12345", "占道", "占道"],
        "lon": [116.379, 116.38, 116.39],
        "occurred": ["2024-03-05 09:00:00"] * 3,
    }, index=[10, 11, 12])
    out = scrub_frame(df)
    assert out["address"].tolist()[0] == "西城区1号 138****5678" and pd.isna(out["address"].iloc[1])
    assert out["status"].iloc[0] == "回访136****5678" and out["status"].iloc[1] == "办结"
    assert pd.isna(out["status"].iloc[2]) and isinstance(out["status"].dtype, pd.StringDtype)
    assert out["category_raw"].tolist() == ["违法停放 京A·***45", "占道", "占道"]
    assert out["lon"].tolist() == [116.379, 116.38, 116.39] and list(out.index) == [10, 11, 12]
    assert out["occurred"].tolist() == ["2024-03-05 09:00:00"] * 3
    assert df["address"].iloc[0] == "西城区1号 138.1234.5678"  # the input is not changed
    only = scrub_frame(df, ["status"])
    assert only["address"].iloc[0] == "西城区1号 138.1234.5678" and only["status"].iloc[0] == "回访136****5678"
    with pytest.raises(KeyError, match="nope"):
        scrub_frame(df, ["nope"])


def test_remove_control_chars_keeps_tabs_and_line_ends():
    from geo.privacy import remove_control_chars, scrub_frame

    s = pd.Series(["a\x01b", "nul\x00here", "tab\tnl\ncr\r", "\x0b\x0c\x1f\x08x", None])
    assert remove_control_chars(s).tolist()[:4] == ["ab", "nulhere", "tab\tnl\ncr\r", "x"]
    assert pd.isna(remove_control_chars(s).iloc[4])
    assert scrub_frame(pd.DataFrame({"t": ["电话13812345678\x01"]}))["t"].iloc[0] == "电话138****5678"
