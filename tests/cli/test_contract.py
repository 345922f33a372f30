"""The CLI as a contract: negative coordinates after --bbox, JSON failures, places outside China."""

from __future__ import annotations

import json

import pytest

from geo.cli import error_document, join_negative_values, main
from geo.errors import WorkspaceError

NYC = "-74.26,40.49,-73.70,40.92"


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_negative_lists_are_joined_to_their_option():
    assert join_negative_values(["init", "d", "--bbox", NYC]) == ["init", "d", f"--bbox={NYC}"]
    assert join_negative_values(["init", "d", f"--bbox={NYC}"]) == ["init", "d", f"--bbox={NYC}"]
    # a single negative number and a flag after an option are left to argparse
    assert join_negative_values(["--seed", "-3", "--json"]) == ["--seed", "-3", "--json"]
    assert join_negative_values(["-w", "-1,2"]) == ["-w", "-1,2"]  # short options are not guessed


@pytest.mark.parametrize("spelling", [["--bbox", NYC], [f"--bbox={NYC}"]])
def test_init_new_york_infers_zone_and_wgs84_sources(tmp_path, capsys, spelling):
    code, out, _ = _run(capsys, ["init", str(tmp_path / "nyc"), *spelling, "--json"])
    assert code == 0
    doc = json.loads(out)
    assert doc["timezone"] == "America/New_York" and "tzfpy" in doc["timezone_how"]
    assert doc["in_china"] is False
    assert set(doc["source_crs"].values()) == {"WGS84"}
    assert doc["metric_crs"] == "EPSG:32618"  # UTM 18N
    toml = (tmp_path / "nyc" / "gridwatch.toml").read_text(encoding="utf-8")
    assert 'timezone = "America/New_York"' in toml and "GCJ02" not in toml


def test_init_beijing_keeps_chinese_defaults_and_says_how(tmp_path, capsys):
    code, out, _ = _run(capsys, ["init", str(tmp_path / "bj"), "--bbox", "116.36,39.89,116.405,39.92"])
    assert code == 0
    assert "Asia/Shanghai" in out and "hotline GCJ02" in out and "violation CGCS2000" in out
    assert "mainland China" in out


def test_init_southern_hemisphere_and_given_zone(tmp_path, capsys):
    code, out, _ = _run(capsys, ["init", str(tmp_path / "syd"), "--bbox", "151.15,-33.92,151.25,-33.84",
                                 "--json"])
    doc = json.loads(out)
    assert code == 0 and doc["timezone"] == "Australia/Sydney" and doc["metric_crs"] == "EPSG:32756"
    code, out, _ = _run(capsys, ["init", str(tmp_path / "x"), f"--bbox={NYC}", "--timezone", "UTC", "--json"])
    doc = json.loads(out)
    assert doc["timezone"] == "UTC" and doc["timezone_how"] == "given with --timezone"
    assert set(doc["source_crs"].values()) == {"WGS84"}  # the region still decides the CRS


def test_bad_bbox_is_a_json_error_with_a_hint(tmp_path, capsys):
    code, out, err = _run(capsys, ["init", str(tmp_path / "w"), "--bbox", "-74.26,40.49", "--json"])
    doc = json.loads(out)
    assert code == 2 and set(doc) == {"error", "hint", "type"}
    assert "four numbers" in doc["error"] and "--bbox=-74.26" in doc["error"]
    assert "error:" in err


@pytest.mark.parametrize("argv, kind", [
    (["status", "--workspace", "{tmp}/none", "--json"], "WorkspaceError"),
    (["status", "--json", "--no-such-flag"], "UsageError"),
    (["ingest", "{tmp}/missing.csv", "--source", "nowhere", "--json"], "UsageError"),
    (["hotspots", "--json", "--out", "{tmp}/h.csv", "--workspace", "{tmp}/none"], "WorkspaceError"),
    (["hotspots", "--json", "--workspace", "{tmp}/none"], "UsageError"),
    (["grid", "calibrate", "--json", "--workspace", "{tmp}/none"], "WorkspaceError"),
])
def test_every_failure_with_json_is_json(tmp_path, capsys, argv, kind):
    code, out, _ = _run(capsys, [a.replace("{tmp}", str(tmp_path)) for a in argv])
    doc = json.loads(out)
    assert code == 2 and doc["type"] == kind and doc["error"] and doc["hint"]


def test_usage_errors_without_json_still_exit_like_argparse(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["status", "--no-such-flag"])
    assert exc.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err


def test_error_document_names_type_and_hint():
    doc = error_document(WorkspaceError("no workspace here"))
    assert doc == {"error": "no workspace here", "type": "WorkspaceError",
                   "hint": "pass --workspace DIR (or set GRIDWATCH_WORKSPACE), or create one with `gridwatch init`"}


def test_calibrate_without_official_grids_reports_default_tiers(tmp_path, capsys):
    _run(capsys, ["init", str(tmp_path / "nyc"), "--bbox", NYC])
    code, out, _ = _run(capsys, ["grid", "calibrate", "-w", str(tmp_path / "nyc"), "--json"])
    doc = json.loads(out)
    assert code == 0 and doc["official_grids"] is False and "no official grids are loaded" in doc["message"]
    by_tier = {t["tier"]: t for t in doc["tiers"]}
    assert [by_tier[t]["resolution"] for t in ("big", "middle", "small")] == [7, 8, 9]
    # H3 cells: res 8 averages 0.737 km² over the globe; a seventh of it per finer level
    assert by_tier["middle"]["cell_km2"] == pytest.approx(0.737, rel=0.1)
    assert by_tier["big"]["cell_km2"] / by_tier["small"]["cell_km2"] == pytest.approx(49, rel=0.05)
    code, out, _ = _run(capsys, ["grid", "calibrate", "-w", str(tmp_path / "nyc"), "--write", "--json"])
    assert code == 2 and "no official grids" in json.loads(out)["error"]


def test_value_errors_and_bugs_are_json_too(tmp_path, capsys, monkeypatch):
    _run(capsys, ["init", str(tmp_path / "nyc"), "--bbox", NYC])
    w = ["-w", str(tmp_path / "nyc")]
    code, out, _ = _run(capsys, ["export", "-o", str(tmp_path / "e.csv"), "--category", "nope", "--json", *w])
    doc = json.loads(out)
    assert code == 2 and doc["type"] == "ValueError" and "unknown category" in doc["error"]
    import geo.store.database

    def boom(*a, **k):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(geo.store.database, "store_counts", boom)
    code, out, _ = _run(capsys, ["status", "--json", *w])
    doc = json.loads(out)
    assert code == 1 and doc["type"] == "RuntimeError" and "bug" in doc["hint"]
    with pytest.raises(RuntimeError):
        main(["status", *w])
