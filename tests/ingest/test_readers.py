"""Tests of geo.ingest.readers: encodings, delimiters, row accounting, XLSX, GeoJSON, Parquet."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.errors import InputFileError
from geo.ingest import parquetreader, textencoding, xlsxreader
from geo.ingest.readers import RawTable, detect_encoding, read_raw, sniff_delimiter

DATA = Path(__file__).resolve().parents[1] / "data" / "readers"

PATROL_HEADER = "记录编号,巡查时间,经度,纬度,问题类型,问题描述,处置措施,处置状态,巡查人员,巡查方式"
PATROL_ROWS = [
    "XC0001,2024-03-05 08:30:00,116.4512,39.9213,违法停车,路口东侧车辆违停,劝离,已处置,张三,步巡",
    "XC0002,2024/3/5 9:05,116.4520,39.9201,占道经营,商户出店经营,教育,处置中,李四,车巡",
    "XC0003,2024年3月5日 10时15分,116.4533,39.9190,飞线充电,楼道私拉电线,处罚,待处置,王五,步巡",
]


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return p


def reconcile(t: RawTable, n_data_rows: int) -> None:
    """Every data row of the file is in the frame, in bad_rows or counted blank."""
    assert len(t.frame) + len(t.bad_rows) + t.blank_rows == n_data_rows
    rows = np.concatenate([t.frame["_row"].to_numpy(), t.bad_rows["_row"].to_numpy()])
    assert len(set(rows)) == len(rows)


# --------------------------------------------------------------------------- encodings


def test_utf8_csv_values_and_rows(tmp_path: Path) -> None:
    p = write(tmp_path, "patrol.csv", "\n".join([PATROL_HEADER, *PATROL_ROWS]) + "\n")
    t = read_raw(p)
    assert t.format == "csv" and t.encoding == "utf-8" and t.delimiter == ","
    assert t.columns == PATROL_HEADER.split(",")
    assert t.frame["巡查时间"].tolist() == ["2024-03-05 08:30:00", "2024/3/5 9:05", "2024年3月5日 10时15分"]
    assert t.frame["经度"].tolist() == ["116.4512", "116.4520", "116.4533"]  # text, trailing 0 kept
    assert t.frame["_row"].tolist() == [2, 3, 4]
    assert all(str(t.frame[c].dtype) == "str" for c in t.columns)
    assert t.frame["_row"].dtype == np.int64
    assert t.declared_crs is None and t.bad_rows.empty and t.blank_rows == 0


def test_utf8_bom(tmp_path: Path) -> None:
    p = write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + "\n".join([PATROL_HEADER, PATROL_ROWS[0]]).encode())
    assert detect_encoding(p) == "utf-8-sig"
    t = read_raw(p)
    assert t.encoding == "utf-8-sig"
    assert t.columns[0] == "记录编号"  # no BOM glued to the first header
    assert t.frame["记录编号"].tolist() == ["XC0001"]


def test_gbk_fixture_is_gb18030_not_mojibake() -> None:
    p = DATA / "hotline_gbk.csv"
    raw = p.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is GBK
    assert detect_encoding(p) == "gb18030"
    t = read_raw(p)
    assert t.encoding == "gb18030"
    assert t.columns[:4] == ["工单编号", "受理时间", "诉求类别", "诉求内容"]
    assert t.frame["诉求类别"].tolist() == ["违法停车", "占道经营", "飞线充电", "堆物堆料"]
    assert t.frame["经度"].isna().tolist() == [False, True, False, False]
    # CRLF file with a quoted multi-line field: spreadsheet rows 2..5
    assert t.frame["_row"].tolist() == [2, 3, 4, 5]
    assert t.frame["诉求内容"][2] == "楼道内私拉电线给电动车充电，\n存在火灾隐患"


def test_small_gbk_file_detected(tmp_path: Path) -> None:
    # Four Chinese characters: too little for statistics; the domain prior decides.
    p = write(tmp_path, "tiny.csv", "经度,纬度\n1,2\n".encode("gbk"))
    assert detect_encoding(p) == "gb18030"
    assert read_raw(p).columns == ["经度", "纬度"]


def test_explicit_encoding_names(tmp_path: Path) -> None:
    p = write(tmp_path, "h.csv", "工单编号,受理时间\nA,2024-03-05\n".encode("gbk"))
    t = read_raw(p, encoding="GBK")
    assert t.encoding == "gb18030" and t.frame["工单编号"].tolist() == ["A"]
    with pytest.raises(InputFileError, match="unknown encoding"):
        read_raw(p, encoding="klingon")


def test_utf16_bom_unicode_text(tmp_path: Path) -> None:
    # Excel "Unicode text" export: UTF-16 LE with BOM, tab-separated.
    p = write(tmp_path, "u16.txt", "\ufeff编号\t时间\nA\t2024-03-05\n".encode("utf-16-le"))
    t = read_raw(p)
    assert t.encoding == "utf-16" and t.delimiter == "\t"
    assert t.frame["时间"].tolist() == ["2024-03-05"]


def test_other_encoding_refused_with_fix(tmp_path: Path) -> None:
    text = "name,comment\n" + "\n".join(f"row{i},café crème brûlée à la française" for i in range(40))
    p = write(tmp_path, "latin.csv", text.encode("cp1252"))
    with pytest.raises(InputFileError) as exc:
        read_raw(p)
    msg = str(exc.value)
    assert "not UTF-8" in msg and "line 2" in msg and "--encoding" in msg and "CSV UTF-8" in msg


def test_mixed_encoding_late_in_file(tmp_path: Path) -> None:
    # Valid UTF-8 for more than the 256 KiB sample, then one GBK line.
    good = "编号,内容\n" + "".join(f"{i},违法停车占道经营飞线充电\n" for i in range(9000))
    bad_line_no = good.count("\n") + 1
    data = good.encode("utf-8") + "9999,违法停车\n".encode("gbk")
    assert len(good.encode()) > textencoding.SAMPLE_BYTES
    p = write(tmp_path, "mixed.csv", data)
    with pytest.raises(InputFileError) as exc:
        read_raw(p)
    assert f"line {bad_line_no}" in str(exc.value)


def test_binary_garbage_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    p = write(tmp_path, "garbage.csv", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(InputFileError, match="not a text file"):
        read_raw(p)


# --------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize("delim", ["\t", ";", "|"])
def test_delimiter_sniffed(tmp_path: Path, delim: str) -> None:
    lines = [PATROL_HEADER.replace(",", delim)] + [r.replace(",", delim) for r in PATROL_ROWS]
    p = write(tmp_path, "x.csv", "\n".join(lines) + "\n")
    t = read_raw(p)
    assert t.delimiter == delim
    assert len(t.columns) == 10 and t.frame["问题类型"].tolist() == ["违法停车", "占道经营", "飞线充电"]


def test_sniff_ignores_delimiters_inside_text(tmp_path: Path) -> None:
    text = 'a,b,c\n1,"x;y;z|w",3\n2,"p\tq; r",4\n3,s,5\n'
    assert sniff_delimiter(text) == (",", 3)
    assert read_raw(write(tmp_path, "q.csv", text)).frame["b"].tolist() == ["x;y;z|w", "p\tq; r", "s"]


def test_wrong_explicit_delimiter_is_explained(tmp_path: Path) -> None:
    p = write(tmp_path, "semi.csv", "a;b;c\n1;2;3\n4;5;6\n")
    with pytest.raises(InputFileError) as exc:
        read_raw(p, delimiter=",")
    assert "semicolon-separated (3 columns)" in str(exc.value) and "--delimiter semicolon" in str(exc.value)
    assert read_raw(p, delimiter="semicolon").frame["c"].tolist() == ["3", "6"]


def test_csv_title_line_skipped(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv",
              "12345工单导出 2024年3月\n\n编号,时间,类别\nA,2024-03-05,违停\nB,2024-03-06,占道\n")
    t = read_raw(p)
    assert t.columns == ["编号", "时间", "类别"]
    assert t.frame["_row"].tolist() == [4, 5]  # title row 1, blank row 2, header row 3
    assert t.notes


# --------------------------------------------------------------------------- rows


def test_ragged_rows_reported_and_reconciled(tmp_path: Path) -> None:
    lines = ["a,b,c", "1,2,3", "4,5", "6,7,8,9", "10,11,12", "13"]
    t = read_raw(write(tmp_path, "r.csv", "\n".join(lines) + "\n"))
    assert t.frame["a"].tolist() == ["1", "10"]
    assert t.frame["_row"].tolist() == [2, 5]
    assert t.bad_rows["_row"].tolist() == [3, 4, 6]
    assert set(t.bad_rows["reason"]) == {"ragged_row"}
    assert t.bad_rows["text"].tolist() == ["4,5", "6,7,8,9", "13"]
    assert t.bad_rows["detail"][0] == "2 fields, the header has 3"
    reconcile(t, len(lines) - 1)


def test_row_numbers_after_multiline_blank_and_ragged(tmp_path: Path) -> None:
    text = ("\n\nid,t,x\n"                     # two blank lines: header is spreadsheet row 3
            '1,"2024-03-05\n08:30",a\n'       # row 4 spans two physical lines
            "2,x\n"                           # row 5 ragged
            "\n"                              # row 6 blank
            '3,"line1\r\nline2\nline3",b\n'   # row 7, three physical lines
            ",,\n"                            # row 8 empty fields only: blank
            "4,t,c\n\n\n")                    # row 9; trailing blank lines are not data
    t = read_raw(write(tmp_path, "m.csv", text))
    assert t.frame["id"].tolist() == ["1", "3", "4"]
    assert t.frame["_row"].tolist() == [4, 7, 9]
    assert t.frame["x"].tolist() == ["a", "b", "c"]
    assert t.frame["t"][0] == "2024-03-05\n08:30"
    assert t.bad_rows["_row"].tolist() == [5]
    assert t.blank_rows == 2
    reconcile(t, 9 - 3)


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_line_endings_keep_row_numbers(tmp_path: Path, eol: str) -> None:
    lines = ["导出 2024", "", "a,b,c", "1,2,3", "", "4,5", "6,7,8"]
    t = read_raw(write(tmp_path, "e.csv", eol.join(lines) + eol))
    assert t.frame["a"].tolist() == ["1", "6"] and t.frame["_row"].tolist() == [4, 7]
    assert t.bad_rows["_row"].tolist() == [6] and t.blank_rows == 1


def test_header_only_and_empty(tmp_path: Path) -> None:
    t = read_raw(write(tmp_path, "h.csv", "a,b,c\n"))
    assert t.columns == ["a", "b", "c"] and len(t.frame) == 0 and t.frame["_row"].dtype == np.int64
    for name, data in (("e.csv", b""), ("w.csv", b" \r\n\n"), ("bom.csv", b"\xef\xbb\xbf\n")):
        with pytest.raises(InputFileError, match="empty"):
            read_raw(write(tmp_path, name, data))


def test_values_verbatim(tmp_path: Path) -> None:
    text = 'a,b,c,d\n007,"  spaced  ",NA,"say ""hi"""\nNULL,,"",x\n'
    t = read_raw(write(tmp_path, "v.csv", text))
    assert t.frame["a"].tolist() == ["007", "NULL"]          # leading zeros, "NULL" are text
    assert t.frame["b"][0] == "  spaced  "                    # no stripping
    assert t.frame["c"][0] == "NA" and pd.isna(t.frame["c"][1])  # empty → missing
    assert t.frame["d"][0] == 'say "hi"'


