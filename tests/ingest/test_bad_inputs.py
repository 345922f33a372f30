"""A bad-input corpus, generated in code: every file ends in a clear error or with every record accounted for.

Each case writes one file into a temporary folder and states what the file physically holds, counted by
construction (not by the reader): ``Records(data, blank)`` -- data records and blank records after the header --
or ``Refused(pattern)`` -- the message that must explain the refusal.  For every readable file the ingest must
satisfy ``stored + duplicates + quarantined == data`` and ``file_records == data + blank`` (the reader's own
count, made apart from its parser, agrees with the generator), and the store must not change on a refusal.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from geo.errors import InputFileError
from geo.ingest.pipeline import ingest_file
from geo.store.database import store_counts
from tests.conftest import copy_sample_geography

HEADER = ["编号", "巡查时间", "经度", "纬度", "问题类型", "问题描述", "处置状态"]
H = ",".join(HEADER)


@dataclass(frozen=True)
class Records:
    data: int
    blank: int = 0


@dataclass(frozen=True)
class Refused:
    pattern: str


@dataclass(frozen=True)
class Case:
    name: str           # file name (its suffix picks the reader)
    source: str
    build: Callable[[str], bytes]   # id prefix -> file bytes
    expect: Records | Refused


def row(p: str, i: int, text: str = "出店经营", *, lon: str | None = None, lat: str | None = None,
        time: str = "2024-03-05 08:30:00", cat: str = "占道经营", sep: str = ",") -> str:
    lon = f"{116.370 + (i % 50) * 2e-4:.6f}" if lon is None else lon
    lat = f"{39.910 + (i % 40) * 2e-4:.6f}" if lat is None else lat
    return sep.join([f"{p}{i:05d}", time, lon, lat, cat, text, "已处置"])


def csv_bytes(lines: list[str], eol: str = "\n", enc: str = "utf-8", final: bool = True) -> bytes:
    return (eol.join(lines) + (eol if final else "")).encode(enc)


def rows(p: str, n: int, **kw) -> list[str]:
    return [row(p, i, **kw) for i in range(n)]


# --------------------------------------------------------------------------- CSV cases

def _csv(name: str, lines: Callable[[str], list[str]], expect: Records | Refused, **kw) -> Case:
    return Case(name, "patrol", lambda p: csv_bytes(lines(p), **kw), expect)


def _stray(at: set[int], n: int = 60, text: str = '"坏的引号') -> Callable[[str], list[str]]:
    return lambda p: [H] + [row(p, i, text if i in at else "出店经营") for i in range(n)]


CSV_CASES = [
    _csv("clean.csv", lambda p: [H] + rows(p, 10), Records(10)),
    _csv("unclosed_first_row.csv", _stray({0}), Records(60)),
    _csv("unclosed_middle.csv", _stray({30}), Records(60)),
    _csv("unclosed_last_row.csv", _stray({59}), Records(60)),
    _csv("unclosed_twice.csv", _stray({10, 40}), Records(60)),
    _csv("unclosed_three_times.csv", _stray({5, 6, 50}), Records(60)),
    _csv("unclosed_quote_only.csv", _stray({20}, text='"'), Records(60)),
    _csv("unclosed_crlf.csv", _stray({15}), Records(60), eol="\r\n"),
    _csv("unclosed_cr_only.csv", _stray({15}), Records(60), eol="\r"),
    _csv("unclosed_no_final_newline.csv", _stray({59}), Records(60), final=False),
    _csv("stray_closing_next_line.csv",
         lambda p: [H] + [row(p, i, '"开' if i == 3 else ('合"' if i == 4 else "好")) for i in range(30)], Records(30)),
    _csv("stray_closing_after_60_lines.csv",
         lambda p: [H, f'{p}X,2024-03-05 08:30:00,116.37,39.91,占道经营,"开始'] + rows(p, 60) + ['结束",已处置'],
         Records(62)),
    _csv("doubled_quotes.csv", lambda p: [H] + rows(p, 5, text='"他说""出店""了"'), Records(5)),
    _csv("doubled_quotes_empty.csv", lambda p: [H] + rows(p, 5, text='""'), Records(5)),
    _csv("backslash_escaped.csv", lambda p: [H] + rows(p, 5, text='"他说\\"出店\\"了"'), Records(5)),
    _csv("backslash_escaped_odd.csv", lambda p: [H] + [row(p, i, '"路径 C:\\dir\\"' if i == 2 else "好")
                                                      for i in range(8)], Records(8)),
    _csv("quote_mid_field.csv", lambda p: [H] + rows(p, 6, text='门口有"占道'), Records(6)),
    _csv("quote_end_field.csv", lambda p: [H] + rows(p, 6, text='尺寸5"'), Records(6)),
    _csv("quote_after_text_closed.csv", lambda p: [H] + rows(p, 6, text='"甲"乙'), Records(6)),
    _csv("crlf.csv", lambda p: [H] + rows(p, 12), Records(12), eol="\r\n"),
    _csv("cr_only.csv", lambda p: [H] + rows(p, 12), Records(12), eol="\r"),
    Case("mixed_eol.csv", "patrol", lambda p: ("\n".join([H] + rows(p, 3)) + "\r\n" + "\r".join(rows(p + "b", 3))
                                               + "\r\n").encode(), Records(6)),
    _csv("no_final_newline.csv", lambda p: [H] + rows(p, 7), Records(7), final=False),
    _csv("multiline_field.csv", lambda p: [H] + rows(p, 5, text='"第一行\n第二行"'), Records(5)),
    _csv("multiline_field_crlf.csv", lambda p: [H] + rows(p, 5, text='"第一行\r\n第二行\r\n第三行"'), Records(5),
         eol="\r\n"),
    _csv("multiline_with_commas.csv", lambda p: [H] + rows(p, 4, text='"一，二,\n三"'), Records(4)),
    _csv("ragged_more.csv", lambda p: [H] + rows(p, 5) + [row(p, 9) + ",多余,又一个"], Records(6)),
    _csv("ragged_fewer.csv", lambda p: [H] + rows(p, 5) + [f"{p}Z,2024-03-05 08:30:00"], Records(6)),
    _csv("blank_interior.csv", lambda p: [H] + rows(p, 3) + ["", ""] + rows(p + "b", 3), Records(6, 2)),
    _csv("blank_trailing.csv", lambda p: [H] + rows(p, 3) + ["", "", ""], Records(3, 3)),
    _csv("delimiters_only.csv", lambda p: [H] + rows(p, 3) + [",,,,,,"] + rows(p + "b", 2), Records(5, 1)),
    _csv("leading_blank_lines.csv", lambda p: ["", ""] + [H] + rows(p, 4), Records(4)),
    _csv("title_lines.csv", lambda p: ["12345工单导出 2024-03", "导出人：某某"] + [H] + rows(p, 4), Records(4)),
    _csv("bom.csv", lambda p: ["\ufeff" + H] + rows(p, 4), Records(4)),
    _csv("gbk.csv", lambda p: [H] + rows(p, 6, text="门前占道经营"), Records(6), enc="gbk"),
    _csv("gb18030.csv", lambda p: [H] + rows(p, 6, text="䶮𠀀占道"), Records(6), enc="gb18030"),
    _csv("utf16.csv", lambda p: [H] + rows(p, 6), Records(6), enc="utf-16"),
    _csv("semicolon.csv", lambda p: [H.replace(",", ";")] + rows(p, 4, sep=";"), Records(4)),
    _csv("tab.tsv", lambda p: [H.replace(",", "\t")] + rows(p, 4, sep="\t"), Records(4)),
    _csv("pipe.csv", lambda p: [H.replace(",", "|")] + rows(p, 4, sep="|"), Records(4)),
    _csv("trailing_delimiter.csv", lambda p: [H + ","] + [r + "," for r in rows(p, 4)], Records(4)),
    _csv("duplicate_headers.csv", lambda p: [H + ",问题描述"] + [r + ",重复" for r in rows(p, 4)], Records(4)),
    _csv("header_only.csv", lambda p: [H], Records(0)),
    Case("empty.csv", "patrol", lambda p: b"", Refused("empty")),
    Case("whitespace_only.csv", "patrol", lambda p: b"  \n\n \r\n", Refused("empty")),
    Case("binary.csv", "patrol", lambda p: bytes(range(256)) * 40, Refused("not a text file|binary|NUL")),
    Case("zip_as_csv.csv", "patrol", lambda p: b"PK\x03\x04" + b"\0" * 100, Refused("ZIP")),
    Case("parquet_as_csv.csv", "patrol", lambda p: b"PAR1" + b"\0" * 100 + b"PAR1", Refused("Parquet")),
    _csv("missing_time_column.csv", lambda p: ["编号,经度,纬度,问题类型"] + [f"{p}{i},116.37,39.91,占道经营"
                                                                        for i in range(3)],
         Refused("occurred_at")),
    _csv("control_chars.csv", lambda p: [H] + rows(p, 4, text="出店\x01经营\x07"), Records(4)),
    _csv("emoji.csv", lambda p: [H] + rows(p, 4, text="占道😀经营"), Records(4)),
    _csv("formula_injection.csv", lambda p: [H] + rows(p, 4, text="=cmd|' /C calc'!A0"), Records(4)),
    _csv("phones_in_text.csv", lambda p: [H] + rows(p, 4, text="联系人138 1234 5678"), Records(4)),
    _csv("bad_times.csv", lambda p: [H] + rows(p, 3, time="2024-02-30 08:00") + rows(p + "b", 2, time="")
         + rows(p + "c", 2, time="1970-01-01 00:00"), Records(7)),
    _csv("excel_serial_times.csv", lambda p: [H] + rows(p, 4, time="45356.5"), Records(4)),
    _csv("zero_coords.csv", lambda p: [H] + rows(p, 4, lon="0", lat="0"), Records(4)),
    # coordinate columns with no value at all and no address: no safe location, stop with a mapping to fill in
    _csv("missing_coords.csv", lambda p: [H] + rows(p, 4, lon="", lat=""), Refused("no location")),
    _csv("text_coords.csv", lambda p: [H] + rows(p, 4, lon="东经116", lat="北纬39"), Refused("no location")),
    _csv("swapped_coords.csv", lambda p: [H] + [row(p, i, lon="39.912000", lat="116.370000") for i in range(4)],
         Records(4)),
    _csv("fullwidth_digits.csv", lambda p: [H] + rows(p, 3, lon="１１６.３７", lat="３９.９１"), Records(3)),
    _csv("unknown_category.csv", lambda p: [H] + rows(p, 3, cat="外星人入侵") + rows(p + "b", 2, cat=""), Records(5)),
    _csv("duplicate_rows.csv", lambda p: [H] + rows(p, 4) + rows(p, 4), Records(8)),
    _csv("duplicate_id_conflict.csv", lambda p: [H] + rows(p, 3) + [row(p, 1, "不同的内容")], Records(4)),
    _csv("quoted_everything.csv", lambda p: [",".join(f'"{h}"' for h in HEADER)]
         + [",".join(f'"{v}"' for v in r.split(",")) for r in rows(p, 5)], Records(5)),
    _csv("spaces_only_row.csv", lambda p: [H] + rows(p, 3) + ["  ,  ,  ,  ,  ,  ,  "], Records(4)),
    # Rows 12 times wider than the header: the header reads as a title line, so the mapping says what is missing.
    _csv("wide_rows.csv", lambda p: [H] + [r + ",x" * 80 for r in rows(p, 3)], Refused("cannot decide the columns|required columns")),
    Case("nul_bytes.csv", "patrol", lambda p: csv_bytes([H] + rows(p, 3, text="出店\x00经营")), Refused("NUL")),
    Case("oversized_record.csv", "patrol",
         lambda p: csv_bytes([H] + rows(p, 2) + [row(p, 7, "长" * 1_500_000)] + rows(p + "b", 2)), Records(5)),
    Case("huge_line.csv", "patrol",
         lambda p: csv_bytes([H] + rows(p, 2) + [row(p, 7, "x" * 5_000_000)]), Records(3)),
]


# --------------------------------------------------------------------------- XLSX cases

def _wb(sheets: list[tuple[str, list[list[object]]]], hidden_first: bool = False) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for k, (title, grid) in enumerate(sheets):
        ws = wb.create_sheet(title)
        for r in grid:
            ws.append(r)
        if hidden_first and k == 0:
            ws.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xrows(p: str, n: int, **kw) -> list[list[object]]:
    out: list[list[object]] = []
    for i in range(n):
        v = row(p, i, **kw).split(",")
        out.append([v[0], v[1], float(v[2]) if v[2] else None, float(v[3]) if v[3] else None, *v[4:]])
    return out


def _patch(data: bytes, part: str, edit: Callable[[bytes], bytes], extra: dict[str, bytes] | None = None) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, edit(body) if info.filename == part else body)
        for k, v in (extra or {}).items():
            dst.writestr(k, v)
    return out.getvalue()


def _after_decl(inject: bytes) -> Callable[[bytes], bytes]:
    def edit(body: bytes) -> bytes:
        end = body.index(b"?>") + 2 if body.startswith(b"<?xml") else 0
        return body[:end] + inject + body[end:]
    return edit


SHEET = "xl/worksheets/sheet1.xml"
BOMB = b'<!DOCTYPE z [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
XXE = b'<!DOCTYPE z [<!ENTITY x SYSTEM "file:///etc/passwd">]>'


def _x(name: str, build: Callable[[str], bytes], expect: Records | Refused) -> Case:
    return Case(name, "patrol", build, expect)


def _dated(p: str) -> bytes:
    import datetime as dt

    grid = [HEADER] + [[f"{p}{i}", dt.datetime(2024, 3, 5, 8, 30), 116.37, 39.91, "占道经营", "好", "已处置"]
                       for i in range(4)]
    return _wb([("Sheet1", grid)])


XLSX_CASES = [
    _x("clean.xlsx", lambda p: _wb([("Sheet1", [HEADER] + xrows(p, 8))]), Records(8)),
    _x("title_row.xlsx", lambda p: _wb([("Sheet1", [["2024年违法记录"], HEADER] + xrows(p, 5))]), Records(5)),
    _x("blank_rows.xlsx", lambda p: _wb([("Sheet1", [HEADER] + xrows(p, 3) + [[], []] + xrows(p + "b", 3))]),
       Records(6, 2)),
    _x("dates.xlsx", _dated, Records(4)),
    _x("formulas.xlsx", lambda p: _wb([("Sheet1", [HEADER] + [r[:5] + ["=A2&\"x\"", "已处置"] for r in xrows(p, 3)])]),
       Records(3)),
    _x("metadata_sheet.xlsx", lambda p: _wb([("Sheet1", [HEADER] + xrows(p, 3)), ("说明", [["坐标系", "WGS84"]])]),
       Records(3)),
    _x("hidden_first_sheet.xlsx", lambda p: _wb([("隐藏", [["x"]]), ("数据", [HEADER] + xrows(p, 3))],
                                                hidden_first=True), Records(3)),
    _x("ragged_cells.xlsx", lambda p: _wb([("Sheet1", [HEADER] + xrows(p, 3) + [xrows(p + "b", 1)[0] + ["多余"]])]),
       Records(4)),
    _x("header_only.xlsx", lambda p: _wb([("Sheet1", [HEADER])]), Records(0)),
    _x("empty_sheet.xlsx", lambda p: _wb([("Sheet1", [])]), Refused("empty")),
    _x("entity_bomb.xlsx", lambda p: _patch(_wb([("Sheet1", [HEADER] + xrows(p, 2))]), SHEET, _after_decl(BOMB)),
       Refused("entity bomb")),
    _x("xxe.xlsx", lambda p: _patch(_wb([("Sheet1", [HEADER] + xrows(p, 2))]), "xl/workbook.xml", _after_decl(XXE)),
       Refused("XXE")),
    _x("macros.xlsx", lambda p: _patch(_wb([("Sheet1", [HEADER])]), SHEET, lambda b: b, {"xl/vbaProject.bin": b"x"}),
       Refused("macro")),
    _x("not_a_zip.xlsx", lambda p: csv_bytes([H] + rows(p, 2)), Refused("not a valid .xlsx|not a ZIP")),
    _x("old_xls.xlsx", lambda p: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, Refused(r"\.xls")),
    _x("no_workbook.xlsx", lambda p: _patch(_wb([("Sheet1", [HEADER])]), SHEET, lambda b: b, {"other.txt": b"x"})
       .replace(b"xl/workbook.xml", b"xl/workbooK.xml"), Refused("workbook")),
]


# --------------------------------------------------------------------------- GeoJSON cases

def _feature(p: str, i: int, geom: object, **props: object) -> dict:
    base = {"上报编号": f"{p}{i}", "上报时间": "2024-03-05 08:30", "问题类别": "占道经营"}
    return {"type": "Feature", "geometry": geom, "properties": {**base, **props}}


def _pt(i: int) -> dict:
    return {"type": "Point", "coordinates": [116.37 + (i % 30) * 2e-4, 39.91 + (i % 20) * 2e-4]}


SQUARE = {"type": "Polygon", "coordinates": [[[116.37, 39.91], [116.38, 39.91], [116.38, 39.92], [116.37, 39.92],
                                              [116.37, 39.91]]]}


def _fc(features: Callable[[str], list[object]], **top: object) -> Callable[[str], bytes]:
    return lambda p: json.dumps({"type": "FeatureCollection", **top, "features": features(p)},
                                ensure_ascii=False).encode()


def _g(name: str, build: Callable[[str], bytes], expect: Records | Refused) -> Case:
    return Case(name, "snapshot", build, expect)


GEOJSON_CASES = [
    _g("clean.geojson", _fc(lambda p: [_feature(p, i, _pt(i)) for i in range(6)]), Records(6)),
    _g("polygons.geojson", _fc(lambda p: [_feature(p, i, SQUARE) for i in range(3)]), Records(3)),
    _g("lines.geojson", _fc(lambda p: [_feature(p, i, {"type": "LineString", "coordinates": [[116.37, 39.91],
                                                                                             [116.38, 39.92]]})
                                       for i in range(3)]), Records(3)),
    _g("multipoint.geojson", _fc(lambda p: [_feature(p, i, {"type": "MultiPoint", "coordinates": [
        [116.37, 39.91], [116.371, 39.911]]}) for i in range(3)]), Records(3)),
    _g("geometry_collection.geojson", _fc(lambda p: [_feature(p, 0, {"type": "GeometryCollection",
                                                                     "geometries": [_pt(0), SQUARE]})]), Records(1)),
    _g("null_geometry.geojson", _fc(lambda p: [_feature(p, 0, None)] + [_feature(p, i, _pt(i)) for i in (1, 2)]),
       Records(3)),
    _g("broken_polygon.geojson", _fc(lambda p: [_feature(p, 0, {"type": "Polygon", "coordinates": [[1]]}),
                                                _feature(p, 1, _pt(1))]), Records(2)),
    _g("invalid_features.geojson", _fc(lambda p: [5, "x", {"type": "Nope"}] + [_feature(p, i, _pt(i))
                                                                               for i in range(3)]), Records(6)),
    _g("single_feature.geojson", lambda p: json.dumps(_feature(p, 0, _pt(0)), ensure_ascii=False).encode(),
       Records(1)),
    _g("crs_member.geojson", _fc(lambda p: [_feature(p, i, _pt(i)) for i in range(3)],
                                 crs={"type": "name", "properties": {"name": "EPSG:4326"}}), Records(3)),
    _g("null_properties.geojson", _fc(lambda p: [{"type": "Feature", "geometry": _pt(0), "properties": None}]
                                      + [_feature(p, i, _pt(i)) for i in (1, 2)]), Records(3)),
    _g("empty_collection.geojson", _fc(lambda p: []), Refused("no features")),
    _g("deep_nesting.geojson", lambda p: b'{"type":"FeatureCollection","features":[' + b"[" * 50_000
       + b"]" * 50_000 + b"]}", Refused("nested")),
    _g("not_json.geojson", lambda p: b"{this is not json", Refused("not valid JSON")),
    _g("wrong_type.geojson", lambda p: b'{"type": "Topology"}', Refused("FeatureCollection")),
    _g("features_not_list.geojson", lambda p: b'{"type": "FeatureCollection", "features": 3}', Refused("features")),
]


# --------------------------------------------------------------------------- Parquet cases

def _table(p: str, n: int, lon: list[float | None] | None = None) -> pa.Table:
    lon = lon if lon is not None else [116.37 + i * 1e-4 for i in range(n)]
    return pa.table({"编号": [f"{p}{i}" for i in range(n)], "巡查时间": ["2024-03-05 08:30:00"] * n,
                     "经度": lon, "纬度": [39.91 + i * 1e-4 for i in range(n)], "问题类型": ["占道经营"] * n,
                     "问题描述": ["好"] * n})


def _pq(t: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(t, buf)
    return buf.getvalue()


def _wkb_point(x: float, y: float) -> bytes:
    return struct.pack("<BIdd", 1, 1, x, y)


def _geoparquet(p: str, geoms: list[bytes | None]) -> bytes:
    n = len(geoms)
    t = pa.table({"上报编号": [f"{p}{i}" for i in range(n)], "上报时间": ["2024-03-05 08:30"] * n,
                  "问题类别": ["占道经营"] * n, "geometry": pa.array(geoms, pa.binary())})
    meta = {"version": "1.0.0", "primary_column": "geometry",
            "columns": {"geometry": {"encoding": "WKB", "geometry_types": []}}}
    t = t.replace_schema_metadata({b"geo": json.dumps(meta).encode()})
    return _pq(t)


def _square_wkb() -> bytes:
    import shapely

    return shapely.to_wkb(shapely.geometry.shape(SQUARE))


PARQUET_CASES = [
    Case("clean.parquet", "patrol", lambda p: _pq(_table(p, 6)), Records(6)),
    Case("null_coords.parquet", "patrol", lambda p: _pq(_table(p, 4, [None, 116.37, None, 116.371])), Records(4)),
    Case("dictionary.parquet", "patrol", lambda p: _pq(_table(p, 4).set_column(
        4, "问题类型", pa.array(["占道经营"] * 4).dictionary_encode())), Records(4)),
    Case("timestamps.parquet", "patrol", lambda p: _pq(_table(p, 3).set_column(
        1, "巡查时间", pa.array([1709627400_000_000] * 3, pa.timestamp("us")))), Records(3)),
    Case("empty_table.parquet", "patrol", lambda p: _pq(_table(p, 0)), Records(0)),
    Case("points.geoparquet", "snapshot", lambda p: _geoparquet(p, [_wkb_point(116.37 + i * 1e-4, 39.91)
                                                                     for i in range(5)]), Records(5)),
    Case("polygons.geoparquet", "snapshot", lambda p: _geoparquet(p, [_square_wkb(), None,
                                                                       _wkb_point(116.37, 39.91)]), Records(3)),
    Case("truncated.parquet", "patrol", lambda p: _pq(_table(p, 5))[:-40] + b"PAR1", Refused("Parquet")),
    Case("row_groups.parquet", "patrol", lambda p: (lambda b: (pq.write_table(_table(p, 9), b, row_group_size=2),
                                                               b.getvalue())[1])(io.BytesIO()), Records(9)),
]

CASES = CSV_CASES + XLSX_CASES + GEOJSON_CASES + PARQUET_CASES


def test_the_corpus_is_big_and_covers_every_format():
    assert len(CASES) >= 80
    assert len({c.name for c in CASES}) == len(CASES)
    assert {Path(c.name).suffix for c in CASES} >= {".csv", ".tsv", ".xlsx", ".geojson", ".parquet", ".geoparquet"}


@pytest.fixture(scope="module")
def corpus_ws(tmp_path_factory):
    """One workspace for the corpus: every file gets its own id prefix, so files never collide."""
    from geo.store.workspace import load_workspace

    return load_workspace(copy_sample_geography(tmp_path_factory.mktemp("corpus") / "xicheng"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_bad_input_is_refused_clearly_or_fully_accounted_for(case, corpus_ws, tmp_path):
    prefix = "C" + format(CASES.index(case), "03d") + "-"
    path = tmp_path / case.name
    path.write_bytes(case.build(prefix))
    before = store_counts(corpus_ws.store_path)["events"]
    crs = None if case.source == "snapshot" else "WGS84"
    if isinstance(case.expect, Refused):
        with pytest.raises(InputFileError, match=case.expect.pattern) as err:
            ingest_file(path, case.source, corpus_ws, crs=crs)
        message = str(err.value)
        assert case.name in message or str(path) in message or len(message) > 30  # says what, and where
        assert store_counts(corpus_ws.store_path)["events"] == before
        return
    r = ingest_file(path, case.source, corpus_ws, crs=crs)
    assert r.read == case.expect.data, r.to_dict()
    assert r.stored + r.duplicates + r.quarantined == case.expect.data
    assert r.file_records == case.expect.data + case.expect.blank, r.to_dict()
    assert r.matches_file and r.reconciles
    assert store_counts(corpus_ws.store_path)["events"] == before + r.stored


@pytest.fixture(scope="module")
def corpus_cli_ws(tmp_path_factory):
    """A second workspace for the command-line pass over the corpus (the first holds the library pass's events)."""
    from geo.store.workspace import load_workspace

    return load_workspace(copy_sample_geography(tmp_path_factory.mktemp("corpus_cli") / "xicheng"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_bad_input_through_the_cli_exit_code_and_json(case, corpus_cli_ws, tmp_path, capsys):
    """The same corpus as a user scripts it: `gridwatch ingest --json` exits 2 with a JSON error naming the problem,
    or 0 with a report whose counts add up to the file's own record count."""
    from geo.cli import main

    path = tmp_path / case.name
    path.write_bytes(case.build("K" + format(CASES.index(case), "03d") + "-"))
    crs = [] if case.source == "snapshot" else ["--crs", "WGS84"]
    code = main(["ingest", str(path), "--source", case.source, "--workspace", str(corpus_cli_ws.root),
                 "--json", "--quiet", *crs])
    out = capsys.readouterr().out
    doc = json.JSONDecoder().raw_decode(out.lstrip())[0]
    if isinstance(case.expect, Refused):
        assert code == 2, out
        assert set(doc) >= {"error", "hint", "type"} and re.search(case.expect.pattern, doc["error"]), doc
        return
    assert code == 0, out
    assert doc["read"] == case.expect.data and doc["stored"] + doc["duplicates"] + doc["quarantined"] == doc["read"]
    assert doc["file_records"] == case.expect.data + case.expect.blank and doc["matches_file"], doc
