"""Robustness corpus: every analysis command on thin and odd workspaces gives a result or a clear message.

Workspaces (generated; one shared geography of grids, roads and junctions, a copy per case):
empty; one event; one day; five years with a four-year gap; one category (filtered for another);
everything in one cell; events on the study-area boundary; and a workspace without official grids.
Each command is run through ``geo.cli.main`` with ``--json``: it must exit 0 with a JSON document
(and, for the odd cases, a non-empty ``notes`` list saying what is odd) or exit 2 with a one-line
``error:`` message -- never a traceback, never a silent zero.

The 10^6-event case lives in ``benchmarks/bench_trends.py`` (time and memory); set
``GRIDWATCH_ROBUSTNESS_LARGE=1`` to also run the sparse five-year case at 10^5 events here.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.cli import main
from tests.conftest import make_events

BBOX = (116.355, 39.900, 116.385, 39.922)
CENTRE = (116.3700, 39.9110)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """An empty workspace with official grids, roads and junctions (copied per case)."""
    import shapely

    from geo.grid.roads import intersections
    from geo.store.workspace import init_workspace
    from geo.synthetic.grids import nested_grids
    from geo.synthetic.roads import street_network

    root = tmp_path_factory.mktemp("robust")
    area = shapely.box(*BBOX)
    nested_grids(area, mean_km2=(1.6, 0.55, 0.12), seed=3, lloyd_iterations=0).to_file(
        root / "grids_in.geojson", driver="GeoJSON")
    roads = street_network(area, seed=3)
    roads.to_file(root / "roads.geojson", driver="GeoJSON")
    intersections(roads).to_file(root / "intersections.geojson", driver="GeoJSON")
    ws = init_workspace(root / "ws", bbox=BBOX, grids=root / "grids_in.geojson", name="robust",
                        extra_paths={"roads": str(root / "roads.geojson"),
                                     "intersections": str(root / "intersections.geojson")})
    config = ws.root / "gridwatch.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[settings.hotspots]\ninference = "analytic"\n',
                      encoding="utf-8")
    init_workspace(root / "nogrids", bbox=BBOX, name="robust-nogrids")
    return root


def _times(days: np.ndarray, rng: np.random.Generator, start: str) -> pd.Series:
    base = pd.Timestamp(start, tz="Asia/Shanghai")
    return pd.Series(base + pd.to_timedelta(days, "D") + pd.to_timedelta(rng.integers(6 * 60, 22 * 60, days.size),
                                                                           "min"))


def scenario_events(name: str, settings) -> tuple[np.ndarray, np.ndarray, pd.Series, object]:
    """(lon, lat, times, category) of a named case."""
    rng = np.random.default_rng(11)
    if name == "empty":
        return np.array([]), np.array([]), pd.Series([], dtype="datetime64[ns, Asia/Shanghai]"), "illegal_parking"
    if name == "one_event":
        return np.array([CENTRE[0]]), np.array([CENTRE[1]]), _times(np.array([10]), rng, "2025-03-01"), "red_light"
    n = 400
    lon = rng.uniform(BBOX[0] + 2e-4, BBOX[2] - 2e-4, n)
    lat = rng.uniform(BBOX[1] + 2e-4, BBOX[3] - 2e-4, n)
    lon[: n // 3] = CENTRE[0] + rng.normal(0, 6e-4, n // 3)
    lat[: n // 3] = CENTRE[1] + rng.normal(0, 5e-4, n // 3)
    cats = np.array(["red_light", "illegal_parking", "unlicensed_vending"])[rng.integers(0, 3, n)]
    if name == "one_day":
        return lon, lat, _times(np.zeros(n, dtype=int), rng, "2025-05-20"), cats
    if name == "gap":  # five years, events only in the first three months and the last five
        days = np.where(rng.random(n) < 0.4, rng.integers(0, 90, n), rng.integers(1675, 1826, n))
        return lon, lat, _times(days, rng, "2021-01-01"), cats
    days = rng.integers(0, 140, n)
    if name == "one_category":
        return lon, lat, _times(days, rng, "2025-01-06"), "illegal_parking"
    if name == "one_cell":
        return np.full(n, CENTRE[0]), np.full(n, CENTRE[1]), _times(days, rng, "2025-01-06"), cats
    if name == "boundary":
        side = rng.integers(0, 4, n)
        t = rng.random(n)
        lon = np.select([side == 0, side == 1, side == 2], [BBOX[0], BBOX[2], BBOX[0] + t * (BBOX[2] - BBOX[0])],
                        BBOX[0] + t * (BBOX[2] - BBOX[0]))
        lat = np.select([side == 0, side == 1, side == 2], [BBOX[1] + t * (BBOX[3] - BBOX[1]),
                                                            BBOX[1] + t * (BBOX[3] - BBOX[1]), BBOX[1]], BBOX[3])
        return lon, lat, _times(days, rng, "2025-01-06"), cats
    if name == "normal":
        return lon, lat, _times(days, rng, "2025-01-06"), cats
    raise ValueError(name)


def build_case(template: Path, tmp: Path, name: str, *, grids: bool = True, patrol: bool = True,
               label: str | None = None) -> Path:
    from geo.store.database import append_events, connect
    from geo.store.workspace import load_workspace

    dst = tmp / (label or name)
    shutil.copytree(template / ("ws" if grids else "nogrids"), dst)
    ws = load_workspace(dst)
    lon, lat, times, cat = scenario_events(name, ws.settings)
    if len(lon):
        frame = make_events(lon, lat, times, category=cat, source="violation", settings=ws.settings,
                            grids=ws.grids)
        kinds = ["patrol", "hotline", "violation"] if patrol else ["hotline", "violation"]
        frame["source"] = np.array(kinds)[np.arange(len(frame)) % len(kinds)]
        frame["event_id"] = [f"{s}:{i}" for i, s in enumerate(frame["source"])]
        with connect(ws.store_path) as con:
            con.execute("BEGIN")
            append_events(con, frame)
            con.execute("COMMIT")
    return dst


COMMANDS = {
    "hotspots_small": ["hotspots", "--tier", "small", "-o", "{out}/h.csv"],
    "hotspots_middle": ["hotspots", "--tier", "middle", "-o", "{out}/h.csv"],
    "hotspots_big": ["hotspots", "--tier", "big", "-o", "{out}/h.csv"],
    "zones": ["zones", "-o", "{out}/z.geojson"],
    "posts": ["posts", "--p", "3", "-o", "{out}/p.csv"],
    "segments": ["segments", "--staff", "4", "-o", "{out}/s.csv"],
    "trends": ["trends", "-o", "{out}/t.csv"],
    "gaps": ["gaps", "-o", "{out}/g.csv"],
    "forecast": ["forecast", "--backtest", "--folds", "3", "-o", "{out}/f.csv"],
    "review": ["review", "-o", "{out}/r.csv"],
    "profile": ["grid", "profile", "--by", "cell", "-o", "{out}/pr.csv"],
}
CASES = ("empty", "one_event", "one_day", "gap", "one_category", "one_cell", "boundary")
ODD = {"empty", "one_event", "one_day", "gap", "one_cell"}


def run(argv: list[str], capsys) -> tuple[int, dict | None, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    doc = None
    if code == 0:
        doc = json.loads(out)
    return code, doc, err


def check(code: int, doc: dict | None, err: str, *, odd: bool, label: str) -> None:
    assert code in (0, 2), f"{label}: exit {code}\n{err}"
    if code == 2:
        msg = err.strip()
        assert msg.startswith("error: ") and "Traceback" not in msg and len(msg) > 30, f"{label}: {msg!r}"
        return
    assert isinstance(doc, dict)
    if odd:
        notes = doc.get("notes") or doc.get("review", {}).get("notes") or []
        assert notes, f"{label}: odd data but no notes in {sorted(doc)}"


@pytest.fixture(scope="module")
def cases(template, tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("cases")
    out = {name: build_case(template, tmp, name) for name in CASES}
    out["nogrids"] = build_case(template, tmp, "normal", grids=False, label="nogrids")
    out["nopatrol"] = build_case(template, tmp, "normal", patrol=False, label="nopatrol")
    return out


@pytest.mark.parametrize("case", CASES)
def test_every_command_on_odd_workspaces(case, cases, capsys, tmp_path):
    ws = cases[case]
    failures = []
    for label, argv in COMMANDS.items():
        args = [a.format(out=tmp_path) for a in argv] + ["--json", "-w", str(ws)]
        if case == "one_category":
            args += ["--category", "red_light"]  # the workspace holds illegal parking only
        try:
            code, doc, err = run(args, capsys)
            check(code, doc, err, odd=case in ODD or case == "one_category", label=f"{case}/{label}")
        except Exception as exc:  # noqa: BLE001 - collect all, report together
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


def _json(argv: list[str], capsys) -> dict:
    code, doc, err = run(argv + ["--json"], capsys)
    assert code == 0, err
    assert doc is not None
    return doc


def test_gap_in_time_is_cut_and_said(cases, capsys, tmp_path):
    """Five years with a four-year hole: trends and forecast analyse the recent stretch and say what was cut."""
    ws = str(cases["gap"])
    doc = _json(["trends", "-o", str(tmp_path / "t.csv"), "-w", ws], capsys)
    assert doc["span"]["events_cut"] > 0 and doc["span"]["since"] >= "2025-"
    assert any("give --since to analyse across the gap" in n for n in doc["notes"])
    assert doc["slices"] <= 23  # ~5 months of weeks, not 260
    doc = _json(["forecast", "--backtest", "--folds", "3", "-w", ws], capsys)
    assert doc["weeks"] <= 23 and any("after the gap" in n for n in doc["notes"])
    assert doc["winner"] == doc["model"]


def test_gaps_without_patrol_data_report_no_coverage(cases, capsys, tmp_path):
    doc = _json(["gaps", "-w", str(cases["nopatrol"])], capsys)
    assert doc["patrol"] == 0 and doc["cells_with_shortfall"] is None and doc["coverage_measured"] is False
    assert any("no patrol data" in n for n in doc["notes"])
    main(["gaps", "-o", str(tmp_path / "g.csv"), "-w", str(cases["nopatrol"])])
    table = pd.read_csv(tmp_path / "g.csv")
    assert table["worst_window_coverage"].isna().all()  # never a coverage of 1.0


def test_all_events_in_one_cell_flags_that_cell(cases, capsys, tmp_path):
    doc = _json(["hotspots", "-o", str(tmp_path / "h.csv"), "-w", str(cases["one_cell"])], capsys)
    assert any("all events fall in one cell" in n for n in doc["notes"])
    assert doc["cell_hot"] == 1
    table = pd.read_csv(tmp_path / "h.csv")
    top = table.sort_values("hot_rank").iloc[0]
    assert bool(top["cell_hot"]) and top["count"] == 400


def test_no_official_grids_is_said(cases, capsys, tmp_path):
    ws = str(cases["nogrids"])
    doc = _json(["hotspots", "-o", str(tmp_path / "h.csv"), "-w", ws], capsys)
    assert any("no official grids" in n for n in doc["notes"])
    code, _, err = run(["gaps", "--by", "grid", "-w", ws, "--json"], capsys)
    assert code == 2 and "no official grids" in err


def test_forecast_text_backtest_prints_the_table_and_winner(cases, capsys):
    code = main(["forecast", "--backtest", "--folds", "3", "-w", str(cases["boundary"])])
    out = capsys.readouterr().out
    assert code == 0 and "PAI 5%" in out and "winner " in out and "← default" in out


@pytest.mark.skipif(not os.environ.get("GRIDWATCH_ROBUSTNESS_LARGE"), reason="set GRIDWATCH_ROBUSTNESS_LARGE=1")
def test_large_sparse_five_years(template, tmp_path, capsys):
    """10^5 events over five years with a four-year hole: trends and forecast finish (memory: bench_trends)."""
    from geo.store.database import append_events, connect
    from geo.store.workspace import load_workspace

    dst = tmp_path / "large"
    shutil.copytree(template / "ws", dst)
    ws = load_workspace(dst)
    rng = np.random.default_rng(2)
    n = 100_000
    days = np.where(rng.random(n) < 0.3, rng.integers(0, 120, n), rng.integers(1640, 1826, n))
    frame = make_events(rng.uniform(BBOX[0], BBOX[2], n), rng.uniform(BBOX[1], BBOX[3], n),
                        _times(days, rng, "2021-01-01"), settings=ws.settings, grids=ws.grids)
    with connect(ws.store_path) as con:
        append_events(con, frame)
    # each command in its own process under a 4 GB address-space cap (the issue's `ulimit -v 4000000`)
    import resource
    import subprocess
    import sys

    def capped() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4_000_000 * 1024, 4_000_000 * 1024))

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for argv in (["trends", "-o", str(tmp_path / "t.csv")], ["forecast", "--backtest"]):
        done = subprocess.run([sys.executable, "-m", "geo.cli", *argv, "--json", "-w", str(dst)], env=env,
                              capture_output=True, text=True, preexec_fn=capped, timeout=1800)
        assert done.returncode == 0, done.stderr[-2000:]
        doc = json.loads(done.stdout)
        assert any("after the gap" in n for n in doc["notes"])
