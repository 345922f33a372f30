"""The Streamlit service with Streamlit's AppTest: every page renders, widgets change the numbers.

The app runs on a small built workspace (5.7 km² of Xicheng, synthetic grids
and roads, 2,400 events around two planted hot spots), written straight into
the store so the test does not depend on the sample's size.
``build_app_workspace`` and ``add_test_users`` are shared with ``tests/test_browser.py``.

Logins: the role tests log in through the form; the page tests start with a
session of a role already in ``st.session_state`` (what the form leaves there),
which keeps them from rendering the default page first.
"""

from __future__ import annotations

import os
import re
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
BBOX = (116.355, 39.900, 116.385, 39.922)
HOT = np.array([[116.3625, 39.9080], [116.3770, 39.9150]])  # red-light junction, vending street
PASSWORD = "gw-test-pass-1"  # the test profile of argon2 keeps hashing cheap (GRIDWATCH_ARGON2_PROFILE=test)
N_CALLERS, N_PLATES = 40, 25  # hotline callers and violation plates of the fixture (repeats by hash)


def add_test_users(root: Path) -> dict[str, str]:
    """One user per role, named after the role, all with :data:`PASSWORD`; returns user -> role."""
    from geo.access import auth
    from geo.store.workspace import load_workspace

    ws = load_workspace(root)
    for role in auth.ROLES:
        auth.add_user(ws, role, role, PASSWORD, display_name=f"测试{role}", actor="test")
    return {role: role for role in auth.ROLES}


