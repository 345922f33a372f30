import json

import pytest
import shapely

from geo.errors import SettingsError, WorkspaceError
from geo.settings import Tiers
from geo.store.workspace import init_workspace, load_workspace, metric_crs_for, update_settings


def test_init_from_bbox_creates_a_self_contained_workspace(tmp_path):
    ws = init_workspace(tmp_path / "w", bbox=(116.30, 39.85, 116.45, 39.97), timezone="Asia/Shanghai")
    assert (ws.root / "gridwatch.toml").exists()
    assert (ws.root / "area.geojson").exists()
    assert (ws.root / "quarantine").is_dir()
    assert len(ws.salt) >= 32 and (ws.root / ".salt").stat().st_mode & 0o077 == 0
    again = load_workspace(ws.root)
    assert again.settings.metric_crs == "EPSG:4548"
    assert again.area.bounds == pytest.approx((116.30, 39.85, 116.45, 39.97))
    assert again.salt == ws.salt


def test_another_city_needs_only_its_boundary(tmp_path):
    # New York: UTM 18N picked from the boundary, a US time zone.
    ws = init_workspace(tmp_path / "nyc", bbox=(-74.05, 40.68, -73.90, 40.88), timezone="America/New_York")
    assert ws.settings.metric_crs == "EPSG:32618"
    assert ws.settings.timezone == "America/New_York"


def test_init_refuses_bad_input(tmp_path):
    with pytest.raises(WorkspaceError, match="exactly one"):
        init_workspace(tmp_path / "a")
    with pytest.raises(WorkspaceError, match="min < max"):
        init_workspace(tmp_path / "b", bbox=(116.5, 39.9, 116.4, 40.0))
    with pytest.raises(SettingsError, match="timezone"):
        init_workspace(tmp_path / "c", bbox=(116.3, 39.8, 116.4, 39.9), timezone="Mars/Olympus")
    init_workspace(tmp_path / "d", bbox=(116.3, 39.8, 116.4, 39.9))
    with pytest.raises(WorkspaceError, match="already holds"):
        init_workspace(tmp_path / "d", bbox=(116.3, 39.8, 116.4, 39.9))


def test_init_from_area_file_reprojects_to_wgs84(tmp_path):
    import geopandas as gpd
    area = gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.box(116.3, 39.85, 116.4, 39.95)],
                            crs="EPSG:4326").to_crs("EPSG:4548")
    area.to_file(tmp_path / "area.gpkg")
    ws = init_workspace(tmp_path / "w", area=tmp_path / "area.gpkg")
    assert ws.area.bounds == pytest.approx((116.3, 39.85, 116.4, 39.95), abs=1e-6)


def test_missing_workspace_and_bad_settings_say_how_to_fix(tmp_path):
    with pytest.raises(WorkspaceError, match="gridwatch init"):
        load_workspace(tmp_path)
    ws = init_workspace(tmp_path / "w", bbox=(116.3, 39.8, 116.4, 39.9))
    cfg = ws.root / "gridwatch.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("small = 9", "small = 6"), encoding="utf-8")
    with pytest.raises(SettingsError, match="big <= middle <= small"):
        load_workspace(ws.root)


def test_update_settings_round_trips(tmp_path):
    ws = init_workspace(tmp_path / "w", bbox=(116.3, 39.8, 116.4, 39.9))
    ws2 = update_settings(ws, tiers=Tiers(big=6, middle=8, small=10))
    assert (ws2.settings.tiers.big, ws2.settings.tiers.small) == (6, 10)
    assert load_workspace(ws.root).settings.tiers.small == 10


def test_env_var_selects_the_workspace(tmp_path, monkeypatch):
    ws = init_workspace(tmp_path / "w", bbox=(116.3, 39.8, 116.4, 39.9))
    monkeypatch.setenv("GRIDWATCH_WORKSPACE", str(ws.root))
    assert load_workspace().root == ws.root


def test_metric_crs_for_beijing_is_4548():
    assert metric_crs_for(116.37, 39.91) == "EPSG:4548"
    assert metric_crs_for(121.47, 31.23) == "EPSG:4549"  # Shanghai, CM 120E
    assert metric_crs_for(2.35, 48.85) == "EPSG:32631"


def test_sample_workspace_config_is_valid():
    ws = load_workspace()
    assert ws.settings.tiers.small == 9
    assert ws.paths["grids"].name == "official_grids.geojson"
    assert json.loads(json.dumps(ws.settings.source_crs))["hotline"] == "GCJ02"


def test_place_defaults_follow_the_region():
    import shapely

    from geo.settings import DEFAULT_SOURCE_CRS
    from geo.store.workspace import infer_timezone, place_defaults

    assert infer_timezone(-0.12, 51.5) == "Europe/London"
    assert infer_timezone(-46.63, -23.55) == "America/Sao_Paulo"
    assert infer_timezone(116.4, 39.9) == "Asia/Shanghai"
    beijing = place_defaults(shapely.box(116.3, 39.8, 116.4, 39.9))
    assert beijing.in_china and beijing.source_crs == DEFAULT_SOURCE_CRS and beijing.timezone == "Asia/Shanghai"
    london = place_defaults(shapely.box(-0.2, 51.45, -0.05, 51.55))
    assert not london.in_china and set(london.source_crs.values()) == {"WGS84"}
    assert london.timezone == "Europe/London" and "tzfpy" in london.timezone_how
    # Hong Kong is in China's time zone family but not on GCJ-02 maps' mainland defaults
    hk = place_defaults(shapely.box(114.15, 22.27, 114.2, 22.32))
    assert hk.timezone == "Asia/Hong_Kong" and not hk.in_china


def test_a_workspace_outside_china_reads_sources_as_wgs84(tmp_path):
    from geo.store.workspace import load_workspace

    ws = init_workspace(tmp_path / "ldn", bbox=(-0.2, 51.45, -0.05, 51.55))
    again = load_workspace(ws.root)
    assert again.settings.timezone == "Europe/London"
    assert set(again.settings.source_crs.values()) == {"WGS84"}
