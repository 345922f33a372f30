"""Duplicates that lose nothing: an id-less row is dropped only when the whole normalised row repeats."""

from __future__ import annotations

import pandas as pd

from geo.ingest.pipeline import ingest_file
from geo.store.database import read_events
from geo.store.workspace import init_workspace

CHICAGO = (-87.75, 41.80, -87.55, 41.95)


def _rows(tmp_path, name, rows):
    path = tmp_path / name
    pd.DataFrame(rows, columns=["date", "category", "lon", "lat", "beat", "narrative"]).to_csv(path, index=False)
    return path


def test_idless_rows_differing_only_in_an_unmapped_column_are_two_events(tmp_path):
    ws = init_workspace(tmp_path / "chi", bbox=CHICAGO)
    base = ["2024-06-01 22:15", "Noise", -87.63, 41.88]
    path = _rows(tmp_path, "calls.csv", [
        [*base, "0111", "loud party"],
        [*base, "0112", "loud party"],         # another beat: a different report
        [*base, "0111", "loud party"],         # the first row again: an exact duplicate
        [*base, "0111", "  LOUD   party "],    # the same after normalisation (spaces) — case differs: kept
        ["2024-06-01 22:15:00", "Noise", -87.63, 41.88, "0111", "loud party"],  # same time, other spelling
    ])
    r = ingest_file(path, "hotline", ws)
    assert r.reconciles and r.read == 5
    assert (r.stored, r.duplicates) == (3, 2)  # rows 1, 2, 4 stored; 3 and 5 repeat row 1
    assert r.duplicates_by_rule.get("same_whole_row") == r.duplicates
    stored = read_events(ws.store_path)
    assert len(stored) == r.stored and stored["event_id"].is_unique
    # the beat-0112 report is kept, and flagged as a near duplicate of the first (same place, time, category)
    assert r.near_duplicates == r.stored - 1 and r.flags["near_duplicate"] == r.near_duplicates


def test_whole_row_rule_counts_against_the_store_and_is_reported(tmp_path):
    ws = init_workspace(tmp_path / "chi", bbox=CHICAGO)
    rows = [["2024-06-01 22:15", "Noise", -87.63, 41.88, "0111", "a"],
            ["2024-06-01 23:15", "Noise", -87.64, 41.89, "0111", "b"]]
    first = ingest_file(_rows(tmp_path, "a.csv", rows), "hotline", ws)
    assert (first.stored, first.duplicates, first.duplicates_by_rule) == (2, 0, {})
    again = ingest_file(_rows(tmp_path, "b.csv", [*rows, [*rows[0][:4], "0999", "a"]]), "hotline", ws)
    assert (again.stored, again.duplicates) == (1, 2)
    assert again.duplicates_by_rule == {"already_in_store": 2}
    assert again.to_dict()["duplicates_by_rule"] == {"already_in_store": 2}


def test_rows_with_ids_keep_the_id_rule(tmp_path):
    ws = init_workspace(tmp_path / "chi", bbox=CHICAGO)
    path = tmp_path / "ids.csv"
    pd.DataFrame({"id": ["7", "7", "8"], "date": ["2024-06-01 22:15"] * 3, "category": ["Noise"] * 3,
                  "lon": [-87.63] * 3, "lat": [41.88] * 3, "beat": ["1", "2", "1"]}).to_csv(path, index=False)
    r = ingest_file(path, "hotline", ws)
    # id 7 twice with the same mapped content is one event, whatever an unmapped column says
    assert (r.stored, r.duplicates, r.duplicates_by_rule) == (2, 1, {"same_id_same_content": 1})
