"""Workspaces: a folder with ``gridwatch.toml``, reference geography, the store and quarantine.

Layout of a workspace ``DIR``::

    DIR/gridwatch.toml      settings and the paths below (relative to DIR)
    DIR/area.geojson        study area (WGS84)
    DIR/official_grids.geojson   official grids (optional), one layer with a ``tier`` column
    DIR/store.duckdb        the event store
    DIR/quarantine/         rejected rows, one CSV per ingested file
    DIR/categories.toml     the workspace's own categories (see geo.store.categories)
    DIR/.salt               the secret salt of personal-data hashes (never commit it)

The shipped Xicheng sample (``data/sample``) is the default workspace; every
command takes ``--workspace DIR`` or the ``GRIDWATCH_WORKSPACE`` variable.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import tomli_w
from pydantic import ValidationError

from geo.errors import SettingsError, WorkspaceError
from geo.settings import DEFAULT_SOURCE_CRS, Settings
from geo.store.categories import read_categories

CONFIG_NAME = "gridwatch.toml"
ENV_VAR = "GRIDWATCH_WORKSPACE"
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_WORKSPACE = REPO_ROOT / "data" / "sample"

_PATH_KEYS = ("area", "grids", "roads", "intersections", "gazetteer", "store", "quarantine")


@dataclass(frozen=True)
class Workspace:
    """An opened workspace: its folder, settings and resolved paths."""

    root: Path
    settings: Settings
    paths: dict[str, Path | None] = field(default_factory=dict)

    @property
    def store_path(self) -> Path:
        return self.paths["store"] or self.root / "store.duckdb"

    @property
    def quarantine_dir(self) -> Path:
        return self.paths["quarantine"] or self.root / "quarantine"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def cache_dir(self) -> Path:
        """Derived files a process may rebuild at any time (e.g. the official-grid lookup)."""
        return self.root / ".cache"

    @cached_property
    def area(self) -> shapely.Geometry:
        """The study area as one (multi)polygon in WGS84."""
        path = self.paths.get("area")
        if path is None or not path.exists():
            raise WorkspaceError(
                f"workspace {self.root}: study area file {path} not found; "
                "set [workspace] area = \"FILE\" in gridwatch.toml or re-run `gridwatch init`")
        gdf = gpd.read_file(path)
        if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
            gdf = gdf.to_crs("EPSG:4326")
        geom = shapely.union_all(gdf.geometry.values)
        if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise WorkspaceError(f"study area {path} must contain polygons, got {geom.geom_type}")
        return shapely.make_valid(geom)

    @cached_property
    def grids(self) -> gpd.GeoDataFrame | None:
        """Official grids (WGS84) or ``None`` when the workspace has none."""
        from geo.grid.officialgrids import read_official_grids

        path = self.paths.get("grids")
        if path is None:
            return None
        if not path.exists():
            raise WorkspaceError(f"official grid file {path} (from gridwatch.toml) does not exist")
        return read_official_grids(path)

    @cached_property
    def salt(self) -> str:
        """Secret salt for personal-data hashes; created on first use."""
        path = self.root / ".salt"
        if not path.exists():
            from geo.privacy import new_salt

            path.write_text(new_salt(), encoding="utf-8")
            os.chmod(path, 0o600)
        return path.read_text(encoding="utf-8").strip()

    def path(self, key: str) -> Path | None:
        return self.paths.get(key)


def _resolve(root: Path, value: str | None) -> Path | None:
    if not value:
        return None
    p = Path(value)
    if p.is_absolute():
        return p  # an absolute path is the administrator's explicit choice
    # A relative path must stay in the workspace: '../../etc/passwd' is refused.  Checked
    # on the normalised text, so a folder the administrator symlinked in still works.
    full = Path(os.path.normpath(root / p))
    if "\x00" in value or not full.is_relative_to(os.path.normpath(root)):
        raise WorkspaceError(
            f"{root / CONFIG_NAME}: path {value!r} leads outside the workspace folder {root}; "
            "give a path inside the workspace (e.g. raw/standard_addresses.csv) or an absolute path")
    return root / p


def resolve_workspace_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The workspace folder from an argument, ``GRIDWATCH_WORKSPACE`` or the sample."""
    if path:
        return Path(path).expanduser().resolve()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return SAMPLE_WORKSPACE


