"""Hostile and odd inputs end in a message that says what and how to fix, never in a traceback."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile

import openpyxl
import pytest

from geo.access.uploads import check_upload
from geo.errors import InputFileError
from geo.ingest.filecheck import json_depth
from geo.ingest.pipeline import ingest_file
from geo.ingest.readers import read_raw
from geo.settings import Settings
from geo.store.database import store_counts

HEADER = "编号,巡查时间,经度,纬度,问题类型,问题描述,处置状态"


def xlsx_bytes(rows: list[list[object]], inject: bytes | None = None, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    """A workbook; ``inject`` is put after the XML declaration of ``part`` (a DTD, an entity …)."""
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    if inject is None:
        return buf.getvalue()
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == part:
                end = data.index(b"?>") + 2 if data.startswith(b"<?xml") else 0
                data = data[:end] + inject + data[end:]
            dst.writestr(info.filename, data)
    return out.getvalue()


BOMB = (b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>')
XXE = b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
ROWS = [["编号", "巡查时间", "经度", "纬度", "问题类型"], ["R1", "2024-03-05 08:30", 116.38, 39.91, "占道经营"]]


@pytest.mark.parametrize("inject, part", [(BOMB, "xl/worksheets/sheet1.xml"), (XXE, "xl/worksheets/sheet1.xml"),
                                          (XXE, "xl/workbook.xml"), (BOMB.lower(), "[Content_Types].xml")])
def test_xml_entity_bombs_and_xxe_are_refused_by_upload_check_and_reader(tmp_path, inject, part):
    data = xlsx_bytes(ROWS, inject, part)
    with pytest.raises(InputFileError, match=r"XXE"):
        check_upload("a.xlsx", data, Settings())
    p = tmp_path / "a.xlsx"
    p.write_bytes(data)
    with pytest.raises(InputFileError, match=r"entity bomb") as err:
        read_raw(p)
    assert part in str(err.value)


def test_a_clean_workbook_still_passes_the_xml_check(tmp_path):
    p = tmp_path / "ok.xlsx"
    p.write_bytes(xlsx_bytes(ROWS))
    assert check_upload("ok.xlsx", p.read_bytes(), Settings()) == "ok.xlsx"
    assert read_raw(p).frame["编号"].tolist() == ["R1"]


def test_json_depth_ignores_brackets_in_strings():
    assert json_depth(b'{"a": [[1, 2]], "b": "[[[[[[\\"[[[["}') == 3
    assert json_depth(b"[]") == 1 and json_depth(b"") == 0


def test_deeply_nested_geojson_is_refused_with_a_message(tmp_path):
    doc = b'{"type":"FeatureCollection","features":[' + b"[" * 200_000 + b"]" * 200_000 + b"]}"
    with pytest.raises(InputFileError, match="nested"):
        check_upload("deep.geojson", doc, Settings())
    p = tmp_path / "deep.geojson"
    p.write_bytes(doc)
    with pytest.raises(InputFileError, match="nested 200002 levels"):
        read_raw(p)


def test_empty_feature_collection_says_no_features(tmp_path):
    p = tmp_path / "empty.geojson"
    p.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(InputFileError, match="no features"):
        read_raw(p)


def test_polygon_and_line_features_are_located_at_their_centroid_and_reported(tmp_path, xicheng_ws):
    feats = [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[116.37, 39.91], [116.38, 39.91],
                                                                              [116.38, 39.92], [116.37, 39.92],
                                                                              [116.37, 39.91]]]},
         "properties": {"编号": "P1", "上报时间": "2024-03-05 08:30", "问题类别": "占道经营"}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[116.36, 39.90], [116.38, 39.92]]},
         "properties": {"编号": "P2", "上报时间": "2024-03-05 09:30", "问题类别": "占道经营"}},
    ]
    p = tmp_path / "shapes.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False))
    raw = read_raw(p)
    assert raw.frame["_geom_lon"].round(6).tolist() == [116.375, 116.37]
    assert raw.frame["_geom_lat"].round(6).tolist() == [39.915, 39.91]
    r = ingest_file(p, "snapshot", xicheng_ws, crs="WGS84")
    assert (r.stored, r.quarantined) == (2, 0)
    assert any("centroid" in w and "Polygon 1" in w and "LineString 1" in w for w in r.warnings)


def test_a_record_over_8_mb_is_quarantined_with_a_precise_reason(tmp_path, xicheng_ws):
    big = "长" * 3_000_000  # 9 MB of UTF-8 in one valid quoted field
    rows = [HEADER, f'R1,2024-03-05 08:30:00,116.38,39.91,占道经营,"{big}",已处置',
            "R2,2024-03-05 08:30:00,116.38,39.91,占道经营,出店经营,已处置"]
    p = tmp_path / "long.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = ingest_file(p, "patrol", xicheng_ws, crs="WGS84")
    assert (r.read, r.stored, r.by_reason) == (2, 1, {"record_too_large": 1})
    assert r.file_records == 2 and r.matches_file


def test_a_huge_line_without_quotes_is_quarantined_not_a_parser_error(tmp_path):
    rows = [HEADER, "R1,2024-03-05 08:30:00,116.38,39.91,占道经营," + "x" * 9_000_000 + ",已处置",
            "R2,2024-03-05 08:30:00,116.38,39.91,占道经营,出店经营,已处置"]
    p = tmp_path / "huge.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    raw = read_raw(p)
    assert raw.bad_rows["reason"].tolist() == ["record_too_large"]
    assert "9.0 MB" in raw.bad_rows["detail"].iloc[0]
    assert raw.frame["编号"].tolist() == ["R2"]


def test_a_wrong_crs_that_puts_every_point_outside_stops_and_names_the_likely_crs(tmp_path, xicheng_ws):
    rows = [HEADER] + [f"R{i},2024-03-05 08:30:00,{116.37 + i * 1e-4:.6f},{39.91 + i * 1e-4:.6f},占道经营,出店经营,"
                       "已处置" for i in range(20)]
    p = tmp_path / "wgs.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"EPSG:3857, 20 of 20 points fall outside.*WGS84") as err:
        ingest_file(p, "patrol", xicheng_ws, crs="EPSG:3857")
    assert "--crs" in str(err.value)
    assert store_counts(xicheng_ws.store_path)["events"] == 0


def test_status_json_into_a_closed_pipe_ends_cleanly(tmp_path, monkeypatch):
    """``gridwatch status --json | head -c 10``: the reader has gone; main() returns, no BrokenPipeError."""
    from geo.cli import main

    ws = tmp_path / "ws"
    assert main(["init", str(ws), "--bbox", "116.3,39.85,116.45,39.95", "--json"]) == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away: any write now raises BrokenPipeError
    closed = open(write_end, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    monkeypatch.setattr(sys, "stdout", closed)
    try:
        assert main(["status", "--workspace", str(ws), "--json"]) == 1
    finally:
        monkeypatch.undo()
        try:
            closed.close()
        except BrokenPipeError:  # pragma: no cover - only if main() did not redirect the descriptor
            pytest.fail("main() left the broken pipe to the interpreter's exit")
