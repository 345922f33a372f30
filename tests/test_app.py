"""The Streamlit service with Streamlit's AppTest: every page renders, widgets change the numbers.

The app runs on a small built workspace (5.7 km² of Xicheng, synthetic grids
and roads, 2,400 events around two planted hot spots), written straight into
the store so the test does not depend on the sample's size.
``build_app_workspace`` is shared with ``tests/test_browser.py``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
BBOX = (116.355, 39.900, 116.385, 39.922)
HOT = np.array([[116.3625, 39.9080], [116.3770, 39.9150]])  # red-light junction, vending street


def build_app_workspace(root: Path, *, seed: int = 7, n: int = 2400) -> Path:
    """A small complete workspace: area, nested grids, roads, intersections and ``n`` stored events.

    A third of the events are red-light running at one junction (07–09 and
    17–19), a third vending along a street, the rest spread evenly; 70 % are
    closed.  Deterministic for a seed.
    """
    import shapely

    from geo import h3cells
    from geo.officialgrids import locate_points
    from geo.roads import intersections
    from geo.settings import TIERS
    from geo.store import append_events, connect
    from geo.synthetic.grids import nested_grids
    from geo.synthetic.roads import street_network
    from geo.workspace import init_workspace

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    area = shapely.box(*BBOX)
    nested_grids(area, mean_km2=(1.6, 0.55, 0.12), seed=seed, lloyd_iterations=0).to_file(
        root / "grids_in.geojson", driver="GeoJSON")
    roads = street_network(area, seed=seed)
    roads.to_file(root / "roads.geojson", driver="GeoJSON")
    intersections(roads).to_file(root / "intersections.geojson", driver="GeoJSON")
    ws = init_workspace(root / "ws", bbox=BBOX, grids=root / "grids_in.geojson", name="测试工作区 test",
                        extra_paths={"roads": "../roads.geojson", "intersections": "../intersections.geojson"})
    # the quick analytic Gi* inference keeps page runs short; the app reads it from the workspace
    config = ws.root / "gridwatch.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[settings.hotspots]\ninference = "analytic"\n',
                      encoding="utf-8")
    assert tomllib.loads(config.read_text(encoding="utf-8"))["settings"]["hotspots"]["inference"] == "analytic"

    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, n)  # 0 background, 1 junction, 2 street
    centre = HOT[np.maximum(kind - 1, 0)]
    lon = np.where(kind == 0, rng.uniform(BBOX[0], BBOX[2], n), centre[:, 0] + rng.normal(0, 0.0012, n))
    lat = np.where(kind == 0, rng.uniform(BBOX[1], BBOX[3], n), centre[:, 1] + rng.normal(0, 0.0009, n))
    lon = np.clip(lon, BBOX[0] + 1e-4, BBOX[2] - 1e-4)
    lat = np.clip(lat, BBOX[1] + 1e-4, BBOX[3] - 1e-4)
    sources = np.array(["patrol", "hotline", "violation"])[rng.integers(0, 3, n)]
    background = np.array(["red_light", "wrong_way", "illegal_parking", "unlicensed_vending", "debris_pile"])
    category = np.where(kind == 1, "red_light", np.where(kind == 2, "unlicensed_vending",
                                                         background[rng.integers(0, 5, n)]))
    hours = np.where(kind == 1, rng.choice([7, 8, 17, 18], n), rng.integers(6, 23, n))
    occurred = (pd.Timestamp("2024-01-01", tz="Asia/Shanghai") + pd.to_timedelta(rng.integers(0, 84, n), "D")
                + pd.to_timedelta(hours, "h") + pd.to_timedelta(rng.integers(0, 60, n), "min")).tz_convert("UTC")
    closed = rng.random(n) < 0.7
    closed_at = pd.Series(occurred + pd.to_timedelta(rng.integers(1, 96, n), "h")).where(closed)
    hotline = sources == "hotline"
    ids = np.char.add("T", np.arange(n).astype(str))
    frame = pd.DataFrame({
        "event_id": np.char.add(np.char.add(sources.astype(str), ":"), ids), "source": sources, "source_id": ids,
        "category": category, "category_raw": category, "occurred_at": occurred, "lon": lon, "lat": lat,
        "crs_in": "WGS84", "location_method": "coordinates", "address": "测试路1号",
        "status": np.where(closed, "已办结", "处理中"), "is_closed": closed, "closed_at": closed_at.to_numpy(),
        "text": np.where(hotline, "市民反映路口秩序问题，电话138****5678", ""),
        "phone_masked": np.where(hotline, "138****5678", None), "content_hash": ids, "ingest_id": "fixture",
        "source_file": "fixture", "source_row": np.arange(n) + 2,
    })
    for tier in TIERS:
        frame[f"h3_{tier}"] = h3cells.cells_for_points(lon, lat, ws.settings.tiers.resolution(tier))
    located = locate_points(ws.grids, lon, lat)
    for tier in TIERS:
        frame[f"grid_{tier}"] = located[f"grid_{tier}"].to_numpy()
    with connect(ws.store_path) as con:
        con.execute("BEGIN")
        append_events(con, frame)
        con.execute("COMMIT")
    return ws.root


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = build_app_workspace(tmp_path_factory.mktemp("appws"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRIDWATCH_WORKSPACE", str(root))
        yield root


def new_app(page: str | None = None, lang: str | None = None):  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    if lang:
        at.query_params["lang"] = lang
    if page:
        # before the first run a page is found by its file name, which is also its url_path here:
        # the page opens directly, without running the overview first
        at.switch_page(page)
    return at.run()


def ok(at) -> None:  # type: ignore[no-untyped-def]
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metrics(at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.label: m.value for m in at.metric}


def number(text: str) -> float:
    return float(text.replace(",", "").replace("%", ""))


def test_overview_renders_kpis_and_the_period_changes_them(workspace: Path) -> None:
    at = new_app()
    ok(at)
    assert at.title[0].value == "总览"
    m = metrics(at)
    assert {"事件总数", "12345 办结率", "超期未办结工单", "热点单元（≥95%）"} <= set(m)
    thirty = number(m["事件总数"])
    # 2,400 events over 84 days: 30 days hold a bit more than a third
    assert 700 < thirty < 1000
    assert len(at.dataframe) == 3  # ranking, problem list and patrol gaps
    at.radio(key="ov_period").set_value("7d").run()
    ok(at)
    assert number(metrics(at)["事件总数"]) < thirty / 3


def test_hotspot_page_tier_and_window_change_the_numbers(workspace: Path) -> None:
    at = new_app("app_pages/hotspots.py")
    ok(at)
    m = metrics(at)
    assert number(m["事件数"]) == 2400
    assert number(m["热点单元"]) >= 2  # the two planted hot spots
    small_cells = number(m["单元数"])
    at.checkbox(key="hs_show_zones").check().run()  # DBSCAN zones on request
    ok(at)
    assert number(metrics(at)["热点单元"]) == number(m["热点单元"])
    at.checkbox(key="hs_show_zones").uncheck()
    at.radio(key="hs_tier").set_value("middle").run()
    ok(at)
    assert number(metrics(at)["单元数"]) < small_cells / 4  # res 8 cells are ~7 times larger
    at.selectbox(key="hs_window").set_value("morning_peak").run()
    ok(at)
    morning = number(metrics(at)["事件数"])
    assert 0 < morning < 2400 / 4
    # the cell detail follows the selection (the map click sets the same widget)
    picker = next(sb for sb in at.selectbox if sb.key and sb.key.startswith("hs_cell_middle_"))
    assert format(int(picker.value), "x") in " ".join(md.value for md in at.markdown)  # the hottest cell
    other = int(picker.options[-1].split(" · ")[0], 16)
    picker.set_value(other).run()  # a map click sets the same widget
    ok(at)
    assert format(other, "x") in " ".join(md.value for md in at.markdown)
    at.radio(key="hs_mode").set_value("density").run()
    ok(at)
    assert number(metrics(at)["事件数"]) == morning  # a colour switch does not change the analysis


def test_planner_p_changes_the_coverage(workspace: Path) -> None:
    at = new_app("app_pages/planner.py")
    ok(at)
    m = metrics(at)
    assert number(m["岗位数"]) == 20
    cover20 = number(m["需求覆盖率"])
    at.number_input(key="pl_p").set_value(2)
    at.sidebar.button[0].click().run()  # the form's submit button
    ok(at)
    m = metrics(at)
    assert number(m["岗位数"]) == 2
    assert 50 < number(m["需求覆盖率"]) < cover20
    table = at.dataframe[0].value
    assert len(table) == 2 and "岗位位置" in table.columns and set(table["时段"]) == {"早高峰"}
    assert [b.label for b in at.get("download_button")] == ["下载 XLSX", "下载 CSV", "下载 GeoJSON"]


def test_planner_shows_library_errors_without_a_traceback(workspace: Path) -> None:
    at = new_app("app_pages/planner.py")
    at.number_input(key="pl_p").set_value(500)  # more posts than candidate sites
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert len(at.error) == 1
    text = at.error[0].value
    assert "岗位规划无法完成" in text and "p = 500" in text and "处理办法" in text
    assert "Traceback" not in text


def test_intake_ingests_a_small_file_and_reconciles(workspace: Path) -> None:
    at = new_app("app_pages/intake.py")
    ok(at)
    before = number(metrics(at)["事件总数"])
    lon = np.array([116.360, 116.365, 116.370, 116.375, 0.0, 116.5])
    csv = ("巡查编号,巡查时间,问题类型,经度,纬度,处置情况\n" + "\n".join(
        f"X{i},2024-03-{10 + i:02d} 08:30:00,闯红灯,{x},{39.91 if x else 0.0},已处置"
        for i, x in enumerate(lon)) + "\nX0,2024-03-10 08:30:00,闯红灯,116.36,39.91,已处置\n")
    at.file_uploader(key="in_file").set_value(("patrol_test.csv", csv.encode("utf-8"), "text/csv")).run()
    ok(at)
    assert any("7 行" in c.value for c in at.caption)  # preview: 7 data rows
    at.button(key="in_go").click().run()
    ok(at)
    m = metrics(at)
    read, stored, dup, quarantined = (number(m[k]) for k in ("读取", "入库", "重复", "隔离"))
    assert read == 7 and read == stored + dup + quarantined
    assert dup == 1 and quarantined == 2  # the repeated X0; a (0, 0) point and one outside the area
    assert stored == 4
    assert any("核对一致" in s.value for s in at.success)
    assert [b.label for b in at.get("download_button")] == ["下载隔离文件"]
    at.run()
    assert number(metrics(at)["事件总数"]) == before + 4


def test_language_switch_changes_labels(workspace: Path) -> None:
    at = new_app()
    assert at.title[0].value == "总览"
    at.radio(key="lang").set_value("en").run()
    ok(at)
    assert at.title[0].value == "Overview"
    assert {"Events", "12345 closure rate", "Overdue open work orders", "Hot cells (≥95%)"} <= set(metrics(at))
    assert at.radio(key="ov_tier").options == ["Big grid", "Middle grid", "Small grid"]
    # the choice survives a page change
    at.switch_page("app_pages/hotspots.py").run()
    ok(at)
    assert at.title[0].value == "Hotspot map"
    assert {"Events", "Cells", "Hot cells", "Cold cells"} <= set(metrics(at))
    assert at.radio(key="hs_tier").label == "Grid tier"
    # ?lang= starts a session in English
    assert new_app(lang="en").title[0].value == "Overview"


def test_broken_workspace_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRIDWATCH_WORKSPACE", str(tmp_path / "missing"))
        at = new_app()
    assert not at.exception
    assert "工作区不可用" in at.error[0].value and "gridwatch init" in at.error[0].value
    assert os.environ.get("GRIDWATCH_WORKSPACE") != str(tmp_path / "missing")


def _sample_ready() -> bool:
    from geo.store import store_counts
    from geo.workspace import SAMPLE_WORKSPACE

    store = SAMPLE_WORKSPACE / "store.duckdb"
    try:
        return store.exists() and store_counts(store)["events"] > 0
    except Exception:  # noqa: BLE001 - a store being written counts as not ready
        return False


@pytest.mark.skipif(not _sample_ready(), reason="the sample store is not prepared: run `make sample-data`")
def test_every_page_renders_on_the_sample() -> None:
    """The shipped Xicheng sample (what `make run` shows): every page, no exception, no error."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("GRIDWATCH_WORKSPACE", raising=False)
        at = new_app()
        ok(at)
        assert number(metrics(at)["事件总数"]) > 1000
        titles = {"app_pages/hotspots.py": "热点地图", "app_pages/planner.py": "岗位规划",
                  "app_pages/intake.py": "数据导入"}
        for page, title in titles.items():
            at.switch_page(page).run()
            ok(at)
            assert at.title[0].value == title
        assert number(metrics(at)["事件总数"]) > 50_000  # the intake page's store status


