"""Ingestion: every row stored, counted as a duplicate or quarantined with its reason."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.errors import InputFileError
from geo.ingest.pipeline import ingest_file
from geo.ingest.quarantine import read_quarantine
from geo.store.database import read_events, store_counts
from geo.store.export import write_table

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"

# file -> (source, read, stored, duplicates, by_reason, flags that must appear)
EXPECTED = {
    "bad_coordinates.csv": ("patrol", 6, 1, 0, {"coords_invalid": 2, "coords_zero": 1, "coords_missing": 1,
                                                "outside_area": 1}, {}),
    "bad_times.csv": ("patrol", 7, 1, 0, {"time_unparseable": 3, "time_out_of_range": 2, "time_missing": 1}, {}),
    "bom.csv": ("patrol", 3, 3, 0, {}, {}),
    "dates.xlsx": ("violation", 4, 3, 0, {"time_unparseable": 1}, {}),
    "duplicates.csv": ("patrol", 5, 3, 1, {"duplicate_id_conflict": 1}, {}),
    "excel_serial.csv": ("patrol", 3, 3, 0, {}, {}),
    "formula.csv": ("patrol", 3, 3, 0, {}, {}),
    "fullwidth.csv": ("patrol", 2, 2, 0, {}, {}),
    "gbk.csv": ("patrol", 5, 5, 0, {}, {}),
    "header_only.csv": ("patrol", 0, 0, 0, {}, {}),
    "long_text.csv": ("patrol", 1, 1, 0, {}, {"text_truncated": 1}),
    "mixed_dates.csv": ("patrol", 5, 5, 0, {}, {}),
    "null_geometry.geojson": ("snapshot", 4, 3, 0, {"coords_missing": 1}, {}),
    "ragged.csv": ("patrol", 4, 2, 0, {"ragged_row": 2}, {}),
    "semicolon.csv": ("patrol", 4, 4, 0, {}, {}),
    "swapped.csv": ("patrol", 2, 2, 0, {}, {"swap_fixed": 1}),
    "unknown_category.csv": ("patrol", 3, 2, 0, {"category_missing": 1}, {}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_corpus_lands_where_it_should(name, xicheng_ws):
    source, read, stored, dups, reasons, flags = EXPECTED[name]
    r = ingest_file(BAD / name, source, xicheng_ws, crs="WGS84")
    assert (r.read, r.stored, r.duplicates) == (read, stored, dups)
    assert r.by_reason == reasons
    assert r.read == r.stored + r.duplicates + r.quarantined
    for flag, count in flags.items():
        assert r.flags.get(flag) == count
    assert store_counts(xicheng_ws.store_path)["events"] == stored
    if r.quarantined:
        q = read_quarantine(r.quarantine_file)
        assert len(q) == r.quarantined
        assert q["reason"].value_counts().to_dict() == reasons
        assert (q["message"].str.len() > 10).all()  # says what to fix
        assert q["source_row"].astype(int).ge(2).all()  # spreadsheet row numbers (header is row 1)


@pytest.mark.parametrize("name, match", [("empty.csv", "empty"), ("garbage.csv", "not a text file"),
                                         ("missing_time_column.csv", "occurred_at")])
def test_unreadable_files_raise_a_clear_error_and_leave_the_store_untouched(name, match, xicheng_ws):
    with pytest.raises(InputFileError, match=match):
        ingest_file(BAD / name, "patrol", xicheng_ws)
    assert store_counts(xicheng_ws.store_path)["events"] == 0


def test_quarantine_rows_point_at_the_spreadsheet_row(xicheng_ws):
    r = ingest_file(BAD / "bad_times.csv", "patrol", xicheng_ws)
    q = read_quarantine(r.quarantine_file).set_index("source_row")
    # line 2 of the file (first data row) holds 2024-02-30
    assert q.loc["2", "reason"] == "time_unparseable"
    assert q.loc["2", "巡查时间"] == "2024-02-30 08:00"
    assert q.loc["5", "reason"] == "time_missing"


def test_duplicates_across_files_and_idempotent_reingest(xicheng_ws):
    first = ingest_file(BAD / "duplicates.csv", "patrol", xicheng_ws)
    second = ingest_file(BAD / "duplicates_again.csv", "patrol", xicheng_ws)
    # R000 and R002 were stored by the first file with the same content
    assert (second.stored, second.duplicates) == (1, 2)
    again = ingest_file(BAD / "duplicates.csv", "patrol", xicheng_ws)
    assert again.stored == 0 and again.duplicates == first.stored + first.duplicates
    assert again.by_reason == {"duplicate_id_conflict": 1}
    assert store_counts(xicheng_ws.store_path)["events"] == first.stored + second.stored


def test_formulas_are_stored_as_text_and_escaped_on_export(xicheng_ws, tmp_path):
    ingest_file(BAD / "formula.csv", "patrol", xicheng_ws)
    events = read_events(xicheng_ws.store_path)
    assert events["text"].str.startswith("=HYPERLINK").any()
    out = write_table(events[["event_id", "text"]], tmp_path / "e.csv")
    text = pd.read_csv(out, encoding="utf-8-sig", dtype=str)["text"]
    assert text.str.startswith(("'=", "'+", "'@")).all()
    xl = write_table(events[["event_id", "text"]], tmp_path / "e.xlsx")
    from openpyxl import load_workbook
    values = [c.value for c in load_workbook(xl).active["B"][1:]]
    assert all(v.startswith("'") for v in values)


def test_times_are_read_in_local_time(xicheng_ws):
    def local_times(name):
        for f in xicheng_ws.root.glob("store.duckdb*"):
            f.unlink()
        ingest_file(BAD / name, "patrol", xicheng_ws)
        events = read_events(xicheng_ws.store_path)
        return events["occurred_at"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M")

    assert local_times("mixed_dates.csv").tolist() == ["2024-03-05 08:30"] * 5
    serial = local_times("excel_serial.csv").sort_values().tolist()
    # 45356.5 = 2024-03-05 12:00 local, 45356.354166667 ≈ 08:30, epoch 1709598600 = 2024-03-05 08:30 +08:00
    assert serial == ["2024-03-05 08:30", "2024-03-05 08:30", "2024-03-05 12:00"]


def test_personal_data_is_hashed_and_masked_never_raw(xicheng_ws):
    r = ingest_file(BAD / "dates.xlsx", "violation", xicheng_ws)
    events = read_events(xicheng_ws.store_path)
    assert r.stored == 3
    plates = events["plate_masked"].dropna().tolist()
    assert sorted(plates) == ["京A·***45", "京A·***45"]  # 京A12345 and new-energy 京AD12345
    assert events["plate_hash"].notna().sum() == 2
    dump = events.astype(str).to_csv()
    assert "12345" not in dump.replace("***45", "")


def test_gcj02_declared_as_wgs84_gets_a_warning(xicheng_ws, tmp_path):
    import shapely

    from geo.grid.crs import from_wgs84
    from geo.grid.roads import read_roads
    roads = read_roads(xicheng_ws.paths["roads"])
    pts = shapely.line_interpolate_point(roads.geometry.values[:200], 0.5, normalized=True)
    glon, glat = from_wgs84(shapely.get_x(pts), shapely.get_y(pts), "GCJ02")
    df = pd.DataFrame({"时间": "2024-03-05 08:00", "经度": glon.round(6), "纬度": glat.round(6), "类别": "违法停车"})
    path = tmp_path / "gcj.csv"
    df.to_csv(path, index=False)
    wrong = ingest_file(path, "patrol", xicheng_ws, crs="WGS84")
    assert any("GCJ02" in w for w in wrong.warnings)
    right = ingest_file(path, "violation", xicheng_ws, crs="GCJ02")
    assert not right.warnings


def test_another_citys_311_export_with_a_mapping_file(tmp_path):
    from geo.store.workspace import init_workspace
    ws = init_workspace(tmp_path / "nyc", bbox=(-74.05, 40.68, -73.90, 40.88), timezone="America/New_York")
    df = pd.DataFrame({
        "Unique Key": ["1", "2", "3"], "Created Date": ["03/05/2024 08:30:00 AM", "03/05/2024 05:45:00 PM",
                                                        "03/06/2024 11:00:00 PM"],
        "Complaint Type": ["Illegal Parking", "Noise", "Illegal Parking"],
        "Latitude": [40.75, 40.76, 45.0], "Longitude": [-73.99, -73.98, -73.99]})
    csv = tmp_path / "311.csv"
    df.to_csv(csv, index=False)
    mapping = tmp_path / "311.toml"
    mapping.write_text('[columns]\noccurred_at = "Created Date"\n\n[options]\ncrs = "WGS84"\n'
                       'time_format = "%m/%d/%Y %I:%M:%S %p"\n\n[categories]\n"Illegal Parking" = "illegal_parking"\n',
                       encoding="utf-8")
    r = ingest_file(csv, "hotline", ws, mapping_file=mapping)
    assert (r.stored, r.by_reason) == (2, {"outside_area": 1})
    events = read_events(ws.store_path)
    assert sorted(events["category"]) == ["illegal_parking", "noise"]  # the workspace's own category, not other
    assert r.own_categories == {"noise": 1} and r.new_categories["noise"]["label"] == "Noise"
    local = events["occurred_at"].dt.tz_convert("America/New_York").dt.strftime("%H:%M")
    assert sorted(local) == ["08:30", "17:45"]


def test_a_failure_inside_the_transaction_leaves_the_store_as_it_was(xicheng_ws, monkeypatch):
    ingest_file(BAD / "bom.csv", "patrol", xicheng_ws)
    before = store_counts(xicheng_ws.store_path)["events"]
    import geo.ingest.pipeline

    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(geo.ingest.pipeline, "record_ingest", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(BAD / "gbk.csv", "patrol", xicheng_ws)
    assert store_counts(xicheng_ws.store_path)["events"] == before


def test_killing_an_ingest_leaves_the_store_unchanged_or_complete(xicheng_ws, tmp_path):
    """SIGKILL an ingest part-way: the store holds either nothing of it or all of it."""
    rng = np.random.default_rng(0)
    n = 200_000
    big = pd.DataFrame({
        "编号": [f"K{i}" for i in range(n)], "巡查时间": "2024-03-05 08:30:00",
        "经度": rng.uniform(116.35, 116.38, n).round(6), "纬度": rng.uniform(39.90, 39.92, n).round(6),
        "问题类型": "占道经营"})
    path = tmp_path / "big.csv"
    big.to_csv(path, index=False)
    ingest_file(BAD / "bom.csv", "patrol", xicheng_ws)
    before = store_counts(xicheng_ws.store_path)["events"]
    outcomes = set()
    for delay in (1.0, 2.5):
        proc = subprocess.Popen([sys.executable, "-m", "geo.cli", "ingest", str(path), "--source", "patrol",
                                 "--workspace", str(xicheng_ws.root), "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[2])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = store_counts(xicheng_ws.store_path)["events"]
        assert after in (before, before + n), f"partial ingest visible: {after - before} rows"
        outcomes.add(after - before)
        if after != before:
            break
    assert 0 in outcomes or n in outcomes


def test_the_report_names_the_crs_applied_and_where_it_came_from(tmp_path):
    from geo.store.workspace import init_workspace
    ws = init_workspace(tmp_path / "nyc", bbox=(-74.05, 40.68, -73.90, 40.88))
    csv = tmp_path / "points.csv"
    pd.DataFrame({"id": ["1", "2"], "time": ["2024-03-05 08:30", "2024-03-05 09:30"],
                  "category": ["Noise", "Noise"], "lon": [-73.99, -73.98], "lat": [40.75, 40.76]}
                 ).to_csv(csv, index=False)
    r = ingest_file(csv, "hotline", ws)
    assert (r.crs, r.stored) == ("WGS84", 2)  # not GCJ02: the workspace is in New York
    assert r.crs_from.startswith("workspace default for hotline")
    assert r.to_dict()["crs_from"] == r.crs_from
    r = ingest_file(csv, "patrol", ws, crs="EPSG:4326")
    assert r.crs_from == "--crs"