def test_trailing_delimiters_are_not_ragged(tmp_path: Path) -> None:
    rows_extra = read_raw(write(tmp_path, "p1.csv", "a,b,c\n1,2,3,\n4,5,6,\n"))
    assert rows_extra.columns == ["a", "b", "c"] and rows_extra.bad_rows.empty
    assert rows_extra.frame["c"].tolist() == ["3", "6"]
    header_extra = read_raw(write(tmp_path, "p2.csv", "a,b,c,\r\n1,2,3\r\n4,5,6\r\n"))
    assert header_extra.columns == ["a", "b", "c"] and header_extra.bad_rows.empty
    unnamed = read_raw(write(tmp_path, "p3.csv", "a,b\n1,2,x\n3,4,y\n"))
    assert unnamed.frame["Unnamed: 2"].tolist() == ["x", "y"] and unnamed.bad_rows.empty


def test_duplicate_and_empty_headers(tmp_path: Path) -> None:
    t = read_raw(write(tmp_path, "d.csv", "备注,备注,,_row\n1,2,3,4\n"))
    assert t.columns == ["备注", "备注.1", "Unnamed: 2", "_row.1"]
    assert t.frame["_row"].tolist() == [2] and t.frame["_row.1"].tolist() == ["4"]


# --------------------------------------------------------------------------- refused files


