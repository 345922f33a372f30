"""The schema zoo: every layout is mapped right by auto-detection, or stops naming the ambiguity.

For each layout of :mod:`tests.ingest.zoo_exports`: a dry run shows the
expected mapping, counts and first parsed row without touching the store; the
real ingest then gives the same counts (which reconcile with the file); a
layout that cannot be decided safely raises :class:`MappingError` naming the
field, writes nothing, and goes through with the mapping file a user would
write from the printed template.
"""

from __future__ import annotations

import tomllib

import pytest

from geo.errors import InputFileError
from geo.ingest.mapping import MappingError
from geo.ingest.pipeline import ingest_file
from geo.store.database import store_counts
from geo.store.workspace import init_workspace
from tests.ingest.zoo_exports import LAYOUTS, PLACES, Layout


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory):
    cache = {}

    def get(place: str):
        if place not in cache:
            bbox, tz = PLACES[place]
            cache[place] = init_workspace(tmp_path_factory.mktemp(place) / "ws", bbox=bbox, timezone=tz)
        return cache[place]
    return get


def _events(ws) -> int:
    return store_counts(ws.store_path)["events"] if ws.store_path.exists() else 0


def _mapped(report) -> dict[str, list[str]]:
    out = {f: v["columns"] for f, v in report.mapping.items() if f != "location"}
    if "location" in report.mapping:
        out["lon"] = out["lat"] = report.mapping["location"]["columns"]
    return out


def test_the_zoo_has_at_least_twelve_layouts():
    assert len(LAYOUTS) >= 12
    assert len({lay.name for lay in LAYOUTS}) == len(LAYOUTS)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda lay: lay.name)
def test_layout(layout: Layout, workspaces, tmp_path):
    ws = workspaces(layout.place)
    path = layout.write(tmp_path)
    mapping_file = None
    before = _events(ws)
    if layout.stops is not None:
        with pytest.raises(InputFileError) as err:
            ingest_file(path, layout.source, ws, crs=layout.crs if layout.mapping_toml is None or
                        "crs" not in layout.mapping_toml else None)
        msg = str(err.value)
        assert layout.stops in msg
        if isinstance(err.value, MappingError):
            # the printed template is a valid mapping file, with the open field marked
            assert "CHOOSE" in err.value.mapping_toml or "crs" in msg
            tomllib.loads(err.value.mapping_toml)
        assert _events(ws) == before  # nothing written
        if layout.mapping_toml is None:
            return
    if layout.mapping_toml is not None:
        mapping_file = tmp_path / "mapping.toml"
        mapping_file.write_text(layout.mapping_toml, encoding="utf-8")
    crs = None if layout.mapping_toml and "crs" in layout.mapping_toml else layout.crs

    dry = ingest_file(path, layout.source, ws, crs=crs, mapping_file=mapping_file, dry_run=True)
    assert _events(ws) == before  # a dry run writes nothing
    mapped = _mapped(dry)
    for f, cols in layout.mapping.items():
        assert mapped.get(f) == cols, (f, dry.mapping, dry.warnings)
    assert (dry.read, dry.stored, dry.duplicates, dry.quarantined) == layout.counts, dry.to_dict()
    for reason, n in layout.by_reason.items():
        assert dry.by_reason.get(reason) == n, dry.by_reason
    if layout.first_local:
        assert dry.preview and dry.preview[0]["occurred_at"].startswith(layout.first_local), dry.preview

    real = ingest_file(path, layout.source, ws, crs=crs, mapping_file=mapping_file)
    assert (real.read, real.stored, real.duplicates, real.quarantined) == layout.counts
    assert real.reconciles
    assert real.mapping == dry.mapping
    assert _events(ws) == before + real.stored


def test_street_suffix_column_is_not_the_category(workspaces, tmp_path):
    lay = next(lay for lay in LAYOUTS if lay.name == "police_utc")
    r = ingest_file(lay.write(tmp_path), lay.source, workspaces(lay.place), crs="WGS84", dry_run=True)
    assert r.mapping["category_raw"]["columns"] == ["Offense Category"]
    assert any("'Type'" in w and "abbreviations" in w for w in r.warnings), r.warnings
    # the date-only column that matched by name is named as passed over
    assert any("'Date'" in w and "date only" in w for w in r.warnings), r.warnings
    assert r.mapping["occurred_at"]["how"] == "content"