def load_workspace(path: str | os.PathLike[str] | None = None) -> Workspace:
    """Open a workspace.

    Parameters
    ----------
    path : path-like, optional
        The workspace folder (or its ``gridwatch.toml``).  Default: the
        ``GRIDWATCH_WORKSPACE`` variable, else the shipped Xicheng sample.
    """
    root = resolve_workspace_dir(path)
    if root.is_file() and root.name == CONFIG_NAME:
        root = root.parent
    config = root / CONFIG_NAME
    if not config.exists():
        raise WorkspaceError(
            f"{root} is not a gridwatch workspace (no {CONFIG_NAME}); create one with "
            f"`gridwatch init {root} --area AREA.geojson` or pass --workspace")
    try:
        doc = tomllib.loads(config.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{config}: invalid TOML: {exc}") from None
    ws = doc.get("workspace", {})
    unknown = set(ws) - set(_PATH_KEYS) - {"name"}
    if unknown:
        raise SettingsError(f"{config}: unknown key(s) {sorted(unknown)} in [workspace]; "
                            f"known keys: name, {', '.join(_PATH_KEYS)}")
    settings_doc = dict(doc.get("settings", {}))
    if "name" in ws:
        settings_doc.setdefault("name", ws["name"])
    try:
        settings = Settings.model_validate(settings_doc)
    except ValidationError as exc:
        raise SettingsError(f"{config}: invalid settings:\n{_format_validation(exc)}") from None
    own, values = read_categories(root, {c.code for c in settings.categories})
    if own or values:
        settings = settings.model_copy(update={"workspace_categories": own, "category_values": values})
    paths = {k: _resolve(root, ws.get(k)) for k in _PATH_KEYS}
    return Workspace(root=root, settings=settings, paths=paths)


def _format_validation(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        lines.append(f"  [settings] {loc}: {err['msg']}")
    return "\n".join(lines)


def metric_crs_for(lon: float, lat: float) -> str:
    """A metric CRS suited to a place: CGCS2000 3-degree Gauss-Kruger in China, else UTM.

    Beijing (116.4°E) gets EPSG:4548 (central meridian 117°E).
    """
    if 73.0 <= lon <= 136.0 and 17.0 <= lat <= 54.0:
        zone = int(round((lon - 75.0) / 3.0))
        return f"EPSG:{4534 + zone}"
    zone = int((lon + 180.0) // 6.0) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


MAINLAND_CHINA_ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Chongqing", "Asia/Harbin", "Asia/Kashgar")
"""IANA zones of mainland China: the only places where GCJ-02 / CGCS2000 source defaults apply."""


@dataclass(frozen=True)
class PlaceDefaults:
    """What ``init`` chose for a study area, and how (shown to the user)."""

    timezone: str
    timezone_how: str
    in_china: bool
    source_crs: dict[str, str]
    crs_how: str

    def to_dict(self) -> dict[str, Any]:
        return {"timezone": self.timezone, "timezone_how": self.timezone_how, "in_china": self.in_china,
                "source_crs": dict(self.source_crs), "crs_how": self.crs_how}


def infer_timezone(lon: float, lat: float) -> str:
    """IANA time zone at a WGS84 point, found offline (``tzfpy``'s time-zone boundary polygons).

    New York (-73.98, 40.7) gives ``America/New_York``; Beijing ``Asia/Shanghai``;
    the open sea an ``Etc/GMT±N`` nautical zone.
    """
    import tzfpy

    name = tzfpy.get_tz(float(lon), float(lat))
    return name or "UTC"


def place_defaults(area: shapely.Geometry, timezone: str | None = None) -> PlaceDefaults:
    """The time zone and per-source coordinate systems a workspace over ``area`` starts with.

    Parameters
    ----------
    area : shapely geometry
        Study area in WGS84.
    timezone : str, optional
        A time zone the user gave; else inferred at the area's representative point.

    Notes
    -----
    Mainland China (the zone at the area's point is one of :data:`MAINLAND_CHINA_ZONES`) keeps
    the Chinese sources' defaults (12345 in GCJ-02, police in CGCS2000, snapshots in BD-09);
    everywhere else every source defaults to WGS84, since GCJ-02 and BD-09 exist only on
    Chinese maps.
    """
    point = shapely.point_on_surface(area)
    found = infer_timezone(point.x, point.y)
    if timezone:
        tz, tz_how = timezone, "given with --timezone"
    else:
        tz, tz_how = found, f"inferred offline from the area's point ({point.x:.4f}, {point.y:.4f}) with tzfpy"
    in_china = found in MAINLAND_CHINA_ZONES
    if in_china:
        crs, how = dict(DEFAULT_SOURCE_CRS), (
            "area in mainland China: sources keep the Chinese defaults (patrol WGS84, 12345 GCJ-02, "
            "police CGCS2000, snapshots BD-09)")
    else:
        crs, how = {s: "WGS84" for s in DEFAULT_SOURCE_CRS}, (
            f"area outside mainland China (time zone {found}): every source defaults to WGS84; "
            "GCJ-02 / BD-09 / CGCS2000 apply only in China (override per file with --crs)")
    return PlaceDefaults(timezone=tz, timezone_how=tz_how, in_china=in_china, source_crs=crs, crs_how=how)


def init_workspace(
    directory: str | os.PathLike[str],
    *,
    area: str | os.PathLike[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    grids: str | os.PathLike[str] | None = None,
    timezone: str | None = None,
    name: str | None = None,
    metric_crs: str | None = None,
    extra_paths: dict[str, str] | None = None,
    overwrite: bool = False,
) -> Workspace:
    """Create a workspace folder from a study area (file or bbox).

    The area (and grids, if given) are copied into the workspace as WGS84
    GeoJSON so the workspace is self-contained.  A fresh secret salt is
    written to ``.salt``.  Without ``timezone`` the IANA zone is inferred from
    the area (offline), and the sources' default coordinate systems follow the
    region: see :func:`place_defaults`.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    root = Path(directory).expanduser().resolve()
    if (area is None) == (bbox is None):
        raise WorkspaceError("give exactly one of --area FILE or --bbox minlon,minlat,maxlon,maxlat")
    try:
        if timezone is not None:
            ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"unknown timezone {timezone!r}; use an IANA name like 'Asia/Shanghai'") from None
    if (root / CONFIG_NAME).exists() and not overwrite:
        raise WorkspaceError(f"{root} already holds a workspace ({CONFIG_NAME}); choose another folder")
    root.mkdir(parents=True, exist_ok=True)

    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
            raise WorkspaceError(
                f"bbox {bbox} is not minlon,minlat,maxlon,maxlat in WGS84 degrees with min < max")
        area_gdf = gpd.GeoDataFrame({"name": [name or "study area"]},
                                    geometry=[shapely.box(minx, miny, maxx, maxy)], crs="EPSG:4326")
    else:
        area_path = Path(area)  # type: ignore[arg-type]
        if not area_path.exists():
            raise WorkspaceError(f"area file {area_path} does not exist")
        area_gdf = gpd.read_file(area_path)
        if area_gdf.crs is None:
            raise WorkspaceError(f"area file {area_path} has no CRS; save it with one (GeoJSON is WGS84)")
        area_gdf = area_gdf.to_crs("EPSG:4326")
        if not area_gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all():
            raise WorkspaceError(f"area file {area_path} must contain only polygons")
    area_out = root / "area.geojson"
    area_gdf.to_file(area_out, driver="GeoJSON")

    ws_table: dict[str, Any] = {"name": name or root.name, "area": "area.geojson",
                                "store": "store.duckdb", "quarantine": "quarantine"}
    if grids is not None:
        from geo.grid.officialgrids import read_official_grids

        grids_gdf = read_official_grids(grids)
        grids_gdf.to_file(root / "official_grids.geojson", driver="GeoJSON")
        ws_table["grids"] = "official_grids.geojson"
    for key, value in (extra_paths or {}).items():
        if key not in _PATH_KEYS:
            raise WorkspaceError(f"unknown workspace path {key!r}")
        ws_table[key] = value

    whole = shapely.union_all(area_gdf.geometry.values)
    centre = shapely.centroid(whole)
    place = place_defaults(whole, timezone)
    settings = Settings(timezone=place.timezone, name=ws_table["name"], source_crs=place.source_crs,
                        metric_crs=metric_crs or metric_crs_for(centre.x, centre.y))
    write_config(root, ws_table, settings)
    (root / "quarantine").mkdir(exist_ok=True)
    ws = load_workspace(root)
    _ = ws.salt  # created now, at init
    if ws.grids is not None:  # the grid lookup takes seconds to build: once here, not in the first ingest
        from geo.grid.officialgrids import interior_lookup

        interior_lookup(ws.grids, ws.cache_dir)
    return ws


def write_config(root: Path, ws_table: dict[str, Any], settings: Settings) -> None:
    """Write ``gridwatch.toml`` (settings that differ from the defaults, plus the core ones)."""
    dumped = json.loads(settings.model_dump_json(exclude_defaults=True))
    for key in ("timezone", "metric_crs"):
        dumped[key] = getattr(settings, key)
    dumped["tiers"] = json.loads(settings.tiers.model_dump_json())
    dumped.pop("name", None)
    doc = {"workspace": ws_table, "settings": dumped}
    header = ("# gridwatch workspace. Paths are relative to this folder.\n"
              "# Every setting and its default is documented in geo/settings.py and README.md.\n")
    (root / CONFIG_NAME).write_text(header + tomli_w.dumps(doc), encoding="utf-8")


def update_settings(ws: Workspace, *, actor: str = "cli", **changes: Any) -> Workspace:
    """Write changed settings (e.g. ``tiers=Tiers(...)``) back to ``gridwatch.toml``.

    The change is audited (``settings_change``, the changed keys with their
    new values) with ``actor``: a user name from the app, or ``"cli"`` for
    the command line (recorded as :func:`geo.store.audit.cli_actor`).
    """
    from geo.store import audit

    config = ws.root / CONFIG_NAME
    doc = tomllib.loads(config.read_text(encoding="utf-8"))
    try:
        settings = Settings.model_validate({**ws.settings.model_dump(), **changes})
    except ValidationError as exc:
        raise SettingsError(f"invalid settings:\n{_format_validation(exc)}") from None
    write_config(ws.root, doc.get("workspace", {}), settings)
    old, new = ws.settings.model_dump(mode="json"), settings.model_dump(mode="json")
    changed = {k: new[k] for k in new if old.get(k) != new[k]}
    audit.record(ws, "settings_change", actor=audit.cli_actor() if actor == "cli" else actor, role="admin",
                 target=CONFIG_NAME, details={"changed": changed})
    return load_workspace(ws.root)


def area_contains(ws: Workspace, lon: np.ndarray, lat: np.ndarray, buffer_m: float = 0.0) -> np.ndarray:
    """Whether each point lies in the study area grown by ``buffer_m`` metres."""
    from geo.grid.crs import to_metric

    x, y = to_metric(np.asarray(lon, float), np.asarray(lat, float), crs=ws.settings.metric_crs)
    area_m = metric_study_area(shapely.to_wkb(ws.area), ws.settings.metric_crs, float(buffer_m))
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(len(x), dtype=bool)
    out[ok] = shapely.contains_xy(area_m, x[ok], y[ok])
    return out


@lru_cache(maxsize=16)
def metric_study_area(area_wkb: bytes, metric_crs: str, buffer_m: float) -> shapely.Geometry:
    """The study area in the metric CRS, grown by ``buffer_m`` and prepared (cached)."""
    geom = gpd.GeoSeries([shapely.from_wkb(area_wkb)], crs="EPSG:4326").to_crs(metric_crs).iloc[0]
    if buffer_m > 0:
        geom = shapely.buffer(geom, buffer_m)
    shapely.prepare(geom)
    return geom