def build_app_workspace(root: Path, *, seed: int = 7, n: int = 2400) -> Path:
    """A small complete workspace: area, nested grids, roads, intersections and ``n`` stored events.

    A third of the events are red-light running at one junction (07–09 and
    17–19), a third vending along a street, the rest spread evenly; 70 % are
    closed.  Deterministic for a seed.
    """
    import shapely

    from geo.grid import h3cells
    from geo.grid.officialgrids import locate_points
    from geo.grid.roads import intersections
    from geo.settings import TIERS
    from geo.store.database import append_events, connect
    from geo.store.workspace import init_workspace
    from geo.synthetic.grids import nested_grids
    from geo.synthetic.roads import street_network

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    area = shapely.box(*BBOX)
    nested_grids(area, mean_km2=(1.6, 0.55, 0.12), seed=seed, lloyd_iterations=0).to_file(
        root / "grids_in.geojson", driver="GeoJSON")
    roads = street_network(area, seed=seed)
    roads.to_file(root / "roads.geojson", driver="GeoJSON")
    intersections(roads).to_file(root / "intersections.geojson", driver="GeoJSON")
    ws = init_workspace(root / "ws", bbox=BBOX, grids=root / "grids_in.geojson", name="测试工作区 test",
                        extra_paths={"roads": str(root / "roads.geojson"),
                                     "intersections": str(root / "intersections.geojson")})
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
    violation = sources == "violation"
    # repeat callers and plates: the k-th caller/plate has a fixed (fake) 32-hex hash and masked form
    caller, plate = np.arange(n) % N_CALLERS, np.arange(n) % N_PLATES
    phone_hash = np.char.add("c0ffee", np.char.zfill(caller.astype(str), 26))
    plate_hash = np.char.add("beef00", np.char.zfill(plate.astype(str), 26))
    ids = np.char.add("T", np.arange(n).astype(str))
    frame = pd.DataFrame({
        "event_id": np.char.add(np.char.add(sources.astype(str), ":"), ids), "source": sources, "source_id": ids,
        "category": category, "category_raw": category, "occurred_at": occurred, "lon": lon, "lat": lat,
        "crs_in": "WGS84", "location_method": "coordinates", "address": "测试路1号",
        "status": np.where(closed, "已办结", "处理中"), "is_closed": closed, "closed_at": closed_at.to_numpy(),
        "text": np.where(hotline, "市民反映路口秩序问题，电话138****5678", ""),
        "phone_masked": np.where(hotline, np.char.add("138****", np.char.zfill(caller.astype(str), 4)), None),
        "phone_hash": np.where(hotline, phone_hash, None),
        "plate_masked": np.where(violation, np.char.add("京A·***", np.char.zfill(plate.astype(str), 2)), None),
        "plate_hash": np.where(violation, plate_hash, None), "content_hash": ids, "ingest_id": "fixture",
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
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRIDWATCH_ARGON2_PROFILE", "test")
        root = build_app_workspace(tmp_path_factory.mktemp("appws"))
        add_test_users(root)
        mp.setenv("GRIDWATCH_WORKSPACE", str(root))
        yield root


def new_app(page: str | None = None, lang: str | None = None, user: str | None = "analyst"):  # type: ignore[no-untyped-def]
    """An AppTest run; ``user`` (named after its role) is logged in already, ``None`` for the login form."""
    from streamlit.testing.v1 import AppTest

    from geo.app import session

    at = AppTest.from_file(APP, default_timeout=60)
    if lang:
        at.query_params["lang"] = lang
    if user:
        at.session_state[session.USER_KEY] = {"username": user, "role": user, "display_name": ""}
        at.session_state[session.LAST_SEEN_KEY] = time.time()
    if page:
        # before the first run a page is found by its file name, which is also its url_path here:
        # the page opens directly, without running the overview first
        at.switch_page(page)
    return at.run()


def ok(at) -> None:  # type: ignore[no-untyped-def]
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def submit(at, label: str):  # type: ignore[no-untyped-def]
    """Click the (form submit) button with this label."""
    return next(b for b in at.button if b.label == label).click()


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
    # the grid map first (a choropleth of the official grids), then the picked grid's open problems,
    # the ranking, the problem list and the patrol gaps
    assert len(at.get("component_instance")) == 1
    assert len(at.dataframe) == 4
    assert at.selectbox(key="ov_grid_small").value == at.dataframe[1].value["网格编号"].iloc[0]  # top grid
    ranking = at.dataframe[1].value
    assert list(ranking.columns[:5]) == ["排名", "网格名称", "街道", "本期事件", "环比"]
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
    # the detail names the cell by its official grid (a leader reads places, not hex ids)
    assert picker.options[picker.index].startswith("第1位 · ")  # the hottest cell first
    assert not re.search(r"\b8[89][0-9a-f]{13}\b", " ".join(picker.options))  # no H3 ids
    grid_name = picker.options[picker.index].split(" · ")[1]
    assert f"**{grid_name}**" in " ".join(md.value for md in at.markdown)
    last = len(picker.options) - 1
    other = picker.options[last].split(" · ")[1]
    picker.select_index(last).run()  # a map click sets the same widget
    ok(at)
    assert f"**{other}**" in " ".join(md.value for md in at.markdown)
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
    submit(at, "计算岗位").run()  # the planner form's submit button
    ok(at)
    m = metrics(at)
    assert number(m["岗位数"]) == 2
    assert 50 < number(m["需求覆盖率"]) < cover20
    table = at.dataframe[0].value
    # what a brigade reads first, then one coordinate pair with six decimals
    assert len(table) == 2 and list(table.columns[:5]) == ["序号", "岗位位置", "街道", "新增覆盖", "累计覆盖率"]
    assert [col for col in table.columns if "经度" in col] == ["经度（GCJ-02）"]
    assert table["经度（GCJ-02）"].str.fullmatch(r"\d+\.\d{6}").all()
    assert any(cp.value.startswith("早高峰") for cp in at.caption)  # the window is named once, above the map
    assert [b.label for b in at.get("download_button")] == ["下载 XLSX", "下载 CSV", "下载 GeoJSON"]


def test_planner_shows_library_errors_without_a_traceback(workspace: Path) -> None:
    at = new_app("app_pages/planner.py")
    at.number_input(key="pl_p").set_value(500)  # more posts than candidate sites
    submit(at, "计算岗位").run()
    assert not at.exception
    assert len(at.error) == 1
    text = at.error[0].value
    assert "岗位规划无法完成" in text and "p = 500" in text and "处理办法" in text
    assert "Traceback" not in text


def test_intake_ingests_a_small_file_and_reconciles(workspace: Path) -> None:
    at = new_app("app_pages/intake.py", user="admin")
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


def test_intake_refuses_bad_uploads_and_keeps_files_in_the_workspace(workspace: Path) -> None:
    uploads = workspace / "uploads"
    before = sorted(uploads.rglob("*")) if uploads.exists() else []
    at = new_app("app_pages/intake.py", user="admin")
    zip_as_csv = b"PK\x03\x04" + b"\x00" * 200  # an archive named .csv
    at.file_uploader(key="in_file").set_value(("patrol.csv", zip_as_csv, "text/csv")).run()
    assert not at.exception
    assert "上传的文件被拒绝" in at.error[0].value and "处理办法" in at.error[0].value
    assert not any(b.key == "in_go" for b in at.button)  # nothing to ingest
    assert (sorted(uploads.rglob("*")) if uploads.exists() else []) == before  # nothing written
    # a name with folders is stored under its base name, inside the workspace
    csv = "巡查编号,巡查时间,问题类型,经度,纬度\nZ1,2024-03-10 08:30:00,闯红灯,116.36,39.91\n".encode()
    at.file_uploader(key="in_file").set_value(("../../outside.csv", csv, "text/csv")).run()
    ok(at)
    stored = [p for p in uploads.rglob("outside.csv")]
    assert len(stored) == 1 and stored[0].read_bytes() == csv
    assert not (workspace.parent / "outside.csv").exists() and not (workspace.parent.parent / "outside.csv").exists()


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
    from geo.store.database import store_counts
    from geo.store.workspace import SAMPLE_WORKSPACE

    store = SAMPLE_WORKSPACE / "store.duckdb"
    try:
        return store.exists() and store_counts(store)["events"] > 0
    except Exception:  # noqa: BLE001 - a store being written counts as not ready
        return False


def sample_users(mp: pytest.MonkeyPatch) -> None:
    """Run on the shipped sample, whose password file is not the tests' to change.

    The app looks the session's user up on every run (a disabled user is logged
    out at once); here every role name is a user of that role.
    """
    from geo.access import auth

    mp.delenv("GRIDWATCH_WORKSPACE", raising=False)
    mp.setattr(auth, "get_user", lambda ws, name: auth.User(name, name, "", False, "") if name in auth.ROLES
               else None)


@pytest.mark.skipif(not _sample_ready(), reason="the sample store is not prepared: run `make sample-data`")
def test_every_page_renders_on_the_sample() -> None:
    """The shipped Xicheng sample (what `make run` shows): every page, no exception, no error."""
    with pytest.MonkeyPatch.context() as mp:
        sample_users(mp)
        at = new_app()
        ok(at)
        assert number(metrics(at)["事件总数"]) > 1000
        titles = {"app_pages/hotspots.py": "热点地图", "app_pages/planner.py": "岗位规划",
                  "app_pages/events.py": "事件明细"}
        for page, title in titles.items():
            at.switch_page(page).run()
            ok(at)
            assert at.title[0].value == title
        at = new_app("app_pages/intake.py", user="admin")
        ok(at)
        assert at.title[0].value == "数据导入"
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
    assert folium_map is not None
    # the legend sits under the map (inside it, it hid cells and clipped tooltips)
    page = " ".join(str(h.proto) for h in at.get("html"))
    assert "Emerging hot spot analysis" in page  # the legend's title
    assert "Persistent hot spot" in page or "Intensifying hot spot" in page
    assert "Gi* hot spot analysis" not in page
    assert number(metrics(at)["Events"]) == events  # a colour switch does not change the analysis


def test_overview_trends_section_renders(workspace: Path) -> None:
    at = new_app()
    ok(at)
    assert {"下周风险", "巡查覆盖缺口", "回头看：专项整治评估"} <= {s.value for s in at.subheader}
    assert at.header[0].value == "趋势与回头看"
    gaps = at.dataframe[-1].value  # grid problems, ranking, problems, gaps
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
        sample_users(mp)
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


# --- login, roles, sessions (issue 12) ------------------------------------------------------------------

ALL_PAGES = ("overview", "hotspots", "planner", "events", "intake", "users", "settings", "audit")
# role -> page -> the download buttons on it (written out here, checked against geo.access.auth's table)
ROLE_VIEW: dict[str, dict[str, set[str]]] = {
    "leader": {"overview": {"ov_dl_xlsx", "ov_dl_csv"}, "hotspots": {"hs_dl_geojson", "hs_dl_csv"}},
    "brigade": {"hotspots": set(), "planner": {"pl_dl_xlsx", "pl_dl_csv", "pl_dl_geojson"}},
    "analyst": {"overview": {"ov_dl_xlsx", "ov_dl_csv"}, "hotspots": {"hs_dl_geojson", "hs_dl_csv"},
                "planner": {"pl_dl_xlsx", "pl_dl_csv", "pl_dl_geojson"}, "events": {"evp_dl_csv"}},
    "admin": {"intake": set(), "users": set(), "settings": set(), "audit": {"au_dl_csv"}},
}
ROLE_ZH = {"leader": "领导", "brigade": "执法队员", "analyst": "分析员", "admin": "管理员"}


def login(at, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Fill in the login form and submit it."""
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button(key="login_submit").click().run()


def on_login_form(at) -> bool:  # type: ignore[no-untyped-def]
    return any(t.key == "login_username" for t in at.text_input)


def audit_rows(root: Path, action: str, actor: str) -> pd.DataFrame:
    from geo.store.audit import read_audit
    from geo.store.workspace import load_workspace

    return read_audit(load_workspace(root), action=action, actor=actor)


def reachable_pages(at) -> set[str]:  # type: ignore[no-untyped-def]
    """The pages st.navigation registered (AppTest refuses to switch to any other)."""
    found = set()
    for page in ALL_PAGES:
        try:
            at.switch_page(f"app_pages/{page}.py")
        except ValueError:
            continue
        found.add(page)
    return found


@pytest.mark.parametrize("role", list(ROLE_VIEW))
def test_each_role_sees_exactly_its_pages_and_downloads(workspace: Path, role: str) -> None:
    from geo.access import auth

    assert tuple(ROLE_VIEW[role]) == auth.pages_for(role)  # the table above is geo.access.auth's
    at = new_app(user=None)
    ok(at)
    assert at.title[0].value == "登录 gridwatch" and not at.get("download_button")
    login(at, role)
    ok(at)
    assert not on_login_form(at)
    assert f"**测试{role}** · {ROLE_ZH[role]}" in [m.value for m in at.sidebar.markdown]
    assert len(audit_rows(workspace, "login", role)) >= 1
    pages = list(ROLE_VIEW[role])
    assert at.title[0].value == {"overview": "总览", "hotspots": "热点地图", "intake": "数据导入"}[pages[0]]
    assert reachable_pages(at) == set(pages)
    for page in pages:
        at.switch_page(f"app_pages/{page}.py").run()
        ok(at)
        assert {b.key for b in at.get("download_button")} == ROLE_VIEW[role][page], page


def test_event_page_shows_masked_data_and_repeats_and_audits_downloads(workspace: Path) -> None:
    from geo.store.database import read_events
    from geo.store.workspace import load_workspace

    at = new_app("app_pages/events.py", user="analyst")
    ok(at)
    table = at.dataframe[0].value
    assert len(table) == 50  # the first page
    assert {"电话（脱敏）", "车牌（脱敏）", "身份证号（脱敏）"} <= set(table.columns)
    shown = " ".join(str(d.value.to_dict()) for d in at.dataframe)
    assert "c0ffee" not in shown and "beef00" not in shown  # the hashes never reach the page
    assert not any("hash" in str(col) for d in at.dataframe for col in d.value.columns)
    # repeat callers: counted by hash, shown by mask
    ev = read_events(load_workspace(workspace).store_path)
    top = ev["phone_hash"].value_counts()
    callers = at.dataframe[1].value
    assert callers["事件数"].tolist() == top.head(len(callers)).tolist()
    best = ev.loc[ev["phone_hash"] == top.index[0], "phone_masked"].iloc[0]
    assert callers["脱敏号码"].iloc[0] == best
    assert at.dataframe[2].value["事件数"].iloc[0] == ev["plate_hash"].value_counts().iloc[0]
    # paging
    at.number_input(key="evp_page").set_value(2).run()
    ok(at)
    assert at.dataframe[0].value["事件编号"].iloc[0] != table["事件编号"].iloc[0]
    # a download click is audited with what and the filters
    before = len(audit_rows(workspace, "download", "analyst"))
    next(b for b in at.get("download_button") if b.key == "evp_dl_csv").click().run()
    ok(at)
    rows = audit_rows(workspace, "download", "analyst")
    assert len(rows) == before + 1
    details = rows["details"].iloc[-1]
    assert '"what": "events"' in details.replace('":"', '": "') and "window" in details


def test_wrong_password_unknown_user_and_lockout(workspace: Path) -> None:
    from geo.access import auth
    from geo.store.workspace import load_workspace

    ws = load_workspace(workspace)
    auth.add_user(ws, "locky", "brigade", PASSWORD, actor="test")
    at = new_app(user=None)
    login(at, "brigade", "not-the-password")
    answer = at.error[0].value
    assert on_login_form(at) and answer.startswith("用户名或密码错误")
    login(at, "nobody-here", "not-the-password")
    assert at.error[0].value == answer  # the same answer: no hint which users exist
    for _ in range(ws.settings.access.max_failed_logins):
        login(at, "locky", "not-the-password")
    login(at, "locky", PASSWORD)  # even the right password is refused while locked ...
    assert on_login_form(at) and at.error[0].value == answer  # ... with the same answer
    assert len(audit_rows(workspace, "login_locked", "locky")) >= 1
    assert not any(b.key == "gw_logout" for b in at.button) and not at.dataframe  # still nobody logged in


def test_idle_session_times_out_and_logout(workspace: Path) -> None:
    from geo.app import session
    from geo.store.workspace import load_workspace

    timeout_s = load_workspace(workspace).settings.access.session_timeout_minutes * 60
    at = new_app("app_pages/hotspots.py", user=None)
    login(at, "brigade")
    ok(at)
    assert at.title[0].value == "热点地图"
    at.session_state[session.LAST_SEEN_KEY] = time.time() - timeout_s + 60  # idle, but not long enough
    at.run()
    assert not on_login_form(at)
    at.session_state[session.LAST_SEEN_KEY] = time.time() - timeout_s - 1
    at.run()
    assert on_login_form(at) and "长时间未操作" in at.info[0].value
    logouts = audit_rows(workspace, "logout", "brigade")
    assert '"timeout"' in logouts["details"].iloc[-1]
    login(at, "brigade")
    at.button(key="gw_logout").click().run()
    assert on_login_form(at) and at.info[0].value == "已退出登录。"
    assert '"logout"' in audit_rows(workspace, "logout", "brigade")["details"].iloc[-1]


def test_a_page_outside_the_role_is_refused(workspace: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from geo.app import session

    at = new_app(user="brigade")
    ok(at)
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page("app_pages/events.py")  # not in the brigade's navigation
    # and the page script itself refuses a role without its permission
    page = AppTest.from_file(str(ROOT / "app_pages" / "events.py"), default_timeout=60)
    page.session_state[session.USER_KEY] = {"username": "brigade", "role": "brigade", "display_name": ""}
    page.run()
    assert "无权" in page.error[0].value and not page.dataframe and not page.get("download_button")


def test_no_users_shows_the_bootstrap_hint(tmp_path: Path) -> None:
    from geo.store.workspace import init_workspace

    ws = init_workspace(tmp_path / "empty", bbox=BBOX, name="empty")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRIDWATCH_WORKSPACE", str(ws.root))
        at = new_app(user=None)
    assert not at.exception
    assert "gridwatch users bootstrap" in at.warning[0].value and not on_login_form(at)


def test_admin_manages_users_and_settings_with_audit(workspace: Path) -> None:
    from geo.access import auth
    from geo.store.workspace import load_workspace

    at = new_app("app_pages/users.py", user="admin")
    ok(at)
    at.text_input(key="us_add_name").input("新队员")
    at.selectbox(key="us_add_role").set_value("brigade")
    at.text_input(key="us_add_pw").input("another-pass-9")
    at.text_input(key="us_add_pw2").input("another-pass-9")
    at.button(key="us_add_go").click().run()
    ok(at)
    ws = load_workspace(workspace)
    assert auth.get_user(ws, "新队员").role == "brigade"
    assert "新队员" in at.dataframe[0].value["用户名"].tolist()
    at.selectbox(key="us_pick").set_value("新队员").run()
    at.selectbox(key="us_role_新队员").set_value("leader").run()
    at.button(key="us_role_go").click().run()
    ok(at)
    at.button(key="us_state_go").click().run()  # disable
    ok(at)
    user = auth.get_user(ws, "新队员")
    assert user.role == "leader" and user.disabled
    assert len(audit_rows(workspace, "user_change", "admin")) >= 2
    # settings: the change is written and audited, then put back
    at.switch_page("app_pages/settings.py").run()
    ok(at)
    radius = ws.settings.posts.radius_m
    at.number_input(key="st_radius").set_value(radius + 25)
    at.button(key="st_save").click().run()
    ok(at)
    assert load_workspace(workspace).settings.posts.radius_m == radius + 25
    assert "posts" in audit_rows(workspace, "settings_change", "admin")["details"].iloc[-1]
    at.number_input(key="st_radius").set_value(radius)
    at.button(key="st_save").click().run()
    assert load_workspace(workspace).settings.posts.radius_m == radius
    # the audit page verifies the chain
    at.switch_page("app_pages/audit.py").run()
    ok(at)
    assert "锚定记录校验通过" in at.success[0].value
    assert len(at.dataframe[0].value) > 5


def test_oidc_login_maps_the_e_mail_to_a_local_user(tmp_path: Path) -> None:
    from geo.access import auth
    from geo.store.workspace import init_workspace, update_settings

    ws = init_workspace(tmp_path / "sso", bbox=BBOX, name="sso")
    ws = update_settings(ws, actor="test", access={**ws.settings.access.model_dump(), "mode": "oidc"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRIDWATCH_ARGON2_PROFILE", "test")
        mp.setenv("GRIDWATCH_WORKSPACE", str(ws.root))
        auth.add_user(ws, "wang", "leader", PASSWORD, email="wang@example.gov.cn", actor="test")
        secrets = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                            "client_id": "gridwatch", "client_secret": "s",
                            "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}}
        at = new_app(user=None)
        at.secrets.update(secrets)
        at.user = {"is_logged_in": False}
        at.run()
        assert any(b.key == "login_oidc" for b in at.button) and not on_login_form(at)
        at.user = {"is_logged_in": True, "email": "wang@example.gov.cn"}
        at.run()
        ok(at)
        assert "**wang** · 领导" in [m.value for m in at.sidebar.markdown]
        assert reachable_pages(at) == {"overview", "hotspots"}
        # an identity without a local user gets no session
        other = new_app(user=None)
        other.secrets.update(secrets)
        other.user = {"is_logged_in": True, "email": "stranger@example.com"}
        other.run()
        assert "stranger@example.com" in other.error[0].value and not any(b.key == "gw_logout" for b in other.button)