@pytest.mark.parametrize("name, pattern", [
    ("book.xlsm", "macro"), ("old.xls", "97-2003"), ("data.dbf", "unknown file type"),
    ("noext", "unknown file type"),
])
def test_refused_extensions(tmp_path: Path, name: str, pattern: str) -> None:
    with pytest.raises(InputFileError, match=pattern):
        read_raw(write(tmp_path, name, b"a,b\n1,2\n"))


def test_content_contradicts_extension(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"not a valid \.xlsx"):
        read_raw(write(tmp_path, "text.xlsx", b"a,b\n1,2\n"))
    with pytest.raises(InputFileError, match="rename it"):
        read_raw(write(tmp_path, "zip.csv", b"PK\x03\x04" + b"\x00" * 40))
    with pytest.raises(InputFileError, match="not found"):
        read_raw(tmp_path / "missing.csv")


def test_xlsx_with_macros_refused(tmp_path: Path) -> None:
    p = tmp_path / "sneaky.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/vbaProject.bin", b"\x00")
    with pytest.raises(InputFileError, match="contains macros"):
        read_raw(p)


# --------------------------------------------------------------------------- XLSX


def _violations_xlsx(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "违法记录"
    ws.append(["2024年3月违法记录"])                                     # title row 1
    ws.append(["违法编号", "违法时间", "违法地点", "经度", "纬度", "违法行为", "车辆类型", "号牌号码"])
    ws.append(["WF001", dt.datetime(2024, 3, 5, 8, 30), "金台路口", 116.397, 39.9, "闯红灯",
               "电动自行车", "京A12345"])                                  # row 3
    ws.append(["WF002", "2024/3/5 9:00", "东大桥路", 116, 39.91, "逆行", None, None])  # text date
    ws.append([])                                                         # row 5 blank
    ws.append([13812345678, dt.datetime(2024, 3, 5, 8, 29, 59, 999000), "=A3&\"-补\"", 116.4,
               39.9, "=1/0", True, None])                                # row 6
    ws["G7"] = dt.date(2024, 3, 5)
    ws["B7"] = 45356.354166
    ws["B7"].number_format = "yyyy-mm-dd hh:mm:ss"
    ws["A7"] = "WF004"
    ws["I3"] = "备注没有表头"                                             # beyond the header
    meta = wb.create_sheet("说明")
    meta.append(["项目", "内容"])
    meta.append(["坐标系", "CGCS2000"])
    meta.append(["数据来源", "交警支队"])
    wb.save(path)


ENGINES = ["calamine", "openpyxl"]


@pytest.mark.parametrize("engine", ENGINES)
def test_xlsx_dates_numbers_formulas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     engine: str) -> None:
    if engine == "calamine" and xlsxreader._calamine() is None:
        pytest.skip("python-calamine not installed")
    if engine == "openpyxl":
        monkeypatch.setattr(xlsxreader, "_calamine", lambda: None)
    p = tmp_path / "violations.xlsx"
    _violations_xlsx(p)
    t = read_raw(p)
    f = t.frame
    assert t.format == "xlsx" and t.sheet == "违法记录" and t.encoding is None
    assert t.declared_crs == "CGCS2000"
    assert t.columns == ["违法编号", "违法时间", "违法地点", "经度", "纬度", "违法行为", "车辆类型",
                         "号牌号码", "Unnamed: 8"]
    assert f["_row"].tolist() == [3, 4, 6, 7]            # sheet rows; blank row 5 skipped
    assert t.blank_rows == 1 and "sheet row 2" in t.notes[0]
    assert f["违法编号"].tolist() == ["WF001", "WF002", "13812345678", "WF004"]  # no ".0"
    assert f["违法时间"].tolist() == ["2024-03-05 08:30:00", "2024/3/5 9:00",
                                  "2024-03-05 08:30:00", "2024-03-05 08:30:00"]
    assert f["经度"].tolist()[:3] == ["116.397", "116", "116.4"]
    assert f["违法地点"][2] == '=A3&"-补"'                # formula text, never evaluated
    assert f["违法行为"][2] == "=1/0"
    assert f["车辆类型"][2] == "TRUE"
    assert f["车辆类型"][3] == "2024-03-05 00:00:00"          # a date-only cell
    assert f["Unnamed: 8"][0] == "备注没有表头"
    assert pd.isna(f["号牌号码"][1])


