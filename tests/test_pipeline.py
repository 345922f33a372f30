"""The sample end to end: generate raw exports, ingest all four, every row accounted for; CLI contracts."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from geo.ingest.quarantine import read_quarantine
from geo.store.database import read_events, store_counts
from geo.synthetic.workspace import SAMPLE_FILES, ensure_sample_workspace
from tests.conftest import simulated_sample

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory):
    return simulated_sample(tmp_path_factory.mktemp("sample") / "ws", seed=7, months=3, scale=0.25)


def test_every_row_of_the_sample_is_accounted_for(small_sample):
    ws, reports = small_sample
    assert [Path(r.file).name for r in reports] == [name for name, _ in SAMPLE_FILES]
    truth = json.loads((ws.root / "raw" / "truth.json").read_text(encoding="utf-8"))
    planted = {name: sum(kinds.values()) for name, kinds in truth["dirt"].items()}
    for r in reports:
        assert r.read == r.stored + r.duplicates + r.quarantined
        assert r.read == truth["rows"][Path(r.file).name]
        # quarantined + duplicates never exceed the planted dirt (some dirt is fixable: swaps, whitespace)
        assert 0 < r.quarantined + r.duplicates <= planted[Path(r.file).name]
        if r.quarantined:
            assert len(read_quarantine(r.quarantine_file)) == r.quarantined
    counts = store_counts(ws.store_path)
    assert counts["events"] == sum(r.stored for r in reports)
    assert set(counts["by_source"]) == {"patrol", "hotline", "violation", "snapshot"}


def test_sample_events_are_indexed_and_inside_official_grids(small_sample):
    ws, _ = small_sample
    events = read_events(ws.store_path)
    assert (events["h3_small"] != 0).all()
    assert ((events["h3_small"].to_numpy() >> 52) & 0xF == 9).all()
    # points inside the district get a grid of every tier, nested consistently
    inside = events["grid_small"].notna()
    assert inside.mean() > 0.98
    grids = ws.grids.set_index("grid_id")
    parent = events.loc[inside, "grid_small"].map(grids["parent_id"])
    assert (parent == events.loc[inside, "grid_middle"]).mean() > 0.999
    # hotline rows without coordinates were geocoded from the gazetteer
    hotline = events[events["source"] == "hotline"]
    assert hotline["location_method"].str.startswith("geocoded").mean() > 0.3
    assert events["phone_masked"].dropna().str.contains(r"\*\*\*\*").all()


def test_setup_is_idempotent(small_sample):
    ws, _ = small_sample
    before = store_counts(ws.store_path)["events"]
    _, reports = ensure_sample_workspace(ws.root)
    assert reports == [] and store_counts(ws.store_path)["events"] == before


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "geo.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def test_cli_ingest_and_status_json_contracts(small_sample, tmp_path):
    ws, _ = small_sample
    res = _cli("ingest", str(ws.root / "raw" / "patrol.csv"), "--source", "patrol", "--workspace", str(ws.root),
               "--json", "--quiet")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    for key in ("file", "source", "read", "stored", "duplicates", "quarantined", "quarantine_file", "by_reason"):
        assert key in doc
    assert doc["stored"] == 0 and doc["read"] == doc["duplicates"] + doc["quarantined"]
    status = json.loads(_cli("status", "--json", "--workspace", str(ws.root)).stdout)
    assert status["events"] == store_counts(ws.store_path)["events"]
    bad = _cli("ingest", str(tmp_path / "missing.csv"), "--source", "patrol", "--workspace", str(ws.root))
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr


def test_every_command_has_help():
    from geo.cli import build_parser
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001
    assert {"init", "ingest", "status", "export", "sample", "grid", "hotspots", "zones", "posts",
            "segments"} <= set(commands)
    for name in commands:
        res = _cli(name, "--help")
        assert res.returncode == 0 and "usage: gridwatch" in res.stdout


def test_grid_commands_on_the_sample(small_sample, tmp_path):
    ws, _ = small_sample
    res = _cli("grid", "calibrate", "--workspace", str(ws.root), "--json")
    assert res.returncode == 0, res.stderr
    tiers = {t["tier"]: t for t in json.loads(res.stdout)["tiers"]}
    # Guanyinsi-like synthetic grids (2.05/0.78/0.13 km²) → res 7 / 8 / 9 around Beijing's latitude
    assert (tiers["big"]["resolution"], tiers["middle"]["resolution"], tiers["small"]["resolution"]) == (7, 8, 9)
    res = _cli("grid", "reconcile", "--tier", "small", "--workspace", str(ws.root), "--json")
    doc = json.loads(res.stdout)
    assert res.returncode == 0 and doc["totals_preserved"]
    out = tmp_path / "cw.csv"
    res = _cli("grid", "crosswalk", "--tier", "small", "--out", str(out), "--workspace", str(ws.root), "--json")
    assert res.returncode == 0, res.stderr
    import pandas as pd
    cw = pd.read_csv(out, encoding="utf-8-sig")
    assert cw["h3"].str.len().eq(15).all() and cw["grid_id"].notna().all()


def test_profile_and_monthly_ranking(small_sample):
    from geo.analysis.hotcells import area_cells, tier_crosswalk
    from geo.analysis.profile import cell_profile, monthly_ranking, official_grid_profile
    ws, _ = small_sample
    events = read_events(ws.store_path)
    grids = official_grid_profile(events, ws.grids, "middle", ws.settings)
    assert len(grids) == (ws.grids["tier"] == "middle").sum()  # zero grids are rows too
    assert grids["events"].sum() == events["grid_middle"].notna().sum()
    assert grids["share"].sum() == pytest.approx(1.0)
    assert (grids["rank"].diff().dropna() >= 0).all()
    cells = cell_profile(events, area_cells(ws, "small"), "small", ws.settings, tier_crosswalk(ws, "small").cells)
    assert len(cells) == len(area_cells(ws, "small"))
    assert (cells["window_morning_peak"] <= cells["events"]).all()
    ranking = monthly_ranking(events, ws.grids, "small", ws.settings)
    assert ranking["rank"].iloc[0] == 1 and ranking["per_km2"].is_monotonic_decreasing


def _planted(ws):
    return json.loads((ws.root / "raw" / "truth.json").read_text(encoding="utf-8"))["hotspots"]


def test_planted_hotspots_come_out_hot_in_their_window(small_sample):
    import numpy as np

    from geo.analysis.filters import EventFilter
    from geo.analysis.hotcells import hotspot_cells
    from geo.grid import h3cells
    ws, _ = small_sample
    events = read_events(ws.store_path)
    found, total = 0, 0
    for h in _planted(ws):
        if h["kind"] == "fading":
            continue  # faded by the end; found in the early months (trends)
        flt = EventFilter(window=h.get("window") or "all", sources=tuple(h["sources"]),
                          categories=tuple(h["categories"]))
        bins = hotspot_cells(ws, events, flt, tier="small").cells.set_index("cell")["bin"]
        cells = h3cells.hex_to_cells(np.array(h["cells"]))
        hot = int((bins.reindex(cells) > 0).sum())
        found += hot
        total += len(cells)
    assert found / total >= 0.8, f"recall {found}/{total}"


def test_posts_land_at_the_planted_intersections(small_sample):
    import numpy as np

    from geo.analysis.filters import EventFilter
    from geo.planning.posts import plan_posts
    ws, _ = small_sample
    plan = plan_posts(ws, read_events(ws.store_path), EventFilter(window="morning_peak", sources=("violation",)),
                      p=10, radius_m=300)
    assert plan.summary["candidate_source"] == "intersections"
    for h in _planted(ws):
        if h.get("window") == "morning_peak" and h.get("intersection_name"):
            d = np.hypot((plan.posts["lon"] - h["lon"]) * 85_200, (plan.posts["lat"] - h["lat"]) * 111_000)
            assert d.min() < 300, f"no post near {h['intersection_name']}"


@pytest.mark.parametrize("args", [
    ["trends", "--tier", "middle", "--out", "{tmp}/trends.geojson"],
    ["gaps", "--tier", "middle", "--out", "{tmp}/gaps.csv"],
    ["forecast", "--tier", "middle", "--backtest", "--folds", "2", "--out", "{tmp}/forecast.csv"],
    ["review", "--out", "{tmp}/problems.csv"],
])
def test_trend_commands_run_on_the_sample(small_sample, tmp_path, args):
    ws, _ = small_sample
    res = _cli(*[a.format(tmp=tmp_path) for a in args], "--workspace", str(ws.root), "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(res.stdout)
    assert Path(doc["out"]).exists() and Path(doc["out"]).stat().st_size > 100


def test_review_estimates_the_planted_campaign_from_the_cli(small_sample, tmp_path):
    ws, _ = small_sample
    campaign = json.loads((ws.root / "raw" / "truth.json").read_text(encoding="utf-8"))["campaign"]
    last = read_events(ws.store_path)["occurred_at"].max().tz_convert("Asia/Shanghai").date().isoformat()
    res = _cli("review", "--area", ",".join(campaign["grid_ids"]), "--campaign", f"{campaign['date']}:{last}",
               "--workspace", str(ws.root), "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    review = json.loads(res.stdout)["review"]
    # planted: -40 % in these grids from the campaign date (small sample: few weeks, so a wide interval)
    assert review["ci_low"] <= -0.4 <= review["ci_high"] or review["change"] < -0.2
    assert review["change"] < 0


def test_export_uses_the_shared_filters_in_local_dates(small_sample, tmp_path):
    import pandas as pd
    ws, _ = small_sample
    events = read_events(ws.store_path)
    local = events["occurred_at"].dt.tz_convert("Asia/Shanghai").dt.date.astype(str)
    expected = int(((events["source"] == "hotline") & (local >= "2024-03-10") & (local <= "2024-03-20")).sum())
    out = tmp_path / "e.csv"
    res = _cli("export", "--out", str(out), "--source", "hotline", "--since", "2024-03-10", "--until", "2024-03-20",
               "--workspace", str(ws.root), "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["events"] == expected > 0
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert len(table) == expected and not any(c.endswith("_hash") for c in table.columns)