def test_non_unique_id_column_is_not_used_and_says_so(workspaces, tmp_path):
    lay = next(lay for lay in LAYOUTS if lay.name == "district_id")
    r = ingest_file(lay.write(tmp_path), lay.source, workspaces(lay.place), crs="WGS84", dry_run=True)
    assert "source_id" not in r.mapping
    assert any("'ID'" in w and "not used as the id" in w for w in r.warnings)


def test_projected_coordinates_stop_with_the_crs_named(workspaces, tmp_path):
    lay = next(lay for lay in LAYOUTS if lay.name == "uk_easting")
    with pytest.raises(MappingError) as err:
        ingest_file(lay.write(tmp_path), lay.source, workspaces(lay.place), crs="WGS84")
    assert "'Easting'" in str(err.value) and "EPSG:27700" in str(err.value)
    bbox, tz = PLACES[lay.place]
    fresh = init_workspace(tmp_path / "fresh", bbox=bbox, timezone=tz)
    r = ingest_file(lay.write(tmp_path), lay.source, fresh, crs="EPSG:27700", dry_run=True)
    assert r.crs == "EPSG:27700" and r.stored == 8 and r.quarantined == 0
    # easting 529000 / northing 180500 is central London
    assert -0.16 < r.preview[0]["lon"] < -0.12 and 51.50 < r.preview[0]["lat"] < 51.53


def test_month_sheets_are_read_together_and_footers_quarantined(workspaces, tmp_path):
    import pandas as pd

    from geo.ingest.layout import footer_mask

    lay = next(lay for lay in LAYOUTS if lay.name == "hotline_12345_xlsx")
    bbox, tz = PLACES[lay.place]
    fresh = init_workspace(tmp_path / "fresh", bbox=bbox, timezone=tz)
    r = ingest_file(lay.write(tmp_path), lay.source, fresh, crs="WGS84")
    assert any("read 2 sheets" in w and "3月, 4月" in w and "skipped (other columns): 说明" in w
               for w in r.warnings), r.warnings
    q = pd.read_csv(r.quarantine_file, dtype=str)
    assert sorted(q["reason"]) == ["footer_row", "footer_row"]
    assert sorted(q["source_row"].astype(int)) == [6, 13]  # 合计 under March (row 13), 小计 under April (row 6)
    # a data row whose first cell merely starts like a footer word is not a footer
    frame = pd.DataFrame({"a": ["合计", "合计路12号", "Total"], "b": [None, "x", None], "c": [None, "y", None],
                          "_row": [1, 2, 3]}, dtype="string")
    assert footer_mask(frame).tolist() == [True, False, True]


def test_cli_dry_run_json_has_the_mapping_and_an_unsafe_file_prints_a_mapping_file(tmp_path, capsys):
    import json

    from geo.cli import main

    lay = next(lay for lay in LAYOUTS if lay.name == "police_utc")
    bbox, tz = PLACES[lay.place]
    ws = init_workspace(tmp_path / "ws", bbox=bbox, timezone=tz)
    path = lay.write(tmp_path)
    args = ["ingest", str(path), "-s", "violation", "--crs", "WGS84", "-q", "--workspace", str(ws.root)]
    assert main([*args, "--dry-run", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dry_run"] is True and doc["stored"] == 24
    assert _events(ws) == 0  # nothing written
    assert doc["mapping"]["occurred_at"] == {"columns": ["Offense Start DateTime UTC"], "how": "content",
                                             "confidence": 1.0, "runner_up": "Date",
                                             "note": "chosen over 'Date' by content"}
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "category_raw  <- 'Offense Category' (content" in out and "would store 24" in out

    toronto = next(lay for lay in LAYOUTS if lay.name == "toronto311")
    assert main(["ingest", str(toronto.write(tmp_path)), "-s", "hotline", "-q", "--workspace", str(ws.root)]) == 2
    err = capsys.readouterr().err
    assert "no location" in err and "[columns]" in err and 'lon = ""  # CHOOSE' in err
