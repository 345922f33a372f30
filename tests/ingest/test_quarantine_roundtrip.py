"""Quarantine round trip: a quarantine file, untouched or fixed by hand, re-ingests as it is."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.ingest.pipeline import ingest_file
from geo.ingest.quarantine import META_COLUMNS, is_quarantine_table, read_quarantine, undo_bookkeeping
from geo.store.database import read_events
from geo.store.workspace import init_workspace

HOUSTON = (-95.50, 29.65, -95.25, 29.85)


@pytest.fixture
def houston(tmp_path):
    return init_workspace(tmp_path / "hou", bbox=HOUSTON)


def _export(tmp_path):
    """Ten 311-style rows west of Greenwich: 5 good, 5 bad in different ways (one column is called 'reason')."""
    df = pd.DataFrame({
        "case_id": [f"H{i}" for i in range(10)],
        "created": ["2024-05-01 08:00", "2024-05-01 09:00", "2024-05-01 10:00", "2024-05-01 11:00",
                    "not a date", "", "2024-05-02 08:00", "2024-05-02 09:00", "2024-05-02 10:00",
                    "2024-05-02 11:00"],
        "category": ["Pothole", "Graffiti", "Pothole", "Street Light Out", "Pothole", "Graffiti",
                     "Pothole", "Pothole", "", "Graffiti"],
        "reason": ["resident call"] * 10,  # an export's own column named like the bookkeeping
        "longitude": [-95.3698, -95.3601, -95.4012, -95.3355, -95.3698, -95.3601, 95.3698, -95.1100,
                      -95.3698, -95.3700],
        "latitude": [29.7604, 29.7499, 29.7300, 29.8001, 29.7604, 29.7499, 29.7604, 29.7000,
                     29.7604, 29.7605],
        "note": ["=HYPERLINK(x)", "ok", "-", "+1", "ok", "ok", "ok", "ok", "ok", "ok"],
    })
    path = tmp_path / "houston_311.csv"
    df.to_csv(path, index=False)
    return path


def test_quarantine_file_reingests_untouched_and_fixed(houston, tmp_path):
    first = ingest_file(_export(tmp_path), "hotline", houston)
    assert first.reconciles and first.stored == 5 and first.quarantined == 5
    assert first.by_reason == {"time_unparseable": 1, "time_missing": 1, "outside_area": 2, "category_missing": 1}
    q = read_quarantine(first.quarantine_file)
    assert list(q.columns[:5]) == list(META_COLUMNS) and "reason.1" in q.columns
    assert q["longitude"].str.startswith("'-").sum() == 4  # escaped for spreadsheets (one is positive)

    # untouched: every row read again, none lost, the same reasons
    again = ingest_file(first.quarantine_file, "hotline", houston)
    assert again.reconciles and again.read == 5
    assert again.by_reason == first.by_reason and again.stored == 0
    assert any("bookkeeping" in w for w in again.warnings)

    # fixed by hand in a spreadsheet: times, the sign of a longitude, a category; escapes left as they were
    fixed = q.copy()
    fixed.loc[fixed["created"] == "not a date", "created"] = "2024-05-03 08:00"
    fixed.loc[fixed["created"] == "", "created"] = "2024-05-03 09:00"
    fixed.loc[fixed["longitude"] == "95.3698", "longitude"] = "'-95.3698"
    fixed.loc[fixed["category"] == "", "category"] = "Pothole"
    fixed.loc[fixed["longitude"] == "'-95.11", "longitude"] = "'-95.31"
    path = tmp_path / "fixed.csv"
    fixed.to_csv(path, index=False, encoding="utf-8-sig")
    back = ingest_file(path, "hotline", houston)
    assert back.reconciles and (back.read, back.stored, back.quarantined) == (5, 5, 0)
    events = read_events(houston.store_path)
    assert len(events) == 10 and (events["lon"] < -95).all()
    assert set(events["address"].dropna()) == set()  # no column became the address by accident
    by_id = events.set_index("source_id")
    assert by_id.loc["H6", "lon"] == pytest.approx(-95.3698, abs=1e-6)
    assert by_id.loc["H4", "category_raw"] == "Pothole"


def test_undo_bookkeeping_restores_the_export():
    frame = pd.DataFrame({"_row": [2, 3], "source_file": ["a.csv", "a.csv"], "source_row": ["5", "9"],
                          "reason": ["outside_area", "time_missing"], "message": ["m", "m"], "column": ["", ""],
                          "id": ["1", "2"], "reason.1": ["x", "y"], "lon": ["'-95.11", "'+3"],
                          "'-x": ["'=A1", "plain"], "quote": ["'not escaped", "'1"]})
    assert is_quarantine_table(frame.columns) and not is_quarantine_table(["id", "reason"])
    out = undo_bookkeeping(frame)
    assert list(out.columns) == ["_row", "id", "reason", "lon", "-x", "quote"]
    assert out["lon"].tolist() == ["-95.11", "+3"] and out["-x"].tolist() == ["=A1", "plain"]
    assert out["quote"].tolist() == ["'not escaped", "'1"]  # only the escape marker before a formula prefix


def test_a_spreadsheet_quote_on_a_coordinate_is_not_invalid(houston, tmp_path):
    path = tmp_path / "quoted.csv"
    pd.DataFrame({"id": ["1", "2"], "time": ["2024-05-01 08:00", "2024-05-01 09:00"], "category": ["Pothole"] * 2,
                  "lon": ["'-95.3698", "-95.36"], "lat": ["29.7604", "'29.75"]}).to_csv(path, index=False)
    r = ingest_file(path, "hotline", houston)
    assert (r.stored, r.quarantined) == (2, 0)
