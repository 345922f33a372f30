"""Exports cannot be broken by control characters (issue 21, item 5)."""

from __future__ import annotations

import json

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from geo.store.export import remove_control_chars, write_table


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "event_id": ["a", "b", "c"],
        "text": ["违法\x01停车", "夜间\x00施工", "正常\t文本\n第二行"],
        "status": pd.Series(["处理\x0b中", pd.NA, "办结\x1f"], dtype="string"),
        "category": pd.Categorical(["占道\x0c", "占道\x0c", "施工"]),
        "n": [1, 2, 3],
        "lon": [116.37, 116.38, 116.39], "lat": [39.93, 39.94, 39.95],
    })


def test_xlsx_export_with_control_characters_opens_and_keeps_the_rest(tmp_path):
    path = write_table(_table(), tmp_path / "e.xlsx")
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0] == ("event_id", "text", "status", "category", "n", "lon", "lat")
    assert [r[1] for r in rows[1:]] == ["违法停车", "夜间施工", "正常\t文本\n第二行"]
    assert [r[2] for r in rows[1:]] == ["处理中", None, "办结"]
    assert [r[3] for r in rows[1:]] == ["占道", "占道", "施工"] and [r[4] for r in rows[1:]] == [1, 2, 3]


def test_xlsx_export_of_a_control_character_header(tmp_path):
    path = write_table(pd.DataFrame({"te\x01xt": ["x"]}), tmp_path / "h.xlsx")
    assert next(openpyxl.load_workbook(path).active.iter_rows(values_only=True)) == ("text",)


@pytest.mark.parametrize("ext", [".csv", ".geojson", ".parquet", ".json"])
def test_nul_is_removed_in_every_format(tmp_path, ext):
    path = write_table(_table(), tmp_path / f"e{ext}")
    raw = path.read_bytes()
    assert b"\x00" not in raw or ext == ".parquet"
    if ext == ".csv":
        back = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    elif ext == ".parquet":
        back = pd.read_parquet(path)
    elif ext == ".geojson":
        back = gpd.read_file(path)
    else:
        back = pd.DataFrame([f["properties"] for f in json.loads(path.read_text("utf-8"))["features"]])
    assert back["text"].tolist()[:2] == ["违法\x01停车", "夜间施工"]  # only NUL goes outside XLSX


def test_remove_control_chars_leaves_clean_frames_alone():
    df = _table().iloc[[2]]
    df = df.assign(category=pd.Categorical(["施工"]), status=pd.Series(["办结"], dtype="string", index=df.index))
    assert remove_control_chars(df) is df
    out = remove_control_chars(_table())
    assert out["category"].tolist() == ["占道", "占道", "施工"] and out["n"].tolist() == [1, 2, 3]
    assert _table()["text"].iloc[0] == "违法\x01停车"  # input untouched