def test_xlsx_engines_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if xlsxreader._calamine() is None:
        pytest.skip("python-calamine not installed")
    p = tmp_path / "v.xlsx"
    _violations_xlsx(p)
    a = read_raw(p)
    monkeypatch.setattr(xlsxreader, "_calamine", lambda: None)
    b = read_raw(p)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert (a.declared_crs, a.sheet, a.blank_rows) == (b.declared_crs, b.sheet, b.blank_rows)


def test_xlsx_sheet_selection(tmp_path: Path) -> None:
    p = tmp_path / "v.xlsx"
    _violations_xlsx(p)
    assert read_raw(p, sheet="说明").frame["内容"].tolist() == ["CGCS2000", "交警支队"]
    assert read_raw(p, sheet=1).sheet == "说明"
    with pytest.raises(InputFileError, match="违法记录, 说明"):
        read_raw(p, sheet="Sheet9")


def test_xlsx_shared_formulas_from_xml() -> None:
    xml = (b'<worksheet><sheetData><row r="2"><c r="C2"><f t="shared" ref="C2:C4" si="0">'
           b'A2*2</f><v>2</v></c><c r="D2" t="str"><f>IF(A2&gt;1,&quot;y&quot;,"n")</f><v>n</v></c>'
           b'</row><row r="3"><c r="C3"><f t="shared" si="0"/><v>4</v></c></row>'
           b'<row r="4"><c r="C4"><f t="shared" si="0"/><v>6</v></c></row></sheetData></worksheet>')
    got = xlsxreader._xlsx_formulas(xml)
    assert got == {(1, 2): "=A2*2", (1, 3): '=IF(A2>1,"y","n")', (2, 2): "=A3*2", (3, 2): "=A4*2"}


