"""A city's own categories: kept under their own names, counted, merged and relabelled without re-ingesting."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from geo.errors import SettingsError
from geo.ingest.pipeline import ingest_file
from geo.store.categories import category_code, category_table, merge_categories, rename_category
from geo.store.database import read_events
from geo.store.workspace import init_workspace, load_workspace

NYC = (-74.05, 40.68, -73.90, 40.88)


def _311(tmp_path, name="311.csv", rows=None):
    rows = rows or [("Noise - Residential", 3), ("NOISE - RESIDENTIAL", 1), ("Blocked Driveway", 2),
                    ("Illegal Parking", 2), ("Loud Music/Party", 1)]
    cats = [c for c, n in rows for _ in range(n)]
    n = len(cats)
    df = pd.DataFrame({"id": [f"{name}-{i}" for i in range(n)],
                       "time": [f"2024-03-{1 + i % 20:02d} 10:{i % 60:02d}" for i in range(n)],
                       "category": cats, "lon": [-73.99 + 0.001 * i for i in range(n)],
                       "lat": [40.75 + 0.001 * i for i in range(n)]})
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


@pytest.fixture
def nyc(tmp_path):
    return init_workspace(tmp_path / "nyc", bbox=NYC)


def test_category_codes_in_any_language():
    assert category_code("Noise - Residential") == "noise_residential"
    assert category_code("NOISE  –  residential ") == "noise_residential"
    assert category_code("违章 搭建") == "违章_搭建"
    assert category_code("Ruído/Barulho") == "ruído_barulho"
    assert category_code("???").startswith("c_") and len(category_code("???")) == 10


def test_unmatched_values_become_the_workspaces_own_categories(nyc, tmp_path):
    r = ingest_file(_311(tmp_path), "hotline", nyc)
    assert r.stored == 9 and r.other_categories == {}
    assert r.own_categories == {"noise_residential": 4, "blocked_driveway": 2, "loud_music_party": 1}
    assert r.new_categories["noise_residential"] == {
        "label": "Noise - Residential", "values": ["NOISE - RESIDENTIAL", "Noise - Residential"], "count": 4}
    events = read_events(nyc.store_path)
    assert events["category"].value_counts().to_dict() == {
        "noise_residential": 4, "illegal_parking": 2, "blocked_driveway": 2, "loud_music_party": 1}
    ws = load_workspace(nyc.root)  # the labels are the data's own, no Chinese label needed
    assert {c.code: c.display("zh") for c in ws.settings.workspace_categories} == {
        "noise_residential": "Noise - Residential", "blocked_driveway": "Blocked Driveway",
        "loud_music_party": "Loud Music/Party"}
    from geo.i18n import catalogue
    assert catalogue("en").category(ws.settings, "blocked_driveway") == "Blocked Driveway"
    assert catalogue("zh").categories(ws.settings)["illegal_parking"] == "违法停放"


def test_merge_raw_values_without_reingesting_and_later_ingests_follow(nyc, tmp_path):
    ingest_file(_311(tmp_path), "hotline", nyc)
    ws = load_workspace(nyc.root)
    doc = merge_categories(ws.root, ws.store_path, ws.settings, "noise", ["noise_residential", "Loud Music/Party"],
                           label="Noise", label_zh="噪声")
    assert doc["moved"] == 5 and doc["codes"] == ["noise_residential"] and doc["raw_values"] == ["Loud Music/Party"]
    counts = read_events(ws.store_path)["category"].value_counts().to_dict()
    assert counts == {"noise": 5, "illegal_parking": 2, "blocked_driveway": 2}
    ws = load_workspace(nyc.root)
    assert {c.code for c in ws.settings.workspace_categories} == {"noise", "blocked_driveway"}
    assert ws.settings.category("noise").display("zh") == "噪声"
    # a later file with the same raw values lands in the merged category
    r = ingest_file(_311(tmp_path, "311b.csv", [("Loud Music/Party", 2), ("noise - residential", 1)]),
                    "hotline", ws)
    assert r.own_categories == {"noise": 3} and r.new_categories == {}
    # raw values merge into a category of the table too, and the table sees them
    ws = load_workspace(nyc.root)
    merge_categories(ws.root, ws.store_path, ws.settings, "illegal_parking", ["Blocked Driveway"])
    table = category_table(ws.store_path, load_workspace(nyc.root).settings).set_index("code")
    assert table.loc["illegal_parking", "events"] == 4 and table.loc["noise", "events"] == 8
    assert table.loc["noise", "kind"] == "workspace" and table.loc["illegal_parking", "kind"] == "table"
    assert "blocked_driveway" not in table.index
    assert len(read_events(ws.store_path)) == 12  # nothing lost, nothing re-ingested


def test_merge_and_rename_refuse_what_they_cannot_do(nyc, tmp_path):
    ingest_file(_311(tmp_path), "hotline", nyc)
    ws = load_workspace(nyc.root)
    with pytest.raises(SettingsError, match="nothing to merge"):
        merge_categories(ws.root, ws.store_path, ws.settings, "noise", ["No Such Thing"])
    with pytest.raises(SettingsError, match="taxonomy"):
        merge_categories(ws.root, ws.store_path, ws.settings, "illegal_parking", ["red_light"])
    with pytest.raises(SettingsError, match="category table"):
        rename_category(ws.root, ws.settings, "illegal_parking", label="Parking")
    doc = rename_category(ws.root, ws.settings, "blocked_driveway", label_zh="堵塞车道")
    assert doc["label"] == "Blocked Driveway" and doc["label_zh"] == "堵塞车道"
    assert load_workspace(nyc.root).settings.category("blocked_driveway").display("zh") == "堵塞车道"


def test_categories_cli(nyc, tmp_path, capsys):
    from geo.cli import main
    ingest_file(_311(tmp_path), "hotline", nyc)
    assert main(["categories", "list", "-w", str(nyc.root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {c["code"]: c["events"] for c in doc["categories"]} == {
        "noise_residential": 4, "illegal_parking": 2, "blocked_driveway": 2, "loud_music_party": 1}
    assert main(["categories", "merge", "noise", "noise_residential", "loud_music_party", "--label", "Noise",
                 "-w", str(nyc.root)]) == 0
    assert "5 events moved" in capsys.readouterr().out
    assert main(["categories", "rename", "noise", "--label-zh", "噪声", "-w", str(nyc.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label_zh"] == "噪声"
    assert main(["categories", "merge", "noise", "nothing-like-this", "-w", str(nyc.root), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["type"] == "SettingsError"
    from geo.store.audit import read_audit
    actions = list(read_audit(nyc)["action"])
    assert "categories_merge" in actions and "categories_rename" in actions


def test_a_custom_category_needs_one_label_in_any_language():
    from geo.settings import Category, Settings
    assert Category(code="noise", label="Noise").display("zh") == "Noise"
    assert Category(code="noise", label_en="Noise").display("zh") == "Noise"
    with pytest.raises(ValueError, match="needs a label"):
        Category(code="noise")
    s = Settings(categories=(Category(code="noise", label="Noise"),))
    assert s.category("noise").label == "Noise"


def test_words_for_other_go_to_other_and_are_reported(nyc, tmp_path):
    r = ingest_file(_311(tmp_path, rows=[("Other", 2), ("其他", 1), ("Other - Mother Goose", 1)]), "hotline", nyc)
    assert r.other_categories == {"Other": 2, "其他": 1}  # said so, never silent
    assert r.own_categories == {"other_mother_goose": 1}  # "other" inside a value is not a match


def test_events_version_follows_the_events_not_the_store_file(nyc, tmp_path):
    """The app's caches are keyed on it: an ingest or a merge changes it, an audit row (a login) does not."""
    from geo.store import audit
    from geo.store.database import events_version

    assert events_version(nyc.store_path) == (0, 0)
    ingest_file(_311(tmp_path), "hotline", nyc)
    after_ingest = events_version(nyc.store_path)
    assert after_ingest[0] == 9
    audit.record(nyc, "login", actor="someone", role="leader", target="someone")
    assert events_version(nyc.store_path) == after_ingest
    ws = load_workspace(nyc.root)
    merge_categories(ws.root, ws.store_path, ws.settings, "noise_residential", ["loud_music_party"])
    merged = events_version(nyc.store_path)
    assert merged[0] == 9 and merged != after_ingest
