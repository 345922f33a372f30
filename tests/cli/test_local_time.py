"""Local time wherever a person reads a date: status months, exports, problem lists."""

from __future__ import annotations

import json

import pandas as pd

from geo.cli import main
from geo.ingest.pipeline import ingest_file
from geo.store.database import store_counts
from geo.store.export import local_times
from geo.store.workspace import init_workspace

NYC = (-74.05, 40.68, -73.90, 40.88)


def _ws_with_late_august(tmp_path):
    ws = init_workspace(tmp_path / "nyc", bbox=NYC)
    path = tmp_path / "late.csv"
    # local 31 August 22:00 and 23:30 EDT are 1 September 02:00 / 03:30 UTC; one mid-August event
    pd.DataFrame({"id": ["1", "2", "3"], "time": ["2024-08-31 22:00", "2024-08-31 23:30", "2024-08-15 12:00"],
                  "category": ["Noise"] * 3, "lon": [-73.99, -73.98, -73.97], "lat": [40.75, 40.76, 40.77]}
                 ).to_csv(path, index=False)
    assert ingest_file(path, "hotline", ws).stored == 3
    return ws


def test_status_months_are_local(tmp_path, capsys):
    ws = _ws_with_late_august(tmp_path)
    assert store_counts(ws.store_path)["by_month"] == {"2024-08": 1, "2024-09": 2}  # in UTC
    counts = store_counts(ws.store_path, "America/New_York")
    assert counts["by_month"] == {"2024-08": 3}
    assert counts["last"] == "2024-08-31T23:30:00-04:00" and counts["timezone"] == "America/New_York"
    assert main(["status", "-w", str(ws.root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["by_month"] == {"2024-08": 3} and doc["first"] == "2024-08-15T12:00:00-04:00"


def test_export_writes_local_time_with_offset_and_utc(tmp_path, capsys):
    ws = _ws_with_late_august(tmp_path)
    out = tmp_path / "events.csv"
    assert main(["export", "-o", str(out), "-w", str(ws.root)]) == 0
    table = pd.read_csv(out, dtype=str, encoding="utf-8-sig").set_index("source_id")
    assert table.loc["2", "occurred_at"] == "2024-08-31 23:30:00-0400"
    assert table.loc["2", "occurred_at_utc"] == "2024-09-01 03:30:00+0000"
    cols = list(table.reset_index().columns)
    assert cols.index("occurred_at_utc") == cols.index("occurred_at") + 1


def test_local_times_keeps_instants_and_leaves_naive_columns():
    t = pd.Series(pd.to_datetime(["2024-01-01 16:00", "2024-07-01 16:00"], utc=True))
    df = pd.DataFrame({"occurred_at": t, "week": pd.to_datetime(["2024-01-01", "2024-07-01"])})
    out = local_times(df, "Asia/Kathmandu")  # +05:45: not a whole hour
    assert list(out.columns) == ["occurred_at", "occurred_at_utc", "week"]
    assert (out["occurred_at"] == out["occurred_at_utc"]).all()  # the same instants
    assert out["occurred_at"].dt.strftime("%H:%M").tolist() == ["21:45", "21:45"]
    assert out["week"].dt.tz is None
