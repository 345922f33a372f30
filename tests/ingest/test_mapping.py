"""Mapping files that compose, and the content rules of :mod:`geo.ingest.mapping` on small frames."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from geo.errors import InputFileError
from geo.ingest.columns import load_mapping
from geo.ingest.mapping import (
    MappingError,
    compose_frame,
    mapping_with_columns,
    resolve_mapping,
    rewrite_month_names,
    split_location,
)


def _frame(cols: dict[str, list[str | None]]) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame({**cols, "_row": range(2, n + 2)}).astype({k: "string" for k in cols})


def test_load_mapping_reads_lists_constants_location_and_timezone(tmp_path):
    p = tmp_path / "m.toml"
    p.write_text('[columns]\noccurred_at = ["d", "t"]\nlocation = "loc"\n[constants]\ncategory_raw = "noise"\n'
                 '[options]\ntimezone = "Europe/London"\nlocation_order = "lat, lon"\ncrs = "EPSG:27700"\n',
                 encoding="utf-8")
    m = load_mapping(p)
    assert m.composed == {"occurred_at": ("d", "t")} and m.location == "loc"
    assert m.constants == {"category_raw": "noise"} and m.timezone == "Europe/London"
    assert m.location_order == "lat,lon" and m.crs == "EPSG:27700"


@pytest.mark.parametrize("body, words", [
    ('[options]\ntimezone = "Mars/Olympus"\n', "IANA"),
    ('[options]\nlocation_order = "x,y"\n', "location_order"),
    ('[constants]\nnot_a_field = "x"\n', "not_a_field"),
    ('[columns]\ncategory_raw = "c"\n[constants]\ncategory_raw = "x"\n', "both"),
    ('[columns]\nlocation = "l"\nlon = "x"\n', "one or the other"),
    ('[options]\ncrs = "EPSG:99999999"\n', "crs"),
])
def test_load_mapping_names_what_is_wrong(tmp_path, body, words):
    p = tmp_path / "m.toml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(InputFileError, match=words):
        load_mapping(p)


def test_date_and_hour_columns_are_composed():
    f = _frame({"date": ["2024-03-01", "2024-03-02", "2024-03-03"], "hour": ["0", "13", "23"],
                "category": ["noise", "litter", "noise"], "lon": ["116.3", "116.31", "116.32"], "lat": ["39.9"] * 3})
    r = resolve_mapping(f, "patrol")
    assert r.choices["occurred_at"].columns == ("date", "hour")
    work, cmap = compose_frame(f, r)
    assert work[cmap.fields["occurred_at"]].tolist() == ["2024-03-01 0:00", "2024-03-02 13:00", "2024-03-03 23:00"]
    assert "__gw_occurred_at" not in f.columns  # the raw frame is untouched


def test_two_full_times_pick_by_name_and_name_the_runner_up():
    f = _frame({"来电时间": ["2024-03-01 08:00"] * 2, "受理时间": ["2024-03-01 08:05"] * 2, "诉求类别": ["噪音", "占道"],
                "经度": ["116.3", "116.4"], "纬度": ["39.9", "39.9"]})
    r = resolve_mapping(f, "hotline")
    assert r.choices["occurred_at"].columns == ("来电时间",) and r.choices["occurred_at"].runner_up == "受理时间"
    assert any("runner-up '受理时间'" in w for w in r.warnings)


def test_unreadable_time_stops_with_a_mapping_file_to_edit():
    f = _frame({"time": ["soon", "later", "never"], "category": ["noise", "litter", "graffiti"], "lon": ["1", "2", "3"],
                "lat": ["1", "2", "3"]})
    with pytest.raises(MappingError) as err:
        resolve_mapping(f, "patrol")
    doc = tomllib.loads(err.value.mapping_toml)
    assert doc["columns"]["occurred_at"] == "" and doc["columns"]["category_raw"] == "category"
    assert "CHOOSE one of 'time'" in err.value.mapping_toml


def test_split_location_orders():
    lon, lat, order = split_location(pd.Series(["(40.7, -73.9)", "(40.8, -73.95)", None], dtype="string"))
    assert order == "lat,lon" and lon.tolist()[:2] == ["-73.9", "-73.95"] and lat.tolist()[:2] == ["40.7", "40.8"]
    assert pd.isna(lon.iloc[2])
    lon, lat, order = split_location(pd.Series(["POINT (-122.4 37.8)", "116.36,39.91"], dtype="string"))
    assert lon.tolist() == ["-122.4", "116.36"] and lat.tolist() == ["37.8", "39.91"] and order == "lon,lat"


def test_month_names_and_mapping_edits():
    assert rewrite_month_names(pd.Series(["Sep 30, 2024 1:00 PM", "1 March 2024"])).tolist() == \
        ["2024-09-30 1:00 PM", "2024-03-1"]
    text = mapping_with_columns('[columns]\nlocation = "loc"\n[constants]\ncategory_raw = "x"\n',
                                {"lon": "X", "lat": "Y", "category_raw": "Type"})
    doc = tomllib.loads(text)
    assert doc["columns"] == {"lon": "X", "lat": "Y", "category_raw": "Type"} and "constants" not in doc