def test_hotspot_emerging_mode_colours_cells_and_draws_its_legend(workspace: Path) -> None:
    at = new_app("app_pages/hotspots.py", lang="en")
    events = number(metrics(at)["Events"])
    at.radio(key="hs_mode").set_value("emerging").run()
    ok(at)
    # 84 days = 12 weekly slices; the two planted hot spots run through every week
    caption = next(cp.value for cp in at.caption if cp.value.startswith("Emerging hot spots"))
    assert "12 weekly slices" in caption
    hot = int(caption.split("·")[-1].split("cells with a hot pattern")[0].strip())
    assert hot >= 2
    (folium_map,) = at.get("component_instance")
    page = str(folium_map.proto)
    assert "Emerging hot spot analysis" in page  # the legend's title
    assert "Persistent hot spot" in page or "Intensifying hot spot" in page
    assert "Gi* hot spot analysis" not in page
    assert number(metrics(at)["Events"]) == events  # a colour switch does not change the analysis


def test_overview_trends_section_renders(workspace: Path) -> None:
    at = new_app()
    ok(at)
    assert {"下周风险", "巡查覆盖缺口", "回头看：专项整治评估"} <= {s.value for s in at.subheader}
    assert at.header[0].value == "趋势与回头看"
    gaps = at.dataframe[2].value  # ranking, problems, gaps
    assert {"网格编号", "巡查缺口", "缺口最大时段"} <= set(gaps.columns) and 0 < len(gaps) <= 10
    assert (gaps["巡查缺口"] > 0).all()
    at.toggle(key="ov_forecast").set_value(True).run()
    ok(at)
    tables = [d.value for d in at.dataframe]
    grids = next(t for t in tables if "预计事件数" in t.columns and "单元数" in t.columns)
    assert grids["预计事件数"].is_monotonic_decreasing and len(grids) <= 10
    backtest = next(t for t in tables if "PAI 5%" in t.columns)
    assert backtest["模型"].str.startswith("★ ").sum() == 1  # one default model
    assert ((backtest["命中率 5%"] >= 0) & (backtest["命中率 5%"] <= 1)).all()


@pytest.mark.skipif(not _sample_ready(), reason="the sample store is not prepared: run `make sample-data`")
def test_review_form_finds_the_samples_planted_campaign() -> None:
    """回头看 on the sample's planted campaign (background thinned to 60 % in three middle grids)."""
    import json
    from datetime import date

    truth = json.loads((ROOT / "data" / "sample" / "raw" / "truth.json").read_text(encoding="utf-8"))["campaign"]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("GRIDWATCH_WORKSPACE", raising=False)
        at = new_app()
        ok(at)
        at.multiselect(key="ov_rv_grids").set_value(truth["grid_ids"])
        at.date_input(key="ov_rv_start").set_value(date.fromisoformat(truth["date"]))
        next(b for b in at.button if b.label == "评估").click().run()
        ok(at)
    change = number(metrics(at)["相对其余区域的变化"])
    assert change < 0
    assert abs(change / 100 - truth["effect"]) < 0.1  # planted: -40 %
    assert any("95% 区间" in cp.value for cp in at.caption)