# --------------------------------------------------------------------------- GeoJSON


def test_geojson_fixture() -> None:
    t = read_raw(DATA / "snapshots.geojson")
    assert t.format == "geojson" and t.declared_crs == "BD-09" and t.encoding == "utf-8"
    f = t.frame
    assert t.columns == ["上报编号", "上报时间", "问题类别", "问题描述", "处理状态", "_geom_lon", "_geom_lat"]
    assert f["_row"].tolist() == [1, 2, 3]
    assert f["上报编号"].tolist() == ["SP0001", "SP0002", "SP0003"]
    assert f["上报时间"][1] == "2024年3月5日 9时"
    assert pd.isna(f["问题描述"][1])
    # The third feature is a LineString: located at its centroid, and the reader says so.
    np.testing.assert_allclose(f["_geom_lon"].to_numpy(), [116.4604, np.nan, 116.465])
    np.testing.assert_allclose(f["_geom_lat"].to_numpy(), [39.9260, np.nan, 39.925])
    assert any("centroid" in n and "LineString 1" in n for n in t.notes)


def test_geojson_crs_member_numbers_and_bad_features(tmp_path: Path) -> None:
    doc = ('{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":'
           '"urn:ogc:def:crs:EPSG::4490"}},"features":['
           '{"type":"Feature","id":7,"geometry":{"type":"Point","coordinates":[116.1,39.2,10]},'
           '"properties":{"n":1.50,"k":12,"b":true,"o":null}},'
           '{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[1.5,2.5]]},'
           '"properties":{"n":2}},'
           '"not a feature"]}')
    t = read_raw(write(tmp_path, "c.json", doc))
    assert t.declared_crs == "urn:ogc:def:crs:EPSG::4490"
    assert t.frame["n"].tolist() == ["1.50", "2"]            # numbers as written
    assert t.frame["k"][0] == "12" and t.frame["b"][0] == "true" and pd.isna(t.frame["o"][0])
    assert t.frame["id"].tolist()[0] == "7"
    assert t.frame["_geom_lon"].tolist() == [116.1, 1.5]
    assert t.bad_rows["_row"].tolist() == [3] and t.bad_rows["reason"][0] == "invalid_feature"
    reconcile(t, 3)


