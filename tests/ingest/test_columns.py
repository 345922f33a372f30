"""Tests of geo.ingest.columns (header synonyms, mapping files) and geo.ingest.textnorm."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.errors import InputFileError
from geo.ingest.columns import (
    FIELDS,
    SOURCE_SYNONYMS,
    SYNONYMS,
    ColumnMapping,
    header_key,
    load_mapping,
    map_columns,
    synonyms_for,
)
from geo.ingest.readers import read_raw
from geo.ingest.textnorm import normalize_scalar, normalize_text
from geo.settings import DEFAULT_CATEGORIES, SOURCES

DATA = Path(__file__).resolve().parents[1] / "data" / "readers"

RAW_HEADERS = {  # /work/helpers/RAW_FORMATS.md, in file order
    "patrol": ["记录编号", "巡查时间", "经度", "纬度", "问题类型", "问题描述", "处置措施", "处置状态",
               "巡查人员", "巡查方式"],
    "hotline": ["工单编号", "受理时间", "诉求类别", "诉求内容", "诉求地址", "经度", "纬度", "来电号码",
                "办结时间", "办理状态"],
    "violation": ["违法编号", "违法时间", "违法地点", "经度", "纬度", "违法行为", "车辆类型", "号牌号码"],
    "snapshot": ["上报编号", "上报时间", "问题类别", "问题描述", "处理状态", "_geom_lon", "_geom_lat"],
}
EXPECTED = {
    "patrol": {"source_id": "记录编号", "occurred_at": "巡查时间", "lon": "经度", "lat": "纬度",
               "category_raw": "问题类型", "text": "问题描述", "action": "处置措施",
               "status": "处置状态", "reporter": "巡查人员", "patrol_mode": "巡查方式"},
    "hotline": {"source_id": "工单编号", "occurred_at": "受理时间", "category_raw": "诉求类别",
                "text": "诉求内容", "address": "诉求地址", "lon": "经度", "lat": "纬度",
                "phone": "来电号码", "closed_at": "办结时间", "status": "办理状态"},
    "violation": {"source_id": "违法编号", "occurred_at": "违法时间", "address": "违法地点",
                  "lon": "经度", "lat": "纬度", "category_raw": "违法行为",
                  "vehicle_type": "车辆类型", "plate": "号牌号码"},
    "snapshot": {"source_id": "上报编号", "occurred_at": "上报时间", "category_raw": "问题类别",
                 "text": "问题描述", "status": "处理状态", "lon": "_geom_lon", "lat": "_geom_lat"},
}


# --------------------------------------------------------------------------- synonyms


def test_synonym_tables_are_consistent() -> None:
    assert set(SYNONYMS) == set(FIELDS)
    owner: dict[str, str] = {}
    for f, syns in SYNONYMS.items():
        for s in syns:
            k = header_key(s)[0]
            assert owner.setdefault(k, f) == f, f"{s!r} is a synonym of {owner[k]} and {f}"
    for src, table in SOURCE_SYNONYMS.items():
        assert src in SOURCES
        for f, syns in table.items():
            assert all(owner.get(header_key(s)[0]) == f for s in syns), (src, f)


@pytest.mark.parametrize("source", list(RAW_HEADERS))
def test_raw_export_headers_map(source: str) -> None:
    m = map_columns(RAW_HEADERS[source], source)
    assert m.fields == EXPECTED[source]
    assert m.unmapped == [] and m.ambiguous == {} and m.from_mapping == ()
    assert m.rename_map()[EXPECTED[source]["occurred_at"]] == "occurred_at"


def test_geojson_geometry_maps_to_coordinates() -> None:
    raw = read_raw(DATA / "snapshots.geojson")
    m = map_columns(raw.columns, "snapshot")
    assert (m.fields["lon"], m.fields["lat"]) == ("_geom_lon", "_geom_lat")


def test_nyc311_export_maps() -> None:
    raw = read_raw(DATA / "nyc311_sample.csv")
    m = map_columns(raw.columns, "hotline", file=str(raw.path))
    assert m.fields == {
        "source_id": "Unique Key", "occurred_at": "Created Date", "lon": "Longitude",
        "lat": "Latitude", "category_raw": "Complaint Type", "text": "Descriptor",
        "address": "Incident Address", "status": "Status", "closed_at": "Closed Date",
    }
    assert "X Coordinate (State Plane)" in m.unmapped       # not taken for lon
    assert m.ambiguous == {"address": ["Incident Address", "Location"]}
    assert "Incident Address" in m.describe()


def test_header_key_insensitivity() -> None:
    assert header_key("Created Date")[0] == header_key("created_date")[0] == "createddate"
    assert header_key("ＣＲＥＡＴＥＤ　ＤＡＴＥ")[0] == "createddate"
    assert header_key("经度（WGS84）") == ("经度(wgs84)", "经度")
    m = map_columns([" 巡查时间 ", "经度(GCJ-02)", "纬度【GCJ02】", "问题 类型"], "patrol")
    assert m.fields == {"occurred_at": " 巡查时间 ", "lon": "经度(GCJ-02)", "lat": "纬度【GCJ02】",
                        "category_raw": "问题 类型"}


def test_ambiguity_resolved_by_priority_and_reported() -> None:
    headers = ["时间", "巡查时间", "类别", "地址"]
    m = map_columns(headers, "patrol")
    assert m.fields["occurred_at"] == "巡查时间"
    assert m.ambiguous["occurred_at"] == ["巡查时间", "时间"]
    assert "时间" in m.unmapped
    # deterministic: the column order does not change the choice
    assert map_columns(list(reversed(headers)), "patrol").fields == m.fields


def test_per_source_preferences() -> None:
    call = ["受理时间", "来电时间", "诉求类别", "诉求地址"]
    assert map_columns(call, "hotline").fields["occurred_at"] == "来电时间"
    both = ["上报时间", "发生时间", "问题类别", "地址"]
    assert map_columns(both, "snapshot").fields["occurred_at"] == "上报时间"
    assert map_columns(both, "grid_event").fields["occurred_at"] == "发生时间"
    assert synonyms_for("occurred_at", "violation")[0] == "违法时间"


def test_location_alternatives() -> None:
    assert map_columns(["时间", "类别", "地址"], "hotline").fields["address"] == "地址"
    with pytest.raises(InputFileError) as exc:
        map_columns(["时间", "类别", "经度"], "hotline")
    assert "no column for lat" in str(exc.value) and "longitude+latitude" in str(exc.value)


def test_missing_required_message() -> None:
    headers = ["CaseNo", "When", "Problem", "Where"]
    with pytest.raises(InputFileError) as exc:
        map_columns(headers, "hotline", file="export.csv")
    msg = str(exc.value)
    assert msg.startswith("file export.csv:")
    assert "'CaseNo', 'When', 'Problem', 'Where'" in msg        # the file's headers
    assert "no column for occurred_at" in msg and "no column for category_raw" in msg
    assert "来电时间" in msg and "created_date" in msg              # synonyms tried
    assert "[columns]" in msg and 'occurred_at = "<column name>"' in msg and "--mapping" in msg


def test_unknown_source() -> None:
    with pytest.raises(InputFileError, match="unknown source 'police'"):
        map_columns(["a"], "police")


# --------------------------------------------------------------------------- mapping files


def test_mapping_file_overrides_detection() -> None:
    mp = load_mapping(DATA / "mapping_example.toml", known_categories=[c.code for c in DEFAULT_CATEGORIES])
    assert mp.columns == {"occurred_at": "ReportedOn", "category_raw": "Problem", "address": "Where",
                          "lon": ""}
    assert (mp.crs, mp.time_format, mp.delimiter, mp.source) == ("GCJ02", "%d/%m/%Y %H:%M", ";", "hotline")
    assert mp.categories == {"Illegal Parking": "illegal_parking", "Street Vending": "unlicensed_vending"}
    headers = ["Id", "ReportedOn", "Problem", "Where", "Longitude", "Latitude", "创建时间"]
    m = map_columns(headers, "hotline", mp)
    assert m.fields["occurred_at"] == "ReportedOn"          # mapping beats the 创建时间 synonym
    assert "lon" not in m.fields and m.fields["lat"] == "Latitude"   # lon switched off
    assert set(m.from_mapping) == {"occurred_at", "category_raw", "address"}
    assert m.fields["source_id"] == "Id"                     # detection still fills the rest
    assert isinstance(m, ColumnMapping) and "创建时间" in m.unmapped


def test_mapping_names_missing_column(tmp_path: Path) -> None:
    p = tmp_path / "m.toml"
    p.write_text('[columns]\noccurred_at = "Time"\n', encoding="utf-8")
    m = map_columns(["time ", "类别", "地址"], "patrol", load_mapping(p))   # insensitive match
    assert m.fields["occurred_at"] == "time "
    p.write_text('[columns]\noccurred_at = "Zeit"\n', encoding="utf-8")
    with pytest.raises(InputFileError, match="no such column; its columns are: 'time '"):
        map_columns(["time ", "类别", "地址"], "patrol", load_mapping(p))


@pytest.mark.parametrize("text, pattern", [
    ("[colums]\na = 'b'\n", r"unknown table\(s\) \['colums'\]"),
    ("[columns]\nwhen = 'x'\n", r"unknown field\(s\) under \[columns\]: \['when'\]"),
    ("[columns]\noccurred_at = 3\n", "must be a column name"),
    ("[options]\nzone = 'x'\n", r"unknown option\(s\)"),
    ("[options]\nsource = 'police'\n", "source 'police' is unknown"),
    ("[options]\ntime_format = 'dd/mm/yyyy'\n", "no %-directives"),
    ("[options]\nencoding = 'klingon'\n", "encoding 'klingon' is unknown"),
    ("[options]\ndelimiter = ';;'\n", "must be one character"),
    ("[categories]\n'违停' = 'Illegal Parking'\n", "category code"),
    ("[categories]\n'违停' = 'parking_ticket'\n", "unknown category 'parking_ticket'"),
    ("[columns\n", "not valid TOML"),
])
def test_mapping_validation(tmp_path: Path, text: str, pattern: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError, match=pattern):
        load_mapping(p, known_categories=[c.code for c in DEFAULT_CATEGORIES])


# --------------------------------------------------------------------------- textnorm


def test_normalize_text_cases() -> None:
    s = pd.Series(["  违法\u3000停车 ", "２０２４年３月", "", None, "a\t\tb  c", "x\u200by",
                   "ＡＢＣ，ｄ", np.nan, "①号楼", "café"], index=range(10, 20), name="v")
    out = normalize_text(s)
    exp = ["违法 停车", "2024年3月", None, None, "a b c", "xy", "ABC,d", None, "1号楼", "café"]
    assert [None if pd.isna(v) else v for v in out] == exp
    assert out.index.tolist() == list(range(10, 20)) and out.name == "v"
    assert str(out.dtype) == "str"
    assert unicodedata.is_normalized("NFC", out.iloc[9])


def test_normalize_text_matches_scalar_rule_on_large_input() -> None:
    # > 4096 values exercises the deduplicated path; the scalar rule is the reference.
    rng = np.random.default_rng(0)
    pool = ["违停", " 违停", "违　停", "ＡＢ１", "乱停\t乱放", "", "x\u00a0y", "占道经营。", "“引号”",
            "\u2460", "e\u0301", " a  b ", "井盖\u200b缺失"]
    values = pd.Series(rng.choice(np.array(pool, dtype=object), 6000))
    got = normalize_text(values)
    ref = [normalize_scalar(v) for v in values]
    assert [None if pd.isna(v) else v for v in got] == ref
    small = normalize_text(pd.Series(pool))
    assert [None if pd.isna(v) else v for v in small] == [normalize_scalar(v) for v in pool]


def test_normalize_text_non_string_input() -> None:
    assert normalize_text(pd.Series([1.5, np.nan, 3.0])).tolist()[0] == "1.5"
    with pytest.raises(TypeError):
        normalize_text(["a"])  # type: ignore[arg-type]