def test_geojson_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="line 2"):
        read_raw(write(tmp_path, "bad.geojson", '{"type":\n "FeatureCollection",,}'))
    with pytest.raises(InputFileError, match="FeatureCollection"):
        read_raw(write(tmp_path, "geom.geojson", '{"type":"Point","coordinates":[1,2]}'))


# --------------------------------------------------------------------------- Parquet


def test_geoparquet_round_trip(tmp_path: Path) -> None:
    import geopandas as gpd
    import shapely

    g = gpd.GeoDataFrame({
        "编号": ["a", "b", "c"],
        "n": [1.5, 2.0, np.nan],
        "k": [1, 2, 3],
        "t": pd.to_datetime(["2024-03-05 08:30", None, "2024-03-05 09:00"]),
        "tz": pd.to_datetime(["2024-03-05 08:30"] * 3).tz_localize("Asia/Shanghai"),
    }, geometry=[shapely.Point(116.397, 39.908), None, shapely.LineString([(0, 0), (1, 1)])],
        crs="EPSG:4490")
    p = tmp_path / "g.parquet"
    g.to_parquet(p)
    t = read_raw(p)
    assert t.format == "geoparquet" and t.declared_crs == "EPSG:4490"
    f = t.frame
    assert f["_row"].tolist() == [1, 2, 3]
    assert f["n"].tolist()[:2] == ["1.5", "2"] and pd.isna(f["n"][2])
    assert f["k"].tolist() == ["1", "2", "3"]
    assert f["t"][0] == "2024-03-05 08:30:00" and pd.isna(f["t"][1])
    assert f["tz"][0] == "2024-03-05 08:30:00+0800"
    np.testing.assert_array_equal(f["_geom_lon"].to_numpy(), [116.397, np.nan, np.nan])
    np.testing.assert_array_equal(f["_geom_lat"].to_numpy(), [39.908, np.nan, np.nan])


def test_plain_parquet(tmp_path: Path) -> None:
    p = tmp_path / "p.parquet"
    pd.DataFrame({"经度": [116.5, 117.0], "id": ["x", None]}).to_parquet(p)
    t = read_raw(p)
    assert t.format == "parquet" and t.declared_crs is None
    assert t.frame["经度"].tolist() == ["116.5", "117"] and t.frame["id"].isna().tolist() == [False, True]


def test_wkb_points_match_shapely() -> None:
    import pyarrow as pa
    import shapely

    rng = np.random.default_rng(1)
    pts = list(shapely.points(rng.uniform(100, 120, (50, 2))))
    geoms = pts + [shapely.Point(), shapely.LineString([(0, 0), (1, 1)]), None,
                   shapely.Point(1.0, 2.0, 3.0), shapely.MultiPoint([(5, 6)])]
    wkb = [None if g is None else shapely.to_wkb(g) for g in geoms]
    wkb[0] = shapely.to_wkb(geoms[0], byte_order=0)  # big-endian
    wkb[1] = shapely.to_wkb(shapely.set_srid(geoms[1], 4490), include_srid=True)  # EWKB
    x, y = parquetreader.wkb_points(pa.array(wkb, pa.binary()))
    exp_x = np.array([np.nan if g is None or g.geom_type != "Point" or g.is_empty else g.x
                      for g in geoms])
    np.testing.assert_array_equal(x[:-1], exp_x[:-1])
    exp_y = np.array([np.nan if g is None or g.geom_type != "Point" or g.is_empty else g.y
                      for g in geoms])
    np.testing.assert_array_equal(y[:-1], exp_y[:-1])
    assert (x[-2], y[-2]) == (1.0, 2.0)   # 3D point: x, y
    assert (x[-1], y[-1]) == (5.0, 6.0)   # single-point MultiPoint, as in GeoJSON
